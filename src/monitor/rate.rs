//! Rates from monotonic counters (bytes received, events published): per second between two
//! readings, with counter resets (an interface that went away, a restarted source) taken as a new
//! start rather than as a huge negative or positive rate.

use std::time::Instant;

/// Turns successive readings of one counter into a per-second rate.
#[derive(Debug, Default, Clone)]
pub struct CounterRate {
    last: Option<(u64, Instant)>,
}

impl CounterRate {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `value` read at `at`; returns the rate since the previous reading, or `None` for
    /// the first reading, a counter that went backwards (reset), or no time elapsed.
    pub fn update(&mut self, value: u64, at: Instant) -> Option<f64> {
        let previous = self.last.replace((value, at));
        let (last_value, last_at) = previous?;
        let seconds = at.checked_duration_since(last_at)?.as_secs_f64();
        if seconds <= 0.0 || value < last_value {
            return None;
        }
        Some((value - last_value) as f64 / seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rate_is_the_difference_over_elapsed_seconds() {
        let t0 = Instant::now();
        let mut rate = CounterRate::new();
        assert_eq!(rate.update(1_000, t0), None, "first reading has nothing to compare with");
        assert_eq!(rate.update(3_000, t0 + Duration::from_secs(2)), Some(1_000.0));
        assert_eq!(rate.update(3_000, t0 + Duration::from_secs(3)), Some(0.0));
        assert_eq!(rate.update(3_500, t0 + Duration::from_millis(3_500)), Some(1_000.0));
    }

    #[test]
    fn reset_counter_and_zero_interval_give_no_rate_then_resume() {
        let t0 = Instant::now();
        let mut rate = CounterRate::new();
        rate.update(5_000, t0);
        assert_eq!(rate.update(100, t0 + Duration::from_secs(1)), None, "counter went back");
        assert_eq!(rate.update(300, t0 + Duration::from_secs(2)), Some(200.0), "rebased on the reset value");
        assert_eq!(rate.update(400, t0 + Duration::from_secs(2)), None, "no time elapsed");
        // A reading from before the previous one (cannot happen with Instant, but must not panic).
        assert_eq!(rate.update(500, t0), None);
    }
}
