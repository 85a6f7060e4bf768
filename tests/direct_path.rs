//! Event streams answered on the direct path (`src/streams/direct/`): what a raw HTTP/1.1 client
//! sees, that a client leaving frees its stream, and that every request the path does not speak
//! is still answered (by hyper).

mod common;

use common::*;
use std::time::Duration;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

#[tokio::test]
async fn a_stream_is_chunked_and_closes_the_connection_when_it_ends() {
    let server = start_server(|s| s.pulseboard.streams.retry_ms = 1500).await;
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    socket.write_all(b"GET /api/events?topic=raw HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
    let head = read_until(&mut socket, "retry: 1500\n\n").await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    for line in ["content-type: text/event-stream", "transfer-encoding: chunked", "connection: close", "date: "] {
        assert!(head.contains(line), "{line:?} missing: {head}");
    }
    let id = publish(&server, "raw", None, "hello").await;
    // One chunk: size line, the whole frame, CRLF.
    let frame = format!("id: {id}\ndata: hello\n\n");
    let chunk = read_until(&mut socket, &frame).await;
    assert!(chunk.contains(&format!("{:X}\r\n{frame}\r\n", frame.len())), "{chunk:?}");

    // The server ending the stream ends the chunked body and the connection.
    client().post(url(&server, "/api/debug/drop-streams")).send().await.unwrap();
    let end = read_until(&mut socket, "0\r\n\r\n").await;
    assert!(end.ends_with("0\r\n\r\n"), "{end:?}");
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut rest)).await.unwrap().unwrap();
    assert!(rest.is_empty());
}

#[tokio::test]
async fn a_client_leaving_frees_its_stream_without_any_event_to_write() {
    let server = start_server(|_| {}).await;
    let (headers, events) = subscribe(&url(&server, "/api/events?topic=leave"), None).await;
    assert_eq!(headers["connection"], "close", "served on the direct path");
    wait_for_open_streams(&server, 1).await;
    drop(events);
    wait_for_open_streams(&server, 0).await;

    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    socket.write_all(b"GET /api/streams/quotes HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
    read_until(&mut socket, "retry:").await;
    wait_for_open_streams(&server, 1).await;
    drop(socket);
    wait_for_open_streams(&server, 0).await;
}

#[tokio::test]
async fn a_head_arriving_in_pieces_is_waited_for() {
    let server = start_server(|_| {}).await;
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    for piece in ["GET /api/ev", "ents?topic=slow HTTP/1.1\r\nHo", "st: test\r\nLast-Event-ID: 0", "\r\n\r\n"] {
        socket.write_all(piece.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer = read_until(&mut socket, "retry: 2000\n\n").await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    // The direct path's own framing, which hyper's fallback would not give: the pieces were
    // waited for here, not handed over.
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    for line in ["connection: close", "transfer-encoding: chunked"] {
        assert!(head.contains(line), "{line:?} missing: {head}");
    }
    let (size, chunk) = body.split_once("\r\n").unwrap();
    assert!(usize::from_str_radix(size, 16).is_ok() && chunk.starts_with("retry: 2000\n\n"), "{body:?}");
}

#[tokio::test]
async fn requests_the_direct_path_does_not_speak_are_answered_by_hyper() {
    let server = start_server(|_| {}).await;
    let big = "x".repeat(20 * 1024);
    let requests = [
        "GET /api/events?topic=h HTTP/1.0\r\n\r\n".to_string(),
        "GET /api/events?topic=h HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc".to_string(),
        format!("GET /api/events?topic=h HTTP/1.1\r\nHost: t\r\nX-Big: {big}\r\n\r\n"),
    ];
    for request in requests {
        let mut connection = RawConnection::connect(&server).await;
        connection.send(&request).await;
        let head = connection.read_head().await;
        assert!(head.status_line.starts_with("HTTP/1.") && head.status() == 200, "{}: {head:?}", &request[..40]);
        assert_eq!(head.header("connection"), None, "served by hyper: {head:?}");
        connection.read_until(b"retry:").await;
        // Hyper's own behaviour, which the direct path never has: when the stream ends, an
        // HTTP/1.1 connection stays open for the next request (HTTP/1.0 closes without keep-alive).
        wait_for_open_streams(&server, 1).await;
        client().post(url(&server, "/api/debug/drop-streams")).send().await.unwrap();
        if request.contains("HTTP/1.1") {
            connection.read_until(b"\r\n0\r\n\r\n").await;
            connection.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await;
            let next = connection.read_head().await;
            assert_eq!(next.status(), 200, "a second request on the same socket: {next:?}");
            assert_eq!(connection.read_body(&next).await, br#"{"status":"ok"}"#);
        } else {
            // An HTTP/1.0 body is delimited by the close, without keep-alive.
            assert!(connection.closed().await, "HTTP/1.0 without keep-alive closes");
        }
    }

    // A malformed request line gets the 400 hyper would give, with a message.
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    socket.write_all(b"GET /api/events?topic=h\x01 HTTP/1.1\r\n\r\n").await.unwrap();
    let answer = read_until(&mut socket, "\"}").await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("malformed request line"), "{answer}");

    // A stream asked for on a connection that served a page first: hyper keeps the connection
    // and answers the stream on it (the direct path only ever sees a connection's first request).
    let mut connection = RawConnection::connect(&server).await;
    connection.send("GET /markets HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let page = connection.read_head().await;
    assert_eq!(page.status(), 200, "{page:?}");
    assert_eq!(page.header("connection"), None, "{page:?}");
    connection.read_body(&page).await;
    connection.send("GET /api/events?topic=h HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let stream = connection.read_head().await;
    assert_eq!(stream.status(), 200, "the second request on the socket: {stream:?}");
    assert_eq!(stream.header("content-type"), Some("text/event-stream"), "{stream:?}");
    assert_eq!(stream.header("connection"), None, "served by hyper: {stream:?}");
    connection.read_until(b"retry:").await;
}

#[tokio::test]
async fn errors_on_the_direct_path_carry_status_and_message() {
    let server = start_server(|_| {}).await;
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    socket.write_all(b"GET /api/events?topic=private.jobs HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), socket.read_to_string(&mut answer)).await.unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.contains(&format!("content-length: {}", body.len())), "{answer}");
    assert!(body.contains("private"), "{body}");
}
