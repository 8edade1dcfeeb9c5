/*
 * updates.c - uploads, offers, chunk requests and outcome events (updates.h).
 */
#include "updates/updates.h"

#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf/target.h"
#include "pf/topic.h"
#include "store/store_rollouts.h"

static int updates__publish(void *ctx, const char *topic, const void *buf, size_t len, int qos,
                            int *mid)
{
    struct pfs_updates *u = ctx;

    return pfs_publish(u->pub, topic, buf, len, qos, NULL, mid);
}

/* The chunk server's question: is bundle the one currently offered to serial? */
static int updates__chunk_allow(void *ctx, const char *serial, const uint8_t bundle[PF_B2_LEN],
                                char offer[PF_UPDATE_ID_MAX + 1], uint64_t *budget)
{
    struct pfs_updates *u = ctx;
    struct pfs_offer_rec o;
    uint8_t id[PF_B2_LEN];
    uint64_t size = 0;
    int rc = pfs_store_offer_current(u->store, serial, pf_clock_wall_ms(u->clock), &o, &size);

    if (rc == PF_ENOENT)
        return PF_ENOT_OFFERED;
    if (rc) {
        u->stats.store_errors++;
        return rc;
    }
    if (pf_b2_from_hex(o.bundle, id) != 0 || memcmp(id, bundle, PF_B2_LEN) != 0)
        return PF_ENOT_OFFERED;
    snprintf(offer, PF_UPDATE_ID_MAX + 1, "%s", o.id);
    /* Room for resumes and lost chunks on a flaky link, not for a loop. */
    *budget = size * (uint64_t)u->cfg->update_chunk_budget + 8 * (uint64_t)u->chunks.chunk_max;
    return 0;
}

int pfs_updates_init(struct pfs_updates *u, const struct pfs_config *cfg, struct pfs_store *store,
                     const struct pfs_publisher *pub, const struct pfs_log *log,
                     const struct pf_clock *clock, struct pf_error *err)
{
    char dir[PATH_MAX];
    int rc;

    memset(u, 0, sizeof(*u));
    u->cfg = cfg;
    u->store = store;
    u->pub = pub;
    u->log = log;
    u->clock = clock;
    if (cfg->artifacts_dir[0]) {
        snprintf(dir, sizeof(dir), "%s", cfg->artifacts_dir);
    } else {
        const char *slash = strrchr(cfg->store_path, '/');
        int n = slash ? (int)(slash - cfg->store_path) : 1;

        if (snprintf(dir, sizeof(dir), "%.*s/artifacts", n, slash ? cfg->store_path : ".") >=
            (int)sizeof(dir))
            return pf_error_set(err, PF_EINVAL, "artifacts.dir: path too long");
    }
    rc = pfs_artifacts_init(&u->art, dir, cfg->update_trust_root, cfg->update_keyring, err);
    if (rc) {
        pfs_artifacts_release(&u->art);
        return rc;
    }
    u->art_open = true;
    rc = pfs_chunks_init(&u->chunks, &u->art, clock, (uint32_t)cfg->update_chunk_max,
                         cfg->update_window, updates__publish, u, err);
    if (rc) {
        pfs_updates_release(u);
        return rc;
    }
    u->chunks_open = true;
    pfs_chunks_set_allow(&u->chunks, updates__chunk_allow, u);
    if (!u->art.have_trust)
        pfs_log_warn(log, "update.trust_root not set: bundle uploads will be refused");
    return 0;
}

void pfs_updates_release(struct pfs_updates *u)
{
    if (u->chunks_open)
        pfs_chunks_release(&u->chunks);
    if (u->art_open)
        pfs_artifacts_release(&u->art);
    free(u->offer_cache);
    u->offer_cache = NULL;
    u->chunks_open = u->art_open = false;
}

void pfs_updates_published(void *ctx, int mid)
{
    struct pfs_updates *u = ctx;

    if (u->chunks_open)
        pfs_chunks_published(&u->chunks, mid);
}

