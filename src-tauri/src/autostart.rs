//! Start at login: the XDG autostart entry `$XDG_CONFIG_HOME/autostart/tether.desktop`.
//!
//! It owns writing and removing that one file. The entry starts the app with `--hidden`, so a
//! login brings the gateway up with the window in the tray (shown anyway where there is no
//! tray). It never touches another program's entry.

use std::path::{Path, PathBuf};

/// The entry's file name.
pub const FILE_NAME: &str = "tether.desktop";

/// `$XDG_CONFIG_HOME/autostart`, else `~/.config/autostart`.
pub fn default_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("autostart");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".config/autostart")
}

/// The entry for an executable.
pub fn entry(exe: &Path) -> String {
    // The Exec key quotes arguments with double quotes and escapes `"`, `` ` ``, `$` and `\`.
    let mut quoted = String::from('"');
    for c in exe.to_string_lossy().chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    format!(
        "[Desktop Entry]\nType=Application\nName=Tether\nComment=Keeps your local AI gateway running\nExec={quoted} --hidden\nIcon=tether\nTerminal=false\nX-GNOME-Autostart-enabled=true\n"
    )
}

/// Writes (`on`) or removes (`!on`) the entry in `dir` for `exe`.
pub fn set(dir: &Path, exe: &Path, on: bool) -> std::io::Result<()> {
    let path = dir.join(FILE_NAME);
    if on {
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{FILE_NAME}.tmp"));
        std::fs::write(&tmp, entry(exe))?;
        std::fs::rename(tmp, path)
    } else {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Whether the entry exists.
pub fn is_set(dir: &Path) -> bool {
    dir.join(FILE_NAME).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_removes_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let auto = dir.path().join("autostart");
        set(&auto, Path::new("/opt/my apps/tether-desktop"), true).unwrap();
        assert!(is_set(&auto));
        let text = std::fs::read_to_string(auto.join(FILE_NAME)).unwrap();
        assert!(text.starts_with("[Desktop Entry]\n"));
        assert!(
            text.contains("Exec=\"/opt/my apps/tether-desktop\" --hidden\n"),
            "{text}"
        );
        set(&auto, Path::new("/x"), false).unwrap();
        assert!(!is_set(&auto));
        set(&auto, Path::new("/x"), false).unwrap();
        assert!(entry(Path::new("/a$b")).contains("Exec=\"/a\\$b\""));
    }
}
