//! The pure part of the direct path: recognising an event-stream request from its first bytes,
//! parsing its head (with `httparse`, hyper's own parser) and writing a response head and chunk
//! sizes. No I/O here, so every rule is unit-tested.

use crate::streams::{EVENTS_PATH, STREAM_FUNCTIONS_PREFIX};
use bytes::BufMut;
use http::{header, HeaderName, HeaderValue, Method, Request, Version};
use std::sync::LazyLock;

/// Request-line starts answered on the direct path: the stream API (`GET /api/events?`) and the
/// stream server functions (`GET /api/streams/`), from the stream layer's own path constants.
static STREAM_TARGETS: LazyLock<[Vec<u8>; 2]> = LazyLock::new(|| {
    [format!("GET {EVENTS_PATH}?").into_bytes(), format!("GET {STREAM_FUNCTIONS_PREFIX}/").into_bytes()]
});

/// Most bytes a direct-path request head may have; larger heads go to hyper (which takes them up
/// to `check::MAX_REQUEST_HEAD_BYTES`).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Most header lines a direct-path request may have (more go to hyper).
const MAX_HEADERS: usize = 64;

/// What the first bytes of a connection say.
#[derive(Debug, PartialEq, Eq)]
pub enum Sniff {
    /// Too few bytes to tell.
    NeedMore,
    /// A request for an event stream.
    Stream,
    /// Anything else: pages, server functions, publishing, HTTP/2.
    Other,
}

pub fn sniff(bytes: &[u8]) -> Sniff {
    let mut could_be = false;
    for target in STREAM_TARGETS.iter() {
        let n = bytes.len().min(target.len());
        if bytes[..n] == target[..n] {
            if n == target.len() {
                return Sniff::Stream;
            }
            could_be = true;
        }
    }
    if could_be {
        Sniff::NeedMore
    } else {
        Sniff::Other
    }
}

/// A parsed request head.
#[derive(Debug)]
pub enum Head {
    /// The head has not fully arrived.
    Partial,
    /// A plain HTTP/1.1 GET with no body: the direct path answers it.
    /// (Boxed: a request is far larger than the other variants, and a head is parsed once.)
    Complete(Box<Request<()>>),
    /// Anything the direct path leaves to hyper: other versions, a body, an upgrade, a head
    /// `httparse` rejects (hyper then answers it with its own error).
    Unsupported,
}

pub fn parse_head(bytes: &[u8]) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(bytes) {
        Ok(httparse::Status::Partial) => Head::Partial,
        Ok(httparse::Status::Complete(_)) => {
            to_request(&parsed).map_or(Head::Unsupported, |request| Head::Complete(Box::new(request)))
        }
        Err(_) => Head::Unsupported,
    }
}

fn to_request(parsed: &httparse::Request<'_, '_>) -> Option<Request<()>> {
    if parsed.version != Some(1) || parsed.method != Some("GET") {
        return None;
    }
    let mut request = Request::builder().method(Method::GET).version(Version::HTTP_11).uri(parsed.path?);
    for line in parsed.headers.iter() {
        let name = HeaderName::from_bytes(line.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(line.value).ok()?;
        let carries_body = (name == header::CONTENT_LENGTH && value != "0") || name == header::TRANSFER_ENCODING;
        if carries_body || name == header::UPGRADE || name == header::EXPECT {
            return None;
        }
        request = request.header(name, value);
    }
    request.body(()).ok()
}

/// How the response body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// The body's length is known: `content-length`, then the bytes.
    Length(u64),
    /// An event stream or any body of unknown length: chunked.
    Chunked,
}

/// The status line and headers of a direct-path response. The connection closes after it
/// (`connection: close`): the path serves one request per connection.
pub fn encode_head(status: http::StatusCode, headers: &http::HeaderMap, framing: Framing, date: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.put_slice(b"HTTP/1.1 ");
    out.put_slice(status.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.put_slice(b"\r\n");
    let framing_headers = [header::CONNECTION, header::CONTENT_LENGTH, header::TRANSFER_ENCODING];
    for (name, value) in headers {
        if framing_headers.contains(name) {
            continue;
        }
        line(&mut out, name.as_str().as_bytes(), value.as_bytes());
    }
    if !headers.contains_key(header::DATE) {
        line(&mut out, b"date", date.as_bytes());
    }
    match framing {
        Framing::Length(len) => line(&mut out, b"content-length", len.to_string().as_bytes()),
        Framing::Chunked => line(&mut out, b"transfer-encoding", b"chunked"),
    }
    line(&mut out, b"connection", b"close");
    out.put_slice(b"\r\n");
    out
}

fn line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.put_slice(name);
    out.put_slice(b": ");
    out.put_slice(value);
    out.put_slice(b"\r\n");
}

