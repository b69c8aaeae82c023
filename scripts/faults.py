"""The fault suite (`make faults`; `make test` runs it with --short). Each check starts what it
needs against a PostgreSQL cluster of its own with durable settings, drives real load through
real HTTP, breaks something, and prints one PASS or FAIL line with what it measured.

  python scripts/faults.py --bin .build/debug/lockcloud --pg-script scripts/pg.sh --workdir DIR [--short]
"""
import argparse
import concurrent.futures
import datetime
import itertools
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "pytests"))
from conftest import free_port  # noqa: E402
from oauth_helpers import create_client, create_owner, tokens_for_client  # noqa: E402
from webhook_receiver import Receiver  # noqa: E402

REDIRECT = "http://localhost:3020/oauth/callback"


class Cluster:
    def __init__(self, pg_script, workdir):
        self.pg_script, self.datadir, self.port = pg_script, str(Path(workdir) / "pg"), free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/lockcloud"
        self.env = {**os.environ, "PG_DURABLE": "1"}
        self.run("up", self.port)

    def run(self, command, *args):
        subprocess.run([self.pg_script, command, self.datadir, *map(str, args)], check=True, env=self.env,
                       capture_output=True)

    def psql(self, sql):
        # On standard input: the crash check's list of acknowledged ids outgrows a command-line
        # argument (seen at about 3,000 ids).
        return subprocess.run(["psql", self.url, "-v", "ON_ERROR_STOP=1", "-qtA", "-f", "-"], input=sql, check=True,
                              capture_output=True, text=True).stdout.strip()


class Server:
    def __init__(self, binary, cluster, workdir, database_url=None, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {**os.environ, "LOCKCLOUD_WEBHOOK_ALLOW_HTTP": "true",
                       "LOCKCLOUD_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true", "LOCKCLOUD_WEBHOOK_RETRY_BASE_MS": "200",
                       "LOCKCLOUD_WEBHOOK_RETRY_MAX_DELAY_SECONDS": "2", "LOCKCLOUD_WEBHOOK_TIMEOUT_SECONDS": "3",
                       "LOCKCLOUD_BCRYPT_COST": "4", **env}
        self.log_path = Path(workdir) / f"server-{self.port}.log"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [binary, "serve", "--port", str(self.port), "--database-url", database_url or cluster.url, "--log-level", "warning",
             "--migrations-dir", str(ROOT / "migrations")],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environment)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server on {self.port} did not start")

    def stop(self, sig=signal.SIGTERM):
        """Stops the server; a server that had died on its own fails the check, with its log."""
        died = self.process.poll()
        if died is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                # A server that ignores the signal must not outlive the check (seen: two stayed up
                # for an hour once their database was gone); kill it and fail with its log.
                self.process.kill()
                self.process.wait()
                self.log.close()
                tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"the server on port {self.port} did not stop within 30 s of signal {sig}:\n{tail}")
        self.log.close()
        if died is not None:
            how = f"killed by signal {-died}" if died < 0 else f"exited with status {died}"
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"the server on port {self.port} died during the check ({how}), no one stopped it:\n{tail}")


class Owner:
    """A client and an owner who granted it: API session and client credentials."""

    def __init__(self, binary, cluster, base_url):
        self.client = create_client(binary, cluster.url, REDIRECT, name="Faults")
        email, password = create_owner(binary, cluster.url)
        tokens = tokens_for_client(base_url, email, password, self.client[0], self.client[1], REDIRECT)
        self.headers = {"Authorization": "Bearer " + tokens["access_token"]}
        self.owner_id = requests.get(f"{base_url}/me", headers=self.headers).json()["user_id"]

    def pair(self, base_url, count):
        return [requests.post(f"{base_url}/locks", json={"name": f"Door {i}", "timezone": "UTC"},
                              headers=self.headers).json()["lock_id"] for i in range(count)]