static int updates__send(struct pfs_updates *u, const char *serial, const char *leaf,
                         const void *buf, size_t len, int qos)
{
    char topic[PF_TOPIC_MAX];
    int mid = 0, rc;

    rc = pf_topic_build(topic, sizeof(topic), PF_DIR_CMD, serial, leaf);
    if (rc)
        return rc;
    rc = updates__publish(u, topic, buf, len, qos, &mid);
    if (rc == 0)
        pfs_chunks_forget(&u->chunks, mid);
    return rc;
}

static void updates__ack(struct pfs_updates *u, const char *serial, const char *id)
{
    struct pf_ack ack = {0};
    char buf[256];
    size_t blen;

    snprintf(ack.id, sizeof(ack.id), "%s", id);
    if (pf_ack_encode(&ack, buf, sizeof(buf), &blen) != 0 ||
        updates__send(u, serial, PF_CMD_ACK, buf, blen, 1) != 0)
        pfs_log_warn(u->log, "updates: %s: ack of %s not sent (the terminal will retransmit)",
                     serial, id);
}

/* 0 if e's offer was made to serial; PF_ENOT_OFFERED (logged, acknowledged)
 * if not; PF_EIO if the store cannot tell (no ack: the terminal resends). */
static int updates__event_offered(struct pfs_updates *u, const char *serial,
                                  const struct pf_update_event *e)
{
    int rc = pfs_store_offer_check(u->store, serial, e->offer);

    if (rc == 0)
        return 0;
    if (rc != PF_ENOENT) {
        u->stats.store_errors++;
        pfs_log_error(u->log, "updates: %s: looking up offer %s failed: %s", serial, e->offer,
                      pf_strerror(rc));
        return PF_EIO;
    }
    u->stats.events_not_offered++;
    pfs_reject_log(&u->rejects, u->log, u->clock,
                   "%s: rejected NOT_OFFERED: event %s (%s %s) names offer %s, never made to it",
                   serial, e->id, pf_update_status_names[e->status], e->version, e->offer);
    updates__ack(u, serial, e->id);
    return PF_ENOT_OFFERED;
}

int pfs_updates_on_event(void *ctx, const char *serial, const void *payload, size_t len)
{
    struct pfs_updates *u = ctx;
    struct pf_error err = {0};
    struct pf_update_event e;
    bool recorded = false;
    int rc;

    rc = pf_update_event_decode(payload, len, &e, &err);
    if (rc) {
        /* Named field in the log, reason counted by the dispatch (rejected_total). */
        u->stats.events_bad++;
        pfs_reject_log(&u->rejects, u->log, u->clock, "%s: rejected %s: %s", serial, pf_errname(rc),
                       err.msg);
        return rc;
    }
    /* Only an offer made to this terminal has outcomes: anything else is
     * forged or misrouted, never stored, but acknowledged so it stops. */
    rc = updates__event_offered(u, serial, &e);
    if (rc)
        return rc;
    rc = pfs_store_update_event_put(u->store, serial, &e, pf_clock_wall_ms(u->clock), &recorded);
    if (rc) {
        /* No ack: the terminal sends it again and we try again. */
        u->stats.store_errors++;
        pfs_log_error(u->log, "updates: %s: recording event %s failed: %s", serial, e.id,
                      pf_strerror(rc));
        return 0;
    }
    if (recorded) {
        int pruned = 0;

        /* History is bounded per terminal, like health (store.update_keep). */
        if (pfs_store_update_prune(u->store, serial, u->cfg->store_update_keep,
                                   pf_clock_wall_ms(u->clock), &pruned) != 0)
            u->stats.store_errors++;
        u->stats.events[e.status]++;
        pfs_log_info(u->log, "updates: %s: %s %s %s%s%s%s%s", serial, e.offer,
                     pf_update_status_names[e.status], e.version, e.reason[0] ? " reason " : "",
                     e.reason, e.code[0] ? " code " : "", e.code);
    } else {
        u->stats.events_duplicate++;
    }
    updates__ack(u, serial, e.id);
    return 0;
}

