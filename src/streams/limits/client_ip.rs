//! Who the client is, for per-client limits: the peer address of the connection, or the address
//! a trusted proxy names in `X-Forwarded-For`.
//!
//! Invariants: `X-Forwarded-For` is read only when the peer is one of the configured
//! `trusted-proxies` (anyone else could write any address there). The header is read from the
//! right, as proxies append to it: hops that are themselves trusted proxies are skipped, the first
//! other address is the client. An entry that is not an address ends the walk at the hop before
//! it (the last address a trusted party vouched for), so a malformed header can only make the
//! client look like its proxy, never like someone it chose. IPv4-mapped IPv6 addresses count as
//! the IPv4 address. Networks are parsed by `ipnet`.

use axum::http::{HeaderMap, HeaderValue};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The addresses and networks allowed to name the client in `X-Forwarded-For`.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
}

impl TrustedProxies {
    /// Parses `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`; an entry that is neither is refused
    /// with a message naming it.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let networks = entries
            .iter()
            .map(|entry| {
                let text = entry.trim();
                text.parse::<IpNet>()
                    .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{entry:?} is not an IP address or a network such as 10.0.0.0/8"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { networks })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.networks.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: `peer`, or what a trusted `peer` says in `X-Forwarded-For`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        // Several header lines are one list, in order (RFC 9110, 5.3).
        let lines: Vec<&HeaderValue> = headers.get_all("x-forwarded-for").iter().collect();
        for line in lines.into_iter().rev() {
            let Ok(text) = line.to_str() else { return client };
            for entry in text.rsplit(',') {
                let Some(hop) = parse_hop(entry) else { return client };
                client = hop;
                if !self.contains(hop) {
                    return hop;
                }
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip =
        entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip())).or_else(
            || entry.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).and_then(|v6| v6.parse().ok()),
        )?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(trusted.client_ip(ip("203.0.113.9"), &xff(&["198.51.100.1"])), ip("203.0.113.9"));
        assert_eq!(TrustedProxies::default().client_ip(ip("127.0.0.1"), &xff(&["1.2.3.4"])), ip("127.0.0.1"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_rightmost_untrusted_first() {
        let trusted = proxies(&["10.0.0.0/8", "192.0.2.7"]);
        let peer = ip("10.1.2.3");
        // What a client wrote itself (the leftmost entries) does not count.
        assert_eq!(trusted.client_ip(peer, &xff(&["6.6.6.6, 198.51.100.1"])), ip("198.51.100.1"));
        // Hops through further trusted proxies are skipped, across header lines too.
        assert_eq!(
            trusted.client_ip(peer, &xff(&["6.6.6.6, 198.51.100.1", "192.0.2.7, 10.9.9.9"])),
            ip("198.51.100.1")
        );
        // Ports and brackets are allowed; IPv4-mapped IPv6 counts as IPv4.
        assert_eq!(trusted.client_ip(peer, &xff(&["198.51.100.2:4711"])), ip("198.51.100.2"));
        assert_eq!(trusted.client_ip(peer, &xff(&["[2001:db8::1]:443"])), ip("2001:db8::1"));
        assert_eq!(trusted.client_ip(peer, &xff(&["::ffff:198.51.100.3"])), ip("198.51.100.3"));
        assert_eq!(trusted.client_ip(ip("::ffff:10.0.0.1"), &xff(&["198.51.100.4"])), ip("198.51.100.4"));
        // No header: the proxy itself; only trusted hops: the leftmost of them.
        assert_eq!(trusted.client_ip(peer, &HeaderMap::new()), peer);
        assert_eq!(trusted.client_ip(peer, &xff(&["10.5.5.5"])), ip("10.5.5.5"));
    }

    #[test]
    fn a_malformed_header_stops_at_the_last_address_a_trusted_hop_gave() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let peer = ip("10.1.2.3");
        assert_eq!(trusted.client_ip(peer, &xff(&["not-an-ip"])), peer);
        assert_eq!(trusted.client_ip(peer, &xff(&["198.51.100.1, garbage"])), peer);
        assert_eq!(trusted.client_ip(peer, &xff(&["garbage, 10.7.7.7"])), ip("10.7.7.7"));
        assert_eq!(trusted.client_ip(peer, &xff(&[""])), peer);
        assert_eq!(trusted.client_ip(peer, &xff(&["1.2.3.4,,5.6.7.8"])), ip("5.6.7.8"));
        let mut binary = HeaderMap::new();
        binary.insert("x-forwarded-for", HeaderValue::from_bytes(b"\xff1.2.3.4").unwrap());
        assert_eq!(trusted.client_ip(peer, &binary), peer);
    }

    #[test]
    fn entries_that_are_not_networks_are_refused_by_name() {
        let err = TrustedProxies::parse(&["10.0.0.0/8".into(), "proxy.local".into()]).unwrap_err();
        assert!(err.contains("\"proxy.local\""), "{err}");
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(proxies(&["::1", "fd00::/8"]).contains(ip("fd00::5")));
    }
}
