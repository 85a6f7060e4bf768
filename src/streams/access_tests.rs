//! The guard's decisions, with tokens minted by the same `Auth` it checks them with.

use super::*;
use crate::streams::auth::{keys, AuthSettings, Grants};
use std::time::Duration;

fn auth(subscribe_requires_token: bool) -> Auth {
    let settings = AuthSettings {
        jwt_secret: "a-secret-for-the-guard-tests-0123456789".into(),
        subscribe_requires_token,
        ..AuthSettings::default()
    };
    let dir = tempfile::tempdir().unwrap();
    Auth::new(keys::load(&settings, dir.path()).unwrap(), &settings)
        .reserving(["jobs.*", "monitor.*", "market.quote.*"].map(|p| TopicPattern::parse(p).unwrap()))
}

fn token(auth: &Auth, publish: &[&str], subscribe: &[&str]) -> String {
    let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
    let grants = Grants { publish: strings(publish), subscribe: strings(subscribe) };
    auth.mint(grants, Duration::from_secs(60)).unwrap().unwrap()
}

fn topics(names: &[&str]) -> Vec<TopicName> {
    names.iter().map(|n| TopicName::new(n).unwrap()).collect()
}

fn check(auth: &Auth, header: Option<&str>, action: Action, names: &[&str]) -> Result<Granted, ApiError> {
    let header = header.map(|t| format!("Bearer {t}"));
    let credentials = Credentials { header: header.as_deref(), query: None };
    authorize(auth, credentials, action, &topics(names), Origin::Public)
}

#[test]
fn publishing_needs_a_token_covering_every_topic() {
    let auth = auth(false);
    assert!(matches!(check(&auth, None, Action::Publish, &["demo"]), Err(ApiError::MissingToken(_))));
    let demo = token(&auth, &["demo", "feed.*"], &[]);
    assert!(check(&auth, Some(&demo), Action::Publish, &["demo"]).is_ok());
    assert!(check(&auth, Some(&demo), Action::Publish, &["feed.a"]).is_ok());
    assert!(matches!(check(&auth, Some(&demo), Action::Publish, &["other"]), Err(ApiError::InsufficientScope(_))));
    assert!(matches!(
        check(&auth, Some(&demo), Action::Publish, &["demo", "other"]),
        Err(ApiError::InsufficientScope(_))
    ));
    assert!(matches!(check(&auth, Some("garbage"), Action::Publish, &["demo"]), Err(ApiError::InvalidToken(_))));
}

#[test]
fn the_grant_names_the_verified_token() {
    let auth = auth(false);
    let (first, second) = (token(&auth, &["demo"], &[]), token(&auth, &["demo", "feed.*"], &[]));
    let granted = check(&auth, Some(&first), Action::Publish, &["demo"]).unwrap();
    assert_eq!(granted.token, Some(crate::streams::auth::TokenId::of(&first)));
    assert_eq!(check(&auth, Some(&first), Action::Publish, &["demo"]).unwrap().token, granted.token);
    assert_ne!(check(&auth, Some(&second), Action::Publish, &["demo"]).unwrap().token, granted.token);
    // No token, no identity; a stale token beside a trusted subscription is not vouched for.
    assert_eq!(check(&auth, None, Action::Subscribe, &["demo"]).unwrap().token, None);
    let header = format!("Bearer {first}");
    let credentials = Credentials { header: Some(&header), query: None };
    let trusted = authorize(&auth, credentials, Action::Subscribe, &topics(&["private.jobs.abc"]), Origin::Trusted);
    assert_eq!(trusted.unwrap().token, None);
}

#[test]
fn reserved_topics_need_an_explicit_publish_grant() {
    let auth = auth(false);
    let any = token(&auth, &["*"], &["*"]);
    for reserved in ["jobs.shared", "monitor.samples", "market.quote.ACME"] {
        let err = check(&auth, Some(&any), Action::Publish, &[reserved]).unwrap_err();
        assert!(err.to_string().contains("`*` does not"), "{err}");
        // Subscribing with `*` is fine: reservation is about publishing.
        assert!(check(&auth, Some(&any), Action::Subscribe, &[reserved]).is_ok());
    }
    let explicit = token(&auth, &["jobs.*", "monitor.samples", "market.quote.*"], &[]);
    assert!(check(&auth, Some(&explicit), Action::Publish, &["jobs.shared", "monitor.samples"]).is_ok());
    assert!(check(&auth, Some(&explicit), Action::Publish, &["market.quote.ACME"]).is_ok());
    // `ticks` is an outside feed, not reserved: any publish grant that matches it will do.
    assert!(check(&auth, Some(&any), Action::Publish, &["ticks"]).is_ok());
}

