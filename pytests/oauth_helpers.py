"""A test client that walks the real authorization pages the way a browser would: it fetches
the HTML, fills the forms (CSRF token included), follows the 303s and stops at the client's
redirect URI."""
import base64
import hashlib
import re
import secrets
import subprocess
import urllib.parse as urlparse

import requests

SEAM = ("seam", "seamsecret")
SEAM_REDIRECT = "http://localhost:3020/oauth/callback"
PASSWORD = "lockcloud-demo"


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def csrf_of(html):
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def query_of(location):
    return dict(urlparse.parse_qsl(urlparse.urlparse(location).query, keep_blank_values=True))


class Browser:
    def __init__(self, base_url):
        self.base_url = base_url
        self.session = requests.Session()

    def authorize(self, client_id="seam", redirect_uri=SEAM_REDIRECT, scope="locks.read locks.write",
                  state="st-1", challenge=None, method="S256", prompt=None, path="/oauth/authorize", **extra):
        params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                  "scope": scope, "state": state, **extra}
        if challenge:
            params["code_challenge"] = challenge
            params["code_challenge_method"] = method
        if prompt:
            params["prompt"] = prompt
        return self.session.get(self.base_url + path, params=params, allow_redirects=False)

    def post_form(self, page, **fields):
        fields.setdefault("csrf_token", csrf_of(page.text))
        return self.session.post(self.base_url + "/oauth/authorize", data=fields, allow_redirects=False)

    def follow(self, response):
        assert response.status_code == 303, response.text
        location = response.headers["Location"]
        if location.startswith("/"):
            return self.session.get(self.base_url + location, allow_redirects=False)
        return location  # left LockCloud: the client's redirect URI

    def sign_in(self, page, email, password=PASSWORD):
        return self.follow(self.post_form(page, action="sign_in", email=email, password=password))

    def approve(self, page):
        return self.follow(self.post_form(page, action="approve"))

    def code_flow(self, email="alice@example.com", password=PASSWORD, **authorize_args):
        """Sign in and approve; returns the redirect URI the browser was sent to."""
        page = self.authorize(**authorize_args)
        assert page.status_code == 200, page.text
        if 'name="password"' in page.text:
            page = self.sign_in(page, email, password)
        assert "Allow" in page.text, page.text
        return self.approve(page)


def exchange(base_url, code, verifier=None, redirect_uri=SEAM_REDIRECT, auth=SEAM, json_body=False):
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier:
        fields["code_verifier"] = verifier
    if json_body:
        return requests.post(f"{base_url}/oauth/token", json={**fields, "client_id": auth[0], "client_secret": auth[1]})
    return requests.post(f"{base_url}/oauth/token", data=fields, auth=auth)


def tokens_for(base_url, email="alice@example.com", scope="locks.read locks.write", password=PASSWORD):
    verifier, challenge = pkce_pair()
    location = Browser(base_url).code_flow(email=email, password=password, challenge=challenge, scope=scope)
    response = exchange(base_url, query_of(location)["code"], verifier)
    assert response.status_code == 200, response.text
    return response.json()


def cli(lockcloud_bin, database_url, *args, stdin=None):
    return subprocess.run([lockcloud_bin, *args, "--database-url", database_url, "--log-level", "warning"],
                          input=stdin, capture_output=True, text=True, timeout=60)


def create_client(lockcloud_bin, database_url, redirect_uri, name="Test client"):
    result = cli(lockcloud_bin, database_url, "clients", "create", "--name", name, "--redirect-uri", redirect_uri)
    assert result.returncode == 0, result.stderr
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return values["client_id"], values["client_secret"]


def create_owner(lockcloud_bin, database_url, password="correct-horse"):
    email = f"owner-{secrets.token_hex(4)}@example.com"
    result = cli(lockcloud_bin, database_url, "owners", "create", "--email", email, stdin=password + "\n")
    assert result.returncode == 0, result.stderr
    return email, password


def tokens_for_client(base_url, email, password, client_id, client_secret, redirect_uri, scope="locks.read locks.write"):
    """An owner signs in and approves `client_id`; returns the client's token response."""
    verifier, challenge = pkce_pair()
    location = Browser(base_url).code_flow(email=email, password=password, client_id=client_id,
                                           redirect_uri=redirect_uri, challenge=challenge, scope=scope)
    response = exchange(base_url, query_of(location)["code"], verifier, redirect_uri=redirect_uri,
                        auth=(client_id, client_secret))
    assert response.status_code == 200, response.text
    return response.json()
