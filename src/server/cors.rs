//! Cross-origin requests: which web origins besides the site's own may call the server from a
//! browser, and the guard that keeps every other one from changing state (server only).
//!
//! - `cors-origins` lists them (`scheme://host[:port]`, exactly as browsers send `Origin`). Empty
//!   (the default): same origin only. Each value is checked at startup; `*`, `null`, paths and
//!   anything else that is not an origin are refused with a message naming the value.
//! - tower-http's `CorsLayer` answers the listed origins: preflights for GET and POST with
//!   `Last-Event-ID`, `Authorization` and `Content-Type`, and `Access-Control-Allow-Origin` echoing
//!   the one origin plus `Access-Control-Allow-Credentials: true` (for that listed origin only,
//!   so never with `*`).
//! - [`guard`] runs before it: a preflight from an origin that is not listed gets 403 with a
//!   message and no CORS header at all; a state-changing request (any method but GET, HEAD and
//!   OPTIONS: the jobs' start, cancel and retry, and every other server function that posts)
//!   whose `Origin` is present and is neither the site's own nor listed gets 403 before it runs.
//!
//! Requests without `Origin` pass: browsers send it on every cross-origin request and on every
//! POST (fetch and forms alike), so its absence means a same-origin navigation or a client that
//! is not a browser (curl, scripts), which carries no victim's cookie and is not what CSRF is
//! about. `Origin: null` (sandboxed frames, `file:` pages) is present and never listed: refused.
//!
//! The site's own origin is the one the request was addressed to: the `Host` header (the
//! `:authority` over HTTP/2) or `X-Forwarded-Host`, which a reverse proxy sets when it rewrites
//! `Host`. Only the host and port are compared: behind a proxy that terminates TLS the server
//! cannot know the scheme. Trusting `X-Forwarded-Host` is safe here: a page cannot set it (nor
//! forge `Host`) on a cross-origin request without a preflight, and preflights from unlisted
//! origins are refused. A proxy that rewrites `Host` and sets neither makes same-origin posts look
//! foreign: pass `Host` through or list the public origin.

use crate::request_error::{ErrorKind, RequestError};
use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderName, HeaderValue, Method, Uri},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Deserializer, Serialize};
use std::{sync::Arc, time::Duration};
use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};

/// How long browsers may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The CORS settings: `cors-origins` in `[pulseboard]`, env `PULSEBOARD_CORS_ORIGINS` (commas
/// between origins).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CorsSettings {
    /// Origins (besides the site's own) whose pages may call the server, with credentials.
    #[serde(rename = "cors-origins", deserialize_with = "origin_list")]
    pub origins: Vec<String>,
}

impl CorsSettings {
    /// One message per value that is not an origin.
    pub fn validate(&self) -> Vec<String> {
        self.origins
            .iter()
            .filter_map(|origin| normalize(origin).err())
            .map(|problem| format!("key `pulseboard.cors-origins`: {problem}"))
            .collect()
    }
}

/// A TOML list, or one string of comma-separated origins (as an environment variable gives it).
fn origin_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        Many(Vec<String>),
        Joined(String),
    }
    Ok(match List::deserialize(deserializer)? {
        List::Many(list) => list,
        List::Joined(text) => {
            text.split(',').map(str::trim).filter(|origin| !origin.is_empty()).map(str::to_string).collect()
        }
    })
}

/// `text` as browsers write an origin (`https://app.example`, `http://127.0.0.1:8080`): lower
/// case, no default port; or why it is not one.
fn normalize(text: &str) -> Result<String, String> {
    let text = text.trim();
    let refuse = |why: &str| Err(format!("{text:?} {why}"));
    if text == "*" {
        return refuse("is not allowed: list each origin (credentials are only ever sent to listed ones)");
    }
    let Ok(uri) = text.parse::<Uri>() else {
        return refuse("is not an origin; write scheme://host[:port], e.g. \"https://app.example\"");
    };
    let scheme = uri.scheme_str().map(str::to_ascii_lowercase);
    let (Some(scheme @ ("http" | "https")), Some(authority)) = (scheme.as_deref(), uri.authority()) else {
        return refuse("is not an origin; write scheme://host[:port] with http or https, e.g. \"https://app.example\"");
    };
    if authority.as_str().contains('@') {
        return refuse("is not an origin: it has a user name; write scheme://host[:port]");
    }
    if !text.ends_with(authority.as_str()) {
        return refuse("is not an origin: it has a path (even a trailing /); write scheme://host[:port] only");
    }
    Ok(format!("{scheme}://{}", authority_key(scheme, authority.as_str())))
}

