/*
 * pg_search.c - the PostgreSQL backend of store_search.h, the twin of
 * server/store/sqlite/store_search.c: the same filters, scope rule
 * (pg_accounts.h's text), orders, keyset cursors and one-row-past-the-limit
 * paging.
 *
 * Each search builds one SELECT from the filters it was given (struct
 * search__sql: the text and its parameters), so the page and its EXPLAIN
 * (pfs_pg_search_explain) are the same statement. The SQLite backend picks a
 * driving index by counting matches first, because SQLite's planner has no
 * statistics of its own here; PostgreSQL's planner keeps them (autovacuum's
 * ANALYZE) and chooses between walking the primary key in serial order and
 * reading a filter's index then sorting, so the statement here is the plain
 * one: the filters, the cursor, ORDER BY the key, LIMIT limit + 1.
 *
 * Merchant names: the match is "lower(name) LIKE '%fragment%'" (the
 * fragment's LIKE characters escaped). An ASCII fragment of three characters
 * or more is answered by the pg_trgm index on lower(name). pg_trgm takes its
 * trigrams only from characters the database's LC_CTYPE calls alphanumeric,
 * and under LC_CTYPE C (what "initdb --no-locale" gives) a Chinese name has
 * none, so any other fragment is driven by merchant_grams instead: the
 * merchants holding its first one or two characters, then the LIKE on those.
 * Both page in the order merchants were added (merchant_keys.rid), as SQLite's
 * name index does.
 */
#include "store/postgres/pg_search.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle/merchant.h"
#include "store/postgres/pg_accounts.h"

#define SEARCH_PARAMS 24

