"""Webhooks end to end with real local HTTP receivers: registration per OAuth client, refused
destinations, the envelope, Standard Webhooks signatures checked by an independent
implementation, retries with the same id and bytes, order, exactly-once delivery across
instances, and no loss when an instance is killed mid-delivery. The shared test server
registers but does not deliver; each test starts the delivering instances it counts on."""
import base64
import datetime
import json
import time
import uuid

import pytest
import requests
from standardwebhooks.webhooks import Webhook as StandardWebhook

from conftest import psql
from oauth_helpers import create_client, create_owner, tokens_for_client
from test_lock_actions import wait_until
from webhook_receiver import Receiver

REDIRECT = "http://localhost:3020/oauth/callback"
DELIVERY_ENV = {
    "LOCKCLOUD_WEBHOOK_DELIVERY": "true", "LOCKCLOUD_WEBHOOK_ALLOW_HTTP": "true",
    "LOCKCLOUD_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true", "LOCKCLOUD_WEBHOOK_TIMEOUT_SECONDS": "2",
    "LOCKCLOUD_WEBHOOK_RETRY_BASE_MS": "200", "LOCKCLOUD_WEBHOOK_RETRY_MAX_DELAY_SECONDS": "2",
}


class Partner:
    """An OAuth client (like Seam) and one owner who granted it access."""

    def __init__(self, base_url, lockcloud_bin, database_url):
        self.base_url = base_url
        self.database_url = database_url
        self.client_id, self.client_secret = create_client(lockcloud_bin, database_url, REDIRECT, name="Partner")
        self.auth = (self.client_id, self.client_secret)
        self.email, password = create_owner(lockcloud_bin, database_url)
        tokens = tokens_for_client(base_url, self.email, password, self.client_id, self.client_secret, REDIRECT)
        self.api = requests.Session()
        self.api.headers["Authorization"] = "Bearer " + tokens["access_token"]
        self.owner_id = self.api.get(f"{base_url}/me").json()["user_id"]

    def register(self, url, events=None, **extra):
        body = {"url": url, **({"events": events} if events is not None else {})}
        return requests.post(f"{self.base_url}/webhooks", json=body, auth=self.auth, **extra)

    def pair_lock(self, name="Door"):
        response = self.api.post(f"{self.base_url}/locks", json={"name": name, "timezone": "UTC"})
        assert response.status_code == 201
        return response.json()

    def insert_events(self, count, event_type="device.low_battery"):
        """Many events at once, through the same table and trigger the API writes to."""
        psql(self.database_url, "INSERT INTO events (event_type, owner_id, data) SELECT '%s', '%s', "
                                "jsonb_build_object('n', n) FROM generate_series(1, %d) n" % (event_type, self.owner_id, count))

    def deliveries(self, webhook_id, columns="status, attempts"):
        return psql(self.database_url, f"SELECT string_agg(concat_ws('|', {columns}), ',' ORDER BY event_seq) "
                                       f"FROM webhook_deliveries WHERE webhook_id = '{webhook_id}'")


def offline_code_body(**extra):
    start = datetime.datetime.now(datetime.timezone.utc).replace(minute=0, second=0, microsecond=0) + datetime.timedelta(hours=2)
    stamp = lambda t: t.isoformat().replace("+00:00", "Z")
    return {"is_offline_access_code": True, "starts_at": stamp(start), "ends_at": stamp(start + datetime.timedelta(hours=3)),
            **extra}


@pytest.fixture
def partner(base_url, lockcloud_bin, database_url):
    partner = Partner(base_url, lockcloud_bin, database_url)
    yield partner
    # Webhooks left behind would keep later tests' delivering instances busy with dead receivers.
    for webhook in requests.get(f"{base_url}/webhooks", auth=partner.auth).json()["webhooks"]:
        requests.delete(f"{base_url}/webhooks/{webhook['webhook_id']}", auth=partner.auth)


def metric(server, line_prefix):
    """The value of the metric line that starts with `line_prefix` on `server`'s /metrics."""
    for line in requests.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith(line_prefix + " "):
            return float(line.split()[-1])
    return 0.0


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def deliverer(start_server, database_url):
    return start_server(database_url, env=DELIVERY_ENV)


