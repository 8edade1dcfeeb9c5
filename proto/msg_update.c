/*
 * msg_update.c - codecs of the update protocol (offer, chunkreq, chunk
 * frames, chunkerr, outcome events) and the offer builder for bundle files.
 */
#include "pf/msg_update.h"

#include <string.h>

#include "pf/jsonv.h"
#include "pf/endian.h"

const char *const pf_chunkerr_names[] = {"unknown_bundle", "out_of_range", "too_large", "busy",
                                         NULL};
const char *const pf_update_status_names[] = {
        "accepted", "deferred", "downloading", "verifying", "installing", "rebooting",
        "success",  "failed",   "rolled_back", "refused",   NULL};

#define UPD_TS_MAX  4102444800000LL /* 2100-01-01 in ms */
#define UPD_U53_MAX 9007199254740992LL
#define UPD_U32_MAX 4294967295LL

bool pf_update_status_final(enum pf_update_status s)
{
    return s == PF_UPD_SUCCESS || s == PF_UPD_FAILED || s == PF_UPD_ROLLED_BACK ||
           s == PF_UPD_REFUSED;
}

bool pf_update_id_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > PF_UPDATE_ID_MAX)
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

/* ---- shared helpers --------------------------------------------------------- */

static int upd__finish(json_t *root, char *buf, size_t len, size_t *outlen)
{
    int rc;

    if (!root)
        return PF_ENOMEM;
    rc = pf_json_dump(root, buf, len, outlen);
    json_decref(root);
    return rc;
}

static int upd__open(const char *buf, size_t len, json_t **root, struct pf_error *err)
{
    int64_t v;
    int rc = pf_json_parse_message(buf, len, PF_UPDATE_MSG_MAX, root, err);

    if (rc)
        return rc;
    rc = pf_json_int(*root, "v", true, 1, 1000, &v, err);
    if (rc == 0 && v != PF_SCHEMA_VERSION)
        rc = pf_error_set(err, PF_EVERSION, "v: schema version %lld not supported (want %d)",
                          (long long)v, PF_SCHEMA_VERSION);
    if (rc) {
        json_decref(*root);
        *root = NULL;
    }
    return rc;
}

static int upd__digest(json_t *o, const char *key, uint8_t out[PF_B2_LEN], struct pf_error *err)
{
    char hex[PF_B2_HEX_LEN + 1];
    int rc = pf_json_str(o, key, true, PF_B2_HEX_LEN, PF_B2_HEX_LEN, hex, err);

    if (rc)
        return rc;
    if (pf_b2_from_hex(hex, out) != 0)
        return pf_error_set(err, PF_ERANGE, "%s: not 64 lowercase hex digits", key);
    return 0;
}

static int upd__id(json_t *o, const char *key, char *out, struct pf_error *err)
{
    int rc = pf_json_str(o, key, true, 1, PF_UPDATE_ID_MAX, out, err);

    if (rc == 0 && !pf_update_id_valid(out))
        rc = pf_error_set(err, PF_ERANGE, "%s: not an id ([A-Za-z0-9._:-])", key);
    return rc;
}

static int upd__u64(json_t *o, const char *key, bool req, int64_t min, int64_t max, uint64_t *out,
                    struct pf_error *err)
{
    int64_t x = (int64_t)*out;
    int rc = pf_json_int(o, key, req, min, max, &x, err);

    if (rc == 0)
        *out = (uint64_t)x;
    return rc;
}

static int upd__u32(json_t *o, const char *key, bool req, int64_t min, int64_t max, uint32_t *out,
                    struct pf_error *err)
{
    int64_t x = *out;
    int rc = pf_json_int(o, key, req, min, max, &x, err);

    if (rc == 0)
        *out = (uint32_t)x;
    return rc;
}

static int upd__printable(const char *key, const char *s, struct pf_error *err)
{
    for (; *s; s++) {
        if (*s < 0x20 || *s > 0x7e)
            return pf_error_set(err, PF_ERANGE, "%s: non-printable character", key);
    }
    return 0;
}

