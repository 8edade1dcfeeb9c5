/*
 * lifectl.c - activation, tamper locks and lock command retransmission.
 */
#include "lifecycle/lifectl.h"

#include <stdlib.h>
#include <string.h>

#include "pf/topic.h"
#include "notify/notify.h"
#include "store/store_lifecycle.h"

#define LIFECTL_RESEND_MIN_MS 1000

static int lifectl__pending_load(void *ctx, const struct pfs_lock_pending *p)
{
    struct pfs_lifectl *lc = ctx;
    struct pfs_lifectl_cmd *c;

    if (lc->ncmds == lc->capcmds) {
        size_t cap = lc->capcmds ? lc->capcmds * 2 : 16;
        void *v = realloc(lc->cmds, cap * sizeof(*lc->cmds));

        if (!v)
            return PF_ENOMEM;
        lc->cmds = v;
        lc->capcmds = cap;
    }
    c = &lc->cmds[lc->ncmds++];
    memset(c, 0, sizeof(*c));
    snprintf(c->serial, sizeof(c->serial), "%s", p->serial);
    snprintf(c->id, sizeof(c->id), "%s", p->cmd_id);
    snprintf(c->reason, sizeof(c->reason), "%s", p->reason ? p->reason : "");
    c->lock = p->lock;
    return 0;
}

static struct pfs_lifectl_cmd *lifectl__cmd(struct pfs_lifectl *lc, const char *serial)
{
    for (size_t i = 0; i < lc->ncmds; i++) {
        if (strcmp(lc->cmds[i].serial, serial) == 0)
            return &lc->cmds[i];
    }
    return NULL;
}

void pfs_lifectl_forget(struct pfs_lifectl *lc, const char *serial)
{
    struct pfs_lifectl_cmd *c = lifectl__cmd(lc, serial);

    if (c)
        *c = lc->cmds[--lc->ncmds];
}

static void lifectl__publish(struct pfs_lifectl *lc, struct pfs_lifectl_cmd *c)
{
    struct pf_lock_cmd m = {.lock = c->lock, .ts_ms = pf_clock_wall_ms(lc->clock)};
    char topic[PF_TOPIC_MAX + 1], buf[512];
    size_t len = 0;
    int rc;

    c->sent_ms = pf_clock_mono_ms(lc->clock);
    c->delivered = false;
    if (!pfs_publisher_connected(lc->pub))
        return; /* stays pending; the timer tries again */
    snprintf(m.id, sizeof(m.id), "%s", c->id);
    snprintf(m.reason, sizeof(m.reason), "%s", c->reason);
    if (pf_topic_build(topic, sizeof(topic), PF_DIR_CMD, c->serial, PF_CMD_LOCK) != 0 ||
        pf_lock_cmd_encode(&m, buf, sizeof(buf), &len) != 0) {
        pfs_log_error(lc->log, "lifecycle: %s: cannot encode the lock command", c->serial);
        return;
    }
    rc = pfs_publish(lc->pub, topic, buf, len, 1, NULL, NULL);
    if (rc) {
        pfs_log_warn(lc->log, "lifecycle: %s: publishing %s %s: %s", c->serial,
                     c->lock ? "lock" : "unlock", c->id, pf_strerror(rc));
        return;
    }
    c->delivered = true;
    c->sends++;
    lc->published++;
    pfs_log_info(lc->log, "lifecycle: %s: %s command %s sent (%u)", c->serial,
                 c->lock ? "lock" : "unlock", c->id, c->sends);
}

static int lifectl__tamper(struct pfs_lifectl *lc, const char *serial, int64_t wall,
                           const char *source);

static void lifectl__on_timer(uv_timer_t *t)
{
    struct pfs_lifectl *lc = t->data;
    int64_t now = pf_clock_mono_ms(lc->clock);

    /* Tamper locks a bulk change held back: now that it has ended. */
    if (lc->ntamper && !pfs_store_is_held(lc->store)) {
        size_t n = lc->ntamper;

        lc->ntamper = 0;
        for (size_t i = 0; i < n; i++)
            (void)lifectl__tamper(lc, lc->tamper_later[i], pf_clock_wall_ms(lc->clock),
                                  "tamper, after a bulk change");
    }

    for (size_t i = 0; i < lc->ncmds; i++) {
        struct pfs_lifectl_cmd *c = &lc->cmds[i];

        /* Not yet with the broker, or heard from the terminal since and unanswered. */
        if (c->sent_ms == 0 ||
            (now - c->sent_ms >= lc->retry_ms && (!c->delivered || c->heard_ms > c->sent_ms)))
            lifectl__publish(lc, c);
    }
}

