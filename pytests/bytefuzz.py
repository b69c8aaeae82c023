"""A byte-level fuzzer of our own for every route LockCloud serves.

The operations come from openapi/openapi.yaml (every path and method in it). For each one a
valid request is built first (real access token, device credential, client credentials, sign-in
cookie and CSRF token, real lock, action, access code and webhook ids), and then one part of it
at a time is replaced with bytes no well-behaved client sends: malformed percent-encoding,
invalid UTF-8, NUL and control bytes, huge and negative numbers, extreme timestamps, oversized
values, wrong JSON types, deep nesting and duplicate keys. The parts are the path parameters,
the query, the form body, the JSON body and the headers (Authorization, Content-Type, Cookie,
Host, Idempotency-Key and others, huge and many headers).

Requests go out over raw sockets, one connection each, so the bytes reach the server exactly as
written (no client library re-encodes them). Nothing about a response is judged but two things:
the server answered no 5xx, and the server process is still alive. A request after which the
server is gone is recorded with its bytes; the server is started again and the fuzzing goes on,
skipping the rest of that operation's cases in the same place (one crash there is enough to
report, and restarting after each of hundreds of cases would take too long).

Deterministic: the cases are drawn from a seeded random generator (the seed is printed); the
same seed gives the same requests.
"""
import base64
import json
import socket
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi" / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


# --- the spec ----------------------------------------------------------------------------------

def load_spec(path=SPEC_PATH):
    with open(path) as f:
        return yaml.safe_load(f)


def resolve(spec, node):
    """Follows local `$ref`s (`#/components/...`) until the node is not a reference."""
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


@dataclass
class Operation:
    method: str            # upper case
    path: str              # template, e.g. /locks/{lock_id}
    operation_id: str
    parameters: list       # resolved parameter objects (path-level ones included)
    body_types: list       # request body media types, in the spec's order
    body_schema: dict      # schema of the first body media type (resolved), or None
    security: list         # names of the security schemes it accepts ("none" for `{}`)

    @property
    def key(self):
        return f"{self.method} {self.path}"

    def params(self, where):
        return [p for p in self.parameters if p.get("in") == where]


def spec_operations(spec):
    operations = []
    for path, item in spec["paths"].items():
        shared = [resolve(spec, p) for p in item.get("parameters", [])]
        for method in HTTP_METHODS:
            if method not in item:
                continue
            op = item[method]
            own = [resolve(spec, p) for p in op.get("parameters", [])]
            names = {(p["in"], p["name"]) for p in own}
            parameters = own + [p for p in shared if (p["in"], p["name"]) not in names]
            body = resolve(spec, op.get("requestBody")) or {}
            content = body.get("content", {})
            types = list(content)
            schema = resolve(spec, content[types[0]].get("schema")) if types else None
            security = []
            for requirement in op.get("security", spec.get("security", [])):
                security.extend(requirement.keys() or ["none"])
            operations.append(Operation(method.upper(), path, op.get("operationId", ""), parameters, types,
                                        schema, security))
    return operations


def valid_value(spec, schema, name=""):
    """A value that satisfies `schema` (enough of it for a request to pass validation)."""
    schema = resolve(spec, schema) or {}
    if "example" in schema:
        return schema["example"]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        properties = schema.get("properties", {})
        return {k: valid_value(spec, v, k) for k, v in properties.items()}
    if kind == "array":
        return [valid_value(spec, schema.get("items", {}))]
    if kind == "integer":
        return schema.get("minimum", 1)
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return False
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2030-01-01T10:00:00Z"
    if fmt == "uuid":
        return "00000000-0000-4000-8000-000000000000"
    if schema.get("pattern") == "^[0-9]+$":
        return "482910"
    return "fuzz-" + name if name else "fuzz"


# --- the hostile values ----------------------------------------------------------------------

