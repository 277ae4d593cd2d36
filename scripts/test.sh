#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what the tests need when missing, then runs
# formatting, lint and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'test.sh: %s\n' "$*" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
  say "cargo not found: install a Rust toolchain (rustup, Rust >= 1.89) and re-run"
  exit 2
fi
# The escaping tests read rendered files back with the JVM's own parsers.
if ! command -v java >/dev/null 2>&1; then
  say "installing a JDK (default-jdk-headless) for the JVM round-trip tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq default-jdk-headless >/dev/null
fi
command -v git >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq git >/dev/null; }

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