/// A chunk-size line: the length in hex, then CRLF. Sixteen hex digits cover any `usize`.
pub struct ChunkSize {
    bytes: [u8; 18],
    start: usize,
}

impl ChunkSize {
    pub fn new(len: usize) -> Self {
        let mut bytes = [0u8; 18];
        bytes[16] = b'\r';
        bytes[17] = b'\n';
        let mut start = 16;
        let mut rest = len;
        loop {
            start -= 1;
            bytes[start] = b"0123456789ABCDEF"[rest % 16];
            rest /= 16;
            if rest == 0 {
                break;
            }
        }
        Self { bytes, start }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

/// The end of a chunked body (no trailers).
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_tells_streams_from_the_rest_as_soon_as_it_can() {
        assert_eq!(sniff(b""), Sniff::NeedMore);
        assert_eq!(sniff(b"GET /api/ev"), Sniff::NeedMore);
        assert_eq!(sniff(b"GET /api/events?topic=a HTTP/1.1\r\n"), Sniff::Stream);
        assert_eq!(sniff(b"GET /api/streams/quotes HTTP/1.1\r\n"), Sniff::Stream);
        assert_eq!(sniff(b"GET /api/streams/"), Sniff::Stream);
        assert_eq!(sniff(b"GET /markets HTTP/1.1\r\n"), Sniff::Other);
        assert_eq!(sniff(b"POST /api/events?topic=a"), Sniff::Other);
        assert_eq!(sniff(b"GET /api/eventsx"), Sniff::Other);
        assert_eq!(sniff(b"PRI * HTTP/2.0\r\n"), Sniff::Other);
        assert_eq!(sniff(b"G"), Sniff::NeedMore);
        assert_eq!(sniff(b"H"), Sniff::Other);
    }

    #[test]
    fn a_plain_get_is_parsed_with_its_headers() {
        let head = b"GET /api/events?topic=a HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 7\r\nContent-Length: 0\r\n\r\n";
        let Head::Complete(request) = parse_head(head) else { panic!("not complete") };
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri(), "/api/events?topic=a");
        assert_eq!(request.headers()["last-event-id"], "7");
        assert_eq!(request.headers()["host"], "x");
    }

    #[test]
    fn an_unfinished_head_is_partial() {
        assert!(matches!(parse_head(b"GET /api/events?topic=a HTTP/1.1\r\nHost: x\r\n"), Head::Partial));
    }

    #[test]
    fn what_the_direct_path_does_not_speak_goes_to_hyper() {
        for head in [
            &b"GET /api/events?topic=a HTTP/1.0\r\n\r\n"[..],
            b"GET /api/events?topic=a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
            b"GET /api/events?topic=a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET /api/events?topic=a HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            b"GET /api/events?topic=a HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            b"GET /api/events?topic=a HTTP/1.1\r\nBad Header: x\r\n\r\n",
            b"GET /api/events?topic=a\x01 HTTP/1.1\r\n\r\n",
        ] {
            assert!(matches!(parse_head(head), Head::Unsupported), "{}", String::from_utf8_lossy(head));
        }
        let many: String = (0..MAX_HEADERS + 1).map(|i| format!("X-{i}: y\r\n")).collect();
        let head = format!("GET /api/events?topic=a HTTP/1.1\r\n{many}\r\n");
        assert!(matches!(parse_head(head.as_bytes()), Head::Unsupported));
    }

    #[test]
    fn the_response_head_frames_the_body_and_closes() {
        let mut headers = http::HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("99"));
        let head = encode_head(http::StatusCode::OK, &headers, Framing::Chunked, "Mon, 23 Nov 2026 17:00:00 GMT");
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ndate: Mon, 23 Nov 2026 17:00:00 GMT\r\n\
             transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        );
        let head = encode_head(http::StatusCode::BAD_REQUEST, &http::HeaderMap::new(), Framing::Length(12), "D");
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "HTTP/1.1 400 Bad Request\r\ndate: D\r\ncontent-length: 12\r\nconnection: close\r\n\r\n"
        );
    }

    #[test]
    fn chunk_sizes_are_hex() {
        assert_eq!(ChunkSize::new(0).as_bytes(), b"0\r\n");
        assert_eq!(ChunkSize::new(10).as_bytes(), b"A\r\n");
        assert_eq!(ChunkSize::new(4096).as_bytes(), b"1000\r\n");
        assert_eq!(ChunkSize::new(usize::MAX).as_bytes(), b"FFFFFFFFFFFFFFFF\r\n");
    }
}
