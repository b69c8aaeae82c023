"""The older Seam guide's requests ("Creating a Seam-Compatible Door Locks API"), end to end:
`GET /authorize` with only `redirect_uri`, a JSON token request without `grant_type` and
without `redirect_uri`, and `POST /locks/{id}/unlock` answering 500 with `error_id` when the
lock cannot unlock. Also the refusals that keep the shortcut from weakening the RFC flow."""
import secrets

import requests

from oauth_helpers import (SEAM, SEAM_REDIRECT, Browser, create_client, create_owner, pkce_pair,
                           query_of)


# The demo client's production callback. Its localhost callback (SEAM_REDIRECT) is also
# registered by other tests' clients, which makes it ambiguous for the older form, as it should.
SEAM_PRODUCTION = "https://connect.getseam.com/oauth/callback"


def unique_redirect():
    return f"https://older-{secrets.token_hex(6)}.example.com/oauth/callback"


def legacy_authorize(browser, redirect_uri, **extra):
    """The older guide's authorization request: nothing but redirect_uri (plus `extra`)."""
    return browser.session.get(browser.base_url + "/authorize", params={"redirect_uri": redirect_uri, **extra},
                               allow_redirects=False)


def legacy_code(base_url, redirect_uri, email, password, **extra):
    browser = Browser(base_url)
    page = legacy_authorize(browser, redirect_uri, **extra)
    assert page.status_code == 200, page.text
    page = browser.sign_in(page, email, password)
    assert "Allow" in page.text, page.text
    location = browser.approve(page)
    assert location.startswith(redirect_uri + "?"), location
    return query_of(location)


def legacy_token(base_url, code, client_id, client_secret, **extra):
    return requests.post(f"{base_url}/oauth/token",
                         json={"code": code, "client_id": client_id, "client_secret": client_secret, **extra})


def test_the_older_guides_flow_completes_and_the_token_reads_locks(base_url, lockcloud_bin, database_url):
    redirect = unique_redirect()
    client_id, secret = create_client(lockcloud_bin, database_url, redirect, name="Older guide client")
    email, password = create_owner(lockcloud_bin, database_url)
    query = legacy_code(base_url, redirect, email, password)
    assert set(query) == {"code"}  # no state was sent, none comes back
    response = legacy_token(base_url, query["code"], client_id, secret)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "locks.read locks.write"
    locks = requests.get(f"{base_url}/locks", headers={"Authorization": "Bearer " + body["access_token"]})
    assert locks.status_code == 200 and locks.json()["locks"] == []
    # The code is single use, as in the RFC flow.
    assert legacy_token(base_url, query["code"], client_id, secret).json()["error"] == "invalid_grant"


def test_the_demo_seam_client_works_with_only_redirect_uri(base_url):
    query = legacy_code(base_url, SEAM_PRODUCTION, "alice@example.com", "lockcloud-demo")
    response = legacy_token(base_url, query["code"], *SEAM)
    assert response.status_code == 200, response.text
    locks = requests.get(f"{base_url}/locks", headers={"Authorization": "Bearer " + response.json()["access_token"]})
    assert locks.status_code == 200 and isinstance(locks.json()["locks"], list)


def test_a_redirect_uri_registered_by_two_clients_picks_neither(base_url, lockcloud_bin, database_url):
    shared = unique_redirect()
    create_client(lockcloud_bin, database_url, shared, name="First")
    create_client(lockcloud_bin, database_url, shared, name="Second")
    page = legacy_authorize(Browser(base_url), shared)
    assert page.status_code == 400 and "Location" not in page.headers
    assert page.headers["Content-Type"].startswith("text/html")
    assert "more than one application" in page.text


def test_an_unregistered_or_inexact_redirect_uri_is_an_error_page(base_url):
    browser = Browser(base_url)
    for uri in ["https://evil.example.com/oauth/callback", SEAM_REDIRECT + "/", SEAM_REDIRECT + "?x=1",
                SEAM_REDIRECT.upper(), ""]:
        page = legacy_authorize(browser, uri)
        assert page.status_code == 400 and "Location" not in page.headers, uri
    # Without client_id and without redirect_uri there is nothing to find the client by.
    page = browser.session.get(base_url + "/authorize", allow_redirects=False)
    assert page.status_code == 400 and "Location" not in page.headers
    # Repeated, even with the same value, is malformed.
    page = browser.session.get(f"{base_url}/authorize?redirect_uri={SEAM_REDIRECT}&redirect_uri={SEAM_REDIRECT}",
                               allow_redirects=False)
    assert page.status_code == 400 and "Location" not in page.headers
    # An empty client_id is an RFC request naming no known client, not the older form.
    page = browser.session.get(base_url + "/authorize", params={"client_id": "", "redirect_uri": SEAM_REDIRECT},
                               allow_redirects=False)
    assert page.status_code == 400 and "Location" not in page.headers


def test_once_the_redirect_is_known_later_errors_go_there(base_url):
    page = legacy_authorize(Browser(base_url), SEAM_PRODUCTION, response_type="token", state="s1")
    assert page.status_code == 303
    assert query_of(page.headers["Location"]) == {
        "error": "unsupported_response_type", "error_description": "Only response_type=code is supported.", "state": "s1"}


