"""Access-code events when the lock has acted (issue 15, item 1), through the lock simulator and
a real local webhook receiver: `access_code.created/updated/deleted` with `status: "success"`
once the change is on the lock, `"failed"` with the lock's error when it refuses, and a lock
that was offline at creation confirming when it comes back. Ends with the "Done when" check: a
receiver that keeps a mirror of every lock's codes from events alone agrees with the API after
a mixed workload."""
import datetime
import json

import pytest
import requests
from standardwebhooks.webhooks import Webhook as StandardWebhook

from test_lock_actions import Fleet, wait_until
from test_webhooks import deliverer, partner, receiver  # noqa: F401 (fixtures)

CODE_EVENTS = ("access_code.created", "access_code.updated", "access_code.deleted")
# Generous: a loaded 2-core machine runs the server, the deliverer and the simulator at once.
SETTLE = 60


class PartnerFleet(Fleet):
    """A Partner's (OAuth client + owner) locks, run by `lockcloud simulate`."""

    def __init__(self, partner, count=2):
        self.base_url = partner.base_url
        self.api = partner.api
        self.locks = [partner.pair_lock(f"Door {i}") for i in range(count)]
        self.start_simulator(timeout=SETTLE)

    def refuse_codes(self, lock_id, count=1, error_code="KEYPAD_FULL"):
        response = requests.post(f"{self.control}/locks/{lock_id}/refuse_codes",
                                 json={"count": count, "error_code": error_code})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def fleet(partner):
    fleet = PartnerFleet(partner)
    yield fleet
    fleet.stop()


def code_events(receiver, code_id=None):
    return [e for e in receiver.events() if e["event_type"] in CODE_EVENTS
            and (code_id is None or e["data"]["access_code_id"] == code_id)]


def summary(events):
    return [(e["event_type"], e["data"]["status"]) for e in events]


def code(fleet, code_id):
    return fleet.api.get(f"{fleet.base_url}/access_codes/{code_id}").json()


def iso(delta_seconds):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta_seconds)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def assert_carries_ids_and_status(event, lock_id, code_id):
    for place in (event, event["data"]):
        assert place["lock_id"] == lock_id and place["device_id"] == lock_id
        assert place["access_code_id"] == code_id
        assert place["status"] in ("success", "failed")
        assert place["access_code_status"] in ("pending", "scheduled", "active", "removing", "expired", "failed", "removed")


def test_create_update_delete_give_the_guides_events_once_on_the_lock(partner, receiver, deliverer, fleet):
    partner.register(receiver.url)
    lock_id = fleet.locks[0]["lock_id"]
    created = fleet.api.post(f"{fleet.base_url}/locks/{lock_id}/access_codes", json={"code": "482910", "name": "Cleaner"})
    assert created.status_code == 201 and created.json()["status"] == "pending"
    code_id = created.json()["access_code_id"]
    wait_until(lambda: summary(code_events(receiver, code_id)) == [("access_code.created", "success")], timeout=SETTLE)
    # Sent once the lock holds the code: the code is on the simulated keypad and active.
    assert code_id in requests.get(f"{fleet.control}/locks").json()[lock_id]["codes"]
    assert code(fleet, code_id)["status"] == "active"

    assert fleet.api.patch(f"{fleet.base_url}/access_codes/{code_id}", json={"name": "Cleaner (Tue)"}).status_code == 200
    wait_until(lambda: len(code_events(receiver, code_id)) == 2, timeout=SETTLE)
    assert fleet.api.delete(f"{fleet.base_url}/access_codes/{code_id}").status_code == 200
    wait_until(lambda: len(code_events(receiver, code_id)) == 3, timeout=SETTLE)
    events = code_events(receiver, code_id)
    assert summary(events) == [("access_code.created", "success"), ("access_code.updated", "success"),
                               ("access_code.deleted", "success")]
    for event in events:
        assert_carries_ids_and_status(event, lock_id, code_id)
        assert "482910" not in json.dumps(event)
    assert [e["data"]["access_code_status"] for e in events] == ["active", "active", "removed"]
    assert events[1]["data"]["name"] == "Cleaner (Tue)"
    # A removed code stays readable by id.
    assert code(fleet, code_id)["status"] == "removed"


