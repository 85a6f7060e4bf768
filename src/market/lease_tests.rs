//! Unit tests of the lease against a real `redis-server` (skipped, saying so, only where it is
//! not installed; CI installs it and fails rather than skip).

use super::*;

// The hub's tests load the same harness: each test module keeps its own copy.
#[allow(clippy::duplicate_mod)]
#[path = "../../tests/common/redis.rs"]
mod redis_server;

fn quick() -> LeaseTimings {
    LeaseTimings {
        ttl: Duration::from_millis(600),
        renew_every: Duration::from_millis(200),
        retry_every: Duration::from_millis(50),
    }
}

async fn redis() -> Option<redis_server::RedisServer> {
    if !redis_server::installed() {
        assert!(std::env::var_os("CI").is_none(), "redis-server must be installed in CI");
        eprintln!("skipped: redis-server is not installed (scripts/install.sh --test installs it)");
        return None;
    }
    Some(redis_server::RedisServer::start().await)
}

/// Runs the lease's loop until the returned token is cancelled.
fn running(lease: &Arc<Lease>) -> CancellationToken {
    let stop = CancellationToken::new();
    tokio::spawn(lease.clone().run(stop.clone()));
    stop
}

async fn until_held(lease: &Lease, want: bool) {
    let mut changes = lease.watch();
    let waited =
        tokio::time::timeout(Duration::from_secs(10), async { changes.wait_for(|held| *held == want).await.is_ok() });
    assert_eq!(waited.await, Ok(true), "lease held stayed {} for 10 s", !want);
    assert_eq!(lease.held(), want);
}

async fn holder(redis: &redis_server::RedisServer, key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query_async(&mut redis.connection().await).await.unwrap()
}

#[test]
fn holding_ends_before_redis_can_expire_the_key() {
    let sent = Instant::now();
    for ttl in [Duration::from_millis(600), Duration::from_secs(3), Duration::from_secs(30)] {
        let until = valid_until(sent, ttl);
        assert!(until > sent && until < sent + ttl, "{ttl:?}");
    }
    let timings = LeaseTimings::default();
    assert!(timings.renew_every * 2 < timings.ttl - timings.ttl / 5, "two renewals fit before holding ends");
}

#[tokio::test]
async fn one_holder_at_a_time_and_a_release_hands_it_over() {
    let Some(redis) = redis().await else { return };
    let (a, b) = (
        Lease::redis(&redis.url(), "t:lease", quick()).unwrap(),
        Lease::redis(&redis.url(), "t:lease", quick()).unwrap(),
    );
    let stop_a = running(&a);
    until_held(&a, true).await;
    let stop_b = running(&b);
    // b keeps trying; while a renews it never gets the key (several of a's renewals pass).
    for _ in 0..4 {
        let renewed = holder(&redis, "t:lease").await;
        assert_eq!(renewed.as_deref(), Some(a.token()));
        assert!(!b.held());
        tokio::time::sleep(quick().renew_every).await;
    }
    stop_a.cancel();
    a.release().await;
    assert!(!a.held());
    until_held(&b, true).await;
    assert_eq!(holder(&redis, "t:lease").await.as_deref(), Some(b.token()));
    stop_b.cancel();
}

#[tokio::test]
async fn a_holder_that_stops_renewing_is_replaced_after_the_expiry() {
    let Some(redis) = redis().await else { return };
    let a = Lease::redis(&redis.url(), "t:killed", quick()).unwrap();
    let stop_a = running(&a);
    until_held(&a, true).await;
    // As if killed: the loop stops, nothing is released.
    stop_a.cancel();
    let b = Lease::redis(&redis.url(), "t:killed", quick()).unwrap();
    let _stop_b = running(&b);
    until_held(&b, true).await;
    // a itself counts the lease as gone by then.
    assert!(!a.held());
    // And a's renewal cannot take it back: the script renews only its own token.
    assert_eq!(a.renew().await, Ok(false));
    assert_eq!(holder(&redis, "t:killed").await.as_deref(), Some(b.token()));
}

#[tokio::test]
async fn a_release_by_another_instance_deletes_nothing() {
    let Some(redis) = redis().await else { return };
    let a = Lease::redis(&redis.url(), "t:own", quick()).unwrap();
    let b = Lease::redis(&redis.url(), "t:own", quick()).unwrap();
    let _stop = running(&a);
    until_held(&a, true).await;
    b.release().await;
    assert_eq!(holder(&redis, "t:own").await.as_deref(), Some(a.token()));
    assert!(a.held());
}

#[tokio::test]
async fn without_redis_nobody_holds_and_a_holder_lets_go_before_expiry() {
    let Some(mut redis) = redis().await else { return };
    let a = Lease::redis(&redis.url(), "t:gone", quick()).unwrap();
    let _stop = running(&a);
    until_held(&a, true).await;
    redis.stop().await;
    // Its last renewal was sent before Redis went away: by a lease's time after that, where
    // another instance could have the key, it no longer counts on it, renewals or not.
    let could_expire = tokio::time::Instant::now() + quick().ttl;
    tokio::time::sleep_until(could_expire).await;
    assert!(!a.held(), "still counts on a lease Redis may have expired");
    until_held(&a, false).await;

    // Never reachable: never held.
    let nowhere = Lease::redis("redis://127.0.0.1:1/0", "t:none", quick()).unwrap();
    let _stop = running(&nowhere);
    for _ in 0..5 {
        nowhere.attempt().await;
        assert!(!nowhere.held());
    }
}
