#!/usr/bin/env bash
# `make test`: installs what is missing, starts a throwaway PostgreSQL, and runs every test:
#   1. swift test   unit tests and integration tests against the real database
#   2. pytest       HTTP tests against a running server (and servers/clusters of their own)
#   3. schemathesis the contract run: openapi/openapi.yaml against the running server, then its
#                   negative mode (invalid data for every operation: never a 5xx)
#   4. faults       the short fault suite
#   5. conformance  the Seam-compatibility kit (conformance/) against LockCloud, and its own tests
# The shared server of stages 2-3 reaches PostgreSQL through PgBouncer in transaction mode
# (scripts/pgbouncer.sh, LOCKCLOUD_DB_PREPARED_STATEMENTS=unnamed) and reads from a streaming
# replica (scripts/pg.sh replica, DATABASE_READ_URL), as a vendor running many instances would;
# the Swift tests, the servers the tests start themselves, the faults and the kit use direct
# connections to the primary alone, so both paths are covered.
# The server must outlive all of it: a server that died fails the run, with its log.
# The cluster, the server and the temporary folder are removed on exit, pass or fail.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/install-deps.sh --test || exit 1

work=$(mktemp -d /tmp/lockcloud-test.XXXXXX)
chmod 755 "$work"   # the postgres OS user (as root) must reach the cluster folder inside
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  scripts/pgbouncer.sh stop "$work/pgbouncer" >/dev/null 2>&1
  scripts/pg.sh purge "$work/pg-replica" >/dev/null 2>&1
  scripts/pg.sh purge "$work/pg" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pg_port=$(scripts/free-port.sh)
scripts/pg.sh up "$work/pg" "$pg_port" || { echo "test: could not start PostgreSQL" >&2; exit 1; }
export LOCKCLOUD_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/lockcloud"
export LOCKCLOUD_TEST_PG_SCRIPT="$root/scripts/pg.sh"
export LOCKCLOUD_TEST_WORKDIR="$work"
# A fresh key-encryption key per run (servers started by the tests inherit it).
# Short device timeouts, so offline and timeout cases happen within seconds.
export LOCKCLOUD_HEARTBEAT_TIMEOUT_SECONDS=3 LOCKCLOUD_ACTION_TIMEOUT_SECONDS=4 LOCKCLOUD_UNLOCK_WAIT_SECONDS=3
export LOCKCLOUD_KEY_ENCRYPTION_KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
echo "test: throwaway PostgreSQL on 127.0.0.1:$pg_port"
bouncer_port=$(scripts/free-port.sh)
scripts/pgbouncer.sh up "$work/pgbouncer" "$bouncer_port" "$pg_port" 4 || { echo "test: could not start PgBouncer" >&2; exit 1; }
export LOCKCLOUD_TEST_PGBOUNCER_ADMIN_URL="postgresql://postgres@127.0.0.1:$bouncer_port/pgbouncer"
echo "test: PgBouncer (transaction mode, 4 server connections) on 127.0.0.1:$bouncer_port"

echo "test: building"
swift build --build-tests >"$work/build.log" 2>&1
build_rc=$?
if [ "$build_rc" != 0 ]; then
  grep -Ev '^\[[0-9]+/[0-9]+\] ' "$work/build.log"; echo "test: build failed" >&2; exit 1
fi
# Our own code builds without warnings; the generated API code has cosmetic ones (unused
# `package import`) that the generator only silences on newer compilers, so they are not shown.
own_warnings=$(grep -E '^/.*/(Sources|Tests)/[A-Za-z]+/[^ ]+\.swift:[0-9]+:[0-9]+: warning:' "$work/build.log" | grep -v '/.build' | sort -u)
if [ -n "$own_warnings" ]; then echo "$own_warnings"; else echo "test: build complete, no warnings in our code"; fi
bin="$(swift build --show-bin-path)/lockcloud"

declare -A outcome
passed=0; failed=0

echo; echo "== 1/5 swift test: unit and database integration"
# One test at a time: the offline-PIN property tests are CPU-bound, and beside them on 2 cores the
# pool and reactor tests' bounds (an acquire timeout, "a slow statement blocks nothing") failed.
swift test --skip-build --no-parallel 2>&1 | tee "$work/swift-test.log"
swift_rc=${PIPESTATUS[0]}
swift_total=$(grep -Eo 'Test run with [0-9]+ test' "$work/swift-test.log" | grep -Eo '[0-9]+' | tail -n 1)
swift_failed=$(grep -Ec '✘ Test [^r].* failed' "$work/swift-test.log")
[ "$swift_rc" != 0 ] && [ "$swift_failed" = 0 ] && swift_failed=1
passed=$((passed + ${swift_total:-0} - swift_failed)); failed=$((failed + swift_failed))
outcome[swift]=$swift_rc

