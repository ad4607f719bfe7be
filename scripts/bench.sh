#!/usr/bin/env bash
# `make bench`: start a sandbox engine and a private Redis for benchmarks (never the test
# ones), run every bench/bench_*.py (or the ones given), and stop both. Each benchmark prints
# its figures as ratios against a baseline measured in the same run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/setup.sh test

BENCH_ID=${BENCH_ID:-main}
# shellcheck source=scripts/stack.sh
. scripts/stack.sh
stack_start bench "$BENCH_ID" 18379
export DOCKERWEB_BENCH_ENGINE=$STACK_ENGINE
export DJANGO_SETTINGS_MODULE=dockerweb.settings
.venv/bin/python manage.py migrate --noinput -v 0

benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(bench/bench_*.py)
for b in "${benches[@]}"; do
  [ -f "$b" ] || continue
  echo "=== $b"
  .venv/bin/python "$b"
done
