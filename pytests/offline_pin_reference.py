"""An independent implementation of docs/offline-pin-scheme.md (LCPIN2), written from the
document alone: PIN generation, the key chain and the lock's decision of section 5.3. It
produces docs/offline-pin-test-vectors.json and checks it in `make test`:
python3 pytests/offline_pin_reference.py --write regenerates the file."""
import hashlib
import hmac
import json
import struct
import sys
from pathlib import Path

VECTORS = Path(__file__).resolve().parent.parent / "docs" / "offline-pin-test-vectors.json"
TYPES = {"hourly": 1, "daily": 2, "one_time": 3, "permanent": 4, "erase": 5}
NAMES = {v: k for k, v in TYPES.items()}
SLOTS = {"hourly": 3, "daily": 3, "one_time": 5, "permanent": 3, "erase": 1}
RANGE = {"hourly": 672, "daily": 24 * 339, "one_time": 24, "permanent": 24, "erase": 24}
D = 900  # drift tolerance, seconds
LEAK, BUCKET = 17280, 10


def next_key(key):
    return hmac.new(key, b"LCPIN2-next-key", hashlib.sha256).digest()


def key_chain(key, count):
    keys = [key]
    while len(keys) < count:
        keys.append(next_key(keys[-1]))
    return keys


def hidden_value(kind, start_hour, duration_hours):
    if kind == "hourly":
        return duration_hours - 1
    if kind == "daily":
        return start_hour % 24 * 339 + (duration_hours // 24 - 29)
    return start_hour % 24


def period(kind, start_hour):
    return start_hour if kind == "hourly" else start_hour // 24


def mask(key, kind, version, per, slot, digits):
    message = b"LCPIN2" + bytes([TYPES[kind]]) + struct.pack(">H", version) + struct.pack(">q", per) \
        + bytes([slot, digits])
    mac = hmac.new(key, message, hashlib.sha256).digest()
    n = 10 ** digits
    offset = int.from_bytes(mac[0:8], "big") % n
    multiplier = int.from_bytes(mac[8:16], "big") % n
    multiplier = multiplier - multiplier % 10 + [1, 3, 7, 9][int.from_bytes(mac[16:24], "big") % 4]
    return offset, multiplier


def pin(key, kind, version, start_hour, duration_hours, slot, digits=11):
    offset, multiplier = mask(key, kind, version, period(kind, start_hour), slot, digits)
    value = hidden_value(kind, start_hour, duration_hours)
    return str((offset + value * multiplier) % 10 ** digits).zfill(digits)


def grant_of(kind, per, value):
    """(start hour, duration hours or None) that a hidden value stands for."""
    if kind == "hourly":
        return per, value + 1
    if kind == "daily":
        return per * 24 + value // 339, (value % 339 + 29) * 24
    return per * 24 + value, (None if kind == "permanent" else 24)


def in_window(start, duration, t, activated):
    if not start * 3600 - D <= t:
        return False
    if not activated and t >= (start + 24) * 3600 + D:
        return False
    return duration is None or t < (start + duration) * 3600 + D


def decide(key, state, t, typed):
    """Section 5.3 for a lock state (dict), a time t (seconds since E) and a typed PIN. Returns
    ("unlocked" | "erased", grant) or ("refused", reason)."""
    digits = state["digits"]
    locked = state.get("bucket_level", 0) >= BUCKET or t < state.get("lockout_until", 0)
    for code in state.get("activated", []):
        if code["pin"] == typed:
            g = code["grant"]
            if not in_window(g["start_hour"], g["duration_hours"], t, True):
                return "refused", "outside_window"
            if code.get("used"):
                return "refused", "already_used"
            return "unlocked", g
    if locked:
        return "refused", "locked_out"
    if len(typed) != digits or not typed.isdigit():
        return "refused", "no_match"
    c = state["key_version"]
    keys = key_chain(key, c + 1)
    spent = {tuple(s) for s in state.get("spent", [])}
    low, high = (t - D) // 3600 - 23, (t + D) // 3600
    n = 10 ** digits
    decoded = []
    for version in (c, c + 1):
        for kind in TYPES:
            periods = range(low, high + 1) if kind == "hourly" else range(low // 24, high // 24 + 1)
            for per in periods:
                for slot in range(SLOTS[kind]):
                    offset, multiplier = mask(keys[version - 1], kind, version, per, slot, digits)
                    value = (int(typed) - offset) * pow(multiplier, -1, n) % n
                    if value >= RANGE[kind]:
                        continue
                    start, duration = grant_of(kind, per, value)
                    decoded.append(((kind, version, per, slot), start, duration, in_window(start, duration, t, False)))
    for slot_id, start, duration, ok in decoded:
        if ok and slot_id not in spent:
            kind, version, _, slot = slot_id
            grant = {"type": kind, "key_version": version, "start_hour": start, "duration_hours": duration, "slot": slot}
            return ("erased" if kind == "erase" else "unlocked"), grant
    if any(ok for _, _, _, ok in decoded):
        return "refused", "reactivation"
    return "refused", "outside_window" if decoded else "no_match"


KEY = bytes(range(32))
CASES = [
    # kind, key_version, start_hour, duration_hours, slot, digits
    ("hourly", 1, 24 * 366 + 14, 1, 0, 11),
    ("hourly", 1, 24 * 366 + 14, 672, 2, 11),
    ("hourly", 3, 24 * 700 + 0, 5, 1, 11),
    ("daily", 1, 24 * 400 + 15, 29 * 24, 0, 11),
    ("daily", 2, 24 * 400 + 9, 367 * 24, 2, 11),
    ("one_time", 1, 24 * 500 + 18, 24, 4, 11),
    ("permanent", 1, 24 * 510 + 8, None, 1, 11),
    ("erase", 1, 24 * 520 + 12, 24, 0, 11),
    ("one_time", 1, 24 * 500 + 18, 24, 0, 6),
    ("hourly", 1, 24 * 366 + 14, 24, 0, 9),
    ("hourly", 1, 24 * 366 + 14, 24, 0, 10),
    ("hourly", 1, 24 * 366 + 14, 24, 0, 12),
]


def leading_zero_case(digits=11):
    """The first hourly grant (by start hour, then duration) whose PIN starts with a zero."""
    for start in range(9000, 9400):
        for duration in range(1, 13):
            p = pin(KEY, "hourly", 1, start, duration, 0, digits)
            if p[0] == "0":
                return ("hourly", 1, start, duration, 0, digits)
    raise AssertionError("no leading zero found")


def as_grant(kind, version, start, duration, slot):
    return {"type": kind, "key_version": version, "start_hour": start, "duration_hours": duration, "slot": slot}


def verification_cases():
    """(name, state, t, typed PIN): each refusal reason of section 5.3 and each way to open."""
    h = 24 * 600 + 10                       # a start hour
    g = ("hourly", 1, h, 5, 0)
    p = pin(KEY, *g, 11)
    g2 = ("hourly", 2, h, 5, 1)             # issued with the next key version
    p2 = pin(key_chain(KEY, 2)[1], *g2, 11)
    daily = ("daily", 1, h + 3, 30 * 24, 1)  # starts later the same day
    pd = pin(KEY, *daily, 11)
    once = ("one_time", 1, h, 24, 3)
    po = pin(KEY, *once, 11)
    fresh = {"key_version": 1, "digits": 11}
    return [
        ("opens inside its window", fresh, h * 3600 + 60, p),
        ("opens D early (slow clock)", fresh, h * 3600 - D, p),
        ("next key version opens", fresh, h * 3600 + 60, p2),
        ("an hour early: no candidate yet", fresh, h * 3600 - D - 3600, p),
        ("daily code before its start hour: outside_window", fresh, h * 3600 + 60, pd),
        ("after its end + D: outside_window", fresh, (h + 5) * 3600 + D, p),
        ("slot already spent: reactivation", dict(fresh, spent=[["hourly", 1, h, 0]]), h * 3600 + 60, p),
        ("activated one-time code used: already_used",
         dict(fresh, activated=[{"pin": po, "grant": as_grant(*once), "used": True}]), h * 3600 + 7200, po),
        ("activated code opens during a lockout",
         dict(fresh, bucket_level=10, activated=[{"pin": p, "grant": as_grant(*g), "used": False}]), h * 3600 + 120, p),
        ("not activated during a lockout: locked_out", dict(fresh, bucket_level=10), h * 3600 + 60, p),
        ("lock moved to version 2: version-1 code is no_match", dict(fresh, key_version=2), h * 3600 + 60, p),
        ("erase code", fresh, h * 3600 + 60, pin(KEY, "erase", 1, h, 24, 0, 11)),
    ]


def vectors():
    cases = CASES + [leading_zero_case()]
    out = [{"type": k, "key_version": v, "start_hour": s, "duration_hours": d, "slot": sl, "digits": n,
            "pin": pin(KEY, k, v, s, d, sl, n)} for k, v, s, d, sl, n in cases]
    checks = []
    for name, state, t, typed in verification_cases():
        result, detail = decide(KEY, state, t, typed)
        entry = {"name": name, "state": state, "t": t, "pin": typed, "result": result}
        entry["grant" if result != "refused" else "reason"] = detail
        checks.append(entry)
    return {"scheme": "LCPIN2", "key_hex": KEY.hex(), "epoch": "2024-01-01T00:00:00Z",
            "key_chain": [k.hex() for k in key_chain(KEY, 4)], "vectors": out, "verifications": checks}


if __name__ == "__main__" and "--write" in sys.argv:
    VECTORS.write_text(json.dumps(vectors(), indent=2) + "\n")
