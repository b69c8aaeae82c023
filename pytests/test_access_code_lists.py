"""Code lists Seam can trust for its duplicate checks (issue 15, item 5): every live code of a lock
in one default page, ended ones only when asked, in a stable order, and ended, failed and
removed codes still readable by id."""
import concurrent.futures
import datetime

import pytest
import requests

from conftest import psql
from test_lock_actions import paired_lock

LIVE = {"pending", "scheduled", "active", "removing"}


def insert_ended(database_url, lock_id, owner_id, count, offset):
    """`count` ended codes straight into the table (quick, and the API has no way to make a code
    end faster than its lock or clock): a third removed, a third refused, a third expired."""
    psql(database_url, f"""
        INSERT INTO access_codes (lock_id, owner_id, name, code, starts_at, ends_at, state, expiry_removed, errors,
                                  created_at)
        SELECT '{lock_id}', '{owner_id}', 'ended ' || n, lpad(n::text, 6, '0'),
               CASE n % 3 WHEN 2 THEN now() - interval '2 days' END,
               CASE n % 3 WHEN 2 THEN now() - interval '1 day' END,
               CASE n % 3 WHEN 0 THEN 'deleted' WHEN 1 THEN 'failed' ELSE 'active' END,
               n % 3 = 2,
               CASE n % 3 WHEN 1 THEN '[{{"code": "KEYPAD_FULL", "message": "The lock refused the code."}}]'::jsonb
                          ELSE '[]'::jsonb END,
               now() + make_interval(secs => {offset} + n / 1000.0)
        FROM generate_series(1, {count}) n""")


def test_199_live_codes_come_in_one_default_page_without_the_300_ended(base_url, lockcloud_bin, database_url):
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, "Busy")
    lock_id = lock["lock_id"]
    owner_id = requests.get(f"{base_url}/me", headers=api).json()["user_id"]
    insert_ended(database_url, lock_id, owner_id, 150, offset=-3600)  # older than every live code
    create = lambda n: requests.post(f"{base_url}/locks/{lock_id}/access_codes", json={"code": f"{7000 + n}"}, headers=api)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert {r.status_code for r in pool.map(create, range(199))} == {201}
    insert_ended(database_url, lock_id, owner_id, 150, offset=3600)  # newer than every live code
    assert create(500).json()["error_code"] == "ACCESS_CODE_LIMIT_REACHED"

    for url in (f"{base_url}/locks/{lock_id}/access_codes", f"{base_url}/access_codes?lock_id={lock_id}"):
        page = requests.get(url, headers=api).json()
        assert len(page["access_codes"]) == 199 and page["next_page_cursor"] is None, url
        assert {c["status"] for c in page["access_codes"]} <= LIVE
        # Creation order (created_at to the microsecond, then id); the answer shows whole seconds.
        times = [datetime.datetime.fromisoformat(c["created_at"].replace("Z", "+00:00")) for c in page["access_codes"]]
        assert times == sorted(times)
        live_ids = [c["access_code_id"] for c in page["access_codes"]]

    everything = []
    cursor = None
    while True:
        params = {"include_ended": "true", "limit": 100, **({"page_cursor": cursor} if cursor else {})}
        page = requests.get(f"{base_url}/locks/{lock_id}/access_codes", params=params, headers=api).json()
        everything += page["access_codes"]
        cursor = page["next_page_cursor"]
        if cursor is None:
            break
    assert len(everything) == 499 and len({c["access_code_id"] for c in everything}) == 499
    # The same stable order with or without the ended codes, across pages.
    assert [c["access_code_id"] for c in everything if c["status"] in LIVE] == live_ids
    statuses = [c["status"] for c in everything]
    assert statuses.count("removed") == statuses.count("failed") == statuses.count("expired") == 100

    for status in ("removed", "failed", "expired"):
        page = requests.get(f"{base_url}/locks/{lock_id}/access_codes", params={"status": status}, headers=api).json()
        assert len(page["access_codes"]) == 100 and {c["status"] for c in page["access_codes"]} == {status}
        one = page["access_codes"][0]
        assert requests.get(f"{base_url}/access_codes/{one['access_code_id']}", headers=api).json() == one
    failed = requests.get(f"{base_url}/access_codes?lock_id={lock_id}&status=failed&limit=1", headers=api).json()
    assert failed["access_codes"][0]["errors"][0]["error_code"] == "KEYPAD_FULL" and failed["next_page_cursor"]


