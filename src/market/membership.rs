//! What an instance of several over Redis takes part in the market with (server only): the feed's
//! lease, the board it shows (the `mirror` of the published quotes) and the symbols every instance
//! lists. The market handle (`feed::Market`) holds it to answer "do I lead?" and "what board is
//! shown?"; the feed on the lease holder (`cluster`) runs with it. It depends on neither.

use super::{
    lease::{Lease, LeaseTimings},
    mirror::Mirror,
    settings::MarketSettings,
};
use std::sync::Arc;

/// The Redis key of the feed's lease.
pub const LEASE_KEY: &str = "pulseboard:lease:market-feed";

/// An instance's part in a market shared by several.
pub struct Cluster {
    pub lease: Arc<Lease>,
    pub mirror: Arc<Mirror>,
    pub symbols: Vec<String>,
}

impl Cluster {
    pub fn new(url: &str, settings: &MarketSettings) -> Result<Self, String> {
        Ok(Self {
            lease: Lease::redis(url, LEASE_KEY, LeaseTimings::default())?,
            mirror: Arc::new(Mirror::new(settings.session())),
            symbols: settings.symbols.clone(),
        })
    }
}
