"""Online PIN codes end to end: API → device gateway → simulated keypad, and every rule."""
import concurrent.futures
import datetime
import itertools

import pytest
import requests

from conftest import psql
from oauth_helpers import create_owner, tokens_for
from test_lock_actions import Fleet, events_for, paired_lock, wait_until


@pytest.fixture
def fleet(base_url, lockcloud_bin, database_url):
    fleet = Fleet(base_url, lockcloud_bin, database_url)
    yield fleet
    fleet.stop()


def iso(delta_seconds):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta_seconds)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def keypad(fleet, lock_id, pin):
    return requests.post(f"{fleet.control}/locks/{lock_id}/keypad", json={"pin": pin}).json()["unlocked"]


def create(fleet, lock_id, **fields):
    return fleet.api.post(f"{fleet.base_url}/locks/{lock_id}/access_codes", json=fields)


def status_of(fleet, code_id):
    return fleet.api.get(f"{fleet.base_url}/access_codes/{code_id}").json().get("status")


ACCESS_CODE_FIELDS = {
    "access_code_id", "lock_id", "owner_id", "name", "code", "type", "starts_at", "ends_at", "status",
    "is_offline_access_code", "offline_access_code_type", "is_one_time_use", "created_at", "updated_at", "errors",
    "warnings"}


def test_create_update_delete_through_the_lock(fleet, database_url):
    lock_id = fleet.locks[0]["lock_id"]
    response = create(fleet, lock_id, name="Cleaner", code="482910")
    assert response.status_code == 201
    code = response.json()
    assert set(code) == ACCESS_CODE_FIELDS
    assert code["status"] == "pending" and code["type"] == "ongoing" and code["starts_at"] is None
    wait_until(lambda: status_of(fleet, code["access_code_id"]) == "active")
    assert keypad(fleet, lock_id, "482910") is True
    assert keypad(fleet, lock_id, "111111") is False

    updated = fleet.api.patch(f"{fleet.base_url}/access_codes/{code['access_code_id']}", json={"code": "553311"})
    assert updated.status_code == 200 and updated.json()["status"] == "pending" and updated.json()["code"] == "553311"
    wait_until(lambda: status_of(fleet, code["access_code_id"]) == "active")
    assert keypad(fleet, lock_id, "553311") is True and keypad(fleet, lock_id, "482910") is False

    deleted = fleet.api.delete(f"{fleet.base_url}/access_codes/{code['access_code_id']}")
    assert deleted.json() == {"ok": True, "access_code_id": code["access_code_id"], "status": "removing"}
    # Removed once the lock confirms; still readable by id.
    wait_until(lambda: status_of(fleet, code["access_code_id"]) == "removed")
    assert keypad(fleet, lock_id, "553311") is False
    events = events_for(database_url, lock_id)
    for expected in ("access_code.created", "access_code.updated", "access_code.deleted", "access_code.used",
                     "access_code.incorrect_attempt"):
        assert expected in events, expected
    assert "482910" not in psql(database_url, "SELECT string_agg(data::text, ' ') FROM events WHERE device_id = '%s'" % lock_id)


def test_a_code_works_only_inside_its_window(fleet):
    lock_id = fleet.locks[0]["lock_id"]
    later = create(fleet, lock_id, code="700001", starts_at=iso(3600), ends_at=iso(7200)).json()
    soon_over = create(fleet, lock_id, code="700002", starts_at=iso(-60), ends_at=iso(4)).json()
    assert later["type"] == "time_bound"
    wait_until(lambda: status_of(fleet, later["access_code_id"]) == "scheduled")
    wait_until(lambda: status_of(fleet, soon_over["access_code_id"]) == "active")
    assert keypad(fleet, lock_id, "700001") is False  # before starts_at
    assert keypad(fleet, lock_id, "700002") is True
    wait_until(lambda: status_of(fleet, soon_over["access_code_id"]) == "expired", timeout=10)
    assert keypad(fleet, lock_id, "700002") is False  # after ends_at
    # Removed from the lock after ends_at, but still shown as expired.
    codes_on_lock = lambda: requests.get(f"{fleet.control}/locks").json()[lock_id]["codes"]
    wait_until(lambda: soon_over["access_code_id"] not in codes_on_lock(), timeout=10)
    assert status_of(fleet, soon_over["access_code_id"]) == "expired"


