"""A reverse proxy in front of a correct API that breaks exactly one rule (a "fault"), so the
kit's tests can see each check fail against the server that breaks its rule. With fault None it
passes everything through unchanged. Webhook faults work through a relay: the proxy rewrites the
URL of a registered webhook to its own /__relay, and forwards deliveries to the real receiver
with the fault applied."""
import http.server
import json
import threading
import time
import urllib.parse as urlparse
import uuid

import requests

REGISTERED_REDIRECT = "http://localhost:3020/oauth/callback"
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "proxy-authenticate",
       "proxy-authorization", "te", "trailers", "upgrade", "host"}

# fault -> the check that must fail against it
FAULTS = {
    "health_down": "health.ok",
    "drop_state": "oauth.state_round_trip",
    "token_cacheable": "oauth.token_response",
    "redirect_prefix": "oauth.exact_redirect",
    "ignore_prompt_login": "oauth.prompt_login",
    "reuse_code": "oauth.code_single_use",
    "revoke_on_refresh": "oauth.refresh_keeps_old_tokens",
    "serialize_refresh": "oauth.parallel_refresh",
    "change_user_id": "oauth.stable_user_id",
    "locks_renamed": "devices.list",
    "drop_lock_field": "devices.lock_fields",
    "lock_wrapped": "devices.get_lock",
    "unknown_lock_200": "devices.unknown_lock_404",
    "webhook_not_listed": "webhooks.register",
    "action_no_status": "actions.create",
    "ignore_custom_id": "actions.custom_id_idempotent",
    "action_stays_pending": "actions.completes",
    "hide_offline": "actions.device_offline",
    "drop_action_event": "actions.completed_event",
    "code_no_status": "codes.create",
    "code_never_active": "codes.reaches_active",
    "code_not_listed": "codes.list",
    "update_ignored": "codes.update",
    "delete_never_finishes": "codes.delete",
    "accept_invalid_pin": "codes.invalid_pin",
    "no_pin_conflict": "codes.pin_conflict",
    "no_limit": "codes.limit_reached",
    "small_default_page": "codes.default_page_all_live",
    "no_delivery": "webhooks.delivery",
    "code_event_pending": "webhooks.access_code_events",
    "drop_user_id": "webhooks.envelope",
    "drop_signature": "webhooks.signature",
    "no_retry": "webhooks.retry_after_500",
    "drop_code_deleted_event": "webhooks.events_seam_needs",
    "openapi_violation": "openapi.responses_match",
}
RELAY_FAULTS = {"drop_action_event", "no_delivery", "code_event_pending", "drop_user_id", "drop_signature", "no_retry",
                "drop_code_deleted_event"}


def fake_code(body):
    return {"access_code_id": str(uuid.uuid4()), "lock_id": "", "name": body.get("name"), "code": body.get("code", ""),
            "status": "pending", "type": "ongoing", "created_at": "2026-01-01T00:00:00Z", "errors": [], "warnings": []}


