//! `tls`: what TLS costs the server per idle event stream (issue 12), against plain HTTP in the
//! same run. One fresh server per transport, each given the same idle subscribers of one topic:
//!
//! - `plain`: HTTP/1.1 on raw TCP, one connection per stream (the direct path; the figure of
//!   BENCHMARKS.md run 3);
//! - `tls-http1`: HTTPS with ALPN `http/1.1`, one connection per stream (the direct path over
//!   TLS);
//! - `tls-h2`: HTTPS with ALPN `h2`, `--streams-per-connection` streams on each connection
//!   (hyper's HTTP/2 server).
//!
//! Per stream: (server RSS with every stream open, after settling, minus RSS before) / streams.
//! The certificate is made by the server binary itself (`pulseboard cert --self-signed`), and
//! the clients trust only it. Each client holds what it needs to keep its stream open, nothing is
//! read after the response head: the streams are idle.

use crate::{
    error::BenchError,
    procstat,
    server_proc::{self, Launch, ServerKind},
    subscriber,
};
use futures::StreamExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How the subscribers reach the server.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Plain,
    TlsHttp1,
    TlsH2,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain HTTP/1.1 (direct path)",
            Self::TlsHttp1 => "TLS, HTTP/1.1 (direct path)",
            Self::TlsH2 => "TLS, HTTP/2 (hyper)",
        }
    }
}

pub struct TlsPlan {
    pub transports: Vec<Transport>,
    pub streams: usize,
    pub streams_per_connection: usize,
    pub settle: Duration,
    pub connect_concurrency: usize,
}

pub struct TlsResult {
    pub transport: Transport,
    pub streams: usize,
    pub connections: usize,
    pub rss_base_kib: u64,
    pub rss_idle_kib: u64,
    pub connect_secs: f64,
}

impl TlsResult {
    pub fn kib_per_stream(&self) -> f64 {
        self.rss_idle_kib.saturating_sub(self.rss_base_kib) as f64 / self.streams.max(1) as f64
    }
}

const TOPIC_PATH: &str = "/api/events?topic=idle";
// Generous: TLS handshakes cost CPU, and the tool shares the cores with the server.
const TIMEOUT: Duration = Duration::from_secs(120);

