//! A leader lease in Redis: at most one instance holds a key at a time, and only while it keeps
//! renewing it (server only). The market's feed runs on the holder; nothing here knows the market.
//!
//! - **Acquire**: `SET key token NX PX ttl`, tried every `retry_every` by every instance that does
//!   not hold it. The token names the instance (process id and a random part), so logs and the key
//!   itself say who leads.
//! - **Renew**: every `renew_every` (well before `ttl`) the holder runs a check-and-renew script:
//!   the expiry moves only if the key still holds *its* token, so an instance whose lease lapsed
//!   and was taken cannot renew someone else's.
//! - **Release** on graceful shutdown: a check-and-delete script, so the next instance takes over
//!   at its next attempt instead of waiting for the expiry.
//! - **Holding is local and time-bound.** [`Lease::held`] is true only until the last successful
//!   acquire or renew's *send* time plus `ttl` minus a margin ([`valid_until`]): Redis expires the
//!   key no earlier than `ttl` after it received that command, so the holder stops counting on
//!   the lease (and stops publishing) before anyone else can get it, even when Redis stops
//!   answering. Redis unreachable: nobody acquires, so nobody holds.
//!
//! Every command has a deadline (`COMMAND_TIMEOUT`): a stalled Redis never stalls the loop past
//! the point where holding must end.

use parking_lot::Mutex;
use redis::{
    aio::{ConnectionManager, ConnectionManagerConfig},
    Client, Script,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Longest one command may take before it counts as failed.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(700);

/// How long a lease lasts and how often it is renewed or tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTimings {
    /// The key's expiry in Redis (`PX`): how long a killed holder keeps others waiting.
    pub ttl: Duration,
    /// How often the holder renews (a third of `ttl` leaves two more tries before it lapses).
    pub renew_every: Duration,
    /// How often an instance that does not hold the lease tries to take it.
    pub retry_every: Duration,
}

impl Default for LeaseTimings {
    /// A killed holder is replaced within about 3.5 s.
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(3),
            renew_every: Duration::from_secs(1),
            retry_every: Duration::from_millis(500),
        }
    }
}

/// Until when a lease acquired or renewed by a command sent at `sent` may be counted on: `ttl`
/// after it, less a fifth of `ttl` for clocks that run at slightly different rates and for the
/// holder's own wake-up delays. Always before Redis can expire the key.
pub fn valid_until(sent: Instant, ttl: Duration) -> Instant {
    sent + ttl - ttl / 5
}

/// One lease key, tried, held and renewed by [`Lease::run`].
pub struct Lease {
    key: String,
    token: String,
    timings: LeaseTimings,
    commands: ConnectionManager,
    /// Set while held: until when (see [`valid_until`]).
    until: Mutex<Option<Instant>>,
    /// Whether held, as the loop last saw it: what a task waits on to start or stop leading.
    /// Sent to only while `until` is locked, so it changes in the order `until` does.
    changes: watch::Sender<bool>,
    /// Set (under the `until` lock) by [`Lease::release`]: an answer to a renewal sent before the
    /// release must not make the lease held again.
    released: AtomicBool,
}

impl Lease {
    /// A lease on `key` in the Redis at `url`. Nothing connects yet (Redis may be down at start).
    pub fn redis(url: &str, key: &str, timings: LeaseTimings) -> Result<Arc<Self>, String> {
        let client = Client::open(url).map_err(|err| format!("{url:?}: {err}"))?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let commands = ConnectionManager::new_lazy_with_config(client, config).map_err(|err| err.to_string())?;
        let token = format!("pid-{}-{:016x}", std::process::id(), rand::random::<u64>());
        Ok(Arc::new(Self {
            key: key.to_string(),
            token,
            timings,
            commands,
            until: Mutex::new(None),
            changes: watch::Sender::new(false),
            released: AtomicBool::new(false),
        }))
    }

    /// This instance's token: what the key holds while this instance leads.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether this instance holds the lease now (and may act as the leader).
    pub fn held(&self) -> bool {
        self.until.lock().is_some_and(|until| Instant::now() < until)
    }

