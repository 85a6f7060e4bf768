//! The market's settings (`market-*` keys): the simulated symbols, their rate and seed, and
//! the session schedule every quote's open follows.

use serde::{Deserialize, Serialize};

/// Highest simulated tick rate accepted.
pub const MAX_TICKS_PER_SECOND: u32 = 20_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketSettings {
    /// Symbols of the built-in simulated market.
    #[serde(rename = "market-symbols")]
    pub symbols: Vec<String>,
    /// Simulated ticks per second across all symbols (0: no simulation, outside feeds only).
    #[serde(rename = "market-ticks-per-second")]
    pub ticks_per_second: u32,
    /// Seed of the simulation: the same seed gives the same prices.
    #[serde(rename = "market-seed")]
    pub seed: u64,
    /// Length of a trading session in seconds: the open, high, low and volume start again at
    /// each (sessions are aligned to the epoch, so 3600 opens on every hour), and the simulated
    /// walk moves a symbol by a trading day's volatility over one.
    #[serde(rename = "market-session-secs")]
    pub session_secs: u64,
}

/// Shortest and longest session accepted (a minute; a week).
pub const SESSION_SECS: std::ops::RangeInclusive<u64> = 60..=604_800;

impl MarketSettings {
    /// One message per problem, naming the key.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.ticks_per_second > MAX_TICKS_PER_SECOND {
            problems.push(format!(
                "key `pulseboard.market-ticks-per-second`: {} is above {MAX_TICKS_PER_SECOND}",
                self.ticks_per_second
            ));
        }
        if !SESSION_SECS.contains(&self.session_secs) {
            problems.push(format!(
                "key `pulseboard.market-session-secs`: {} is not between {} and {} seconds",
                self.session_secs,
                SESSION_SECS.start(),
                SESSION_SECS.end()
            ));
        }
        for problem in super::board::symbol_list_problems(&self.symbols) {
            problems.push(format!("key `pulseboard.market-symbols`: {problem}"));
        }
        problems
    }

    /// The session schedule the board keeps.
    pub fn session(&self) -> super::board::Session {
        super::board::Session::from_secs(self.session_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_outside_a_minute_to_a_week_is_refused() {
        let settings =
            |session_secs| MarketSettings { symbols: vec!["A".into()], ticks_per_second: 1, seed: 1, session_secs };
        assert!(settings(3600).validate().is_empty());
        for bad in [0, 59, 604_801] {
            let problems = settings(bad).validate();
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(problems[0].contains("market-session-secs"), "{problems:?}");
        }
    }
}