pub async fn run(launch: &Launch, plan: &TlsPlan) -> Result<Vec<TlsResult>, BenchError> {
    let (cert, key) = certificate(launch).await?;
    let pem = std::fs::read(&cert).map_err(|e| BenchError::Io("reading the certificate", e))?;
    let mut results = Vec::new();
    for &transport in &plan.transports {
        let mut launch = launch.clone();
        if transport != Transport::Plain {
            launch.pulseboard_env.push(("PULSEBOARD_TLS_CERT".into(), cert.display().to_string()));
            launch.pulseboard_env.push(("PULSEBOARD_TLS_KEY".into(), key.display().to_string()));
        }
        let server = server_proc::start(ServerKind::Pulseboard, &launch).await?;
        eprintln!("started pulseboard (pid {}) on {} for {}", server.pid, server.addr, transport.name());
        let measured = measure(server.pid, server.addr, transport, plan, &pem).await;
        server.stop().await;
        let result = measured?;
        eprintln!(
            "{}: {} streams on {} connections in {:.1} s, {:.2} KiB per stream",
            transport.name(),
            result.streams,
            result.connections,
            result.connect_secs,
            result.kib_per_stream()
        );
        results.push(result);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(results)
}

/// `work_dir/tls/{cert,key}.pem`, made by the server binary the first time.
async fn certificate(launch: &Launch) -> Result<(PathBuf, PathBuf), BenchError> {
    let dir = launch.work_dir.join("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if !cert.is_file() || !key.is_file() {
        let made = tokio::process::Command::new(&launch.pulseboard_exe)
            .args(["cert", "--self-signed"])
            .arg(&dir)
            .status()
            .await
            .map_err(|e| BenchError::Io("running pulseboard cert", e))?;
        if !made.success() {
            return Err(BenchError::BadAnswer(format!("pulseboard cert --self-signed {} failed", dir.display())));
        }
    }
    Ok((cert, key))
}

/// What keeps one connection's streams open.
enum Held {
    Plain(#[allow(dead_code)] subscriber::Connected),
    Tls(#[allow(dead_code)] Box<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>),
    H2(#[allow(dead_code)] Vec<http::Response<hyper::body::Incoming>>),
}

async fn measure(
    pid: u32,
    addr: SocketAddr,
    transport: Transport,
    plan: &TlsPlan,
    pem: &[u8],
) -> Result<TlsResult, BenchError> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_base_kib = procstat::rss_kib(pid)?;
    let started = Instant::now();
    let per_connection = if transport == Transport::TlsH2 { plan.streams_per_connection.max(1) } else { 1 };
    let connections = plan.streams.div_ceil(per_connection);
    let alpn: &[u8] = if transport == Transport::TlsH2 { b"h2" } else { b"http/1.1" };
    let tls = Arc::new(client_config(pem, alpn)?);
    let opened: Vec<Result<Held, BenchError>> = futures::stream::iter(0..connections)
        .map(|n| {
            let streams = per_connection.min(plan.streams - n * per_connection);
            let tls = tls.clone();
            async move {
                let open = async {
                    match transport {
                        Transport::Plain => subscriber::connect(addr, TOPIC_PATH, None).await.map(Held::Plain),
                        Transport::TlsHttp1 => http1_stream(addr, tls).await.map(|s| Held::Tls(Box::new(s))),
                        Transport::TlsH2 => h2_streams(addr, tls, streams).await.map(Held::H2),
                    }
                };
                tokio::time::timeout(TIMEOUT, open).await.map_err(|_| BenchError::Timeout("opening streams"))?
            }
        })
        .buffer_unordered(plan.connect_concurrency.max(1))
        .collect()
        .await;
    let connect_secs = started.elapsed().as_secs_f64();
    let held = opened.into_iter().collect::<Result<Vec<_>, _>>()?;
    tokio::time::sleep(plan.settle).await;
    let rss_idle_kib = procstat::rss_kib(pid)?;
    drop(held);
    Ok(TlsResult { transport, streams: plan.streams, connections, rss_base_kib, rss_idle_kib, connect_secs })
}

fn client_config(pem: &[u8], alpn: &[u8]) -> Result<rustls::ClientConfig, BenchError> {
    let bad = |what: String| BenchError::BadAnswer(format!("the server's certificate: {what}"));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        roots.add(cert.map_err(|e| bad(e.to_string()))?).map_err(|e| bad(e.to_string()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(config)
}

async fn tls_connect(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, BenchError> {
    let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| BenchError::Io("connect", e))?;
    let name = ServerName::from(addr.ip());
    tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.map_err(|e| BenchError::Io("TLS handshake", e))
}

/// One HTTP/1.1 stream over its own TLS connection; returns once the 200 head has arrived.
async fn http1_stream(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, BenchError> {
    let mut tls = tls_connect(addr, config).await?;
    let request = format!("GET {TOPIC_PATH} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    tls.write_all(request.as_bytes()).await.map_err(|e| BenchError::Io("subscribe", e))?;
    // What rustls has not handed to the socket yet goes now.
    tls.flush().await.map_err(|e| BenchError::Io("subscribe", e))?;
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut chunk = [0u8; 1024];
        let n = tls.read(&mut chunk).await.map_err(|e| BenchError::Io("subscribe", e))?;
        if n == 0 {
            return Err(BenchError::Closed("the response head"));
        }
        head.extend_from_slice(&chunk[..n]);
    }
    if !head.starts_with(b"HTTP/1.1 200 ") {
        return Err(BenchError::BadAnswer(String::from_utf8_lossy(&head).into_owned()));
    }
    Ok(tls)
}

/// `streams` HTTP/2 streams over one TLS connection; returns once every 200 head has arrived.
async fn h2_streams(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    streams: usize,
) -> Result<Vec<http::Response<hyper::body::Incoming>>, BenchError> {
    let tls = tls_connect(addr, config).await?;
    if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
        return Err(BenchError::BadAnswer("the server did not agree on h2".into()));
    }
    let (sender, connection) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
        .await
        .map_err(|e| BenchError::BadAnswer(format!("HTTP/2 handshake: {e}")))?;
    tokio::spawn(connection);
    let requests = (0..streams).map(|_| {
        let mut sender = sender.clone();
        async move {
            let request = http::Request::get(format!("https://{addr}{TOPIC_PATH}"))
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .map_err(|e| BenchError::BadAnswer(e.to_string()))?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| BenchError::BadAnswer(format!("HTTP/2 request: {e}")))?;
            if response.status() != 200 {
                return Err(BenchError::Status { what: "the event stream GET", status: response.status().as_u16() });
            }
            Ok(response)
        }
    });
    futures::future::join_all(requests).await.into_iter().collect()
}

pub fn markdown(results: &[TlsResult]) -> String {
    let plain = results.iter().find(|r| r.transport == Transport::Plain).map(TlsResult::kib_per_stream);
    let mut out = String::from(
        "| transport | streams | connections | RSS before (MiB) | RSS with streams (MiB) | KiB per stream \
         | vs plain |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        let versus = match plain {
            Some(plain) if plain > 0.0 => format!("{:+.2} KiB", r.kib_per_stream() - plain),
            _ => "-".into(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.2} | {versus} |\n",
            r.transport.name(),
            r.streams,
            r.connections,
            r.rss_base_kib as f64 / 1024.0,
            r.rss_idle_kib as f64 / 1024.0,
            r.kib_per_stream()
        ));
    }
    out
}
