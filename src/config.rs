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

use figment::{
    providers::{Env, Format, Toml},
    Figment,
};
use leptos::config::LeptosOptions;
use serde::Deserialize;
use std::{
    path::{Path, PathBuf},
    time::Duration,
};

/// The repository's `Leptos.toml`, compiled in so the bare binary runs with no file at all.
pub const EMBEDDED_DEFAULTS: &str = include_str!("../Leptos.toml");

/// pulseboard's own settings: the `[pulseboard]` table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PulseboardSettings {
    /// Directory for everything the server keeps on disk.
    pub data_dir: PathBuf,
    /// `retry:` sent at the start of every event stream, in milliseconds.
    pub sse_retry_ms: u32,
    /// Seconds of silence after which a stream sends a heartbeat comment.
    pub heartbeat_secs: u64,
    /// History kept per topic for resume: at most this many events...
    pub history_events: usize,
    /// ...and none older than this many seconds.
    pub history_secs: u64,
    /// Largest body `POST /api/publish` accepts, in bytes.
    pub publish_body_limit: usize,
    /// Most topics one event stream may subscribe to.
    pub max_topics_per_stream: usize,
    /// Seconds the server waits for open connections after SIGINT/SIGTERM before it exits anyway.
    pub shutdown_grace_secs: u64,
    /// Jobs running at once; more wait in the queue.
    pub jobs_workers: usize,
    /// File jobs may only read below this directory.
    pub jobs_files_root: PathBuf,
    /// Enables `/api/debug/*` (e.g. dropping every open stream). Never enable it in production.
    pub debug_endpoints: bool,
    /// Symbols of the built-in simulated market.
    pub market_symbols: Vec<String>,
    /// Simulated ticks per second across all symbols (0: no simulation, outside feeds only).
    pub market_ticks_per_second: u32,
    /// Seed of the simulation: the same seed gives the same prices.
    pub market_seed: u64,
    /// How often the monitor samples the host, the process and the hub, in milliseconds.
    pub monitor_interval_ms: u64,
    /// Monitor thresholds, in percent: a gauge turns warn at `*-warn`, critical at `*-critical`.
    pub monitor_cpu_warn: f64,
    pub monitor_cpu_critical: f64,
    pub monitor_memory_warn: f64,
    pub monitor_memory_critical: f64,
    pub monitor_disk_warn: f64,
    pub monitor_disk_critical: f64,
}

/// Shortest and longest sampling interval the monitor accepts.
pub const MONITOR_INTERVAL_RANGE_MS: std::ops::RangeInclusive<u64> = 100..=60_000;

impl PulseboardSettings {
    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs(self.heartbeat_secs)
    }
    pub fn history_age(&self) -> Duration {
        Duration::from_secs(self.history_secs)
    }
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
    pub fn monitor_interval(&self) -> Duration {
        Duration::from_millis(self.monitor_interval_ms)
    }

    /// Checks what the types alone cannot: ranges and the order of thresholds. One message per
    /// problem, naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if !MONITOR_INTERVAL_RANGE_MS.contains(&self.monitor_interval_ms) {
            problems.push(format!(
                "key `pulseboard.monitor-interval-ms`: {} is outside {}..={}",
                self.monitor_interval_ms,
                MONITOR_INTERVAL_RANGE_MS.start(),
                MONITOR_INTERVAL_RANGE_MS.end()
            ));
        }
        for (name, warn, critical) in [
            ("cpu", self.monitor_cpu_warn, self.monitor_cpu_critical),
            ("memory", self.monitor_memory_warn, self.monitor_memory_critical),
            ("disk", self.monitor_disk_warn, self.monitor_disk_critical),
        ] {
            for (which, value) in [("warn", warn), ("critical", critical)] {
                if !(0.0..=100.0).contains(&value) {
                    problems.push(format!("key `pulseboard.monitor-{name}-{which}`: {value} is not a percentage (0 to 100)"));
                }
            }
            if warn > critical {
                problems.push(format!(
                    "key `pulseboard.monitor-{name}-warn`: {warn} is above monitor-{name}-critical ({critical})"
                ));
            }
        }
        if self.market_ticks_per_second > MAX_TICKS_PER_SECOND {
            problems.push(format!(
                "key `pulseboard.market-ticks-per-second`: {} is above {MAX_TICKS_PER_SECOND}",
                self.market_ticks_per_second
            ));
        }
        for problem in crate::market::board::symbol_list_problems(&self.market_symbols) {
            problems.push(format!("key `pulseboard.market-symbols`: {problem}"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems.join("; ")))
        }
    }
}

