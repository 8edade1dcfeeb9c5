#!/usr/bin/env python3
"""prom_check.py - checks a Prometheus text exposition (format 0.0.4) read from
stdin, as promtool's "check metrics" would for what posfleetd exposes:

  * every line is a comment (# HELP / # TYPE), blank, or a sample
    NAME{LABELS} VALUE with a valid name, well-formed labels and a number;
  * every sample belongs to a family that has exactly one HELP and one TYPE,
    both before its first sample, and a family's samples are contiguous;
  * a histogram's samples are NAME_bucket (with le, cumulative, ending at
    +Inf equal to NAME_count), NAME_sum and NAME_count;
  * a counter's name ends in _total; every counter and histogram family has
    a sample (a gauge family may be empty: no live rollout, no samples).

With --zero PREFIX... every counter sample whose name starts with one of the
prefixes must be 0 (counters present from the start at zero).
Exit 0 when valid, 1 with the reasons on stderr."""
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
SAMPLE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})? (\S+)$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)')


def labels(text):
    out, pos = {}, 0
    body = text[1:-1]
    while pos < len(body):
        m = LABEL.match(body, pos)
        if not m:
            raise ValueError("bad labels %r" % text)
        if m.group(1) in out:
            raise ValueError("label %s twice" % m.group(1))
        out[m.group(1)] = m.group(2)
        pos = m.end()
    return out


def main():
    zero = sys.argv[2:] if len(sys.argv) > 1 and sys.argv[1] == "--zero" else []
    errs = []
    helps, types, seen, closed = {}, {}, {}, set()
    current = None
    hist = {}
    for n, line in enumerate(sys.stdin.read().split("\n"), 1):
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                fam = parts[2]
                if not NAME.match(fam):
                    errs.append("%d: bad metric name %r" % (n, fam))
                d = helps if parts[1] == "HELP" else types
                if fam in d:
                    errs.append("%d: second %s for %s" % (n, parts[1], fam))
                if fam in seen:
                    errs.append("%d: %s for %s after its samples" % (n, parts[1], fam))
                if len(parts) < 4 or not parts[3].strip():
                    errs.append("%d: empty %s for %s" % (n, parts[1], fam))
                elif parts[1] == "TYPE" and parts[3] not in (
                        "counter", "gauge", "histogram", "summary", "untyped"):
                    errs.append("%d: unknown type %r" % (n, parts[3]))
                d[fam] = parts[3] if len(parts) > 3 else ""
            continue
        m = SAMPLE.match(line)
        if not m:
            errs.append("%d: not a sample: %r" % (n, line))
            continue
        name, lab, val = m.group(1), m.group(2) or "{}", m.group(3)
        try:
            lv = labels(lab)
            v = float(val)
        except ValueError as e:
            errs.append("%d: %s" % (n, e))
            continue
        fam = name
        for suf in ("_bucket", "_sum", "_count"):
            base = name[: -len(suf)]
            if name.endswith(suf) and types.get(base) == "histogram":
                fam = base
        if fam not in helps or fam not in types:
            errs.append("%d: sample %s without HELP and TYPE" % (n, name))
        if fam != current:
            if fam in closed:
                errs.append("%d: samples of %s are not contiguous" % (n, fam))
            if current:
                closed.add(current)
            current = fam
        seen[fam] = seen.get(fam, 0) + 1
        t = types.get(fam)
        if t == "counter":
            if not name.endswith("_total"):
                errs.append("%d: counter %s does not end in _total" % (n, name))
            if v < 0:
                errs.append("%d: counter %s is negative" % (n, name))
            if any(name.startswith(p) for p in zero) and v != 0:
                errs.append("%d: counter %s is %s at start, not 0" % (n, line, val))
        if t == "histogram":
            h = hist.setdefault(fam, {"buckets": [], "count": None})
            if name == fam + "_bucket":
                if "le" not in lv:
                    errs.append("%d: bucket without le" % n)
                else:
                    h["buckets"].append((lv["le"], v))
            elif name == fam + "_count":
                h["count"] = v
            elif name != fam + "_sum":
                errs.append("%d: %s in histogram %s" % (n, name, fam))
    for fam in types:
        # A gauge family may be empty (no live rollout); a counter is there from the start.
        if fam not in seen and types[fam] != "gauge":
            errs.append("family %s has no sample" % fam)
        if fam not in helps:
            errs.append("family %s has no HELP" % fam)
    for fam, h in hist.items():
        b = h["buckets"]
        if not b or b[-1][0] != "+Inf":
            errs.append("histogram %s does not end with le=\"+Inf\"" % fam)
            continue
        if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
            errs.append("histogram %s buckets are not cumulative" % fam)
        if h["count"] != b[-1][1]:
            errs.append("histogram %s: _count differs from the +Inf bucket" % fam)
    for e in errs:
        print("prom_check: " + e, file=sys.stderr)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