/* [a-z0-9_] words such as error names and deferral reasons. */
static int upd__code(json_t *o, const char *key, bool req, char *out, struct pf_error *err)
{
    int rc = pf_json_str(o, key, req, 1, PF_UPDATE_CODE_MAX, out, err);

    if (rc || !out[0])
        return rc;
    for (const char *s = out; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == ':' || *s == '.' || *s == '-'))
            return pf_error_set(err, PF_ERANGE, "%s: not a code word", key);
    }
    return 0;
}

static json_t *upd__hex(const uint8_t d[PF_B2_LEN])
{
    char hex[PF_B2_HEX_LEN + 1];

    pf_b2_hex(d, hex);
    return json_string(hex);
}

static bool upd__meta_name(const char *n)
{
    return !strcmp(n, PF_BUNDLE_MANIFEST) || !strcmp(n, PF_BUNDLE_MANIFEST_SIG) ||
           !strcmp(n, PF_BUNDLE_KEYRING) || !strcmp(n, PF_BUNDLE_KEYRING_SIG);
}

/* ---- offer -------------------------------------------------------------------- */

int pf_offer_encode(const struct pf_offer *m, char *buf, size_t len, size_t *outlen)
{
    json_t *root, *arr = json_array();

    for (size_t i = 0; arr && i < m->nentries; i++)
        json_array_append_new(arr, json_pack("{s:s, s:I, s:I}", "name", m->entries[i].name,
                                             "offset", (json_int_t)m->entries[i].offset, "size",
                                             (json_int_t)m->entries[i].size));
    root = json_pack(
            "{s:i, s:s, s:o, s:s, s:s, s:I, s:o, s:I, s:I, s:o}", "v", PF_SCHEMA_VERSION, "id",
            m->id, "bundle", upd__hex(m->bundle), "kind", pf_bundle_kind_names[m->kind], "version",
            m->version, "size", (json_int_t)m->size, "manifest", upd__hex(m->manifest), "deadline",
            (json_int_t)m->deadline_ms, "max_chunk", (json_int_t)m->max_chunk, "entries", arr);
    if (root && m->url[0])
        json_object_set_new(root, "url", json_string(m->url));
    return upd__finish(root, buf, len, outlen);
}

const struct pf_offer_entry *pf_offer_entry_find(const struct pf_offer *m, const char *name)
{
    for (size_t i = 0; i < m->nentries; i++) {
        if (strcmp(m->entries[i].name, name) == 0)
            return &m->entries[i];
    }
    return NULL;
}

static int upd__entries(json_t *root, struct pf_offer *m, struct pf_error *err)
{
    static const char *const meta[] = {PF_BUNDLE_MANIFEST, PF_BUNDLE_MANIFEST_SIG,
                                       PF_BUNDLE_KEYRING, PF_BUNDLE_KEYRING_SIG};
    json_t *arr = json_object_get(root, "entries");
    size_t n;

    if (!arr)
        return pf_error_set(err, PF_ESCHEMA, "entries: missing");
    if (!json_is_array(arr))
        return pf_error_set(err, PF_ESCHEMA, "entries: not an array");
    n = json_array_size(arr);
    if (n < 5 || n > PF_OFFER_MAX_ENTRIES)
        return pf_error_set(err, PF_ERANGE, "entries: %zu entries, want 5..%d", n,
                            PF_OFFER_MAX_ENTRIES);
    for (size_t i = 0; i < n; i++) {
        struct pf_offer_entry *e = &m->entries[i];
        json_t *o = json_array_get(arr, i);
        int rc;

        if (!json_is_object(o))
            return pf_error_set(err, PF_ESCHEMA, "entries[%zu]: not an object", i);
        if ((rc = pf_json_str(o, "name", true, 1, PF_MANIFEST_NAME_MAX, e->name, err)) ||
            (rc = upd__u64(o, "offset", true, 0, UPD_U53_MAX, &e->offset, err)) ||
            (rc = upd__u64(o, "size", true, 0, UPD_U53_MAX, &e->size, err)))
            return pf_error_prefix(err, "entries[%zu]", i);
        if (!upd__meta_name(e->name) && !pf_manifest_name_valid(e->name))
            return pf_error_set(err, PF_EUNSAFE_PATH, "entries[%zu]: name: not a bundle entry name",
                                i);
        if (e->offset > m->size || e->size > m->size - e->offset)
            return pf_error_set(err, PF_ERANGE, "entries[%zu] %s: range beyond the bundle size", i,
                                e->name);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(m->entries[j].name, e->name) == 0)
                return pf_error_set(err, PF_EEXTRA_ENTRY, "entries[%zu]: %s listed twice", i,
                                    e->name);
        }
        m->nentries = i + 1;
    }
    for (size_t k = 0; k < 4; k++) {
        if (!pf_offer_entry_find(m, meta[k]))
            return pf_error_set(err, PF_EMISSING_ENTRY, "entries: %s missing", meta[k]);
    }
    return 0;
}

