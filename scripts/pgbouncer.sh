#!/usr/bin/env bash
# A private PgBouncer in transaction mode in front of a cluster started by scripts/pg.sh, on
# 127.0.0.1 only: what a vendor puts between many LockCloud instances and one database server.
#   scripts/pgbouncer.sh up   DIR PORT PGPORT [POOL_SIZE]   start it (database lockcloud, user postgres)
#   scripts/pgbouncer.sh stop DIR
# Clients connect as postgresql://postgres@127.0.0.1:PORT/lockcloud; `psql -p PORT -U postgres
# pgbouncer` opens its admin console (SHOW POOLS, SHOW CLIENTS). POOL_SIZE (default 4) server
# connections are shared by however many clients connect, so a client's next transaction often
# runs on another server connection: anything relying on session state breaks at once here.
# PgBouncer refuses to run as root, so as root it runs as the `postgres` OS user, like the cluster.
set -euo pipefail

cmd=${1:?usage: pgbouncer.sh up DIR PORT PGPORT [POOL_SIZE] | stop DIR}
dir=${2:?directory required}
dir=$(mkdir -p "$dir" && cd "$dir" && pwd)

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  up)
    port=${3:?port required}
    pgport=${4:?PostgreSQL port required}
    pool_size=${5:-4}
    command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || {
      echo "pgbouncer.sh: pgbouncer not found (install Debian's pgbouncer)" >&2; exit 1; }
    bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
    # auth_type any: loopback only, and the cluster itself trusts loopback (pg.sh); every
    # client logs in to the server as postgres.
    cat > "$dir/pgbouncer.ini" <<INI
[databases]
lockcloud = host=127.0.0.1 port=$pgport dbname=lockcloud user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = any
admin_users = postgres
pool_mode = transaction
default_pool_size = $pool_size
max_client_conn = 2000
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
log_connections = 0
log_disconnections = 0
INI
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir"
    as_owner "$bin" -d "$dir/pgbouncer.ini"
    for _ in $(seq 1 100); do
      psql "postgresql://postgres@127.0.0.1:$port/lockcloud" -tAc "SELECT 1" >/dev/null 2>&1 && exit 0
      sleep 0.1
    done
    echo "pgbouncer.sh: PgBouncer did not answer on 127.0.0.1:$port" >&2
    tail -n 20 "$dir/pgbouncer.log" >&2 || true
    exit 1
    ;;
  stop)
    if [ -s "$dir/pgbouncer.pid" ]; then
      pid=$(cat "$dir/pgbouncer.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    ;;
  *)
    echo "pgbouncer.sh: unknown command $cmd" >&2; exit 2
    ;;
esac
