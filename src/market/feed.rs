//! The market on the server: the board behind a short lock, the simulator task, the publisher
//! task, and the hook that lets outside feeds publish ticks (server only).
//!
//! Each tick's change ([`QuoteChange`]: the figures and the sparkline's newest point, not the
//! whole sparkline) is published to its symbol's topic `market.quote.<SYMBOL>` with event type
//! `quote`; the snapshot holds the whole state the changes apply to.
//! Pages subscribe to the topics of the symbols they show, with latest-wins delivery, so a slow
//! client gets each symbol's newest quote and never a backlog.
//!
//! No lock is held across a publish (with a remote hub a publish is a round trip): applying a
//! tick takes the board's lock, updates the board and queues the new quote in the outbox while
//! still holding it, so quotes leave in the order they were applied; one publisher task
//! ([`Market::run_publisher`]) drains the outbox into the hub. A snapshot read meanwhile may show a
//! quote whose event comes after the snapshot's id: the page then receives the same state twice,
//! never misses one.
//!
//! Two ways to run (`tasks::start`): alone (the embedded hub; this instance's board is the one shown)
//! or as one of several instances over Redis (`cluster`): the instance holding the feed's lease
//! runs the simulator and applies outside ticks, the publisher publishes only while the lease is
//! held, and every instance shows the board its `mirror` keeps from the hub.

use super::{
    board::{self, Board, Session, TickError},
    lease::Lease,
    membership::Cluster,
    model::{Quote, QuoteChange, Tick},
    settings::MarketSettings,
    sim::{tick_years, Simulator},
    topics::quote_topic,
};
use crate::streams::{
    hub::{EventId, Hub},
    EventType,
};
use crate::{streams::EventTypeConst, time::now_ms};
use parking_lot::Mutex;
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const QUOTE_EVENT: EventTypeConst = EventType::constant("quote");

#[derive(Clone)]
pub struct Market {
    board: Arc<Mutex<Board>>,
    /// Quotes applied and not yet published, in the order they were applied.
    outbox: mpsc::UnboundedSender<QuoteChange>,
    hub: Hub,
    /// Ticks applied so far (`/metrics`: `pulseboard_market_ticks_total`).
    ticks: Arc<AtomicU64>,
    /// Over Redis: the feed's lease and the board shown (`None`: alone, this board is shown).
    cluster: Option<Arc<Cluster>>,
}

/// The receiving end of the outbox: what [`Market::run_publisher`] drains.
pub struct Publisher {
    outbox: mpsc::UnboundedReceiver<QuoteChange>,
    hub: Hub,
    /// Made once: every quote is published with it.
    quote_event: EventType,
    /// Over Redis: quotes leave only while this instance holds the feed's lease.
    lease: Option<Arc<Lease>>,
}

impl Publisher {
    /// Over Redis: publish only while `lease` is held.
    pub(super) fn join(&mut self, lease: Arc<Lease>) {
        self.lease = Some(lease);
    }
}

impl Market {
    /// Over Redis: lead while holding the cluster's lease, and show its board.
    pub(super) fn join(&mut self, cluster: Arc<Cluster>) {
        self.cluster = Some(cluster);
    }

    /// The instance's part in a market of several (`None`: alone).
    pub(super) fn cluster(&self) -> Option<Arc<Cluster>> {
        self.cluster.clone()
    }

    /// The market and its publisher, which must run (see [`Market::run_publisher`]) for quotes to
    /// reach the hub.
    /// `session`: the schedule on which each symbol's open, high, low and volume start again.
    pub fn new(hub: Hub, session: Session) -> (Self, Publisher) {
        let (outbox, queued) = mpsc::unbounded_channel();
        let board = Arc::new(Mutex::new(Board::new(session)));
        let market = Self { board, outbox, hub: hub.clone(), ticks: Arc::default(), cluster: None };
        (market, Publisher { outbox: queued, hub, quote_event: QUOTE_EVENT.event_type(), lease: None })
    }

    /// Applies a checked tick and queues the symbol's new quote for publishing.
    pub fn apply(&self, tick: &Tick) {
        let mut board = self.board.lock();
        let change = board.apply(tick);
        // Sent under the board's lock, so the outbox holds quotes in the board's order. The
        // receiver only goes away at shutdown, when a quote more or less no longer matters.
        let _ = self.outbox.send(change);
        drop(board);
        self.ticks.fetch_add(1, Ordering::Relaxed);
    }

