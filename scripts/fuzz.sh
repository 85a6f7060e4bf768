#!/usr/bin/env bash
# Runs every fuzz target under libFuzzer (cargo-fuzz on the nightly toolchain) for a few seconds
# each, from an empty corpus, and prints how many inputs each ran. A crash, a panic or a hang
# (over 10 s for one input) fails the run; the input that did it is kept in
# fuzz/artifacts/<target>/ (`cargo +nightly fuzz run --dev -s none <target> <file>` replays it).
#   scripts/fuzz.sh            10 s per target (what the test command runs)
#   PULSEBOARD_FUZZ_SECS=300 scripts/fuzz.sh
# Built with `--dev -s none`: the debug profile (overflow checks and debug assertions on) and no
# sanitizer, which cuts the cold build from over an hour to minutes (README, "Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export PATH="$HOME/.cargo/bin:$PATH"
secs="${PULSEBOARD_FUZZ_SECS:-10}"
flags=(--dev -s none)
# cargo-fuzz sets RUSTFLAGS, which hides .cargo/config.toml's `rustflags` (the type-erased
# views), but appends any already set: pass the config's on, read from the one place they live.
config_flags="$(sed -n 's/^rustflags = \[\(.*\)\]$/\1/p' ../.cargo/config.toml | tr -d '",')"
[[ -n "$config_flags" ]] || { echo "fuzz: no rustflags found in .cargo/config.toml" >&2; exit 1; }
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }$config_flags"

cargo +nightly fuzz build "${flags[@]}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in $(cargo +nightly fuzz list); do
  mkdir -p "$work/$target"
  log="$work/$target.log"
  if ! cargo +nightly fuzz run "${flags[@]}" "$target" "$work/$target" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz: $target FAILED: the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  runs="$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log" | tail -n 1)"
  corpus="$(find "$work/$target" -type f | wc -l)"
  echo "fuzz: $target: ${runs:-no summary}, $corpus inputs kept in the corpus, nothing found"
done
