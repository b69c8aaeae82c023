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

export LOCKCLOUD_HOST=${LOCKCLOUD_HOST:-127.0.0.1}
export LOCKCLOUD_PORT=${LOCKCLOUD_PORT:-8080}
echo "run: LockCloud on http://$LOCKCLOUD_HOST:$LOCKCLOUD_PORT (Ctrl-C stops it; the database keeps running)"
exec "$(swift build --show-bin-path)/lockcloud" serve
