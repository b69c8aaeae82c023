#!/usr/bin/env bash
# `make faults`: the fault suite (scripts/faults.py) against a debug build and a PostgreSQL
# cluster of its own with durable settings. Prints a PASS/FAIL line per check; exits non-zero
# if any fails. `make test` runs the short version (--short).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
swift build 2>&1 | grep -E "error|Build complete" | tail -n 1
work=$(mktemp -d /tmp/lockcloud-faults.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
export LOCKCLOUD_KEY_ENCRYPTION_KEY=${LOCKCLOUD_KEY_ENCRYPTION_KEY:-$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')}
export LOCKCLOUD_TEST_WORKDIR="$work"
.venv/bin/python scripts/faults.py --bin "$(swift build --show-bin-path)/lockcloud" --pg-script scripts/pg.sh \
  --workdir "$work" "$@"
