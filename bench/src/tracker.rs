//! Accounting of what the subscribers received: per subscriber, which sequence numbers arrived
//! (to count duplicates and, against what was published, losses), and the latency histograms
//! shared by all subscribers with their percentiles.

use hdrhistogram::Histogram;
use parking_lot::Mutex;

/// How far behind the newest sequence number a late (reordered) event is still recognised as
/// new rather than as a duplicate. Publishes go out over a few connections at once, so the
/// server may receive them slightly out of the order they were sent in (2 KiB per subscriber).
pub const WINDOW: u64 = 16384;
const WORDS: usize = (WINDOW / 64) as usize;

/// Which sequence numbers one subscriber has seen. Everything below `base` counts as seen;
/// a ring of bits covers `base .. base + WINDOW`.
#[derive(Debug, Clone)]
pub struct SeqTracker {
    base: u64,
    bits: [u64; WORDS],
    pub unique: u64,
    pub duplicates: u64,
}

impl Default for SeqTracker {
    fn default() -> Self {
        Self { base: 0, bits: [0; WORDS], unique: 0, duplicates: 0 }
    }
}

impl SeqTracker {
    /// Records one received sequence number; true if it was new.
    pub fn record(&mut self, seq: u64) -> bool {
        if seq < self.base {
            self.duplicates += 1;
            return false;
        }
        if seq >= self.base + WINDOW {
            // Slide forward; what falls out of the window unseen is lost (counted globally).
            let new_base = seq - WINDOW + 1;
            if new_base - self.base >= WINDOW {
                self.bits = [0; WORDS];
                self.base = new_base;
            } else {
                while self.base < new_base {
                    self.clear(self.base);
                    self.base += 1;
                }
            }
        }
        if self.test(seq) {
            self.duplicates += 1;
            return false;
        }
        self.set(seq);
        self.unique += 1;
        while self.test(self.base) {
            self.clear(self.base);
            self.base += 1;
        }
        true
    }

    fn slot(seq: u64) -> (usize, u64) {
        let at = seq % WINDOW;
        ((at / 64) as usize, 1u64 << (at % 64))
    }
    fn test(&self, seq: u64) -> bool {
        let (word, mask) = Self::slot(seq);
        self.bits[word] & mask != 0
    }
    fn set(&mut self, seq: u64) {
        let (word, mask) = Self::slot(seq);
        self.bits[word] |= mask;
    }
    fn clear(&mut self, seq: u64) {
        let (word, mask) = Self::slot(seq);
        self.bits[word] &= !mask;
    }
}

/// Events every subscriber should have had but did not (never negative: an event published by
/// a request that failed on our side yet reached the server is not a loss).
pub fn lost(published: u64, subscribers: u64, unique_received: u64) -> u64 {
    (published * subscribers).saturating_sub(unique_received)
}

/// Latency percentiles of one step, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

/// Latency histograms in shards, so subscriber tasks rarely wait on each other.
pub struct Latencies {
    shards: Vec<Mutex<Histogram<u64>>>,
}

/// Highest latency recorded exactly (larger values are clamped): 10 minutes, in microseconds.
const MAX_US: u64 = 600_000_000;

impl Latencies {
    pub fn new(shards: usize) -> Self {
        let shards = (0..shards.max(1))
            .map(|_| Mutex::new(Histogram::new_with_bounds(1, MAX_US, 3).expect("static bounds are valid")))
            .collect();
        Self { shards }
    }

    /// Records a batch of latencies (microseconds) into shard `key % shards`.
    pub fn record(&self, key: usize, values_us: &[u64]) {
        let mut histogram = self.shards[key % self.shards.len()].lock();
        for value in values_us {
            histogram.saturating_record((*value).clamp(1, MAX_US));
        }
    }

    pub fn reset(&self) {
        for shard in &self.shards {
            shard.lock().reset();
        }
    }

    pub fn summary(&self) -> LatencySummary {
        let mut all = Histogram::<u64>::new_with_bounds(1, MAX_US, 3).expect("static bounds are valid");
        for shard in &self.shards {
            // Same bounds in every shard: adding cannot fail.
            let _ = all.add(&*shard.lock());
        }
        summarize(&all)
    }
}

pub fn summarize(histogram: &Histogram<u64>) -> LatencySummary {
    if histogram.is_empty() {
        return LatencySummary::default();
    }
    LatencySummary {
        count: histogram.len(),
        p50_us: histogram.value_at_quantile(0.50),
        p99_us: histogram.value_at_quantile(0.99),
        max_us: histogram.max(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_reordered_and_duplicate_sequences() {
        let mut t = SeqTracker::default();
        for seq in [0, 1, 3, 2, 4] {
            assert!(t.record(seq), "{seq} is new");
        }
        assert!(!t.record(2), "below the base: duplicate");
        assert!(t.record(6));
        assert!(!t.record(6), "inside the window: duplicate");
        assert_eq!((t.unique, t.duplicates), (6, 2));
        assert_eq!(lost(7, 1, t.unique), 1, "seq 5 never came");
    }

    #[test]
    fn far_jumps_slide_the_window_and_late_arrivals_inside_it_still_count() {
        let mut t = SeqTracker::default();
        assert!(t.record(0));
        assert!(t.record(WINDOW + 10), "a jump slides the window");
        assert!(t.record(WINDOW + 9), "reordered but within the window");
        assert!(!t.record(5), "fell out of the window: taken as a duplicate");
        assert!(t.record(10 * WINDOW), "a huge jump resets the window");
        assert!(!t.record(10 * WINDOW));
        assert_eq!((t.unique, t.duplicates), (4, 2));
    }

    #[test]
    fn lost_is_per_subscriber_and_never_negative() {
        assert_eq!(lost(100, 50, 5000), 0);
        assert_eq!(lost(100, 50, 4990), 10);
        assert_eq!(lost(100, 50, 5005), 0);
    }

    #[test]
    fn percentiles_over_shards() {
        let latencies = Latencies::new(4);
        let values: Vec<u64> = (1..=1000).collect();
        for (key, chunk) in values.chunks(100).enumerate() {
            latencies.record(key, chunk);
        }
        let summary = latencies.summary();
        assert_eq!(summary.count, 1000);
        assert!((499..=501).contains(&summary.p50_us), "{summary:?}");
        assert!((989..=991).contains(&summary.p99_us), "{summary:?}");
        assert!((1000..=1001).contains(&summary.max_us), "{summary:?}");
        latencies.reset();
        assert_eq!(latencies.summary(), LatencySummary::default());
        latencies.record(0, &[0, u64::MAX]);
        assert_eq!(latencies.summary().count, 2, "out-of-range values are clamped, not dropped");
    }
}
