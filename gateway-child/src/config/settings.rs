//! Resolved settings: the config file plus command-line overrides, secrets and defaults, checked.
//!
//! [`Resolver`] holds what stays fixed for the process (paths, flags, env secrets) and turns a
//! config file into [`Settings`] — the only form the server runs on. This is where unsafe
//! combinations are refused (non-loopback bind without auth, password mode without a password,
//! wildcard origins, out-of-range limits), each with the file, line and key that caused it, and
//! where the shared secret is chosen: `--token` > `--token-file`/`TETHER_GATEWAY_TOKEN_FILE` >
//! env > `gateway.auth.token` > `<state>/gateway-token` (generated when absent). A named token
//! file is re-read on every resolution (start, reload, restart), so rotating it and sending
//! SIGUSR1 rotates the token. Resolution may create the generated token file; it never logs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tether_protocol::{consts, Secret};

use crate::config::credentials::{self, EnvSecrets, TokenFile};
use crate::config::load::{self, ConfigError, Loaded};
use crate::config::schema::{AuthMode, BindMode, Config, ReloadMode};
use crate::process::paths::Paths;

/// Default `gateway.reload.debounceMs`.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(300);
/// Default `gateway.drainTimeoutMs`.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(30);
/// Outbound queue budget per connection (`policy.maxBufferedBytes`).
pub const MAX_BUFFERED_BYTES: usize = 16 * 1024 * 1024;

/// Command-line values that override the config file for the whole process.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--port`.
    pub port: Option<u16>,
    /// `--bind`.
    pub bind: Option<BindMode>,
    /// `--auth`.
    pub auth: Option<AuthMode>,
    /// `--token`.
    pub token: Option<Secret>,
    /// `--token-file` (or `TETHER_GATEWAY_TOKEN_FILE`).
    pub token_file: Option<PathBuf>,
    /// `--password-file`.
    pub password_file: Option<PathBuf>,
}

/// Where the shared secret came from (for logs: never the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    /// `--token`.
    Flag,
    /// `--token-file` / `TETHER_GATEWAY_TOKEN_FILE`.
    NamedFile,
    /// An environment variable.
    Env(&'static str),
    /// `gateway.auth.token` / `gateway.auth.password`.
    Config,
    /// `<state>/gateway-token`, existing.
    TokenFile,
    /// `<state>/gateway-token`, generated now.
    Generated,
    /// `--password-file`.
    PasswordFile,
    /// No secret (auth mode none).
    Nothing,
}

/// How clients authenticate.
#[derive(Debug, Clone)]
pub struct AuthPolicy {
    /// The mode.
    pub mode: AuthMode,
    /// The token (token mode) or password (password mode).
    pub secret: Option<Secret>,
    /// Where it came from.
    pub source: SecretSource,
}

impl AuthPolicy {
    /// A digest of mode and secret: equal iff a client authenticated under one policy is still
    /// authenticated under the other. Never the secret itself.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.mode_str().as_bytes());
        h.update([0]);
        if let Some(s) = &self.secret {
            h.update(s.expose().as_bytes());
        }
        h.finalize().into()
    }

    /// `token`, `password` or `none`.
    pub fn mode_str(&self) -> &'static str {
        match self.mode {
            AuthMode::Token => "token",
            AuthMode::Password => "password",
            AuthMode::None => "none",
        }
    }
}

/// Limits and timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Deadline for a successful `connect` (also the HTTP header read deadline).
    pub handshake_timeout: Duration,
    /// `tick` interval.
    pub tick_interval: Duration,
    /// How long a stop or restart waits for active work.
    pub drain_timeout: Duration,
    /// Largest message after `hello-ok` (`policy.maxPayload`).
    pub max_payload: usize,
    /// Largest message before `hello-ok`.
    pub max_preauth_payload: usize,
    /// Outbound queue budget per connection (`policy.maxBufferedBytes`).
    pub max_buffered: usize,
}

