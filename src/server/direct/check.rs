//! The first request head of every HTTP/1.1 connection, checked the way hyper's parser checks it
//! (the same parser, `httparse`, with hyper's limits and hyper's framing rules), so that what
//! hyper would refuse with a bare status is refused here with that status and a JSON
//! `{"error": ...}` saying what was wrong. A head that passes goes on unchanged, to the direct
//! path or to hyper (which parses it again). Pure: no I/O here, so every rule is unit-tested.
//!
//! Invariant: never stricter than hyper. A head refused here is one hyper refuses too (with the
//! same status); anything this module does not know goes on to hyper. Later requests on a
//! kept-alive connection are parsed by hyper alone, which answers them with a status only
//! (README, "Limits").

use http::{header, StatusCode};

/// Most header lines in a request head: hyper's default (`h1_max_headers`).
pub const MAX_HEADER_LINES: usize = 100;

/// A request head must be complete within this many bytes: hyper's default read buffer limit
/// (`max_buf_size`, 8 KiB + 100 × 4 KiB), past which it answers 431.
pub const MAX_REQUEST_HEAD_BYTES: usize = 8192 + 4096 * 100;

/// Longest request target hyper takes (414 beyond).
const MAX_TARGET_BYTES: usize = u16::MAX as usize - 1;

/// The connection preface of HTTP/2 with prior knowledge: hyper serves it, on plain TCP too.
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the first bytes of a connection amount to.
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    /// The head has not fully arrived.
    NeedMore,
    /// HTTP/2 with prior knowledge: not a head to check.
    Http2,
    /// A head hyper takes, of this many bytes.
    Passed(usize),
    /// A head hyper refuses: answer it, then close.
    Refused(Refusal),
}

/// The transport's error: a request head refused before any route, with the status hyper would
/// give and a sentence saying what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    fn bad(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, message: message.into() }
    }

    fn too_large(message: impl Into<String>) -> Self {
        Self { status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, message: message.into() }
    }

    /// The one JSON body of a refusal.
    pub fn body(&self) -> String {
        serde_json::json!({ "error": self.message }).to_string()
    }
}

pub fn check_head(bytes: &[u8]) -> Check {
    let preface = bytes.len().min(HTTP2_PREFACE.len());
    if bytes[..preface] == HTTP2_PREFACE[..preface] {
        return if preface == HTTP2_PREFACE.len() { Check::Http2 } else { Check::NeedMore };
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADER_LINES];
    let mut request = httparse::Request::new(&mut headers);
    let parsed = request.parse(bytes);
    let too_large = || {
        Check::Refused(Refusal::too_large(format!(
            "the request head is larger than {MAX_REQUEST_HEAD_BYTES} bytes (the request line and all headers together)"
        )))
    };
    // A head that arrived whole in one read is held to the limit too (hyper, reading in pieces,
    // would have given up at the limit).
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) if len > MAX_REQUEST_HEAD_BYTES => return too_large(),
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if bytes.len() < MAX_REQUEST_HEAD_BYTES => return Check::NeedMore,
        Ok(httparse::Status::Partial) => return too_large(),
        Err(err) => return Check::Refused(syntax(err, request.method.is_some())),
    };
    match target_and_framing(&request) {
        Ok(()) => Check::Passed(len),
        Err(refusal) => Check::Refused(refusal),
    }
}

/// What a syntax error of `httparse` means, in words.
fn syntax(err: httparse::Error, had_method: bool) -> Refusal {
    use httparse::Error as E;
    match err {
        E::TooManyHeaders => Refusal::too_large(format!("the request has more than {MAX_HEADER_LINES} header lines")),
        E::Token if !had_method => {
            Refusal::bad("malformed request line: it must be `METHOD TARGET HTTP/1.1`, and the method is not a token")
        }
        E::Token => Refusal::bad(
            "malformed request line: the target has a character a request target may not have, or is not followed \
             by ` HTTP/1.1`",
        ),
        E::Version => Refusal::bad("malformed request line: it must end in HTTP/1.1 or HTTP/1.0"),
        E::HeaderName => Refusal::bad("malformed header line: the name must be a token followed by `:`"),
        E::HeaderValue => Refusal::bad("malformed header line: the value has a control character"),
        E::NewLine | E::Status => Refusal::bad("malformed request head: every line must end in CRLF"),
    }
}

