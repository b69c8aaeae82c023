"""Events belong to the grant that may see them (issue 13, item 10), through the real HTTP API:
a client sees an owner's events from its own grant's start on, never another client's
identifiers (an action's `custom_id` and `action_id`), and nothing once its grant is revoked:
not in `GET /events` and not through a delivery that was queued before the revocation."""
import json
import os
import subprocess

import pytest
import requests

from conftest import free_port, psql
from oauth_helpers import create_client, create_owner, tokens_for_client
from test_lock_actions import wait_until
from test_webhooks import DELIVERY_ENV
from webhook_receiver import Receiver

REDIRECT = "http://localhost:3020/oauth/callback"


class Client:
    """An OAuth client (a partner like Seam) and the grants owners give it."""

    def __init__(self, base_url, lockcloud_bin, database_url, name):
        self.base_url = base_url
        self.id, self.secret = create_client(lockcloud_bin, database_url, REDIRECT, name=name)
        self.auth = (self.id, self.secret)
        self.api = requests.Session()
        self.refresh_token = None

    def authorized_by(self, email, password):
        """The owner approves this client; its API session uses the new grant's token."""
        tokens = tokens_for_client(self.base_url, email, password, self.id, self.secret, REDIRECT)
        self.api.headers["Authorization"] = "Bearer " + tokens["access_token"]
        self.refresh_token = tokens["refresh_token"]
        return self

    def revoke(self):
        response = requests.post(f"{self.base_url}/oauth/revoke", data={"token": self.refresh_token}, auth=self.auth)
        assert response.status_code == 200, response.text

    def feed(self):
        """Every event `GET /events` shows this client (HTTP Basic), as raw text and parsed."""
        response = requests.get(f"{self.base_url}/events", params={"limit": 1000}, auth=self.auth)
        assert response.status_code == 200, response.text
        return response.text, response.json()["events"]

    def feed_with_token(self):
        response = self.api.get(f"{self.base_url}/events", params={"limit": 1000})
        assert response.status_code == 200, response.text
        return response.text, response.json()["events"]

    def act(self, lock_id, action, custom_id):
        response = self.api.post(f"{self.base_url}/locks/{lock_id}/actions", json={"action": action, "custom_id": custom_id})
        assert response.status_code == 202, response.text
        action_id = response.json()["action_id"]
        wait_until(lambda: self.api.get(f"{self.base_url}/locks/{lock_id}/actions/{action_id}").json()["status"] != "pending")
        return action_id

    def register(self, url):
        response = requests.post(f"{self.base_url}/webhooks", json={"url": url}, auth=self.auth)
        assert response.status_code == 201, response.text
        return response.json()["webhook_id"]

    def delete_webhooks(self):
        for webhook in requests.get(f"{self.base_url}/webhooks", auth=self.auth).json()["webhooks"]:
            requests.delete(f"{self.base_url}/webhooks/{webhook['webhook_id']}", auth=self.auth)


