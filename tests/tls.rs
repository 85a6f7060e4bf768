//! HTTPS: a real server on a free port with a certificate rcgen made in a temp dir, read by
//! clients we did not write (reqwest over rustls, hyper's HTTP/2 client over tokio-rustls).
//! Pages and event streams over HTTP/1.1 (the direct path and hyper) and over HTTP/2 (100
//! streams on one connection), the answer to plain HTTP on the TLS port, and the binary made
//! ready by `pulseboard cert` and stopped by SIGTERM with streams open on every path; the session
//! cookie is `Secure` over TLS only.

mod common;

use common::*;
use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use http_body_util::{BodyExt, Empty};
use hyper::{body::Bytes, client::conn::http2::SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo};
use pulseboard::server::{tls::self_signed::write_self_signed, RunningServer};
use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::io::{AsyncBufReadExt, BufReader};

/// A TLS server and the certificate its clients trust.
async fn tls_server() -> (RunningServer, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap().keep();
    let written = write_self_signed(&dir).unwrap();
    let server = start_server(|s| {
        s.pulseboard.server.tls.cert = Some(written.cert.clone());
        s.pulseboard.server.tls.key = Some(written.key.clone());
    })
    .await;
    assert!(server.tls);
    (server, std::fs::read(&written.cert).unwrap())
}

fn https(addr: SocketAddr, path: &str) -> String {
    format!("https://{addr}{path}")
}

/// reqwest over rustls, trusting only `cert`; HTTP/1.1 only, or ALPN's choice.
fn https_client(cert: &[u8], http1_only: bool) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(cert).unwrap())
        .timeout(Duration::from_secs(30));
    let builder = if http1_only { builder.http1_only() } else { builder };
    builder.build().unwrap()
}

async fn publish_to(client: &reqwest::Client, addr: SocketAddr, topic: &str, body: &str) -> String {
    let request = client.post(https(addr, &format!("/api/publish?topic={topic}"))).bearer_auth(publisher_token());
    let response = request.body(body.to_string()).send();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    response.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

fn sse(
    body: impl Stream<Item = Result<Bytes, impl std::fmt::Display>> + Send + 'static,
) -> impl Stream<Item = Event> + Unpin {
    Box::pin(body.eventsource().map(|event| event.unwrap_or_else(|err| panic!("well-formed SSE: {err}"))))
}

/// One TLS connection offering only `h2`, and hyper's HTTP/2 client on it.
async fn h2_connection(addr: SocketAddr, cert: &[u8]) -> SendRequest<Empty<Bytes>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(cert) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::from(addr.ip());
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.expect("TLS handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "the server agreed on HTTP/2");
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await.expect("h2 handshake");
    tokio::spawn(connection);
    sender
}

async fn h2_get(
    sender: &SendRequest<Empty<Bytes>>,
    addr: SocketAddr,
    path: &str,
) -> http::Response<hyper::body::Incoming> {
    let request = http::Request::get(https(addr, path)).body(Empty::new()).unwrap();
    let response = sender.clone().send_request(request);
    tokio::time::timeout(Duration::from_secs(10), response).await.expect("an h2 answer in time").expect("h2 response")
}

#[tokio::test]
async fn pages_and_streams_over_https_with_http1_on_the_direct_path_and_on_hyper() {
    let (server, cert) = tls_server().await;
    let client = https_client(&cert, true);
    let page = client.get(https(server.addr, "/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.version(), http::Version::HTTP_11);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("<html"), "a rendered page");

    // A fresh connection's first request is a stream: the direct path (it closes after).
    let direct = https_client(&cert, true).get(https(server.addr, "/api/events?topic=tls1")).send().await.unwrap();
    assert_eq!(direct.status(), 200);
    assert_eq!(direct.headers()["connection"], "close", "answered on the direct path");
    assert_eq!(direct.headers()["content-type"], "text/event-stream");
    // The same client's kept-alive connection (it served the page): hyper answers.
    let kept = client.get(https(server.addr, "/api/events?topic=tls1")).send().await.unwrap();
    assert_eq!(kept.status(), 200);
    assert!(kept.headers().get("connection").is_none(), "served by hyper: {:?}", kept.headers());
    wait_for_open_streams(&server, 2).await;

    let (mut direct, mut kept) = (sse(direct.bytes_stream()), sse(kept.bytes_stream()));
    let ids =
        [publish_to(&client, server.addr, "tls1", "one").await, publish_to(&client, server.addr, "tls1", "two").await];
    for events in [&mut direct, &mut kept] {
        let got = take(events, 2).await;
        assert_eq!(
            got.iter().map(|e| (e.id.as_str(), e.data.as_str())).collect::<Vec<_>>(),
            [(&*ids[0], "one"), (&*ids[1], "two")]
        );
    }
}

#[tokio::test]
async fn a_hundred_streams_share_one_http2_connection_and_each_gets_every_event() {
    let (server, cert) = tls_server().await;
    // By construction one TCP connection: every request below goes through this one sender.
    let sender = h2_connection(server.addr, &cert).await;
    let page = h2_get(&sender, server.addr, "/").await;
    assert_eq!((page.status(), page.version()), (http::StatusCode::OK, http::Version::HTTP_2));
    assert!(page.headers().get("connection").is_none(), "{:?}", page.headers());

    let opened =
        futures::future::join_all((0..100).map(|_| h2_get(&sender, server.addr, "/api/events?topic=fan"))).await;
    let mut streams = Vec::new();
    for response in opened {
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), http::Version::HTTP_2);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert!(response.headers().get("connection").is_none(), "no Connection header on h2: {:?}", response.headers());
        streams.push(sse(response.into_body().into_data_stream()));
    }
    wait_for_open_streams(&server, 100).await;
    // The server's view, asked on the same connection: 100 subscribers of the topic.
    let stats = h2_get(&sender, server.addr, "/api/debug/stats").await.into_body().collect().await.unwrap().to_bytes();
    let stats: serde_json::Value = serde_json::from_slice(&stats).unwrap();
    assert_eq!(stats["subscribers_per_topic"]["fan"], 100, "{stats}");

    let client = https_client(&cert, false);
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(publish_to(&client, server.addr, "fan", &format!("event {n}")).await);
    }
    let read = futures::future::join_all(streams.iter_mut().map(|events| take(events, 3))).await;
    for events in read {
        let got: Vec<_> = events.iter().map(|e| e.id.clone()).collect();
        assert_eq!(got, ids);
        assert_eq!(events[2].data, "event 2");
    }
}

