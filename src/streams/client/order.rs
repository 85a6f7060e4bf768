//! The order of event ids, as the tabs of a group need it (pure code, tested natively).
//!
//! pulseboard's ids are `<epoch>-<seq>`: the epoch (8 hex digits) changes each time the server
//! starts, the sequence number grows over every topic of one run. Within one epoch, a larger
//! sequence number is a later event of any stream; ids of two epochs cannot be ordered, and the
//! server starts every stream that resumes across epochs with a `reset`. Pages treat ids as
//! opaque; only this module reads them.
//!
//! - [`should_deliver`] is the dedupe rule each tab applies to every event it is handed, from its
//!   own connection, the group's leader or a catch-up: deliver only what is later than the last id
//!   it delivered, so a replay (a new leader resumes a little early) is never shown twice.
//! - [`Replay`] is the leader's bounded memory of recent events, from which a tab joining the group
//!   catches up from its snapshot's id without a connection of its own.

use std::{cmp::Ordering, collections::VecDeque};

/// An event as it came off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireEvent {
    pub id: String,
    pub event_type: String,
    pub data: String,
}

impl WireEvent {
    /// A `reset` made in the tab, exactly as the server would send it.
    pub fn reset(id: &str, reason: &str) -> Self {
        Self {
            id: id.to_string(),
            event_type: crate::streams::names::RESET_EVENT.to_string(),
            data: format!("{{\"reason\":\"{reason}\"}}"),
        }
    }
}

fn parse(id: &str) -> Option<(u32, u64)> {
    let (epoch, seq) = id.split_once('-')?;
    if epoch.len() != 8 || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((u32::from_str_radix(epoch, 16).ok()?, seq.parse().ok()?))
}

/// The order of two ids of one epoch; `None` when they cannot be compared (other epochs, or not
/// ids pulseboard makes).
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    match (parse(a), parse(b)) {
        (Some((ea, sa)), Some((eb, sb))) if ea == eb => Some(sa.cmp(&sb)),
        _ => None,
    }
}

/// The dedupe rule: whether a tab whose last delivered id is `last` delivers the event `id`.
/// Later ids of the same epoch are delivered, earlier or equal ones dropped. Across epochs only a
/// `reset` passes (it is how the server starts the new epoch for a resuming stream); anything
/// else from another epoch is a stale copy from before the switch. An id the order does not know
/// is delivered unless it is the last one again.
pub fn should_deliver(last: Option<&str>, id: &str, is_reset: bool) -> bool {
    let Some(last) = last else { return true };
    match (parse(last), parse(id)) {
        (Some((el, sl)), Some((ei, si))) if el == ei => si > sl,
        (Some(_), Some(_)) => is_reset,
        _ => id != last,
    }
}

/// The earlier of two resume points (where one is `None`, the other; across epochs, `a`).
pub fn earlier<'a>(a: Option<&'a str>, b: Option<&'a str>) -> Option<&'a str> {
    match (a, b) {
        (Some(a), Some(b)) if compare(b, a) == Some(Ordering::Less) => Some(b),
        (Some(a), _) => Some(a),
        (None, b) => b,
    }
}

/// What the leader can give a tab joining from id `after`.
#[derive(Debug, PartialEq, Eq)]
pub enum Catchup {
    /// Every event after `after` (maybe none): the tab needs nothing else.
    Events(Vec<WireEvent>),
    /// `after` is older than the memory reaches: the tab catches up over a connection of its own.
    TooOld,
    /// `after` is of another run of the server: the tab resets, as the server would tell it.
    OtherEpoch,
}

/// The leader's memory of the events its connection delivered: it holds every event after
/// `complete_after` (bounded: the oldest go first, and the bound moves up with them).
#[derive(Debug, Default)]
pub struct Replay {
    events: VecDeque<WireEvent>,
    /// Every event after this id is held. `None` with no events: nothing is known yet.
    complete_after: Option<String>,
    /// With `complete_after` `None`: every event from the first held one on is held.
    from_first: bool,
}

impl Replay {
    /// Most events held.
    pub const CAPACITY: usize = 2048;

    /// Starts over for a connection resuming after `from` (`None`: from live events).
    pub fn restart(&mut self, from: Option<&str>) {
        self.events.clear();
        self.complete_after = from.map(str::to_string);
        self.from_first = from.is_none();
    }

    pub fn push(&mut self, event: WireEvent) {
        if self.events.len() == Self::CAPACITY {
            if let Some(oldest) = self.events.pop_front() {
                self.complete_after = Some(oldest.id);
                self.from_first = false;
            }
        }
        self.events.push_back(event);
    }

