//! The JSON the benchmark reads from pulseboard's public HTTP API (`GET /api/market/snapshot`, the
//! `quote` events of `GET /api/streams/quotes`, each the change one tick made: the figures and the
//! number of the sparkline's newest point, whose price is `last`): a client's own view of the
//! wire, written here rather than borrowed from the server's types, as any outside client would. Every field a quote
//! carries is read, so a live subscriber pays the parse a real client pays, and a renamed or
//! missing field makes the quote count as bad instead of passing unnoticed. Fields the benchmark
//! never looks at (`quotes` and `as_of` of the snapshot) are skipped.

use serde::Deserialize;

/// One `quote` event of `GET /api/streams/quotes`: a symbol's figures after its newest tick.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct Quote {
    pub symbol: String,
    pub last: f64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    /// Traded volume of the session: only grows within one (and `ts_ms` grows across them).
    pub volume: u64,
    /// Milliseconds since the Unix epoch of the newest tick.
    pub ts_ms: i64,
    /// Number of the sparkline's newest point (its price is `last`).
    pub point: u64,
}

/// `GET /api/market/snapshot`, reduced to what the benchmark needs: every symbol the market has.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MarketSnapshot {
    pub symbols: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quote as the server sends it (field order and number formats of serde_json).
    const QUOTE: &str = r#"{"symbol":"BRK.B","last":101.25,"open":100.0,"high":102.5,"low":99.75,
        "volume":1234,"ts_ms":1763800000123,"point":17}"#;

    #[test]
    fn a_quote_of_the_contract_is_read_whole() {
        let quote: Quote = serde_json::from_str(QUOTE).unwrap();
        assert_eq!(
            quote,
            Quote {
                symbol: "BRK.B".into(),
                last: 101.25,
                open: 100.0,
                high: 102.5,
                low: 99.75,
                volume: 1234,
                ts_ms: 1_763_800_000_123,
                point: 17,
            }
        );
    }

    #[test]
    fn a_quote_missing_a_field_is_refused() {
        let without_volume = QUOTE.replace(r#""volume":1234,"#, "");
        assert!(serde_json::from_str::<Quote>(&without_volume)
            .unwrap_err()
            .to_string()
            .contains("missing field `volume`"));
        let text_volume = QUOTE.replace("1234", r#""1234""#);
        assert!(serde_json::from_str::<Quote>(&text_volume).is_err_and(|e| e.is_data()));
    }

    #[test]
    fn the_snapshot_gives_its_symbols_and_skips_the_rest() {
        let body = format!(r#"{{"quotes":[{QUOTE}],"symbols":["ACME","BRK.B"],"as_of":"12:00:00"}}"#);
        let snapshot: MarketSnapshot = serde_json::from_str(&body).unwrap();
        assert_eq!(snapshot.symbols, ["ACME", "BRK.B"]);
        let without_symbols = serde_json::from_str::<MarketSnapshot>(r#"{"quotes":[]}"#).unwrap_err();
        assert!(without_symbols.to_string().contains("missing field `symbols`"));
    }
}