    /// Publishes queued quotes until `shutdown`, then what is left in the outbox.
    pub async fn run_publisher(mut publisher: Publisher, shutdown: CancellationToken) {
        loop {
            let quote = tokio::select! {
                quote = publisher.outbox.recv() => quote,
                _ = shutdown.cancelled() => break,
            };
            let Some(quote) = quote else { return };
            publish(&publisher, &quote).await;
        }
        publisher.outbox.close();
        while let Some(quote) = publisher.outbox.recv().await {
            publish(&publisher, &quote).await;
        }
    }

    /// Ticks applied since the server started, simulated and from outside feeds alike: the
    /// market's own share of the hub's published events.
    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    /// A tick from an outside feed (the `ticks` topic): checked, then applied like a simulated one.
    /// Over Redis only checked (a symbol of `market-symbols`, which every instance shows): the
    /// instance that runs the feed applies it from the `ticks` topic.
    pub async fn ingest(&self, text: &str) -> Result<(), TickError> {
        let tick = board::parse_tick(text, now_ms())?;
        match &self.cluster {
            None => self.apply(&tick),
            Some(cluster) if !cluster.symbols.contains(&tick.symbol) => {
                return Err(TickError::Unlisted(tick.symbol, cluster.symbols.join(", ")))
            }
            Some(_) => {}
        }
        Ok(())
    }

    /// Whether this instance runs the feed: always alone; over Redis, while it holds the lease.
    pub fn leads(&self) -> bool {
        self.cluster.as_ref().is_none_or(|cluster| cluster.lease.held())
    }

    /// The market's own lines for `/metrics` (Prometheus text format): whether this instance
    /// runs the feed.
    pub fn prometheus_text(&self) -> String {
        format!(
            "# HELP pulseboard_market_feed_leader 1 while this instance runs the market feed (over Redis: holds its lease).\n\
             # TYPE pulseboard_market_feed_leader gauge\npulseboard_market_feed_leader {}\n",
            u8::from(self.leads())
        )
    }

    /// Replaces the board this instance applies ticks to (when it starts leading, with the
    /// quotes last published), and returns each symbol's last price.
    pub(super) fn restore(&self, quotes: Vec<Quote>) -> Vec<(String, f64)> {
        let mut board = self.board.lock();
        *board = Board::new(board.session());
        let last = quotes.iter().map(|q| (q.symbol.clone(), q.last)).collect();
        for quote in quotes {
            board.restore(quote);
        }
        last
    }

    pub(super) fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Quotes of `symbols` (all when empty), and the event id they are current as of.
    pub async fn snapshot(&self, symbols: &[String]) -> (Vec<Quote>, Vec<String>, EventId) {
        if let Some(cluster) = &self.cluster {
            return cluster.mirror.snapshot(symbols);
        }
        let board = self.board.lock();
        let as_of = self.hub.current_id();
        let all = board.symbols();
        let wanted: Vec<&String> = if symbols.is_empty() { all.iter().collect() } else { symbols.iter().collect() };
        let quotes = wanted.into_iter().filter_map(|s| board.quote(s)).collect();
        (quotes, all, as_of)
    }
}

async fn publish(publisher: &Publisher, quote: &QuoteChange) {
    // Over Redis, a quote of a lapsed lease is dropped: another instance may lead by now.
    if publisher.lease.as_ref().is_some_and(|lease| !lease.held()) {
        return;
    }
    let Some(topic) = quote_topic(&quote.symbol) else { return };
    let data = match serde_json::to_string(quote) {
        Ok(data) => data,
        Err(err) => return tracing::error!(%err, "quote not encoded"),
    };
    if let Err(err) = publisher.hub.publish(&topic, &publisher.quote_event, &data).await {
        tracing::debug!(%err, "quote not published");
    }
}

/// The seeded simulator of `settings`.
pub(super) fn simulator(settings: &MarketSettings) -> Simulator {
    let dt = tick_years(settings.ticks_per_second, settings.symbols.len(), settings.session_secs);
    Simulator::new(&settings.symbols, settings.seed, dt)
}

/// Applies a quote at the seed's price for each symbol of `sim` the board has none of.
pub(super) fn first_quotes(market: &Market, sim: &Simulator, quoted: &[(String, f64)]) {
    for model in sim.models() {
        if !quoted.iter().any(|(symbol, _)| *symbol == model.symbol) {
            market.apply(&Tick { symbol: model.symbol.clone(), price: model.price, volume: 0, timestamp: now_ms() });
        }
    }
}

/// The simulator's clock: open loop, as many ticks as the rate says by now, however late a
/// wake-up is.
pub(super) struct Pace {
    every: tokio::time::Interval,
    started: tokio::time::Instant,
    sent: u64,
    ticks_per_second: u32,
}

impl Pace {
    pub(super) fn new(ticks_per_second: u32) -> Self {
        let mut every = tokio::time::interval(Duration::from_millis(10));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self { every, started: tokio::time::Instant::now(), sent: 0, ticks_per_second }
    }

