/*
 * msg_diag.c - codecs of the diagnostics protocol: requests, responses, chunk
 * requests and binary archive chunk frames (pf/msg_diag.h).
 */
#include "pf/msg_diag.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pf/jsonv.h"
#include "pf/endian.h"

const char *const pf_diag_cmd_names[] = {"selftest", "logs",   "net",     "config", "versions",
                                         "loglevel", "reboot", "archive", NULL};
const char *const pf_diag_status_names[] = {"ok", "refused", "failed", NULL};

static const char *const diag__levels[] = {"error", "warn", "info", "debug", NULL};

#define DIAG_TS_MAX 4102444800000LL /* 2100-01-01 in ms */

enum pf_diag_cmd pf_diag_cmd_lookup(const char *word)
{
    for (int i = 0; pf_diag_cmd_names[i]; i++) {
        if (strcmp(word, pf_diag_cmd_names[i]) == 0)
            return (enum pf_diag_cmd)i;
    }
    return PF_DIAG_UNKNOWN;
}

bool pf_diag_id_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > PF_DIAG_ID_MAX)
        return false;
    for (; *s; s++) {
        char c = *s;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

static bool diag__word_valid(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    }
    return true;
}

static int diag__finish(json_t *root, char *buf, size_t len, size_t *outlen)
{
    int rc;

    if (!root)
        return PF_ENOMEM;
    rc = pf_json_dump(root, buf, len, outlen);
    json_decref(root);
    return rc;
}

static int diag__id(json_t *o, const char *key, char *out, struct pf_error *err)
{
    int rc = pf_json_str(o, key, true, 1, PF_DIAG_ID_MAX, out, err);

    if (rc == 0 && !pf_diag_id_valid(out))
        rc = pf_error_set(err, PF_ERANGE, "%s: not an id ([A-Za-z0-9._:-])", key);
    return rc;
}

static int diag__cmd(json_t *o, char *out, struct pf_error *err)
{
    int rc = pf_json_str(o, "cmd", true, 1, PF_DIAG_CMD_MAX, out, err);

    if (rc == 0 && !diag__word_valid(out))
        rc = pf_error_set(err, PF_ERANGE, "cmd: not a command word ([a-z0-9_])");
    return rc;
}

/* ---- request ------------------------------------------------------------------ */

int pf_diag_req_encode(const struct pf_diag_req *m, char *buf, size_t len, size_t *outlen)
{
    json_t *args = json_object(), *root;

    if (!args)
        return PF_ENOMEM;
    if (!pf_diag_id_valid(m->id) || !diag__word_valid(m->cmd) || strlen(m->cmd) > PF_DIAG_CMD_MAX) {
        json_decref(args);
        return PF_EINVAL;
    }
    if (m->lines > 0)
        json_object_set_new(args, "lines", json_integer(m->lines));
    if (m->level[0])
        json_object_set_new(args, "level", json_string(m->level));
    if (m->minutes > 0)
        json_object_set_new(args, "minutes", json_integer(m->minutes));
    if (m->max_kb > 0)
        json_object_set_new(args, "max_kb", json_integer(m->max_kb));
    root = json_pack("{s:i, s:s, s:s, s:I, s:I, s:o}", "v", PF_SCHEMA_VERSION, "id", m->id, "cmd",
                     m->cmd, "ts", (json_int_t)m->ts_ms, "deadline", (json_int_t)m->deadline_ms,
                     "args", args);
    return diag__finish(root, buf, len, outlen);
}

