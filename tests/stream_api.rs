//! The HTTP contract of the stream layer, against a real server, read with client crates we did
//! not write (reqwest for HTTP, eventsource-stream for SSE parsing).

mod common;

use common::*;
use std::time::Duration;

#[tokio::test]
async fn published_events_arrive_with_ids_types_and_exact_data() {
    let server = start_server(|_| {}).await;
    let (headers, mut events) = subscribe(&url(&server, "/api/events?topic=orders"), None).await;
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    assert!(headers.get("content-encoding").is_none());

    let first = publish(&server, "orders", None, "plain").await;
    let second = publish(&server, "orders", Some("order.created"), "line one\r\nline two\rthree\n\nid: 666").await;
    publish(&server, "elsewhere", None, "not for us").await;
    let third = publish(&server, "orders", None, "").await;

    let got = take(&mut events, 3).await;
    assert_eq!((got[0].id.as_str(), got[0].event.as_str(), got[0].data.as_str()), (first.as_str(), "message", "plain"));
    assert_eq!(got[1].id, second);
    assert_eq!(got[1].event, "order.created");
    assert_eq!(got[1].data, "line one\nline two\nthree\n\nid: 666");
    assert_eq!((got[2].id.as_str(), got[2].data.as_str()), (third.as_str(), ""));
}

#[tokio::test]
async fn stream_starts_with_retry_and_is_never_compressed() {
    let server = start_server(|s| s.pulseboard.streams.retry_ms = 1234).await;
    let response =
        client().get(url(&server, "/api/events?topic=t")).header("accept-encoding", "gzip, br").send().await.unwrap();
    assert!(response.headers().get("content-encoding").is_none(), "event streams are not compressed");
    let mut body = response.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(5), futures::StreamExt::next(&mut body))
        .await
        .expect("first chunk flushed at once")
        .unwrap()
        .unwrap();
    assert_eq!(&first[..], b"retry: 1234\n\n");

    // Pages are compressed.
    let page = client().get(url(&server, "/markets")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-encoding"], "gzip");
}

/// What a browser does: load a page (compressed), then open a stream on the same kept-alive
/// connection. Such a stream is served by hyper, and for the stream server functions inside the
/// compression layer: it is never compressed, and its events arrive as plain text at once.
#[tokio::test]
async fn a_stream_after_a_page_on_the_same_connection_is_never_compressed() {
    use leptos::server_fn::ServerFn;
    let server = start_server(|_| {}).await;
    let function_stream = format!("{}?topic=kept", pulseboard::inspector::TopicEvents::PATH);
    for (page_path, stream_path) in [("/markets", "/api/events?topic=kept"), ("/", function_stream.as_str())] {
        let mut connection = RawConnection::connect(&server).await;
        connection.send(&format!("GET {page_path} HTTP/1.1\r\nHost: test\r\nAccept-Encoding: gzip\r\n\r\n")).await;
        let page = connection.read_head().await;
        assert_eq!(page.status(), 200, "{page_path}: {page:?}");
        assert_eq!(page.header("content-encoding"), Some("gzip"), "the page itself is compressed: {page:?}");
        connection.read_body(&page).await;

        connection
            .send(&format!(
                "GET {stream_path} HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\nAccept-Encoding: gzip, br\r\n\r\n"
            ))
            .await;
        let head = connection.read_head().await;
        assert_eq!(head.status(), 200, "{stream_path}: {head:?}");
        assert_eq!(head.header("content-type"), Some("text/event-stream"), "{stream_path}: {head:?}");
        assert_eq!(head.header("content-encoding"), None, "{stream_path}: streams are not compressed: {head:?}");
        assert_eq!(head.header("connection"), None, "{stream_path}: served by hyper, kept alive: {head:?}");
        connection.read_until(b"retry: 2000\n\n").await;
        let id = publish(&server, "kept", Some("note"), "in the clear").await;
        let frame = format!("id: {id}\nevent: note\ndata: in the clear\n\n");
        connection.read_until(frame.as_bytes()).await;
    }
}

