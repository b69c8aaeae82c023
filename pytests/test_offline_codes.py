"""The offline PIN registry over HTTP: type inference, rounding, every rule and error code of
the contract's table, the per-period slots, the 199-code limit shared with online codes, and
slot limits under parallel creates on two server instances."""
import concurrent.futures
import datetime
import itertools
import re
import uuid

import pytest
import requests

from conftest import psql
from oauth_helpers import create_owner, tokens_for
from test_lock_actions import paired_lock

UTC = datetime.timezone.utc


def hour_start(hours_from_now=0):
    """The start of the UTC hour `hours_from_now` hours from now."""
    now = datetime.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now + datetime.timedelta(hours=hours_from_now)


def iso(moment):
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def offline(base_url, api, lock_id, **fields):
    return requests.post(f"{base_url}/locks/{lock_id}/access_codes",
                         json={"is_offline_access_code": True, **fields}, headers=api)


def codes_of(base_url, api, lock_id):
    return requests.get(f"{base_url}/locks/{lock_id}/access_codes?limit=1000", headers=api).json()["access_codes"]


def warning_codes(code):
    return [w["warning_code"] for w in code["warnings"]]


@pytest.fixture
def lock(base_url, lockcloud_bin, database_url):
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, "Offline door")
    return api, lock["lock_id"]


def test_an_hourly_code_is_issued_with_rounded_times_and_a_nine_digit_pin(base_url, lock):
    api, lock_id = lock
    start = hour_start(2) + datetime.timedelta(minutes=17)
    response = offline(base_url, api, lock_id, name="Guest", starts_at=iso(start),
                       ends_at=iso(start + datetime.timedelta(hours=5, minutes=2)))
    assert response.status_code == 201, response.text
    code = response.json()
    assert code["status"] == "pending" and code["is_offline_access_code"] is True
    assert code["offline_access_code_type"] == "hourly_bound" and code["is_one_time_use"] is False
    assert code["type"] == "time_bound" and code["name"] == "Guest"
    assert re.fullmatch(r"[0-9]{11}", code["code"])  # lc-200: 11 digits (migration 0013)
    # Start rounded down to its hour, end up to the next whole hour.
    assert code["starts_at"] == iso(hour_start(2)) and code["ends_at"] == iso(hour_start(8))
    assert warning_codes(code) == ["OFFLINE_TIMES_ROUNDED"]
    stored = requests.get(f"{base_url}/access_codes/{code['access_code_id']}", headers=api).json()
    assert stored["status"] == "scheduled" and stored["code"] == code["code"]


def test_a_code_in_the_current_hour_is_active_and_exact_times_carry_no_rounding_warning(base_url, lock):
    api, lock_id = lock
    code = offline(base_url, api, lock_id, starts_at=iso(hour_start()), ends_at=iso(hour_start(3))).json()
    assert code["warnings"] == []
    assert requests.get(f"{base_url}/access_codes/{code['access_code_id']}", headers=api).json()["status"] == "active"


