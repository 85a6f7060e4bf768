//! Subscribers of the market's quote stream (`GET /api/streams/quotes?symbols[0]=..`, latest
//! wins per symbol). Live ones read every frame, parse each quote (`contract::Quote`, every field
//! of it) and record its staleness, receive time minus the quote's `ts_ms`. Stalled ones stop
//! reading after the response head; `resume` later reads one again and reports what came first.

use crate::{
    contract::Quote,
    sse::SseEvent,
    subscriber::{read_body, Connected},
    tracker::Latencies,
};
use std::{
    sync::atomic::{AtomicU64, Ordering},
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// `/api/streams/quotes?symbols%5B0%5D=ACME&symbols%5B1%5D=BOLT` (the server function's
/// `GetUrl` encoding of a list).
pub fn quotes_path(symbols: &[String]) -> String {
    let query: Vec<String> =
        symbols.iter().enumerate().map(|(n, symbol)| format!("symbols%5B{n}%5D={symbol}")).collect();
    format!("/api/streams/quotes?{}", query.join("&"))
}

/// Microseconds since the Unix epoch (the clock `ts_ms` is on; server and tool share the host).
pub fn unix_now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// How old a quote stamped `ts_ms` is at `now_us`, in microseconds; never negative. `ts_ms` is
/// whole milliseconds (taken when the simulator woke to make the tick), so a figure may be up to
/// 1 ms high.
pub fn staleness_us(now_us: u64, ts_ms: i64) -> u64 {
    let ts_us = u64::try_from(ts_ms).unwrap_or(0).saturating_mul(1000);
    now_us.saturating_sub(ts_us)
}

/// What happened to one event of the quote stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// A quote of a subscribed symbol; `index` into the symbol list.
    Quote {
        index: usize,
        quote: Quote,
    },
    Reset,
    /// Not a quote: bad JSON, another event type, or a symbol not asked for.
    Bad,
}

/// Classifies one SSE event of the quote stream.
pub fn classify(event: &SseEvent<'_>, symbols: &[String]) -> Seen {
    match event.event_type {
        b"reset" => Seen::Reset,
        b"quote" => match serde_json::from_slice::<Quote>(event.data) {
            Ok(quote) => match symbols.iter().position(|s| *s == quote.symbol) {
                Some(index) => Seen::Quote { index, quote },
                None => Seen::Bad,
            },
            Err(_) => Seen::Bad,
        },
        _ => Seen::Bad,
    }
}

/// Latest-wins never goes back: per symbol, `(ts_ms, volume)` only grows (volume is the
/// session's traded volume: it starts again only when a new session opens, at a later `ts_ms`). Returns false for a quote older than the newest one seen so far
/// (which stays the reference).
pub fn in_order(newest: &mut Option<(i64, u64)>, quote: &Quote) -> bool {
    let now = (quote.ts_ms, quote.volume);
    let ok = newest.is_none_or(|before| now >= before);
    if ok {
        *newest = Some(now);
    }
    ok
}

/// Counters all live subscribers add to (once per read).
pub struct LiveShared {
    pub symbols: Arc<[String]>,
    pub updates: AtomicU64,
    pub bytes: AtomicU64,
    /// Events that were not a quote of a subscribed symbol (must stay 0).
    pub bad: AtomicU64,
    pub resets: AtomicU64,
    /// Quotes older than the one before of the same symbol (must stay 0).
    pub out_of_order: AtomicU64,
    /// Streams that ended before the run was over.
    pub ended: AtomicU64,
    /// Quotes received, per subscriber.
    pub per_subscriber: Vec<AtomicU64>,
    pub staleness: Latencies,
}

/// The running totals at one moment, to subtract.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveTotals {
    pub updates: u64,
    pub bytes: u64,
    pub bad: u64,
    pub resets: u64,
    pub out_of_order: u64,
    pub ended: u64,
    pub per_subscriber: Vec<u64>,
}

