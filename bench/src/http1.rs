//! Minimal HTTP/1.1 response reading for the raw-TCP clients: the response head and the
//! chunked transfer coding. Pure byte handling, no I/O, so it is unit-tested here.

/// What went wrong reading an HTTP/1.1 response.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HttpError {
    #[error("malformed status line: {0:?}")]
    BadStatusLine(String),
    #[error("response head is larger than {0} bytes")]
    HeadTooLarge(usize),
    #[error("malformed chunk size line")]
    BadChunkSize,
    #[error("chunk data not followed by CRLF")]
    BadChunkEnd,
}

/// The parts of a response head the clients need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    pub chunked: bool,
    pub content_length: Option<usize>,
}

/// Largest response head accepted.
pub const MAX_HEAD: usize = 16 * 1024;

/// Parses a response head at the start of `buf`. `Ok(None)`: not complete yet. On success,
/// also returns how many bytes the head took (the body starts there).
pub fn parse_head(buf: &[u8]) -> Result<Option<(ResponseHead, usize)>, HttpError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD { Err(HttpError::HeadTooLarge(MAX_HEAD)) } else { Ok(None) };
    };
    let text = String::from_utf8_lossy(&buf[..end]);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts.next().and_then(|s| s.parse::<u16>().ok());
    let status = match (version.starts_with("HTTP/1."), status) {
        (true, Some(status)) => status,
        _ => return Err(HttpError::BadStatusLine(status_line.to_string())),
    };
    let mut head = ResponseHead { status, chunked: false, content_length: None };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.to_ascii_lowercase().split(',').any(|c| c.trim() == "chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            head.content_length = value.parse().ok();
        }
    }
    Ok(Some((head, end + 4)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size (`seen`: at least one digit).
    Size {
        size: u64,
        seen: bool,
    },
    /// After the size: a chunk extension, up to LF.
    Extension {
        size: u64,
    },
    Data {
        left: u64,
    },
    DataCr,
    DataLf,
    /// After the last (zero) chunk: trailer lines up to an empty line. `blank`: line so far empty.
    Trailer {
        blank: bool,
    },
    Done,
}

/// Decodes the chunked transfer coding incrementally.
#[derive(Debug)]
pub struct Dechunker {
    state: State,
}

impl Default for Dechunker {
    fn default() -> Self {
        Self { state: State::Size { size: 0, seen: false } }
    }
}

impl Dechunker {
    /// True once the terminating zero-size chunk and trailers have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Feeds wire bytes; appends the decoded body bytes to `out`.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), HttpError> {
        while let Some((&byte, rest)) = input.split_first() {
            match self.state {
                State::Data { left } => {
                    let take = (left.min(input.len() as u64)) as usize;
                    out.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    self.state =
                        if left == take as u64 { State::DataCr } else { State::Data { left: left - take as u64 } };
                    continue;
                }
                State::Size { size, seen } => {
                    self.state = match byte {
                        b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                            let digit = (byte as char).to_digit(16).unwrap_or(0) as u64;
                            let size = size.checked_mul(16).ok_or(HttpError::BadChunkSize)? + digit;
                            State::Size { size, seen: true }
                        }
                        b';' | b' ' | b'\t' | b'\r' if seen => State::Extension { size },
                        b'\n' if seen => self.after_size(size),
                        _ => return Err(HttpError::BadChunkSize),
                    };
                }
                State::Extension { size } => {
                    if byte == b'\n' {
                        self.state = self.after_size(size);
                    }
                }
                State::DataCr => {
                    self.state = match byte {
                        b'\r' => State::DataLf,
                        b'\n' => State::Size { size: 0, seen: false },
                        _ => return Err(HttpError::BadChunkEnd),
                    };
                }
                State::DataLf => {
                    if byte != b'\n' {
                        return Err(HttpError::BadChunkEnd);
                    }
                    self.state = State::Size { size: 0, seen: false };
                }
                State::Trailer { blank } => {
                    self.state = match byte {
                        b'\n' if blank => State::Done,
                        b'\n' => State::Trailer { blank: true },
                        b'\r' => State::Trailer { blank },
                        _ => State::Trailer { blank: false },
                    };
                }
                State::Done => return Ok(()),
            }
            input = rest;
        }
        Ok(())
    }

    fn after_size(&self, size: u64) -> State {
        if size == 0 {
            State::Trailer { blank: true }
        } else {
            State::Data { left: size }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_is_parsed_when_complete() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\nbody";
        assert_eq!(parse_head(&raw[..20]), Ok(None));
        let (head, len) = parse_head(raw).unwrap().unwrap();
        assert_eq!(head, ResponseHead { status: 200, chunked: true, content_length: None });
        assert_eq!(&raw[len..], b"body");
        let (head, _) = parse_head(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 12\r\n\r\n").unwrap().unwrap();
        assert_eq!((head.status, head.chunked, head.content_length), (400, false, Some(12)));
        assert!(parse_head(b"SSH-2.0 hello\r\n\r\n").is_err());
    }

    #[test]
    fn chunks_decode_across_any_split() {
        let wire = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n";
        for split in 0..wire.len() {
            let mut decoder = Dechunker::default();
            let mut out = Vec::new();
            decoder.feed(&wire[..split], &mut out).unwrap();
            decoder.feed(&wire[split..], &mut out).unwrap();
            assert_eq!(out, b"hello, world", "split at {split}");
            assert!(decoder.is_done());
        }
    }

    #[test]
    fn byte_by_byte_and_uppercase_hex() {
        let wire = b"A\r\n0123456789\r\n0\r\n\r\n";
        let mut decoder = Dechunker::default();
        let mut out = Vec::new();
        for byte in wire {
            decoder.feed(std::slice::from_ref(byte), &mut out).unwrap();
        }
        assert_eq!(out, b"0123456789");
        assert!(decoder.is_done());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        assert_eq!(Dechunker::default().feed(b"zz\r\n", &mut out), Err(HttpError::BadChunkSize));
        assert_eq!(Dechunker::default().feed(b"2\r\nabX", &mut out), Err(HttpError::BadChunkEnd));
        assert_eq!(Dechunker::default().feed(b"ffffffffffffffffff\r\n", &mut out), Err(HttpError::BadChunkSize));
    }
}
