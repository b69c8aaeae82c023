#!/usr/bin/env bash
# `make bench`: one sitting on one machine. Starts its own PostgreSQL and a release build of
# LockCloud on free loopback ports, seeds data, and measures with wrk from a separate process
# (2 threads, 64 connections, BENCH_SECONDS per case): pgbench -S against the same PostgreSQL
# (the database's own limit here), then LockCloud's cases. Prints a table, the ratio of
# authenticated GET /locks/{id} to pgbench, the server's peak RSS, and writes it all to
# bench/results/<date>-<host>.txt. A non-2xx answer never counts as a success.
#   BENCH_SECONDS=10  BENCH_SCALE_LOCKS=1000000  BENCH_POOL_SIZE=8  BENCH_REPEATS=3 (GET /locks/{id} runs)
#   BENCH_CASES="health get_lock_10k ..."  only these cases (default: all; the report needs all)
#   BENCH_PROFILE=1  also profile the server with perf during get_lock_10k (into the report);
#                    BENCH_PROFILE=<case> profiles that case instead
#   BENCH_FLEET_LOCKS=10000  simulated locks in the `fleet` case (bench/fleet.py lists its other settings)
#   BENCH_FLEET_NICE=0  niceness of the fleet generator alone (a diagnostic; bench/fleet.py)
#   list_locks_100_replica: list_locks_100 again through a second server whose read pool is on a
#   streaming replica of the same PostgreSQL (bench/replica_case.sh), RATIO against the direct run
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${BENCH_SECONDS:-10}
scale_locks=${BENCH_SCALE_LOCKS:-1000000}

scripts/install-deps.sh --bench
echo "bench: release build"
swift build -c release 2>&1 | grep -E "error|Compiling|Build complete" | tail -n 1
bin=$(swift build -c release --show-bin-path)/lockcloud

work=$(mktemp -d /tmp/lockcloud-bench.XXXXXX)
chmod 755 "$work"
pg_port=$(scripts/free-port.sh)
api_port=$(scripts/free-port.sh)
database_url="postgresql://postgres@127.0.0.1:$pg_port/lockcloud"
server_pid=""
pooled_pid=""
replica_server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -n "$pooled_pid" ] && kill "$pooled_pid" 2>/dev/null && wait "$pooled_pid" 2>/dev/null
  [ -n "$replica_server_pid" ] && kill "$replica_server_pid" 2>/dev/null && wait "$replica_server_pid" 2>/dev/null
  scripts/pgbouncer.sh stop "$work/pgbouncer" >/dev/null 2>&1 || true
  scripts/pg.sh purge "$work/pg-replica" >/dev/null 2>&1 || true
  scripts/pg.sh purge "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Enough shared buffers for the million-lock table and its indexes (the machine has the memory;
# the default 128 MB would measure the disk cache instead of the server).
# pg_stat_statements is loaded for the fleet case's statement count (and switched off below).
PG_EXTRA_OPTIONS="-c shared_buffers=1GB -c shared_preload_libraries=pg_stat_statements" scripts/pg.sh up "$work/pg" "$pg_port"
# Statement tracking costs every case a little (a shared counter per statement); only the fleet
# case switches it on, for its own measurement.
psql "$database_url" -qc "ALTER SYSTEM SET pg_stat_statements.track = 'none'" -c "SELECT pg_reload_conf()" >/dev/null
# The fleet's locks heartbeat every 60 s, the server's default silence limit: a lock would be
# marked offline just before each heartbeat. Real deployments give locks more than one interval.
export LOCKCLOUD_HEARTBEAT_TIMEOUT_SECONDS=${BENCH_FLEET_HEARTBEAT_TIMEOUT_SECONDS:-150}
export LOCKCLOUD_KEY_ENCRYPTION_KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
"$bin" migrate --database-url "$database_url" --log-level warning >/dev/null
LOCKCLOUD_DB_POOL_SIZE=${BENCH_POOL_SIZE:-8} LOCKCLOUD_BCRYPT_COST=10 "$bin" serve --port "$api_port" \
  --database-url "$database_url" --log-level error >"$work/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$api_port"