impl LiveShared {
    pub fn new(symbols: Arc<[String]>, subscribers: usize) -> Self {
        Self {
            symbols,
            updates: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            bad: AtomicU64::new(0),
            resets: AtomicU64::new(0),
            out_of_order: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            per_subscriber: (0..subscribers).map(|_| AtomicU64::new(0)).collect(),
            staleness: Latencies::new(16),
        }
    }

    pub fn totals(&self) -> LiveTotals {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        LiveTotals {
            updates: load(&self.updates),
            bytes: load(&self.bytes),
            bad: load(&self.bad),
            resets: load(&self.resets),
            out_of_order: load(&self.out_of_order),
            ended: load(&self.ended),
            per_subscriber: self.per_subscriber.iter().map(load).collect(),
        }
    }
}

impl LiveTotals {
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            updates: self.updates - earlier.updates,
            bytes: self.bytes - earlier.bytes,
            bad: self.bad - earlier.bad,
            resets: self.resets - earlier.resets,
            out_of_order: self.out_of_order - earlier.out_of_order,
            ended: self.ended - earlier.ended,
            per_subscriber: self
                .per_subscriber
                .iter()
                .zip(&earlier.per_subscriber)
                .map(|(now, before)| now - before)
                .collect(),
        }
    }
}

/// Reads a live subscription until it ends. `key` is the subscriber's number (below the count
/// `shared` was made for).
pub async fn run_live(key: usize, connected: Connected, shared: Arc<LiveShared>) {
    let (mut stream, mut events, leftover) = connected.into_parts();
    let mut last = vec![None; shared.symbols.len()];
    let mut staleness = Vec::new();
    let take = |wire: &[u8]| {
        let now_us = unix_now_us();
        let (mut updates, mut bad, mut resets, mut out_of_order) = (0u64, 0u64, 0u64, 0u64);
        let open = events.feed(wire, |event| match classify(&event, &shared.symbols) {
            Seen::Quote { index, quote } => {
                updates += 1;
                out_of_order += u64::from(!in_order(&mut last[index], &quote));
                staleness.push(staleness_us(now_us, quote.ts_ms));
            }
            Seen::Reset => resets += 1,
            Seen::Bad => bad += 1,
        });
        shared.bytes.fetch_add(wire.len() as u64, Ordering::Relaxed);
        if updates > 0 {
            shared.updates.fetch_add(updates, Ordering::Relaxed);
            shared.per_subscriber[key].fetch_add(updates, Ordering::Relaxed);
            shared.staleness.record(key, &staleness);
            staleness.clear();
        }
        for (counter, n) in [(&shared.bad, bad), (&shared.resets, resets), (&shared.out_of_order, out_of_order)] {
            if n > 0 {
                counter.fetch_add(n, Ordering::Relaxed);
            }
        }
        open
    };
    read_body(&mut stream, &leftover, None, take).await;
    shared.ended.fetch_add(1, Ordering::Relaxed);
}

/// A quote older than this at the moment reading resumed is backlog from the stall.
pub const BACKLOG_AGE_MS: u64 = 1000;

/// What a stalled subscriber got once it read again.
#[derive(Debug, Clone, Default)]
pub struct ResumeOutcome {
    /// Quotes older than [`BACKLOG_AGE_MS`] when reading resumed: what sat in socket buffers
    /// (the kernel's and the server's) since the stall began.
    pub backlog_quotes: u64,
    pub backlog_bytes: u64,
    /// Age of the oldest backlog quote at resume time, ms.
    pub oldest_ms: u64,
    /// Quotes received in all, backlog included, within the reading time.
    pub quotes: u64,
    /// From resuming until every symbol's first fresh quote had arrived (None: not all did).
    pub all_fresh_ms: Option<f64>,
    /// Staleness of each symbol's first fresh quote, at arrival (max over symbols), ms.
    pub first_fresh_staleness_ms: Option<f64>,
    /// A backlog quote after a fresh one of the same symbol, or a quote out of order.
    pub out_of_order: u64,
    pub bad: u64,
    pub resets: u64,
}