    /// The events a tab that delivered up to `after` still needs.
    pub fn since(&self, after: Option<&str>) -> Catchup {
        let Some(after) = after else { return Catchup::Events(Vec::new()) };
        let bound = match (&self.complete_after, self.from_first) {
            (Some(bound), _) => bound.as_str(),
            (None, true) => match self.events.front() {
                Some(first) => first.id.as_str(),
                // Nothing seen yet: what comes next reaches every tab live.
                None => return Catchup::Events(Vec::new()),
            },
            (None, false) => return Catchup::TooOld,
        };
        match compare(after, bound) {
            None if parse(after).is_some() && parse(bound).is_some() => return Catchup::OtherEpoch,
            None => return Catchup::TooOld,
            Some(Ordering::Less) => return Catchup::TooOld,
            Some(_) => {}
        }
        let mut last = after.to_string();
        let mut out = Vec::new();
        for event in &self.events {
            if should_deliver(Some(&last), &event.id, event.event_type == crate::streams::names::RESET_EVENT) {
                last = event.id.clone();
                out.push(event.clone());
            }
        }
        Catchup::Events(out)
    }

    /// The newest id held.
    pub fn newest(&self) -> Option<&str> {
        self.events.back().map(|e| e.id.as_str()).or(self.complete_after.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> WireEvent {
        WireEvent { id: id.to_string(), event_type: "message".to_string(), data: id.to_string() }
    }

    #[test]
    fn dedupe_by_order_within_an_epoch() {
        assert!(should_deliver(None, "0000000a-5", false));
        assert!(should_deliver(Some("0000000a-5"), "0000000a-6", false));
        assert!(!should_deliver(Some("0000000a-6"), "0000000a-6", false));
        assert!(!should_deliver(Some("0000000a-6"), "0000000a-5", false));
        // Numeric, not text order.
        assert!(should_deliver(Some("0000000a-9"), "0000000a-10", false));
    }

    #[test]
    fn across_epochs_only_a_reset_passes() {
        assert!(should_deliver(Some("0000000a-900"), "0000000b-3", true));
        assert!(!should_deliver(Some("0000000b-3"), "0000000a-901", false));
        assert!(should_deliver(Some("not-an-id"), "0000000a-1", false));
        assert!(!should_deliver(Some("x"), "x", false));
    }

    #[test]
    fn earlier_picks_the_older_point() {
        assert_eq!(earlier(Some("0000000a-5"), Some("0000000a-4")), Some("0000000a-4"));
        assert_eq!(earlier(Some("0000000a-4"), Some("0000000a-5")), Some("0000000a-4"));
        assert_eq!(earlier(None, Some("0000000a-5")), Some("0000000a-5"));
        assert_eq!(earlier(Some("0000000a-5"), Some("0000000b-1")), Some("0000000a-5"));
    }

    #[test]
    fn replay_serves_joiners_it_covers() {
        let mut replay = Replay::default();
        replay.restart(Some("0000000a-10"));
        for seq in 11..=14 {
            replay.push(event(&format!("0000000a-{seq}")));
        }
        let ids = |c: Catchup| match c {
            Catchup::Events(events) => events.into_iter().map(|e| e.id).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(ids(replay.since(Some("0000000a-12"))), ["0000000a-13", "0000000a-14"]);
        assert_eq!(ids(replay.since(Some("0000000a-10"))).len(), 4);
        assert!(ids(replay.since(Some("0000000a-20"))).is_empty(), "a tab ahead of the leader needs nothing");
        assert_eq!(replay.since(Some("0000000a-9")), Catchup::TooOld);
        assert_eq!(replay.since(Some("0000000b-9")), Catchup::OtherEpoch);
        assert!(ids(replay.since(None)).is_empty());
        assert_eq!(replay.newest(), Some("0000000a-14"));
    }

    #[test]
    fn replay_bound_moves_up_when_full() {
        let mut replay = Replay::default();
        replay.restart(None);
        assert_eq!(replay.since(Some("0000000a-1")), Catchup::Events(Vec::new()));
        for seq in 1..=(Replay::CAPACITY as u64 + 2) {
            replay.push(event(&format!("0000000a-{seq}")));
        }
        assert_eq!(replay.since(Some("0000000a-1")), Catchup::TooOld);
        let Catchup::Events(events) = replay.since(Some("0000000a-2")) else { panic!() };
        assert_eq!(events.len(), Replay::CAPACITY);
    }

    #[test]
    fn replay_carries_a_reset_into_the_new_epoch() {
        let mut replay = Replay::default();
        replay.restart(Some("0000000a-10"));
        replay.push(event("0000000a-11"));
        replay.push(WireEvent { event_type: "reset".into(), ..event("0000000b-4") });
        replay.push(event("0000000b-5"));
        let Catchup::Events(events) = replay.since(Some("0000000a-10")) else { panic!() };
        assert_eq!(
            events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["0000000a-11", "0000000b-4", "0000000b-5"]
        );
    }
}
