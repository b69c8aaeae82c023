#!/usr/bin/env python3
"""Section 8 of docs/offline-pin-scheme.md, computed: exact counts in Python integers, from the
rules of LCPIN2 alone (no key is needed: the counts hold for any key). Run it to print the
figures; `--check` exits non-zero when a target of issue 14 is missed at the default length.

What is counted
- G: the number of grants (candidate, hidden value) a lock accepts by search at one instant,
  maximised over the instant (every minute of a day: all window edges fall on whole minutes).
  Each candidate maps hidden values to PINs one to one, so at most G of the 10^n PINs are
  accepted, and a uniformly random guess is accepted with chance at most G / 10^n.
- W: the most PINs the failure budget lets anyone have searched in a lock-year (365 days),
  found by an exact search over every way of pacing the attempts (dynamic programming below).
  A correct PIN gives nothing back, so a holder of a valid code gets the same W as a stranger.
- per lock-year: W * G / 10^n, a union bound on 1 - (1 - G/10^n)^W.
"""
import sys
from fractions import Fraction

HOUR, DAY = 3600, 86400

# LCPIN2 parameters (docs/offline-pin-scheme.md).
DEFAULT_DIGITS = 11          # lc-200's offline_pin_length
DRIFT = 15 * 60              # D: the lock accepts a window D early and D late
ACTIVATION = 24 * HOUR       # first use within 24 h of the start
VERSIONS = 2                 # the lock searches its key version c and c + 1
SLOTS = {"hourly": 3, "daily": 3, "one_time": 5, "permanent": 3, "erase": 1}
BUCKET = 10                  # refused searches the bucket holds
LEAK = 4 * HOUR + 48 * 60    # one refused search leaks out every 4 h 48 min (5 a day)
SHORT_LOCKOUT = 15 * 60      # after the 5th refused search in the bucket
LOCKOUT_PACE = 60            # while locked out the keypad compares one PIN a minute
ACTIVATED_MAX = 199

TARGET_PER_ATTEMPT = Fraction(1, 10**5)
TARGET_PER_YEAR = Fraction(1, 100)
TARGET_HMACS = 200


def hourly_periods(t, drift):
    """Start hours p a search tries at time t: 3600p - D <= t < 3600(p + 24) + D."""
    low = (t - drift) // HOUR - 23
    high = (t + drift) // HOUR
    return range(low, high + 1)