def test_registration_shows_the_secret_once(base_url, partner, receiver):
    created = partner.register(receiver.url, events=["device.added", "access_code.created"])
    assert created.status_code == 201, created.text
    webhook = created.json()
    assert webhook["status"] == "active" and webhook["url"] == receiver.url
    assert sorted(webhook["events"]) == ["access_code.created", "device.added"]
    assert webhook["secret"].startswith("whsec_") and len(base64.b64decode(webhook["secret"][6:])) == 32
    listing = requests.get(f"{base_url}/webhooks", auth=partner.auth).json()
    assert [w["webhook_id"] for w in listing["webhooks"]] == [webhook["webhook_id"]]
    assert "secret" not in json.dumps(listing)
    stored = psql(partner.database_url, f"SELECT encode(secret_sealed, 'escape') FROM webhooks WHERE webhook_id = '{webhook['webhook_id']}'")
    assert webhook["secret"] not in stored
    deleted = requests.delete(f"{base_url}/webhooks/{webhook['webhook_id']}", auth=partner.auth)
    assert deleted.json() == {"ok": True, "webhook_id": webhook["webhook_id"]}
    assert requests.get(f"{base_url}/webhooks", auth=partner.auth).json()["webhooks"] == []
    assert requests.delete(f"{base_url}/webhooks/{webhook['webhook_id']}", auth=partner.auth).status_code == 404


def test_registration_needs_client_authentication(base_url, partner, receiver):
    for auth, headers in [(None, {}), ((partner.client_id, "wrong"), {}), (None, partner.api.headers)]:
        response = requests.post(f"{base_url}/webhooks", json={"url": receiver.url}, auth=auth, headers=headers)
        assert response.status_code == 401 and response.json()["error_code"] == "INVALID_CLIENT"
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert requests.get(f"{base_url}/webhooks", auth=(partner.client_id, "wrong")).status_code == 401
    assert requests.get(f"{base_url}/webhooks", auth=partner.auth).json()["webhooks"] == []


@pytest.mark.parametrize("url, error_code", [
    ("http://93.184.216.34/hook", "INVALID_WEBHOOK_URL"),
    ("https://user:secret@93.184.216.34/hook", "INVALID_WEBHOOK_URL"),
    ("not a url", "INVALID_WEBHOOK_URL"),
    ("ftp://93.184.216.34/hook", "INVALID_WEBHOOK_URL"),
    ("https://127.0.0.1/hook", "FORBIDDEN_WEBHOOK_DESTINATION"),
    ("https://localhost/hook", "FORBIDDEN_WEBHOOK_DESTINATION"),
    ("https://10.1.2.3/hook", "FORBIDDEN_WEBHOOK_DESTINATION"),
    ("https://192.168.0.10/hook", "FORBIDDEN_WEBHOOK_DESTINATION"),
    ("https://169.254.169.254/latest/meta-data", "FORBIDDEN_WEBHOOK_DESTINATION"),
    ("https://[::1]/hook", "FORBIDDEN_WEBHOOK_DESTINATION"),
    ("https://[::ffff:127.0.0.1]/hook", "FORBIDDEN_WEBHOOK_DESTINATION"),
    # Forms that reach an internal IPv4 through a translator or relay, and other special ranges.
    ("https://[64:ff9b::a9fe:a9fe]/latest/meta-data", "FORBIDDEN_WEBHOOK_DESTINATION"),
    ("https://[2002:a9fe:a9fe::1]/hook", "FORBIDDEN_WEBHOOK_DESTINATION"),
    ("https://[::169.254.169.254]/hook", "FORBIDDEN_WEBHOOK_DESTINATION"),
    ("https://[fec0::1]/hook", "FORBIDDEN_WEBHOOK_DESTINATION"),
    ("https://192.0.2.10/hook", "FORBIDDEN_WEBHOOK_DESTINATION"),
    ("https://no-such-host.invalid/hook", "FORBIDDEN_WEBHOOK_DESTINATION"),
])
def test_forbidden_destinations_are_refused_by_default(start_server, database_url, partner, url, error_code):
    strict = start_server(database_url, env={"LOCKCLOUD_WEBHOOK_DELIVERY": "false"})
    response = requests.post(f"{strict.url}/webhooks", json={"url": url}, auth=partner.auth)
    assert response.status_code == 400 and response.json()["error_code"] == error_code, response.text
    assert requests.get(f"{strict.url}/webhooks", auth=partner.auth).json()["webhooks"] == []
    # A public address is fine.
    allowed = requests.post(f"{strict.url}/webhooks", json={"url": "https://93.184.216.34/hook"}, auth=partner.auth)
    assert allowed.status_code == 201


def test_unknown_event_types_are_refused(partner, receiver):
    response = partner.register(receiver.url, events=["device.added", "door.exploded"])
    assert response.status_code == 400 and response.json()["error_code"] == "UNKNOWN_EVENT_TYPE"


