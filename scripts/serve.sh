#!/usr/bin/env bash
# Production start of one dockerweb process, in the foreground, so that a service manager
# (systemd, supervisord, a container runtime) starts, stops and restarts each on its own; no
# honcho, no private Redis, no sandbox engine. Configuration comes from the environment
# (DATABASE_URL, REDIS_URL, DOCKERWEB_*: see README.md, and docs/deploy.md).
#   scripts/serve.sh migrate        apply database migrations and make sure the first admin exists
#   scripts/serve.sh web            the web tier (uvicorn workers under gunicorn: scripts/web.sh)
#   scripts/serve.sh worker         a central Celery worker (any number)
#   scripts/serve.sh beat           the schedule's clock (exactly one)
#   scripts/serve.sh watcher        a watcher (any number: they share the hosts by leases)
#   scripts/serve.sh agent HOST     a worker beside HOST's engine: it takes HOST's jobs and reaches the
#                                   engine at DOCKERWEB_AGENT_ENGINE (default: DOCKER_HOST, else the local socket)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
py=.venv/bin/python
role=${1:-}
case "$role" in
  migrate)
    $py manage.py migrate --noinput
    exec $py manage.py ensure_admin ;;
  web)
    exec scripts/web.sh ;;
  worker)
    exec .venv/bin/celery -A dockerweb worker -l info --concurrency "${DOCKERWEB_WORKER_CONCURRENCY:-2}" \
      -n "worker-$(hostname)-$$@%h" ;;
  beat)
    exec .venv/bin/celery -A dockerweb beat -l info -s "${DOCKERWEB_DATA_DIR:-$ROOT/var}/celerybeat-schedule" ;;
  watcher)
    exec $py manage.py watch ;;
  agent)
    host=${2:?name the host this agent works beside: scripts/serve.sh agent HOST}
    export DOCKERWEB_AGENT_HOST=$host
    export DOCKERWEB_AGENT_ENGINE=${DOCKERWEB_AGENT_ENGINE:-${DOCKER_HOST:-unix:///var/run/docker.sock}}
    queue=$($py -c "import sys; from dockerweb.core.live import safe_name; print('host.' + safe_name(sys.argv[1]))" "$host")
    exec .venv/bin/celery -A dockerweb worker -l info --concurrency "${DOCKERWEB_WORKER_CONCURRENCY:-2}" \
      -Q "$queue" -n "agent-$host@%h" ;;
  *)
    echo "usage: $0 migrate | web | worker | beat | watcher | agent HOST" >&2
    exit 2 ;;
esac