def test_a_code_the_lock_refuses_gives_a_failed_event_with_the_error(partner, receiver, deliverer, fleet):
    partner.register(receiver.url)
    lock_id = fleet.locks[0]["lock_id"]
    assert fleet.refuse_codes(lock_id, error_code="KEYPAD_FULL")["refuse_codes"] == 1
    code_id = fleet.api.post(f"{fleet.base_url}/locks/{lock_id}/access_codes", json={"code": "5511"}).json()["access_code_id"]
    wait_until(lambda: code_events(receiver, code_id), timeout=SETTLE)
    [event] = code_events(receiver, code_id)
    assert (event["event_type"], event["status"], event["error_code"]) == ("access_code.created", "failed", "KEYPAD_FULL")
    assert event["message"] and event["access_code_status"] == "failed"
    assert_carries_ids_and_status(event, lock_id, code_id)
    failed = code(fleet, code_id)
    assert failed["status"] == "failed" and failed["errors"][0]["error_code"] == "KEYPAD_FULL"


def test_a_removal_the_lock_refuses_leaves_the_code_failed_with_an_event(partner, receiver, deliverer, fleet):
    partner.register(receiver.url)
    lock_id = fleet.locks[0]["lock_id"]
    code_id = fleet.api.post(f"{fleet.base_url}/locks/{lock_id}/access_codes", json={"code": "6622"}).json()["access_code_id"]
    wait_until(lambda: code_events(receiver, code_id), timeout=SETTLE)
    fleet.refuse_codes(lock_id, error_code="CODE_LOCKED_BY_LOCK")
    assert fleet.api.delete(f"{fleet.base_url}/access_codes/{code_id}").json()["status"] == "removing"
    wait_until(lambda: len(code_events(receiver, code_id)) == 2, timeout=SETTLE)
    event = code_events(receiver, code_id)[1]
    assert (event["event_type"], event["status"], event["error_code"]) == ("access_code.deleted", "failed", "CODE_LOCKED_BY_LOCK")
    assert event["message"] and event["access_code_status"] == "failed"
    stuck = code(fleet, code_id)
    assert stuck["status"] == "failed" and stuck["errors"][0]["error_code"] == "CODE_LOCKED_BY_LOCK"
    # The code is still on the lock: deleting it again asks the lock again, and succeeds.
    assert code_id in requests.get(f"{fleet.control}/locks").json()[lock_id]["codes"]
    assert fleet.api.delete(f"{fleet.base_url}/access_codes/{code_id}").json()["status"] == "removing"
    wait_until(lambda: len(code_events(receiver, code_id)) == 3, timeout=SETTLE)
    assert summary(code_events(receiver, code_id))[2] == ("access_code.deleted", "success")
    assert code_id not in requests.get(f"{fleet.control}/locks").json()[lock_id]["codes"]


def test_a_lock_offline_at_creation_confirms_when_it_comes_back(partner, receiver, deliverer, fleet):
    partner.register(receiver.url)
    lock_id = fleet.locks[1]["lock_id"]
    fleet.simulate(lock_id, "offline")
    code_id = fleet.api.post(f"{fleet.base_url}/locks/{lock_id}/access_codes", json={"code": "9090"}).json()["access_code_id"]
    offline_code = fleet.api.post(f"{fleet.base_url}/locks/{lock_id}/access_codes", json={
        "is_offline_access_code": True, "starts_at": iso(3600), "ends_at": iso(4 * 3600)}).json()["access_code_id"]
    # An offline code is set at registration, whatever the lock's connection.
    wait_until(lambda: summary(code_events(receiver, offline_code)) == [("access_code.created", "success")], timeout=SETTLE)
    assert code_events(receiver, code_id) == [] and code(fleet, code_id)["status"] == "pending"
    fleet.simulate(lock_id, "online")
    wait_until(lambda: summary(code_events(receiver, code_id)) == [("access_code.created", "success")], timeout=SETTLE)
    assert code(fleet, code_id)["status"] == "active"


def test_the_simulator_control_refuses_bad_input(fleet):
    lock_id = fleet.locks[0]["lock_id"]
    assert requests.post(f"{fleet.control}/locks/{lock_id}/refuse_codes", json={"count": -1}).status_code == 400
    assert requests.post(f"{fleet.control}/locks/{lock_id}/refuse_codes", data=b"{").status_code == 400
    assert requests.post(f"{fleet.control}/locks/not-a-lock/refuse_codes", json={}).status_code == 404
    assert fleet.refuse_codes(lock_id, count=0)["refuse_codes"] == 0


