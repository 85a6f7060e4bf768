//! Minimal SSE parsing for the benchmark's subscribers (WHATWG rules for what our servers send:
//! `data:`, `event:`, `id:`, `retry:`, comments; lines ending in LF, CR or CRLF), and the payload
//! format the publisher puts in each event's data.

/// One dispatched event: its type (empty for `message`) and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent<'a> {
    pub event_type: &'a [u8],
    pub data: &'a [u8],
}

/// Incremental SSE parser. Keeps only the current line, event type and data.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    event_type: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    /// The previous byte was a CR: a following LF belongs to the same line end.
    after_cr: bool,
}

impl SseParser {
    /// Feeds body bytes; calls `on_event` for every complete event.
    pub fn feed(&mut self, input: &[u8], mut on_event: impl FnMut(SseEvent<'_>)) {
        let mut rest = input;
        while !rest.is_empty() {
            if self.after_cr && rest[0] == b'\n' {
                rest = &rest[1..];
                self.after_cr = false;
                continue;
            }
            self.after_cr = false;
            match rest.iter().position(|b| *b == b'\n' || *b == b'\r') {
                None => {
                    self.line.extend_from_slice(rest);
                    return;
                }
                Some(at) => {
                    self.after_cr = rest[at] == b'\r';
                    if self.line.is_empty() {
                        self.end_line(&rest[..at], &mut on_event);
                    } else {
                        let mut line = std::mem::take(&mut self.line);
                        line.extend_from_slice(&rest[..at]);
                        self.end_line(&line, &mut on_event);
                        line.clear();
                        self.line = line;
                    }
                    rest = &rest[at + 1..];
                }
            }
        }
    }

    fn end_line(&mut self, line: &[u8], on_event: &mut impl FnMut(SseEvent<'_>)) {
        if line.is_empty() {
            if self.has_data {
                on_event(SseEvent { event_type: &self.event_type, data: &self.data });
            }
            self.data.clear();
            self.event_type.clear();
            self.has_data = false;
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match line.iter().position(|b| *b == b':') {
            Some(at) => {
                let value = &line[at + 1..];
                (&line[..at], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.extend_from_slice(value);
            }
            _ => {} // id, retry and unknown fields do not matter here
        }
    }
}

/// What the publisher puts in each event: a sequence number and the send time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload {
    pub seq: u64,
    /// Nanoseconds since the run's epoch (an `Instant` shared by publisher and subscribers).
    pub sent_ns: u64,
}

/// `{"seq":N,"t":NANOS,"pad":"xxx"}`: JSON, as a dashboard payload would be.
pub fn format_payload(payload: Payload, pad: usize) -> String {
    format!(r#"{{"seq":{},"t":{},"pad":"{}"}}"#, payload.seq, payload.sent_ns, "x".repeat(pad))
}

/// Reads a payload made by [`format_payload`]; `None` for anything else.
pub fn parse_payload(data: &[u8]) -> Option<Payload> {
    Some(Payload { seq: number_after(data, b"\"seq\":")?, sent_ns: number_after(data, b"\"t\":")? })
}

fn number_after(data: &[u8], key: &[u8]) -> Option<u64> {
    let at = data.windows(key.len()).position(|w| w == key)? + key.len();
    let digits = data[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    std::str::from_utf8(&data[at..at + digits]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<(String, String)> {
        let mut parser = SseParser::default();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed(chunk, |e| {
                out.push((
                    String::from_utf8_lossy(e.event_type).into_owned(),
                    String::from_utf8_lossy(e.data).into_owned(),
                ))
            });
        }
        out
    }

    #[test]
    fn pulseboard_frames_with_retry_heartbeat_and_reset() {
        let wire = b"retry: 2000\n\nid: ab-1\ndata: one\n\n: heartbeat\n\nid: ab-2\nevent: reset\ndata: {\"reason\":\"x\"}\n\nid: ab-3\ndata: a\ndata: b\n\n";
        let got = parse_all(&[wire]);
        assert_eq!(
            got,
            [("".into(), "one".into()), ("reset".into(), "{\"reason\":\"x\"}".into()), ("".into(), "a\nb".into())]
        );
        // The same bytes split anywhere give the same events.
        for split in 0..wire.len() {
            assert_eq!(parse_all(&[&wire[..split], &wire[split..]]), got, "split at {split}");
        }
    }

    #[test]
    fn axum_frames_crlf_and_cr_line_ends() {
        assert_eq!(parse_all(&[b"data:x\r\n\r\ndata: y\r\r"]), [("".into(), "x".into()), ("".into(), "y".into())]);
        // A CRLF split across reads is one line end, not two.
        assert_eq!(parse_all(&[b"data: z\r", b"\n\r", b"\n"]), [("".into(), "z".into())]);
        // No data line: nothing dispatched.
        assert!(parse_all(&[b"event: e\n\n"]).is_empty());
    }

    #[test]
    fn payload_round_trips_and_rejects_garbage() {
        let payload = Payload { seq: 42, sent_ns: 123_456_789 };
        assert_eq!(parse_payload(format_payload(payload, 5).as_bytes()), Some(payload));
        assert_eq!(parse_payload(format_payload(payload, 0).as_bytes()), Some(payload));
        assert_eq!(parse_payload(br#"{"reason":"history-expired"}"#), None);
        assert_eq!(parse_payload(br#"{"seq":,"t":1}"#), None);
        assert_eq!(parse_payload(br#"{"seq":99999999999999999999,"t":1}"#), None);
    }
}
