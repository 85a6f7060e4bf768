#!/usr/bin/env bash
# Installs what pulseboard needs to build and test, skipping whatever is already there.
# Works with no internet beyond the package registries (crates.io, npm, Debian).
#   scripts/install.sh          tools to build and run the app
#   scripts/install.sh --test   also Chromium, the Playwright test runner, redis-server and nginx
#                               (the Redis hub's and the nginx sample's tests start their own on
#                               free ports; the system services are never started), and a nightly
#                               toolchain with cargo-fuzz for the libFuzzer runs
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.11
# Must equal the wasm-bindgen crate version pinned in Cargo.toml.
WASM_BINDGEN_VERSION="$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)"
BINARYEN_VERSION=132
CARGO_FUZZ_VERSION=0.13.2

step() { printf '\n==> %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

sudo_if_needed() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# The build tools are built for build speed, not run speed: cargo-leptos's own release profile
# (fat LTO, one codegen unit) took about 20 minutes on 2 cores, and what these tools do per build
# (running wasm-bindgen, brotli on a 1.5 MB file) takes seconds either way.
install_tool() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install "$@"
}

step "Rust toolchain from rust-toolchain.toml (with the wasm32 target)"
command -v rustup >/dev/null || { echo "rustup is required: https://rustup.rs" >&2; exit 1; }
rustup toolchain install
rustc --version

step "cargo-leptos $CARGO_LEPTOS_VERSION"
if cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  echo "already installed"
else
  # no_downloads: fail clearly instead of fetching tools from GitHub.
  install_tool cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

step "wasm-bindgen-cli $WASM_BINDGEN_VERSION"
if wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  echo "already installed"
else
  # Not --locked: its lock file names a crate version the registry lacks.
  install_tool wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

step "wasm-opt (npm binaryen@$BINARYEN_VERSION)"
if wasm-opt --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
  echo "already installed"
else
  command -v npm >/dev/null || sudo_if_needed apt-get install -y nodejs npm
  npm install -g --no-audit --no-fund "binaryen@$BINARYEN_VERSION"
fi

if [[ "${1:-}" == "--test" ]]; then
  step "Chromium (Debian package; Playwright's browser download is not used)"
  if [[ -x /usr/bin/chromium ]]; then
    echo "already installed"
  else
    sudo_if_needed apt-get update -qq
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  fi
  step "redis-server and nginx (Debian packages; tests start them themselves, never as services)"
  missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "already installed"
  else
    sudo_if_needed apt-get update -qq
    # policy-rc.d: Debian's packages would otherwise start (and enable) the system services; a
    # CI machine needs only the binaries.
    # policy-rc.d is removed again however the install ends.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\nexit 101\n' | sudo_if_needed tee /usr/sbin/policy-rc.d >/dev/null
      sudo_if_needed chmod +x /usr/sbin/policy-rc.d
      trap 'sudo_if_needed rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
  redis-server --version
  /usr/sbin/nginx -v
  step "nightly toolchain and cargo-fuzz $CARGO_FUZZ_VERSION (libFuzzer runs of fuzz/)"
  if rustup toolchain list | grep -q '^nightly'; then
    echo "nightly already installed"
  else
    rustup toolchain install nightly --profile minimal
  fi
  if cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    echo "cargo-fuzz already installed"
  else
    install_tool cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
  fi
  step "Playwright test runner (end2end/)"
  (cd end2end && npm ci --no-audit --no-fund)
fi