/// Highest simulated tick rate accepted.
pub const MAX_TICKS_PER_SECOND: u32 = 20_000;

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub leptos: LeptosOptions,
    pub pulseboard: PulseboardSettings,
    /// The file the settings came from, if any (for logs).
    pub source: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct FileLayout {
    leptos: LeptosOptions,
    pulseboard: PulseboardSettings,
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
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        // Check the syntax ourselves so the error names the file; figment then reads the file,
        // so a value error names it too.
        if let Err(err) = text.parse::<toml::Table>() {
            return Err(ConfigError::Malformed { path: path.to_path_buf(), message: err.to_string() });
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment
        .merge(env_layer("LEPTOS_", "leptos", &[]))
        .merge(env_layer("PULSEBOARD_", "pulseboard", &["config"]));

    let layout: FileLayout = figment.extract().map_err(|err| ConfigError::Invalid(describe(err)))?;
    layout.pulseboard.validate()?;
    Ok(Settings {
        leptos: layout.leptos,
        pulseboard: layout.pulseboard,
        source: file.map(Path::to_path_buf),
    })
}

/// `PREFIX_SOME_KEY=value` becomes `table.some-key = value`; `ignored` names are not settings
/// (e.g. `PULSEBOARD_CONFIG`, which names the file itself).
fn env_layer(prefix: &'static str, table: &'static str, ignored: &'static [&'static str]) -> Env {
    Env::prefixed(prefix)
        .ignore(ignored)
        .map(move |key| format!("{table}.{}", key.as_str().to_ascii_lowercase().replace('_', "-")).into())
}

/// One line per problem: what is wrong, with which key, and where the value came from.
fn describe(err: figment::Error) -> String {
    err.into_iter()
        .map(|e| {
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
            assert_eq!(settings.pulseboard.heartbeat_secs, 15);
            assert_eq!(settings.pulseboard.publish_body_limit, 65536);
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
            assert_eq!(settings.pulseboard.data_dir, PathBuf::from("/srv/pb"));
            assert_eq!(settings.pulseboard.heartbeat_secs, 30);
            // Keys the file does not name keep their defaults.
            assert_eq!(settings.pulseboard.history_events, 1024);

            jail.set_env("PULSEBOARD_DATA_DIR", "/var/lib/pulseboard");
            jail.set_env("PULSEBOARD_HEARTBEAT_SECS", "5");
            jail.set_env("LEPTOS_SITE_ADDR", "127.0.0.1:5000");
            jail.set_env("LEPTOS_OUTPUT_NAME", "renamed");
            // Variables that are not settings of ours are ignored.
            jail.set_env("LEPTOS_WATCH", "true");
            jail.set_env("PULSEBOARD_CONFIG", "/somewhere/Leptos.toml");
            let settings = load(Some(Path::new("custom.toml"))).unwrap();
            assert_eq!(settings.pulseboard.data_dir, PathBuf::from("/var/lib/pulseboard"));
            assert_eq!(settings.pulseboard.heartbeat_secs, 5);
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
            assert_eq!(load(path.as_deref()).unwrap().pulseboard.heartbeat_secs, 7);
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
            assert_eq!(load(None).unwrap().pulseboard.monitor_interval_ms, 1000);
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
            assert_eq!((settings.monitor_interval_ms, settings.monitor_cpu_warn), (500, 50.0));
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
}
