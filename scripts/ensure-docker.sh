#!/usr/bin/env bash
# Make a Docker engine available on a Debian machine: install docker.io, iptables and debootstrap
# when missing, start dockerd in the background when it is not running, and wait for its socket.
# Idempotent and quiet when everything is already there. Needs root only when something is missing.
set -euo pipefail

SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
LOG=${DOCKERD_LOG:-/var/log/stackctl-dockerd.log}
WAIT_SECS=${DOCKERD_WAIT_SECS:-60}

say() { printf 'ensure-docker: %s\n' "$*" >&2; }

engine_up() {
  # `docker version` needs both client and server; fall back to the socket when no CLI is present.
  if command -v docker >/dev/null 2>&1; then
    docker version --format '{{.Server.Version}}' >/dev/null 2>&1
  else
    [ -S "$SOCK" ] && curl -sf --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1
  fi
}

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    say "$1 needs root; run: sudo $0"
    exit 1
  fi
}

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v curl >/dev/null 2>&1 || missing+=(curl)

if [ ${#missing[@]} -gt 0 ]; then
  need_root "installing ${missing[*]}"
  say "installing ${missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if engine_up; then
  exit 0
fi

need_root "starting dockerd"
say "starting dockerd (log: $LOG)"
nohup dockerd >"$LOG" 2>&1 &

for _ in $(seq 1 "$WAIT_SECS"); do
  if engine_up; then
    say "engine ready"
    exit 0
  fi
  sleep 1
done
say "dockerd did not answer on $SOCK within ${WAIT_SECS}s; last log lines:"
tail -n 20 "$LOG" >&2 || true
exit 1
