//! Where the gateway keeps things: state dir, config file, lock, token file, log.
//!
//! State dir = `--state-dir` > `TETHER_STATE_DIR` > `$XDG_DATA_HOME/tether/gateway` >
//! `~/.local/share/tether/gateway`; config = `--config` > `TETHER_CONFIG` > `<state>/gateway.json`.
//! The state dir is created with mode 0700; one that already exists must be owned by this user
//! and not writable by group or others (it holds the token, the sessions and the workspace: such a
//! directory is refused), and one readable by others is restricted to 0700 (and that is said).
//! Logs live in `<state>/logs/` so that writing them never wakes the config watcher (which
//! watches the config's directory). Resolution reads the environment it is handed; it never
//! reads secrets.

use std::path::{Path, PathBuf};

/// The resolved locations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The state directory.
    pub state_dir: PathBuf,
    /// The config file (may not exist).
    pub config: PathBuf,
    /// `<state>/gateway.lock`.
    pub lock: PathBuf,
    /// `<state>/gateway-token` (generated token).
    pub token: PathBuf,
    /// `<state>/logs`.
    pub log_dir: PathBuf,
    /// `<state>/logs/gateway.log`.
    pub log: PathBuf,
}

/// The environment variables path resolution reads.
#[derive(Debug, Clone, Default)]
pub struct PathEnv {
    /// `TETHER_STATE_DIR`.
    pub state_dir: Option<PathBuf>,
    /// `TETHER_CONFIG`.
    pub config: Option<PathBuf>,
    /// `XDG_DATA_HOME`.
    pub xdg_data_home: Option<PathBuf>,
    /// `HOME`.
    pub home: Option<PathBuf>,
    /// The working directory, to make relative paths absolute.
    pub cwd: Option<PathBuf>,
}

impl PathEnv {
    /// Reads the process environment.
    pub fn from_process() -> Self {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        PathEnv {
            state_dir: var("TETHER_STATE_DIR"),
            config: var("TETHER_CONFIG"),
            xdg_data_home: var("XDG_DATA_HOME"),
            home: var("HOME"),
            cwd: std::env::current_dir().ok(),
        }
    }
}

impl Paths {
    /// Resolves the locations from flags and environment (pure).
    pub fn resolve(
        state_flag: Option<&Path>,
        config_flag: Option<&Path>,
        env: &PathEnv,
    ) -> Result<Paths, String> {
        let absolute = |p: PathBuf| match (&env.cwd, p.is_absolute()) {
            (Some(cwd), false) => cwd.join(p),
            _ => p,
        };
        let state_dir = match (state_flag, &env.state_dir) {
            (Some(p), _) => p.to_path_buf(),
            (None, Some(p)) => p.clone(),
            (None, None) => match (&env.xdg_data_home, &env.home) {
                (Some(xdg), _) if xdg.is_absolute() => xdg.join("tether").join("gateway"),
                (_, Some(home)) => home.join(".local/share/tether/gateway"),
                _ => return Err(
                    "cannot find a state directory: set HOME, XDG_DATA_HOME or TETHER_STATE_DIR"
                        .to_owned(),
                ),
            },
        };
        let state_dir = absolute(state_dir);
        let config = match (config_flag, &env.config) {
            (Some(p), _) => absolute(p.to_path_buf()),
            (None, Some(p)) => absolute(p.clone()),
            (None, None) => state_dir.join("gateway.json"),
        };
        let log_dir = state_dir.join("logs");
        Ok(Paths {
            lock: state_dir.join("gateway.lock"),
            token: state_dir.join("gateway-token"),
            log: log_dir.join("gateway.log"),
            log_dir,
            config,
            state_dir,
        })
    }

    /// Creates the state and log directories (mode 0700 when created).
    pub fn create_dirs(&self) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        for dir in [&self.state_dir, &self.log_dir] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        Ok(())
    }

    /// Checks that the state and log directories are private (see the module docs). Returns
    /// what was tightened, for the log; an unsafe directory is an error saying how to fix it.
    pub fn check_private(&self) -> Result<Vec<String>, String> {
        let mut notes = Vec::new();
        for dir in [&self.state_dir, &self.log_dir] {
            notes.extend(check_private_dir(dir)?);
        }
        Ok(notes)
    }
}

/// Checks one existing directory: owned by this user and not writable by group or others;
/// restricted to 0700 when others may read it (`Some(what was done)`).
pub fn check_private_dir(dir: &Path) -> Result<Option<String>, String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(format!(
            "state directory {} is owned by another user (uid {}); refusing to use it",
            dir.display(),
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "state directory {} is writable by group or others (mode {mode:04o}): another user \
             could replace the token, sessions or workspace in it; restrict it with `chmod 700 {}`",
            dir.display(),
            dir.display()
        ));
    }
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot restrict {} to mode 0700: {e}", dir.display()))?;
        return Ok(Some(format!(
            "state directory {} was readable by others (mode {mode:04o}); restricted it to 0700",
            dir.display()
        )));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> PathEnv {
        PathEnv {
            home: Some("/home/u".into()),
            cwd: Some("/work".into()),
            ..Default::default()
        }
    }

    #[test]
    fn precedence() {
        let p = Paths::resolve(None, None, &env()).unwrap();
        assert_eq!(
            p.state_dir,
            PathBuf::from("/home/u/.local/share/tether/gateway")
        );
        assert_eq!(p.config, p.state_dir.join("gateway.json"));
        assert_eq!(p.log, p.state_dir.join("logs/gateway.log"));

        let mut e = env();
        e.xdg_data_home = Some("/xdg".into());
        assert_eq!(
            Paths::resolve(None, None, &e).unwrap().state_dir,
            PathBuf::from("/xdg/tether/gateway")
        );
        e.state_dir = Some("/env-state".into());
        e.config = Some("cfg.json".into());
        let p = Paths::resolve(None, None, &e).unwrap();
        assert_eq!(p.state_dir, PathBuf::from("/env-state"));
        assert_eq!(p.config, PathBuf::from("/work/cfg.json"));
        let p = Paths::resolve(Some(Path::new("rel")), Some(Path::new("/c.json5")), &e).unwrap();
        assert_eq!(p.state_dir, PathBuf::from("/work/rel"));
        assert_eq!(p.config, PathBuf::from("/c.json5"));
        assert_eq!(p.lock, PathBuf::from("/work/rel/gateway.lock"));
    }

    #[test]
    fn an_open_state_dir_is_refused_and_a_readable_one_restricted() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        std::fs::create_dir(&dir).unwrap();
        let mode = |m| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(m)).unwrap();
        for open in [0o777, 0o770, 0o702, 0o1777] {
            mode(open);
            let e = check_private_dir(&dir).unwrap_err();
            assert!(e.contains("writable by group or others"), "{open:o}: {e}");
            assert!(e.contains("chmod 700"), "{e}");
        }
        mode(0o755);
        let note = check_private_dir(&dir).unwrap().unwrap();
        assert!(note.contains("restricted it to 0700"), "{note}");
        let now = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(now, 0o700);
        assert_eq!(check_private_dir(&dir), Ok(None));
    }

    #[test]
    fn no_home_is_an_error() {
        let e = PathEnv::default();
        assert!(Paths::resolve(None, None, &e).is_err());
    }
}
