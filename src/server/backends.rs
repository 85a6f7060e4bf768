//! Which backend each shared thing uses, chosen once from the configuration: the one place the
//! embedded mode and the Redis mode (`hub = "redis://..."`) part ways at startup (server only).
//!
//! - Jobs: the SQLite file in the data directory, or Redis (records, logs and the cluster's queue).
//! - Session keys: `session-secret` when set; else one key in Redis shared by every instance, or
//!   a key file in the data directory.

use crate::{
    config::PulseboardSettings,
    jobs::store::{RedisStore, SqliteStore, Store},
    session::SessionKeys,
};
use std::{io, path::Path, time::Duration};

/// How long a starting instance waits for Redis to hand out the shared session key.
const SESSION_KEY_PATIENCE: Duration = Duration::from_secs(10);

/// The job store the configuration asks for.
pub async fn job_store(config: &PulseboardSettings, data_dir: &Path) -> io::Result<Store> {
    match &config.streams.hub {
        Some(url) => Ok(Store::Redis(
            RedisStore::open(url, config.jobs.claim_timeout()).map_err(|err| io::Error::other(err.to_string()))?,
        )),
        None => {
            let database = data_dir.join("pulseboard.sqlite3");
            let store = SqliteStore::open(&database)
                .await
                .map_err(|err| io::Error::other(format!("{}: {err}", database.display())))?;
            Ok(Store::Sqlite(store))
        }
    }
}

/// The session keys, or `None` when they are to come from Redis ([`shared_session_keys`]).
/// Blocking (a key file): call it on the blocking pool.
pub fn local_session_keys(config: &PulseboardSettings, data_dir: &Path) -> io::Result<Option<SessionKeys>> {
    let secret = &config.server.session.secret;
    if !secret.is_empty() {
        return SessionKeys::from_secret(secret).map(Some);
    }
    match config.streams.hub {
        Some(_) => Ok(None),
        None => SessionKeys::load_or_create(data_dir).map(Some),
    }
}

/// The session key every instance on the configured Redis shares.
pub async fn shared_session_keys(config: &PulseboardSettings) -> io::Result<SessionKeys> {
    let url = config.streams.hub.as_deref().ok_or_else(|| io::Error::other("no Redis configured"))?;
    SessionKeys::shared_in_redis(url, SESSION_KEY_PATIENCE).await
}
