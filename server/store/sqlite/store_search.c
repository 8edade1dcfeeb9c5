/*
 * store_search.c - the SQLite backend of store_search.h.
 *
 * Each search builds one SELECT from the filters it was given (struct
 * search__sql: the text and its bound values), so the page and its EXPLAIN
 * QUERY PLAN (pfs_sqlite_search_explain) are the same statement.
 *
 * Terminals are paged by serial. A filter that an index answers in serial
 * order (model, firmware, fee table, state, merchant, tag, alert, lock; region
 * and merchant name through their merchants) can drive the page: the search
 * counts, through that index only, up to SEARCH_DRIVE_MAX matching terminals
 * past the cursor, and the filter with the fewest drives: its index is read in
 * serial order, the other filters applied, until limit + 1 rows match (a
 * region or merchant name, a list of merchants, has its terminals' serials
 * sorted first: at most that many). When every filter matches more than that,
 * matches are dense and the page is read walking the registry in serial
 * order, which stops after limit + 1 matches. Filters are written with a
 * unary + so SQLite cannot pick another index that would make it sort every
 * match. Only the page's rows then have their records read.
 */
#include "store/store_search.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lifecycle/lifecycle.h"
#include "lifecycle/merchant.h"
#include "store/sqlite/store_lifecycle_internal.h"
#include "store/sqlite/store_scope.h"
#include "store/sqlite/store_sqlite_internal.h"

/* Terminals a driving filter may match before the registry walk is cheaper:
 * about sqrt(limit x fleet) for a page of 100 in a fleet of a million. */
#define SEARCH_DRIVE_MAX 10000
/* Merchants a region or name may match and still drive a terminal search. */
#define SEARCH_MERCHANTS_MAX 1000
#define SEARCH_BINDS         24
/* The scope's two parameters (store_scope.h), past every filter's. */
#define SEARCH_SCOPE_P  "?31"
#define SEARCH_SCOPE_M  "?32"
#define SEARCH_SCOPE_IP 31
#define SEARCH_SCOPE_IM 32
/* LIFE_MERCHANT_COLS of merchants m, in life__merchant_read's order. */
#define SEARCH_MERCHANT_COLS                                                                       \
    "m.id, m.name, m.uscc, m.mcc, m.address, m.contact_name, m.contact_phone, m.tz,"               \
    " m.settlement, m.fee_plan, m.status, m.created_ms, m.updated_ms, m.region, m.review_reason"

struct search__sql {
    char text[6144];
    size_t n;
    bool overflow;
    int nb;
    const struct pfs_scope *scope; /* bound at SEARCH_SCOPE_P/M when set */
    struct {
        const char *s; /* NULL: the number */
        int64_t i;
    } b[SEARCH_BINDS];
};

static void search__add(struct search__sql *q, const char *fmt, ...) PF_PRINTF(2, 3);

static void search__add(struct search__sql *q, const char *fmt, ...)
{
    va_list ap;
    int w;

    if (q->overflow)
        return;
    va_start(ap, fmt);
    w = vsnprintf(q->text + q->n, sizeof(q->text) - q->n, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= sizeof(q->text) - q->n)
        q->overflow = true;
    else
        q->n += (size_t)w;
}

/* The parameter number of a new text value (bound static: it must outlive the step). */
static int search__text(struct search__sql *q, const char *v)
{
    if (q->nb == SEARCH_BINDS) {
        q->overflow = true;
        return SEARCH_BINDS;
    }
    q->b[q->nb].s = v;
    q->b[q->nb].i = 0;
    return ++q->nb;
}

static int search__int(struct search__sql *q, int64_t v)
{
    if (q->nb == SEARCH_BINDS) {
        q->overflow = true;
        return SEARCH_BINDS;
    }
    q->b[q->nb].s = NULL;
    q->b[q->nb].i = v;
    return ++q->nb;
}

