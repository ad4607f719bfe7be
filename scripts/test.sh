#!/usr/bin/env bash
# `make test`: install what is missing (plus Chromium), start a sandbox engine and a private
# Redis, run pytest against them, and stop both — also when tests fail or are interrupted.
# TEST_ID lets several runs share a machine (each gets its own engine, Redis and data dir).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/setup.sh test

TEST_ID=${TEST_ID:-main}
export DOCKERWEB_TEST_ID=$TEST_ID
# shellcheck source=scripts/stack.sh
. scripts/stack.sh
stack_start test "$TEST_ID" 16379
export DOCKERWEB_TEST_ENGINE=$STACK_ENGINE

set +e
.venv/bin/python -m pytest ${PYTEST_ARGS:-} "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then echo "test: no tests were collected" >&2; fi
exit $rc
