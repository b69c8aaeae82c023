"""The attack on the running service (issue 13), one test per finding, each written as the
attacker would try it: an outsider at the OAuth pages, a hostile lock at the gateway, an owner's
own read-only token, a planted sign-in handle, a guest at the keypad of a simple lock."""
import http.client
import os
import re
import urllib.parse as urlparse

import pytest
import requests

from conftest import psql
from oauth_helpers import SEAM_REDIRECT, Browser, create_owner, csrf_of, tokens_for
from test_lock_actions import Fleet, paired_lock, wait_until


def raw_request(url, method, target, body=b"", headers=None):
    """Sends bytes exactly as given (requests would re-encode a malformed query)."""
    parts = urlparse.urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# 1. One unauthenticated request used to end the process.

def test_malformed_percent_encoding_is_a_400_and_the_server_lives(start_server, database_url):
    server = start_server(database_url)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    attempts = [
        ("GET", "/oauth/authorize?client_id=%ZZ", b"", {}),
        ("GET", "/authorize?redirect_uri=%E0%A4", b"", {}),
        ("GET", "/oauth/authorize?response_type=code&client_id=seam&state=%", b"", {}),
        ("POST", "/oauth/token", b"grant_type=%ZZ", form),
        ("POST", "/oauth/token", b"grant_type=authorization_code&code=\xff\xfe", form),
        ("POST", "/oauth/revoke", b"token=%G1", form),
        ("POST", "/oauth/authorize", b"action=sign_in&email=%3Cx%3E%ZZ&password=x", form),
        ("POST", "/oauth/authorize", b"email=%", form),
    ]
    for method, target, body, headers in attempts:
        status, answer = raw_request(server.url, method, target, body, headers)
        assert status == 400, (target, body, status, answer[:200])
        assert server.process.poll() is None, f"the server died on {method} {target} {body!r}"
    assert requests.get(server.url + "/health").status_code == 200


# 3. A lock cannot break its owner's API.

def test_the_gateway_refuses_times_and_numbers_it_could_not_store(base_url, lockcloud_bin, database_url):
    api, lock, device = paired_lock(base_url, lockcloud_bin, database_url, "Hostile firmware")
    heartbeat, events = f"{base_url}/device/v1/heartbeat", f"{base_url}/device/v1/events"
    for device_time in ("9999-12-31T23:59:59-14:00", "+275760-09-13T00:00:00Z", "0000-01-01T00:00:00Z",
                        "1969-12-31T23:59:59Z", "2026-11-27T10:15:60Z", "2026-11-27T10:15:30"):
        response = requests.post(heartbeat, json={"device_time": device_time}, headers=device)
        assert response.status_code == 400, (device_time, response.text)
    for bad in ({"type": "lock.locked", "performed_via": "manual", "occurred_at": "9999-12-31T23:59:59-14:00"},
                {"type": "access_code.used", "offline_code": {"offline_access_code_type": "hourly_bound", "key_version": 1,
                                                              "slot_period": 2 ** 62, "slot": 0}},
                {"type": "access_code.used", "offline_code": {"offline_access_code_type": "hourly_bound", "key_version": 1,
                                                              "slot_period": -1, "slot": 0}}):
        response = requests.post(events, json=bad, headers=device)
        assert response.status_code == 400, (bad, response.text)
    # A lock whose clock lost power reads 1970: still heard, still online.
    assert requests.post(heartbeat, json={"device_time": "1970-01-01T00:00:07Z"}, headers=device).status_code == 200
    shown = requests.get(f"{base_url}/locks/{lock['lock_id']}", headers=api)
    assert shown.status_code == 200 and shown.json()["device_time"] == "1970-01-01T00:00:07Z"


def test_a_stored_time_beyond_year_9999_still_reads(base_url, lockcloud_bin, database_url):
    """What an older server let in (or a hand edit) never makes the lock unreadable."""
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, "Year ten thousand")
    psql(database_url, f"UPDATE locks SET device_time = '10000-01-01 09:59:59+00' WHERE lock_id = '{lock['lock_id']}'")
    single = requests.get(f"{base_url}/locks/{lock['lock_id']}", headers=api)
    assert single.status_code == 200, single.text
    assert single.json()["device_time"] == "9999-12-31T23:59:59Z"
    listed = requests.get(f"{base_url}/locks", headers=api)
    assert listed.status_code == 200 and listed.json()["locks"][0]["device_time"] == "9999-12-31T23:59:59Z"


# 4. What the API accepts is stored exactly, or refused.

