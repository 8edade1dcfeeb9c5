#!/usr/bin/env python3
"""openapi_check.py - docs/openapi.yaml against posfleetd's route table and answers.

  openapi_check.py routes --spec docs/openapi.yaml --table server/api/api.c
      (a) every {METHOD, "PATH"} row of the route table is an operation of the
      document and every operation of the document is a row; each one missing
      on either side is named on its own line, with what to do.

  openapi_check.py drive --spec ... --table ... --url URL --token ROLE=FILE...
                   [--cacert FILE] [--var NAME=VALUE...]
      (b) drives a running posfleetd through SCENARIO (below) and through
      generic refusals derived from the table (no token: 401; a role below
      the route's: 403; a malformed path id: 400; a body over the limit: 413),
      validates every JSON answer against the schema documented for its
      operation and status (an undocumented status fails), and fails unless
      every documented (operation, status) was seen at least once. Requests
      too: every JSON body the scenario sends and the server takes (2xx) must
      fit the documented request schema, and one it refuses with 400 must
      not (unless only the path was at fault); then, for each operation, its first
      taken body is sent again without each required field (400 naming the
      field, nothing done) and, where the document says additionalProperties:
      false, with one unknown field (400 naming it).

  --infer FILE (drive): writes a JSON Schema guessed from each answer seen, a
      starting point for documenting a new route (review it before use).

python3-yaml and python3-jsonschema (packaging/scripts/deps.sh); loopback only.
"""
import argparse
import json
import os
import re
import signal
import ssl
import sys
import time
import urllib.error
import urllib.request

import jsonschema
import yaml

ROLE_RANK = {"PFS_API_PUBLIC": 0, "VIEWER": 1, "SUPPORT": 2, "OPS": 3, "APPROVER": 3, "ADMIN": 4,
             "MERCHANT": 2}  # a merchant route: merchant users, support, ops and admin, not viewer
ROLE_TOKEN = {"APPROVER": "approver", "ADMIN": "admin"}  # else ops, who may every other route
ROUTE_RE = re.compile(r'\{\s*(GET|POST|PUT|DELETE|PATCH)\s*,\s*"([^"]+)"\s*,\s*([A-Z_]+)\s*,\s*([A-Z_]+)')


def read_table(path):
    """The route table's rows: [(method, path, role, body)] in table order."""
    text = open(path, encoding="utf-8").read()
    start = text.index("pfs_api_routes[]")
    end = text.index("};", start)
    return [m.groups() for m in ROUTE_RE.finditer(text[start:end])]


