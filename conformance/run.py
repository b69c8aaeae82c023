#!/usr/bin/env python3
"""Seam-compatibility conformance kit: plays Seam against a lock vendor's cloud API and checks
it against Seam's manufacturer guides (see README.md in this folder). Standalone: it needs only
the packages in requirements.txt, never the code of the API under test."""
import argparse
import base64
import concurrent.futures
import datetime as dt
import hashlib
import html
import html.parser
import http.server
import json
import secrets
import socket
import sys
import threading
import time
import traceback
import urllib.parse as urlparse
import uuid
import xml.etree.ElementTree as ET

import requests

REQUIRED, RECOMMENDED, OPTIONAL = "required", "recommended", "optional"
SECTIONS = [
    ("oauth", "OAuth 2.0 (authorization code flow)"),
    ("devices", "Device model and discovery"),
    ("actions", "Lock actions"),
    ("codes", "Access codes"),
    ("webhooks", "Webhooks and events"),
    ("health", "Health"),
    ("openapi", "OpenAPI document"),
    ("offline", "Offline access codes (optional)"),
    ("legacy", "Older guide's endpoints (optional)"),
]
LOCK_FIELDS = {
    "lock_id": str, "name": str, "model": str, "device_type": str, "online": bool,
    "battery_level": (int, type(None)), "timezone": str, "lock_state": str, "door_state": str,
    "created_at": str, "updated_at": str, "can_program_online_access_codes": bool,
    "can_program_offline_access_codes": bool, "code_length_min": int, "code_length_max": int,
    "max_access_codes": int, "warnings": list,
}
LOCK_ENUMS = {"device_type": {"smart_lock"}, "lock_state": {"locked", "unlocked", "unknown"},
              "door_state": {"open", "closed", "ajar", "unknown"}}
CODE_FIELDS = {"access_code_id": str, "lock_id": str, "name": (str, type(None)), "code": str, "status": str,
               "type": str, "created_at": str, "errors": list, "warnings": list}
ENVELOPE = ("event_id", "event_type", "user_id", "device_id", "timestamp", "data")


class CheckFailed(Exception):
    pass


class Skip(Exception):
    pass


class NotApplicable(Skip):
    """The check does not apply to this run (e.g. no OpenAPI document given); never fails the run."""


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def now_iso(delta_seconds=0):
    t = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=delta_seconds)
    return t.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def wait_for(predicate, timeout, interval=0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


# ----------------------------------------------------------------------------- HTTP recording

class Exchange:
    def __init__(self, response=None, method="", url="", error=None):
        self.error = error
        if response is not None:
            req = response.request
            self.method, self.url = req.method, req.url
            self.request_headers = {k: ("<redacted>" if k.lower() in ("authorization", "cookie") else v) for k, v in req.headers.items()}
            body = req.body
            self.request_body = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
            self.status = response.status_code
            self.response_headers = {k: ("<redacted>" if k.lower() == "set-cookie" else v) for k, v in response.headers.items()}
            self.response_body = response.text[:20000]
        else:
            self.method, self.url, self.request_headers, self.request_body = method, url, {}, ""
            self.status, self.response_headers, self.response_body = None, {}, ""

    def text(self):
        lines = [f"> {self.method} {self.url}"]
        lines += [f"> {k}: {v}" for k, v in self.request_headers.items()]
        if self.request_body:
            lines.append("> " + redact(self.request_body)[:4000])
        if self.error:
            lines.append(f"< (no response: {self.error})")
        else:
            lines.append(f"< {self.status}")
            lines += [f"< {k}: {v}" for k, v in self.response_headers.items()]
            lines.append("< " + redact(self.response_body[:4000]))
        return "\n".join(lines)


SECRET_FIELDS = r"(password|client_secret|access_token|refresh_token|secret)"


def redact(text):
    """Hides passwords, client secrets, tokens and webhook secrets in form and JSON bodies."""
    import re
    text = re.sub(SECRET_FIELDS + r"=[^&\s]*", r"\1=<redacted>", text)
    return re.sub(r'"' + SECRET_FIELDS + r'"\s*:\s*"[^"]*"', r'"\1": "<redacted>"', text)


class Http:
    """requests with a log of every exchange (the report shows a failing check's exchanges) and
    optional OpenAPI validation of every JSON response."""

    def __init__(self, kit):
        self.kit = kit
        self.log = []

    def request(self, method, url, session=None, validate=True, **kwargs):
        kwargs.setdefault("timeout", self.kit.args.timeout)
        kwargs.setdefault("allow_redirects", False)
        if not url.startswith("http"):
            url = self.kit.base + url
        try:
            response = (session or requests).request(method, url, **kwargs)
        except requests.RequestException as error:
            self.log.append(Exchange(method=method, url=url, error=str(error)))
            raise CheckFailed(f"{method} {url}: no response ({error})")
        self.log.append(Exchange(response))
        if validate and self.kit.openapi:
            self.kit.openapi.validate(method, url, response)
        return response


# ----------------------------------------------------------------------------- HTML forms

class FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.current = None
        self.button_text = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.current = {"action": a.get("action", ""), "method": (a.get("method") or "get").lower(),
                            "fields": [], "buttons": []}
            self.forms.append(self.current)
        elif self.current is not None and tag in ("input", "button", "select", "textarea"):
            kind = (a.get("type") or ("submit" if tag == "button" else "text")).lower()
            if kind in ("submit", "image") or (tag == "button" and kind == "submit"):
                self.current["buttons"].append({"name": a.get("name"), "value": a.get("value", ""), "id": a.get("id", ""),
                                                "text": ""})
                if tag == "button":
                    self.button_text = self.current["buttons"][-1]
            elif kind not in ("button", "reset", "file"):
                if kind in ("checkbox", "radio") and "checked" not in a:
                    return
                self.current["fields"].append({"name": a.get("name"), "value": a.get("value", ""), "type": kind})

    def handle_data(self, data):
        if self.button_text is not None:
            self.button_text["text"] += data

    def handle_endtag(self, tag):
        if tag == "button":
            self.button_text = None
        if tag == "form":
            self.current = None


def forms_of(page_html):
    parser = FormParser()
    parser.feed(page_html)
    return parser.forms


def has_password_form(page_html):
    return any(f["type"] == "password" for form in forms_of(page_html) for f in form["fields"])


APPROVE_WORDS = ("approve", "allow", "authorize", "authorise", "accept", "grant", "consent", "yes", "continue")


class Browser:
    """Walks a vendor's sign-in and consent pages like a browser: fetches the HTML, fills the
    forms it finds (hidden fields kept), submits, follows redirects until the client's redirect
    URI is reached."""

    def __init__(self, kit):
        self.kit = kit
        self.session = requests.Session()

    def authorize_url(self, state, redirect_uri=None, prompt=None, challenge=None, client_id=None):
        params = {"response_type": "code", "client_id": client_id or self.kit.args.client_id,
                  "redirect_uri": redirect_uri or self.kit.args.redirect_uri, "scope": self.kit.args.scope, "state": state}
        if challenge:
            params.update(code_challenge=challenge, code_challenge_method="S256")
        if prompt:
            params["prompt"] = prompt
        return self.kit.base + self.kit.args.authorize_path + "?" + urlparse.urlencode(params, quote_via=urlparse.quote)

    def get(self, url):
        return self.kit.http.request("GET", url, session=self.session, validate=False)

    def submit(self, page, form, overrides, button=None):
        fields = {}
        for f in form["fields"]:
            if f["name"]:
                fields[f["name"]] = f["value"]
        fields.update(overrides)
        if button and button.get("name"):
            fields[button["name"]] = button.get("value", "")
        action = urlparse.urljoin(page.url, form["action"] or page.url)
        if form["method"] == "post":
            return self.kit.http.request("POST", action, session=self.session, data=fields, validate=False)
        return self.kit.http.request("GET", action, session=self.session, params=fields, validate=False)

    def sign_in_fields(self, form):
        names = {f["name"]: f["type"] for f in form["fields"] if f["name"]}
        email_name = self.kit.form_fields.get("email") or next(
            (n for n, t in names.items() if t == "email" or n.lower() in ("email", "username", "login", "user")), None)
        password_name = self.kit.form_fields.get("password") or next((n for n, t in names.items() if t == "password"), None)
        expect(email_name and password_name, "the sign-in form has no recognizable email and password fields "
                                             "(give --form-fields email=NAME,password=NAME)")
        extra = {k: v for k, v in self.kit.form_fields.items() if k not in ("email", "password")}
        return {email_name: self.kit.args.email, password_name: self.kit.args.password, **extra}

    def walk(self, url, stop_at=None, approve=True, max_steps=12):
        """Follows the flow from `url`; returns the final Location on the redirect URI (a str), or
        the last page (a Response) if the flow stops before it."""
        stop_at = stop_at or self.kit.args.redirect_uri
        response = self.get(url)
        for _ in range(max_steps):
            if response.status_code in (301, 302, 303, 307, 308):
                location = urlparse.urljoin(response.url, response.headers.get("Location", ""))
                if location.split("?")[0].split("#")[0] == stop_at.split("?")[0] or not location.startswith(self.kit.base):
                    return location
                response = self.get(location)
                continue
            if response.status_code != 200:
                return response
            forms = [f for f in forms_of(response.text) if f["method"] in ("post", "get")]
            sign_in = next((f for f in forms if any(x["type"] == "password" for x in f["fields"])), None)
            if sign_in:
                expect(self.kit.args.email, "a sign-in form was shown but no --email/--password was given")
                button = sign_in["buttons"][0] if sign_in["buttons"] else None
                response = self.submit(response, sign_in, self.sign_in_fields(sign_in), button)
                continue
            consent = next((f for f in forms if f["buttons"]), forms[0] if forms else None)
            if not consent:
                return response
            button = self.pick_button(consent, approve)
            response = self.submit(response, consent, {}, button)
        return response

    def pick_button(self, form, approve):
        words = APPROVE_WORDS if approve else ("deny", "cancel", "reject", "decline", "no")
        for b in form["buttons"]:
            label = " ".join([b.get("value") or "", b.get("text") or "", b.get("id") or ""]).lower()
            if any(w in label for w in words):
                return b
        return form["buttons"][0] if form["buttons"] else None


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query_of(location):
    return dict(urlparse.parse_qsl(urlparse.urlparse(location).query, keep_blank_values=True))


# ----------------------------------------------------------------------------- webhook receiver

class Receiver:
    """The kit's webhook receiver: records every POST; answers 500 to the first delivery of each
    event type named in `fail_first` (to see the retry), 204 otherwise."""

    def __init__(self, host, port, public_url=None):
        self.requests = []  # (headers lower-case, body bytes, status answered, time)
        self.fail_first = set()
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                status = 204
                try:
                    event_type = json.loads(body).get("event_type")
                except Exception:
                    event_type = None
                with receiver.lock:
                    if event_type in receiver.fail_first:
                        receiver.fail_first.discard(event_type)
                        status = 500
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body, status, time.time()))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = public_url or f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{self.port}/lockcloud-conformance/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def received(self):
        with self.lock:
            return list(self.requests)

    def events(self):
        out = []
        for headers, body, status, at in self.received():
            try:
                out.append((json.loads(body), headers, body, status))
            except Exception:
                out.append(({}, headers, body, status))
        return out

    def wait_event(self, predicate, timeout):
        def find():
            return next((e for e, h, b, s in self.events() if predicate(e)), None)
        return wait_for(find, timeout)


