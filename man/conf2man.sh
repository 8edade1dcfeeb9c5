#!/bin/sh
# conf2man.sh - write posfleetd.conf(5) from docs/server.md: every row of its
# "| key | default | meaning |" tables, in document order, so the manual page
# says exactly what the server documentation says. Usage:
#   conf2man.sh DOCS/server.md VERSION OUT
set -eu
src=$1
version=$2
out=$3
tmp="$out.tmp"
{
    printf '.TH POSFLEETD.CONF 5 "" "posfleet %s" "File Formats"\n' "$version"
    printf '.SH NAME\nposfleetd.conf \\- posfleetd configuration file\n'
    printf '.SH SYNOPSIS\n/etc/posfleet/posfleetd.conf\n'
    cat <<'TXT'
.SH DESCRIPTION
.B posfleetd
reads its configuration from the file given with
.BR \-c .
The file holds
.I key
=
.I value
lines; lines starting with # are comments. Unknown keys and duplicate keys
are errors. Every key is optional.
.B posfleetd \-c FILE \-\-check\-config
validates a file without starting the server.
.SH KEYS
TXT
    awk '
        function roff(s) {
            gsub(/\\/, "\\\\", s)
            gsub(/-/, "\\-", s)
            while (match(s, /`[^`]*`/)) {
                s = substr(s, 1, RSTART - 1) "\\fB" substr(s, RSTART + 1, RLENGTH - 2) "\\fR" substr(s, RSTART + RLENGTH)
            }
            gsub(/\*\*/, "", s)
            sub(/^[.\047]/, "\\\\\\&&", s)
            return s
        }
        /^\| key \| default \| meaning \|$/ { intable = 1; next }
        intable && /^\|---/ { next }
        intable && /^\| `/ {
            n = split($0, c, " \\| ")
            key = c[1]; sub(/^\| /, "", key); gsub(/`/, "", key)
            def = c[2]; if (def == "—") def = "none"
            mean = c[3]; for (i = 4; i <= n; i++) mean = mean " | " c[i]
            sub(/ \|$/, "", mean)
            printf ".TP\n.B %s\nDefault: %s.\n%s\n", roff(key), roff(def), roff(mean)
            next
        }
        intable { intable = 0 }
    ' "$src"
    cat <<'TXT'
.SH EXAMPLE
.nf
mqtt.host = 127.0.0.1
mqtt.port = 8883
mqtt.ca = /etc/posfleet/pki/ca.crt
mqtt.cert = /etc/posfleet/pki/posfleetd.crt
mqtt.key = /etc/posfleet/pki/posfleetd.key
store.path = /var/lib/posfleet/posfleetd.db
http.tokens = /etc/posfleet/tokens
.fi
.SH FILES
.TP
.I /etc/posfleet/posfleetd.conf
the packaged configuration (a conffile)
.TP
.I /etc/posfleet/tokens
API tokens, one "NAME ROLE HEX" line each
.SH SEE ALSO
.BR posfleetd (8),
.BR posfleet (1),
.BR posfleet\-keys (1);
docs/server.md in the documentation directory.
TXT
} > "$tmp"
mv "$tmp" "$out"
