//! The subscribe token of one connection, and where fresh ones come from.
//!
//! Streams of public topics need a token only with `subscribe-requires-token`; a token-bound
//! stream ends with `auth-expired` when its token does. The hook then needs a fresh token without
//! the page knowing. Minting one is the app's business (a server function answering with the
//! app's own error), so this layer only names the need: the app provides a [`TokenSource`] in the
//! context, and each connection's `TokenSlot` (hydrate) asks it lazily on a 401 or an
//! `auth-expired`, sends the token as `Authorization: Bearer`, and gives up after a fresh token
//! was refused too (no retry loop). Without a source, a stream that needs a token stops, as for
//! any 4xx.

use futures::future::LocalBoxFuture;
use leptos::prelude::*;

/// How the hook gets a fresh subscribe token: a function returning the token, or a sentence on
/// why there is none (logged in the browser console).
#[derive(Clone, Copy)]
pub struct TokenSource(pub fn() -> LocalBoxFuture<'static, Result<String, String>>);

impl TokenSource {
    /// Makes `fetch` the source of the streams opened below the current component.
    pub fn provide(fetch: fn() -> LocalBoxFuture<'static, Result<String, String>>) {
        provide_context(Self(fetch));
    }
}

#[cfg(feature = "hydrate")]
pub(super) use browser::TokenSlot;

#[cfg(feature = "hydrate")]
mod browser {
    use super::TokenSource;
    use std::cell::{Cell, RefCell};

    /// One connection's token.
    pub struct TokenSlot {
        source: Option<TokenSource>,
        token: RefCell<Option<String>>,
        /// The token was fetched since the last accepted request: a 401 now is final.
        untried: Cell<bool>,
    }

    impl TokenSlot {
        /// A slot filled from the context's [`TokenSource`], if there is one.
        pub fn from_context() -> Self {
            Self { source: leptos::prelude::use_context(), token: RefCell::new(None), untried: Cell::new(false) }
        }

        /// The `Authorization` value to send, if the connection holds a token.
        pub fn authorization(&self) -> Option<String> {
            self.token.borrow().as_ref().map(|token| format!("Bearer {token}"))
        }

        /// The server accepted the request.
        pub fn accepted(&self) {
            self.untried.set(false);
        }

        /// After a 401 or an `auth-expired`: fetches a fresh token. `false` when a fresh token
        /// was refused already or none can be had (the stream then stops, as for any 4xx).
        pub async fn refresh(&self) -> bool {
            if self.untried.get() {
                return false;
            }
            let Some(TokenSource(fetch)) = self.source else {
                leptos::logging::warn!("no stream token: the app provides no token source");
                return false;
            };
            match fetch().await {
                Ok(token) => {
                    *self.token.borrow_mut() = Some(token);
                    self.untried.set(true);
                    true
                }
                Err(err) => {
                    leptos::logging::warn!("no stream token: {err}");
                    false
                }
            }
        }
    }
}
