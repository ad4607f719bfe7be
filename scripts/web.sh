#!/usr/bin/env bash
# The web tier: dockerweb's ASGI app (HTTP and websockets) in DOCKERWEB_WEB_WORKERS uvicorn
# worker processes under gunicorn (default: one per core), on DOCKERWEB_BIND:DOCKERWEB_PORT.
# Sockets of one browser may land on any worker: live messages go through the Redis channel
# layer, so every worker serves every socket alike.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
workers=${DOCKERWEB_WEB_WORKERS:-$(nproc)}
exec .venv/bin/gunicorn dockerweb.asgi:application \
  --worker-class uvicorn_worker.UvicornWorker \
  --workers "$workers" \
  --bind "${DOCKERWEB_BIND:-127.0.0.1}:${DOCKERWEB_PORT:-${PORT:-8000}}" \
  --graceful-timeout 10 --timeout 60 --keep-alive 5 \
  --forwarded-allow-ips "${DOCKERWEB_FORWARDED_ALLOW_IPS:-127.0.0.1}" \
  --log-level "${DOCKERWEB_WEB_LOG_LEVEL:-warning}" \
  "$@"
