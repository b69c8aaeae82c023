#!/usr/bin/env bash
# Stops what conformance/lockcloud-up.sh WORKDIR started (by the pids it recorded).
cd "$(dirname "$0")/.."
work=$1
for f in simulator server; do
  [ -f "$work/$f.pid" ] && kill "$(cat "$work/$f.pid")" 2>/dev/null
done
sleep 0.5
scripts/pg.sh purge "$work/pg" >/dev/null 2>&1
rm -rf "$work"