def day_periods(t, drift):
    hours = hourly_periods(t, drift)
    return range(hours[0] // 24, hours[-1] // 24 + 1)


def start_ok(start, t, drift):
    return start - drift <= t < start + ACTIVATION + drift


def accepted_at(t, drift, versions):
    """G(t): every (candidate, hidden value) the search accepts at time t, all slots unspent."""
    total = 0
    for p in hourly_periods(t, drift):
        start = p * HOUR
        if not start_ok(start, t, drift):
            continue
        # Duration d (1..672 h) also needs t < start + d h + D.
        d_min = max(1, (t - drift - start) // HOUR + 1)
        total += SLOTS["hourly"] * max(0, 672 - d_min + 1)
    for q in day_periods(t, drift):
        ok_hours = sum(1 for hod in range(24) if start_ok((q * 24 + hod) * HOUR, t, drift))
        # Daily windows last >= 29 days, longer than the activation window: all 339 durations.
        total += ok_hours * (339 * SLOTS["daily"] + SLOTS["one_time"] + SLOTS["permanent"] + SLOTS["erase"])
    return total * versions


def macs_at(t, drift, versions):
    per_version = len(hourly_periods(t, drift)) * SLOTS["hourly"] + len(day_periods(t, drift)) * 12
    return per_version * versions


def worst(drift, versions):
    """Max of G and of the MAC count over every minute of a day (the pattern repeats daily)."""
    base = 800 * DAY  # any day: only the position in the day matters
    g = max(accepted_at(base + m * 60, drift, versions) for m in range(1440))
    macs = max(macs_at(base + m * 60, drift, versions) for m in range(1440))
    return g, macs


def most_attempts(horizon=365 * DAY):
    """W: the most refused searches in a lock-year. Each refused search adds one to the bucket,
    nothing else does (a correct PIN neither adds nor removes), one leaks out every LEAK, and a
    search needs the bucket below BUCKET. So in [0, T] at most BUCKET + floor(T / LEAK) searches
    are refused. The guesser below types whenever the keypad allows (the fastest pace) through
    the same rules as the lock, and reaches exactly that bound."""
    level, leaked_until, locked_until, t, refused = 0, 0, 0, 0, 0
    while t <= horizon:
        if level:
            gone = (t - leaked_until) // LEAK
            level, leaked_until = max(0, level - gone), leaked_until + gone * LEAK
        if not level:
            leaked_until = t
        if level < BUCKET and t >= locked_until:
            level, refused = level + 1, refused + 1
            if level == BUCKET // 2:
                locked_until = t + SHORT_LOCKOUT
            continue
        # Next moment the keypad searches again: the end of the short lockout or the next leak.
        t = max(locked_until, leaked_until + LEAK) if level >= BUCKET else locked_until
    assert refused == BUCKET + horizon // LEAK
    return refused


def fmt(x):
    return f"{float(x):.3g}"


def figures(digits, drift, versions, attempts):
    g, macs = worst(drift, versions)
    n = 10**digits
    per_attempt = Fraction(g, n)
    per_year = Fraction(g * attempts, n)
    exact_match_year = Fraction(ACTIVATED_MAX * (365 * DAY // LOCKOUT_PACE), n)
    return {"digits": digits, "G": g, "macs": macs, "per_attempt": per_attempt, "per_year": per_year,
            "exact_match_year": exact_match_year}


def main():
    w = most_attempts()
    # The LCPIN1 baseline of issue 14: 9 digits, no drift, two versions, 192 MACs.
    old_g, old_macs = worst(0, 2)
    print(f"LCPIN1 (9 digits, no drift tolerance, two versions): G = {old_g}, "
          f"per attempt {fmt(Fraction(old_g, 10**9))}, {old_macs} MACs")
    print(f"LCPIN2 failure budget: W = {w} refused searches per lock-year at most "
          f"(stranger and holder of a valid code alike)")
    one_g, _ = worst(DRIFT, 1)
    print(f"LCPIN2 accepted grants at one instant: {one_g} per key version, "
          f"{one_g * VERSIONS} for the two versions searched")
    print("digits | G | MACs/PIN | per attempt | per lock-year (W*G/N) | exact match of 199 activated, 1/min, per year")
    ok = True
    for digits in (6, 9, 10, 11, 12):
        f = figures(digits, DRIFT, VERSIONS, w)
        print(f"{digits:>6} | {f['G']} | {f['macs']} | {f['per_attempt']} = {fmt(f['per_attempt'])} | "
              f"{fmt(f['per_year'])} | {fmt(f['exact_match_year'])}")
        if digits == DEFAULT_DIGITS:
            ok = (f["per_attempt"] <= TARGET_PER_ATTEMPT and f["per_year"] <= TARGET_PER_YEAR
                  and f["macs"] <= TARGET_HMACS)
    # Why not 10 digits with one key version searched: the per-year target is missed.
    g1 = one_g
    print(f"alternative, 10 digits and one key version: per attempt {fmt(Fraction(g1, 10**10))}, "
          f"per lock-year {fmt(Fraction(g1 * w, 10**10))}")
    print(f"targets at the default {DEFAULT_DIGITS} digits (<= 1e-5 per attempt, <= 1 % per lock-year, "
          f"<= {TARGET_HMACS} MACs): {'met' if ok else 'MISSED'}")
    return ok


if __name__ == "__main__":
    met = main()
    if "--check" in sys.argv and not met:
        sys.exit(1)
