"""Operations: the database going away and coming back, migrations from several processes, a
changed migration, and graceful shutdown."""
import signal
import socket
import subprocess
import time

import requests

from conftest import ROOT, psql


def wait_for_status(url, status, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = requests.get(url, timeout=2).status_code
            if last == status:
                return time.monotonic()
        except requests.RequestException as error:
            last = repr(error)
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer {status} within {timeout}s (last: {last})")


def test_health_turns_503_when_the_database_stops_and_heals_without_a_restart(private_cluster, start_server):
    server = start_server(private_cluster.url)
    pid = server.process.pid

    private_cluster.stop()
    stopped = time.monotonic()
    wait_for_status(f"{server.url}/health", 503, timeout=5)
    assert time.monotonic() - stopped < 5
    body = requests.get(f"{server.url}/health").json()
    assert body["ok"] is False and body["error_code"] == "DATABASE_UNAVAILABLE"

    private_cluster.start()
    started = time.monotonic()
    wait_for_status(f"{server.url}/health", 200, timeout=5)
    assert time.monotonic() - started < 5
    assert server.process.poll() is None and server.process.pid == pid


def test_two_migrate_processes_at_once_both_succeed_and_migrations_run_once(lockcloud_bin, scratch_database):
    command = [lockcloud_bin, "migrate", "--database-url", scratch_database, "--log-level", "warning"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    outputs = [p.communicate(timeout=60)[0] for p in (first, second)]
    assert first.returncode == 0, outputs[0]
    assert second.returncode == 0, outputs[1]
    files = sorted(p.name for p in (ROOT / "migrations").glob("*.sql"))
    versions = psql(scratch_database, "SELECT version FROM schema_migrations ORDER BY version").splitlines()
    assert [int(v) for v in versions] == [int(f.split("_")[0]) for f in files]
    summaries = sorted(o.strip().splitlines()[-1] for o in outputs)
    assert summaries == sorted([f"migrations: {len(files)} applied, 0 already applied",
                                f"migrations: 0 applied, {len(files)} already applied"])


def test_a_changed_applied_migration_stops_startup_with_a_clear_message(
        lockcloud_bin, scratch_database, migrations_copy):
    migrate = [lockcloud_bin, "migrate", "--database-url", scratch_database, "--migrations-dir", str(migrations_copy)]
    subprocess.run(migrate, check=True, capture_output=True)
    first = sorted(migrations_copy.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after it was applied\n")
    result = subprocess.run(
        [lockcloud_bin, "serve", "--port", "0", "--database-url", scratch_database,
         "--migrations-dir", str(migrations_copy)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"migration {first.stem} was changed after it was applied" in result.stderr + result.stdout


def test_sigterm_lets_an_in_flight_request_finish(start_server, database_url):
    server = start_server(database_url)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        # A request whose body is still arriving is in flight when SIGTERM lands.
        conn.sendall(b"POST /health HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n")
        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert server.process.poll() is None, "server exited with a request in flight"
        conn.sendall(b"0\r\n\r\n")
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 405"), reply
    assert b'"error_code":"METHOD_NOT_ALLOWED"' in reply
    assert server.process.wait(timeout=15) == 0
