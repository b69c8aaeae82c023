"""The other two ways to sign in: --interactive (a "person" follows the printed URL) and
--refresh-token."""
import re
import socket
import subprocess
import sys
import threading
import types

import pytest
import requests

from conftest import KIT

sys.path.insert(0, str(KIT))
import run  # noqa: E402


def kit_args(base_url, *extra):
    return [sys.executable, str(KIT / "run.py"), "--base-url", base_url, "--client-id", "seam",
            "--client-secret", "seamsecret", *extra]


def test_interactive_sign_in(lockcloud):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", 3020))
        except OSError:
            pytest.skip("port 3020 is busy on this machine")
    process = subprocess.Popen(kit_args(lockcloud["LOCKCLOUD_URL"], "--interactive", "--only", "oauth.token_response",
                                        "--interactive-timeout", "60"),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    try:
        url = None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.strip().startswith("http"):
                url = line.strip()
                break
        assert url, "".join(lines)
        # The person: signs in and approves in a "browser" that then follows the redirect.
        kit = types.SimpleNamespace(args=types.SimpleNamespace(timeout=10, redirect_uri="http://localhost:3020/oauth/callback",
                                                               email="alice@example.com", password="lockcloud-demo"),
                                    base=lockcloud["LOCKCLOUD_URL"], form_fields={}, openapi=None)
        kit.http = run.Http(kit)
        location = run.Browser(kit).walk(url)
        assert isinstance(location, str) and "code=" in location
        assert requests.get(location, timeout=10).status_code == 200
        output = "".join(lines) + process.communicate(timeout=120)[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "PASS oauth.state_round_trip" in output and "PASS oauth.token_response" in output, output


def test_refresh_token_sign_in(lockcloud):
    kit = types.SimpleNamespace(args=types.SimpleNamespace(
        timeout=10, redirect_uri="http://localhost:3020/oauth/callback", email="alice@example.com",
        password="lockcloud-demo", client_id="seam", scope="locks.read locks.write", authorize_path="/oauth/authorize"),
        base=lockcloud["LOCKCLOUD_URL"], form_fields={}, openapi=None)
    kit.http = run.Http(kit)
    verifier, challenge = run.pkce_pair()
    browser = run.Browser(kit)
    location = browser.walk(browser.authorize_url("s", challenge=challenge))
    code = run.query_of(location)["code"]
    tokens = requests.post(lockcloud["LOCKCLOUD_URL"] + "/oauth/token", auth=("seam", "seamsecret"),
                           data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                                 "redirect_uri": "http://localhost:3020/oauth/callback"}).json()
    done = subprocess.run(kit_args(lockcloud["LOCKCLOUD_URL"], "--refresh-token", tokens["refresh_token"],
                                   "--only", "oauth.refresh", "--only", "devices"),
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert "PASS oauth.refresh_token_sign_in" in done.stdout and "PASS devices.lock_fields" in done.stdout, done.stdout
    bad = subprocess.run(kit_args(lockcloud["LOCKCLOUD_URL"], "--refresh-token", "not-a-token", "--only", "oauth.refresh"),
                         capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert "FAIL oauth.refresh_token_sign_in" in bad.stdout and bad.returncode != 0, bad.stdout
