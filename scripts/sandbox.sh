#!/usr/bin/env bash
# The engine sandbox: a private dockerd in its own network namespace, with its own data root,
# exec root, socket and pid file. Used by `make run` (when no engine is given), `make test` and
# the benchmarks. Several can run side by side, each under its own NAME.
#
#   scripts/sandbox.sh install            install docker.io, iptables, busybox-static if missing
#   scripts/sandbox.sh start NAME         start engine NAME (idempotent), print its DOCKER_HOST
#   scripts/sandbox.sh stop NAME          stop engine NAME by its own pid, remove its namespace
#   scripts/sandbox.sh host NAME          print engine NAME's DOCKER_HOST
#   scripts/sandbox.sh image NAME         (re)build dockerweb-test/busybox:latest on engine NAME
#
# The namespace keeps test containers off every real network by construction: published ports
# bind inside it (reach them with `nsenter --net=/var/run/netns/dw-NAME`).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SANDBOX_DIR=${SANDBOX_DIR:-$ROOT/var/sandbox}
IMAGE=dockerweb-test/busybox:latest
APPLETS="sh ash sleep ping ping6 tar httpd ip nslookup wget cat ls ln readlink echo env mkdir rm cp mv dd head tail
 wc sha256sum md5sum find xargs touch chmod stat id hostname ifconfig route nc true false sync du df
 seq printf test grep sed awk sort uniq gzip gunzip date ps kill mount umount netstat arp traceroute
 top vi stty clear reset tty yes less"

log() { echo "sandbox: $*" >&2; }

need() { command -v "$1" >/dev/null 2>&1; }

cmd_install() {
  local pkgs=()
  need dockerd || pkgs+=(docker.io)
  need iptables || pkgs+=(iptables)
  [ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || pkgs+=(busybox-static)
  need ip || pkgs+=(iproute2)
  need nsenter || pkgs+=(util-linux)
  if [ ${#pkgs[@]} -gt 0 ]; then
    log "installing ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${pkgs[@]}" >/dev/null
  fi
}

dirs() {
  NAME=${1:?engine name required}
  D=$SANDBOX_DIR/$NAME
  NETNS=dw-$NAME
  RUN=$D
  # Unix socket paths are limited to 108 bytes; a deep checkout moves the sockets to /run.
  if [ ${#D} -gt 60 ]; then RUN=/run/dockerweb/$(printf '%s' "$D" | sha1sum | cut -c1-12); fi
  SOCK=$RUN/docker.sock
  PIDFILE=$RUN/docker.pid
}

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

answers() { DOCKER_HOST=unix://$SOCK timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

busybox_path() { for b in /bin/busybox /usr/bin/busybox; do [ -x "$b" ] && { echo "$b"; return; }; done; }

cmd_image() {
  dirs "$1"
  export DOCKER_HOST=unix://$SOCK
  local t; t=$(mktemp -d)
  mkdir -p "$t/bin" "$t/tmp" "$t/etc" "$t/var/www" "$t/root" "$t/proc" "$t/sys" "$t/dev"
  chmod 1777 "$t/tmp"
  cp "$(busybox_path)" "$t/bin/busybox"
  for a in $APPLETS; do ln -sf busybox "$t/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$t/etc/passwd"
  echo 'root:x:0:' > "$t/etc/group"
  echo 'hello from dockerweb-test' > "$t/var/www/index.html"
  tar -C "$t" -c . | docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - "$IMAGE" >/dev/null
  rm -rf "$t"
  log "built $IMAGE on $NAME"
}

cmd_start() {
  dirs "$1"
  cmd_install
  mkdir -p "$D/root" "$RUN/exec"
  if running && answers; then echo "unix://$SOCK"; return 0; fi
  # A stale pid file or socket from a killed run.
  rm -f "$PIDFILE" "$SOCK"
  [ -e "/var/run/netns/$NETNS" ] || ip netns add "$NETNS"
  ip netns exec "$NETNS" ip link set lo up
  # nsenter, not `ip netns exec`: the latter remounts /sys and hides the cgroup mounts dockerd needs.
  nsenter --net="/var/run/netns/$NETNS" \
    dockerd --data-root "$D/root" --exec-root "$RUN/exec" -H "unix://$SOCK" \
      --pidfile "$PIDFILE" --ip 127.0.0.1 --userland-proxy=true \
      >"$D/dockerd.log" 2>&1 &
  local i
  for i in $(seq 1 120); do
    answers && break
    sleep 0.5
  done
  answers || { log "engine $NAME did not answer; see $D/dockerd.log"; tail -20 "$D/dockerd.log" >&2; exit 1; }
  DOCKER_HOST=unix://$SOCK docker image inspect "$IMAGE" >/dev/null 2>&1 || cmd_image "$NAME"
  log "engine $NAME ready at unix://$SOCK (network namespace $NETNS)"
  echo "unix://$SOCK"
}

cmd_stop() {
  dirs "$1"
  if [ -f "$PIDFILE" ]; then
    local pid; pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    rm -f "$PIDFILE"
  fi
  # Mounts that a killed daemon may leave behind under its roots.
  { grep -o -e " $D/[^ ]*" -e " $RUN/[^ ]*" /proc/mounts 2>/dev/null || true; } | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  if [ -e "/var/run/netns/$NETNS" ]; then ip netns delete "$NETNS" 2>/dev/null || true; fi
  log "engine $NAME stopped"
}

cmd_host() { dirs "$1"; echo "unix://$SOCK"; }

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start "${2:?name}" ;;
  stop) cmd_stop "${2:?name}" ;;
  host) cmd_host "${2:?name}" ;;
  image) cmd_image "${2:?name}" ;;
  *) echo "usage: $0 install|start NAME|stop NAME|host NAME|image NAME" >&2; exit 2 ;;
esac
