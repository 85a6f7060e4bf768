//! A `redis-server` of the tool's own for the Redis modes of `hubs`: started from PATH (or the
//! given binary) on a free loopback port with no persistence (`--save '' --appendonly no`) in a
//! directory of its own, read over one connection of the tool's (`INFO commandstats`, and its
//! pid for CPU from /proc), and stopped (SIGTERM, then SIGKILL) when done or dropped.

use crate::{
    error::BenchError,
    redis_info::{self, CommandCalls},
};
use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const STARTUP: Duration = Duration::from_secs(20);
const READ_TIMEOUT: Duration = Duration::from_secs(5);

pub struct RedisProcess {
    pub pid: u32,
    pub port: u16,
    child: Child,
    /// The tool's own connection, opened before any reading (so its setup is in no delta).
    connection: redis::Connection,
}

fn spawn_error(exe: &Path, reason: impl std::fmt::Display) -> BenchError {
    BenchError::Spawn { server: "redis", path: exe.display().to_string(), reason: reason.to_string() }
}

fn free_port() -> Result<u16, BenchError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| BenchError::Io("finding a free port", e))?;
    Ok(listener.local_addr().map_err(|e| BenchError::Io("finding a free port", e))?.port())
}

impl RedisProcess {
    /// Starts `exe` in `dir` (created, emptied of an old dump first) and waits until it answers.
    pub async fn start(exe: &Path, dir: &Path) -> Result<Self, BenchError> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|e| spawn_error(exe, e))?;
        let deadline = Instant::now() + STARTUP;
        loop {
            let port = free_port()?;
            let mut child = Command::new(exe)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| spawn_error(exe, e))?;
            let pid = child.id();
            loop {
                if let Some(connection) = tokio::task::block_in_place(|| connect(port)) {
                    return Ok(Self { pid, port, child, connection });
                }
                // Exited: the port was taken between picking and binding; pick another.
                if !matches!(child.try_wait(), Ok(None)) {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(spawn_error(exe, format!("no answer to PING on port {port} within {STARTUP:?}")));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if Instant::now() > deadline {
                return Err(spawn_error(exe, "it exited at every start"));
            }
        }
    }

    /// The URL a pulseboard instance is given (`PULSEBOARD_HUB`).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Calls per command so far (`INFO commandstats`).
    pub fn command_calls(&mut self) -> Result<CommandCalls, BenchError> {
        let connection = &mut self.connection;
        let info: String = tokio::task::block_in_place(|| redis::cmd("INFO").arg("commandstats").query(connection))
            .map_err(|e| BenchError::BadAnswer(format!("redis INFO commandstats: {e}")))?;
        redis_info::parse_commandstats(&info)
            .ok_or_else(|| BenchError::BadAnswer("redis INFO commandstats: a line without calls".into()))
    }

    /// SIGTERM (with no persistence configured, Redis exits at once), then SIGKILL after 10 s.
    pub async fn stop(mut self) {
        crate::server_proc::terminate(&mut self.child, self.pid).await;
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A connection to the Redis on `port` that has answered `PING`, or `None` (not up yet).
fn connect(port: u16) -> Option<redis::Connection> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/0")).ok()?;
    let mut connection = client.get_connection_with_timeout(Duration::from_millis(500)).ok()?;
    connection.set_read_timeout(Some(READ_TIMEOUT)).ok()?;
    let pong: String = redis::cmd("PING").query(&mut connection).ok()?;
    (pong == "PONG").then_some(connection)
}

/// `redis-server` as given, or found on PATH.
pub fn exe(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| PathBuf::from("redis-server"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Needs `redis-server` on PATH (it is the tool's own dependency for `hubs`); says so and
    /// passes where it is missing, as the app's Redis tests do outside CI.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_started_redis_counts_commands_run_inside_scripts() {
        if Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_err() {
            eprintln!("redis-server is not installed: skipped");
            return;
        }
        let dir = std::env::temp_dir().join(format!("pulseboard-bench-redis-test-{}", std::process::id()));
        let mut redis = RedisProcess::start(&exe(None), &dir).await.unwrap();
        let before = redis.command_calls().unwrap();
        let client = redis::Client::open(redis.url()).unwrap();
        let mut other = client.get_connection().unwrap();
        let _: String = redis::cmd("EVAL")
            .arg("redis.call('SET', KEYS[1], 'x'); redis.call('GET', KEYS[1]); return 'ok'")
            .arg(1)
            .arg("k")
            .query(&mut other)
            .unwrap();
        let calls = redis_info::delta(&before, &redis.command_calls().unwrap());
        assert_eq!(calls.get("eval"), Some(&1), "{calls:?}");
        assert_eq!(calls.get("set"), Some(&1), "commands inside the script are counted: {calls:?}");
        assert_eq!(calls.get("get"), Some(&1), "{calls:?}");
        assert_eq!(calls.get("info"), None, "our own readings are left out");
        let pid = redis.pid;
        redis.stop().await;
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "redis-server is gone (and reaped)");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
