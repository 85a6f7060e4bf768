//! The kinds of job the server knows, and the built-in ones (server only).
//!
//! A kind is a factory: it checks the user's parameters (a JSON object, as a form or API sent
//! them) and returns a label and a runnable job. Parameters are stored with the job, so a retry
//! runs the same factory again. Applications add kinds with [`JobRegistry::register`].

mod checksum;
mod pipeline;
mod primes;

use super::job::{FieldError, Job, JobEnv};
use serde_json::Value;
use std::{collections::BTreeMap, sync::Arc};

/// A job ready to queue.
pub struct Prepared {
    pub label: String,
    pub job: Box<dyn Job>,
}

pub type Factory = Arc<dyn Fn(&Value, &JobEnv) -> Result<Prepared, FieldError> + Send + Sync>;

#[derive(Clone, Default)]
pub struct JobRegistry {
    kinds: BTreeMap<String, Factory>,
}

impl JobRegistry {
    pub fn with_builtins() -> Self {
        let mut registry = Self::default();
        registry.register(checksum::KIND, Arc::new(checksum::prepare));
        registry.register(primes::KIND, Arc::new(primes::prepare));
        registry.register(pipeline::KIND, Arc::new(pipeline::prepare));
        registry
    }

    pub fn register(&mut self, kind: &str, factory: Factory) {
        self.kinds.insert(kind.to_string(), factory);
    }

    pub fn prepare(&self, kind: &str, params: &Value, env: &JobEnv) -> Result<Prepared, FieldError> {
        let factory = self.kinds.get(kind).ok_or_else(|| {
            let known: Vec<&str> = self.kinds.keys().map(String::as_str).collect();
            FieldError::new("kind", format!("unknown job kind {kind:?}; known: {}", known.join(", ")))
        })?;
        factory(params, env)
    }
}

/// A whole number parameter within `range`, given as a JSON number or a string from a form.
pub fn whole_number(params: &Value, field: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, FieldError> {
    let value = params.get(field).ok_or_else(|| FieldError::new(field, "is required"))?;
    let number = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().replace('_', "").parse::<u64>().ok(),
        _ => None,
    }
    .ok_or_else(|| FieldError::new(field, "must be a whole number"))?;
    if !range.contains(&number) {
        return Err(FieldError::new(field, format!("must be between {} and {}", range.start(), range.end())));
    }
    Ok(number)
}

/// A text parameter (may be empty).
pub fn text<'a>(params: &'a Value, field: &str) -> Result<&'a str, FieldError> {
    match params.get(field) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(FieldError::new(field, "must be text")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_from_json_or_forms_with_clear_errors() {
        let p = json!({"a": 5, "b": " 1_000 ", "c": "x", "d": -1, "e": 99});
        assert_eq!(whole_number(&p, "a", 1..=10), Ok(5));
        assert_eq!(whole_number(&p, "b", 1..=10_000), Ok(1000));
        assert_eq!(whole_number(&p, "c", 1..=10).unwrap_err().message, "must be a whole number");
        assert_eq!(whole_number(&p, "d", 1..=10).unwrap_err().message, "must be a whole number");
        assert_eq!(whole_number(&p, "e", 1..=10).unwrap_err().message, "must be between 1 and 10");
        assert_eq!(whole_number(&p, "z", 1..=10).unwrap_err().message, "is required");
    }

    #[test]
    fn unknown_kind_lists_the_known_ones() {
        let env = JobEnv { files_root: ".".into() };
        let err = JobRegistry::with_builtins().prepare("nope", &json!({}), &env).err().unwrap();
        assert_eq!(err.field, "kind");
        assert!(err.message.contains("checksum") && err.message.contains("primes"), "{}", err.message);
    }
}
