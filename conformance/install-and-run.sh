#!/bin/sh
# One command on a fresh machine: a venv beside the kit, its requirements, then the kit with your arguments.
d=$(dirname "$0"); [ -x "$d/.venv/bin/python" ] || python3 -m venv "$d/.venv" && "$d/.venv/bin/pip" install -q -r "$d/requirements.txt" && exec "$d/.venv/bin/python" "$d/run.py" "$@"
