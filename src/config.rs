//! Runtime configuration of the server: one file, `Leptos.toml`, overridden by the environment.
//!
//! The file has two tables. `[leptos]` holds Leptos's own options (the keys cargo-leptos and
//! leptos_config use); `[pulseboard]` holds ours. Layers, lowest first:
//!
//! 1. the defaults compiled into the binary (this repository's `Leptos.toml`),
//! 2. the file named by `--config` / `PULSEBOARD_CONFIG`, or `./Leptos.toml` when present,
//! 3. `LEPTOS_<KEY>` variables for `[leptos]` (as cargo-leptos sets them during `cargo leptos watch`),
//! 4. `PULSEBOARD_<KEY>` variables for `[pulseboard]` (`PULSEBOARD_DATA_DIR`, ...).
//!
//! A missing or malformed file, an unknown key or a bad value is a [`ConfigError`] that names the
//! file or variable and the key: the server refuses to start rather than guess.

use crate::{
    jobs::settings::JobsSettings,
    market::settings::MarketSettings,
    monitor::settings::MonitorSettings,
    server::{cors::CorsSettings, tls::TlsSettings},
    session::SessionSettings,
    streams::{auth::AuthSettings, limits::LimitSettings, StreamSettings},
};
use figment::{
    providers::{Env, Format, Toml},
    Figment,
};
use leptos::config::LeptosOptions;
use serde::{Deserialize, Serialize};
use std::{
    path::{Path, PathBuf},
    time::Duration,
};

/// The repository's `Leptos.toml`, compiled in so the bare binary runs with no file at all.
pub const EMBEDDED_DEFAULTS: &str = include_str!("../Leptos.toml");

/// The server's own settings: where it keeps its files, how it stops, what it exposes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerSettings {
    /// Directory for everything the server keeps on disk.
    #[serde(rename = "data-dir")]
    pub data_dir: PathBuf,
    /// Seconds the server waits for open connections after SIGINT/SIGTERM before it exits anyway.
    #[serde(rename = "shutdown-grace-secs")]
    pub shutdown_grace_secs: u64,
    /// Enables `/api/debug/*` (e.g. dropping every open stream). Never enable it in production.
    #[serde(rename = "debug-endpoints")]
    pub debug_endpoints: bool,
    /// `tls-cert` and `tls-key`: HTTPS on `site-addr` when both are set.
    #[serde(flatten)]
    pub tls: TlsSettings,
    /// `session-secret`: the key session cookies are signed with.
    #[serde(flatten)]
    pub session: SessionSettings,
}

impl ServerSettings {
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// Whether `site-addr` speaks TLS (HTTPS, HTTP/2 by ALPN), e.g. for `Secure` cookies.
    pub fn tls_enabled(&self) -> bool {
        self.tls.files().is_some()
    }
}

/// pulseboard's own settings, the `[pulseboard]` table, composed of each module's settings. The
/// table is flat (`heartbeat-secs`, `jobs-workers`, ...); each module reads its own keys.
#[derive(Debug, Clone, PartialEq)]
pub struct PulseboardSettings {
    pub server: ServerSettings,
    pub streams: StreamSettings,
    pub auth: AuthSettings,
    pub limits: LimitSettings,
    pub jobs: JobsSettings,
    pub market: MarketSettings,
    pub monitor: MonitorSettings,
    pub cors: CorsSettings,
}

impl PulseboardSettings {
    /// Reads each module's keys from the `pulseboard` table of `figment`.
    fn extract(figment: &Figment) -> Result<Self, ConfigError> {
        fn part<T: serde::de::DeserializeOwned>(figment: &Figment) -> Result<T, ConfigError> {
            figment.focus(TABLE).extract().map_err(|err| ConfigError::Invalid(describe_in(TABLE, err)))
        }
        Ok(Self {
            server: part(figment)?,
            streams: part(figment)?,
            auth: part(figment)?,
            limits: part(figment)?,
            jobs: part(figment)?,
            market: part(figment)?,
            monitor: part(figment)?,
            cors: part(figment)?,
        })
    }

    /// Every key of the table, as the modules name them.
    fn known_keys(&self) -> Vec<String> {
        fn keys<T: Serialize>(part: &T) -> Vec<String> {
            match toml::Value::try_from(part) {
                Ok(toml::Value::Table(table)) => table.keys().cloned().collect(),
                _ => Vec::new(),
            }
        }
        [
            keys(&self.server),
            keys(&self.streams),
            keys(&self.auth),
            keys(&self.jobs),
            keys(&self.market),
            keys(&self.monitor),
            keys(&self.cors),
            keys(&self.limits),
        ]
        .concat()
    }

