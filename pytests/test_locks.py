"""Owners' locks over HTTP: pairing, reading, paging, changing, unpairing, and isolation."""
import hashlib
import uuid

import pytest
import requests

from conftest import psql
from oauth_helpers import create_owner, tokens_for


@pytest.fixture
def owner(base_url, lockcloud_bin, database_url):
    """A fresh owner with no locks, and a session of requests authorised as them."""
    email, password = create_owner(lockcloud_bin, database_url)
    tokens = tokens_for(base_url, email=email, password=password)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {tokens['access_token']}"
    session.user_id = tokens["user_id"]
    return session


def pair(base_url, session, **fields):
    body = {"name": "Front door", "timezone": "Europe/Berlin", **fields}
    response = session.post(f"{base_url}/locks", json=body)
    assert response.status_code == 201, response.text
    return response.json()


LOCK_FIELDS = {
    "lock_id", "name", "model", "address", "device_type", "online", "battery_level", "signal_quality", "location",
    "timezone", "bridge_id", "lock_state", "door_state", "device_time", "created_at", "updated_at",
    "can_program_online_access_codes", "can_program_offline_access_codes", "code_length_min", "code_length_max",
    "max_access_codes", "warnings"}
LOCK_FIELDS |= {"can_remotely_lock", "can_remotely_unlock", "supported_code_lengths", "max_active_codes_supported",
                "offline_pin_length", "offline_time_frame_options"}  # capabilities, issue 15 item 4


def test_pairing_returns_every_contract_field_and_a_credential_once(base_url, owner, database_url):
    lock = pair(base_url, owner, address="1 Main St")
    assert set(lock) == LOCK_FIELDS | {"device_credential"}
    assert lock["model"] == "lc-200" and lock["max_access_codes"] == 199
    assert lock["can_program_online_access_codes"] and lock["can_program_offline_access_codes"]
    assert lock["device_type"] == "smart_lock" and lock["lock_state"] == "unknown" and lock["online"] is False
    assert lock["battery_level"] is None and lock["location"] is None and lock["bridge_id"] is None
    assert lock["created_at"].endswith("Z") and uuid.UUID(lock["lock_id"]).version == 4
    assert lock["warnings"] == []

    fetched = owner.get(f"{base_url}/locks/{lock['lock_id']}").json()
    assert set(fetched) == LOCK_FIELDS  # the credential is never shown again
    assert fetched["timezone"] == "Europe/Berlin" and fetched["address"] == "1 Main St"

    digest = hashlib.sha256(lock["device_credential"].encode()).hexdigest()
    assert psql(database_url, "SELECT count(*) FROM locks WHERE device_credential_hash = decode('%s', 'hex')" % digest) == "1"
    # The offline key is sealed: 12-byte nonce + 32-byte key + 16-byte tag.
    assert psql(database_url, "SELECT length(offline_key_sealed) FROM locks WHERE lock_id = '%s'" % lock["lock_id"]) == "60"
    events = psql(database_url, "SELECT event_type FROM events WHERE device_id = '%s'" % lock["lock_id"])
    assert events == "device.added"


def test_pairing_a_model_without_offline_codes(base_url, owner):
    lock = pair(base_url, owner, model="lc-100")
    assert lock["can_program_offline_access_codes"] is False and lock["max_access_codes"] == 50


@pytest.mark.parametrize("fields, code", [
    ({"name": ""}, "INVALID_NAME"),
    ({"name": "x" * 201}, "INVALID_NAME"),
    ({"name": "   "}, "INVALID_NAME"),
    ({"timezone": "Mars/Olympus_Mons"}, "INVALID_TIMEZONE"),
    ({"model": "no-such-model"}, "UNKNOWN_MODEL"),
    ({"address": "a" * 501}, "INVALID_ADDRESS"),
])
def test_pairing_refuses_bad_input_with_a_specific_code(base_url, owner, fields, code):
    body = {"name": "Front door", "timezone": "Europe/Berlin", **fields}
    response = owner.post(f"{base_url}/locks", json=body)
    assert response.status_code == 400
    assert response.json()["error_code"] == code
    assert owner.get(f"{base_url}/locks").json()["locks"] == []


