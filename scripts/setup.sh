#!/usr/bin/env bash
# Installs what dockerweb needs, only what is missing, so a second run takes seconds.
#   scripts/setup.sh           the runtime: Debian packages, .venv with requirements, front-end packages
#   scripts/setup.sh test      the same plus Chromium for browser tests
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
log() { echo "setup: $*" >&2; }

apt_missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || apt_missing+=("$2"); }
need_cmd redis-server redis-server
need_cmd dockerd docker.io
need_cmd docker docker.io
need_cmd iptables iptables
need_cmd ip iproute2
need_cmd nsenter util-linux
need_cmd node nodejs
need_cmd npm npm
need_cmd restic restic
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || apt_missing+=(busybox-static)
if [ "${1:-}" = test ]; then
  [ -x /usr/bin/chromium ] || apt_missing+=(chromium)
  [ -x /usr/sbin/sshd ] || apt_missing+=(openssh-server)  # SFTP repositories in tests
fi
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_missing+=(python3-venv)
if [ ${#apt_missing[@]} -gt 0 ]; then
  # de-duplicate
  mapfile -t apt_missing < <(printf '%s\n' "${apt_missing[@]}" | sort -u)
  log "installing Debian packages: ${apt_missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3; do command -v "$c" >/dev/null && { PY=$c; break; }; done
fi
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $PY"
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing Python packages"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi

if [ -f package.json ]; then
  nstamp=node_modules/.lock.sha
  nwant=$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$nstamp" 2>/dev/null)" != "$nwant" ]; then
    log "installing front-end packages"
    if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent; else npm install --no-audit --no-fund --silent; fi
    echo "$nwant" > "$nstamp"
  fi
fi
