#!/usr/bin/env bash
# LockCloud-only helper (not part of the vendor kit): starts a throwaway PostgreSQL, LockCloud
# with the contract's demo data and webhook delivery, and the lock simulator for the demo locks.
# Usage: conformance/lockcloud-up.sh WORKDIR   (LOCKCLOUD_BIN = the lockcloud binary)
# Writes WORKDIR/env (LOCKCLOUD_URL, DATABASE_URL, pids, DEMO_LOCK_IDS) to source; stop with
# conformance/lockcloud-down.sh WORKDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$1; bin=${LOCKCLOUD_BIN:?LOCKCLOUD_BIN must name the lockcloud binary}
mkdir -p "$work"; chmod 755 "$work"
free() { scripts/free-port.sh; }
pg_port=$(free)
scripts/pg.sh up "$work/pg" "$pg_port" >/dev/null
db="postgresql://postgres@127.0.0.1:$pg_port/lockcloud"
export LOCKCLOUD_HEARTBEAT_TIMEOUT_SECONDS=${LOCKCLOUD_HEARTBEAT_TIMEOUT_SECONDS:-3}
export LOCKCLOUD_ACTION_TIMEOUT_SECONDS=${LOCKCLOUD_ACTION_TIMEOUT_SECONDS:-4}
export LOCKCLOUD_UNLOCK_WAIT_SECONDS=${LOCKCLOUD_UNLOCK_WAIT_SECONDS:-3}
# Production's 3 s connect timeout fails fast; on a loaded 2-core test machine (Chromium, two
# servers, two PostgreSQLs) new connections once took longer for about 10 s and the kit's own
# tests failed on the 503s. This harness tests the kit, not connection set-up, so it waits longer.
export LOCKCLOUD_DB_CONNECT_TIMEOUT_SECONDS=${LOCKCLOUD_DB_CONNECT_TIMEOUT_SECONDS:-20}
export LOCKCLOUD_KEY_ENCRYPTION_KEY=${LOCKCLOUD_KEY_ENCRYPTION_KEY:-$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')}
"$bin" migrate --database-url "$db" --log-level warning >/dev/null
"$bin" demo --database-url "$db" --simulator-credentials "$work/simulator-locks.json" --log-level warning >/dev/null
port=$(free)
url="http://127.0.0.1:$port"
LOCKCLOUD_WEBHOOK_DELIVERY=true LOCKCLOUD_WEBHOOK_ALLOW_HTTP=true LOCKCLOUD_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true \
LOCKCLOUD_WEBHOOK_TIMEOUT_SECONDS=2 LOCKCLOUD_WEBHOOK_RETRY_BASE_MS=300 LOCKCLOUD_WEBHOOK_RETRY_MAX_DELAY_SECONDS=2 \
  "$bin" serve --port "$port" --database-url "$db" --migrations-dir "$PWD/migrations" --log-level warning \
  >"$work/server.log" 2>&1 &
echo $! > "$work/server.pid"
for _ in $(seq 1 150); do curl -fsS "$url/health" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "$url/health" >/dev/null || { echo "lockcloud-up: server not healthy" >&2; cat "$work/server.log" >&2; exit 1; }
# The simulator runs the demo locks only (no --adopt-new-locks): a lock the kit pairs itself
# never heartbeats and so stays offline, which the DEVICE_OFFLINE check needs.
"$bin" simulate --gateway-url "$url" --credentials "$work/simulator-locks.json" --control-port "$(free)" \
  --heartbeat-seconds 1 --motor-milliseconds 200 --log-level warning >"$work/simulator.log" 2>&1 &
echo $! > "$work/simulator.pid"
alice_locks=$(python3 - "$work/simulator-locks.json" <<'PY'
import json, sys
print(" ".join(l["lock_id"] for l in json.load(open(sys.argv[1]))))
PY
)
cat > "$work/env" <<ENV
LOCKCLOUD_URL=$url
LOCKCLOUD_DATABASE_URL=$db
DEMO_LOCK_IDS="$alice_locks"
ENV
echo "lockcloud-up: $url (work $work)"
