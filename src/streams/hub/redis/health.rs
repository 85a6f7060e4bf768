//! Whether Redis answers, as the reader and a probe see it: what `check_ready` (and so `/readyz`
//! and publish) report while Redis is down or paused.
//!
//! Two views, because either can fail alone: the reader's own connection (blocking reads), and
//! the shared command connection, probed with a `PING` every [`PROBE_EVERY`] (a blocked reader
//! would otherwise notice an outage only after its block time). Either one down: not ready.

use super::RedisHub;
use parking_lot::RwLock;
use std::{sync::Weak, time::Duration};

pub(super) const PROBE_EVERY: Duration = Duration::from_millis(500);

pub(super) struct Health {
    reader: RwLock<Option<String>>,
    commands: RwLock<Option<String>>,
}

impl Health {
    pub(super) fn new(initially: String) -> Self {
        Self { reader: RwLock::new(Some(initially.clone())), commands: RwLock::new(Some(initially)) }
    }

    /// Why Redis is not usable now, or `None` when both views are fine.
    pub(super) fn down(&self) -> Option<String> {
        self.commands.read().clone().or_else(|| self.reader.read().clone())
    }

    pub(super) fn reader(&self, state: Option<String>) {
        set(&self.reader, state);
    }

    pub(super) fn commands(&self, state: Option<String>) {
        set(&self.commands, state);
    }
}

fn set(slot: &RwLock<Option<String>>, state: Option<String>) {
    if *slot.read() != state {
        match &state {
            Some(reason) => tracing::warn!(%reason, "event hub degraded"),
            None => tracing::info!("event hub: Redis answers again"),
        }
        *slot.write() = state;
    }
}

/// Pings Redis on the command connection until the hub is dropped or closes.
pub(super) async fn probe(hub: Weak<RedisHub>) {
    let mut every = tokio::time::interval(PROBE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(hub) = hub.upgrade() else { return };
        if hub.local.closing() {
            return;
        }
        let answer = hub
            .command("Redis is unreachable", |mut commands| async move {
                redis::cmd("PING").query_async::<String>(&mut commands).await
            })
            .await;
        hub.health.commands(answer.err().map(|err| err.to_string()));
    }
}
