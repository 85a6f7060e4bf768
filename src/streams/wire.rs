//! The SSE wire format: the one place that turns events into `text/event-stream` bytes.
//!
//! Rules kept here (WHATWG HTML, "Server-sent events"):
//! - every event carries `id:` (notices about the stream itself carry none, so they never move a
//!   client's resume point); `event:` only when the type is not `message`;
//! - data is split at CRLF, CR and LF into several `data:` lines, so no payload can end an event
//!   early or inject a field (the only change a client sees: CR and CRLF arrive as LF);
//! - an event always has at least one `data:` line (an event without one is never dispatched);
//! - ids and event types never contain CR, LF or NUL (checked where they are made).

use bytes::{BufMut, Bytes, BytesMut};

pub use super::DEFAULT_EVENT_TYPE;

/// Encodes one event. Called once per published event; subscribers share the bytes.
pub fn encode_event(id: &str, event_type: &str, data: &str) -> Bytes {
    debug_assert!(!id.contains(['\r', '\n', '\0']), "ids are made without line breaks or NUL");
    debug_assert!(!event_type.contains(['\r', '\n']), "event types are validated before encoding");
    let mut out = BytesMut::with_capacity(data.len() + id.len() + event_type.len() + 24);
    out.put_slice(b"id: ");
    out.put_slice(id.as_bytes());
    out.put_u8(b'\n');
    if event_type != DEFAULT_EVENT_TYPE && !event_type.is_empty() {
        out.put_slice(b"event: ");
        out.put_slice(event_type.as_bytes());
        out.put_u8(b'\n');
    }
    for line in split_lines(data) {
        out.put_slice(b"data: ");
        out.put_slice(line.as_bytes());
        out.put_u8(b'\n');
    }
    out.put_u8(b'\n');
    out.freeze()
}

/// An event without `id:`, for notices about the stream itself (e.g. `auth-expired`): a client's
/// last event id, its resume point, stays at the last real event.
pub fn encode_notice(event_type: &str, data: &str) -> Bytes {
    debug_assert!(!event_type.contains(['\r', '\n']) && !data.contains(['\r', '\n']), "one-line notices");
    Bytes::from(format!("event: {event_type}\ndata: {data}\n\n"))
}

/// `retry:` on its own; sent first on every stream. Without data it dispatches nothing.
pub fn encode_retry(millis: u32) -> Bytes {
    Bytes::from(format!("retry: {millis}\n\n"))
}

/// A comment line: ignored by clients, keeps proxies and load balancers from closing idle streams.
pub fn heartbeat() -> Bytes {
    Bytes::from_static(b": heartbeat\n\n")
}

/// Splits at every CRLF, lone CR and lone LF. Always yields at least one (maybe empty) line.
fn split_lines(data: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(text)
            }
            Some(at) => {
                let skip = if text[at..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&text[at + skip..]);
                Some(&text[..at])
            }
        }
    })
}

/// Reads the data back out of a frame made by [`encode_event`] (for server-side snapshots that
/// show recent events; clients use a real SSE parser).
pub fn frame_data(frame: &[u8]) -> String {
    let text = std::str::from_utf8(frame).unwrap_or_default();
    text.lines().filter_map(|line| line.strip_prefix("data: ")).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use proptest::prelude::*;

    #[test]
    fn plain_message_has_id_and_data_only() {
        assert_eq!(&encode_event("a-1", "message", "hello")[..], b"id: a-1\ndata: hello\n\n");
    }

    #[test]
    fn named_event_and_multiline_data() {
        assert_eq!(
            &encode_event("a-2", "progress", "one\r\ntwo\rthree\nfour")[..],
            b"id: a-2\nevent: progress\ndata: one\ndata: two\ndata: three\ndata: four\n\n"
        );
    }

    #[test]
    fn injection_attempt_stays_data() {
        let frame = encode_event("a-3", "message", "x\n\nid: evil\nevent: reset\ndata: y");
        assert_eq!(&frame[..], b"id: a-3\ndata: x\ndata: \ndata: id: evil\ndata: event: reset\ndata: data: y\n\n");
    }

    #[test]
    fn empty_data_still_dispatches() {
        assert_eq!(&encode_event("a-4", "message", "")[..], b"id: a-4\ndata: \n\n");
        assert_eq!(&encode_event("a-5", "message", "\n")[..], b"id: a-5\ndata: \ndata: \n\n");
    }

    #[test]
    fn frame_data_reads_back() {
        assert_eq!(frame_data(&encode_event("a-6", "t", "p\r\nq")), "p\nq");
    }

    /// Decodes frames with `eventsource-stream`, a parser we did not write.
    fn decode(bytes: Bytes) -> Vec<eventsource_stream::Event> {
        use eventsource_stream::Eventsource;
        let stream = futures::stream::iter([Ok::<_, std::convert::Infallible>(bytes)]).eventsource();
        futures::executor::block_on(stream.map(|event| event.unwrap()).collect::<Vec<_>>())
    }

    fn any_text() -> impl Strategy<Value = String> {
        // Mostly the characters that break naive encoders, plus arbitrary unicode.
        prop::collection::vec(
            prop_oneof![
                3 => prop::sample::select(vec!['\r', '\n', '\0', ':', ' ', 'i', 'd', '\u{feff}']),
                2 => any::<char>(),
            ],
            0..64,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn independent_parser_recovers_data_type_and_id(
            data in any_text(),
            seq in 0u64..u64::MAX,
            event_type in prop::sample::select(vec!["message", "progress", "tick", "job.state"]),
        ) {
            let id = format!("e{seq:x}-{seq}");
            let mut stream = encode_retry(1500).to_vec();
            stream.extend_from_slice(&encode_event(&id, event_type, &data));
            stream.extend_from_slice(&heartbeat());
            stream.extend_from_slice(&encode_event(&id, "message", "after"));
            let events = decode(Bytes::from(stream));
            prop_assert_eq!(events.len(), 2);
            let expected = data.replace("\r\n", "\n").replace('\r', "\n");
            prop_assert_eq!(&events[0].data, &expected);
            prop_assert_eq!(&events[0].event, event_type);
            prop_assert_eq!(&events[0].id, &id);
            prop_assert_eq!(events[0].retry, None);
            prop_assert_eq!(&events[1].data, "after");
        }
    }
}
