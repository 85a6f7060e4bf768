//! The one reader per instance: a blocking `XREAD` over every topic the local streams need, on a
//! connection of its own, into the local mirror; and the unblocker that re-issues it when a
//! topic is added.
//!
//! Each round sends `GET last-id` and then `XREAD` in one pipeline. Redis runs them in order, so
//! when the read returns, every mirrored topic is complete up to the last id read before it (and
//! up to the newest entry returned): that is the new horizon. A topic cut off by `COUNT` is
//! complete only up to its newest returned entry, so the horizon is then the least of those. A
//! round whose topic set changed meanwhile does not move the horizon (see `registry`).
//!
//! Adding a topic wakes the unblocker, which sends `CLIENT UNBLOCK` for the reader's connection
//! on the command connection until the reader reads with the new set (an unblock that arrives
//! before the read blocks does nothing, hence the retries). Errors: the connection is dropped,
//! health says why, and the reader reconnects with backoff, continuing after the positions the
//! registry kept, so nothing Redis kept is missed.

use super::{connect, ids, published_at, stored, RedisHub};
use crate::streams::hub::local::{Entry, Topic};
use crate::streams::names::TopicName;
use redis::{aio::MultiplexedConnection, streams::StreamReadReply};
use std::{
    collections::HashMap,
    sync::{atomic::Ordering, Arc, Weak},
    time::{Duration, Instant},
};
use tokio::sync::watch;

/// How long one `XREAD` blocks when nothing comes (the unblocker cuts it short on changes).
const BLOCK: Duration = Duration::from_millis(1000);
/// Most entries one read takes per topic.
const BATCH: usize = 512;
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

