//! Token auth against a real server: tokens are signed by `jsonwebtoken` with the test secret
//! (tests/common), answers read with reqwest and eventsource-stream. What RFC 6750 asks of the
//! answers (status, `WWW-Authenticate`), reserved topics, `subscribe-requires-token`,
//! `access_token`, `pulseboard token`, the redacted access log, and `auth-expired`.

mod common;

use common::*;
use futures::StreamExt;
use std::{
    process::Stdio,
    time::{Duration, Instant},
};
use tokio::io::{AsyncBufReadExt, BufReader};

async fn post(server: &pulseboard::server::RunningServer, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = client().post(url(server, path)).body("{}");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Status, `WWW-Authenticate` and the JSON error of a refusal.
async fn refusal(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let challenge =
        response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    (status, challenge, body["error"].as_str().expect("an error message").to_string())
}

#[tokio::test]
async fn publishing_needs_a_valid_token_with_the_right_scope() {
    let server = start_server(|_| {}).await;
    let (status, challenge, message) = refusal(post(&server, "/api/publish?topic=demo", None).await).await;
    assert_eq!((status, challenge.as_str()), (401, r#"Bearer realm="pulseboard""#), "{message}");
    assert!(message.contains("needs a bearer token"), "{message}");

    for (token, says) in [
        ("not.a.jwt".to_string(), "not a well-formed JWT"),
        (token_for(&["demo"], &[], -120), "expired"),
        (
            jsonwebtoken::encode(
                &jsonwebtoken::Header::default(),
                &serde_json::json!({"pulseboard": {"publish": ["demo"]}, "exp": now_secs() + 60}),
                &jsonwebtoken::EncodingKey::from_secret(b"some-other-secret-that-is-long-enough"),
            )
            .unwrap(),
            "signature",
        ),
        ("x".repeat(9000), "at most 8192"),
    ] {
        let (status, challenge, message) = refusal(post(&server, "/api/publish?topic=demo", Some(&token)).await).await;
        assert_eq!(status, 401, "{message}");
        assert_eq!(challenge, r#"Bearer realm="pulseboard", error="invalid_token""#);
        assert!(message.contains(says), "{message:?} should say {says:?}");
    }

    let reader = token_for(&["other"], &["*"], 60);
    let (status, challenge, message) = refusal(post(&server, "/api/publish?topic=demo", Some(&reader)).await).await;
    assert_eq!(status, 403);
    assert_eq!(challenge, r#"Bearer realm="pulseboard", error="insufficient_scope""#);
    assert!(message.contains("do not allow topic \"demo\""), "{message}");
    let demo = pulseboard::streams::TopicName::new("demo").unwrap();
    assert!(server.hub.snapshot(&demo, 10).await.0.is_empty(), "nothing refused was published");

    let writer = token_for(&["demo"], &[], 60);
    assert_eq!(post(&server, "/api/publish?topic=demo", Some(&writer)).await.status(), 200);
    assert_eq!(server.hub.snapshot(&demo, 10).await.0.len(), 1);
}

#[tokio::test]
async fn the_servers_own_topics_take_only_explicit_grants() {
    let server = start_server(|_| {}).await;
    let any = publisher_token();
    for topic in ["jobs.shared", "monitor.samples", "market.quote.ACME"] {
        let path = format!("/api/publish?topic={topic}&event=job");
        let (status, challenge, message) = refusal(post(&server, &path, Some(&any)).await).await;
        assert_eq!(status, 403, "{topic}: {message}");
        assert!(challenge.contains("insufficient_scope"));
        assert!(message.contains("`*` does not"), "{message}");
        // (The monitor publishes its own samples meanwhile: look for the outside event type.)
        let name = pulseboard::streams::TopicName::new(topic).unwrap();
        let (events, _) = server.hub.snapshot(&name, 100).await;
        assert!(events.iter().all(|e| e.event_type.as_str() != "job"), "{topic} took an outside event");
    }
    let explicit = token_for(&["jobs.*", "monitor.samples", "market.quote.*"], &[], 60);
    for topic in ["jobs.shared", "monitor.samples", "market.quote.ACME"] {
        let response = post(&server, &format!("/api/publish?topic={topic}"), Some(&explicit)).await;
        assert_eq!(response.status(), 200, "{topic}");
    }
    // The external job producers' API publishes to jobs.shared: the same rule.
    let job = |token: Option<String>| {
        let mut request =
            client().post(url(&server, "/api/jobs/external")).json(&serde_json::json!({"label": "CI", "total": 1}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(refusal(job(None).await.unwrap()).await.0, 401);
    assert_eq!(refusal(job(Some(any.clone())).await.unwrap()).await.0, 403);
    assert_eq!(job(Some(token_for(&["jobs.shared"], &[], 60))).await.unwrap().status(), 201);
}

#[tokio::test]
async fn subscriptions_with_subscribe_requires_token() {
    let server = start_server(|s| s.pulseboard.auth.subscribe_requires_token = true).await;
    let anonymous = client().get(url(&server, "/api/events?topic=news")).send().await.unwrap();
    let (status, challenge, message) = refusal(anonymous).await;
    assert_eq!((status, challenge.as_str()), (401, r#"Bearer realm="pulseboard""#), "{message}");
    // A stream server function passes the same guard.
    let (status, _, _) =
        refusal(client().get(url(&server, "/api/streams/topic?topic=news")).send().await.unwrap()).await;
    assert_eq!(status, 401);

    let wrong = token_for(&[], &["sports"], 60);
    let response = client().get(url(&server, "/api/events?topic=news")).bearer_auth(&wrong).send().await.unwrap();
    assert_eq!(refusal(response).await.0, 403);

    // The token in the query, for clients that cannot set headers.
    let reader = token_for(&[], &["news"], 60);
    let (_, mut events) =
        subscribe(&url(&server, &format!("/api/events?topic=news&access_token={reader}")), None).await;
    let id = publish(&server, "news", None, "extra").await;
    let event = take(&mut events, 1).await.remove(0);
    assert_eq!((event.id.as_str(), event.data.as_str()), (id.as_str(), "extra"));

    // ...but never in the query of a publish, even a good one.
    let writer = token_for(&["news"], &[], 60);
    let response = post(&server, &format!("/api/publish?topic=news&access_token={writer}"), None).await;
    let (status, challenge, message) = refusal(response).await;
    assert_eq!(status, 400, "{message}");
    assert!(challenge.contains("invalid_request"), "{challenge}");
    assert!(message.contains("subscriptions only"), "{message}");
}

#[tokio::test]
async fn private_topics_open_to_a_token_that_names_them() {
    let server = start_server(|_| {}).await;
    let topic = "private.jobs.0123";
    let any = token_for(&[], &["*"], 60);
    let refused = client().get(url(&server, &format!("/api/events?topic={topic}"))).bearer_auth(&any).send().await;
    assert_eq!(refusal(refused.unwrap()).await.0, 403);
    let named = token_for(&[], &["private.jobs.*"], 60);
    let (_, mut events) =
        subscribe(&url(&server, &format!("/api/events?topic={topic}&access_token={named}")), None).await;
    let name = pulseboard::streams::TopicName::new(topic).unwrap();
    let job = pulseboard::streams::EventType::new("job").unwrap();
    server.hub.publish(&name, &job, "{}").await.unwrap();
    assert_eq!(take(&mut events, 1).await[0].event, "job");
}

#[tokio::test]
async fn a_stream_outliving_its_token_ends_with_auth_expired() {
    let server = start_server(|s| {
        s.pulseboard.auth.subscribe_requires_token = true;
        s.pulseboard.auth.jwt_leeway_secs = 0;
    })
    .await;
    let short = token_for(&[], &["ticker"], 2);
    let (_, mut events) =
        subscribe(&url(&server, &format!("/api/events?topic=ticker&access_token={short}")), None).await;
    let id = publish(&server, "ticker", None, "before").await;
    assert_eq!(take(&mut events, 1).await[0].data, "before");
    let started = Instant::now();
    let notice = take(&mut events, 1).await.remove(0);
    assert_eq!(notice.event, "auth-expired");
    assert!(notice.data.contains("expired"), "{}", notice.data);
    // The notice leaves the client's resume point at the last real event.
    assert_eq!(notice.id, id);
    // It ends when the token is refused: `exp` plus the leeway (0 here), within the second after.
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    let end = tokio::time::timeout(Duration::from_secs(5), events.next()).await.expect("the stream closes");
    assert!(end.is_none(), "nothing after auth-expired: {end:?}");
    // The same token no longer opens a stream; a fresh one resumes after the last id.
    let again = client().get(url(&server, &format!("/api/events?topic=ticker&access_token={short}"))).send().await;
    assert_eq!(refusal(again.unwrap()).await.0, 401);
    publish(&server, "ticker", None, "meanwhile").await;
    let fresh = token_for(&[], &["ticker"], 60);
    let (_, mut events) =
        subscribe(&url(&server, &format!("/api/events?topic=ticker&access_token={fresh}")), Some(&id)).await;
    assert_eq!(take(&mut events, 1).await[0].data, "meanwhile");
}

/// The binary, run as a server with a generated secret, and `pulseboard token` beside it with the
/// same data directory: the printed token publishes, and the access log hides `access_token`.
#[tokio::test]
async fn the_token_subcommand_mints_what_the_server_accepts() {
    let data_dir = tempfile::tempdir().unwrap();
    let workdir = tempfile::tempdir().unwrap();
    let command = |args: &[&str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_pulseboard"));
        for (name, _) in std::env::vars() {
            if name.starts_with("PULSEBOARD_") || name.starts_with("LEPTOS_") {
                command.env_remove(name);
            }
        }
        command
            .args(args)
            .current_dir(workdir.path())
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("PULSEBOARD_DATA_DIR", data_dir.path())
            .env("PULSEBOARD_MARKET_TICKS_PER_SECOND", "0")
            .env("RUST_LOG", "info,tower_http=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    };
    let mut server = command(&[]).spawn().unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if let Some(addr) = line.strip_prefix("pulseboard listening on http://") {
                return addr.to_string();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("listening within 30 s");
    let stderr = server.stderr.take().unwrap();
    let log = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut all = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            all.push_str(&line);
            all.push('\n');
        }
        all
    });

    let minted = command(&["token", "--publish", "demo", "--subscribe", "*", "--ttl", "1h"]).output().await.unwrap();
    assert!(minted.status.success(), "{}", String::from_utf8_lossy(&minted.stderr));
    let stdout_text = String::from_utf8(minted.stdout).unwrap();
    let token = stdout_text.lines().last().expect("a line").trim().to_string();
    // Not the test secret: the one the server generated in the data directory.
    assert!(data_dir.path().join("jwt.secret").is_file());

    let base = format!("http://{addr}");
    let (_, mut events) = subscribe(&format!("{base}/api/events?topic=demo&access_token={token}"), None).await;
    let published = client()
        .post(format!("{base}/api/publish?topic=demo"))
        .bearer_auth(&token)
        .body("minted")
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 200);
    assert_eq!(take(&mut events, 1).await[0].data, "minted");
    let refused = client().post(format!("{base}/api/publish?topic=other")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    drop(events);

    let pid = server.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    tokio::time::timeout(Duration::from_secs(15), server.wait()).await.expect("exits").unwrap();
    let log = log.await.unwrap();
    assert!(log.contains("pulseboard token --publish"), "the startup log says how to get a token: {log}");
    assert!(log.contains("access_token=REDACTED"), "the request was logged, redacted: {log}");
    assert!(!log.contains(&token), "the token appears in the log: {log}");
}

/// What the client hook fetches on a 401 or `auth-expired`: a subscribe token of the browser
/// session, for public topics only, that cannot publish.
#[tokio::test]
async fn the_session_gets_a_short_lived_subscribe_token() {
    let server = start_server(|s| {
        s.pulseboard.auth.subscribe_requires_token = true;
        s.pulseboard.auth.stream_token_ttl_secs = 60;
    })
    .await;
    let base = url(&server, "");
    let session = session_cookie(&base).await;
    let response = post_form(&url(&server, "/api/streams/token"), &session, "").await;
    assert_eq!(response.status(), 200);
    let token: String = response.json().await.unwrap();
    let claims = token.split('.').nth(1).expect("a JWT");
    assert!(!claims.is_empty());

    let (_, mut events) =
        subscribe(&url(&server, &format!("/api/streams/topic?topic=news&access_token={token}")), None).await;
    publish(&server, "news", None, "for the page").await;
    assert_eq!(take(&mut events, 1).await[0].data, "for the page");
    let refused = post(&server, "/api/publish?topic=news", Some(&token)).await;
    assert_eq!(refusal(refused).await.0, 403, "a session token cannot publish");
    let private =
        client().get(url(&server, "/api/events?topic=private.jobs.0123")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(refusal(private).await.0, 403, "nor reach private topics");
}