def read_spec(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def spec_ops(spec):
    ops = {}
    for p, item in (spec.get("paths") or {}).items():
        for m, op in item.items():
            if m.upper() in ("GET", "POST", "PUT", "DELETE", "PATCH"):
                ops[(m.upper(), p)] = op
    return ops


def check_routes(spec, table, spec_path, table_path):
    errors = []
    ops = spec_ops(spec)
    rows = {(m, p) for m, p, _, _ in table}
    for m, p, _, _ in table:
        if (m, p) not in ops:
            errors.append(
                "undocumented route: %s %s is in %s but not in %s; add it under paths: '%s': %s:"
                % (m, p, table_path, spec_path, p, m.lower())
            )
    for m, p in sorted(ops):
        if (m, p) not in rows:
            errors.append(
                "stale operation: %s %s is in %s but no route of %s serves it; remove it or add the route"
                % (m, p, spec_path, table_path)
            )
    return errors


# ---------------------------------------------------------------------------
# Driving a real posfleetd


class Client:
    def __init__(self, url, tokens, cacert):
        self.url = url.rstrip("/")
        self.tokens = tokens
        self.ctx = ssl.create_default_context(cafile=cacert) if url.startswith("https") else None

    def call(self, method, path, role=None, body=None, raw=None, ctype="application/json", headers=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", ctype)
        if role:
            req.add_header("Authorization", "Bearer " + self.tokens[role])
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
                self.last_headers = r.headers
                return r.status, r.headers.get("Content-Type", ""), r.read()
        except urllib.error.HTTPError as e:
            self.last_headers = e.headers
            return e.code, e.headers.get("Content-Type", ""), e.read()


def match_route(table, method, path):
    """The table's pattern for a concrete path (the first that fits, like api_route.c)."""
    segs = path.split("?")[0].strip("/").split("/")
    for m, p, _, _ in table:
        if m != method:
            continue
        ps = p.strip("/").split("/")
        if len(ps) == len(segs) and all(a.startswith("{") or a == b for a, b in zip(ps, segs)):
            return p
    return None


def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        cur = spec
        for part in ref[2:].split("/"):
            cur = cur[part]
        node = cur
    return node


def infer(v):
    """A JSON Schema that v fits (for --infer)."""
    if v is None:
        return {"type": "null"}
    if isinstance(v, bool):
        return {"type": "boolean"}
    if isinstance(v, int):
        return {"type": "integer"}
    if isinstance(v, float):
        return {"type": "number"}
    if isinstance(v, str):
        return {"type": "string"}
    if isinstance(v, list):
        items = None
        for x in v:
            items = merge(items, infer(x))
        return {"type": "array", "items": items or {}}
    return {"type": "object", "required": sorted(v), "properties": {k: infer(x) for k, x in v.items()}}


def merge(a, b):
    """The schema of values that fit a or b, as --infer needs it: object
    properties united (required: those in both), types united."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    ta, tb = a.get("type"), b.get("type")
    if ta == tb == "object":
        props = dict(a.get("properties", {}))
        for k, x in b.get("properties", {}).items():
            props[k] = merge(props.get(k), x)
        req = sorted(set(a.get("required", [])) & set(b.get("required", [])))
        return {"type": "object", "required": req, "properties": props}
    if ta == tb == "array":
        return {"type": "array", "items": merge(a.get("items") or None, b.get("items") or None) or {}}
    if ta is None or tb is None:
        return {}
    types = set(ta if isinstance(ta, list) else [ta]) | set(tb if isinstance(tb, list) else [tb])
    if "null" in types and len(types) == 2:
        other = a if ta != "null" else b
        return dict(other, type=[other["type"], "null"]) if isinstance(other["type"], str) else other
    return {}


class Driver:
    def __init__(self, spec, table, client, infer_out):
        self.spec = spec
        self.table = table
        self.ops = spec_ops(spec)
        self.c = client
        self.seen = set()
        self.errors = []
        self.inferred = {} if infer_out else None
        self.vars = {}
        self.taken = {}  # (method, pattern) -> (role, path, body): the first JSON body taken

    def validator(self, schema):
        """Validates against schema, whose $refs point into the document."""
        schema = dict(schema, components=self.spec.get("components", {}))
        return jsonschema.Draft202012Validator(schema)

    def do(self, role, method, path, want, body=None, raw=None, ctype="application/json", note="",
           headers=None):
        path = path.format(**self.vars)
        status, rctype, data = self.c.call(method, path, role, body, raw, ctype, headers)
        pattern = match_route(self.table, method, path)
        what = "%s %s (%s%s)" % (method, path, role or "no token", ", " + note if note else "")
        if want is not None and status != want:
            self.errors.append("%s: status %d, the scenario expects %d: %s" % (what, status, want, data[:300]))
        if pattern is None:
            self.errors.append("%s: no route of the table fits" % what)
            return status, None
        op = self.ops.get((method, pattern))
        if op is None:
            return status, None  # reported by the route check
        self.seen.add((method, pattern, str(status)))
        # A body refused 400 for what it holds must not fit the documented schema (a path
        # refused for a malformed id is not about the body).
        if isinstance(body, dict) and status == 400 and ctype == "application/json" and \
                not note.startswith("malformed"):
            schema = self.request_schema(op)
            if schema is not None and not list(self.validator(schema).iter_errors(body)):
                self.errors.append(
                    "%s: refused 400 (%s) although the body fits the documented request schema of"
                    " %s %s: say in the schema what the server refuses" % (what, data[:160], method,
                                                                          pattern))
        if isinstance(body, dict) and 200 <= status < 300 and ctype == "application/json":
            self.request_fits(what, method, pattern, op, body)
            self.taken.setdefault((method, pattern), (role, path, body))
        if self.inferred is not None:
            key = "%s %s %d" % (method, pattern, status)
            try:
                guess = infer(json.loads(data)) if rctype.startswith("application/json") else None
            except ValueError:
                guess = None
            if guess is None:
                self.inferred.setdefault(key, {"content-type": rctype})
            else:
                self.inferred[key] = merge(self.inferred.get(key), guess)
        doc = (op.get("responses") or {}).get(str(status))
        if doc is None:
            self.errors.append(
                "%s: answered %d, not documented for %s %s in the spec" % (what, status, method, pattern)
            )
            return status, None
        doc = resolve(self.spec, doc)
        content = doc.get("content") or {}
        body_json = None
        if "application/json" in content:
            if not rctype.startswith("application/json"):
                self.errors.append("%s: %d answered %s, documented application/json" % (what, status, rctype))
                return status, None
            try:
                body_json = json.loads(data)
            except ValueError as e:
                self.errors.append("%s: %d body is not JSON: %s" % (what, status, e))
                return status, None
            schema = content["application/json"].get("schema", {})
            validator = self.validator(schema)
            for err in sorted(validator.iter_errors(body_json), key=str)[:3]:
                self.errors.append(
                    "%s: %d body does not fit the documented schema at %s: %s"
                    % (what, status, "/".join(str(x) for x in err.absolute_path) or "(root)", err.message)
                )
        elif content:
            ct = next(iter(content))
            if not rctype.startswith(ct.split(";")[0]):
                self.errors.append("%s: %d answered %s, documented %s" % (what, status, rctype, ct))
        return status, body_json

    def request_schema(self, op):
        rb = resolve(self.spec, op.get("requestBody") or {})
        return ((rb.get("content") or {}).get("application/json") or {}).get("schema")

    def request_fits(self, what, method, pattern, op, body):
        """A body the server took must fit the documented request schema."""
        schema = self.request_schema(op)
        if schema is None:
            self.errors.append("%s: the server took a JSON body, the spec documents none" % what)
            return
        for err in sorted(self.validator(schema).iter_errors(body), key=str)[:3]:
            self.errors.append(
                "%s: the request body the server took does not fit the documented request schema"
                " of %s %s at %s: %s"
                % (what, method, pattern, "/".join(str(x) for x in err.absolute_path) or "(root)",
                   err.message)
            )

    def requests(self):
        """Each required field left out, and an unknown field where the document refuses one:
        400 naming it. Sent with the role and path of the operation's first taken body."""
        for (m, pattern), op in sorted(self.ops.items()):
            schema = self.request_schema(op)
            if not schema or (m, pattern) not in self.taken:
                continue
            schema = resolve(self.spec, schema)
            role, path, good = self.taken[(m, pattern)]
            probes = [(k, {x: y for x, y in good.items() if x != k}) for k in schema.get("required", [])]
            if schema.get("additionalProperties") is False:
                probes.append(("zz_unknown", dict(good, zz_unknown=1)))
            for field, body in probes:
                st, rctype, data = self.c.call(m, path, role, body)
                what = "%s %s (%s) without %s" % (m, path, role, field) if field != "zz_unknown" \
                    else "%s %s (%s) with an unknown field" % (m, path, role)
                if st != 400:
                    self.errors.append("%s: status %d, want 400: %s" % (what, st, data[:200]))
                elif field.encode() not in data:
                    self.errors.append("%s: the 400 does not name %s: %s" % (what, field, data[:200]))
                self.seen.add((m, pattern, "400"))

    def generic(self, body_max):
        """Refusals every route gives, derived from the table."""
        for m, p, role, body in self.table:
            concrete = re.sub(r"\{serial\}", "PF-OA-NOPE", p)
            concrete = re.sub(r"\{rollout\}|\{repair\}|\{token\}", "999999", concrete)
            concrete = re.sub(r"\{diag\}", "d-0000000000000000", concrete)
            concrete = re.sub(r"\{merchant\}|\{bundle\}|\{user\}", "nope", concrete)
            concrete = re.sub(r"\{org\}", "999999", concrete)
            if role == "PFS_API_PUBLIC":
                continue
            self.do(None, m, concrete, 401, body={} if m == "POST" else None, note="no token")
            if ROLE_RANK[role] > ROLE_RANK["VIEWER"]:
                self.do("viewer", m, concrete, 403, body={} if m == "POST" else None, note="role below")
            if "{serial}" in p:
                self.do(ROLE_TOKEN.get(role, "ops"), m, p.replace("{serial}", "bad.serial", 1)
                        .replace("{rollout}", "1"), 400, body={} if m == "POST" else None,
                        note="malformed serial")
            if "{rollout}" in p:
                self.do(ROLE_TOKEN.get(role, "ops"), m,
                        p.replace("{rollout}", "x1", 1).replace("{serial}", "PF-OA-1"), 400,
                        body={} if m == "POST" else None, note="malformed rollout id")
            if m == "POST" and body == "SMALL":
                real = p.replace("{serial}", "PF-OA-1").replace("{rollout}", "1").replace(
                    "{repair}", "1").replace("{merchant}", "M-OA-1").replace("{token}", "1").replace(
                    "{user}", "oa.ops")
                self.do(ROLE_TOKEN.get(role, "ops"), m, real, 413,
                        raw=b"{" + b" " * (body_max + 16) + b"}", note="body over http.body_max")

    def coverage(self):
        for (m, p), op in sorted(self.ops.items()):
            for st in sorted((op.get("responses") or {}).keys()):
                if st == "default":
                    continue
                if (m, p, str(st)) not in self.seen:
                    self.errors.append(
                        "documented but never exercised: %s %s answering %s; add a step to SCENARIO "
                        "in tests/integration/openapi_check.py or drop the status" % (m, p, st)
                    )


def events(d):
    """GET /v1/events: its refusals through do(); a held stream (200) read only as far as its
    head, and the user's ninth stream at the default http.events_per_user of 8 refused 429."""
    import http.client
    import urllib.parse
    d.do("viewer", "GET", "/v1/events", 400, note="nothing to watch")
    d.do("viewer", "GET", "/v1/events?rollout=999999", 404)
    d.do(None, "GET", "/v1/events?rollout={rollout}", 401)
    u = urllib.parse.urlparse(d.c.url)
    path = "/v1/events?rollout={rollout}".format(**d.vars)
    held = []
    for _ in range(8):
        conn = http.client.HTTPSConnection(u.hostname, u.port, context=d.c.ctx, timeout=30) \
            if d.c.ctx else http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        conn.request("GET", path, headers={"Authorization": "Bearer " + d.c.tokens["viewer"]})
        r = conn.getresponse()  # the head only: the body is the held stream
        if r.status != 200 or not r.getheader("Content-Type", "").startswith("text/event-stream"):
            d.errors.append("GET %s: %d %s, want 200 text/event-stream" % (
                path, r.status, r.getheader("Content-Type")))
        held.append(conn)
    d.seen.add(("GET", "/v1/events", "200"))
    d.do("viewer", "GET", "/v1/events?rollout={rollout}", 429, note="a ninth stream")
    for conn in held:
        conn.close()


def uscc(base17):
    """A unified social credit code with its check character (GB 32100-2015)."""
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    c = 31 - sum(chars.index(ch) * w for ch, w in zip(base17, weights)) % 31
    return base17 + chars[0 if c == 31 else c]


def scenario(d):
    """Every route's documented answers, on a stack test_openapi.sh prepared:
    PF-OA-1 online with an update-capable agent, PF-OA-2 registered, bundle
    {bundle} uploaded."""
    v = d.vars
    # public
    d.do(None, "GET", "/healthz", 200)
    d.do(None, "GET", "/readyz", 200)
    d.do(None, "GET", "/metrics", 200)
    # terminals
    d.do("viewer", "GET", "/v1/devices", 200)
    d.do("viewer", "GET", "/v1/devices?status=nonsense", 400)
    d.do("ops", "POST", "/v1/devices", 201, {"serial": "PF-OA-3", "model": "PX-500", "hw_rev": "r2"})
    d.do("ops", "POST", "/v1/devices", 409, {"serial": "PF-OA-3", "model": "PX-500"})
    d.do("ops", "POST", "/v1/devices", 400, {"serial": "bad serial", "model": "PX-500"})
    d.do("ops", "POST", "/v1/devices/import", 200, raw=b"serial,model,hw_rev\nPF-OA-4,PX-500,r2\n",
         ctype="text/csv")
    d.do("ops", "POST", "/v1/devices/import", 400, raw=b"serial,model\nbad serial,PX-500\n", ctype="text/csv")
    d.do("viewer", "GET", "/v1/devices/PF-OA-1", 200)
    d.do("viewer", "GET", "/v1/devices/PF-OA-NOPE", 404)
    d.do("viewer", "GET", "/v1/devices/PF-OA-1/lifecycle", 200)
    d.do("viewer", "GET", "/v1/devices/PF-OA-NOPE/lifecycle", 404)
    d.do("viewer", "GET", "/v1/devices/PF-OA-1/history", 200)
    d.do("viewer", "GET", "/v1/devices/PF-OA-1/history?limit=0", 400)
    d.do("viewer", "GET", "/v1/devices/PF-OA-1/updates", 200)
    d.do("viewer", "GET", "/v1/devices/export?model=PX-500", 200)
    d.do("viewer", "GET", "/v1/devices/export?limit=5", 400)
    d.do("viewer", "GET", "/v1/devices/PF-OA-1/health", 200)
    d.do("viewer", "GET", "/v1/devices/PF-OA-1/health?points=0", 400)
    d.do("viewer", "GET", "/v1/devices/PF-OA-NOPE/health", 404)
    d.do("support", "POST", "/v1/devices/PF-OA-2/lock", 200, {"reason": "reported stolen"})
    d.do("support", "POST", "/v1/devices/PF-OA-2/lock", 409, {"reason": "again"})
    d.do("support", "POST", "/v1/devices/PF-OA-2/lock", 400, {})
    d.do("support", "POST", "/v1/devices/PF-OA-NOPE/lock", 404, {"reason": "x"})
    d.do("support", "POST", "/v1/devices/PF-OA-2/unlock", 200, {"reason": "found"})
    d.do("support", "POST", "/v1/devices/PF-OA-2/unlock", 409, {"reason": "again"})
    d.do("support", "POST", "/v1/devices/PF-OA-2/unlock", 400, {})
    d.do("support", "POST", "/v1/devices/PF-OA-NOPE/unlock", 404, {"reason": "x"})
    # merchants
    m = {"id": "M-OA-1", "name": "Shop One", "uscc": uscc("91350100M000100Y4"), "mcc": "5411",
         "region": "north", "tz": "Asia/Shanghai", "contact_name": "Li", "contact_phone": "13800000000",
         "address": "1 Road", "settlement": "T1"}
    d.do("ops", "POST", "/v1/merchants", 201, m)
    d.do("ops", "POST", "/v1/merchants", 409, m)
    d.do("ops", "POST", "/v1/merchants", 400, {"id": "M-OA-2"})
    d.do("viewer", "GET", "/v1/merchants", 200)
    d.do("viewer", "GET", "/v1/merchants/M-OA-1", 200)
    d.do("viewer", "GET", "/v1/merchants/nope", 404)
    d.do("ops", "POST", "/v1/merchants/M-OA-1/update", 200, {"contact_name": "Wang"})
    d.do("ops", "POST", "/v1/merchants/nope/update", 404, {"contact_name": "Wang"})
    d.do("ops", "POST", "/v1/merchants/M-OA-1/activate", 409, {})
    d.do("ops", "POST", "/v1/merchants/M-OA-1/approve", 200, {})
    d.do("ops", "POST", "/v1/merchants/M-OA-1/activate", 200, {})
    d.do("ops", "POST", "/v1/merchants/M-OA-1/suspend", 200, {"reason": "review"})
    d.do("ops", "POST", "/v1/merchants/M-OA-1/resume", 200, {})
    d.do("ops", "POST", "/v1/merchants/nope/approve", 404, {})
    d.do("ops", "POST", "/v1/merchants", 201, dict(m, id="M-OA-3", uscc=uscc("91350100M000200Y4")))
    d.do("ops", "POST", "/v1/merchants/M-OA-3/reject", 200, {"reason": "incomplete"})
    d.do("ops", "POST", "/v1/merchants/M-OA-3/reject", 409, {"reason": "again"})
    d.do("ops", "POST", "/v1/merchants/M-OA-3/close", 200, {"reason": "gone"})
    for a in ("reject", "suspend", "resume", "close"):
        d.do("ops", "POST", "/v1/merchants/nope/" + a, 404, {"reason": "x"})
    d.do("ops", "POST", "/v1/merchants/nope/activate", 404, {})
    # binding, tags, swap, repairs
    d.do("ops", "POST", "/v1/devices/PF-OA-1/bind", 200, {"merchant_id": "M-OA-1"})
    d.do("ops", "POST", "/v1/devices/PF-OA-1/bind", 409, {"merchant_id": "M-OA-1"})
    d.do("ops", "POST", "/v1/devices/PF-OA-1/bind", 400, {})
    d.do("ops", "POST", "/v1/devices/PF-OA-NOPE/bind", 404, {"merchant_id": "M-OA-1"})
    d.do("ops", "POST", "/v1/devices/PF-OA-1/tags", 200, {"tags": ["pilot"]})
    d.do("ops", "POST", "/v1/devices/PF-OA-1/tags", 400, {"tags": "pilot"})
    d.do("ops", "POST", "/v1/devices/PF-OA-NOPE/tags", 404, {"tags": ["pilot"]})
    d.do("ops", "POST", "/v1/devices/PF-OA-4/unbind", 409, {"reason": "not bound"})
    d.do("ops", "POST", "/v1/devices/PF-OA-NOPE/unbind", 404, {"reason": "x"})
    d.do("support", "POST", "/v1/devices/PF-OA-1/swap", 400, {})
    d.do("support", "POST", "/v1/devices/PF-OA-NOPE/swap", 404, {"new": "PF-OA-2", "reason": "x"})
    d.do("support", "POST", "/v1/devices/PF-OA-1/repair", 400, {"fault_codes": "x"})
    d.do("support", "POST", "/v1/devices/PF-OA-NOPE/repair", 404, {"reason": "x"})
    # diagnostics (PF-OA-1 answers)
    st, j = d.do("support", "POST", "/v1/devices/PF-OA-1/diag", 202, {"command": "ping", "args": {}})
    v["diag"] = (j or {}).get("id", "d-0000000000000000")
    deadline = time.monotonic() + 20  # answered, so that what follows does not race the agent
    while time.monotonic() < deadline:
        st, _, raw = d.c.call("GET", "/v1/diag/" + v["diag"], "support")
        if st != 200 or json.loads(raw).get("status") not in ("pending", "sent"):
            break
        time.sleep(0.1)
    d.do("support", "POST", "/v1/devices/PF-OA-1/diag", 400, {"command": "rm -rf", "args": {}})
    d.do("support", "POST", "/v1/devices/PF-OA-NOPE/diag", 404, {"command": "ping", "args": {}})
    d.do("support", "GET", "/v1/devices/PF-OA-1/diag", 200)
    d.do("support", "GET", "/v1/devices/PF-OA-NOPE/diag", 404)
    d.do("support", "GET", "/v1/diag/{diag}", 200)
    d.do("support", "GET", "/v1/diag/d-0000000000000000", 404)
    d.do("support", "GET", "/v1/diag/bad~id", 400)
    d.do("support", "GET", "/v1/diag/{diag}/archive", 409, note="a ping has no archive")
    d.do("support", "GET", "/v1/diag/d-0000000000000000/archive", 404)
    d.do("support", "GET", "/v1/diag/bad~id/archive", 400)
    # fleet
    d.do("viewer", "GET", "/v1/summary", 200)
    d.do("viewer", "GET", "/v1/summary/online", 200)
    d.do("viewer", "GET", "/v1/summary/online?hours=0", 400)
    d.do("viewer", "GET", "/v1/alerts", 200)
    d.do("support", "GET", "/v1/audit", 200)
    d.do("support", "GET", "/v1/audit?limit=0", 400)
    # bundles and updates
    d.do("viewer", "GET", "/v1/bundles", 200)
    d.do("viewer", "GET", "/v1/bundles/{bundle}", 200)
    d.do("viewer", "GET", "/v1/bundles/nope", 404)
    d.do("ops", "POST", "/v1/bundles", 400, raw=b"not a bundle", ctype="application/x-tar")
    d.do("ops", "POST", "/v1/devices/PF-OA-2/update", 201, {"bundle": v["bundle"]})
    d.do("ops", "POST", "/v1/devices/PF-OA-2/update", 400, {"bundle": 5})
    d.do("ops", "POST", "/v1/devices/PF-OA-NOPE/update", 404, {"bundle": v["bundle"]})
    # bulk changes from a file's rows
    d.do("ops", "POST", "/v1/bulk/bind", 200, {"rows": [{"serial": "PF-OA-2", "merchant_id": "M-OA-1"}], "check": True})
    d.do("ops", "POST", "/v1/bulk/bind", 400, {"rows": [{"serial": "bad serial", "merchant_id": "M-OA-1"}]})
    d.do("ops", "POST", "/v1/bulk/bind", 200, {"rows": [{"line": 2, "serial": "PF-OA-2", "merchant_id": "M-OA-1"}]})
    d.do("ops", "POST", "/v1/bulk/tags", 200, {"rows": [{"serial": "PF-OA-2", "tag": "pilot", "op": "+"}]})
    d.do("ops", "POST", "/v1/bulk/tags", 400, {"rows": [{"serial": "PF-OA-2", "tag": "pilot", "op": "*"}]})
    d.do("ops", "POST", "/v1/bulk/unbind", 200, {"rows": [{"serial": "PF-OA-2", "reason": "moved"}]})
    d.do("ops", "POST", "/v1/bulk/unbind", 400, {"rows": [{"serial": "bad serial"}]})
    # Rows the lifecycle refuses, nothing changed: already unbound, or a closed merchant (409);
    # a merchant that does not exist (404).
    d.do("ops", "POST", "/v1/bulk/unbind", 409, {"rows": [{"serial": "PF-OA-2", "reason": "again"}]})
    d.do("ops", "POST", "/v1/bulk/bind", 409, {"rows": [{"serial": "PF-OA-2", "merchant_id": "M-OA-3"}]})
    d.do("ops", "POST", "/v1/bulk/bind", 404, {"rows": [{"serial": "PF-OA-2", "merchant_id": "M-NOPE"}]})
    # administration
    d.do("admin", "POST", "/v1/admin/backup", 200, {})
    people(d)
    # hooks
    d.do("ops", "GET", "/v1/hooks", 200)
    d.do("ops", "GET", "/v1/hooks/log", 200)
    d.do("ops", "GET", "/v1/hooks/log?limit=0", 400)
    # rollouts
    ro = {"bundle": v["bundle"], "stages": [{"size": "100%"}], "name": "openapi"}
    d.do("ops", "POST", "/v1/rollouts", 200, dict(ro, dry_run=True))
    st, j = d.do("ops", "POST", "/v1/rollouts", 201, ro)
    v["rollout"] = (j or {}).get("id", 1)
    d.do("ops", "POST", "/v1/rollouts", 400, {"bundle": v["bundle"]})
    d.do("ops", "POST", "/v1/rollouts", 404, dict(ro, bundle="0" * 64))
    d.do("viewer", "GET", "/v1/rollouts", 200)
    d.do("viewer", "GET", "/v1/rollouts/{rollout}", 200)
    # Polled with its ETag: 304 while unchanged (a tick may change it: try a few times).
    for _ in range(5):
        d.c.call("GET", "/v1/rollouts/%s" % v["rollout"], "viewer")
        etag = d.c.last_headers.get("ETag") or "none"
        if d.c.call("GET", "/v1/rollouts/%s" % v["rollout"], "viewer",
                    headers={"If-None-Match": etag})[0] == 304:
            break
    d.do("viewer", "GET", "/v1/rollouts/{rollout}", 304, headers={"If-None-Match": etag})
    d.do("viewer", "GET", "/v1/rollouts/999999", 404)
    d.do("viewer", "GET", "/v1/rollouts/{rollout}/members", 200)
    d.do("viewer", "GET", "/v1/rollouts/999999/members", 404)
    d.do("viewer", "GET", "/v1/rollouts/{rollout}/preview", 200)
    d.do("viewer", "GET", "/v1/rollouts/999999/preview", 404)
    d.do("ops", "POST", "/v1/rollouts/{rollout}/pause", 200, {"reason": "look"})
    d.do("ops", "POST", "/v1/rollouts/{rollout}/resume", 200, {})
    d.do("ops", "POST", "/v1/rollouts/{rollout}/continue", 409, {})
    d.do("ops", "POST", "/v1/rollouts/{rollout}/members/PF-OA-NOPE", 404, {"action": "skip", "reason": "x"})
    d.do("ops", "POST", "/v1/rollouts/{rollout}/members/PF-OA-1", 400, {"action": "explode", "reason": "x"})
    d.do("approver", "POST", "/v1/rollouts/{rollout}/approve", 409, {"digest": "0" * 64})
    events(d)
    d.do("approver", "POST", "/v1/rollouts/999999/approve", 404, {"digest": "0" * 64})
    d.do("approver", "POST", "/v1/rollouts/{rollout}/approve", 400, {})
    d.do("ops", "POST", "/v1/rollouts/{rollout}/abort", 200, {"reason": "done looking"})
    d.do("ops", "POST", "/v1/rollouts/{rollout}/abort", 409, {"reason": "again"})
    d.do("ops", "POST", "/v1/rollouts/{rollout}/rollback", 409, {"reason": "aborted already"})
    for a in ("pause", "resume", "continue", "abort", "rollback"):
        d.do("ops", "POST", "/v1/rollouts/999999/" + a, 404, {"reason": "x"})
    # the lifecycle's end: swap, repair, retire
    st, j = d.do("support", "POST", "/v1/devices/PF-OA-1/swap", 200,
                 {"new": "PF-OA-3", "reason": "screen broken", "fault_codes": ["screen"]})
    d.do("support", "POST", "/v1/devices/PF-OA-1/swap/undo", 400, {"new": "PF-OA-3"})
    d.do("support", "POST", "/v1/devices/PF-OA-2/swap/undo", 404, {"new": "PF-OA-4", "reason": "no such swap"})
    d.do("viewer", "GET", "/v1/repairs", 200)
    st, j = d.do("viewer", "GET", "/v1/repairs", 200)
    repairs = (j or {}).get("repairs") or [{}]
    v["repair"] = repairs[0].get("id", 1)
    d.do("viewer", "GET", "/v1/repairs/{repair}", 200)
    d.do("viewer", "GET", "/v1/repairs/999999", 404)
    d.do("support", "POST", "/v1/repairs/{repair}", 200, {"state": "received", "notes": "in the lab"})
    d.do("support", "POST", "/v1/repairs/{repair}", 400, {"state": "melted"})
    d.do("support", "POST", "/v1/repairs/999999", 404, {"state": "received"})
    d.do("support", "POST", "/v1/devices/PF-OA-1/swap/undo", 409, {"new": "PF-OA-3", "reason": "repair moved on"})
    d.do("support", "POST", "/v1/repairs/{repair}/close", 200, {"outcome": "scrapped"})
    d.do("support", "POST", "/v1/repairs/{repair}/close", 409, {"outcome": "scrapped"})
    d.do("support", "POST", "/v1/repairs/{repair}/close", 400, {"outcome": "received"})
    d.do("support", "POST", "/v1/repairs/999999/close", 404, {"outcome": "scrapped"})
    d.do("support", "POST", "/v1/devices/PF-OA-4/repair", 201, {"reason": "drop test"})
    d.do("ops", "POST", "/v1/devices/PF-OA-3/unbind", 200, {"reason": "shop moved"})
    d.do("ops", "POST", "/v1/devices/PF-OA-3/retire", 200, {"reason": "end of life"})
    d.do("ops", "POST", "/v1/devices/PF-OA-3/retire", 409, {"reason": "again"})
    d.do("ops", "POST", "/v1/devices/PF-OA-NOPE/retire", 404, {"reason": "x"})
    d.do("ops", "POST", "/v1/devices/PF-OA-4/revoke", 200, {})
    d.do("ops", "POST", "/v1/devices/PF-OA-NOPE/revoke", 404, {})
    # last: the broker goes away, /readyz says so (in the one error shape)
    if "broker_pid" in v:
        os.kill(int(v["broker_pid"]), signal.SIGTERM)
        deadline = time.monotonic() + 20
        while d.c.call("GET", "/readyz")[0] != 503 and time.monotonic() < deadline:
            time.sleep(0.1)
        d.do(None, "GET", "/readyz", 503)


def people(d):
    """Organisations, users, sessions, API tokens, support requests; M-OA-1 is
    active with PF-OA-1 bound. The tokens-file identities are not users."""
    v = d.vars
    pw, pw2 = "correct horse battery", "staple battery horse"
    d.do("admin", "POST", "/v1/orgs", 201, {"name": "agent-oa"})
    d.do("admin", "POST", "/v1/orgs", 409, {"name": "agent-oa"})
    d.do("admin", "POST", "/v1/orgs", 400, {"name": "bad name"})
    d.do("admin", "POST", "/v1/orgs", 404, {"name": "agent-oa-2", "parent": "no-such-org"})
    d.do("admin", "POST", "/v1/orgs", 201, {"name": "agent-oa-sub", "parent": "agent-oa"})
    d.do("admin", "GET", "/v1/orgs", 200)
    d.do("admin", "POST", "/v1/merchants/M-OA-1/org", 200, {"org": "agent-oa"})
    d.do("admin", "POST", "/v1/merchants/M-OA-1/org", 400, {})
    d.do("admin", "POST", "/v1/merchants/M-OA-1/org", 404, {"org": "no-such-org"})
    d.do("admin", "POST", "/v1/merchants/nope/org", 404, {"org": "agent-oa"})
    user = {"name": "oa.ops", "role": "ops", "org": "agent-oa", "password": pw}
    d.do("admin", "POST", "/v1/users", 201, user)
    d.do("admin", "POST", "/v1/users", 409, user)
    d.do("admin", "POST", "/v1/users", 400, dict(user, name="oa.king", role="king"))
    d.do("admin", "POST", "/v1/users", 400, dict(user, name="oa.short", password="short"))
    d.do("admin", "POST", "/v1/users", 404, dict(user, name="oa.lost", org="no-such-org"))
    d.do("admin", "POST", "/v1/users", 201,
         {"name": "oa.shop", "role": "merchant", "org": "agent-oa", "merchant": "M-OA-1", "password": pw})
    d.do("admin", "GET", "/v1/users", 200)
    # one user, one organisation; a password set by an admin (audited user.password)
    d.do("admin", "GET", "/v1/users/oa.ops", 200)
    d.do("admin", "GET", "/v1/users/nobody", 404)
    st, j = d.do("admin", "GET", "/v1/orgs", 200, note="for agent-oa's id")
    v["org"] = next((o["id"] for o in (j or {}).get("orgs", []) if o.get("name") == "agent-oa"), 999999)
    d.do("admin", "GET", "/v1/orgs/{org}", 200)
    d.do("admin", "GET", "/v1/orgs/999999", 404)
    d.do("admin", "POST", "/v1/users/oa.ops", 200, {"password": pw})
    d.do("admin", "POST", "/v1/users/oa.ops", 400, {"role": "ops"}, note="a role has its own route")
    d.do("admin", "POST", "/v1/users/oa.ops", 400, {})
    d.do("admin", "POST", "/v1/users/nobody", 404, {"password": pw})
    # a user's role, disabled and enabled again; never one's own
    d.do("admin", "POST", "/v1/users", 201, {"name": "oa.temp", "role": "viewer", "org": "agent-oa", "password": pw})
    d.do("admin", "POST", "/v1/users/oa.temp/role", 200, {"role": "support"})
    d.do("admin", "POST", "/v1/users/oa.temp/role", 400, {"role": "king"})
    d.do("admin", "POST", "/v1/users/nobody/role", 404, {"role": "ops"})
    d.do("admin", "POST", "/v1/users/nobody/disable", 404, {})
    d.do("admin", "POST", "/v1/users/nobody/enable", 404, {})
    d.do("admin", "POST", "/v1/users/oa.temp/disable", 200, {})
    d.do(None, "POST", "/v1/login", 401, {"user": "oa.temp", "password": pw}, note="disabled")
    d.do("admin", "POST", "/v1/users/oa.temp/enable", 200, {})
    d.do("admin", "POST", "/v1/users", 201, {"name": "oa.adm", "role": "admin", "org": "headquarters", "password": pw})
    st, j = d.do(None, "POST", "/v1/login", 200, {"user": "oa.adm", "password": pw})
    d.c.tokens["adm-session"] = (j or {}).get("token", "none")
    d.do("adm-session", "POST", "/v1/users/oa.adm/role", 409, {"role": "ops"})
    d.do("adm-session", "POST", "/v1/users/oa.adm/disable", 409, {})
    d.do(None, "POST", "/v1/login", 200, {"user": "oa.temp", "password": pw}, note="enabled again")
    # a session: the login answer is the only one that holds its token
    st, j = d.do(None, "POST", "/v1/login", 200, {"user": "oa.ops", "password": pw})
    d.c.tokens["session"] = (j or {}).get("token", "none")
    d.do(None, "POST", "/v1/login", 400, {"user": "oa.ops"})
    d.do(None, "POST", "/v1/login", 401, {"user": "oa.ops", "password": "not the password"})
    d.do("session", "GET", "/v1/me", 200)
    d.do("viewer", "GET", "/v1/me", 200)
    d.do("session", "POST", "/v1/me/password", 403, {"current": "not the password", "new": pw2})
    d.do("session", "POST", "/v1/me/password", 400, {"current": pw, "new": "short"})
    d.do("viewer", "POST", "/v1/me/password", 409, {"current": pw, "new": pw2})
    d.do("session", "POST", "/v1/me/password", 200, {"current": pw, "new": pw2})
    # an API token: shown once, listed without its secret, revoked
    st, j = d.do("session", "POST", "/v1/tokens", 201, {"name": "oa-script", "expires_days": 7})
    v["token"] = (j or {}).get("id", 999999)
    d.c.tokens["apitoken"] = (j or {}).get("token", "none")
    d.do("session", "POST", "/v1/tokens", 400, {"name": "bad name"})
    d.do("session", "POST", "/v1/tokens", 400, {"name": "oa-long", "expires_days": 9999})
    d.do("viewer", "POST", "/v1/tokens", 409, {"name": "oa-file"})
    d.do("apitoken", "GET", "/v1/me", 200, note="by API token")
    d.do("session", "GET", "/v1/tokens", 200, note="unrevoked, used")
    d.do("session", "POST", "/v1/tokens/{token}/revoke", 200, {})
    d.do("session", "POST", "/v1/tokens/999999/revoke", 404, {})
    d.do("admin", "GET", "/v1/tokens", 200, note="revoked")
    d.do("apitoken", "GET", "/v1/me", 401, note="revoked API token")
    # support requests: a merchant user's is its own merchant's
    st, j = d.do(None, "POST", "/v1/login", 200, {"user": "oa.shop", "password": pw})
    d.c.tokens["shop"] = (j or {}).get("token", "none")
    d.do("shop", "POST", "/v1/support-requests", 201, {"subject": "paper jam", "body": "the printer jams"})
    d.do("ops", "POST", "/v1/support-requests", 201,
         {"merchant": "M-OA-1", "serial": "PF-OA-1", "subject": "screen", "body": "flickers"})
    d.do("ops", "POST", "/v1/support-requests", 400, {"merchant": "M-OA-1", "body": "no subject"})
    d.do("ops", "POST", "/v1/support-requests", 404, {"merchant": "nope", "subject": "x", "body": "y"})
    d.do("ops", "POST", "/v1/support-requests", 404,
         {"merchant": "M-OA-1", "serial": "PF-OA-4", "subject": "x", "body": "not bound"})
    d.do("shop", "GET", "/v1/support-requests", 403)
    d.do("support", "GET", "/v1/support-requests", 200)
    # the audit names the organisation and the address
    d.do("support", "GET", "/v1/audit?org=agent-oa", 200)
    d.do("support", "GET", "/v1/audit?addr=127.0.0.1&limit=5", 200)
    d.do("support", "GET", "/v1/audit?actor=oa.ops&limit=5", 200)
    d.do("support", "GET", "/v1/audit?nonsense=1", 400)
    # logout ends a session, and only a session
    d.do("session", "POST", "/v1/logout", 200, {})
    d.do("session", "GET", "/v1/me", 401, note="after logout")
    d.do("ops", "POST", "/v1/logout", 409, {})
    # five wrong passwords lock the account
    for _ in range(5):
        d.do(None, "POST", "/v1/login", 401, {"user": "oa.shop", "password": "not the password"})
    d.do(None, "POST", "/v1/login", 429, {"user": "oa.shop", "password": pw})
    # a live session again for the request checks (Driver.requests) that replay its bodies
    st, j = d.do(None, "POST", "/v1/login", 200, {"user": "oa.ops", "password": pw2}, note="again")
    d.c.tokens["session"] = (j or {}).get("token", "none")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("routes", "drive"))
    ap.add_argument("--spec", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--url")
    ap.add_argument("--cacert")
    ap.add_argument("--token", action="append", default=[], help="ROLE=FILE")
    ap.add_argument("--var", action="append", default=[], help="NAME=VALUE")
    ap.add_argument("--body-max", type=int, default=65536)
    ap.add_argument("--infer")
    args = ap.parse_args()

    spec = read_spec(args.spec)
    table = read_table(args.table)
    if not table:
        sys.exit("openapi_check.py: no route rows found in %s" % args.table)
    errors = check_routes(spec, table, args.spec, args.table)
    if not spec.get("openapi", "").startswith("3."):
        errors.append("%s: not an OpenAPI 3 document" % args.spec)
    if args.mode == "drive":
        if errors:  # the answers cannot be checked against operations that are missing
            for e in errors:
                print("openapi_check.py: " + e, file=sys.stderr)
            return 1
        if not args.url.startswith(("http://127.", "https://127.", "http://[::1]", "https://[::1]")):
            sys.exit("openapi_check.py: loopback URLs only")
        tokens = {}
        for t in args.token:
            role, path = t.split("=", 1)
            tokens[role] = open(path, encoding="utf-8").readline().strip()
        d = Driver(spec, table, Client(args.url, tokens, args.cacert), args.infer)
        for kv in args.var:
            k, val = kv.split("=", 1)
            d.vars[k] = val
        scenario(d)
        d.requests()
        d.generic(args.body_max)
        d.coverage()
        errors += d.errors
        if args.infer:
            with open(args.infer, "w", encoding="utf-8") as f:
                json.dump(d.inferred, f, indent=1, sort_keys=True)
        print(json.dumps({"operations": len(d.ops), "answers_checked": len(d.seen)}))
    for e in errors:
        print("openapi_check.py: " + e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
