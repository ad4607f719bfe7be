# Sourced by test.sh and bench.sh: a private sandbox engine and Redis in a fresh data dir,
# both stopped (with the optional second engine NAME-b) when the calling script exits.
#   stack_start KIND ID BASE_PORT   KIND names the data dir (var/KIND-ID) and the engine (K-ID)
# Exports DOCKERWEB_DATA_DIR, REDIS_URL, DOCKER_HOST and STACK_ENGINE; with DB=postgres also a
# private PostgreSQL server's DATABASE_URL.

stack_cleanup() {
  local rc=$?
  [ -n "${STACK_POSTGRES:-}" ] && scripts/postgres.sh stop "$DOCKERWEB_DATA_DIR/postgres" || true
  scripts/redis.sh stop "$DOCKERWEB_DATA_DIR/redis" || true
  # the second engine is started by the runs that need it; stop it too if they could not
  scripts/sandbox.sh stop "$STACK_ENGINE-b" >/dev/null 2>&1 || true
  scripts/sandbox.sh stop "$STACK_ENGINE" || true
  exit $rc
}

stack_start() {
  local kind=$1 id=$2 base=$3
  export DOCKERWEB_DATA_DIR=$ROOT/var/$kind-$id
  rm -rf "$DOCKERWEB_DATA_DIR"
  mkdir -p "$DOCKERWEB_DATA_DIR"
  local port=$(( base + $(printf '%s' "$id" | cksum | cut -d' ' -f1) % 1000 ))
  export REDIS_URL=redis://127.0.0.1:$port/0
  export STACK_ENGINE=${kind:0:1}-$id
  trap stack_cleanup EXIT INT TERM
  DOCKER_HOST=$(scripts/sandbox.sh start "$STACK_ENGINE")
  export DOCKER_HOST
  scripts/redis.sh start "$DOCKERWEB_DATA_DIR/redis" "$port"
  if [ "${DB:-sqlite}" = postgres ]; then
    # A private PostgreSQL server instead of the data dir's SQLite file (DB=postgres).
    STACK_POSTGRES=1
    DATABASE_URL=$(scripts/postgres.sh start "$DOCKERWEB_DATA_DIR/postgres" $(( port + 2000 )))
    export DATABASE_URL
  fi
  echo "$kind: engine $DOCKER_HOST, redis $REDIS_URL, database ${DATABASE_URL:-sqlite}, data $DOCKERWEB_DATA_DIR"
}
