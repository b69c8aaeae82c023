"""Seam's device vocabulary end to end (issue 15, items 2 and 3): every `performed_via` value
reachable from the simulated lock, a lock's failure reasons mapped into `error_code` and
`message`, `battery.replaced`, `device.time_wrong` and the lock's `warnings`."""
import datetime
import json
import time

import pytest
import requests

from conftest import psql
from oauth_helpers import create_owner, tokens_for
from test_lock_actions import Fleet, wait_until

SEAM_PERFORMED_VIA = {"pin_code", "mobile_app", "remote_api", "bluetooth_key", "fob_card", "manual_turn", "auto_lock"}
ACTION_EVENT_FIELDS = {"device_id", "lock_id", "action_id", "custom_id", "action", "status", "performed_via",
                       "error_code", "message"}


@pytest.fixture
def fleet(base_url, lockcloud_bin, database_url):
    fleet = Fleet(base_url, lockcloud_bin, database_url)
    yield fleet
    fleet.stop()


def event_data(database_url, lock_id, event_type):
    """The `data` of the lock's events of one type, oldest first."""
    text = psql(database_url, "SELECT coalesce(json_agg(data ORDER BY seq), '[]') FROM events "
                              f"WHERE device_id = '{lock_id}' AND event_type = '{event_type}'")
    return json.loads(text)


