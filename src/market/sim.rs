//! The built-in simulated market: each symbol's price is a seeded geometric Brownian motion
//! with its own drift and volatility, so a given seed always gives the same prices (server only).

use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// Market time one tick of a symbol stands for: one trading minute, in years
/// (252 days of 390 minutes).
pub const TICK_YEARS: f64 = 1.0 / (252.0 * 390.0);

#[derive(Debug, Clone, PartialEq)]
pub struct SymbolModel {
    pub symbol: String,
    pub price: f64,
    /// Annual drift (mu).
    pub drift: f64,
    /// Annual volatility (sigma).
    pub volatility: f64,
}

pub struct Simulator {
    models: Vec<SymbolModel>,
    rng: StdRng,
}

/// One simulated trade.
#[derive(Debug, Clone, PartialEq)]
pub struct SimTick {
    pub symbol_index: usize,
    pub price: f64,
    pub volume: u64,
}

impl Simulator {
    /// Models for `symbols` with starting prices, drifts and volatilities drawn from `seed`.
    pub fn new(symbols: &[String], seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let models = symbols
            .iter()
            .map(|symbol| SymbolModel {
                symbol: symbol.clone(),
                price: (rng.random_range(20.0..500.0f64) * 100.0).round() / 100.0,
                drift: rng.random_range(-0.10..0.20),
                volatility: rng.random_range(0.10..0.60),
            })
            .collect();
        Self { models, rng }
    }

    pub fn models(&self) -> &[SymbolModel] {
        &self.models
    }

    /// Advances one symbol (chosen at random) by one tick.
    pub fn step(&mut self) -> Option<SimTick> {
        if self.models.is_empty() {
            return None;
        }
        let index = self.rng.random_range(0..self.models.len());
        let z: f64 = StandardNormal.sample(&mut self.rng);
        let model = &mut self.models[index];
        model.price = gbm_step(model.price, model.drift, model.volatility, TICK_YEARS, z);
        let volume = self.rng.random_range(1..=50) * 100;
        Some(SimTick { symbol_index: index, price: model.price, volume })
    }
}

/// Exact GBM update: S' = S * exp((mu - sigma^2 / 2) dt + sigma sqrt(dt) z).
pub fn gbm_step(price: f64, drift: f64, volatility: f64, dt: f64, z: f64) -> f64 {
    price * ((drift - volatility * volatility / 2.0) * dt + volatility * dt.sqrt() * z).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("S{i}")).collect()
    }

    #[test]
    fn same_seed_same_market_other_seed_other_market() {
        let run = |seed| {
            let mut sim = Simulator::new(&symbols(5), seed);
            (0..1000).map(|_| sim.step().unwrap().price).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn log_returns_have_the_model_mean_and_volatility() {
        let mut sim = Simulator::new(&symbols(1), 42);
        let SymbolModel { drift, volatility, mut price, .. } = sim.models()[0].clone();
        let n = 200_000;
        let mut returns = Vec::with_capacity(n);
        for _ in 0..n {
            let next = sim.step().unwrap().price;
            returns.push((next / price).ln());
            price = next;
        }
        let mean = returns.iter().sum::<f64>() / n as f64;
        let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let expected_sd = volatility * TICK_YEARS.sqrt();
        let expected_mean = (drift - volatility * volatility / 2.0) * TICK_YEARS;
        let sd = var.sqrt();
        assert!((sd / expected_sd - 1.0).abs() < 0.01, "sd {sd} vs {expected_sd}");
        // Within 5 standard errors of the mean.
        let standard_error = expected_sd / (n as f64).sqrt();
        assert!((mean - expected_mean).abs() < 5.0 * standard_error, "mean {mean} vs {expected_mean}");
    }

    #[test]
    fn every_symbol_ticks_and_prices_stay_positive() {
        let mut sim = Simulator::new(&symbols(4), 1);
        let mut seen = [0; 4];
        for _ in 0..4000 {
            let tick = sim.step().unwrap();
            assert!(tick.price > 0.0 && tick.volume > 0);
            seen[tick.symbol_index] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
        assert!(Simulator::new(&[], 1).step().is_none());
    }
}
