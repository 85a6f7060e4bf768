//! The fuzz targets: each takes arbitrary bytes and checks a parser or encoder of the server
//! against the rules it documents. A target never returns an error; a broken rule panics.
//!
//! One source, two engines: `cargo fuzz run <target>` (libFuzzer, coverage-guided, nightly; the
//! `fuzz_targets/*.rs` binaries) and `tests/fuzz.rs` (a stable property-test driver that runs
//! every target over generated and mutated inputs in `cargo test`), so what CI runs and what a
//! long fuzzing session runs are the same checks.

use futures::StreamExt;
use pulseboard::{
    jobs::{builtin::JobRegistry, confine, job::JobEnv},
    market::board::{parse_tick, valid_symbol},
    server::direct::{
        check::{check_head, Check, MAX_REQUEST_HEAD_BYTES},
        head::{parse_head, sniff, Head, Sniff},
    },
    streams::{
        hub::EventId,
        names::{EventType, TopicName, MAX_NAME_LEN, RESET_EVENT},
        wire,
    },
};
use std::{path::PathBuf, sync::OnceLock};

/// A target: arbitrary bytes in, a panic when a rule breaks.
pub type Target = fn(&[u8]);

/// The targets by name, for drivers that run them all.
pub const ALL: &[(&str, Target)] = &[
    ("sse_encoding", sse_encoding),
    ("event_id", event_id),
    ("names", names),
    ("request_head", request_head),
    ("tick", tick),
    ("job_params", job_params),
];

/// Splits fuzz input into a few text fields at 0xFF bytes (never valid UTF-8, so every field is
/// free to hold anything else).
fn fields(data: &[u8], n: usize) -> Vec<String> {
    let mut parts: Vec<String> =
        data.splitn(n, |b| *b == 0xFF).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
    parts.resize(n, String::new());
    parts
}

/// What an SSE client must see for `data`: lines split at CRLF, CR and LF, joined with LF.
fn as_client_sees(data: &str) -> String {
    data.replace("\r\n", "\n").replace('\r', "\n")
}

/// SSE encoder round trip: any id the hub makes, any valid event type and ANY data (line
/// breaks, NUL, `data:`-looking text) come back out of a standard SSE parser unchanged, as one
/// event, however the bytes are split into chunks.
pub fn sse_encoding(data: &[u8]) {
    let [id_seed, event_type, payload, split] = <[String; 4]>::try_from(fields(data, 4)).unwrap();
    let seed = id_seed.as_bytes();
    let epoch = seed.iter().take(4).fold(0u32, |acc, b| acc.rotate_left(8) ^ u32::from(*b));
    let seq = seed.iter().skip(4).fold(0u64, |acc, b| acc.wrapping_mul(31).wrapping_add(u64::from(*b)));
    // Either backend's form: the in-process `<epoch>-<seq>` or a Redis stream id `<ms>-<seq>`.
    let id = if seed.first().is_some_and(|b| b & 1 == 1) {
        EventId::Stream { ms: u64::from(epoch), seq }
    } else {
        EventId::Run { epoch, seq }
    }
    .to_string();
    let event_type = EventType::new(&event_type).map(|t| t.as_str().to_string()).unwrap_or_else(|_| "message".into());
    let frame = wire::encode_event(&id, &event_type, &payload);

    let at = split.len() % (frame.len() + 1);
    let chunks = vec![Ok::<_, std::convert::Infallible>(frame.slice(..at)), Ok(frame.slice(at..))];
    let events: Vec<_> = futures::executor::block_on(
        eventsource_stream::EventStream::new(futures::stream::iter(chunks)).collect::<Vec<_>>(),
    );
    assert_eq!(events.len(), 1, "one frame is one event: {frame:?}");
    let event = events.into_iter().next().unwrap().expect("the frame parses");
    assert_eq!(event.id, id);
    assert_eq!(event.event, event_type);
    assert_eq!(event.data, as_client_sees(&payload), "data survives: {frame:?}");
    assert_eq!(wire::frame_data(&frame), as_client_sees(&payload), "the server's own reader agrees");
}

/// Event ids: parsing never panics, and what parses prints back to an id that parses the same.
pub fn event_id(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(id) = text.parse::<EventId>() {
        assert_eq!(id.to_string().parse::<EventId>(), Ok(id), "{text:?}");
        assert!(!id.to_string().contains(['\r', '\n', '\0']));
    }
}

