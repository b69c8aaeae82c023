"""Read replicas (issue 20, item 2): with `DATABASE_READ_URL` on a streaming replica, the lock
and code lists, one code, and `GET /events` are read there once the replica has replayed the
primary's WAL position from the request's token check; otherwise, and whenever the replica is
down, behind or erroring, on the primary. A client never reads its own write as missing.

Each test has a primary of its own and a real replica of it made with `pg_basebackup -R` over
loopback (`scripts/pg.sh replica`), and its own server. Where a read went is counted in
`/metrics` (`lockcloud_db_replica_reads_total{outcome=...}`)."""
import os
import re
import subprocess
import uuid

import pytest
import requests

from conftest import ROOT, PrivateCluster, _env, free_port, psql
from oauth_helpers import SEAM, tokens_for
from test_lock_actions import wait_until

READ_SESSIONS = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lockcloud-read'"


class Replica:
    """A streaming replica of `primary`, on a port of its own."""

    def __init__(self, primary):
        self.primary = primary
        self.datadir = os.path.join(_env("LOCKCLOUD_TEST_WORKDIR"), "pg-replica-" + uuid.uuid4().hex[:8])
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/lockcloud"
        self._pg("replica", str(self.port), str(primary.port))

    def _pg(self, *args):
        subprocess.run([str(ROOT / "scripts/pg.sh"), args[0], self.datadir, *args[1:]], check=True,
                       stdin=subprocess.DEVNULL)

    def stop(self):
        self._pg("stop")

    def crash(self):
        self._pg("crash")

    def start(self):
        self._pg("replica", str(self.port), str(self.primary.port))

    def purge(self):
        self._pg("purge")

    def catch_up(self):
        """Waits until the replica has replayed everything the primary has written so far."""
        target = psql(self.primary.url, "SELECT pg_current_wal_insert_lsn()")
        wait_until(lambda: psql(self.url, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") == "t", timeout=30)

    def pause(self):
        """Stops replay; returns once the replica says it has paused (a committed transaction on
        the primary each round gives a waiting replica a record to pause before)."""
        psql(self.url, "SELECT pg_wal_replay_pause()")

        def paused():
            psql(self.primary.url, "SELECT txid_current()")
            return psql(self.url, "SELECT pg_get_wal_replay_pause_state()") == "paused"
        wait_until(paused, timeout=30)

    def resume(self):
        psql(self.url, "SELECT pg_wal_replay_resume()")


def prepare(lockcloud_bin, url):
    for command in ("migrate", "demo"):
        done = subprocess.run([lockcloud_bin, command, "--database-url", url, "--log-level", "warning"],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def replica_server(start_server, primary_url, read_url):
    return start_server(primary_url, env={
        "DATABASE_READ_URL": read_url, "LOCKCLOUD_DB_READ_BACKOFF_MS": "300",
        "LOCKCLOUD_WEBHOOK_DELIVERY": "false", "LOCKCLOUD_RETENTION": "false"})


class Setup:
    def __init__(self, primary, replica, server):
        self.primary, self.replica, self.server = primary, replica, server
        self.api = {"Authorization": "Bearer " + tokens_for(server.url)["access_token"]}

    def get(self, path, **kwargs):
        kwargs.setdefault("headers", self.api)
        response = requests.get(self.server.url + path, timeout=30, **kwargs)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def send(self, method, path, body):
        response = requests.request(method, self.server.url + path, json=body, headers=self.api, timeout=30)
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        return response.json()

    def reads(self):
        text = requests.get(self.server.url + "/metrics", timeout=10).text
        found = re.findall(r'^lockcloud_db_replica_reads_total\{outcome="(\w+)"\} ([0-9.e+]+)$', text, re.M)
        return {outcome: int(float(value)) for outcome, value in found}

    def served_by_replica(self, path, **kwargs):
        """Whether one read of `path` was served by the replica (nothing else reads here)."""
        before = self.reads().get("replica", 0)
        self.get(path, **kwargs)
        return self.reads().get("replica", 0) == before + 1

    def lock_listed_by_the_replica(self, name):
        """A new lock, once the replica has caught up and served a list with it."""
        lock_id = self.send("POST", "/locks", {"name": name, "timezone": "UTC"})["lock_id"]
        self.replica.catch_up()
        wait_until(lambda: self.served_by_replica("/locks?limit=100"), timeout=30)
        return lock_id

    def lock_name(self, lock_id):
        return [lock["name"] for lock in self.get("/locks?limit=100")["locks"] if lock["lock_id"] == lock_id]


@pytest.fixture
def replicated(lockcloud_bin, start_server):
    primary = PrivateCluster()
    replica = None
    try:
        prepare(lockcloud_bin, primary.url)
        replica = Replica(primary)
        server = replica_server(start_server, primary.url, replica.url)
        yield Setup(primary, replica, server)
        # Stopped before its clusters go (start_server's teardown closes its log afterwards).
        server.process.terminate()
        server.process.wait(timeout=30)
    finally:
        if replica:
            replica.purge()
        primary.purge()


def test_lists_one_code_and_events_are_read_on_a_replica_that_has_caught_up(replicated):
    r = replicated
    lock_id = r.send("POST", "/locks", {"name": "Front door", "timezone": "UTC"})["lock_id"]
    code_id = r.send("POST", f"/locks/{lock_id}/access_codes", {"code": "4812"})["access_code_id"]
    r.replica.catch_up()
    reads = [
        ("/locks?limit=100", {}), (f"/locks/{lock_id}/access_codes", {}), (f"/access_codes?lock_id={lock_id}", {}),
        (f"/access_codes/{code_id}", {}), ("/events", {}), ("/events", {"headers": {}, "auth": SEAM}),
    ]
    for path, how in reads:
        # Background work (the sweeper) may write between two reads; then a read waits for the
        # next one on the primary, which is right. One read served by the replica is the point.
        wait_until(lambda: r.served_by_replica(path, **how), timeout=30)
    assert int(psql(r.replica.url, READ_SESSIONS)) >= 1
    # What the replica served is the data.
    assert r.lock_name(lock_id) == ["Front door"]
    assert [c["access_code_id"] for c in r.get(f"/locks/{lock_id}/access_codes")["access_codes"]] == [code_id]
    assert r.get(f"/access_codes/{code_id}")["code"] == "4812"
    assert lock_id in str(r.get("/events")["events"])


def test_a_write_is_read_back_at_once_whatever_the_replica_has_replayed(replicated):
    r = replicated
    lock_id = r.send("POST", "/locks", {"name": "Back door", "timezone": "UTC"})["lock_id"]
    for i in range(15):
        r.send("PATCH", f"/locks/{lock_id}", {"name": f"Back door {i}"})
        assert r.lock_name(lock_id) == [f"Back door {i}"]
        code_id = r.send("POST", f"/locks/{lock_id}/access_codes", {"code": f"{5100 + i}"})["access_code_id"]
        assert code_id in [c["access_code_id"] for c in r.get(f"/locks/{lock_id}/access_codes")["access_codes"]]
        assert code_id in [c["access_code_id"] for c in r.get(f"/access_codes?lock_id={lock_id}")["access_codes"]]
        assert r.get(f"/access_codes/{code_id}")["access_code_id"] == code_id
        added = r.send("POST", "/locks", {"name": f"Extra {i}", "timezone": "UTC"})["lock_id"]  # device.added
        assert added in str(r.get("/events?limit=1000")["events"])
        # A write straight into the primary, as other tests make them, is seen at once too.
        psql(r.primary.url, f"UPDATE locks SET name = 'Written by psql {i}' WHERE lock_id = '{lock_id}'")
        assert r.lock_name(lock_id) == [f"Written by psql {i}"]


def test_a_paused_replica_is_never_read_stale_and_is_read_again_once_it_replays(replicated):
    r = replicated
    lock_id = r.lock_listed_by_the_replica("Garage")
    r.replica.pause()
    psql(r.primary.url, f"UPDATE locks SET name = 'Garage, renamed' WHERE lock_id = '{lock_id}'")
    code_id = r.send("POST", f"/locks/{lock_id}/access_codes", {"code": "7713"})["access_code_id"]
    added = r.send("POST", "/locks", {"name": "Carport", "timezone": "UTC"})["lock_id"]  # device.added
    before = r.reads()
    for _ in range(10):
        assert r.lock_name(lock_id) == ["Garage, renamed"]
        assert [c["access_code_id"] for c in r.get(f"/locks/{lock_id}/access_codes")["access_codes"]] == [code_id]
        assert added in str(r.get("/events?limit=1000")["events"])
    after = r.reads()
    assert after["replica"] == before["replica"]
    assert after["primary_replica_behind"] == before["primary_replica_behind"] + 30
    # The replica's own view is stale: it is what those reads were kept from.
    assert psql(r.replica.url, f"SELECT name FROM locks WHERE lock_id = '{lock_id}'") == "Garage"
    assert psql(r.replica.url, f"SELECT count(*) FROM access_codes WHERE lock_id = '{lock_id}'") == "0"
    assert psql(r.replica.url, f"SELECT count(*) FROM events WHERE device_id = '{added}'") == "0"

    r.replica.resume()
    wait_until(lambda: r.served_by_replica("/locks?limit=100"), timeout=30)
    assert r.lock_name(lock_id) == ["Garage, renamed"]


@pytest.mark.parametrize("how", ["stop", "crash"])
def test_reads_fall_back_to_the_primary_while_the_replica_is_stopped_and_return_when_it_is_back(replicated, how):
    """Stopped, or crashed (restarting from an older state than it had replayed: the positions
    its sessions reported before are not trusted afterwards)."""
    r = replicated
    lock_id = r.lock_listed_by_the_replica("Shed")
    getattr(r.replica, how)()
    before = r.reads()
    for i in range(10):
        r.send("PATCH", f"/locks/{lock_id}", {"name": f"Shed {i}"})
        assert r.lock_name(lock_id) == [f"Shed {i}"]
    after = r.reads()
    assert after["replica"] == before["replica"]
    assert after["primary_replica_failed"] > before["primary_replica_failed"]
    assert "read replica unusable" in r.server.output()

    r.replica.start()
    wait_until(lambda: r.served_by_replica("/locks?limit=100"), timeout=30)
    assert r.lock_name(lock_id) == ["Shed 9"]
    assert "read replica answers again" in r.server.output()


@pytest.mark.parametrize("read_url", ["nothing listening", "the primary itself"])
def test_a_read_url_that_is_no_replica_costs_nothing_but_the_fallback(lockcloud_bin, start_server, private_cluster, read_url):
    """Started with the replica unreachable, or pointed at a server that is not in recovery
    (whose replay position proves nothing), the server serves every read from the primary."""
    prepare(lockcloud_bin, private_cluster.url)
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/lockcloud" if read_url == "nothing listening" else private_cluster.url
    server = replica_server(start_server, private_cluster.url, url)
    r = Setup(private_cluster, None, server)
    lock_id = r.send("POST", "/locks", {"name": "Porch", "timezone": "UTC"})["lock_id"]
    for _ in range(5):
        assert r.lock_name(lock_id) == ["Porch"]
    counts = r.reads()
    assert counts["replica"] == 0
    assert counts["primary_replica_failed"] >= 1
    assert counts["primary_replica_failed"] + counts["primary_replica_down"] == 5


def test_the_shared_server_reads_lists_from_its_replica(base_url):
    """`make test`'s shared server has its read pool on a streaming replica (scripts/test.sh), so
    the whole HTTP suite and the contract run read through it: lists reach the replica once it
    has caught up, and are answered either way."""
    if os.environ.get("LOCKCLOUD_TEST_SHARED_READ_REPLICA") != "1":
        pytest.fail("LOCKCLOUD_TEST_SHARED_READ_REPLICA is not set: run the tests with `make test`")
    token = tokens_for(base_url)["access_token"]

    def replica_reads():
        text = requests.get(base_url + "/metrics", timeout=10).text
        found = re.findall(r'^lockcloud_db_replica_reads_total\{outcome="replica"\} ([0-9.e+]+)$', text, re.M)
        return int(float(found[0])) if found else 0

    before = replica_reads()

    def one_list_on_the_replica():
        answer = requests.get(base_url + "/locks", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200, answer.text
        return replica_reads() > before
    wait_until(one_list_on_the_replica, timeout=60)