/// Reads a stalled subscription again for `reading`, from `resumed_us` (Unix µs, taken just
/// before), and accounts what arrives in [`ResumeOutcome`].
pub async fn resume(connected: Connected, symbols: Arc<[String]>, resumed_us: u64, reading: Duration) -> ResumeOutcome {
    let (mut stream, mut events, leftover) = connected.into_parts();
    let started = Instant::now();
    let mut tally = ResumeTally::new(symbols.len(), resumed_us);
    let take = |wire: &[u8]| {
        let now_us = unix_now_us();
        let at_ms = started.elapsed().as_secs_f64() * 1000.0;
        events.feed(wire, |event| tally.event(classify(&event, &symbols), now_us, at_ms, event.data.len()))
    };
    read_body(&mut stream, &leftover, Some(tokio::time::Instant::now() + reading), take).await;
    tally.outcome
}

/// The accounting of [`resume`], apart from the socket (so it is testable).
pub struct ResumeTally {
    resumed_us: u64,
    last: Vec<Option<(i64, u64)>>,
    /// Per symbol: when (ms after resuming) its first fresh quote came.
    fresh_at: Vec<Option<f64>>,
    pub outcome: ResumeOutcome,
}

impl ResumeTally {
    pub fn new(symbols: usize, resumed_us: u64) -> Self {
        Self { resumed_us, last: vec![None; symbols], fresh_at: vec![None; symbols], outcome: ResumeOutcome::default() }
    }

