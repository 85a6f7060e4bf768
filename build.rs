//! Build script: gives the crate a build id, the same in the browser (wasm) build and the server
//! build of one source tree.
//!
//! cargo-leptos compiles the crate twice, once per side, so nothing one compile produces reaches
//! the other. Both compiles read the same sources, so the id is a digest of them: every file under
//! `src/`, `Cargo.toml` and `Cargo.lock` (paths and contents, in sorted order). The wasm carries the
//! id as a marker string; the server compares it with its own at start (`server::assets`), so a
//! site folder from another build is refused instead of failing to hydrate in the browser.

use sha2::{Digest, Sha256};
use std::{
    fs,
    path::{Path, PathBuf},
};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("Cargo.toml"), root.join("Cargo.lock")];
    collect(&root.join("src"), &mut files);
    files.sort();
    let mut digest = Sha256::new();
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap_or(file);
        // Separators keep ("ab", "c") and ("a", "bc") apart.
        digest.update(relative.to_string_lossy().as_bytes());
        digest.update([0]);
        let contents = fs::read(file).unwrap_or_else(|err| panic!("cannot read {}: {err}", file.display()));
        digest.update((contents.len() as u64).to_le_bytes());
        digest.update(&contents);
    }
    let id: String = digest.finalize()[..16].iter().map(|byte| format!("{byte:02x}")).collect();
    // Not under the PULSEBOARD_ prefix: cargo also sets this for the programs it runs (tests,
    // `cargo run`), where the configuration would take it for a misspelt setting.
    println!("cargo:rustc-env=BUILD_ID_OF_THIS_SOURCE={id}");
    // A directory is scanned recursively for changes.
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=Cargo.lock");
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}
