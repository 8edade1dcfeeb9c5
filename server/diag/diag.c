/*
 * diag.c - diagnostic requests out, answers and archive chunks in, expiry
 * and resumable transfers on a timer.
 */
#include "diag/diag.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "pf/b2.h"
#include "pf/jsonv.h"
#include "pf/topic.h"
#include "store/store_diag.h"

#define DIAG_TICK_MS   250
#define DIAG_RESEND_MS 3000 /* a chunk request unanswered this long is sent again */
#define DIAG_XFER_GRACE_MS                                                                         \
    (10 * 60000) /* an archive transfer may run this long past the deadline */
#define DIAG_WINDOW_MS 60000

static int64_t diag__wall(const struct pfs_diag *d)
{
    return pf_clock_wall_ms(d->clock);
}

static int64_t diag__mono(const struct pfs_diag *d)
{
    return pf_clock_mono_ms(d->clock);
}

/* ---- rate limits ---------------------------------------------------------------- */

static struct pfs_diag_rate *diag__rate_slot(struct pfs_diag *d, const char *key, int64_t now)
{
    struct pfs_diag_rate *oldest = &d->rates[0];

    for (int i = 0; i < PFS_DIAG_RATE_KEYS; i++) {
        struct pfs_diag_rate *r = &d->rates[i];

        if (r->key[0] && strcmp(r->key, key) == 0)
            return r;
        if (r->last_ms < oldest->last_ms)
            oldest = r;
    }
    /* Reuse the least recently used key: its window is the oldest anyway. */
    memset(oldest, 0, sizeof(*oldest));
    snprintf(oldest->key, sizeof(oldest->key), "%s", key);
    oldest->last_ms = now; /* not the next one evicted while in use */
    return oldest;
}

/* Requests of key in the last minute. */
static int diag__rate_count(struct pfs_diag_rate *r, int64_t now)
{
    while (r->n > 0) {
        int tail = (r->head - r->n + PFS_DIAG_RATE_MAX) % PFS_DIAG_RATE_MAX;

        if (now - r->ts[tail] < DIAG_WINDOW_MS)
            break;
        r->n--;
    }
    return r->n;
}

static void diag__rate_add(struct pfs_diag_rate *r, int64_t now)
{
    r->ts[r->head] = now;
    r->head = (r->head + 1) % PFS_DIAG_RATE_MAX;
    if (r->n < PFS_DIAG_RATE_MAX)
        r->n++;
    r->last_ms = now;
}

/* ---- requests --------------------------------------------------------------------- */

static int diag__publish_request(struct pfs_diag *d, const struct pf_diag_req *q,
                                 const char *serial)
{
    char topic[PF_TOPIC_MAX], resp_topic[PF_TOPIC_MAX], buf[PF_DIAG_REQ_MAX];
    struct pfs_pub_props p = {0};
    int64_t left = q->deadline_ms - diag__wall(d);
    size_t len;
    int rc;

    if ((rc = pf_topic_build(topic, sizeof(topic), PF_DIR_CMD, serial, PF_CMD_DIAG)) ||
        (rc = pf_topic_build(resp_topic, sizeof(resp_topic), PF_DIR_DEV, serial, PF_DEV_DIAG)) ||
        (rc = pf_diag_req_encode(q, buf, sizeof(buf), &len)))
        return rc;
    p.response_topic = resp_topic;
    p.corr = q->id;
    p.corr_len = strlen(q->id);
    p.expiry_s = left <= 1000 ? 1 : (uint32_t)((left + 999) / 1000);
    return pfs_publish(d->pub, topic, buf, len, 1, &p, NULL);
}

static int diag__arg_int(json_t *args, const char *key, int min, int max, int *out,
                         struct pf_error *err)
{
    return pf_json_int32(args, key, false, min, max, out, err);
}

int pfs_diag_request(struct pfs_diag *d, const char *serial, const char *command, json_t *args,
                     int deadline_s, const struct pfs_actor *actor, char *id, int64_t *deadline_ms,
                     struct pf_error *err)
{
    struct pf_diag_req q;
    struct pfs_diag_rec rec;
    struct pfs_diag_rate *rt, *ru;
    enum pfs_dev_status status;
    uint8_t rnd[12];
    char hex[sizeof(rnd) * 2 + 1], *args_s = NULL;
    int64_t now = diag__wall(d), mono = diag__mono(d);
    int kb = 0, rc;

