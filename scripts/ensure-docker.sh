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

# A dockerd (and the containerd it manages) that died uncleanly, e.g. killed with its session,
# leaves pid files behind; a new dockerd refuses to start, or times out waiting for containerd,
# while a pid in them looks alive. Remove each one unless it names a live process of that name.
clear_stale_pidfile() {
  local file=$1 name=$2 pid state comm
  [ -f "$file" ] || return 0
  pid=$(cat "$file" 2>/dev/null || true)
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  if [ -z "$pid" ] || [ "$comm" != "$name" ] || [ "$state" = Z ]; then
    say "removing stale $file (pid ${pid:-none} is not a running $name)"
    rm -f "$file"
  fi
}

# An orphaned containerd of a previous dockerd keeps its state directory locked: stop it.
MANAGED='containerd --config /var/run/docker/containerd/containerd.toml'
if ! pgrep -x dockerd >/dev/null 2>&1 && pgrep -f "$MANAGED" >/dev/null 2>&1; then
  say "stopping the containerd left behind by a previous dockerd"
  pkill -f "$MANAGED" || true
  for _ in $(seq 1 20); do
    pgrep -f "$MANAGED" >/dev/null 2>&1 || break
    sleep 0.5
  done
  pkill -9 -f "$MANAGED" 2>/dev/null || true
fi
clear_stale_pidfile /var/run/docker.pid dockerd
clear_stale_pidfile /var/run/docker/containerd/containerd.pid containerd

say "starting dockerd (log: $LOG)"
nohup dockerd >"$LOG" 2>&1 &
daemon=$!

for _ in $(seq 1 "$WAIT_SECS"); do
  if engine_up; then
    say "engine ready"
    exit 0
  fi
  if ! kill -0 "$daemon" 2>/dev/null; then
    say "dockerd exited during start-up; last log lines:"
    tail -n 20 "$LOG" >&2 || true
    exit 1
  fi
  sleep 1
done
say "dockerd did not answer on $SOCK within ${WAIT_SECS}s; last log lines:"
tail -n 20 "$LOG" >&2 || true
exit 1
