"""The token endpoint, refresh, revocation, metadata and the bearer middleware."""
import concurrent.futures
import hashlib

import requests

from conftest import psql
from oauth_helpers import (SEAM, SEAM_REDIRECT, Browser, cli, create_client, exchange, pkce_pair,
                           query_of, tokens_for)


def me(base_url, access_token):
    return requests.get(f"{base_url}/me", headers={"Authorization": f"Bearer {access_token}"})


def fresh_code(base_url, **kwargs):
    verifier, challenge = pkce_pair()
    location = Browser(base_url).code_flow(challenge=challenge, **kwargs)
    return query_of(location)["code"], verifier


def test_token_response_is_as_the_contract_says(base_url):
    code, verifier = fresh_code(base_url)
    response = exchange(base_url, code, verifier)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "user_id", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "locks.read locks.write"
    assert "@" not in body["user_id"]
    assert me(base_url, body["access_token"]).json() == {"user_id": body["user_id"], "email": "alice@example.com"}


def test_user_id_is_stable_and_differs_between_owners(base_url):
    first = tokens_for(base_url)["user_id"]
    second = tokens_for(base_url)["user_id"]
    bob = tokens_for(base_url, email="bob@example.com")["user_id"]
    assert first == second != bob


def test_json_body_with_client_credentials_in_the_body(base_url):
    code, verifier = fresh_code(base_url)
    assert exchange(base_url, code, verifier, json_body=True).status_code == 200


