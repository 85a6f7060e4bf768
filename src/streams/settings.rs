//! The stream layer's own settings: keys of the `[pulseboard]` table that shape every stream.
//!
//! The server's configuration composes this with the other modules' settings; the keys and their
//! environment variables (`PULSEBOARD_HEARTBEAT_SECS`, ...) are documented in README. `hub` is the
//! one optional key: absent, topics live in this process; set, in the Redis it names.

use super::hub::{check_redis_url, HubConfig};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamSettings {
    /// `retry:` sent at the start of every event stream, in milliseconds.
    #[serde(rename = "sse-retry-ms")]
    pub retry_ms: u32,
    /// Seconds of silence after which a stream sends a heartbeat comment.
    #[serde(rename = "heartbeat-secs")]
    pub heartbeat_secs: u64,
    /// History kept per topic for resume: at most this many events...
    #[serde(rename = "history-events")]
    pub history_events: usize,
    /// ...and none older than this many seconds.
    #[serde(rename = "history-secs")]
    pub history_secs: u64,
    /// Largest body `POST /api/publish` accepts, in bytes.
    #[serde(rename = "publish-body-limit")]
    pub publish_body_limit: usize,
    /// Most topics one event stream may subscribe to.
    #[serde(rename = "max-topics-per-stream")]
    pub max_topics_per_stream: usize,
    /// Where topics live: absent for this process (the embedded default), or the Redis that
    /// several instances share, as `redis://host:port/db` (env `PULSEBOARD_HUB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<String>,
    /// An every-event stream owing its client more than this many bytes (unsent, plus published
    /// since its socket last took everything) is closed: see `hub::subscriber`.
    #[serde(rename = "stream-max-lag-bytes")]
    pub max_lag_bytes: u64,
}

impl StreamSettings {
    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs(self.heartbeat_secs)
    }

    pub fn history_age(&self) -> Duration {
        Duration::from_secs(self.history_secs)
    }

    /// The hub's limits and timings.
    pub fn hub_config(&self) -> HubConfig {
        HubConfig {
            history_events: self.history_events.max(1),
            history_age: self.history_age(),
            heartbeat: self.heartbeat(),
            retry_ms: self.retry_ms,
        }
    }

    /// What the types alone cannot say: one message per problem, naming the key.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.heartbeat_secs == 0 {
            problems.push("key `pulseboard.heartbeat-secs`: must be at least 1".to_string());
        }
        if self.max_topics_per_stream == 0 {
            problems.push("key `pulseboard.max-topics-per-stream`: must be at least 1".to_string());
        }
        if let Some(Err(problem)) = self.hub.as_deref().map(check_redis_url) {
            problems.push(format!("key `pulseboard.hub`: {problem}"));
        }
        if self.max_lag_bytes < 1024 {
            problems.push("key `pulseboard.stream-max-lag-bytes`: must be at least 1024".to_string());
        }
        problems
    }
}
