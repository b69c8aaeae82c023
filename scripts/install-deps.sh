#!/usr/bin/env bash
# Installs what LockCloud needs and is missing: Debian packages (PostgreSQL server and client,
# libpq and OpenSSL headers, pkg-config, curl; for tests also chromium, chromium-driver and pgbouncer) and a
# Python virtualenv in .venv with the test tools (pytests/requirements.txt). Safe to run again: it only installs what is missing.
#   scripts/install-deps.sh          packages for `make run`
#   scripts/install-deps.sh --test   also the Python test tools
#   scripts/install-deps.sh --bench  also wrk and the Python tools (the seeding uses them)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_bench=0
[ "${1:-}" = "--test" ] && want_test=1
[ "${1:-}" = "--bench" ] && want_test=1 && want_bench=1

missing=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
packages=(postgresql postgresql-contrib libpq-dev libssl-dev pkg-config curl)
# The sign-in pages are also tested in a real headless browser.
[ "$want_test" = 1 ] && packages+=(chromium chromium-driver)
# The HTTP tests and the bench also run LockCloud through PgBouncer in transaction mode.
[ "$want_test" = 1 ] && packages+=(pgbouncer)
[ "$want_bench" = 1 ] && packages+=(wrk)
for pkg in "${packages[@]}"; do
  have_pkg "$pkg" || missing+=("$pkg")
done
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then
    sudo_cmd=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "install-deps: please install as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null 2>&1 || { echo "install-deps: the Swift toolchain is not on PATH" >&2; exit 1; }

if [ "$want_test" = 1 ]; then
  requirements=pytests/requirements.txt
  stamp=.venv/.requirements.sha256
  current=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$current" ]; then
    echo "install-deps: preparing .venv from $requirements"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r "$requirements"
    echo "$current" > "$stamp"
  fi
fi
