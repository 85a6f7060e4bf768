//! Publishes per second per publisher: a token bucket per key (`governor`'s keyed GCRA, which
//! admits exactly what a token bucket of `burst` tokens refilled at `per_second` admits).
//!
//! The key is one argument, [`RateKey`]: today the bearer token a request presents (only its
//! SHA-256 is kept) or else the client IP; a verified token identity can take its place without
//! touching the limiter. Keys whose bucket has refilled are dropped now and then, so the table
//! holds only recent publishers.

use axum::http::{header, HeaderMap};
use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota};
use sha2::{Digest, Sha256};
use std::{
    net::IpAddr,
    num::NonZeroU32,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

/// Who a publish counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    /// The SHA-256 of the bearer token presented.
    Token([u8; 32]),
    /// No token: the client's address.
    Ip(IpAddr),
}

impl RateKey {
    /// The bearer token in `Authorization` (hashed), or else `client`.
    pub fn of_request(headers: &HeaderMap, client: IpAddr) -> Self {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
            .map(|(_, token)| token.trim());
        match token {
            Some(token) => Self::Token(Sha256::digest(token.as_bytes()).into()),
            None => Self::Ip(client),
        }
    }
}

/// How often the table is swept of keys whose bucket is full again.
const SWEEP_EVERY: u64 = 4096;

pub struct PublishRate {
    limiter: DefaultKeyedRateLimiter<RateKey>,
    checks: AtomicU64,
}

impl PublishRate {
    /// `per_second` tokens a second, at most `burst` at once (both at least 1).
    pub fn new(per_second: u32, burst: u32) -> Self {
        let quota = Quota::per_second(NonZeroU32::new(per_second.max(1)).expect("at least 1"))
            .allow_burst(NonZeroU32::new(burst.max(1)).expect("at least 1"));
        Self { limiter: DefaultKeyedRateLimiter::keyed(quota), checks: AtomicU64::new(0) }
    }

    /// Takes one token of `key`'s bucket, or says how long until the next one.
    pub fn check(&self, key: &RateKey) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(key).map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }

    #[cfg(test)]
    fn keys(&self) -> usize {
        self.limiter.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_bucket_admits_its_burst_then_refuses_with_the_wait() {
        let rate = PublishRate::new(1, 3);
        let key = RateKey::Ip("192.0.2.1".parse().unwrap());
        for _ in 0..3 {
            assert!(rate.check(&key).is_ok());
        }
        let wait = rate.check(&key).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        // Another key has a bucket of its own.
        assert!(rate.check(&RateKey::Ip("192.0.2.2".parse().unwrap())).is_ok());
        assert_eq!(rate.keys(), 2);
    }

    #[test]
    fn a_bucket_refills_at_the_rate() {
        let rate = PublishRate::new(50, 1);
        let key = RateKey::Ip("192.0.2.1".parse().unwrap());
        assert!(rate.check(&key).is_ok());
        let wait = rate.check(&key).unwrap_err();
        assert!(wait <= Duration::from_millis(20), "{wait:?}");
        std::thread::sleep(wait);
        assert!(rate.check(&key).is_ok(), "a token is back after the wait it named");
    }

    #[test]
    fn the_key_is_the_bearer_token_or_else_the_address() {
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(RateKey::of_request(&headers, client), RateKey::Ip(client));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        let first = RateKey::of_request(&headers, client);
        assert!(matches!(first, RateKey::Token(_)));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer  abc "));
        assert_eq!(RateKey::of_request(&headers, "192.0.2.9".parse().unwrap()), first, "the token, from anywhere");
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer other"));
        assert_ne!(RateKey::of_request(&headers, client), first);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic dXNlcg=="));
        assert_eq!(RateKey::of_request(&headers, client), RateKey::Ip(client));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(RateKey::of_request(&headers, client), RateKey::Ip(client));
    }
}