# Raw bytes, placed into a request as they are (or percent-encoded, in a second variant).
BYTE_VALUES = {
    "percent": [b"%ZZ", b"%", b"%%", b"%2", b"a%", b"%G0", b"%zz%", b"%C0%AF", b"%E0%80%AF", b"%F0%80%80%AF",
                b"%FF%FE", b"%ED%A0%80", b"%00", b"%25ZZ", b"%u0041", b"%%32%35", b"%2%5A", b"%%%%%%%%"],
    "utf8": [b"\xff", b"\xfe\xff", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82",
             b"caf\xe9", b"\x80abc", b"\xef\xbb\xbf"],
    "nul": [b"\x00", b"a\x00b", b"\x00" * 64, b"%00", b"a%00b"],
    "control": [b"\x1b[2J", b"\x7f", b"\x08", b"\t", b" ", b"\r", b"\n", b"\r\n", b"\x0b\x0c"],
    "number": [b"-1", b"0", b"-0", b"1e400", b"-1e400", b"9223372036854775807", b"9223372036854775808",
               b"-9223372036854775809", b"18446744073709551616", b"1" + b"0" * 400, b"NaN", b"Infinity",
               b"-Infinity", b"0x7fffffff", b"1.5", b"1e2", b"+1", "\u0663".encode(), b"2147483648", b"65536",
               b"-2147483649", b"4294967296", b"00000000000000000000000000001"],
    "timestamp": [b"0000-01-01T00:00:00Z", b"0001-01-01T00:00:00Z", b"9999-12-31T23:59:59-14:00",
                  b"9999-12-31T23:59:59+14:00", b"+275760-09-13T00:00:00Z", b"-271821-04-20T00:00:00Z",
                  b"294277-01-01T00:00:00Z", b"2016-12-31T23:59:60Z", b"1970-01-01T00:00:00Z",
                  b"1969-12-31T23:59:59.999999999Z", b"2024-02-30T00:00:00Z", b"2024-13-01T00:00:00Z",
                  b"2024-01-01T24:00:00Z", b"2024-01-01T00:00:00+99:99", b"2024-01-01", b"20240101T000000Z",
                  b"2024-01-01T00:00:00.0000000000000000000001Z", b"-0001-01-01T00:00:00Z",
                  b"99999999999-01-01T00:00:00Z"],
    "string": [b"", b" ", b"null", b"../../../../etc/passwd", b"' OR '1'='1", b"<script>alert(1)</script>",
               "\U0001F600".encode() * 100, "\u202e\u0000\ufeff".encode(), "\u01c5\u0130".encode(), b"\\", b'"',
               b"{}", b"[]", b"=&=&", b";,;,"],
}
# Oversized bodies and body fields: below the fuzzed server's body limit (1 MiB) and above it.
BIG = {"below": 300_000, "above": 1_500_000}
# Oversized request lines and headers (no body limit applies; the HTTP parser's does).
LONG = {"long": 16_000, "longer": 100_000}


def oversized(size, fill=b"A"):
    return fill * size


# JSON fragments that stand in for a field's value (wrong types, extreme numbers, bad strings).
JSON_VALUES = {
    "type": [b"null", b"true", b"false", b"[]", b"{}", b"[[[[[]]]]]", b'{"a":{"b":{"c":[1]}}}', b'""', b"0"],
    "number": [b"-1", b"0", b"-0", b"1e400", b"-1e400", b"1E-400", b"9223372036854775807", b"9223372036854775808",
               b"-9223372036854775809", b"18446744073709551616", b"1" + b"0" * 400, b"0.5", b"1.0", b"2e0",
               b"65536", b"-2147483649", b"4294967296"],
    "string": [b'"\\u0000"', b'"a\\u0000b"', b'"\\ud800"', b'"\\udc00\\ud800"', b'"\\uDFFF"', b'"\xff"',
               b'"\xc0\xaf"', b'"\xed\xa0\x80"', b'"%ZZ"', b'"%"', b'"a\x00b"', b'"\\u202e"', b'"\x1f"',
               b'"-1"', b'"1e400"', b'"9223372036854775808"', b'" "', b'""'],
    "timestamp": [b'"' + t + b'"' for t in BYTE_VALUES["timestamp"]],
    "nesting": [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 20_000 + b"1" + b"}" * 20_000, b"[" * 600 + b"]" * 600],
}

# Whole bodies, for the body as a whole rather than one field.
JSON_BODIES = [
    b"", b"{", b"}", b"[", b"null", b"[]", b'"text"', b"1e400", b"-1", b"true", b"{}{}", b"{} trailing",
    b"\xef\xbb\xbf{}", '{"a": 1}'.encode("utf-16"), b"{'a': 1}", b"{/* comment */}", b'{"a":1,}', b"\x00",
    b"\xff\xfe\xfd", b'{"\xff": 1}', b'{"\\u0000": 1}', b'{"": 1}', b"[" * 100_000,
    b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(20_000)) + b"}",
]
FORM_BODIES = [
    b"%ZZ", b"%", b"=", b"&&&", b"a=%", b"=%ZZ", b"%ZZ=%ZZ", b"+", b"%2B", b"a=1&a=2", b"\xff=\xff", b"a=\x00",
    b"\x00", b"a" * 300_000, b"a=1&" * 50_000, b"%" * 10_000, b"a=%F0%9F%98%80", b"a=%C0%AF", b"a=%ED%A0%80",
    b"a=\r\nb=c", b"a==b", b";a=1;", b"a[]=1&a[x]=2", b"a=b c", b'a="<>"', b"a=%2",
]


