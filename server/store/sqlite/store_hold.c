/*
 * store_hold.c - the loop's handle while a sibling connection writes a long
 * transaction (store.h, "Long changes off the loop"), and the sibling itself.
 *
 * SQLite has one write lock per database. A bulk change of 100,000 terminals
 * holds it for as long as its transaction runs; a BEGIN IMMEDIATE of the
 * loop's connection meanwhile would wait for it (busy timeout) and stall
 * everything the loop serves. So while held, the loop's connection writes
 * nothing: ingest writes wait in memory in arrival order and are written, as
 * one batch, when the sibling has committed or rolled back; every transaction
 * is refused at once; the busy timeout is 0, so a stray write fails instead of
 * waiting. Under WAL, reads go on and see the last commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/store_sqlite_internal.h"

#define HOLD_BUSY_MS 5000 /* the connection's usual busy timeout (store_sqlite.c) */

enum hold__kind {
    HOLD_HEALTH,
    HOLD_BIRTH,
    HOLD_STATE,
    HOLD_ALERT_OPEN,
    HOLD_ALERT_CLOSE,
    HOLD_PRUNE
};

struct pfs_sqlite_held {
    enum hold__kind kind;
    char serial[PF_SERIAL_MAX + 1];
    int64_t ms;
    int arg; /* health: the rank; prune: how many to keep */
    union {
        struct pf_health h;
        struct pf_birth b;
        struct pf_state s;
        struct {
            char kind[PFS_ALERT_KIND_MAX + 1];
            char detail[PFS_ALERT_DETAIL_MAX + 1];
        } a;
    } u;
};

int pfs_sqlite_sibling_opts(struct pfs_sqlite *st, struct pfs_store_opts *opts,
                            struct pf_error *err)
{
    const char *path = sqlite3_db_filename(st->db, "main");

    memset(opts, 0, sizeof(*opts));
    if (!path || !*path)
        return pf_error_set(err, PF_EINVAL, "store: not a file: no second connection");
    opts->path = strdup(path);
    if (!opts->path)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    opts->backend = "sqlite";
    opts->sibling = true;
    return 0;
}

int pfs_sqlite_hold(struct pfs_sqlite *st, int64_t now_ms, struct pf_error *err)
{
    if (st->held)
        return pf_error_set(err, PF_ESTATE, "store: held already");
    if (st->tx.open)
        return pf_error_set(err, PF_ESTATE, "store: a transaction is open");
    if (pfs_sqlite_flush(st, now_ms, NULL))
        return pfs_sqlite_fail(st->db, err, "commit batch");
    sqlite3_busy_timeout(st->db, 0);
    st->held = true;
    st->nheld = 0;
    st->held_dropped = 0;
    return 0;
}

bool pfs_sqlite_is_held(const struct pfs_sqlite *st)
{
    return st->held;
}

int pfs_sqlite_release(struct pfs_sqlite *st, int64_t now_ms, size_t *written, size_t *dropped)
{
    size_t n = 0;
    int rc = 0;

    if (written)
        *written = 0;
    if (dropped)
        *dropped = st->held ? st->held_dropped : 0;
    if (!st->held)
        return 0;
    st->held = false;
    sqlite3_busy_timeout(st->db, HOLD_BUSY_MS);
    for (size_t i = 0; i < st->nheld; i++) {
        const struct pfs_sqlite_held *o = &st->held_ops[i];
        int step;

        switch (o->kind) {
        case HOLD_HEALTH:
            step = pfs_sqlite_health_record(st, o->serial, &o->u.h, o->ms,
                                            (enum pfs_health_rank)o->arg, NULL);
            break;
        case HOLD_BIRTH:
            step = pfs_sqlite_birth_put(st, o->serial, &o->u.b, o->ms);
            break;
        case HOLD_STATE:
            step = pfs_sqlite_state_put(st, o->serial, &o->u.s, o->ms);
            break;
        case HOLD_ALERT_OPEN:
            step = pfs_sqlite_alert_open(st, o->serial, o->u.a.kind, o->ms, o->u.a.detail);
            step = step == PF_EEXIST ? 0 : step;
            break;
        case HOLD_ALERT_CLOSE:
            step = pfs_sqlite_alert_close(st, o->serial, o->u.a.kind, o->ms);
            step = step == PF_ENOENT ? 0 : step;
            break;
        default:
            step = pfs_sqlite_health_prune(st, o->serial, o->arg);
            break;
        }
        if (step && !rc)
            rc = step;
        n += step == 0;
    }
    st->nheld = 0;
    free(st->held_ops);
    st->held_ops = NULL;
    st->held_cap = 0;
    if (pfs_sqlite_flush(st, now_ms, NULL))
        rc = PF_EIO;
    if (written)
        *written = rc ? 0 : n;
    return rc;
}