    /// Checks what the types alone cannot, module by module: one message per problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let problems = [
            self.server.tls.validate(),
            self.server.session.validate(),
            self.streams.validate(),
            self.auth.validate(),
            self.jobs.validate(),
            self.market.validate(),
            self.monitor.validate(),
            self.cors.validate(),
            self.limits.validate(),
        ]
        .concat();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems.join("; ")))
        }
    }
}

const TABLE: &str = "pulseboard";

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub leptos: LeptosOptions,
    pub pulseboard: PulseboardSettings,
    /// The file the settings came from, if any (for logs).
    pub source: Option<PathBuf>,
    /// `PULSEBOARD_*` environment variables that are not settings and were ignored (an
    /// orchestrator's, e.g. Kubernetes' `PULSEBOARD_PORT` for a Service named pulseboard). The
    /// server logs a warning naming each.
    pub ignored_variables: Vec<String>,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {path} does not exist")]
    Missing { path: PathBuf },
    #[error("configuration file {path} could not be read: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("configuration file {path} is not valid TOML: {message}")]
    Malformed { path: PathBuf, message: String },
    /// A key that is unknown, missing or has a value of the wrong type. figment's message names
    /// the key and where its value came from (the file or the environment variable).
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Where the configuration file is, if anywhere: an explicit path must exist; otherwise
/// `./Leptos.toml` is used when present and the embedded defaults alone when not.
pub fn resolve_path(explicit: Option<&Path>) -> Result<Option<PathBuf>, ConfigError> {
    match explicit {
        Some(path) if path.is_file() => Ok(Some(path.to_path_buf())),
        Some(path) => Err(ConfigError::Missing { path: path.to_path_buf() }),
        None => {
            let local = PathBuf::from("Leptos.toml");
            Ok(local.is_file().then_some(local))
        }
    }
}

/// Loads the settings: embedded defaults, then `file`, then `LEPTOS_*` and `PULSEBOARD_*`
/// variables of the process environment.
pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
    let mut figment = Figment::new().merge(Toml::string(EMBEDDED_DEFAULTS));
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Unreadable { path: path.to_path_buf(), source })?;
        // Check the syntax ourselves so the error names the file; figment then reads the file,
        // so a value error names it too.
        if let Err(err) = text.parse::<toml::Table>() {
            return Err(ConfigError::Malformed { path: path.to_path_buf(), message: err.to_string() });
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    figment =
        figment.merge(env_layer("LEPTOS_", "leptos", &[])).merge(env_layer("PULSEBOARD_", "pulseboard", &["config"]));

    let leptos: LeptosOptions =
        figment.focus("leptos").extract().map_err(|err| ConfigError::Invalid(describe_in("leptos", err)))?;
    let pulseboard = PulseboardSettings::extract(&figment)?;
    let ignored_variables = check_unknown_keys(&figment, &pulseboard.known_keys())?;
    pulseboard.validate()?;
    Ok(Settings { leptos, pulseboard, source: file.map(Path::to_path_buf), ignored_variables })
}

/// Keys of the `[pulseboard]` table that no module reads. One from a file is a mistake (a typo,
/// a removed setting) and stops the server; one from the environment may belong to someone else
/// (orchestrators inject `<SERVICE>_PORT=tcp://...` for a service named pulseboard), so it is
/// returned, as the variable's name, for a warning.
fn check_unknown_keys(figment: &Figment, known: &[String]) -> Result<Vec<String>, ConfigError> {
    let Ok(figment::value::Value::Dict(_, table)) = figment.find_value(TABLE) else {
        return Ok(Vec::new());
    };
    let mut ignored = Vec::new();
    let mut refused = Vec::new();
    for key in table.keys().filter(|key| !known.contains(key)) {
        let metadata = figment.find_metadata(&format!("{TABLE}.{key}"));
        if metadata.is_some_and(|m| m.name.contains("environment")) {
            ignored.push(format!("PULSEBOARD_{}", key.to_ascii_uppercase().replace('-', "_")));
        } else {
            let source = metadata
                .and_then(|m| m.source.as_ref().map(ToString::to_string))
                .unwrap_or_else(|| "the configuration".to_string());
            refused.push(format!("key `{TABLE}.{key}`: unknown setting (in {source})"));
        }
    }
    if refused.is_empty() {
        Ok(ignored)
    } else {
        Err(ConfigError::Invalid(refused.join("; ")))
    }
}

