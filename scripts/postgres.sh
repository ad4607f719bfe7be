#!/usr/bin/env bash
# A private PostgreSQL server (Debian's `postgresql`) for `make test DB=postgres` and the
# benchmarks: its own data folder and port on 127.0.0.1, run as the `postgres` system user (the
# server refuses to run as root), stopped by its own pid (pg_ctl reads postmaster.pid).
#   scripts/postgres.sh install           install Debian's postgresql if missing
#   scripts/postgres.sh start DIR PORT    start (initdb first), print its DATABASE_URL
#   scripts/postgres.sh stop DIR          stop it
set -euo pipefail
log() { echo "postgres: $*" >&2; }

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

as_postgres() { runuser -u postgres -- "$@"; }

cmd_install() {
  if [ -z "$(bindir)" ]; then
    log "installing Debian's postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  fi
}

cmd_start() {
  local dir=$1 port=$2 bin
  cmd_install
  bin=$(bindir)
  mkdir -p "$dir"
  chown postgres:postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_postgres "$bin/initdb" -D "$dir/data" -A trust -U dockerweb --no-sync -E UTF8 >/dev/null
  fi
  # Throw-away test data: no fsync. Sockets in the folder, TCP on loopback only.
  as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
  as_postgres "$bin/psql" -h 127.0.0.1 -p "$port" -U dockerweb -d postgres -tAq \
    -c "SELECT 1 FROM pg_database WHERE datname='dockerweb'" | grep -q 1 ||
    as_postgres "$bin/createdb" -h 127.0.0.1 -p "$port" -U dockerweb dockerweb
  log "server on 127.0.0.1:$port (data $dir/data)"
  echo "postgres://dockerweb@127.0.0.1:$port/dockerweb"
}

cmd_stop() {
  local dir=$1 bin
  bin=$(bindir)
  [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ] || return 0
  as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null && log "stopped"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start "${2:?dir}" "${3:?port}" ;;
  stop) cmd_stop "${2:?dir}" ;;
  *) echo "usage: $0 install | start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
