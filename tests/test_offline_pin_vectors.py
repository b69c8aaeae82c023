"""The published offline PIN test vectors agree with an independent implementation of the
document (tests/offline_pin_reference.py), so anyone can reproduce them from the text alone."""
import json

from offline_pin_reference import VECTORS, pin, vectors


def test_vectors_file_matches_the_reference_implementation():
    assert json.loads(VECTORS.read_text()) == vectors()


def test_reference_pins_change_with_every_input():
    key = bytes(range(32))
    base = pin(key, "hourly", 1, 9000, 5, 0)
    assert len(base) == 11 and base.isdigit()
    assert pin(key, "hourly", 1, 9000, 6, 0) != base  # duration
    assert pin(key, "hourly", 1, 9001, 5, 0) != base  # start hour
    assert pin(key, "hourly", 1, 9000, 5, 1) != base  # slot
    assert pin(key, "hourly", 2, 9000, 5, 0) != base  # key version
    assert pin(bytes(32), "hourly", 1, 9000, 5, 0) != base  # key


def test_the_digit_count_is_inside_the_mac():
    # In LCPIN1 a 6-digit PIN was the suffix of the 9-digit PIN of the same grant.
    key = bytes(range(32))
    long_pins = [pin(key, "hourly", 1, 9000 + i, 5, 0, 12) for i in range(20)]
    short_pins = [pin(key, "hourly", 1, 9000 + i, 5, 0, 6) for i in range(20)]
    assert sum(lp.endswith(sp) for lp, sp in zip(long_pins, short_pins)) <= 1


def test_vectors_cover_every_refusal_reason_and_length():
    data = vectors()
    reasons = {v.get("reason") for v in data["verifications"]}
    assert {"outside_window", "reactivation", "locked_out", "no_match", "already_used"} <= reasons
    assert {v["digits"] for v in data["vectors"]} >= {6, 9, 10, 11, 12}
    assert any(v["pin"].startswith("0") for v in data["vectors"])
    assert len(data["key_chain"]) == 4