/// Hyper's checks on a parsed head: the target's length and form, and how the body is framed
/// (RFC 9112 §6: `Transfer-Encoding` must end in `chunked`; `Content-Length` is digits, and two
/// that disagree are an error; `Content-Length` beside `Transfer-Encoding` is ignored, as hyper
/// does, and the connection then closes after the answer).
fn target_and_framing(request: &httparse::Request<'_, '_>) -> Result<(), Refusal> {
    let target = request.path.unwrap_or_default();
    if target.len() > MAX_TARGET_BYTES {
        return Err(Refusal {
            status: StatusCode::URI_TOO_LONG,
            message: format!("the request target is longer than {MAX_TARGET_BYTES} bytes"),
        });
    }
    if let Err(err) = target.parse::<http::Uri>() {
        return Err(Refusal::bad(format!("the request target is not a valid URI: {err}")));
    }
    let http_10 = request.version == Some(0);
    let mut transfer_encoding: Option<&[u8]> = None;
    let mut content_length: Option<u64> = None;
    for line in request.headers.iter() {
        if line.name.eq_ignore_ascii_case(header::TRANSFER_ENCODING.as_str()) {
            if http_10 {
                return Err(Refusal::bad("an HTTP/1.0 request may not have a Transfer-Encoding header"));
            }
            transfer_encoding = Some(line.value);
        } else if line.name.eq_ignore_ascii_case(header::CONTENT_LENGTH.as_str()) {
            if transfer_encoding.is_some() {
                continue;
            }
            let Some(len) = digits(line.value) else {
                return Err(Refusal::bad(format!(
                    "Content-Length must be a whole number of bytes (digits only), not {:?}",
                    String::from_utf8_lossy(line.value)
                )));
            };
            match content_length {
                Some(first) if first != len => {
                    return Err(Refusal::bad(format!(
                        "two Content-Length headers disagree ({first} and {len}): send one"
                    )))
                }
                _ => content_length = Some(len),
            }
            // hyper's largest body length (two values are reserved for its own use).
            if len > u64::MAX - 2 {
                return Err(Refusal::too_large("Content-Length is too large"));
            }
        }
    }
    match transfer_encoding {
        Some(value) if !ends_in_chunked(value) => Err(Refusal::bad(format!(
            "Transfer-Encoding {:?} is not supported: a request body's last transfer coding must be `chunked`",
            String::from_utf8_lossy(value)
        ))),
        _ => Ok(()),
    }
}

/// A length as hyper reads one: ASCII digits only (no sign, no spaces), no overflow.
fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |len, &byte| {
        byte.is_ascii_digit().then_some(())?;
        len.checked_mul(10)?.checked_add(u64::from(byte - b'0'))
    })
}

