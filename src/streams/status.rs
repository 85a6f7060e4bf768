//! Connection state of the page's live streams, and the header indicator that shows it.
//!
//! The indicator also shows "degraded" (with the reason as its title) while the server says it
//! cannot do its work fully (its event hub's backend is down): whoever watches the server's
//! readiness sets that with [`ConnectionRegistry::set_degraded`]; this layer only shows it. A
//! connection problem of the page's own streams (reconnecting, offline) shows before it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where one stream stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ConnectionState {
    /// Receiving events.
    Live,
    /// The tab is hidden: the stream is closed and resumes where it stopped when shown again.
    Paused,
    /// Opening the first connection.
    Connecting,
    /// The connection dropped; retrying with backoff, will resume after the last event seen.
    Reconnecting,
    /// Gave up (the server refused the stream or the browser is offline).
    Offline,
}

impl ConnectionState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Paused => "paused",
            Self::Connecting => "connecting",
            Self::Reconnecting => "reconnecting",
            Self::Offline => "offline",
        }
    }

    /// The state of `label` (as [`label`](Self::label) writes it), e.g. posted by another tab.
    pub fn from_label(label: &str) -> Option<Self> {
        [Self::Live, Self::Paused, Self::Connecting, Self::Reconnecting, Self::Offline]
            .into_iter()
            .find(|state| state.label() == label)
    }
}

/// All streams of the page, so the header can show the worst state among them.
#[derive(Clone, Copy)]
pub struct ConnectionRegistry {
    states: RwSignal<BTreeMap<u64, ConnectionState>>,
    next: StoredValue<u64>,
    degraded: RwSignal<Option<String>>,
}

impl ConnectionRegistry {
    pub fn provide() -> Self {
        let registry =
            Self { states: RwSignal::new(BTreeMap::new()), next: StoredValue::new(0), degraded: RwSignal::new(None) };
        provide_context(registry);
        registry
    }

    /// Registers a stream; returns its key.
    pub fn register(&self, state: ConnectionState) -> u64 {
        let key = self.next.get_value();
        self.next.set_value(key + 1);
        self.states.update(|states| {
            states.insert(key, state);
        });
        key
    }

    pub fn set(&self, key: u64, state: ConnectionState) {
        self.states.update(|states| {
            states.insert(key, state);
        });
    }

    pub fn remove(&self, key: u64) {
        self.states.update(|states| {
            states.remove(&key);
        });
    }

    /// The worst state among the page's streams; `None` when the page has none.
    pub fn overall(&self) -> Option<ConnectionState> {
        self.states.with(|states| states.values().copied().max())
    }

    /// Why the server is degraded, or `None` once it is not (set by a readiness watch).
    pub fn set_degraded(&self, reason: Option<String>) {
        if self.degraded.with_untracked(|now| *now != reason) {
            self.degraded.set(reason);
        }
    }

    pub fn degraded(&self) -> Option<String> {
        self.degraded.get()
    }

    pub fn is_degraded_untracked(&self) -> bool {
        self.degraded.with_untracked(Option::is_some)
    }

    /// What the indicator says: the streams' worst state, "degraded" while the server is and
    /// the streams are live (or there are none), "idle" on a page without streams.
    pub fn label(&self) -> &'static str {
        match (self.overall(), self.degraded.with(Option::is_some)) {
            (None | Some(ConnectionState::Live), true) => "degraded",
            (Some(state), _) => state.label(),
            (None, false) => "idle",
        }
    }
}

/// The header's indicator: "live", "reconnecting", ... or "idle" on pages without streams.
#[component]
pub fn ConnectionIndicator() -> impl IntoView {
    let registry = use_context::<ConnectionRegistry>().unwrap_or_else(ConnectionRegistry::provide);
    let label = move || registry.label();
    let title =
        move || registry.degraded().map_or_else(|| "Live updates".to_string(), |why| format!("Degraded: {why}"));
    view! {
        <span class="connection" data-state=label role="status" aria-live="polite" title=title>
            <span class="dot" aria-hidden="true"></span>
            <span class="connection-label">{label}</span>
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_state_wins() {
        let owner = Owner::new();
        owner.with(|| {
            let registry = ConnectionRegistry::provide();
            assert_eq!(registry.overall(), None);
            let a = registry.register(ConnectionState::Live);
            let b = registry.register(ConnectionState::Live);
            assert_eq!(registry.overall(), Some(ConnectionState::Live));
            registry.set(b, ConnectionState::Reconnecting);
            assert_eq!(registry.overall(), Some(ConnectionState::Reconnecting));
            registry.set(a, ConnectionState::Offline);
            assert_eq!(registry.overall(), Some(ConnectionState::Offline));
            registry.remove(a);
            registry.remove(b);
            assert_eq!(registry.overall(), None);
            assert_eq!(registry.label(), "idle");
        });
    }

    #[test]
    fn degraded_shows_over_live_but_not_over_a_connection_problem() {
        let owner = Owner::new();
        owner.with(|| {
            let registry = ConnectionRegistry::provide();
            let a = registry.register(ConnectionState::Live);
            assert_eq!(registry.label(), "live");
            registry.set_degraded(Some("Redis at 127.0.0.1:6379 did not answer".into()));
            assert_eq!(registry.label(), "degraded");
            registry.set(a, ConnectionState::Reconnecting);
            assert_eq!(registry.label(), "reconnecting");
            registry.set(a, ConnectionState::Live);
            registry.set_degraded(None);
            assert_eq!(registry.label(), "live");
            registry.remove(a);
            registry.set_degraded(Some("down".into()));
            assert_eq!(registry.label(), "degraded");
        });
    }

    #[test]
    fn every_state_is_read_back_from_its_label() {
        use ConnectionState::*;
        for state in [Live, Paused, Connecting, Reconnecting, Offline] {
            assert_eq!(ConnectionState::from_label(state.label()), Some(state));
        }
        assert_eq!(ConnectionState::from_label("idle"), None);
    }
}
