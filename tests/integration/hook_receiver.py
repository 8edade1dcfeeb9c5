#!/usr/bin/env python3
"""hook_receiver.py - a webhook receiver for the integration tests.

    hook_receiver.py PORT SECRET_FILE LOG [--fail-first N] [--hang-first N]

Listens on 127.0.0.1:PORT. Every POST is checked as docs/server.md tells a
receiver to: X-Posfleet-Signature must be "sha256=" + the hex HMAC-SHA256,
keyed with the secret, of X-Posfleet-Timestamp + "." + the body, the
timestamp within 5 minutes, and X-Posfleet-Event-Id equal to the body's "id".
Each request is appended to LOG as one JSON line: event id, kind, subject,
attempt, sig_ok, the status answered. A bad signature is answered 401; the
first N good requests 500 (a receiver failing), or, with --hang-first, not
answered for 30 s (a receiver that hangs); every other one 200."""
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, SECRET_FILE, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]
OPTS = dict(zip(sys.argv[4::2], (int(v) for v in sys.argv[5::2])))
FAIL_FIRST = OPTS.get("--fail-first", 0)
HANG_FIRST = OPTS.get("--hang-first", 0)
with open(SECRET_FILE, "rb") as f:
    SECRET = f.read().rstrip(b"\r\n")
state = {"good": 0}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ts = self.headers.get("X-Posfleet-Timestamp", "")
        sig = self.headers.get("X-Posfleet-Signature", "")
        want = "sha256=" + hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {}
        ok = (hmac.compare_digest(sig, want) and ts.isdigit() and abs(time.time() - int(ts)) < 300
              and self.headers.get("X-Posfleet-Event-Id") == doc.get("id")
              and self.headers.get("Content-Type") == "application/json")
        if not ok:
            status = 401
        else:
            state["good"] += 1
            if state["good"] <= HANG_FIRST:
                with open(LOG, "a") as f:
                    f.write(json.dumps({"id": doc.get("id"), "status": 0, "hung": True,
                                        "attempt": int(self.headers.get("X-Posfleet-Attempt", "0")),
                                        "sig_ok": ok}) + "\n")
                time.sleep(30)
                return
            status = 500 if state["good"] <= FAIL_FIRST else 200
        rec = {"id": doc.get("id"), "kind": doc.get("kind"), "subject": doc.get("subject"),
               "header_kind": self.headers.get("X-Posfleet-Event"),
               "attempt": int(self.headers.get("X-Posfleet-Attempt", "0")),
               "sig_ok": ok, "status": status, "data": doc.get("data")}
        with open(LOG, "a") as f:
            f.write(json.dumps(rec, sort_keys=True) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
