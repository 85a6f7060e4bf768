#!/usr/bin/env bash
# Deploys the release build the way README describes: the binary (and its hash.txt), its site folder and Leptos.toml
# copied into an empty directory, nothing else (no cargo-leptos, no source tree), then runs it.
set -euo pipefail
port="${1:-3100}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
# release unless told otherwise (E2E_PROFILE=debug for a quicker local loop).
profile="${E2E_PROFILE:-release}"
for needed in "$repo/target/$profile/pulseboard" "$repo/target/site/pkg"; do
  [[ -e "$needed" ]] || { echo "missing $needed: build it first (cargo leptos build --release)" >&2; exit 1; }
done
deploy="$(mktemp -d -t pulseboard-deploy.XXXXXX)"
cp "$repo/target/$profile/pulseboard" "$deploy/"
# The hashed names of the site's js/wasm/css, which the binary reads beside itself.
if [[ -e "$repo/target/$profile/hash.txt" ]]; then cp "$repo/target/$profile/hash.txt" "$deploy/"; fi
cp -r "$repo/target/site" "$deploy/site"
cp "$repo/Leptos.toml" "$deploy/"
cd "$deploy"
echo "serving the deployed build from $deploy" >&2
# Settings a deployment changes, given the documented way: environment over Leptos.toml.
export LEPTOS_SITE_ROOT=site
export LEPTOS_SITE_ADDR="127.0.0.1:${port}"
export PULSEBOARD_DATA_DIR="$deploy/data"
# A known token secret: the tests sign their publish tokens with it (tests/token.ts).
export PULSEBOARD_JWT_SECRET="${E2E_JWT_SECRET:-pulseboard-end-to-end-tests-shared-secret}"
# The end-to-end tests cut streams on purpose through the debug endpoint.
export PULSEBOARD_DEBUG_ENDPOINTS=true
exec ./pulseboard --config Leptos.toml