int pf_offer_decode(const char *buf, size_t len, struct pf_offer *m, struct pf_error *err)
{
    json_t *root;
    int rc;

    memset(m, 0, sizeof(*m));
    rc = upd__open(buf, len, &root, err);
    if (rc)
        goto out_prefix;
    if ((rc = upd__id(root, "id", m->id, err)) ||
        (rc = upd__digest(root, "bundle", m->bundle, err)) ||
        (rc = pf_json_enum(root, "kind", true, pf_bundle_kind_names, &m->kind, err)) ||
        (rc = pf_json_str(root, "version", true, 1, PF_VERSION_MAX, m->version, err)))
        goto out_free;
    if (!pf_version_valid(m->version)) {
        rc = pf_error_set(err, PF_ERANGE, "version: not a version (N[.N[.N[.N]]])");
        goto out_free;
    }
    if ((rc = upd__u64(root, "size", true, 1, (int64_t)PF_UPDATE_SIZE_MAX, &m->size, err)) ||
        (rc = upd__digest(root, "manifest", m->manifest, err)) ||
        (rc = pf_json_int(root, "deadline", true, 0, UPD_TS_MAX, &m->deadline_ms, err)) ||
        (rc = upd__u32(root, "max_chunk", true, PF_CHUNK_MIN, PF_CHUNK_MAX, &m->max_chunk, err)) ||
        (rc = upd__entries(root, m, err)) ||
        (rc = pf_json_str(root, "url", false, 0, PF_OFFER_URL_MAX, m->url, err)))
        goto out_free;
    if (m->url[0] && (strncmp(m->url, "https://", 8) != 0 || upd__printable("url", m->url, err) ||
                      strchr(m->url, ' ')))
        rc = pf_error_set(err, PF_ERANGE, "url: not an https:// URL");
out_free:
    json_decref(root);
out_prefix:
    if (rc)
        pf_error_prefix(err, "offer");
    return rc;
}

/* ---- chunk request -------------------------------------------------------------- */

int pf_chunkreq_encode(const struct pf_chunkreq *m, char *buf, size_t len, size_t *outlen)
{
    return upd__finish(json_pack("{s:i, s:o, s:I, s:I, s:I}", "v", PF_SCHEMA_VERSION, "bundle",
                                 upd__hex(m->bundle), "offset", (json_int_t)m->offset, "length",
                                 (json_int_t)m->length, "req", (json_int_t)m->req),
                       buf, len, outlen);
}

int pf_chunkreq_decode(const char *buf, size_t len, struct pf_chunkreq *m, struct pf_error *err)
{
    json_t *root;
    int rc;

    memset(m, 0, sizeof(*m));
    rc = upd__open(buf, len, &root, err);
    if (rc == 0) {
        if (!(rc = upd__digest(root, "bundle", m->bundle, err)) &&
            !(rc = upd__u64(root, "offset", true, 0, UPD_U53_MAX, &m->offset, err)) &&
            !(rc = upd__u32(root, "length", true, 1, PF_CHUNK_MAX, &m->length, err)))
            rc = upd__u32(root, "req", true, 0, UPD_U32_MAX, &m->req, err);
        json_decref(root);
    }
    if (rc)
        pf_error_prefix(err, "chunkreq");
    return rc;
}

/* ---- chunk frame -------------------------------------------------------------------- */

void pf_chunk_hdr_encode(const struct pf_chunk_hdr *h, uint8_t out[PF_CHUNK_HDR_LEN])
{
    memcpy(out, PF_CHUNK_MAGIC, 4);
    out[4] = PF_CHUNK_VERSION;
    out[5] = 0;
    pf_store_be16(out + 6, PF_CHUNK_HDR_LEN);
    memcpy(out + 8, h->bundle, PF_B2_LEN);
    pf_store_be64(out + 40, h->offset);
    pf_store_be32(out + 48, h->length);
    pf_store_be32(out + 52, h->req);
}