/*
 * The installed terminals are kept sorted by serial: a report looks its
 * terminal up by binary search, and a bulk bind of 100,000 terminals reloads
 * them in one sort instead of one scan per terminal.
 */
static int lifectl__inst_grow(struct pfs_lifectl *lc)
{
    size_t cap = lc->capinst ? lc->capinst * 2 : 16;
    void *v;

    if (lc->ninst < lc->capinst)
        return 0;
    v = realloc(lc->installed, cap * sizeof(*lc->installed));
    if (!v)
        return PF_ENOMEM;
    lc->installed = v;
    lc->capinst = cap;
    return 0;
}

/* True if serial is installed; *pos is its index, or where it would go. */
static bool lifectl__inst_find(const struct pfs_lifectl *lc, const char *serial, size_t *pos)
{
    size_t lo = 0, hi = lc->ninst;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(lc->installed[mid], serial);

        if (c == 0) {
            *pos = mid;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return false;
}

static int lifectl__inst_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Appends (unsorted); lifectl__inst_load sorts once all are in. */
static int lifectl__installed_append(void *ctx, const char *serial)
{
    struct pfs_lifectl *lc = ctx;
    int rc = lifectl__inst_grow(lc);

    if (!rc)
        snprintf(lc->installed[lc->ninst++], PF_SERIAL_MAX + 1, "%s", serial);
    return rc;
}

/* Every installed terminal of the store, replacing the list. */
static int lifectl__inst_load(struct pfs_lifectl *lc)
{
    size_t n = 0;
    int rc;

    lc->ninst = 0;
    rc = pfs_store_term_installed_each(lc->store, lifectl__installed_append, lc);
    if (rc || lc->ninst == 0)
        return rc;
    qsort(lc->installed, lc->ninst, sizeof(*lc->installed), lifectl__inst_cmp);
    for (size_t i = 0; i < lc->ninst; i++) {
        if (n == 0 || strcmp(lc->installed[n - 1], lc->installed[i]) != 0)
            memmove(lc->installed[n++], lc->installed[i], sizeof(*lc->installed));
    }
    lc->ninst = n;
    return 0;
}

int pfs_lifectl_init(struct pfs_lifectl *lc, uv_loop_t *loop, struct pfs_store *store,
                     const struct pfs_publisher *pub, const struct pf_clock *clock,
                     const struct pfs_log *log, int64_t retry_ms, struct pf_error *err)
{
    int rc;

    memset(lc, 0, sizeof(*lc));
    lc->store = store;
    lc->pub = pub;
    lc->clock = clock;
    lc->log = log;
    lc->retry_ms = retry_ms > 0 ? retry_ms : PFS_LIFECTL_RETRY_MS;
    rc = pfs_store_lock_pending_each(store, lifectl__pending_load, lc);
    if (!rc)
        rc = lifectl__inst_load(lc);
    if (rc) {
        pfs_lifectl_release(lc);
        return pf_error_set(err, rc, "lifecycle: loading pending lock commands: %s",
                            pf_strerror(rc));
    }
    if (lc->ncmds)
        pfs_log_info(log, "lifecycle: %zu lock command(s) waiting for their terminal", lc->ncmds);
    if (loop) {
        uint64_t every = (uint64_t)(lc->retry_ms < 1000 ? lc->retry_ms : 1000);

        uv_timer_init(loop, &lc->timer);
        lc->timer.data = lc;
        uv_timer_start(&lc->timer, lifectl__on_timer, every, every);
        lc->timer_open = true;
    }
    return 0;
}

void pfs_lifectl_stop(struct pfs_lifectl *lc)
{
    if (lc->timer_open) {
        uv_timer_stop(&lc->timer);
        uv_close((uv_handle_t *)&lc->timer, NULL);
        lc->timer_open = false;
    }
}

void pfs_lifectl_release(struct pfs_lifectl *lc)
{
    pfs_lifectl_stop(lc);
    free(lc->cmds);
    free(lc->installed);
    free(lc->tamper_later);
    lc->cmds = NULL;
    lc->installed = NULL;
    lc->tamper_later = NULL;
    lc->ntamper = lc->captamper = 0;
    lc->ncmds = lc->capcmds = lc->ninst = lc->capinst = 0;
}

void pfs_lifectl_new_id(struct pfs_lifectl *lc, bool lock, char out[PF_LOCK_ID_MAX + 1])
{
    snprintf(out, PF_LOCK_ID_MAX + 1, "%s-%llx-%x", lock ? "lock" : "unlock",
             (unsigned long long)pf_clock_wall_ms(lc->clock), ++lc->seq);
}

int pfs_lifectl_send(struct pfs_lifectl *lc, const char *serial, const char *id, bool lock,
                     const char *reason)
{
    struct pfs_lock_pending p = {serial, id, lock, reason};
    struct pfs_lifectl_cmd *c;
    int rc;

    pfs_lifectl_forget(lc, serial); /* a newer command replaces the older one */
    rc = lifectl__pending_load(lc, &p);
    if (rc)
        return rc;
    c = lifectl__cmd(lc, serial);
    lifectl__publish(lc, c);
    pfs_notify_emit(lc->notify, lock ? PFS_EV_LOCK : PFS_EV_UNLOCK, serial,
                    json_pack("{s:s, s:s?}", "command", id, "reason", reason));
    return 0;
}

int pfs_lifectl_installed(struct pfs_lifectl *lc, const char *serial)
{
    size_t pos;
    int rc;

    if (lifectl__inst_find(lc, serial, &pos))
        return 0;
    if ((rc = lifectl__inst_grow(lc)))
        return rc;
    memmove(lc->installed[pos + 1], lc->installed[pos], (lc->ninst - pos) * sizeof(*lc->installed));
    snprintf(lc->installed[pos], PF_SERIAL_MAX + 1, "%s", serial);
    lc->ninst++;
    return 0;
}

int pfs_lifectl_installed_reload(struct pfs_lifectl *lc)
{
    return lifectl__inst_load(lc);
}

static bool lifectl__take_installed(struct pfs_lifectl *lc, const char *serial)
{
    size_t pos;

    if (!lifectl__inst_find(lc, serial, &pos))
        return false;
    memmove(lc->installed[pos], lc->installed[pos + 1],
            (lc->ninst - pos - 1) * sizeof(*lc->installed));
    lc->ninst--;
    return true;
}

/* A bulk change is being written (the store refuses changes meanwhile): the
 * lock follows from the retry timer as soon as it has ended. */
static int lifectl__tamper_later(struct pfs_lifectl *lc, const char *serial)
{
    for (size_t i = 0; i < lc->ntamper; i++) {
        if (strcmp(lc->tamper_later[i], serial) == 0)
            return 0;
    }
    if (lc->ntamper == lc->captamper) {
        size_t cap = lc->captamper ? lc->captamper * 2 : 8;
        void *v = realloc(lc->tamper_later, cap * sizeof(*lc->tamper_later));

        if (!v) {
            pfs_log_error(lc->log, "lifecycle: %s: tamper lock lost: out of memory", serial);
            return PF_ENOMEM;
        }
        lc->tamper_later = v;
        lc->captamper = cap;
    }
    snprintf(lc->tamper_later[lc->ntamper++], PF_SERIAL_MAX + 1, "%s", serial);
    pfs_log_warn(lc->log, "lifecycle: %s: tamper: lock waits for the bulk change being written",
                 serial);
    return 0;
}

/*
 * Locks serial for tamper (store: locked, lock pending, repair opened) and
 * publishes the lock at once: 1 if it was locked now, 0 if it already was (or
 * may not be: the store decides), PF_E* when the store failed (logged).
 */
static int lifectl__tamper(struct pfs_lifectl *lc, const char *serial, int64_t wall,
                           const char *source)
{
    struct pf_error err = {0};
    char id[PF_LOCK_ID_MAX + 1];
    bool changed = false;
    int rc;

    pfs_lifectl_new_id(lc, true, id);
    rc = pfs_store_term_tamper(lc->store, serial, id, wall, &changed, &err);
    if (rc == PF_ESTATE && pfs_store_is_held(lc->store))
        return lifectl__tamper_later(lc, serial);
    if (rc) {
        pfs_log_error(lc->log, "lifecycle: %s: tamper lock failed: %s", serial, err.msg);
        return rc;
    }
    if (!changed)
        return 0;
    pfs_log_warn(lc->log, "lifecycle: %s: tamper (%s): locking, repair opened", serial, source);
    pfs_notify_emit(lc->notify, PFS_EV_TAMPER, serial, json_pack("{s:s}", "lock", id));
    if (pfs_lifectl_send(lc, serial, id, true, "tamper"))
        pfs_log_error(lc->log, "lifecycle: %s: out of memory", serial);
    return 1;
}

void pfs_lifectl_on_health(void *ctx, const char *serial, const struct pf_health *h, bool newer)
{
    struct pfs_lifectl *lc = ctx;
    int64_t wall = pf_clock_wall_ms(lc->clock);
    struct pfs_lifectl_cmd *c;
    int rc;

    if (lifectl__take_installed(lc, serial)) {
        bool changed = false;

        rc = pfs_store_term_activate(lc->store, serial, wall, &changed);
        if (rc == PF_ESTATE && pfs_store_is_held(lc->store))
            rc = pfs_lifectl_installed(lc,
                                       serial); /* a bulk change is being written: next report */
        else if (rc)
            pfs_log_error(lc->log, "lifecycle: %s: activation failed: %s", serial, pf_strerror(rc));
        else if (changed)
            pfs_log_info(lc->log, "lifecycle: %s: active (first report after binding)", serial);
    }
    if (newer && h->tamper && lifectl__tamper(lc, serial, wall, "health report") == 1)
        return;
    c = lifectl__cmd(lc, serial);
    if (c) {
        c->heard_ms = pf_clock_mono_ms(lc->clock);
        if (c->heard_ms - c->sent_ms >= LIFECTL_RESEND_MIN_MS)
            lifectl__publish(lc, c); /* connected and unanswered: send it again now */
    }
}

int pfs_lifectl_on_lock(void *ctx, const char *serial, const void *payload, size_t len)
{
    struct pfs_lifectl *lc = ctx;
    struct pf_error err = {0};
    struct pf_lock_report r;
    bool matched = false;
    int rc;

    rc = pf_lock_report_decode(payload, len, &r, &err);
    if (rc) {
        pfs_log_warn(lc->log, "lifecycle: %s: rejected %s: %s", serial, pf_errname(rc), err.msg);
        return rc;
    }
    rc = pfs_store_term_lock_report(lc->store, serial, r.id, r.locked, pf_clock_wall_ms(lc->clock),
                                    &matched);
    if (rc) {
        pfs_log_error(lc->log, "lifecycle: %s: recording the lock report failed: %s", serial,
                      pf_strerror(rc));
        return PF_EIO;
    }
    if (matched) {
        struct pfs_lifectl_cmd *c = lifectl__cmd(lc, serial);

        if (c && strcmp(c->id, r.id) == 0)
            pfs_lifectl_forget(lc, serial);
        pfs_log_info(lc->log, "lifecycle: %s: %s confirmed (%s)", serial,
                     r.locked ? "lock" : "unlock", r.id);
    }
    return 0;
}

int pfs_lifectl_on_tamper(void *ctx, const char *serial, const void *payload, size_t len)
{
    struct pfs_lifectl *lc = ctx;
    struct pf_error err = {0};
    struct pf_tamper_event e;
    int rc;

    rc = pf_tamper_event_decode(payload, len, &e, &err);
    if (rc) {
        pfs_log_warn(lc->log, "lifecycle: %s: rejected %s: %s", serial, pf_errname(rc), err.msg);
        return rc;
    }
    rc = lifectl__tamper(lc, serial, pf_clock_wall_ms(lc->clock), "tamper event");
    return rc < 0 ? PF_EIO : 0;
}
