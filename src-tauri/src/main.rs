//! `tether-desktop`: see the library.

fn main() {
    std::process::exit(tether_desktop::app::main());
}
