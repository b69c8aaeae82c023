"""Issue 16, item 10: a lock simulator stops when told, whatever its gateway does. Simulators
of stopped `make run`s were found alive minutes later, ignoring SIGTERM and SIGINT, after the
server they talked to had died; here the gateway accepts connections and never answers, or is
gone altogether, and the simulator must still exit on the signal."""
import json
import os
import signal
import socket
import subprocess
import threading
import uuid

import pytest

from conftest import TrackedProcess, free_port
from test_lock_actions import wait_until


class SilentGateway:
    """Accepts every connection, reads what comes, and never answers."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = []
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections.append(connection)

    def accepted(self):
        with self.lock:
            return len(self.connections)

    def close(self):
        self.listener.close()
        with self.lock:
            for connection in self.connections:
                connection.close()


@pytest.mark.parametrize("gateway, stop", [("silent", signal.SIGTERM), ("silent", signal.SIGINT),
                                           ("gone", signal.SIGTERM)])
def test_the_simulator_exits_on_a_signal_whatever_the_gateway_does(lockcloud_bin, gateway, stop):
    silent = SilentGateway() if gateway == "silent" else None
    url = silent.url if silent else f"http://127.0.0.1:{free_port()}"  # nothing listens there
    credentials = os.path.join(os.environ["LOCKCLOUD_TEST_WORKDIR"], f"silent-{uuid.uuid4().hex}.json")
    with open(credentials, "w") as f:
        json.dump([{"lock_id": str(uuid.uuid4()), "device_credential": "lc_dev_test"} for _ in range(3)], f)
    process = TrackedProcess(
        [lockcloud_bin, "simulate", "--gateway-url", url, "--credentials", credentials, "--control-port", "0",
         "--heartbeat-seconds", "0.5", "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    try:
        for line in process.stdout:  # until the control API is up (the signal handlers are in place)
            if "control API on" in line:
                break
        else:
            pytest.fail("the simulator exited before its control API was up")
        if silent:
            # Every lock has requests in flight that will never be answered.
            wait_until(lambda: silent.accepted() >= 3, timeout=30)
        process.send_signal(stop)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the simulator was still running 20 s after {stop.name}")
        assert code == 0, process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if silent:
            silent.close()
