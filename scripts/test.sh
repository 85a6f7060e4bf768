#!/usr/bin/env bash
# Runs every test: format and lint checks, Rust unit and integration tests, each fuzz target
# briefly under libFuzzer, then the Playwright
# suite in Chromium against the release build deployed into an empty directory. Installs whatever
# is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
export PATH="$HOME/.cargo/bin:$PATH"

printf '\n==> Format and lints (both crates; the server and the browser build)\n'
cargo fmt --all --check
cargo clippy --features ssr --all-targets -- -D warnings
cargo clippy -p pulseboard-bench --all-targets -- -D warnings
cargo clippy --lib --no-default-features --features hydrate --target wasm32-unknown-unknown -- -D warnings

printf '\n==> Rust unit and integration tests\n'
cargo test --features ssr
# The benchmark crate on its own, so it builds with exactly the features it declares.
cargo test -p pulseboard-bench

printf '\n==> Fuzz targets under libFuzzer (10 s each)\n'
bash scripts/fuzz.sh

printf '\n==> Release build\n'
cargo leptos build --release --precompress
bash scripts/precompress.sh

printf '\n==> End-to-end tests (Playwright + Chromium)\n'
cd end2end
npx playwright test
