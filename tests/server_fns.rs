//! Server functions against a real server: each one refuses a bad argument with a 4xx status and
//! a JSON body whose `error` names what was wrong (one case per function: `grep -rn '#\[server'
//! src` lists them), the quote stream takes its symbols in every form people and clients write,
//! a plain form post keeps its redirect, and a page answers with the status of the error it shows.

mod common;

use common::*;
use std::time::Duration;

/// The status, content type and `error` message of an answer.
async fn answer(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let text = response.text().await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|_| serde_json::json!({ "raw": text }));
    let error = body["error"].as_str().map_or_else(|| body.to_string(), str::to_string);
    (status, content_type, error)
}

#[tokio::test]
async fn every_server_function_refuses_a_bad_argument_with_a_json_message() {
    let server = start_server(|_| {}).await;
    // (method, path, form body, status, what the message must say)
    let cases: [(&str, &str, &str, u16, &[&str]); 12] = [
        // No arguments: the one malformed input is a query that cannot be read, like a key given twice.
        ("GET", "/api/jobs/list?shared=1&shared=2", "", 400, &[r#""shared""#]),
        ("GET", "/api/jobs/detail?id=abc", "", 400, &["id must be a job number", r#""abc""#]),
        ("POST", "/api/jobs/start", "kind=primes&limit=lots", 400, &["limit: must be a whole number"]),
        ("POST", "/api/jobs/cancel", "id=abc", 400, &["id must be a job number", r#""abc""#]),
        ("POST", "/api/jobs/retry", "id=12x", 400, &["id must be a job number", r#""12x""#]),
        ("GET", "/api/streams/jobs?last_event_id=1&last_event_id=2", "", 400, &[r#""last_event_id""#]),
        ("GET", "/api/inspector/snapshot?topic=no%20way", "", 400, &[r#""no way" contains ' '"#]),
        ("GET", "/api/streams/topic?topic=private.jobs.x", "", 403, &["private.jobs.x", "private to the server"]),
        ("GET", "/api/monitor/snapshot?window=7", "", 400, &["window must be one of [5, 15, 60, 360] minutes"]),
        ("GET", "/api/streams/monitor?last_event_id=1&last_event_id=2", "", 400, &[r#""last_event_id""#]),
        ("GET", "/api/market/snapshot?symbols=NOPE", "", 400, &[r#"unknown symbol "NOPE""#]),
        ("GET", "/api/streams/quotes?symbols=NOPE", "", 400, &[r#"unknown symbol "NOPE""#]),
    ];
    let http = client();
    for (method, path, form, status, needles) in cases {
        let request = match method {
            "GET" => http.get(url(&server, path)),
            _ => http
                .post(url(&server, path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.to_string()),
        };
        let response = request.header("accept", "application/json").send().await.unwrap();
        let (got, content_type, error) = answer(response).await;
        assert_eq!(got, status, "{method} {path} {form}: {error}");
        assert_eq!(content_type, "application/json", "{method} {path}");
        for needle in needles {
            assert!(error.contains(needle), "{method} {path} {form}: {error:?} should say {needle:?}");
        }
    }
}

#[tokio::test]
async fn an_undecodable_form_body_to_start_is_400_with_the_reason() {
    let server = start_server(|_| {}).await;
    let bodies: [(&[u8], &str); 4] = [
        (b"kind=\xff\xfe", "could not read the request body: invalid utf-8"),
        (b"", "missing field `kind`"),
        (b"kind=primes&kind=pipeline", r#""kind""#),
        (br#"{"kind":"primes"}"#, "missing field `kind`"),
    ];
    for (body, needle) in bodies {
        let response = client()
            .post(url(&server, "/api/jobs/start"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        let (status, content_type, error) = answer(response).await;
        let shown = String::from_utf8_lossy(body);
        assert_eq!(status, 400, "{shown}: {error}");
        assert_eq!(content_type, "application/json", "{shown}");
        assert!(error.contains(needle), "{shown}: {error:?} should say {needle:?}");
    }
}

/// Reads quotes until `last` of `until` arrives; returns every symbol seen on the way.
async fn symbols_until(
    events: &mut (impl futures::Stream<Item = eventsource_stream::Event> + Unpin),
    until: &str,
    last: f64,
) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let event = take(events, 1).await.remove(0);
        assert_eq!(event.event, "quote");
        let quote: serde_json::Value = serde_json::from_str(&event.data).unwrap();
        let symbol = quote["symbol"].as_str().unwrap().to_string();
        let done = symbol == until && quote["last"] == last;
        seen.push(symbol);
        if done {
            return seen;
        }
    }
}

#[tokio::test]
async fn quote_streams_take_symbols_repeated_once_or_indexed() {
    // The simulated market is off: the only quotes are those of the ticks sent below.
    let server = start_server(|_| {}).await;
    let (headers, mut repeated) = subscribe(&url(&server, "/api/streams/quotes?symbols=ACME&symbols=BOLT"), None).await;
    assert_eq!(headers["content-type"], "text/event-stream");
    let (_, mut single) = subscribe(&url(&server, "/api/streams/quotes?symbols=ACME"), None).await;
    let (_, mut indexed) =
        subscribe(&url(&server, "/api/streams/quotes?symbols%5B0%5D=BOLT&symbols%5B1%5D=CRUX"), None).await;

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    for (symbol, price) in [("CRUX", 1.0), ("ACME", 1.0), ("BOLT", 1.0), ("CRUX", 2.0), ("BOLT", 2.0), ("ACME", 2.0)] {
        let tick = format!(r#"{{"symbol":"{symbol}","price":{price},"volume":1,"timestamp":{now}}}"#);
        publish(&server, "ticks", None, &tick).await;
    }
    let wait = Duration::from_secs(10);
    let seen = tokio::time::timeout(wait, symbols_until(&mut repeated, "ACME", 2.0)).await.unwrap();
    assert!(seen.contains(&"BOLT".to_string()), "{seen:?}");
    assert!(seen.iter().all(|s| s == "ACME" || s == "BOLT"), "{seen:?}");
    let seen = tokio::time::timeout(wait, symbols_until(&mut single, "ACME", 2.0)).await.unwrap();
    assert!(seen.iter().all(|s| s == "ACME"), "{seen:?}");
    let seen = tokio::time::timeout(wait, symbols_until(&mut indexed, "BOLT", 2.0)).await.unwrap();
    assert!(seen.contains(&"CRUX".to_string()), "{seen:?}");
    assert!(seen.iter().all(|s| s == "BOLT" || s == "CRUX"), "{seen:?}");

    // The snapshot takes the same forms.
    for query in ["symbols=ACME&symbols=BOLT", "symbols%5B0%5D=ACME&symbols%5B1%5D=BOLT"] {
        let view: serde_json::Value = client()
            .get(url(&server, &format!("/api/market/snapshot?{query}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let quotes = view["quotes"].as_array().unwrap();
        let quoted: Vec<&str> = quotes.iter().map(|q| q["symbol"].as_str().unwrap()).collect();
        assert_eq!(quoted, ["ACME", "BOLT"], "{query}");
        assert_eq!(view["quotes"][0]["last"], 2.0);
    }
}

#[tokio::test]
async fn a_plain_form_post_is_redirected_back_with_the_error() {
    let server = start_server(|_| {}).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let referer = url(&server, "/");
    let response = http
        .post(url(&server, "/api/jobs/start"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "text/html")
        .header("referer", &referer)
        .body("kind=primes&limit=lots")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(&referer) && location.contains("__err="), "{location}");
    // The page it leads to, rendered without any script, shows the message beside its field.
    let page = http.get(location).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let beside = html.split(r#"id="limit-error""#).nth(1).unwrap_or_else(|| panic!("no limit error: {html}"));
    assert!(beside.split("</span>").next().unwrap().contains("must be a whole number"), "{html}");
}

#[tokio::test]
async fn a_page_answers_with_the_status_of_the_error_it_shows() {
    let server = start_server(|_| {}).await;
    for (path, status, text) in [
        ("/markets?symbols=NOPE", 400, "unknown symbol"),
        ("/jobs/999999", 404, "Job not found"),
        ("/jobs/abc", 404, "Job not found"),
    ] {
        let response = client().get(url(&server, path)).header("accept", "text/html").send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(text), "{path}: {html}");
    }
}
