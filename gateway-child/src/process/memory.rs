//! Giving freed heap memory back to the operating system.
//!
//! glibc's allocator keeps memory a burst of load freed (many clients, many runs) in its arenas,
//! so without help the gateway's RSS stays at its high-water mark long after the clients have
//! gone. [`release_free_heap`] asks it to return what is free. It changes no live data; it only
//! costs a walk of the allocator's free lists, so the server calls it once a minute, not per
//! request. Other allocators and platforms return memory on their own: there it does nothing.

/// Returns free heap pages to the operating system (glibc `malloc_trim(0)`).
#[allow(unsafe_code)]
pub fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointers from us; it locks each arena itself and only
    // unmaps or `madvise`s pages that are on its free lists. It is safe to call from any thread
    // at any time.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}
