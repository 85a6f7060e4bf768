//! The binary and its site folder: deployed as README says (binary, hash.txt and `site/` in an
//! empty directory), it starts with the site of its own build and serves its files precompressed
//! and `immutable`, and refuses a site from another build or a half-copied one.

mod common;

use pulseboard::build_id::{BUILD_ID, MARKER, MARKER_PREFIX};
use std::{
    io::{BufRead, BufReader, Read},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

const JS: &str = "pulseboard.JJJJJJJJJJJJJJJJJJJJJJ.js";
const WASM: &str = "pulseboard.WWWWWWWWWWWWWWWWWWWWWW.wasm";
const CSS: &str = "pulseboard.CCCCCCCCCCCCCCCCCCCCCC.css";
const HASHES: &str = "js: JJJJJJJJJJJJJJJJJJJJJJ\nwasm: WWWWWWWWWWWWWWWWWWWWWW\ncss: CCCCCCCCCCCCCCCCCCCCCC\n";

/// A deploy directory: the binary (linked, or copied across filesystems), `hash.txt` beside it
/// and `site/pkg` holding the three files `hashes` names, the wasm with `marker` in its data.
fn deploy(hashes: &str, marker: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("pulseboard");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_pulseboard"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_pulseboard"), &exe).unwrap();
    }
    std::fs::write(dir.path().join("hash.txt"), hashes).unwrap();
    let pkg = dir.path().join("site/pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join(JS), "export default function init() {}\n").unwrap();
    std::fs::write(pkg.join(WASM), [b"\0asm\x01\0\0\0".as_slice(), marker.as_bytes(), b"\0"].concat()).unwrap();
    std::fs::write(pkg.join(CSS), "body { margin: 0 }\n").unwrap();
    dir
}

enum Outcome {
    Listening(Child, String),
    Exited { code: Option<i32>, stderr: String },
}

/// Starts the deployed binary on port 0 and waits (30 s at most) until it listens or exits.
fn start(dir: &Path) -> Outcome {
    let mut command = Command::new(dir.join("pulseboard"));
    for (name, _) in std::env::vars() {
        if name.starts_with("PULSEBOARD_") || name.starts_with("LEPTOS_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .current_dir(dir)
        .env("LEPTOS_SITE_ROOT", "site")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("PULSEBOARD_DATA_DIR", dir.join("data"))
        .env("PULSEBOARD_MARKET_TICKS_PER_SECOND", "0")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the deployed binary starts");
    let (tx, rx) = mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("pulseboard listening on http://") {
                let _ = tx.send(addr.to_string());
            }
        }
    });
    let mut stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(addr) => Outcome::Listening(child, addr),
        // The sender is gone: stdout closed, the process ended.
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let code = child.wait().unwrap().code();
            Outcome::Exited { code, stderr: stderr.join().unwrap() }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let _ = child.kill();
            panic!("the server neither listened nor exited within 30 s");
        }
    }
}

fn refused(outcome: Outcome) -> String {
    match outcome {
        Outcome::Listening(mut child, addr) => {
            let _ = child.kill();
            panic!("the server started on {addr} with a site from another build");
        }
        Outcome::Exited { code, stderr } => {
            assert_ne!(code, Some(0), "exit status of a refused start: {stderr}");
            stderr
        }
    }
}

#[test]
fn a_site_from_another_build_is_refused_naming_both_builds() {
    let other = "0123456789abcdef".repeat(2);
    assert_ne!(other, BUILD_ID);
    let dir = deploy(HASHES, &format!("{MARKER_PREFIX}{other}"));
    let stderr = refused(start(dir.path()));
    assert!(stderr.contains(&format!("is from build {other}")), "{stderr}");
    assert!(stderr.contains(BUILD_ID), "{stderr}");
}

#[test]
fn a_half_copied_site_is_refused_naming_the_missing_file() {
    // hash.txt of a newer build than the site: its wasm never arrived.
    let dir = deploy(&HASHES.replace("WWWWWWWWWWWWWWWWWWWWWW", "XXXXXXXXXXXXXXXXXXXXXX"), MARKER);
    let stderr = refused(start(dir.path()));
    assert!(stderr.contains("pulseboard.XXXXXXXXXXXXXXXXXXXXXX.wasm is missing"), "{stderr}");
    // And without the hash file at all (only the binary and the site were copied).
    let dir = deploy(HASHES, MARKER);
    std::fs::remove_file(dir.path().join("hash.txt")).unwrap();
    let stderr = refused(start(dir.path()));
    assert!(stderr.contains("hash.txt does not exist"), "{stderr}");
}

#[tokio::test]
async fn the_site_of_this_build_is_served_precompressed_and_immutable() {
    let dir = deploy(HASHES, MARKER);
    let brotli = b"precompressed at build time";
    std::fs::write(dir.path().join("site/pkg").join(format!("{WASM}.br")), brotli).unwrap();
    let Outcome::Listening(mut child, addr) = start(dir.path()) else { panic!("the server refused its own site") };
    let client = common::client();

    let page = client.get(format!("http://{addr}/markets")).send().await.unwrap();
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let html = page.text().await.unwrap();
    for name in [JS, WASM, CSS] {
        assert!(html.contains(&format!("/pkg/{name}")), "the page links {name}: {html}");
    }
    // The names were read once, at start: a hash file changed (or gone) since changes no page.
    std::fs::write(dir.path().join("hash.txt"), HASHES.replace('W', "X")).unwrap();
    let html = client.get(format!("http://{addr}/monitor")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("/pkg/{WASM}")), "the page links the wasm of the start: {html}");
    std::fs::remove_file(dir.path().join("hash.txt")).unwrap();
    let page = client.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for name in [JS, WASM, CSS] {
        assert!(html.contains(&format!("/pkg/{name}")), "without the hash file, the page still links {name}: {html}");
    }

    let wasm = client.get(format!("http://{addr}/pkg/{WASM}")).header("accept-encoding", "br, gzip").send().await;
    let wasm = wasm.unwrap();
    assert_eq!(wasm.status(), 200);
    assert_eq!(wasm.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(wasm.headers()["content-encoding"], "br");
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert_eq!(wasm.bytes().await.unwrap().as_ref(), brotli, "the .br file as built, not compressed again");

    // No .br for the js: the plain file, compressed on the fly, still immutable.
    let js = client.get(format!("http://{addr}/pkg/{JS}")).header("accept-encoding", "identity").send().await;
    let js = js.unwrap();
    assert_eq!(js.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert!(js.headers().get("content-encoding").is_none());
    assert_eq!(js.text().await.unwrap(), "export default function init() {}\n");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn no_site_at_all_still_starts() {
    let dir = deploy(HASHES, MARKER);
    std::fs::remove_dir_all(dir.path().join("site")).unwrap();
    match start(dir.path()) {
        Outcome::Listening(mut child, _) => {
            let _ = child.kill();
            let _ = child.wait();
        }
        Outcome::Exited { code, stderr } => panic!("exited ({code:?}) without a site: {stderr}"),
    }
}
