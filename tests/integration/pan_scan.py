#!/usr/bin/env python3
"""pan_scan.py - finds card numbers (PANs) in text: MQTT payloads, log lines,
database dumps.

    pan_scan.py [--label NAME] FILE...     (- reads standard input)

Prints one line per hit, "LABEL:LINE: SCHEME 411111******1111" (never the
whole number), and exits 1 if there was any, 0 if none, 2 on a usage error.

What counts as a card number (the rule docs/security.md's threat table refers to):

  - a run of 13-19 digits with no letter or digit on either side, or the same
    written in groups separated by one space or one dash each (4-4-4-4[-3],
    4-6-5, 4-6-4 ...: every separator the same);
  - whose digits pass the Luhn check;
  - and that starts with the issuer range of a real card scheme and has one of
    that scheme's lengths (table SCHEMES below: Visa, Mastercard, American
    Express, Diners, Discover, JCB, UnionPay, Maestro, Mir). Every such range
    has a major industry identifier (first digit) of 2-6.

The last rule is what keeps the scanner quiet on the suite's own numbers: a
13-digit millisecond timestamp (17xxxxxxxxxxx) passes Luhn one time in ten,
but starts with 1, and no scheme issues 13-digit numbers outside Visa's 4.
Digits inside a longer token (a hex digest, base64, an id) are not a card
number written anywhere a person or a parser would read one as such.
"""
import re
import sys

# (scheme, prefixes as (low, high) inclusive ranges over the first digits, lengths)
SCHEMES = [
    ("visa", [("4", "4")], (13, 16, 19)),
    ("mastercard", [("51", "55"), ("2221", "2720")], (16,)),
    ("amex", [("34", "34"), ("37", "37")], (15,)),
    ("diners", [("300", "305"), ("36", "36"), ("38", "39")], (14, 15, 16, 17, 18, 19)),
    ("discover", [("6011", "6011"), ("644", "649"), ("65", "65")], (16, 17, 18, 19)),
    ("jcb", [("3528", "3589")], (16, 17, 18, 19)),
    ("unionpay", [("62", "62")], (16, 17, 18, 19)),
    ("maestro", [("50", "50"), ("56", "58"), ("6", "6")], (13, 14, 15, 16, 17, 18, 19)),
    ("mir", [("2200", "2204")], (16, 17, 18, 19)),
]

# A bare run, or 3-6 groups of 3-6 digits (last group 1-7) with one repeated separator.
CANDIDATE = re.compile(
    r"(?<![0-9A-Za-z])"
    r"(\d{13,19}|\d{4}([ -])\d{4,6}(?:\2\d{3,6}){1,3}(?:\2\d{1,4})?)"
    r"(?![0-9A-Za-z])"
)


def luhn(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def scheme_of(digits):
    if not 13 <= len(digits) <= 19 or digits[0] not in "23456":
        return None
    for name, ranges, lengths in SCHEMES:
        if len(digits) not in lengths:
            continue
        for low, high in ranges:
            head = digits[: len(low)]
            if low <= head <= high:
                return name
    return None


def find(text):
    """Yields (scheme, masked) for every card number in text."""
    for m in CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", m.group(1))
        name = scheme_of(digits)
        if name and luhn(digits):
            yield name, digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def scan(stream, label):
    hits = 0
    for lineno, raw in enumerate(stream, 1):
        line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        for name, masked in find(line):
            print(f"{label}:{lineno}: {name} {masked}")
            hits += 1
    return hits


def main(argv):
    label = None
    args = argv[1:]
    if len(args) >= 2 and args[0] == "--label":
        label, args = args[1], args[2:]
    if not args:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    hits = 0
    for path in args:
        if path == "-":
            hits += scan(sys.stdin.buffer, label or "stdin")
            continue
        try:
            with open(path, "rb") as f:
                hits += scan(f, label or path)
        except FileNotFoundError:
            continue
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
