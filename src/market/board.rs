//! The server's per-symbol state: last, the session's open, high, low and volume, a one-minute
//! sparkline with numbered points, and the checks every tick passes before it may touch it
//! (server only). A tick yields the change it made ([`QuoteChange`]), which is what is published;
//! the whole state with its sparkline is built only for a snapshot.

use super::model::{Merged, Quote, QuoteChange, Tick, SPARK_POINTS};
use std::collections::{BTreeMap, VecDeque};

pub const MAX_SYMBOL_LEN: usize = 12;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TickError {
    #[error("tick is not valid JSON of the form {{\"symbol\",\"price\",\"volume\",\"timestamp\"}}: {0}")]
    Json(String),
    #[error("symbol {0:?} must be 1 to 12 characters of A-Z, 0-9 and '.'")]
    Symbol(String),
    #[error("price {0} must be a finite number above 0")]
    Price(f64),
    #[error("timestamp {0} is not milliseconds since 1970 within a day of now")]
    Timestamp(i64),
    /// Over Redis every instance shows the configured symbols only.
    #[error(
        "symbol {0:?} is not one of market-symbols ({1}): with several instances over Redis, outside feeds quote those"
    )]
    Unlisted(String, String),
}

/// Parses and checks a tick from an outside feed.
pub fn parse_tick(text: &str, now_ms: i64) -> Result<Tick, TickError> {
    let tick: Tick = serde_json::from_str(text).map_err(|err| TickError::Json(err.to_string()))?;
    validate(&tick, now_ms)?;
    Ok(tick)
}

/// Most symbols the simulated market may have.
pub const MAX_SYMBOLS: usize = 32;

/// What is wrong with a symbol list for the simulated market, one message per problem (none
/// when it is fine). The server's config checks with this, `--symbols` of the benchmark included.
pub fn symbol_list_problems(symbols: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    if symbols.len() > MAX_SYMBOLS {
        problems.push(format!("at most {MAX_SYMBOLS} symbols"));
    }
    for symbol in symbols.iter().filter(|symbol| !valid_symbol(symbol)) {
        problems.push(format!("{symbol:?} is not 1 to {MAX_SYMBOL_LEN} characters of A-Z, 0-9 and '.'"));
    }
    problems
}

/// 1 to 12 characters of A-Z, 0-9 and '.'.
pub fn valid_symbol(symbol: &str) -> bool {
    !symbol.is_empty()
        && symbol.len() <= MAX_SYMBOL_LEN
        && symbol.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'.')
}

pub fn validate(tick: &Tick, now_ms: i64) -> Result<(), TickError> {
    if !valid_symbol(&tick.symbol) {
        return Err(TickError::Symbol(tick.symbol.clone()));
    }
    if !(tick.price.is_finite() && tick.price > 0.0) {
        return Err(TickError::Price(tick.price));
    }
    if (tick.timestamp - now_ms).abs() > 86_400_000 {
        return Err(TickError::Timestamp(tick.timestamp));
    }
    Ok(())
}

struct SymbolState {
    quote: Quote,
    spark: VecDeque<f64>,
    /// Second (since the epoch) of the newest sparkline point.
    spark_second: i64,
    /// The session the quote's open, high, low and volume belong to.
    session: i64,
}

/// All symbols' quotes.
pub struct Board {
    symbols: BTreeMap<String, SymbolState>,
    session: Session,
}

impl Default for Board {
    fn default() -> Self {
        Self::new(Session::default())
    }
}

impl Board {
    pub fn new(session: Session) -> Self {
        Self { symbols: BTreeMap::new(), session }
    }

    pub fn session(&self) -> Session {
        self.session
    }

    /// Applies a checked tick; returns what it changed (the event the stream sends).
    pub fn apply(&mut self, tick: &Tick) -> QuoteChange {
        let second = tick.timestamp.div_euclid(1000);
        let session = self.session.number(tick.timestamp);
        let state = self.symbols.entry(tick.symbol.clone()).or_insert_with(|| SymbolState {
            quote: Quote {
                symbol: tick.symbol.clone(),
                last: tick.price,
                open: tick.price,
                high: tick.price,
                low: tick.price,
                volume: 0,
                ts_ms: tick.timestamp,
                spark: Vec::new(),
                point: 0,
            },
            spark: VecDeque::with_capacity(SPARK_POINTS),
            spark_second: i64::MIN,
            session,
        });
        let quote = &mut state.quote;
        // A new session opens at its first trade (a tick of an earlier session, from an outside
        // feed, counts in the current one).
        if session > state.session {
            state.session = session;
            (quote.open, quote.high, quote.low, quote.volume) = (tick.price, tick.price, tick.price, 0);
        }
        quote.last = tick.price;
        quote.high = quote.high.max(tick.price);
        quote.low = quote.low.min(tick.price);
        quote.volume = quote.volume.saturating_add(tick.volume);
        // The newest tick's time: a late tick from an outside feed does not turn the clock back.
        quote.ts_ms = quote.ts_ms.max(tick.timestamp);
        // One point per second: a new second adds a point, later ticks in it move that point.
        if second > state.spark_second || state.spark.is_empty() {
            if state.spark.len() == SPARK_POINTS {
                state.spark.pop_front();
            }
            state.spark.push_back(tick.price);
            state.spark_second = second;
            quote.point += 1;
        } else if let Some(point) = state.spark.back_mut() {
            *point = tick.price;
        }
        quote.as_change()
    }