# ----------------------------------------------------------------------------- OpenAPI

class OpenAPI:
    def __init__(self, path):
        import yaml
        import jsonschema
        self.jsonschema = jsonschema
        with open(path) as f:
            self.doc = yaml.safe_load(f)
        self.prefix = urlparse.urlparse((self.doc.get("servers") or [{}])[0].get("url", "")).path.rstrip("/")
        self.violations = []  # (method, url, status, message)
        self.checked = 0
        self.paths = []
        for template, item in (self.doc.get("paths") or {}).items():
            parts = template.strip("/").split("/")
            self.paths.append((parts, item))

    def match(self, path):
        parts = path.strip("/").split("/")
        best = None
        for template, item in self.paths:
            if len(template) != len(parts):
                continue
            if all(t == p or (t.startswith("{") and t.endswith("}")) for t, p in zip(template, parts)):
                literal = sum(1 for t in template if not t.startswith("{"))
                if best is None or literal > best[0]:
                    best = (literal, item)
        return best[1] if best else None

    def validate(self, method, url, response):
        path = urlparse.urlparse(url).path
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix):] or "/"
        item = self.match(path)
        if item is None:
            return
        operation = item.get(method.lower())
        if operation is None:
            return
        responses = operation.get("responses") or {}
        spec = responses.get(str(response.status_code)) or responses.get(f"{response.status_code // 100}XX") \
            or responses.get("default")
        self.checked += 1
        if spec is None:
            self.violations.append((method, url, response.status_code, f"status {response.status_code} is not documented"))
            return
        spec = self.resolve(spec)
        content = spec.get("content") or {}
        media = content.get("application/json")
        if not media or "schema" not in media:
            return
        if "json" not in response.headers.get("Content-Type", ""):
            self.violations.append((method, url, response.status_code, "documented as JSON but Content-Type is "
                                    + response.headers.get("Content-Type", "(none)")))
            return
        try:
            body = response.json()
        except ValueError:
            self.violations.append((method, url, response.status_code, "body is not JSON"))
            return
        schema = dict(media["schema"])
        schema["components"] = self.doc.get("components", {})
        validator_class = self.jsonschema.validators.validator_for({"$schema": "https://json-schema.org/draft/2020-12/schema"})
        errors = sorted(validator_class(schema).iter_errors(body), key=lambda e: list(e.path))
        for e in errors[:3]:
            self.violations.append((method, url, response.status_code, f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message[:300]}"))

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            target = self.doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node


# ----------------------------------------------------------------------------- the checks

class Result:
    def __init__(self, check_id, section, requirement, level, title):
        self.id, self.section, self.requirement, self.level, self.title = check_id, section, requirement, level, title
        self.outcome = "not run"
        self.message = ""
        self.exchanges = []
        self.seconds = 0.0


class Kit:
    def __init__(self, args):
        self.args = args
        self.base = args.base_url.rstrip("/")
        self.http = Http(self)
        self.openapi = OpenAPI(args.openapi) if args.openapi else None
        self.form_fields = dict(p.split("=", 1) for p in args.form_fields.split(",") if "=" in p) if args.form_fields else {}
        self.results = []
        self.tokens = None
        self.user_id = None
        self.created = {"webhooks": [], "locks": [], "codes": []}
        self.receiver = None
        self.webhook = None
        self.own_lock = None
        self.online_lock = None
        self.pair_supported = None
        self.code_on_online_lock = None
        self.action = None

    # -- plumbing
    SETUP = ("oauth.state_round_trip", "oauth.token_response", "oauth.refresh_token_sign_in", "devices.list",
             "devices.get_lock", "devices.pair_lock", "webhooks.register")

    def selected(self, check_id):
        only = self.args.only
        if check_id in self.SETUP:
            return True
        return not only or any(check_id == o or check_id.startswith(o.rstrip("*")) for o in only)

    def check(self, check_id, section, requirement, level, title, function, *fargs):
        result = Result(check_id, section, requirement, level, title)
        self.results.append(result)
        if level == OPTIONAL and not self.args.optional:
            result.outcome, result.message = "skipped", "optional: run with --optional"
            return None
        if not self.selected(check_id):
            result.outcome, result.message = "skipped", "not selected (--only)"
            return None
        start_log = len(self.http.log)
        started = time.monotonic()
        value = None
        try:
            value = function(*fargs)
            result.outcome = "passed"
            if isinstance(value, str):
                result.message = value
        except NotApplicable as skip:
            result.outcome, result.message = "n/a", str(skip)
        except Skip as skip:
            result.outcome, result.message = "skipped", str(skip)
        except CheckFailed as failure:
            result.outcome, result.message = "failed", str(failure)
        except Exception as error:  # a bug or an unexpected answer: counted as a failure
            result.outcome = "failed"
            result.message = f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=3)}"
        result.seconds = time.monotonic() - started
        result.exchanges = [e.text() for e in self.http.log[start_log:]][-8:]
        if result.outcome != "failed":
            result.exchanges = []
        if not self.args.quiet:
            print(line_of(result), flush=True)
        return value

    def api(self, method, path, token=None, **kwargs):
        headers = kwargs.pop("headers", {})
        headers["Authorization"] = "Bearer " + (token or self.tokens["access_token"])
        return self.http.request(method, path, headers=headers, **kwargs)

    def client_auth(self):
        return (self.args.client_id, self.args.client_secret)

    def token_request(self, fields):
        return self.http.request("POST", self.base + self.args.token_path, data=fields, auth=self.client_auth())

    def exchange_code(self, code, verifier=None):
        fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.args.redirect_uri}
        if verifier:
            fields["code_verifier"] = verifier
        return self.token_request(fields)

    def refresh(self, refresh_token):
        return self.token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def token_works(self, token):
        return self.api("GET", "/locks", token=token, validate=False).status_code == 200

    def automatic(self):
        return bool(self.args.email and self.args.password)

    def needs_owner(self):
        if not self.tokens:
            raise Skip("no access token (sign-in failed or was not possible)")

    def needs_browser(self):
        if not self.automatic():
            raise Skip("needs automatic sign-in (--email/--password)")

    # ------------------------------------------------------------------------- OAuth
    def authorize_once(self, browser=None, prompt=None):
        """One full authorization with a fresh state and PKCE; returns (location, state, verifier)."""
        browser = browser or Browser(self)
        state = secrets.token_urlsafe(16) + "-!~"
        verifier, challenge = pkce_pair()
        location = browser.walk(browser.authorize_url(state, prompt=prompt, challenge=challenge))
        expect(isinstance(location, str), f"the flow ended on a page (status {getattr(location, 'status_code', '?')}) "
                                          "instead of redirecting to the redirect URI")
        return location, state, verifier

    def interactive_sign_in(self):
        state = secrets.token_urlsafe(16)
        verifier, challenge = pkce_pair()
        got = {}
        done = threading.Event()
        path = urlparse.urlparse(self.args.redirect_uri).path

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if urlparse.urlparse(self.path).path != path:
                    self.send_response(404); self.end_headers(); return
                got.update(query_of(self.path))
                body = b"LockCloud conformance kit: signed in, you can close this tab."
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                done.set()

            def log_message(self, *a):
                pass

        server = http.server.HTTPServer(("127.0.0.1", urlparse.urlparse(self.args.redirect_uri).port or 3020), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        print("Open this URL in a browser, sign in and allow access:\n  " + Browser(self).authorize_url(state, challenge=challenge), flush=True)
        done.wait(self.args.interactive_timeout)
        server.shutdown()
        server.server_close()
        expect("code" in got, f"no authorization code arrived at {self.args.redirect_uri}: {got}")
        return got, state, verifier

    def c_state_round_trip(self):
        if self.automatic():
            location, state, verifier = self.authorize_once()
            query = query_of(location)
        elif self.args.interactive:
            query, state, verifier = self.interactive_sign_in()
        else:
            raise Skip("needs a sign-in (--interactive or --email/--password)")
        expect("code" in query, f"no code in the redirect: {query}")
        self.first_code, self.first_verifier = query["code"], verifier
        expect(query.get("state") == state, f"state sent {state!r}, came back {query.get('state')!r}")

    def c_token_response(self):
        if not getattr(self, "first_code", None):
            raise Skip("no authorization code")
        response = self.exchange_code(self.first_code, self.first_verifier)
        expect(response.status_code == 200, f"code exchange answered {response.status_code}")
        body = response.json()
        for field in ("access_token", "refresh_token", "user_id", "expires_in"):
            expect(field in body, f"token response lacks {field}")
        expect(str(body.get("token_type", "")).lower() == "bearer", f"token_type {body.get('token_type')!r}")
        self.tokens = body
        self.user_id = body["user_id"]
        expect("no-store" in response.headers.get("Cache-Control", ""), "token response lacks Cache-Control: no-store")

    def c_refresh_token_sign_in(self):
        response = self.refresh(self.args.refresh_token)
        expect(response.status_code == 200, f"refresh answered {response.status_code}")
        self.tokens = response.json()
        self.user_id = self.tokens.get("user_id")
        if "refresh_token" not in self.tokens:
            self.tokens["refresh_token"] = self.args.refresh_token

    def c_code_single_use(self):
        self.needs_browser()
        location, state, verifier = self.authorize_once()
        code = query_of(location)["code"]
        first = self.exchange_code(code, verifier)
        expect(first.status_code == 200, f"first use of a fresh code answered {first.status_code}")
        second = self.exchange_code(code, verifier)
        expect(second.status_code == 400, f"second use of the code answered {second.status_code}, expected 400")
        expect(second.json().get("error") == "invalid_grant", f"second use: error {second.json().get('error')!r}, expected invalid_grant")
        self.reused_tokens = first.json()

    def c_code_reuse_revokes(self):
        tokens = getattr(self, "reused_tokens", None)
        if not tokens:
            raise Skip("the single-use check did not run")
        expect(not self.token_works(tokens["access_token"]), "the access token issued from a reused code still works")

    def c_exact_redirect(self):
        registered = self.args.redirect_uri
        parsed = urlparse.urlparse(registered)
        variants = [registered + "x", registered + "/../evil", registered + "?extra=1",
                    f"{parsed.scheme}://{parsed.netloc}.evil.example{parsed.path}"]
        problems = []
        for variant in variants:
            browser = Browser(self)
            if self.automatic():  # a live session, so a lax server would go straight to consent
                self.authorize_once(browser)
            url = browser.authorize_url(secrets.token_urlsafe(8), redirect_uri=variant)
            response = self.http.request("GET", url, session=browser.session, validate=False)
            location = response.headers.get("Location", "")
            if response.status_code in (301, 302, 303, 307, 308) and location.startswith(variant.split("?")[0]):
                problems.append(f"{variant}: redirected there")
            elif response.status_code == 200 and any(f["buttons"] or f["fields"] for f in forms_of(response.text)):
                if self.automatic():
                    result = browser.walk(url, stop_at=variant)
                    if isinstance(result, str) and result.startswith(variant.split("?")[0]):
                        problems.append(f"{variant}: the flow went on and redirected there")
                        continue
                problems.append(f"{variant}: a sign-in or consent form was shown instead of an error page")
        expect(not problems, "; ".join(problems))

    def c_prompt_login(self):
        self.needs_browser()
        browser = Browser(self)
        self.authorize_once(browser)  # now signed in
        state = secrets.token_urlsafe(8)
        response = self.http.request("GET", browser.authorize_url(state, prompt="login"), session=browser.session, validate=False)
        for _ in range(5):
            if response.status_code in (301, 302, 303, 307, 308):
                location = urlparse.urljoin(response.url, response.headers.get("Location", ""))
                expect(location.startswith(self.base), "prompt=login with a live session redirected to the client "
                                                       "without asking for the password")
                response = self.http.request("GET", location, session=browser.session, validate=False)
        expect(response.status_code == 200 and has_password_form(response.text),
               "prompt=login with a live session did not show a password field")

    def c_refresh_keeps_old(self):
        self.needs_owner()
        old = self.tokens["access_token"]
        expect(self.token_works(old), "the current access token does not work")
        response = self.refresh(self.tokens["refresh_token"])
        expect(response.status_code == 200, f"refresh answered {response.status_code}")
        new = response.json()
        expect(new.get("access_token") and new["access_token"] != old, "refresh returned no new access token")
        expect(self.token_works(new["access_token"]), "the refreshed access token does not work")
        expect(self.token_works(old), "the older access token stopped working after a refresh")
        self.refreshed = new

    def c_parallel_refresh(self):
        self.needs_owner()
        refresh_token = self.tokens["refresh_token"]
        with concurrent.futures.ThreadPoolExecutor(5) as pool:
            responses = list(pool.map(lambda _: self.refresh(refresh_token), range(5)))
        statuses = [r.status_code for r in responses]
        expect(statuses == [200] * 5, f"5 parallel refreshes answered {statuses}")
        tokens = [r.json()["access_token"] for r in responses]
        expect(all(self.token_works(t) for t in tokens), "a token from the parallel refreshes does not work")
        expect(self.token_works(self.tokens["access_token"]), "the first access token stopped working")
        latest = responses[-1].json()
        self.tokens = {**self.tokens, "access_token": latest["access_token"],
                       "refresh_token": latest.get("refresh_token", refresh_token)}
        self.parallel_user_ids = [r.json().get("user_id") for r in responses]

    def c_stable_user_id(self):
        self.needs_owner()
        ids = [self.user_id] + ([self.refreshed.get("user_id")] if getattr(self, "refreshed", None) else []) \
            + getattr(self, "parallel_user_ids", [])
        response = self.refresh(self.tokens["refresh_token"])
        expect(response.status_code == 200, f"a refresh answered {response.status_code}")
        ids.append(response.json().get("user_id"))
        if self.automatic():
            location, _, verifier = self.authorize_once()
            response = self.exchange_code(query_of(location)["code"], verifier)
            expect(response.status_code == 200, f"second authorization's code exchange answered {response.status_code}")
            ids.append(response.json().get("user_id"))
        expect(all(i == self.user_id for i in ids), f"user_id differs across token responses: {sorted(set(map(str, ids)))}")
        expect(isinstance(self.user_id, str) and self.user_id and "@" not in self.user_id, f"user_id {self.user_id!r} is empty or an email")

    def c_bad_token(self):
        response = self.api("GET", "/locks", token="not-a-valid-token-" + secrets.token_hex(8))
        expect(response.status_code == 401, f"a bad bearer token got {response.status_code}, expected 401")
        expect("bearer" in response.headers.get("WWW-Authenticate", "").lower(), "401 without WWW-Authenticate: Bearer")

    def c_metadata(self):
        response = self.http.request("GET", "/.well-known/oauth-authorization-server", validate=False)
        expect(response.status_code == 200, f"answered {response.status_code}")
        body = response.json()
        for field in ("issuer", "authorization_endpoint", "token_endpoint"):
            expect(field in body, f"metadata lacks {field}")

    # ------------------------------------------------------------------------- devices
    def c_list_locks(self):
        self.needs_owner()
        response = self.api("GET", "/locks")
        expect(response.status_code == 200, f"GET /locks answered {response.status_code}")
        body = response.json()
        expect(isinstance(body.get("locks"), list), "no `locks` list")
        expect("next_page_cursor" in body, "no `next_page_cursor`")
        self.listed_locks = body["locks"]
        listed_ids = {l.get("lock_id") for l in body["locks"]}
        for lock_id in self.args.lock_id:
            expect(lock_id in listed_ids, f"the named lock {lock_id} is not in GET /locks")

    def lock_problems(self, lock):
        problems = []
        for field, kind in LOCK_FIELDS.items():
            if field not in lock:
                problems.append(f"missing {field}")
            elif not isinstance(lock[field], kind) or (kind is int and isinstance(lock[field], bool)):
                problems.append(f"{field} has type {type(lock[field]).__name__}")
        for field, allowed in LOCK_ENUMS.items():
            if field in lock and lock[field] not in allowed:
                problems.append(f"{field}={lock[field]!r} not in {sorted(allowed)}")
        if isinstance(lock.get("battery_level"), int) and not 0 <= lock["battery_level"] <= 100:
            problems.append("battery_level outside 0-100")
        for field in ("location", "bridge_id", "address", "device_time", "signal_quality"):
            if field not in lock:
                problems.append(f"missing {field}")
        try:
            uuid.UUID(str(lock.get("lock_id")))
        except ValueError:
            problems.append("lock_id is not a UUID")
        return problems

    def c_lock_fields(self):
        self.needs_owner()
        locks = getattr(self, "listed_locks", None)
        if not locks:
            raise Skip("no locks listed")
        problems = [f"{l.get('lock_id')}: {p}" for l in locks for p in self.lock_problems(l)]
        expect(not problems, "; ".join(problems[:10]))

    def c_get_lock(self):
        self.needs_owner()
        locks = getattr(self, "listed_locks", None) or []
        if not locks:
            raise Skip("no locks listed")
        lock_id = (self.args.lock_id or [locks[0]["lock_id"]])[0]
        response = self.api("GET", f"/locks/{lock_id}")
        expect(response.status_code == 200, f"answered {response.status_code}")
        body = response.json()
        expect(body.get("lock_id") == lock_id, "the lock object is not at top level with its lock_id")
        problems = self.lock_problems(body)
        expect(not problems, "; ".join(problems))
        self.online_lock = body if self.args.lock_id else None

    def c_unknown_lock(self):
        self.needs_owner()
        response = self.api("GET", f"/locks/{uuid.uuid4()}")
        expect(response.status_code == 404, f"an unknown lock answered {response.status_code}, expected 404")
        expect(isinstance(response.json().get("error_code"), str), "the error body has no error_code")

    def c_pair_lock(self):
        self.needs_owner()
        response = self.api("POST", "/locks", json={"name": "Seam conformance kit " + secrets.token_hex(3), "timezone": "UTC"})
        if response.status_code in (404, 405, 501):
            self.pair_supported = False
            raise Skip(f"the API does not let an owner pair a lock (POST /locks answered {response.status_code})")
        expect(response.status_code in (200, 201), f"POST /locks answered {response.status_code}")
        lock = response.json()
        self.created["locks"].append(lock["lock_id"])
        self.own_lock = lock
        self.pair_supported = True
        problems = self.lock_problems(lock)
        expect(not problems, "; ".join(problems))

    # ------------------------------------------------------------------------- actions
    def needs_online_lock(self):
        self.needs_owner()
        if not self.online_lock:
            raise Skip("needs an online lock that answers: name one with --lock-id")

    def c_action_pending(self):
        self.needs_online_lock()
        lock_id = self.online_lock["lock_id"]
        self.action_custom_id = "conformance-" + secrets.token_hex(6)
        self.receiver_mark = len(self.receiver.received()) if self.receiver else 0
        if self.receiver and self.webhook:
            self.receiver.fail_first.add("lock.action_completed")  # for the retry check
        response = self.api("POST", f"/locks/{lock_id}/actions", json={"action": "lock", "custom_id": self.action_custom_id})
        expect(response.status_code in (200, 201, 202), f"answered {response.status_code}")
        body = response.json()
        for field in ("action_id", "status", "lock_id", "action"):
            expect(field in body, f"the action lacks {field}")
        expect(body["status"] in ("pending", "success"), f"status {body['status']!r}")
        expect(body.get("custom_id") == self.action_custom_id, "the action does not echo custom_id")
        self.action = body

    def c_custom_id(self):
        if not self.action:
            raise Skip("no action was created")
        response = self.api("POST", f"/locks/{self.online_lock['lock_id']}/actions",
                            json={"action": "lock", "custom_id": self.action_custom_id})
        expect(response.status_code in (200, 201, 202), f"the repeated request answered {response.status_code}")
        expect(response.json().get("action_id") == self.action["action_id"],
               "a repeated custom_id created a new action instead of returning the first")

    def c_action_completes(self):
        if not self.action:
            raise Skip("no action was created")
        url = f"/locks/{self.online_lock['lock_id']}/actions/{self.action['action_id']}"
        final = wait_for(lambda: (b := self.api("GET", url).json()).get("status") != "pending" and b, self.args.wait)
        expect(final, f"the action was still pending after {self.args.wait}s")
        expect(final["status"] == "success", f"the action ended {final['status']!r}: {final.get('error_code')} {final.get('message')}")
        expect(final.get("performed_via") == "remote_api", f"performed_via {final.get('performed_via')!r}, expected remote_api")

    def c_action_event(self):
        if not self.action:
            raise Skip("no action was created")
        self.needs_webhook()
        event = self.receiver.wait_event(lambda e: e.get("event_type") == "lock.action_completed" and
                                         (e.get("action_id") or e.get("data", {}).get("action_id")) == self.action["action_id"],
                                         self.args.wait)
        expect(event, f"no lock.action_completed for action {self.action['action_id']} within {self.args.wait}s")

    def c_device_offline(self):
        self.needs_owner()
        if not self.own_lock:
            raise Skip("needs a lock the kit paired itself (an offline lock)")
        lock_id = self.own_lock["lock_id"]
        lock = self.api("GET", f"/locks/{lock_id}").json()
        if lock.get("online"):
            raise Skip("the lock the kit paired reports online; no offline lock to test with")
        response = self.api("POST", f"/locks/{lock_id}/actions", json={"action": "unlock", "custom_id": "conformance-off-" + secrets.token_hex(4)})
        expect(400 <= response.status_code < 600 and response.status_code != 500,
               f"an action on an offline lock answered {response.status_code}, expected an immediate error")
        expect(response.json().get("error_code") == "DEVICE_OFFLINE", f"error_code {response.json().get('error_code')!r}, expected DEVICE_OFFLINE")

    # ------------------------------------------------------------------------- access codes
    def pin(self, lock, used=()):
        lengths = lock.get("supported_code_lengths") or [max(lock.get("code_length_min", 4), min(6, lock.get("code_length_max", 6)))]
        length = 6 if 6 in lengths else lengths[0]
        while True:
            value = "".join(secrets.choice("0123456789") for _ in range(length))
            if value not in used:
                return value

    def create_code(self, lock, **fields):
        fields.setdefault("name", "Seam conformance kit")
        response = self.api("POST", f"/locks/{lock['lock_id']}/access_codes", json=fields)
        if response.status_code in (200, 201):
            try:
                self.created["codes"].append((lock["lock_id"], response.json()["access_code_id"]))
            except Exception:
                pass
        return response

    def code_status(self, code_id):
        response = self.api("GET", f"/access_codes/{code_id}")
        return response.json().get("status") if response.status_code == 200 else f"HTTP {response.status_code}"

    def c_code_create(self):
        self.needs_online_lock()
        lock = self.online_lock
        if lock.get("can_program_online_access_codes") is False:
            raise Skip("the named lock cannot program online codes")
        self.code_mark = len(self.receiver.received()) if self.receiver else 0
        pin = self.pin(lock)
        response = self.create_code(lock, code=pin, starts_at=now_iso(-60), ends_at=now_iso(86400))
        expect(response.status_code in (200, 201), f"answered {response.status_code}")
        body = response.json()
        problems = [f for f, kind in CODE_FIELDS.items() if not isinstance(body.get(f, KeyError), kind)]
        expect(not problems, f"fields missing or mistyped: {problems}")
        expect(body["code"] == pin and body["lock_id"] == lock["lock_id"], "the code or lock_id differ from the request")
        expect(body["status"] in ("pending", "scheduled", "active"), f"create status {body['status']!r}")
        self.code_on_online_lock = body

    def c_code_active(self):
        if not self.code_on_online_lock:
            raise Skip("no code was created")
        status = wait_for(lambda: (s := self.code_status(self.code_on_online_lock["access_code_id"])) in ("active", "failed") and s, self.args.wait)
        expect(status == "active", f"the code did not become active within {self.args.wait}s (status {status or self.code_status(self.code_on_online_lock['access_code_id'])!r})")

    def c_code_list(self):
        if not self.code_on_online_lock:
            raise Skip("no code was created")
        response = self.api("GET", f"/locks/{self.online_lock['lock_id']}/access_codes")
        expect(response.status_code == 200, f"answered {response.status_code}")
        body = response.json()
        expect(isinstance(body.get("access_codes"), list) and "next_page_cursor" in body, "not {access_codes: [...], next_page_cursor}")
        expect(any(c.get("access_code_id") == self.code_on_online_lock["access_code_id"] for c in body["access_codes"]),
               "the new code is not in the lock's list")

    def c_code_update(self):
        if not self.code_on_online_lock:
            raise Skip("no code was created")
        code_id = self.code_on_online_lock["access_code_id"]
        # The create reaches the lock first, so the change is a second one the lock applies (and
        # gets its own access_code.updated); a change made before that merges into the create.
        wait_for(lambda: self.code_status(code_id) in ("active", "failed"), self.args.wait)
        new_pin = self.pin(self.online_lock, used={self.code_on_online_lock["code"]})
        response = self.api("PATCH", f"/access_codes/{code_id}", json={"name": "Seam conformance kit (renamed)", "code": new_pin})
        expect(response.status_code == 200, f"answered {response.status_code}")
        body = self.api("GET", f"/access_codes/{code_id}").json()
        expect(body.get("name") == "Seam conformance kit (renamed)" and body.get("code") == new_pin, "the change is not visible on GET")
        status = wait_for(lambda: (s := self.code_status(code_id)) in ("active", "failed") and s, self.args.wait)
        expect(status == "active", f"after the change the code did not become active again (status {status!r})")

    def c_code_delete(self):
        if not self.code_on_online_lock:
            raise Skip("no code was created")
        code_id = self.code_on_online_lock["access_code_id"]
        response = self.api("DELETE", f"/access_codes/{code_id}")
        expect(response.status_code in (200, 202, 204), f"answered {response.status_code}")
        if response.status_code != 204 and response.content:
            body = response.json()
            expect(body.get("status") in ("removing", "removed", None), f"delete status {body.get('status')!r}")
        gone = wait_for(lambda: self.code_status(code_id) in ("HTTP 404", "removed", "deleted", "expired"), self.args.wait)
        expect(gone, f"the code was not gone within {self.args.wait}s (status {self.code_status(code_id)!r})")
        listed = self.api("GET", f"/locks/{self.online_lock['lock_id']}/access_codes").json().get("access_codes", [])
        expect(all(c.get("access_code_id") != code_id for c in listed), "the deleted code is still in the default list")

    def c_code_events(self):
        if not self.code_on_online_lock:
            raise Skip("no code was created")
        self.needs_webhook()
        code_id = self.code_on_online_lock["access_code_id"]

        def of(kind):
            return [e for e, h, b, s in self.receiver.events() if e.get("event_type") == kind and
                    (e.get("access_code_id") or e.get("data", {}).get("access_code_id")) == code_id]
        wait_for(lambda: of("access_code.created") and of("access_code.updated") and of("access_code.deleted"), self.args.wait)
        problems = []
        for kind in ("access_code.created", "access_code.updated", "access_code.deleted"):
            events = of(kind)
            if not events:
                problems.append(f"no {kind}")
                continue
            e = events[0]
            data = {**e.get("data", {}), **{k: v for k, v in e.items() if k != "data"}}
            if data.get("lock_id") != self.online_lock["lock_id"]:
                problems.append(f"{kind} lacks lock_id")
            status = e.get("status", e.get("data", {}).get("status"))
            if status != "success":
                problems.append(f"{kind} has status {status!r}, expected \"success\" once the lock confirmed")
        expect(not problems, "; ".join(problems))

    def needs_own_lock(self):
        self.needs_owner()
        if not self.own_lock:
            raise Skip("needs a lock the kit paired itself")

    def c_invalid_pin(self):
        self.needs_own_lock()
        lock = self.own_lock
        problems = []
        too_short = "1" * max(1, lock.get("code_length_min", 4) - 1)
        for bad in ("12ab56", too_short, "1" * (lock.get("code_length_max", 8) + 1)):
            response = self.create_code(lock, code=bad)
            if response.status_code != 400 or response.json().get("error_code") != "INVALID_CODE":
                problems.append(f"code {bad!r}: {response.status_code} {response.json().get('error_code') if response.content else ''}")
        expect(not problems, "invalid PINs not refused with 400 INVALID_CODE: " + "; ".join(problems))

    def c_pin_conflict(self):
        self.needs_own_lock()
        pin = self.pin(self.own_lock)
        first = self.create_code(self.own_lock, code=pin)
        expect(first.status_code in (200, 201), f"the first code answered {first.status_code}")
        second = self.create_code(self.own_lock, code=pin)
        expect(second.status_code == 409, f"a second live code with the same PIN answered {second.status_code}, expected 409")
        expect(second.json().get("error_code") == "PIN_CONFLICT", f"error_code {second.json().get('error_code')!r}")
        self.own_pins = {pin}

    def c_time_range(self):
        self.needs_own_lock()
        response = self.create_code(self.own_lock, code=self.pin(self.own_lock), starts_at=now_iso(7200), ends_at=now_iso(3600))
        expect(response.status_code == 400 and response.json().get("error_code") == "INVALID_TIME_RANGE",
               f"ends_at before starts_at answered {response.status_code} {response.text[:200]}")

    def c_limit(self):
        self.needs_own_lock()
        lock = self.api("GET", f"/locks/{self.own_lock['lock_id']}").json()
        limit = lock.get("max_access_codes")
        expect(isinstance(limit, int) and limit > 0, "the lock has no max_access_codes")
        expect(limit <= self.args.max_limit, f"max_access_codes {limit} is above --max-limit {self.args.max_limit}")
        listed = self.api("GET", f"/locks/{lock['lock_id']}/access_codes", params={"limit": 1000}).json().get("access_codes", [])
        used = {c.get("code") for c in listed} | getattr(self, "own_pins", set())
        for _ in range(limit - len(listed)):
            pin = self.pin(lock, used)
            used.add(pin)
            response = self.create_code(lock, code=pin)
            expect(response.status_code in (200, 201), f"a code below the limit ({limit}) answered {response.status_code}")
        response = self.create_code(lock, code=self.pin(lock, used))
        expect(response.status_code in (400, 409, 422) and response.json().get("error_code") == "ACCESS_CODE_LIMIT_REACHED",
               f"code number {limit + 1} answered {response.status_code} {response.text[:200]}")
        self.limit_filled = limit

    def c_default_page(self):
        self.needs_own_lock()
        limit = getattr(self, "limit_filled", None)
        if not limit:
            raise Skip("the limit check did not fill the lock")
        response = self.api("GET", f"/locks/{self.own_lock['lock_id']}/access_codes")
        body = response.json()
        count = len(body.get("access_codes", []))
        expect(count == limit and body.get("next_page_cursor") is None,
               f"the default page holds {count} of the lock's {limit} live codes (next_page_cursor "
               f"{body.get('next_page_cursor')!r}); Seam reads all live codes in one page")

    # ------------------------------------------------------------------------- webhooks
    def needs_webhook(self):
        if not self.webhook:
            raise Skip("no webhook is registered")

    def c_webhook_register(self):
        self.receiver = Receiver(self.args.receiver_host, self.args.receiver_port, self.args.receiver_url)
        response = self.http.request("POST", "/webhooks", json={"url": self.receiver.url}, auth=self.client_auth())
        expect(response.status_code in (200, 201), f"POST /webhooks answered {response.status_code}")
        body = response.json()
        expect(body.get("webhook_id"), "no webhook_id")
        self.created["webhooks"].append(body["webhook_id"])
        self.webhook = body
        if self.args.webhook_scheme == "standard-webhooks":
            expect(body.get("secret"), "no secret to verify signatures with")
        listed = self.http.request("GET", "/webhooks", auth=self.client_auth()).json()
        expect(any(w.get("webhook_id") == body["webhook_id"] for w in listed.get("webhooks", [])), "the webhook is not in GET /webhooks")

    def c_webhook_delivery(self):
        self.needs_webhook()
        got = wait_for(lambda: self.receiver.received(), self.args.wait)
        expect(got, f"nothing was delivered to {self.receiver.url} within {self.args.wait}s")

    def c_envelope(self):
        self.needs_webhook()
        wait_for(lambda: self.receiver.received(), self.args.wait)
        events = [e for e, h, b, s in self.receiver.events()]
        if not events:
            raise Skip("no events were delivered")
        problems = []
        for e in events:
            missing = [f for f in ENVELOPE if f not in e]
            if missing:
                problems.append(f"{e.get('event_type')}: missing {missing}")
            elif self.user_id and e["user_id"] != self.user_id:
                problems.append(f"{e.get('event_type')}: user_id {e['user_id']} is not the token's {self.user_id}")
        expect(not problems, "; ".join(sorted(set(problems))[:8]))

    def c_signature(self):
        self.needs_webhook()
        if self.args.webhook_scheme != "standard-webhooks":
            raise NotApplicable("no --webhook-scheme given: signatures not checked")
        from standardwebhooks.webhooks import Webhook
        verifier = Webhook(self.webhook["secret"])
        wait_for(lambda: self.receiver.received(), self.args.wait)
        received = self.receiver.received()
        if not received:
            raise Skip("no events were delivered")
        bad = []
        for headers, body, status, at in received:
            try:
                verifier.verify(body, {"webhook-id": headers.get("webhook-id", ""),
                                       "webhook-timestamp": headers.get("webhook-timestamp", ""),
                                       "webhook-signature": headers.get("webhook-signature", "")})
            except Exception as error:
                bad.append(f"{headers.get('webhook-id')}: {error}")
        expect(not bad, f"{len(bad)} of {len(received)} deliveries fail Standard Webhooks verification: {bad[:3]}")

    def c_retry(self):
        self.needs_webhook()
        if not self.action:
            raise Skip("needs the lock action (its lock.action_completed is answered 500 once)")

        def attempts():
            return [(h.get("webhook-id"), b, s) for e, h, b, s in self.receiver.events()
                    if e.get("event_type") == "lock.action_completed"]
        got = wait_for(lambda: (a := attempts()) and any(s < 300 for _, _, s in a) and a, self.args.wait)
        seen = attempts()
        expect(seen, "lock.action_completed was never delivered")
        expect(seen[0][2] == 500, "the first delivery was not the one answered 500")
        expect(got, f"after the receiver answered 500, lock.action_completed was not delivered again within {self.args.wait}s")
        retries = [a for a in seen[1:] if a[1] == seen[0][1]]
        expect(retries, "the redelivery's body differs from the first attempt's")
        if seen[0][0]:
            expect(all(a[0] == seen[0][0] for a in retries), "the retry has a different webhook-id")

    def c_order(self):
        self.needs_webhook()
        if not self.code_on_online_lock:
            raise Skip("no code was created")
        code_id = self.code_on_online_lock["access_code_id"]

        def kinds_of_code():
            return {e.get("event_type") for e, h, b, s in self.receiver.events()
                    if (e.get("access_code_id") or e.get("data", {}).get("access_code_id")) == code_id}
        # Deliveries are asynchronous: wait (on what the receiver holds) for all three before judging their order.
        wait_for(lambda: {"access_code.created", "access_code.updated", "access_code.deleted"} <= kinds_of_code(), self.args.wait)
        order = []
        for e, h, b, s in self.receiver.events():
            kind = e.get("event_type")
            if (e.get("access_code_id") or e.get("data", {}).get("access_code_id")) == code_id and kind not in order:
                order.append(kind)
        wanted = [k for k in ("access_code.created", "access_code.updated", "access_code.deleted") if k in order]
        expect(len(wanted) >= 2, f"too few events of the code to judge the order: {order}")
        expect([k for k in order if k in wanted] == wanted, f"events arrived as {order}")

    def c_events_seam_needs(self):
        self.needs_webhook()
        wanted = []
        if self.action:
            wanted.append("lock.action_completed")
        if self.code_on_online_lock:
            wanted += ["access_code.created", "access_code.updated", "access_code.deleted"]
        if not wanted:
            raise Skip("no action or code was made to cause events")

        def received_kinds():
            return {e.get("event_type") for e, h, b, s in self.receiver.events()}
        # Events of the last steps (the code's deletion) may still be on their way: wait for them, up to --wait.
        wait_for(lambda: all(k in received_kinds() for k in wanted), self.args.wait)
        kinds = received_kinds()
        missing = [k for k in wanted if k not in kinds]
        expect(not missing, f"never received: {missing} (received: {sorted(k for k in kinds if k)})")

    def c_device_events(self):
        self.needs_webhook()
        if not self.own_lock:
            raise Skip("the kit paired no lock")
        kinds = {e.get("event_type") for e, h, b, s in self.receiver.events()
                 if (e.get("device_id") or e.get("lock_id")) == self.own_lock["lock_id"]}
        expect("device.added" in kinds, f"no device.added for the lock the kit paired (got {sorted(k for k in kinds if k)})")

    # ------------------------------------------------------------------------- health, openapi
    def c_health(self):
        response = self.http.request("GET", "/health")
        expect(response.status_code == 200, f"GET /health answered {response.status_code}")
        expect(response.json().get("ok") is True, f"body {response.text[:200]}")

    def c_openapi(self):
        if not self.openapi:
            raise NotApplicable("no --openapi document given")
        v = self.openapi.violations
        expect(not v, f"{len(v)} of {self.openapi.checked} responses disagree with the document: " +
               "; ".join(f"{m} {urlparse.urlparse(u).path} {s}: {msg}" for m, u, s, msg in v[:8]))
        return f"{self.openapi.checked} responses validated"

    # ------------------------------------------------------------------------- optional
    def c_offline_code(self):
        self.needs_own_lock()
        if not self.own_lock.get("can_program_offline_access_codes"):
            raise Skip("the lock cannot program offline codes")
        start = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=2)
        fields = {"is_offline_access_code": True, "starts_at": start.isoformat().replace("+00:00", "Z"),
                  "ends_at": (start + dt.timedelta(hours=3)).isoformat().replace("+00:00", "Z"), "name": "kit offline"}
        if getattr(self, "limit_filled", None):
            raise Skip("the kit's lock is full after the limit check")
        response = self.create_code(self.own_lock, **fields)
        expect(response.status_code in (200, 201), f"answered {response.status_code}")
        body = response.json()
        expect(body.get("is_offline_access_code") is True and str(body.get("code", "")).isdigit(), "not an offline code with a PIN")
        expect(body.get("offline_access_code_type") == "hourly_bound", f"type {body.get('offline_access_code_type')!r}")
        custom = self.create_code(self.own_lock, **{**fields, "code": "123456"})
        expect(custom.status_code == 400 and custom.json().get("error_code") == "OFFLINE_CODE_CUSTOM_PIN_NOT_ALLOWED",
               f"a custom PIN on an offline code answered {custom.status_code}")

    def c_legacy_list(self):
        self.needs_owner()
        lock_id = (self.online_lock or self.own_lock or {}).get("lock_id")
        if not lock_id:
            raise Skip("no lock")
        response = self.api("GET", "/access_codes", params={"lock_id": lock_id})
        expect(response.status_code == 200 and isinstance(response.json().get("access_codes"), list), f"answered {response.status_code}")

    def c_legacy_unlock_offline(self):
        self.needs_own_lock()
        response = self.api("POST", f"/locks/{self.own_lock['lock_id']}/unlock")
        body = response.json() if response.content else {}
        expect(response.status_code >= 400 and body.get("error_id") == "DEVICE_OFFLINE",
               f"answered {response.status_code} {response.text[:200]}")

    # ------------------------------------------------------------------------- run and clean up
    def run(self):
        G = self.check
        a = self.args
        G("health.ok", "health", "contract §8; older guide: health", REQUIRED, "GET /health answers 200 {ok: true}", self.c_health)
        if a.refresh_token:
            G("oauth.refresh_token_sign_in", "oauth", "contract §3 refresh", REQUIRED, "the given refresh token is accepted", self.c_refresh_token_sign_in)
        else:
            G("oauth.state_round_trip", "oauth", "newer guide: authentication; contract §3", REQUIRED, "state comes back unchanged", self.c_state_round_trip)
            G("oauth.token_response", "oauth", "contract §3 token endpoint", REQUIRED, "code exchange returns access/refresh token, user_id, no-store", self.c_token_response)
        G("oauth.exact_redirect", "oauth", "contract §3: redirect_uri must match exactly", REQUIRED, "unregistered redirect URIs are refused, never redirected to", self.c_exact_redirect)
        G("oauth.prompt_login", "oauth", "contract §3: prompt=login", REQUIRED, "prompt=login asks for the password despite a live session", self.c_prompt_login)
        G("oauth.code_single_use", "oauth", "RFC 6749 §4.1.2; contract §3", REQUIRED, "an authorization code works once", self.c_code_single_use)
        G("oauth.code_reuse_revokes", "oauth", "RFC 6749 §4.1.2; contract §3", RECOMMENDED, "reusing a code revokes its tokens", self.c_code_reuse_revokes)
        G("oauth.refresh_keeps_old_tokens", "oauth", "newer guide: token refresh; contract §3", REQUIRED, "after a refresh older access tokens still work", self.c_refresh_keeps_old)
        G("oauth.parallel_refresh", "oauth", "newer guide: token refresh; contract §3", REQUIRED, "5 parallel refreshes with one refresh token all succeed", self.c_parallel_refresh)
        G("oauth.stable_user_id", "oauth", "newer guide: user_id; contract §3", REQUIRED, "user_id is the same in every token response and not an email", self.c_stable_user_id)
        G("oauth.invalid_token_401", "oauth", "RFC 6750 §3; contract §1", RECOMMENDED, "a bad bearer token gets 401 with WWW-Authenticate", self.c_bad_token)
        G("oauth.metadata", "oauth", "RFC 8414; contract §3", RECOMMENDED, "authorization server metadata is published", self.c_metadata)
        G("devices.list", "devices", "newer guide: device discovery; contract §4", REQUIRED, "GET /locks lists the owner's locks with next_page_cursor", self.c_list_locks)
        G("devices.lock_fields", "devices", "newer guide: device model; contract §4", REQUIRED, "every lock has Seam's fields with the right types", self.c_lock_fields)
        G("devices.get_lock", "devices", "newer guide: device model; contract §4", REQUIRED, "GET /locks/{id} returns the lock at top level", self.c_get_lock)
        G("devices.unknown_lock_404", "devices", "contract §1-2", REQUIRED, "an unknown lock is 404 with an error_code", self.c_unknown_lock)
        G("webhooks.register", "webhooks", "newer guide: webhooks; contract §6", REQUIRED, "a webhook can be registered and is listed", self.c_webhook_register)
        G("devices.pair_lock", "devices", "contract §4 POST /locks", RECOMMENDED, "the kit can pair a lock of its own", self.c_pair_lock)
        G("actions.create", "actions", "newer guide: lock actions; contract §4", REQUIRED, "an action is accepted as pending with its fields", self.c_action_pending)
        G("actions.custom_id_idempotent", "actions", "newer guide: custom_id; contract §4", REQUIRED, "a repeated custom_id returns the same action", self.c_custom_id)
        G("actions.completes", "actions", "newer guide: action status; contract §4", REQUIRED, "the action reaches success with performed_via", self.c_action_completes)
        G("actions.device_offline", "actions", "newer guide: errors; contract §4", REQUIRED, "an action on an offline lock fails at once with DEVICE_OFFLINE", self.c_device_offline)
        G("codes.create", "codes", "newer guide: access codes; contract §5", REQUIRED, "a code is created with its fields", self.c_code_create)
        G("codes.reaches_active", "codes", "contract §5 status", REQUIRED, "the code becomes active once on the lock", self.c_code_active)
        G("codes.list", "codes", "contract §5 list", REQUIRED, "the code is in the lock's list", self.c_code_list)
        G("codes.update", "codes", "contract §5 PATCH", REQUIRED, "name and PIN can be changed and reach the lock", self.c_code_update)
        G("codes.delete", "codes", "contract §5 DELETE", REQUIRED, "a deleted code is removed from the lock and the list", self.c_code_delete)
        G("codes.invalid_pin", "codes", "contract §5 INVALID_CODE", REQUIRED, "non-digit, too short and too long PINs are refused", self.c_invalid_pin)
        G("codes.pin_conflict", "codes", "contract §5 PIN_CONFLICT", REQUIRED, "a second live code with the same PIN is refused", self.c_pin_conflict)
        G("codes.invalid_time_range", "codes", "contract §5 INVALID_TIME_RANGE", RECOMMENDED, "ends_at before starts_at is refused", self.c_time_range)
        G("offline.create", "offline", "igloohome offline codes; contract §5", OPTIONAL, "an hourly-bound offline code is issued; custom PINs are refused", self.c_offline_code)
        G("codes.limit_reached", "codes", "contract §5 ACCESS_CODE_LIMIT_REACHED", REQUIRED, "one code more than max_access_codes is refused", self.c_limit)
        G("codes.default_page_all_live", "codes", "contract §5 list: default page = all live codes", REQUIRED, "the default list page holds every live code", self.c_default_page)
        G("webhooks.delivery", "webhooks", "newer guide: webhooks; contract §6", REQUIRED, "events reach the kit's receiver", self.c_webhook_delivery)
        G("actions.completed_event", "actions", "newer guide: lock.action_completed; contract §4, §6", REQUIRED, "lock.action_completed arrives for the action", self.c_action_event)
        G("webhooks.access_code_events", "webhooks", "newer guide: access code events; contract §6", REQUIRED, "created/updated/deleted arrive with status success once on the lock", self.c_code_events)
        G("webhooks.envelope", "webhooks", "newer guide: event payload; contract §6", REQUIRED, "every event has the envelope and the owner's user_id", self.c_envelope)
        G("webhooks.signature", "webhooks", "Standard Webhooks; contract §6", REQUIRED, "every delivery's signature verifies", self.c_signature)
        G("webhooks.retry_after_500", "webhooks", "contract §6 delivery", REQUIRED, "a delivery answered 500 is retried, same id and body", self.c_retry)
        G("webhooks.order", "webhooks", "contract §6 delivery order", RECOMMENDED, "a code's events arrive in the order they happened", self.c_order)
        G("webhooks.events_seam_needs", "webhooks", "newer guide: events", REQUIRED, "lock.action_completed and access_code.* were all received", self.c_events_seam_needs)
        G("webhooks.device_added", "webhooks", "newer guide: device events", RECOMMENDED, "pairing a lock emits device.added", self.c_device_events)
        G("legacy.access_codes_list", "legacy", "older guide: GET /access_codes?lock_id", OPTIONAL, "the older list path works", self.c_legacy_list)
        G("legacy.unlock_offline", "legacy", "older guide: POST /locks/{id}/unlock", OPTIONAL, "the older unlock reports DEVICE_OFFLINE with error_id", self.c_legacy_unlock_offline)
        G("openapi.responses_match", "openapi", "the vendor's own OpenAPI document", REQUIRED, "every response matches the vendor's OpenAPI document", self.c_openapi)

    def cleanup(self):
        notes = []
        for lock_id, code_id in self.created["codes"]:
            if self.own_lock and lock_id == self.own_lock["lock_id"]:
                continue  # removed with the lock below
            try:
                status = self.code_status(code_id)
                if status not in ("HTTP 404", "removing", "removed"):
                    self.api("DELETE", f"/access_codes/{code_id}", validate=False)
            except Exception as error:
                notes.append(f"code {code_id}: {error}")
        for lock_id in self.created["locks"]:
            try:
                r = self.api("DELETE", f"/locks/{lock_id}", validate=False)
                if r.status_code >= 300:
                    notes.append(f"lock {lock_id}: DELETE answered {r.status_code}")
            except Exception as error:
                notes.append(f"lock {lock_id}: {error}")
        for webhook_id in self.created["webhooks"]:
            try:
                r = self.http.request("DELETE", f"/webhooks/{webhook_id}", auth=self.client_auth(), validate=False)
                if r.status_code >= 300:
                    notes.append(f"webhook {webhook_id}: DELETE answered {r.status_code}")
            except Exception as error:
                notes.append(f"webhook {webhook_id}: {error}")
        if self.receiver:
            self.receiver.stop()
        return notes

    def verify_cleanup(self):
        """After clean-up: nothing the kit made is still listed."""
        left = []
        try:
            listed = self.http.request("GET", "/webhooks", auth=self.client_auth(), validate=False).json().get("webhooks", [])
            left += [f"webhook {w['webhook_id']}" for w in listed if w.get("webhook_id") in self.created["webhooks"]]
            if self.tokens:
                locks = self.api("GET", "/locks", params={"limit": 1000}, validate=False).json().get("locks", [])
                left += [f"lock {l['lock_id']}" for l in locks if l.get("lock_id") in self.created["locks"]]
                ours = {c for _, c in self.created["codes"]}
                for lock_id in {l for l, _ in self.created["codes"]} - set(self.created["locks"]):
                    def live():
                        codes = self.api("GET", f"/locks/{lock_id}/access_codes", params={"limit": 1000}, validate=False).json()
                        return [c["access_code_id"] for c in codes.get("access_codes", [])
                                if c.get("access_code_id") in ours and c.get("status") not in ("removing",)]
                    remaining = live() and (wait_for(lambda: not live(), self.args.wait) or live())
                    left += [f"code {c}" for c in (remaining or [])]
        except Exception as error:
            left.append(f"could not verify: {error}")
        return left


