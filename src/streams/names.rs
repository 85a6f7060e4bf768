//! Topic names and event types: the grammar every producer and subscriber is checked against.
//!
//! Grammar (both): 1 to 128 characters from `A-Z a-z 0-9 . _ - :`, starting with a letter or
//! digit. That keeps names safe in URLs, in SSE `event:` lines and in logs, and leaves `:` for
//! namespaces (`job:42`). The event type `reset` is reserved for the stream layer itself.

use serde::{Deserialize, Serialize};
use std::{fmt, sync::Arc};

pub const MAX_NAME_LEN: usize = 128;

/// Topics under this prefix are private to the server: reached only by a grant that names them,
/// or by server code that derived the topic from the caller's session (see `access`).
pub const PRIVATE_PREFIX: &str = "private.";

/// The event type the stream layer sends when a subscriber must reload its snapshot.
pub const RESET_EVENT: &str = "reset";

/// The event that ends a stream whose token expired (the client hook then gets a fresh token and
/// resumes from its last id).
pub const AUTH_EXPIRED_EVENT: &str = "auth-expired";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
    #[error("{what} is longer than {MAX_NAME_LEN} characters")]
    TooLong { what: &'static str },
    #[error("{what} {name:?} must start with a letter or digit")]
    BadStart { what: &'static str, name: String },
    #[error("{what} {name:?} contains {found:?}; allowed are letters, digits and . _ - :")]
    BadChar { what: &'static str, name: String, found: char },
    #[error("event type {0:?} is reserved by pulseboard")]
    Reserved(String),
}

fn check(what: &'static str, name: &str) -> Result<(), NameError> {
    let first = name.chars().next().ok_or(NameError::Empty { what })?;
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong { what });
    }
    if !first.is_ascii_alphanumeric() {
        return Err(NameError::BadStart { what, name: name.to_string() });
    }
    if let Some(found) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || ".-_:".contains(*c))) {
        return Err(NameError::BadChar { what, name: name.to_string(), found });
    }
    Ok(())
}

/// A validated topic name. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TopicName(Arc<str>);

impl TopicName {
    pub fn new(name: &str) -> Result<Self, NameError> {
        check("topic name", name)?;
        Ok(Self(name.into()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `name` follows the grammar, in a form the compiler can evaluate (see [`TopicConst`]).
const fn follows_grammar(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_NAME_LEN || !bytes[0].is_ascii_alphanumeric() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':')) {
            return false;
        }
        i += 1;
    }
    true
}

/// A topic name fixed in the source (`jobs.shared`, `ticks`), checked when the program compiles:
/// `const TICKS: TopicConst = TopicConst::new("ticks");` fails the build if the name is invalid,
/// so producers never re-parse their own constants at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicConst(&'static str);

impl TopicConst {
    pub const fn new(name: &'static str) -> Self {
        assert!(follows_grammar(name), "not a valid topic name");
        Self(name)
    }
    pub const fn as_str(self) -> &'static str {
        self.0
    }
    pub fn name(self) -> TopicName {
        TopicName(self.0.into())
    }
}

impl From<TopicConst> for TopicName {
    fn from(value: TopicConst) -> Self {
        value.name()
    }
}

/// A validated event type (what an EventSource client listens for with `addEventListener`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventType(Arc<str>);

impl EventType {
    /// A type a producer may publish: valid and not reserved.
    pub fn new(name: &str) -> Result<Self, NameError> {
        check("event type", name)?;
        if name == RESET_EVENT {
            return Err(NameError::Reserved(name.to_string()));
        }
        Ok(Self(name.into()))
    }
    pub fn message() -> Self {
        Self(super::DEFAULT_EVENT_TYPE.into())
    }
    /// An event type fixed in the source, checked when the program compiles (like [`TopicConst`]):
    /// use it in a `const` item, e.g. `const QUOTE: EventTypeConst = EventType::constant("quote");`.
    pub const fn constant(name: &'static str) -> EventTypeConst {
        assert!(follows_grammar(name), "not a valid event type");
        assert!(!matches!(name.as_bytes(), b"reset"), "the event type reset is reserved");
        EventTypeConst(name)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An event type checked at compile time; see [`EventType::constant`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTypeConst(&'static str);

impl EventTypeConst {
    pub const fn as_str(self) -> &'static str {
        self.0
    }
    pub fn event_type(self) -> EventType {
        EventType(self.0.into())
    }
}

macro_rules! string_conversions {
    ($($ty:ty),*) => {$(
        impl TryFrom<String> for $ty {
            type Error = NameError;
            fn try_from(value: String) -> Result<Self, NameError> {
                Self::new(&value)
            }
        }
        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.0.to_string()
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
string_conversions!(TopicName, EventType);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_grammar() {
        for name in ["ticks", "job:42", "host.cpu", "a", "A-b_c.d:e", &"x".repeat(128)] {
            TopicName::new(name).unwrap();
        }
    }

    #[test]
    fn refuses_with_a_reason() {
        assert_eq!(TopicName::new(""), Err(NameError::Empty { what: "topic name" }));
        assert!(matches!(TopicName::new(&"x".repeat(129)), Err(NameError::TooLong { .. })));
        assert!(matches!(TopicName::new(":x"), Err(NameError::BadStart { .. })));
        assert!(matches!(TopicName::new("a b"), Err(NameError::BadChar { found: ' ', .. })));
        assert!(matches!(EventType::new("x\ny"), Err(NameError::BadChar { found: '\n', .. })));
        assert_eq!(EventType::new("reset"), Err(NameError::Reserved("reset".into())));
        let message = TopicName::new("a/b").unwrap_err().to_string();
        assert!(message.contains("a/b") && message.contains('/'), "{message}");
    }

    #[test]
    fn compile_time_grammar_agrees_with_the_run_time_check() {
        for name in ["ticks", "job:42", "a", ":x", "a b", "a/b", "", "é", &"x".repeat(128), &"x".repeat(129)] {
            assert_eq!(follows_grammar(name), check("topic name", name).is_ok(), "{name:?}");
        }
        const TICKS: TopicConst = TopicConst::new("ticks");
        assert_eq!(TICKS.name(), TopicName::new("ticks").unwrap());
        const QUOTE: EventTypeConst = EventType::constant("quote");
        assert_eq!(QUOTE.event_type(), EventType::new("quote").unwrap());
    }
}
