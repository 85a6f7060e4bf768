#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests, then the Playwright suite in Chromium against
# the release build deployed into an empty directory. Installs whatever is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
export PATH="$HOME/.cargo/bin:$PATH"

printf '\n==> Rust unit and integration tests\n'
cargo test --features ssr
# The benchmark crate on its own, so it builds with exactly the features it declares.
cargo test -p pulseboard-bench

printf '\n==> Release build\n'
cargo leptos build --release

printf '\n==> End-to-end tests (Playwright + Chromium)\n'
cd end2end
npx playwright test
