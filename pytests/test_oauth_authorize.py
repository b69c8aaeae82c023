"""The browser side of the OAuth flow, through the real HTML forms."""
import requests

from oauth_helpers import (SEAM_REDIRECT, Browser, create_owner, csrf_of, exchange, pkce_pair,
                           query_of)


def test_full_flow_returns_code_and_state_unchanged(base_url):
    verifier, challenge = pkce_pair()
    state = "a b+c/=&ü"
    location = Browser(base_url).code_flow(challenge=challenge, state=state)
    assert location.startswith(SEAM_REDIRECT + "?")
    params = query_of(location)
    assert params["state"] == state
    assert params["code"].startswith("lcc_")
    assert exchange(base_url, params["code"], verifier).status_code == 200


def test_alias_authorize_path_works(base_url):
    browser = Browser(base_url)
    page = browser.authorize(path="/authorize")
    assert page.status_code == 200 and 'name="password"' in page.text


def test_unknown_client_shows_an_error_page_and_never_redirects(base_url):
    page = Browser(base_url).authorize(client_id="no-such-client")
    assert page.status_code == 400
    assert "Location" not in page.headers
    assert page.headers["Content-Type"].startswith("text/html")


def test_unregistered_redirect_uri_shows_an_error_page_and_never_redirects(base_url):
    for uri in ("https://evil.example/cb", SEAM_REDIRECT + "/extra", SEAM_REDIRECT + "?x=1", SEAM_REDIRECT.upper()):
        page = Browser(base_url).authorize(redirect_uri=uri)
        assert page.status_code == 400, uri
        assert "Location" not in page.headers


def test_errors_after_validation_go_to_the_redirect_uri_with_state(base_url):
    cases = [({"scope": "locks.read admin"}, "invalid_scope"),
             ({"response_type": "token"}, "unsupported_response_type"),
             ({"challenge": "x" * 43, "method": "plain"}, "invalid_request")]
    for extra, error in cases:
        response = Browser(base_url).authorize(state="keep-me", **extra)
        assert response.status_code == 303, extra
        params = query_of(response.headers["Location"])
        assert params["error"] == error and params["state"] == "keep-me"


def test_deny_sends_access_denied_with_state(base_url):
    browser = Browser(base_url)
    page = browser.sign_in(browser.authorize(state="s-deny"), "alice@example.com")
    location = browser.follow(browser.post_form(page, action="deny"))
    assert query_of(location) == {"error": "access_denied", "state": "s-deny"}


def test_consent_names_the_client_and_the_scopes(base_url):
    browser = Browser(base_url)
    page = browser.sign_in(browser.authorize(scope="locks.read"), "alice@example.com")
    assert "Seam" in page.text and "locks.read" in page.text and "locks.write" not in page.text
    assert "alice@example.com" in page.text


def test_session_skips_sign_in_but_prompt_login_asks_again(base_url):
    browser = Browser(base_url)
    browser.code_flow()
    again = browser.authorize()
    assert 'name="password"' not in again.text and "Allow" in again.text
    forced = browser.authorize(prompt="login")
    assert 'name="password"' in forced.text


def test_wrong_password_and_unknown_email_look_the_same(base_url):
    answers = []
    for email, password in (("alice@example.com", "wrong-password"), ("nobody-here@example.com", "wrong-password")):
        browser = Browser(base_url)
        page = browser.sign_in(browser.authorize(), email, password)
        answers.append((page.status_code, page.text.replace(csrf_of(page.text), "")))
    assert answers[0] == answers[1]
    assert "incorrect" in answers[0][1]


def test_repeated_failures_lock_the_account_for_a_while_from_that_address(base_url, lockcloud_bin, database_url):
    email, password = create_owner(lockcloud_bin, database_url)
    for _ in range(5):
        browser = Browser(base_url)
        page = browser.sign_in(browser.authorize(), email, "not-the-password")
        assert "incorrect" in page.text
    browser = Browser(base_url)
    page = browser.sign_in(browser.authorize(), email, password)
    assert 'name="password"' in page.text and "Too many failed sign-ins" in page.text


def test_forms_require_the_csrf_token_and_the_request_cookie(base_url):
    browser = Browser(base_url)
    page = browser.authorize()
    forged = browser.post_form(page, csrf_token="forged", action="sign_in", email="alice@example.com",
                               password="lockcloud-demo")
    assert forged.status_code == 403
    cookieless = requests.post(f"{base_url}/oauth/authorize",
                               data={"csrf_token": csrf_of(page.text), "action": "approve"}, allow_redirects=False)
    assert cookieless.status_code == 400 and "Location" not in cookieless.headers


def test_pages_forbid_framing_and_send_no_cors(base_url):
    page = Browser(base_url).session.get(
        f"{base_url}/oauth/authorize", params={"client_id": "seam", "redirect_uri": SEAM_REDIRECT,
                                               "response_type": "code"},
        headers={"Origin": "https://evil.example"})
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert not any(h.lower().startswith("access-control-") for h in page.headers)
    assert page.headers["Cache-Control"] == "no-store"


def test_a_post_answers_303(base_url):
    browser = Browser(base_url)
    response = browser.post_form(browser.authorize(), action="sign_in", email="alice@example.com",
                                 password="lockcloud-demo")
    assert response.status_code == 303


def test_an_oversized_email_is_an_ordinary_failed_sign_in(base_url, database_url):
    from conftest import psql
    browser = Browser(base_url)
    page = browser.sign_in(browser.authorize(), "a" * 5000 + "@example.com", "whatever-password")
    assert page.status_code == 200 and "incorrect" in page.text
    # The longest subject is the (address, account) pair: an IPv6 /64 and the cut email.
    assert int(psql(database_url, "SELECT max(length(subject)) FROM sign_in_failures")) <= 80 + 254