echo; echo "== starting the server for the HTTP tests (with the contract's demo data)"
# Made now, not before the Swift tests, so it does not replay their hundreds of scratch databases.
replica_port=$(scripts/free-port.sh)
scripts/pg.sh replica "$work/pg-replica" "$replica_port" "$pg_port" || { echo "test: could not start the read replica" >&2; exit 1; }
echo "test: streaming read replica (pg_basebackup) on 127.0.0.1:$replica_port"
export LOCKCLOUD_TEST_SHARED_READ_REPLICA=1
"$bin" migrate --database-url "$LOCKCLOUD_TEST_DATABASE_URL" --log-level warning >/dev/null || exit 1
"$bin" demo --database-url "$LOCKCLOUD_TEST_DATABASE_URL" --log-level warning >/dev/null || exit 1
api_port=$(scripts/free-port.sh)
export LOCKCLOUD_URL="http://127.0.0.1:$api_port"
export LOCKCLOUD_BIN="$bin"
# The shared server registers webhooks to loopback receivers but delivers none: the webhook
# tests start delivering instances of their own, so what they count is theirs alone.
# Its pool goes through PgBouncer; LISTEN and migrations take the direct URL; the reads that
# may (README, Operations: read replicas) go to the streaming replica once it has caught up.
LOCKCLOUD_WEBHOOK_ALLOW_HTTP=true LOCKCLOUD_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true LOCKCLOUD_WEBHOOK_DELIVERY=false \
  LOCKCLOUD_DB_PREPARED_STATEMENTS=unnamed DATABASE_DIRECT_URL="$LOCKCLOUD_TEST_DATABASE_URL" \
  DATABASE_READ_URL="postgresql://postgres@127.0.0.1:$replica_port/lockcloud" \
  "$bin" serve --port "$api_port" --database-url "postgresql://postgres@127.0.0.1:$bouncer_port/lockcloud" \
  --log-level warning >"$work/server.log" 2>&1 &
server_pid=$!
export LOCKCLOUD_SERVER_PID=$server_pid   # the pytest fixtures fail the test during which it dies
# Alive, not a zombie (dead, not yet reaped: kill -0 still succeeds on one).
server_alive() {
  kill -0 "$server_pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$server_pid/stat" 2>/dev/null)" != Z ]
}
server_died_during=""
check_server() {
  if [ -z "$server_died_during" ] && ! server_alive; then
    server_died_during=$1
    echo "test: THE SERVER DIED during $1" >&2
  fi
}
for _ in $(seq 1 100); do
  curl -fsS "$LOCKCLOUD_URL/health" >/dev/null 2>&1 && break
  sleep 0.2
done
if ! curl -fsS "$LOCKCLOUD_URL/health" >/dev/null 2>&1; then
  echo "test: server did not become healthy" >&2; cat "$work/server.log" >&2; exit 1
fi

echo; echo "== 2/5 pytest: HTTP tests"
.venv/bin/pytest -q -p no:cacheprovider pytests 2>&1 | tee "$work/pytest.log"
py_rc=${PIPESTATUS[0]}
py_passed=$(grep -Eo '[0-9]+ passed' "$work/pytest.log" | tail -n 1 | grep -Eo '[0-9]+')
py_failed=$(grep -Eo '[0-9]+ (failed|error)' "$work/pytest.log" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
[ "$py_rc" != 0 ] && [ "${py_failed:-0}" = 0 ] && py_failed=1
passed=$((passed + ${py_passed:-0})); failed=$((failed + ${py_failed:-0}))
outcome[pytest]=$py_rc
check_server pytest

echo; echo "== 3/5 schemathesis: openapi/openapi.yaml against the server"
# A real access token (demo owner alice, through the HTML flow), so protected operations are
# exercised beyond their 401s.
token=$(cd pytests && ../.venv/bin/python -c 'import os, oauth_helpers; print(oauth_helpers.tokens_for(os.environ["LOCKCLOUD_URL"])["access_token"])')
# The older guide's POST /locks/{lock_id}/unlock answers a documented 500 (error_id
# DEVICE_OFFLINE, the lock's reason, DEVICE_TIMEOUT) when the lock cannot unlock, and a stateful
# run pairs a lock that never comes online: that operation gets every check but
# not_a_server_error in a run of its own (pytests/bytefuzz.py still tells its 500 from a crash's).
.venv/bin/schemathesis run openapi/openapi.yaml --url "$LOCKCLOUD_URL" -H "Authorization: Bearer $token" \
  --exclude-operation-id unlockLockAndWait \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,unsupported_method \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-50}" --workers 1 --no-color 2>&1 | tee "$work/schemathesis.log"
