//! The built-in simulated market: each symbol's price is a seeded geometric Brownian motion
//! with its own drift and volatility, so a given seed always gives the same prices (server only).
//!
//! Time is scaled so that one session (`market-session-secs` of wall time) is one trading day:
//! a tick of a symbol stands for the wall time between its ticks (symbols ÷ ticks per second)
//! as a share of the session, times a trading day ([`tick_years`]). Over a session a symbol so
//! moves by its daily volatility (σ/√252, about 1–4 %), whatever the tick rate.

use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// Trading days in a year.
pub const TRADING_DAYS: f64 = 252.0;

/// Market time, in years, one tick of a symbol stands for when `ticks_per_second` are spread
/// over `symbols` symbols and a session of `session_secs` is one trading day.
pub fn tick_years(ticks_per_second: u32, symbols: usize, session_secs: u64) -> f64 {
    if ticks_per_second == 0 || symbols == 0 || session_secs == 0 {
        return 0.0;
    }
    let secs_between_ticks = symbols as f64 / ticks_per_second as f64;
    secs_between_ticks / session_secs as f64 / TRADING_DAYS
}

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
    /// Market time of one tick, in years (see [`tick_years`]).
    dt: f64,
}

/// One simulated trade.
#[derive(Debug, Clone, PartialEq)]
pub struct SimTick {
    pub symbol_index: usize,
    pub price: f64,
    pub volume: u64,
}

impl Simulator {
    /// Models for `symbols` with starting prices, drifts and volatilities drawn from `seed`; each
    /// tick moves a symbol by `dt` years of market time.
    pub fn new(symbols: &[String], seed: u64, dt: f64) -> Self {
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
        Self { models, rng, dt }
    }

    pub fn models(&self) -> &[SymbolModel] {
        &self.models
    }

    /// Continues `symbol`'s walk from `price` (the last one published, when another instance
    /// ran the feed before this one). Drift and volatility stay the seed's.
    pub fn continue_from(&mut self, symbol: &str, price: f64) {
        if let Some(model) = self.models.iter_mut().find(|m| m.symbol == symbol) {
            if price.is_finite() && price > 0.0 {
                model.price = price;
            }
        }
    }

    /// Advances one symbol (chosen at random) by one tick.
    pub fn step(&mut self) -> Option<SimTick> {
        if self.models.is_empty() {
            return None;
        }
        let index = self.rng.random_range(0..self.models.len());
        let z: f64 = StandardNormal.sample(&mut self.rng);
        let model = &mut self.models[index];
        model.price = gbm_step(model.price, model.drift, model.volatility, self.dt, z);
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

    /// One trading minute per tick, as the tests of the walk itself use.
    const MINUTE: f64 = 1.0 / (252.0 * 390.0);

    #[test]
    fn same_seed_same_market_other_seed_other_market() {
        let run = |seed| {
            let mut sim = Simulator::new(&symbols(5), seed, MINUTE);
            (0..1000).map(|_| sim.step().unwrap().price).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn log_returns_have_the_model_mean_and_volatility() {
        let mut sim = Simulator::new(&symbols(1), 42, MINUTE);
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
        let expected_sd = volatility * MINUTE.sqrt();
        let expected_mean = (drift - volatility * volatility / 2.0) * MINUTE;
        let sd = var.sqrt();
        assert!((sd / expected_sd - 1.0).abs() < 0.01, "sd {sd} vs {expected_sd}");
        // Within 5 standard errors of the mean.
        let standard_error = expected_sd / (n as f64).sqrt();
        assert!((mean - expected_mean).abs() < 5.0 * standard_error, "mean {mean} vs {expected_mean}");
    }

    #[test]
    fn every_symbol_ticks_and_prices_stay_positive() {
        let mut sim = Simulator::new(&symbols(4), 1, MINUTE);
        let mut seen = [0; 4];
        for _ in 0..4000 {
            let tick = sim.step().unwrap();
            assert!(tick.price > 0.0 && tick.volume > 0);
            seen[tick.symbol_index] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
        assert!(Simulator::new(&[], 1, MINUTE).step().is_none());
    }

    #[test]
    fn a_walk_continued_from_a_price_moves_on_from_it() {
        let mut sim = Simulator::new(&symbols(2), 3, MINUTE);
        sim.continue_from("S1", 1234.5);
        sim.continue_from("NOPE", 1.0);
        sim.continue_from("S0", f64::NAN);
        assert_eq!(sim.models()[1].price, 1234.5);
        let fresh = Simulator::new(&symbols(2), 3, MINUTE);
        assert_eq!(sim.models()[0], fresh.models()[0]);
        let next = std::iter::from_fn(|| sim.step()).find(|t| t.symbol_index == 1).unwrap();
        assert!((next.price / 1234.5 - 1.0).abs() < 0.01, "{}", next.price);
    }

    #[test]
    fn a_tick_stands_for_its_share_of_a_trading_day() {
        // 8 symbols at 200 ticks/s: 25 a second each; a session of an hour is a day.
        let dt = tick_years(200, 8, 3600);
        assert!((dt * 25.0 * 3600.0 * TRADING_DAYS - 1.0).abs() < 1e-12, "{dt}");
        assert_eq!(tick_years(0, 8, 3600), 0.0);
        assert_eq!(tick_years(200, 0, 3600), 0.0);
    }

    /// A whole session's moves spread as a day's do (σ/√252), at any session length.
    #[test]
    fn a_session_moves_a_symbol_by_a_day_s_volatility() {
        let (rate, n_symbols, session_secs) = (200, 8, 600);
        let dt = tick_years(rate, n_symbols, session_secs);
        let mut day_moves = Vec::new();
        for seed in 0..40 {
            let mut sim = Simulator::new(&symbols(n_symbols), seed, dt);
            let start: Vec<f64> = sim.models().iter().map(|m| m.price).collect();
            for _ in 0..rate as u64 * session_secs {
                sim.step();
            }
            for (model, start) in sim.models().iter().zip(&start) {
                day_moves.push((model.price / start).ln() / (model.volatility / TRADING_DAYS.sqrt()));
            }
        }
        // In units of each symbol's daily σ: a standard deviation near 1 (320 samples).
        let n = day_moves.len() as f64;
        let mean = day_moves.iter().sum::<f64>() / n;
        let sd = (day_moves.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        assert!((0.85..1.15).contains(&sd), "session moves spread {sd} daily σ");
    }

    /// The complaint: after 7 minutes at 200 ticks/s symbols had moved ±18–20 %. With the default
    /// hour-long session, 7 minutes move them a fraction of a day's 1–4 %.
    #[test]
    fn seven_minutes_move_a_symbol_a_little() {
        let dt = tick_years(200, 8, 3600);
        let mut biggest = 0.0f64;
        for seed in 0..10 {
            let mut sim = Simulator::new(&symbols(8), seed, dt);
            let start: Vec<f64> = sim.models().iter().map(|m| m.price).collect();
            for _ in 0..200 * 7 * 60 {
                sim.step();
            }
            for (model, start) in sim.models().iter().zip(&start) {
                biggest = biggest.max((model.price / start).ln().abs());
            }
        }
        assert!(biggest < 0.06, "a symbol moved {:.1} % in 7 minutes", biggest * 100.0);
        assert!(biggest > 0.001, "and they do move: {:.2} %", biggest * 100.0);
    }
}