class FaultyProxy:
    def __init__(self, upstream, fault=None):
        assert fault is None or fault in FAULTS, fault
        self.upstream = upstream.rstrip("/")
        self.fault = fault
        self.state = {"codes": {}, "tokens": [], "revoked": set(), "custom_ids": set(), "refreshing": set()}
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_any(self):
                length = int(self.headers.get("Content-Length", 0) or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, out = proxy.handle(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for k, v in headers.items():
                    if k.lower() not in HOP:
                        for value in (v if isinstance(v, list) else [v]):
                            self.send_header(k, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = handle_any

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ requests from the kit
    def forward(self, method, path, headers, body):
        headers = {k: v for k, v in headers.items() if k.lower() not in HOP}
        r = requests.request(method, self.upstream + path, headers=headers, data=body, allow_redirects=False, timeout=30)
        out = {k: v for k, v in r.headers.items() if k.lower() not in ("set-cookie", "date", "server")}
        cookies = r.raw.headers.getlist("Set-Cookie") if hasattr(r.raw.headers, "getlist") else []
        if cookies:
            out["Set-Cookie"] = cookies  # sent one header each (requests joins them with commas)
        return r.status_code, out, r.content

    def handle(self, method, path, headers, body):
        f = self.fault
        parsed = urlparse.urlparse(path)
        route = parsed.path
        if route.startswith("/__relay"):
            return self.relay(urlparse.parse_qs(parsed.query)["to"][0], headers, body)
        bearer = headers.get("Authorization", "")
        if f == "revoke_on_refresh" and bearer.startswith("Bearer ") and bearer[7:] in self.state["revoked"]:
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"', "Content-Type": "application/json"}, \
                b'{"error_code":"UNAUTHORIZED","message":"revoked"}'
        if f == "health_down" and route == "/health":
            return 503, {"Content-Type": "application/json"}, b'{"ok": false}'
        if route in ("/oauth/authorize", "/authorize") and method == "GET":
            query = urlparse.parse_qsl(parsed.query, keep_blank_values=True)
            if f == "ignore_prompt_login":
                query = [(k, v) for k, v in query if k != "prompt"]
            if f == "redirect_prefix":
                query = [(k, REGISTERED_REDIRECT if k == "redirect_uri" and v.startswith(REGISTERED_REDIRECT) else v) for k, v in query]
            path = route + "?" + urlparse.urlencode(query)
        form = dict(urlparse.parse_qsl(body.decode("utf-8", "replace"))) if route == "/oauth/token" else {}
        if route == "/oauth/token" and form.get("grant_type") == "authorization_code" and f == "reuse_code":
            with self.lock:
                cached = self.state["codes"].get(form.get("code"))
            if cached:
                return cached
        refresh_key = None
        if route == "/oauth/token" and form.get("grant_type") == "refresh_token" and f == "serialize_refresh":
            refresh_key = form.get("refresh_token")
            with self.lock:
                if refresh_key in self.state["refreshing"]:
                    return 400, {"Content-Type": "application/json"}, b'{"error":"invalid_grant","error_description":"in use"}'
                self.state["refreshing"].add(refresh_key)
            time.sleep(0.5)
        json_body = None
        if body and "json" in headers.get("Content-Type", ""):
            try:
                json_body = json.loads(body)
            except ValueError:
                pass
        if method == "POST" and route == "/webhooks" and f in RELAY_FAULTS and isinstance(json_body, dict):
            json_body["url"] = f"{self.url}/__relay?" + urlparse.urlencode({"to": json_body["url"]})
            body = json.dumps(json_body).encode()
        repeated_custom_id = None
        if method == "POST" and route.endswith("/actions") and f == "ignore_custom_id" and isinstance(json_body, dict):
            cid = json_body.get("custom_id")
            with self.lock:
                if cid in self.state["custom_ids"]:
                    repeated_custom_id = cid
                    json_body["custom_id"] = cid + "-" + uuid.uuid4().hex[:6]
                    body = json.dumps(json_body).encode()
                self.state["custom_ids"].add(cid)
        if method == "PATCH" and route.startswith("/access_codes/") and f == "update_ignored":
            body = b"{}"
        if method == "GET" and f == "small_default_page" and route.endswith("/access_codes") and "limit=" not in path:
            path += ("&" if "?" in path else "?") + "limit=20"
        try:
            status, out_headers, out = self.forward(method, path, headers, body)
        finally:
            if refresh_key:
                with self.lock:
                    self.state["refreshing"].discard(refresh_key)
        return self.respond(method, route, path, form, json_body, status, out_headers, out, repeated_custom_id)

    def respond(self, method, route, path, form, request_json, status, headers, out, repeated_custom_id):
        f = self.fault
        ctype = headers.get("Content-Type", "")
        data = None
        if "json" in ctype and out:
            try:
                data = json.loads(out)
            except ValueError:
                pass
        location = headers.get("Location")
        if f == "drop_state" and location and "state=" in location:
            u = urlparse.urlparse(location)
            q = [(k, v) for k, v in urlparse.parse_qsl(u.query, keep_blank_values=True) if k != "state"]
            headers["Location"] = urlparse.urlunparse(u._replace(query=urlparse.urlencode(q)))
        if route == "/oauth/token" and status == 200 and isinstance(data, dict):
            if f == "token_cacheable":
                headers.pop("Cache-Control", None)
                headers["Cache-Control"] = "public, max-age=60"
            if f == "change_user_id" and form.get("grant_type") == "refresh_token":
                data["user_id"] = str(uuid.uuid4())
            if f == "revoke_on_refresh":
                with self.lock:
                    if form.get("grant_type") == "refresh_token":
                        self.state["revoked"].update(self.state["tokens"])
                    self.state["tokens"].append(data.get("access_token"))
            if f == "reuse_code" and form.get("grant_type") == "authorization_code":
                with self.lock:
                    self.state["codes"][form.get("code")] = (status, dict(headers), json.dumps(data).encode())
        if isinstance(data, dict):
            data = self.rewrite(method, route, path, request_json, status, data, repeated_custom_id)
            if isinstance(data, tuple):
                status, data = data
            out = json.dumps(data).encode()
        return status, headers, out

    def rewrite(self, method, route, path, request_json, status, data, repeated_custom_id):
        f = self.fault
        parts = route.strip("/").split("/")
        if f == "locks_renamed" and route == "/locks" and method == "GET":
            data["devices"] = data.pop("locks", [])
        if f == "drop_lock_field":
            for lock in data.get("locks", []) if route == "/locks" else ([data] if "lock_id" in data and parts[0] == "locks" and len(parts) == 2 else []):
                lock.pop("battery_level", None)
        if f == "lock_wrapped" and method == "GET" and parts[0] == "locks" and len(parts) == 2 and status == 200:
            return {"lock": data}
        if f == "unknown_lock_200" and method == "GET" and parts[0] == "locks" and len(parts) == 2 and status == 404:
            return 200, {"lock_id": parts[1], "name": "?"}
        if f == "webhook_not_listed" and route == "/webhooks" and method == "GET":
            data["webhooks"] = []
        if f == "action_no_status" and method == "POST" and route.endswith("/actions"):
            data.pop("status", None)
        if f == "ignore_custom_id" and repeated_custom_id:
            data["custom_id"] = repeated_custom_id
        if f == "action_stays_pending" and method == "GET" and "/actions/" in route:
            data["status"] = "pending"
        if f == "hide_offline" and data.get("error_code") == "DEVICE_OFFLINE" and route.endswith("/actions"):
            return 202, {"action_id": str(uuid.uuid4()), "status": "pending", "lock_id": parts[1],
                         "action": (request_json or {}).get("action"), "custom_id": (request_json or {}).get("custom_id")}
        if f == "code_no_status" and method == "POST" and route.endswith("/access_codes"):
            data.pop("status", None)
        if f == "code_never_active" and method == "GET" and route.startswith("/access_codes/") and data.get("status") == "active":
            data["status"] = "pending"
        if f == "code_not_listed" and method == "GET" and route.endswith("/access_codes"):
            data["access_codes"] = []
        # A deleted code reads as 404 or as `removed`; this server keeps it `removing` forever.
        if f == "delete_never_finishes" and method == "GET" and route.startswith("/access_codes/") and (
                status == 404 or (isinstance(data, dict) and data.get("status") == "removed")):
            return 200, {"access_code_id": parts[1], "status": "removing"}
        fake_for = {"accept_invalid_pin": "INVALID_CODE", "no_pin_conflict": "PIN_CONFLICT", "no_limit": "ACCESS_CODE_LIMIT_REACHED"}
        if f in fake_for and data.get("error_code") == fake_for[f] and method == "POST":
            return 201, fake_code(request_json or {})
        if f == "openapi_violation" and route == "/locks" and method == "GET":
            data["next_page_cursor"] = 5
        return data

    # ------------------------------------------------------------------ deliveries from the API
    def relay(self, target, headers, body):
        f = self.fault
        try:
            event = json.loads(body)
        except ValueError:
            event = {}
        kind = event.get("event_type")
        ok = (204, {}, b"")
        if f == "no_delivery" or (f == "drop_action_event" and kind == "lock.action_completed") \
                or (f == "drop_code_deleted_event" and kind == "access_code.deleted"):
            return ok
        if f == "code_event_pending" and kind and kind.startswith("access_code."):
            event["status"] = "pending"
            event.setdefault("data", {})["status"] = "pending"
            body = json.dumps(event).encode()
        if f == "drop_user_id":
            event.pop("user_id", None)
            body = json.dumps(event).encode()
        headers = {k: v for k, v in headers.items() if k.lower() not in HOP}
        if f == "drop_signature":
            headers = {k: v for k, v in headers.items() if k.lower() != "webhook-signature"}
        r = requests.post(target, data=body, headers=headers, timeout=10)
        if f == "no_retry":
            return ok
        return r.status_code, {}, r.content
