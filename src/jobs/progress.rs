//! Throughput and ETA from a stream of "done so far" readings (server only).

/// Smoothed units-per-second: an exponentially weighted average whose weight depends on the time
/// between readings, so irregular reporting does not skew it.
#[derive(Debug, Clone)]
pub struct RateMeter {
    /// Seconds for a reading's influence to fall to 1/e.
    tau: f64,
    last: Option<(f64, u64)>,
    rate: Option<f64>,
}

impl RateMeter {
    pub fn new(tau_secs: f64) -> Self {
        Self { tau: tau_secs.max(0.001), last: None, rate: None }
    }

    /// A meter that goes on from an earlier one's state: its last reading (`done` at `at_secs`)
    /// and its smoothed `rate` (e.g. kept in a shared record between two instances' readings).
    pub fn resumed(tau_secs: f64, at_secs: f64, done: u64, rate: Option<f64>) -> Self {
        Self { tau: tau_secs.max(0.001), last: Some((at_secs, done)), rate: rate.filter(|r| r.is_finite()) }
    }

    /// Records that `done` units were finished at time `at_secs`; returns the smoothed rate.
    pub fn observe(&mut self, at_secs: f64, done: u64) -> Option<f64> {
        match self.last {
            None => self.last = Some((at_secs, done)),
            Some((t0, d0)) => {
                let dt = at_secs - t0;
                if dt <= 0.0 {
                    return self.rate;
                }
                let instant = done.saturating_sub(d0) as f64 / dt;
                let alpha = 1.0 - (-dt / self.tau).exp();
                self.rate = Some(match self.rate {
                    None => instant,
                    Some(rate) => rate + alpha * (instant - rate),
                });
                self.last = Some((at_secs, done));
            }
        }
        self.rate
    }

    pub fn rate(&self) -> Option<f64> {
        self.rate
    }
}

/// Seconds left for `total - done` units at `rate` per second; `None` when unknowable.
pub fn eta_secs(done: u64, total: Option<u64>, rate: Option<f64>) -> Option<f64> {
    let remaining = total?.saturating_sub(done);
    if remaining == 0 {
        return Some(0.0);
    }
    let rate = rate.filter(|r| r.is_finite() && *r > 0.0)?;
    Some(remaining as f64 / rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_pace_gives_its_rate_and_a_matching_eta() {
        let mut meter = RateMeter::new(2.0);
        assert_eq!(meter.observe(0.0, 0), None, "one reading is not a rate");
        for second in 1..=10 {
            meter.observe(second as f64, second * 100);
        }
        let rate = meter.rate().unwrap();
        assert!((rate - 100.0).abs() < 1e-9, "{rate}");
        assert_eq!(eta_secs(1000, Some(3000), Some(rate)), Some(20.0));
    }

    #[test]
    fn a_resumed_meter_goes_on_as_if_it_had_seen_every_reading() {
        let mut whole = RateMeter::new(2.0);
        for second in 0..=5 {
            whole.observe(second as f64, second * 40);
        }
        let mut resumed = RateMeter::resumed(2.0, -1.0, 200, whole.rate());
        let (went_on, from_resumed) = (whole.observe(6.0, 260).unwrap(), resumed.observe(0.0, 260).unwrap());
        assert!((went_on - from_resumed).abs() < 1e-9, "{went_on} against {from_resumed}");
        assert!(went_on > 40.0 && went_on < 100.0, "{went_on}");
        // No earlier rate: the first interval gives it.
        assert_eq!(RateMeter::resumed(2.0, -2.0, 0, None).observe(0.0, 50), Some(25.0));
    }

    #[test]
    fn rate_follows_a_change_of_pace_smoothly() {
        let mut meter = RateMeter::new(2.0);
        meter.observe(0.0, 0);
        meter.observe(1.0, 100);
        // Pace doubles: the estimate moves towards 200 without jumping there at once.
        let after_one = meter.observe(2.0, 300).unwrap();
        assert!(after_one > 100.0 && after_one < 200.0, "{after_one}");
        let mut last = 0.0;
        for second in 3..=20 {
            last = meter.observe(second as f64, 300 + (second - 2) * 200).unwrap();
        }
        assert!((last - 200.0).abs() < 1.0, "{last}");
    }

    #[test]
    fn irregular_and_repeated_readings() {
        let mut meter = RateMeter::new(1.0);
        meter.observe(0.0, 0);
        meter.observe(0.5, 50);
        assert_eq!(meter.observe(0.5, 60), Some(100.0), "same instant: no division by zero");
        assert_eq!(meter.observe(0.6, 40).map(|r| r < 100.0), Some(true), "going back counts as no progress");
    }

    #[test]
    fn eta_edge_cases() {
        assert_eq!(eta_secs(10, None, Some(5.0)), None, "unknown total");
        assert_eq!(eta_secs(10, Some(10), None), Some(0.0), "finished");
        assert_eq!(eta_secs(0, Some(10), Some(0.0)), None, "stalled");
        assert_eq!(eta_secs(0, Some(10), None), None);
    }
}