/// Everything the server runs on.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The config file as read.
    pub loaded: Arc<Loaded>,
    /// Listen port (0: any free port).
    pub port: u16,
    /// Listen interfaces.
    pub bind: BindMode,
    /// Client authentication.
    pub auth: AuthPolicy,
    /// Limits and timers.
    pub limits: Limits,
    /// Reload mode.
    pub reload_mode: ReloadMode,
    /// Reload debounce.
    pub reload_debounce: Duration,
    /// Browser origins allowed to upgrade.
    pub allowed_origins: Vec<String>,
    /// `gateway.controlUi.root`, checked to hold an `index.html`, when serving is on.
    pub control_ui_root: Option<PathBuf>,
    /// Things worth one log line when these settings are applied.
    pub notes: Vec<Note>,
}

/// A remark about resolved settings, logged when they are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Informational.
    Info(String),
    /// A warning.
    Warn(String),
}

impl Settings {
    /// The typed config.
    pub fn config(&self) -> &Config {
        &self.loaded.config
    }

    /// The address to listen on.
    pub fn listen_addr(&self) -> SocketAddr {
        let ip = match self.bind {
            BindMode::Loopback => IpAddr::V4(Ipv4Addr::LOCALHOST),
            BindMode::Lan => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        SocketAddr::new(ip, self.port)
    }

    /// Whether the listener would have to change to go from `self` to `other`.
    pub fn needs_rebind(&self, other: &Settings) -> bool {
        self.port != other.port || self.bind != other.bind
    }
}

/// Turns config files into settings; holds what is fixed for the process.
#[derive(Debug, Clone)]
pub struct Resolver {
    /// Paths.
    pub paths: Paths,
    /// Command-line overrides.
    pub overrides: Overrides,
    /// Secrets from the environment.
    pub env: EnvSecrets,
}

impl Resolver {
    /// Reads the config file from disk and resolves it. Blocking file IO: async code calls
    /// [`Resolver::load_async`].
    pub fn load(&self) -> Result<Settings, ConfigError> {
        let loaded = load::read(&self.paths.config)?;
        self.resolve(loaded)
    }

    /// [`Resolver::load`] on the blocking pool, so a slow or hostile file never stalls an async
    /// worker.
    pub async fn load_async(&self) -> Result<Settings, ConfigError> {
        let resolver = self.clone();
        tokio::task::spawn_blocking(move || resolver.load())
            .await
            .unwrap_or_else(|e| Err(ConfigError::new(None, format!("config load failed: {e}"))))
    }

