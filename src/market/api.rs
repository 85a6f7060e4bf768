//! Server functions of the Markets page: the board's snapshot and the quote stream.

use super::model::Quote;
use crate::streams::{EventStream, Json, Sse};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketView {
    /// Quotes of the chosen symbols (all when none were chosen).
    pub quotes: Vec<Quote>,
    /// Every symbol the board knows, for the picker.
    pub symbols: Vec<String>,
    pub as_of: String,
}

/// The board now. `GET /api/market/snapshot?symbols[0]=ACME&symbols[1]=BOLT`.
#[server(input = GetUrl, prefix = "/api/market", endpoint = "snapshot")]
pub async fn market_snapshot(#[server(default)] symbols: Vec<String>) -> Result<MarketView, ServerFnError> {
    let state = expect_context::<crate::state::AppState>();
    let (quotes, all, as_of) = state.market.snapshot(&symbols).await;
    Ok(MarketView { quotes, symbols: all, as_of: as_of.to_string() })
}

/// Quotes of the chosen symbols (all when none), latest wins: a client that cannot keep up gets
/// each symbol's newest quote, never a backlog. `GET /api/streams/quotes?symbols[0]=ACME`.
#[server(input = GetUrl, output = Sse, prefix = "/api/streams", endpoint = "quotes")]
pub async fn quote_events(#[server(default)] symbols: Vec<String>) -> Result<EventStream<Json<Quote>>, ServerFnError> {
    use crate::{
        market::feed::quote_topic,
        streams::{
            open_stream_with, refuse, ApiError,
            hub::Delivery,
        },
    };
    let state = expect_context::<crate::state::AppState>();
    let symbols = if symbols.is_empty() { state.market.snapshot(&[]).await.1 } else { symbols };
    let mut topics = Vec::with_capacity(symbols.len());
    for symbol in &symbols {
        let topic = quote_topic(symbol).filter(|_| crate::market::board::valid_symbol(symbol)).ok_or_else(|| {
            refuse(ApiError::UnknownParameter(format!("symbols={symbol}"), "symbols of A-Z, 0-9 and '.'"))
        })?;
        topics.push(topic);
    }
    open_stream_with(topics, Delivery::Latest).map_err(refuse)
}
