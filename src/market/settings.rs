//! The simulated market's settings (`market-*` keys).

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
}

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
        for problem in super::board::symbol_list_problems(&self.symbols) {
            problems.push(format!("key `pulseboard.market-symbols`: {problem}"));
        }
        problems
    }
}
