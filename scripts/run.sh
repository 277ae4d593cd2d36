#!/usr/bin/env bash
# The project's main job (README): on a Debian machine with nothing installed but a Rust toolchain,
# make a Docker engine available, build stackctl, create secrets, build the images (no registry
# needed), bring the stack up at the highest phase and verify it.
#
#   STACKCTL_PHASE=2 ./scripts/run.sh    # another phase
set -euo pipefail
cd "$(dirname "$0")/.."
phase=${STACKCTL_PHASE:-5}

./scripts/ensure-docker.sh
command -v cc >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential >/dev/null; }
cargo build --release --locked
bin=./target/release/stackctl
"$bin" init-secrets
"$bin" images build
"$bin" up --phase "$phase"
"$bin" verify --junit .stackctl/verify-junit.xml
