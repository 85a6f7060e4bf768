//! Counters and sizes the hub reports to the monitoring views (read at scrape time).

/// Counters and sizes for the monitoring views. Counters (`u64`) only grow while the hub runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubStats {
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
    /// Per topic, sorted by name.
    pub per_topic: Vec<TopicStats>,
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
