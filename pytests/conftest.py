"""Fixtures for the HTTP-level tests. `make test` (scripts/test.sh) starts a throwaway
PostgreSQL and one LockCloud server and passes their addresses in the environment; tests that
need to stop a database or a server start private ones of their own."""
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the tests with `make test`")
    return value


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def base_url():
    return _env("LOCKCLOUD_URL")


@pytest.fixture(scope="session")
def lockcloud_bin():
    return _env("LOCKCLOUD_BIN")


@pytest.fixture(scope="session")
def database_url():
    return _env("LOCKCLOUD_TEST_DATABASE_URL")


def psql(url, sql):
    out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-tAc", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture
def scratch_database(database_url):
    """A fresh empty database on the shared test cluster; dropped afterwards."""
    name = "py_" + uuid.uuid4().hex
    psql(database_url, f"CREATE DATABASE {name}")
    base, _, _ = database_url.rpartition("/")
    yield f"{base}/{name}"
    psql(database_url, f"DROP DATABASE {name} WITH (FORCE)")


class PrivateCluster:
    """A PostgreSQL cluster of the test's own, for stopping and starting at will."""

    def __init__(self):
        self.datadir = os.path.join(_env("LOCKCLOUD_TEST_WORKDIR"), "pg-py-" + uuid.uuid4().hex[:8])
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/lockcloud"
        self._pg("up", str(self.port))

    def _pg(self, *args):
        cmd, rest = args[0], args[1:]
        subprocess.run([str(ROOT / "scripts/pg.sh"), cmd, self.datadir, *rest], check=True,
                       stdin=subprocess.DEVNULL)

    def stop(self):
        self._pg("stop")

    def start(self):
        self._pg("start", str(self.port))

    def purge(self):
        self._pg("purge")


@pytest.fixture
def private_cluster():
    cluster = PrivateCluster()
    yield cluster
    cluster.purge()


class TrackedProcess(subprocess.Popen):
    """A Popen that remembers whether the test signalled it (terminate, kill and send_signal all
    go through send_signal), so an exit the test did not cause can be told apart."""
    signalled = False

    def send_signal(self, sig):
        self.signalled = True
        super().send_signal(sig)


def process_death(process, name, output):
    """A description of `process`'s end if it ended without the test stopping it, else None."""
    code = process.poll()
    if code is None or process.signalled:
        return None
    how = f"was killed by signal {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
    tail = "\n".join(output.splitlines()[-30:])
    return f"{name} {how} during the test, though the test did not stop it. Its last output:\n{tail}"


class Server:
    """A LockCloud process of the test's own. At the fixture's teardown, a server that died
    without the test stopping it (signal or exit) fails the test."""

    def __init__(self, binary, database_url, *args, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(_env("LOCKCLOUD_TEST_WORKDIR"), f"server-{self.port}.log")
        self.log = open(self.log_path, "w")
        environment = dict(os.environ)
        environment.update(env or {})
        self.exit_acknowledged = False
        self.process = TrackedProcess(
            [binary, "serve", "--port", str(self.port), "--database-url", database_url,
             "--migrations-dir", str(ROOT / "migrations"), *args],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environment)

    def wait_healthy(self, path="/health", timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.acknowledge_exit()  # reported here, with its output
                raise AssertionError(f"server exited with {self.process.returncode}: {self.output()}")
            try:
                if requests.get(self.url + path, timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not healthy within {timeout}s: {self.output()}")

    def output(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def acknowledge_exit(self):
        """The test has reported this server's death itself: the teardown need not."""
        self.exit_acknowledged = True

    def unexpected_death(self):
        if self.exit_acknowledged:
            return None
        return process_death(self.process, f"server {self.url}", self.output())

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture
def start_server(lockcloud_bin):
    servers = []

    def start(database_url, *args, env=None, wait=True):
        server = Server(lockcloud_bin, database_url, *args, env=env)
        servers.append(server)
        return server.wait_healthy() if wait else server

    yield start
    deaths = [death for death in (server.unexpected_death() for server in servers) if death]
    for server in servers:
        server.stop()
    if deaths:
        pytest.fail("\n\n".join(deaths), pytrace=False)


def _alive(pid):
    """Whether `pid` runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


_shared_server_death_reported = []


@pytest.fixture(autouse=True)
def shared_server_stays_alive():
    """`make test`'s own server (LOCKCLOUD_SERVER_PID) must outlive every test: the test during
    which it dies fails, naming it (scripts/test.sh checks again at the end, with its log)."""
    pid = os.environ.get("LOCKCLOUD_SERVER_PID")
    was_alive = bool(pid) and _alive(int(pid))
    yield
    if was_alive and not _alive(int(pid)) and not _shared_server_death_reported:
        _shared_server_death_reported.append(pid)
        pytest.fail(f"make test's server (pid {pid}, {os.environ.get('LOCKCLOUD_URL')}) died during this test; "
                    "its log is shown at the end of make test", pytrace=False)


@pytest.fixture
def migrations_copy(tmp_path):
    target = tmp_path / "migrations"
    shutil.copytree(ROOT / "migrations", target)
    return target