def control(fleet, lock_id, path, body=None):
    response = requests.post(f"{fleet.control}/locks/{lock_id}/{path}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def warning_codes(fleet, lock_id):
    return {w["warning_code"] for w in fleet.lock(lock_id)["warnings"]}


def test_every_performed_via_value_is_reachable_from_the_simulator(fleet, database_url):
    lock_id = fleet.locks[0]["lock_id"]
    # remote_api: an action through this API.
    action = fleet.act(lock_id, "unlock", custom_id="via-remote").json()
    assert fleet.finished(lock_id, action["action_id"])["performed_via"] == "remote_api"
    # pin_code: an online code typed at the keypad.
    code = fleet.api.post(f"{fleet.base_url}/locks/{lock_id}/access_codes", json={"code": "582913"}).json()
    wait_until(lambda: fleet.api.get(f"{fleet.base_url}/access_codes/{code['access_code_id']}").json()["status"] == "active",
               timeout=30)
    assert control(fleet, lock_id, "keypad", {"pin": "582913"})["outcome"] == "unlocked"
    # The others: the bolt moved at the door, reported by the lock with its own performed_via.
    for via in ["manual_turn", "mobile_app", "bluetooth_key", "fob_card", "auto_lock"]:
        control(fleet, lock_id, "operate", {"action": "lock" if via == "auto_lock" else "unlock", "via": via})
    seen = lambda: {e["performed_via"] for t in ("lock.locked", "lock.unlocked")
                    for e in event_data(database_url, lock_id, t)}
    wait_until(lambda: SEAM_PERFORMED_VIA - {"remote_api"} <= seen(), timeout=30)
    completed = event_data(database_url, lock_id, "lock.action_completed")
    assert [e["performed_via"] for e in completed] == ["remote_api"]
    assert seen() <= SEAM_PERFORMED_VIA


def test_a_lock_sending_the_earlier_spellings_is_recorded_in_seams(base_url, lockcloud_bin, database_url):
    email, password = create_owner(lockcloud_bin, database_url)
    api = {"Authorization": "Bearer " + tokens_for(base_url, email=email, password=password)["access_token"]}
    lock = requests.post(f"{base_url}/locks", json={"name": "Old firmware", "timezone": "UTC"}, headers=api).json()
    device = {"Authorization": f"Bearer {lock['device_credential']}"}
    for earlier in ["keypad", "cloud", "bluetooth", "manual"]:
        assert requests.post(f"{base_url}/device/v1/events", headers=device,
                             json={"type": "lock.unlocked", "performed_via": earlier}).status_code == 200
    refused = requests.post(f"{base_url}/device/v1/events", headers=device,
                            json={"type": "lock.unlocked", "performed_via": "telepathy"})
    assert refused.status_code == 400 and refused.json()["error_code"] == "INVALID_REQUEST"
    recorded = [e["performed_via"] for e in event_data(database_url, lock["lock_id"], "lock.unlocked")]
    assert recorded == ["pin_code", "remote_api", "bluetooth_key", "manual_turn"]


@pytest.mark.parametrize("reason, error_code", [
    ("BOLT_OBSTRUCTED", "LOCK_JAMMED"), ("DOOR_AJAR", "DOOR_OPEN"), ("BATTERY_TOO_LOW", "BATTERY_TOO_LOW"),
    ("GEARBOX_ON_FIRE", "DEVICE_ERROR"),
])
def test_a_failed_action_says_why_in_seams_words(fleet, database_url, reason, error_code):
    lock_id = fleet.locks[0]["lock_id"]
    control(fleet, lock_id, "fault", {"reason": reason})
    action = fleet.act(lock_id, "lock", custom_id=f"fault-{reason}").json()
    done = fleet.finished(lock_id, action["action_id"])
    assert done["status"] == "failed" and done["error_code"] == error_code
    assert reason in done["message"] and done["performed_via"] == "remote_api"
    event = wait_until(lambda: event_data(database_url, lock_id, "lock.action_completed"))[-1]
    assert set(event) >= ACTION_EVENT_FIELDS
    assert event["lock_id"] == event["device_id"] == lock_id and event["action_id"] == action["action_id"]
    assert event["custom_id"] == f"fault-{reason}" and event["status"] == "failed"
    assert event["error_code"] == error_code and event["message"] == done["message"]


def test_a_successful_action_event_carries_every_field_with_nulls(fleet, database_url):
    lock_id = fleet.locks[0]["lock_id"]
    action = fleet.act(lock_id, "unlock").json()
    assert fleet.finished(lock_id, action["action_id"])["status"] == "success"
    event = wait_until(lambda: event_data(database_url, lock_id, "lock.action_completed"))[-1]
    assert set(event) >= ACTION_EVENT_FIELDS
    assert event["custom_id"] is None and event["error_code"] is None and event["message"] is None
    assert event["status"] == "success" and event["performed_via"] == "remote_api"


def test_low_battery_then_new_batteries(fleet, database_url):
    lock_id = fleet.locks[0]["lock_id"]
    assert "LOW_BATTERY" not in warning_codes(fleet, lock_id)
    control(fleet, lock_id, "battery", {"level": 12})
    wait_until(lambda: "LOW_BATTERY" in warning_codes(fleet, lock_id), timeout=30)
    # The simulator drains a hundredth of a point per heartbeat: 12 is reported as 12 or 11.
    assert event_data(database_url, lock_id, "device.low_battery")[-1]["battery_level"] in (11, 12)
    assert event_data(database_url, lock_id, "battery.replaced") == []
    control(fleet, lock_id, "battery", {"level": 100})
    replaced = wait_until(lambda: event_data(database_url, lock_id, "battery.replaced"), timeout=30)
    assert replaced[0]["previous_battery_level"] in (11, 12) and replaced[0]["battery_level"] >= 99
    assert "LOW_BATTERY" not in warning_codes(fleet, lock_id)
    # The simulator's slow drain never reads as a battery change: three more heartbeats.
    heartbeat = lambda: psql(database_url, f"SELECT last_heartbeat_at FROM locks WHERE lock_id = '{lock_id}'")
    for _ in range(3):
        seen = heartbeat()
        wait_until(lambda: heartbeat() != seen, timeout=30)
    assert len(event_data(database_url, lock_id, "battery.replaced")) == 1


def test_a_wrong_clock_is_a_warning_until_it_is_right_again(fleet, database_url):
    lock_id = fleet.locks[0]["lock_id"]
    ahead = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)
    control(fleet, lock_id, "clock", {"now": ahead.strftime("%Y-%m-%dT%H:%M:%SZ")})
    wait_until(lambda: "DEVICE_TIME_WRONG" in warning_codes(fleet, lock_id), timeout=30)
    reported = event_data(database_url, lock_id, "device.time_wrong")
    assert len(reported) == 1 and reported[0]["drift_seconds"] > 7000
    message = next(w["message"] for w in fleet.lock(lock_id)["warnings"] if w["warning_code"] == "DEVICE_TIME_WRONG")
    assert "clock" in message
    right = datetime.datetime.now(datetime.timezone.utc)
    control(fleet, lock_id, "clock", {"now": right.strftime("%Y-%m-%dT%H:%M:%SZ")})
    wait_until(lambda: "DEVICE_TIME_WRONG" not in warning_codes(fleet, lock_id), timeout=30)
    assert len(event_data(database_url, lock_id, "device.time_wrong")) == 1


