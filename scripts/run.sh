#!/usr/bin/env bash
# The project's main job (README): build stackctl, create secrets, render every mounted file for
# the highest phase.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
./target/release/stackctl init-secrets
./target/release/stackctl render --phase "${STACKCTL_PHASE:-4}"
