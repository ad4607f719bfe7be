#!/usr/bin/env bash
# A private Redis on loopback with its own folder, started and stopped by its own pid.
#   scripts/redis.sh start DIR PORT     (daemonized; waits until it answers)
#   scripts/redis.sh stop DIR
#   scripts/redis.sh foreground DIR PORT (for the Procfile)
set -euo pipefail
cmd=${1:?}; dir=${2:?}
mkdir -p "$dir"
args() { echo --port "$1" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no --protected-mode yes --logfile "$dir/redis.log"; }
case "$cmd" in
  start)
    port=${3:?}
    if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then exit 0; fi
    # shellcheck disable=SC2046
    redis-server $(args "$port") --daemonize yes --pidfile "$dir/redis.pid"
    for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && exit 0; sleep 0.1; done
    echo "redis did not start; see $dir/redis.log" >&2; exit 1 ;;
  stop)
    if [ -f "$dir/redis.pid" ]; then
      pid=$(cat "$dir/redis.pid"); kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$dir/redis.pid"
    fi ;;
  foreground)
    port=${3:?}
    # shellcheck disable=SC2046
    exec redis-server $(args "$port") --logfile "" ;;
esac