int pfs_updates_on_chunkreq(void *ctx, const char *serial, const void *payload, size_t len)
{
    struct pfs_updates *u = ctx;
    uint64_t spent = u->chunks.stats.refused[PFS_CHUNKS_BUDGET];
    uint64_t bad = u->chunks.stats.bad;
    int rc = pfs_chunks_request(&u->chunks, serial, payload, len);

    if (u->chunks.stats.bad != bad) {
        /* Malformed: nothing to answer, but counted (rejected_total) and logged. */
        pfs_reject_log(&u->rejects, u->log, u->clock, "%s: rejected %s: %s", serial, pf_errname(rc),
                       u->chunks.bad_err.msg);
        return rc;
    }
    if (rc == PF_EIO)
        pfs_log_error(u->log, "updates: %s: reading a stored bundle failed", serial);
    if (rc == PF_ENOT_OFFERED) {
        pfs_reject_log(&u->rejects, u->log, u->clock,
                       "%s: rejected NOT_OFFERED: chunk request for a bundle not offered to it",
                       serial);
        return rc;
    }
    /* LIMIT is also busy, answered with a chunkerr; the spent budget is not answered. */
    if (rc == PF_ELIMIT && u->chunks.stats.refused[PFS_CHUNKS_BUDGET] != spent) {
        pfs_reject_log(&u->rejects, u->log, u->clock,
                       "%s: rejected LIMIT: chunk requests past the byte budget of its offer",
                       serial);
        return rc;
    }
    return 0;
}

int pfs_updates_resend(struct pfs_updates *u, const char *serial, const char *why)
{
    char *body = NULL;
    int rc = pfs_store_offer_pending(u->store, serial, pf_clock_wall_ms(u->clock), &body);

    if (rc == 0) {
        rc = updates__send(u, serial, PF_CMD_OFFER, body, strlen(body), 1);
        if (rc == 0) {
            u->stats.reoffers++;
            pfs_log_info(u->log, "updates: %s: offer sent again %s", serial, why);
        }
    } else if (rc != PF_ENOENT) {
        u->stats.store_errors++;
    }
    free(body);
    return rc;
}

/* What follows a verified (or refused) upload, on the loop thread. */
static int updates__upload_record(struct pfs_updates *u, int rc, int64_t now,
                                  const struct pfs_actor *actor, struct pfs_bundle_rec *rec,
                                  bool *created, struct pf_error *err)
{
    *created = false;
    if (rc) {
        u->stats.uploads_refused++;
        return rc;
    }
    rec->uploaded_ms = now;
    rc = pfs_store_bundle_put(u->store, rec, actor, now, created, err);
    if (rc)
        return rc;
    if (!*created) /* the stored record keeps the first upload's time */
        rc = pfs_store_bundle_get(u->store, rec->id, rec);
    if (*created)
        u->stats.uploads++;
    return rc;
}

int pfs_updates_upload(struct pfs_updates *u, const void *buf, size_t len,
                       const struct pfs_actor *actor, struct pfs_bundle_rec *rec, bool *created,
                       struct pf_error *err)
{
    int64_t now = pf_clock_wall_ms(u->clock);
    int rc = pfs_artifacts_put(&u->art, buf, len, now / 1000, rec, err);

    return updates__upload_record(u, rc, now, actor, rec, created, err);
}

/* One upload on the thread pool. The worker sees buf, the artifacts (whose
 * trust and directory do not change after init) and its own fields only. */
struct updates__job {
    uv_work_t work;
    struct pfs_updates *u;
    char *buf;
    size_t len;
    int64_t now_ms;
    char name[128], role[32]; /* the actor, copied: the request may end first */
    int rc;
    struct pf_error err;
    struct pfs_bundle_rec rec;
    pfs_updates_upload_cb done;
    void *ctx;
};

static void updates__upload_work(uv_work_t *w)
{
    struct updates__job *j = w->data;

    j->rc = pfs_artifacts_put(&j->u->art, j->buf, j->len, j->now_ms / 1000, &j->rec, &j->err);
    free(j->buf);
    j->buf = NULL;
}

