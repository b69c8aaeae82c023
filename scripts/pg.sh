#!/usr/bin/env bash
# A private PostgreSQL cluster for development and tests, on 127.0.0.1 only.
#   scripts/pg.sh up    DATADIR PORT   create the cluster if needed, start it, create database lockcloud
#   scripts/pg.sh start DATADIR PORT   start an existing cluster
#   scripts/pg.sh stop  DATADIR        fast shutdown (in-flight sessions are terminated)
#   scripts/pg.sh crash DATADIR        immediate shutdown, as if the machine lost power
# PG_DURABLE=1 keeps PostgreSQL's durable defaults (fsync, synchronous commit): the fault
# suite needs them to show that acknowledged writes survive a crash. PG_EXTRA_OPTIONS adds
# server settings (make bench gives PostgreSQL more shared buffers).
#   scripts/pg.sh purge DATADIR        stop if running and delete the cluster
#   scripts/pg.sh replica DATADIR PORT PRIMARY_PORT   a streaming replica of the cluster at
#                                      PRIMARY_PORT (pg_basebackup -R over loopback), started; an
#                                      existing replica is only started. The primary needs nothing
#                                      more than `up` gives it: wal_level replica and max_wal_senders
#                                      are PostgreSQL's defaults, initdb's trust rules admit
#                                      replication from 127.0.0.1, and postgres may replicate.
# initdb refuses to run as root, so as root the cluster belongs to the `postgres` OS user
# (created by Debian's postgresql package); as a normal user it is yours.
set -euo pipefail

cmd=${1:?usage: pg.sh up|start|stop|purge DATADIR [PORT]}
datadir=${2:?data directory required}
port=${3:-5432}
datadir=$(mkdir -p "$datadir" && cd "$datadir" && pwd)

pgbin=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$pgbin/initdb" ] || { echo "pg.sh: PostgreSQL server binaries not found (install Debian's postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  # fsync off: these clusters are for development and tests, and disposable.
  local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${PG_DURABLE:-0}" = 1 ] && durability=""
  # terse: PostgreSQL's own log leaves out DETAIL lines, which quote row values (PINs, secrets).
  as_owner "$pgbin/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w -t 30 -o \
    "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' $durability -c max_connections=200 -c log_error_verbosity=terse ${PG_EXTRA_OPTIONS:-}" \
    start >/dev/null
}

# An empty data directory the cluster's owner can use.
own_datadir() {
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$datadir"
    runuser -u postgres -- test -x "$datadir" || {
      echo "pg.sh: the postgres user cannot reach $datadir (a parent folder is private)" >&2; exit 1; }
  fi
  chmod 700 "$datadir"
}

case "$cmd" in
  up)
    if [ ! -s "$datadir/PG_VERSION" ]; then
      own_datadir
      as_owner "$pgbin/initdb" -D "$datadir" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
    fi
    if ! as_owner "$pgbin/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then start; fi
    if ! psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'lockcloud'" | grep -q 1; then
      psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE lockcloud" >/dev/null
    fi
    ;;
  start)
    start
    ;;
  replica)
    primary_port=${4:?usage: pg.sh replica DATADIR PORT PRIMARY_PORT}
    if [ ! -s "$datadir/PG_VERSION" ]; then
      own_datadir
      # -R writes standby.signal and primary_conninfo; -X stream copies the WAL the backup needs
      # alongside it; -c fast checkpoints at once instead of spreading the checkpoint out.
      as_owner "$pgbin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$datadir" -R -X stream -c fast
      # The primary's log came along with its files; the replica writes its own.
      rm -f "$datadir/server.log"
    fi
    if ! as_owner "$pgbin/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then start; fi
    ;;
  stop)
    if as_owner "$pgbin/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
      as_owner "$pgbin/pg_ctl" -D "$datadir" -m fast -w -t 30 stop >/dev/null
    fi
    ;;
  crash)
    if as_owner "$pgbin/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
      as_owner "$pgbin/pg_ctl" -D "$datadir" -m immediate -w -t 30 stop >/dev/null
    fi
    ;;
  purge)
    if [ -s "$datadir/PG_VERSION" ] && as_owner "$pgbin/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
      as_owner "$pgbin/pg_ctl" -D "$datadir" -m immediate -w -t 30 stop >/dev/null || true
    fi
    rm -rf "$datadir"
    ;;
  *)
    echo "pg.sh: unknown command $cmd" >&2; exit 2
    ;;
esac