pub(super) async fn run(hub: Weak<RedisHub>) {
    let mut connection: Option<MultiplexedConnection> = None;
    let mut backoff = BACKOFF_MIN;
    let mut unseen: Vec<Arc<Topic>> = Vec::new();
    loop {
        let Some(strong) = hub.upgrade() else { return };
        if strong.local.closing() {
            return;
        }
        let result = match connection.as_mut() {
            Some(connection) => round(&strong, connection, &mut unseen).await,
            None => match connect(&strong).await {
                Ok(made) => {
                    connection = Some(made);
                    continue;
                }
                Err(err) => Err(err),
            },
        };
        match result {
            Ok(()) => {
                strong.health.reader(None);
                backoff = BACKOFF_MIN;
            }
            Err(err) => {
                strong.health.reader(Some(format!("{} is unreachable for reading: {err}", strong.label)));
                strong.registry.reader_client.store(-1, Ordering::Release);
                connection = None;
                drop(strong);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

async fn connect(hub: &RedisHub) -> redis::RedisResult<MultiplexedConnection> {
    let mut connection = connect::blocking_connection(&hub.client, BLOCK).await?;
    let id: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut connection).await?;
    hub.registry.reader_client.store(id, Ordering::Release);
    Ok(connection)
}

/// One read: wait for news on the wanted topics, append it to the mirror, move the horizon.
async fn round(
    hub: &RedisHub,
    connection: &mut MultiplexedConnection,
    unseen: &mut Vec<Arc<Topic>>,
) -> redis::RedisResult<()> {
    let (generation, wanted) = hub.registry.snapshot();
    hub.registry.set_reading(generation);
    if wanted.is_empty() {
        // Nothing to read: keep the horizon at the newest id (no topic is mirrored, so every
        // mirrored topic is trivially complete up to it) and wait for a topic or a while.
        let last: Option<String> = redis::cmd("GET").arg(connect::last_id_key()).query_async(connection).await?;
        let last = last.as_deref().and_then(ids::parse).unwrap_or(0);
        hub.last_known.fetch_max(last, Ordering::AcqRel);
        hub.registry.commit(generation, || hub.local.visible_through.fetch_max(last, Ordering::AcqRel) < last);
        let mut changed = hub.registry.watch();
        let _ = tokio::time::timeout(BLOCK, changed.wait_for(|now| *now != generation)).await;
        return Ok(());
    }
    let mut read = redis::cmd("XREAD");
    read.arg("COUNT").arg(BATCH).arg("BLOCK").arg(BLOCK.as_millis() as u64).arg("STREAMS");
    let mut names = HashMap::with_capacity(wanted.len());
    for (name, _) in &wanted {
        let key = connect::topic_key(name.as_str());
        read.arg(&key);
        names.insert(key, name.clone());
    }
    for (_, position) in &wanted {
        read.arg(ids::text(*position));
    }
    let (last, reply): (Option<String>, Option<StreamReadReply>) =
        redis::pipe().cmd("GET").arg(connect::last_id_key()).add_command(read).query_async(connection).await?;
    let last = last.as_deref().and_then(ids::parse).unwrap_or(0);
    hub.last_known.fetch_max(last, Ordering::AcqRel);

    let now = Instant::now();
    let mut newest_overall = last;
    let mut cut_off: Option<u64> = None;
    let mut touched = Vec::new();
    let read_after: HashMap<&TopicName, u64> = wanted.iter().map(|(name, at)| (name, *at)).collect();
    for key in reply.map(|reply| reply.keys).unwrap_or_default() {
        let Some(name) = names.get(&key.key) else { continue };
        let truncated = key.ids.len() >= BATCH;
        let mut newest = 0;
        // The newest event before the first one read, if it is after where the read began: that
        // event is gone from Redis (trimmed while the reader was away, or before the topic was
        // mirrored), so the mirror does not cover it.
        let mut gone = 0;
        let mut fresh = Vec::with_capacity(key.ids.len());
        if let Some(first) = key.ids.first() {
            let prev = first.get::<String>("p").as_deref().and_then(ids::parse).unwrap_or(0);
            if prev > read_after.get(name).copied().unwrap_or(0) {
                gone = prev;
            }
        }
        for entry in &key.ids {
            let fields: Vec<String> = ["t", "d"]
                .iter()
                .filter_map(|field| entry.get::<String>(field).map(|value| [field.to_string(), value]))
                .flatten()
                .collect();
            let Some((position, event)) = stored(&entry.id, &fields) else { continue };
            newest = newest.max(position);
            fresh.push(Entry {
                seq: position,
                at: published_at(position),
                event_type: event.event_type,
                frame: event.frame,
            });
        }
        if let Some(topic) = hub.local.get(name) {
            let mut log = topic.log.write();
            log.evicted_through = log.evicted_through.max(gone);
            for entry in fresh {
                let after_log = log.entries.back().is_none_or(|back| back.seq < entry.seq);
                if after_log && entry.seq > log.evicted_through {
                    topic.bytes.fetch_add(entry.frame.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    log.entries.push_back(entry);
                }
            }
            hub.local.trim(&mut log, now);
            drop(log);
            touched.push(topic);
        }
        hub.registry.advance(name, newest);
        newest_overall = newest_overall.max(newest);
        if truncated {
            cut_off = Some(cut_off.map_or(newest, |at| at.min(newest)));
        }
    }
    let horizon = cut_off.unwrap_or(newest_overall);
    let advanced =
        hub.registry.commit(generation, || hub.local.visible_through.fetch_max(horizon, Ordering::AcqRel) < horizon);
    unseen.append(&mut touched);
    if advanced {
        if unseen.is_empty() {
            // Only the horizon moved (events elsewhere): streams waiting for it (a reset that is
            // due, a resume ahead of this instance) look again.
            let all: Vec<Arc<Topic>> = hub.local.topics.read().values().cloned().collect();
            RedisHub::wake(&all, horizon);
        } else {
            unseen.sort_by_key(Arc::as_ptr);
            unseen.dedup_by_key(|topic| Arc::as_ptr(topic));
            RedisHub::wake(unseen, horizon);
            unseen.clear();
        }
    }
    Ok(())
}

/// Cuts the reader's blocking read short whenever a topic is added, until it reads with it.
pub(super) async fn unblock(hub: Weak<RedisHub>, mut changed: watch::Receiver<u64>) {
    while changed.changed().await.is_ok() {
        let wanted = *changed.borrow_and_update();
        let Some(hub) = hub.upgrade() else { return };
        for _ in 0..100 {
            if hub.registry.reading.load(Ordering::Acquire) >= wanted || hub.local.closing() {
                break;
            }
            let client = hub.registry.reader_client.load(Ordering::Acquire);
            if client >= 0 {
                let _ = hub
                    .command("unblock", |mut commands| async move {
                        redis::cmd("CLIENT").arg("UNBLOCK").arg(client).query_async::<i64>(&mut commands).await
                    })
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
