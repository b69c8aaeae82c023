"""The queries that run on every list page and every lock report are served by indexes, and
heartbeats are HOT updates of `locks` (issue 16, item 3). The plans are PostgreSQL's own
(EXPLAIN) on a database with enough rows and fresh statistics to choose freely."""
import re
import subprocess

import pytest
import requests

from conftest import psql
from test_lock_actions import paired_lock, wait_until

OWNER = "00000000-0000-4000-8000-000000000001"
START = "('-infinity'::timestamptz, '00000000-0000-0000-0000-000000000000'::uuid)"

POPULATE = f"""
INSERT INTO owners (owner_id, email, password_hash)
SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'bulk' || i || '@example.com', 'x'
FROM generate_series(1, 10) i;
-- 30,000 locks over ten owners, created a second apart.
INSERT INTO locks (owner_id, model_id, name, timezone, device_credential_hash, offline_key_sealed, created_at)
SELECT ('00000000-0000-4000-8000-' || lpad((1 + i % 10)::text, 12, '0'))::uuid, 'lc-200', 'Bulk ' || i, 'UTC',
       sha256(('bulk-credential-' || i)::bytea), '\\x00'::bytea, now() - i * interval '1 second'
FROM generate_series(1, 30000) i;
-- 20,000 codes on one lock (refused ones: they hold no PIN), and a history of commands.
INSERT INTO access_codes (lock_id, owner_id, code, state, created_at)
SELECT l.lock_id, l.owner_id, lpad(i::text, 8, '0'), 'failed', now() - i * interval '1 second'
FROM (SELECT lock_id, owner_id FROM locks WHERE name = 'Bulk 10') l, generate_series(1, 20000) i;
INSERT INTO lock_actions (lock_id, owner_id, action, status)
SELECT lock_id, owner_id, 'unlock', 'success' FROM locks;
INSERT INTO device_commands (lock_id, command_type, action_id, status)
SELECT lock_id, 'unlock', action_id, CASE WHEN random() < 0.3 THEN 'pending' ELSE 'done' END FROM lock_actions;
INSERT INTO device_commands (lock_id, command_type, access_code_id, status)
SELECT lock_id, 'program_code', access_code_id, CASE WHEN random() < 0.3 THEN 'pending' ELSE 'done' END
FROM access_codes;
ANALYZE;
"""


