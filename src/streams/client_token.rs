//! Subscribe tokens for the browser session's streams, and what the client hook does with them.
//!
//! Streams of public topics need a token only with `subscribe-requires-token`; a token-bound
//! stream ends with `auth-expired` when its token does. The hook then needs a fresh token without
//! the page knowing: [`stream_token`] (a server function, `POST /api/streams/token`) hands the
//! browser session a short-lived subscribe token (`stream-token-ttl-secs`, public topics only —
//! `private.` ones reach the session by its cookie, never by token), and [`TokenSlot`] (hydrate)
//! holds it per connection: fetched lazily on a 401 or an `auth-expired`, sent as
//! `Authorization: Bearer`, given up after a fresh token was refused too (no retry loop).
//!
//! Any visitor of the app gets such a token, as any visitor sees its pages: the setting keeps
//! clients that are not the app's pages off the raw stream API unless they hold a token.

use crate::request_error::RequestError;
use leptos::prelude::*;

/// The event that ends a stream whose token expired (the server's `context::AUTH_EXPIRED_EVENT`).
pub const AUTH_EXPIRED_EVENT: &str = "auth-expired";

/// A subscribe token for the browser session: public topics, `stream-token-ttl-secs`.
#[server(prefix = "/api/streams", endpoint = "token")]
pub async fn stream_token() -> Result<String, RequestError> {
    use crate::{
        request_error::ErrorKind,
        streams::{auth::Grants, StreamContext},
    };
    let context = expect_context::<StreamContext>();
    let auth = &context.auth;
    let grants = Grants { publish: Vec::new(), subscribe: vec!["*".to_string()] };
    match auth.mint(grants, auth.stream_token_ttl()) {
        Some(Ok(token)) => Ok(token),
        Some(Err(err)) => Err(RequestError::new(ErrorKind::Internal, err.to_string())),
        None => Err(RequestError::new(
            ErrorKind::Forbidden,
            "this server verifies tokens signed elsewhere (jwt-public-key) and hands out none",
        )),
    }
}

#[cfg(feature = "hydrate")]
pub use browser::TokenSlot;

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::{Cell, RefCell};

    /// One connection's token.
    #[derive(Default)]
    pub struct TokenSlot {
        token: RefCell<Option<String>>,
        /// The token was fetched since the last accepted request: a 401 now is final.
        untried: Cell<bool>,
    }

    impl TokenSlot {
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
            match super::stream_token().await {
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
