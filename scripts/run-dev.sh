#!/usr/bin/env bash
# `make run`: a development server on http://127.0.0.1:8080 (LOCKCLOUD_PORT to change).
# Without DATABASE_URL it starts a PostgreSQL of its own whose data stays in .data/postgres
# (ignored by git) and is reused next time. `serve` applies pending migrations at start.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DATABASE_URL:-}" ]; then
  pgdata=${DEV_PGDATA:-$PWD/.data/postgres}
  pgport=${DEV_PGPORT:-55432}
  scripts/pg.sh up "$pgdata" "$pgport"
  export DATABASE_URL="postgresql://postgres@127.0.0.1:$pgport/lockcloud"
  echo "run: development PostgreSQL on 127.0.0.1:$pgport (data in $pgdata)"
fi

# The key that seals per-lock offline keys: kept beside the dev database, made once.
if [ -z "${LOCKCLOUD_KEY_ENCRYPTION_KEY:-}" ]; then
  keyfile=.data/key-encryption-key
  mkdir -p .data
  [ -s "$keyfile" ] || (umask 077; python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())' > "$keyfile")
  export LOCKCLOUD_KEY_ENCRYPTION_KEY=$(cat "$keyfile")
fi

export LOCKCLOUD_HOST=${LOCKCLOUD_HOST:-127.0.0.1}
export LOCKCLOUD_PORT=${LOCKCLOUD_PORT:-8080}
# The demo may send webhooks to receivers on this machine (http, loopback); production may not.
export LOCKCLOUD_WEBHOOK_ALLOW_HTTP=${LOCKCLOUD_WEBHOOK_ALLOW_HTTP:-true}
export LOCKCLOUD_WEBHOOK_ALLOW_PRIVATE_NETWORKS=${LOCKCLOUD_WEBHOOK_ALLOW_PRIVATE_NETWORKS:-true}
bin="$(swift build --show-bin-path)/lockcloud"

# Schema, then the contract's demo data (owners alice and bob, client seam, three locks each);
# both idempotent. The demo locks get fresh device credentials for the simulator.
"$bin" migrate
mkdir -p .data
"$bin" demo --simulator-credentials .data/simulator-locks.json

base="http://$LOCKCLOUD_HOST:$LOCKCLOUD_PORT"
cat <<INFO
run: LockCloud on $base (Ctrl-C stops it; the database keeps running)
run: demo owners alice@example.com and bob@example.com, password lockcloud-demo
run: lock simulator for the demo locks, control API on http://127.0.0.1:${SIMULATOR_PORT:-8090}/locks
run: owner pages (locks, codes, offline PINs, activity, connected apps): $base/account
     (sign in as alice@example.com / lockcloud-demo)
run: demo client seam / seamsecret; sign in as alice at
     $base/oauth/authorize?response_type=code&client_id=seam&redirect_uri=http%3A%2F%2Flocalhost%3A3020%2Foauth%2Fcallback&scope=locks.read%20locks.write&state=demo
INFO
# The lock simulator runs the demo locks over the device gateway (control API on :8090).
# --adopt-new-locks: locks paired while it runs join the simulation too (demo only).
"$bin" simulate --gateway-url "$base" --credentials .data/simulator-locks.json --control-port "${SIMULATOR_PORT:-8090}" \
  --adopt-new-locks --database-url "$DATABASE_URL" &
simulator=$!
trap 'kill $simulator 2>/dev/null' EXIT
"$bin" serve
