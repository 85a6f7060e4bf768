//! Connection state of the page's live streams, and the header indicator that shows it.

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
}

impl ConnectionRegistry {
    pub fn provide() -> Self {
        let registry = Self { states: RwSignal::new(BTreeMap::new()), next: StoredValue::new(0) };
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
}

/// The header's indicator: "live", "reconnecting", ... or "idle" on pages without streams.
#[component]
pub fn ConnectionIndicator() -> impl IntoView {
    let registry = use_context::<ConnectionRegistry>().unwrap_or_else(ConnectionRegistry::provide);
    let label = move || registry.overall().map(ConnectionState::label).unwrap_or("idle");
    view! {
        <span class="connection" data-state=label role="status" aria-live="polite" title="Live updates">
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
