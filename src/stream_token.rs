//! The browser session's subscribe token: the server function `POST /api/streams/token`, which
//! the stream hook calls (through the [`TokenSource`] the app provides) when a stream needs a
//! token.
//!
//! It hands the browser session a short-lived subscribe token (`stream-token-ttl-secs`, public
//! topics only — `private.` ones reach the session by its cookie, never by token). It lives above
//! the stream layer because, like every server function, it answers with the app's
//! [`RequestError`]; the stream layer only mints (`Auth::mint`) and asks for a source.
//!
//! Any visitor of the app gets such a token, as any visitor sees its pages: the setting keeps
//! clients that are not the app's pages off the raw stream API unless they hold a token. Server
//! code that reads a topic *for* the session (the inspector's snapshot, rendered before the page
//! can fetch a token) holds the same grant through [`session_token`], so the first paint shows
//! what the session's stream will, and nothing more.

use crate::{json_text::JsonText, request_error::RequestError, streams::client::TokenSource};
use futures::future::LocalBoxFuture;
use leptos::prelude::*;

/// A subscribe token for the browser session: public topics, `stream-token-ttl-secs`.
#[server(output = JsonText, prefix = "/api/streams", endpoint = "token")]
pub async fn stream_token() -> Result<String, RequestError> {
    session_token(&expect_context::<crate::streams::StreamContext>().auth)
}

/// The browser session's subscribe token: public topics (`*`, which reaches no `private.` topic),
/// `stream-token-ttl-secs`. Refused (403) when the server only verifies tokens signed elsewhere.
#[cfg(feature = "ssr")]
pub fn session_token(auth: &crate::streams::auth::Auth) -> Result<String, RequestError> {
    use crate::{request_error::ErrorKind, streams::auth::Grants};
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

/// Makes [`stream_token`] the token source of every stream the app's pages open.
pub fn provide_token_source() {
    TokenSource::provide(fetch_stream_token);
}

fn fetch_stream_token() -> LocalBoxFuture<'static, Result<String, String>> {
    Box::pin(async { stream_token().await.map_err(|err| err.to_string()) })
}
