#!/usr/bin/env bash
# Runs every test: format and lint checks, Rust unit and integration tests, each fuzz target
# briefly under libFuzzer, then the Playwright
# suite in Chromium against the release build deployed into an empty directory. Installs whatever
# is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
# Each step's header says how long the run has taken so far, so a slow step shows in the log.
step() { printf '\n==> [%d s] %s\n' "$(( $(date +%s) - started ))" "$*"; }
bash scripts/install.sh --test
export PATH="$HOME/.cargo/bin:$PATH"

step 'Format and lints (both crates; the server and the browser build)'
cargo fmt --all --check
cargo clippy --features ssr --all-targets -- -D warnings
cargo clippy -p pulseboard-bench --all-targets -- -D warnings
cargo clippy --lib --no-default-features --features hydrate --target wasm32-unknown-unknown -- -D warnings

step 'Rust unit and integration tests'
cargo test --features ssr
# The benchmark crate on its own, so it builds with exactly the features it declares.
cargo test -p pulseboard-bench

step 'Fuzz targets under libFuzzer (10 s each)'
bash scripts/fuzz.sh

step 'Release build'
cargo leptos build --release --precompress
bash scripts/precompress.sh

step 'End-to-end tests (Playwright + Chromium)'
cd end2end
npx playwright test
step "all tests passed"
