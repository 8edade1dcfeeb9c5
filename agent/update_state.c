/*
 * update_state.c - codec of the update engine's state file (see
 * pfa/update_state.h).
 */
#include "pfa/update_state.h"

#include <stdlib.h>
#include <string.h>

#include "pf/jsonv.h"

const char *const pfa_update_phase_names[] = {"idle",   "offered", "meta",     "download",
                                              "switch", "trial",   "fallback", NULL};

void pfa_update_state_init(struct pfa_update_state *s)
{
    memset(s, 0, sizeof(*s));
}

void pfa_update_state_release(struct pfa_update_state *s)
{
    for (size_t i = 0; i < s->nout; i++)
        free(s->outbox[i]);
    s->nout = 0;
}

static json_t *state__slot(const struct pfa_update_slotrec *r)
{
    char hex[PF_B2_HEX_LEN + 1];

    if (!r->known)
        return json_null();
    pf_b2_hex(r->digest, hex);
    return json_pack("{s:s, s:I, s:s}", "version", r->version, "size", (json_int_t)r->size,
                     "digest", hex);
}

int pfa_update_state_encode(const struct pfa_update_state *s, char **out, size_t *len)
{
    json_t *root, *outbox = json_array();
    char *offer = NULL;
    int rc = 0;

    for (size_t i = 0; outbox && i < s->nout; i++)
        json_array_append_new(outbox, json_string(s->outbox[i]));
    root = json_pack("{s:i, s:s, s:I, s:i, s:I, s:I, s:s, s:i, s:s, s:s, s:{s:o, s:o}, s:s, s:s,"
                     " s:I, s:I, s:o}",
                     "v", 1, "phase", pfa_update_phase_names[s->phase], "seq", (json_int_t)s->seq,
                     "entry", s->entry, "done", (json_int_t)s->done, "retry_at",
                     (json_int_t)s->retry_at, "reason", s->reason, "pct", s->pct, "target",
                     pf_slot_names[s->target], "code", s->code, "slots", "a",
                     state__slot(&s->slots[0]), "b", state__slot(&s->slots[1]), "fw_floor",
                     s->fw_floor, "last_offer", s->last_offer, "srtt_ms", (json_int_t)s->srtt_ms,
                     "rttvar_ms", (json_int_t)s->rttvar_ms, "outbox", outbox);
    if (!root)
        return PF_ENOMEM;
    if (s->phase != PFA_UPD_IDLE) {
        offer = malloc(PF_UPDATE_MSG_MAX);
        if (!offer || pf_offer_encode(&s->offer, offer, PF_UPDATE_MSG_MAX, len) != 0) {
            rc = PF_ENOMEM;
            goto out_free;
        }
        json_object_set_new(root, "offer", json_stringn(offer, *len));
    }
    *out = json_dumps(root, JSON_COMPACT);
    if (!*out)
        rc = PF_ENOMEM;
    else
        *len = strlen(*out);
out_free:
    free(offer);
    json_decref(root);
    return rc;
}

static int state__slot_decode(json_t *slots, const char *key, struct pfa_update_slotrec *r,
                              struct pf_error *err)
{
    json_t *o = json_object_get(slots, key);
    char hex[PF_B2_HEX_LEN + 1];
    int64_t size = 0;
    int rc;

    memset(r, 0, sizeof(*r));
    if (!o || json_is_null(o))
        return 0;
    if (!json_is_object(o))
        return pf_error_set(err, PF_ESCHEMA, "slots.%s: not an object", key);
    if ((rc = pf_json_str(o, "version", true, 1, PF_VERSION_MAX, r->version, err)) ||
        (rc = pf_json_int(o, "size", true, 0, INT64_MAX, &size, err)) ||
        (rc = pf_json_str(o, "digest", true, PF_B2_HEX_LEN, PF_B2_HEX_LEN, hex, err)))
        return pf_error_prefix(err, "slots.%s", key);
    if (pf_b2_from_hex(hex, r->digest) != 0)
        return pf_error_set(err, PF_EPARSE, "slots.%s.digest: not hex", key);
    r->size = (uint64_t)size;
    r->known = true;
    return 0;
}

int pfa_update_state_decode(const char *buf, size_t len, struct pfa_update_state *s,
                            struct pf_error *err)
{
    json_t *root, *slots, *outbox, *offer;
    int64_t seq = 0, entry = 0, done = 0, pct = 0;
    int phase = 0, target = 0, rc;