struct search__sql {
    char text[6144];
    size_t n;
    bool overflow;
    int np;
    const char *p[SEARCH_PARAMS];
    char ints[SEARCH_PARAMS][PFS_PG_I64_LEN];
    char like[PFS_MERCHANT_NAME_MAX * 8 + 3]; /* an escaped LIKE pattern */
    char gram[16];                            /* the fragment's first two characters */
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

/* The parameter number ($n) of a new text value (NULL: SQL NULL). */
static int search__text(struct search__sql *q, const char *v)
{
    if (q->np == SEARCH_PARAMS) {
        q->overflow = true;
        return SEARCH_PARAMS;
    }
    q->p[q->np] = v;
    return ++q->np;
}

static int search__int(struct search__sql *q, int64_t v)
{
    if (q->np == SEARCH_PARAMS) {
        q->overflow = true;
        return SEARCH_PARAMS;
    }
    q->p[q->np] = pfs_pg_i64(q->ints[q->np], v);
    return ++q->np;
}

/* The scope rule for a search: nothing when scope filters nothing (so
 * headquarters' pages keep their plans); else rule, written by fn with the
 * scope's two parameter numbers. */
static void search__scope(struct search__sql *q, const struct pfs_scope *scope,
                          void (*fn)(struct search__sql *q, int pp, int pm))
{
    const char *path, *merchant;
    int pp, pm;

    if (pfs_scope_all(scope))
        return;
    pfs_pg_scope_params(scope, &path, &merchant);
    pp = search__text(q, path);
    pm = search__text(q, merchant);
    search__add(q, " AND ");
    fn(q, pp, pm);
}

/* PFS_PG_SCOPE_* with parameter numbers chosen at run time: their text with
 * "$P" and "$M" replaced. */
static void search__rule(struct search__sql *q, const char *text, int pp, int pm)
{
    while (*text) {
        const char *at = strchr(text, '$');

        if (!at || (at[1] != 'P' && at[1] != 'M')) {
            size_t len = at ? (size_t)(at - text) + 1 : strlen(text);

            search__add(q, "%.*s", (int)len, text);
            text += len;
            continue;
        }
        search__add(q, "%.*s$%d", (int)(at - text), text, at[1] == 'P' ? pp : pm);
        text = at + 2;
    }
}

static void search__scope_term(struct search__sql *q, int pp, int pm)
{
    search__rule(q, PFS_PG_SCOPE_TERM("d.serial", "$P", "$M"), pp, pm);
}

static void search__scope_merchant(struct search__sql *q, int pp, int pm)
{
    search__rule(q, PFS_PG_SCOPE_MERCHANT("m.id", "$P", "$M"), pp, pm);
}

static void search__scope_alert(struct search__sql *q, int pp, int pm)
{
    search__rule(q, PFS_PG_SCOPE_TERM("a.serial", "$P", "$M"), pp, pm);
}

/* Inside a scope: rows by its own people (not a merchant user's: those see
 * only what concerns their merchant), or about its terminals or merchants. */
static void search__scope_audit(struct search__sql *q, int pp, int pm)
{
    search__rule(q,
                 "(($M::text IS NULL AND a.org_path IS NOT NULL AND a.org_path LIKE $P::text ||"
                 " '%') OR EXISTS (SELECT 1 FROM audit_ref r WHERE r.audit_id = a.id AND (CASE"
                 " WHEN r.merchant_id IS NOT NULL THEN " PFS_PG_SCOPE_MERCHANT(
                         "r.merchant_id", "$P", "$M") " ELSE " PFS_PG_SCOPE_TERM("r.serial", "$P",
                                                                                 "$M") " END)))",
                 pp, pm);
}

/* The number of UTF-8 characters of s. */
static size_t search__chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A name fragment: PF_EINVAL when empty or too long (SQLite's rule); true
 * in *trigram for an ASCII fragment of three characters or more; its LIKE
 * pattern in q->like, its first two characters in q->gram. */
static int search__frag(struct search__sql *q, const char *name, bool *trigram)
{
    size_t chars = search__chars(name), j = 0, g = 0;
    bool ascii = true;

    if (!chars || strlen(name) > PFS_MERCHANT_NAME_MAX * 4)
        return PF_EINVAL;
    for (const char *s = name; *s; s++)
        ascii = ascii && !((unsigned char)*s & 0x80);
    *trigram = ascii && chars >= 3;
    for (size_t n = 0; name[g] && g < sizeof(q->gram) - 1; g++) {
        n += ((unsigned char)name[g] & 0xC0) != 0x80;
        if (n > 2)
            break;
        q->gram[g] = name[g];
    }
    q->gram[g] = '\0';
    q->like[j++] = '%';
    for (const char *s = name; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '\\')
            q->like[j++] = '\\';
        q->like[j++] = *s;
    }
    q->like[j++] = '%';
    q->like[j] = '\0';
    return 0;
}

static int search__query(struct pfs_pg_store *st, const struct search__sql *q, const char *prefix,
                         PGresult **res)
{
    char text[sizeof(q->text) + 32];
    int rc;

    if (q->overflow)
        return PF_ELIMIT;
    snprintf(text, sizeof(text), "%s%s", prefix, q->text);
    rc = pfs_pg_query(st->pg, text, q->np, q->p, res, NULL);
    if (rc == PF_ECONN && !st->tx.open && pfs_pg_reconnect(st->pg, NULL) == 0)
        rc = pfs_pg_query(st->pg, text, q->np, q->p, res, NULL);
    return rc;
}

/* A nullable text column: NULL for SQL NULL. */
static const char *search__ctext(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

/* --- terminals --- */

static const char *const search__conn_sql[] = {
        "",
        " AND d.status = 'registered' AND s.online",
        " AND d.status = 'registered' AND s.serial IS NOT NULL AND NOT s.online",
        " AND d.status = 'registered' AND s.serial IS NULL",
        " AND d.status = 'revoked'",
};

static int search__term_sql(const struct pfs_search_terminals *q, struct search__sql *s)
{
    bool trigram = false;

    if (q->limit < 1 || (unsigned)q->conn > PFS_FILTER_REVOKED)
        return PF_EINVAL;
    memset(s, 0, sizeof(*s));
    if (q->merchant_name && search__frag(s, q->merchant_name, &trigram))
        return PF_EINVAL;
    search__add(s, "SELECT d.serial, d.model,"
                   " coalesce(t.state, CASE d.status WHEN 'revoked' THEN 'retired'"
                   " ELSE 'in_stock' END), t.merchant_id, m.name, m.region,"
                   " coalesce(t.tags::text, '[]'), coalesce(t.lock_want, false),"
                   " coalesce(t.lock_acked, true),"
                   " (SELECT string_agg(a.kind, ',' ORDER BY a.kind) FROM alerts a"
                   " WHERE a.serial = d.serial AND a.closed_ms IS NULL)"
                   " FROM devices d LEFT JOIN terminals t ON t.serial = d.serial"
                   " LEFT JOIN merchants m ON m.id = t.merchant_id");
    if (q->conn != PFS_FILTER_ANY || q->fw || q->fee)
        search__add(s, " LEFT JOIN device_state s ON s.serial = d.serial");
    search__add(s, " WHERE d.serial > $%d", search__text(s, q->after ? q->after : ""));
    search__scope(s, q->scope, search__scope_term);
    search__add(s, "%s", search__conn_sql[q->conn]);
    if (q->model)
        search__add(s, " AND d.model = $%d", search__text(s, q->model));
    if (q->fw)
        search__add(s, " AND s.fw_version = $%d", search__text(s, q->fw));
    if (q->fee)
        search__add(s, " AND s.fee_version = $%d", search__text(s, q->fee));
    if (q->state && !strcmp(q->state, "in_stock"))
        search__add(s, " AND (t.state = 'in_stock' OR (t.serial IS NULL"
                       " AND d.status = 'registered'))");
    else if (q->state && !strcmp(q->state, "retired"))
        search__add(s, " AND (t.state = 'retired' OR (t.serial IS NULL"
                       " AND d.status = 'revoked'))");
    else if (q->state)
        search__add(s, " AND t.state = $%d", search__text(s, q->state));
    if (q->merchant)
        search__add(s, " AND t.merchant_id = $%d", search__text(s, q->merchant));
    if (q->merchant_name)
        search__add(s, " AND lower(m.name) LIKE lower($%d)", search__text(s, s->like));
    if (q->region)
        search__add(s, " AND m.region = $%d", search__text(s, q->region));
    if (q->tag)
        search__add(s,
                    " AND EXISTS (SELECT 1 FROM terminal_tags g WHERE g.tag = $%d"
                    " AND g.serial = d.serial)",
                    search__text(s, q->tag));
    if (q->alert)
        search__add(s,
                    " AND EXISTS (SELECT 1 FROM alerts a WHERE a.serial = d.serial"
                    " AND a.kind = $%d AND a.closed_ms IS NULL)",
                    search__text(s, q->alert));
    if (q->lock == PFS_SEARCH_LOCK_LOCKED)
        search__add(s, " AND t.lock_want");
    else if (q->lock == PFS_SEARCH_LOCK_UNLOCKED)
        search__add(s, " AND NOT coalesce(t.lock_want, false)");
    else if (q->lock == PFS_SEARCH_LOCK_PENDING)
        search__add(s, " AND NOT t.lock_acked");
    search__add(s, " ORDER BY d.serial LIMIT %d", q->limit + 1);
    return 0;
}

/* SQLite keeps the tags as written (compact JSON); jsonb prints spaces:
 * the array is printed again compact. NULL when that fails. */
static char *search__tags(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    char *out = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

    json_decref(j);
    return out;
}

int pfs_pg_search_terminals(struct pfs_pg_store *st, const struct pfs_search_terminals *q,
                            pfs_search_terminal_cb cb, void *ctx, bool *more)
{
    struct search__sql s;
    PGresult *res = NULL;
    int rc, rows;

    *more = false;
    rc = search__term_sql(q, &s);
    if (!rc)
        rc = search__query(st, &s, "", &res);
    if (rc)
        return rc;
    rows = PQntuples(res);
    for (int r = 0; r < rows && !rc; r++) {
        struct pfs_search_terminal t;
        char *tags;

        if (r == q->limit) {
            *more = true;
            break;
        }
        tags = search__tags(PQgetvalue(res, r, 6));
        t.serial = PQgetvalue(res, r, 0);
        t.model = PQgetvalue(res, r, 1);
        t.state = PQgetvalue(res, r, 2);
        t.merchant_id = search__ctext(res, r, 3);
        t.merchant_name = search__ctext(res, r, 4);
        t.region = search__ctext(res, r, 5);
        t.tags = tags ? tags : PQgetvalue(res, r, 6);
        t.lock_wanted = pfs_pg_col_bool(res, r, 7);
        t.lock_acked = pfs_pg_col_bool(res, r, 8);
        t.alerts = PQgetvalue(res, r, 9); /* "" when NULL */
        rc = cb(ctx, &t);
        free(tags);
    }
    PQclear(res);
    return rc;
}

/* --- merchants --- */

#define SEARCH_MERCHANT_COLS PFS_PG_MERCHANT_COLS("m.")

static int search__merchant_sql(const struct pfs_search_merchants *q, struct search__sql *s)
{
    const char *key = "m.id";
    bool trigram = false;

    if (q->limit < 1)
        return PF_EINVAL;
    memset(s, 0, sizeof(*s));
    if (q->name) {
        if (search__frag(s, q->name, &trigram))
            return PF_EINVAL;
        key = "k.rid";
        if (trigram)
            search__add(s,
                        "SELECT " SEARCH_MERCHANT_COLS " FROM merchants m"
                        " JOIN merchant_keys k ON k.id = m.id WHERE lower(m.name) LIKE lower($%d)",
                        search__text(s, s->like));
        else
            search__add(s,
                        "SELECT " SEARCH_MERCHANT_COLS " FROM merchant_grams g"
                        " JOIN merchant_keys k ON k.rid = g.rid JOIN merchants m ON m.id = k.id"
                        " WHERE g.gram = lower($%d) AND lower(m.name) LIKE lower($%d)",
                        search__text(s, s->gram), search__text(s, s->like));
        if (q->after)
            search__add(s, " AND k.rid > (SELECT rid FROM merchant_keys WHERE id = $%d)",
                        search__text(s, q->after));
    } else {
        search__add(s, "SELECT " SEARCH_MERCHANT_COLS " FROM merchants m WHERE true");
        if (q->after)
            search__add(s, " AND m.id > $%d", search__text(s, q->after));
    }
    search__scope(s, q->scope, search__scope_merchant);
    if (q->uscc)
        search__add(s, " AND m.uscc = upper($%d)", search__text(s, q->uscc));
    if (q->phone)
        search__add(s, " AND m.contact_phone = $%d", search__text(s, q->phone));
    if (q->contact)
        search__add(s, " AND m.contact_name = $%d", search__text(s, q->contact));
    if (q->region)
        search__add(s, " AND m.region = $%d", search__text(s, q->region));
    if (q->status >= 0)
        search__add(s, " AND m.status = $%d",
                    search__text(s, pfs_merchant_status_names[q->status]));
    search__add(s, " ORDER BY %s LIMIT %d", key, q->limit + 1);
    return 0;
}

int pfs_pg_search_merchants(struct pfs_pg_store *st, const struct pfs_search_merchants *q,
                            pfs_search_merchant_cb cb, void *ctx, bool *more)
{
    struct search__sql s;
    struct pfs_merchant m;
    PGresult *res = NULL;
    int rc;

    *more = false;
    rc = search__merchant_sql(q, &s);
    if (!rc)
        rc = search__query(st, &s, "", &res);
    if (rc)
        return rc;
    for (int r = 0; r < PQntuples(res) && !rc; r++) {
        if (r == q->limit) {
            *more = true;
            break;
        }
        pfs_pg_acc_merchant_read(res, r, &m);
        rc = cb(ctx, &m);
    }
    PQclear(res);
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
    search__scope(s, q->scope, search__scope_alert);
    if (q->kind)
        search__add(s, " AND a.kind = $%d", search__text(s, q->kind));
    if (q->serial)
        search__add(s, " AND a.serial = $%d", search__text(s, q->serial));
    if (q->merchant)
        search__add(s, " AND a.serial IN (SELECT serial FROM terminals WHERE merchant_id = $%d)",
                    search__text(s, q->merchant));
    if (q->opened_before > 0)
        search__add(s, " AND a.opened_ms <= $%d", search__int(s, q->opened_before));
    if (q->before > 0)
        search__add(s, " AND a.id < $%d", search__int(s, q->before));
    search__add(s, " ORDER BY a.id DESC LIMIT %d", q->limit + 1);
    return 0;
}

int pfs_pg_search_alerts(struct pfs_pg_store *st, const struct pfs_search_alerts *q,
                         pfs_search_alert_cb cb, void *ctx, bool *more)
{
    struct search__sql s;
    PGresult *res = NULL;
    int rc;

    *more = false;
    rc = search__alert_sql(q, &s);
    if (!rc)
        rc = search__query(st, &s, "", &res);
    if (rc)
        return rc;
    for (int r = 0; r < PQntuples(res) && !rc; r++) {
        struct pfs_alert a;
        struct pfs_search_alert sa = {.alert = &a};

        if (r == q->limit) {
            *more = true;
            break;
        }
        memset(&a, 0, sizeof(a));
        sa.id = pfs_pg_col_i64(res, r, 0);
        pfs_pg_acc_text(res, r, 1, a.serial, sizeof(a.serial));
        pfs_pg_acc_text(res, r, 2, a.kind, sizeof(a.kind));
        a.opened_ms = pfs_pg_col_i64(res, r, 3);
        pfs_pg_acc_text(res, r, 4, a.detail, sizeof(a.detail));
        sa.merchant_id = search__ctext(res, r, 5);
        rc = cb(ctx, &sa);
    }
    PQclear(res);
    return rc;
}

/* --- audit --- */

static int search__audit_sql(const struct pfs_search_audit *q, struct search__sql *s)
{
    if (q->limit < 1)
        return PF_EINVAL;
    memset(s, 0, sizeof(*s));
    search__add(s, "SELECT a.id, a.ts_ms, a.actor, a.role, a.action, a.target, a.before, a.after,"
                   " coalesce(a.org, ''), coalesce(a.addr, '') FROM audit a WHERE true");
    search__scope(s, q->scope, search__scope_audit);
    if (q->actor)
        search__add(s, " AND a.actor = $%d", search__text(s, q->actor));
    if (q->org)
        search__add(s, " AND a.org = $%d", search__text(s, q->org));
    if (q->addr)
        search__add(s, " AND a.addr = $%d", search__text(s, q->addr));
    if (q->action)
        search__add(s, " AND a.action = $%d", search__text(s, q->action));
    if (q->target)
        search__add(s, " AND a.target = $%d", search__text(s, q->target));
    if (q->serial) {
        int p = search__text(s, q->serial);

        search__add(s,
                    " AND (a.target = $%d OR a.id IN (SELECT audit_id FROM audit_ref"
                    " WHERE serial = $%d))",
                    p, p);
    }
    if (q->merchant)
        search__add(s, " AND a.id IN (SELECT audit_id FROM audit_ref WHERE merchant_id = $%d)",
                    search__text(s, q->merchant));
    if (q->since_ms > 0)
        search__add(s, " AND a.ts_ms >= $%d", search__int(s, q->since_ms));
    if (q->until_ms > 0)
        search__add(s, " AND a.ts_ms < $%d", search__int(s, q->until_ms));
    if (q->before > 0)
        search__add(s, " AND (a.ts_ms, a.id) < (SELECT ts_ms, id FROM audit WHERE id = $%d)",
                    search__int(s, q->before));
    search__add(s, " ORDER BY a.ts_ms DESC, a.id DESC LIMIT %d", q->limit + 1);
    return 0;
}

int pfs_pg_search_audit(struct pfs_pg_store *st, const struct pfs_search_audit *q, pfs_audit_cb cb,
                        void *ctx, bool *more)
{
    struct search__sql s;
    PGresult *res = NULL;
    int rc;

    *more = false;
    rc = search__audit_sql(q, &s);
    if (!rc)
        rc = search__query(st, &s, "", &res);
    if (rc)
        return rc;
    for (int r = 0; r < PQntuples(res) && !rc; r++) {
        struct pfs_audit a;

        if (r == q->limit) {
            *more = true;
            break;
        }
        memset(&a, 0, sizeof(a));
        a.id = pfs_pg_col_i64(res, r, 0);
        a.ts_ms = pfs_pg_col_i64(res, r, 1);
        pfs_pg_acc_text(res, r, 2, a.actor, sizeof(a.actor));
        pfs_pg_acc_text(res, r, 3, a.role, sizeof(a.role));
        pfs_pg_acc_text(res, r, 4, a.action, sizeof(a.action));
        pfs_pg_acc_text(res, r, 5, a.target, sizeof(a.target));
        a.before = search__ctext(res, r, 6);
        a.after = search__ctext(res, r, 7);
        pfs_pg_acc_text(res, r, 8, a.org, sizeof(a.org));
        pfs_pg_acc_text(res, r, 9, a.addr, sizeof(a.addr));
        rc = cb(ctx, &a);
    }
    PQclear(res);
    return rc;
}

/* --- plans --- */

int pfs_pg_search_explain(struct pfs_pg_store *st, enum pfs_search_kind kind, const void *q,
                          char *buf, size_t size)
{
    struct search__sql s;
    PGresult *res = NULL;
    size_t n = 0;
    int rc;

    if (size)
        buf[0] = '\0';
    switch (kind) {
    case PFS_SEARCH_TERMINALS:
        rc = search__term_sql(q, &s);
        break;
    case PFS_SEARCH_MERCHANTS:
        rc = search__merchant_sql(q, &s);
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
        rc = search__query(st, &s, "EXPLAIN ", &res);
    if (rc)
        return rc;
    for (int r = 0; r < PQntuples(res); r++) {
        int w = snprintf(buf + n, size > n ? size - n : 0, "%s\n", PQgetvalue(res, r, 0));

        if (w > 0)
            n += (size_t)w;
        if (n >= size)
            break;
    }
    PQclear(res);
    return 0;
}
