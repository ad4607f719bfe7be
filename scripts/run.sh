#!/usr/bin/env bash
# `make run`: install what is missing, prepare the database and the first admin, register the
# engine as host `local`, then start web, worker, beat and watcher (and a private Redis when
# REDIS_URL is not set) under honcho. Ctrl-C stops them all.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/setup.sh

export PORT=${PORT:-8000}
# honcho gives each process its own PORT (foreman habit); the web server reads ours.
export DOCKERWEB_PORT=$PORT
export DOCKERWEB_DATA_DIR=${DOCKERWEB_DATA_DIR:-$ROOT/var}
mkdir -p "$DOCKERWEB_DATA_DIR"
procs="web worker beat watcher"
if [ -z "${REDIS_URL:-}" ]; then
  export REDIS_PORT=${REDIS_PORT:-6389}
  export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
  export REDIS_DIR=$DOCKERWEB_DATA_DIR/redis
  procs="redis $procs"
fi

started_sandbox=""
cleanup() { [ -n "$started_sandbox" ] && scripts/sandbox.sh stop run || true; }
trap cleanup EXIT

if [ -n "${DOCKER_HOST:-}" ]; then
  engine=$DOCKER_HOST
  echo "run: using the engine at DOCKER_HOST=$engine"
elif [ -S /var/run/docker.sock ] && DOCKER_HOST=unix:///var/run/docker.sock timeout 5 docker version >/dev/null 2>&1; then
  engine=unix:///var/run/docker.sock
  echo "run: using the local engine at $engine"
else
  engine=$(scripts/sandbox.sh start run)
  started_sandbox=1
  echo "run: no engine given and none at /var/run/docker.sock; started the sandbox engine at $engine"
  echo "run: it lives in network namespace dw-run; reach its published ports with: nsenter --net=/var/run/netns/dw-run …"
fi

.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python manage.py ensure_admin
.venv/bin/python manage.py register_host local "$engine"
echo "run: dockerweb on http://127.0.0.1:$PORT/ (processes: $procs)"
.venv/bin/honcho -f Procfile start $procs