# --- requests ----------------------------------------------------------------------------------

@dataclass
class Case:
    operation: str          # "METHOD /template"
    location: str           # path, query, form, json, header
    what: str               # which part and which value class, for the report
    method: str
    target: bytes           # the request target, as sent
    headers: list           # [(name bytes, value bytes)]
    body: bytes = b""

    def request_bytes(self):
        lines = [self.method.encode() + b" " + self.target + b" HTTP/1.1"]
        lines += [name + b": " + value for name, value in self.headers]
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body

    def describe(self, limit=600):
        raw = self.request_bytes()
        shown = raw if len(raw) <= limit else raw[:limit] + b"... (%d bytes in all)" % len(raw)
        return f"{self.operation} [{self.location}: {self.what}]\n    {shown!r}"


@dataclass
class Outcome:
    status: int = None       # None: no (parseable) response
    error: str = ""
    head: bytes = b""
    body: bytes = b""


def _parse(raw):
    """(status, head, body, complete) of the first non-1xx response in `raw`."""
    while True:
        end = raw.find(b"\r\n\r\n")
        if end < 0:
            return None, b"", b"", False
        head, rest = raw[:end], raw[end + 4:]
        try:
            status = int(head.split(b" ", 2)[1])
        except (IndexError, ValueError):
            return None, head, b"", True
        if 100 <= status < 200:
            raw = rest
            continue
        fields = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        if b"content-length" in fields:
            length = int(fields[b"content-length"])
            return status, head, rest[:length], len(rest) >= length
        if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
            return status, head, rest, rest.endswith(b"0\r\n\r\n")
        return status, head, rest, False  # until the connection closes


# The one 5xx the contract documents: the older guide's unlock answers 500 with `error_id` when the
# lock is disconnected or cannot unlock (DEVICE_OFFLINE for the fuzz world's silent lock). The
# catch-all's 500 (INTERNAL_ERROR) carries no error_id, so a real failure still counts.
DOCUMENTED_5XX = {"POST /locks/{lock_id}/unlock": (b'"error_id":"DEVICE_OFFLINE"', b'"error_id":"DEVICE_TIMEOUT"')}


def documented_5xx(operation, outcome):
    return outcome.status == 500 and any(marker in outcome.body for marker in DOCUMENTED_5XX.get(operation, ()))


def send(host, port, data, timeout):
    """Sends `data` on a fresh connection and reads one response (or what there is)."""
    raw = b""
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            try:
                conn.sendall(data)
            except OSError:
                pass  # the server may answer (413, 400) and close before reading it all
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            while True:
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    status, head, body, _ = _parse(raw)
                    return Outcome(status, f"no complete answer within {timeout}s", head, body)
                except OSError as error:
                    status, head, body, _ = _parse(raw)
                    return Outcome(status, f"connection error: {error!r}", head, body)
                if not chunk:
                    break
                raw += chunk
                status, head, body, complete = _parse(raw)
                if complete:
                    return Outcome(status, "", head, body)
    except OSError as error:
        return Outcome(None, f"connection error: {error!r}")
    status, head, body, _ = _parse(raw)
    return Outcome(status, "" if status else "closed without an answer", head, body)


# --- the cases -----------------------------------------------------------------------------

@dataclass
class Fixture:
    """What a valid request of each operation needs (made by the caller on a real server)."""
    host: str
    access_token: str
    refresh_token: str
    device_credential: str
    client_id: str
    client_secret: str
    redirect_uri: str
    owner_email: str
    authz_cookie: str           # lc_authz handle of a live authorization request
    csrf_token: str             # its form's CSRF token
    path_values: dict           # (operation key or "*", parameter name) -> valid value
    query_values: dict = field(default_factory=dict)   # (operation key or "*", name) -> value
    body_values: dict = field(default_factory=dict)    # operation key -> dict of overrides
    # operation key -> [(label, fields)]: other valid JSON bodies whose fields are fuzzed too (the
    # device's event types, offline access codes), so their own code paths are reached.
    body_variants: dict = field(default_factory=dict)
    # Cookie header by operation key, or by the first path segment ("/account"): the owner
    # pages' session, so their fuzzing gets past the sign-in check.
    cookies: dict = field(default_factory=dict)