/// Whether the last coding of a `Transfer-Encoding` value is `chunked` (hyper's rule).
fn ends_in_chunked(value: &[u8]) -> bool {
    std::str::from_utf8(value)
        .ok()
        .and_then(|text| text.rsplit(',').next())
        .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(lines: &[&str]) -> Vec<u8> {
        let mut out = String::new();
        for line in lines {
            out.push_str(line);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        out.into_bytes()
    }

    fn refused(bytes: &[u8]) -> Refusal {
        match check_head(bytes) {
            Check::Refused(refusal) => refusal,
            other => panic!("{:?} was not refused: {other:?}", String::from_utf8_lossy(bytes)),
        }
    }

    #[test]
    fn heads_hyper_takes_pass_with_their_length() {
        let ok = head(&["GET /api/events?topic=a HTTP/1.1", "Host: x"]);
        assert_eq!(check_head(&ok), Check::Passed(ok.len()));
        for lines in [
            &["POST /api/publish?topic=a HTTP/1.1", "Content-Length: 2", "Content-Length: 2"][..],
            &["POST / HTTP/1.1", "Content-Length: 3", "Transfer-Encoding: chunked"],
            &["POST / HTTP/1.1", "Transfer-Encoding: gzip, chunked"],
            &["POST / HTTP/1.1", "Transfer-Encoding: chunked", "Content-Length: nonsense"],
            &["GET / HTTP/1.0"],
            &["OPTIONS * HTTP/1.1"],
        ] {
            let bytes = head(lines);
            assert_eq!(check_head(&bytes), Check::Passed(bytes.len()), "{lines:?}");
        }
        // A body after the head is not part of it.
        let mut with_body = head(&["POST / HTTP/1.1", "Content-Length: 2"]);
        let len = with_body.len();
        with_body.extend_from_slice(b"xx");
        assert_eq!(check_head(&with_body), Check::Passed(len));
    }

    #[test]
    fn an_unfinished_head_needs_more_until_the_limit() {
        assert_eq!(check_head(b"GET / HTTP/1.1\r\nHost: x\r\n"), Check::NeedMore);
        assert_eq!(check_head(b"G"), Check::NeedMore);
        let mut huge = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        huge.resize(MAX_REQUEST_HEAD_BYTES, b'b');
        let refusal = refused(&huge);
        assert_eq!(refusal.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        assert!(refusal.message.contains("larger than 417792 bytes"), "{}", refusal.message);
        // The same head complete, as one read may bring it.
        huge.extend_from_slice(b"\r\n\r\n");
        assert_eq!(refused(&huge).status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }

    #[test]
    fn http2_with_prior_knowledge_is_not_a_head() {
        assert_eq!(check_head(b"PRI * HTTP/2.0\r\n"), Check::NeedMore);
        assert_eq!(check_head(HTTP2_PREFACE), Check::Http2);
    }

    #[test]
    fn bad_framing_is_refused_with_what_was_wrong() {
        let cases: [(&[&str], &str); 6] = [
            (&["POST / HTTP/1.1", "Content-Length: 1", "Content-Length: 2"], "disagree (1 and 2)"),
            (&["POST / HTTP/1.1", "Content-Length: -1"], "digits only), not \"-1\""),
            (&["POST / HTTP/1.1", "Content-Length: 1e3"], "not \"1e3\""),
            (&["POST / HTTP/1.1", "Content-Length: 99999999999999999999999"], "digits only"),
            (&["POST / HTTP/1.1", "Transfer-Encoding: gzip"], "Transfer-Encoding \"gzip\" is not supported"),
            (&["POST / HTTP/1.0", "Transfer-Encoding: chunked"], "HTTP/1.0 request may not"),
        ];
        for (lines, says) in cases {
            let refusal = refused(&head(lines));
            assert_eq!(refusal.status, StatusCode::BAD_REQUEST, "{lines:?}");
            assert!(refusal.message.contains(says), "{lines:?}: {}", refusal.message);
        }
    }

    #[test]
    fn broken_syntax_is_refused_with_what_was_wrong() {
        let cases: [(&[u8], &str); 6] = [
            (b"HELLO THERE\r\n\r\n", "malformed request line"),
            (b"(GET) / HTTP/1.1\r\n\r\n", "the method is not a token"),
            (b"GET / HTTP/9.9\r\n\r\n", "HTTP/1.1 or HTTP/1.0"),
            (b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", "malformed header line"),
            (b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", "control character"),
            (b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", "malformed"),
        ];
        for (bytes, says) in cases {
            let refusal = refused(bytes);
            assert_eq!(refusal.status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(bytes));
            assert!(refusal.message.contains(says), "{}: {}", String::from_utf8_lossy(bytes), refusal.message);
        }
    }

    #[test]
    fn floods_and_long_targets_are_too_large() {
        let lines: Vec<String> = (0..=MAX_HEADER_LINES).map(|i| format!("X-{i}: y")).collect();
        let mut all = vec!["GET / HTTP/1.1"];
        all.extend(lines.iter().map(String::as_str));
        let refusal = refused(&head(&all));
        assert_eq!(refusal.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        assert_eq!(refusal.message, "the request has more than 100 header lines");
        // Exactly the limit passes.
        all.pop();
        assert!(matches!(check_head(&head(&all)), Check::Passed(_)));

        let long = format!("GET /{} HTTP/1.1", "a".repeat(MAX_TARGET_BYTES));
        assert_eq!(refused(&head(&[&long])).status, StatusCode::URI_TOO_LONG);
    }

    #[test]
    fn the_body_is_json_with_the_message() {
        let refusal = Refusal::bad("a \"quoted\" thing");
        let json: serde_json::Value = serde_json::from_str(&refusal.body()).unwrap();
        assert_eq!(json["error"], "a \"quoted\" thing");
    }
}