#[tokio::test]
async fn several_topics_on_one_stream() {
    let server = start_server(|_| {}).await;
    let (_, mut events) = subscribe(&url(&server, "/api/events?topic=a&topic=b"), None).await;
    publish(&server, "a", None, "1").await;
    publish(&server, "c", None, "skip").await;
    publish(&server, "b", None, "2").await;
    publish(&server, "a", None, "3").await;
    let data: Vec<String> = take(&mut events, 3).await.into_iter().map(|e| e.data).collect();
    assert_eq!(data, ["1", "2", "3"]);
}

#[tokio::test]
async fn resume_with_header_or_query_replays_what_was_missed() {
    let server = start_server(|_| {}).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(publish(&server, "r", None, &n.to_string()).await);
    }
    let (_, mut by_header) = subscribe(&url(&server, "/api/events?topic=r"), Some(&ids[1])).await;
    let data: Vec<String> = take(&mut by_header, 3).await.into_iter().map(|e| e.data).collect();
    assert_eq!(data, ["2", "3", "4"]);

    let query = format!("/api/events?topic=r&last_event_id={}", ids[3]);
    let (_, mut by_query) = subscribe(&url(&server, &query), None).await;
    publish(&server, "r", None, "5").await;
    let data: Vec<String> = take(&mut by_query, 2).await.into_iter().map(|e| e.data).collect();
    assert_eq!(data, ["4", "5"]);

    // The header wins over the query (a reconnecting EventSource keeps its first URL).
    let (_, mut both) = subscribe(&url(&server, &query), Some(&ids[0])).await;
    assert_eq!(take(&mut both, 1).await[0].data, "1");
}