    memset(&q, 0, sizeof(q));
    if (strlen(command) == 0 || strlen(command) > PF_DIAG_CMD_MAX ||
        strspn(command, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(command))
        return pf_error_set(err, PF_EINVAL, "command: 1 to %d of a-z 0-9 _", PF_DIAG_CMD_MAX);
    memcpy(q.cmd, command, strlen(command) + 1);
    if (deadline_s < 0 || deadline_s > PFS_DIAG_DEADLINE_MAX_S)
        return pf_error_set(err, PF_ERANGE, "deadline_s: out of range 1..%d",
                            PFS_DIAG_DEADLINE_MAX_S);
    if (args && !json_is_object(args))
        return pf_error_set(err, PF_ESCHEMA, "args: not an object");
    if (args) {
        json_t *lv = json_object_get(args, "level");

        if ((rc = diag__arg_int(args, "lines", 1, PF_DIAG_LINES_MAX, &q.lines, err)) ||
            (rc = diag__arg_int(args, "minutes", 1, PF_DIAG_MINUTES_MAX, &q.minutes, err)) ||
            (rc = diag__arg_int(args, "max_kb", 1, PF_DIAG_ARCHIVE_MAX / 1024, &kb, err)))
            return pf_error_prefix(err, "args");
        q.max_kb = (uint32_t)kb;
        if (lv && (!json_is_string(lv) || json_string_length(lv) >= sizeof(q.level)))
            return pf_error_set(err, PF_ERANGE, "args.level: error, warn, info or debug");
        if (lv)
            memcpy(q.level, json_string_value(lv), json_string_length(lv) + 1);
        if (q.level[0] && strcmp(q.level, "error") && strcmp(q.level, "warn") &&
            strcmp(q.level, "info") && strcmp(q.level, "debug"))
            return pf_error_set(err, PF_ERANGE, "args.level: error, warn, info or debug");
    }
    if (strcmp(command, "loglevel") == 0 && !q.level[0])
        return pf_error_set(err, PF_ESCHEMA, "args.level: required for loglevel");

    rc = pfs_store_device_status(d->store, serial, &status);
    if (rc == PF_EUNKNOWN_SERIAL)
        return pf_error_set(err, rc, "unknown serial %s", serial);
    if (rc)
        return pf_error_set(err, rc, "store: %s", pf_strerror(rc));
    if (status == PFS_DEV_REVOKED)
        return pf_error_set(err, PF_EREVOKED, "%s is revoked: nothing is sent to it", serial);

    rt = diag__rate_slot(d, serial, mono);
    if (diag__rate_count(rt, mono) >= d->opts.rate_terminal) {
        d->n.rate_limited++;
        return pf_error_set(err, PF_ELIMIT,
                            "rate limit: terminal %s already has %d requests in the last minute",
                            serial, d->opts.rate_terminal);
    }
    {
        char ukey[72];

        snprintf(ukey, sizeof(ukey), "user:%s", actor && actor->name ? actor->name : "-");
        ru = diag__rate_slot(d, ukey, mono);
        if (diag__rate_count(ru, mono) >= d->opts.rate_user) {
            d->n.rate_limited++;
            return pf_error_set(err, PF_ELIMIT,
                                "rate limit: user %s already made %d requests in the last minute",
                                actor && actor->name ? actor->name : "-", d->opts.rate_user);
        }
    }
    if (!pfs_publisher_connected(d->pub))
        return pf_error_set(err, PF_ECONN, "posfleetd is not connected to the broker");

    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
    snprintf(q.id, sizeof(q.id), "d%s", hex);
    q.ts_ms = now;
    q.deadline_ms =
            now + (int64_t)(deadline_s > 0 ? deadline_s : PFS_DIAG_DEADLINE_DEFAULT_S) * 1000;

    memset(&rec, 0, sizeof(rec));
    memcpy(rec.id, q.id, sizeof(rec.id));
    snprintf(rec.serial, sizeof(rec.serial), "%s", serial);
    memcpy(rec.command, q.cmd, sizeof(rec.command));
    if (args && json_object_size(args))
        args_s = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
    rec.args = args_s;
    rec.created_ms = now;
    rec.deadline_ms = q.deadline_ms;
    rc = pfs_store_diag_create(d->store, &rec, actor, now, err);
    free(args_s);
    if (rc)
        return rc;
    diag__rate_add(diag__rate_slot(d, serial, mono), mono);
    {
        char ukey[72];

        snprintf(ukey, sizeof(ukey), "user:%s", actor && actor->name ? actor->name : "-");
        diag__rate_add(diag__rate_slot(d, ukey, mono), mono);
    }
    rc = diag__publish_request(d, &q, serial);
    if (rc) {
        /* Recorded and audited but never sent: it expires at its deadline like any other. */
        pfs_log_warn(d->log, "diag %s: %s: cannot publish: %s", q.id, serial, pf_strerror(rc));
    }
    d->n.requests++;
    pfs_log_info(d->log, "diag %s: %s %s by %s (deadline in %d s)", q.id, serial, q.cmd,
                 actor && actor->name ? actor->name : "-", (int)((q.deadline_ms - now) / 1000));
    memcpy(id, q.id, strlen(q.id) + 1);
    *deadline_ms = q.deadline_ms;
    return 0;
}

/* ---- archive transfers ---------------------------------------------------------------- */

static struct pfs_diag_xfer *diag__xfer_find(struct pfs_diag *d, const char *id)
{
    for (int i = 0; i < PFS_DIAG_TRANSFERS; i++) {
        if (d->xfer[i].active && strcmp(d->xfer[i].id, id) == 0)
            return &d->xfer[i];
    }
    return NULL;
}

static void diag__xfer_ask(struct pfs_diag *d, struct pfs_diag_xfer *x)
{
    struct pf_diag_chunkreq r = {0};
    char topic[PF_TOPIC_MAX], buf[256];
    int64_t left = x->size - x->received;
    size_t len;

    x->asked_ms = diag__mono(d);
    memcpy(r.id, x->id, sizeof(r.id));
    r.offset = (uint64_t)x->received;
    r.length = left > (int64_t)PF_DIAG_CHUNK_MAX ? PF_DIAG_CHUNK_MAX : (uint32_t)left;
    if (r.length == 0 ||
        pf_topic_build(topic, sizeof(topic), PF_DIR_CMD, x->serial, PF_CMD_DIAGCHUNK) ||
        pf_diag_chunkreq_encode(&r, buf, sizeof(buf), &len))
        return;
    if (pfs_publish(d->pub, topic, buf, len, 1, NULL, NULL) != 0)
        pfs_log_debug(d->log, "diag %s: chunk request not sent (no broker connection)", x->id);
}

static void diag__xfer_end(struct pfs_diag *d, struct pfs_diag_xfer *x, int done, const char *why)
{
    if (pfs_store_diag_archive_done(d->store, x->id, done, diag__wall(d)) != 0)
        pfs_log_error(d->log, "diag %s: cannot record the archive's end", x->id);
    if (done == 1) {
        d->n.archives++;
        pfs_log_info(d->log, "diag %s: archive of %lld bytes from %s complete", x->id,
                     (long long)x->size, x->serial);
    } else {
        pfs_log_warn(d->log, "diag %s: archive from %s abandoned: %s", x->id, x->serial, why);
    }
    x->active = false;
}

static int diag__xfer_start(struct pfs_diag *d, const char *id, const char *serial, int64_t size,
                            int64_t received, const char *digest, int64_t deadline_ms)
{
    struct pfs_diag_xfer *x = diag__xfer_find(d, id);

    for (int i = 0; !x && i < PFS_DIAG_TRANSFERS; i++) {
        if (!d->xfer[i].active)
            x = &d->xfer[i];
    }
    if (!x) {
        pfs_log_warn(d->log, "diag %s: too many archive transfers at once; later", id);
        return PF_ELIMIT;
    }
    memset(x, 0, sizeof(*x));
    x->active = true;
    snprintf(x->id, sizeof(x->id), "%s", id);
    snprintf(x->serial, sizeof(x->serial), "%s", serial);
    snprintf(x->digest, sizeof(x->digest), "%s", digest);
    x->size = size;
    x->received = received;
    x->give_up_ms = deadline_ms + DIAG_XFER_GRACE_MS;
    diag__xfer_ask(d, x);
    return 0;
}

static void diag__on_chunk(struct pfs_diag *d, const char *serial, const void *payload, size_t len)
{
    struct pf_diag_chunk_hdr h;
    struct pf_error err = {0};
    struct pfs_diag_xfer *x;
    const uint8_t *data;
    int64_t received = 0;
    int rc;

    if (pf_diag_chunk_decode(payload, len, &h, &data, &err) != 0) {
        d->n.bad++;
        pfs_log_warn(d->log, "diag: %s: %s", serial, err.msg);
        return;
    }
    x = diag__xfer_find(d, h.id);
    if (!x || strcmp(x->serial, serial) != 0) {
        pfs_log_debug(d->log, "diag: %s: chunk of %s not expected", serial, h.id);
        return;
    }
    if (h.flags & PF_DIAG_CHUNK_GONE) {
        diag__xfer_end(d, x, 2, "the terminal no longer has it");
        return;
    }
    if ((int64_t)h.size != x->size) {
        diag__xfer_end(d, x, 2, "size differs from the one announced");
        return;
    }
    if ((int64_t)h.offset != x->received || h.length == 0)
        return; /* a duplicate of a resent request: the next ask covers it */
    rc = pfs_store_diag_chunk_put(d->store, x->id, (int64_t)h.offset, data, h.length, diag__wall(d),
                                  &received);
    if (rc) {
        pfs_log_warn(d->log, "diag %s: chunk at %llu: %s", x->id, (unsigned long long)h.offset,
                     pf_strerror(rc));
        x->received = received;
        return;
    }
    d->n.chunks++;
    x->received = received;
    if (x->received < x->size) {
        diag__xfer_ask(d, x);
        return;
    }
    {
        void *all = NULL;
        size_t n = 0;
        uint8_t dg[PF_B2_LEN];
        char hex[PF_B2_HEX_LEN + 1];

        if (pfs_store_diag_archive_read(d->store, x->id, &all, &n) != 0 || (int64_t)n != x->size) {
            free(all);
            diag__xfer_end(d, x, 2, "cannot read back what was stored");
            return;
        }
        pf_b2_buf(all, n, dg);
        pf_b2_hex(dg, hex);
        free(all);
        diag__xfer_end(d, x, strcmp(hex, x->digest) == 0 ? 1 : 2, "digest mismatch");
    }
}

/* ---- answers ---------------------------------------------------------------------- */

static int diag__on_answer(struct pfs_diag *d, const char *serial, const void *payload, size_t len,
                           const void *corr, size_t corr_len)
{
    struct pf_diag_resp r;
    struct pf_error err = {0};
    int64_t size = -1;
    char digest[PF_DIAG_CODE_MAX + 32] = "";
    bool late = false;
    int rc;

    rc = pf_diag_resp_decode(payload, len, &r, &err);
    if (rc) {
        d->n.bad++;
        pfs_log_warn(d->log, "diag: %s: %s", serial, err.msg);
        return rc; /* counted by the dispatch */
    }
    /* Both must name the request: the correlation data is what the terminal's MQTT layer
     * echoed, the payload id what its diagnostics answered (docs/protocol.md). */
    if (!corr || corr_len != strlen(r.id) || memcmp(corr, r.id, corr_len) != 0) {
        d->n.bad++;
        pfs_log_warn(d->log, "diag: %s answered %s with %s correlation data; refused", serial, r.id,
                     corr ? "mismatching" : "no");
        pf_diag_resp_release(&r);
        return PF_EPERM;
    }
    if (r.status == PF_DIAG_OK && strcmp(r.cmd, "archive") == 0 && r.result) {
        json_t *o = json_loads(r.result, 0, NULL);
        json_t *sz = json_object_get(o, "size"), *dg = json_object_get(o, "digest");

        if (json_is_integer(sz) && json_integer_value(sz) > 0 &&
            json_integer_value(sz) <= (json_int_t)PF_DIAG_ARCHIVE_MAX && json_is_string(dg) &&
            json_string_length(dg) == PF_B2_HEX_LEN) {
            size = json_integer_value(sz);
            snprintf(digest, sizeof(digest), "%s", json_string_value(dg));
        }
        json_decref(o);
    }
    rc = pfs_store_diag_answer(d->store, serial, &r, size, digest, diag__wall(d), &late);
    if (rc == PF_ENOENT) {
        d->n.bad++;
        pfs_log_warn(d->log, "diag: %s answered %s, which is not a request to it", serial, r.id);
    } else if (rc == PF_EEXIST) {
        pfs_log_debug(d->log, "diag %s: %s answered again; ignored", r.id, serial);
    } else if (rc) {
        pfs_log_error(d->log, "diag %s: cannot store the answer: %s", r.id, pf_strerror(rc));
    } else {
        d->n.answers++;
        if (late)
            d->n.late++;
        pfs_log_info(d->log, "diag %s: %s answered %s%s%s%s", r.id, serial,
                     pf_diag_status_names[r.status], r.code[0] ? " " : "", r.code,
                     late ? " (late)" : "");
        if (size > 0)
            (void)diag__xfer_start(d, r.id, serial, size, 0, digest, diag__wall(d));
    }
    pf_diag_resp_release(&r);
    return 0;
}

int pfs_diag_answer(struct pfs_diag *d, const char *serial, const void *payload, size_t len,
                    const void *corr, size_t corr_len)
{
    return diag__on_answer(d, serial, payload, len, corr, corr_len);
}

int pfs_diag_on_chunk(void *ctx, const char *serial, const void *payload, size_t len)
{
    diag__on_chunk(ctx, serial, payload, len);
    return 0;
}

/* ---- timer ------------------------------------------------------------------------------ */

static int diag__expired_cb(void *ctx, const struct pfs_diag_rec *r)
{
    struct pfs_diag *d = ctx;

    pfs_log_info(d->log, "diag %s: %s %s expired without an answer", r->id, r->serial, r->command);
    return 0;
}

void pfs_diag_poll(struct pfs_diag *d)
{
    int64_t now = diag__wall(d), mono = diag__mono(d);
    int n = 0;

    if (pfs_store_diag_expire(d->store, now, diag__expired_cb, d, &n) != 0)
        pfs_log_error(d->log, "diag: cannot expire requests");
    d->n.expired += (uint64_t)n;
    for (int i = 0; i < PFS_DIAG_TRANSFERS; i++) {
        struct pfs_diag_xfer *x = &d->xfer[i];

        if (!x->active)
            continue;
        if (now > x->give_up_ms)
            diag__xfer_end(d, x, 2, "took too long");
        else if (mono - x->asked_ms >= DIAG_RESEND_MS)
            diag__xfer_ask(d, x); /* resume from what is stored */
    }
}

static void diag__on_timer(uv_timer_t *t)
{
    pfs_diag_poll(t->data);
}

static int diag__resume_cb(void *ctx, const struct pfs_diag_rec *r)
{
    struct pfs_diag *d = ctx;

    (void)diag__xfer_start(d, r->id, r->serial, r->archive_size, r->archive_received,
                           r->archive_digest, r->answered_ms);
    return 0;
}

int pfs_diag_init(struct pfs_diag *d, const struct pfs_diag_opts *opts, struct pfs_store *store,
                  const struct pfs_publisher *pub, uv_loop_t *loop, const struct pf_clock *clock,
                  const struct pfs_log *log, struct pf_error *err)
{
    memset(d, 0, sizeof(*d));
    d->store = store;
    d->pub = pub;
    d->clock = clock;
    d->log = log;
    if (opts)
        d->opts = *opts;
    if (d->opts.rate_terminal <= 0)
        d->opts.rate_terminal = PFS_DIAG_RATE_TERMINAL;
    if (d->opts.rate_user <= 0)
        d->opts.rate_user = PFS_DIAG_RATE_USER;
    if (d->opts.rate_terminal > PFS_DIAG_RATE_MAX)
        d->opts.rate_terminal = PFS_DIAG_RATE_MAX;
    if (d->opts.rate_user > PFS_DIAG_RATE_MAX)
        d->opts.rate_user = PFS_DIAG_RATE_MAX;
    if (sodium_init() < 0)
        return pf_error_set(err, PF_ECRYPTO, "diag: libsodium failed to initialise");
    d->rates = calloc(PFS_DIAG_RATE_KEYS, sizeof(*d->rates));
    if (!d->rates)
        return pf_error_set(err, PF_ENOMEM, "diag: out of memory");
    /* Transfers a restart interrupted resume from the offset stored. */
    if (pfs_store_diag_transfers(store, diag__resume_cb, d) != 0)
        pfs_log_warn(log, "diag: cannot list unfinished archive transfers");
    if (loop) {
        uv_timer_init(loop, &d->timer);
        d->timer.data = d;
        uv_timer_start(&d->timer, diag__on_timer, DIAG_TICK_MS, DIAG_TICK_MS);
        d->timer_open = true;
    }
    return 0;
}

void pfs_diag_release(struct pfs_diag *d)
{
    if (d->timer_open) {
        uv_close((uv_handle_t *)&d->timer, NULL);
        d->timer_open = false;
    }
    free(d->rates);
    d->rates = NULL;
}