# ----------------------------------------------------------------------------- reports

SYMBOL = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP", "n/a": "N/A ", "not run": "----"}


def line_of(r):
    text = f"{SYMBOL[r.outcome]} {r.id:<34} {r.level:<11} {r.title}"
    if r.outcome in ("failed", "skipped") and r.message:
        text += f"\n       {r.message.splitlines()[0][:300]}"
    return text


def junit(results, path):
    suites = ET.Element("testsuites", name="seam-conformance")
    for section, title in SECTIONS:
        rs = [r for r in results if r.section == section]
        if not rs:
            continue
        suite = ET.SubElement(suites, "testsuite", name=title, tests=str(len(rs)),
                              failures=str(sum(r.outcome == "failed" for r in rs)),
                              skipped=str(sum(r.outcome == "skipped" for r in rs)))
        for r in rs:
            case = ET.SubElement(suite, "testcase", classname=f"conformance.{section}", name=f"{r.id} [{r.level}]",
                                 time=f"{r.seconds:.3f}")
            if r.outcome == "failed":
                failure = ET.SubElement(case, "failure", message=r.message.splitlines()[0][:500] if r.message else "failed")
                failure.text = r.message + "\n\n" + "\n\n".join(r.exchanges)
            elif r.outcome in ("skipped", "n/a"):
                ET.SubElement(case, "skipped", message=f"{r.outcome}: {r.message}")
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def html_report(results, path, base_url, cleanup_notes):
    e = html.escape
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;width:100%}"
             "td,th{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}"
             ".passed{background:#e6f6e6}.failed{background:#fbe3e3}.skipped{background:#f3f3f3;color:#555}"
             "td{overflow-wrap:anywhere}pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fafafa;border:1px solid #ddd;padding:.5em;font-size:.85em}"
             "h2 .count{font-weight:normal;font-size:.8em}")
    required_failed = [r for r in results if r.level == REQUIRED and r.outcome != "passed"]
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Seam conformance: {e(base_url)}</title>"
             f"<style>{style}</style></head><body>",
             f"<h1>Seam-compatibility conformance report</h1><p>API: <code>{e(base_url)}</code><br>Run: {e(now_iso())}</p>",
             f"<p><strong>{'PASS' if not required_failed else 'FAIL'}</strong>: "
             f"{sum(r.outcome == 'passed' for r in results)} passed, {sum(r.outcome == 'failed' for r in results)} failed, "
             f"{sum(r.outcome == 'skipped' for r in results)} skipped; required checks not passed: {len(required_failed)}</p>"]
    for section, title in SECTIONS:
        rs = [r for r in results if r.section == section]
        if not rs:
            continue
        ok = sum(r.outcome == "passed" for r in rs)
        bad = sum(r.outcome == "failed" for r in rs)
        parts.append(f"<h2 id='{e(section)}'>{e(title)} <span class='count'>{ok} passed, {bad} failed, {len(rs) - ok - bad} skipped</span></h2>"
                     "<table><tr><th>Result</th><th>Check</th><th>Level</th><th>Requirement</th><th>Details</th></tr>")
        for r in rs:
            details = e(r.message)
            if r.exchanges:
                details += "".join(f"<pre>{e(x)}</pre>" for x in r.exchanges)
            parts.append(f"<tr class='{e(r.outcome)}'><td>{e(SYMBOL[r.outcome])}</td><td><code>{e(r.id)}</code><br>{e(r.title)}</td>"
                         f"<td>{e(r.level)}</td><td>{e(r.requirement)}</td><td>{details}</td></tr>")
        parts.append("</table>")
    if cleanup_notes:
        parts.append("<h2>Clean-up problems</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in cleanup_notes) + "</ul>")
    parts.append("</body></html>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))


def parse_args(argv):
    p = argparse.ArgumentParser(description="Seam-compatibility conformance kit")
    p.add_argument("--base-url", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", required=True)
    p.add_argument("--redirect-uri", default="http://localhost:3020/oauth/callback")
    p.add_argument("--scope", default="locks.read locks.write")
    p.add_argument("--authorize-path", default="/oauth/authorize")
    p.add_argument("--token-path", default="/oauth/token")
    sign_in = p.add_mutually_exclusive_group(required=True)
    sign_in.add_argument("--interactive", action="store_true", help="sign in in a browser; the kit listens on the redirect URI")
    sign_in.add_argument("--email", help="owner email for automatic sign-in (with --password)")
    sign_in.add_argument("--refresh-token", help="a refresh token obtained before")
    p.add_argument("--password")
    p.add_argument("--form-fields", help="name=value overrides for the sign-in form, e.g. email=login,password=pass")
    p.add_argument("--interactive-timeout", type=float, default=300)
    p.add_argument("--lock-id", action="append", default=[], help="an online lock to test on (repeatable)")
    p.add_argument("--openapi", help="the vendor's OpenAPI document: every response is validated against it")
    p.add_argument("--webhook-scheme", choices=["standard-webhooks", "none"], default="none")
    p.add_argument("--receiver-host", default="127.0.0.1")
    p.add_argument("--receiver-port", type=int, default=0)
    p.add_argument("--receiver-url", help="public URL of the receiver if the API cannot reach receiver-host:port directly")
    p.add_argument("--optional", action="store_true", help="also run the optional groups")
    p.add_argument("--only", action="append", default=[], help="run only checks with this id or id prefix (repeatable)")
    p.add_argument("--wait", type=float, default=30, help="seconds to wait for asynchronous outcomes")
    p.add_argument("--timeout", type=float, default=20, help="HTTP timeout in seconds")
    p.add_argument("--max-limit", type=int, default=1000, help="refuse to fill a lock with more codes than this")
    p.add_argument("--junit", help="write JUnit XML here")
    p.add_argument("--html", help="write the HTML report here")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.email and not args.password:
        p.error("--email needs --password")
    return args


def main(argv=None):
    args = parse_args(argv)
    kit = Kit(args)
    print(f"Seam conformance kit against {kit.base}", flush=True)
    try:
        kit.run()
    finally:
        notes = kit.cleanup()
    left = kit.verify_cleanup()
    cleanup = Result("cleanup.nothing_left", "health", "issue 18: the kit leaves nothing behind", RECOMMENDED,
                     "after the run, none of the kit's webhooks, locks or codes is still listed")
    cleanup.outcome, cleanup.message = ("failed", "still there: " + ", ".join(left)) if left else ("passed", "")
    kit.results.append(cleanup)
    if not args.quiet:
        print(line_of(cleanup))
    results = kit.results
    if args.quiet:
        for r in results:
            print(line_of(r))
    for n in notes:
        print("clean-up: " + n)
    required_not_passed = [r for r in results if r.level == REQUIRED and r.outcome not in ("passed", "n/a")
                           and r.message != "not selected (--only)"]
    print(f"\n{sum(r.outcome == 'passed' for r in results)} passed, {sum(r.outcome == 'failed' for r in results)} failed, "
          f"{sum(r.outcome == 'skipped' for r in results)} skipped; "
          f"required not passed: {', '.join(r.id for r in required_not_passed) or 'none'}")
    if args.junit:
        junit(results, args.junit)
    if args.html:
        html_report(results, args.html, kit.base, notes)
    return 0 if not required_not_passed else 1


if __name__ == "__main__":
    sys.exit(main())
