"""An independent implementation of docs/offline-pin-scheme.md (PIN generation only), written
from the document alone. It produces docs/offline-pin-test-vectors.json and checks it in
`make test`: python3 tests/offline_pin_reference.py --write regenerates the file."""
import hashlib
import hmac
import json
import struct
import sys
from pathlib import Path

VECTORS = Path(__file__).resolve().parent.parent / "docs" / "offline-pin-test-vectors.json"
TYPES = {"hourly": 1, "daily": 2, "one_time": 3, "permanent": 4, "erase": 5}


def hidden_value(kind, start_hour, duration_hours):
    hour_of_day = start_hour % 24
    if kind == "hourly":
        return duration_hours - 1
    if kind == "daily":
        return hour_of_day * 339 + (duration_hours // 24 - 29)
    return hour_of_day  # one_time, permanent, erase


def period(kind, start_hour):
    return start_hour if kind == "hourly" else start_hour // 24


def pin(key, kind, key_version, start_hour, duration_hours, slot, digits=9):
    message = b"LCPIN1" + bytes([TYPES[kind]]) + struct.pack(">H", key_version) \
        + struct.pack(">q", period(kind, start_hour)) + bytes([slot])
    mac = hmac.new(key, message, hashlib.sha256).digest()
    modulus = 10 ** digits
    offset = int.from_bytes(mac[0:8], "big") % modulus
    multiplier = int.from_bytes(mac[8:16], "big") % modulus
    multiplier = multiplier - multiplier % 10 + [1, 3, 7, 9][int.from_bytes(mac[16:24], "big") % 4]
    value = hidden_value(kind, start_hour, duration_hours)
    return str((offset + value * multiplier) % modulus).zfill(digits)


CASES = [
    # kind, key_version, start_hour, duration_hours, slot, digits
    ("hourly", 1, 24 * 366 + 14, 1, 0, 9),
    ("hourly", 1, 24 * 366 + 14, 672, 2, 9),
    ("hourly", 3, 24 * 700 + 0, 5, 1, 9),
    ("daily", 1, 24 * 400 + 15, 29 * 24, 0, 9),
    ("daily", 2, 24 * 400 + 9, 367 * 24, 2, 9),
    ("one_time", 1, 24 * 500 + 18, 24, 4, 9),
    ("one_time", 1, 24 * 500 + 18, 24, 0, 6),
    ("permanent", 1, 24 * 510 + 8, None, 1, 9),
    ("erase", 1, 24 * 520 + 12, 24, 0, 9),
    ("hourly", 1, 24 * 366 + 14, 24, 0, 12),
]


def vectors():
    key = bytes(range(32))
    out = []
    for kind, version, start, duration, slot, digits in CASES:
        out.append({"type": kind, "key_version": version, "start_hour": start, "duration_hours": duration,
                    "slot": slot, "digits": digits, "pin": pin(key, kind, version, start, duration, slot, digits)})
    return {"scheme": "LCPIN1", "key_hex": key.hex(), "epoch": "2024-01-01T00:00:00Z", "vectors": out}


if __name__ == "__main__" and "--write" in sys.argv:
    VECTORS.write_text(json.dumps(vectors(), indent=2) + "\n")