def test_client_authentication_failures(base_url):
    code, verifier = fresh_code(base_url)
    wrong = exchange(base_url, code, verifier, auth=("seam", "not-the-secret"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    both = requests.post(f"{base_url}/oauth/token", auth=SEAM,
                         data={"grant_type": "authorization_code", "code": code, "client_secret": "seamsecret"})
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"
    # The failed attempts did not consume the code.
    assert exchange(base_url, code, verifier).status_code == 200


def test_grant_type_errors(base_url):
    missing = requests.post(f"{base_url}/oauth/token", data={}, auth=SEAM)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    other = requests.post(f"{base_url}/oauth/token", data={"grant_type": "password"}, auth=SEAM)
    assert other.status_code == 400 and other.json()["error"] == "unsupported_grant_type"
    wrong_type = requests.post(f"{base_url}/oauth/token", data="grant_type=refresh_token", auth=SEAM,
                               headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415


def test_code_is_single_use_and_a_replay_revokes_what_it_issued(base_url):
    code, verifier = fresh_code(base_url)
    first = exchange(base_url, code, verifier).json()
    assert me(base_url, first["access_token"]).status_code == 200
    replay = exchange(base_url, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert me(base_url, first["access_token"]).status_code == 401
    refresh = requests.post(f"{base_url}/oauth/token", auth=SEAM,
                            data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert refresh.json()["error"] == "invalid_grant"


def test_parallel_exchanges_of_one_code_exactly_one_succeeds(base_url):
    code, verifier = fresh_code(base_url)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: exchange(base_url, code, verifier).status_code, range(8)))
    assert sorted(statuses) == [200] + [400] * 7


def test_code_is_bound_to_client_redirect_uri_and_verifier(base_url, lockcloud_bin, database_url):
    other_client = create_client(lockcloud_bin, database_url, SEAM_REDIRECT)
    code, verifier = fresh_code(base_url)
    assert exchange(base_url, code, verifier, auth=other_client).json()["error"] == "invalid_grant"

    code, verifier = fresh_code(base_url)
    assert exchange(base_url, code, verifier, redirect_uri=SEAM_REDIRECT + "x").json()["error"] == "invalid_grant"

    code, _ = fresh_code(base_url)
    assert exchange(base_url, code, pkce_pair()[0]).json()["error"] == "invalid_grant"
    code, _ = fresh_code(base_url)
    assert exchange(base_url, code, None).json()["error"] == "invalid_grant"


def test_refresh_keeps_earlier_tokens_and_the_refresh_token(base_url):
    tokens = tokens_for(base_url)
    refreshed = requests.post(f"{base_url}/oauth/token", auth=SEAM,
                              data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
    assert refreshed["access_token"] != tokens["access_token"]
    assert refreshed["refresh_token"] == tokens["refresh_token"]
    assert refreshed["user_id"] == tokens["user_id"]
    assert me(base_url, tokens["access_token"]).status_code == 200
    assert me(base_url, refreshed["access_token"]).status_code == 200


def test_parallel_refreshes_with_one_refresh_token_all_succeed(base_url):
    tokens = tokens_for(base_url)

    def refresh(_):
        return requests.post(f"{base_url}/oauth/token", auth=SEAM,
                             data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(refresh, range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    access_tokens = {r.json()["access_token"] for r in responses}
    assert len(access_tokens) == 10
    assert all(me(base_url, token).status_code == 200 for token in access_tokens)


def test_scopes_are_enforced_with_rfc6750_errors(base_url):
    write_only = tokens_for(base_url, scope="locks.write")
    assert write_only["scope"] == "locks.write"
    refused = me(base_url, write_only["access_token"])
    assert refused.status_code == 403
    assert refused.json()["error_code"] == "INSUFFICIENT_SCOPE"
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]

    narrowed = requests.post(f"{base_url}/oauth/token", auth=SEAM, data={
        "grant_type": "refresh_token", "refresh_token": tokens_for(base_url)["refresh_token"], "scope": "locks.read"})
    assert narrowed.json()["scope"] == "locks.read"
    widened = requests.post(f"{base_url}/oauth/token", auth=SEAM, data={
        "grant_type": "refresh_token", "refresh_token": write_only["refresh_token"], "scope": "locks.read"})
    assert widened.json()["error"] == "invalid_scope"


def test_missing_or_bad_bearer_token_is_401_invalid_token(base_url):
    for headers in ({}, {"Authorization": "Bearer lca_made_up"}, {"Authorization": "Basic c2VhbTpzZWFtc2VjcmV0"}):
        response = requests.get(f"{base_url}/me", headers=headers)
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
        assert response.json()["error_code"] == "INVALID_TOKEN"


def test_revoking_a_refresh_token_ends_the_grant(base_url):
    tokens = tokens_for(base_url)
    unauthenticated = requests.post(f"{base_url}/oauth/revoke", data={"token": tokens["refresh_token"]})
    assert unauthenticated.status_code == 401
    assert requests.post(f"{base_url}/oauth/revoke", auth=SEAM, data={"token": tokens["refresh_token"]}).status_code == 200
    assert me(base_url, tokens["access_token"]).status_code == 401
    refresh = requests.post(f"{base_url}/oauth/token", auth=SEAM,
                            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refresh.json()["error"] == "invalid_grant"


def test_revoking_an_access_token_leaves_the_refresh_token(base_url):
    tokens = tokens_for(base_url)
    assert requests.post(f"{base_url}/oauth/revoke", auth=SEAM, data={"token": tokens["access_token"]}).status_code == 200
    assert me(base_url, tokens["access_token"]).status_code == 401
    refreshed = requests.post(f"{base_url}/oauth/token", auth=SEAM,
                              data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    assert requests.post(f"{base_url}/oauth/revoke", auth=SEAM, data={"token": "unknown"}).status_code == 200


def test_metadata_document(base_url):
    document = requests.get(f"{base_url}/.well-known/oauth-authorization-server").json()
    assert document["issuer"] == base_url
    assert document["token_endpoint"] == base_url + "/oauth/token"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert set(document["grant_types_supported"]) == {"authorization_code", "refresh_token"}


def test_secrets_are_stored_only_as_hashes(base_url, database_url):
    tokens = tokens_for(base_url)
    digest = lambda text: hashlib.sha256(text.encode()).hexdigest()
    assert psql(database_url, "SELECT count(*) FROM oauth_access_tokens WHERE token_hash = decode('%s', 'hex')"
                % digest(tokens["access_token"])) == "1"
    assert psql(database_url, "SELECT count(*) FROM oauth_grants WHERE refresh_token_hash = decode('%s', 'hex')"
                % digest(tokens["refresh_token"])) == "1"
    for table in ("oauth_grants", "oauth_access_tokens", "oauth_authorization_codes"):
        dump = psql(database_url, f"SELECT string_agg(t::text, ' ') FROM {table} t")
        assert tokens["refresh_token"] not in dump and tokens["access_token"] not in dump
    assert psql(database_url, "SELECT password_hash LIKE '$2%' FROM owners WHERE email = 'alice@example.com'") == "t"
    assert "seamsecret" not in psql(database_url, "SELECT string_agg(t::text, ' ') FROM oauth_clients t")


def test_client_commands(lockcloud_bin, database_url):
    client_id, secret = create_client(lockcloud_bin, database_url, "https://example.com/cb", name="Listed")
    listing = cli(lockcloud_bin, database_url, "clients", "list").stdout
    assert client_id in listing and secret not in listing
    bad = cli(lockcloud_bin, database_url, "clients", "create", "--name", "x", "--redirect-uri", "http://evil.example/cb")
    assert bad.returncode != 0 and "redirect URI" in bad.stderr
    assert cli(lockcloud_bin, database_url, "clients", "delete", client_id).returncode == 0
    assert client_id not in cli(lockcloud_bin, database_url, "clients", "list").stdout


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


def test_expired_access_tokens_and_idle_refresh_tokens_are_refused(base_url, database_url):
    tokens = tokens_for(base_url)
    # Age the rows as time would (the lifetimes themselves are configuration).
    psql(database_url, "UPDATE oauth_access_tokens SET expires_at = now() - interval '1 second' "
                       "WHERE token_hash = decode('%s', 'hex')" % sha256_hex(tokens["access_token"]))
    assert me(base_url, tokens["access_token"]).status_code == 401
    refreshed = requests.post(f"{base_url}/oauth/token", auth=SEAM,
                              data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200  # refresh is what an expired access token is for

    psql(database_url, "UPDATE oauth_grants SET last_used_at = now() - interval '91 days' "
                       "WHERE refresh_token_hash = decode('%s', 'hex')" % sha256_hex(tokens["refresh_token"]))
    idle = requests.post(f"{base_url}/oauth/token", auth=SEAM,
                         data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert idle.status_code == 400 and idle.json()["error"] == "invalid_grant"


def test_expired_codes_are_refused(base_url, database_url):
    code, verifier = fresh_code(base_url)
    psql(database_url, "UPDATE oauth_authorization_codes SET expires_at = now() - interval '1 second' "
                       "WHERE code_hash = decode('%s', 'hex')" % sha256_hex(code))
    response = exchange(base_url, code, verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_codes_live_at_most_ten_minutes(base_url, database_url):
    code, _ = fresh_code(base_url)
    lifetime = psql(database_url, "SELECT extract(epoch FROM expires_at - created_at)::int FROM oauth_authorization_codes "
                                  "WHERE code_hash = decode('%s', 'hex')" % sha256_hex(code))
    assert 0 < int(lifetime) <= 600
