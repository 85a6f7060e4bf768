//! The market as one of several instances sharing a Redis (server only): exactly one instance
//! runs the feed, the one holding the lease `pulseboard:lease:market-feed` (`lease`); every
//! instance shows the board its `mirror` keeps from the hub.
//!
//! Taking over: when this instance comes to hold the lease, it reads the last published quotes
//! back from the hub's history (`mirror::restore`) onto the board it applies ticks to, and the
//! simulator continues each symbol's walk from its last price, so the feed goes on from where the
//! previous leader left it (same session, volume and sparkline point numbers), not from the seed.
//! Outside feeds' ticks reach the leader through the `ticks` topic, read from the id the restore
//! was current as of. It leads only while the lease is held: when it lapses (Redis unreachable,
//! renewals too late) the feed stops at once and the publisher drops what it had not sent.

use super::{
    board,
    feed::{first_quotes, simulator, Market, Pace},
    lease::Lease,
    membership::Cluster,
    mirror,
    settings::MarketSettings,
    topics::TICKS_TOPIC,
};
use crate::{
    streams::hub::{Delivery, EventId, SubscribeRequest},
    time::now_ms,
};
use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use std::{convert::Infallible, sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;

/// Runs the feed whenever this instance holds the lease, until `shutdown`.
pub async fn run_feed(
    market: Market,
    cluster: Arc<Cluster>,
    settings: MarketSettings,
    history_limit: usize,
    shutdown: CancellationToken,
) {
    if settings.symbols.is_empty() {
        return; // no market: outside feeds may quote only listed symbols over Redis
    }
    let lease = &cluster.lease;
    let mut held = lease.watch();
    loop {
        tokio::select! {
            changed = held.wait_for(|held| *held) => if changed.is_err() { return },
            _ = shutdown.cancelled() => return,
        }
        let (quotes, as_of) = match mirror::restore(market.hub(), &settings.symbols, history_limit).await {
            Ok(restored) => restored,
            Err(err) => {
                tracing::warn!(%err, "market feed: the last quotes could not be read back; trying again");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(200)) => continue,
                    _ = shutdown.cancelled() => return,
                }
            }
        };
        if !lease.held() {
            continue;
        }
        tracing::info!(
            token = lease.token(),
            continued = quotes.len(),
            "market feed runs on this instance, from the last published quotes"
        );
        let last = market.restore(quotes);
        lead(&market, lease, &settings, &last, as_of, &shutdown).await;
        if shutdown.is_cancelled() {
            return;
        }
        tracing::warn!(token = lease.token(), "market feed stopped on this instance: the lease is no longer held");
    }
}

/// The feed while the lease is held: the simulator from the last prices, and outside ticks.
async fn lead(
    market: &Market,
    lease: &Lease,
    settings: &MarketSettings,
    last: &[(String, f64)],
    as_of: EventId,
    shutdown: &CancellationToken,
) {
    let mut sim = simulator(settings);
    for (symbol, price) in last {
        sim.continue_from(symbol, *price);
    }
    first_quotes(market, &sim, last);
    let mut ticks = outside_ticks(market, as_of);
    let mut pace = Pace::new(settings.ticks_per_second);
    let simulated = settings.ticks_per_second > 0 && !settings.symbols.is_empty();
    loop {
        tokio::select! {
            _ = pace.wait() => {}
            tick = ticks.next() => match tick {
                Some(text) => match board::parse_tick(&text, now_ms()) {
                    Ok(tick) if lease.held() => market.apply(&tick),
                    Ok(_) => return,
                    Err(err) => tracing::debug!(%err, "outside tick ignored"),
                },
                // The hub ended the stream (shutdown, or it could not continue): follow it anew.
                None => ticks = outside_ticks(market, market.hub().current_id()),
            },
            _ = shutdown.cancelled() => return,
        }
        if !lease.held() {
            return;
        }
        if simulated {
            pace.run_due(&mut sim, market);
        }
    }
}

/// The bodies published to `ticks` after `after`, in order (a `reset` is skipped: what could
/// not be replayed is gone).
fn outside_ticks(market: &Market, after: EventId) -> std::pin::Pin<Box<dyn Stream<Item = String> + Send>> {
    let request = SubscribeRequest {
        topics: vec![TICKS_TOPIC.name()],
        last_event_id: Some(after.to_string()),
        delivery: Delivery::Every,
    };
    match market.hub().subscribe(request) {
        Ok(stream) => Box::pin(
            stream
                .map(Ok::<_, Infallible>)
                .eventsource()
                .filter_map(|event| async move { event.ok().filter(|e| e.event != "reset").map(|e| e.data) }),
        ),
        // Shutting down: nothing more comes.
        Err(_) => Box::pin(futures::stream::pending()),
    }
}
