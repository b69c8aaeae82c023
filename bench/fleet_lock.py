"""The simulated fleet: many locks in one asyncio process, each with one keep-alive connection
to the device gateway, doing what lock firmware does between two heartbeats: wait for commands.

A lock's loop, on its one connection:
  - POST /device/v1/heartbeat {"battery_level": 80} when due (every `heartbeat_seconds`, each
    lock at its own phase, so the fleet's heartbeats are spread evenly over the interval);
  - otherwise GET /device/v1/commands?wait=W, W = up to `poll_wait` seconds but never past the
    next heartbeat (one connection carries both, as on a lock's single socket);
  - answers each command at once with POST /device/v1/commands/{id}/result.
Failures (connection errors, timeouts, non-2xx answers) are counted, and the lock backs off
(exponentially, with jitter, up to 10 s) and reconnects: an overloaded server sees a fleet that
retries the way real locks would, not one that hammers it or gives up."""
import asyncio
import collections
import json
import math
import random
import time

from fleet_http import Connection, HTTPError

CONNECT_TIMEOUT = 10.0
# A long poll may be answered late by a server whose database pool is saturated; beyond this
# the lock gives up on the answer, reconnects and counts a timeout.
POLL_GRACE = 20.0
REQUEST_TIMEOUT = 20.0


class Fleet:
    def __init__(self, host, port, locks, heartbeat_seconds=60.0, poll_wait=25, connect_rate=1000.0):
        """`locks`: [(lock_id, device_credential)]."""
        self.host, self.port = host, port
        self.locks = locks
        self.heartbeat_seconds = heartbeat_seconds
        self.poll_wait = poll_wait
        self.connect_rate = connect_rate
        self.counts = collections.Counter()
        self.heartbeated = set()  # locks with at least one accepted heartbeat (online for the API)
        self.waiting = 0  # long polls in flight right now
        # Action latency: the benchmark notes when it sent an action to a lock, the lock notes
        # when the command arrived (both time.monotonic(), one process, so one clock).
        self.sent = {}
        self.arrived = {}
        self.loop_lag_ms = []
        self._members = []
        self._tasks = []
        self.stopping = False

    @property
    def open_connections(self):
        return sum(1 for lock in self._members if lock.connection.is_open)

    async def start(self):
        started = time.monotonic()
        count = len(self.locks)
        for index, (lock_id, credential) in enumerate(self.locks):
            first_heartbeat = started + self.heartbeat_seconds * index / count
            connect_at = started + index / self.connect_rate
            lock = FleetLock(self, lock_id, credential, first_heartbeat)
            self._members.append(lock)
            self._tasks.append(asyncio.create_task(lock.run(connect_at)))
        self._tasks.append(asyncio.create_task(self._watch_loop_lag()))

    async def stop(self):
        """Ends every lock. Cancelling once is not enough before Python 3.12: asyncio.wait_for
        drops a cancellation that arrives as its request completes (seen: a lock polling on
        after stop), so locks also check `stopping`, and stragglers are cancelled again."""
        self.stopping = True
        pending = set(self._tasks)
        for _ in range(10):
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1)
            if not pending:
                break
        self._tasks = []

    async def _watch_loop_lag(self):
        """How late this process's event loop runs its callbacks: a late loop stamps command
        arrivals late, so the action latency is only as good as this figure."""
        while not self.stopping:
            before = time.monotonic()
            await asyncio.sleep(0.1)
            self.loop_lag_ms.append((time.monotonic() - before - 0.1) * 1000)


class Refused(Exception):
    """The gateway answered outside 200-299 (already counted)."""


class FleetLock:
    def __init__(self, fleet, lock_id, credential, first_heartbeat):
        self.fleet = fleet
        self.lock_id = lock_id
        self.headers = {"Authorization": f"Bearer {credential}"}
        self.next_heartbeat = first_heartbeat
        self.connection = Connection(fleet.host, fleet.port)
        self.failures = 0

    async def run(self, connect_at):
        await asyncio.sleep(max(0.0, connect_at - time.monotonic()))
        try:
            while not self.fleet.stopping:
                try:
                    await self._step()
                    self.failures = 0
                except HTTPError as error:
                    self.fleet.counts[f"error {error}"] += 1
                    await self._back_off()
                except Refused:
                    await self._back_off()  # counted where it was answered
        finally:
            self.connection.close()

    async def _step(self):
        if not self.connection.is_open:
            await self.connection.open(CONNECT_TIMEOUT)
            self.fleet.counts["connects"] += 1
        until_heartbeat = self.next_heartbeat - time.monotonic()
        if until_heartbeat <= 0:
            await self._heartbeat()
        else:
            # `wait` is in whole seconds: rounded up, the heartbeat is up to a second late but the
            # lock never stops waiting for commands in between.
            await self._poll(min(self.fleet.poll_wait, math.ceil(until_heartbeat)))

    async def _heartbeat(self):
        status, _ = await self._send("POST", "/device/v1/heartbeat", {"battery_level": 80})
        self._require_success("heartbeat", status)
        self.fleet.heartbeated.add(self.lock_id)
        # The next one a whole interval on; a lock that fell behind does not catch up in a burst.
        self.next_heartbeat = max(self.next_heartbeat + self.fleet.heartbeat_seconds,
                                  time.monotonic() + self.fleet.heartbeat_seconds / 2)

    async def _poll(self, wait):
        self.fleet.waiting += 1
        try:
            status, body = await self._send("GET", f"/device/v1/commands?wait={wait}", None, wait + POLL_GRACE)
        finally:
            self.fleet.waiting -= 1
        answered = time.monotonic()
        self._require_success("poll", status)
        for command in json.loads(body).get("commands", []):
            kind = command.get("type")
            self.fleet.counts[f"command {kind}"] += 1
            if kind in ("lock", "unlock") and self.lock_id in self.fleet.sent:
                self.fleet.arrived.setdefault(self.lock_id, answered)
            state = {"lock": "locked", "unlock": "unlocked"}.get(kind)
            result = {"success": True, **({"lock_state": state} if state else {})}
            status, _ = await self._send("POST", f"/device/v1/commands/{command['command_id']}/result", result)
            # A result that was not recorded is not retried: the gateway delivers the command again.
            self._count("result", status)

    async def _send(self, method, path, payload, timeout=REQUEST_TIMEOUT):
        headers = dict(self.headers)
        body = None
        if payload is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(payload).encode()
        return await self.connection.request(method, path, headers, body, timeout)

    def _count(self, what, status):
        ok = 200 <= status < 300
        self.fleet.counts[f"{what} ok" if ok else f"{what} {status}"] += 1
        return ok

    def _require_success(self, what, status):
        if not self._count(what, status):
            raise Refused()

    async def _back_off(self):
        self.failures += 1
        await asyncio.sleep(min(10.0, 0.5 * 2 ** (self.failures - 1)) * random.uniform(0.5, 1.5))