    /// Resolves a loaded config file.
    pub fn resolve(&self, loaded: Loaded) -> Result<Settings, ConfigError> {
        let cfg = &loaded.config;
        let file = loaded.path.clone();
        let text = loaded.text.as_deref();
        let at = |key: &str, reason: String| ConfigError::at_key(&file, text, key, reason);
        let mut notes = Vec::new();

        for key in &loaded.unsupported {
            notes.push(Note::Warn(format!(
                "config key {key} is not supported by Tether and is ignored"
            )));
        }

        let password_file = match &self.overrides.password_file {
            Some(p) => Some(
                credentials::read_password_file(p)
                    .map_err(|e| ConfigError::flag("--password-file", e))?,
            ),
            None => None,
        };
        let config_password = cfg.gateway.auth.password.clone().filter(|s| !s.is_empty());
        let mode = self.overrides.auth.or(cfg.gateway.auth.mode).unwrap_or(
            if password_file.is_some() || config_password.is_some() {
                AuthMode::Password
            } else {
                AuthMode::Token
            },
        );
        let mode_key = |reason: String| {
            if self.overrides.auth.is_some() {
                ConfigError::flag("--auth", reason)
            } else {
                at("gateway.auth.mode", reason)
            }
        };

        let auth = match mode {
            AuthMode::Token => {
                let config_token = cfg.gateway.auth.token.clone().filter(|s| !s.is_empty());
                let (secret, source) = if let Some(t) = &self.overrides.token {
                    notes.push(Note::Warn(
                        "--token is visible to other local users (ps, /proc/<pid>/cmdline); \
                         prefer TETHER_GATEWAY_TOKEN"
                            .to_owned(),
                    ));
                    (t.clone(), SecretSource::Flag)
                } else if let Some(path) = &self.overrides.token_file {
                    let t = credentials::read_token_file(path)
                        .map_err(|e| ConfigError::flag("--token-file", e))?;
                    (t, SecretSource::NamedFile)
                } else if let (Some(t), Some(var)) = (&self.env.token, self.env.token_var) {
                    (t.clone(), SecretSource::Env(var))
                } else if let Some(t) = config_token {
                    (t, SecretSource::Config)
                } else {
                    let (t, how) =
                        credentials::load_or_generate_token(&self.paths.token).map_err(|e| {
                            ConfigError::new(
                                None,
                                format!(
                                    "cannot create the token file {}: {e}",
                                    self.paths.token.display()
                                ),
                            )
                        })?;
                    match how {
                        TokenFile::Generated => {
                            notes.push(Note::Info(format!(
                                "generated a gateway token in {} (mode 0600)",
                                self.paths.token.display()
                            )));
                            (t, SecretSource::Generated)
                        }
                        TokenFile::Read => (t, SecretSource::TokenFile),
                    }
                };
                AuthPolicy {
                    mode,
                    secret: Some(secret),
                    source,
                }
            }
            AuthMode::Password => {
                let (secret, source) = match (password_file, config_password) {
                    (Some(p), _) => (p, SecretSource::PasswordFile),
                    (None, Some(p)) => (p, SecretSource::Config),
                    (None, None) => {
                        return Err(mode_key(
                            "auth mode is password but no password is set \
                             (gateway.auth.password or --password-file)"
                                .to_owned(),
                        ))
                    }
                };
                AuthPolicy {
                    mode,
                    secret: Some(secret),
                    source,
                }
            }
            AuthMode::None => AuthPolicy {
                mode,
                secret: None,
                source: SecretSource::Nothing,
            },
        };

        let bind = self
            .overrides
            .bind
            .or(cfg.gateway.bind)
            .unwrap_or(BindMode::Loopback);
        if bind == BindMode::Lan && mode == AuthMode::None {
            let reason = "refusing to listen on every interface (bind lan) without auth; \
                          set gateway.auth.mode to token or password"
                .to_owned();
            return Err(if self.overrides.bind.is_some() {
                ConfigError::flag("--bind", reason)
            } else {
                at("gateway.bind", reason)
            });
        }
        if mode == AuthMode::None {
            notes.push(Note::Warn(
                "auth mode none: any local process can connect".to_owned(),
            ));
        }
        let port = self
            .overrides
            .port
            .or(cfg.gateway.port)
            .unwrap_or(consts::DEFAULT_PORT);

        let ms = |key: &str, v: Option<u64>, default: Duration, min: u64, max: u64| match v {
            None => Ok(default),
            Some(v) if (min..=max).contains(&v) => Ok(Duration::from_millis(v)),
            Some(_) => Err(at(key, format!("must be between {min} and {max}"))),
        };
        let limits = Limits {
            handshake_timeout: ms(
                "gateway.handshakeTimeoutMs",
                cfg.gateway.handshake_timeout_ms,
                Duration::from_millis(consts::HANDSHAKE_TIMEOUT_MS),
                50,
                600_000,
            )?,
            tick_interval: ms(
                "gateway.tickIntervalMs",
                cfg.gateway.tick_interval_ms,
                Duration::from_millis(consts::TICK_INTERVAL_MS),
                10,
                3_600_000,
            )?,
            drain_timeout: ms(
                "gateway.drainTimeoutMs",
                cfg.gateway.drain_timeout_ms,
                DEFAULT_DRAIN,
                0,
                600_000,
            )?,
            max_payload: consts::MAX_PAYLOAD_BYTES,
            max_preauth_payload: consts::MAX_PREAUTH_PAYLOAD_BYTES,
            max_buffered: MAX_BUFFERED_BYTES,
        };
        let reload_debounce = ms(
            "gateway.reload.debounceMs",
            cfg.gateway.reload.debounce_ms,
            DEFAULT_DEBOUNCE,
            0,
            60_000,
        )?;
        let reload_mode = cfg.gateway.reload.mode.unwrap_or(ReloadMode::Hybrid);

        let origins = &cfg.gateway.control_ui.allowed_origins;
        for (i, o) in origins.iter().enumerate() {
            let o = o.trim();
            if o.is_empty() || o == "*" || o.eq_ignore_ascii_case("null") {
                return Err(at(
                    &format!("gateway.controlUi.allowedOrigins.{i}"),
                    "list exact origins (e.g. tauri://localhost); empty, \"*\" and \"null\" are refused"
                        .to_owned(),
                ));
            }
        }
        let allowed_origins = origins.iter().map(|o| o.trim().to_owned()).collect();
        let control_ui_root = match (&cfg.gateway.control_ui.root, cfg.gateway.control_ui.enabled) {
            (Some(root), enabled) if enabled != Some(false) => {
                let root = root.trim();
                let path = PathBuf::from(root);
                let path = if path.is_relative() {
                    loaded
                        .path
                        .parent()
                        .map_or(path.clone(), |dir| dir.join(&path))
                } else {
                    path
                };
                if !path.join("index.html").is_file() {
                    return Err(at(
                        "gateway.controlUi.root",
                        format!(
                            "{} has no index.html: name the Control UI's asset directory (e.g. an \
                             installed openclaw's dist/control-ui)",
                            path.display()
                        ),
                    ));
                }
                Some(path)
            }
            _ => None,
        };

        Ok(Settings {
            loaded: Arc::new(loaded),
            port,
            bind,
            auth,
            limits,
            reload_mode,
            reload_debounce,
            allowed_origins,
            control_ui_root,
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::paths::PathEnv;
    use std::path::Path;

    fn resolver(dir: &Path, overrides: Overrides, env_token: Option<&str>) -> Resolver {
        let env = PathEnv {
            state_dir: Some(dir.to_path_buf()),
            ..Default::default()
        };
        Resolver {
            paths: Paths::resolve(None, None, &env).unwrap(),
            overrides,
            env: EnvSecrets {
                token: env_token.map(Secret::new),
                token_var: env_token.map(|_| "TETHER_GATEWAY_TOKEN"),
                dropped_password_var: false,
                isolated: None,
            },
        }
    }

    fn resolve(r: &Resolver, text: &str) -> Result<Settings, ConfigError> {
        let loaded = load::parse(&r.paths.config, text.to_owned()).unwrap();
        r.resolve(loaded)
    }

    #[test]
    fn defaults_generate_a_token_once() {
        let dir = tempfile::tempdir().unwrap();
        let r = resolver(dir.path(), Overrides::default(), None);
        let s = resolve(&r, "{}").unwrap();
        assert_eq!(s.port, 18789);
        assert_eq!(s.bind, BindMode::Loopback);
        assert_eq!(s.auth.mode, AuthMode::Token);
        assert_eq!(s.auth.source, SecretSource::Generated);
        assert_eq!(s.reload_mode, ReloadMode::Hybrid);
        assert_eq!(s.limits.max_buffered, MAX_BUFFERED_BYTES);
        let again = resolve(&r, "{}").unwrap();
        assert_eq!(again.auth.source, SecretSource::TokenFile);
        assert_eq!(again.auth.fingerprint(), s.auth.fingerprint());
        // Notes name the file, never the value.
        let secret = s.auth.secret.as_ref().unwrap().expose().to_owned();
        assert!(s.notes.iter().all(|n| !format!("{n:?}").contains(&secret)));
    }

    #[test]
    fn token_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = "{ gateway: { auth: { token: 'from-config' } } }";
        let r = resolver(dir.path(), Overrides::default(), None);
        assert_eq!(resolve(&r, cfg).unwrap().auth.source, SecretSource::Config);
        let r = resolver(dir.path(), Overrides::default(), Some("from-env"));
        let s = resolve(&r, cfg).unwrap();
        assert_eq!(s.auth.secret.unwrap().expose(), "from-env");
        let r = resolver(
            dir.path(),
            Overrides {
                token: Some(Secret::new("from-flag")),
                ..Default::default()
            },
            Some("from-env"),
        );
        let s = resolve(&r, cfg).unwrap();
        assert_eq!(s.auth.source, SecretSource::Flag);
        assert!(matches!(&s.notes[..], [Note::Warn(w)] if w.contains("--token")));
    }

    #[test]
    fn a_token_file_comes_after_the_flag_and_before_the_environment() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("handed-token");
        std::fs::write(&file, "from-file\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let with_file = |token: Option<&str>| Overrides {
            token: token.map(Secret::new),
            token_file: Some(file.clone()),
            ..Default::default()
        };
        let r = resolver(dir.path(), with_file(None), Some("from-env"));
        let s = resolve(&r, "{ gateway: { auth: { token: 'from-config' } } }").unwrap();
        assert_eq!(s.auth.source, SecretSource::NamedFile);
        assert_eq!(s.auth.secret.unwrap().expose(), "from-file");
        let r = resolver(dir.path(), with_file(Some("from-flag")), None);
        assert_eq!(resolve(&r, "{}").unwrap().auth.source, SecretSource::Flag);
        // A group-readable file is refused with a clear error naming the flag, never the value.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let r = resolver(dir.path(), with_file(None), None);
        let e = resolve(&r, "{}").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("--token-file"));
        let text = e.to_string();
        assert!(text.contains("readable by group or others"), "{text}");
        assert!(!text.contains("from-file"));
    }