@pytest.mark.parametrize("fields, kind, hours, warnings", [
    ({"ends_in_hours": 1}, "hourly_bound", 1, []),
    ({"ends_in_hours": 24}, "hourly_bound", 24, []),
    ({"ends_in_hours": 25}, "hourly_bound", 25, ["OFFLINE_ACTIVATION_WINDOW"]),
    ({"ends_in_hours": 672}, "hourly_bound", 672, ["OFFLINE_ACTIVATION_WINDOW"]),
    ({"ends_in_hours": 673, "max_time_rounding": "1d"}, "daily_bound", 696, ["OFFLINE_TIMES_ROUNDED", "OFFLINE_ACTIVATION_WINDOW", "OFFLINE_UTC_DAYS"]),
    ({"ends_in_hours": 29 * 24}, "daily_bound", 29 * 24, ["OFFLINE_ACTIVATION_WINDOW", "OFFLINE_UTC_DAYS"]),
    ({"ends_in_hours": 367 * 24}, "daily_bound", 367 * 24, ["OFFLINE_ACTIVATION_WINDOW", "OFFLINE_UTC_DAYS"]),
    ({"ends_in_hours": 40 * 24 + 1}, "daily_bound", 40 * 24, ["OFFLINE_TIMES_ROUNDED", "OFFLINE_ACTIVATION_WINDOW", "OFFLINE_UTC_DAYS"]),
    ({"ends_in_hours": 40 * 24 + 13, "max_time_rounding": "1day"}, "daily_bound", 41 * 24, ["OFFLINE_TIMES_ROUNDED", "OFFLINE_ACTIVATION_WINDOW", "OFFLINE_UTC_DAYS"]),
    ({"is_one_time_use": True}, "one_time_use", 24, []),
    ({"is_one_time_use": True, "ends_in_hours": 24}, "one_time_use", 24, []),
    ({"offline_access_code_type": "one_time_use"}, "one_time_use", 24, []),
    ({"offline_access_code_type": "permanent"}, "permanent", None, ["OFFLINE_ACTIVATION_WINDOW"]),
    ({"offline_access_code_type": "erase"}, "erase", 24, []),
    ({"offline_access_code_type": "hourly_bound", "ends_in_hours": 10}, "hourly_bound", 10, []),
    ({"offline_access_code_type": "daily_bound", "ends_in_hours": 30 * 24}, "daily_bound", 30 * 24, ["OFFLINE_ACTIVATION_WINDOW", "OFFLINE_UTC_DAYS"]),
])
def test_the_type_is_inferred_as_the_contract_says(base_url, lock, fields, kind, hours, warnings):
    api, lock_id = lock
    fields = dict(fields)
    start = hour_start(1)
    if "ends_in_hours" in fields:
        fields["ends_at"] = iso(start + datetime.timedelta(hours=fields.pop("ends_in_hours")))
    response = offline(base_url, api, lock_id, starts_at=iso(start), **fields)
    assert response.status_code == 201, response.text
    code = response.json()
    assert code["offline_access_code_type"] == kind
    assert code["is_one_time_use"] == (kind == "one_time_use")
    assert code["starts_at"] == iso(start)
    if hours is None:
        assert code["ends_at"] is None and code["type"] == "ongoing"
    else:
        assert code["ends_at"] == iso(start + datetime.timedelta(hours=hours)) and code["type"] == "time_bound"
    assert warning_codes(code) == warnings


@pytest.mark.parametrize("fields, status, error_code", [
    ({"code": "123456789", "starts_at": 0, "ends_at": 3}, 400, "OFFLINE_CODE_CUSTOM_PIN_NOT_ALLOWED"),
    ({"ends_at": 3}, 400, "INVALID_OFFLINE_SCHEDULE"),
    ({"starts_at": 0}, 400, "INVALID_OFFLINE_SCHEDULE"),
    ({"starts_at": 0, "ends_at": 368 * 24}, 400, "INVALID_OFFLINE_DURATION"),
    ({"starts_at": 0, "ends_at": 700, "offline_access_code_type": "hourly_bound"}, 400, "INVALID_OFFLINE_DURATION"),
    ({"starts_at": 0, "ends_at": 100, "offline_access_code_type": "daily_bound"}, 400, "INVALID_OFFLINE_DURATION"),
    ({"starts_at": 0, "ends_at": 2, "is_one_time_use": True}, 400, "INVALID_OFFLINE_SCHEDULE"),
    ({"starts_at": 0, "ends_at": 48, "offline_access_code_type": "erase"}, 400, "INVALID_OFFLINE_SCHEDULE"),
    ({"starts_at": 0, "ends_at": 48, "offline_access_code_type": "permanent"}, 400, "INVALID_OFFLINE_SCHEDULE"),
    ({"starts_at": 0, "ends_at": 5, "is_one_time_use": True, "offline_access_code_type": "hourly_bound"}, 400, "INVALID_OFFLINE_SCHEDULE"),
    # Started 30 hours ago: too late to be entered for the first time.
    ({"starts_at": -30, "ends_at": 240}, 400, "INVALID_OFFLINE_SCHEDULE"),
    ({"starts_at": -30, "offline_access_code_type": "permanent"}, 400, "INVALID_OFFLINE_SCHEDULE"),
    ({"starts_at": 0, "ends_at": 40 * 24 + 5}, 400, "MAX_TIME_ROUNDING_EXCEEDED"),
    ({"starts_at": 0, "ends_at": 40 * 24 + 5, "max_time_rounding": "1h"}, 400, "MAX_TIME_ROUNDING_EXCEEDED"),
    ({"starts_at": 0, "ends_at": 40 * 24 + 5, "max_time_rounding": "2h"}, 400, None),
    ({"starts_at": 5, "ends_at": 2}, 400, "INVALID_TIME_RANGE"),
    ({"starts_at": -10, "ends_at": -5}, 400, "INVALID_TIME_RANGE"),
    ({"starts_at": 0, "ends_at": 3, "offline_access_code_type": "forever"}, 400, None),
    ({"starts_at": 0, "ends_at": 3, "name": "n" * 201}, 400, "INVALID_NAME"),
    ({"starts_at": "soon", "ends_at": 3}, 400, "INVALID_TIMESTAMP"),
])
def test_rules_refuse_bad_offline_codes_and_change_nothing(base_url, lock, database_url, fields, status, error_code):
    api, lock_id = lock
    base = hour_start(1)
    body = {key: iso(base + datetime.timedelta(hours=value)) if key in ("starts_at", "ends_at") and isinstance(value, int)
            else value for key, value in fields.items()}
    response = offline(base_url, api, lock_id, **body)
    assert response.status_code == status, response.text
    if error_code:
        assert response.json()["error_code"] == error_code
    assert response.json()["message"]
    assert codes_of(base_url, api, lock_id) == []
    assert psql(database_url, f"SELECT offline_key_version FROM locks WHERE lock_id = '{lock_id}'") == "1"


