//! Starting the market: the handle pages and the `ticks` hook use, and the tasks that keep it
//! going (server only). Alone (the embedded hub), the publisher and the simulator; as one of
//! several instances over Redis, also the lease, the mirror of the board shown and the feed that
//! runs while this instance holds the lease (`cluster`).

use super::{
    cluster,
    feed::{run_simulator, Market, Publisher},
    membership::Cluster,
    mirror,
    settings::MarketSettings,
};
use std::{future::Future, pin::Pin, sync::Arc};
use tokio_util::sync::CancellationToken;

/// A market's background tasks, to be run until `shutdown` ([`MarketTasks::futures`]).
pub struct MarketTasks {
    market: Market,
    publisher: Publisher,
    settings: MarketSettings,
    history_limit: usize,
}

pub type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The market of this instance and its tasks: alone with `redis_url` `None`, else one of the
/// instances sharing that Redis (`history_limit`: how many quotes per symbol to read back).
pub fn start(
    hub: crate::streams::hub::Hub,
    settings: &MarketSettings,
    redis_url: Option<&str>,
    history_limit: usize,
) -> Result<(Market, MarketTasks), String> {
    let (mut market, mut publisher) = Market::new(hub, settings.session());
    if let Some(url) = redis_url {
        let cluster = Arc::new(Cluster::new(url, settings)?);
        publisher.join(cluster.lease.clone());
        market.join(cluster);
    }
    let tasks = MarketTasks { market: market.clone(), publisher, settings: settings.clone(), history_limit };
    Ok((market, tasks))
}

impl MarketTasks {
    /// Alone: the publisher and the simulator. Over Redis: the publisher (which releases the
    /// lease once it has drained), the lease, the mirror and the feed that runs while leading.
    pub fn futures(self, shutdown: CancellationToken) -> Vec<Task> {
        let Self { market, publisher, settings, history_limit } = self;
        let Some(cluster) = market.cluster() else {
            return vec![
                Box::pin(Market::run_publisher(publisher, shutdown.clone())),
                Box::pin(run_simulator(market, settings, shutdown)),
            ];
        };
        let lease = cluster.lease.clone();
        vec![
            Box::pin({
                let shutdown = shutdown.clone();
                async move {
                    Market::run_publisher(publisher, shutdown).await;
                    lease.release().await;
                }
            }),
            Box::pin(cluster.lease.clone().run(shutdown.clone())),
            Box::pin(mirror::run(
                cluster.mirror.clone(),
                market.hub().clone(),
                settings.symbols.clone(),
                history_limit,
                shutdown.clone(),
            )),
            Box::pin(cluster::run_feed(market, cluster, settings, history_limit, shutdown)),
        ]
    }
}