st_rc=${PIPESTATUS[0]}
.venv/bin/schemathesis run openapi/openapi.yaml --url "$LOCKCLOUD_URL" -H "Authorization: Bearer $token" \
  --include-operation-id unlockLockAndWait \
  --checks status_code_conformance,content_type_conformance,response_schema_conformance,unsupported_method \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-50}" --workers 1 --no-color 2>&1 | tee -a "$work/schemathesis.log"
st_unlock_rc=${PIPESTATUS[0]}
[ "$st_rc" = 0 ] && st_rc=$st_unlock_rc
if [ "$st_rc" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
outcome[schemathesis]=$st_rc
check_server schemathesis

# Negative mode: every operation with data its schema forbids (wrong types, missing and extra
# fields, out-of-range numbers, malformed strings). Any answer but a 5xx will do: the 4xx codes
# are checked by the run above and by the HTTP tests.
echo; echo "== 3/5 schemathesis (negative mode): invalid data for every operation, never a 5xx"
.venv/bin/schemathesis run openapi/openapi.yaml --url "$LOCKCLOUD_URL" -H "Authorization: Bearer $token" \
  --mode negative --checks not_a_server_error --exclude-operation-id unlockLockAndWait \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-50}" --workers 1 --no-color 2>&1 | tee "$work/schemathesis-negative.log"
stn_rc=${PIPESTATUS[0]}
if [ "$stn_rc" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
outcome[schemathesis_negative]=$stn_rc
check_server "schemathesis (negative mode)"

echo; echo "== 4/5 faults (short): database crash, SIGTERM, three instances, webhook receiver down"
.venv/bin/python scripts/faults.py --bin "$bin" --pg-script "$root/scripts/pg.sh" --workdir "$work/faults" --short \
  2>&1 | tee "$work/faults.log"
fa_rc=${PIPESTATUS[0]}
passed=$((passed + $(grep -c '^PASS ' "$work/faults.log" || true)))
fa_failed=$(grep -c '^FAIL ' "$work/faults.log" || true)
[ "$fa_rc" != 0 ] && [ "$fa_failed" = 0 ] && fa_failed=1
failed=$((failed + fa_failed))
outcome[faults]=$fa_rc
check_server faults

echo; echo "== 5/5 conformance kit: Seam-compatibility checks against LockCloud with demo data, and the kit's own tests"
# The kit starts a LockCloud of its own (webhook delivery and the simulator, which the shared
# server has not); the shared server must still be alive afterwards.
LOCKCLOUD_BIN="$bin" conformance/ci.sh 2>&1 | tee "$work/conformance.log"
co_rc=${PIPESTATUS[0]}
if [ "$co_rc" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
outcome[conformance]=$co_rc
check_server conformance

# The server must have outlived every stage; a dead one fails the run whatever the runners said.
outcome[server]=0
if [ -n "$server_died_during" ]; then
  wait "$server_pid"; server_rc=$?
  server_pid=""
  if [ "$server_rc" -gt 128 ]; then how="killed by signal $((server_rc - 128))"; else how="exited with status $server_rc"; fi
  echo; echo "== THE SERVER DIED during $server_died_during ($how); the end of its log:" >&2
  tail -n 80 "$work/server.log" >&2
  failed=$((failed + 1)); outcome[server]=1
else
  passed=$((passed + 1))
fi

if [ "${outcome[server]}" = 0 ] && grep -q . "$work/server.log"; then
  echo; echo "== server log (warnings and errors)"; tail -n 40 "$work/server.log"
fi

echo
echo "swift test rc=${outcome[swift]}, pytest rc=${outcome[pytest]}, schemathesis rc=${outcome[schemathesis]}," \
  "schemathesis negative rc=${outcome[schemathesis_negative]}, faults rc=${outcome[faults]}," \
  "conformance rc=${outcome[conformance]}," \
  "server $([ "${outcome[server]}" = 0 ] && echo alive || echo DIED)"
echo "total: $passed passed, $failed failed"
for stage in swift pytest schemathesis schemathesis_negative faults conformance server; do
  [ "${outcome[$stage]}" = 0 ] || exit 1
done