static int search__prepare(sqlite3 *db, const struct search__sql *q, const char *prefix,
                           sqlite3_stmt **s)
{
    char text[sizeof(q->text) + 32];

    if (q->overflow)
        return PF_ELIMIT;
    snprintf(text, sizeof(text), "%s%s", prefix, q->text);
    if (sqlite3_prepare_v2(db, text, -1, s, NULL) != SQLITE_OK)
        return PF_EIO;
    for (int i = 0; i < q->nb; i++) {
        if (q->b[i].s)
            sqlite3_bind_text(*s, i + 1, q->b[i].s, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(*s, i + 1, q->b[i].i);
    }
    if (q->scope)
        pfs_sqlite_bind_scope(*s, SEARCH_SCOPE_IP, SEARCH_SCOPE_IM, q->scope);
    return 0;
}

/* The scope rule (store_scope.h) for a search: nothing when scope filters
 * nothing, so headquarters' pages keep their plans; else the rule's text with
 * its parameters bound by search__prepare. */
static void search__scope(struct search__sql *q, const struct pfs_scope *scope, const char *rule)
{
    if (pfs_scope_all(scope))
        return;
    q->scope = scope;
    search__add(q, " AND %s", rule);
}

/* The number of UTF-8 characters of s. */
static size_t search__chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* s with ASCII letters lowered (SQLite's lower() and LIKE fold only those). */
static void search__lower(const char *s, char *out, size_t size)
{
    size_t i;

    for (i = 0; s[i] && i + 1 < size; i++)
        out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    out[i] = '\0';
}

/* The name fragment as both indexes take it: an FTS5 phrase (quotes doubled)
 * from three characters on, else a lowered one- or two-character gram. */
struct search__frag {
    bool trigram;
    char text[PFS_MERCHANT_NAME_MAX * 8 + 3];
    char lowered[PFS_MERCHANT_NAME_MAX * 4 + 1]; /* for instr() on a merchant's name */
};

static int search__frag(const char *name, struct search__frag *f)
{
    size_t chars = search__chars(name), j = 0;

    if (!chars || strlen(name) > PFS_MERCHANT_NAME_MAX * 4)
        return PF_EINVAL;
    f->trigram = chars >= 3;
    search__lower(name, f->lowered, sizeof(f->lowered));
    if (!f->trigram) {
        search__lower(name, f->text, sizeof(f->text));
        return 0;
    }
    f->text[j++] = '"';
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            f->text[j++] = '"';
        f->text[j++] = *p;
    }
    f->text[j++] = '"';
    f->text[j] = '\0';
    return 0;
}

/* "SELECT k.id ..." of the merchants whose name holds the fragment (parameter p). */
static void search__name_ids(struct search__sql *q, const struct search__frag *f, int p)
{
    if (f->trigram)
        search__add(
                q,
                "SELECT k.id FROM merchant_names n CROSS JOIN merchant_keys k ON k.rid = n.rowid"
                " WHERE merchant_names MATCH ?%d",
                p);
    else
        search__add(q,
                    "SELECT k.id FROM merchant_grams g CROSS JOIN merchant_keys k ON k.rid = g.rid"
                    " WHERE g.gram = ?%d",
                    p);
}

static int search__count(sqlite3 *db, const struct search__sql *q, int64_t *n)
{
    sqlite3_stmt *s;
    int rc = search__prepare(db, q, "", &s);

    if (rc)
        return rc;
    if (sqlite3_step(s) == SQLITE_ROW)
        *n = sqlite3_column_int64(s, 0);
    else
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

/* --- terminals --- */

/* A filter that can drive a terminal page: the serials it matches past the
 * cursor. In sql, ?A stands for the cursor's parameter and ?V for value's. */
struct search__driver {
    const char *sql;
    const char *value;               /* bound as ?V; NULL: none */
    const char *merchants_sql;       /* value selects merchants first, counted before driving */
    const struct search__frag *frag; /* a name fragment: the merchants come from its index */
};

#define SEARCH_DRIVER(...) ((struct search__driver){__VA_ARGS__})

static int search__term_drivers(const struct pfs_search_terminals *q,
                                const struct search__frag *frag, struct search__driver *d)
{
    int n = 0;

    if (q->model)
        d[n++] = SEARCH_DRIVER(.sql = "SELECT serial FROM devices WHERE model = ?V"
                                      " AND serial > ?A",
                               .value = q->model);
    if (q->fw)
        d[n++] = SEARCH_DRIVER(.sql = "SELECT serial FROM device_state WHERE fw_version = ?V"
                                      " AND serial > ?A",
                               .value = q->fw);
    if (q->fee)
        d[n++] = SEARCH_DRIVER(.sql = "SELECT serial FROM device_state WHERE fee_version = ?V"
                                      " AND serial > ?A",
                               .value = q->fee);
    if (q->state && strcmp(q->state, "in_stock") != 0 && strcmp(q->state, "retired") != 0)
        d[n++] = SEARCH_DRIVER(.sql = "SELECT serial FROM terminals WHERE state = ?V"
                                      " AND serial > ?A",
                               .value = q->state);
    if (q->merchant)
        d[n++] = SEARCH_DRIVER(.sql = "SELECT serial FROM terminals WHERE merchant_id = ?V"
                                      " AND serial > ?A",
                               .value = q->merchant);
    if (q->tag)
        d[n++] = SEARCH_DRIVER(.sql = "SELECT serial FROM terminal_tags WHERE tag = ?V"
                                      " AND serial > ?A",
                               .value = q->tag);
    if (q->alert)
        d[n++] = SEARCH_DRIVER(.sql = "SELECT serial FROM alerts WHERE kind = ?V"
                                      " AND closed_ms IS NULL AND serial > ?A",
                               .value = q->alert);
    if (q->lock == PFS_SEARCH_LOCK_LOCKED)
        d[n++] = SEARCH_DRIVER(.sql = "SELECT serial FROM terminals WHERE lock_want = 1"
                                      " AND serial > ?A");
    if (q->lock == PFS_SEARCH_LOCK_PENDING)
        d[n++] = SEARCH_DRIVER(.sql = "SELECT serial FROM terminals WHERE lock_acked = 0"
                                      " AND serial > ?A");
    if (q->region)
        d[n++] = SEARCH_DRIVER(.sql = "SELECT serial FROM terminals WHERE merchant_id IN"
                                      " (SELECT id FROM merchants WHERE region = ?V)"
                                      " AND serial > ?A",
                               .value = q->region,
                               .merchants_sql = "SELECT id FROM merchants WHERE region = ?V");
    if (q->merchant_name)
        d[n++] = SEARCH_DRIVER(.value = frag->text, .frag = frag);
    return n;
}

/* Appends text with ?A and ?V replaced by parameter numbers. */
static void search__add_params(struct search__sql *s, const char *text, int pa, int pv)
{
    while (*text) {
        const char *at = strchr(text, '?');

        if (!at || (at[1] != 'A' && at[1] != 'V')) {
            size_t len = at ? (size_t)(at - text) + 1 : strlen(text);

            search__add(s, "%.*s", (int)len, text);
            text += len;
            continue;
        }
        search__add(s, "%.*s?%d", (int)(at - text), text, at[1] == 'A' ? pa : pv);
        text = at + 2;
    }
}

/* Writes the driver's serial source with its value bound. */
static void search__driver_sql(struct search__sql *s, const struct search__driver *d, int pa)
{
    int pv = d->value ? search__text(s, d->value) : 0;

    if (d->frag) {
        search__add(s, "SELECT serial FROM terminals WHERE merchant_id IN (");
        search__name_ids(s, d->frag, pv);
        search__add(s, ") AND serial > ?%d", pa);
        return;
    }
    search__add_params(s, d->sql, pa, pv);
}

/* How many terminals past the cursor d matches, counted up to SEARCH_DRIVE_MAX
 * (a region or name matching too many merchants counts as that many). */
static int search__driver_count(sqlite3 *db, const struct search__driver *d, const char *after,
                                int64_t *n)
{
    struct search__sql s;
    int rc, pa;

    if (d->merchants_sql || d->frag) {
        memset(&s, 0, sizeof(s));
        search__add(&s, "SELECT count(*) FROM (");
        if (d->frag)
            search__name_ids(&s, d->frag, search__text(&s, d->value));
        else
            search__add_params(&s, d->merchants_sql, 0, search__text(&s, d->value));
        search__add(&s, " LIMIT %d)", SEARCH_MERCHANTS_MAX + 1);
        rc = search__count(db, &s, n);
        if (rc)
            return rc;
        if (*n > SEARCH_MERCHANTS_MAX) {
            *n = SEARCH_DRIVE_MAX;
            return 0;
        }
    }
    memset(&s, 0, sizeof(s));
    pa = search__text(&s, after ? after : "");
    search__add(&s, "SELECT count(*) FROM (");
    search__driver_sql(&s, d, pa);
    search__add(&s, " LIMIT %d)", SEARCH_DRIVE_MAX);
    return search__count(db, &s, n);
}

static const char *const search__conn_sql[] = {
        "",
        " AND d.status = 'registered' AND +s.online = 1",
        " AND d.status = 'registered' AND s.serial IS NOT NULL AND +s.online = 0",
        " AND d.status = 'registered' AND s.serial IS NULL",
        " AND d.status = 'revoked'",
};

static int search__term_sql(sqlite3 *db, const struct pfs_search_terminals *q,
                            struct search__frag *frag, struct search__sql *s)
{
    struct search__driver drv[12];
    int nd, best = -1, rc, pa;
    int64_t best_n = SEARCH_DRIVE_MAX, n;
    bool need_t, need_m, need_s;

    if (q->limit < 1 || (unsigned)q->conn > PFS_FILTER_REVOKED)
        return PF_EINVAL;
    if (q->merchant_name && search__frag(q->merchant_name, frag))
        return PF_EINVAL;
    nd = search__term_drivers(q, frag, drv);
    for (int i = 0; i < nd; i++) {
        rc = search__driver_count(db, &drv[i], q->after, &n);
        if (rc)
            return rc;
        if (n < best_n) {
            best_n = n;
            best = i;
        }
    }
    need_m = q->merchant_name || q->region;
    need_t = q->state || q->merchant || q->lock != PFS_SEARCH_LOCK_ANY;
    need_s = q->conn != PFS_FILTER_ANY || q->fw || q->fee;
    memset(s, 0, sizeof(*s));
    pa = search__text(s, q->after ? q->after : "");
    /* The page's serials first (only the filters' columns are read for the rows
     * sorted), then the page's records. */
    search__add(s, "SELECT d.serial, d.model,"
                   " coalesce(t.state, CASE d.status WHEN 'revoked' THEN 'retired'"
                   " ELSE 'in_stock' END), t.merchant_id, m.name, m.region,"
                   " coalesce(t.tags, '[]'), coalesce(t.lock_want, 0), coalesce(t.lock_acked, 1),"
                   " (SELECT group_concat(kind) FROM (SELECT kind FROM alerts a"
                   " WHERE a.serial = d.serial AND a.closed_ms IS NULL ORDER BY kind))"
                   " FROM (SELECT d.serial AS serial");
    if (best >= 0) {
        search__add(s, " FROM (");
        search__driver_sql(s, &drv[best], pa);
        search__add(s, ") k CROSS JOIN devices d ON d.serial = k.serial");
    } else {
        search__add(s, " FROM devices d");
    }
    /* Only the tables the filters read. */
    if (need_t || need_m)
        search__add(s, " LEFT JOIN terminals t ON t.serial = d.serial");
    if (need_m)
        search__add(s, " LEFT JOIN merchants m ON m.id = t.merchant_id");
    if (need_s)
        search__add(s, " LEFT JOIN device_state s ON s.serial = d.serial");
    search__add(s, " WHERE d.serial > ?%d", pa);
    search__scope(s, q->scope, PFS_SQLITE_SCOPE_TERM("d.serial", SEARCH_SCOPE_P, SEARCH_SCOPE_M));
    search__add(s, "%s", search__conn_sql[q->conn]);
    if (q->model)
        search__add(s, " AND +d.model = ?%d", search__text(s, q->model));
    if (q->fw)
        search__add(s, " AND +s.fw_version = ?%d", search__text(s, q->fw));
    if (q->fee)
        search__add(s, " AND +s.fee_version = ?%d", search__text(s, q->fee));
    if (q->state && !strcmp(q->state, "in_stock"))
        search__add(s, " AND (+t.state = 'in_stock' OR (t.serial IS NULL"
                       " AND d.status = 'registered'))");
    else if (q->state && !strcmp(q->state, "retired"))
        search__add(s, " AND (+t.state = 'retired' OR (t.serial IS NULL"
                       " AND d.status = 'revoked'))");
    else if (q->state)
        search__add(s, " AND +t.state = ?%d", search__text(s, q->state));
    if (q->merchant)
        search__add(s, " AND +t.merchant_id = ?%d", search__text(s, q->merchant));
    if (q->merchant_name)
        search__add(s, " AND instr(lower(m.name), ?%d) > 0", search__text(s, frag->lowered));
    if (q->region)
        search__add(s, " AND +m.region = ?%d", search__text(s, q->region));
    if (q->tag)
        search__add(s,
                    " AND EXISTS (SELECT 1 FROM terminal_tags g WHERE g.tag = ?%d"
                    " AND g.serial = d.serial)",
                    search__text(s, q->tag));
    if (q->alert)
        search__add(s,
                    " AND EXISTS (SELECT 1 FROM alerts a WHERE a.serial = d.serial"
                    " AND a.kind = ?%d AND a.closed_ms IS NULL)",
                    search__text(s, q->alert));
    if (q->lock == PFS_SEARCH_LOCK_LOCKED)
        search__add(s, " AND +t.lock_want = 1");
    else if (q->lock == PFS_SEARCH_LOCK_UNLOCKED)
        search__add(s, " AND coalesce(t.lock_want, 0) = 0");
    else if (q->lock == PFS_SEARCH_LOCK_PENDING)
        search__add(s, " AND +t.lock_acked = 0");
    /* A driver's serials come in order (its index ends with the serial) except
     * through a list of merchants: ordering by them lets the page stop early. */
    search__add(s,
                " ORDER BY %s LIMIT %d) p CROSS JOIN devices d ON d.serial = p.serial"
                " LEFT JOIN terminals t ON t.serial = d.serial"
                " LEFT JOIN merchants m ON m.id = t.merchant_id ORDER BY d.serial",
                best >= 0 ? "k.serial" : "d.serial", q->limit + 1);
    return 0;
}

static const char *search__ctext(sqlite3_stmt *s, int col)
{
    return (const char *)sqlite3_column_text(s, col);
}

int pfs_sqlite_search_terminals(struct pfs_sqlite *st, const struct pfs_search_terminals *q,
                                pfs_search_terminal_cb cb, void *ctx, bool *more)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct search__frag frag;
    struct search__sql s;
    sqlite3_stmt *stmt;
    int rc, step, rows = 0;

    *more = false;
    rc = search__term_sql(db, q, &frag, &s);
    if (!rc)
        rc = search__prepare(db, &s, "", &stmt);
    if (rc)
        return rc;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct pfs_search_terminal t;

        if (rows == q->limit) {
            *more = true;
            break;
        }
        t.serial = search__ctext(stmt, 0);
        t.model = search__ctext(stmt, 1);
        t.state = search__ctext(stmt, 2);
        t.merchant_id = search__ctext(stmt, 3);
        t.merchant_name = search__ctext(stmt, 4);
        t.region = search__ctext(stmt, 5);
        t.tags = search__ctext(stmt, 6);
        t.lock_wanted = sqlite3_column_int(stmt, 7) != 0;
        t.lock_acked = sqlite3_column_int(stmt, 8) != 0;
        t.alerts = search__ctext(stmt, 9);
        if (!t.alerts)
            t.alerts = "";
        rc = cb(ctx, &t);
        if (rc)
            break;
        rows++;
    }
    if (!rc && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(stmt);
    return rc;
}

/* --- merchants --- */

static int search__merchant_sql(const struct pfs_search_merchants *q, struct search__frag *frag,
                                struct search__sql *s)
{
    const char *key;

    if (q->limit < 1)
        return PF_EINVAL;
    memset(s, 0, sizeof(*s));
    if (q->name) {
        if (search__frag(q->name, frag))
            return PF_EINVAL;
        key = frag->trigram ? "n.rowid" : "g.rid";
        if (frag->trigram)
            search__add(s,
                        "SELECT " SEARCH_MERCHANT_COLS " FROM merchant_names n"
                        " CROSS JOIN merchant_keys k ON k.rid = n.rowid"
                        " CROSS JOIN merchants m ON m.id = k.id"
                        " WHERE merchant_names MATCH ?%d",
                        search__text(s, frag->text));
        else
            search__add(s,
                        "SELECT " SEARCH_MERCHANT_COLS " FROM merchant_grams g"
                        " CROSS JOIN merchant_keys k ON k.rid = g.rid"
                        " CROSS JOIN merchants m ON m.id = k.id WHERE g.gram = ?%d",
                        search__text(s, frag->text));
        if (q->after)
            search__add(s, " AND %s > (SELECT rid FROM merchant_keys WHERE id = ?%d)", key,
                        search__text(s, q->after));
    } else {
        key = "m.id";
        search__add(s, "SELECT " SEARCH_MERCHANT_COLS " FROM merchants m WHERE 1");
        if (q->after)
            search__add(s, " AND m.id > ?%d", search__text(s, q->after));
    }
    search__scope(s, q->scope, PFS_SQLITE_SCOPE_MERCHANT("m.id", SEARCH_SCOPE_P, SEARCH_SCOPE_M));
    if (q->uscc)
        search__add(s, " AND m.uscc = upper(?%d)", search__text(s, q->uscc));
    if (q->phone)
        search__add(s, " AND m.contact_phone = ?%d", search__text(s, q->phone));
    if (q->contact)
        search__add(s, " AND m.contact_name = ?%d", search__text(s, q->contact));
    if (q->region)
        search__add(s, " AND m.region = ?%d", search__text(s, q->region));
    if (q->status >= 0)
        search__add(s, " AND m.status = ?%d",
                    search__text(s, pfs_merchant_status_names[q->status]));
    search__add(s, " ORDER BY %s LIMIT %d", key, q->limit + 1);
    return 0;
}

int pfs_sqlite_search_merchants(struct pfs_sqlite *st, const struct pfs_search_merchants *q,
                                pfs_search_merchant_cb cb, void *ctx, bool *more)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct search__frag frag;
    struct search__sql s;
    sqlite3_stmt *stmt;
    struct pfs_merchant m;
    int rc, step, rows = 0;

    *more = false;
    rc = search__merchant_sql(q, &frag, &s);
    if (!rc)
        rc = search__prepare(db, &s, "", &stmt);
    if (rc)
        return rc;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (rows == q->limit) {
            *more = true;
            break;
        }
        life__merchant_read(stmt, &m);
        rc = cb(ctx, &m);
        if (rc)
            break;
        rows++;
    }
    if (!rc && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(stmt);
    return rc;
}

