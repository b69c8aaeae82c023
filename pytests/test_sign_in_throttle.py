"""Sign-in throttling that strangers cannot turn against owners (issue 16, item 5): failures
count per (account, client address); the client address comes from X-Forwarded-For/Forwarded
only when the socket peer is a trusted proxy; a per-account ceiling still stops a guesser
spread over many addresses. Each test runs a server of its own on a fresh database."""
import os
import subprocess

import pytest
from requests.adapters import HTTPAdapter

from oauth_helpers import Browser, create_client, csrf_of, SEAM_REDIRECT

# Cost 4: the ceiling test makes 100 failed sign-ins; the limits do not depend on the cost.
FAST = {"LOCKCLOUD_BCRYPT_COST": "4"}


class SourceAddress(HTTPAdapter):
    """Connects from one loopback address (any of 127.0.0.0/8 reaches a server on 127.0.0.1),
    so the server sees a different socket peer per browser."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class World:
    def __init__(self, start_server, database_url, lockcloud_bin, trusted):
        env = dict(FAST, LOCKCLOUD_TRUSTED_PROXIES=trusted)
        self.server = start_server(database_url, env=env)
        self.client_id, _ = create_client(lockcloud_bin, database_url, SEAM_REDIRECT)
        self.email, self.password = "owner@example.com", "the-right-password"
        result = subprocess.run(
            [lockcloud_bin, "owners", "create", "--email", self.email, "--database-url", database_url,
             "--log-level", "warning"], input=self.password + "\n", capture_output=True, text=True, timeout=60,
            env=dict(os.environ, **FAST))
        assert result.returncode == 0, result.stderr

    def browser(self, source="127.0.0.1", forwarded_for=None, header="X-Forwarded-For"):
        browser = Browser(self.server.url)
        browser.session.mount("http://", SourceAddress(source))
        if forwarded_for:
            browser.session.headers[header] = forwarded_for
        browser.page = browser.authorize(client_id=self.client_id)
        assert browser.page.status_code == 200, browser.page.text
        return browser

    @staticmethod
    def try_sign_in(browser, email, password):
        """One sign-in on the browser's pending request: "ok" (consent shown), "incorrect" or
        "throttled"."""
        page = browser.sign_in(browser.page, email, password)
        if "Allow" in page.text:
            return "ok"
        browser.page = page  # the sign-in form again, with its message
        if "Too many failed sign-ins" in page.text:
            return "throttled"
        assert "incorrect" in page.text, page.text
        return "incorrect"


@pytest.fixture
def world(start_server, scratch_database, lockcloud_bin):
    return lambda trusted="": World(start_server, scratch_database, lockcloud_bin, trusted)


def test_behind_a_trusted_proxy_one_forwarded_address_cannot_lock_out_another(world):
    w = world("127.0.0.0/8, ::1/128")
    attacker = w.browser(forwarded_for="198.51.100.7")
    # 20 failures over many accounts: the per-address limit, reached by the attacker's address.
    for i in range(20):
        assert w.try_sign_in(attacker, f"victim-{i % 4}@example.com", "guess") == "incorrect"
    assert w.try_sign_in(attacker, "someone-else@example.com", "guess") == "throttled"
    # Same proxy (same socket peer), another client behind it: not affected.
    assert w.try_sign_in(w.browser(forwarded_for="203.0.113.9"), w.email, w.password) == "ok"
    # RFC 7239's header is read the same way.
    assert w.try_sign_in(w.browser(forwarded_for='for="203.0.113.10:1234"', header="Forwarded"),
                         w.email, w.password) == "ok"
    assert w.try_sign_in(w.browser(forwarded_for="for=198.51.100.7", header="Forwarded"),
                         w.email, w.password) == "throttled"


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(world):
    # Only 10.0.0.0/8 is trusted; the test's connections come from loopback.
    w = world("10.0.0.0/8")
    for i in range(5):
        stranger = w.browser(forwarded_for=f"198.51.100.{i + 1}")
        assert w.try_sign_in(stranger, w.email, "guess") == "incorrect"
    # Each invented address was ignored: all five counted against 127.0.0.1 with this account.
    assert w.try_sign_in(w.browser(forwarded_for="203.0.113.9"), w.email, w.password) == "throttled"


def test_five_wrong_passwords_from_one_address_leave_the_owner_free_elsewhere(world):
    w = world()
    stranger = w.browser(source="127.0.0.2")
    for _ in range(5):
        assert w.try_sign_in(stranger, w.email, "guess") == "incorrect"
    # The stranger's address is refused for this account, even with the right password...
    assert w.try_sign_in(w.browser(source="127.0.0.2"), w.email, w.password) == "throttled"
    # ...but the owner, from their own address, signs in.
    assert w.try_sign_in(w.browser(source="127.0.0.3"), w.email, w.password) == "ok"


def test_many_addresses_against_one_account_meet_the_ceiling(world):
    w = world("127.0.0.0/8")
    results = []
    attacker = w.browser()
    # Up to 4 guesses per forwarded address (under the pair limit), address after address.
    for i in range(40):
        attacker.session.headers["X-Forwarded-For"] = f"198.51.{100 + i // 250}.{i % 250 + 1}"
        for _ in range(4):
            results.append(w.try_sign_in(attacker, w.email, "guess"))
            if results[-1] == "throttled":
                break
        if results[-1] == "throttled":
            break
    assert "throttled" in results, results
    # 100 failures in a day: refused from a fresh address too, the right password included.
    assert results.count("incorrect") == 100
    assert w.try_sign_in(w.browser(forwarded_for="203.0.113.50"), w.email, w.password) == "throttled"
    # Another account is not affected.
    assert w.try_sign_in(w.browser(forwarded_for="203.0.113.50"), "other@example.com", "guess") == "incorrect"