/* The next slot of the queue, or NULL when full (the write is dropped and counted). */
static struct pfs_sqlite_held *hold__slot(struct pfs_sqlite *st, enum hold__kind kind,
                                          const char *serial, int64_t ms)
{
    struct pfs_sqlite_held *o;

    if (st->nheld == st->held_cap) {
        size_t cap = st->held_cap ? st->held_cap * 2 : 256;
        struct pfs_sqlite_held *more;

        if (cap > PFS_STORE_HELD_MAX)
            cap = PFS_STORE_HELD_MAX;
        more = cap > st->held_cap ? realloc(st->held_ops, cap * sizeof(*more)) : NULL;
        if (!more) {
            st->held_dropped++;
            return NULL;
        }
        st->held_ops = more;
        st->held_cap = cap;
    }
    o = &st->held_ops[st->nheld++];
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    snprintf(o->serial, sizeof(o->serial), "%s", serial);
    o->ms = ms;
    return o;
}

int pfs_sqlite_hold_health(struct pfs_sqlite *st, const char *serial, const struct pf_health *h,
                           int64_t recv_ms, enum pfs_health_rank rank, bool *newer)
{
    struct pfs_sqlite_held *o = hold__slot(st, HOLD_HEALTH, serial, recv_ms);

    if (newer)
        *newer = rank != PFS_HEALTH_OLDER;
    if (o) {
        o->arg = (int)rank;
        o->u.h = *h;
    }
    return 0;
}

int pfs_sqlite_hold_birth(struct pfs_sqlite *st, const char *serial, const struct pf_birth *b,
                          int64_t recv_ms)
{
    struct pfs_sqlite_held *o = hold__slot(st, HOLD_BIRTH, serial, recv_ms);

    if (o)
        o->u.b = *b;
    return 0;
}

int pfs_sqlite_hold_state(struct pfs_sqlite *st, const char *serial, const struct pf_state *m,
                          int64_t recv_ms)
{
    struct pfs_sqlite_held *o = hold__slot(st, HOLD_STATE, serial, recv_ms);

    if (o)
        o->u.s = *m;
    return 0;
}

int pfs_sqlite_hold_alert(struct pfs_sqlite *st, bool open, const char *serial, const char *kind,
                          int64_t now_ms, const char *detail)
{
    struct pfs_sqlite_held *o =
            hold__slot(st, open ? HOLD_ALERT_OPEN : HOLD_ALERT_CLOSE, serial, now_ms);

    if (o) {
        snprintf(o->u.a.kind, sizeof(o->u.a.kind), "%s", kind);
        snprintf(o->u.a.detail, sizeof(o->u.a.detail), "%s", detail ? detail : "");
    }
    return 0;
}

int pfs_sqlite_hold_prune(struct pfs_sqlite *st, const char *serial, int keep)
{
    struct pfs_sqlite_held *o = hold__slot(st, HOLD_PRUNE, serial, 0);

    if (o)
        o->arg = keep;
    return 0;
}
