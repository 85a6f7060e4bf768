#!/usr/bin/env bash
# Installs whatever is missing, builds the release app and serves it on its built-in defaults
# at http://127.0.0.1:3000 (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo leptos build --release --precompress
bash scripts/precompress.sh
exec ./target/release/pulseboard