def test_a_legacy_code_is_bound_to_its_client(base_url, lockcloud_bin, database_url):
    redirect = unique_redirect()
    client_id, secret = create_client(lockcloud_bin, database_url, redirect)
    other_id, other_secret = create_client(lockcloud_bin, database_url, unique_redirect())
    email, password = create_owner(lockcloud_bin, database_url)
    code = legacy_code(base_url, redirect, email, password)["code"]
    # Another client's credentials: refused, and the code is spent.
    stolen = legacy_token(base_url, code, other_id, other_secret)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert legacy_token(base_url, code, client_id, secret).json()["error"] == "invalid_grant"


def test_a_json_token_request_still_authenticates_the_client(base_url, lockcloud_bin, database_url):
    redirect = unique_redirect()
    client_id, secret = create_client(lockcloud_bin, database_url, redirect)
    email, password = create_owner(lockcloud_bin, database_url)
    code = legacy_code(base_url, redirect, email, password)["code"]
    for body in [{"code": code, "client_id": client_id},
                 {"code": code, "client_id": client_id, "client_secret": "wrong"},
                 {"code": code}]:
        response = requests.post(f"{base_url}/oauth/token", json=body)
        assert response.status_code == 401 and response.json()["error"] == "invalid_client", body
    # Client authentication failed before the code was looked at: it still works.
    assert legacy_token(base_url, code, client_id, secret).status_code == 200


def test_a_json_token_request_does_not_bypass_pkce(base_url, lockcloud_bin, database_url):
    redirect = unique_redirect()
    client_id, secret = create_client(lockcloud_bin, database_url, redirect)
    email, password = create_owner(lockcloud_bin, database_url)
    verifier, challenge = pkce_pair()
    code = legacy_code(base_url, redirect, email, password, code_challenge=challenge,
                       code_challenge_method="S256")["code"]
    refused = legacy_token(base_url, code, client_id, secret)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    code = legacy_code(base_url, redirect, email, password, code_challenge=challenge,
                       code_challenge_method="S256")["code"]
    assert legacy_token(base_url, code, client_id, secret, code_verifier=verifier).status_code == 200


def test_a_legacy_code_with_a_wrong_redirect_uri_is_refused(base_url, lockcloud_bin, database_url):
    redirect = unique_redirect()
    client_id, secret = create_client(lockcloud_bin, database_url, redirect)
    email, password = create_owner(lockcloud_bin, database_url)
    code = legacy_code(base_url, redirect, email, password)["code"]
    response = legacy_token(base_url, code, client_id, secret, redirect_uri=redirect + "x")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    # Sending the right one is fine too.
    code = legacy_code(base_url, redirect, email, password)["code"]
    assert legacy_token(base_url, code, client_id, secret, redirect_uri=redirect).status_code == 200


def test_rfc_requests_keep_every_rfc_requirement(base_url):
    # A code from an RFC-form authorization request (client_id sent) still needs redirect_uri,
    # also when redeemed through the older guide's JSON request.
    verifier, challenge = pkce_pair()
    code = query_of(Browser(base_url).code_flow(challenge=challenge))["code"]
    refused = legacy_token(base_url, code, *SEAM, code_verifier=verifier)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert "redirect_uri" in refused.json()["error_description"]
    code = query_of(Browser(base_url).code_flow(challenge=challenge))["code"]
    ok = legacy_token(base_url, code, *SEAM, code_verifier=verifier, redirect_uri=SEAM_REDIRECT)
    assert ok.status_code == 200, ok.text
    # A form-encoded request without grant_type is invalid_request, whatever the code.
    code = legacy_code(base_url, SEAM_PRODUCTION, "alice@example.com", "lockcloud-demo")["code"]
    form = requests.post(f"{base_url}/oauth/token", data={"code": code}, auth=SEAM)
    assert form.status_code == 400 and form.json()["error"] == "invalid_request"
    # JSON naming another grant type means that grant type.
    other = legacy_token(base_url, code, *SEAM, grant_type="password")
    assert other.status_code == 400 and other.json()["error"] == "unsupported_grant_type"
    # A legacy code redeemed in the RFC's form needs no redirect_uri either (the authorization
    # request decides), but every other check applies.
    code = legacy_code(base_url, SEAM_PRODUCTION, "alice@example.com", "lockcloud-demo")["code"]
    rfc = requests.post(f"{base_url}/oauth/token", data={"grant_type": "authorization_code", "code": code}, auth=SEAM)
    assert rfc.status_code == 200, rfc.text


def test_a_json_request_without_grant_type_needs_a_code(base_url):
    response = requests.post(f"{base_url}/oauth/token", json={"client_id": SEAM[0], "client_secret": SEAM[1]})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    response = requests.post(f"{base_url}/oauth/token",
                             json={"refresh_token": "lcr_x", "client_id": SEAM[0], "client_secret": SEAM[1]})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_the_older_guides_unlock_answers_500_when_the_lock_does_not(base_url, lockcloud_bin, database_url):
    from test_lock_actions import Fleet
    fleet = Fleet(base_url, lockcloud_bin, database_url)
    try:
        lock_id = fleet.locks[0]["lock_id"]
        fleet.simulate(lock_id, "offline")  # stops answering; still counted online for a few seconds
        response = fleet.api.post(f"{base_url}/locks/{lock_id}/unlock", json={})
        assert response.status_code == 500, response.text
        body = response.json()
        assert body["error_id"] in ("DEVICE_TIMEOUT", "DEVICE_OFFLINE") and body["error_message"]
    finally:
        fleet.stop()
