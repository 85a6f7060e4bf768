//! Server functions of the Markets page: the board's snapshot and the quote stream.
//!
//! Both take the chosen symbols as `symbols`, in any of the forms a person or a client writes:
//! repeated (`?symbols=ACME&symbols=BOLT`, what the page's own form sends), once
//! (`?symbols=ACME`), or indexed (`?symbols[0]=ACME&symbols[1]=BOLT`, what server_fn's client
//! sends). A symbol the board does not know is refused with 400, naming it.

use super::model::{Quote, QuoteChange};
use crate::{
    json_text::JsonText,
    request_error::RequestError,
    streams::{EventStream, Json, Sse},
};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketView {
    /// Quotes of the chosen symbols (all when none were chosen).
    pub quotes: Vec<Quote>,
    /// Every symbol the board knows, for the picker.
    pub symbols: Vec<String>,
    pub as_of: String,
    /// Length of a trading session, seconds (`market-session-secs`): what "change" is since.
    pub session_secs: u64,
}

/// The board now. `GET /api/market/snapshot?symbols=ACME&symbols=BOLT`.
#[server(input = GetUrl, output = JsonText, prefix = "/api/market", endpoint = "snapshot")]
#[middleware(tower::util::MapRequestLayer::new(server::index_symbols))]
pub async fn market_snapshot(#[server(default)] symbols: Vec<String>) -> Result<MarketView, RequestError> {
    let state = expect_context::<crate::state::AppState>();
    let chosen = server::checked(&state, symbols).await?;
    let (quotes, all, as_of) = state.market.snapshot(&chosen).await;
    let session_secs = state.settings.market.session_secs;
    Ok(MarketView { quotes, symbols: all, as_of: as_of.to_string(), session_secs })
}

