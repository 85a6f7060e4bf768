//! A real `redis-server` for tests: started on a free loopback port in a temporary directory,
//! with no persistence unless a test asks, and stopped (killed) when the guard is dropped.
//!
//! Also compiled into the library's unit tests (`streams::hub::tests`) by path, so it uses only
//! std, tokio and the `redis` crate. Waits are for a condition (Redis answering `PING`) with a
//! deadline, never a fixed sleep.

#![allow(dead_code)]

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    appendonly: bool,
    child: Option<Child>,
}

/// Whether `redis-server` is installed (`scripts/install.sh --test` installs it).
pub fn installed() -> bool {
    Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl RedisServer {
    /// A Redis with no persistence (what most tests need).
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// A Redis that keeps its data across [`RedisServer::restart`] (`appendonly yes`).
    pub async fn start_persistent() -> Self {
        Self::start_with(true).await
    }

    async fn start_with(appendonly: bool) -> Self {
        let mut server = Self { port: free_port(), dir: tempfile::tempdir().unwrap(), appendonly, child: None };
        server.launch().await;
        server
    }

    fn spawn(&self) -> Child {
        Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", if self.appendonly { "yes" } else { "no" }])
            .args(["--dir", &self.dir.path().display().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (install it with scripts/install.sh --test)")
    }

    async fn launch(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        self.child = Some(self.spawn());
        loop {
            if self.ping().await {
                return;
            }
            let exited = self.child.as_mut().unwrap().try_wait().unwrap();
            if exited.is_some() {
                // The port was taken between picking and binding (or is not free yet after a
                // restart): try again, on the same port.
                assert!(Instant::now() < deadline, "redis-server did not start on port {}", self.port);
                self.child = Some(self.spawn());
            }
            assert!(Instant::now() < deadline, "redis-server on port {} did not answer PING in 20 s", self.port);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn ping(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else { return false };
        let attempt = async {
            let mut connection = client.get_multiplexed_async_connection().await.ok()?;
            redis::cmd("PING").query_async::<String>(&mut connection).await.ok()
        };
        matches!(tokio::time::timeout(Duration::from_millis(500), attempt).await, Ok(Some(pong)) if pong == "PONG")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A plain connection for the test's own commands.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url()).unwrap().get_multiplexed_async_connection().await.unwrap()
    }

    /// Stops Redis (`SHUTDOWN`: with `appendonly yes` everything written is flushed first).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let mut connection = self.connection().await;
            // Redis closes the connection instead of answering: an error is the expected reply.
            let _ = redis::cmd("SHUTDOWN").query_async::<()>(&mut connection).await;
            let deadline = Instant::now() + Duration::from_secs(20);
            while child.try_wait().unwrap().is_none() {
                assert!(Instant::now() < deadline, "redis-server did not stop in 20 s");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    /// Starts Redis again on the same port and directory (after [`RedisServer::stop`]).
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "stop it first");
        self.launch().await;
    }

    /// Stops and starts Redis on the same port: with `appendonly yes` its data survives.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start_again().await;
    }

    /// `CLIENT PAUSE` for every client: Redis holds all their commands for `pause`.
    pub async fn pause(&self, pause: Duration) {
        let mut connection = self.connection().await;
        redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(pause.as_millis() as u64)
            .query_async::<()>(&mut connection)
            .await
            .unwrap();
    }

    /// Calls of each command so far (`INFO commandstats`), e.g. `("xadd", 10)`.
    pub async fn command_calls(&self) -> Vec<(String, u64)> {
        let mut connection = self.connection().await;
        let info: String = redis::cmd("INFO").arg("commandstats").query_async(&mut connection).await.unwrap();
        info.lines()
            .filter_map(|line| {
                let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                let calls = rest.split(',').find_map(|field| field.strip_prefix("calls="))?;
                Some((name.to_string(), calls.parse().ok()?))
            })
            .collect()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