def test_the_tolerance_is_configurable(base_url, lockcloud_bin, database_url, start_server):
    server = start_server(database_url, env={"LOCKCLOUD_DEVICE_TIME_TOLERANCE_SECONDS": "60"})
    email, password = create_owner(lockcloud_bin, database_url)
    api = {"Authorization": "Bearer " + tokens_for(base_url, email=email, password=password)["access_token"]}
    lock = requests.post(f"{base_url}/locks", json={"name": "Strict", "timezone": "UTC"}, headers=api).json()
    device = {"Authorization": f"Bearer {lock['device_credential']}"}
    five_minutes_ahead = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 300))
    # The shared server (900 s) lets 5 minutes pass; the strict one does not.
    assert requests.post(f"{base_url}/device/v1/heartbeat", headers=device,
                         json={"device_time": five_minutes_ahead}).status_code == 200
    assert event_data(database_url, lock["lock_id"], "device.time_wrong") == []
    assert requests.post(f"{server.url}/device/v1/heartbeat", headers=device,
                         json={"device_time": five_minutes_ahead}).status_code == 200
    assert len(event_data(database_url, lock["lock_id"], "device.time_wrong")) == 1
    assert "DEVICE_TIME_WRONG" in {w["warning_code"] for w in
                                   requests.get(f"{base_url}/locks/{lock['lock_id']}", headers=api).json()["warnings"]}


def test_keypad_lockout_and_code_limit_warnings(base_url, lockcloud_bin, database_url):
    email, password = create_owner(lockcloud_bin, database_url)
    api = {"Authorization": "Bearer " + tokens_for(base_url, email=email, password=password)["access_token"]}
    lock = requests.post(f"{base_url}/locks", json={"name": "Small keypad", "timezone": "UTC", "model": "lc-100"},
                         headers=api).json()
    lock_url = f"{base_url}/locks/{lock['lock_id']}"
    device = {"Authorization": f"Bearer {lock['device_credential']}"}
    codes = lambda: {w["warning_code"] for w in requests.get(lock_url, headers=api).json()["warnings"]}
    listed = lambda: {w["warning_code"] for l in requests.get(f"{base_url}/locks", headers=api).json()["locks"]
                      for w in l["warnings"]}
    assert codes() == set() == listed()
    # A lockout that already ended leaves no warning; one still running does.
    past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    assert requests.post(f"{base_url}/device/v1/events", headers=device,
                         json={"type": "lock.keypad_locked_out", "locked_until": past}).status_code == 200
    assert codes() == set()
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 900))
    assert requests.post(f"{base_url}/device/v1/events", headers=device,
                         json={"type": "lock.keypad_locked_out", "locked_until": until}).status_code == 200
    assert codes() == {"KEYPAD_LOCKED_OUT"} == listed()
    assert until in next(w["message"] for w in requests.get(lock_url, headers=api).json()["warnings"])
    # lc-100 holds 50 codes: the 50th brings CODE_LIMIT_REACHED.
    for i in range(49):
        assert requests.post(f"{lock_url}/access_codes", json={"code": f"{3000 + i}"}, headers=api).status_code == 201
    assert "CODE_LIMIT_REACHED" not in codes()
    assert requests.post(f"{lock_url}/access_codes", json={"code": "3999"}, headers=api).status_code == 201
    assert "CODE_LIMIT_REACHED" in codes() and "CODE_LIMIT_REACHED" in listed()