int pf_diag_req_decode(const char *buf, size_t len, struct pf_diag_req *m, struct pf_error *err)
{
    json_t *root = NULL, *args = NULL;
    int64_t v;
    int rc;

    memset(m, 0, sizeof(*m));
    rc = pf_json_open_message(buf, len, PF_DIAG_REQ_MAX, PF_SCHEMA_VERSION, &root, err);
    if (rc)
        goto out_prefix;
    if ((rc = diag__id(root, "id", m->id, err)) || (rc = diag__cmd(root, m->cmd, err)) ||
        (rc = pf_json_int(root, "ts", true, 0, DIAG_TS_MAX, &m->ts_ms, err)) ||
        (rc = pf_json_int(root, "deadline", true, 0, DIAG_TS_MAX, &m->deadline_ms, err)) ||
        (rc = pf_json_obj(root, "args", false, &args, err)))
        goto out_root;
    if (args) {
        int lv = 0;
        int64_t kb = 0;

        if ((rc = pf_json_int32(args, "lines", false, 1, PF_DIAG_LINES_MAX, &m->lines, err)) ||
            (rc = pf_json_int32(args, "minutes", false, 1, PF_DIAG_MINUTES_MAX, &m->minutes,
                                err)) ||
            (rc = pf_json_int(args, "max_kb", false, 1, PF_DIAG_ARCHIVE_MAX / 1024, &kb, err))) {
            pf_error_prefix(err, "args");
            goto out_root;
        }
        m->max_kb = (uint32_t)kb;
        if (json_object_get(args, "level")) {
            rc = pf_json_enum(args, "level", true, diag__levels, &lv, err);
            if (rc) {
                pf_error_prefix(err, "args");
                goto out_root;
            }
            memcpy(m->level, diag__levels[lv], strlen(diag__levels[lv]) + 1);
        }
    }
    if (pf_diag_cmd_lookup(m->cmd) == PF_DIAG_LOGLEVEL && !m->level[0])
        rc = pf_error_set(err, PF_ESCHEMA, "args.level: required for loglevel");
    v = m->deadline_ms;
    if (rc == 0 && v < m->ts_ms)
        rc = pf_error_set(err, PF_ERANGE, "deadline: before ts");

out_root:
    json_decref(root);
out_prefix:
    if (rc)
        pf_error_prefix(err, "diag request");
    return rc;
}

/* ---- response ------------------------------------------------------------------ */

int pf_diag_resp_encode(const struct pf_diag_resp *m, char *buf, size_t len, size_t *outlen)
{
    json_t *root, *result = NULL;

    if (!pf_diag_id_valid(m->id) || !diag__word_valid(m->cmd) ||
        (unsigned)m->status > PF_DIAG_FAILED)
        return PF_EINVAL;
    if (m->result) {
        result = json_loads(m->result, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(result)) {
            json_decref(result);
            return PF_EINVAL;
        }
    }
    root = json_pack("{s:i, s:s, s:s, s:s, s:I}", "v", PF_SCHEMA_VERSION, "id", m->id, "cmd",
                     m->cmd, "status", pf_diag_status_names[m->status], "ts", (json_int_t)m->ts_ms);
    if (!root) {
        json_decref(result);
        return PF_ENOMEM;
    }
    if (m->code[0])
        json_object_set_new(root, "code", json_string(m->code));
    if (m->message[0])
        json_object_set_new(root, "message", json_string(m->message));
    if (result)
        json_object_set_new(root, "result", result);
    return diag__finish(root, buf, len, outlen);
}

int pf_diag_resp_decode(const char *buf, size_t len, struct pf_diag_resp *m, struct pf_error *err)
{
    json_t *root = NULL, *result = NULL;
    int st = 0, rc;

    memset(m, 0, sizeof(*m));
    rc = pf_json_open_message(buf, len, PF_DIAG_RESP_MAX, PF_SCHEMA_VERSION, &root, err);
    if (rc)
        goto out_prefix;
    if ((rc = diag__id(root, "id", m->id, err)) || (rc = diag__cmd(root, m->cmd, err)) ||
        (rc = pf_json_enum(root, "status", true, pf_diag_status_names, &st, err)) ||
        (rc = pf_json_int(root, "ts", true, 0, DIAG_TS_MAX, &m->ts_ms, err)) ||
        (rc = pf_json_printable(root, "code", st != PF_DIAG_OK, 1, PF_DIAG_CODE_MAX, m->code,
                                err)) ||
        (rc = pf_json_str(root, "message", false, 0, PF_DIAG_TEXT_MAX, m->message, err)) ||
        (rc = pf_json_obj(root, "result", false, &result, err)))
        goto out_root;
    m->status = (enum pf_diag_status)st;
    if (result) {
        m->result = json_dumps(result, JSON_COMPACT);
        if (!m->result)
            rc = pf_error_set(err, PF_ENOMEM, "result: out of memory");
    }

out_root:
    json_decref(root);
out_prefix:
    if (rc) {
        pf_diag_resp_release(m);
        pf_error_prefix(err, "diag response");
    }
    return rc;
}