def test_a_client_sees_and_deletes_only_its_own_webhooks(base_url, lockcloud_bin, database_url, partner, receiver):
    webhook = partner.register(receiver.url).json()
    other = Partner(base_url, lockcloud_bin, database_url)
    assert requests.get(f"{base_url}/webhooks", auth=other.auth).json()["webhooks"] == []
    assert requests.delete(f"{base_url}/webhooks/{webhook['webhook_id']}", auth=other.auth).status_code == 404
    assert requests.post(f"{base_url}/webhooks/{webhook['webhook_id']}/rotate_secret", auth=other.auth).status_code == 404
    assert len(requests.get(f"{base_url}/webhooks", auth=partner.auth).json()["webhooks"]) == 1


def test_events_arrive_signed_in_the_contract_envelope(base_url, lockcloud_bin, database_url, partner, receiver, deliverer):
    webhook = partner.register(receiver.url).json()
    lock = partner.pair_lock("Front door")
    # An offline code: set at registration, so access_code.created comes without a lock online.
    code = partner.api.post(f"{base_url}/locks/{lock['lock_id']}/access_codes", json=offline_code_body(name="Guest"))
    assert code.status_code == 201
    # An owner who never granted this client: nothing of theirs reaches it.
    stranger = Partner(base_url, lockcloud_bin, database_url)
    stranger.pair_lock("Not yours")
    # Everything queued for this webhook has been delivered (the stranger's events were never
    # queued for it): what the receiver holds now is all it will get.
    wait_until(lambda: partner.deliveries(webhook["webhook_id"], "status") == "delivered,delivered")
    received = receiver.received()
    assert [json.loads(body)["event_type"] for _, body, _ in received] == ["device.added", "access_code.created"]
    verifier = StandardWebhook(webhook["secret"])
    for headers, body, _ in received:
        event = json.loads(body)
        verifier.verify(body, {"webhook-id": headers["webhook-id"], "webhook-timestamp": headers["webhook-timestamp"],
                               "webhook-signature": headers["webhook-signature"]})
        assert headers["webhook-id"] == event["event_id"]
        assert event["user_id"] == partner.owner_id and event["device_id"] == lock["lock_id"]
        assert event["timestamp"].endswith("Z") and isinstance(event["data"], dict)
        assert uuid.UUID(event["event_id"])
    created = json.loads(received[1][1])
    assert created["access_code_id"] == code.json()["access_code_id"] == created["data"]["access_code_id"]
    assert created["status"] == "success" and created["lock_id"] == lock["lock_id"]
    assert code.json()["code"] not in received[1][1].decode()
    # A forged body fails the independent verifier.
    headers, body, _ = received[0]
    with pytest.raises(Exception):
        verifier.verify(body.replace(b"device.added", b"device.removed"), {k: headers[k] for k in
                        ("webhook-id", "webhook-timestamp", "webhook-signature")})


def test_a_webhook_gets_only_the_event_types_it_asked_for(base_url, partner, receiver, deliverer):
    webhook = partner.register(receiver.url, events=["access_code.created"]).json()
    lock = partner.pair_lock()
    partner.api.post(f"{base_url}/locks/{lock['lock_id']}/access_codes", json=offline_code_body())
    wait_until(lambda: partner.deliveries(webhook["webhook_id"]) == "delivered|1")
    assert [e["event_type"] for e in receiver.events()] == ["access_code.created"]
    assert partner.deliveries(webhook["webhook_id"]) == "delivered|1"


