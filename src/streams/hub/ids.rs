//! Event ids and reset reasons: the resume contract of the hub.
//!
//! The in-process hub's id is `<epoch>-<seq>` (epoch as 8 hex digits): the epoch is random per run
//! of the hub, so an id from an earlier run is recognised as unknown, never confused with a new
//! event. The Redis hub's id is the Redis stream id `<ms>-<seq>` itself (see `redis::ids`), the
//! same on every instance. `FromStr` reads the in-process form; each backend reads its own. The
//! reasons are part of the documented wire contract (`{"reason":"..."}` in a `reset` event).

use std::fmt;

/// An event id, as the backend that made it writes it. Ids of one backend order as events do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventId {
    /// In-process: which run of the hub made it, and its place in that run's order.
    Run { epoch: u32, seq: u64 },
    /// Redis: the stream id (milliseconds and sequence), one order across all topics.
    Stream { ms: u64, seq: u64 },
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Run { epoch, seq } => write!(f, "{epoch:08x}-{seq}"),
            Self::Stream { ms, seq } => write!(f, "{ms}-{seq}"),
        }
    }
}

impl std::str::FromStr for EventId {
    type Err = ();
    fn from_str(text: &str) -> Result<Self, ()> {
        let (epoch, seq) = text.split_once('-').ok_or(())?;
        if epoch.len() != 8 || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        Ok(Self::Run { epoch: u32::from_str_radix(epoch, 16).map_err(|_| ())?, seq: seq.parse().map_err(|_| ())? })
    }
}

/// Why a stream begins with (or falls back to) a `reset` event. Part of the documented contract:
/// the `reset` event's data is `{"reason":"<one of these>"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetReason {
    /// The id is older than the history kept for one of the topics.
    HistoryExpired,
    /// The id was not made by this run of the hub (e.g. before a restart), or is in the future.
    UnknownId,
    /// The id is not of the form pulseboard makes.
    MalformedId,
}

impl ResetReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HistoryExpired => "history-expired",
            Self::UnknownId => "unknown-id",
            Self::MalformedId => "malformed-id",
        }
    }
}
