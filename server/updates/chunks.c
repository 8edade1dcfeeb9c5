/*
 * chunks.c - chunk requests answered from stored bundles (chunks.h).
 */
#include "updates/chunks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const pfs_chunks_refusal_names[PFS_CHUNKS_REFUSALS] = {"not_offered", "budget"};

static uint64_t chunks__hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int chunks__grow(struct pfs_chunks *c)
{
    size_t ncap = c->cap ? c->cap * 2 : 64;
    struct pfs_chunk_term *nt = calloc(ncap, sizeof(*nt));

    if (!nt)
        return PF_ENOMEM;
    for (size_t i = 0; i < c->cap; i++) {
        size_t j;

        if (!c->terms[i].serial[0])
            continue;
        j = chunks__hash(c->terms[i].serial) & (ncap - 1);
        while (nt[j].serial[0])
            j = (j + 1) & (ncap - 1);
        nt[j] = c->terms[i];
    }
    /* Indices change: in-flight entries of the old table are dropped. */
    memset(c->mid_term, 0, PFS_CHUNKS_MIDS * sizeof(*c->mid_term));
    for (size_t i = 0; i < ncap; i++)
        nt[i].inflight = 0;
    free(c->terms);
    c->terms = nt;
    c->cap = ncap;
    return 0;
}

static int chunks__term(struct pfs_chunks *c, const char *serial, size_t *out)
{
    size_t i;

    if ((c->nterms + 1) * 2 > c->cap && chunks__grow(c) != 0)
        return PF_ENOMEM;
    i = chunks__hash(serial) & (c->cap - 1);
    while (c->terms[i].serial[0] && strcmp(c->terms[i].serial, serial) != 0)
        i = (i + 1) & (c->cap - 1);
    if (!c->terms[i].serial[0]) {
        snprintf(c->terms[i].serial, sizeof(c->terms[i].serial), "%s", serial);
        c->nterms++;
    }
    *out = i;
    return 0;
}