void pf_diag_resp_release(struct pf_diag_resp *m)
{
    free(m->result);
    m->result = NULL;
}

/* ---- chunk request ------------------------------------------------------------- */

int pf_diag_chunkreq_encode(const struct pf_diag_chunkreq *m, char *buf, size_t len, size_t *outlen)
{
    if (!pf_diag_id_valid(m->id) || m->length == 0 || m->length > PF_DIAG_CHUNK_MAX ||
        m->offset > PF_DIAG_ARCHIVE_MAX)
        return PF_EINVAL;
    return diag__finish(json_pack("{s:i, s:s, s:I, s:I}", "v", PF_SCHEMA_VERSION, "id", m->id,
                                  "offset", (json_int_t)m->offset, "length", (json_int_t)m->length),
                        buf, len, outlen);
}

int pf_diag_chunkreq_decode(const char *buf, size_t len, struct pf_diag_chunkreq *m,
                            struct pf_error *err)
{
    json_t *root = NULL;
    int64_t off = 0, n = 0;
    int rc;

    memset(m, 0, sizeof(*m));
    rc = pf_json_open_message(buf, len, PF_DIAG_REQ_MAX, PF_SCHEMA_VERSION, &root, err);
    if (rc == 0 && !(rc = diag__id(root, "id", m->id, err)) &&
        !(rc = pf_json_int(root, "offset", true, 0, PF_DIAG_ARCHIVE_MAX, &off, err)) &&
        !(rc = pf_json_int(root, "length", true, 1, PF_DIAG_CHUNK_MAX, &n, err))) {
        m->offset = (uint64_t)off;
        m->length = (uint32_t)n;
    }
    json_decref(root);
    if (rc)
        pf_error_prefix(err, "diag chunk request");
    return rc;
}

/* ---- chunk frame ------------------------------------------------------------------ */

int pf_diag_chunk_hdr_encode(const struct pf_diag_chunk_hdr *h, uint8_t out[PF_DIAG_CHUNK_HDR_LEN])
{
    size_t n = strlen(h->id);

    if (!pf_diag_id_valid(h->id) || h->length > PF_DIAG_CHUNK_MAX ||
        (h->flags & ~(PF_DIAG_CHUNK_LAST | PF_DIAG_CHUNK_GONE)))
        return PF_EINVAL;
    memset(out, 0, PF_DIAG_CHUNK_HDR_LEN);
    memcpy(out, PF_DIAG_CHUNK_MAGIC, 4);
    out[4] = PF_DIAG_CHUNK_VERSION;
    out[5] = h->flags;
    pf_store_be16(out + 6, PF_DIAG_CHUNK_HDR_LEN);
    pf_store_be64(out + 8, h->offset);
    pf_store_be64(out + 16, h->size);
    pf_store_be32(out + 24, h->length);
    memcpy(out + 28, h->id, n);
    return 0;
}