def test_a_receiver_answering_500_twice_gets_the_event_on_the_third_try(partner, receiver, deliverer):
    webhook = partner.register(receiver.url).json()
    receiver.statuses = [500, 500]
    partner.pair_lock()
    wait_until(lambda: partner.deliveries(webhook["webhook_id"]) == "delivered|3")
    attempts = receiver.received()
    assert len(attempts) == 3
    assert len({headers["webhook-id"] for headers, _, _ in attempts}) == 1
    assert len({body for _, body, _ in attempts}) == 1
    verifier = StandardWebhook(webhook["secret"])
    for headers, body, _ in attempts:
        verifier.verify(body, {k: headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")})
    # Not at once: the retries wait (the backoff's growth is checked in the Swift unit tests).
    times = [t for _, _, t in attempts]
    assert times[1] - times[0] > 0.1 and times[2] - times[1] > 0.2
    # This instance delivered only this test's webhook.
    assert metric(deliverer, 'lockcloud_webhook_attempts_total{outcome="failure"}') == 2
    assert metric(deliverer, 'lockcloud_webhook_attempts_total{outcome="success"}') == 1
    assert metric(deliverer, "lockcloud_webhook_delivery_latency_seconds_count") == 1
    assert "lockcloud_webhook_backlog" in requests.get(f"{deliverer.url}/metrics").text


def test_after_the_retry_window_a_delivery_fails_and_the_next_event_goes_out(start_server, database_url, partner, receiver):
    webhook = partner.register(receiver.url).json()
    short = start_server(database_url, env={**DELIVERY_ENV, "LOCKCLOUD_WEBHOOK_RETRY_WINDOW_SECONDS": "2"})
    receiver.statuses = [503] * 1000
    partner.insert_events(1)
    wait_until(lambda: partner.deliveries(webhook["webhook_id"], "status") == "failed", timeout=20)
    attempts = len(receiver.received())
    assert attempts >= 3  # retried for the whole window, a last time at its end
    receiver.statuses = []
    partner.insert_events(1)
    wait_until(lambda: partner.deliveries(webhook["webhook_id"], "status") == "failed,delivered")
    assert metric(short, "lockcloud_webhook_deliveries_failed_total") == 1


def test_a_receiver_down_for_a_while_gets_everything_afterwards_in_order(partner, receiver, deliverer):
    webhook = partner.register(receiver.url).json()
    receiver.stop()
    partner.insert_events(20)
    wait_until(lambda: int(psql(partner.database_url, "SELECT coalesce(max(attempts), 0) FROM webhook_deliveries "
                                                      f"WHERE webhook_id = '{webhook['webhook_id']}'")) >= 3, timeout=20)
    # Only the head of the queue is tried while the receiver is down: order is kept.
    assert psql(partner.database_url, "SELECT count(*) FROM webhook_deliveries "
                                      f"WHERE webhook_id = '{webhook['webhook_id']}' AND attempts > 0") == "1"
    receiver.start()
    # The clock moves on: every delivery's next attempt is due now.
    psql(partner.database_url, "UPDATE webhook_deliveries SET next_attempt_at = now() "
                               f"WHERE webhook_id = '{webhook['webhook_id']}' AND status = 'pending'")
    wait_until(lambda: len(receiver.received()) == 20, timeout=30)
    assert [e["data"]["n"] for e in receiver.events()] == list(range(1, 21))
    wait_until(lambda: partner.deliveries(webhook["webhook_id"], "status").split(",") == ["delivered"] * 20)


def test_a_slow_receiver_times_out_and_is_retried(partner, receiver, deliverer):
    webhook = partner.register(receiver.url).json()
    receiver.slow_requests, receiver.delay = 1, 60.0  # far longer than the 2 s attempt timeout
    partner.pair_lock()
    wait_until(lambda: partner.deliveries(webhook["webhook_id"]) == "delivered|2", timeout=30)
    first, second = receiver.received()[:2]
    assert first[0]["webhook-id"] == second[0]["webhook-id"] and first[1] == second[1]
    # Retried after the timeout, not after the slow answer: the first request is still held.
    assert receiver.holding == 1


def test_two_instances_deliver_each_of_1000_events_exactly_once(start_server, database_url, partner, receiver):
    webhook = partner.register(receiver.url).json()
    # Exactly once: two instances never claim the same delivery, and an answered attempt is
    # never counted as failed (a receiver that answered and closed before our last write
    # completed once made the sender report "I/O on closed channel", and the event went out
    # again). The long timeout keeps a lease from running out on an overloaded machine, which
    # is the designed at-least-once path (test_killing_an_instance_mid_delivery_loses_nothing).
    instances = [start_server(database_url, env={**DELIVERY_ENV, "LOCKCLOUD_WEBHOOK_TIMEOUT_SECONDS": "60"})
                 for _ in range(2)]
    partner.insert_events(1000)
    wait_until(lambda: len(receiver.received()) >= 1000, timeout=120)
    wait_until(lambda: psql(database_url, "SELECT count(*) FROM webhook_deliveries "
                                          f"WHERE webhook_id = '{webhook['webhook_id']}' AND status <> 'delivered'") == "0",
               timeout=60)
    ids = [headers["webhook-id"] for headers, _, _ in receiver.received()]
    assert len(ids) == 1000 and len(set(ids)) == 1000
    assert [e["data"]["n"] for e in receiver.events()] == list(range(1, 1001))  # in order, too
    assert psql(database_url, "SELECT count(*), sum(attempts) FROM webhook_deliveries "
                              f"WHERE webhook_id = '{webhook['webhook_id']}' AND status = 'delivered'") == "1000|1000"
    assert all(instance.process.poll() is None for instance in instances)


def test_killing_an_instance_mid_delivery_loses_nothing(start_server, database_url, partner, receiver):
    webhook = partner.register(receiver.url).json()
    doomed = start_server(database_url, env=DELIVERY_ENV)
    receiver.slow_requests, receiver.delay = 1, 30.0  # the first request hangs
    partner.insert_events(5)
    wait_until(lambda: len(receiver.received()) == 1)
    doomed.process.kill()  # SIGKILL between claim and the end of the attempt
    doomed.process.wait()
    start_server(database_url, env=DELIVERY_ENV)
    # The dead instance's claim runs out (attempt timeout + margin) and the event is sent again.
    wait_until(lambda: len({h["webhook-id"] for h, _, _ in receiver.received()}) == 5, timeout=40)
    numbers = [e["data"]["n"] for e in receiver.events()]
    assert numbers == [1, 1, 2, 3, 4, 5]
    wait_until(lambda: partner.deliveries(webhook["webhook_id"], "status").split(",") == ["delivered"] * 5)


def test_a_rotated_secret_signs_beside_the_old_one_for_a_day(base_url, partner, receiver, deliverer):
    webhook = partner.register(receiver.url).json()
    rotated = requests.post(f"{base_url}/webhooks/{webhook['webhook_id']}/rotate_secret", auth=partner.auth)
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != webhook["secret"]
    partner.pair_lock()
    wait_until(lambda: len(receiver.received()) == 1)
    headers, body, _ = receiver.received()[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (webhook["secret"], new_secret):
        StandardWebhook(secret).verify(body, {k: headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")})


def test_a_redirect_is_a_failed_attempt(database_url, partner, receiver, deliverer):
    """A receiver that redirects could send LockCloud anywhere: redirects are not followed."""
    elsewhere = Receiver()
    receiver.statuses, receiver.location = [307] * 100, elsewhere.url
    try:
        webhook = partner.register(receiver.url).json()
        partner.pair_lock()
        wait_until(lambda: int(psql(database_url, "SELECT attempts FROM webhook_deliveries "
                                                  f"WHERE webhook_id = '{webhook['webhook_id']}'") or 0) >= 2)
        assert psql(database_url, "SELECT status, last_status FROM webhook_deliveries "
                                  f"WHERE webhook_id = '{webhook['webhook_id']}'") == "pending|307"
        assert elsewhere.received() == []
    finally:
        elsewhere.stop()


def test_the_event_feed_shows_a_client_its_owners_events_in_order(base_url, lockcloud_bin, database_url, partner):
    partner.pair_lock("One")
    partner.pair_lock("Two")
    partner.pair_lock("Three")
    first = requests.get(f"{base_url}/events?limit=2", auth=partner.auth).json()
    assert [e["event_type"] for e in first["events"]] == ["device.added", "device.added"]
    rest = requests.get(f"{base_url}/events", params={"page_cursor": first["next_page_cursor"]}, auth=partner.auth).json()
    names = [e["data"]["name"] for e in first["events"] + rest["events"]]
    assert names == ["One", "Two", "Three"] and rest["next_page_cursor"] is None
    assert all(e["user_id"] == partner.owner_id for e in first["events"] + rest["events"])
    # The owner's own token sees the same; another client sees none of it.
    mine = partner.api.get(f"{base_url}/events").json()["events"]
    assert [e["event_id"] for e in mine] == [e["event_id"] for e in first["events"] + rest["events"]]
    other = Partner(base_url, lockcloud_bin, database_url)
    assert requests.get(f"{base_url}/events", auth=other.auth).json()["events"] == []
    assert requests.get(f"{base_url}/events", params={"page_cursor": "bogus"}, auth=partner.auth).json()["error_code"] \
        == "INVALID_PAGE_CURSOR"
    assert requests.get(f"{base_url}/events").status_code == 401


def test_a_webhook_created_with_an_idempotency_key_is_created_once(base_url, partner, receiver):
    headers = {"Idempotency-Key": "register-once"}
    first = partner.register(receiver.url, headers=headers)
    again = partner.register(receiver.url, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    assert len(requests.get(f"{base_url}/webhooks", auth=partner.auth).json()["webhooks"]) == 1
    # The stored answer (which holds the secret) is sealed at rest.
    assert first.json()["secret"].encode().hex() not in psql(
        partner.database_url, "SELECT string_agg(encode(response_body, 'hex'), '') FROM idempotency_keys WHERE key = 'register-once'")


def test_a_keypad_lockout_and_a_wrong_clock_reach_the_owners_webhook(base_url, partner, receiver, deliverer):
    # The lock reports what the simulator reports (pytests/test_offline_codes_at_the_lock.py
    # checks that the simulator sends it); the owner's webhook gets both events.
    partner.register(receiver.url, events=["lock.keypad_locked_out", "device.time_wrong"])
    lock = partner.pair_lock()
    device = {"Authorization": f"Bearer {lock['device_credential']}"}
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 900))
    assert requests.post(f"{base_url}/device/v1/events", headers=device,
                         json={"type": "lock.keypad_locked_out", "locked_until": until}).status_code == 200
    sent_at = time.time()
    wrong = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sent_at + 3600))
    assert requests.post(f"{base_url}/device/v1/heartbeat", headers=device,
                         json={"battery_level": 90, "device_time": wrong}).status_code == 200
    # The server measures the drift when the heartbeat arrives, somewhere in this interval.
    in_flight = time.time() - sent_at
    wait_until(lambda: len(receiver.events()) >= 2)
    events = {e["event_type"]: e for e in receiver.events()}
    assert events["lock.keypad_locked_out"]["data"]["locked_until"] == until
    # An hour ahead, less however long the heartbeat took to arrive (whole seconds, so 1 s either way).
    assert 3600 - in_flight - 1 <= events["device.time_wrong"]["data"]["drift_seconds"] <= 3601


def test_either_spelling_of_the_low_battery_event_receives_it(base_url, partner, deliverer, database_url):
    # The newer guide's `battery.low` and the event's own name `device.low_battery` both work;
    # a webhook for neither gets nothing, and battery.replaced reaches its own subscribers.
    receivers = {name: Receiver() for name in ["battery.low", "device.low_battery", "battery.replaced", "device.online"]}
    try:
        for name, receiver in receivers.items():
            assert partner.register(receiver.url, events=[name]).status_code == 201
        lock = partner.pair_lock()
        device = {"Authorization": f"Bearer {lock['device_credential']}"}
        for level in [90, 10, 95]:
            assert requests.post(f"{base_url}/device/v1/heartbeat", headers=device,
                                 json={"battery_level": level}).status_code == 200
        for name in ["battery.low", "device.low_battery"]:
            delivered = wait_until(lambda: receivers[name].events(), timeout=30)
            assert [e["event_type"] for e in delivered] == ["device.low_battery"]
            assert delivered[0]["data"]["battery_level"] == 10
        replaced = wait_until(lambda: receivers["battery.replaced"].events(), timeout=30)
        assert replaced[0]["data"]["previous_battery_level"] == 10 and replaced[0]["data"]["battery_level"] == 95
        wait_until(lambda: receivers["device.online"].events(), timeout=30)
        # Everything this lock caused has been delivered; the online-only webhook got nothing else.
        assert {e["event_type"] for e in receivers["device.online"].events()} == {"device.online"}
    finally:
        for receiver in receivers.values():
            receiver.stop()


def test_a_receiver_that_hangs_does_not_hold_up_another_webhook(start_server, database_url, partner):
    """Issue 16, item 6: each delivery holds only its own slot. The slow receiver answers long
    after the attempt timeout; the fast one must get a later event while the slow attempt is
    still hanging (before this, a round of claims waited for its slowest send)."""
    slow, fast = Receiver(), Receiver()
    try:
        slow.slow_requests, slow.delay = 1000, 120
        deliverer = start_server(database_url, env={**DELIVERY_ENV, "LOCKCLOUD_WEBHOOK_TIMEOUT_SECONDS": "30"})
        hanging = partner.register(slow.url).json()["webhook_id"]
        partner.register(fast.url)
        partner.insert_events(1)
        wait_until(lambda: len(slow.received()) == 1 and len(fast.received()) == 1, timeout=60)
        partner.insert_events(1)
        wait_until(lambda: len(fast.received()) == 2, timeout=60)
        # Still the first attempt, in flight: the fast webhook did not wait for it.
        assert partner.deliveries(hanging) == "sending|1,pending|0"
        assert len(slow.received()) == 1
        assert [e["data"]["n"] for e in fast.events()] == [1, 1]
        assert deliverer.process.poll() is None
    finally:
        slow.stop()
        fast.stop()