def test_malformed_bodies_are_4xx_and_change_nothing(base_url, owner):
    assert owner.post(f"{base_url}/locks", data="{not json", headers={"Content-Type": "application/json"}).status_code == 400
    assert owner.post(f"{base_url}/locks", json={"name": "no timezone"}).status_code == 400
    assert owner.post(f"{base_url}/locks", json={"name": 5, "timezone": "UTC"}).status_code == 400
    assert owner.post(f"{base_url}/locks", data="name=x", headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 415
    assert owner.get(f"{base_url}/locks").json()["locks"] == []


def test_patch_renames_moves_and_clears(base_url, owner):
    lock = pair(base_url, owner, address="1 Main St")
    url = f"{base_url}/locks/{lock['lock_id']}"
    updated = owner.patch(url, json={"name": "Back door", "timezone": "America/New_York"}).json()
    assert updated["name"] == "Back door" and updated["timezone"] == "America/New_York"
    assert updated["address"] == "1 Main St"
    assert owner.patch(url, json={"address": ""}).json()["address"] is None
    refused = owner.patch(url, json={"timezone": "Nowhere"})
    assert refused.status_code == 400 and refused.json()["error_code"] == "INVALID_TIMEZONE"
    assert owner.get(url).json()["timezone"] == "America/New_York"
    # Read-only fields are not settable.
    owner.patch(url, json={"lock_id": str(uuid.uuid4()), "online": True, "name": "Side door"})
    after = owner.get(url).json()
    assert after["lock_id"] == lock["lock_id"] and after["online"] is False and after["name"] == "Side door"


def test_unpair_hides_the_lock_but_keeps_its_history(base_url, owner, database_url):
    lock = pair(base_url, owner)
    url = f"{base_url}/locks/{lock['lock_id']}"
    assert owner.delete(url).json() == {"ok": True, "lock_id": lock["lock_id"]}
    assert owner.get(url).status_code == 404
    assert owner.delete(url).status_code == 404
    assert all(l["lock_id"] != lock["lock_id"] for l in owner.get(f"{base_url}/locks").json()["locks"])
    events = psql(database_url, "SELECT string_agg(event_type, ',' ORDER BY occurred_at) FROM events WHERE device_id = '%s'"
                  % lock["lock_id"])
    assert events == "device.added,device.removed"


def test_another_owners_lock_answers_exactly_like_a_missing_one(base_url, owner, lockcloud_bin, database_url):
    lock = pair(base_url, owner)
    email, password = create_owner(lockcloud_bin, database_url)
    stranger = requests.Session()
    stranger.headers["Authorization"] = "Bearer " + tokens_for(base_url, email=email, password=password)["access_token"]
    for lock_id in (lock["lock_id"], str(uuid.uuid4())):
        url = f"{base_url}/locks/{lock_id}"
        answers = [stranger.get(url), stranger.patch(url, json={"name": "mine now"}), stranger.delete(url)]
        assert [(a.status_code, a.json()) for a in answers] == [(404, {"error_code": "NOT_FOUND", "message": "No lock with this id."})] * 3
    assert stranger.get(f"{base_url}/locks").json() == {"locks": [], "next_page_cursor": None}
    assert owner.get(f"{base_url}/locks/{lock['lock_id']}").json()["name"] == "Front door"


def test_invalid_lock_ids_are_404(base_url, owner):
    for bad in ("nope", "123", "00000000-0000-0000-0000-00000000000g"):
        assert owner.get(f"{base_url}/locks/{bad}").status_code == 404


def test_pagination_is_stable_and_complete(base_url, owner):
    paired = [pair(base_url, owner, name=f"Door {i}")["lock_id"] for i in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"page_cursor": cursor} if cursor else {})}
        page = owner.get(f"{base_url}/locks", params=params).json()
        seen += [lock["lock_id"] for lock in page["locks"]]
        pages += 1
        cursor = page["next_page_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == paired
    assert [l["lock_id"] for l in owner.get(f"{base_url}/locks").json()["locks"]] == paired


@pytest.mark.parametrize("params, code", [
    ({"limit": 0}, "INVALID_LIMIT"), ({"limit": 1001}, "INVALID_LIMIT"), ({"page_cursor": "garbage"}, "INVALID_PAGE_CURSOR")])
def test_bad_paging_parameters_are_400(base_url, owner, params, code):
    response = owner.get(f"{base_url}/locks", params=params)
    assert response.status_code == 400 and response.json()["error_code"] == code


def test_non_numeric_limit_is_400(base_url, owner):
    assert owner.get(f"{base_url}/locks", params={"limit": "many"}).status_code == 400


def test_locks_need_the_right_scope(base_url):
    read_only = tokens_for(base_url, scope="locks.read")["access_token"]
    response = requests.post(f"{base_url}/locks", json={"name": "x", "timezone": "UTC"},
                             headers={"Authorization": f"Bearer {read_only}"})
    assert response.status_code == 403 and response.json()["error_code"] == "INSUFFICIENT_SCOPE"
    assert requests.get(f"{base_url}/locks").status_code == 401


def test_reading_one_lock_checks_the_token_in_the_same_statement(base_url, owner):
    """GET /locks/{id} authenticates inside its own query: it must refuse exactly as the
    middleware does for every other operation."""
    lock = pair(base_url, owner)
    headers = dict(owner.headers)
    assert requests.get(f"{base_url}/locks/{lock['lock_id']}", headers=headers).json()["lock_id"] == lock["lock_id"]
    for lock_id in (lock["lock_id"], "not-a-uuid"):
        bad = requests.get(f"{base_url}/locks/{lock_id}", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401 and bad.json()["error_code"] == "INVALID_TOKEN"
        assert bad.headers["WWW-Authenticate"] == 'Bearer realm="LockCloud", error="invalid_token"'
    assert requests.get(f"{base_url}/locks/not-a-uuid", headers=headers).status_code == 404
    assert requests.get(f"{base_url}/locks/{uuid.uuid4()}", headers=headers).json()["error_code"] == "NOT_FOUND"
    write_only = tokens_for(base_url, scope="locks.write")["access_token"]
    refused = requests.get(f"{base_url}/locks/{lock['lock_id']}", headers={"Authorization": f"Bearer {write_only}"})
    assert refused.status_code == 403 and refused.json()["error_code"] == "INSUFFICIENT_SCOPE"
    assert 'error="insufficient_scope", scope="locks.read"' in refused.headers["WWW-Authenticate"]
    missing = requests.get(f"{base_url}/locks/{lock['lock_id']}")
    assert missing.status_code == 401 and missing.json()["error_code"] == "INVALID_TOKEN"
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="LockCloud", error="invalid_token"'


def test_reading_one_lock_answers_what_the_list_answers(base_url, owner):
    """GET /locks/{id} writes its JSON by hand (the hottest read); every field, null and
    timestamp must equal what the generated list operation says of the same lock."""
    lock = pair(base_url, owner, name='Quote " slash / tab \t Zürich 🚪', address="Main St 1")
    one = requests.get(f"{base_url}/locks/{lock['lock_id']}", headers=dict(owner.headers))
    assert one.status_code == 200 and one.headers["Content-Type"].startswith("application/json")
    listed = [item for item in owner.get(f"{base_url}/locks", params={"limit": 1000}).json()["locks"]
              if item["lock_id"] == lock["lock_id"]]
    assert listed == [one.json()]
    assert one.json()["address"] == "Main St 1" and one.json()["battery_level"] is None
    wrong_method = requests.put(f"{base_url}/locks/{lock['lock_id']}", headers=dict(owner.headers))
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]
