"""Offline PINs end to end: issued through the API, typed at a simulated lock that verifies them
with the OfflinePIN verifier and its own clock (no call to the server), and reported back
through the device gateway when the lock next reaches it."""
import datetime
import subprocess

import pytest
import requests

from conftest import psql
from test_lock_actions import Fleet, events_for, wait_until
from test_offline_codes import hour_start, iso

HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def fleet(base_url, lockcloud_bin, database_url):
    fleet = Fleet(base_url, lockcloud_bin, database_url)
    lock_id = fleet.locks[0]["lock_id"]
    # The lock fetches its offline key when it first reaches the gateway.
    wait_until(lambda: requests.get(f"{fleet.control}/locks").json()[lock_id]["offline_key_version"] == 1)
    yield fleet
    fleet.stop()


def issue(fleet, lock_id, **fields):
    response = fleet.api.post(f"{fleet.base_url}/locks/{lock_id}/access_codes",
                              json={"is_offline_access_code": True, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def type_pin(fleet, lock_id, pin):
    return requests.post(f"{fleet.control}/locks/{lock_id}/keypad", json={"pin": pin}).json()["outcome"]


def set_clock(fleet, lock_id, moment):
    assert requests.post(f"{fleet.control}/locks/{lock_id}/clock", json={"now": iso(moment)}).status_code == 200


def lock_state(fleet, lock_id):
    return requests.get(f"{fleet.control}/locks").json()[lock_id]


def code_status(fleet, code):
    response = fleet.api.get(f"{fleet.base_url}/access_codes/{code['access_code_id']}")
    return response.json()["status"] if response.status_code == 200 else response.status_code


def used_events(database_url, code):
    return int(psql(database_url, "SELECT count(*) FROM events WHERE event_type = 'access_code.used' "
                                  f"AND data->>'access_code_id' = '{code['access_code_id']}'"))


def test_an_issued_pin_opens_the_lock_and_the_use_is_reported(fleet, database_url):
    lock_id = fleet.locks[0]["lock_id"]
    code = issue(fleet, lock_id, name="Guest", starts_at=iso(hour_start()), ends_at=iso(hour_start(3)))
    assert type_pin(fleet, lock_id, code["code"]) == "unlocked"
    wait_until(lambda: used_events(database_url, code) == 1)
    assert fleet.lock(lock_id)["lock_state"] == "unlocked"
    assert sorted(events_for(database_url, lock_id)[-2:]) == ["access_code.used", "lock.unlocked"]  # one transaction
    # The same PIN at the other lock is just a wrong PIN.
    other = fleet.locks[1]["lock_id"]
    wait_until(lambda: lock_state(fleet, other)["offline_key_version"] == 1)
    assert type_pin(fleet, other, code["code"]) == "rejected"
    wait_until(lambda: events_for(database_url, other)[-1] == "access_code.incorrect_attempt")
    # The event names the code, never the PIN.
    assert code["code"] not in psql(database_url, "SELECT string_agg(data::text, ' ') FROM events "
                                                  f"WHERE device_id IN ('{lock_id}', '{other}')")


def test_a_code_works_only_inside_its_window_by_the_locks_own_clock(fleet):
    lock_id = fleet.locks[0]["lock_id"]
    start = hour_start(2)
    code = issue(fleet, lock_id, starts_at=iso(start), ends_at=iso(start + 3 * HOUR))
    assert type_pin(fleet, lock_id, code["code"]) == "rejected"  # before starts_at
    set_clock(fleet, lock_id, start + datetime.timedelta(minutes=5))
    assert type_pin(fleet, lock_id, code["code"]) == "unlocked"
    set_clock(fleet, lock_id, start + 3 * HOUR + datetime.timedelta(minutes=16))
    assert type_pin(fleet, lock_id, code["code"]) == "rejected"  # after ends_at + the 15-minute tolerance
    # Setting the clock back does not revive it: the lock's time never goes back (time floor).
    set_clock(fleet, lock_id, start + datetime.timedelta(minutes=10))
    assert type_pin(fleet, lock_id, code["code"]) == "rejected"


def test_a_one_time_code_works_once_and_the_registry_marks_it_expired(fleet, database_url):
    lock_id = fleet.locks[0]["lock_id"]
    code = issue(fleet, lock_id, starts_at=iso(hour_start()), is_one_time_use=True)
    assert code_status(fleet, code) == "active"
    assert type_pin(fleet, lock_id, code["code"]) == "unlocked"
    wait_until(lambda: code_status(fleet, code) == "expired")
    assert type_pin(fleet, lock_id, code["code"]) == "rejected"
    # A spent code no longer holds one of the lock's places nor its PIN.
    assert psql(database_url, "SELECT expiry_removed FROM access_codes "
                              f"WHERE access_code_id = '{code['access_code_id']}'") == "t"


def test_a_long_code_must_be_entered_first_within_24_hours_of_its_start(fleet):
    lock_id = fleet.locks[0]["lock_id"]
    start = hour_start()
    never_entered = issue(fleet, lock_id, starts_at=iso(start), ends_at=iso(start + 72 * HOUR))
    entered_early = issue(fleet, lock_id, starts_at=iso(start), ends_at=iso(start + 72 * HOUR))
    assert "OFFLINE_ACTIVATION_WINDOW" in [w["warning_code"] for w in never_entered["warnings"]]
    assert type_pin(fleet, lock_id, entered_early["code"]) == "unlocked"  # activates it
    set_clock(fleet, lock_id, start + 30 * HOUR)
    assert type_pin(fleet, lock_id, never_entered["code"]) == "rejected"
    assert type_pin(fleet, lock_id, entered_early["code"]) == "unlocked"
    # Past its end and the 15-minute drift tolerance.
    set_clock(fleet, lock_id, start + 72 * HOUR + datetime.timedelta(minutes=16))
    assert type_pin(fleet, lock_id, entered_early["code"]) == "rejected"


def test_a_permanent_code_keeps_working_after_its_first_day(fleet):
    lock_id = fleet.locks[0]["lock_id"]
    start = hour_start()
    code = issue(fleet, lock_id, starts_at=iso(start), offline_access_code_type="permanent")
    assert code["ends_at"] is None and code["type"] == "ongoing"
    assert type_pin(fleet, lock_id, code["code"]) == "unlocked"
    set_clock(fleet, lock_id, start + 400 * 24 * HOUR)
    assert type_pin(fleet, lock_id, code["code"]) == "unlocked"


def test_the_erase_code_revokes_every_earlier_offline_code(fleet, database_url):
    lock_id = fleet.locks[0]["lock_id"]
    start = hour_start()
    before = issue(fleet, lock_id, starts_at=iso(start), ends_at=iso(start + 48 * HOUR))
    activated = issue(fleet, lock_id, starts_at=iso(start), ends_at=iso(start + 48 * HOUR))
    assert type_pin(fleet, lock_id, activated["code"]) == "unlocked"
    erase = issue(fleet, lock_id, starts_at=iso(start), offline_access_code_type="erase")
    after = issue(fleet, lock_id, starts_at=iso(start), ends_at=iso(start + 48 * HOUR))
    # A second erase code waits until the lock has taken the first.
    second = fleet.api.post(f"{fleet.base_url}/locks/{lock_id}/access_codes",
                            json={"is_offline_access_code": True, "starts_at": iso(start + 24 * HOUR),
                                  "offline_access_code_type": "erase"})
    assert second.status_code == 409 and second.json()["error_code"] == "OFFLINE_KEY_CHANGE_PENDING"
    # Codes issued after the erase code work before it is typed...
    assert type_pin(fleet, lock_id, after["code"]) == "unlocked"
    assert type_pin(fleet, lock_id, erase["code"]) == "erased"
    # ...and after; every code issued before it is gone, activated or not.
    assert type_pin(fleet, lock_id, before["code"]) == "rejected"
    assert type_pin(fleet, lock_id, activated["code"]) == "rejected"
    assert type_pin(fleet, lock_id, after["code"]) == "unlocked"
    wait_until(lambda: code_status(fleet, before) == "removed" and code_status(fleet, activated) == "removed")
    assert code_status(fleet, erase) == "expired" and code_status(fleet, after) == "active"
    reasons = psql(database_url, "SELECT string_agg(data->>'reason', ',') FROM events WHERE event_type = "
                                 f"'access_code.deleted' AND device_id = '{lock_id}'")
    assert reasons == "erased_at_lock,erased_at_lock"
    wait_until(lambda: psql(database_url, "SELECT offline_lock_key_version FROM locks "
                                          f"WHERE lock_id = '{lock_id}'") == "2")
    assert lock_state(fleet, lock_id)["offline_key_version"] == 2
    assert second.status_code == 409
    again = fleet.api.post(f"{fleet.base_url}/locks/{lock_id}/access_codes",
                           json={"is_offline_access_code": True, "starts_at": iso(start + 24 * HOUR),
                                 "offline_access_code_type": "erase"})
    assert again.status_code == 201


def test_a_lock_off_the_network_still_opens_and_reports_when_it_is_back(fleet, database_url):
    lock_id = fleet.locks[0]["lock_id"]
    code = issue(fleet, lock_id, starts_at=iso(hour_start()), ends_at=iso(hour_start(2)))
    fleet.simulate(lock_id, "offline")
    assert type_pin(fleet, lock_id, code["code"]) == "unlocked"
    assert type_pin(fleet, lock_id, "000000000") == "rejected"
    assert lock_state(fleet, lock_id)["unsent_events"] == 2
    assert used_events(database_url, code) == 0
    fleet.simulate(lock_id, "online")
    wait_until(lambda: used_events(database_url, code) == 1)
    wait_until(lambda: lock_state(fleet, lock_id)["unsent_events"] == 0)
    assert events_for(database_url, lock_id)[-1] == "access_code.incorrect_attempt"


def test_a_code_removed_at_the_lock_is_reported_and_stops_working(fleet, database_url):
    lock_id = fleet.locks[0]["lock_id"]
    code = issue(fleet, lock_id, starts_at=iso(hour_start()), ends_at=iso(hour_start(5)))
    assert type_pin(fleet, lock_id, code["code"]) == "unlocked"
    removed = requests.post(f"{fleet.control}/locks/{lock_id}/bluetooth/remove_code", json={"pin": code["code"]})
    assert removed.json() == {"removed": True}
    wait_until(lambda: code_status(fleet, code) == "removed")
    assert type_pin(fleet, lock_id, code["code"]) == "rejected"
    assert psql(database_url, "SELECT data->>'reason' FROM events WHERE event_type = 'access_code.deleted' "
                              f"AND data->>'access_code_id' = '{code['access_code_id']}'") == "removed_at_lock"


def test_five_wrong_pins_lock_the_keypad_out(fleet, database_url):
    lock_id = fleet.locks[0]["lock_id"]
    code = issue(fleet, lock_id, starts_at=iso(hour_start()), ends_at=iso(hour_start(2)))
    assert [type_pin(fleet, lock_id, f"00000000{i}") for i in range(5)] == ["rejected"] * 5
    assert type_pin(fleet, lock_id, code["code"]) == "locked_out"
    # The owner learns of it: the lockout is reported as its own event.
    wait_until(lambda: "lock.keypad_locked_out" in events_for(database_url, lock_id))
    set_clock(fleet, lock_id, datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=16))
    assert type_pin(fleet, lock_id, code["code"]) == "unlocked"


def test_key_rotation_keeps_earlier_codes_valid_to_their_end(fleet, lockcloud_bin, database_url):
    lock_id = fleet.locks[0]["lock_id"]

    def rotate():
        return subprocess.run([lockcloud_bin, "offline-keys", "rotate", lock_id, "--database-url", database_url,
                               "--log-level", "warning"], capture_output=True, text=True, timeout=60)

    start = hour_start()
    earlier = issue(fleet, lock_id, starts_at=iso(start), ends_at=iso(start + 30 * HOUR))
    first = rotate()
    assert first.returncode == 0 and "key version 2" in first.stdout, first.stderr
    later = issue(fleet, lock_id, starts_at=iso(start), ends_at=iso(start + 30 * HOUR))
    assert psql(database_url, "SELECT string_agg(key_version::text, ',' ORDER BY created_at) FROM access_codes "
                              f"WHERE lock_id = '{lock_id}'") == "1,2"
    # The lock still has to search version 1 for the earlier, never-entered code: no second rotation yet.
    refused = rotate()
    assert refused.returncode != 0 and "still on key version 1" in refused.stderr
    assert type_pin(fleet, lock_id, later["code"]) == "unlocked"
    assert type_pin(fleet, lock_id, earlier["code"]) == "unlocked"
    # Both are activated now: the lock moves on to version 2 and keeps them until their end.
    wait_until(lambda: lock_state(fleet, lock_id)["offline_key_version"] == 2)
    wait_until(lambda: rotate().returncode == 0)
    assert type_pin(fleet, lock_id, earlier["code"]) == "unlocked"
    set_clock(fleet, lock_id, start + 30 * HOUR + datetime.timedelta(minutes=16))  # end + drift tolerance
    assert type_pin(fleet, lock_id, earlier["code"]) == "rejected"


def test_a_used_one_time_code_stays_refused_after_a_power_cycle(fleet):
    lock_id = fleet.locks[0]["lock_id"]
    used = issue(fleet, lock_id, starts_at=iso(hour_start()), is_one_time_use=True)
    later = issue(fleet, lock_id, starts_at=iso(hour_start()), is_one_time_use=True)
    assert type_pin(fleet, lock_id, used["code"]) == "unlocked"
    assert requests.post(f"{fleet.control}/locks/{lock_id}/power_cycle", json={}).status_code == 200
    # The lock came back from what it wrote: the used code stays spent, the other still opens.
    assert type_pin(fleet, lock_id, used["code"]) == "rejected"
    assert type_pin(fleet, lock_id, later["code"]) == "unlocked"


def test_after_the_clock_lost_power_the_lock_waits_for_the_gateways_time(fleet):
    lock_id = fleet.locks[0]["lock_id"]
    code = issue(fleet, lock_id, starts_at=iso(hour_start()), ends_at=iso(hour_start(2)))
    assert requests.post(f"{fleet.control}/locks/{lock_id}/power_cycle", json={"rtc_lost": True}).status_code == 200
    # The next heartbeat answer carries server_time; until then the clock reads 2000-01-01.
    wait_until(lambda: not lock_state(fleet, lock_id)["clock_unset"])
    assert type_pin(fleet, lock_id, code["code"]) == "unlocked"


def test_a_clock_moved_beyond_the_tolerance_is_reported(fleet, database_url):
    lock_id = fleet.locks[0]["lock_id"]
    set_clock(fleet, lock_id, datetime.datetime.now(datetime.timezone.utc) + 2 * HOUR)
    wait_until(lambda: "device.time_wrong" in events_for(database_url, lock_id))
