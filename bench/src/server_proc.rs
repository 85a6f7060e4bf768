//! Starts the servers under test as child processes on 127.0.0.1 (port chosen by the server,
//! read from its "listening on" line), so the tool knows their pids for /proc readings,
//! and stops them.

use crate::error::BenchError;
use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// Which server a child runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    Reference,
    Pulseboard,
}

impl ServerKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Reference => "reference",
            Self::Pulseboard => "pulseboard",
        }
    }
}

/// How to start the servers.
#[derive(Debug, Clone)]
pub struct Launch {
    /// This executable, run with `reference` for the reference server.
    pub bench_exe: PathBuf,
    pub pulseboard_exe: PathBuf,
    /// Events the reference server keeps for slow subscribers (its broadcast capacity).
    pub buffer_events: usize,
    /// pulseboard settings, as `PULSEBOARD_*` variables (only known keys: the server refuses
    /// others), besides the loopback address and the directories set here.
    pub pulseboard_env: Vec<(String, String)>,
    /// Working (and data) directory for pulseboard.
    pub work_dir: PathBuf,
}

pub struct ServerProcess {
    pub kind: ServerKind,
    pub addr: SocketAddr,
    pub pid: u32,
    /// A token that may publish to the bench's topics (pulseboard needs one; the reference
    /// server ignores it).
    pub publish_token: Option<String>,
    child: Child,
}

const STARTUP: Duration = Duration::from_secs(30);

pub async fn start(kind: ServerKind, launch: &Launch) -> Result<ServerProcess, BenchError> {
    let (exe, mut command) = match kind {
        ServerKind::Reference => {
            let mut command = Command::new(&launch.bench_exe);
            command
                .arg("reference")
                .arg("--addr")
                .arg("127.0.0.1:0")
                .arg("--capacity")
                .arg(launch.buffer_events.to_string());
            (launch.bench_exe.as_path(), command)
        }
        ServerKind::Pulseboard => {
            std::fs::create_dir_all(&launch.work_dir).map_err(|e| spawn_error(kind, &launch.pulseboard_exe, e))?;
            let command = pulseboard_command(launch);
            (launch.pulseboard_exe.as_path(), command)
        }
    };
    command.env("RUST_LOG", "warn").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = command.spawn().map_err(|e| spawn_error(kind, exe, e))?;
    let pid = child.id();
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        return Err(spawn_error(kind, exe, "no stdout"));
    };
    // A thread reads stdout: it reports the "listening on" address, then keeps draining the
    // pipe so the child never blocks on it.
    let (found, address) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut found = Some(found);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // `https://` when the server speaks TLS.
            let named =
                line.split("listening on http://").nth(1).or_else(|| line.split("listening on https://").nth(1));
            if let Some(addr) = named {
                if let Some(found) = found.take() {
                    let _ = found.send(addr.trim().parse::<SocketAddr>().ok());
                }
            }
        }
    });
    let addr = match tokio::time::timeout(STARTUP, address).await {
        Ok(Ok(Some(addr))) => addr,
        Ok(Ok(None)) => {
            let _ = child.kill();
            return Err(spawn_error(kind, exe, "printed a \"listening on\" line whose address does not parse"));
        }
        // Its stdout closed before it listened: it is exiting, e.g. refusing a setting.
        Ok(Err(_)) => return Err(spawn_error(kind, exe, exited_early(&mut child).await)),
        Err(_) => {
            let _ = child.kill();
            return Err(spawn_error(kind, exe, "no \"listening on\" line within 30 s"));
        }
    };
    let publish_token = match kind {
        ServerKind::Reference => None,
        ServerKind::Pulseboard => match tokio::task::spawn_blocking({
            let launch = launch.clone();
            move || mint_publish_token(&launch)
        })
        .await
        .unwrap_or_else(|e| Err(spawn_error(kind, &launch.pulseboard_exe, e)))
        {
            Ok(token) => Some(token),
            Err(err) => {
                let _ = child.kill();
                return Err(err);
            }
        },
    };
    let server = ServerProcess { kind, addr, pid, child, publish_token };
    if !addr.ip().is_loopback() {
        server.stop().await;
        return Err(BenchError::NotLoopback(addr));
    }
    Ok(server)
}

/// The pulseboard binary with only the settings the bench gives: inherited `PULSEBOARD_` and
/// `LEPTOS_` variables are cleared (the server refuses unknown keys, and `LEPTOS_` ones must not
/// move it off loopback), then ours are set.
fn pulseboard_command(launch: &Launch) -> Command {
    let mut command = Command::new(&launch.pulseboard_exe);
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy();
        if key_text.starts_with("PULSEBOARD_") || key_text.starts_with("LEPTOS_") {
            command.env_remove(&key);
        }
    }
    command
        .current_dir(&launch.work_dir)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("LEPTOS_SITE_ROOT", launch.work_dir.join("site"))
        .env("PULSEBOARD_DATA_DIR", launch.work_dir.join("data"))
        .envs(launch.pulseboard_env.iter().map(|(k, v)| (k, v)));
    command
}

