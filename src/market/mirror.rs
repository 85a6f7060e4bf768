//! The board an instance shows when the market runs over Redis (server only): fed from the hub,
//! never from a simulation of its own, so every instance's Markets page shows the same prices
//! whichever instance runs the feed.
//!
//! How it stays the feed's board: it starts from the quotes the hub's history holds ([`restore`]:
//! each symbol's kept `quote` events folded oldest first, as the page folds them) and the id that
//! history is current as of, then follows the symbols' quote topics from that id with every-event
//! delivery, merging each change ([`Board::merge`]). Every event once and in order is the fold the
//! feed's own board is, so two instances holding the same id hold the same board. After a `reset`
//! (fell behind the history, Redis lost it, no quote yet) the board is read back again and the
//! stream goes on; a lost stream starts over from [`restore`].
//! The snapshot's id is the id of the last change merged: a page's stream continues exactly after
//! what its snapshot holds.

use super::{
    board::{Board, Session},
    model::{Quote, QuoteChange},
    topics::quote_topic,
};
use crate::streams::hub::{Delivery, EventId, Hub, HubError, SubscribeRequest};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use parking_lot::Mutex;
use std::{convert::Infallible, time::Duration};
use tokio_util::sync::CancellationToken;

/// The shown board and the id it is current as of.
pub struct Mirror {
    inner: Mutex<(Board, Option<EventId>)>,
    session: Session,
}

impl Mirror {
    pub fn new(session: Session) -> Self {
        Self { inner: Mutex::new((Board::new(session), None)), session }
    }

    /// Quotes of `symbols` (all when empty), every symbol, and the id they are current as of.
    /// Until the first restore (Redis not reached yet) that is `0-0`, an id no data set makes: a
    /// page's stream from it starts with a `reset`, and the page asks again.
    pub fn snapshot(&self, symbols: &[String]) -> (Vec<Quote>, Vec<String>, EventId) {
        let inner = self.inner.lock();
        let all = inner.0.symbols();
        let wanted: Vec<&String> = if symbols.is_empty() { all.iter().collect() } else { symbols.iter().collect() };
        let quotes = wanted.into_iter().filter_map(|s| inner.0.quote(s)).collect();
        (quotes, all, inner.1.unwrap_or(EventId::Stream { ms: 0, seq: 0 }))
    }

    fn replace(&self, quotes: Vec<Quote>, as_of: EventId) {
        let mut board = Board::new(self.session);
        for quote in quotes {
            board.restore(quote);
        }
        *self.inner.lock() = (board, Some(as_of));
    }

    fn merge(&self, change: &QuoteChange, id: EventId) {
        let mut inner = self.inner.lock();
        inner.0.merge(change);
        inner.1 = Some(id);
    }
}

/// Each symbol's whole state as the hub's history holds it (the newest `limit` quote events of
/// its topic, folded oldest first; none kept: left out), and an id that is not after any event
/// folded in, for a stream to continue from. Fails when the hub cannot be reached (the hub's
/// snapshot then answers empty, which must not pass for "no quotes").
pub async fn restore(hub: &Hub, symbols: &[String], limit: usize) -> Result<(Vec<Quote>, EventId), HubError> {
    hub.check_ready()?;
    let mut quotes = Vec::new();
    let mut as_of: Option<EventId> = None;
    for symbol in symbols {
        let Some(topic) = quote_topic(symbol) else { continue };
        let (events, at) = hub.snapshot(&topic, limit).await;
        // Ids grow: the first topic's is the lowest, so nothing any snapshot missed is before it.
        as_of = Some(as_of.map_or(at, |seen| seen.min(at)));
        let changes = events.iter().filter_map(|event| serde_json::from_str::<QuoteChange>(&event.data()).ok());
        let mut board = Board::default();
        for change in changes {
            board.merge(&change);
        }
        quotes.extend(board.quote(symbol));
    }
    hub.check_ready()?;
    Ok((quotes, as_of.unwrap_or_else(|| hub.current_id())))
}

/// A Redis stream id (`<ms>-<seq>`), as the mirror reads it from an event's `id:`.
fn stream_id(text: &str) -> Option<EventId> {
    let (ms, seq) = text.split_once('-')?;
    Some(EventId::Stream { ms: ms.parse().ok()?, seq: seq.parse().ok()? })
}

/// Keeps `mirror` on the hub's quotes of `symbols` until `shutdown`.
pub async fn run(
    mirror: std::sync::Arc<Mirror>,
    hub: Hub,
    symbols: Vec<String>,
    limit: usize,
    shutdown: CancellationToken,
) {
    let topics: Vec<_> = symbols.iter().filter_map(|s| quote_topic(s)).collect();
    if topics.is_empty() {
        return; // no symbols: nothing to show
    }
    let mut backoff = Duration::from_millis(100);
    loop {
        let restored = match restore(&hub, &symbols, limit).await {
            Ok(restored) => restored,
            Err(HubError::ShuttingDown) => return,
            Err(err) => {
                tracing::debug!(%err, "market board not restored yet");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.cancelled() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        let (quotes, as_of) = restored;
        mirror.replace(quotes, as_of);
        let request = SubscribeRequest {
            topics: topics.clone(),
            last_event_id: Some(as_of.to_string()),
            delivery: Delivery::Every,
        };
        let stream = match hub.subscribe(request) {
            Ok(stream) => stream,
            Err(HubError::ShuttingDown) => return,
            Err(err) => {
                tracing::debug!(%err, "market board: quotes not followed yet");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => continue,
                    _ = shutdown.cancelled() => return,
                }
            }
        };
        backoff = Duration::from_millis(100);
        let mut events = Box::pin(stream.map(Ok::<_, Infallible>).eventsource());
        loop {
            let event = tokio::select! {
                event = events.next() => event,
                _ = shutdown.cancelled() => return,
            };
            let Some(Ok(event)) = event else { break };
            match event.event.as_str() {
                // Could not continue exactly (fell behind the history, an id Redis lost, or no
                // quote yet): the board is read back again, and the stream goes on after the
                // reset's id (as a page refetches its snapshot).
                "reset" => match restore(&hub, &symbols, limit).await {
                    Ok((quotes, as_of)) => mirror.replace(quotes, stream_id(&event.id).unwrap_or(as_of)),
                    Err(_) => break,
                },
                "quote" => {
                    let (Some(id), Ok(change)) =
                        (stream_id(&event.id), serde_json::from_str::<QuoteChange>(&event.data))
                    else {
                        continue;
                    };
                    mirror.merge(&change, id);
                }
                _ => {}
            }
        }
        // The stream ended (the hub lost Redis, or shuts down): start over, not in a busy loop.
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_ids_are_read_back_in_order() {
        assert_eq!(stream_id("1764633600000-7"), Some(EventId::Stream { ms: 1_764_633_600_000, seq: 7 }));
        assert!(stream_id("5-9") < stream_id("6-0"));
        for bad in ["", "5", "a-1", "5-x"] {
            assert_eq!(stream_id(bad), None, "{bad}");
        }
    }
}
