#!/usr/bin/env bash
# Benchmarks on a warm phase 5 stack (brought up first):
#  1. the pipeline, with `stackctl bench`: 200,000 records of 120 bytes as fast as the producer goes
#     (end-to-end rows/s, producer rows/s, latency percentiles, lost/duplicated), then a
#     1,000 records/s offered load for 30 s (the p99 latency figure);
#  2. the everyday commands, with hyperfine (installed from Debian when missing): the whole verify
#     suite, a no-op `up`, and `render`.
# Results: .stackctl/bench-pipeline.json, .stackctl/bench-rate.json, .stackctl/bench.md (and the terminal).
#   BENCH_RECORDS=200000 BENCH_RATE=1000 BENCH_RATE_SECONDS=30 BENCH_RUNS=10
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
bin=./target/release/stackctl
"$bin" init-secrets >/dev/null
"$bin" up >/dev/null
mkdir -p .stackctl
records=${BENCH_RECORDS:-200000}
rate=${BENCH_RATE:-1000}
rate_records=$(( rate * ${BENCH_RATE_SECONDS:-30} ))
# A short warm-up run (JIT, consumer fetch sessions), not reported.
"$bin" bench --records 20000 >/dev/null
"$bin" bench --records "$records" --size 120
"$bin" bench --records "$records" --size 120 --format json >.stackctl/bench-pipeline.json
"$bin" bench --records "$rate_records" --size 120 --rate "$rate" --format json | tee .stackctl/bench-rate.json
command -v hyperfine >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }
hyperfine --warmup 1 --runs "${BENCH_RUNS:-10}" --export-markdown .stackctl/bench.md \
  -n "verify (61 checks)" "$bin verify" \
  -n "up, nothing changed" "$bin up" \
  -n "render phase 5" "$bin render"
