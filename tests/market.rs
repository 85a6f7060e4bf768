//! The market feed against a real server: symbol choice on the typed stream, outside ticks.

mod common;

use common::*;

fn quotes_url(server: &pulseboard::server::RunningServer, symbols: &[&str]) -> String {
    let query: Vec<String> = symbols.iter().enumerate().map(|(i, s)| format!("symbols%5B{i}%5D={s}")).collect();
    url(server, &format!("/api/streams/quotes?{}", query.join("&")))
}

#[tokio::test]
async fn a_stream_of_two_symbols_carries_only_those() {
    let server = start_server(|s| s.pulseboard.market.ticks_per_second = 2000).await;
    let (headers, mut events) = subscribe(&quotes_url(&server, &["ACME", "BOLT"]), None).await;
    assert_eq!(headers["content-type"], "text/event-stream");
    let got = take(&mut events, 40).await;
    let mut seen = std::collections::BTreeSet::new();
    for event in got {
        assert_eq!(event.event, "quote");
        let quote: serde_json::Value = serde_json::from_str(&event.data).unwrap();
        seen.insert(quote["symbol"].as_str().unwrap().to_string());
        assert!(quote["last"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["ACME", "BOLT"]);
}

/// A refused request: its status and the `error` message of its JSON body.
async fn refusal(url: &str) -> (u16, String) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(response.headers()["content-type"], "application/json", "{url}");
    let body: serde_json::Value = response.json().await.unwrap();
    (status, body["error"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn outside_ticks_drive_the_board_and_malformed_ones_are_refused() {
    let server = start_server(|s| s.pulseboard.market.ticks_per_second = 0).await;
    // Before its first tick the board does not know the symbol, and says so.
    let (status, message) = refusal(&quotes_url(&server, &["ZED.X"])).await;
    assert_eq!(status, 400);
    assert!(message.contains(r#"unknown symbol "ZED.X""#), "{message}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let http = client();
    // Ticks come from an outside feed: a publish like any other, with a token that allows `ticks`.
    let token = token_for(&["ticks"], &[], 60);
    let send = |body: String| http.post(url(&server, "/api/publish?topic=ticks")).bearer_auth(&token).body(body).send();

    for (body, message) in [
        ("{not json".to_string(), "not valid JSON"),
        (format!(r#"{{"symbol":"ZED.X","price":-3,"timestamp":{now}}}"#), "price -3"),
        (format!(r#"{{"symbol":"zed","price":3,"timestamp":{now}}}"#), "symbol \"zed\""),
    ] {
        let response = send(body).await.unwrap();
        assert_eq!(response.status(), 400);
        let error: serde_json::Value = response.json().await.unwrap();
        assert!(error["error"].as_str().unwrap().contains(message), "{error}");
    }
    let response = send(format!(r#"{{"symbol":"ZED.X","price":12.5,"volume":300,"timestamp":{now}}}"#)).await.unwrap();
    assert_eq!(response.status(), 200);
    // Now the symbol is on the board: its stream opens and carries the next quote.
    let (_, mut events) = subscribe(&quotes_url(&server, &["ZED.X"]), None).await;
    let response = send(format!(r#"{{"symbol":"ZED.X","price":13.0,"volume":100,"timestamp":{now}}}"#)).await.unwrap();
    assert_eq!(response.status(), 200);

    let events = take(&mut events, 1).await;
    let quote: serde_json::Value = serde_json::from_str(&events[0].data).unwrap();
    assert_eq!(quote["last"], 13.0);
    assert_eq!(quote["open"], 12.5);
    assert_eq!(quote["volume"], 400);

    // The snapshot the page renders knows the new symbol; the malformed ticks left no trace.
    let snapshot: serde_json::Value =
        http.get(url(&server, "/api/market/snapshot?symbols%5B0%5D=ZED.X")).send().await.unwrap().json().await.unwrap();
    assert_eq!(snapshot["quotes"][0]["last"], 13.0);
    assert!(!snapshot["symbols"].as_array().unwrap().iter().any(|s| s == "zed"));
}

#[tokio::test]
async fn bad_symbols_are_400_naming_the_symbol() {
    let server = start_server(|_| {}).await;
    for path in ["/api/streams/quotes", "/api/market/snapshot"] {
        let (status, message) = refusal(&url(&server, &format!("{path}?symbols%5B0%5D=no%20way"))).await;
        assert_eq!(status, 400, "{path}");
        assert!(message.contains(r#""no way" is not a symbol"#), "{path}: {message}");
        let (status, message) = refusal(&url(&server, &format!("{path}?symbols=ACME&symbols=NOPE"))).await;
        assert_eq!(status, 400, "{path}");
        assert!(message.contains(r#"unknown symbol "NOPE""#), "{path}: {message}");
        assert!(!message.contains(r#""ACME""#), "only the bad symbol is named: {message}");
    }
}