class Mirror:
    """What a receiver following the newer guide keeps: every lock's live codes, from events
    alone (signed, checked with an independent Standard Webhooks implementation)."""

    def __init__(self, secret):
        self.verifier = StandardWebhook(secret)
        self.codes = {}  # lock_id -> {access_code_id: fields}

    def apply(self, headers, body):
        self.verifier.verify(body, {k: headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")})
        event = json.loads(body)
        if event["event_type"] not in CODE_EVENTS:
            return
        codes = self.codes.setdefault(event["lock_id"], {})
        live = event["status"] == "success" and event["event_type"] != "access_code.deleted"
        if live:
            codes[event["access_code_id"]] = {k: event.get(k) for k in ("name", "starts_at", "ends_at", "is_offline_access_code")}
        else:
            codes.pop(event["access_code_id"], None)


def api_view(fleet, lock_id):
    page = fleet.api.get(f"{fleet.base_url}/locks/{lock_id}/access_codes").json()
    assert page["next_page_cursor"] is None
    return {c["access_code_id"]: {"name": c["name"], "starts_at": c["starts_at"], "ends_at": c["ends_at"],
                                  "is_offline_access_code": c["is_offline_access_code"]}
            for c in page["access_codes"]}


def normalized(codes):
    """Times compared as instants (the API and the events may spell them differently)."""
    parse = lambda t: t and datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
    return {i: {**c, "starts_at": parse(c["starts_at"]), "ends_at": parse(c["ends_at"])} for i, c in codes.items()}


def test_a_mirror_kept_from_events_alone_equals_the_api(partner, receiver, deliverer, fleet):
    webhook = partner.register(receiver.url).json()
    a, b = (l["lock_id"] for l in fleet.locks)
    post = lambda lock, body: fleet.api.post(f"{fleet.base_url}/locks/{lock}/access_codes", json=body).json()["access_code_id"]
    patch = lambda code_id, body: fleet.api.patch(f"{fleet.base_url}/access_codes/{code_id}", json=body)
    fleet.simulate(b, "offline")
    keep = post(a, {"code": "1001", "name": "Keep"})
    renamed = post(a, {"code": "1002", "name": "Old name"})
    retimed = post(a, {"code": "1003", "starts_at": iso(3600), "ends_at": iso(7200)})
    gone = post(a, {"code": "1004", "name": "Gone"})
    offline_pin = post(a, {"is_offline_access_code": True, "name": "Offline PIN", "starts_at": iso(3600), "ends_at": iso(5 * 3600)})
    on_b = post(b, {"code": "2001", "name": "While offline"})
    changed_on_b = post(b, {"code": "2002", "name": "Before"})
    assert patch(changed_on_b, {"name": "After"}).status_code == 200  # changed before the lock ever saw it
    wait_until(lambda: code(fleet, gone)["status"] == "active", timeout=SETTLE)
    assert patch(renamed, {"name": "New name"}).status_code == 200
    assert patch(retimed, {"starts_at": iso(1800), "ends_at": iso(9000)}).status_code == 200
    assert fleet.api.delete(f"{fleet.base_url}/access_codes/{gone}").status_code == 200
    # Lock A has carried out everything before it refuses the next code.
    wait_until(lambda: [code(fleet, i)["status"] for i in (renamed, retimed, gone)] == ["active", "scheduled", "removed"],
               timeout=SETTLE)
    fleet.refuse_codes(a)
    refused = post(a, {"code": "1005", "name": "Refused"})
    fleet.simulate(b, "online")

    def settled():
        codes = [code(fleet, i) for i in (keep, renamed, retimed, gone, offline_pin, on_b, changed_on_b, refused)]
        return all(c["status"] not in ("pending", "removing") for c in codes)
    wait_until(settled, timeout=SETTLE)
    assert code(fleet, refused)["status"] == "failed" and code(fleet, gone)["status"] == "removed"

    def mirror_matches():
        mirror = Mirror(webhook["secret"])
        for headers, body, _ in receiver.received():
            mirror.apply(headers, body)
        return all(normalized(mirror.codes.get(lock, {})) == normalized(api_view(fleet, lock)) for lock in (a, b))
    wait_until(mirror_matches, timeout=SETTLE)
    assert set(api_view(fleet, a)) == {keep, renamed, retimed, offline_pin}
    assert set(api_view(fleet, b)) == {on_b, changed_on_b}
    assert api_view(fleet, b)[changed_on_b]["name"] == "After"
