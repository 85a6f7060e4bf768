//! Counters and sizes the hub reports to the monitoring views (read at scrape time).
//!
//! Private topics (`private.…`, see `streams::access`) are named after whoever owns them (a job
//! owner's key, say), so their names never leave the hub through these figures: [`HubStats::from_topics`]
//! is the one place that decides it, for every backend. They count in the totals and, together, in
//! [`HubStats::private`]; `per_topic` lists only the others. The hub knows nothing of who owns
//! what: the prefix alone decides.

use crate::streams::names::PRIVATE_PREFIX;

/// Counters and sizes for the monitoring views. Counters (`u64`) only grow while the hub runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubStats {
    /// Every topic, private ones included.
    pub topics: usize,
    /// Open streams summed over their topics (a stream of two topics counts twice).
    pub subscribers: usize,
    /// Open streams.
    pub streams: usize,
    /// Events kept in all topics' histories.
    pub history_events: usize,
    pub published: u64,
    /// Events written to subscribers (one per event per stream).
    pub delivered: u64,
    /// Events a latest-wins stream skipped because a newer one of the same topic was pending.
    pub conflated: u64,
    /// `reset` events sent: streams that could not resume or fell behind the history.
    pub resets: u64,
    /// Streams that resumed from a `Last-Event-ID` this run of the hub made.
    pub resumes: u64,
    /// Per public topic, sorted by name. Private topics are never listed by name.
    pub per_topic: Vec<TopicStats>,
    /// The private topics, in aggregate.
    pub private: PrivateTopics,
    /// Why the backend cannot be used now (Redis unreachable or paused); `None` while it can
    /// (always for the in-process hub). What a status display shows as degraded.
    pub backend_down: Option<String>,
}

/// One topic's share of [`HubStats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicStats {
    pub topic: String,
    pub subscribers: usize,
    pub history_events: usize,
}

/// Every private topic together: how many, their subscribers and history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrivateTopics {
    pub topics: usize,
    pub subscribers: usize,
    pub history_events: usize,
}

/// The hub's counters, as a backend reads them.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Counters {
    pub streams: usize,
    pub published: u64,
    pub delivered: u64,
    pub conflated: u64,
    pub resets: u64,
    pub resumes: u64,
}

impl HubStats {
    /// The stats of a hub whose topics are `all` (any order): totals over every topic, the
    /// private ones folded into [`HubStats::private`], the rest listed by name.
    pub(super) fn from_topics(all: Vec<TopicStats>, counters: Counters) -> Self {
        let topics = all.len();
        let subscribers = all.iter().map(|t| t.subscribers).sum();
        let history_events = all.iter().map(|t| t.history_events).sum();
        let (private, mut per_topic): (Vec<_>, Vec<_>) =
            all.into_iter().partition(|t| t.topic.starts_with(PRIVATE_PREFIX));
        per_topic.sort_unstable_by(|a, b| a.topic.cmp(&b.topic));
        let private = PrivateTopics {
            topics: private.len(),
            subscribers: private.iter().map(|t| t.subscribers).sum(),
            history_events: private.iter().map(|t| t.history_events).sum(),
        };
        let Counters { streams, published, delivered, conflated, resets, resumes } = counters;
        Self {
            topics,
            subscribers,
            streams,
            history_events,
            published,
            delivered,
            conflated,
            resets,
            resumes,
            per_topic,
            private,
            backend_down: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(name: &str, subscribers: usize, history_events: usize) -> TopicStats {
        TopicStats { topic: name.into(), subscribers, history_events }
    }

    #[test]
    fn private_topics_count_only_in_aggregate() {
        let all = vec![
            topic("private.jobs.aaaa", 2, 5),
            topic("jobs.shared", 3, 1),
            topic("private.jobs.bbbb", 1, 0),
            topic("market.quote.ACME", 0, 7),
            // Only the prefix with its dot makes a topic private.
            topic("privateer", 1, 1),
        ];
        let stats = HubStats::from_topics(all, Counters { streams: 4, published: 9, ..Counters::default() });
        let names: Vec<&str> = stats.per_topic.iter().map(|t| t.topic.as_str()).collect();
        assert_eq!(names, ["jobs.shared", "market.quote.ACME", "privateer"]);
        assert_eq!(stats.private, PrivateTopics { topics: 2, subscribers: 3, history_events: 5 });
        assert_eq!((stats.topics, stats.subscribers, stats.history_events), (5, 7, 14));
        assert_eq!((stats.streams, stats.published), (4, 9));
    }
}
