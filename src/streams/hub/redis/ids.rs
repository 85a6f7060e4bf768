//! Redis stream ids as positions in the local order, and back.
//!
//! A stream id is `<ms>-<seq>`. The publish script makes ids that grow across all topics (one
//! counter in Redis, see `scripts`), and keeps `seq` below 2^21 by moving to the next
//! millisecond, so an id packs losslessly into a `u64` (`ms << 21 | seq`; ms fits 43 bits until
//! the year 2248) that orders exactly as the ids do. Subscribers' cursors are these positions.

use super::super::EventId;

const SEQ_BITS: u32 = 21;
/// Largest `seq` the publish script makes within one millisecond (must match `scripts`).
pub(super) const MAX_SEQ: u64 = (1 << SEQ_BITS) - 1;
const MAX_MS: u64 = (1 << (64 - SEQ_BITS)) - 1;

/// The position of `<ms>-<seq>`, or `None` if the text is no stream id this hub could make.
pub(super) fn parse(text: &str) -> Option<u64> {
    let (ms, seq) = text.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(ms) || !digits(seq) {
        return None;
    }
    let (ms, seq): (u64, u64) = (ms.parse().ok()?, seq.parse().ok()?);
    (ms <= MAX_MS && seq <= MAX_SEQ).then_some((ms << SEQ_BITS) | seq)
}

/// The event id of a position.
pub(super) fn event_id(_epoch: u32, position: u64) -> EventId {
    EventId::Stream { ms: position >> SEQ_BITS, seq: position & MAX_SEQ }
}

/// The stream id text of a position (what Redis commands take).
pub(super) fn text(position: u64) -> String {
    event_id(0, position).to_string()
}

/// The millisecond timestamp of a position.
pub(super) fn millis(position: u64) -> u64 {
    position >> SEQ_BITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_keep_the_order_of_ids() {
        for id in ["0-0", "0-1", "1764633600000-0", "1764633600000-2097151", "1764633600001-0"] {
            assert_eq!(text(parse(id).unwrap()), id);
        }
        assert!(parse("1764633600000-2097151").unwrap() < parse("1764633600001-0").unwrap());
        assert!(parse("5-9").unwrap() < parse("6-0").unwrap());
        for bad in ["", "5", "5-", "-5", "5-x", "a-1", "5-2097152", "99999999999999999999-0", "deadbeef-1", "5-1-1"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
