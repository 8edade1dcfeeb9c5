#!/usr/bin/env python3
"""slow_http.py - one client holds many slow HTTP connections while another
client address measures how fast posfleetd still answers.

The slow client (bound to --slow-from) keeps --conns connections open to
posfleetd, each sending one more byte of a request head that never ends every
--byte-every seconds, and reopens every connection posfleetd closes at the
next tick, as an attacker would. Meanwhile a second address (--probe-from)
GETs --path every --probe-every seconds on a fresh connection. The run stops
by itself after --duration seconds and prints one JSON summary line; with
--check it exits 1 naming each bound that was broken:

  - every probe answers 200 within --probe-max-ms;
  - at least --conns - --per-ip connections of the first round were refused
    or closed within --refused-ms (default 1 s) of opening (the per-client
    limit; keep it under the head deadline so the two cannot be confused);
  - no slow connection lived longer than --head-max-ms (the head deadline).

With --tls-ca CAFILE the server speaks HTTPS: the slow client then never
finishes its TLS handshake (a ClientHello record sent a byte at a time), and
the probe verifies the server's certificate with CAFILE.

Loopback only; Python 3 standard library only.
"""
import argparse
import json
import resource
import selectors
import socket
import ssl
import sys
import threading
import time


def now_ms():
    return time.monotonic() * 1000.0


class Slow:
    def __init__(self, idx, first_round):
        self.idx = idx
        self.sock = None
        self.opened = 0.0
        self.sent = 0
        self.first_round = first_round


HEAD = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4096
# A TLS handshake record (ClientHello, 16 KiB long) that never ends.
TLS_HEAD = b"\x16\x03\x01\x40\x00\x01\x00\x3f\xfc\x03\x03" + b"\x00" * 4096


def probe_loop(args, stop, results):
    while not stop.is_set():
        t0 = now_ms()
        status = "error"
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(args.probe_timeout)
            s.bind((args.probe_from, 0))
            s.connect((args.host, args.port))
            if args.tls_ca:
                ctx = ssl.create_default_context(cafile=args.tls_ca)
                s = ctx.wrap_socket(s, server_hostname="localhost")
            s.sendall(
                ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (args.path, args.host)).encode()
            )
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            status = data.split(b"\r\n", 1)[0].decode(errors="replace") if data else "closed without an answer"
        except OSError as e:
            status = "error: %s" % e
        results.append({"ms": now_ms() - t0, "status": status, "at": t0})
        stop.wait(args.probe_every)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--slow-from", default="127.0.0.1")
    ap.add_argument("--probe-from", default="127.0.0.2")
    ap.add_argument("--path", default="/metrics")
    ap.add_argument("--conns", type=int, default=2000)
    ap.add_argument("--byte-every", type=float, default=2.0)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--probe-every", type=float, default=0.25)
    ap.add_argument("--probe-timeout", type=float, default=5.0)
    ap.add_argument("--probe-max-ms", type=float, default=2000.0)
    ap.add_argument("--per-ip", type=int, default=64)
    ap.add_argument("--head-max-ms", type=float, default=0.0, help="0: not checked")
    ap.add_argument("--refused-ms", type=float, default=1000.0,
                    help="a first-round connection closed sooner counts as refused")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--tls-ca", default="", help="HTTPS: the CA file to verify posfleetd with")
    args = ap.parse_args()
    head = TLS_HEAD if args.tls_ca else HEAD
    for a in (args.host, args.slow_from, args.probe_from):
        if not a.startswith("127."):
            sys.exit("slow_http.py: loopback addresses only, not %s" % a)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.conns + 256
    if soft < want and (hard == resource.RLIM_INFINITY or hard >= want):
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    sel = selectors.DefaultSelector()
    slows = [Slow(i, True) for i in range(args.conns)]
    first_refused = 0     # first round: refused, or closed within --refused-ms
    closed_later = 0      # closed after --refused-ms or more (the head deadline)
    longest_ms = 0.0      # longest life of a slow connection
    opened_total = 0

    def open_slow(c):
        nonlocal first_refused, opened_total
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((args.slow_from, 0))
        s.setblocking(False)
        try:
            s.connect((args.host, args.port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            if c.first_round:
                first_refused += 1
                c.first_round = False
            return
        c.sock = s
        c.opened = now_ms()
        c.sent = 0
        opened_total += 1
        sel.register(s, selectors.EVENT_READ, c)

    def closed(c):
        nonlocal first_refused, closed_later, longest_ms
        life = now_ms() - c.opened
        longest_ms = max(longest_ms, life)
        if life < args.refused_ms:
            if c.first_round:
                first_refused += 1
        else:
            closed_later += 1
        c.first_round = False
        sel.unregister(c.sock)
        c.sock.close()
        c.sock = None

    def send_byte(c):
        if c.sent >= len(head):
            return
        try:
            c.sock.send(head[c.sent : c.sent + 1])
            c.sent += 1
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            closed(c)

    for c in slows:
        open_slow(c)
    stop = threading.Event()
    probes = []
    prober = threading.Thread(target=probe_loop, args=(args, stop, probes))
    prober.start()

    t_start = now_ms()
    next_tick = t_start
    end = t_start + args.duration * 1000.0
    while now_ms() < end:
        t = now_ms()
        if t >= next_tick:
            for c in slows:
                if c.sock is None:
                    open_slow(c)
                else:
                    send_byte(c)
            next_tick = t + args.byte_every * 1000.0
        timeout = max(0.0, min(next_tick, end) - now_ms()) / 1000.0
        for key, _ in sel.select(timeout=min(timeout, 0.2)):
            c = key.data
            try:
                data = c.sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                closed(c)
    stop.set()
    prober.join()
    still_open = 0
    for c in slows:
        if c.sock is not None:
            longest_ms = max(longest_ms, now_ms() - c.opened)
            still_open += 1
            c.sock.close()

    lat = sorted(p["ms"] for p in probes)
    bad = [p for p in probes if not p["status"].startswith("HTTP/1.1 200") or p["ms"] > args.probe_max_ms]
    summary = {
        "conns": args.conns,
        "opened_total": opened_total,
        "refused_ms": args.refused_ms,
        "first_round_refused_or_closed_early": first_refused,
        "closed_later": closed_later,
        "still_open_at_end": still_open,
        "longest_slow_ms": round(longest_ms),
        "probes": len(probes),
        "probes_bad": len(bad),
        "probe_ms_p50": round(lat[len(lat) // 2]) if lat else None,
        "probe_ms_max": round(lat[-1]) if lat else None,
        "first_bad": bad[0]["status"] if bad else None,
    }
    print(json.dumps(summary), flush=True)
    if not args.check:
        return 0
    errors = []
    if not probes:
        errors.append("no probe finished")
    if bad:
        errors.append(
            "%d of %d probes from %s failed or took over %.0f ms (first: %s, %.0f ms)"
            % (len(bad), len(probes), args.probe_from, args.probe_max_ms, bad[0]["status"], bad[0]["ms"])
        )
    if first_refused < args.conns - args.per_ip:
        errors.append(
            "only %d of %d first-round slow connections were refused or closed within %.0f ms"
            " (per-client limit %d)" % (first_refused, args.conns, args.refused_ms, args.per_ip)
        )
    if args.head_max_ms > 0 and longest_ms > args.head_max_ms:
        errors.append("a slow request head lived %.0f ms, over %.0f ms" % (longest_ms, args.head_max_ms))
    if args.head_max_ms > 0 and closed_later == 0:
        errors.append("no slow connection was closed by the head deadline")
    for e in errors:
        print("slow_http.py: " + e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
