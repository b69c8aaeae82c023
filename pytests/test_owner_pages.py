"""The owner pages (/account) over HTTP, as an attacker would try them: a stranger without a
session, another site forging forms (CSRF), another owner naming ids that are not theirs,
HTML in stored values, and bad input. The browser walk-through is test_owner_pages_browser.py."""
import re
import uuid

import pytest
import requests

from account_helpers import Account, Owner, csrf_in
from conftest import psql

GET_PAGES = ["/account/locks", "/account/activity", "/account/apps", "/account/password"]


@pytest.fixture
def alice(base_url, lockcloud_bin, database_url):
    return Owner(base_url, lockcloud_bin, database_url, lock_count=2)


@pytest.fixture
def bob(base_url, lockcloud_bin, database_url):
    return Owner(base_url, lockcloud_bin, database_url)


def online_code(owner, index=0, pin="4812"):
    response = owner.api.post(f"{owner.base_url}/locks/{owner.locks[index]['lock_id']}/access_codes",
                              json={"code": pin, "name": "cleaner"})
    assert response.status_code == 201, response.text
    return response.json()


def forms_of(owner, code_id):
    """Every form of the owner pages with fields that would change something if accepted."""
    lock = f"/account/locks/{owner.locks[0]['lock_id']}"
    return [
        (lock + "/rename", {"name": "Renamed by a forger"}),
        (lock + "/actions", {"action": "unlock"}),
        (lock + "/codes", {"code": "9753", "name": "forged"}),
        (lock + "/offline-codes", {"type": "permanent", "starts_at": "2026-01-01T00:00"}),
        (f"{lock}/codes/{code_id}/remove", {}),
        ("/account/apps/seam/revoke", {}),
        ("/account/password", {"current_password": owner.password, "new_password": "forged-password",
                               "repeat_password": "forged-password"}),
        ("/account/sign-out", {}),
    ]


def state_of(owner, database_url):
    """What any of the forms could change: the lock, its codes and actions, the grant, the
    password (its hash), the sessions."""
    lock_id = owner.locks[0]["lock_id"]
    return (owner.lock()["name"], len(owner.codes()),
            psql(database_url, f"SELECT count(*) FROM lock_actions WHERE lock_id = '{lock_id}'"),
            owner.api.get(f"{owner.base_url}/me").status_code,
            psql(database_url, f"SELECT password_hash FROM owners WHERE email = '{owner.email}'"),
            owner.account.get("/account/locks").status_code)


def test_pages_without_a_session_send_to_sign_in_and_forms_change_nothing(base_url, alice, database_url):
    stranger = requests.Session()
    for path in GET_PAGES + ["/account", f"/account/locks/{alice.locks[0]['lock_id']}"]:
        response = stranger.get(base_url + path, allow_redirects=False)
        assert response.status_code == 303 and response.headers["Location"] == "/account/sign-in", path
    before = state_of(alice, database_url)
    code = online_code(alice)
    before = state_of(alice, database_url)
    for path, fields in forms_of(alice, code["access_code_id"]):
        # Even with a valid token of alice's session: without her cookie it is nothing.
        response = stranger.post(base_url + path, data={**fields, "csrf_token": alice.account.csrf}, allow_redirects=False)
        assert response.status_code == 303 and response.headers["Location"] == "/account/sign-in", path
    assert state_of(alice, database_url) == before


@pytest.mark.parametrize("token", ["missing", "wrong", "another session's"])
def test_every_form_refuses_a_missing_or_wrong_csrf_token(base_url, alice, bob, database_url, token):
    code = online_code(alice)
    before = state_of(alice, database_url)
    forged = {"missing": False, "wrong": "forged-" + "x" * 36, "another session's": bob.account.csrf}[token]
    for path, fields in forms_of(alice, code["access_code_id"]):
        response = alice.account.post(path, csrf=forged, **fields)
        assert response.status_code == 403, (path, response.status_code)
        assert "Form expired" in response.text and response.headers["Content-Type"].startswith("text/html")
    assert state_of(alice, database_url) == before


