//! Where a new stream on the Redis hub starts: its cursor, and a `reset` if its id is no good.
//!
//! The rule (the same as in-process, on the cluster-wide order of ids): a stream without an id
//! starts after the newest event this instance has read or published (decided in `subscribe`).
//! A stream with an id `c` gets every event of its topics after `c`, in id order, whichever
//! instance made the id: `c` must be of this data set (not older than its first id, not newer
//! than its last; else `unknown-id`), and Redis must still hold every event of each topic after
//! `c` (see `scripts` for how a gap is seen; else `history-expired`). What the mirror does not
//! cover after `c` is fetched from Redis in the same script run and put in front of the mirror's
//! log, so the subscriber then reads it like any other event. If Redis cannot be asked, the
//! stream starts at `c` on what the mirror has: if that is not enough, it gets a `reset`, never a
//! silent gap.

use super::{ids, scripts::ResumeReply, stored, RedisHub};
use crate::streams::hub::{
    local::{Entry, Registered, Start, Topic},
    ResetReason,
};
use std::sync::Arc;

impl RedisHub {
    /// Where a stream with a `Last-Event-ID` starts (one without starts at once, see `subscribe`).
    pub(super) async fn starting_point(&self, registered: &Registered, last_event_id: Option<&str>) -> Start {
        let here = self.newest_known();
        let text = last_event_id.map(str::trim).unwrap_or_default();
        let Some(cursor) = ids::parse(text) else {
            return Start { cursor: here, reset: Some(ResetReason::MalformedId), resumed: false };
        };
        // The topics whose mirror does not reach back to the cursor, with how far it does.
        let (names, short): (Vec<&str>, Vec<(Arc<Topic>, u64)>) = registered
            .topics()
            .map(|(name, topic)| (name.as_str(), (topic.clone(), topic.log.read().evicted_through)))
            .filter(|(_, (_, covered_after))| *covered_after > cursor)
            .unzip();
        let (names, short_ref) = (&names, &short);
        let reply = self
            .command("the resume point", |mut commands| async move {
                let mut call = self.resume_script.key(super::connect::last_id_key());
                call.key(super::connect::since_key());
                for name in names {
                    call.key(super::connect::topic_key(name)).key(super::connect::topic_last_key(name));
                }
                call.arg(ids::text(cursor));
                for (_, covered_after) in short_ref {
                    call.arg(ids::text(*covered_after));
                }
                call.invoke_async::<ResumeReply>(&mut commands).await
            })
            .await;
        let Ok((last, since, topics)) = reply else {
            return Start { cursor, reset: None, resumed: true };
        };
        let (Some(last), Some(since)) = (ids::parse(&last), ids::parse(&since)) else {
            return Start { cursor: here, reset: Some(ResetReason::UnknownId), resumed: false };
        };
        if cursor > last || cursor < since {
            return Start { cursor: last.max(here), reset: Some(ResetReason::UnknownId), resumed: false };
        }
        for ((topic, covered_after), (prev, topic_last, entries)) in short.iter().zip(topics) {
            let gone_after = if prev.is_empty() { ids::parse(&topic_last) } else { ids::parse(&prev) };
            if gone_after.is_some_and(|gone| gone > cursor) {
                continue; // events after the cursor are gone: the mirror stays short, a reset follows
            }
            let mut log = topic.log.write();
            if log.evicted_through != *covered_after {
                continue; // changed meanwhile: leave it as it is (a reset at worst, never a gap)
            }
            let older =
                entries.iter().filter_map(|(id, fields)| stored(id, fields)).filter(|(at, _)| *at <= *covered_after);
            let older: Vec<Entry> = older
                .map(|(at, event)| Entry {
                    seq: at,
                    at: super::published_at(at),
                    event_type: event.event_type,
                    frame: event.frame,
                })
                .collect();
            for entry in older.into_iter().rev() {
                log.entries.push_front(entry);
            }
            log.evicted_through = cursor;
        }
        Start { cursor, reset: None, resumed: true }
    }
}