static void updates__upload_after(uv_work_t *w, int status)
{
    struct updates__job *j = w->data;
    struct pfs_actor actor = {.name = j->name, .role = j->role};
    bool created = false;
    int rc = j->rc;

    j->u->stats.uploads_verifying--;
    if (status == UV_ECANCELED)
        rc = pf_error_set(&j->err, PF_ESTATE, "posfleetd is stopping");
    rc = updates__upload_record(j->u, rc, j->now_ms, &actor, &j->rec, &created, &j->err);
    j->done(j->ctx, rc, &j->rec, created, &j->err);
    free(j->buf);
    free(j);
}

int pfs_updates_upload_async(struct pfs_updates *u, char *buf, size_t len,
                             const struct pfs_actor *actor, pfs_updates_upload_cb done, void *ctx)
{
    struct updates__job *j = calloc(1, sizeof(*j));

    if (!j) {
        free(buf);
        return PF_ENOMEM;
    }
    j->work.data = j;
    j->u = u;
    j->buf = buf;
    j->len = len;
    j->now_ms = pf_clock_wall_ms(u->clock);
    snprintf(j->name, sizeof(j->name), "%s", actor && actor->name ? actor->name : "-");
    snprintf(j->role, sizeof(j->role), "%s", actor && actor->role ? actor->role : "-");
    j->done = done;
    j->ctx = ctx;
    u->stats.uploads_verifying++;
    if (!u->loop ||
        uv_queue_work(u->loop, &j->work, updates__upload_work, updates__upload_after) != 0) {
        updates__upload_work(&j->work);
        updates__upload_after(&j->work, 0);
    }
    return 0;
}

static int updates__offer(struct pfs_updates *u, const char *serial, const char *bundle,
                          int64_t deadline_ms, const struct pfs_actor *actor, int64_t rollout,
                          struct pfs_offer_rec *out, struct pf_error *err)
{
    struct pfs_bundle_rec b;
    struct pfs_device d;
    struct pf_offer *o = NULL;
    struct pf_target_list tm, th;
    char path[PATH_MAX], *msg = NULL;
    uint8_t rnd[4];
    size_t mlen;
    int64_t now = pf_clock_wall_ms(u->clock);
    int rc;