    /// A symbol's whole state, sparkline included (the snapshot's).
    pub fn quote(&self, symbol: &str) -> Option<Quote> {
        self.symbols.get(symbol).map(|s| Quote { spark: s.spark.iter().copied().collect(), ..s.quote.clone() })
    }

    pub fn symbols(&self) -> Vec<String> {
        self.symbols.keys().cloned().collect()
    }

    /// Sets a symbol's whole state (a snapshot's quote, sparkline included): ticks applied after
    /// it continue its session, volume and point numbers.
    pub fn restore(&mut self, mut quote: Quote) {
        let spark: VecDeque<f64> = quote.spark.drain(..).rev().take(SPARK_POINTS).rev().collect();
        let state = SymbolState {
            spark_second: quote.ts_ms.div_euclid(1000),
            session: self.session.number(quote.ts_ms),
            spark,
            quote,
        };
        self.symbols.insert(state.quote.symbol.clone(), state);
    }

    /// Merges a change another board made (as a page merges it, [`Quote::merge`]): how an
    /// instance that does not run the feed keeps the board the feed's instance publishes.
    pub fn merge(&mut self, change: &QuoteChange) -> Merged {
        let mut quote = self.quote(&change.symbol).unwrap_or_else(|| Quote {
            symbol: change.symbol.clone(),
            last: change.last,
            open: change.open,
            high: change.high,
            low: change.low,
            volume: change.volume,
            ts_ms: change.ts_ms,
            spark: Vec::new(),
            point: 0,
        });
        let merged = quote.merge(change);
        if merged != Merged::Stale {
            self.restore(quote);
        }
        merged
    }
}

/// The trading session's schedule: sessions of a fixed length, aligned to the Unix epoch (one of
/// 3600 s opens on every hour, UTC). Each opens at its first trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub length_ms: i64,
}

impl Default for Session {
    fn default() -> Self {
        Self::from_secs(3600)
    }
}

impl Session {
    pub fn from_secs(secs: u64) -> Self {
        Self { length_ms: (secs.max(1) as i64).saturating_mul(1000) }
    }

