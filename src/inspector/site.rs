//! The address of this site as the request that asked for a page reached it (server only): what
//! the inspector's copyable `curl` command names, so it works as pasted.
//!
//! The host is the one the request was addressed to: `X-Forwarded-Host` (a reverse proxy that
//! rewrites `Host` sets it), else the `:authority` of an HTTP/2 request, else `Host`, else the
//! address the server listens on. The scheme is `X-Forwarded-Proto` (a proxy that terminates TLS
//! sets it), else `https` when the server itself speaks TLS, else `http`. A header value that is
//! no plain `host[:port]` (user info, a path, spaces) is passed over rather than shown.

use http::{header, uri::Authority, HeaderMap, Uri};
use std::net::SocketAddr;

/// `scheme://host[:port]` of the site as `headers` and `uri` address it.
pub fn site_url(headers: &HeaderMap, uri: &Uri, tls: bool, listening: SocketAddr) -> String {
    let first = |name: &str| {
        headers.get(name).and_then(|value| value.to_str().ok()).and_then(|value| value.split(',').next()).map(str::trim)
    };
    let scheme = match first("x-forwarded-proto").map(str::to_ascii_lowercase).as_deref() {
        Some("https") => "https",
        Some("http") => "http",
        _ if tls => "https",
        _ => "http",
    };
    let host = [first("x-forwarded-host"), uri.authority().map(Authority::as_str), first(header::HOST.as_str())]
        .into_iter()
        .flatten()
        .find(|candidate| plain_authority(candidate))
        .map_or_else(|| listening.to_string(), str::to_string);
    format!("{scheme}://{host}")
}

/// Whether `text` is `host[:port]` and nothing else.
fn plain_authority(text: &str) -> bool {
    !text.is_empty() && !text.contains('@') && text.parse::<Authority>().is_ok_and(|a| a.as_str() == text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        map
    }

    const LISTENING: &str = "127.0.0.1:3000";

    fn site(pairs: &[(&str, &str)], uri: &str, tls: bool) -> String {
        site_url(&headers(pairs), &uri.parse().unwrap(), tls, LISTENING.parse().unwrap())
    }

    #[test]
    fn the_host_header_names_the_site() {
        assert_eq!(site(&[("host", "pulse.example:8080")], "/inspect", false), "http://pulse.example:8080");
        assert_eq!(site(&[("host", "[::1]:3000")], "/inspect", false), "http://[::1]:3000");
    }

    #[test]
    fn over_tls_the_scheme_is_https() {
        assert_eq!(site(&[("host", "pulse.example")], "/inspect", true), "https://pulse.example");
    }

    #[test]
    fn http2_names_the_site_in_its_authority() {
        assert_eq!(site(&[], "https://pulse.example:8443/inspect", true), "https://pulse.example:8443");
    }

    #[test]
    fn a_proxy_names_the_public_host_and_scheme() {
        let proxied =
            [("host", "127.0.0.1:3000"), ("x-forwarded-host", "app.example, inner"), ("x-forwarded-proto", "HTTPS")];
        assert_eq!(site(&proxied, "/inspect", false), "https://app.example");
        assert_eq!(site(&[("host", "a.example"), ("x-forwarded-proto", "gopher")], "/", true), "https://a.example");
    }

    #[test]
    fn values_that_are_no_plain_host_are_passed_over() {
        assert_eq!(
            site(&[("host", "a.example"), ("x-forwarded-host", "evil@b.example")], "/", false),
            "http://a.example"
        );
        assert_eq!(site(&[("host", "a b")], "/", false), format!("http://{LISTENING}"));
        assert_eq!(site(&[], "/", false), format!("http://{LISTENING}"));
    }
}