/* --- alerts --- */

static int search__alert_sql(const struct pfs_search_alerts *q, struct search__sql *s)
{
    if (q->limit < 1)
        return PF_EINVAL;
    memset(s, 0, sizeof(*s));
    search__add(s, "SELECT a.id, a.serial, a.kind, a.opened_ms, a.detail, t.merchant_id"
                   " FROM alerts a LEFT JOIN terminals t ON t.serial = a.serial"
                   " WHERE a.closed_ms IS NULL");
    search__scope(s, q->scope, PFS_SQLITE_SCOPE_TERM("a.serial", SEARCH_SCOPE_P, SEARCH_SCOPE_M));
    if (q->kind)
        search__add(s, " AND a.kind = ?%d", search__text(s, q->kind));
    if (q->serial)
        search__add(s, " AND a.serial = ?%d", search__text(s, q->serial));
    if (q->merchant)
        search__add(s, " AND a.serial IN (SELECT serial FROM terminals WHERE merchant_id = ?%d)",
                    search__text(s, q->merchant));
    if (q->opened_before > 0)
        search__add(s, " AND a.opened_ms <= ?%d", search__int(s, q->opened_before));
    if (q->before > 0)
        search__add(s, " AND a.id < ?%d", search__int(s, q->before));
    search__add(s, " ORDER BY a.id DESC LIMIT %d", q->limit + 1);
    return 0;
}

