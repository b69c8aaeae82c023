"""Idempotency keys cannot stick (issue 16, item 4): a server killed between claiming a key and
answering leaves a claim with a lease; the key stays `in use` until the lease runs out and is
free to claim again afterwards."""
import hashlib
import json
import os
import subprocess
import threading
import uuid

import requests

from conftest import psql
from test_lock_actions import paired_lock, wait_until

LEASE_SECONDS = 15


def hold_row_lock(database_url, lock_id):
    """A psql session holding the lock's row (access-code creation waits for it); returns the
    process once PostgreSQL shows the lock held."""
    holder = subprocess.Popen(["psql", database_url, "-v", "ON_ERROR_STOP=1", "-tAq"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                              env={**os.environ, "PGAPPNAME": "lease-test-holder"})
    holder.stdin.write(f"BEGIN;\nSELECT 1 FROM locks WHERE lock_id = '{lock_id}' FOR UPDATE;\n")
    holder.stdin.flush()
    wait_until(lambda: psql(database_url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                          "'lease-test-holder' AND state = 'idle in transaction' "
                                          "AND query LIKE '%FOR UPDATE%'") == "1", timeout=30)
    return holder


def test_a_key_claimed_by_a_killed_server_is_free_again_after_the_lease(
        base_url, lockcloud_bin, database_url, start_server):
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, "Lease")
    key = "lease-" + uuid.uuid4().hex
    body = {"code": "515151", "name": "Guest"}
    headers = {**api, "Idempotency-Key": key}
    path = f"/locks/{lock['lock_id']}/access_codes"
    row = f"FROM idempotency_keys WHERE key = '{key}'"

    server = start_server(database_url, env={
        "LOCKCLOUD_IDEMPOTENCY_LEASE_SECONDS": str(LEASE_SECONDS), "LOCKCLOUD_WEBHOOK_DELIVERY": "false",
        "LOCKCLOUD_RETENTION": "false"})
    holder = hold_row_lock(database_url, lock["lock_id"])
    try:
        # The request claims the key, then waits for the lock's row inside its handler.
        def doomed():
            try:
                requests.post(server.url + path, json=body, headers=headers, timeout=60)
            except requests.RequestException:
                pass  # its server is killed under it
        threading.Thread(target=doomed, daemon=True).start()
        wait_until(lambda: psql(database_url, f"SELECT count(*) {row} AND status_code IS NULL") == "1", timeout=30)
        wait_until(lambda: psql(database_url, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                              "AND query LIKE '%FOR UPDATE OF l%'") != "0", timeout=30)
        server.process.kill()  # SIGKILL: nothing is released
        server.process.wait()
    finally:
        holder.stdin.write("ROLLBACK;\n")
        holder.stdin.close()
        holder.wait(timeout=30)

    # Within the lease the claim still holds: another server refuses the key as in use.
    during = requests.post(base_url + path, json=body, headers=headers)
    assert psql(database_url, f"SELECT lease_expires_at > now() {row}") == "t", "the lease ended before the check"
    assert during.status_code == 409 and during.json()["error_code"] == "IDEMPOTENCY_KEY_IN_USE", during.text

    # After the lease the key is claimed again: the request runs once, and then replays.
    wait_until(lambda: psql(database_url, f"SELECT lease_expires_at < now() {row}") == "t", timeout=LEASE_SECONDS + 30)
    created = requests.post(base_url + path, json=body, headers=headers)
    assert created.status_code == 201, created.text
    replay = requests.post(base_url + path, json=body, headers=headers)
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["access_code_id"] == created.json()["access_code_id"]
    assert psql(database_url, f"SELECT count(*) FROM access_codes WHERE lock_id = '{lock['lock_id']}'") == "1"


def test_a_claim_left_in_the_table_blocks_only_until_its_lease_ends(base_url, lockcloud_bin, database_url):
    """The row a crashed server leaves, written directly: live lease → 409, expired → claimable."""
    api, lock, _ = paired_lock(base_url, lockcloud_bin, database_url, "Lease rows")
    owner = psql(database_url, f"SELECT owner_id FROM locks WHERE lock_id = '{lock['lock_id']}'")
    scope = f"owner:{owner} client:seam"
    path = f"/locks/{lock['lock_id']}/access_codes"
    body = json.dumps({"code": "616161"}).encode()
    # The middleware's request hash: method, path, then the body's bytes.
    request_hash = hashlib.sha256(f"POST {path}\n".encode() + body).hexdigest()
    for key, lease in (("crashed-live", "now() + interval '1 hour'"), ("crashed-expired", "now() - interval '1 second'")):
        psql(database_url, f"INSERT INTO idempotency_keys (scope, key, request_hash, claim_id, lease_expires_at) "
                           f"VALUES ('{scope}', '{key}', '\\x{request_hash}', gen_random_uuid(), {lease})")

    def post(key):
        return requests.post(base_url + path, data=body,
                             headers={**api, "Content-Type": "application/json", "Idempotency-Key": key})
    live = post("crashed-live")
    assert live.status_code == 409 and live.json()["error_code"] == "IDEMPOTENCY_KEY_IN_USE", live.text
    freed = post("crashed-expired")
    assert freed.status_code == 201, freed.text
    again = post("crashed-expired")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