def test_the_sign_in_form_needs_its_cookie_and_token(base_url, alice):
    """Login CSRF: another site must not sign a victim's browser in to the attacker's account."""
    fields = {"email": alice.email, "password": alice.password}
    bare = requests.post(base_url + "/account/sign-in", data={**fields, "csrf_token": "x"}, allow_redirects=False)
    browser = requests.Session()
    page = browser.get(base_url + "/account/sign-in")
    wrong = browser.post(base_url + "/account/sign-in", data={**fields, "csrf_token": "forged"}, allow_redirects=False)
    # A token from another browser's sign-in page, sent without that browser's cookie.
    foreign = browser.post(base_url + "/account/sign-in", allow_redirects=False,
                           data={**fields, "csrf_token": csrf_in(requests.get(base_url + "/account/sign-in").text)})
    for response in (bare, wrong, foreign):
        assert response.status_code == 403
        assert "lc_session" not in response.headers.get("Set-Cookie", "")
    good = browser.post(base_url + "/account/sign-in", data={**fields, "csrf_token": csrf_in(page.text)}, allow_redirects=False)
    assert good.status_code == 303 and good.headers["Location"] == "/account/locks"


def test_another_owners_lock_or_code_answers_like_a_missing_one(base_url, alice, bob, database_url):
    bobs_code = online_code(bob)
    alices_code = online_code(alice, index=0)
    bobs_before = (bob.lock(), bob.codes(), psql(database_url, f"SELECT count(*) FROM lock_actions WHERE lock_id = '{bob.locks[0]['lock_id']}'"))
    alices_before = state_of(alice, database_url)

    def page_text(response):
        return response.text.replace(csrf_in(response.text), "")

    for lock_id in (bob.locks[0]["lock_id"], str(uuid.uuid4()), "not-a-uuid"):
        lock = f"/account/locks/{lock_id}"
        answers = [alice.account.get(lock)] + [alice.account.post(lock + suffix, **fields) for suffix, fields in (
            ("/rename", {"name": "Mine now"}), ("/actions", {"action": "unlock"}), ("/codes", {"code": "9753"}),
            ("/offline-codes", {"type": "permanent", "starts_at": "2026-01-01T00:00"}),
            (f"/codes/{bobs_code['access_code_id']}/remove", {}))]
        for response in answers:
            assert response.status_code == 404, (lock_id, response.request.url)
            assert "No lock with this id." in response.text
        if lock_id == bob.locks[0]["lock_id"]:
            reference = [page_text(r) for r in answers]
        else:
            assert [page_text(r) for r in answers] == reference  # byte for byte, but for the token

    # A code id that is not the lock's: bob's code, or alice's own code of her other lock.
    for lock_index, code_id in ((0, bobs_code["access_code_id"]), (1, alices_code["access_code_id"]), (0, str(uuid.uuid4()))):
        response = alice.account.post(f"/account/locks/{alice.locks[lock_index]['lock_id']}/codes/{code_id}/remove")
        assert response.status_code == 404 and "No access code with this id." in response.text
    assert (bob.lock(), bob.codes(), psql(database_url, f"SELECT count(*) FROM lock_actions WHERE lock_id = '{bob.locks[0]['lock_id']}'")) == bobs_before
    assert state_of(alice, database_url) == alices_before


def test_revoking_an_app_the_owner_never_allowed_is_not_found(alice, lockcloud_bin, database_url):
    from oauth_helpers import create_client
    client_id, _ = create_client(lockcloud_bin, database_url, "https://other.example/cb", name="Other")
    for client in (client_id, "no-such-client", "seam%2F..%2Fx"):
        response = alice.account.post(f"/account/apps/{client}/revoke")
        assert response.status_code == 404 and "No connected app" in response.text
    assert alice.api.get(f"{alice.base_url}/me").status_code == 200


def test_pages_forbid_framing_and_set_a_content_policy(base_url, alice):
    responses = [alice.account.get(path) for path in GET_PAGES + [f"/account/locks/{alice.locks[0]['lock_id']}"]]
    responses.append(requests.get(base_url + "/account/sign-in", headers={"Origin": "https://evil.example"}))
    responses.append(alice.account.get(f"/account/locks/{uuid.uuid4()}"))  # the 404 page too
    responses.append(alice.account.post(f"/account/locks/{alice.locks[0]['lock_id']}/rename", csrf="forged", name="x"))
    for response in responses:
        assert response.headers["X-Frame-Options"] == "DENY", response.url
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy and "script-src" not in policy
        assert response.headers["Cache-Control"] == "no-store"
        assert not any(h.lower().startswith("access-control-") for h in response.headers)
        assert "<script" not in response.text


