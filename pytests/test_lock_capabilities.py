"""The capabilities Seam reads instead of our docs: on every lock (list and read) and from
GET /lock_models. The offline time frame options are checked against the registry itself:
a code at each advertised minimum and maximum duration is issued, one just outside is
refused, and the per-period limit is exactly the advertised one."""
import datetime
import re
import uuid

import pytest
import requests

from conftest import psql
from oauth_helpers import tokens_for
from test_lock_actions import paired_lock
from test_offline_codes import hour_start, iso, offline

CAPABILITY_FIELDS = ["can_remotely_lock", "can_remotely_unlock", "can_program_online_access_codes",
                     "can_program_offline_access_codes", "supported_code_lengths", "max_active_codes_supported",
                     "offline_pin_length", "offline_time_frame_options"]


def iso_hours(duration):
    """Hours in an ISO 8601 duration of the forms this API writes (PTnH, PnD)."""
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(\d+)H)?", duration)
    assert match and duration not in ("P", "PT"), duration
    return int(match.group(1) or 0) * 24 + int(match.group(2) or 0)


@pytest.fixture(scope="module")
def alice(base_url):
    return {"Authorization": "Bearer " + tokens_for(base_url)["access_token"]}


def models_by_id(base_url, headers):
    response = requests.get(f"{base_url}/lock_models", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_page_cursor"] is None
    return {model["model_id"]: model for model in body["lock_models"]}


def test_every_lock_carries_its_models_capabilities(base_url, lockcloud_bin, database_url):
    api, paired, _ = paired_lock(base_url, lockcloud_bin, database_url, "Default model")
    online_only = requests.post(f"{base_url}/locks", json={"name": "Lever", "timezone": "UTC", "model": "lc-100"},
                                headers=api)
    assert online_only.status_code == 201, online_only.text
    models = models_by_id(base_url, api)
    locks = requests.get(f"{base_url}/locks", headers=api).json()["locks"]
    assert sorted(lock["model"] for lock in locks) == ["lc-100", "lc-200"]
    for lock in locks:
        single = requests.get(f"{base_url}/locks/{lock['lock_id']}", headers=api).json()
        created = paired if lock["model"] == "lc-200" else online_only.json()
        for field in CAPABILITY_FIELDS:
            assert lock[field] == single[field] == created[field] == models[lock["model"]][field], field


def test_the_default_model_advertises_the_contracts_numbers(base_url, alice):
    model = models_by_id(base_url, alice)["lc-200"]
    assert model["name"] and model["is_default"] is True
    assert model["can_remotely_lock"] is True and model["can_remotely_unlock"] is True
    assert model["can_program_online_access_codes"] is True and model["can_program_offline_access_codes"] is True
    assert model["supported_code_lengths"] == [4, 5, 6, 7, 8]
    assert model["max_active_codes_supported"] == 199 and model["offline_pin_length"] == 11
    options = {option["offline_access_code_type"]: option for option in model["offline_time_frame_options"]}
    assert list(options) == ["hourly_bound", "daily_bound", "one_time_use", "permanent", "erase"]
    assert options["hourly_bound"] == {
        "offline_access_code_type": "hourly_bound", "display_name": "Hourly-bound", "min_duration": "PT1H",
        "max_duration": "PT672H", "duration_step": "PT1H", "max_codes_per_period": 3, "period": "hour",
        "is_one_time_use": False}
    assert (options["daily_bound"]["min_duration"], options["daily_bound"]["max_duration"]) == ("P29D", "P367D")
    assert options["daily_bound"]["duration_step"] == "P1D" and options["daily_bound"]["period"] == "day"
    assert options["one_time_use"]["max_codes_per_period"] == 5 and options["one_time_use"]["is_one_time_use"] is True
    assert options["one_time_use"]["min_duration"] == options["one_time_use"]["max_duration"] == "PT24H"
    assert options["permanent"]["min_duration"] is None and options["permanent"]["max_duration"] is None
    assert options["erase"]["max_codes_per_period"] == 1


def test_a_model_without_offline_codes_advertises_none(base_url, alice):
    model = models_by_id(base_url, alice)["lc-100"]
    assert model["can_program_offline_access_codes"] is False
    assert model["offline_pin_length"] is None and model["offline_time_frame_options"] == []
    assert model["max_active_codes_supported"] == 50


def test_lock_models_needs_a_token(base_url):
    response = requests.get(f"{base_url}/lock_models")
    assert response.status_code == 401 and "WWW-Authenticate" in response.headers
    bad = requests.get(f"{base_url}/lock_models", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_lock_models_pages(base_url, alice):
    first = requests.get(f"{base_url}/lock_models?limit=1", headers=alice).json()
    assert len(first["lock_models"]) == 1 and first["next_page_cursor"]
    second = requests.get(f"{base_url}/lock_models?limit=1&page_cursor={first['next_page_cursor']}", headers=alice).json()
    assert second["lock_models"][0]["model_id"] > first["lock_models"][0]["model_id"]
    for bad in ["limit=0", "limit=1001", "page_cursor=garbage!"]:
        assert requests.get(f"{base_url}/lock_models?{bad}", headers=alice).status_code == 400, bad


@pytest.mark.parametrize("kind", ["hourly_bound", "daily_bound", "one_time_use"])
def test_advertised_durations_are_exactly_what_the_registry_accepts(base_url, lockcloud_bin, database_url, kind):
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, f"Bounds {kind}")
    option = next(o for o in lock["offline_time_frame_options"] if o["offline_access_code_type"] == kind)
    low, high = iso_hours(option["min_duration"]), iso_hours(option["max_duration"])
    step = iso_hours(option["duration_step"]) if option["duration_step"] else 1
    for day, hours, accepted in [(1, low, True), (2, high, True), (3, low - step, False), (4, high + step, False)]:
        if hours <= 0:
            continue  # nothing shorter than nothing to try
        start = hour_start(24 * day + 2)
        response = offline(base_url, api, lock["lock_id"], offline_access_code_type=kind, starts_at=iso(start),
                           ends_at=iso(start + datetime.timedelta(hours=hours)), max_time_rounding="1h")
        if accepted:
            assert response.status_code == 201, (hours, response.text)
            assert response.json()["offline_access_code_type"] == kind
        else:
            assert response.status_code == 400, (hours, response.text)
            assert response.json()["error_code"] in ("INVALID_OFFLINE_DURATION", "INVALID_OFFLINE_SCHEDULE"), response.text


@pytest.mark.parametrize("kind", ["hourly_bound", "one_time_use"])
def test_the_advertised_per_period_limit_is_the_registrys(base_url, lockcloud_bin, database_url, kind):
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, f"Slots {kind}")
    option = next(o for o in lock["offline_time_frame_options"] if o["offline_access_code_type"] == kind)
    start = hour_start(3)
    duration = datetime.timedelta(hours=iso_hours(option["min_duration"]))
    statuses = [offline(base_url, api, lock["lock_id"], offline_access_code_type=kind, starts_at=iso(start),
                        ends_at=iso(start + duration)).status_code
                for _ in range(option["max_codes_per_period"] + 1)]
    assert statuses == [201] * option["max_codes_per_period"] + [409]


