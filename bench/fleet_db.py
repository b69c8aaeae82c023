"""The database side of the fleet benchmark: the fleet's locks and owner, and counting the
statements the server sends while the fleet is idle."""
import asyncio
import secrets
import subprocess

from seed import REDIRECT, owner, psql
from oauth_helpers import create_client


async def psql_async(url, sql):
    """psql without blocking the event loop that runs the fleet."""
    process = await asyncio.create_subprocess_exec(
        "psql", url, "-v", "ON_ERROR_STOP=1", "-qtAc", sql,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"psql failed: {err.decode().strip()}")
    return out.decode().strip()


def seed_fleet(base_url, lockcloud_bin, database_url, count):
    """An owner with an OAuth token allowed to POST actions (locks.write), and `count` LC-200
    locks (a model that locks and unlocks remotely) inserted in one statement: pairing them one
    by one through the API would take minutes. Each lock's device credential is stored as the
    gateway looks it up: SHA-256 of the credential's UTF-8 bytes (SecretToken.hash).
    Returns (owner access token, [(lock_id, credential)])."""
    client = create_client(lockcloud_bin, database_url, REDIRECT, name="Fleet bench client")
    owner_id, tokens = owner(base_url, lockcloud_bin, database_url, client)
    # A tag per run: credentials are unique across the table, and the case may run twice on one database.
    prefix = f"fleet-{secrets.token_hex(4)}-"
    rows = psql(database_url,
                "INSERT INTO locks (owner_id, model_id, name, timezone, device_credential_hash, offline_key_sealed) "
                f"SELECT '{owner_id}', 'lc-200', 'Fleet ' || i, 'UTC', sha256(convert_to('{prefix}' || i, 'UTF8')), "
                f"'\\x00'::bytea FROM generate_series(1, {count}) i RETURNING lock_id, substr(name, 7)")
    psql(database_url, "ANALYZE locks")
    locks = []
    for line in rows.splitlines():
        lock_id, number = line.split("|")
        locks.append((lock_id, prefix + number))
    return tokens["access_token"], locks


class StatementCounter:
    """Statements the server ran, from pg_stat_statements when the cluster loads it (make bench
    starts PostgreSQL with it, tracking switched off until this case switches it on, so the
    other cases do not pay for it), otherwise committed and rolled-back transactions from
    pg_stat_database (a lower bound: a heartbeat is one transaction of several statements, and
    backends report those counters only every few seconds)."""

    def __init__(self, database_url):
        self.url = database_url
        self.source = "pg_stat_database_xacts"

    def enable(self):
        try:
            psql(self.url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            self.track_before = psql(self.url, "SHOW pg_stat_statements.track")
            psql(self.url, "ALTER SYSTEM SET pg_stat_statements.track = 'top'")
            psql(self.url, "SELECT pg_reload_conf()")
            psql(self.url, "SELECT count(*) FROM pg_stat_statements")  # fails unless preloaded
            self.source = "pg_stat_statements"
        except subprocess.CalledProcessError:
            self.source = "pg_stat_database_xacts"

    def disable(self):
        if self.source == "pg_stat_statements":
            psql(self.url, f"ALTER SYSTEM SET pg_stat_statements.track = '{self.track_before}'")
            psql(self.url, "SELECT pg_reload_conf()")

    async def snapshot(self):
        """{statement text: calls} (or {"transactions": n}), this benchmark's own queries left out."""
        if self.source == "pg_stat_statements":
            rows = await psql_async(
                self.url,
                "SELECT calls, regexp_replace(left(query, 90), '\\s+', ' ', 'g') FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND query NOT LIKE '%pg_stat%' AND query NOT LIKE '%pg_reload_conf%'")
            counts = {}
            for line in rows.splitlines():
                calls, query = line.split("|", 1)
                counts[query] = counts.get(query, 0) + int(calls)
            return counts
        total = await psql_async(
            self.url, "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()")
        return {"transactions": int(total)}


def difference(before, after):
    """Per-statement calls between two snapshots, most frequent first."""
    delta = {query: calls - before.get(query, 0) for query, calls in after.items()}
    return sorted(((calls, query) for query, calls in delta.items() if calls > 0), reverse=True)