def test_html_in_stored_values_is_escaped(alice):
    lock_id = alice.locks[0]["lock_id"]
    evil = '<script>alert(1)</script>"\'><img src=x onerror=alert(2)>'
    assert alice.api.patch(f"{alice.base_url}/locks/{lock_id}", json={"name": evil}).status_code == 200
    assert alice.api.post(f"{alice.base_url}/locks/{lock_id}/access_codes", json={"code": "5813", "name": evil}).status_code == 201
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;"
    for path in ("/account/locks", f"/account/locks/{lock_id}", f"/account/activity?lock={lock_id}"):
        page = alice.account.get(path)
        assert page.status_code == 200
        assert "<script>" not in page.text and "<img" not in page.text, path
        assert escaped in page.text, path
    # A form's error shows what was typed, escaped as well.
    page = alice.account.post(f"/account/locks/{lock_id}/codes", code="12ab", name=evil)
    assert page.status_code == 400 and escaped in page.text and "<script>" not in page.text


def test_bad_input_is_a_clear_error_and_changes_nothing(alice, database_url):
    lock = f"/account/locks/{alice.locks[0]['lock_id']}"
    before = state_of(alice, database_url)
    cases = [
        ("/rename", {"name": "   "}, 400, "name must be 1 to 200 characters"),
        ("/rename", {"name": "x" * 201}, 400, "name must be 1 to 200 characters"),
        ("/actions", {"action": "open_sesame"}, 400, "Choose lock or unlock."),
        ("/actions", {"action": "unlock"}, 409, "The lock is offline."),
        ("/codes", {"code": "12ab"}, 400, "code must be 4 to 8 digits for this lock."),
        ("/codes", {"code": "1234", "ends_at": "2026-02-30T10:00"}, 400, "Until is not a date and time"),
        ("/codes", {"code": "1234", "ends_at": "2001-01-01T10:00"}, 400, "ends_at is in the past."),
        ("/offline-codes", {"type": "permanent", "starts_at": "2026-12-01T10:00", "ends_at": "2027-01-01T10:00"},
         400, "A permanent code has no ends_at."),
        ("/offline-codes", {"type": "one_time_use", "starts_at": ""}, 400, "starts_at is required for an offline code."),
        ("/offline-codes", {"type": "master_key", "starts_at": "2026-12-01T10:00"}, 400, "Choose a type"),
        ("/offline-codes", {"type": "hourly_bound", "starts_at": "2026-12-01T10:00", "ends_at": "2027-12-01T10:00"},
         400, "An hourly-bound offline code lasts 1 to 672 hours."),
        ("/offline-codes", {"type": "daily_bound", "starts_at": "2026-12-01T10:00", "ends_at": "2026-12-02T10:00",
                            "max_time_rounding": "1week"}, 400, "The allowed rounding is 1 hour or 1 day."),
    ]
    for suffix, fields, status, message in cases:
        page = alice.account.post(lock + suffix, **fields)
        assert page.status_code == status, (suffix, fields, page.status_code)
        assert message in page.text, (suffix, fields)
        assert 'role="alert"' in page.text
    # A body that is not a form, and a field sent twice.
    raw = alice.account.session.post(alice.base_url + lock + "/rename", data=b"name=%ZZ&csrf_token=" + alice.account.csrf.encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"}, allow_redirects=False)
    twice = alice.account.session.post(alice.base_url + lock + "/rename", allow_redirects=False,
                                       data=[("csrf_token", alice.account.csrf), ("name", "a"), ("name", "b")])
    assert raw.status_code == 400 and twice.status_code == 400
    assert state_of(alice, database_url) == before


def test_revoke_ends_the_grant_and_every_token_under_it(base_url, alice, bob):
    from oauth_helpers import tokens_for
    second = tokens_for(base_url, email=alice.email, password=alice.password)  # a second grant to Seam
    apps = alice.account.get("/account/apps")
    assert "Seam" in apps.text and "locks.read locks.write" in apps.text
    assert apps.text.count('id="revoke-seam"') == 1  # one entry for both grants
    response = alice.account.post("/account/apps/seam/revoke")
    assert response.status_code == 303 and response.headers["Location"] == "/account/apps?notice=revoked"
    for tokens in (alice.tokens, second):
        answer = requests.get(f"{base_url}/locks", headers={"Authorization": "Bearer " + tokens["access_token"]})
        assert answer.status_code == 401 and 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
        refresh = requests.post(f"{base_url}/oauth/token", auth=("seam", "seamsecret"),
                                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    assert 'id="no-apps"' in alice.account.get("/account/apps").text
    assert bob.api.get(f"{base_url}/locks").status_code == 200  # another owner's grant to Seam stays


def test_a_revoked_app_gets_none_of_the_owners_later_events(base_url, alice, database_url):
    """Seam's webhook is queued the owner's events while the grant lives, none after the revoke;
    its event feed shows none of the owner's events either."""
    client = ("seam", "seamsecret")
    webhook = requests.post(f"{base_url}/webhooks", auth=client, json={"url": "http://127.0.0.1:9/owner-pages"})
    assert webhook.status_code == 201, webhook.text
    webhook_id = webhook.json()["webhook_id"]
    owner_id = alice.tokens["user_id"]
    lock_id = alice.locks[0]["lock_id"]

    def event_and_deliveries():
        event_id = psql(database_url, f"""INSERT INTO events (event_type, owner_id, device_id, data)
            VALUES ('lock.unlocked', '{owner_id}', '{lock_id}', '{{"method": "keypad"}}') RETURNING event_id""").splitlines()[0]
        return int(psql(database_url, f"SELECT count(*) FROM webhook_deliveries WHERE webhook_id = '{webhook_id}' AND event_id = '{event_id}'"))

    def feed_owners():
        owners, cursor = set(), None
        while True:
            body = requests.get(f"{base_url}/events", auth=client, params={"limit": 1000, **({"page_cursor": cursor} if cursor else {})}).json()
            owners |= {event["user_id"] for event in body["events"]}
            if not (cursor := body.get("next_page_cursor")):
                return owners

    try:
        assert event_and_deliveries() == 1 and owner_id in feed_owners()
        assert alice.account.post("/account/apps/seam/revoke").status_code == 303
        assert event_and_deliveries() == 0 and owner_id not in feed_owners()
    finally:
        requests.delete(f"{base_url}/webhooks/{webhook_id}", auth=client)


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(base_url, alice):
    other_browser = Account(base_url, alice.email, alice.password)
    wrong = alice.account.post("/account/password", current_password="not-it", new_password="new-password-1",
                               repeat_password="new-password-1")
    assert wrong.status_code == 400 and "The current password is incorrect." in wrong.text
    short = alice.account.post("/account/password", current_password=alice.password, new_password="short",
                               repeat_password="short")
    assert short.status_code == 400 and "8 to 72" in short.text
    differ = alice.account.post("/account/password", current_password=alice.password, new_password="new-password-1",
                                repeat_password="new-password-2")
    assert differ.status_code == 400 and "differ" in differ.text
    assert other_browser.get("/account/locks").status_code == 200  # nothing has changed yet

    changed = alice.account.post("/account/password", current_password=alice.password, new_password="new-password-1",
                                 repeat_password="new-password-1")
    assert changed.status_code == 303
    assert "Password changed" in alice.account.get(changed.headers["Location"]).text
    assert alice.account.get("/account/locks").status_code == 200  # this browser stays signed in
    assert other_browser.get("/account/locks").headers["Location"] == "/account/sign-in"
    assert Account(base_url, alice.email, "new-password-1").get("/account/locks").status_code == 200
    stale = requests.Session()
    form = stale.get(base_url + "/account/sign-in")
    refused = stale.post(base_url + "/account/sign-in", allow_redirects=False,
                         data={"csrf_token": csrf_in(form.text), "email": alice.email, "password": alice.password})
    assert refused.headers["Location"] == "/account/sign-in?notice=failed"
    assert alice.api.get(f"{base_url}/me").status_code == 200  # apps keep their access


def test_sign_out_ends_the_session_for_good(base_url, alice):
    cookie = alice.account.session.cookies["lc_session"]
    response = alice.account.post("/account/sign-out")
    assert response.status_code == 303 and "Max-Age=0" in response.headers["Set-Cookie"]
    replay = requests.get(base_url + "/account/locks", cookies={"lc_session": cookie}, allow_redirects=False)
    assert replay.status_code == 303 and replay.headers["Location"] == "/account/sign-in"


def test_activity_is_newest_first_filtered_and_paginated(alice, database_url):
    first, second = (lock["lock_id"] for lock in alice.locks)
    owner_id = alice.api.get(f"{alice.base_url}/me").json()["user_id"]
    psql(database_url, f"""INSERT INTO events (event_type, owner_id, device_id, data)
        SELECT 'lock.unlocked', '{owner_id}', '{first}', jsonb_build_object('method', 'keypad', 'n', i)
        FROM generate_series(1, 60) i""")
    page = alice.account.get("/account/activity")
    rows = re.findall(r'<td class="event-type">([^<]+)</td>', page.text)
    assert len(rows) == 50 and rows[0] == "lock.unlocked" and 'id="older"' in page.text
    older_link = re.search(r'id="older" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    older = re.findall(r'<td class="event-type">([^<]+)</td>', alice.account.get(older_link).text)
    assert older[-2:] == ["device.added", "device.added"] and len(rows) + len(older) == 62
    only_second = alice.account.get(f"/account/activity?lock={second}")
    assert re.findall(r'<td class="event-type">([^<]+)</td>', only_second.text) == ["device.added"]
    only_type = alice.account.get("/account/activity?type=device.added")
    assert re.findall(r'<td class="event-type">([^<]+)</td>', only_type.text) == ["device.added"] * 2
    for bad in ("lock=nope", "type=<b>", "before=-1", "lock=%ZZ"):
        assert alice.account.get("/account/activity?" + bad).status_code == 400, bad


def test_another_owners_lock_as_an_activity_filter_shows_nothing(alice, bob):
    page = alice.account.get(f"/account/activity?lock={bob.locks[0]['lock_id']}")
    assert page.status_code == 200 and 'class="event-type"' not in page.text


def test_cookies_carry_the_host_prefix_behind_https(start_server, database_url, alice):
    server = start_server(database_url, env={"LOCKCLOUD_PUBLIC_URL": "https://locks.example.com"})
    page = requests.get(f"{server.url}/account/sign-in")
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-lc_account_signin=") and "; Secure" in cookie and "Domain" not in cookie
    signed_in = requests.post(f"{server.url}/account/sign-in", allow_redirects=False,
                              cookies={"__Host-lc_account_signin": page.cookies["__Host-lc_account_signin"]},
                              data={"csrf_token": csrf_in(page.text), "email": alice.email, "password": alice.password})
    assert signed_in.status_code == 303
    assert signed_in.headers["Set-Cookie"].startswith("__Host-lc_session=") and "; Secure" in signed_in.headers["Set-Cookie"]


def test_an_offline_pin_of_each_type_is_issued_and_shown(alice):
    import datetime
    lock_id = alice.locks[0]["lock_id"]
    berlin = datetime.timezone(datetime.timedelta(hours=1))  # December: Europe/Berlin is UTC+1
    now = datetime.datetime.now(berlin).replace(tzinfo=None)
    local = lambda delta: (now + delta).strftime("%Y-%m-%dT%H:%M")
    cases = {
        "one_time_use": {}, "permanent": {}, "erase": {},
        "hourly_bound": {"ends_at": local(datetime.timedelta(hours=5))},
        "daily_bound": {"ends_at": local(datetime.timedelta(days=30)), "max_time_rounding": "1d"},
    }
    for kind, extra in cases.items():
        response = alice.account.post(f"/account/locks/{lock_id}/offline-codes", type=kind, name=f"Guest {kind}",
                                      starts_at=local(datetime.timedelta(0)), **extra)
        assert response.status_code == 303, (kind, response.text[-600:])
        page = alice.account.get(response.headers["Location"])
        pin = re.search(r'id="issued-pin">([0-9]+)<', page.text).group(1)
        assert f"({kind})" in page.text
        code = next(c for c in alice.codes() if c["name"] == f"Guest {kind}")
        assert code["code"] == pin and code["is_offline_access_code"] and code["offline_access_code_type"] == kind