int pf_chunk_decode(const void *buf, size_t len, struct pf_chunk_hdr *h, const uint8_t **data,
                    struct pf_error *err)
{
    const uint8_t *p = buf;

    memset(h, 0, sizeof(*h));
    if (len < PF_CHUNK_HDR_LEN)
        return pf_error_set(err, PF_EPARSE, "chunk: %zu bytes, shorter than the header", len);
    if (memcmp(p, PF_CHUNK_MAGIC, 4) != 0)
        return pf_error_set(err, PF_EPARSE, "chunk: bad magic");
    if (p[4] != PF_CHUNK_VERSION)
        return pf_error_set(err, PF_EVERSION, "chunk: frame version %u not supported", p[4]);
    if (p[5] != 0)
        return pf_error_set(err, PF_EPARSE, "chunk: unknown flags 0x%02x", p[5]);
    if (pf_load_be16(p + 6) != PF_CHUNK_HDR_LEN)
        return pf_error_set(err, PF_EPARSE, "chunk: header length %u, want %d",
                            (unsigned)pf_load_be16(p + 6), PF_CHUNK_HDR_LEN);
    memcpy(h->bundle, p + 8, PF_B2_LEN);
    h->offset = pf_load_be64(p + 40);
    h->length = pf_load_be32(p + 48);
    h->req = pf_load_be32(p + 52);
    if (h->length == 0 || h->length > PF_CHUNK_MAX)
        return pf_error_set(err, PF_ERANGE, "chunk: length %u out of range 1..%u", h->length,
                            PF_CHUNK_MAX);
    if (h->length != len - PF_CHUNK_HDR_LEN)
        return pf_error_set(err, PF_ESIZE, "chunk: header says %u data bytes, frame has %zu",
                            h->length, len - PF_CHUNK_HDR_LEN);
    if (h->offset > (uint64_t)UPD_U53_MAX)
        return pf_error_set(err, PF_ERANGE, "chunk: offset out of range");
    *data = p + PF_CHUNK_HDR_LEN;
    return 0;
}

/* ---- chunk error -------------------------------------------------------------------- */

int pf_chunkerr_encode(const struct pf_chunkerr *m, char *buf, size_t len, size_t *outlen)
{
    json_t *root = json_pack("{s:i, s:o, s:I, s:I, s:s}", "v", PF_SCHEMA_VERSION, "bundle",
                             upd__hex(m->bundle), "offset", (json_int_t)m->offset, "req",
                             (json_int_t)m->req, "error", pf_chunkerr_names[m->error]);

    if (root && m->message[0])
        json_object_set_new(root, "message", json_string(m->message));
    return upd__finish(root, buf, len, outlen);
}

int pf_chunkerr_decode(const char *buf, size_t len, struct pf_chunkerr *m, struct pf_error *err)
{
    json_t *root;
    int e = 0, rc;

    memset(m, 0, sizeof(*m));
    rc = upd__open(buf, len, &root, err);
    if (rc == 0) {
        if (!(rc = upd__digest(root, "bundle", m->bundle, err)) &&
            !(rc = upd__u64(root, "offset", true, 0, UPD_U53_MAX, &m->offset, err)) &&
            !(rc = upd__u32(root, "req", true, 0, UPD_U32_MAX, &m->req, err)) &&
            !(rc = pf_json_enum(root, "error", true, pf_chunkerr_names, &e, err)) &&
            !(rc = pf_json_str(root, "message", false, 0, PF_UPDATE_TEXT_MAX, m->message, err)))
            rc = upd__printable("message", m->message, err);
        m->error = (enum pf_chunk_errcode)e;
        json_decref(root);
    }
    if (rc)
        pf_error_prefix(err, "chunkerr");
    return rc;
}

/* ---- outcome event -------------------------------------------------------------------- */