int pfs_sqlite_search_alerts(struct pfs_sqlite *st, const struct pfs_search_alerts *q,
                             pfs_search_alert_cb cb, void *ctx, bool *more)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct search__sql s;
    sqlite3_stmt *stmt;
    int rc, step, rows = 0;

    *more = false;
    rc = search__alert_sql(q, &s);
    if (!rc)
        rc = search__prepare(db, &s, "", &stmt);
    if (rc)
        return rc;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct pfs_alert a;
        struct pfs_search_alert r = {.alert = &a};

        if (rows == q->limit) {
            *more = true;
            break;
        }
        memset(&a, 0, sizeof(a));
        r.id = sqlite3_column_int64(stmt, 0);
        pfs_sqlite_col_text(stmt, 1, a.serial, sizeof(a.serial));
        pfs_sqlite_col_text(stmt, 2, a.kind, sizeof(a.kind));
        a.opened_ms = sqlite3_column_int64(stmt, 3);
        pfs_sqlite_col_text(stmt, 4, a.detail, sizeof(a.detail));
        r.merchant_id = search__ctext(stmt, 5);
        rc = cb(ctx, &r);
        if (rc)
            break;
        rows++;
    }
    if (!rc && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(stmt);
    return rc;
}

/* --- audit --- */