class FreezingProxy:
    """A TCP proxy between the server and PostgreSQL. `freeze()` stops forwarding on the
    connections open at that moment, keeping their sockets open: to the server that is a
    half-open connection (a network path that silently drops everything). New connections
    forward normally, as after the path heals."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.pairs, self.frozen, self.stopped = [], set(), threading.Event()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database_url):
        return database_url.replace(f":{self.upstream_port}/", f":{self.port}/")

    def freeze(self):
        with self.lock:
            self.frozen.update(id(pair) for pair in self.pairs)

    def stop(self):
        self.stopped.set()
        self.listener.close()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream_port))
            pair = (client, server)
            with self.lock:
                self.pairs.append(pair)
            threading.Thread(target=self._forward, args=(pair,), daemon=True).start()

    def _forward(self, pair):
        selector = selectors.DefaultSelector()
        for sock, other in (pair, pair[::-1]):
            selector.register(sock, selectors.EVENT_READ, other)
        try:
            while not self.stopped.is_set():
                with self.lock:
                    frozen = id(pair) in self.frozen
                if frozen:
                    time.sleep(0.05)
                    continue
                for key, _ in selector.select(0.1):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            pass
        finally:
            for sock in pair:
                sock.close()


# The database deadlines the two database checks run with: short, so they finish quickly.
DEADLINES = {"LOCKCLOUD_DB_STATEMENT_TIMEOUT_MS": "1500", "LOCKCLOUD_DB_LOCK_TIMEOUT_MS": "1000",
             "LOCKCLOUD_DB_QUERY_DEADLINE_MS": "2000", "LOCKCLOUD_DB_CANCEL_GRACE_MS": "1000",
             "LOCKCLOUD_DB_POOL_SIZE": "4"}
# What a request may take while the database cannot answer: deadline and grace, plus slack for
# a loaded machine. A request that hangs past it (the failure this guards against) fails.
ANSWER_BOUND = 2.0 + 1.0 + 5.0


def timed_request(method, url, **kwargs):
    began = time.monotonic()
    try:
        status = requests.request(method, url, timeout=30, **kwargs).status_code
    except requests.RequestException as error:
        status = type(error).__name__
    return status, time.monotonic() - began


def recovers(url, headers, limit=30):
    """Seconds until two requests in a row answer 200, or None."""
    began, good = time.monotonic(), 0
    while time.monotonic() - began < limit and good < 2:
        good = good + 1 if timed_request("GET", url, headers=headers)[0] == 200 else 0
    return time.monotonic() - began if good >= 2 else None


def database_half_open(args, cluster):
    """Every database connection the server holds goes half-open mid-traffic: requests get 503
    or 504 within the deadline instead of hanging, and the server opens new connections."""
    proxy = FreezingProxy(cluster.port)
    server = Server(args.bin, cluster, args.workdir, database_url=proxy.url(cluster.url), **DEADLINES)
    try:
        owner = Owner(args.bin, cluster, server.url)
        lock_id = owner.pair(server.url, 1)[0]
        url = f"{server.url}/locks/{lock_id}"
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            warm = list(pool.map(lambda _: timed_request("GET", url, headers=owner.headers), range(16)))
            proxy.freeze()
            answers = list(pool.map(lambda _: timed_request("GET", url, headers=owner.headers), range(8)))
        recovered = recovers(url, owner.headers)
    finally:
        server.stop()
        proxy.stop()
    statuses = [status for status, _ in answers]
    slowest = max(seconds for _, seconds in answers)
    ok = (all(status == 200 for status, _ in warm) and set(statuses) <= {200, 503, 504} and 504 in statuses
          and slowest <= ANSWER_BOUND and recovered is not None)
    return report("database_half_open",
                  ok, f"answers after freezing {sorted(statuses, key=str)}, slowest {slowest:.2f} s (bound "
                      f"{ANSWER_BOUND} s); 200 again {recovered if recovered is None else round(recovered, 2)} s later")


def row_lock_held_outside(args, cluster):
    """A psql session holds a lock's row (FOR UPDATE) and sits idle in its transaction: a write
    to that lock answers 504 at the lock timeout, other requests are served, and once the
    session ends the write succeeds."""
    server = Server(args.bin, cluster, args.workdir, **DEADLINES)
    holder = None
    try:
        owner = Owner(args.bin, cluster, server.url)
        held, other = owner.pair(server.url, 2)
        holder = subprocess.Popen(["psql", cluster.url, "-qtA", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, text=True, env={**os.environ, "PGAPPNAME": "faults-holder"})
        holder.stdin.write(f"BEGIN;\nSELECT 1 FROM locks WHERE lock_id = '{held}' FOR UPDATE;\n")
        holder.stdin.flush()
        deadline = time.monotonic() + 30
        # Held once the session sits idle in its transaction right after the SELECT.
        while time.monotonic() < deadline and cluster.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'faults-holder' "
                "AND state = 'idle in transaction' AND query LIKE 'SELECT 1 FROM locks%'") == "0":
            time.sleep(0.05)
        create = f"{server.url}/locks/{held}/access_codes"
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            blocked = list(pool.map(lambda n: timed_request("POST", create, headers=owner.headers,
                                                            json={"code": f"{20000000 + n}"}), range(8)))
        served = timed_request("GET", f"{server.url}/locks/{other}", headers=owner.headers)
        holder.stdin.write("ROLLBACK;\n")
        holder.stdin.close()
        holder.wait(timeout=30)
        after = timed_request("POST", create, headers=owner.headers, json={"code": "30000000"})
    finally:
        if holder and holder.poll() is None:
            holder.kill()
        server.stop()
    statuses = [status for status, _ in blocked]
    slowest = max(seconds for _, seconds in blocked)
    ok = set(statuses) <= {503, 504} and 504 in statuses and slowest <= ANSWER_BOUND and served[0] == 200 \
        and after[0] == 201
    return report("row_lock_held_outside",
                  ok, f"writes to the held lock {sorted(statuses, key=str)}, slowest {slowest:.2f} s (bound "
                      f"{ANSWER_BOUND} s); another lock meanwhile {served[0]}; after the session ended {after[0]}")


def hour(offset):
    start = datetime.datetime.now(datetime.timezone.utc).replace(minute=0, second=0, microsecond=0)
    return (start + datetime.timedelta(hours=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")


def report(name, ok, detail):
    print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)
    return ok


def postgres_restart_under_load(args, cluster):
    """Crash PostgreSQL (immediate stop, as on power loss) while writes run, start it again."""
    server = Server(args.bin, cluster, args.workdir, LOCKCLOUD_DB_CONNECT_TIMEOUT_SECONDS="2")
    owner = Owner(args.bin, cluster, server.url)
    locks = owner.pair(server.url, 20)
    acknowledged, outcomes, slowest = [], {}, [0.0]
    stop = threading.Event()
    lock = threading.Lock()
    counter = itertools.count()

    def writer():
        while not stop.is_set():
            n = next(counter)
            began = time.monotonic()
            try:
                response = requests.post(f"{server.url}/locks/{locks[n % 20]}/access_codes",
                                         json={"code": f"{10000000 + n}"}, headers=owner.headers, timeout=20)
                key = str(response.status_code)
                if response.status_code == 201:
                    with lock:
                        acknowledged.append(response.json()["access_code_id"])
            except requests.RequestException as error:
                key = type(error).__name__
            with lock:
                outcomes[key] = outcomes.get(key, 0) + 1
                slowest[0] = max(slowest[0], time.monotonic() - began)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(args.phase)
    cluster.run("crash")
    time.sleep(1)
    cluster.run("start", cluster.port)
    restarted = time.monotonic()
    healthy_after = None
    while time.monotonic() - restarted < 30:
        try:
            if requests.get(server.url + "/health", timeout=2).status_code == 200:
                healthy_after = time.monotonic() - restarted
                break
        except requests.RequestException:
            pass
        time.sleep(0.05)
    time.sleep(args.phase)
    stop.set()
    for thread in threads:
        thread.join()
    ids = ",".join(f"'{i}'" for i in acknowledged) or "NULL"
    stored = int(cluster.psql(f"SELECT count(*) FROM access_codes WHERE access_code_id IN ({ids})"))
    server.stop()
    ok = (stored == len(acknowledged) > 0 and healthy_after is not None and healthy_after <= 5 and slowest[0] < 20
          and outcomes.get("500", 0) == 0)
    return report("postgres_restart_under_load",
                  ok, f"{len(acknowledged)} acknowledged writes, {stored} present after the crash; /health 200 "
                      f"{healthy_after if healthy_after is None else round(healthy_after, 2)} s after restart; "
                      f"slowest request {slowest[0]:.2f} s; answers {json.dumps(outcomes, sort_keys=True)}")


def sigterm_under_load(args, cluster):
    """SIGTERM under load, with the clients behind a load balancer emulated here: it polls
    /health every 100 ms and stops routing to an instance that answers 503. Every request sent
    gets its answer: the instance drains (health 503, still serving) before it stops accepting,
    and finishes what is in flight."""
    server = Server(args.bin, cluster, args.workdir, LOCKCLOUD_SHUTDOWN_DRAIN_SECONDS="2")
    owner = Owner(args.bin, cluster, server.url)
    locks = owner.pair(server.url, 5)
    outcomes = {}
    lock = threading.Lock()
    routed = threading.Event()
    routed.set()
    stop = threading.Event()

    def balancer_health_check():
        while not stop.is_set() and routed.is_set():
            try:
                if requests.get(server.url + "/health", timeout=1).status_code != 200:
                    routed.clear()
            except requests.RequestException:
                routed.clear()
            time.sleep(0.1)

    def client(n):
        session = requests.Session()  # keep-alive connections, as a balancer keeps them
        while not stop.is_set() and routed.is_set():
            try:
                response = session.get(f"{server.url}/locks/{locks[n % 5]}", headers=owner.headers, timeout=10)
                key = "ok" if response.status_code == 200 else str(response.status_code)
            except requests.RequestException as error:
                key = type(error).__name__
            with lock:
                outcomes[key] = outcomes.get(key, 0) + 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    threads.append(threading.Thread(target=balancer_health_check))
    for thread in threads:
        thread.start()
    time.sleep(args.phase)
    began = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    routed.wait(0)
    while routed.is_set() and time.monotonic() - began < 10:
        time.sleep(0.01)
    out_of_rotation = time.monotonic() - began
    server.process.wait(timeout=30)
    exited_after = time.monotonic() - began
    stop.set()
    for thread in threads:
        thread.join()
    server.log.close()
    failed = sum(count for key, count in outcomes.items() if key != "ok")
    return report("sigterm_under_load", failed == 0 and outcomes.get("ok", 0) > 0 and server.process.returncode == 0,
                  f"answers {json.dumps(outcomes, sort_keys=True)}; out of rotation {out_of_rotation:.2f} s and "
                  f"exited (code {server.process.returncode}) {exited_after:.2f} s after SIGTERM")


def three_instances(args, cluster):
    """Three instances behind round-robin, parallel offline-code creates and webhook delivery."""
    servers = [Server(args.bin, cluster, args.workdir) for _ in range(3)]
    owner = Owner(args.bin, cluster, servers[0].url)
    receiver = Receiver()
    webhook = requests.post(f"{servers[1].url}/webhooks", json={"url": receiver.url, "events": ["access_code.created"]},
                            auth=owner.client).json()
    lock_count, hours = 5, args.creates // 50
    locks = owner.pair(servers[2].url, lock_count)
    urls = itertools.cycle([s.url for s in servers])
    offsets = [2 + (i // lock_count) % hours for i in range(args.creates)]
    plan = [(locks[i % lock_count], (hour(offset), hour(offset + 3))) for i, offset in enumerate(offsets)]

    def create(item):
        lock_id, start = item
        try:
            return requests.post(f"{next(urls)}/locks/{lock_id}/access_codes", headers=owner.headers, timeout=30,
                                 json={"is_offline_access_code": True, "starts_at": start[0], "ends_at": start[1]}
                                 ).status_code
        except requests.RequestException as error:
            return type(error).__name__

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(create, plan))
    created = statuses.count(201)
    expected = lock_count * hours * 3
    per_slot = cluster.psql("SELECT coalesce(max(n), 0) || '|' || count(*) FROM (SELECT count(*) n FROM access_codes "
                            "WHERE is_offline GROUP BY lock_id, slot_period) t")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(receiver.received()) < created:
        time.sleep(0.2)
    time.sleep(1)
    ids = [headers["webhook-id"] for headers, _, _ in receiver.received()]
    queued = int(cluster.psql(f"SELECT count(*) FROM webhook_deliveries WHERE webhook_id = '{webhook['webhook_id']}'"))
    receiver.stop()
    for server in servers:
        server.stop()
    refused = {s for s in statuses if s != 201}
    ok = (created == expected and per_slot == f"3|{lock_count * hours}" and refused <= {409}
          and len(ids) == len(set(ids)) == queued == created)
    return report("three_instances_offline_creates_and_webhooks",
                  ok, f"{args.creates} parallel creates over 3 instances: {created} created (expected {expected}), "
                      f"others {sorted(map(str, refused))}; at most {per_slot.split('|')[0]} per lock and hour; "
                      f"webhook: {len(ids)} deliveries for {queued} queued events, {len(set(ids))} distinct")


def receiver_down_for_an_hour(args, cluster):
    """A receiver down for a simulated hour gets everything afterwards, in order, once."""
    server = Server(args.bin, cluster, args.workdir)
    owner = Owner(args.bin, cluster, server.url)
    receiver = Receiver()
    webhook = requests.post(f"{server.url}/webhooks", json={"url": receiver.url, "events": ["device.added"]},
                            auth=owner.client).json()
    receiver.stop()
    count = args.creates // 20
    owner.pair(server.url, count)
    time.sleep(2)  # a few failed attempts on the head of the queue
    # An hour passes: the queue's clock moves back by an hour, and the backoff is due.
    cluster.psql("UPDATE webhook_deliveries SET created_at = created_at - interval '1 hour', next_attempt_at = now() "
                 f"WHERE webhook_id = '{webhook['webhook_id']}'")
    failed_attempts = int(cluster.psql(
        f"SELECT coalesce(sum(attempts), 0) FROM webhook_deliveries WHERE webhook_id = '{webhook['webhook_id']}'"))
    receiver.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(receiver.received()) < count:
        time.sleep(0.2)
    time.sleep(1)
    names = [event["data"]["name"] for event in receiver.events()]
    receiver.stop()
    server.stop()
    ok = names == [f"Door {i}" for i in range(count)] and failed_attempts > 0
    return report("webhook_receiver_down_for_an_hour",
                  ok, f"{failed_attempts} failed attempts while down; {len(names)} of {count} events delivered "
                      f"afterwards, {'in order, once each' if ok else 'NOT in order or not once'}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--pg-script", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--short", action="store_true", help="the quick version make test runs")
    args = parser.parse_args()
    args.phase = 2.0 if args.short else 5.0
    args.creates = 300 if args.short else 1000
    cluster = Cluster(args.pg_script, args.workdir)
    results = []
    try:
        for check in (postgres_restart_under_load, sigterm_under_load, three_instances, receiver_down_for_an_hour,
                      database_half_open, row_lock_held_outside):
            try:
                results.append(check(args, cluster))
            except Exception as error:  # a check that breaks is a failed check, and the others still run
                results.append(report(check.__name__, False, f"{type(error).__name__}: {error}"))
    finally:
        cluster.run("purge")
    print(f"faults: {results.count(True)} passed, {results.count(False)} failed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