    /// Follows whether the lease is held (also turns false when it lapses unrenewed).
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.changes.subscribe()
    }

    /// Tries, holds and renews the lease until `shutdown`. Does not release it: the holder
    /// releases ([`Lease::release`]) once it has stopped acting on it.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            self.attempt().await;
            let wait = if self.held() { self.timings.renew_every } else { self.timings.retry_every };
            // Wake up when holding would end too, so `watch` turns false on time.
            let lapse = self.until.lock().map(|until| until.saturating_duration_since(Instant::now()));
            let wait = lapse.map_or(wait, |lapse| wait.min(lapse + Duration::from_millis(1)));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// One acquire (not held) or renew (held), and what follows from its answer.
    async fn attempt(&self) {
        if self.released.load(Ordering::SeqCst) {
            return;
        }
        let holding = self.until.lock().is_some();
        let sent = Instant::now();
        let answer = if holding { self.renew().await } else { self.acquire().await };
        let mut until = self.until.lock();
        if self.released.load(Ordering::SeqCst) {
            *until = None;
            self.changes.send_replace(false);
            return;
        }
        match answer {
            Ok(true) => *until = Some(valid_until(sent, self.timings.ttl)),
            Ok(false) => {
                if until.take().is_some() {
                    tracing::warn!(key = %self.key, token = %self.token, "lease lost: another instance holds it");
                }
            }
            Err(err) => {
                // Not known either way: keep holding until the deadline, not a moment longer.
                if until.is_some_and(|at| Instant::now() >= at) {
                    *until = None;
                    tracing::warn!(key = %self.key, token = %self.token, %err, "lease lapsed: it could not be renewed");
                } else {
                    tracing::debug!(key = %self.key, %err, "lease attempt failed");
                }
            }
        }
        let now_held = until.is_some_and(|at| Instant::now() < at);
        if !now_held {
            *until = None;
        }
        let was = self.changes.send_replace(now_held);
        drop(until);
        if now_held && !was {
            tracing::info!(key = %self.key, token = %self.token, "lease acquired: this instance leads");
        }
    }

    async fn acquire(&self) -> Result<bool, String> {
        let ttl = self.timings.ttl.as_millis() as u64;
        let (key, token) = (&self.key, &self.token);
        self.command(|mut commands| async move {
            let set: Option<String> =
                redis::cmd("SET").arg(key).arg(token).arg("NX").arg("PX").arg(ttl).query_async(&mut commands).await?;
            Ok(set.is_some())
        })
        .await
    }

    async fn renew(&self) -> Result<bool, String> {
        let ttl = self.timings.ttl.as_millis() as u64;
        let script = renew_script();
        let (key, token) = (&self.key, &self.token);
        self.command(|mut commands| async move {
            let renewed: i64 = script.key(key).arg(token).arg(ttl).invoke_async(&mut commands).await?;
            Ok(renewed == 1)
        })
        .await
    }

    /// Gives the lease up if this instance holds it (the key is deleted only if it holds this
    /// instance's token), so another instance takes over at its next try.
    pub async fn release(&self) {
        let was_held = {
            let mut until = self.until.lock();
            self.released.store(true, Ordering::SeqCst);
            self.changes.send_replace(false);
            until.take().is_some()
        };
        let script = release_script();
        let (key, token) = (&self.key, &self.token);
        let released = self
            .command(|mut commands| async move {
                let deleted: i64 = script.key(key).arg(token).invoke_async(&mut commands).await?;
                Ok(deleted == 1)
            })
            .await;
        match released {
            Ok(true) => tracing::info!(key = %self.key, token = %self.token, "lease released"),
            Ok(false) => {}
            Err(err) if was_held => tracing::warn!(key = %self.key, %err, "lease not released; it expires by itself"),
            Err(_) => {}
        }
    }

    async fn command<T, F>(&self, run: impl FnOnce(ConnectionManager) -> F) -> Result<T, String>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(COMMAND_TIMEOUT, run(self.commands.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err(format!("Redis did not answer within {COMMAND_TIMEOUT:?}")),
        }
    }
}

/// KEYS: the lease. ARGV: token, ttl (ms). Moves the expiry only if the key holds the token.
fn renew_script() -> Script {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
",
    )
}

/// KEYS: the lease. ARGV: token. Deletes the key only if it holds the token.
fn release_script() -> Script {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
}

#[cfg(test)]
#[path = "lease_tests.rs"]
mod tests;
