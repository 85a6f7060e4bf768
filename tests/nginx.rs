//! The sample nginx configuration (`deploy/nginx/pulseboard.conf`) in front of two instances
//! sharing one real Redis, all on loopback: nginx accepts it (`nginx -t`), streams pass through
//! unbuffered, `X-Forwarded-For` names the client (the instances trust nginx), and a stream whose
//! instance stops resumes through nginx on the other one with nothing lost or repeated.

mod common;
#[path = "common/redis.rs"]
mod redis_server;

use common::*;
use futures::StreamExt;
use pulseboard::server::RunningServer;
use redis_server::RedisServer;
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// `nginx` as Debian installs it (`scripts/install.sh --test`), if it is there.
fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"].map(PathBuf::from).into_iter().find(|p| p.is_file())
}

/// nginx running the sample configuration with its upstreams pointed at `a` and `b`; killed
/// when dropped.
struct Nginx {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(binary: &Path, a: SocketAddr, b: SocketAddr) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let addr: SocketAddr = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap()
        };
        let sample = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx/pulseboard.conf"))
            .expect("the sample configuration");
        for needle in ["127.0.0.1:3000", "127.0.0.1:3001", "listen 8080;"] {
            assert!(sample.contains(needle), "the sample still has {needle:?}");
        }
        let site = sample
            .replace("127.0.0.1:3000", &a.to_string())
            .replace("127.0.0.1:3001", &b.to_string())
            .replace("listen 8080;", &format!("listen {addr};"));
        std::fs::write(dir.path().join("pulseboard.conf"), site).unwrap();
        let d = dir.path().display();
        // What Debian's /etc/nginx/nginx.conf provides around conf.d, kept inside the test's dir.
        let main = format!(
            "pid {d}/nginx.pid;\nerror_log {d}/error.log warn;\nevents {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
             \x20 fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             \x20 include {d}/pulseboard.conf;\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
        let args = |command: &mut Command| {
            command
                .arg("-p")
                .arg(dir.path())
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .arg("-c")
                .arg(dir.path().join("nginx.conf"));
        };
        let mut check = Command::new(binary);
        args(&mut check);
        let checked = check.arg("-t").output().expect("nginx -t runs");
        assert!(checked.status.success(), "nginx -t: {}", String::from_utf8_lossy(&checked.stderr));
        let mut run = Command::new(binary);
        args(&mut run);
        let child = run
            .args(["-g", "daemon off; master_process off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx starts");
        Self { child, addr, _dir: dir }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// nginx's error log, for a failing assertion's message.
    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn instance(redis: &RedisServer) -> RunningServer {
    let url = redis.url();
    start_server(move |s| {
        s.pulseboard.streams.hub = Some(url);
        s.pulseboard.streams.heartbeat_secs = 1;
        // As the sample's comment says: the instances trust nginx's X-Forwarded-For.
        s.pulseboard.limits.trusted_proxies = vec!["127.0.0.1".into()];
        s.pulseboard.limits.max_streams_per_ip = 1;
        // No market: its board follows the hub on a stream of its own, which would be counted.
        s.pulseboard.market.symbols = Vec::new();
    })
    .await
}

async fn stream_via(nginx: &Nginx, client_ip: &str, last_event_id: Option<&str>) -> reqwest::Response {
    let mut request = client()
        .get(nginx.url("/api/events?topic=edge"))
        .header("accept", "text/event-stream")
        .header("x-forwarded-for", client_ip);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_pass_through_nginx_and_resume_on_the_other_instance() {
    let Some(binary) = nginx_binary() else {
        assert!(std::env::var_os("CI").is_none(), "nginx must be installed in CI (scripts/install.sh --test)");
        eprintln!("skipped: nginx is not installed (scripts/install.sh --test installs it)");
        return;
    };
    if !redis_server::installed() {
        assert!(std::env::var_os("CI").is_none(), "redis-server must be installed in CI");
        eprintln!("skipped: redis-server is not installed");
        return;
    }
    let redis = RedisServer::start().await;
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let nginx = Nginx::start(&binary, a.addr, b.addr);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = client().get(nginx.url("/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "nginx and the instances were not ready in 20 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Each instance holds streams of its own over the shared hub (the monitor follows its peers'
    // samples): the one nginx chose holds one more.
    let (base_a, base_b) = (a.hub.stats().streams, b.hub.stats().streams);
    let response = stream_via(&nginx, "203.0.113.7", None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut events =
        Box::pin(eventsource_stream::Eventsource::eventsource(response.bytes_stream()).map(|e| e.unwrap()));
    // Which instance nginx chose: the one holding the stream.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (serving, other, other_base) = loop {
        match (a.hub.stats().streams.saturating_sub(base_a), b.hub.stats().streams.saturating_sub(base_b)) {
            (1, 0) => break (&a, &b, base_b),
            (0, 1) => break (&b, &a, base_a),
            _ => assert!(Instant::now() < deadline, "the stream reached no instance"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };

    // Published on either instance, each event arrives through nginx at once, in order.
    let mut ids = Vec::new();
    for (n, server) in [&a, &b, &a].into_iter().enumerate() {
        ids.push(publish(server, "edge", None, &format!("event {n}")).await);
        let got = take(&mut events, 1).await.remove(0);
        assert_eq!((got.id.as_str(), got.data.as_str()), (ids[n].as_str(), format!("event {n}").as_str()));
    }

    // The instances see the client nginx names: one stream per client (max-streams-per-ip = 1)
    // refuses the same client's second stream, not another client's.
    assert_eq!(stream_via(&nginx, "203.0.113.7", None).await.status(), 429);
    let second = stream_via(&nginx, "203.0.113.8", None).await;
    assert_eq!(second.status(), 200, "another client behind nginx is another client");
    drop(second);

    // The serving instance stops; events go on meanwhile; the client comes back through nginx
    // with its last id and gets exactly what it missed, from the other instance.
    drop(events);
    serving.begin_shutdown();
    let mut missed = Vec::new();
    for n in 3..6 {
        missed.push((publish(other, "edge", None, &format!("event {n}")).await, format!("event {n}")));
    }
    // As EventSource does: a failed reconnect (nginx answers 502 when the stopping instance
    // closed a kept-alive connection it tried) is tried again after the retry delay.
    let mut tries = 0;
    let response = loop {
        let response = stream_via(&nginx, "203.0.113.7", Some(&ids[2])).await;
        tries += 1;
        if response.status() == 200 || tries == 5 {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(response.status(), 200, "after {tries} tries; nginx: {}", nginx.log());
    let mut resumed =
        Box::pin(eventsource_stream::Eventsource::eventsource(response.bytes_stream()).map(|e| e.unwrap()));
    let got: Vec<(String, String)> = take(&mut resumed, 3).await.into_iter().map(|e| (e.id, e.data)).collect();
    assert_eq!(got, missed);
    assert_eq!(other.hub.stats().streams, other_base + 1, "the resumed stream is on the other instance");
}
