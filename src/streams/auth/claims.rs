//! The claims a pulseboard token carries, in the spirit of Mercure's:
//! `{"pulseboard": {"publish": ["jobs.*"], "subscribe": ["*"]}, "exp": 1767225600}` plus the
//! registered claims `nbf`, `iat`, `aud`, `iss`, `sub` when present.
//!
//! [`Scope`] is what a verified token allows: its patterns, parsed (a token with a pattern that
//! does not parse is refused as a whole, never half-applied), and its expiry.

use super::pattern::{PatternError, TopicPattern};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    #[serde(default)]
    pub publish: Vec<String>,
    #[serde(default)]
    pub subscribe: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub pulseboard: Grants,
    /// Expiry, seconds since the Unix epoch: required.
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

/// What a verified token allows.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pub publish: Vec<TopicPattern>,
    pub subscribe: Vec<TopicPattern>,
    /// `exp`, seconds since the Unix epoch.
    pub expires_at: u64,
}

impl Scope {
    pub fn from_claims(claims: &Claims) -> Result<Self, PatternError> {
        let parse = |list: &[String]| list.iter().map(|p| TopicPattern::parse(p)).collect::<Result<Vec<_>, _>>();
        Ok(Self {
            publish: parse(&claims.pulseboard.publish)?,
            subscribe: parse(&claims.pulseboard.subscribe)?,
            expires_at: claims.exp,
        })
    }

    pub fn patterns(&self, publish: bool) -> &[TopicPattern] {
        if publish {
            &self.publish
        } else {
            &self.subscribe
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_shape_parses() {
        let claims: Claims =
            serde_json::from_str(r#"{"pulseboard": {"publish": ["jobs.*"], "subscribe": ["*"]}, "exp": 1767225600}"#)
                .unwrap();
        let scope = Scope::from_claims(&claims).unwrap();
        assert_eq!(scope.publish, [TopicPattern::Prefix("jobs.".into())]);
        assert_eq!(scope.subscribe, [TopicPattern::Any]);
        assert_eq!(scope.expires_at, 1767225600);
        // Either list may be left out.
        let claims: Claims = serde_json::from_str(r#"{"pulseboard": {"subscribe": ["demo"]}, "exp": 1}"#).unwrap();
        assert!(Scope::from_claims(&claims).unwrap().publish.is_empty());
    }

    #[test]
    fn a_bad_pattern_refuses_the_whole_token() {
        let claims: Claims =
            serde_json::from_str(r#"{"pulseboard": {"publish": ["demo", "jo*bs"]}, "exp": 1}"#).unwrap();
        assert_eq!(Scope::from_claims(&claims).unwrap_err().pattern, "jo*bs");
        // The claim itself and exp are required.
        assert!(serde_json::from_str::<Claims>(r#"{"exp": 1}"#).is_err());
        assert!(serde_json::from_str::<Claims>(r#"{"pulseboard": {}}"#).is_err());
    }
}
