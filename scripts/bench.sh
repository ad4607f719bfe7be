#!/usr/bin/env bash
# `make bench`: start a sandbox engine and a private Redis for benchmarks (never the test
# ones), run every bench/bench_*.py (or the ones given), and stop both. Each benchmark prints
# its figures as ratios against a baseline measured in the same run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/setup.sh test

BENCH_ID=${BENCH_ID:-main}
export DOCKERWEB_DATA_DIR=$ROOT/var/bench-$BENCH_ID
rm -rf "$DOCKERWEB_DATA_DIR"; mkdir -p "$DOCKERWEB_DATA_DIR"
REDIS_PORT=$(( 18379 + $(printf '%s' "$BENCH_ID" | cksum | cut -d' ' -f1) % 1000 ))
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
ENGINE=b-$BENCH_ID
cleanup() {
  rc=$?
  scripts/redis.sh stop "$DOCKERWEB_DATA_DIR/redis" || true
  scripts/sandbox.sh stop "$ENGINE-b" >/dev/null 2>&1 || true
  scripts/sandbox.sh stop "$ENGINE" || true
  exit $rc
}
trap cleanup EXIT INT TERM
export DOCKER_HOST=$(scripts/sandbox.sh start "$ENGINE")
export DOCKERWEB_BENCH_ENGINE=$ENGINE
export DJANGO_SETTINGS_MODULE=dockerweb.settings
scripts/redis.sh start "$DOCKERWEB_DATA_DIR/redis" "$REDIS_PORT"
.venv/bin/python manage.py migrate --noinput -v 0

benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(bench/bench_*.py)
for b in "${benches[@]}"; do
  [ -f "$b" ] || continue
  echo "=== $b"
  .venv/bin/python "$b"
done