/// Changes of the chosen symbols' quotes (all when none), latest wins: a client that cannot keep
/// up gets each symbol's newest change, never a backlog. Each carries the figures whole and the
/// sparkline's newest point (see [`QuoteChange`]); the series itself comes with the snapshot.
/// `GET /api/streams/quotes?symbols=ACME`.
#[server(input = GetUrl, output = Sse, prefix = "/api/streams", endpoint = "quotes")]
#[middleware(tower::util::MapRequestLayer::new(server::index_symbols))]
pub async fn quote_events(
    #[server(default)] symbols: Vec<String>,
) -> Result<EventStream<Json<QuoteChange>>, RequestError> {
    use crate::{
        market::topics::quote_topic,
        streams::{open_stream_with, Delivery},
    };
    let state = expect_context::<crate::state::AppState>();
    let chosen = server::checked(&state, symbols).await?;
    let topics = chosen
        .iter()
        .map(|symbol| quote_topic(symbol).ok_or_else(|| RequestError::internal(format!("no topic for {symbol:?}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(open_stream_with(topics, Delivery::Latest)?)
}

#[cfg(feature = "ssr")]
mod server {
    use crate::{
        market::board::{valid_symbol, MAX_SYMBOL_LEN},
        request_error::RequestError,
        state::AppState,
    };
    use axum::body::Body;
    use http::{uri::PathAndQuery, Request, Uri};

    /// The symbols a request chose, checked: every one of them on the board (or configured for
    /// the simulated market, which may not have quoted yet right after start), or all when none,
    /// repeats dropped.
    pub async fn checked(state: &AppState, mut asked: Vec<String>) -> Result<Vec<String>, RequestError> {
        let (_, mut known, _) = state.market.snapshot(&[]).await;
        for symbol in &state.settings.market.symbols {
            if !known.contains(symbol) {
                known.push(symbol.clone());
            }
        }
        if asked.is_empty() {
            return Ok(known);
        }
        if let Some(problem) = symbol_problem(&asked, &known) {
            return Err(RequestError::bad_request(problem));
        }
        let mut seen = std::collections::HashSet::new();
        asked.retain(|symbol| seen.insert(symbol.clone()));
        Ok(asked)
    }

    /// Which of the asked symbols are no good, as a sentence naming them (`None`: all are fine).
    /// `known` is what the board can quote.
    pub fn symbol_problem(asked: &[String], known: &[String]) -> Option<String> {
        let quoted = |items: &[&String]| items.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
        let rule = format!("symbols are 1 to {MAX_SYMBOL_LEN} characters of A-Z, 0-9 and '.'");
        let malformed: Vec<&String> = asked.iter().filter(|s| !valid_symbol(s)).collect();
        match malformed.as_slice() {
            [] => {}
            [one] => return Some(format!("{one:?} is not a symbol: {rule}")),
            many => return Some(format!("{} are not symbols: {rule}", quoted(many))),
        }
        let unknown: Vec<&String> = asked.iter().filter(|s| !known.contains(s)).collect();
        let unknown = match unknown.as_slice() {
            [] => return None,
            [one] => format!("unknown symbol {one:?}"),
            many => format!("unknown symbols {}", quoted(many)),
        };
        Some(format!("{unknown}; the board quotes {}", known.join(", ")))
    }

    /// Rewrites `symbols=A&symbols=B` (or a single `symbols=A`) into `symbols[0]=A&symbols[1]=B`
    /// before server_fn decodes the query.
    ///
    /// server_fn decodes `GetUrl` arguments with serde_qs 0.15, which reads a list only in its
    /// indexed (`symbols[0]=`) or bracket (`symbols[]=`) form: a single `symbols=A` is a string
    /// where a list is expected ("invalid type: string"), and a repeated key is refused as
    /// "multiple values for one key" while the query is parsed, before any argument type could
    /// accept it (so a lenient argument type cannot help). The indexed form the hydrated client
    /// sends passes through unchanged.
    pub fn index_symbols(mut request: Request<Body>) -> Request<Body> {
        if let Some(query) = request.uri().query().and_then(indexed_query) {
            let path = request.uri().path();
            let mut parts = request.uri().clone().into_parts();
            if let Ok(path_and_query) = PathAndQuery::try_from(format!("{path}?{query}")) {
                parts.path_and_query = Some(path_and_query);
                if let Ok(uri) = Uri::from_parts(parts) {
                    *request.uri_mut() = uri;
                }
            }
        }
        request
    }

    /// The query with every `symbols` entry numbered in order, if it has a plain `symbols` key.
    pub fn indexed_query(query: &str) -> Option<String> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        if !pairs.iter().any(|(key, _)| key == "symbols") {
            return None;
        }
        let is_entry = |key: &str| {
            key == "symbols"
                || key
                    .strip_prefix("symbols[")
                    .and_then(|rest| rest.strip_suffix(']'))
                    .is_some_and(|index| index.bytes().all(|b| b.is_ascii_digit()))
        };
        let mut out = form_urlencoded::Serializer::new(String::new());
        let mut index = 0;
        for (key, value) in &pairs {
            if is_entry(key) {
                out.append_pair(&format!("symbols[{index}]"), value);
                index += 1;
            } else {
                out.append_pair(key, value);
            }
        }
        Some(out.finish())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Args {
            #[serde(default)]
            symbols: Vec<String>,
            last_event_id: Option<String>,
        }

        /// Decodes as server_fn's `GetUrl` does, after the rewrite.
        fn decode(query: &str) -> Result<Args, serde_qs::Error> {
            let query = indexed_query(query).unwrap_or_else(|| query.to_string());
            serde_qs::Config::new(5, false).deserialize_str(&query)
        }

        #[test]
        fn serde_qs_alone_refuses_the_plain_forms() {
            let qs = serde_qs::Config::new(5, false);
            let repeated = qs.deserialize_str::<Args>("symbols=ACME&symbols=BOLT").unwrap_err().to_string();
            assert!(repeated.contains("Multiple values for one key"), "{repeated}");
            let single = qs.deserialize_str::<Args>("symbols=ACME").unwrap_err().to_string();
            assert!(single.contains("invalid type"), "{single}");
        }

        #[test]
        fn every_form_of_the_list_decodes() {
            let both = vec!["ACME".to_string(), "BOLT".to_string()];
            for query in [
                "symbols=ACME&symbols=BOLT",
                "symbols%5B0%5D=ACME&symbols%5B1%5D=BOLT",
                "symbols[0]=ACME&symbols[1]=BOLT",
                "symbols[]=ACME&symbols[]=BOLT",
                "symbols=ACME&symbols%5B1%5D=BOLT",
            ] {
                assert_eq!(decode(query).unwrap().symbols, both, "{query}");
            }
            assert_eq!(decode("symbols=ACME").unwrap().symbols, ["ACME"]);
            assert_eq!(decode("").unwrap().symbols, Vec::<String>::new());
            // Other arguments pass through; only a query with a plain `symbols` key is rewritten.
            let args = decode("last_event_id=7-3&symbols=ZED.X").unwrap();
            assert_eq!((args.symbols, args.last_event_id.as_deref()), (vec!["ZED.X".to_string()], Some("7-3")));
            assert_eq!(indexed_query("symbols%5B0%5D=ACME"), None);
        }

        fn list(items: &[&str]) -> Vec<String> {
            items.iter().map(|s| s.to_string()).collect()
        }

        #[test]
        fn a_bad_symbol_is_named() {
            let known = list(&["ACME", "BOLT"]);
            assert_eq!(symbol_problem(&list(&["ACME"]), &known), None);
            assert_eq!(
                symbol_problem(&list(&["ACME", "NOPE"]), &known).unwrap(),
                r#"unknown symbol "NOPE"; the board quotes ACME, BOLT"#
            );
            assert_eq!(
                symbol_problem(&list(&["NOPE", "ZZZ"]), &known).unwrap(),
                r#"unknown symbols "NOPE", "ZZZ"; the board quotes ACME, BOLT"#
            );
            assert_eq!(
                symbol_problem(&list(&["no way", "ACME"]), &known).unwrap(),
                r#""no way" is not a symbol: symbols are 1 to 12 characters of A-Z, 0-9 and '.'"#
            );
        }
    }
}