fn follows_grammar(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= MAX_NAME_LEN
        && chars.all(|c| c.is_ascii_alphanumeric() || ".-_:".contains(c))
}

/// Topic names and event types are accepted exactly when they follow the documented grammar,
/// and `reset` is never an event type a producer may use.
pub fn names(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    assert_eq!(TopicName::new(&text).is_ok(), follows_grammar(&text), "topic {text:?}");
    let event_type = EventType::new(&text);
    assert_eq!(event_type.is_ok(), follows_grammar(&text) && text != RESET_EVENT, "event type {text:?}");
    if let Ok(name) = TopicName::new(&text) {
        assert_eq!(name.as_str(), text);
    }
}

/// The direct path's head parser: never panics, takes only plain HTTP/1.1 GETs without a body,
/// upgrade or expectation, and claims only the stream paths. The first-head check never refuses
/// what the direct path takes, and refuses only with a 4xx and a JSON message.
pub fn request_head(data: &[u8]) {
    match check_head(data) {
        Check::NeedMore => assert!(data.len() < MAX_REQUEST_HEAD_BYTES),
        Check::Http2 => assert!(data.starts_with(b"PRI * HTTP/2.0\r\n")),
        Check::Passed(len) => assert!(len <= data.len()),
        Check::Refused(refusal) => {
            assert!([400, 414, 431].contains(&refusal.status.as_u16()), "{refusal:?}");
            assert!(!matches!(parse_head(data), Head::Complete(_)), "refused a head the direct path takes");
            let body: serde_json::Value = serde_json::from_str(&refusal.body()).expect("a JSON body");
            assert!(!body["error"].as_str().unwrap_or_default().is_empty());
        }
    }
    if sniff(data) == Sniff::Stream {
        assert!(data.starts_with(b"GET /api/events?") || data.starts_with(b"GET /api/streams/"));
    }
    if let Head::Complete(request) = parse_head(data) {
        assert_eq!(request.method(), http::Method::GET);
        assert_eq!(request.version(), http::Version::HTTP_11);
        let headers = request.headers();
        assert!(headers.get(http::header::TRANSFER_ENCODING).is_none());
        assert!(headers.get(http::header::UPGRADE).is_none());
        assert!(headers.get(http::header::EXPECT).is_none());
        assert!(headers.get_all(http::header::CONTENT_LENGTH).iter().all(|v| v == "0"));
    }
}

/// Ticks from outside feeds: whatever parses satisfies every documented check.
pub fn tick(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let now = 1_767_225_600_000;
    if let Ok(tick) = parse_tick(&text, now) {
        assert!(valid_symbol(&tick.symbol), "{tick:?}");
        assert!(tick.price.is_finite() && tick.price > 0.0, "{tick:?}");
        assert!((tick.timestamp - now).abs() <= 86_400_000, "{tick:?}");
    }
}

/// A jobs root with a little tree in it, shared by every run of `job_params`.
fn jobs_root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("pulseboard-fuzz-root-{}", std::process::id()));
        std::fs::create_dir_all(root.join("photos/2024")).unwrap();
        std::fs::write(root.join("photos/a.txt"), "a").unwrap();
        root.canonicalize().unwrap()
    })
}

/// Job parameters: any JSON for any kind is prepared or refused with a field error, never a
/// panic, and a file job's directory never leaves the jobs root.
pub fn job_params(data: &[u8]) {
    let [kind, params, dir] = <[String; 3]>::try_from(fields(data, 3)).unwrap();
    let root = jobs_root();
    let env = JobEnv { files_root: root.clone() };
    let registry = JobRegistry::with_builtins();
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&params) {
        for kind in [kind.as_str(), "primes", "pipeline", "checksum"] {
            if let Err(err) = registry.prepare(kind, &value, &env) {
                assert!(!err.message.is_empty(), "{kind}: {err:?}");
            }
        }
    }
    if let Ok(resolved) = confine::resolve_dir(root, &dir) {
        let resolved = resolved.canonicalize().expect("a resolved directory exists");
        assert!(resolved.starts_with(root), "{dir:?} resolved to {}", resolved.display());
    }
}