    pfa_update_state_init(s);
    rc = pf_json_parse_object(buf, len, PFA_STATE_MAX, &root, err);
    if (rc)
        return rc;
    if ((rc = pf_json_enum(root, "phase", true, pfa_update_phase_names, &phase, err)) ||
        (rc = pf_json_int(root, "seq", true, 0, INT64_MAX, &seq, err)) ||
        (rc = pf_json_int(root, "entry", true, 0, 4, &entry, err)) ||
        (rc = pf_json_int(root, "done", true, 0, INT64_MAX, &done, err)) ||
        (rc = pf_json_int(root, "retry_at", true, 0, INT64_MAX, &s->retry_at, err)) ||
        (rc = pf_json_str(root, "reason", true, 0, PF_UPDATE_CODE_MAX, s->reason, err)) ||
        (rc = pf_json_int(root, "pct", true, 0, 100, &pct, err)) ||
        (rc = pf_json_enum(root, "target", true, pf_slot_names, &target, err)) ||
        (rc = pf_json_str(root, "code", true, 0, PF_UPDATE_CODE_MAX, s->code, err)) ||
        (rc = pf_json_obj(root, "slots", true, &slots, err)) ||
        (rc = state__slot_decode(slots, "a", &s->slots[0], err)) ||
        (rc = state__slot_decode(slots, "b", &s->slots[1], err)) ||
        (rc = pf_json_str(root, "fw_floor", true, 0, PF_VERSION_MAX, s->fw_floor, err)) ||
        (rc = pf_json_str(root, "last_offer", true, 0, PF_UPDATE_ID_MAX, s->last_offer, err)) ||
        /* Optional: a state file written before the round trip was kept has neither. */
        (rc = pf_json_int(root, "srtt_ms", false, 0, PFA_RTT_MAX_MS, &s->srtt_ms, err)) ||
        (rc = pf_json_int(root, "rttvar_ms", false, 0, PFA_RTT_MAX_MS, &s->rttvar_ms, err)))
        goto out_free;
    s->phase = (enum pfa_update_phase)phase;
    s->seq = (uint64_t)seq;
    s->entry = (int)entry;
    s->done = (uint64_t)done;
    s->pct = (int)pct;
    s->target = (enum pf_slot)target;
    if (s->phase != PFA_UPD_IDLE) {
        offer = json_object_get(root, "offer");
        if (!json_is_string(offer)) {
            rc = pf_error_set(err, PF_ESCHEMA, "offer: missing");
            goto out_free;
        }
        rc = pf_offer_decode(json_string_value(offer), json_string_length(offer), &s->offer, err);
        if (rc)
            goto out_free;
    }
    outbox = json_object_get(root, "outbox");
    if (!json_is_array(outbox) || json_array_size(outbox) > PFA_OUTBOX_MAX) {
        rc = pf_error_set(err, PF_ESCHEMA, "outbox: not an array of at most %d", PFA_OUTBOX_MAX);
        goto out_free;
    }
    for (size_t i = 0; i < json_array_size(outbox); i++) {
        json_t *e = json_array_get(outbox, i);
        if (!json_is_string(e) || !(s->outbox[s->nout] = strdup(json_string_value(e)))) {
            rc = pf_error_set(err, PF_ESCHEMA, "outbox[%zu]: not a string", i);
            goto out_free;
        }
        s->nout++;
    }
out_free:
    json_decref(root);
    if (rc) {
        pfa_update_state_release(s);
        pf_error_prefix(err, "update state");
    }
    return rc;
}

void pfa_update_outbox_push(struct pfa_update_state *s, char *ev)
{
    if (s->nout == PFA_OUTBOX_MAX) {
        size_t drop = 0;
        /* Keep outcomes; progress reports go first. */
        for (size_t i = 0; i < s->nout; i++) {
            if (!strstr(s->outbox[i], "\"status\":\"success\"") &&
                !strstr(s->outbox[i], "\"status\":\"failed\"") &&
                !strstr(s->outbox[i], "\"status\":\"rolled_back\"") &&
                !strstr(s->outbox[i], "\"status\":\"refused\"")) {
                drop = i;
                break;
            }
        }
        free(s->outbox[drop]);
        memmove(&s->outbox[drop], &s->outbox[drop + 1], (s->nout - drop - 1) * sizeof(char *));
        memmove(&s->sent_ms[drop], &s->sent_ms[drop + 1], (s->nout - drop - 1) * sizeof(int64_t));
        memmove(&s->sends[drop], &s->sends[drop + 1], (s->nout - drop - 1) * sizeof(uint16_t));
        memmove(&s->first_ms[drop], &s->first_ms[drop + 1], (s->nout - drop - 1) * sizeof(int64_t));
        s->nout--;
    }
    s->sent_ms[s->nout] = 0;
    s->sends[s->nout] = 0;
    s->first_ms[s->nout] = 0;
    s->outbox[s->nout++] = ev;
}

int pfa_update_outbox_find(const struct pfa_update_state *s, const char *id)
{
    char needle[PF_UPDATE_ID_MAX + 16];

    snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
    for (size_t i = 0; i < s->nout; i++) {
        if (strstr(s->outbox[i], needle))
            return (int)i;
    }
    return -1;
}

bool pfa_update_outbox_remove(struct pfa_update_state *s, const char *id)
{
    int k = pfa_update_outbox_find(s, id);
    size_t i, n;

    if (k < 0)
        return false;
    i = (size_t)k;
    n = s->nout - i - 1;
    free(s->outbox[i]);
    memmove(&s->outbox[i], &s->outbox[i + 1], n * sizeof(char *));
    memmove(&s->sent_ms[i], &s->sent_ms[i + 1], n * sizeof(int64_t));
    memmove(&s->sends[i], &s->sends[i + 1], n * sizeof(uint16_t));
    memmove(&s->first_ms[i], &s->first_ms[i + 1], n * sizeof(int64_t));
    s->nout--;
    return true;
}
