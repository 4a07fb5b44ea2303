//! Can a tray icon be shown here? Two questions, asked before any tray code runs.
//!
//! 1. [`appindicator_loads`]: the tray library (`libayatana-appindicator3`, or the older
//!    `libappindicator3`) is loaded at run time by the tray crate, which **panics** when neither
//!    is installed. This loads it first, the same way, and says whether it worked; without it
//!    the app runs from its window alone.
//! 2. [`host_present`]: is anything there to show an icon — a StatusNotifier watcher on the
//!    session bus (GNOME with the AppIndicator extension, KDE, most panels) or an XEmbed system
//!    tray on the X display (`trayer`, older panels)? Without one an icon would be invisible,
//!    so closing the window must not hide it there.
//!
//! Both are cheap (one `dlopen`, one bus call, one X round trip) and are asked on demand, never
//! polled.

use std::time::Duration;

/// The tray libraries, in the order the tray crate tries them.
const LIBRARIES: [&str; 2] = ["libayatana-appindicator3.so.1", "libappindicator3.so.1"];

/// Whether a tray library can be loaded. The library stays loaded (the tray crate loads it too).
pub fn appindicator_loads() -> bool {
    LIBRARIES.iter().any(|name| {
        // SAFETY: loading the same shared library the tray crate loads a moment later; its
        // initializers are GTK/GLib registrations that run either way. No symbol is used here.
        #[allow(unsafe_code)]
        let lib = unsafe { libloading::Library::new(name) };
        match lib {
            Ok(lib) => {
                // Keep it mapped: unloading a GObject library is unsafe in practice.
                std::mem::forget(lib);
                true
            }
            Err(e) => {
                tracing::debug!("tray library {name}: {e}");
                false
            }
        }
    })
}

/// Whether something on this desktop displays tray icons.
pub fn host_present() -> bool {
    status_notifier_watcher() || xembed_tray()
}

fn status_notifier_watcher() -> bool {
    use gtk::gio;
    use gtk::glib::{ToVariant, VariantTy};
    let Ok(bus) = gio::bus_get_sync(gio::BusType::Session, None::<&gio::Cancellable>) else {
        return false;
    };
    let reply = bus.call_sync(
        Some("org.freedesktop.DBus"),
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "NameHasOwner",
        Some(&("org.kde.StatusNotifierWatcher",).to_variant()),
        Some(VariantTy::new("(b)").unwrap_or(VariantTy::VARIANT)),
        gio::DBusCallFlags::NONE,
        i32::try_from(Duration::from_millis(500).as_millis()).unwrap_or(500),
        None::<&gio::Cancellable>,
    );
    reply
        .ok()
        .and_then(|v| v.get::<(bool,)>())
        .is_some_and(|(has,)| has)
}

fn xembed_tray() -> bool {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::ConnectionExt;
    let Ok((conn, screen)) = x11rb::connect(None) else {
        return false;
    };
    let name = format!("_NET_SYSTEM_TRAY_S{screen}");
    let owner = conn
        .intern_atom(false, name.as_bytes())
        .ok()
        .and_then(|c| c.reply().ok())
        .and_then(|a| conn.get_selection_owner(a.atom).ok())
        .and_then(|c| c.reply().ok())
        .map(|r| r.owner);
    let _ = conn.flush();
    owner.is_some_and(|o| o != x11rb::NONE)
}