def _q(value):
    return urllib.parse.quote(value, safe="").encode() if isinstance(value, str) else urllib.parse.quote_from_bytes(value, safe="").encode()


class CaseBuilder:
    def __init__(self, spec, fixture, rng, per_class=1):
        self.spec = spec
        self.fx = fixture
        self.rng = rng
        self.per_class = per_class

    # The valid request of an operation.
    def auth_header(self, op):
        if "oauth2" in op.security:
            return b"Bearer " + self.fx.access_token.encode()
        if "deviceCredential" in op.security:
            return b"Bearer " + self.fx.device_credential.encode()
        if "clientBasic" in op.security:
            return b"Basic " + base64.b64encode(f"{self.fx.client_id}:{self.fx.client_secret}".encode())
        return None

    def path_value(self, op, name):
        return self.fx.path_values.get((op.key, name)) or self.fx.path_values[("*", name)]

    def query(self, op):
        values = {}
        for p in op.params("query"):
            value = self.fx.query_values.get((op.key, p["name"]), self.fx.query_values.get(("*", p["name"])))
            if value is None and p.get("required"):
                value = valid_value(self.spec, p.get("schema", {}), p["name"])
            if value is not None:
                values[p["name"]] = value
        return values

    def body_fields(self, op):
        if not op.body_schema:
            return None
        fields = valid_value(self.spec, op.body_schema)
        fields = {k: v for k, v in fields.items() if k in op.body_schema.get("required", []) or k in self.fx.body_values.get(op.key, {})}
        fields.update(self.fx.body_values.get(op.key, {}))
        return fields

    def body_type(self, op):
        return op.body_types[0] if op.body_types else None

    def cookie(self, op):
        chosen = self.fx.cookies.get(op.key) or self.fx.cookies.get("/" + op.path.split("/")[1])
        if chosen:
            return chosen.encode()
        if op.path.startswith("/oauth/authorize"):
            return b"lc_authz=" + self.fx.authz_cookie.encode()
        return None

    def build(self, op, location, what, path_raw=None, query_raw=None, body=None, headers=None, content_type=None,
              drop_headers=()):
        """A case: the valid request with the given parts replaced."""
        if path_raw is None:
            path_raw = op.path.encode()
            for p in op.params("path"):
                path_raw = path_raw.replace(b"{" + p["name"].encode() + b"}", _q(self.path_value(op, p["name"])))
        if query_raw is None:
            query_raw = b"&".join(_q(k) + b"=" + _q(str(v)) for k, v in self.query(op).items())
        target = path_raw + (b"?" + query_raw if query_raw else b"")
        kind = self.body_type(op)
        if body is None:
            fields = self.body_fields(op)
            if fields is None:
                body = b""
            elif kind == "application/x-www-form-urlencoded":
                body = urllib.parse.urlencode(fields).encode()
            else:
                body = json.dumps(fields).encode()
        final = [(b"Host", self.fx.host.encode())]
        auth = self.auth_header(op)
        if auth:
            final.append((b"Authorization", auth))
        cookie = self.cookie(op)
        if cookie:
            final.append((b"Cookie", cookie))
        if content_type is not None:
            final.append((b"Content-Type", content_type))
        elif kind and body:
            final.append((b"Content-Type", kind.encode()))
        final.append((b"Content-Length", str(len(body)).encode()))
        final.append((b"Connection", b"close"))
        # Replacements: a header given here takes the place of one of the same name.
        for name, value in headers or []:
            final = [(n, v) for n, v in final if n.lower() != name.lower()]
        final = [(n, v) for n, v in final if n.lower() not in {d.lower() for d in drop_headers}]
        final += list(headers or [])
        return Case(op.key, location, what, op.method, target, final, body)

    def pick(self, values):
        values = list(values)
        return self.rng.sample(values, min(self.per_class, len(values)))

    def pick_for(self, schema, cls, values):
        """Every value of the class the field's type invites (all extreme timestamps for a
        date-time, all extreme numbers for an integer); a seeded sample of the others."""
        schema = resolve(self.spec, schema) or {}
        if (cls == "timestamp" and schema.get("format") == "date-time") or \
                (cls == "number" and schema.get("type") in ("integer", "number")):
            return list(values)
        return self.pick(values)

    # One part at a time.
    def cases(self, op):
        yield self.build(op, "baseline", "valid request")
        yield from self.path_cases(op)
        yield from self.query_cases(op)
        if op.body_types:
            if "application/x-www-form-urlencoded" in op.body_types:
                yield from self.form_cases(op)
            if "application/json" in op.body_types:
                yield from self.json_cases(op)
        else:
            yield from self.unexpected_body_cases(op)
        yield from self.header_cases(op)

    def path_cases(self, op):
        for p in op.params("path"):
            name = p["name"]
            template = op.path.encode()
            others = template
            for q in op.params("path"):
                if q["name"] != name:
                    others = others.replace(b"{" + q["name"].encode() + b"}", _q(self.path_value(op, q["name"])))
            placeholder = b"{" + name.encode() + b"}"
            for cls, values in BYTE_VALUES.items():
                for value in self.pick(values):
                    # As sent (the server's parser sees the raw bytes) and percent-encoded (the handler sees them).
                    yield self.build(op, "path", f"{name} raw {cls} {value[:40]!r}", path_raw=others.replace(placeholder, value))
                    yield self.build(op, "path", f"{name} encoded {cls} {value[:40]!r}",
                                     path_raw=others.replace(placeholder, _q(value)))
            valid = self.path_value(op, name).encode()
            for label, value in [("uppercase", valid.upper()), ("braces", b"{" + valid + b"}"),
                                 ("no dashes", valid.replace(b"-", b"")), ("suffix", valid + b"0"),
                                 ("long", oversized(LONG["long"])), ("longer", oversized(LONG["longer"]))]:
                yield self.build(op, "path", f"{name} {label}", path_raw=others.replace(placeholder, value))
        path = op.path.encode()
        for p in op.params("path"):
            path = path.replace(b"{" + p["name"].encode() + b"}", _q(self.path_value(op, p["name"])))
        for label, value in [("trailing slash", path + b"/"), ("double slash", b"/" + path), ("dot segments", path + b"/../.."),
                             ("encoded slash", path.replace(b"/", b"%2F")), ("nul", path + b"%00"),
                             ("raw nul", path + b"\x00"), ("percent", path + b"%ZZ"), ("utf8", path + b"\xff"),
                             ("absolute form", b"http://" + self.fx.host.encode() + path), ("asterisk", b"*"),
                             ("empty", b""), ("fragment", path + b"#x")]:
            yield self.build(op, "path", label, path_raw=value)

    def query_cases(self, op):
        names = [p["name"] for p in op.params("query")] or ["x"]
        valid = self.query(op)

        def with_value(name, value_bytes):
            parts = [_q(k) + b"=" + _q(str(v)) for k, v in valid.items() if k != name]
            return b"&".join(parts + [_q(name) + b"=" + value_bytes])

        schemas = {p["name"]: p.get("schema", {}) for p in op.params("query")}
        for name in names:
            for cls, values in BYTE_VALUES.items():
                for value in self.pick_for(schemas.get(name), cls, values):
                    yield self.build(op, "query", f"{name} raw {cls} {value[:40]!r}", query_raw=with_value(name, value))
                    yield self.build(op, "query", f"{name} encoded {cls} {value[:40]!r}",
                                     query_raw=with_value(name, _q(value)))
            for label, size in LONG.items():
                yield self.build(op, "query", f"{name} {label}", query_raw=with_value(name, oversized(size)))
            yield self.build(op, "query", f"{name} repeated", query_raw=with_value(name, b"1&" + _q(name) + b"=2"))
            yield self.build(op, "query", f"{name} name %ZZ", query_raw=with_value(name, b"1&%ZZ=1"))
            if name == "page_cursor":  # well-formed cursors (base64 of "micros:id") with extreme contents
                for micros in (b"9223372036854775807", b"-9223372036854775808", b"-1", b"0", b"99999999999999999999", b"1e400"):
                    text = micros + b":00000000-0000-4000-8000-000000000000"
                    for encoded in (base64.b64encode(text), base64.urlsafe_b64encode(text).rstrip(b"=")):
                        yield self.build(op, "query", f"page_cursor of {micros.decode()}", query_raw=with_value(name, _q(encoded)))
        for raw in self.pick_all([b"%ZZ", b"%", b"=", b"&&&", b"\xff", b"a=\x00", b"=%ZZ", b"%ZZ=%ZZ", b"?", b"a=1;b=2",
                                  b"a" * LONG["longer"], b"a=1&" * 20_000]):
            yield self.build(op, "query", f"whole query {raw[:40]!r}", query_raw=raw)

    def pick_all(self, values):
        return values

    def form_cases(self, op):
        fields = self.body_fields(op) or {}
        names = list((op.body_schema or {}).get("properties", {})) or list(fields) or ["x"]
        kind = b"application/x-www-form-urlencoded"

        def form_with(name, value_bytes):
            parts = [_q(k) + b"=" + _q(str(v)) for k, v in fields.items() if k != name]
            return b"&".join(parts + [_q(name) + b"=" + value_bytes])

        for name in names:
            for cls, values in BYTE_VALUES.items():
                for value in self.pick(values):
                    yield self.build(op, "form", f"{name} raw {cls} {value[:40]!r}", body=form_with(name, value),
                                     content_type=kind)
                    yield self.build(op, "form", f"{name} encoded {cls} {value[:40]!r}", body=form_with(name, _q(value)),
                                     content_type=kind)
            for label, size in BIG.items():
                yield self.build(op, "form", f"{name} oversized {label} the limit", body=form_with(name, oversized(size)),
                                 content_type=kind)
        for raw in FORM_BODIES:
            yield self.build(op, "form", f"whole body {raw[:40]!r}", body=raw, content_type=kind)

    def json_cases(self, op):
        yield from self.json_field_cases(op, "", self.body_fields(op) or {})
        for label, fields in self.fx.body_variants.get(op.key, []):
            yield self.build(op, "json", f"({label}) valid", body=json.dumps(fields).encode(), content_type=b"application/json")
            yield from self.json_field_cases(op, f"({label}) ", fields, whole=False)

    def json_field_cases(self, op, prefix, fields, whole=True):
        properties = (op.body_schema or {}).get("properties", {})
        names = list(properties) or ["x"]
        kind = b"application/json"

        def json_with(name, fragment, nested=None):
            parts = [json.dumps(k).encode() + b":" + json.dumps(v).encode() for k, v in fields.items() if k != name]
            return b"{" + b",".join(parts + [json.dumps(name).encode() + b":" + fragment]) + b"}"

        for name in names:
            for cls, values in JSON_VALUES.items():
                for value in self.pick_for(properties.get(name), cls, values):
                    yield self.build(op, "json", f"{prefix}{name} {cls} {value[:40]!r}", body=json_with(name, value),
                                     content_type=kind)
            for label, size in BIG.items():
                yield self.build(op, "json", f"{prefix}{name} oversized {label} the limit",
                                 body=json_with(name, b'"' + oversized(size // 2, b"\xc3\xa9") + b'"'), content_type=kind)
            yield self.build(op, "json", f"{prefix}{name} duplicate key",
                             body=json_with(name, b'"a", ' + json.dumps(name).encode() + b": 1e400"), content_type=kind)
            sub = resolve(self.spec, properties.get(name, {}))
            if sub.get("type") == "object":  # one level down (offline_code)
                inner = fields.get(name) if isinstance(fields.get(name), dict) else valid_value(self.spec, sub)
                for inner_name in list(inner):
                    for cls in ("number", "string", "type"):
                        for value in self.pick_for(sub.get("properties", {}).get(inner_name), cls, JSON_VALUES[cls]):
                            parts = [json.dumps(k).encode() + b":" + json.dumps(v).encode()
                                     for k, v in inner.items() if k != inner_name]
                            obj = b"{" + b",".join(parts + [json.dumps(inner_name).encode() + b":" + value]) + b"}"
                            yield self.build(op, "json", f"{prefix}{name}.{inner_name} {cls} {value[:40]!r}",
                                             body=json_with(name, obj), content_type=kind)
        if whole:
            for raw in JSON_BODIES:
                yield self.build(op, "json", f"whole body {raw[:40]!r}", body=raw, content_type=kind)

    def unexpected_body_cases(self, op):
        for label, body, kind in [("json", b'{"a":' * 1000 + b"1" + b"}" * 1000, b"application/json"),
                                  ("form", b"%ZZ=%ZZ", b"application/x-www-form-urlencoded"),
                                  ("bytes", b"\x00\xff" * 1000, b"application/octet-stream"),
                                  ("oversized", oversized(BIG["above"]), b"application/json")]:
            yield self.build(op, "body", f"unexpected {label} body", body=body, content_type=kind)

    def header_cases(self, op):
        auth = self.auth_header(op) or b"Bearer x"
        scheme, _, credential = auth.partition(b" ")
        values = {
            "Authorization": [b"", b"Bearer", b"Bearer ", b"Basic", b"Basic !!!!", b"Basic " + base64.b64encode(b"%ZZ:%ZZ"),
                              b"Basic " + base64.b64encode(b"\xff\x00:\xfe"), b"Basic " + base64.b64encode(b"nocolon"),
                              b"Basic =", b"Digest username=x", scheme + b"  " + credential, scheme.lower() + b" " + credential,
                              scheme + b" " + credential + b"\x00", scheme + b" " + credential + b"\xff",
                              scheme + b" " + credential + b"%ZZ", scheme + b" " + credential[:-1],
                              scheme + b" " + oversized(60_000), auth + b", " + auth, b"Bearer \x7f\x1b",
                              b"Bearer " + b"9" * 400, b"Basic " + base64.b64encode(b":" * 10_000)],
            "Content-Type": [b"", b"application/json; charset=utf-16", b"application/x-www-form-urlencoded; charset=\xff",
                             b"multipart/form-data; boundary=", b"text/plain", b"application/json\x00", b"APPLICATION/JSON",
                             b"application/jsonx", b"*/*", b"application/x-www-form-urlencoded;;;;",
                             b"application/" + oversized(50_000), b"%ZZ"],
            "Cookie": [b"lc_authz=%ZZ", b"lc_authz=\xff\xfe", b"lc_session=\x00", b"lc_session=%ZZ", b"=;=;=", b";;;",
                       b"lc_authz", b"a=" + oversized(60_000), b"; ".join(b"c%d=%d" % (i, i) for i in range(1000)),
                       b"lc_authz=" + self.fx.authz_cookie.encode() + b"; lc_authz=other",
                       b"lc_session=" + b"9" * 5000, b'lc_authz="quoted"'],
            "Host": [b"", b"\xff", b"%ZZ", b"[::1", b"127.0.0.1:99999999", b"a" * 60_000, b"host\x00name", b"a b"],
            "Idempotency-Key": [b"", b"%ZZ", b"\xff\xfe", b"\x00", oversized(60_000), b"a" * 256, b"1e400", b"-1"],
            "X-Forwarded-For": [b"%ZZ", b"\xff", b"999.999.999.999", b"::::::::", b"1.2.3.4, " * 1000],
            "Accept": [b"\xff", b"*/*;q=1e400", b"application/json;q=-1", oversized(60_000)],
            "Accept-Encoding": [b"gzip;q=NaN", b"\x00"],
            "Expect": [b"100-continue", b"\xff"],
            "Content-Length (body-less)": [b"-1", b"1e400", b"18446744073709551616", b"99999999999999999999999", b"0x10", b"1, 2"],
            "Transfer-Encoding": [b"gzip", b"chunked, chunked", b"\xff"],
        }
        for name, candidates in values.items():
            for value in candidates:
                if name.startswith("Content-Length"):
                    yield self.build(op, "header", f"Content-Length {value[:40]!r}", body=b"",
                                     headers=[(b"Content-Length", value)])
                    continue
                if name == "Transfer-Encoding":
                    yield self.build(op, "header", f"Transfer-Encoding {value[:40]!r}",
                                     headers=[(b"Transfer-Encoding", value)], drop_headers=[b"Content-Length"])
                    continue
                yield self.build(op, "header", f"{name} {value[:40]!r}", headers=[(name.encode(), value)])
        yield self.build(op, "header", "Host missing", drop_headers=[b"Host"])
        yield self.build(op, "header", "2000 headers", headers=[(b"X-Fuzz-%d" % i, b"v") for i in range(2000)])
        yield self.build(op, "header", "one 200 KB header", headers=[(b"X-Fuzz", oversized(2 * LONG["longer"]))])
        yield self.build(op, "header", "header name garbage", headers=[(b"X\xff\x00Y", b"v")])
        yield self.build(op, "header", "chunked body garbage", body=b"zz\r\nabc\r\n0\r\n\r\n",
                         headers=[(b"Transfer-Encoding", b"chunked")], drop_headers=[b"Content-Length"])
        if op.body_types:
            yield self.build(op, "header", "chunked, above the body limit",
                             body=b"%x\r\n" % BIG["above"] + oversized(BIG["above"]) + b"\r\n0\r\n\r\n",
                             headers=[(b"Transfer-Encoding", b"chunked")], drop_headers=[b"Content-Length"])
        yield self.build(op, "header", "Content-Length above the limit with no body", body=b"",
                         headers=[(b"Content-Length", str(BIG["above"] * 10).encode())])


# --- the run ---------------------------------------------------------------------------------

@dataclass
class Report:
    seed: int
    cases: int = 0
    operations: set = field(default_factory=set)
    statuses: dict = field(default_factory=dict)            # operation -> {status: count}
    server_errors: list = field(default_factory=list)       # (case, outcome)
    crashes: list = field(default_factory=list)             # (case, how it ended, log tail)
    hangs: list = field(default_factory=list)               # (case, outcome)
    skipped: dict = field(default_factory=dict)             # (operation, location) -> cases not sent after a crash
    gave_up: str = ""

    def summary(self):
        lines = [f"fuzz: seed {self.seed}, {self.cases} requests, {len(self.operations)} operations"]
        for case, outcome in self.server_errors:
            lines.append(f"5xx ({outcome.status}): {case.describe()}\n    answer: {(outcome.head + b' ' + outcome.body)[:300]!r}")
        for case, how, log in self.crashes:
            lines.append(f"CRASH ({how}): {case.describe()}\n    server log tail:\n{log}")
        for case, outcome in self.hangs:
            lines.append(f"NO ANSWER ({outcome.error}): {case.describe()}")
        for (operation, location), count in sorted(self.skipped.items()):
            lines.append(f"skipped after a crash: {count} more {location} cases of {operation}")
        if self.gave_up:
            lines.append(self.gave_up)
        return "\n".join(lines)


class Runner:
    """Sends cases to a server, restarting it after a crash (`restart()` returns the new one).

    `server` needs: `.port`, `.process` (a Popen), `.output()`; `restart(dead)` starts another on the
    same database and returns it."""

    def __init__(self, server, restart, report, timeout=60, max_restarts=25, log=print):
        self.server = server
        self.restart = restart
        self.report = report
        self.timeout = timeout
        self.max_restarts = max_restarts
        self.crashed_places = set()
        self.log = log

    def alive(self):
        """Waits until the server either answers /health (alive) or has exited (dead)."""
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.server.process.poll() is not None:
                return False
            probe = send("127.0.0.1", self.server.port, b"GET /health HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n", 10)
            if probe.status is not None:
                return True
            time.sleep(0.2)
        raise AssertionError("the server neither answers /health nor exits (5 minutes)")

    def run(self, cases):
        for case in cases:
            place = (case.operation, case.location)
            if place in self.crashed_places:
                self.report.skipped[place] = self.report.skipped.get(place, 0) + 1
                continue
            if self.report.gave_up:
                self.report.skipped[place] = self.report.skipped.get(place, 0) + 1
                continue
            self.report.cases += 1
            self.report.operations.add(case.operation)
            outcome = send("127.0.0.1", self.server.port, case.request_bytes(), self.timeout)
            counts = self.report.statuses.setdefault(case.operation, {})
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            if outcome.status is not None and outcome.status >= 500 and not documented_5xx(case.operation, outcome):
                self.report.server_errors.append((case, outcome))
            if outcome.status is None or outcome.error or self.server.process.poll() is not None:
                if not self.alive():
                    self.crashed(case)
                elif outcome.error.startswith("no complete answer"):
                    self.report.hangs.append((case, outcome))

    def crashed(self, case):
        process = self.server.process
        try:
            process.wait(timeout=300)  # a Swift runtime failure prints its backtrace before exiting
        except Exception:
            pass
        code = process.returncode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exited with {code}"
        tail = "\n".join("      " + line for line in self.server.output().splitlines()[-25:])
        self.report.crashes.append((case, how, tail))
        getattr(self.server, "acknowledge_exit", lambda: None)()  # reported here, with the request
        self.crashed_places.add((case.operation, case.location))
        self.log(f"fuzz: server {how} after {case.operation} [{case.location}: {case.what}]")
        if len(self.report.crashes) > self.max_restarts:
            self.report.gave_up = f"gave up after {len(self.report.crashes)} crashes"
            return
        self.server = self.restart(self.server)