int pf_update_event_encode(const struct pf_update_event *m, char *buf, size_t len, size_t *outlen)
{
    json_t *root = json_pack("{s:i, s:s, s:s, s:o, s:s, s:s, s:s, s:I}", "v", PF_SCHEMA_VERSION,
                             "id", m->id, "offer", m->offer, "bundle", upd__hex(m->bundle), "kind",
                             pf_bundle_kind_names[m->kind], "version", m->version, "status",
                             pf_update_status_names[m->status], "ts", (json_int_t)m->ts_ms);

    if (!root)
        return PF_ENOMEM;
    if (m->status == PF_UPD_DEFERRED)
        json_object_set_new(root, "reason", json_string(m->reason));
    if (m->status == PF_UPD_DOWNLOADING)
        json_object_set_new(root, "percent", json_integer(m->percent));
    if (m->status == PF_UPD_FAILED || m->status == PF_UPD_ROLLED_BACK ||
        m->status == PF_UPD_REFUSED)
        json_object_set_new(root, "code", json_string(m->code));
    if (m->message[0])
        json_object_set_new(root, "message", json_string(m->message));
    return upd__finish(root, buf, len, outlen);
}

/*
 * reason, percent and code each belong to some statuses (docs/protocol.md); an event that
 * carries one with another status is refused, naming the field, rather than stored with a
 * detail that contradicts it (a "success" with a failure code).
 */
static int upd__reserved(json_t *root, enum pf_update_status st, struct pf_error *err)
{
    static const struct {
        const char *key;
        const char *owners;
    } fields[] = {{"reason", "deferred"},
                  {"percent", "downloading"},
                  {"code", "failed, rolled_back or refused"}};
    bool allowed[] = {st == PF_UPD_DEFERRED, st == PF_UPD_DOWNLOADING,
                      st == PF_UPD_FAILED || st == PF_UPD_ROLLED_BACK || st == PF_UPD_REFUSED};

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        json_t *v = json_object_get(root, fields[i].key);

        /* null counts as absent, as for every field (docs/protocol.md). */
        if (!allowed[i] && v && !json_is_null(v))
            return pf_error_set(err, PF_ESCHEMA, "%s: not allowed with status %s (only %s)",
                                fields[i].key, pf_update_status_names[st], fields[i].owners);
    }
    return 0;
}

int pf_update_event_decode(const char *buf, size_t len, struct pf_update_event *m,
                           struct pf_error *err)
{
    json_t *root;
    int st = 0, rc;
    int64_t pct = 0;

    memset(m, 0, sizeof(*m));
    rc = upd__open(buf, len, &root, err);
    if (rc)
        goto out_prefix;
    if ((rc = upd__id(root, "id", m->id, err)) || (rc = upd__id(root, "offer", m->offer, err)) ||
        (rc = upd__digest(root, "bundle", m->bundle, err)) ||
        (rc = pf_json_enum(root, "kind", true, pf_bundle_kind_names, &m->kind, err)) ||
        (rc = pf_json_str(root, "version", true, 1, PF_VERSION_MAX, m->version, err)))
        goto out_free;
    if (!pf_version_valid(m->version)) {
        rc = pf_error_set(err, PF_ERANGE, "version: not a version (N[.N[.N[.N]]])");
        goto out_free;
    }
    if ((rc = pf_json_enum(root, "status", true, pf_update_status_names, &st, err)) ||
        (rc = pf_json_int(root, "ts", true, 0, UPD_TS_MAX, &m->ts_ms, err)))
        goto out_free;
    m->status = (enum pf_update_status)st;
    if ((rc = upd__reserved(root, m->status, err)))
        goto out_free;
    switch (m->status) {
    case PF_UPD_DEFERRED:
        rc = upd__code(root, "reason", true, m->reason, err);
        break;
    case PF_UPD_DOWNLOADING:
        rc = pf_json_int(root, "percent", true, 0, 100, &pct, err);
        m->percent = (int)pct;
        break;
    case PF_UPD_FAILED:
    case PF_UPD_ROLLED_BACK:
    case PF_UPD_REFUSED:
        rc = upd__code(root, "code", true, m->code, err);
        break;
    default:
        break;
    }
    if (rc == 0 &&
        !(rc = pf_json_str(root, "message", false, 0, PF_UPDATE_TEXT_MAX, m->message, err)))
        rc = upd__printable("message", m->message, err);
out_free:
    json_decref(root);
out_prefix:
    if (rc)
        pf_error_prefix(err, "event");
    return rc;
}
