"""LockCloud behind PgBouncer in transaction mode (README, Operations). `make test` starts the
shared server through a PgBouncer of its own (scripts/pgbouncer.sh: transaction mode, 4 server
connections for the server's pool of 8, LOCKCLOUD_DB_PREPARED_STATEMENTS=unnamed), so every HTTP
test and the contract run go through it. These tests check that they really do, and the
settings that make it safe."""
import os
import subprocess

import pytest
import requests

from oauth_helpers import tokens_for


@pytest.fixture(scope="module")
def admin_url():
    url = os.environ.get("LOCKCLOUD_TEST_PGBOUNCER_ADMIN_URL")
    if not url:
        pytest.fail("LOCKCLOUD_TEST_PGBOUNCER_ADMIN_URL is not set: run the tests with `make test`")
    return url


def admin(url, command):
    """Rows of a PgBouncer admin console command, as dicts."""
    out = subprocess.run(["psql", url, "-AF", "\t", "-c", command], check=True, capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:-1]]


def lockcloud_stats(url):
    return next(row for row in admin(url, "SHOW STATS") if row["database"] == "lockcloud")


def test_the_shared_server_reaches_postgresql_only_through_pgbouncer_in_transaction_mode(base_url, admin_url):
    pool = next(row for row in admin(admin_url, "SHOW POOLS") if row["database"] == "lockcloud")
    assert pool["pool_mode"] == "transaction"
    token = tokens_for(base_url)["access_token"]
    before = int(lockcloud_stats(admin_url)["total_xact_count"])
    for _ in range(20):
        answer = requests.get(f"{base_url}/locks", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200, answer.text
    after = int(lockcloud_stats(admin_url)["total_xact_count"])
    # Each authenticated read is at least one transaction (the token check and the list), all of
    # which PgBouncer counted: none went around it.
    assert after - before >= 20, (before, after)
    clients = [row for row in admin(admin_url, "SHOW CLIENTS") if row["database"] == "lockcloud"]
    servers = [row for row in admin(admin_url, "SHOW SERVERS") if row["database"] == "lockcloud"]
    assert any(row.get("application_name") == "lockcloud" for row in clients), clients
    assert len(servers) <= 4, servers


@pytest.mark.parametrize("env, message", [
    ({"LOCKCLOUD_DB_PREPARED_STATEMENTS": "unnamed"}, "DATABASE_DIRECT_URL"),
    ({"LOCKCLOUD_DB_PREPARED_STATEMENTS": "sometimes"}, "must be named or unnamed"),
])
def test_pooler_settings_that_cannot_work_stop_startup_with_a_message(lockcloud_bin, database_url, env, message):
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_DIRECT_URL"}
    environment.update(env)
    done = subprocess.run([lockcloud_bin, "serve", "--port", "0", "--database-url", database_url],
                          env=environment, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode != 0
    assert message in done.stdout + done.stderr
