//! The server's life as an operator sees it: the real binary started with a configuration file
//! (`--config` or `PULSEBOARD_CONFIG`) and stopped with SIGTERM while clients are connected, then
//! started again on the same data directory; and what clients get while a server shuts down.

mod common;

use common::*;
use futures::StreamExt;
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};
use tokio::process::{Child, Command};

/// A `pulseboard` process listening on a free port.
struct Process {
    child: Child,
    addr: SocketAddr,
}

/// How the binary finds its configuration file.
enum ConfigBy<'a> {
    Argument(&'a Path),
    Variable(&'a Path),
}

impl Process {
    /// Starts the binary in an empty working directory (so no `./Leptos.toml` is picked up), on
    /// port 0 and `data_dir`, and waits for the line that names its address.
    async fn start(config: ConfigBy<'_>, data_dir: &Path) -> Self {
        let workdir = tempfile::tempdir().expect("temp dir").keep();
        let mut command = Command::new(env!("CARGO_BIN_EXE_pulseboard"));
        // Only the settings this test gives, whatever the environment running the tests holds.
        for (name, _) in std::env::vars() {
            if name.starts_with("PULSEBOARD_") || name.starts_with("LEPTOS_") {
                command.env_remove(name);
            }
        }
        match config {
            ConfigBy::Argument(path) => command.arg("--config").arg(path),
            ConfigBy::Variable(path) => command.env("PULSEBOARD_CONFIG", path),
        };
        command
            .current_dir(&workdir)
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("PULSEBOARD_DATA_DIR", data_dir)
            .env("PULSEBOARD_JWT_SECRET", common::TEST_SECRET)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::inherit());
        let (child, addr) = spawn_listening(&mut command).await;
        let server = Self { child, addr };
        server.wait_until_sigterm_is_caught().await;
        server
    }

    /// The server prints its address before it installs its SIGTERM handler, and a SIGTERM in
    /// between kills it the default way: wait until the kernel lists SIGTERM as caught.
    async fn wait_until_sigterm_is_caught(&self) {
        let Some(pid) = self.child.id() else { return };
        let status = format!("/proc/{pid}/status");
        if !Path::new(&status).exists() {
            return; // not Linux: nothing to read; the window is short.
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&status).unwrap_or_default();
            let caught = text
                .lines()
                .find_map(|line| line.strip_prefix("SigCgt:"))
                .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
                .unwrap_or(0);
            if caught & (1 << (15 - 1)) != 0 {
                return;
            }
            assert!(Instant::now() < deadline, "the server never installed its SIGTERM handler");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    async fn raw(&self) -> RawConnection {
        RawConnection::connect_to(self.addr).await
    }

    /// Sends SIGTERM the way an init system or `docker stop` does.
    fn terminate(&self) {
        let pid = self.child.id().expect("still running").to_string();
        let status = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(status.success(), "kill -TERM {pid}");
    }

    /// Waits for the process to exit (`within` at most); returns whether it exited with status 0.
    async fn exited(mut self, within: Duration) -> bool {
        let status = tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the server was still running {within:?} after SIGTERM"))
            .expect("wait for the server");
        if !status.success() {
            eprintln!("the server exited with {status}");
        }
        status.success()
    }

    async fn publish(&self, topic: &str, body: &str) -> String {
        let response = client()
            .post(self.url(&format!("/api/publish?topic={topic}")))
            .bearer_auth(common::publisher_token())
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string()
    }
}

/// A configuration file holding `pulseboard` (the `[pulseboard]` table's lines); the rest comes from
/// the built-in defaults.
fn config_file(pulseboard: &str) -> PathBuf {
    let dir = tempfile::tempdir().expect("temp dir").keep();
    let path = dir.join("pulseboard.toml");
    std::fs::write(&path, format!("[pulseboard]\nmarket-ticks-per-second = 0\n{pulseboard}\n")).unwrap();
    path
}

fn data_dir() -> PathBuf {
    tempfile::tempdir().expect("temp dir").keep()
}

#[tokio::test]
async fn sigterm_ends_open_streams_cleanly_and_exits_zero_without_waiting_for_the_grace() {
    let config = config_file("shutdown-grace-secs = 10");
    let server = Process::start(ConfigBy::Argument(&config), &data_dir()).await;
    // One stream on the direct path (a connection's first request), one served by hyper after
    // a page on a kept-alive connection, and an idle kept-alive connection.
    let (_, mut direct) = subscribe(&server.url("/api/events?topic=term"), None).await;
    let mut kept = server.raw().await;
    kept.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let health = kept.read_head().await;
    kept.read_body(&health).await;
    kept.send("GET /api/events?topic=term HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(kept.read_head().await.status(), 200);
    let mut idle = server.raw().await;
    idle.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let health = idle.read_head().await;
    idle.read_body(&health).await;

    let id = server.publish("term", "before").await;
    assert_eq!(take(&mut direct, 1).await[0].data, "before");
    kept.read_until(format!("id: {id}\ndata: before\n\n").as_bytes()).await;

    let started = Instant::now();
    server.terminate();
    // Both streams end as complete responses (a truncated body would be an error here).
    let ended = tokio::time::timeout(Duration::from_secs(5), direct.next()).await;
    assert!(matches!(ended, Ok(None)), "the direct-path stream ends cleanly");
    kept.read_until(b"\r\n0\r\n\r\n").await;
    assert!(kept.closed().await, "the kept-alive connection is closed after its stream");
    assert!(idle.closed().await, "the idle connection is closed");
    assert!(server.exited(Duration::from_secs(8)).await, "exit status 0");
    assert!(started.elapsed() < Duration::from_secs(5), "nothing held the drain: {:?}", started.elapsed());
}

/// A browser session: the cookie the server set on the first page.
async fn new_session(server: &Process) -> String {
    session_cookie(&server.url("")).await
}

async fn start_job(server: &Process, session: &str, form: &str) -> i64 {
    let response = post_form(&server.url("/api/jobs/start"), session, form).await;
    assert_eq!(response.status(), 200);
    response.json::<serde_json::Value>().await.unwrap().as_i64().expect("the job's id")
}

async fn job_state(server: &Process, session: &str, id: i64) -> String {
    let response =
        client().get(server.url(&format!("/api/jobs/detail?id={id}"))).header("cookie", session).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    body["job"]["state"].as_str().unwrap().to_string()
}

async fn wait_job_state(server: &Process, session: &str, id: i64, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = job_state(server, session, id).await;
        if state == want {
            return;
        }
        assert!(Instant::now() < deadline, "job {id} stayed {state}, never {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn queued_and_running_jobs_are_interrupted_by_sigterm_and_stay_so_after_a_restart() {
    let (config, data) = (config_file("jobs-workers = 1"), data_dir());
    let server = Process::start(ConfigBy::Argument(&config), &data).await;
    let me = new_session(&server).await;
    let running = start_job(&server, &me, "kind=pipeline&stages=6&step_ms=5000").await;
    wait_job_state(&server, &me, running, "running").await;
    // One worker, busy: this one waits in the queue.
    let queued = start_job(&server, &me, "kind=pipeline&stages=1&step_ms=10").await;
    assert_eq!(job_state(&server, &me, queued).await, "queued");

    server.terminate();
    assert!(server.exited(Duration::from_secs(10)).await, "exit status 0");

    // Same data directory: same records, and the same session (its key is kept there too).
    let server = Process::start(ConfigBy::Argument(&config), &data).await;
    for id in [running, queued] {
        assert_eq!(job_state(&server, &me, id).await, "interrupted", "job {id}");
    }
    // An interrupted job can be retried: a new job that runs to its end.
    let response = post_form(&server.url("/api/jobs/retry"), &me, &format!("id={queued}")).await;
    assert_eq!(response.status(), 200);
    let retried = response.json::<serde_json::Value>().await.unwrap().as_i64().unwrap();
    assert_ne!(retried, queued);
    wait_job_state(&server, &me, retried, "succeeded").await;
    server.terminate();
    assert!(server.exited(Duration::from_secs(10)).await);
}

#[tokio::test]
async fn an_event_id_from_before_a_restart_starts_with_an_unknown_id_reset() {
    let (config, data) = (config_file(""), data_dir());
    let server = Process::start(ConfigBy::Argument(&config), &data).await;
    let old = server.publish("restart", "first run").await;
    server.terminate();
    assert!(server.exited(Duration::from_secs(10)).await);

    let server = Process::start(ConfigBy::Argument(&config), &data).await;
    // Enough events that the old id's sequence number exists in this run too: only its epoch
    // tells that it is from an earlier run.
    for n in 0..3 {
        server.publish("restart", &n.to_string()).await;
    }
    let (_, mut events) = subscribe(&server.url("/api/events?topic=restart"), Some(&old)).await;
    let reset = take(&mut events, 1).await.remove(0);
    assert_eq!(reset.event, "reset");
    assert_eq!(reset.data, r#"{"reason":"unknown-id"}"#);
    assert_ne!(reset.id.split('-').next(), old.split('-').next(), "a new epoch: {} after {old}", reset.id);
    server.publish("restart", "live").await;
    assert_eq!(take(&mut events, 1).await[0].data, "live");
    server.terminate();
    assert!(server.exited(Duration::from_secs(10)).await);
}

#[tokio::test]
async fn the_pulseboard_config_variable_names_the_configuration_file() {
    let config = config_file("sse-retry-ms = 4321");
    let server = Process::start(ConfigBy::Variable(&config), &data_dir()).await;
    let response = client().get(server.url("/api/events?topic=configured")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let first =
        tokio::time::timeout(Duration::from_secs(5), body.next()).await.expect("retry at once").unwrap().unwrap();
    assert_eq!(&first[..], b"retry: 4321\n\n", "the file's sse-retry-ms, not the default 2000");
    drop(body);
    server.terminate();
    assert!(server.exited(Duration::from_secs(10)).await);
}

/// What `begin_shutdown` does first: the hub stops taking subscribers. From then on a stream
/// asked for on any path is refused with 503 and a message, until the connections close.
#[tokio::test]
async fn while_shutting_down_streams_are_refused_with_503_and_a_message() {
    use leptos::server_fn::ServerFn;
    let server = start_server(|_| {}).await;
    // A kept-alive connection that served a page: its next request goes to hyper.
    let mut kept = RawConnection::connect(&server).await;
    kept.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let health = kept.read_head().await;
    kept.read_body(&health).await;

    server.hub.disconnect_all(true);
    let message = |body: &[u8]| {
        let json: serde_json::Value = serde_json::from_slice(body).expect("a JSON error body");
        json["error"].as_str().expect("an error message").to_string()
    };
    // On the direct path (a connection's first request)...
    let response = client().get(url(&server, "/api/events?topic=late")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["connection"], "close", "answered on the direct path");
    assert_eq!(message(&response.bytes().await.unwrap()), "the server is shutting down");
    // ...by hyper...
    kept.send("GET /api/events?topic=late HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let head = kept.read_head().await;
    assert_eq!(head.status(), 503, "{head:?}");
    assert_eq!(head.header("content-type"), Some("application/json"), "{head:?}");
    assert_eq!(message(&kept.read_body(&head).await), "the server is shutting down");
    // ...and from a stream server function.
    let path = format!("{}?topic=late", pulseboard::inspector::TopicEvents::PATH);
    let response = client().get(url(&server, &path)).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.text().await.unwrap().contains("the server is shutting down"));

    // The whole shutdown then stops the server; new connections are refused.
    let addr = server.addr;
    server.begin_shutdown();
    server.stopped(Duration::from_secs(10)).await.unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no longer accepting");
}