/// `PREFIX_SOME_KEY=value` becomes `table.some-key = value`; `ignored` names are not settings
/// (e.g. `PULSEBOARD_CONFIG`, which names the file itself).
fn env_layer(prefix: &'static str, table: &'static str, ignored: &'static [&'static str]) -> Env {
    Env::prefixed(prefix)
        .ignore(ignored)
        .map(move |key| format!("{table}.{}", key.as_str().to_ascii_lowercase().replace('_', "-")).into())
}

/// One line per problem of `table`: what is wrong, with which key, and where the value came from.
fn describe_in(table: &str, err: figment::Error) -> String {
    err.into_iter()
        .map(|mut e| {
            e.path.insert(0, table.to_string());
            let key = e.path.join(".").to_ascii_lowercase();
            let from_env = e.metadata.as_ref().is_some_and(|m| m.name.contains("environment"));
            let source = match (&e.metadata, e.path.split_first()) {
                (Some(_), Some((table, rest))) if from_env => format!(
                    "environment variable {}_{}",
                    table.to_ascii_uppercase(),
                    rest.join("_").to_ascii_uppercase().replace('-', "_")
                ),
                (Some(meta), _) => match &meta.source {
                    Some(source) => source.to_string(),
                    None => meta.name.to_string(),
                },
                (None, _) => "the configuration".to_string(),
            };
            if key.is_empty() {
                format!("{} (in {source})", e.kind)
            } else {
                format!("key `{key}`: {} (in {source})", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
// figment's Jail hands each test closure its own `figment::Error` result type; its size is not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    // Jail serialises tests that touch the process environment and gives each a scratch dir.

    #[test]
    fn embedded_defaults_load_without_a_file() {
        Jail::expect_with(|_| {
            let settings = load(None).unwrap();
            assert_eq!(&*settings.leptos.output_name, "pulseboard");
            assert_eq!(settings.leptos.site_addr.to_string(), "127.0.0.1:3000");
            assert_eq!(settings.pulseboard.streams.heartbeat_secs, 15);
            assert_eq!(settings.pulseboard.streams.publish_body_limit, 65536);
            Ok(())
        });
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_file() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "custom.toml",
                "[leptos]\nsite-addr = \"127.0.0.1:4000\"\n[pulseboard]\ndata-dir = \"/srv/pb\"\nheartbeat-secs = 30\n",
            )?;
            let settings = load(Some(Path::new("custom.toml"))).unwrap();
            assert_eq!(settings.leptos.site_addr.to_string(), "127.0.0.1:4000");
            assert_eq!(settings.pulseboard.server.data_dir, PathBuf::from("/srv/pb"));
            assert_eq!(settings.pulseboard.streams.heartbeat_secs, 30);
            // Keys the file does not name keep their defaults.
            assert_eq!(settings.pulseboard.streams.history_events, 1024);

            jail.set_env("PULSEBOARD_DATA_DIR", "/var/lib/pulseboard");
            jail.set_env("PULSEBOARD_HEARTBEAT_SECS", "5");
            jail.set_env("LEPTOS_SITE_ADDR", "127.0.0.1:5000");
            jail.set_env("LEPTOS_OUTPUT_NAME", "renamed");
            // Variables that are not settings of ours are ignored.
            jail.set_env("LEPTOS_WATCH", "true");
            jail.set_env("PULSEBOARD_CONFIG", "/somewhere/Leptos.toml");
            let settings = load(Some(Path::new("custom.toml"))).unwrap();
            assert_eq!(settings.pulseboard.server.data_dir, PathBuf::from("/var/lib/pulseboard"));
            assert_eq!(settings.pulseboard.streams.heartbeat_secs, 5);
            assert_eq!(settings.leptos.site_addr.to_string(), "127.0.0.1:5000");
            assert_eq!(&*settings.leptos.output_name, "renamed");
            Ok(())
        });
    }

    #[test]
    fn local_file_is_found_when_none_is_named() {
        Jail::expect_with(|jail| {
            assert_eq!(resolve_path(None).unwrap(), None);
            jail.create_file("Leptos.toml", "[pulseboard]\nheartbeat-secs = 7\n")?;
            let path = resolve_path(None).unwrap();
            assert_eq!(path.as_deref(), Some(Path::new("Leptos.toml")));
            assert_eq!(load(path.as_deref()).unwrap().pulseboard.streams.heartbeat_secs, 7);
            Ok(())
        });
    }

    #[test]
    fn missing_explicit_file_is_an_error_naming_it() {
        let err = resolve_path(Some(Path::new("/nonexistent/pulseboard.toml"))).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/pulseboard.toml"), "{err}");
    }

    #[test]
    fn malformed_file_names_the_file() {
        Jail::expect_with(|jail| {
            jail.create_file("broken.toml", "[pulseboard\nheartbeat-secs = ")?;
            let err = load(Some(Path::new("broken.toml"))).unwrap_err();
            let message = err.to_string();
            assert!(matches!(err, ConfigError::Malformed { .. }), "{message}");
            assert!(message.contains("broken.toml"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn bad_value_in_file_names_file_and_key() {
        Jail::expect_with(|jail| {
            jail.create_file("typo.toml", "[pulseboard]\nheartbeat-secs = \"often\"\n")?;
            let message = load(Some(Path::new("typo.toml"))).unwrap_err().to_string();
            assert!(message.contains("heartbeat-secs"), "{message}");
            assert!(message.contains("typo.toml"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn unknown_key_is_refused() {
        Jail::expect_with(|jail| {
            jail.create_file("unknown.toml", "[pulseboard]\nheartbeat-sec = 3\n")?;
            let message = load(Some(Path::new("unknown.toml"))).unwrap_err().to_string();
            assert!(message.contains("heartbeat-sec"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn monitor_settings_are_range_checked() {
        Jail::expect_with(|jail| {
            assert_eq!(load(None).unwrap().pulseboard.monitor.interval_ms, 1000);
            jail.set_env("PULSEBOARD_MONITOR_INTERVAL_MS", "5");
            let message = load(None).unwrap_err().to_string();
            assert!(message.contains("monitor-interval-ms") && message.contains("100..=60000"), "{message}");
            jail.set_env("PULSEBOARD_MONITOR_INTERVAL_MS", "500");
            jail.set_env("PULSEBOARD_MONITOR_CPU_WARN", "95");
            let message = load(None).unwrap_err().to_string();
            assert!(message.contains("monitor-cpu-warn") && message.contains("above"), "{message}");
            jail.set_env("PULSEBOARD_MONITOR_CPU_WARN", "50");
            jail.set_env("PULSEBOARD_MONITOR_DISK_CRITICAL", "150");
            let message = load(None).unwrap_err().to_string();
            assert!(message.contains("monitor-disk-critical") && message.contains("percentage"), "{message}");
            jail.set_env("PULSEBOARD_MONITOR_DISK_CRITICAL", "99.5");
            let settings = load(None).unwrap().pulseboard;
            assert_eq!((settings.monitor.interval_ms, settings.monitor.cpu_warn), (500, 50.0));
            Ok(())
        });
    }

    #[test]
    fn bad_env_value_names_the_variable() {
        Jail::expect_with(|jail| {
            jail.set_env("PULSEBOARD_HISTORY_EVENTS", "lots");
            let message = load(None).unwrap_err().to_string();
            assert!(message.contains("history-events"), "{message}");
            assert!(message.contains("PULSEBOARD_HISTORY_EVENTS"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn unknown_environment_variable_is_ignored_with_its_name() {
        Jail::expect_with(|jail| {
            // What Kubernetes injects for a Service named pulseboard.
            jail.set_env("PULSEBOARD_PORT", "tcp://10.0.0.1:3000");
            jail.set_env("PULSEBOARD_SERVICE_HOST", "10.0.0.1");
            let settings = load(None).unwrap();
            let mut ignored = settings.ignored_variables.clone();
            ignored.sort();
            assert_eq!(ignored, ["PULSEBOARD_PORT", "PULSEBOARD_SERVICE_HOST"]);
            // Real settings from the environment still apply beside them.
            jail.set_env("PULSEBOARD_HEARTBEAT_SECS", "9");
            assert_eq!(load(None).unwrap().pulseboard.streams.heartbeat_secs, 9);
            Ok(())
        });
    }

    #[test]
    fn every_documented_key_is_read_by_some_module() {
        Jail::expect_with(|_| {
            let table: toml::Table = EMBEDDED_DEFAULTS.parse().unwrap();
            let mut documented: Vec<String> = table["pulseboard"].as_table().unwrap().keys().cloned().collect();
            let mut known = load(None).unwrap().pulseboard.known_keys();
            documented.sort();
            known.sort();
            assert_eq!(documented, known);
            Ok(())
        });
    }
}