@pytest.mark.parametrize("query, error_code", [
    ("status=gone", None), ("include_ended=maybe", None), ("limit=0", "INVALID_LIMIT"), ("limit=1001", "INVALID_LIMIT"),
])
def test_bad_list_filters_are_refused(base_url, lockcloud_bin, database_url, query, error_code):
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, "Filters")
    response = requests.get(f"{base_url}/locks/{lock['lock_id']}/access_codes?{query}", headers=api)
    assert response.status_code == 400, response.text
    if error_code:
        assert response.json()["error_code"] == error_code


def test_a_removed_code_is_readable_but_not_changeable(base_url, lockcloud_bin, database_url):
    api, lock, device = paired_lock(base_url, lockcloud_bin, database_url, "Removed")
    code = requests.post(f"{base_url}/locks/{lock['lock_id']}/access_codes", json={"code": "4321"}, headers=api).json()
    command = requests.get(f"{base_url}/device/v1/commands", headers=device).json()["commands"][0]
    requests.post(f"{base_url}/device/v1/commands/{command['command_id']}/result", json={"success": False,
                  "error_code": "KEYPAD_FULL"}, headers=device)
    # Never on the lock: removed at once.
    assert requests.delete(f"{base_url}/access_codes/{code['access_code_id']}", headers=api).status_code == 200
    assert requests.get(f"{base_url}/access_codes/{code['access_code_id']}", headers=api).json()["status"] == "removed"
    assert requests.patch(f"{base_url}/access_codes/{code['access_code_id']}", json={"name": "x"}, headers=api).status_code == 404
    assert requests.delete(f"{base_url}/access_codes/{code['access_code_id']}", headers=api).status_code == 404
    # Another owner sees nothing of it.
    other, _, _ = paired_lock(base_url, lockcloud_bin, database_url, "Other")
    assert requests.get(f"{base_url}/access_codes/{code['access_code_id']}", headers=other).status_code == 404
    assert requests.get(f"{base_url}/access_codes?lock_id={lock['lock_id']}&include_ended=true",
                        headers=other).status_code == 404


def crafted_cursor(micros, uuid="00000000-0000-0000-0000-000000000000"):
    """A cursor as the API writes one (base64url of `micros:id`), with any number in it."""
    import base64
    return base64.urlsafe_b64encode(f"{micros}:{uuid}".encode()).decode().rstrip("=")


def test_pages_hold_codes_created_in_the_same_microsecond_once_each(base_url, lockcloud_bin, database_url):
    """Cursors compare (created_at, id) with the stored instant to the microsecond: codes that
    share a created_at (one transaction) are split across pages without a loss or a repeat, and
    an empty lock or a cursor past the end answers an empty page."""
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, "Same instant")
    lock_id = lock["lock_id"]
    url = f"{base_url}/locks/{lock_id}/access_codes"
    for params in ({}, {"include_ended": "true"}, {"status": "failed"}):
        empty = requests.get(url, params=params, headers=api)
        assert empty.status_code == 200 and empty.json() == {"access_codes": [], "next_page_cursor": None}, params
    owner_id = requests.get(f"{base_url}/me", headers=api).json()["user_id"]
    psql(database_url, f"""
        INSERT INTO access_codes (lock_id, owner_id, code, state, created_at)
        SELECT '{lock_id}', '{owner_id}', lpad(n::text, 6, '0'), 'failed', timestamptz '2026-12-03 01:02:03.456789+00'
        FROM generate_series(1, 7) n""")
    for params in ({"include_ended": "true"}, {"status": "failed"}):
        seen, cursor = [], None
        while True:
            page = requests.get(url, params={**params, "limit": 2, **({"page_cursor": cursor} if cursor else {})},
                                headers=api).json()
            seen += [c["access_code_id"] for c in page["access_codes"]]
            cursor = page["next_page_cursor"]
            if cursor is None:
                break
        assert len(seen) == 7 and len(set(seen)) == 7 and seen == sorted(seen), params
    # The live list has none of them; cursors at the ends of the number range are not errors.
    assert requests.get(url, headers=api).json()["access_codes"] == []
    for micros in (-(2 ** 63), 2 ** 63 - 1, 0):
        page = requests.get(url, params={"include_ended": "true", "page_cursor": crafted_cursor(micros)}, headers=api)
        assert page.status_code == 200, (micros, page.text)
        assert len(page.json()["access_codes"]) == (0 if micros > 0 else 7), micros
    for micros in (-(2 ** 63), 2 ** 63 - 1):
        page = requests.get(f"{base_url}/locks", params={"page_cursor": crafted_cursor(micros)}, headers=api)
        assert page.status_code == 200 and len(page.json()["locks"]) == (1 if micros < 0 else 0), page.text
