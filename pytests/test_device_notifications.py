"""Wake-ups without polling (issue 17, item 1): a lock waiting in `GET /device/v1/commands?wait=N`
is woken by a PostgreSQL notification, from whichever instance created its command; a lost
notification connection loses no command; and waiting locks cost the database nothing.

Each test runs servers of its own on a database of its own, so the database's counters
(`pg_stat_database.xact_commit`) count only what those servers do."""
import concurrent.futures
import http.client
import json
import subprocess
import threading
import time

import requests

from conftest import psql
from oauth_helpers import tokens_for
from test_lock_actions import wait_until

# The notification listener's sessions, as `pg_stat_activity` names them.
LISTENERS = "SELECT pid FROM pg_stat_activity WHERE application_name = 'lockcloud-listener' AND datname = current_database()"


def prepared_database(lockcloud_bin, url, locks):
    """Schema, demo data, and `locks` of alice's locks paired with the credentials `notify-<i>`."""
    for command in ("migrate", "demo"):
        done = subprocess.run([lockcloud_bin, command, "--database-url", url, "--log-level", "warning"],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    psql(url, f"""
        INSERT INTO locks (owner_id, model_id, name, timezone, device_credential_hash, offline_key_sealed)
        SELECT owner_id, 'lc-200', 'Notify ' || i, 'UTC', sha256(('notify-' || i)::bytea), '\\x00'::bytea
        FROM owners, generate_series(1, {locks}) i WHERE email = 'alice@example.com'""")
    rows = psql(url, "SELECT lock_id, substring(name from 8) FROM locks WHERE name LIKE 'Notify %' ORDER BY name")
    return {int(number): lock_id for lock_id, number in (line.split("|") for line in rows.splitlines())}


def device(credential):
    return {"Authorization": f"Bearer {credential}"}


def quiet_server(start_server, url):
    """A server whose own background work is rare: no webhook delivery, long sweeper intervals."""
    return start_server(url, env={"LOCKCLOUD_WEBHOOK_DELIVERY": "false", "LOCKCLOUD_RETENTION": "false"})


def transactions(url):
    return int(psql(url, "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"))


def start_long_poll(base_url, credential, wait):
    """A long poll in a thread, returned once it is waiting: the server sends the answer's
    status and headers when its first look at the queue found nothing, and waits for commands
    while writing the body. Its answer and when it started and arrived (monotonic) fill the
    returned dict once the thread ends."""
    answer, suspended = {}, threading.Event()

    def long_poll():
        started = time.monotonic()
        try:
            response = requests.get(f"{base_url}/device/v1/commands?wait={wait}", headers=credential, timeout=60, stream=True)
            suspended.set()
            body = response.json()
            answer.update(response=response, body=body, arrived=time.monotonic(), started=started)
        finally:
            suspended.set()

    waiting = threading.Thread(target=long_poll)
    waiting.start()
    assert suspended.wait(60), "the long poll never started waiting"
    return waiting, answer


def test_a_command_created_on_one_instance_reaches_a_lock_waiting_on_another(lockcloud_bin, scratch_database, start_server):
    url = scratch_database
    locks = prepared_database(lockcloud_bin, url, 1)
    a = quiet_server(start_server, url)
    b = quiet_server(start_server, url)
    wait_until(lambda: int(psql(url, f"SELECT count(*) FROM ({LISTENERS}) l")) == 2)
    credential = device("notify-1")
    assert requests.post(f"{b.url}/device/v1/heartbeat", json={"battery_level": 90}, headers=credential).status_code == 200
    api = {"Authorization": "Bearer " + tokens_for(a.url)["access_token"]}

    waiting, answer = start_long_poll(b.url, credential, 20)
    sent = time.monotonic()
    created = requests.post(f"{a.url}/locks/{locks[1]}/actions", json={"action": "lock"}, headers=api)
    assert created.status_code in (200, 201, 202), created.text
    waiting.join(timeout=60)
    assert answer["response"].status_code == 200
    commands = answer["body"]["commands"]
    assert [c["type"] for c in commands] == ["lock"]
    # Before the poll's own 20 s end: the notification woke it (measured: ~15 ms after the
    # action). Measured from the poll's start, so a slow machine cannot fail it: without a
    # wake-up the server holds the poll at least 20 s.
    assert answer["arrived"] - answer["started"] < 20, f"delivered {answer['arrived'] - sent:.3f} s after the action"


def waiting_long_polls(base_url):
    metrics = requests.get(f"{base_url}/metrics", timeout=10).text
    lines = [line for line in metrics.splitlines() if line.startswith("lockcloud_device_long_polls_waiting ")]
    return float(lines[0].split()[1]) if lines else None


def test_the_waiting_long_polls_are_a_metric(lockcloud_bin, scratch_database, start_server):
    url = scratch_database
    locks = prepared_database(lockcloud_bin, url, 2)
    server = quiet_server(start_server, url)
    wait_until(lambda: waiting_long_polls(server.url) == 0, timeout=30)
    # Both polls hold long enough that a slow machine still sees them counted together.
    first, _ = start_long_poll(server.url, device("notify-1"), 25)
    second, _ = start_long_poll(server.url, device("notify-2"), 15)
    wait_until(lambda: waiting_long_polls(server.url) == 2, timeout=30)
    # A command ends the first...
    api = {"Authorization": "Bearer " + tokens_for(server.url)["access_token"]}
    assert requests.post(f"{server.url}/device/v1/heartbeat", json={}, headers=device("notify-1")).status_code == 200
    created = requests.post(f"{server.url}/locks/{locks[1]}/actions", json={"action": "lock"}, headers=api)
    assert created.status_code in (200, 201, 202), created.text
    first.join(timeout=60)
    wait_until(lambda: waiting_long_polls(server.url) == 1, timeout=30)
    # ...and the second ends by itself; the gauge follows both.
    second.join(timeout=60)
    wait_until(lambda: waiting_long_polls(server.url) == 0, timeout=30)


def test_a_lost_notification_connection_loses_no_command(lockcloud_bin, scratch_database, start_server):
    url = scratch_database
    locks = prepared_database(lockcloud_bin, url, 1)
    server = quiet_server(start_server, url)
    credential = device("notify-1")
    assert requests.post(f"{server.url}/device/v1/heartbeat", json={}, headers=credential).status_code == 200
    api = {"Authorization": "Bearer " + tokens_for(server.url)["access_token"]}
    before = wait_until(lambda: psql(url, LISTENERS))

    waiting, answer = start_long_poll(server.url, credential, 25)
    # The listener's session ends, and the command is created before it can listen again: its
    # NOTIFY goes to no one. The catch-up query after re-listening must find it.
    psql(url, f"SELECT pg_terminate_backend({before}); "
              f"INSERT INTO device_commands (lock_id, command_type, payload) VALUES ('{locks[1]}', 'lock', '{{}}')")
    sent = time.monotonic()
    waiting.join(timeout=60)
    assert [c["type"] for c in answer["body"]["commands"]] == ["lock"]
    # Before the poll's own 25 s end (at which it would look again by itself): the catch-up
    # found it. Measured from the poll's start, which no slowness of the machine can beat.
    assert answer["arrived"] - answer["started"] < 25, "the command waited for the poll's own end instead of the catch-up"
    after = wait_until(lambda: psql(url, LISTENERS))
    assert after != before
    # And it listens again: the next command wakes the next poll at once.
    waiting, answer = start_long_poll(server.url, credential, 25)
    created = requests.post(f"{server.url}/locks/{locks[1]}/actions", json={"action": "unlock"}, headers=api)
    assert created.status_code in (200, 201, 202), created.text
    sent = time.monotonic()
    waiting.join(timeout=60)
    assert [c["type"] for c in answer["body"]["commands"]] == ["unlock"]
    assert answer["arrived"] - answer["started"] < 25


def poll_forever(port, credential, wait, stop, polls, errors):
    """One lock's loop of long polls on a keep-alive connection, until `stop` is set."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while not stop.is_set():
        try:
            connection.request("GET", f"/device/v1/commands?wait={wait}", headers=device(credential))
            response = connection.getresponse()
            body = json.loads(response.read())
            if response.status != 200 or body["commands"]:
                errors.append((response.status, body))
            polls.append(credential)
        except (OSError, http.client.HTTPException) as error:
            errors.append(repr(error))
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.close()


def test_waiting_locks_cost_the_database_no_statements(lockcloud_bin, scratch_database, start_server):
    count, wait, window = 500, 3, 12
    url = scratch_database
    prepared_database(lockcloud_bin, url, count)
    server = quiet_server(start_server, url)
    port = int(server.url.rpartition(":")[2])

    # A backend reports its counts when idle, at most once a second and at the latest 10 s
    # later (PostgreSQL's PGSTAT_IDLE_INTERVAL): each reading waits that long, so that it holds
    # everything done before it.
    settle = 11
    # The server's own background work (sweepers, the redelivery sweep) over the same span.
    time.sleep(settle)
    start = transactions(url)
    time.sleep(window + settle)
    background = transactions(url) - start

    stop, polls, errors = threading.Event(), [], []
    with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
        for i in range(1, count + 1):
            pool.submit(poll_forever, port, f"notify-{i}", wait, stop, polls, errors)
        # Every lock has polled once (its credential checked, its queue found empty) and is
        # waiting again.
        wait_until(lambda: len(set(polls)) == count, timeout=120)
        time.sleep(settle)
        start, polls_before = transactions(url), len(polls)
        time.sleep(window)
        polls_during = len(polls) - polls_before
        stop.set()
    time.sleep(settle)
    during = transactions(url) - start
    assert not errors, errors[:5]
    # Each lock polled again and again in the window (every `wait` seconds): with a query per
    # poll that would be thousands of statements (the old loop, one query per lock every
    # 150 ms, made ~40,000 here); without, only the background's.
    assert polls_during >= count * (window // wait) // 2, f"only {polls_during} polls in {window} s"
    assert during - background < 50, f"{during} transactions with {count} locks waiting, {background} without"