/// `host[:port]` in lower case, without the scheme's default port.
fn authority_key(scheme: &str, authority: &str) -> String {
    let authority = authority.to_ascii_lowercase();
    let default = if scheme == "https" { ":443" } else { ":80" };
    authority.strip_suffix(default).map(str::to_string).unwrap_or(authority)
}

/// The listed origins, normalized, ready to compare with requests' `Origin` headers.
#[derive(Debug, Clone, Default)]
pub struct AllowedOrigins {
    list: Arc<[HeaderValue]>,
}

impl AllowedOrigins {
    /// The valid origins of `settings` (startup has refused the invalid ones, see
    /// [`CorsSettings::validate`]).
    pub fn new(settings: &CorsSettings) -> Self {
        let list = settings
            .origins
            .iter()
            .filter_map(|origin| normalize(origin).ok())
            .filter_map(|origin| HeaderValue::from_str(&origin).ok())
            .collect();
        Self { list }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether `origin` (a request's `Origin` header) is listed.
    pub fn allows(&self, origin: &HeaderValue) -> bool {
        self.list.iter().any(|listed| listed.as_bytes().eq_ignore_ascii_case(origin.as_bytes()))
    }

    /// tower-http's layer for the listed origins, or `None` when there are none (same origin
    /// only: responses then carry no CORS header at all).
    pub fn layer(&self) -> Option<CorsLayer> {
        if self.is_empty() {
            return None;
        }
        let credentials = self.clone();
        Some(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(self.list.iter().cloned()))
                .allow_credentials(AllowCredentials::predicate(move |origin, _| credentials.allows(origin)))
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([
                    HeaderName::from_static("last-event-id"),
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::ACCEPT,
                ])
                .max_age(PREFLIGHT_MAX_AGE),
        )
    }
}

/// Whether `origin` is the site the request was addressed to (see the module documentation).
fn is_own(origin: &HeaderValue, uri: &Uri, headers: &HeaderMap) -> bool {
    let Some(origin) = origin.to_str().ok().and_then(|text| normalize(text).ok()) else { return false };
    let Some((scheme, authority)) = origin.split_once("://") else { return false };
    let forwarded = headers
        .get("x-forwarded-host")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .map(str::trim);
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok());
    [uri.authority().map(|a| a.as_str()), host, forwarded]
        .into_iter()
        .flatten()
        .any(|site| authority_key(scheme, site.trim()) == authority)
}

/// Refuses preflights from unlisted origins and state-changing requests from foreign ones (403).
pub async fn guard(State(allowed): State<AllowedOrigins>, request: Request, next: Next) -> Response {
    let Some(origin) = request.headers().get(header::ORIGIN) else { return next.run(request).await };
    let method = request.method();
    let preflight = method == Method::OPTIONS && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if preflight && !allowed.allows(origin) {
        return refuse(origin, "may not call this server from a browser");
    }
    if !safe && !allowed.allows(origin) && !is_own(origin, request.uri(), request.headers()) {
        return refuse(origin, "may not change anything on this server");
    }
    next.run(request).await
}

