//! Event ids and reset reasons: the resume contract of the in-process hub.
//!
//! An id is `<epoch>-<seq>` (epoch as 8 hex digits): the epoch is random per run of the hub, so an
//! id from an earlier run is recognised as unknown, never confused with a new event. The reasons
//! are part of the documented wire contract (`{"reason":"..."}` in a `reset` event).

use std::fmt;

/// An event id: which run of the hub made it, and its place in that run's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventId {
    pub epoch: u32,
    pub seq: u64,
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}-{}", self.epoch, self.seq)
    }
}

impl std::str::FromStr for EventId {
    type Err = ();
    fn from_str(text: &str) -> Result<Self, ()> {
        let (epoch, seq) = text.split_once('-').ok_or(())?;
        if epoch.len() != 8 || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        Ok(Self { epoch: u32::from_str_radix(epoch, 16).map_err(|_| ())?, seq: seq.parse().map_err(|_| ())? })
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
