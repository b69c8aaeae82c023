"""Retention (issue 16, item 2): a run over a large number of expired rows deletes them in
bounded batches while the API keeps answering, and deletes nothing that is still needed.

The bulk size is LOCKCLOUD_TEST_RETENTION_ROWS (default 200,000: a million expired tokens take
about two minutes to load on the loaded 2-core test machine, and the brief's limit for loading
is one minute)."""
import os
import re
import subprocess
import threading

import requests

from conftest import psql
from oauth_helpers import tokens_for
from test_lock_actions import wait_until

ROWS = int(os.environ.get("LOCKCLOUD_TEST_RETENTION_ROWS", "200000"))
BATCH = 5000
MAX_BATCHES = 10

# Rows that are still needed (or not old enough) and must survive, each with its tag in a
# column the test can find again; and old rows of every kind that must go.
KEEP_AND_DROP = """
INSERT INTO oauth_authorization_codes (code_hash, client_id, owner_id, redirect_uri, scope, expires_at)
SELECT sha256(tag::bytea), 'seam', o.owner_id, 'keep', 's', now() - age
FROM owners o, (VALUES ('code-recent', interval '1 hour'), ('code-old', interval '2 days')) v(tag, age)
WHERE o.email = 'alice@example.com';
INSERT INTO oauth_sessions (session_hash, owner_id, expires_at)
SELECT sha256(tag::bytea), o.owner_id, now() + ends
FROM owners o, (VALUES ('session-live', interval '1 hour'), ('session-expired', interval '-1 minute')) v(tag, ends)
WHERE o.email = 'alice@example.com';
INSERT INTO idempotency_keys (scope, key, request_hash, status_code, created_at)
VALUES ('retention-test', 'key-recent', '\\x00', 201, now() - interval '1 hour'),
       ('retention-test', 'key-old', '\\x00', 201, now() - interval '2 days');
INSERT INTO events (event_type, owner_id, occurred_at, data)
SELECT 'retention.test', o.owner_id, now() - age, jsonb_build_object('tag', tag)
FROM owners o, (VALUES ('event-recent', interval '10 days'), ('event-old', interval '100 days'),
                       ('event-old-queued', interval '100 days'), ('event-old-delivered', interval '100 days')) v(tag, age)
WHERE o.email = 'alice@example.com';
INSERT INTO webhooks (client_id, url, secret_sealed) VALUES ('seam', 'https://example.com/retention', '\\x00');
INSERT INTO webhook_deliveries (webhook_id, event_id, event_seq, status, created_at)
SELECT w.webhook_id, e.event_id, e.seq, CASE e.data->>'tag' WHEN 'event-old-queued' THEN 'pending' ELSE 'delivered' END,
       CASE e.data->>'tag' WHEN 'event-recent' THEN now() - interval '10 days' ELSE now() - interval '40 days' END
FROM webhooks w, events e
WHERE w.url = 'https://example.com/retention' AND e.data->>'tag' IN ('event-recent', 'event-old-queued', 'event-old-delivered');
-- The demo data has no paired lock: one of alice's, for the commands.
INSERT INTO locks (owner_id, model_id, name, timezone, device_credential_hash, offline_key_sealed)
SELECT owner_id, 'lc-200', 'Retention test', 'UTC', sha256('retention-credential'::bytea), '\\x00'::bytea
FROM owners WHERE email = 'alice@example.com';
INSERT INTO device_commands (lock_id, command_type, status, created_at, payload)
SELECT l.lock_id, 'lock', status, now() - interval '40 days', jsonb_build_object('tag', tag)
FROM (SELECT lock_id FROM locks WHERE name = 'Retention test') l,
     (VALUES ('command-open', 'pending'), ('command-done', 'done'), ('command-expired', 'expired')) v(tag, status);
UPDATE oauth_grants SET revoked_at = now() - interval '100 days'
WHERE grant_id = (SELECT grant_id FROM oauth_grants ORDER BY created_at LIMIT 1);
"""