static int search__audit_sql(const struct pfs_search_audit *q, struct search__sql *s)
{
    if (q->limit < 1)
        return PF_EINVAL;
    memset(s, 0, sizeof(*s));
    search__add(s, "SELECT a.id, a.ts_ms, a.actor, a.role, a.action, a.target, a.before, a.after,"
                   " coalesce(a.org, ''), coalesce(a.addr, '') FROM audit a WHERE 1");
    /* Inside a scope: rows by its own people (not a merchant user's: those
     * see only what concerns their merchant), or about its terminals or
     * merchants (audit_ref). */
    search__scope(s, q->scope,
                  "((" SEARCH_SCOPE_M " IS NULL AND a.org_path IS NOT NULL AND"
                  " substr(a.org_path, 1, length(" SEARCH_SCOPE_P ")) = " SEARCH_SCOPE_P ")"
                  " OR EXISTS (SELECT 1 FROM audit_ref r WHERE r.audit_id = a.id AND"
                  " (CASE WHEN r.merchant_id IS NOT NULL THEN " PFS_SQLITE_SCOPE_MERCHANT(
                          "r.merchant_id", SEARCH_SCOPE_P,
                          SEARCH_SCOPE_M) " ELSE " PFS_SQLITE_SCOPE_TERM("r.serial", SEARCH_SCOPE_P,
                                                                         SEARCH_SCOPE_M) " END)))");
    if (q->actor)
        search__add(s, " AND a.actor = ?%d", search__text(s, q->actor));
    if (q->org)
        search__add(s, " AND a.org = ?%d", search__text(s, q->org));
    if (q->addr)
        search__add(s, " AND a.addr = ?%d", search__text(s, q->addr));
    if (q->action)
        search__add(s, " AND a.action = ?%d", search__text(s, q->action));
    if (q->target)
        search__add(s, " AND a.target = ?%d", search__text(s, q->target));
    if (q->serial) {
        int p = search__text(s, q->serial);

        search__add(s,
                    " AND (a.target = ?%d OR a.id IN (SELECT audit_id FROM audit_ref"
                    " WHERE serial = ?%d))",
                    p, p);
    }
    if (q->merchant)
        search__add(s, " AND a.id IN (SELECT audit_id FROM audit_ref WHERE merchant_id = ?%d)",
                    search__text(s, q->merchant));
    if (q->since_ms > 0)
        search__add(s, " AND a.ts_ms >= ?%d", search__int(s, q->since_ms));
    if (q->until_ms > 0)
        search__add(s, " AND a.ts_ms < ?%d", search__int(s, q->until_ms));
    if (q->before > 0)
        search__add(s, " AND (a.ts_ms, a.id) < (SELECT ts_ms, id FROM audit WHERE id = ?%d)",
                    search__int(s, q->before));
    search__add(s, " ORDER BY a.ts_ms DESC, a.id DESC LIMIT %d", q->limit + 1);
    return 0;
}

