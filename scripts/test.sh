#!/usr/bin/env bash
# The project's test command (README, .ci/run). On a fresh Debian machine it installs what the tests
# need (a JDK for the JVM round-trip tests; Docker engine, iptables and debootstrap, kcat and
# clickhouse-client for the end-to-end test), then runs formatting, lint, actionlint on the CI
# workflows, the unit/snapshot/CLI tests, the Kubernetes manifests' schema and dry-run validation,
# and the end-to-end tests: images built (layer cache reused), stack up at phase 5, the full verify suite, deliberate breaks
# that must each fail exactly their check, and down; then the same at 3 Kafka nodes (e2e_cluster_three_nodes).
#
#   STACKCTL_E2E=0 ./scripts/test.sh           # skip the end-to-end tests (no Docker needed; reported as ignored)
#   STACKCTL_E2E_CLUSTER=0 ./scripts/test.sh   # the 1-node end-to-end test only (the 3-node one is left out, said so)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'test.sh: %s\n' "$*" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
  say "cargo not found: install a Rust toolchain (rustup, Rust >= 1.89) and re-run"
  exit 2
fi
need=()
command -v java >/dev/null 2>&1 || need+=(default-jdk-headless)
command -v git >/dev/null 2>&1 || need+=(git)
command -v cc >/dev/null 2>&1 || need+=(build-essential)
command -v make >/dev/null 2>&1 || need+=(make)
# The Kubernetes validation test: a TLS client certificate and HTTPS requests to the API server.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
export STACKCTL_E2E=${STACKCTL_E2E:-1}
if [ "$STACKCTL_E2E" = 1 ]; then
  # The end-to-end test runs the everyday clients with the rendered configs.
  command -v kcat >/dev/null 2>&1 || need+=(kcat)
  command -v clickhouse-client >/dev/null 2>&1 || need+=(clickhouse-client)
fi
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings

# The CI workflows: actionlint (installed once with Go into ~/.cache/stackctl/bin; the version is
# pinned here), then the steps they run are checked by the `ci` tests and run by the e2e test.
actionlint_version=v1.7.12
actionlint_bin=${XDG_CACHE_HOME:-$HOME/.cache}/stackctl/bin/actionlint-$actionlint_version
if [ ! -x "$actionlint_bin" ]; then
  if ! command -v go >/dev/null 2>&1; then
    say "go not found: install Go (https://go.dev/dl/) to lint the workflows with actionlint"
    exit 2
  fi
  say "installing actionlint $actionlint_version with go install"
  gobin=$(mktemp -d)
  GOBIN=$gobin go install "github.com/rhysd/actionlint/cmd/actionlint@$actionlint_version"
  mkdir -p "$(dirname "$actionlint_bin")"
  mv "$gobin/actionlint" "$actionlint_bin"
  rmdir "$gobin"
fi
"$actionlint_bin" -no-color .github/workflows/*.yml
bash -n scripts/ci-steps.sh

if [ "$STACKCTL_E2E" = 1 ]; then
  ./scripts/ensure-docker.sh
fi
# Kubernetes target (docs/kubernetes.md): every manifest of phases 2-5 x 1 and 3 Kafka nodes against
# Strimzi's regenerated CRDs and Altinity's (custom resources) and Kubernetes' OpenAPI v3 schemas
# from k8s.io/kubernetes (built-in kinds), then a strict dry-run of the custom resources on a local etcd +
# apiextensions-apiserver (ports 36443, 36379, 36380). Fetched and built once into
# ~/.cache/stackctl-k8s (cold: about 6 min, mostly `go install`; warm: seconds).
eval "$(./scripts/k8s/setup.sh)"
if [ "$STACKCTL_E2E" = 1 ]; then
  # Ignored tests: the end-to-end tests (1 and 3 Kafka nodes) and the Kubernetes validation. Not
  # the 1 GiB log-scan measurement (2 GB of container log; run on request: tests/it/log_scan_gb.rs).
  skip=(--skip log_scan_gb)
  if [ "${STACKCTL_E2E_CLUSTER:-1}" = 0 ]; then
    # Left out, not run: the test itself fails when selected with STACKCTL_E2E_CLUSTER=0.
    say "skipped: e2e_cluster_three_nodes (the 3-node end-to-end test; STACKCTL_E2E_CLUSTER=0)"
    skip+=(--skip e2e_cluster)
  fi
  cargo test --locked -- --include-ignored "${skip[@]}" --nocapture
else
  # The end-to-end test is #[ignore]d: it shows as ignored, not as passed.
  cargo test --locked -- --nocapture
  cargo test --locked --test it kubernetes -- --ignored --nocapture
fi