def test_a_code_the_lock_refuses_ends_failed_with_an_error(base_url, lockcloud_bin, database_url):
    api, lock, device = paired_lock(base_url, lockcloud_bin, database_url, "Picky")
    requests.post(f"{base_url}/device/v1/heartbeat", json={}, headers=device)
    code = requests.post(f"{base_url}/locks/{lock['lock_id']}/access_codes", json={"code": "1234"}, headers=api).json()
    command = requests.get(f"{base_url}/device/v1/commands", headers=device).json()["commands"][0]
    assert command["type"] == "program_code" and command["payload"]["code"] == "1234"
    requests.post(f"{base_url}/device/v1/commands/{command['command_id']}/result",
                  json={"success": False, "error_code": "KEYPAD_FULL"}, headers=device)
    failed = requests.get(f"{base_url}/access_codes/{code['access_code_id']}", headers=api).json()
    assert failed["status"] == "failed"
    assert failed["errors"][0]["error_code"] == "KEYPAD_FULL" and failed["errors"][0]["message"]
    # A failed code holds no PIN: the same PIN can be used again.
    assert requests.post(f"{base_url}/locks/{lock['lock_id']}/access_codes", json={"code": "1234"},
                         headers=api).status_code == 201


@pytest.mark.parametrize("fields, status, code", [
    ({"code": "12a4"}, 400, "INVALID_CODE"),
    ({"code": "123"}, 400, "INVALID_CODE"),
    ({"code": "123456789"}, 400, "INVALID_CODE"),
    ({}, 400, "INVALID_CODE"),
    ({"code": "1234", "starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}, 400, "INVALID_TIME_RANGE"),
    ({"code": "1234", "ends_at": "2020-01-01T00:00:00Z"}, 400, "INVALID_TIME_RANGE"),
    ({"code": "1234", "starts_at": "tomorrow"}, 400, "INVALID_TIMESTAMP"),
    ({"code": "1234", "starts_at": "2030-02-30T00:00:00Z"}, 400, "INVALID_TIMESTAMP"),
    ({"code": "1234", "starts_at": "2030-01-01T24:00:00Z"}, 400, "INVALID_TIMESTAMP"),
    ({"code": "1234", "name": "n" * 201}, 400, "INVALID_NAME"),
    ({"code": "1234", "is_offline_access_code": True}, 400, "OFFLINE_CODE_CUSTOM_PIN_NOT_ALLOWED"),
])
def test_rules_refuse_bad_codes_and_change_nothing(base_url, lockcloud_bin, database_url, fields, status, code):
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, "Rules")
    response = requests.post(f"{base_url}/locks/{lock['lock_id']}/access_codes", json=fields, headers=api)
    assert response.status_code == status, response.text
    if code:
        assert response.json()["error_code"] == code
    listing = requests.get(f"{base_url}/locks/{lock['lock_id']}/access_codes", headers=api).json()
    assert listing == {"access_codes": [], "next_page_cursor": None}


def test_pin_conflict_and_the_older_listing_path(base_url, lockcloud_bin, database_url):
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, "Conflicts")
    url = f"{base_url}/locks/{lock['lock_id']}/access_codes"
    first = requests.post(url, json={"code": "9999"}, headers=api).json()
    clash = requests.post(url, json={"code": "9999"}, headers=api)
    assert clash.status_code == 409 and clash.json()["error_code"] == "PIN_CONFLICT"
    other = requests.post(url, json={"code": "8888"}, headers=api).json()
    clash_on_update = requests.patch(f"{base_url}/access_codes/{other['access_code_id']}", json={"code": "9999"}, headers=api)
    assert clash_on_update.status_code == 409 and clash_on_update.json()["error_code"] == "PIN_CONFLICT"
    older = requests.get(f"{base_url}/access_codes", params={"lock_id": lock["lock_id"]}, headers=api).json()
    assert [c["access_code_id"] for c in older["access_codes"]] == [first["access_code_id"], other["access_code_id"]]


