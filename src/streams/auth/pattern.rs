//! Topic patterns, as tokens name them: an exact topic name (`jobs.shared`), a prefix ending in
//! `*` (`jobs.*`, `market.quote.*`), or `*` alone.
//!
//! Hand-written because the grammar is three cases (a glob crate would accept more than we
//! document). Two rules on top of plain matching, both in [`TopicPattern::grants`]:
//! - *reserved* topics (those the server itself produces, registered by the server wiring) are
//!   reached only by a grant that names them: an exact name, or a prefix at least as narrow as
//!   the reserved pattern (`jobs.*` or `jobs.sh*` reach `jobs.shared`; `j*` and `*` do not);
//! - `private.` topics are reserved the same way, always.

use crate::streams::names::{TopicName, PRIVATE_PREFIX};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicPattern {
    /// `*`: every topic that is not reserved.
    Any,
    /// `prefix*`: every topic starting with the prefix (the prefix may be empty only as `Any`).
    Prefix(String),
    /// A topic name.
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("topic pattern {pattern:?} is not valid: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

impl TopicPattern {
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let error = |reason: &str| PatternError { pattern: text.to_string(), reason: reason.to_string() };
        if text == "*" {
            return Ok(Self::Any);
        }
        let (body, prefix) = match text.strip_suffix('*') {
            Some(body) => (body, true),
            None => (text, false),
        };
        if body.contains('*') {
            return Err(error("`*` may only stand at the end (`jobs.*`) or alone (`*`)"));
        }
        if prefix {
            // The prefix must be the start of some valid topic name: check it with a letter added.
            TopicName::new(&format!("{body}x")).map_err(|err| error(&err.to_string()))?;
            Ok(Self::Prefix(body.to_string()))
        } else {
            TopicName::new(body).map_err(|err| error(&err.to_string()))?;
            Ok(Self::Exact(body.to_string()))
        }
    }

    /// Plain matching, without the reserved rule.
    pub fn matches(&self, topic: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Prefix(prefix) => topic.starts_with(prefix.as_str()),
            Self::Exact(name) => topic == name,
        }
    }

    /// Whether this grant reaches `topic`, given the patterns of reserved topics.
    pub fn grants(&self, topic: &str, reserved: &[TopicPattern]) -> bool {
        if !self.matches(topic) {
            return false;
        }
        let private = TopicPattern::Prefix(PRIVATE_PREFIX.to_string());
        let mut guards = reserved.iter().chain(std::iter::once(&private)).filter(|r| r.matches(topic));
        guards.all(|guard| self.within(guard))
    }

    /// Whether every topic this pattern matches is matched by `other` (this one is no wider).
    fn within(&self, other: &TopicPattern) -> bool {
        match (self, other) {
            (_, Self::Any) => true,
            (Self::Any, _) => false,
            (Self::Exact(name), _) => other.matches(name),
            (Self::Prefix(mine), Self::Prefix(theirs)) => mine.starts_with(theirs.as_str()),
            (Self::Prefix(_), Self::Exact(_)) => false,
        }
    }

    /// The pattern of a topic's namespace: `jobs.shared` → `jobs.*` (a name without a dot stands
    /// for itself). Lets the server reserve a producer's namespace from its topic constant.
    pub fn namespace_of(topic: &str) -> Self {
        match topic.find('.') {
            Some(dot) => Self::Prefix(topic[..=dot].to_string()),
            None => Self::Exact(topic.to_string()),
        }
    }
}

impl fmt::Display for TopicPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Prefix(prefix) => write!(f, "{prefix}*"),
            Self::Exact(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> TopicPattern {
        TopicPattern::parse(text).unwrap()
    }

    #[test]
    fn grammar() {
        assert_eq!(p("*"), TopicPattern::Any);
        assert_eq!(p("jobs.*"), TopicPattern::Prefix("jobs.".into()));
        assert_eq!(p("jobs.shared"), TopicPattern::Exact("jobs.shared".into()));
        for bad in ["", "jo*bs", "**", "*.jobs", "a b", "jobs.*.x", ".*", "../x"] {
            let err = TopicPattern::parse(bad).unwrap_err();
            assert_eq!(err.pattern, bad);
        }
        for text in ["*", "jobs.*", "demo"] {
            assert_eq!(p(text).to_string(), text);
        }
    }

    #[test]
    fn matching() {
        assert!(p("*").matches("anything"));
        assert!(p("market.quote.*").matches("market.quote.ACME"));
        assert!(!p("market.quote.*").matches("market.quotes"));
        assert!(p("demo").matches("demo"));
        assert!(!p("demo").matches("demo2"));
        assert!(p("demo*").matches("demo2"));
    }

    #[test]
    fn reserved_topics_need_a_grant_that_names_them() {
        let reserved = [p("jobs.*"), p("market.quote.*"), p("monitor.*")];
        assert!(p("*").grants("demo", &reserved));
        assert!(!p("*").grants("jobs.shared", &reserved));
        assert!(!p("j*").grants("jobs.shared", &reserved));
        assert!(!p("market.*").grants("market.quote.ACME", &reserved));
        assert!(p("jobs.*").grants("jobs.shared", &reserved));
        assert!(p("jobs.sh*").grants("jobs.shared", &reserved));
        assert!(p("jobs.shared").grants("jobs.shared", &reserved));
        assert!(p("market.quote.*").grants("market.quote.ACME", &reserved));
        assert!(p("monitor.samples").grants("monitor.samples", &reserved));
        assert!(!p("monitor.*").grants("jobs.shared", &reserved));
        // private. is always reserved.
        assert!(!p("*").grants("private.jobs.abc", &[]));
        assert!(!p("priv*").grants("private.jobs.abc", &[]));
        assert!(p("private.*").grants("private.jobs.abc", &[]));
        assert!(p("private.jobs.abc").grants("private.jobs.abc", &[]));
    }

    #[test]
    fn namespaces() {
        assert_eq!(TopicPattern::namespace_of("jobs.shared"), p("jobs.*"));
        assert_eq!(TopicPattern::namespace_of("monitor.samples"), p("monitor.*"));
        assert_eq!(TopicPattern::namespace_of("ticks"), p("ticks"));
    }
}