def test_online_only_fields_are_refused_on_online_codes(base_url, lock):
    api, lock_id = lock
    response = requests.post(f"{base_url}/locks/{lock_id}/access_codes",
                             json={"code": "4321", "max_time_rounding": "1d"}, headers=api)
    assert response.status_code == 400 and response.json()["error_code"] == "INVALID_REQUEST"


def test_a_model_without_offline_pins_refuses_them(base_url, lockcloud_bin, database_url):
    email, password = create_owner(lockcloud_bin, database_url)
    api = {"Authorization": "Bearer " + tokens_for(base_url, email=email, password=password)["access_token"]}
    lock = requests.post(f"{base_url}/locks", json={"name": "Lever", "timezone": "UTC", "model": "lc-100"},
                         headers=api).json()
    response = offline(base_url, api, lock["lock_id"], starts_at=iso(hour_start()), ends_at=iso(hour_start(2)))
    assert response.status_code == 400 and response.json()["error_code"] == "OFFLINE_CODES_NOT_SUPPORTED"


@pytest.mark.parametrize("kind, limit, period_hours", [
    ("hourly_bound", 3, 1),
    ("daily_bound", 3, 24),
    ("one_time_use", 5, 24),
    ("permanent", 3, 24),
])
def test_per_period_slots_are_exact(base_url, lock, kind, limit, period_hours):
    api, lock_id = lock
    # All starts inside one period: the same hour for hourly codes, the same UTC day otherwise.
    day = hour_start(48).replace(hour=0)
    starts = [day + datetime.timedelta(hours=(i % period_hours)) for i in range(limit + 1)]

    def fields(start):
        if kind == "hourly_bound":
            return {"ends_at": iso(start + datetime.timedelta(hours=4))}
        if kind == "daily_bound":
            return {"ends_at": iso(start + datetime.timedelta(days=30))}
        return {"offline_access_code_type": kind}

    answers = [offline(base_url, api, lock_id, starts_at=iso(start), **fields(start)) for start in starts]
    assert [a.status_code for a in answers] == [201] * limit + [409]
    assert answers[-1].json()["error_code"] == "OFFLINE_SLOT_UNAVAILABLE"
    assert len({a.json()["code"] for a in answers[:limit]}) == limit
    # The next period has its own slots.
    later = day + datetime.timedelta(hours=period_hours)
    assert offline(base_url, api, lock_id, starts_at=iso(later), **fields(later)).status_code == 201


def test_a_pin_equal_to_a_live_codes_takes_the_next_slot(base_url, lock, database_url):
    """Two live codes with one PIN could not be told apart at the keypad, so the registry skips
    a slot whose PIN a live code already has (scheme section 6)."""
    api, lock_id = lock
    start = hour_start(30)
    window = {"starts_at": iso(start), "ends_at": iso(start + datetime.timedelta(hours=3))}
    first = offline(base_url, api, lock_id, **window).json()
    # Move the first code's grant to another period: its PIN stays live on this lock and its
    # slot is free again, so the same window's slot 0 now yields a PIN a live code holds.
    psql(database_url, "UPDATE access_codes SET slot_period = slot_period + 1000000 "
                       f"WHERE access_code_id = '{first['access_code_id']}'")
    second = offline(base_url, api, lock_id, **window)
    assert second.status_code == 201, second.text
    assert second.json()["code"] != first["code"]
    slots = psql(database_url, "SELECT string_agg(slot::text, ',' ORDER BY created_at) FROM access_codes "
                               f"WHERE access_code_id IN ('{first['access_code_id']}', '{second.json()['access_code_id']}')")
    assert slots == "0,1"


