"""Third-party clients against the running server: authlib's OAuth 2.0 client completes the
code flow with PKCE, and a real headless Chromium signs in and approves through the pages."""
import http.server
import os
import threading
import time
import urllib.parse as urlparse

import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from conftest import free_port
from oauth_helpers import SEAM_REDIRECT, Browser, create_client, query_of


def test_authlib_completes_the_code_flow_with_pkce_and_refreshes(base_url, monkeypatch):
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test server speaks plain http
    client = OAuth2Session("seam", "seamsecret", scope="locks.read locks.write", redirect_uri=SEAM_REDIRECT,
                           code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic")
    verifier = generate_token(64)
    url, state = client.create_authorization_url(f"{base_url}/oauth/authorize", code_verifier=verifier)

    browser = Browser(base_url)
    page = browser.session.get(url, allow_redirects=False)
    location = browser.approve(browser.sign_in(page, "alice@example.com"))
    assert query_of(location)["state"] == state

    token = client.fetch_token(f"{base_url}/oauth/token", authorization_response=location, code_verifier=verifier)
    assert token["token_type"] == "Bearer" and token["refresh_token"].startswith("lcr_")
    assert client.get(f"{base_url}/me").json()["email"] == "alice@example.com"

    refreshed = client.refresh_token(f"{base_url}/oauth/token")
    assert refreshed["access_token"] != token["access_token"]
    assert client.get(f"{base_url}/me").status_code == 200


class CallbackReceiver:
    """A local redirect URI that records the query of the request the browser lands on."""

    def __init__(self):
        self.port = free_port()
        self.queries = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlparse.urlparse(self.path)
                if url.path == "/cb":  # not the browser's /favicon.ico
                    receiver.queries.append(dict(urlparse.parse_qsl(url.query)))
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(b"<p id='done'>callback received</p>")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def uri(self):
        return f"http://127.0.0.1:{self.port}/cb"

    def close(self):
        self.server.shutdown()


@pytest.fixture
def chromium():
    from selenium import webdriver
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager reach the network
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=900,800"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"))
    yield driver
    driver.quit()


def test_sign_in_and_consent_pages_work_in_headless_chromium(base_url, chromium, lockcloud_bin, database_url, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    receiver = CallbackReceiver()
    try:
        client_id, _ = create_client(lockcloud_bin, database_url, receiver.uri, name="Browser Test App")
        query = urlparse.urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": receiver.uri,
                                    "scope": "locks.read locks.write", "state": "from-chromium"})
        chromium.get(f"{base_url}/oauth/authorize?{query}")
        assert "Browser Test App" in chromium.page_source
        chromium.find_element(By.ID, "email").send_keys("bob@example.com")
        chromium.find_element(By.ID, "password").send_keys("lockcloud-demo")
        chromium.find_element(By.ID, "sign-in").click()

        WebDriverWait(chromium, 10).until(expected_conditions.presence_of_element_located((By.ID, "approve")))
        assert "bob@example.com" in chromium.page_source and "locks.write" in chromium.page_source
        chromium.save_screenshot(str(tmp_path / "consent.png"))
        chromium.find_element(By.ID, "approve").click()

        WebDriverWait(chromium, 10).until(expected_conditions.presence_of_element_located((By.ID, "done")))
        deadline = time.monotonic() + 5
        while not receiver.queries and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.queries[-1]["state"] == "from-chromium"
        assert receiver.queries[-1]["code"].startswith("lcc_")
    finally:
        receiver.close()
