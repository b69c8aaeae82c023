"""The published offline PIN test vectors agree with an independent implementation of the
document (tests/offline_pin_reference.py), so anyone can reproduce them from the text alone."""
import json

from offline_pin_reference import VECTORS, pin, vectors


def test_vectors_file_matches_the_reference_implementation():
    assert json.loads(VECTORS.read_text()) == vectors()


def test_reference_pins_change_with_every_input():
    key = bytes(range(32))
    base = pin(key, "hourly", 1, 9000, 5, 0)
    assert len(base) == 9 and base.isdigit()
    assert pin(key, "hourly", 1, 9000, 6, 0) != base  # duration
    assert pin(key, "hourly", 1, 9001, 5, 0) != base  # start hour
    assert pin(key, "hourly", 1, 9000, 5, 1) != base  # slot
    assert pin(key, "hourly", 2, 9000, 5, 0) != base  # key version
    assert pin(bytes(32), "hourly", 1, 9000, 5, 0) != base  # key