int pfs_sqlite_search_audit(struct pfs_sqlite *st, const struct pfs_search_audit *q,
                            pfs_audit_cb cb, void *ctx, bool *more)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct search__sql s;
    sqlite3_stmt *stmt;
    int rc, step, rows = 0;

    *more = false;
    rc = search__audit_sql(q, &s);
    if (!rc)
        rc = search__prepare(db, &s, "", &stmt);
    if (rc)
        return rc;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct pfs_audit a;

        if (rows == q->limit) {
            *more = true;
            break;
        }
        memset(&a, 0, sizeof(a));
        a.id = sqlite3_column_int64(stmt, 0);
        a.ts_ms = sqlite3_column_int64(stmt, 1);
        pfs_sqlite_col_text(stmt, 2, a.actor, sizeof(a.actor));
        pfs_sqlite_col_text(stmt, 3, a.role, sizeof(a.role));
        pfs_sqlite_col_text(stmt, 4, a.action, sizeof(a.action));
        pfs_sqlite_col_text(stmt, 5, a.target, sizeof(a.target));
        a.before = search__ctext(stmt, 6);
        a.after = search__ctext(stmt, 7);
        pfs_sqlite_col_text(stmt, 8, a.org, sizeof(a.org));
        pfs_sqlite_col_text(stmt, 9, a.addr, sizeof(a.addr));
        rc = cb(ctx, &a);
        if (rc)
            break;
        rows++;
    }
    if (!rc && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(stmt);
    return rc;
}

