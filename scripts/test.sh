#!/usr/bin/env bash
# `make test`: install what is missing (plus Chromium), start a sandbox engine and a private
# Redis, run pytest against them, and stop both — also when tests fail or are interrupted.
# TEST_ID lets several runs share a machine (each gets its own engine, Redis and data dir).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/setup.sh test

TEST_ID=${TEST_ID:-main}
export DOCKERWEB_DATA_DIR=$ROOT/var/test-$TEST_ID
export DOCKERWEB_TEST_ID=$TEST_ID
rm -rf "$DOCKERWEB_DATA_DIR"
mkdir -p "$DOCKERWEB_DATA_DIR"
REDIS_PORT=$(( 16379 + $(printf '%s' "$TEST_ID" | cksum | cut -d' ' -f1) % 2000 ))
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
ENGINE=t-$TEST_ID

cleanup() {
  rc=$?
  scripts/redis.sh stop "$DOCKERWEB_DATA_DIR/redis" || true
  # the second engine is started by the tests that need it; stop it too if they could not
  scripts/sandbox.sh stop "$ENGINE-b" >/dev/null 2>&1 || true
  scripts/sandbox.sh stop "$ENGINE" || true
  exit $rc
}
trap cleanup EXIT INT TERM

export DOCKER_HOST=$(scripts/sandbox.sh start "$ENGINE")
export DOCKERWEB_TEST_ENGINE=$ENGINE
scripts/redis.sh start "$DOCKERWEB_DATA_DIR/redis" "$REDIS_PORT"
echo "test: engine $DOCKER_HOST, redis $REDIS_URL, data $DOCKERWEB_DATA_DIR"

set +e
.venv/bin/python -m pytest ${PYTEST_ARGS:-} "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then echo "test: no tests were collected" >&2; fi
exit $rc
