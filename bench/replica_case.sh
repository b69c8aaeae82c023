# Sourced by scripts/bench.sh after list_locks_100 (issue 20, read replicas): the same list
# through a second LockCloud whose read pool (DATABASE_READ_URL) is on a streaming replica of the
# bench's PostgreSQL, made with pg_basebackup on loopback, beside the direct run in the same
# sitting. Every request's token check stays on the primary; the list is read on the replica
# once it has replayed the token check's WAL position. The CPU split counts the primary's
# PostgreSQL only: the replica's processes fall under "the rest".
if [ -z "${BENCH_CASES:-}" ] || [[ " $BENCH_CASES " == *" list_locks_100_replica "* ]]; then
  replica_port=$(scripts/free-port.sh)
  replica_api_port=$(scripts/free-port.sh)
  echo "bench: streaming replica for list_locks_100_replica"
  # The primary's shared buffers, so both read from memory alike.
  PG_EXTRA_OPTIONS="-c shared_buffers=1GB" scripts/pg.sh replica "$work/pg-replica" "$replica_port" "$pg_port"
  target=$(psql "$database_url" -tAc "SELECT pg_current_wal_insert_lsn()")
  for _ in $(seq 1 300); do
    [ "$(psql "postgresql://postgres@127.0.0.1:$replica_port/lockcloud" -tAc \
      "SELECT pg_last_wal_replay_lsn() >= '$target'::pg_lsn")" = t ] && break
    sleep 0.1
  done
  DATABASE_READ_URL="postgresql://postgres@127.0.0.1:$replica_port/lockcloud" \
    LOCKCLOUD_DB_POOL_SIZE=${BENCH_POOL_SIZE:-8} LOCKCLOUD_BCRYPT_COST=10 "$bin" serve --port "$replica_api_port" \
    --database-url "$database_url" --log-level error >"$work/replica-server.log" 2>&1 &
  replica_server_pid=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$replica_api_port/health" >/dev/null 2>&1 && break; sleep 0.1; done
  direct_base=$base direct_pid=$server_pid
  base="http://127.0.0.1:$replica_api_port" server_pid=$replica_server_pid
  run_case list_locks_100_replica list_locks.lua BENCH_TOKEN="$BENCH_LISTER_TOKEN"
  # Where the case's reads went (the warm-up's too): replica, or primary and why.
  curl -fsS "$base/metrics" | grep '^lockcloud_db_replica_reads_total' | sed 's/^/bench:   /' || true
  base=$direct_base server_pid=$direct_pid
  kill "$replica_server_pid" 2>/dev/null && wait "$replica_server_pid" 2>/dev/null || true
  replica_server_pid=""
  scripts/pg.sh purge "$work/pg-replica" >/dev/null 2>&1 || true
  if [ -n "$(awk '$1 == "list_locks_100" {print $2}' "$results")" ]; then
    awk '$1 == "list_locks_100" {d = $2} $1 == "list_locks_100_replica" {r = $2}
         END {printf "RATIO list_locks_replica_vs_direct=%.3f\n", r / d}' "$results"
  fi
fi
