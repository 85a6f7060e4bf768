//! The stream layer's limits (`max-streams*`, `publish-*`, `trusted-proxies` keys of the
//! `[pulseboard]` table), checked by [`super::StreamLimits`].

use super::client_ip::TrustedProxies;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitSettings {
    /// Event streams one client IP may have open at once.
    #[serde(rename = "max-streams-per-ip")]
    pub max_streams_per_ip: usize,
    /// Event streams open at once over all clients.
    #[serde(rename = "max-streams")]
    pub max_streams: usize,
    /// Publishes a second one publisher (bearer token, else client IP) may make, sustained...
    #[serde(rename = "publish-per-second")]
    pub publish_per_second: u32,
    /// ...and at once, after a pause.
    #[serde(rename = "publish-burst")]
    pub publish_burst: u32,
    /// Peers whose `X-Forwarded-For` names the client: addresses or networks (`10.0.0.0/8`).
    #[serde(rename = "trusted-proxies")]
    pub trusted_proxies: Vec<String>,
}

impl LimitSettings {
    /// One message per problem, naming the key.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let at_least_one = [
            ("max-streams-per-ip", self.max_streams_per_ip as u64),
            ("max-streams", self.max_streams as u64),
            ("publish-per-second", u64::from(self.publish_per_second)),
            ("publish-burst", u64::from(self.publish_burst)),
        ];
        for (key, value) in at_least_one {
            if value == 0 {
                problems.push(format!("key `pulseboard.{key}`: must be at least 1"));
            }
        }
        if self.max_streams_per_ip > self.max_streams {
            problems.push(format!(
                "key `pulseboard.max-streams-per-ip`: {} is more than `max-streams` ({})",
                self.max_streams_per_ip, self.max_streams
            ));
        }
        if let Err(problem) = TrustedProxies::parse(&self.trusted_proxies) {
            problems.push(format!("key `pulseboard.trusted-proxies`: {problem}"));
        }
        problems
    }
}
