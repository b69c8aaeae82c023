"""The bodies of the hand-written routes (device gateway, webhook registration) are read into
the types the spec describes (issue 16, item 8), not picked from a loose JSON object: a value of
the wrong type anywhere, nested ones included, is a 400 that names its field, and nothing is
stored; a body that is not a JSON object is a 400 too."""
import requests

from conftest import psql
from test_lock_actions import paired_lock
from test_webhooks import Partner

OFFLINE = {"offline_access_code_type": "hourly_bound", "key_version": 1, "slot_period": 1, "slot": 0}


def refused(response, field):
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["error_code"] == "INVALID_REQUEST" and field in error["message"], (field, error)


def test_gateway_fields_of_the_wrong_type_name_the_field_and_change_nothing(base_url, lockcloud_bin, database_url):
    api, lock, device = paired_lock(base_url, lockcloud_bin, database_url, "Typed firmware")
    heartbeat, events = f"{base_url}/device/v1/heartbeat", f"{base_url}/device/v1/events"
    before = requests.get(f"{base_url}/locks/{lock['lock_id']}", headers=api).json()
    for field, value in (("battery_level", "50"), ("battery_level", 50.5), ("battery_level", True),
                         ("battery_level", 10 ** 30), ("lock_state", 1), ("device_time", 0),
                         ("offline_key_version", [1]), ("signal_quality", {"x": 1})):
        refused(requests.post(heartbeat, json={"battery_level": 40, field: value}, headers=device), field)
    for body, field in (({"type": 7}, "type"),
                        ({"type": "lock.locked", "performed_via": ["manual"]}, "performed_via"),
                        ({"type": "access_code.used", "offline_code": {**OFFLINE, "slot": "0"}}, "offline_code.slot"),
                        ({"type": "access_code.used", "offline_code": "123456"}, "offline_code"),
                        ({"type": "battery.low", "battery_level": "low"}, "battery_level")):
        refused(requests.post(events, json=body, headers=device), field)
    after = requests.get(f"{base_url}/locks/{lock['lock_id']}", headers=api).json()
    assert after["battery_level"] == before["battery_level"] and after["online"] == before["online"]
    assert psql(database_url, f"SELECT count(*) FROM events WHERE device_id = '{lock['lock_id']}' "
                              "AND event_type NOT IN ('device.added', 'device.connected')") == "0"
    # The same fields with the right types are taken.
    assert requests.post(heartbeat, json={"battery_level": 40, "lock_state": "locked"}, headers=device).status_code == 200


def test_a_command_result_needs_a_boolean_success(base_url, lockcloud_bin, database_url):
    api, lock, device = paired_lock(base_url, lockcloud_bin, database_url, "Result firmware")
    url = f"{base_url}/device/v1/commands/{'0' * 8}-0000-4000-8000-{'0' * 12}/result"
    refused(requests.post(url, json={"success": "true"}, headers=device), "success")
    refused(requests.post(url, json={"success": 1}, headers=device), "success")
    refused(requests.post(url, json={"success": True, "error_code": 5}, headers=device), "error_code")


def test_bodies_that_are_not_json_objects(base_url, lockcloud_bin, database_url):
    _, _, device = paired_lock(base_url, lockcloud_bin, database_url, "Garbled firmware")
    headers = {**device, "Content-Type": "application/json"}
    for raw in (b"[]", b"\"text\"", b"null", b"{\"battery_level\": 4", b"\xff\xfe"):
        response = requests.post(f"{base_url}/device/v1/heartbeat", data=raw, headers=headers)
        assert response.status_code == 400, (raw, response.text)
        assert response.json()["error_code"] in ("INVALID_JSON", "INVALID_REQUEST"), raw


def test_webhook_registration_fields_of_the_wrong_type(base_url, lockcloud_bin, database_url):
    partner = Partner(base_url, lockcloud_bin, database_url)
    url = "https://example.com/hook"
    refused(partner.register(url, events="lock.unlocked"), "events")
    refused(partner.register(url, events=["lock.unlocked", 3]), "events")
    refused(requests.post(f"{base_url}/webhooks", json={"url": 7}, auth=partner.auth), "url")
    assert requests.get(f"{base_url}/webhooks", auth=partner.auth).json()["webhooks"] == []