@pytest.fixture
def bulk_database(lockcloud_bin, scratch_database):
    migrated = subprocess.run(
        [lockcloud_bin, "migrate", "--database-url", scratch_database, "--log-level", "warning"],
        capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr
    psql(scratch_database, POPULATE)
    return scratch_database


def plan(url, sql):
    return psql(url, "EXPLAIN " + sql)


def assert_served_by(text, index, tables):
    assert re.search(rf"Index (Only )?Scan using {index}\b", text), text
    assert "Sort" not in text, text
    for table in tables:
        assert f"Seq Scan on {table}" not in text, text


def test_list_pages_and_command_lookups_use_indexes(bulk_database):
    url = bulk_database
    lock_id = psql(url, "SELECT lock_id FROM locks WHERE name = 'Bulk 10'")
    # GET /locks (LockStore.selectPage's page): first and a later page.
    later = "(now() - interval '1 hour', 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid)"
    for after in (START, later):
        assert_served_by(plan(url, f"""
            SELECT l.*, m.max_access_codes FROM locks l JOIN lock_models m ON m.model_id = l.model_id
            WHERE l.removed_at IS NULL AND l.owner_id = '{OWNER}' AND (l.created_at, l.lock_id) > {after}
            ORDER BY l.created_at, l.lock_id LIMIT 101"""), "locks_owner_page", ["locks"])
    # GET /locks/{id}/access_codes (AccessCodeStore.list), live codes and every code.
    owner = psql(url, f"SELECT owner_id FROM locks WHERE lock_id = '{lock_id}'")
    # The lock holds 20,000 failed codes: the live list must not read them.
    assert_served_by(plan(url, f"""
        SELECT access_code_id, status, created_at FROM access_code_statuses
        WHERE owner_id = '{owner}' AND lock_id = '{lock_id}' AND (created_at, access_code_id) > {START}
          AND state IN ('pending', 'active', 'removing')
          AND status = ANY ('{{pending,scheduled,active,removing}}'::text[])
        ORDER BY created_at, access_code_id LIMIT 201"""), "access_codes_lock_live", ["access_codes"])
    assert_served_by(plan(url, f"""
        SELECT access_code_id, status, created_at FROM access_code_statuses
        WHERE owner_id = '{owner}' AND lock_id = '{lock_id}' AND (created_at, access_code_id) > {START}
          AND (NULL::text[] IS NULL OR status = ANY (NULL::text[]))
        ORDER BY created_at, access_code_id LIMIT 201"""), "access_codes_lock_created", ["access_codes"])
    # A code's commands (DeviceGatewayStore.settle, AccessCodeStore.removeExpired).
    code_id = psql(url, "SELECT access_code_id FROM access_codes LIMIT 1")
    assert_served_by(plan(url, f"""
        SELECT 1 FROM device_commands d WHERE d.access_code_id = '{code_id}' AND d.command_type = 'remove_code'
        AND d.status IN ('pending', 'delivered', 'done')"""), "device_commands_access_code", ["device_commands"])
    # A timed-out action's commands (ActionStore.failTimedOut).
    action_id = psql(url, "SELECT action_id FROM lock_actions LIMIT 1")
    assert_served_by(plan(url, f"""
        UPDATE device_commands SET status = 'expired', completed_at = now()
        WHERE action_id IN (SELECT '{action_id}'::uuid) AND status IN ('pending', 'delivered')"""),
        "device_commands_action", ["device_commands"])


def test_live_code_counts_are_inlined_and_served_by_the_live_index(bulk_database):
    """A lock's live code count (every GET /locks/{id}) and a page's counts (GET /locks) read
    only live codes through access_codes_lock_live, with access_code_is_live (0026) inlined into
    the plan, not called per code, and one lock counted by one aggregate (0024 summed a grouped
    count: two aggregate nodes to set up on every GET /locks/{id})."""
    url = bulk_database
    lock_id = psql(url, "SELECT lock_id FROM locks WHERE name = 'Bulk 10'")  # 20,000 failed codes
    one = plan(url, f"SELECT l.lock_id, c.live_codes FROM locks l CROSS JOIN LATERAL live_codes_of(l.lock_id) c "
                    f"WHERE l.lock_id = '{lock_id}'")
    assert_served_by(one, "access_codes_lock_live", ["access_codes"])
    assert len(re.findall(r"Aggregate", one)) == 1 and "access_code_is_live" not in one, one
    page = plan(url, f"""
        SELECT n.* FROM (SELECT array_agg(lock_id) AS ids FROM (SELECT lock_id FROM locks
            WHERE owner_id = (SELECT owner_id FROM locks WHERE lock_id = '{lock_id}') LIMIT 100) p) a
        CROSS JOIN LATERAL live_code_counts(a.ids) n""")
    assert re.search(r"Index (Only )?Scan using access_codes_lock_live\b", page), page
    assert "Seq Scan on access_codes" not in page and "access_code_is_live" not in page, page
    # The counts themselves, beside the plans: one active code among the 20,000 failed ones.
    psql(url, f"INSERT INTO access_codes (lock_id, owner_id, code, state) "
              f"SELECT lock_id, owner_id, '99999999', 'active' FROM locks WHERE lock_id = '{lock_id}'")
    assert psql(url, f"SELECT live_codes FROM live_codes_of('{lock_id}')") == "1"
    assert psql(url, f"SELECT live_codes FROM live_code_counts(ARRAY['{lock_id}'::uuid])") == "1"


def table_updates(database_url):
    upd, hot = psql(database_url, "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                                  "WHERE relname = 'locks'").split("|")
    return int(upd), int(hot)


def test_heartbeats_are_hot_updates_of_locks(base_url, lockcloud_bin, database_url):
    _, _, device = paired_lock(base_url, lockcloud_bin, database_url, "Heartbeats")
    beats = 40
    upd0, hot0 = table_updates(database_url)
    for i in range(beats):
        body = {"battery_level": 90 - i % 3, "lock_state": "locked", "signal_quality": 70}
        assert requests.post(f"{base_url}/device/v1/heartbeat", json=body, headers=device).status_code == 200
    # The server's statistics reach the shared counters a little later.
    wait_until(lambda: table_updates(database_url)[0] - upd0 >= beats, timeout=60, interval=0.5)
    upd, hot = table_updates(database_url)
    assert hot - hot0 >= 0.9 * (upd - upd0), (upd - upd0, hot - hot0)