def test_text_is_stored_exactly_or_refused(base_url, lockcloud_bin, database_url):
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, "Front")
    url = f"{base_url}/locks/{lock['lock_id']}"
    for name in ("front\u0000EVIL", "e\u0301" * 150, "\u0000"):
        response = requests.patch(url, json={"name": name}, headers=api)
        assert response.status_code == 400 and response.json()["error_code"] == "INVALID_NAME", (name, response.text)
    assert requests.get(url, headers=api).json()["name"] == "Front"
    # 100 e + U+0301 is 200 code points: the limit, stored and returned exactly.
    exact = "e\u0301" * 100
    assert requests.patch(url, json={"name": exact}, headers=api).status_code == 200
    assert requests.get(url, headers=api).json()["name"] == exact
    refused = requests.post(f"{url}/actions", json={"action": "lock", "custom_id": "job\u00001"}, headers=api)
    assert refused.status_code == 400 and refused.json()["error_code"] == "INVALID_CUSTOM_ID"
    code = requests.post(f"{url}/access_codes", json={"code": "4821", "name": "Cleaner\u0000x"}, headers=api)
    assert code.status_code == 400 and code.json()["error_code"] == "INVALID_NAME"
    # NUL in OAuth parameters: refused as malformed, in the shape each endpoint documents.
    status, answer = raw_request(base_url, "GET", "/oauth/authorize?response_type=code&client_id=seam%00x")
    assert status == 400 and b"<html" in answer, answer[:200]
    token = requests.post(f"{base_url}/oauth/token", json={"grant_type": "authorization_code", "code": "x\u0000",
                                                          "client_id": "seam", "client_secret": "seamsecret"})
    assert token.status_code == 400 and token.json()["error"] == "invalid_request", token.text
    assert psql(database_url, f"SELECT count(*) FROM access_codes WHERE lock_id = '{lock['lock_id']}'") == "0"


@pytest.mark.parametrize("starts_at", ["0000-12-31T23:59:59Z", "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-14:00"])
def test_access_code_times_outside_years_1_to_9999_are_invalid(base_url, lockcloud_bin, database_url, starts_at):
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, "Calendar")
    response = requests.post(f"{base_url}/locks/{lock['lock_id']}/access_codes",
                             json={"code": "5521", "starts_at": starts_at, "ends_at": "9999-12-31T23:59:59Z"}, headers=api)
    assert response.status_code == 400 and response.json()["error_code"] == "INVALID_TIMESTAMP", response.text
    assert psql(database_url, f"SELECT count(*) FROM access_codes WHERE lock_id = '{lock['lock_id']}'") == "0"


# 5. Secrets and PINs stay out of logs.

def test_the_server_log_holds_no_pin_or_secret(start_server, lockcloud_bin, database_url):
    server = start_server(database_url, "--log-level", "debug")
    email, password = create_owner(lockcloud_bin, database_url, password="pw-in-no-log-9")
    tokens = tokens_for(server.url, email=email, password=password)
    api = {"Authorization": "Bearer " + tokens["access_token"]}
    lock = requests.post(f"{server.url}/locks", json={"name": "Logged", "timezone": "UTC"}, headers=api).json()
    codes = f"{server.url}/locks/{lock['lock_id']}/access_codes"
    secrets_used = [password, tokens["access_token"], tokens["refresh_token"], lock["device_credential"]]
    first = requests.post(codes, json={"code": "73914"}, headers=api)
    assert first.status_code == 201
    secrets_used.append("73914")
    # Every rule the database also guards: the same PIN, names and ids past their limits,
    # a duplicate action id, an offline code; the answers are 4xx, and none is logged with values.
    assert requests.post(codes, json={"code": "73914"}, headers=api).status_code == 409
    assert requests.post(codes, json={"code": "86025", "name": "\u00e9" * 201}, headers=api).status_code == 400
    assert requests.patch(f"{server.url}/locks/{lock['lock_id']}", json={"name": "e\u0301" * 150},
                          headers=api).status_code == 400
    for _ in range(2):
        requests.post(f"{server.url}/locks/{lock['lock_id']}/actions", json={"action": "lock", "custom_id": "c-1"}, headers=api)
    offline = requests.post(codes, json={"is_offline_access_code": True, "starts_at": "2030-01-01T10:00:00Z",
                                         "ends_at": "2030-01-01T12:00:00Z"}, headers=api)
    assert offline.status_code == 201
    secrets_used.append(offline.json()["code"])
    requests.post(f"{server.url}/device/v1/heartbeat", json={"device_time": "9999-12-31T23:59:59-14:00"},
                  headers={"Authorization": "Bearer " + lock["device_credential"]})
    requests.post(f"{server.url}/oauth/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"] + "x"},
                  auth=("seam", "seamsecret"))
    log = server.output()
    assert log.strip(), "the debug log should not be empty"
    # PostgreSQL's own log too, where scripts/pg.sh starts it (log_error_verbosity=terse).
    cluster_log = os.path.join(os.environ["LOCKCLOUD_TEST_WORKDIR"], "pg", "server.log")
    if os.path.exists(cluster_log):
        with open(cluster_log, errors="replace") as f:
            log += f.read()
    for secret in secrets_used:
        assert secret not in log, f"{secret[:6]}... appears in the server log"
    assert "Failing row" not in log


# 6. An idempotent replay is authorized first.

