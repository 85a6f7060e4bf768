//! Keys of the `[pulseboard]` table that no module reads, and what becomes of them: refused when
//! they come from a file, a warning when they come from the environment.
//!
//! Invariant: a file's unknown key stops the server (a typo must not be silently dropped); a
//! `PULSEBOARD_*` variable that is not a setting never does, since orchestrators inject variables
//! of that prefix for a service named pulseboard.

use super::{ConfigError, TABLE};
use figment::Figment;

/// Keys of the `[pulseboard]` table that no module reads. One from a file is a mistake (a typo,
/// a removed setting) and stops the server; one from the environment may belong to someone else
/// (orchestrators inject `<SERVICE>_PORT=tcp://...` for a service named pulseboard), so it is
/// returned, as the variable's name, for a warning.
pub(super) fn check_unknown_keys(figment: &Figment, known: &[String]) -> Result<Vec<String>, ConfigError> {
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
