#!/usr/bin/env bash
# The steps of the CI workflows (.github/workflows/stack.yml, .gitlab-ci.yml), one function each, so
# that CI and a developer run the same commands. Each workflow step is `./scripts/ci-steps.sh STEP`.
#
#   ./scripts/ci-steps.sh all          # every step in order here; logs on failure, always down
#   ./scripts/ci-steps.sh STEP...      # build images-key images save-images secrets up verify logs down
#   ./scripts/ci-steps.sh --list       # the step names
#
# Environment:
#   STACKCTL_ROOT          project directory stackctl works in (default: this checkout)
#   STACKCTL_BIN           the stackctl binary (default: target/release/stackctl, built by `build`)
#   STACKCTL_IMAGES_DIR    the image cache directory (default: .ci-cache/images under the root)
#   STACKCTL_PHASE         phase to bring up (default 5)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=${STACKCTL_ROOT:-$here}
export STACKCTL_ROOT=$root
bin=${STACKCTL_BIN:-$here/target/release/stackctl}
images_dir=${STACKCTL_IMAGES_DIR:-$root/.ci-cache/images}
phase=${STACKCTL_PHASE:-5}
junit=$root/.stackctl/verify-junit.xml
steps=(build images-key images save-images secrets up verify logs down)

say() { printf 'ci-steps: %s\n' "$*" >&2; }

# stackctl, release build (cached by the workflows' cargo cache); not when STACKCTL_BIN names one.
step_build() {
  if [ -n "${STACKCTL_BIN:-}" ]; then
    say "STACKCTL_BIN=$STACKCTL_BIN: not building"
    return 0
  fi
  (cd "$here" && cargo build --release --locked)
}

# One line: a key that changes exactly when an image identity does (recipes, build arguments, the
# base image's id). The base is pulled first where a registry serves it.
step_images-key() {
  docker image inspect debian:bookworm-slim >/dev/null 2>&1 \
    || docker pull -q debian:bookworm-slim >/dev/null 2>&1 \
    || say "debian:bookworm-slim not pullable: the key covers the recipes only"
  "$bin" --format json images list \
    | grep -oE '"(service|identity)": *("[^"]*"|null)' \
    | sha256sum | cut -c1-32
}

# The images: loaded from the cache directory when it holds them, the rest built.
step_images() {
  if [ -f "$images_dir/stackctl-images.json" ]; then
    "$bin" images load "$images_dir"
  else
    say "no saved images in $images_dir: building them"
  fi
  "$bin" images build
}

# The images into the cache directory (named by identity; unchanged ones are not written again).
step_save-images() {
  "$bin" images save "$images_dir"
}

step_secrets() {
  "$bin" init-secrets
}

step_up() {
  "$bin" up --phase "$phase" --no-build
}

step_verify() {
  "$bin" verify --junit "$junit"
}

# What every service logged (secrets redacted), for a failed run.
step_logs() {
  "$bin" status || true
  "$bin" logs --tail 200 -t
}

step_down() {
  "$bin" down --volumes
}

run_step() {
  local name=$1
  say "step $name"
  "step_$name"
}

all() {
  local failed=0
  run_step build
  run_step images
  run_step save-images
  run_step secrets
  if ! run_step up || ! run_step verify; then
    failed=1
    run_step logs || true
  fi
  run_step down
  [ -f "$junit" ] && say "JUnit report: $junit"
  return "$failed"
}

case "${1:-}" in
  "" | -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  --list) printf '%s\n' "${steps[@]}"; exit 0 ;;
  all) all ;;
  *)
    for name in "$@"; do
      if ! printf '%s\n' "${steps[@]}" | grep -qx -- "$name"; then
        say "unknown step \`$name\`; steps: ${steps[*]} (or all)"
        exit 2
      fi
    done
    for name in "$@"; do run_step "$name"; done
    ;;
esac