#[tokio::test]
async fn reqwest_picks_http2_by_alpn_and_plain_http_to_the_tls_port_is_refused_clearly() {
    let (server, cert) = tls_server().await;
    let page = https_client(&cert, false).get(https(server.addr, "/healthz")).send().await.unwrap();
    assert_eq!((page.status(), page.version()), (reqwest::StatusCode::OK, http::Version::HTTP_2));

    // Plain HTTP: a 400 in plain HTTP that says what to do, then the connection closes.
    let mut plain = RawConnection::connect_to(server.addr).await;
    plain.send("GET /api/events?topic=x HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let head = plain.read_head().await;
    assert_eq!(head.status(), 400, "{head:?}");
    let body: serde_json::Value = serde_json::from_slice(&plain.read_body(&head).await).unwrap();
    assert!(body["error"].as_str().unwrap().contains("https://"), "{body}");
    assert!(plain.closed().await, "closed after the answer");
    // Bytes that are neither TLS nor HTTP: closed, not left hanging.
    let mut junk = RawConnection::connect_to(server.addr).await;
    junk.send("\u{1}\u{2}\u{3}\r\n\r\n").await;
    assert!(junk.closed().await, "closed");
    // A client that never starts its handshake holds nobody up meanwhile.
    let _silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let page = https_client(&cert, true).get(https(server.addr, "/healthz")).send().await.unwrap();
    assert_eq!(page.status(), 200);
}

/// The attributes of the session cookie a server sets on a first page, as `client` sees it.
async fn session_cookie_attributes(client: &reqwest::Client, page: String) -> Vec<String> {
    let response = client.get(page).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cookies: Vec<&str> =
        response.headers().get_all("set-cookie").iter().map(|value| value.to_str().unwrap()).collect();
    let session = cookies
        .iter()
        .find(|cookie| cookie.starts_with(&format!("{}=", pulseboard::session::COOKIE)))
        .expect("a session cookie");
    session.split(';').skip(1).map(|attribute| attribute.trim().to_ascii_lowercase()).collect()
}

#[tokio::test]
async fn the_session_cookie_is_secure_over_tls_and_not_over_plain_http() {
    let (server, cert) = tls_server().await;
    for http1_only in [true, false] {
        let attributes = session_cookie_attributes(&https_client(&cert, http1_only), https(server.addr, "/")).await;
        assert!(attributes.iter().any(|a| a == "secure"), "over TLS (http1 only: {http1_only}): {attributes:?}");
        assert!(attributes.iter().any(|a| a == "httponly"), "{attributes:?}");
    }
    let plain = start_server(|_| {}).await;
    let attributes = session_cookie_attributes(&client(), url(&plain, "/")).await;
    assert!(!attributes.iter().any(|a| a == "secure"), "over plain HTTP: {attributes:?}");
    assert!(attributes.iter().any(|a| a == "httponly"), "{attributes:?}");
}

/// The binary, started in an empty directory on a free port with `env`; waits for its line.
async fn start_binary(env: &[(&str, &Path)]) -> (tokio::process::Child, String) {
    let workdir = tempfile::tempdir().unwrap().keep();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_pulseboard"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PULSEBOARD_") || n.starts_with("LEPTOS_")) {
        command.env_remove(name);
    }
    command
        .current_dir(&workdir)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("PULSEBOARD_DATA_DIR", workdir.join("data"))
        .env("PULSEBOARD_MARKET_TICKS_PER_SECOND", "0")
        .env("PULSEBOARD_SHUTDOWN_GRACE_SECS", "10")
        .env("PULSEBOARD_JWT_SECRET", TEST_SECRET)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("the pulseboard binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.expect("listens within 30 s");
    let line = line.unwrap().expect("a line on stdout");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, line)
}

