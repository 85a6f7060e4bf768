//! When to try again and when to give up on a quiet stream (pure code, tested natively).
//!
//! - [`backoff_ms`]: the delay before a reconnect, from the server's `retry:`.
//! - [`RetryTap`]: finds `retry:` lines in the raw bytes (the SSE parser drops them when they
//!   stand alone, as pulseboard sends them).
//! - [`silence_limit_ms`]: how long a stream may stay silent before it is taken for dead, from the
//!   heartbeat interval the server announces (`x-heartbeat-ms`).

/// Backoff before reconnect attempt `attempt` (1-based): the server's retry doubled per failed
/// attempt, capped at 30 s, then scaled by `jitter` in [0, 1) to between half and all of it, so
/// clients dropped together (a deploy) do not return together.
pub fn backoff_ms(retry_ms: u32, attempt: u32, jitter: f64) -> u32 {
    let exp = attempt.saturating_sub(1).min(16);
    let full = (retry_ms.max(100) as u64).saturating_mul(1 << exp).min(30_000) as f64;
    (full * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))) as u32
}

/// A stream that announced a heartbeat every `heartbeat_ms` and received nothing (no event, no
/// heartbeat) for this long is dead: one and a half intervals, so a heartbeat a little late on a
/// busy server is not mistaken for a dead link, and a dead one is replaced within two intervals.
pub fn silence_limit_ms(heartbeat_ms: u64) -> u64 {
    heartbeat_ms.max(100).saturating_mul(3) / 2
}

/// Watches a byte stream for `retry:` lines. Keeps at most a few bytes of the current line.
#[derive(Default)]
pub struct RetryTap {
    line: Vec<u8>,
    overflow: bool,
}

impl RetryTap {
    const MAX: usize = 24;

    /// Feeds a chunk; returns the last complete `retry:` value in it, if any.
    pub fn feed(&mut self, chunk: &[u8]) -> Option<u32> {
        let mut found = None;
        for &byte in chunk {
            if byte == b'\n' || byte == b'\r' {
                if !self.overflow {
                    if let Some(value) = self.line.strip_prefix(b"retry:") {
                        let value = value.strip_prefix(b" ").unwrap_or(value);
                        if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
                            found = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
                        }
                    }
                }
                self.line.clear();
                self.overflow = false;
            } else if !self.overflow {
                if self.line.len() < Self::MAX {
                    self.line.push(byte);
                } else {
                    self.overflow = true;
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        assert_eq!(backoff_ms(1000, 1, 1.0), 1000);
        assert_eq!(backoff_ms(1000, 1, 0.0), 500);
        assert_eq!(backoff_ms(1000, 3, 1.0), 4000);
        assert_eq!(backoff_ms(1000, 30, 1.0), 30_000);
        assert_eq!(backoff_ms(1000, 30, 0.0), 15_000);
        assert!((750..=1000).contains(&backoff_ms(1000, 1, 0.6)));
    }

    #[test]
    fn silence_limit_is_well_over_the_heartbeat_and_under_two() {
        for heartbeat in [1_000, 2_000, 15_000, 60_000] {
            let limit = silence_limit_ms(heartbeat);
            assert!(limit >= heartbeat + heartbeat / 3, "{limit} for {heartbeat}");
            assert!(limit < 2 * heartbeat, "{limit} for {heartbeat}");
        }
        assert_eq!(silence_limit_ms(0), 150, "a zero announcement is not a busy loop");
    }

    #[test]
    fn retry_tap_finds_retry_lines_across_chunks() {
        let mut tap = RetryTap::default();
        assert_eq!(tap.feed(b"retry: 25"), None);
        assert_eq!(tap.feed(b"00\n\nid: x\ndata: retry: 9\n\n"), Some(2500));
        assert_eq!(tap.feed(b"retry:7\r\n"), Some(7));
        assert_eq!(tap.feed(b"retry: 1x\n"), None, "only all-digit values count");
        assert_eq!(tap.feed(b"data: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"), None);
    }
}