/* --- plans --- */

int pfs_sqlite_search_explain(struct pfs_sqlite *st, enum pfs_search_kind kind, const void *q,
                              char *buf, size_t size)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct search__frag frag;
    struct search__sql s;
    sqlite3_stmt *stmt;
    size_t n = 0;
    int rc;

    if (size)
        buf[0] = '\0';
    switch (kind) {
    case PFS_SEARCH_TERMINALS:
        rc = search__term_sql(db, q, &frag, &s);
        break;
    case PFS_SEARCH_MERCHANTS:
        rc = search__merchant_sql(q, &frag, &s);
        break;
    case PFS_SEARCH_ALERTS:
        rc = search__alert_sql(q, &s);
        break;
    case PFS_SEARCH_AUDIT:
        rc = search__audit_sql(q, &s);
        break;
    default:
        return PF_EINVAL;
    }
    if (!rc)
        rc = search__prepare(db, &s, "EXPLAIN QUERY PLAN ", &stmt);
    if (rc)
        return rc;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *d = search__ctext(stmt, 3);
        int w = snprintf(buf + n, size > n ? size - n : 0, "%s\n", d ? d : "");

        if (w > 0)
            n += (size_t)w;
        if (n >= size)
            break;
    }
    sqlite3_finalize(stmt);
    return 0;
}