BULK = f"""
INSERT INTO oauth_access_tokens (token_hash, grant_id, scope, expires_at)
SELECT sha256(('expired-' || i)::bytea), (SELECT grant_id FROM oauth_grants ORDER BY created_at LIMIT 1), 'locks.read',
       now() - interval '2 days' - i * interval '1 millisecond'
FROM generate_series(1, {ROWS}) i;
"""

RUN_LINE = re.compile(r"retention deleted rows")


def runs_of(log, table):
    """(rows, batches, largest batch) of each run's line for `table` in the server's log."""
    runs = []
    for line in log.splitlines():
        if RUN_LINE.search(line) and f"table={table}" in line:
            fields = dict(re.findall(r"(\w+)=(\d+)", line))
            runs.append((int(fields["rows"]), int(fields["batches"]), int(fields["largest_batch"])))
    return runs


def test_retention_deletes_in_bounded_batches_while_the_api_answers(lockcloud_bin, scratch_database, start_server):
    url = scratch_database
    for command in ("migrate", "demo"):
        done = subprocess.run([lockcloud_bin, command, "--database-url", url, "--log-level", "warning"],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    server = start_server(url, "--log-level", "info", env={
        "LOCKCLOUD_RETENTION_INTERVAL_SECONDS": "1", "LOCKCLOUD_RETENTION_BATCH_SIZE": str(BATCH),
        "LOCKCLOUD_RETENTION_MAX_BATCHES": str(MAX_BATCHES), "LOCKCLOUD_WEBHOOK_DELIVERY": "false"})
    # A grant that is revoked (kept: grants are never deleted) and a live one, whose token the
    # API calls below use.
    tokens_for(server.url)
    api = {"Authorization": "Bearer " + tokens_for(server.url)["access_token"]}
    psql(url, KEEP_AND_DROP)
    psql(url, BULK)

    expired = "SELECT count(*) FROM oauth_access_tokens WHERE expires_at < now() - interval '1 day'"
    answers, during = [], []

    def call_api():
        while True:
            remaining = int(psql(url, expired))
            response = requests.get(server.url + "/locks", headers=api, timeout=30)
            answers.append(response.status_code)
            if remaining == 0:
                return
            during.append(remaining)

    caller = threading.Thread(target=call_api)
    caller.start()
    caller.join(timeout=600)
    assert not caller.is_alive(), "expired tokens were not all deleted within ten minutes"
    assert during, "no request was made while the run was deleting"
    assert set(answers) == {200}, answers

    # Bounded: no statement deleted more than a batch, no run more than its batches, and the
    # bulk took as many runs as that bound implies.
    runs = runs_of(server.output(), "oauth_access_tokens")
    assert sum(rows for rows, _, _ in runs) >= ROWS
    assert all(largest <= BATCH and batches <= MAX_BATCHES for _, batches, largest in runs), runs
    assert len(runs) >= ROWS // (BATCH * MAX_BATCHES), runs

    # The rest of the old rows go too; what is still needed stays.
    def tags(sql):
        return set(psql(url, sql).split())
    wait_until(lambda: "event-old" not in tags("SELECT data->>'tag' FROM events WHERE event_type = 'retention.test'"),
               timeout=60, interval=0.5)
    assert tags("SELECT data->>'tag' FROM events WHERE event_type = 'retention.test'") == {
        "event-recent", "event-old-queued"}
    assert psql(url, "SELECT string_agg(status, ',' ORDER BY status) FROM webhook_deliveries") == "delivered,pending"
    assert tags("SELECT payload->>'tag' FROM device_commands WHERE payload ? 'tag'") == {"command-open"}
    assert tags("SELECT key FROM idempotency_keys WHERE scope = 'retention-test'") == {"key-recent"}
    assert psql(url, "SELECT count(*) FROM oauth_authorization_codes WHERE redirect_uri = 'keep'") == "1"
    assert int(psql(url, "SELECT count(*) FROM oauth_sessions WHERE expires_at > now()")) >= 1
    assert psql(url, "SELECT count(*) FROM oauth_sessions WHERE expires_at < now()") == "0"
    assert psql(url, "SELECT count(*) FROM oauth_grants") == "2"
    assert requests.get(server.url + "/locks", headers=api).status_code == 200
