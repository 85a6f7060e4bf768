//! A complete live view in one file: the code `docs/adding-a-live-view.md` walks through, built by
//! `cargo test --features ssr` (and checked by clippy) so the guide's snippets always compile. A
//! unit test in `src/guide_check.rs` holds every Rust block of the guide against this file.
//!
//! The view is a counter the server bumps every second: a stream server function, a producer
//! publishing to the hub, a snapshot for the first render, and a page that subscribes from the
//! snapshot's id. Run it as part of your own app by adding the route shown in `App` below.

use leptos::{prelude::*, server_fn::codec::GetUrl};
use pulseboard::{
    json_text::JsonText,
    request_error::RequestError,
    streams::{use_event_stream, EventStream, EventType, EventTypeConst, Json, Sse, StreamEvent, TopicConst},
};
use serde::{Deserialize, Serialize};

// --- 1. What travels: the item type and the topic ---------------------------------------------

/// One state of the counter, as JSON on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Count {
    pub value: u64,
}

/// The topic the producer publishes to, checked when the program compiles.
pub const COUNTER_TOPIC: TopicConst = TopicConst::new("example.counter");
pub const COUNT_EVENT: EventTypeConst = EventType::constant("count");

// --- 2. Declare the stream: one declaration gives the URL, the arguments and the item type ----

/// `GET /api/streams/counter`: every count, latest wins (a slow client skips to the newest).
#[server(input = GetUrl, output = Sse, prefix = "/api/streams", endpoint = "counter")]
pub async fn counter_events() -> Result<EventStream<Json<Count>>, RequestError> {
    use pulseboard::streams::{open_stream_with, Delivery};
    Ok(open_stream_with(vec![COUNTER_TOPIC.name()], Delivery::Latest)?)
}

// --- 3. Publish from server code -------------------------------------------------------------

/// The producer: bumps the counter every second until `shutdown`. Spawn it with the server's
/// `Shutdown::spawn` so it is awaited when the server stops.
#[cfg(feature = "ssr")]
pub async fn run_counter(hub: pulseboard::streams::Hub, shutdown: tokio_util::sync::CancellationToken) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
    for value in 0.. {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        let data = serde_json::json!({ "value": value }).to_string();
        if let Err(err) = hub.publish(&COUNTER_TOPIC.name(), &COUNT_EVENT.event_type(), &data).await {
            tracing::debug!(%err, "count not published");
        }
    }
}

// --- 4. The snapshot the page renders first, with the id its stream continues from -----------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterState {
    pub count: Option<Count>,
    /// The stream resumes right after this id: nothing published meanwhile is lost.
    pub as_of: String,
}

#[server(input = GetUrl, output = JsonText, prefix = "/api/example", endpoint = "counter")]
pub async fn counter_snapshot() -> Result<CounterState, RequestError> {
    let hub = expect_context::<pulseboard::streams::StreamContext>().hub;
    let (events, as_of) = hub.snapshot(&COUNTER_TOPIC.name(), 1).await;
    let count = events.last().and_then(|event| serde_json::from_str(&event.data()).ok());
    Ok(CounterState { count, as_of: as_of.to_string() })
}

// --- 5. The page: render the snapshot, then follow the stream ---------------------------------

#[component]
pub fn CounterPage() -> impl IntoView {
    let snapshot = Resource::new(|| (), |_| counter_snapshot());
    view! {
        <h1>"Counter"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || snapshot.get().map(|result| match result {
                Ok(first) => view! { <LiveCount first on_reset=Callback::new(move |_| snapshot.refetch())/> }.into_any(),
                Err(err) => view! { <p class="error" role="alert">{err.to_string()}</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn LiveCount(first: CounterState, on_reset: Callback<()>) -> impl IntoView {
    let value = RwSignal::new(first.count.map(|count| count.value));
    let connection = use_event_stream(CounterEvents {}, Some(first.as_of), move |event| match event {
        StreamEvent::Item { item: Json(count), .. } => value.set(Some(count.value)),
        // The stream could not resume from the snapshot's id: load a fresh snapshot.
        StreamEvent::Reset { .. } => on_reset.run(()),
        StreamEvent::Invalid { .. } => {}
    });
    view! {
        <p class="count">{move || value.get().map_or("—".to_string(), |v| v.to_string())}</p>
        <p class="hint">"Updates: " {move || connection.get().label()}</p>
    }
}

// --- 6. Route and link it ---------------------------------------------------------------------

#[component]
pub fn App() -> impl IntoView {
    use leptos_router::{
        components::{Route, Router, Routes, A},
        StaticSegment,
    };
    view! {
        <Router>
            <nav><A href="/counter">"Counter"</A></nav>
            <Routes fallback=|| "Not found">
                <Route path=StaticSegment("counter") view=CounterPage ssr=leptos_router::SsrMode::Async/>
            </Routes>
        </Router>
    }
}

fn main() {}
