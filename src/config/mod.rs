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
//!
//! Files: `sources` (the layers as one figment, errors naming key and source), `settings` (the
//! composed `[pulseboard]` settings and their checks), `unknown` (keys no module reads: refused
//! from a file, a warning from the environment).

mod settings;
mod sources;
mod unknown;

pub use settings::{PulseboardSettings, ServerSettings};

use leptos::config::LeptosOptions;
use sources::describe_in;
use std::path::{Path, PathBuf};
use unknown::check_unknown_keys;

/// The repository's `Leptos.toml`, compiled in so the bare binary runs with no file at all.
pub const EMBEDDED_DEFAULTS: &str = include_str!("../../Leptos.toml");

/// The table of pulseboard's own settings.
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
    let figment = sources::layers(file)?;

    let leptos: LeptosOptions =
        figment.focus("leptos").extract().map_err(|err| ConfigError::Invalid(describe_in("leptos", err)))?;
    let pulseboard = PulseboardSettings::extract(&figment)?;
    let ignored_variables = check_unknown_keys(&figment, &pulseboard.known_keys())?;
    pulseboard.validate()?;
    Ok(Settings { leptos, pulseboard, source: file.map(Path::to_path_buf), ignored_variables })
}

#[cfg(test)]
mod tests;
