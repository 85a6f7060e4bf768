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

use super::{
    board::{self, Board, Session, TickError},
    model::{Quote, QuoteChange, Tick},
    sim::{tick_years, Simulator},
};
use crate::streams::{
    hub::{EventId, Hub},
    EventType, TopicName,
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

/// The topic outside feeds publish ticks to.
pub const TICKS_TOPIC: crate::streams::TopicConst = crate::streams::TopicConst::new("ticks");

const QUOTE_EVENT: EventTypeConst = EventType::constant("quote");

/// Every symbol's quote topic starts with this.
pub const QUOTE_TOPIC_PREFIX: &str = "market.quote.";

pub fn quote_topic(symbol: &str) -> Option<TopicName> {
    TopicName::new(&format!("{QUOTE_TOPIC_PREFIX}{symbol}")).ok()
}

#[derive(Clone)]
pub struct Market {
    board: Arc<Mutex<Board>>,
    /// Quotes applied and not yet published, in the order they were applied.
    outbox: mpsc::UnboundedSender<QuoteChange>,
    hub: Hub,
    /// Ticks applied so far (`/metrics`: `pulseboard_market_ticks_total`).
    ticks: Arc<AtomicU64>,
}

/// The receiving end of the outbox: what [`Market::run_publisher`] drains.
pub struct Publisher {
    outbox: mpsc::UnboundedReceiver<QuoteChange>,
    hub: Hub,
    /// Made once: every quote is published with it.
    quote_event: EventType,
}

impl Market {
    /// The market and its publisher, which must run (see [`Market::run_publisher`]) for quotes to
    /// reach the hub.
    /// `session`: the schedule on which each symbol's open, high, low and volume start again.
    pub fn new(hub: Hub, session: Session) -> (Self, Publisher) {
        let (outbox, queued) = mpsc::unbounded_channel();
        let board = Arc::new(Mutex::new(Board::new(session)));
        let market = Self { board, outbox, hub: hub.clone(), ticks: Arc::default() };
        (market, Publisher { outbox: queued, hub, quote_event: QUOTE_EVENT.event_type() })
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
    pub async fn ingest(&self, text: &str) -> Result<(), TickError> {
        let tick = board::parse_tick(text, now_ms())?;
        self.apply(&tick);
        Ok(())
    }

    /// Quotes of `symbols` (all when empty), and the event id they are current as of.
    pub async fn snapshot(&self, symbols: &[String]) -> (Vec<Quote>, Vec<String>, EventId) {
        let board = self.board.lock();
        let as_of = self.hub.current_id();
        let all = board.symbols();
        let wanted: Vec<&String> = if symbols.is_empty() { all.iter().collect() } else { symbols.iter().collect() };
        let quotes = wanted.into_iter().filter_map(|s| board.quote(s)).collect();
        (quotes, all, as_of)
    }
}

async fn publish(publisher: &Publisher, quote: &QuoteChange) {
    let Some(topic) = quote_topic(&quote.symbol) else { return };
    let data = match serde_json::to_string(quote) {
        Ok(data) => data,
        Err(err) => return tracing::error!(%err, "quote not encoded"),
    };
    if let Err(err) = publisher.hub.publish(&topic, &publisher.quote_event, &data).await {
        tracing::debug!(%err, "quote not published");
    }
}

/// Runs the simulator at `ticks_per_second` until `shutdown`.
pub async fn run_simulator(market: Market, settings: super::settings::MarketSettings, shutdown: CancellationToken) {
    let ticks_per_second = settings.ticks_per_second;
    let dt = tick_years(ticks_per_second, settings.symbols.len(), settings.session_secs);
    let mut sim = Simulator::new(&settings.symbols, settings.seed, dt);
    // Every symbol has a quote from the start.
    for model in sim.models().to_vec() {
        market.apply(&Tick { symbol: model.symbol, price: model.price, volume: 0, timestamp: now_ms() });
    }
    if ticks_per_second == 0 {
        return;
    }
    let period = Duration::from_millis(10);
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = tokio::time::Instant::now();
    let mut sent: u64 = 0;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        // Open loop: as many ticks as the rate says by now, however late this wake-up is.
        let due = (started.elapsed().as_secs_f64() * ticks_per_second as f64) as u64;
        let now = now_ms();
        while sent < due {
            let Some(step) = sim.step() else { return };
            let symbol = sim.models()[step.symbol_index].symbol.clone();
            market.apply(&Tick { symbol, price: step.price, volume: step.volume, timestamp: now });
            sent += 1;
        }
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