def test_a_read_only_token_cannot_replay_a_pairing(base_url, lockcloud_bin, database_url):
    email, password = create_owner(lockcloud_bin, database_url)
    writer = {"Authorization": "Bearer " + tokens_for(base_url, email=email, password=password)["access_token"]}
    reader = {"Authorization": "Bearer " + tokens_for(base_url, email=email, password=password, scope="locks.read")["access_token"]}
    body = {"name": "Replayed", "timezone": "UTC"}
    paired = requests.post(f"{base_url}/locks", json=body, headers={**writer, "Idempotency-Key": "pair-1"})
    assert paired.status_code == 201 and paired.json()["device_credential"]
    replay = requests.post(f"{base_url}/locks", json=body, headers={**reader, "Idempotency-Key": "pair-1"})
    assert replay.status_code == 403 and replay.json()["error_code"] == "INSUFFICIENT_SCOPE", replay.text
    assert "device_credential" not in replay.text
    # The writer itself still gets its replay.
    again = requests.post(f"{base_url}/locks", json=body, headers={**writer, "Idempotency-Key": "pair-1"})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"


def test_only_successful_responses_are_stored_for_replay(base_url, lockcloud_bin, database_url):
    api, lock, device = paired_lock(base_url, lockcloud_bin, database_url, "Retry")
    act = lambda: requests.post(f"{base_url}/locks/{lock['lock_id']}/actions", json={"action": "unlock"},
                                headers={**api, "Idempotency-Key": "unlock-1"})
    # Not heard from yet: offline. Seam retries the same request with the same key later.
    offline = act()
    assert offline.status_code == 409 and offline.json()["error_code"] == "DEVICE_OFFLINE"
    assert requests.post(f"{base_url}/device/v1/heartbeat", json={}, headers=device).status_code == 200
    retried = act()
    assert retried.status_code == 202, retried.text
    assert retried.headers.get("Idempotent-Replayed") is None
    # The success is what is kept now.
    again = act()
    assert again.status_code == 202 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["action_id"] == retried.json()["action_id"]


# 7. A sign-in handle planted before sign-in is worthless after it.

def test_a_planted_authorization_handle_cannot_approve_for_the_victim(base_url, lockcloud_bin, database_url):
    email, password = create_owner(lockcloud_bin, database_url)
    attacker = Browser(base_url)
    page = attacker.authorize(state="attacker")
    assert page.status_code == 200 and 'name="password"' in page.text
    planted, attacker_csrf = attacker.session.cookies["lc_authz"], csrf_of(page.text)

    victim = Browser(base_url)
    # Planted as a browser would hold it (the server's own host and path), so the server's
    # later Set-Cookie replaces it.
    victim.session.cookies.set("lc_authz", planted, domain=urlparse.urlparse(base_url).hostname, path="/")
    victim_page = victim.session.get(f"{base_url}/oauth/authorize/continue")
    consent = victim.sign_in(victim_page, email, password)
    assert "Allow" in consent.text
    assert victim.session.cookies["lc_authz"] != planted  # a new handle at sign-in

    for handle, csrf in ((planted, attacker_csrf), (victim.session.cookies["lc_authz"], csrf_of(consent.text))):
        # Even with the victim's new handle and its CSRF token, without the victim's session.
        thief = requests.Session()
        thief.cookies.set("lc_authz", handle)
        answer = thief.post(f"{base_url}/oauth/authorize", data={"action": "approve", "csrf_token": csrf}, allow_redirects=False)
        assert answer.status_code in (400, 403), answer.text
        assert "code=" not in answer.headers.get("Location", "")
    # The victim's own approval still works.
    location = victim.approve(consent)
    assert location.startswith(SEAM_REDIRECT) and "code=" in location


def test_cookies_carry_the_host_prefix_behind_https(start_server, database_url):
    server = start_server(database_url, env={"LOCKCLOUD_PUBLIC_URL": "https://locks.example.com"})
    page = requests.get(f"{server.url}/oauth/authorize", allow_redirects=False, params={
        "response_type": "code", "client_id": "seam", "redirect_uri": SEAM_REDIRECT, "scope": "locks.read"})
    assert page.status_code == 200
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-lc_authz="), cookie
    assert "; Secure" in cookie and "; Path=/" in cookie and "Domain" not in cookie


# 9. Every keypad has a failure budget, whatever the model.

def test_an_online_only_keypad_locks_out_after_five_wrong_pins(base_url, lockcloud_bin, database_url):
    fleet = Fleet(base_url, lockcloud_bin, database_url, model="lc-100")
    try:
        lock_id = fleet.locks[0]["lock_id"]
        code = fleet.api.post(f"{base_url}/locks/{lock_id}/access_codes", json={"code": "2468"}).json()
        wait_until(lambda: fleet.api.get(f"{base_url}/access_codes/{code['access_code_id']}").json()["status"] == "active")
        keypad = lambda pin: requests.post(f"{fleet.control}/locks/{lock_id}/keypad", json={"pin": pin}).json()["outcome"]
        assert keypad("2468") == "unlocked"
        assert [keypad(f"000{i}") for i in range(5)] == ["rejected"] * 5
        # Locked out: even the right code is not compared, and more guesses change nothing.
        assert keypad("2468") == "locked_out"
        assert keypad("1357") == "locked_out"
    finally:
        fleet.stop()
