#!/usr/bin/env bash
# Benchmarks on a warm phase 5 stack (brought up first):
#  1. the pipeline, with `stackctl bench`: 200,000 records of 120 bytes as fast as the producer goes
#     (end-to-end rows/s, producer rows/s, latency percentiles, lost/duplicated), then a
#     1,000 records/s offered load for 30 s (the p99 latency figure);
#  2. the everyday commands, with hyperfine (installed from Debian when missing): the whole verify
#     suite, a no-op `up`, and `render`;
#  3. 1 vs 3 Kafka nodes (BENCH_NODES=1 skips it): the same pipeline bench on a 3-node copy of the
#     project (kafka.brokers 3, RF 3, min ISR 2; project <name>_n3, the same host ports, so the
#     1-node stack is stopped meanwhile and started again after), with `docker stats` per container
#     sampled under load, and both results side by side (rows/s, p99).
# Results: .stackctl/bench-pipeline.json, .stackctl/bench-rate.json, .stackctl/bench.md,
# .stackctl/bench-pipeline-3-nodes.json, .stackctl/bench-nodes.md (and the terminal).
#   BENCH_RECORDS=200000 BENCH_RATE=1000 BENCH_RATE_SECONDS=30 BENCH_RUNS=10 BENCH_NODES=3
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
  -n "verify (65 checks)" "$bin verify" \
  -n "up, nothing changed" "$bin up" \
  -n "render phase 5" "$bin render"

[ "${BENCH_NODES:-3}" = 3 ] || exit 0
# 3. The same bench on three nodes, from a copy of the project (the settings differ only there).
project=$(sed -n 's/^project: *//p' configs/stack.yaml)
n3=$(mktemp -d)
trap 'rm -rf "$n3"' EXIT
cp -r configs compose images secrets .gitignore "$n3"/
[ -d templates ] && cp -r templates "$n3"/
git -C "$n3" init -q
sed -i -e "s/^project: .*/project: ${project}_n3/" -e 's/^  brokers: 1$/  brokers: 3/' \
  -e 's/^replication_factor: 1$/replication_factor: 3/' -e 's/^min_insync_replicas: 1$/min_insync_replicas: 2/' \
  "$n3/configs/stack.yaml"
"$bin" stop >/dev/null
"$bin" up --root "$n3" >/dev/null
"$bin" bench --root "$n3" --records 20000 >/dev/null
"$bin" bench --root "$n3" --records "$records" --size 120 --format json >.stackctl/bench-pipeline-3-nodes.json &
sleep 5
docker stats --no-stream --format '{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}' \
  $(docker ps -q --filter "label=io.stackctl.project=${project}_n3") | tee .stackctl/bench-stats-3-nodes.txt
wait
"$bin" down --root "$n3" --volumes >/dev/null
"$bin" start >/dev/null
row() { jq -r --arg n "$1" '"| \($n) | \(.end_to_end_rows_per_s | floor) | \(.producer_rows_per_s | floor) | \(.latency_ms.p99) | \(.lost) | \(.duplicated) |"' "$2"; }
{
  echo "| Kafka nodes | end-to-end rows/s | producer rows/s | p99 ms | lost | duplicated |"
  echo "|---|---|---|---|---|---|"
  row 1 .stackctl/bench-pipeline.json
  row 3 .stackctl/bench-pipeline-3-nodes.json
} | tee .stackctl/bench-nodes.md