#[tokio::test]
async fn stale_unknown_or_malformed_ids_start_with_reset_then_live() {
    let server = start_server(|s| s.pulseboard.streams.history_events = 2).await;
    let old = publish(&server, "s", None, "0").await;
    for n in 1..4 {
        publish(&server, "s", None, &n.to_string()).await;
    }
    for (last, reason) in
        [(old.as_str(), "history-expired"), ("00000000-1", "unknown-id"), ("not an id", "malformed-id")]
    {
        let (_, mut events) = subscribe(&url(&server, "/api/events?topic=s"), Some(last)).await;
        let reset = take(&mut events, 1).await.remove(0);
        assert_eq!(reset.event, "reset", "for {last}");
        assert_eq!(reset.data, format!(r#"{{"reason":"{reason}"}}"#));
        publish(&server, "s", None, "live").await;
        assert_eq!(take(&mut events, 1).await[0].data, "live");
    }
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let server = start_server(|s| s.pulseboard.streams.publish_body_limit = 1024).await;
    let http = client();
    // Publishes carry a token: the refusals below are about the request, not its credentials.
    let token = publisher_token();
    let post = |path: &str| http.post(url(&server, path)).bearer_auth(&token);
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (http.get(url(&server, "/api/events")), 400, "missing query parameter \"topic\""),
        (http.get(url(&server, "/api/events?topic=a%20b")), 400, "contains ' '"),
        (http.get(url(&server, "/api/events?topic=a&since=1")), 400, "unknown query parameter \"since\""),
        (http.get(url(&server, &format!("/api/events?{}", "topic=t&".repeat(33)))), 400, "at most 32 topics"),
        (post("/api/publish").body("x"), 400, "missing query parameter \"topic\""),
        (post("/api/publish?topic=../etc").body("x"), 400, "must start with a letter or digit"),
        (post("/api/publish?topic=a&topic=b").body("x"), 400, "more than once"),
        (post("/api/publish?topic=a&evnt=x").body("x"), 400, "unknown query parameter \"evnt\""),
        (post("/api/publish?topic=a&event=reset").body("x"), 400, "reserved"),
        (post("/api/publish?topic=a").body(vec![0xff, 0xfe]), 400, "not valid UTF-8"),
        (post("/api/publish?topic=a").body("x".repeat(1025)), 413, "limit of 1024 bytes"),
    ];
    for (request, status, message) in cases {
        let response = request.send().await.unwrap();
        let got = response.status().as_u16();
        let body: serde_json::Value = response.json().await.expect("JSON error body");
        let error = body["error"].as_str().unwrap_or_default();
        assert_eq!(got, status, "{error}");
        assert!(error.contains(message), "{error:?} should mention {message:?}");
    }

    // A chunked body without Content-Length is limited too.
    let chunks = futures::stream::iter((0..20).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 100])));
    let response = post("/api/publish?topic=a").body(reqwest::Body::wrap_stream(chunks)).send().await.unwrap();
    assert_eq!(response.status(), 413);
    // Exactly at the limit is fine.
    assert_eq!(post("/api/publish?topic=a").body("x".repeat(1024)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn stream_server_function_serves_plain_sse() {
    let server = start_server(|_| {}).await;
    // The URL comes from the server function's declaration (`TopicEvents::PATH`).
    use leptos::server_fn::ServerFn;
    let path = format!("{}?topic=fn", pulseboard::inspector::TopicEvents::PATH);
    let (headers, mut events) = subscribe(&url(&server, &path), None).await;
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["x-accel-buffering"], "no");
    let id = publish(&server, "fn", Some("note"), "via server fn").await;
    let event = take(&mut events, 1).await.remove(0);
    assert_eq!((event.id, event.event.as_str(), event.data.as_str()), (id.clone(), "note", "via server fn"));

    // Resume works the same way.
    publish(&server, "fn", None, "next").await;
    let (_, mut resumed) = subscribe(&url(&server, &path), Some(&id)).await;
    assert_eq!(take(&mut resumed, 1).await[0].data, "next");

    // A bad argument is a 400 with the reason, not a 500.
    let response = client()
        .get(url(&server, &format!("{}?topic=no%20spaces", pulseboard::inspector::TopicEvents::PATH)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("contains ' '"));
}

#[tokio::test]
async fn shutdown_ends_open_streams_promptly() {
    let server = start_server(|s| s.pulseboard.server.shutdown_grace_secs = 10).await;
    let (_, mut events) = subscribe(&url(&server, "/api/events?topic=x"), None).await;
    publish(&server, "x", None, "before").await;
    take(&mut events, 1).await;
    let started = std::time::Instant::now();
    server.begin_shutdown();
    let ended = tokio::time::timeout(Duration::from_secs(5), futures::StreamExt::next(&mut events)).await;
    assert!(matches!(ended, Ok(None)), "stream ends when shutdown begins");
    server.stopped(Duration::from_secs(10)).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "drain did not wait for the grace period");
}

#[tokio::test]
async fn pages_render_on_the_server_and_unknown_paths_are_404() {
    let server = start_server(|_| {}).await;
    for (path, text) in [("/", "Jobs"), ("/markets", "Markets"), ("/monitor", "Monitor")] {
        let response = client().get(url(&server, path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(&format!("<h1>{text}</h1>")), "{path}: {html}");
    }
    let response = client().get(url(&server, "/no/such/page")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn debug_endpoint_drops_streams_and_clients_resume() {
    let server = start_server(|_| {}).await;
    let (_, mut events) = subscribe(&url(&server, "/api/events?topic=d"), None).await;
    let first = publish(&server, "d", None, "1").await;
    take(&mut events, 1).await;
    let response = client().post(url(&server, "/api/debug/drop-streams")).send().await.unwrap();
    assert_eq!(response.status(), 204);
    let ended = tokio::time::timeout(Duration::from_secs(5), futures::StreamExt::next(&mut events)).await;
    assert!(matches!(ended, Ok(None)));
    publish(&server, "d", None, "2").await;
    let (_, mut resumed) = subscribe(&url(&server, "/api/events?topic=d"), Some(&first)).await;
    assert_eq!(take(&mut resumed, 1).await[0].data, "2");

    // Off by default.
    let server = start_server(|s| s.pulseboard.server.debug_endpoints = false).await;
    let response = client().post(url(&server, "/api/debug/drop-streams")).send().await.unwrap();
    assert_eq!(response.status(), 404);
}