for _ in $(seq 1 100); do curl -fsS "$base/health" >/dev/null 2>&1 && break; sleep 0.1; done

echo "bench: seeding"
.venv/bin/python bench/seed.py base --base-url "$base" --bin "$bin" --database-url "$database_url" --workdir "$work"
set -a; . "$work/env"; set +a

results="$work/results.txt"
: >"$results"
# run_case NAME SCRIPT [ENV=VALUE ...]: one wrk run after a short unrecorded warm-up (caches,
# connections); appends "NAME rps p50 p99 non2xx errors".
run_case() {
  local name=$1 script=$2
  shift 2
  if [ -n "${BENCH_CASES:-}" ] && [[ " $BENCH_CASES " != *" $name "* ]]; then return 0; fi
  cat bench/wrk/common.lua "bench/wrk/$script" >"$work/$script"
  case "$name" in get_lock*|list_*|health)
    env "$@" wrk -t2 -c64 -d"$(( seconds / 2 + 1 ))s" -s "$work/$script" "$base" >/dev/null ;;
  post_*)
    # Writes warm up too, then the statistics are brought up to date, as autovacuum keeps them
    # on a live table: measured on a just-created empty table, the prepared statements' plans
    # were made for zero rows (seen: 3.5x the database's CPU per offline code).
    env "$@" BENCH_WARMUP=1 wrk -t2 -c64 -d3s -s "$work/$script" "$base" >/dev/null
    psql "$database_url" -qc "ANALYZE" ;;
  esac
  local line postmaster
  postmaster=$(head -n 1 "$work/pg/postmaster.pid")
  python3 bench/cpu.py snapshot "$server_pid" "$postmaster" >"$work/cpu-before"
  local profiler=""
  local profiled=${BENCH_PROFILE:-}
  [ "$profiled" = 1 ] && profiled=get_lock_10k
  if [ "$profiled" = "$name" ] && command -v perf >/dev/null; then
    # A sampled profile of the server during this case (software clock: works without PMU access).
    perf record -e cpu-clock -F 499 -g -p "$server_pid" -o "$work/perf.data" -- sleep "$seconds" >/dev/null 2>&1 &
    profiler=$!
  fi
  # The two GET /locks/{id} cases are compared by their p99, which one window on a shared
  # machine moves by ±20 %: they run BENCH_REPEATS times (3) and report the run with the median
  # p99; every run's numbers go into the report.
  local repeats=1 runs=""
  case "$name" in get_lock*) repeats=${BENCH_REPEATS:-3} ;; esac
  for _ in $(seq 1 "$repeats"); do
    runs+=$(env "$@" wrk -t2 -c64 -d"${seconds}s" --timeout 10s -s "$work/$script" "$base" | grep '^RESULT')$'\n'
  done
  line=$(printf '%s' "$runs" | python3 -c '
import sys
runs = [l for l in sys.stdin.read().splitlines() if l]
key = lambda l: float(dict(p.split("=") for p in l.split()[1:])["p99_ms"])
print(sorted(runs, key=key)[len(runs) // 2])')
  if [ "$repeats" -gt 1 ]; then
    echo "$name: $(printf '%s' "$runs" | awk '{print $2, $3, $5}' | paste -sd ';' | sed 's/;/; /g')" >>"$work/repeats.txt"
  fi
  if [ -n "$profiler" ]; then
    wait "$profiler" || true
    perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null \
      | grep -E '^ +[0-9.]+%' | head -n 40 | swift demangle --simplified >"$work/profile.txt" || true
  fi
  python3 bench/cpu.py snapshot "$server_pid" "$postmaster" >"$work/cpu-after"
  echo "$name $(python3 bench/cpu.py split "$work/cpu-before" "$work/cpu-after")" >>"$work/cpu.txt"
  python3 - "$name" "$line" >>"$results" <<'PY'
import sys
name, line = sys.argv[1], sys.argv[2]
f = dict(part.split("=") for part in line.split()[1:])
ok = int(f["requests"]) - int(f["non2xx"])
print(f"{name} {ok / float(f['seconds']):.1f} {f['p50_ms']} {f['p99_ms']} {f['non2xx']} {f['errors']}")
PY
  tail -n 1 "$results"
}

# The fleet case (bench/fleet.py): BENCH_FLEET_LOCKS simulated locks on the device gateway, the
# statements they cost while idle, action-to-lock latency, GET /locks/{id} p99 with and without
# them, and the server's RSS and descriptors. Its lines go to $BENCH_FLEET_RESULTS for the report.
# A failed or overrunning fleet case is reported and the bench goes on.
run_fleet_case() {
  if [ -n "${BENCH_CASES:-}" ] && [[ " $BENCH_CASES " != *" fleet "* ]]; then return 0; fi
  export BENCH_FLEET_RESULTS="$work/fleet.txt"
  echo "bench: fleet of ${BENCH_FLEET_LOCKS:-10000} simulated locks"
  local bound=$(( ${BENCH_FLEET_DEADLINE_SECONDS:-900} + 120 ))
  timeout --kill-after=10 "$bound" .venv/bin/python bench/fleet.py --base-url "$base" --bin "$bin" \
    --database-url "$database_url" --workdir "$work" --server-pid "$server_pid" \
    --postmaster-pid "$(head -n 1 "$work/pg/postmaster.pid")" --wrk-token "$BENCH_READER_TOKEN" \
    --wrk-lock-ids "$work/reader_ids" | tee "$BENCH_FLEET_RESULTS" \
    || echo "bench: the fleet case failed (exit ${PIPESTATUS[0]}); see above"
}

# GET /locks/{id} through PgBouncer in transaction mode (README, Operations), and, to tell the
# pooler's hop from the statements' own cost, the same unnamed statements on a direct
# connection: each by a second instance of the same build (LOCKCLOUD_DB_PREPARED_STATEMENTS=
# unnamed, pool of BENCH_POOL_SIZE; PgBouncer keeps BENCH_PGBOUNCER_POOL_SIZE (8) server
# connections) while the first sits idle. They run right after get_lock_10k: same data, same minute.
run_unnamed_case() {
  local name=$1 url=$2
  if [ -n "${BENCH_CASES:-}" ] && [[ " $BENCH_CASES " != *" $name "* ]]; then return 0; fi
  local pooled_port direct_base=$base direct_pid=$server_pid
  pooled_port=$(scripts/free-port.sh)
  LOCKCLOUD_DB_PREPARED_STATEMENTS=unnamed DATABASE_DIRECT_URL="$database_url" LOCKCLOUD_MIGRATE_ON_START=false \
    LOCKCLOUD_DB_POOL_SIZE=${BENCH_POOL_SIZE:-8} "$bin" serve --port "$pooled_port" \
    --database-url "$url" --log-level error >"$work/$name.log" 2>&1 &
  pooled_pid=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$pooled_port/health" >/dev/null 2>&1 && break; sleep 0.1; done
  base="http://127.0.0.1:$pooled_port" server_pid=$pooled_pid
  run_case "$name" get_lock.lua BENCH_TOKEN="$BENCH_READER_TOKEN" BENCH_LOCK_IDS="$work/reader_ids"
  base=$direct_base server_pid=$direct_pid
  kill "$pooled_pid" 2>/dev/null && wait "$pooled_pid" 2>/dev/null
  pooled_pid=""
}
run_pgbouncer_cases() {
  run_unnamed_case get_lock_unnamed "$database_url"
  if [ -n "${BENCH_CASES:-}" ] && [[ " $BENCH_CASES " != *" get_lock_pgbouncer "* ]]; then return 0; fi
  local bouncer_port
  bouncer_port=$(scripts/free-port.sh)
  scripts/pgbouncer.sh up "$work/pgbouncer" "$bouncer_port" "$pg_port" "${BENCH_PGBOUNCER_POOL_SIZE:-8}"
  run_unnamed_case get_lock_pgbouncer "postgresql://postgres@127.0.0.1:$bouncer_port/lockcloud"
  scripts/pgbouncer.sh stop "$work/pgbouncer"
}

echo "bench: pgbench -S (the database's own limit)"
pgbench -i -q -s 10 "$database_url" >/dev/null 2>&1
postmaster=$(head -n 1 "$work/pg/postmaster.pid")
python3 bench/cpu.py snapshot "$server_pid" "$postmaster" >"$work/cpu-before"
pgbench_tps=$(pgbench -S -M prepared -c 64 -j 2 -T "$seconds" "$database_url" 2>/dev/null \
  | awk '/^tps/ {print $3; exit}')
python3 bench/cpu.py snapshot "$server_pid" "$postmaster" >"$work/cpu-after"
echo "pgbench_select $(python3 bench/cpu.py split "$work/cpu-before" "$work/cpu-after")" >>"$work/cpu.txt"
echo "pgbench_select $pgbench_tps - - 0 0" >>"$results"
tail -n 1 "$results"

run_case health health.lua
run_case get_lock_10k get_lock.lua BENCH_TOKEN="$BENCH_READER_TOKEN" BENCH_LOCK_IDS="$work/reader_ids"
run_pgbouncer_cases
run_case list_locks_100 list_locks.lua BENCH_TOKEN="$BENCH_LISTER_TOKEN"
. bench/replica_case.sh
# Issue 17: a lock's access-code list at the model's maximum of 199 live codes (one default
# page), seeded only when the case runs (its own owner, client and lock).
if [ -z "${BENCH_CASES:-}" ] || [[ " $BENCH_CASES " == *" list_access_codes_199 "* ]]; then
  .venv/bin/python bench/seed.py codes --base-url "$base" --bin "$bin" --database-url "$database_url" --workdir "$work"
  set -a; . "$work/codes_env"; set +a
  run_case list_access_codes_199 list_access_codes.lua BENCH_TOKEN="$BENCH_CODES_TOKEN" BENCH_CODES_LOCK_ID="$BENCH_CODES_LOCK_ID"
fi
next_hour=$(( ($(date +%s) / 3600 + 1) * 3600 ))
run_case post_offline_code offline_code.lua BENCH_TOKEN="$BENCH_WRITER_TOKEN" BENCH_LOCK_IDS="$work/writer_ids" \
  BENCH_BASE_EPOCH="$next_hour"
run_case post_online_code online_code.lua BENCH_TOKEN="$BENCH_WRITER_TOKEN" BENCH_LOCK_IDS="$work/writer_ids"
run_case token_refresh refresh_token.lua
run_fleet_case
# Slot accounting stayed exact: no (lock, type, key version, period, slot) twice, and at most 3
# hourly-bound codes per lock and start hour.
slot_check=$(psql "$database_url" -tAc "
  SELECT (SELECT count(*) - count(DISTINCT (lock_id, offline_type, key_version, slot_period, slot)) FROM access_codes WHERE is_offline)
    || '|' || (SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM access_codes WHERE is_offline
                                               GROUP BY lock_id, offline_type, slot_period) per_period)")
if [ -n "${BENCH_CASES:-}" ] && [[ " $BENCH_CASES " != *" get_lock_scale "* ]]; then
  echo "bench: only $BENCH_CASES (no report); CPU per case:"; cat "$work/cpu.txt"
  [ -s "$work/profile.txt" ] && { echo "bench: profile of $BENCH_PROFILE:"; cat "$work/profile.txt"; }
  exit 0
fi
echo "bench: scaling to $scale_locks locks"
.venv/bin/python bench/seed.py scale --base-url "$base" --bin "$bin" --database-url "$database_url" --workdir "$work" \
  --scale-locks "$scale_locks"
# Let the database finish what the bulk load started (autovacuum, the checkpointer) before
# measuring: a live table of this size is not being loaded while it serves.
sleep "${BENCH_SETTLE_SECONDS:-20}"
run_case get_lock_scale get_lock.lua BENCH_TOKEN="$BENCH_READER_TOKEN" BENCH_LOCK_IDS="$work/reader_ids"
peak_rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")

mkdir -p bench/results
out="bench/results/$(date -u +%Y-%m-%dT%H%M)-$(hostname).txt"
python3 bench/report.py "$results" "$pgbench_tps" "$peak_rss_kb" "$seconds" "$scale_locks" "$slot_check" "$work/cpu.txt" \
  "$work/profile.txt" "$work/repeats.txt" >"$out"
echo
cat "$out"
echo "bench: written to $out"