    /// One event, seen `at_ms` after resuming, at `now_us`; `size`: its data bytes.
    pub fn event(&mut self, seen: Seen, now_us: u64, at_ms: f64, size: usize) {
        let out = &mut self.outcome;
        let (index, quote) = match seen {
            Seen::Quote { index, quote } => (index, quote),
            Seen::Reset => {
                out.resets += 1;
                return;
            }
            Seen::Bad => {
                out.bad += 1;
                return;
            }
        };
        out.quotes += 1;
        out.out_of_order += u64::from(!in_order(&mut self.last[index], &quote));
        let age_at_resume_us = staleness_us(self.resumed_us, quote.ts_ms);
        if age_at_resume_us > BACKLOG_AGE_MS * 1000 {
            out.backlog_quotes += 1;
            out.backlog_bytes += size as u64;
            out.oldest_ms = out.oldest_ms.max(age_at_resume_us / 1000);
            // Backlog after fresh news of the same symbol would be a real fault.
            out.out_of_order += u64::from(self.fresh_at[index].is_some());
            return;
        }
        if self.fresh_at[index].is_none() {
            self.fresh_at[index] = Some(at_ms);
            if self.fresh_at.iter().all(Option::is_some) {
                out.all_fresh_ms = Some(at_ms);
            }
            let staleness_ms = staleness_us(now_us, quote.ts_ms) as f64 / 1000.0;
            out.first_fresh_staleness_ms = Some(out.first_fresh_staleness_ms.unwrap_or(0.0).max(staleness_ms));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(symbol: &str, ts_ms: i64, volume: u64) -> Quote {
        Quote { symbol: symbol.into(), last: 1.0, open: 1.0, high: 1.0, low: 1.0, volume, ts_ms, point: 1 }
    }

    fn symbols() -> Vec<String> {
        vec!["ACME".into(), "BRK.B".into()]
    }

    #[test]
    fn path_lists_the_symbols_as_the_server_function_reads_them() {
        assert_eq!(quotes_path(&symbols()), "/api/streams/quotes?symbols%5B0%5D=ACME&symbols%5B1%5D=BRK.B");
    }

    #[test]
    fn staleness_is_receive_time_minus_the_quote_time_and_never_negative() {
        let ts_ms = 1_763_800_000_000;
        assert_eq!(staleness_us(ts_ms as u64 * 1000 + 2_500, ts_ms), 2_500);
        assert_eq!(staleness_us(ts_ms as u64 * 1000, ts_ms), 0);
        assert_eq!(staleness_us(ts_ms as u64 * 1000 - 300, ts_ms), 0, "clock jitter is not negative");
        assert_eq!(staleness_us(5, -1), 5, "a nonsense ts counts from the epoch");
    }

    #[test]
    fn events_are_classified() {
        let syms = symbols();
        let data = serde_json::to_vec(&quote("BRK.B", 1, 2)).unwrap();
        let event = SseEvent { event_type: b"quote", data: &data };
        assert!(matches!(classify(&event, &syms), Seen::Quote { index: 1, .. }));
        let other = serde_json::to_vec(&quote("ZZZ", 1, 2)).unwrap();
        assert_eq!(classify(&SseEvent { event_type: b"quote", data: &other }, &syms), Seen::Bad);
        assert_eq!(classify(&SseEvent { event_type: b"quote", data: b"{\"symbol\":" }, &syms), Seen::Bad);
        assert_eq!(classify(&SseEvent { event_type: b"", data: &data }, &syms), Seen::Bad);
        assert_eq!(classify(&SseEvent { event_type: b"reset", data: b"{}" }, &syms), Seen::Reset);
    }

    #[test]
    fn order_per_symbol_only_grows() {
        let mut last = None;
        assert!(in_order(&mut last, &quote("A", 10, 5)));
        assert!(in_order(&mut last, &quote("A", 10, 5)), "the same state again is not a regression");
        assert!(in_order(&mut last, &quote("A", 10, 7)));
        assert!(!in_order(&mut last, &quote("A", 9, 100)));
        assert!(!in_order(&mut last, &quote("A", 10, 6)), "still compared with the newest, (10, 7)");
        assert!(in_order(&mut last, &quote("A", 11, 1)));
    }

    #[test]
    fn resume_tells_backlog_from_fresh_quotes() {
        let resumed_ms: i64 = 1_763_800_020_000;
        let resumed_us = resumed_ms as u64 * 1000;
        let mut tally = ResumeTally::new(2, resumed_us);
        let seen = |symbol: &str, ts: i64, volume: u64| Seen::Quote {
            index: symbols().iter().position(|s| s == symbol).unwrap(),
            quote: quote(symbol, ts, volume),
        };
        // Two quotes from the start of a 20 s stall, then the newest of each symbol.
        tally.event(seen("ACME", resumed_ms - 20_000, 1), resumed_us + 100, 0.1, 300);
        tally.event(seen("BRK.B", resumed_ms - 19_999, 1), resumed_us + 100, 0.1, 300);
        tally.event(seen("ACME", resumed_ms - 3, 50), resumed_us + 2_000, 2.0, 300);
        assert_eq!(tally.outcome.all_fresh_ms, None, "BRK.B has had no fresh quote yet");
        tally.event(seen("BRK.B", resumed_ms + 1, 60), resumed_us + 4_000, 4.0, 300);
        tally.event(Seen::Bad, resumed_us, 5.0, 1);
        let out = &tally.outcome;
        assert_eq!((out.quotes, out.backlog_quotes, out.backlog_bytes, out.oldest_ms), (4, 2, 600, 20_000));
        assert_eq!(out.all_fresh_ms, Some(4.0));
        assert_eq!(out.first_fresh_staleness_ms, Some(5.0), "ACME's was 5 ms old on arrival");
        assert_eq!((out.out_of_order, out.bad, out.resets), (0, 1, 0));
        // Backlog after fresh news of the same symbol is out of order.
        tally.event(seen("ACME", resumed_ms - 10_000, 70), resumed_us + 5_000, 5.0, 300);
        assert_eq!(tally.outcome.out_of_order, 2, "older ts, and backlog after fresh");
    }
}
