//! Connection setup for everything pulseboard keeps in Redis: one client per URL, a
//! `ConnectionManager` for commands and dedicated connections for blocking reads.
//!
//! Why two kinds: redis-rs multiplexes commands on one connection, so a blocking `XREAD` there
//! would stall every command queued behind it. Timeouts are set explicitly (redis-rs defaults to
//! 500 ms for every async command): commands answer within [`COMMAND_TIMEOUT`] or fail, so a
//! caller (a publish) answers 503 instead of hanging; a blocking read may take its block time.
//! Key names live here too, all under one prefix, so later users of Redis share the layout.

use redis::{
    aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection},
    AsyncConnectionConfig, Client, IntoConnectionInfo,
};
use std::time::Duration;

/// Longest a command may take before it counts as failed (Redis answers in well under 1 ms).
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(700);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(700);
/// Every key pulseboard writes begins with this.
pub const PREFIX: &str = "pulseboard:";

/// The stream key of a topic.
pub fn topic_key(topic: &str) -> String {
    format!("{PREFIX}topic:{topic}")
}

/// The id of a topic's newest event (kept when its stream key expires).
pub fn topic_last_key(topic: &str) -> String {
    format!("{PREFIX}topic-last:{topic}")
}

/// The id of the newest event of any topic (written by the publish script).
pub fn last_id_key() -> String {
    format!("{PREFIX}last-id")
}

/// The id of the first event of this data set: older ids were made before it (unknown).
pub fn since_key() -> String {
    format!("{PREFIX}since")
}

/// Checks a `redis://` URL without connecting: the reason it is no good, if it is not.
pub fn check_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
        return Err(format!("{url:?} is not a Redis URL; write it as redis://host:port/db"));
    }
    url.into_connection_info().map(|_| ()).map_err(|err| format!("{url:?} is not a usable Redis URL: {err}"))
}

/// A client for `url` (checked as [`check_url`] does; nothing connects yet).
pub fn client(url: &str) -> Result<Client, String> {
    check_url(url)?;
    Client::open(url).map_err(|err| format!("{url:?}: {err}"))
}

/// The shared command connection: reconnects by itself, never waits longer than
/// [`COMMAND_TIMEOUT`] for an answer. Lazy: made before Redis is reachable, it connects on use.
pub fn command_manager(client: Client) -> Result<ConnectionManager, String> {
    let config = ConnectionManagerConfig::new()
        .set_response_timeout(Some(COMMAND_TIMEOUT))
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200));
    ConnectionManager::new_lazy_with_config(client, config).map_err(|err| err.to_string())
}

/// A connection of its own for blocking reads of up to `block`: nothing else is sent on it.
pub async fn blocking_connection(client: &Client, block: Duration) -> redis::RedisResult<MultiplexedConnection> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(block + COMMAND_TIMEOUT));
    client.get_multiplexed_async_connection_with_config(&config).await
}

/// Where `url` points, without any password it holds: for messages.
pub fn describe(url: &str) -> String {
    match url.into_connection_info() {
        Ok(info) => format!("Redis at {}", info.addr()),
        Err(_) => "Redis".to_string(),
    }
}
