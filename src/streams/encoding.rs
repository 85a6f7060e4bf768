//! An SSE output encoding for Leptos server functions.
//!
//! server_fn 0.8 ships JSON, URL and raw streaming encodings but none for server-sent events. This
//! module adds one through server_fn's own traits, so a stream is declared once:
//!
//! ```ignore
//! #[server(input = GetUrl, output = Sse, prefix = "/api/streams", endpoint = "jobs")]
//! pub async fn job_events(job: u64) -> Result<EventStream<Json<JobEvent>>, ServerFnError> { ... }
//! ```
//!
//! That declaration is the single source of the URL (`JobEvents::PATH`), the arguments (the
//! generated `JobEvents` struct, sent as the query string) and the item type (`JobEvent`). The
//! server side answers a plain `GET` with a standard `text/event-stream`, so EventSource, curl and
//! Node clients read it as they read any SSE endpoint; the hydrated app subscribes through
//! `use_event_stream`, which reconnects and resumes.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use leptos::server_fn::{
    codec::{Encoding, FromRes, IntoRes},
    error::{FromServerFnError, ServerFnErrorErr},
    response::ClientRes,
    ContentType,
};
use serde::de::DeserializeOwned;
use std::{fmt, marker::PhantomData, pin::Pin, time::Duration};

/// The `text/event-stream` output encoding.
pub struct Sse;

impl ContentType for Sse {
    const CONTENT_TYPE: &'static str = super::CONTENT_TYPE;
}

impl Encoding for Sse {
    const METHOD: http::Method = http::Method::GET;
}

type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, String>> + Send>>;

/// The output of a stream server function: SSE bytes on the wire, items of type `T` to the app.
pub struct EventStream<T> {
    bytes: ByteStream,
    /// The hub's heartbeat interval, announced in the response head when known.
    heartbeat: Option<Duration>,
    _item: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for EventStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream").finish_non_exhaustive()
    }
}

impl<T> EventStream<T> {
    /// Wraps SSE bytes (from the hub) as a typed stream.
    pub fn from_sse_bytes(bytes: impl Stream<Item = Bytes> + Send + 'static) -> Self {
        Self { bytes: Box::pin(bytes.map(Ok)), heartbeat: None, _item: PhantomData }
    }

    /// Announces the longest silence of this stream (`x-heartbeat-ms`) to the client.
    pub fn with_heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = Some(every);
        self
    }

    /// Wraps SSE chunks that may fail: a failure ends the response (and its connection).
    #[cfg(feature = "ssr")]
    pub fn from_sse_chunks(chunks: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static) -> Self {
        Self {
            bytes: Box::pin(chunks.map(|chunk| chunk.map_err(|err| err.to_string()))),
            heartbeat: None,
            _item: PhantomData,
        }
    }

    /// The raw SSE bytes.
    pub fn into_bytes(self) -> impl Stream<Item = Result<Bytes, String>> + Send {
        self.bytes
    }
}

/// How an event's `data` becomes an item of a stream.
pub trait StreamItem: Sized + 'static {
    fn decode(event_type: &str, data: &str) -> Result<Self, String>;
}

/// Items sent as JSON (what pulseboard's own producers publish).
#[derive(Debug, Clone, PartialEq)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> StreamItem for Json<T> {
    fn decode(_event_type: &str, data: &str) -> Result<Self, String> {
        serde_json::from_str(data).map(Json).map_err(|err| format!("bad JSON in event: {err}"))
    }
}

/// Items taken as they are: the event type and its text (for topics fed by outside producers).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RawEvent {
    pub event_type: String,
    pub data: String,
}

impl StreamItem for RawEvent {
    fn decode(event_type: &str, data: &str) -> Result<Self, String> {
        Ok(Self { event_type: event_type.to_string(), data: data.to_string() })
    }
}

#[cfg(feature = "ssr")]
impl<T, E> IntoRes<Sse, http::Response<axum::body::Body>, E> for EventStream<T>
where
    T: Send,
    E: FromServerFnError + Send + Sync,
{
    async fn into_res(self) -> Result<http::Response<axum::body::Body>, E> {
        let heartbeat = self.heartbeat;
        Ok(super::response::sse_response(self.bytes.map(|chunk| chunk.map_err(std::io::Error::other)), heartbeat))
    }
}

// The hydrated build never runs the server side of a server function; server_fn still asks for
// the impl, against its mock response type.
#[cfg(not(feature = "ssr"))]
impl<T, E> IntoRes<Sse, leptos::server_fn::response::BrowserMockRes, E> for EventStream<T>
where
    T: Send,
    E: FromServerFnError + Send + Sync,
{
    async fn into_res(self) -> Result<leptos::server_fn::response::BrowserMockRes, E> {
        use leptos::server_fn::response::TryRes;
        leptos::server_fn::response::BrowserMockRes::try_from_stream(
            Sse::CONTENT_TYPE,
            self.bytes.map(|chunk| chunk.map_err(Bytes::from)),
        )
    }
}

/// Calling a stream function directly from the browser yields the raw stream once (no resume);
/// pages use `use_event_stream` instead.
impl<T, E> FromRes<Sse, leptos::server_fn::response::browser::BrowserResponse, E> for EventStream<T>
where
    T: Send,
    E: FromServerFnError + Send + Sync,
{
    async fn from_res(res: leptos::server_fn::response::browser::BrowserResponse) -> Result<Self, E> {
        let status = ClientRes::<E>::status(&res);
        if status != 200 {
            let message = ClientRes::<E>::try_into_string(res).await.unwrap_or_default();
            return Err(E::from_server_fn_error(ServerFnErrorErr::Response(format!(
                "stream refused ({status}): {message}"
            ))));
        }
        let bytes = ClientRes::<E>::try_into_stream(res)?;
        Ok(Self {
            bytes: Box::pin(bytes.map(|chunk| chunk.map_err(|e| String::from_utf8_lossy(&e).into_owned()))),
            heartbeat: None,
            _item: PhantomData,
        })
    }
}
