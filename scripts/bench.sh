#!/usr/bin/env bash
# Benchmarks of the everyday commands on a warm stack, with hyperfine (installed from Debian when
# missing): the whole verify suite, a no-op `up`, and `render`. Brings the stack up first.
# Results: .stackctl/bench.md (and the terminal).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --locked
bin=./target/release/stackctl
"$bin" init-secrets >/dev/null
"$bin" up --phase 4 >/dev/null
mkdir -p .stackctl
hyperfine --warmup 1 --runs "${BENCH_RUNS:-10}" --export-markdown .stackctl/bench.md \
  -n "verify (33 checks)" "$bin verify" \
  -n "up, nothing changed" "$bin up --phase 4" \
  -n "render phase 4" "$bin render --phase 4"