def test_a_model_without_remote_unlock_says_so_and_refuses_it(base_url, lockcloud_bin, database_url):
    model_id = "test-keypad-" + uuid.uuid4().hex[:8]
    psql(database_url, f"""INSERT INTO lock_models (model_id, name, code_length_min, code_length_max, max_access_codes,
        supports_online_codes, supports_offline_codes, offline_pin_length, supports_remote_lock, supports_remote_unlock)
        VALUES ('{model_id}', 'Keypad only', 6, 6, 20, true, false, NULL, true, false)""")
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, "Keypad only")
    lock = requests.post(f"{base_url}/locks", json={"name": "Keypad", "timezone": "UTC", "model": model_id},
                         headers=api).json()
    assert lock["can_remotely_lock"] is True and lock["can_remotely_unlock"] is False
    assert lock["supported_code_lengths"] == [6] and lock["max_active_codes_supported"] == 20
    refused = requests.post(f"{base_url}/locks/{lock['lock_id']}/actions", json={"action": "unlock"}, headers=api)
    assert refused.status_code == 400 and refused.json()["error_code"] == "UNSUPPORTED_ACTION", refused.text
    legacy = requests.post(f"{base_url}/locks/{lock['lock_id']}/unlock", headers=api)
    assert legacy.status_code == 400 and legacy.json()["error_id"] == "UNSUPPORTED_ACTION", legacy.text
    assert psql(database_url, f"SELECT count(*) FROM lock_actions WHERE lock_id = '{lock['lock_id']}'") == "0"