#[test]
fn subscribing() {
    let open = auth(false);
    assert_eq!(check(&open, None, Action::Subscribe, &["demo"]).unwrap(), Granted::default());
    // A token that was not needed does not bound the stream, but a bad one is still refused.
    let publish_only = token(&open, &["demo"], &[]);
    assert_eq!(check(&open, Some(&publish_only), Action::Subscribe, &["demo"]).unwrap().expires_at, None);
    assert!(matches!(check(&open, Some("x.y.z"), Action::Subscribe, &["demo"]), Err(ApiError::InvalidToken(_))));
    // Private topics: 403 without a token (as before tokens existed), and `*` does not reach them.
    let err = check(&open, None, Action::Subscribe, &["private.jobs.abc"]).unwrap_err();
    assert!(err.to_string().contains("private to the server"), "{err}");
    let any = token(&open, &[], &["*"]);
    assert!(matches!(
        check(&open, Some(&any), Action::Subscribe, &["private.jobs.abc"]),
        Err(ApiError::InsufficientScope(_))
    ));
    let named = token(&open, &[], &["private.jobs.abc"]);
    assert!(check(&open, Some(&named), Action::Subscribe, &["private.jobs.abc"]).unwrap().expires_at.is_some());

    let closed = auth(true);
    assert!(matches!(check(&closed, None, Action::Subscribe, &["demo"]), Err(ApiError::MissingToken(_))));
    let reader = token(&closed, &[], &["demo*"]);
    assert!(check(&closed, Some(&reader), Action::Subscribe, &["demo", "demo2"]).unwrap().expires_at.is_some());
    assert!(matches!(
        check(&closed, Some(&reader), Action::Subscribe, &["other"]),
        Err(ApiError::InsufficientScope(_))
    ));
}

#[test]
fn trusted_callers_and_token_placement() {
    let auth = auth(true);
    let headers = HeaderMap::new();
    let private = topics(&["private.jobs.abc"]);
    assert!(authorize(&auth, Credentials::new(&headers, None), Action::Subscribe, &private, Origin::Trusted).is_ok());
    let reader = token(&auth, &[], &["*"]);
    let query = Credentials { header: None, query: Some(&reader) };
    assert!(authorize(&auth, query, Action::Subscribe, &topics(&["demo"]), Origin::Public).is_ok());
    let publisher = token(&auth, &["*"], &[]);
    let query = Credentials { header: None, query: Some(&publisher) };
    assert!(matches!(
        authorize(&auth, query, Action::Publish, &topics(&["demo"]), Origin::Public),
        Err(ApiError::BadTokenRequest(_))
    ));
    let header = format!("Bearer {reader}");
    let both = Credentials { header: Some(&header), query: Some(&reader) };
    assert!(matches!(
        authorize(&auth, both, Action::Subscribe, &topics(&["demo"]), Origin::Public),
        Err(ApiError::BadTokenRequest(_))
    ));
    let basic = Credentials { header: Some("Basic dXNlcjpwYXNz"), query: None };
    assert!(matches!(
        authorize(&auth, basic, Action::Publish, &topics(&["demo"]), Origin::Public),
        Err(ApiError::MissingToken(_))
    ));
}

#[test]
fn access_tokens_are_redacted_from_logged_uris() {
    let uri: Uri = "/api/events?topic=a&access_token=secret.jwt.value&last_event_id=3".parse().unwrap();
    assert_eq!(redact_access_token(&uri), "/api/events?topic=a&access_token=REDACTED&last_event_id=3");
    let plain: Uri = "/api/events?topic=a".parse().unwrap();
    assert_eq!(redact_access_token(&plain), "/api/events?topic=a");
}