fn refuse(origin: &HeaderValue, what: &str) -> Response {
    let origin = String::from_utf8_lossy(origin.as_bytes());
    RequestError::new(
        ErrorKind::Forbidden,
        format!(
            "pages from origin {origin:?} {what}: it is neither this site nor listed in cors-origins \
             (PULSEBOARD_CORS_ORIGINS)"
        ),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load;
    use std::path::Path;

    #[test]
    fn origins_are_normalized_or_refused_with_the_value() {
        assert_eq!(normalize("https://App.Example").unwrap(), "https://app.example");
        assert_eq!(normalize("https://app.example:443").unwrap(), "https://app.example");
        assert_eq!(normalize("http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080");
        assert_eq!(normalize(" http://localhost:80 ").unwrap(), "http://localhost");
        for (bad, says) in [
            ("*", "list each origin"),
            ("null", "scheme://host"),
            ("app.example", "scheme://host"),
            ("ftp://app.example", "http or https"),
            ("https://app.example/", "path"),
            ("https://app.example/x", "path"),
            ("https://app.example?q=1", "path"),
            ("https://me@app.example", "user name"),
            ("https://", "not an origin"),
        ] {
            let problem = normalize(bad).unwrap_err();
            assert!(problem.contains(says) && problem.contains(&format!("{:?}", bad.trim())), "{bad}: {problem}");
        }
        let settings = CorsSettings { origins: vec!["https://ok.example".into(), "*".into()] };
        let problems = settings.validate();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("key `pulseboard.cors-origins`: \"*\""), "{problems:?}");
    }

    #[test]
    fn a_list_or_a_comma_separated_string() {
        let read = |toml: &str| toml::from_str::<CorsSettings>(toml).unwrap().origins;
        assert_eq!(read(r#"cors-origins = ["https://a.example", "https://b.example"]"#).len(), 2);
        assert_eq!(
            read(r#"cors-origins = "https://a.example, https://b.example,""#),
            ["https://a.example", "https://b.example"]
        );
        assert!(read(r#"cors-origins = """#).is_empty());
    }

    #[test]
    fn the_own_origin_is_the_addressed_host() {
        let origin = |text: &str| HeaderValue::from_str(text).unwrap();
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, HeaderValue::from_str(value).unwrap());
            }
            map
        };
        let plain: Uri = "/api/jobs/start".parse().unwrap();
        let host = headers(&[("host", "app.example:3000")]);
        assert!(is_own(&origin("http://app.example:3000"), &plain, &host));
        assert!(is_own(&origin("https://APP.example:3000"), &plain, &host));
        assert!(!is_own(&origin("http://evil.example:3000"), &plain, &host));
        assert!(!is_own(&origin("http://app.example"), &plain, &host), "another port is another origin");
        assert!(!is_own(&origin("null"), &plain, &host));
        // Default ports, HTTP/2's :authority, and a proxy that rewrote Host.
        assert!(is_own(&origin("https://app.example"), &plain, &headers(&[("host", "app.example:443")])));
        let h2: Uri = "https://app.example/api/jobs/start".parse().unwrap();
        assert!(is_own(&origin("https://app.example"), &h2, &HeaderMap::new()));
        let proxied = headers(&[("host", "127.0.0.1:3000"), ("x-forwarded-host", "app.example, inner")]);
        assert!(is_own(&origin("https://app.example"), &plain, &proxied));
        assert!(!is_own(&origin("https://inner"), &plain, &proxied));
    }

    // figment's Jail hands each test closure its own `figment::Error` result type.
    #[allow(clippy::result_large_err)]
    #[test]
    fn cors_origins_from_file_or_comma_separated_env_and_bad_ones_refused() {
        figment::Jail::expect_with(|jail| {
            assert!(load(None).unwrap().pulseboard.cors.origins.is_empty(), "same origin only by default");
            jail.create_file("cors.toml", "[pulseboard]\ncors-origins = [\"https://app.example\"]\n")?;
            let settings = load(Some(Path::new("cors.toml"))).unwrap();
            assert_eq!(settings.pulseboard.cors.origins, ["https://app.example"]);
            jail.set_env("PULSEBOARD_CORS_ORIGINS", "https://a.example,http://127.0.0.1:8080");
            let settings = load(Some(Path::new("cors.toml"))).unwrap();
            assert_eq!(settings.pulseboard.cors.origins, ["https://a.example", "http://127.0.0.1:8080"]);
            jail.set_env("PULSEBOARD_CORS_ORIGINS", "*");
            let message = load(None).unwrap_err().to_string();
            assert!(message.contains("cors-origins") && message.contains("\"*\""), "{message}");
            jail.set_env("PULSEBOARD_CORS_ORIGINS", "https://a.example/");
            let message = load(None).unwrap_err().to_string();
            assert!(message.contains("cors-origins") && message.contains("path"), "{message}");
            Ok(())
        });
    }
}