class SimulatedLock:
    """One paired lock run by `lockcloud simulate`, so actions complete as on real hardware."""

    def __init__(self, base_url, lockcloud_bin, paired):
        self.lock_id = paired["lock_id"]
        path = os.path.join(os.environ["LOCKCLOUD_TEST_WORKDIR"], f"grant-lock-{self.lock_id}.json")
        with open(path, "w") as f:
            json.dump([{"lock_id": self.lock_id, "device_credential": paired["device_credential"]}], f)
        self.process = subprocess.Popen(
            [lockcloud_bin, "simulate", "--gateway-url", base_url, "--credentials", path,
             "--control-port", str(free_port()), "--heartbeat-seconds", "0.5", "--motor-milliseconds", "100",
             "--log-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def clients(base_url, lockcloud_bin, database_url):
    made, locks = [], []

    def make(name):
        made.append(Client(base_url, lockcloud_bin, database_url, name))
        return made[-1]

    def simulate(paired):
        locks.append(SimulatedLock(base_url, lockcloud_bin, paired))
        return locks[-1]

    make.simulate = simulate
    yield make
    for lock in locks:
        lock.stop()
    for client in made:  # webhooks left behind would keep later tests' deliverers busy
        client.delete_webhooks()


@pytest.fixture
def receivers():
    made = []

    def make():
        made.append(Receiver())
        return made[-1]

    yield make
    for receiver in made:
        receiver.stop()


def action_events(events, action_id=None):
    return [e for e in events if e["event_type"] == "lock.action_completed"
            and (action_id is None or e["data"].get("action_id") == action_id or e.get("action_id") == action_id)]


def test_a_client_authorized_later_sees_no_earlier_event_and_no_other_clients_ids(
        base_url, lockcloud_bin, database_url, clients, receivers, start_server):
    email, password = create_owner(lockcloud_bin, database_url)
    first = clients("First partner").authorized_by(email, password)
    paired = first.api.post(f"{base_url}/locks", json={"name": "Front door", "timezone": "UTC"}).json()
    clients.simulate(paired)
    lock_id = paired["lock_id"]
    wait_until(lambda: first.api.get(f"{base_url}/locks/{lock_id}").json()["online"])
    earlier_action = first.act(lock_id, "unlock", "first-partner-private-1")
    wait_until(lambda: action_events(first.feed()[1], earlier_action))
    before_text, before = first.feed()
    assert "first-partner-private-1" in before_text  # the client that asked sees its own id

    # The owner now connects a second client: nothing from before its grant reaches it.
    second = clients("Second partner").authorized_by(email, password)
    for text, events in (second.feed(), second.feed_with_token()):
        assert {e["event_id"] for e in events}.isdisjoint({e["event_id"] for e in before}), text
        assert "first-partner-private-1" not in text and earlier_action not in text

    # From its grant on, it sees the owner's events, but not the first client's identifiers.
    receiver = receivers()
    second.register(receiver.url)
    start_server(database_url, env=DELIVERY_ENV)
    later_action = first.act(lock_id, "lock", "first-partner-private-2")
    own_action = second.act(lock_id, "unlock", "second-partner-own-1")
    for text, events in (second.feed(), second.feed_with_token()):
        completed = action_events(events)
        assert len(completed) == 2, text
        theirs, mine = completed
        assert theirs["action"] == "lock" and theirs["custom_id"] is None and theirs["action_id"] is None
        assert theirs["data"]["custom_id"] is None and theirs["data"]["action_id"] is None
        assert "first-partner-private" not in text and later_action not in text
        assert mine["custom_id"] == mine["data"]["custom_id"] == "second-partner-own-1"
        assert mine["action_id"] == own_action
    # The first client sees its own ids, and not the second client's.
    first_text, first_events = first.feed()
    assert [e["custom_id"] for e in action_events(first_events)] == [
        "first-partner-private-1", "first-partner-private-2", None]
    assert "second-partner-own-1" not in first_text and own_action not in first_text
    # Webhooks carry the same envelopes as the feed.
    wait_until(lambda: len(action_events(receiver.events())) == 2)
    delivered = b"".join(body for _, body, _ in receiver.received())
    assert b"first-partner-private" not in delivered and later_action.encode() not in delivered
    assert b"second-partner-own-1" in delivered
    assert b"first-partner-private-1" not in delivered and b"device.added" not in delivered


def test_a_revoked_grant_gets_nothing_queued_before_and_a_new_grant_starts_afresh(
        base_url, lockcloud_bin, database_url, clients, receivers, start_server):
    email, password = create_owner(lockcloud_bin, database_url)
    partner = clients("Revoked partner").authorized_by(email, password)
    receiver = receivers()
    webhook = partner.register(receiver.url)
    # A control: another client whose owner keeps the grant, so the worker is seen working.
    control_email, control_password = create_owner(lockcloud_bin, database_url)
    control = clients("Control partner").authorized_by(control_email, control_password)
    control_receiver = receivers()
    control_webhook = control.register(control_receiver.url)

    def deliveries(webhook_id):
        return psql(database_url, "SELECT coalesce(string_agg(status, ',' ORDER BY event_seq), '') "
                                  f"FROM webhook_deliveries WHERE webhook_id = '{webhook_id}'")

    # Queued while the grant is live (the shared server does not deliver)...
    partner.api.post(f"{base_url}/locks", json={"name": "Queued", "timezone": "UTC"})
    assert deliveries(webhook) == "pending"
    # ... then the grant is revoked before any instance sends it.
    partner.revoke()
    control.api.post(f"{base_url}/locks", json={"name": "Control", "timezone": "UTC"})
    start_server(database_url, env=DELIVERY_ENV)
    wait_until(lambda: deliveries(control_webhook) == "delivered", timeout=20)
    wait_until(lambda: deliveries(webhook) == "failed", timeout=20)
    assert receiver.received() == []
    assert "grant" in psql(database_url, f"SELECT last_error FROM webhook_deliveries WHERE webhook_id = '{webhook}'")
    assert partner.feed()[1] == []

    # The owner approves the client again: a new grant, seeing only what happens from now on.
    partner.authorized_by(email, password)
    text, events = partner.feed()
    assert events == [], text
    paired = partner.api.post(f"{base_url}/locks", json={"name": "After", "timezone": "UTC"}).json()
    text, events = partner.feed()
    assert [(e["event_type"], e["device_id"]) for e in events] == [("device.added", paired["lock_id"])], text
    wait_until(lambda: len(receiver.received()) == 1, timeout=20)
    assert [(e["event_type"], e["device_id"]) for e in receiver.events()] == [("device.added", paired["lock_id"])]