/// Reads `events` to their end: the body must end cleanly (no error), within 5 s.
async fn ends_cleanly(mut events: impl Stream<Item = Result<Bytes, String>> + Unpin) -> Vec<u8> {
    let mut seen = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(chunk) = events.next().await {
            seen.extend_from_slice(&chunk.unwrap_or_else(|err| panic!("the stream broke instead of ending: {err}")));
        }
    });
    read.await.expect("the stream ended within 5 s");
    seen
}

#[tokio::test]
async fn the_cert_command_makes_files_the_server_takes_and_sigterm_ends_tls_streams_on_every_path() {
    let dir = tempfile::tempdir().unwrap().keep().join("tls");
    let cert_command = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_pulseboard")).args(["cert", "--self-signed"]).arg(&dir).output()
    };
    let made = cert_command().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let (cert_path, key_path): (PathBuf, PathBuf) = (dir.join("cert.pem"), dir.join("key.pem"));
    assert!(String::from_utf8_lossy(&made.stdout).contains("PULSEBOARD_TLS_CERT="), "says how to use them");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again = cert_command().unwrap();
    assert!(!again.status.success(), "existing files are not overwritten");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"), "says why");

    let (mut child, line) =
        start_binary(&[("PULSEBOARD_TLS_CERT", &cert_path), ("PULSEBOARD_TLS_KEY", &key_path)]).await;
    let addr = line.strip_prefix("pulseboard listening on https://").unwrap_or_else(|| panic!("{line}"));
    let addr: SocketAddr = addr.parse().unwrap();
    let cert = std::fs::read(&cert_path).unwrap();
    let client = https_client(&cert, true);
    // The direct path over TLS, hyper's HTTP/1.1 over TLS (after a page), and HTTP/2.
    let direct = https_client(&cert, true).get(https(addr, "/api/events?topic=bye")).send().await.unwrap();
    assert_eq!(direct.headers()["connection"], "close");
    assert_eq!(client.get(https(addr, "/healthz")).send().await.unwrap().status(), 200);
    let kept = client.get(https(addr, "/api/events?topic=bye")).send().await.unwrap();
    assert!(kept.headers().get("connection").is_none());
    let sender = h2_connection(addr, &cert).await;
    let h2 = h2_get(&sender, addr, "/api/events?topic=bye").await;
    assert_eq!(h2.status(), 200);
    let to_text = |err: &dyn std::fmt::Display| err.to_string();
    let bodies: Vec<Box<dyn Stream<Item = Result<Bytes, String>> + Unpin + Send>> = vec![
        Box::new(direct.bytes_stream().map(move |c| c.map_err(|e| to_text(&e)))),
        Box::new(kept.bytes_stream().map(move |c| c.map_err(|e| to_text(&e)))),
        Box::new(h2.into_body().into_data_stream().map(move |c| c.map_err(|e| to_text(&e)))),
    ];
    let id = publish_to(&client, addr, "bye", "last").await;

    let started = Instant::now();
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().unwrap().to_string()]).status();
    assert!(status.unwrap().success());
    for (path, body) in ["direct", "hyper http/1.1", "h2"].into_iter().zip(bodies) {
        let text = String::from_utf8(ends_cleanly(body).await).unwrap();
        assert!(text.starts_with("retry: 2000\n\n"), "{path}: {text:?}");
        assert!(text.contains(&format!("id: {id}\ndata: last\n\n")), "{path}: {text:?}");
    }
    let exited = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("exits within the grace");
    assert!(exited.unwrap().success(), "exit status 0");
    assert!(started.elapsed() < Duration::from_secs(5), "nothing held the drain: {:?}", started.elapsed());
}

#[tokio::test]
async fn the_server_refuses_to_start_on_a_bad_certificate_file_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_self_signed(dir.path()).unwrap();
    let broken = dir.path().join("broken.pem");
    std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n").unwrap();
    let mut settings = pulseboard::config::load(None).unwrap();
    settings.leptos.site_addr = "127.0.0.1:0".parse().unwrap();
    settings.pulseboard.server.data_dir = dir.path().join("data");
    settings.pulseboard.server.tls.cert = Some(broken);
    settings.pulseboard.server.tls.key = Some(written.key);
    let message = pulseboard::server::start(settings).await.err().expect("refused").to_string();
    assert!(message.contains("broken.pem"), "{message}");
}

/// A side effect of hyper's HTTP/2 being compiled in: plain HTTP also takes HTTP/2 with prior
/// knowledge (h2c, as some proxies speak to their backends); hyper serves those connections.
#[tokio::test]
async fn plain_http_also_takes_http2_with_prior_knowledge() {
    let server = start_server(|_| {}).await;
    assert!(!server.tls);
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await.expect("h2c handshake");
    tokio::spawn(connection);
    let request = http::Request::get(url(&server, "/healthz")).body(Empty::<Bytes>::new()).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), sender.send_request(request)).await.unwrap().unwrap();
    assert_eq!((response.status(), response.version()), (http::StatusCode::OK, http::Version::HTTP_2));
}