def test_the_limit_holds_under_parallel_creates_on_two_instances(base_url, lockcloud_bin, database_url, start_server):
    email, password = create_owner(lockcloud_bin, database_url)
    api = {"Authorization": "Bearer " + tokens_for(base_url, email=email, password=password)["access_token"]}
    lock = requests.post(f"{base_url}/locks", json={"name": "Small keypad", "timezone": "UTC", "model": "lc-100"},
                         headers=api).json()
    second = start_server(database_url)
    urls = itertools.cycle([base_url, second.url])
    # 15 PINs asked for twice, then 40 more: 55 distinct PINs for a lock that holds 50.
    pins = [f"{1000 + i // 2}" for i in range(30)] + [f"{2000 + i}" for i in range(40)]

    def attempt(pin):
        return requests.post(f"{next(urls)}/locks/{lock['lock_id']}/access_codes", json={"code": pin}, headers=api)

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(attempt, pins))
    created = [r.json()["code"] for r in responses if r.status_code == 201]
    refused = {r.json()["error_code"] for r in responses if r.status_code != 201}
    assert len(created) == 50 and len(set(created)) == 50
    assert "PIN_CONFLICT" in refused and refused <= {"ACCESS_CODE_LIMIT_REACHED", "PIN_CONFLICT"}
    assert all(r.status_code in (201, 409) for r in responses)
    live = psql(database_url, "SELECT count(*), count(DISTINCT code) FROM access_codes WHERE lock_id = '%s'" % lock["lock_id"])
    assert live == "50|50"


def test_idempotency_key(base_url, lockcloud_bin, database_url):
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, "Idempotent")
    url = f"{base_url}/locks/{lock['lock_id']}/access_codes"
    headers = {**api, "Idempotency-Key": "create-guest-42"}
    first = requests.post(url, json={"code": "4242", "name": "Guest"}, headers=headers)
    again = requests.post(url, json={"code": "4242", "name": "Guest"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    reused = requests.post(url, json={"code": "4343", "name": "Guest"}, headers=headers)
    assert reused.status_code == 409 and reused.json()["error_code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(requests.get(url, headers=api).json()["access_codes"]) == 1
    # A refusal is replayed too, and keys do not leak between owners.
    api2, lock2, _ = paired_lock(base_url, lockcloud_bin, database_url, "Other owner")
    other = requests.post(f"{base_url}/locks/{lock2['lock_id']}/access_codes", json={"code": "4242", "name": "Guest"},
                          headers={**api2, "Idempotency-Key": "create-guest-42"})
    assert other.status_code == 201 and other.json()["access_code_id"] != first.json()["access_code_id"]
    # The same mechanism covers every POST, e.g. pairing.
    pair_headers = {**api, "Idempotency-Key": "pair-1"}
    paired = [requests.post(f"{base_url}/locks", json={"name": "Once", "timezone": "UTC"}, headers=pair_headers) for _ in range(2)]
    assert paired[0].json()["lock_id"] == paired[1].json()["lock_id"]
    assert requests.post(url, json={"code": "1"}, headers={**api, "Idempotency-Key": "x" * 256}).status_code == 400


def test_another_owners_codes_are_invisible_everywhere(base_url, lockcloud_bin, database_url):
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, "Mine")
    code = requests.post(f"{base_url}/locks/{lock['lock_id']}/access_codes", json={"code": "2468"}, headers=api).json()
    stranger, _, _ = paired_lock(base_url, lockcloud_bin, database_url, "Theirs")
    url = f"{base_url}/access_codes/{code['access_code_id']}"
    assert requests.get(url, headers=stranger).status_code == 404
    assert requests.patch(url, json={"name": "mine"}, headers=stranger).status_code == 404
    deleted = requests.delete(url, headers=stranger)
    assert deleted.status_code == 404 and deleted.json()["error_id"] == "NOT_FOUND"
    assert requests.get(f"{base_url}/locks/{lock['lock_id']}/access_codes", headers=stranger).status_code == 404
    assert requests.get(f"{base_url}/access_codes", params={"lock_id": lock["lock_id"]}, headers=stranger).status_code == 404
    assert requests.post(f"{base_url}/locks/{lock['lock_id']}/access_codes", json={"code": "1357"},
                         headers=stranger).status_code == 404
    assert requests.get(url, headers=api).json()["code"] == "2468"


def test_names_are_stored_and_returned_literally(base_url, lockcloud_bin, database_url):
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, "Names")
    names = ['O\'Brien "the guest"', "Zoë 🚪 民宿", "<script>alert(1)</script>", "a\\b", "x" * 200]
    for i, name in enumerate(names):
        created = requests.post(f"{base_url}/locks/{lock['lock_id']}/access_codes",
                                json={"code": f"{5000 + i}", "name": name}, headers=api).json()
        assert created["name"] == name
        assert requests.get(f"{base_url}/access_codes/{created['access_code_id']}", headers=api).json()["name"] == name
