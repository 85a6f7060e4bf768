//! Publishes per second per publisher: a token bucket per key (`governor`'s keyed GCRA, which
//! admits exactly what a token bucket of `burst` tokens refilled at `per_second` admits).
//!
//! The key is one argument, [`RateKey`]: the token the access guard verified (its [`TokenId`],
//! a digest: the token itself is not kept), or else the client IP. A token that did not verify
//! never reaches the limiter (the guard refused it), so made-up tokens cannot fill the table.
//! Keys whose bucket has refilled are dropped now and then, so the table holds only recent
//! publishers.

use crate::streams::auth::TokenId;
use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota};
use std::{
    net::IpAddr,
    num::NonZeroU32,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

/// Who a publish counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    /// The verified token the publish was granted by.
    Token(TokenId),
    /// No token: the client's address.
    Ip(IpAddr),
}

impl RateKey {
    /// The verified `token` of the access guard's grant, or else `client`.
    pub fn publisher(token: Option<TokenId>, client: IpAddr) -> Self {
        match token {
            Some(token) => Self::Token(token),
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
    fn the_key_is_the_verified_token_or_else_the_address() {
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(RateKey::publisher(None, client), RateKey::Ip(client));
        let token = TokenId::of("abc");
        let first = RateKey::publisher(Some(token), client);
        assert_eq!(first, RateKey::Token(token));
        assert_eq!(RateKey::publisher(Some(token), "192.0.2.9".parse().unwrap()), first, "the token, from anywhere");
        assert_ne!(RateKey::publisher(Some(TokenId::of("other")), client), first);
        // One token's bucket is its own, wherever it publishes from.
        let rate = PublishRate::new(1, 1);
        assert!(rate.check(&first).is_ok());
        assert!(rate.check(&RateKey::publisher(Some(token), "192.0.2.9".parse().unwrap())).is_err());
        assert!(rate.check(&RateKey::publisher(Some(TokenId::of("other")), client)).is_ok());
    }
}