def test_offline_codes_cannot_be_changed_or_deleted_through_the_api(base_url, lock):
    api, lock_id = lock
    code = offline(base_url, api, lock_id, starts_at=iso(hour_start()), ends_at=iso(hour_start(4))).json()
    url = f"{base_url}/access_codes/{code['access_code_id']}"
    patched = requests.patch(url, json={"name": "Renamed"}, headers=api)
    assert patched.status_code == 409 and patched.json()["error_code"] == "OFFLINE_CODE_IMMUTABLE"
    deleted = requests.delete(url, headers=api)
    assert deleted.status_code == 409
    assert deleted.json()["error_code"] == deleted.json()["error_id"] == "OFFLINE_CODE_NOT_REMOVABLE"
    assert deleted.json()["error_message"] == deleted.json()["message"]
    after = requests.get(url, headers=api).json()
    assert after["name"] is None and after["status"] == "active" and after["code"] == code["code"]


def test_another_owner_sees_nothing(base_url, lockcloud_bin, database_url, lock):
    api, lock_id = lock
    code = offline(base_url, api, lock_id, starts_at=iso(hour_start()), ends_at=iso(hour_start(4))).json()
    other, _, _ = paired_lock(base_url, lockcloud_bin, database_url, "Neighbour")
    assert offline(base_url, other, lock_id, starts_at=iso(hour_start()), ends_at=iso(hour_start(4))).status_code == 404
    assert requests.get(f"{base_url}/access_codes/{code['access_code_id']}", headers=other).status_code == 404
    assert requests.delete(f"{base_url}/access_codes/{code['access_code_id']}", headers=other).status_code == 404
    assert requests.patch(f"{base_url}/access_codes/{code['access_code_id']}", json={"name": "x"},
                          headers=other).status_code == 404


def test_offline_and_online_codes_share_the_lock_limit_of_199(base_url, lock):
    api, lock_id = lock
    session = requests.Session()
    session.headers.update(api)
    # 198 offline codes: 3 hourly-bound codes in each of 66 start hours.
    for hour in range(66):
        start = hour_start(2 + hour)
        for _ in range(3):
            response = session.post(f"{base_url}/locks/{lock_id}/access_codes",
                                    json={"is_offline_access_code": True, "starts_at": iso(start),
                                          "ends_at": iso(start + datetime.timedelta(hours=2))})
            assert response.status_code == 201, response.text
    online = session.post(f"{base_url}/locks/{lock_id}/access_codes", json={"code": "2468"})
    assert online.status_code == 201
    full_online = session.post(f"{base_url}/locks/{lock_id}/access_codes", json={"code": "1357"})
    full_offline = offline(base_url, api, lock_id, starts_at=iso(hour_start(100)), ends_at=iso(hour_start(102)))
    assert full_online.status_code == full_offline.status_code == 409
    assert full_online.json()["error_code"] == full_offline.json()["error_code"] == "ACCESS_CODE_LIMIT_REACHED"
    codes = codes_of(base_url, api, lock_id)
    assert len(codes) == 199 and len({c["code"] for c in codes}) == 199


def test_100_parallel_creates_for_one_start_hour_on_two_instances_yield_exactly_3(
        base_url, lockcloud_bin, database_url, start_server, lock):
    api, lock_id = lock
    second = start_server(database_url)
    urls = itertools.cycle([base_url, second.url])
    start = hour_start(5)
    body = {"is_offline_access_code": True, "starts_at": iso(start), "ends_at": iso(start + datetime.timedelta(hours=3))}

    def attempt(_):
        return requests.post(f"{next(urls)}/locks/{lock_id}/access_codes", json=body, headers=api)

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(attempt, range(100)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 3 and statuses.count(409) == 97, statuses
    assert {r.json()["error_code"] for r in responses if r.status_code == 409} == {"OFFLINE_SLOT_UNAVAILABLE"}
    stored = psql(database_url, "SELECT count(*), count(DISTINCT slot), count(DISTINCT code) FROM access_codes "
                                f"WHERE lock_id = '{lock_id}'")
    assert stored == "3|3|3"


def test_pins_are_stored_with_their_grant_and_the_key_only_sealed(base_url, lock, database_url):
    api, lock_id = lock
    code = offline(base_url, api, lock_id, starts_at=iso(hour_start(3)), ends_at=iso(hour_start(6))).json()
    row = psql(database_url, "SELECT offline_type, key_version, slot_period, slot FROM access_codes "
                             f"WHERE access_code_id = '{code['access_code_id']}'")
    epoch = datetime.datetime(2024, 1, 1, tzinfo=UTC)
    expected_hour = int((hour_start(3) - epoch).total_seconds() // 3600)
    assert row == f"hourly_bound|1|{expected_hour}|0"
    sealed_length = psql(database_url, f"SELECT length(offline_key_sealed) FROM locks WHERE lock_id = '{lock_id}'")
    assert sealed_length == str(12 + 32 + 16)  # AES-GCM: nonce, 32-byte key, tag; never the bare key