    /// Which session `ts_ms` falls in.
    pub fn number(self, ts_ms: i64) -> i64 {
        ts_ms.div_euclid(self.length_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_763_800_000_000;

    #[test]
    fn symbol_lists_are_checked_for_length_and_each_symbol() {
        let ok: Vec<String> = ["ACME", "BRK.B", "X1"].map(String::from).into();
        assert!(symbol_list_problems(&ok).is_empty());
        let bad: Vec<String> = ["acme", "", "TOOLONGSYMBOLX", "OK"].map(String::from).into();
        assert_eq!(
            symbol_list_problems(&bad),
            [
                r#""acme" is not 1 to 12 characters of A-Z, 0-9 and '.'"#,
                r#""" is not 1 to 12 characters of A-Z, 0-9 and '.'"#,
                r#""TOOLONGSYMBOLX" is not 1 to 12 characters of A-Z, 0-9 and '.'"#,
            ]
        );
        let many: Vec<String> = (0..=MAX_SYMBOLS).map(|n| format!("S{n}")).collect();
        assert_eq!(symbol_list_problems(&many), ["at most 32 symbols"]);
    }

    fn tick(symbol: &str, price: f64, volume: u64, timestamp: i64) -> Tick {
        Tick { symbol: symbol.into(), price, volume, timestamp }
    }

    #[test]
    fn quote_tracks_open_high_low_volume_and_change() {
        let mut board = Board::default();
        board.apply(&tick("ACME", 100.0, 10, NOW));
        board.apply(&tick("ACME", 104.0, 5, NOW + 10));
        board.apply(&tick("ACME", 98.0, 1, NOW + 20));
        let q = board.quote("ACME").unwrap();
        assert_eq!((q.open, q.high, q.low, q.last, q.volume), (100.0, 104.0, 98.0, 98.0, 16));
        assert!((q.change() + 2.0).abs() < 1e-12);
        assert!((q.change_pct() + 2.0).abs() < 1e-12);
    }

    #[test]
    fn sparkline_keeps_one_point_per_second_for_a_minute() {
        let mut board = Board::default();
        for s in 0..100 {
            board.apply(&tick("X", 1.0 + s as f64, 1, NOW + s * 1000));
            board.apply(&tick("X", 1.5 + s as f64, 1, NOW + s * 1000 + 500));
        }
        let q = board.quote("X").unwrap();
        assert_eq!(q.spark.len(), SPARK_POINTS);
        assert_eq!(q.spark.first(), Some(&41.5));
        assert_eq!(q.spark.last(), Some(&100.5));
        assert_eq!(q.point, 100, "one numbered point per second");
    }

    #[test]
    fn changes_merged_on_the_snapshot_give_the_board_s_own_state() {
        let mut board = Board::default();
        board.apply(&tick("X", 10.0, 1, NOW));
        let mut page = board.quote("X").unwrap();
        for n in 1..200i64 {
            let change = board.apply(&tick("X", 10.0 + (n % 7) as f64, 2, NOW + n * 400));
            page.merge(&change);
        }
        assert_eq!(page, board.quote("X").unwrap());
    }

    #[test]
    fn a_board_fed_with_another_board_s_changes_holds_the_same_state() {
        let mut feed = Board::default();
        let mut mirror = Board::default();
        for n in 0..300i64 {
            let symbol = if n % 3 == 0 { "X" } else { "Y" };
            let change = feed.apply(&tick(symbol, 10.0 + (n % 11) as f64, 1 + n as u64, NOW + n * 300));
            mirror.merge(&change);
        }
        for symbol in ["X", "Y"] {
            assert_eq!(mirror.quote(symbol), feed.quote(symbol), "{symbol}");
        }
        // A change older than what the mirror holds is ignored.
        let old = QuoteChange { point: 1, ..feed.quote("X").unwrap().as_change() };
        assert_eq!(mirror.merge(&old), Merged::Stale);
        assert_eq!(mirror.quote("X"), feed.quote("X"));
    }

    #[test]
    fn ticks_after_a_restore_continue_the_restored_state() {
        let mut first = Board::default();
        for n in 0..90i64 {
            first.apply(&tick("X", 50.0 + n as f64, 10, NOW + n * 1000));
        }
        let before = first.quote("X").unwrap();
        let mut next = Board::default();
        next.restore(before.clone());
        assert_eq!(next.quote("X").unwrap(), before);
        let change = next.apply(&tick("X", 139.5, 10, NOW + 90_000));
        // The same session's open, volume and point numbers go on; the sparkline moves on by one.
        assert_eq!((change.open, change.volume, change.point), (before.open, before.volume + 10, before.point + 1));
        let after = next.quote("X").unwrap();
        assert_eq!(after.spark.len(), SPARK_POINTS);
        assert_eq!(after.spark[..SPARK_POINTS - 1], before.spark[1..]);
    }

    #[test]
    fn a_new_session_opens_at_its_first_trade() {
        let session = Session::from_secs(60);
        let mut board = Board::new(session);
        let start = session.number(NOW) * 60_000;
        board.apply(&tick("X", 10.0, 5, start + 1_000));
        board.apply(&tick("X", 12.0, 5, start + 59_999));
        let q = board.quote("X").unwrap();
        assert_eq!((q.open, q.high, q.low, q.volume), (10.0, 12.0, 10.0, 10));
        let change = board.apply(&tick("X", 11.0, 3, start + 60_000));
        assert_eq!((change.open, change.high, change.low, change.volume), (11.0, 11.0, 11.0, 3));
        // A late tick of the closed session counts in the open one; the open stays.
        let late = board.apply(&tick("X", 9.0, 1, start + 30_000));
        assert_eq!((late.open, late.low, late.volume), (11.0, 9.0, 4));
        assert_eq!(board.quote("X").unwrap().spark.len(), 3, "the sparkline runs across sessions");
    }

    #[test]
    fn malformed_ticks_are_refused_with_the_reason() {
        assert!(matches!(parse_tick("{", NOW), Err(TickError::Json(_))));
        assert!(matches!(
            parse_tick(r#"{"symbol":"A","price":1,"timestamp":1,"extra":1}"#, NOW),
            Err(TickError::Json(_))
        ));
        let cases = [
            (r#"{"symbol":"acme","price":1,"timestamp":1763800000000}"#, "symbol"),
            (r#"{"symbol":"TOOLONGSYMBOLX","price":1,"timestamp":1763800000000}"#, "symbol"),
            (r#"{"symbol":"A","price":-1,"timestamp":1763800000000}"#, "price"),
            (r#"{"symbol":"A","price":0,"timestamp":1763800000000}"#, "price"),
            (r#"{"symbol":"A","price":1,"timestamp":5}"#, "timestamp"),
        ];
        for (text, what) in cases {
            let message = parse_tick(text, NOW).unwrap_err().to_string();
            assert!(message.contains(what), "{text}: {message}");
        }
        let ok = parse_tick(r#"{"symbol":"BRK.B","price":412.5,"volume":3,"timestamp":1763800000000}"#, NOW).unwrap();
        assert_eq!(ok.volume, 3);
    }
}