    pub(super) async fn wait(&mut self) {
        self.every.tick().await;
    }

    /// Applies the ticks due by now.
    pub(super) fn run_due(&mut self, sim: &mut Simulator, market: &Market) {
        let due = (self.started.elapsed().as_secs_f64() * self.ticks_per_second as f64) as u64;
        let now = now_ms();
        while self.sent < due {
            let Some(step) = sim.step() else { return };
            let symbol = sim.models()[step.symbol_index].symbol.clone();
            market.apply(&Tick { symbol, price: step.price, volume: step.volume, timestamp: now });
            self.sent += 1;
        }
    }
}

/// Runs the simulator at `ticks_per_second` until `shutdown` (alone: from the seed).
pub async fn run_simulator(market: Market, settings: MarketSettings, shutdown: CancellationToken) {
    let mut sim = simulator(&settings);
    // Every symbol has a quote from the start.
    first_quotes(&market, &sim, &[]);
    if settings.ticks_per_second == 0 || settings.symbols.is_empty() {
        return;
    }
    let mut pace = Pace::new(settings.ticks_per_second);
    loop {
        tokio::select! {
            _ = pace.wait() => {}
            _ = shutdown.cancelled() => return,
        }
        pace.run_due(&mut sim, &market);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::hub::{Delivery, HubConfig, SubscribeRequest};
    use futures::StreamExt;

    fn hub(history_events: usize) -> Hub {
        Hub::in_process(HubConfig {
            history_events,
            history_age: Duration::from_secs(600),
            heartbeat: Duration::from_secs(15),
            retry_ms: 1000,
        })
    }

    /// A market whose publisher runs until the test ends.
    fn market(hub: &Hub) -> Market {
        let (market, publisher) = Market::new(hub.clone(), Session::default());
        tokio::spawn(Market::run_publisher(publisher, CancellationToken::new()));
        market
    }

    async fn published(hub: &Hub, want: u64) {
        // Generous: 30 000 quotes take seconds in an unoptimised build on a busy machine.
        let waited = tokio::time::timeout(Duration::from_secs(60), async {
            while hub.stats().published < want {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        assert!(waited.await.is_ok(), "published {} of {want}", hub.stats().published);
    }

    #[tokio::test]
    async fn ticks_are_counted_whether_simulated_or_ingested() {
        let hub = hub(16);
        let market = market(&hub);
        assert_eq!(market.ticks(), 0);
        market.apply(&Tick { symbol: "AAA".into(), price: 1.0, volume: 1, timestamp: now_ms() });
        let tick = format!(r#"{{"symbol":"BBB","price":2.5,"volume":3,"timestamp":{}}}"#, now_ms());
        market.ingest(&tick).await.unwrap();
        assert!(market.ingest("{not a tick").await.is_err());
        // Clones share the count (the server hands clones to the simulator and the hook).
        assert_eq!((market.ticks(), market.clone().ticks()), (2, 2));
        published(&hub, 2).await;
        assert_eq!(hub.stats().published, 2, "one quote event per tick");
    }

    #[tokio::test]
    async fn a_stalled_subscriber_gets_only_the_newest_quote_of_each_symbol() {
        let hub = hub(256);
        let market = market(&hub);
        let symbols = ["AAA", "BBB", "CCC"];
        let topics = symbols.iter().map(|s| quote_topic(s).unwrap()).collect();
        let mut stream = Box::pin(
            hub.subscribe(SubscribeRequest { topics, last_event_id: None, delivery: Delivery::Latest }).unwrap(),
        );
        stream.next().await.unwrap(); // retry:

        // The subscriber reads nothing while 30 000 ticks go by (far more than the history).
        let now = now_ms();
        for n in 0..30_000u32 {
            let symbol = symbols[(n % 3) as usize].to_string();
            market.apply(&Tick { symbol, price: 1.0 + n as f64, volume: 1, timestamp: now });
        }
        published(&hub, 30_000).await;
        let chunk = stream.next().await.unwrap();
        let text = std::str::from_utf8(&chunk).unwrap();
        // Bounded: three events, not a backlog, and no reset.
        assert_eq!(text.matches("event: quote").count(), 3, "{text}");
        assert!(!text.contains("reset"));
        assert!(chunk.len() < 3 * 1024, "{} bytes", chunk.len());
        for (symbol, newest) in [("AAA", 29_998.0), ("BBB", 29_999.0), ("CCC", 30_000.0)] {
            let quote = text
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .map(|d| serde_json::from_str::<QuoteChange>(d).unwrap())
                .find(|q| q.symbol == symbol)
                .unwrap();
            assert_eq!(quote.last, newest, "{symbol}");
        }
    }
}
