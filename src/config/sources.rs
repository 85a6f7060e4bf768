//! The layers the configuration is read from (embedded defaults, file, `LEPTOS_*` and
//! `PULSEBOARD_*` variables) as one figment, and figment's errors as sentences that name the key
//! and where its value came from (the file, or the environment variable by its name).

use super::{ConfigError, EMBEDDED_DEFAULTS};
use figment::{
    providers::{Env, Format, Toml},
    Figment,
};
use std::path::Path;

/// The layers, lowest first: embedded defaults, then `file`, then `LEPTOS_*` and `PULSEBOARD_*`
/// variables of the process environment.
pub(super) fn layers(file: Option<&Path>) -> Result<Figment, ConfigError> {
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
    Ok(figment.merge(env_layer("LEPTOS_", "leptos", &[])).merge(env_layer("PULSEBOARD_", "pulseboard", &["config"])))
}

/// `PREFIX_SOME_KEY=value` becomes `table.some-key = value`; `ignored` names are not settings
/// (e.g. `PULSEBOARD_CONFIG`, which names the file itself).
fn env_layer(prefix: &'static str, table: &'static str, ignored: &'static [&'static str]) -> Env {
    Env::prefixed(prefix)
        .ignore(ignored)
        .map(move |key| format!("{table}.{}", key.as_str().to_ascii_lowercase().replace('_', "-")).into())
}

/// One line per problem of `table`: what is wrong, with which key, and where the value came from.
pub(super) fn describe_in(table: &str, err: figment::Error) -> String {
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
