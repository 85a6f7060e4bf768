//! What the inspector shows of a topic: its newest events, oldest first like a log, and what
//! arrived while the reader paused the view.
//!
//! Invariants: `shown` never holds more than [`SHOWN_EVENTS`]; while paused nothing is added to
//! it, arrivals are held (the newest [`SHOWN_EVENTS`] of them) and all are counted; resuming
//! appends the held ones in arrival order, so the view after a pause is what it would have been
//! without one.

use super::api::{InspectedEvent, SHOWN_EVENTS};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventLog {
    shown: Vec<InspectedEvent>,
    paused: bool,
    held: Vec<InspectedEvent>,
    /// Events that arrived since the pause, held ones and any that fell out of `held`.
    held_count: usize,
}

impl EventLog {
    /// A log showing `events` (oldest first; only the newest [`SHOWN_EVENTS`] are kept).
    pub fn new(events: Vec<InspectedEvent>) -> Self {
        let mut log = Self::default();
        log.append(events);
        log
    }

    pub fn shown(&self) -> &[InspectedEvent] {
        &self.shown
    }

    pub fn paused(&self) -> bool {
        self.paused
    }

    /// How many events arrived since the view was paused (0 while it runs).
    pub fn held_count(&self) -> usize {
        self.held_count
    }

    /// An event as it arrives: shown, or held while paused.
    pub fn push(&mut self, event: InspectedEvent) {
        if self.paused {
            self.held_count += 1;
            self.held.push(event);
            trim_front(&mut self.held);
        } else {
            self.shown.push(event);
            trim_front(&mut self.shown);
        }
    }

    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Shows what was held, after what was shown, and runs again.
    pub fn resume(&mut self) {
        self.paused = false;
        self.held_count = 0;
        let held = std::mem::take(&mut self.held);
        self.append(held);
    }

    fn append(&mut self, events: Vec<InspectedEvent>) {
        self.shown.extend(events);
        trim_front(&mut self.shown);
    }
}

/// Drops the oldest events beyond [`SHOWN_EVENTS`].
fn trim_front(events: &mut Vec<InspectedEvent>) {
    let excess = events.len().saturating_sub(SHOWN_EVENTS);
    events.drain(..excess);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: usize) -> InspectedEvent {
        InspectedEvent { id: format!("1-{n}"), event_type: "message".into(), data: n.to_string() }
    }

    fn data(log: &EventLog) -> Vec<String> {
        log.shown().iter().map(|e| e.data.clone()).collect()
    }

    #[test]
    fn a_running_log_shows_each_event_at_its_end() {
        let mut log = EventLog::new(vec![event(1), event(2)]);
        log.push(event(3));
        assert_eq!(data(&log), ["1", "2", "3"]);
        assert_eq!(log.held_count(), 0);
    }

    #[test]
    fn a_paused_log_counts_arrivals_and_shows_them_on_resume() {
        let mut log = EventLog::new(vec![event(1)]);
        log.pause();
        log.push(event(2));
        log.push(event(3));
        assert_eq!(data(&log), ["1"]);
        assert_eq!(log.held_count(), 2);
        log.resume();
        assert!(!log.paused());
        assert_eq!(data(&log), ["1", "2", "3"]);
        assert_eq!(log.held_count(), 0);
        log.push(event(4));
        assert_eq!(data(&log), ["1", "2", "3", "4"]);
    }

    #[test]
    fn the_log_keeps_the_newest_events_paused_or_not() {
        let mut log = EventLog::new((0..SHOWN_EVENTS + 5).map(event).collect());
        assert_eq!(log.shown().len(), SHOWN_EVENTS);
        assert_eq!(log.shown()[0].data, "5");
        log.pause();
        for n in 1000..1000 + SHOWN_EVENTS + 3 {
            log.push(event(n));
        }
        assert_eq!(log.held_count(), SHOWN_EVENTS + 3);
        log.resume();
        assert_eq!(log.shown().len(), SHOWN_EVENTS);
        assert_eq!(log.shown()[0].data, "1003");
        assert_eq!(log.shown().last().unwrap().data, (1000 + SHOWN_EVENTS + 2).to_string());
    }
}