int pf_diag_chunk_decode(const void *buf, size_t len, struct pf_diag_chunk_hdr *h,
                         const uint8_t **data, struct pf_error *err)
{
    const uint8_t *p = buf;

    memset(h, 0, sizeof(*h));
    if (len < PF_DIAG_CHUNK_HDR_LEN)
        return pf_error_set(err, PF_EPARSE, "diag chunk: %zu bytes, shorter than the header", len);
    if (memcmp(p, PF_DIAG_CHUNK_MAGIC, 4) != 0)
        return pf_error_set(err, PF_EPARSE, "diag chunk: bad magic");
    if (p[4] != PF_DIAG_CHUNK_VERSION)
        return pf_error_set(err, PF_EVERSION, "diag chunk: frame version %u not supported", p[4]);
    if (p[5] & ~(PF_DIAG_CHUNK_LAST | PF_DIAG_CHUNK_GONE))
        return pf_error_set(err, PF_EPARSE, "diag chunk: unknown flags 0x%02x", p[5]);
    if (pf_load_be16(p + 6) != PF_DIAG_CHUNK_HDR_LEN)
        return pf_error_set(err, PF_EPARSE, "diag chunk: header length %u, want %d",
                            (unsigned)pf_load_be16(p + 6), PF_DIAG_CHUNK_HDR_LEN);
    h->flags = p[5];
    h->offset = pf_load_be64(p + 8);
    h->size = pf_load_be64(p + 16);
    h->length = pf_load_be32(p + 24);
    memcpy(h->id, p + 28, PF_DIAG_CHUNK_IDLEN);
    h->id[PF_DIAG_CHUNK_IDLEN] = '\0';
    if (!pf_diag_id_valid(h->id))
        return pf_error_set(err, PF_ERANGE, "diag chunk: bad id");
    for (size_t i = strlen(h->id); i < PF_DIAG_CHUNK_IDLEN; i++) {
        if (p[28 + i])
            return pf_error_set(err, PF_EPARSE, "diag chunk: id not NUL padded");
    }
    if (h->length > PF_DIAG_CHUNK_MAX)
        return pf_error_set(err, PF_ERANGE, "diag chunk: length %u out of range 0..%u", h->length,
                            PF_DIAG_CHUNK_MAX);
    if (h->length != len - PF_DIAG_CHUNK_HDR_LEN)
        return pf_error_set(err, PF_ESIZE, "diag chunk: header says %u data bytes, frame has %zu",
                            h->length, len - PF_DIAG_CHUNK_HDR_LEN);
    if (h->size > PF_DIAG_ARCHIVE_MAX || h->offset + h->length > h->size)
        return pf_error_set(err, PF_ERANGE, "diag chunk: offset or size out of range");
    if ((h->flags & PF_DIAG_CHUNK_GONE) && h->length)
        return pf_error_set(err, PF_EPARSE, "diag chunk: data in a 'gone' frame");
    *data = p + PF_DIAG_CHUNK_HDR_LEN;
    return 0;
}

/* ---- scrubbing ------------------------------------------------------------------------ */

/* Luhn check over the digits of s[from..to]: card numbers pass it. */
static bool diag__luhn(const char *s, size_t from, size_t to)
{
    int sum = 0, pos = 0;

    for (size_t k = to + 1; k-- > from;) {
        int d;

        if (!isdigit((unsigned char)s[k]))
            continue;
        d = s[k] - '0';
        if (pos++ % 2 == 1) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

int pf_diag_scrub_pan(char *s)
{
    int masked = 0;
    size_t n = strlen(s);

    for (size_t i = 0; i < n;) {
        size_t j = i, digits = 0, last = i;

        if (!isdigit((unsigned char)s[i]) || (i > 0 && isalnum((unsigned char)s[i - 1]))) {
            i++;
            continue;
        }
        /* Extend over digits with single separators between them. */
        while (j < n) {
            if (isdigit((unsigned char)s[j])) {
                digits++;
                last = j;
                j++;
            } else if ((s[j] == ' ' || s[j] == '-') && j + 1 < n &&
                       isdigit((unsigned char)s[j + 1]) && digits > 0) {
                j++;
            } else {
                break;
            }
        }
        if (digits >= 13 && digits <= 19 &&
            !(last + 1 < n && isalnum((unsigned char)s[last + 1])) && diag__luhn(s, i, last)) {
            size_t keep = 0;

            for (size_t k = last + 1; k-- > i;) {
                if (!isdigit((unsigned char)s[k]))
                    continue;
                if (keep < 4)
                    keep++;
                else
                    s[k] = '*';
            }
            masked++;
        }
        i = last + 1 > i ? last + 1 : i + 1;
    }
    return masked;
}