    #[test]
    fn unsafe_combinations_are_refused_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let r = resolver(dir.path(), Overrides::default(), None);
        let e = resolve(
            &r,
            "{\n gateway: {\n  bind: 'lan',\n  auth: { mode: 'none' } } }",
        )
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("gateway.bind"));
        assert_eq!(e.line, Some(3));
        let e = resolve(&r, "{\n gateway: { auth: {\n mode: 'password' } } }").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("gateway.auth.mode"));
        assert_eq!(e.line, Some(3));
        let e = resolve(&r, "{ gateway: { controlUi: { allowedOrigins: ['*'] } } }").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("gateway.controlUi.allowedOrigins.0"));
        let e = resolve(&r, "{ gateway: { tickIntervalMs: 1 } }").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("gateway.tickIntervalMs"));
        // The same refusal from flags names the flag.
        let r = resolver(
            dir.path(),
            Overrides {
                bind: Some(BindMode::Lan),
                auth: Some(AuthMode::None),
                ..Default::default()
            },
            None,
        );
        let e = resolve(&r, "{}").unwrap_err();
        assert_eq!(e.file, None);
        assert_eq!(e.key.as_deref(), Some("--bind"));
        // Loopback with no auth is allowed, with a warning.
        let r = resolver(dir.path(), Overrides::default(), None);
        let s = resolve(&r, "{ gateway: { auth: { mode: 'none' } } }").unwrap();
        assert!(s.auth.secret.is_none());
    }

    #[test]
    fn password_sources_and_mode_inference() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "file-pw\n").unwrap();
        let r = resolver(
            dir.path(),
            Overrides {
                password_file: Some(pw),
                ..Default::default()
            },
            None,
        );
        let s = resolve(&r, "{ gateway: { auth: { password: 'cfg-pw' } } }").unwrap();
        assert_eq!(s.auth.mode, AuthMode::Password);
        assert_eq!(s.auth.source, SecretSource::PasswordFile);
        assert_eq!(s.auth.secret.unwrap().expose(), "file-pw");
    }
}
