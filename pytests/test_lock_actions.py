"""Actions, the device gateway and the lock simulator, end to end over real HTTP.
`make test` runs the server with a 3 s heartbeat timeout and a 4 s action timeout."""
import json
import os
import re
import subprocess
import time
import uuid

import pytest
import requests

from conftest import ROOT, TrackedProcess, free_port, process_death, psql
from oauth_helpers import create_owner, tokens_for


def wait_until(check, timeout=10, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


class Fleet:
    """A fresh owner with two paired locks run by `lockcloud simulate`."""

    # Where the simulated locks reach the device gateway when not `base_url` (subclasses that
    # set up their own locks inherit the default).
    gateway_url = None

    def __init__(self, base_url, lockcloud_bin, database_url, model=None, gateway_url=None):
        """`gateway_url`: where the simulated locks reach the device gateway (default `base_url`)."""
        email, password = create_owner(lockcloud_bin, database_url)
        self.base_url = base_url
        self.gateway_url = gateway_url
        self.api = requests.Session()
        self.api.headers["Authorization"] = "Bearer " + tokens_for(base_url, email=email, password=password)["access_token"]
        model_field = {"model": model} if model else {}
        self.locks = [self.api.post(f"{base_url}/locks", json={"name": f"Door {i}", "timezone": "UTC", **model_field}).json()
                      for i in range(2)]
        self.start_simulator()

    def start_simulator(self, timeout=10):
        """Runs `lockcloud simulate` for `self.locks` and waits until they are all online."""
        workdir = os.environ["LOCKCLOUD_TEST_WORKDIR"]
        self.credentials_file = os.path.join(workdir, f"fleet-{self.locks[0]['lock_id']}.json")
        with open(self.credentials_file, "w") as f:
            json.dump([{"lock_id": l["lock_id"], "device_credential": l["device_credential"]} for l in self.locks], f)
        self.control_port = free_port()
        self.control = f"http://127.0.0.1:{self.control_port}"
        self.process = TrackedProcess(
            [os.environ["LOCKCLOUD_BIN"], "simulate", "--gateway-url", self.gateway_url or self.base_url, "--credentials", self.credentials_file,
             "--control-port", str(self.control_port), "--heartbeat-seconds", "0.5", "--motor-milliseconds", "200",
             "--log-level", "warning"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        wait_until(lambda: all(self.lock(l["lock_id"])["online"] for l in self.locks), timeout=timeout)

    def lock(self, lock_id):
        return self.api.get(f"{self.base_url}/locks/{lock_id}").json()

    def act(self, lock_id, action, **extra):
        return self.api.post(f"{self.base_url}/locks/{lock_id}/actions", json={"action": action, **extra})

    def action(self, lock_id, action_id):
        return self.api.get(f"{self.base_url}/locks/{lock_id}/actions/{action_id}").json()

    def finished(self, lock_id, action_id):
        return wait_until(lambda: (a := self.action(lock_id, action_id))["status"] != "pending" and a, timeout=10)

    def simulate(self, lock_id, command):
        assert requests.post(f"{self.control}/locks/{lock_id}/{command}").status_code == 200

    def stop(self):
        """Stops the simulator; fails if it had died on its own before."""
        death = process_death(self.process, "the lock simulator", self.process.stdout.read() if self.process.poll() is not None else "")
        if death:
            raise AssertionError(death)
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            # Seen once under a loaded CI machine; the simulator is a test tool, not the product.
            self.process.kill()
            self.process.wait()


@pytest.fixture
def fleet(base_url, lockcloud_bin, database_url):
    fleet = Fleet(base_url, lockcloud_bin, database_url)
    yield fleet
    fleet.stop()


def paired_lock(base_url, lockcloud_bin, database_url, name):
    """A fresh owner's lock: (API headers, the lock, device headers)."""
    email, password = create_owner(lockcloud_bin, database_url)
    api = {"Authorization": "Bearer " + tokens_for(base_url, email=email, password=password)["access_token"]}
    lock = requests.post(f"{base_url}/locks", json={"name": name, "timezone": "UTC"}, headers=api).json()
    return api, lock, {"Authorization": f"Bearer {lock['device_credential']}"}


def events_for(database_url, lock_id):
    return psql(database_url, "SELECT coalesce(string_agg(event_type, ',' ORDER BY occurred_at, event_id), '') "
                              "FROM events WHERE device_id = '%s'" % lock_id).split(",")


def test_unlock_completes_and_lock_state_follows(fleet, database_url):
    lock_id = fleet.locks[0]["lock_id"]
    response = fleet.act(lock_id, "unlock")
    assert response.status_code == 202
    pending = response.json()
    assert pending["status"] == "pending" and pending["action"] == "unlock" and pending["lock_id"] == lock_id
    done = fleet.finished(lock_id, pending["action_id"])
    assert done["status"] == "success" and done["performed_via"] == "remote_api" and done["error_code"] is None
    assert fleet.lock(lock_id)["lock_state"] == "unlocked"
    assert fleet.finished(lock_id, fleet.act(lock_id, "lock").json()["action_id"])["status"] == "success"
    assert fleet.lock(lock_id)["lock_state"] == "locked"
    assert events_for(database_url, lock_id).count("lock.action_completed") == 2


def test_custom_id_returns_the_same_action(fleet):
    lock_id = fleet.locks[0]["lock_id"]
    first = fleet.act(lock_id, "unlock", custom_id="seam-42").json()
    again = fleet.act(lock_id, "unlock", custom_id="seam-42").json()
    assert again["action_id"] == first["action_id"] and again["custom_id"] == "seam-42"
    other_lock = fleet.act(fleet.locks[1]["lock_id"], "unlock", custom_id="seam-42").json()
    assert other_lock["action_id"] != first["action_id"]


def test_an_offline_lock_is_refused_at_once(fleet):
    lock_id = fleet.locks[1]["lock_id"]
    fleet.simulate(lock_id, "offline")
    wait_until(lambda: not fleet.lock(lock_id)["online"])
    response = fleet.act(lock_id, "unlock")
    assert response.status_code == 409 and response.json()["error_code"] == "DEVICE_OFFLINE"
    legacy = fleet.api.post(f"{fleet.base_url}/locks/{lock_id}/unlock")
    # The older guide: a lock that is disconnected or cannot unlock answers 500 with details.
    assert legacy.status_code == 500 and legacy.json()["error_id"] == "DEVICE_OFFLINE"
    assert legacy.json()["error_message"] == legacy.json()["message"] and legacy.json()["error_code"] == "DEVICE_OFFLINE"


def test_missed_heartbeats_emit_offline_and_the_next_heartbeat_online(fleet, database_url):
    lock_id = fleet.locks[1]["lock_id"]
    fleet.simulate(lock_id, "offline")
    wait_until(lambda: not fleet.lock(lock_id)["online"], timeout=8)
    fleet.simulate(lock_id, "online")
    wait_until(lambda: fleet.lock(lock_id)["online"], timeout=5)
    events = events_for(database_url, lock_id)
    assert events[-2:] == ["device.offline", "device.online"]


def test_a_jammed_lock_fails_with_lock_jammed(fleet):
    lock_id = fleet.locks[0]["lock_id"]
    fleet.simulate(lock_id, "jam")
    done = fleet.finished(lock_id, fleet.act(lock_id, "unlock").json()["action_id"])
    assert done["status"] == "failed" and done["error_code"] == "LOCK_JAMMED"
    assert fleet.lock(lock_id)["lock_state"] == "locked"
    legacy = fleet.api.post(f"{fleet.base_url}/locks/{lock_id}/unlock")
    assert legacy.status_code == 500 and legacy.json()["error_id"] == "LOCK_JAMMED"


def test_no_answer_from_the_lock_fails_with_device_timeout(fleet):
    lock_id = fleet.locks[0]["lock_id"]
    fleet.simulate(lock_id, "offline")  # stops polling; the lock still counts as online for 3 s
    response = fleet.act(lock_id, "unlock")
    assert response.status_code == 202
    done = fleet.finished(lock_id, response.json()["action_id"])
    assert done["status"] == "failed" and done["error_code"] == "DEVICE_TIMEOUT"


def test_the_older_guides_unlock_waits_for_the_lock(fleet):
    lock_id = fleet.locks[0]["lock_id"]
    response = fleet.api.post(f"{fleet.base_url}/locks/{lock_id}/unlock")
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert fleet.lock(lock_id)["lock_state"] == "unlocked"


def test_actions_of_another_owner_are_not_found(fleet, base_url, lockcloud_bin, database_url):
    lock_id = fleet.locks[0]["lock_id"]
    action_id = fleet.act(lock_id, "lock").json()["action_id"]
    email, password = create_owner(lockcloud_bin, database_url)
    stranger = {"Authorization": "Bearer " + tokens_for(base_url, email=email, password=password)["access_token"]}
    assert requests.post(f"{base_url}/locks/{lock_id}/actions", json={"action": "unlock"}, headers=stranger).status_code == 404
    assert requests.get(f"{base_url}/locks/{lock_id}/actions/{action_id}", headers=stranger).status_code == 404
    assert requests.post(f"{base_url}/locks/{lock_id}/unlock", headers=stranger).status_code == 404


def test_bad_action_requests_are_400(fleet):
    lock_id = fleet.locks[0]["lock_id"]
    assert fleet.act(lock_id, "open").status_code == 400
    assert fleet.act(lock_id, "unlock", custom_id="x" * 201).status_code == 400
    assert fleet.api.post(f"{fleet.base_url}/locks/{lock_id}/actions", data="{").status_code in (400, 415)


def test_gateway_refuses_unknown_and_unpaired_credentials(base_url, lockcloud_bin, database_url):
    api, lock, device = paired_lock(base_url, lockcloud_bin, database_url, "Soon gone")
    assert requests.post(f"{base_url}/device/v1/heartbeat", json={}, headers=device).status_code == 200
    assert requests.post(f"{base_url}/device/v1/heartbeat", json={},
                         headers={"Authorization": "Bearer lcd_forged"}).status_code == 401
    assert requests.post(f"{base_url}/device/v1/heartbeat", json={}, headers=api).status_code == 401
    requests.delete(f"{base_url}/locks/{lock['lock_id']}", headers=api)
    assert requests.post(f"{base_url}/device/v1/heartbeat", json={}, headers=device).status_code == 401


def test_gateway_validates_reports_and_emits_low_battery_once(base_url, lockcloud_bin, database_url):
    api, lock, device = paired_lock(base_url, lockcloud_bin, database_url, "Battery")
    heartbeat = f"{base_url}/device/v1/heartbeat"
    for bad in ({"battery_level": 150}, {"lock_state": "open"}, {"device_time": "yesterday"}, {"battery_level": "full"}):
        response = requests.post(heartbeat, json=bad, headers=device)
        assert response.status_code == 400, bad
    assert requests.post(heartbeat, data="{", headers={**device, "Content-Type": "application/json"}).status_code == 400
    assert requests.post(heartbeat, data="x", headers={**device, "Content-Type": "text/plain"}).status_code == 415
    assert requests.get(f"{base_url}/device/v1/commands?wait=99", headers=device).status_code == 400
    assert requests.post(f"{base_url}/device/v1/commands/{lock['lock_id']}/result", json={"success": True},
                         headers=device).status_code == 404
    for level in (50, 15, 12):
        assert requests.post(heartbeat, json={"battery_level": level, "device_time": "2026-11-27T10:00:00+01:00"},
                             headers=device).status_code == 200
    state = requests.get(f"{base_url}/locks/{lock['lock_id']}", headers=api).json()
    assert state["battery_level"] == 12 and state["online"] is True
    assert state["device_time"] == "2026-11-27T09:00:00Z"
    assert events_for(database_url, lock["lock_id"]).count("device.low_battery") == 1


def test_events_reported_by_the_lock_update_state_and_are_recorded(base_url, lockcloud_bin, database_url):
    api, lock, device = paired_lock(base_url, lockcloud_bin, database_url, "Thumb-turn")
    events = f"{base_url}/device/v1/events"
    assert requests.post(events, json={"type": "lock.unlocked", "performed_via": "manual"}, headers=device).status_code == 200
    assert requests.get(f"{base_url}/locks/{lock['lock_id']}", headers=api).json()["lock_state"] == "unlocked"
    assert requests.post(events, json={"type": "battery.low", "battery_level": 9}, headers=device).status_code == 200
    for bad in ({"type": "lock.exploded"}, {"type": "lock.locked"}, {"type": "lock.locked", "performed_via": "magic"},
                {"type": "battery.low", "battery_level": 101}, {"type": "lock.locked", "performed_via": "manual",
                                                                 "occurred_at": "noon"}):
        assert requests.post(events, json=bad, headers=device).status_code == 400, bad
    unknown = requests.post(events, json={"type": "access_code.used", "access_code_id": str(uuid.uuid4())}, headers=device)
    assert unknown.status_code == 404  # only the lock's own codes
    assert events_for(database_url, lock["lock_id"])[-2:] == ["lock.unlocked", "device.low_battery"]
    via = psql(database_url, "SELECT data->>'performed_via' FROM events WHERE device_id = '%s' AND event_type = 'lock.unlocked'"
               % lock["lock_id"])
    assert via == "manual_turn"  # the earlier spelling, recorded in Seam's
