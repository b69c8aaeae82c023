"""The lock simulator reports its state in the order it changed: a heartbeat that read the bolt's
position before a command moved it never reaches the gateway after the command's result.

Seen once in `make test` (test_lock_actions): the lock command succeeded and the lock then read
`unlocked`, because a heartbeat composed just before the bolt moved arrived after the result on
the simulator's other connection. Here every heartbeat is held back on its way to the gateway
(a proxy in front of it) and each action is sent while one is held: without the simulator's
ordering the result overtakes it every time (checked: the first action failed, twice)."""
import http.client
import http.server
import itertools
import threading
import time
import urllib.parse

import pytest

from conftest import free_port
from test_lock_actions import Fleet, wait_until

HEARTBEAT_DELAY = 0.6  # longer than the simulator's motor (0.2 s): a result can overtake it


class DelayingGatewayProxy:
    """Forwards the device gateway's requests to the server, holding each heartbeat back."""

    def __init__(self, upstream):
        target = urllib.parse.urlsplit(upstream)
        proxy = self
        self.lock = threading.Lock()
        self.answered = {}  # heartbeats answered, by the lock's Authorization header

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the simulator's client expects

            def forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                heartbeat = self.path.startswith("/device/v1/heartbeat")
                if heartbeat:
                    time.sleep(HEARTBEAT_DELAY)
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                    connection.request(self.command, self.path, body=body or None, headers=headers)
                    answer = connection.getresponse()
                    payload = answer.read()
                finally:
                    connection.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                if heartbeat:
                    with proxy.lock:
                        key = self.headers.get("Authorization")
                        proxy.answered[key] = proxy.answered.get(key, 0) + 1

            def forward_quietly(self):
                # A long poll still open when the test ends loses its connection: not a finding.
                try:
                    self.forward()
                except (ConnectionError, http.client.HTTPException, TimeoutError):
                    self.close_connection = True

            do_GET = do_POST = forward_quietly

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}"

    def heartbeats_answered(self, credential):
        with self.lock:
            return self.answered.get(f"Bearer {credential}", 0)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_heartbeat_fleet(base_url, lockcloud_bin, database_url):
    proxy = DelayingGatewayProxy(base_url)
    fleet = Fleet(base_url, lockcloud_bin, database_url, gateway_url=proxy.url)
    yield fleet, proxy
    fleet.stop()
    proxy.close()


def test_a_heartbeat_in_flight_never_undoes_an_action(slow_heartbeat_fleet):
    fleet, proxy = slow_heartbeat_fleet
    lock_id, credential = fleet.locks[0]["lock_id"], fleet.locks[0]["device_credential"]
    # Six moves of the bolt, each while a heartbeat that read the old position is held back.
    for action in ["unlock", "lock"] * 3:
        expected = {"unlock": "unlocked", "lock": "locked"}[action]
        # Act when a heartbeat is on its way: the simulator starts the next one 0.5 s after an
        # answer, so 0.6 s after one the next has left with the old position and is held here
        # while the motor (0.2 s) moves the bolt and the result is sent.
        answered = proxy.heartbeats_answered(credential)
        wait_until(lambda: proxy.heartbeats_answered(credential) > answered, timeout=20, interval=0.01)
        time.sleep(HEARTBEAT_DELAY)
        response = fleet.act(lock_id, action)
        assert response.status_code == 202, response.text
        assert fleet.finished(lock_id, response.json()["action_id"])["status"] == "success"
        # Read the lock over and over until two more heartbeats are answered: the one in flight
        # when the result was recorded (if any) has arrived, and the next one read the bolt
        # after it moved. A stale heartbeat shows as the old position until the next corrects it.
        answered = proxy.heartbeats_answered(credential)
        seen, give_up = [], time.monotonic() + 30
        while proxy.heartbeats_answered(credential) < answered + 2:
            seen.append(fleet.lock(lock_id)["lock_state"])
            assert time.monotonic() < give_up, "the simulator's heartbeats stopped"
            time.sleep(0.005)
        seen.append(fleet.lock(lock_id)["lock_state"])
        assert set(seen) == {expected}, f"after {action}, the lock read: {[state for state, _ in itertools.groupby(seen)]}"