int pfs_chunks_init(struct pfs_chunks *c, struct pfs_artifacts *art, const struct pf_clock *clock,
                    uint32_t chunk_max, int window, pfs_chunks_publish_fn publish,
                    void *publish_ctx, struct pf_error *err)
{
    memset(c, 0, sizeof(*c));
    if (chunk_max < PF_CHUNK_MIN || chunk_max > PF_CHUNK_MAX || window < 1)
        return pf_error_set(err, PF_ERANGE, "chunks: chunk size %u or window %d out of range",
                            chunk_max, window);
    c->art = art;
    c->clock = clock;
    c->chunk_max = chunk_max;
    c->window = window;
    c->publish = publish;
    c->publish_ctx = publish_ctx;
    c->mid_term = calloc(PFS_CHUNKS_MIDS, sizeof(*c->mid_term));
    c->buf = malloc(PF_CHUNK_HDR_LEN + (size_t)chunk_max);
    if (!c->mid_term || !c->buf) {
        pfs_chunks_release(c);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    return 0;
}

void pfs_chunks_set_allow(struct pfs_chunks *c, pfs_chunks_allow_fn allow, void *ctx)
{
    c->allow = allow;
    c->allow_ctx = ctx;
}

/* Whether t may have r's bytes: asks the allow function when its last answer
 * is for another bundle or older than PFS_CHUNKS_RECHECK_MS. */
static int chunks__allowed(struct pfs_chunks *c, struct pfs_chunk_term *t, const char *serial,
                           const struct pf_chunkreq *r, int64_t now)
{
    if (!c->allow)
        return 0;
    if (!t->checked || memcmp(t->bundle, r->bundle, PF_B2_LEN) != 0 ||
        now - t->checked_ms >= PFS_CHUNKS_RECHECK_MS) {
        char offer[PF_UPDATE_ID_MAX + 1] = "";
        uint64_t budget = 0;
        int rc = c->allow(c->allow_ctx, serial, r->bundle, offer, &budget);

        if (rc && rc != PF_ENOT_OFFERED)
            return rc;
        memcpy(t->bundle, r->bundle, PF_B2_LEN);
        t->checked = true;
        t->checked_ms = now;
        t->allowed = rc == 0;
        if (t->allowed && strcmp(t->offer, offer) != 0) { /* a new offer: a new budget */
            snprintf(t->offer, sizeof(t->offer), "%s", offer);
            t->sent = 0;
        }
        if (t->allowed)
            t->budget = budget;
    }
    if (!t->allowed) {
        c->stats.refused[PFS_CHUNKS_NOT_OFFERED]++;
        return PF_ENOT_OFFERED;
    }
    if (r->length > t->budget || t->sent > t->budget - r->length) {
        c->stats.refused[PFS_CHUNKS_BUDGET]++;
        return PF_ELIMIT;
    }
    return 0;
}

void pfs_chunks_release(struct pfs_chunks *c)
{
    free(c->terms);
    free(c->mid_term);
    free(c->buf);
    c->terms = NULL;
    c->mid_term = NULL;
    c->buf = NULL;
    c->nterms = c->cap = 0;
}

static int chunks__err(struct pfs_chunks *c, const char *serial, const struct pf_chunkreq *r,
                       enum pf_chunk_errcode code, const char *msg)
{
    static const int rcs[] = {PF_ENOENT, PF_ERANGE, PF_ETOOBIG, PF_ELIMIT};
    struct pf_chunkerr e = {0};
    char topic[PF_TOPIC_MAX], body[PF_UPDATE_MSG_MAX];
    size_t len;
    int mid = 0;

    memcpy(e.bundle, r->bundle, PF_B2_LEN);
    e.offset = r->offset;
    e.req = r->req;
    e.error = code;
    snprintf(e.message, sizeof(e.message), "%s", msg);
    if (pf_topic_build(topic, sizeof(topic), PF_DIR_CMD, serial, PF_CMD_CHUNKERR) != 0 ||
        pf_chunkerr_encode(&e, body, sizeof(body), &len) != 0)
        return PF_EINVAL;
    if (c->publish(c->publish_ctx, topic, body, len, 0, &mid) != 0)
        return PF_ECONN;
    pfs_chunks_forget(c, mid);
    c->stats.errors[code]++;
    return rcs[code];
}

int pfs_chunks_request(struct pfs_chunks *c, const char *serial, const void *payload, size_t len)
{
    struct pf_error err = {0};
    struct pf_chunkreq r;
    struct pf_chunk_hdr h;
    struct pfs_chunk_term *t;
    char topic[PF_TOPIC_MAX];
    int64_t now = pf_clock_mono_ms(c->clock);
    uint64_t size;
    size_t ti, got = 0;
    int fd, rc, mid = 0;

    rc = pf_chunkreq_decode(payload, len, &r, &err);
    if (rc) {
        c->stats.bad++;
        c->bad_err = err;
        return rc;
    }
    /* Before anything else: a terminal learns nothing of bundles not offered to it. */
    rc = chunks__term(c, serial, &ti);
    if (rc)
        return rc;
    t = &c->terms[ti];
    rc = chunks__allowed(c, t, serial, &r, now);
    if (rc)
        return rc;
    if (r.length > c->chunk_max)
        return chunks__err(c, serial, &r, PF_CHUNKERR_TOO_LARGE, "length above the chunk size");
    rc = pfs_artifacts_open(c->art, r.bundle, &fd, &size);
    if (rc == PF_ENOENT)
        return chunks__err(c, serial, &r, PF_CHUNKERR_UNKNOWN_BUNDLE, "bundle not stored");
    if (rc) {
        c->stats.io_errors++;
        return rc;
    }
    if (r.offset >= size || r.length > size - r.offset)
        return chunks__err(c, serial, &r, PF_CHUNKERR_OUT_OF_RANGE, "beyond the end of the bundle");
    if (t->inflight > 0 && now - t->active_ms > PFS_CHUNKS_STALE_MS)
        t->inflight = 0; /* their writes were never reported: the connection dropped them */
    if (t->inflight >= c->window)
        return chunks__err(c, serial, &r, PF_CHUNKERR_BUSY, "too many chunks in flight");
    while (got < r.length) {
        ssize_t n =
                pread(fd, c->buf + PF_CHUNK_HDR_LEN + got, r.length - got, (off_t)(r.offset + got));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            c->stats.io_errors++;
            return PF_EIO;
        }
        got += (size_t)n;
    }
    memcpy(h.bundle, r.bundle, PF_B2_LEN);
    h.offset = r.offset;
    h.length = r.length;
    h.req = r.req;
    pf_chunk_hdr_encode(&h, c->buf);
    if (pf_topic_build(topic, sizeof(topic), PF_DIR_CMD, serial, PF_CMD_CHUNK) != 0)
        return PF_EINVAL;
    if (c->publish(c->publish_ctx, topic, c->buf, PF_CHUNK_HDR_LEN + (size_t)r.length, 0, &mid) !=
        0)
        return PF_ECONN;
    if (mid > 0 && mid < PFS_CHUNKS_MIDS) {
        c->mid_term[mid] = (uint32_t)ti + 1;
        if (t->inflight == 0)
            t->active_ms = now;
        t->inflight++;
    }
    c->stats.chunks++;
    c->stats.bytes += r.length;
    t->sent += r.length;
    return 0;
}

void pfs_chunks_published(struct pfs_chunks *c, int mid)
{
    uint32_t ti;

    if (mid <= 0 || mid >= PFS_CHUNKS_MIDS || !c->mid_term)
        return;
    ti = c->mid_term[mid];
    c->mid_term[mid] = 0;
    if (ti == 0 || ti > c->cap)
        return;
    if (c->terms[ti - 1].inflight > 0)
        c->terms[ti - 1].inflight--;
    c->terms[ti - 1].active_ms = pf_clock_mono_ms(c->clock);
}

void pfs_chunks_forget(struct pfs_chunks *c, int mid)
{
    if (mid > 0 && mid < PFS_CHUNKS_MIDS && c->mid_term)
        c->mid_term[mid] = 0;
}
