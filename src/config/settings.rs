//! What the `[pulseboard]` table holds: the server's own settings and the composition of every
//! module's settings type, read from one figment and checked module by module.
//!
//! The table is flat (`heartbeat-secs`, `jobs-workers`, ...): each module's type reads its own keys
//! from it and validates its own values; this file only lists the modules, so a new module's
//! settings are one field, one `part`, one `keys` and one `validate` here.

use super::{sources::describe_in, ConfigError, TABLE};
use crate::{
    jobs::settings::JobsSettings,
    market::settings::MarketSettings,
    monitor::settings::MonitorSettings,
    server::{cors::CorsSettings, tls::TlsSettings},
    session::SessionSettings,
    streams::{auth::AuthSettings, limits::LimitSettings, StreamSettings},
};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::{path::PathBuf, time::Duration};

/// The server's own settings: where it keeps its files, how it stops, what it exposes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerSettings {
    /// Directory for everything the server keeps on disk.
    #[serde(rename = "data-dir")]
    pub data_dir: PathBuf,
    /// Seconds the server waits for open connections after SIGINT/SIGTERM before it exits anyway.
    #[serde(rename = "shutdown-grace-secs")]
    pub shutdown_grace_secs: u64,
    /// Enables `/api/debug/*` (e.g. dropping every open stream). Never enable it in production.
    #[serde(rename = "debug-endpoints")]
    pub debug_endpoints: bool,
    /// `tls-cert` and `tls-key`: HTTPS on `site-addr` when both are set.
    #[serde(flatten)]
    pub tls: TlsSettings,
    /// `session-secret`: the key session cookies are signed with.
    #[serde(flatten)]
    pub session: SessionSettings,
}

impl ServerSettings {
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// Whether `site-addr` speaks TLS (HTTPS, HTTP/2 by ALPN), e.g. for `Secure` cookies.
    pub fn tls_enabled(&self) -> bool {
        self.tls.files().is_some()
    }
}

/// pulseboard's own settings, the `[pulseboard]` table, composed of each module's settings. The
/// table is flat (`heartbeat-secs`, `jobs-workers`, ...); each module reads its own keys.
#[derive(Debug, Clone, PartialEq)]
pub struct PulseboardSettings {
    pub server: ServerSettings,
    pub streams: StreamSettings,
    pub auth: AuthSettings,
    pub limits: LimitSettings,
    pub jobs: JobsSettings,
    pub market: MarketSettings,
    pub monitor: MonitorSettings,
    pub cors: CorsSettings,
}

impl PulseboardSettings {
    /// Reads each module's keys from the `pulseboard` table of `figment`.
    pub(super) fn extract(figment: &Figment) -> Result<Self, ConfigError> {
        fn part<T: serde::de::DeserializeOwned>(figment: &Figment) -> Result<T, ConfigError> {
            figment.focus(TABLE).extract().map_err(|err| ConfigError::Invalid(describe_in(TABLE, err)))
        }
        Ok(Self {
            server: part(figment)?,
            streams: part(figment)?,
            auth: part(figment)?,
            limits: part(figment)?,
            jobs: part(figment)?,
            market: part(figment)?,
            monitor: part(figment)?,
            cors: part(figment)?,
        })
    }

    /// Every key of the table, as the modules name them.
    pub(super) fn known_keys(&self) -> Vec<String> {
        fn keys<T: Serialize>(part: &T) -> Vec<String> {
            match toml::Value::try_from(part) {
                Ok(toml::Value::Table(table)) => table.keys().cloned().collect(),
                _ => Vec::new(),
            }
        }
        [
            keys(&self.server),
            keys(&self.streams),
            keys(&self.auth),
            keys(&self.jobs),
            keys(&self.market),
            keys(&self.monitor),
            keys(&self.cors),
            keys(&self.limits),
        ]
        .concat()
    }

    /// Checks what the types alone cannot, module by module: one message per problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let problems = [
            self.server.tls.validate(),
            self.server.session.validate(),
            self.streams.validate(),
            self.auth.validate(),
            self.jobs.validate(),
            self.market.validate(),
            self.monitor.validate(),
            self.cors.validate(),
            self.limits.validate(),
        ]
        .concat();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems.join("; ")))
        }
    }
}