    memset(out, 0, sizeof(*out));
    rc = pfs_store_device_get(u->store, serial, &d, NULL);
    if (rc == PF_EUNKNOWN_SERIAL)
        return pf_error_set(err, rc, "serial %s is not registered", serial);
    if (rc)
        return pf_error_set(err, rc, "reading %s: %s", serial, pf_strerror(rc));
    if (d.status == PFS_DEV_REVOKED)
        return pf_error_set(err, PF_EREVOKED, "%s is revoked", serial);
    rc = pfs_store_bundle_get(u->store, bundle, &b);
    if (rc == PF_ENOENT)
        return pf_error_set(err, rc, "bundle %.64s is not stored", bundle);
    if (rc)
        return pf_error_set(err, rc, "reading bundle: %s", pf_strerror(rc));
    tm = pf_target_csv(b.models);
    th = pf_target_csv(b.hw_revs);
    rc = pf_target_match(&tm, &th, d.model, d.hw_rev);
    if (rc == PF_EMODEL)
        return pf_error_set(err, PF_EMODEL, "%s is a %s; the bundle is for %s", serial, d.model,
                            b.models[0] ? b.models : "no model");
    if (rc == PF_EHWREV)
        return pf_error_set(err, PF_EHWREV, "%s has hardware revision %s; the bundle is for %s",
                            serial, d.hw_rev, b.hw_revs[0] ? b.hw_revs : "no revision");
    o = calloc(1, sizeof(*o));
    msg = malloc(PF_UPDATE_MSG_MAX);
    if (!o || !msg) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    if (pfs_artifacts_path(&u->art, b.id, path, sizeof(path)) != 0) {
        rc = pf_error_set(err, PF_EINVAL, "artifacts.dir: path too long");
        goto out_free;
    }
    if (u->offer_cache && strcmp(u->offer_cache_id, b.id) == 0) {
        *o = *u->offer_cache; /* bundles are immutable: no need to read it again */
    } else {
        rc = pf_offer_from_bundle(path, o, err);
        if (rc) {
            pf_error_prefix(err, "stored bundle %s", b.id);
            goto out_free;
        }
        if (!u->offer_cache)
            u->offer_cache = malloc(sizeof(*u->offer_cache));
        if (u->offer_cache) {
            *u->offer_cache = *o;
            snprintf(u->offer_cache_id, sizeof(u->offer_cache_id), "%s", b.id);
        }
    }
    /* The bundle is what was verified at upload, under its content address; the
     * terminal checks every byte it receives against the signed manifest anyway. */
    if (pf_b2_from_hex(b.id, o->bundle) != 0) {
        rc = pf_error_set(err, PF_EIO, "stored bundle id %s is malformed", b.id);
        goto out_free;
    }
    randombytes_buf(rnd, sizeof(rnd));
    snprintf(o->id, sizeof(o->id), "o%" PRId64 "-%02x%02x%02x%02x", now, rnd[0], rnd[1], rnd[2],
             rnd[3]);
    o->deadline_ms = deadline_ms;
    o->max_chunk = u->chunks.chunk_max;
    rc = pf_offer_encode(o, msg, PF_UPDATE_MSG_MAX - 1, &mlen);
    if (rc) {
        pf_error_set(err, rc, "offer: cannot encode: %s", pf_strerror(rc));
        goto out_free;
    }
    if (!pfs_publisher_connected(u->pub)) {
        rc = pf_error_set(err, PF_ECONN, "posfleetd is not connected to the broker; try again");
        goto out_free;
    }
    snprintf(out->id, sizeof(out->id), "%s", o->id);
    snprintf(out->serial, sizeof(out->serial), "%s", serial);
    snprintf(out->bundle, sizeof(out->bundle), "%s", b.id);
    out->created_ms = now;
    out->deadline_ms = o->deadline_ms;
    /* Recorded first: the terminal's events for it may follow at once. */
    msg[mlen] = '\0';
    rc = rollout ? pfs_store_rollout_offer(u->store, rollout, out, &b, msg, err)
                 : pfs_store_offer_put(u->store, out, &b, msg, actor, err);
    if (rc)
        goto out_free;
    rc = updates__send(u, serial, PF_CMD_OFFER, msg, mlen, 1);
    if (rc) {
        pf_error_set(err, rc, "offer %s recorded but not published: broker connection lost", o->id);
        goto out_free;
    }
    u->stats.offers++;
    pfs_log_info(u->log, "updates: offered %s %s %s to %s as %s (%s)", pf_bundle_kind_names[b.kind],
                 b.version, b.id, serial, o->id, actor && actor->name ? actor->name : "-");
out_free:
    free(o);
    free(msg);
    return rc;
}

int pfs_updates_offer(struct pfs_updates *u, const char *serial, const char *bundle,
                      int deadline_min, const struct pfs_actor *actor, struct pfs_offer_rec *out,
                      struct pf_error *err)
{
    int64_t min = deadline_min > 0 ? deadline_min : u->cfg->update_deadline_min;

    return updates__offer(u, serial, bundle, pf_clock_wall_ms(u->clock) + min * 60000, actor, 0,
                          out, err);
}

int pfs_updates_offer_member(struct pfs_updates *u, int64_t rollout, const char *serial,
                             const char *bundle, int64_t deadline_ms, struct pfs_offer_rec *out,
                             struct pf_error *err)
{
    char name[32];
    struct pfs_actor actor = {.name = name, .role = "system"};

    snprintf(name, sizeof(name), "rollout/%" PRId64, rollout);
    return updates__offer(u, serial, bundle, deadline_ms, &actor, rollout, out, err);
}