/// `pulseboard token` with the server's own settings and data directory (so its key): a token
/// that may publish to every topic that is not reserved to the server's producers.
fn mint_publish_token(launch: &Launch) -> Result<String, BenchError> {
    let kind = ServerKind::Pulseboard;
    let output = pulseboard_command(launch)
        .args(["token", "--publish", "*", "--ttl", "7d"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| spawn_error(kind, &launch.pulseboard_exe, e))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().last().map(str::trim) {
        Some(token) if output.status.success() && !token.is_empty() => Ok(token.to_string()),
        _ => Err(spawn_error(kind, &launch.pulseboard_exe, format!("`pulseboard token` failed: {}", output.status))),
    }
}

impl ServerProcess {
    /// SIGTERM, then SIGKILL if it has not exited within 10 s.
    pub async fn stop(mut self) {
        terminate(&mut self.child, self.pid).await;
    }
}

/// SIGTERM to a child process of ours, then SIGKILL if it has not exited within 10 s.
pub async fn terminate(child: &mut std::process::Child, pid: u32) {
    // SAFETY: signalling our own child by its pid.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for ServerProcess {
    /// Never leaves a server behind (e.g. when the run fails half way).
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Why a child that closed its stdout before listening stopped: its exit status (its own message
/// went to the inherited stderr, just above this tool's). Killed if it has not exited within 5 s.
async fn exited_early(child: &mut Child) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return format!("exited ({status}) before listening; its message is above"),
            Ok(None) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(20)).await,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return "closed its output before listening".into();
            }
        }
    }
}

fn spawn_error(kind: ServerKind, exe: &Path, reason: impl ToString) -> BenchError {
    BenchError::Spawn { server: kind.name(), path: exe.display().to_string(), reason: reason.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A stand-in for the server binary: a shell script in a fresh directory. As
    /// `pulseboard token ...` it prints a made-up token.
    fn fake_server(dir: &Path, name: &str, script: &str) -> Launch {
        let exe = dir.join(name);
        let token = "if [ \"$1\" = token ]; then echo minting >&2; echo fake.token.value; exit 0; fi";
        std::fs::write(&exe, format!("#!/bin/sh\n{token}\n{script}\n")).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        Launch {
            bench_exe: exe.clone(),
            pulseboard_exe: exe,
            buffer_events: 16,
            pulseboard_env: vec![("PULSEBOARD_MARKET_SEED".into(), "7".into())],
            work_dir: dir.join("work"),
        }
    }

    // One test, so no other test forks while a script is still open for writing (ETXTBSY).
    #[tokio::test]
    async fn a_server_is_found_by_its_listening_line_and_a_refusal_by_its_exit() {
        let dir = std::env::temp_dir().join(format!("pulseboard-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();

        // Notes the settings it got in its working directory, prints where it listens, then runs
        // until stopped.
        let listening = fake_server(
            &dir,
            "listening",
            "echo \"$PULSEBOARD_MARKET_SEED $PULSEBOARD_DATA_DIR $LEPTOS_SITE_ADDR\" > got\n\
             echo 'listening on http://127.0.0.1:45678'; exec sleep 60",
        );
        let server = start(ServerKind::Pulseboard, &listening).await.unwrap();
        assert_eq!(server.addr, "127.0.0.1:45678".parse::<SocketAddr>().unwrap());
        // The publish token is what `pulseboard token` printed last.
        assert_eq!(server.publish_token.as_deref(), Some("fake.token.value"));
        let got = std::fs::read_to_string(dir.join("work/got")).unwrap();
        assert_eq!(got.trim(), format!("7 {} 127.0.0.1:0", dir.join("work/data").display()));
        let pid = server.pid;
        let stopping = Instant::now();
        server.stop().await;
        assert!(stopping.elapsed() < Duration::from_secs(5), "SIGTERM stops it, no 10 s wait for SIGKILL");
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "the child is gone (and reaped)");

        // Refuses its settings: says why on stderr and exits 2 before listening.
        let refusing = fake_server(&dir, "refusing", "echo 'pulseboard: bad market.symbols' >&2; exit 2");
        let err = start(ServerKind::Pulseboard, &refusing).await.err().unwrap().to_string();
        assert!(err.contains("could not start the pulseboard server"), "{err}");
        assert!(err.contains("exited (exit status: 2) before listening"), "{err}");

        // A line that names no address it can use.
        let garbled = fake_server(&dir, "garbled", "echo 'listening on http://nowhere'; exec sleep 60");
        let err = start(ServerKind::Pulseboard, &garbled).await.err().unwrap().to_string();
        assert!(err.contains("whose address does not parse"), "{err}");

        std::fs::remove_dir_all(&dir).unwrap();
    }
}
