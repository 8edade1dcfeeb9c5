/*
 * store_lifecycle.c - the SQLite side of store_lifecycle.h.
 *
 * Each change: commit the ingest batch, synchronous=FULL, BEGIN IMMEDIATE,
 * check the transition, write rows, history lines and the audit row, COMMIT;
 * any failure rolls everything back. Views are built as JSON with jansson
 * from the rows (no SQL JSON function), in the same shape whatever the backend.
 */
#include "store/store_lifecycle.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

#define LIFE_SYSTEM_ACTOR "posfleetd"
#define LIFE_SYSTEM_ROLE  "system"

static const struct pfs_actor life__system = {LIFE_SYSTEM_ACTOR, LIFE_SYSTEM_ROLE};

/* --- plumbing --- */

static int life__fail(sqlite3 *db, struct pf_error *err, const char *what)
{
    return pfs_sqlite_fail(db, err, what);
}

static int life__prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s, struct pf_error *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, s, NULL) != SQLITE_OK) {
        *s = NULL;
        return life__fail(db, err, "prepare");
    }
    return 0;
}

static void life__bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

static void life__col(sqlite3_stmt *s, int col, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(s, col);

    snprintf(out, size, "%s", t ? (const char *)t : "");
}

/* Runs a statement with no result rows and finalizes it. */
static int life__done(sqlite3 *db, sqlite3_stmt *s, struct pf_error *err, const char *what)
{
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : life__fail(db, err, what);

    sqlite3_finalize(s);
    return rc;
}

/* A single text value of a query with one text parameter (heap, or NULL). */
static char *life__text1(sqlite3 *db, const char *sql, const char *arg, int64_t iarg)
{
    sqlite3_stmt *s;
    char *out = NULL;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return NULL;
    life__bind_text(s, 1, arg);
    sqlite3_bind_int64(s, 2, iarg);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        out = strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
}

/* Dumps o (stolen) as compact JSON text, heap (NULL if o is NULL or on
 * allocation failure). Views keep their members in the order built. */
static char *life__dump(json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    return text;
}

/* Runs a one-row query (text ?1, integer ?2) and builds its row with fn. */
static json_t *life__one(sqlite3 *db, const char *sql, const char *arg, int64_t iarg,
                         json_t *(*fn)(sqlite3_stmt *s))
{
    sqlite3_stmt *s;
    json_t *o = NULL;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return NULL;
    life__bind_text(s, 1, arg);
    sqlite3_bind_int64(s, 2, iarg);
    if (sqlite3_step(s) == SQLITE_ROW)
        o = fn(s);
    sqlite3_finalize(s);
    return o;
}

/* The audit row and its references, in the open transaction. */
static int life__audit(sqlite3 *db, const struct pfs_actor *actor, int64_t now, const char *action,
                       const char *target, const char *before, const char *after,
                       const char *serial, const char *serial2, const char *merchant,
                       struct pf_error *err)
{
    struct pfs_sqlite_audit a = {actor, now,    action,  target,  before,
                                 after, serial, serial2, merchant};

    return pfs_sqlite_audit_write(db, &a, err);
}

/* A line of a terminal's history. */
static int life__event(sqlite3 *db, const char *serial, int64_t now, const char *kind, int from,
                       int to, const char *merchant, const char *other, int64_t repair_id,
                       const struct pfs_actor *actor, const char *detail, struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc = life__prepare(db,
                           "INSERT INTO terminal_events (serial, ts_ms, kind, from_state, to_state,"
                           " merchant_id, other, repair_id, actor, detail)"
                           " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
                           &s, err);

    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
    life__bind_text(s, 4, from >= 0 ? pfs_term_state_names[from] : NULL);
    life__bind_text(s, 5, to >= 0 ? pfs_term_state_names[to] : NULL);
    life__bind_text(s, 6, merchant);
    life__bind_text(s, 7, other);
    if (repair_id > 0)
        sqlite3_bind_int64(s, 8, repair_id);
    sqlite3_bind_text(s, 9, actor && actor->name ? actor->name : "-", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 10, detail ? detail : "", -1, SQLITE_TRANSIENT);
    return life__done(db, s, err, "history");
}

/* --- merchants --- */

#define LIFE_MERCHANT_COLS                                                                         \
    "id, name, uscc, mcc, address, contact_name, contact_phone, tz, settlement, fee_plan,"         \
    " status, created_ms, updated_ms, region"

static void life__merchant_read(sqlite3_stmt *s, struct pfs_merchant *m)
{
    char buf[32];

    memset(m, 0, sizeof(*m));
    life__col(s, 0, m->id, sizeof(m->id));
    life__col(s, 1, m->name, sizeof(m->name));
    life__col(s, 2, m->uscc, sizeof(m->uscc));
    life__col(s, 3, m->mcc, sizeof(m->mcc));
    life__col(s, 4, m->address, sizeof(m->address));
    life__col(s, 5, m->contact_name, sizeof(m->contact_name));
    life__col(s, 6, m->contact_phone, sizeof(m->contact_phone));
    life__col(s, 7, m->tz, sizeof(m->tz));
    life__col(s, 8, buf, sizeof(buf));
    m->settlement = strcmp(buf, "T0") == 0 ? PFS_SETTLE_T0 : PFS_SETTLE_T1;
    if (pfs_merchant_fee_plan_parse((const char *)sqlite3_column_text(s, 9), m) != 0)
        m->nfees = 0;
    life__col(s, 10, buf, sizeof(buf));
    for (int i = 0; pfs_merchant_status_names[i]; i++) {
        if (strcmp(buf, pfs_merchant_status_names[i]) == 0)
            m->status = (enum pfs_merchant_status)i;
    }
    m->created_ms = sqlite3_column_int64(s, 11);
    m->updated_ms = sqlite3_column_int64(s, 12);
    life__col(s, 13, m->region, sizeof(m->region));
}

static char *life__merchant_text(const struct pfs_merchant *m)
{
    json_t *o = pfs_merchant_to_json(m);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

    json_decref(o);
    return s;
}

int pfs_store_merchant_get(struct pfs_store *st, const char *id, struct pfs_merchant *m)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    int rc;

    if (sqlite3_prepare_v2(db, "SELECT " LIFE_MERCHANT_COLS " FROM merchants WHERE id = ?1", -1, &s,
                           NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        life__merchant_read(s, m);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? PF_ENOENT : PF_EIO;
}

static int life__merchant_write(sqlite3 *db, const struct pfs_merchant *m, bool insert,
                                struct pf_error *err)
{
    sqlite3_stmt *s;
    char *fees = pfs_merchant_fee_plan_json(m);
    int rc;

    if (!fees)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    rc = life__prepare(
            db,
            insert ? "INSERT INTO merchants (" LIFE_MERCHANT_COLS
                     ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)"
                   : "UPDATE merchants SET name=?2, uscc=?3, mcc=?4, address=?5,"
                     " contact_name=?6, contact_phone=?7, tz=?8, settlement=?9,"
                     " fee_plan=?10, status=?11, created_ms=?12, updated_ms=?13, region=?14"
                     " WHERE id=?1",
            &s, err);
    if (!rc) {
        sqlite3_bind_text(s, 1, m->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, m->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, m->uscc, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, m->mcc, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, m->address, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, m->contact_name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 7, m->contact_phone, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 8, m->tz, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 9, pfs_settlement_names[m->settlement], -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 10, fees, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 11, pfs_merchant_status_names[m->status], -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 12, m->created_ms);
        sqlite3_bind_int64(s, 13, m->updated_ms);
        sqlite3_bind_text(s, 14, m->region, -1, SQLITE_STATIC);
        rc = sqlite3_step(s) == SQLITE_DONE ? 0 : life__fail(db, err, "merchant write");
        sqlite3_finalize(s);
    }
    free(fees);
    return rc;
}

/* True if another merchant holds this credit code. */
static int life__uscc_taken(sqlite3 *db, const char *uscc, const char *id, bool *taken)
{
    sqlite3_stmt *s;
    int rc;

    if (sqlite3_prepare_v2(db, "SELECT id FROM merchants WHERE uscc = ?1 AND id <> ?2", -1, &s,
                           NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, uscc, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    *taken = rc == SQLITE_ROW;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : PF_EIO;
}

int pfs_store_merchant_add(struct pfs_store *st, const struct pfs_merchant *m,
                           const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_merchant cur, rec = *m;
    char *after = NULL;
    bool taken = false;
    int rc;

    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = pfs_store_merchant_get(st, m->id, &cur);
    if (rc == 0) {
        rc = pf_error_set(err, PF_EEXIST, "merchant %s: already exists", m->id);
        goto out_end;
    }
    if (rc != PF_ENOENT)
        goto out_end;
    rc = life__uscc_taken(db, m->uscc, m->id, &taken);
    if (!rc && taken)
        rc = pf_error_set(err, PF_EEXIST, "uscc: %s belongs to another merchant", m->uscc);
    if (rc)
        goto out_end;
    rec.status = PFS_MERCHANT_APPLIED;
    rec.created_ms = rec.updated_ms = now_ms;
    rc = life__merchant_write(db, &rec, true, err);
    if (rc)
        goto out_end;
    after = life__merchant_text(&rec);
    rc = after ? life__audit(db, actor, now_ms, "merchant.add", rec.id, NULL, after, NULL, NULL,
                             rec.id, err)
               : pf_error_set(err, PF_ENOMEM, "out of memory");
out_end:
    free(after);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_store_merchant_list(struct pfs_store *st, int status, const char *after, int limit,
                            pfs_merchant_cb cb, void *ctx, bool *more)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_merchant m;
    sqlite3_stmt *s;
    int n = 0, rc = 0, step;

    *more = false;
    if (sqlite3_prepare_v2(db,
                           "SELECT " LIFE_MERCHANT_COLS " FROM merchants WHERE (?1 IS NULL OR"
                           " status = ?1) AND (?2 IS NULL OR id > ?2) ORDER BY id LIMIT ?3",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    life__bind_text(s, 1, status >= 0 ? pfs_merchant_status_names[status] : NULL);
    life__bind_text(s, 2, after);
    sqlite3_bind_int(s, 3, limit + 1);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == limit) {
            *more = true;
            break;
        }
        life__merchant_read(s, &m);
        rc = cb(ctx, &m);
        if (rc)
            break;
        n++;
    }
    if (!rc && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

static int life__count(sqlite3 *db, const char *sql, const char *arg, int64_t *n)
{
    sqlite3_stmt *s;
    int rc;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : PF_EIO;
}

int pfs_store_merchant_change(struct pfs_store *st, const char *id, const char *action,
                              pfs_merchant_change_fn change, void *ctx,
                              const struct pfs_actor *actor, int64_t now_ms,
                              struct pfs_merchant *out, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_merchant cur, rec;
    char *before = NULL, *after = NULL, *fees = NULL;
    char act[40];
    bool taken = false;
    int rc;

    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = pfs_store_merchant_get(st, id, &cur);
    if (rc == PF_ENOENT)
        rc = pf_error_set(err, PF_ENOENT, "merchant %s: no such merchant", id);
    if (rc)
        goto out_end;
    rec = cur;
    rc = change(ctx, &rec, err);
    if (rc)
        goto out_end;
    {
        int64_t bound = 0;

        rc = life__count(db, "SELECT count(*) FROM terminals WHERE merchant_id = ?1", id, &bound);
        if (!rc)
            rc = pfs_merchant_change_check(&cur, &rec, bound, err);
        if (rc)
            goto out_end;
    }
    if (strcmp(rec.uscc, cur.uscc) != 0) {
        rc = life__uscc_taken(db, rec.uscc, id, &taken);
        if (!rc && taken)
            rc = pf_error_set(err, PF_EEXIST, "uscc: %s belongs to another merchant", rec.uscc);
        if (rc)
            goto out_end;
    }
    rec.updated_ms = now_ms;
    rc = life__merchant_write(db, &rec, false, err);
    if (rc)
        goto out_end;
    fees = pfs_merchant_fee_plan_json(&rec);
    if (!fees) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_end;
    }
    {
        sqlite3_stmt *s;

        rc = life__prepare(db,
                           "UPDATE terminals SET fee_plan = ?2, tz = ?3, updated_ms = ?4"
                           " WHERE merchant_id = ?1 AND (fee_plan IS NOT ?2 OR tz IS NOT ?3)",
                           &s, err);
        if (rc)
            goto out_end;
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, fees, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, rec.tz, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, now_ms);
        rc = life__done(db, s, err, "terminal fee plans");
        if (rc)
            goto out_end;
    }
    before = life__merchant_text(&cur);
    after = life__merchant_text(&rec);
    snprintf(act, sizeof(act), "merchant.%s", action);
    rc = before && after
                 ? life__audit(db, actor, now_ms, act, id, before, after, NULL, NULL, id, err)
                 : pf_error_set(err, PF_ENOMEM, "out of memory");
    if (!rc && out)
        *out = rec;
out_end:
    free(before);
    free(after);
    free(fees);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_store_merchant_terminals(struct pfs_store *st, const char *id, pfs_json_cb cb, void *ctx)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    int rc = 0, step;

    if (sqlite3_prepare_v2(db,
                           "SELECT t.serial AS serial, d.model AS model, t.state AS state,"
                           " t.bound_ms AS bound_ms, t.lock_want AS locked FROM terminals t"
                           " JOIN devices d ON d.serial = t.serial WHERE t.merchant_id = ?1"
                           " ORDER BY t.serial",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        char *text = life__dump(pfs_sqlite_row_json(s, "vvvvb"));

        rc = text ? cb(ctx, text) : PF_ENOMEM;
        free(text);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

/* --- terminals --- */

int pfs_store_term_get(struct pfs_store *st, const char *serial, struct pfs_term *t)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    char state[32];
    int rc;

    memset(t, 0, sizeof(*t));
    if (sqlite3_prepare_v2(db,
                           "SELECT d.serial, d.model, d.status, t.state, t.merchant_id,"
                           " coalesce(t.lock_want, 0), coalesce(t.lock_acked, 1), t.lock_cmd"
                           " FROM devices d LEFT JOIN terminals t ON t.serial = d.serial"
                           " WHERE d.serial = ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        life__col(s, 0, t->serial, sizeof(t->serial));
        life__col(s, 1, t->model, sizeof(t->model));
        t->revoked = sqlite3_column_text(s, 2) &&
                     strcmp((const char *)sqlite3_column_text(s, 2), "revoked") == 0;
        life__col(s, 3, state, sizeof(state));
        t->state = pfs_life_state(t->revoked, state[0] ? pfs_term_state_parse(state) : -1);
        life__col(s, 4, t->merchant_id, sizeof(t->merchant_id));
        t->lock_want = sqlite3_column_int(s, 5) != 0;
        t->lock_acked = sqlite3_column_int(s, 6) != 0;
        life__col(s, 7, t->lock_cmd, sizeof(t->lock_cmd));
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? PF_EUNKNOWN_SERIAL : PF_EIO;
}

/* A terminal's view: its registry entry, state, binding, lock and open repair. */
static const char life__term_view[] =
        "SELECT d.serial, d.model, d.status, t.state, t.merchant_id, t.fee_plan, t.tz,"
        " coalesce(t.tags, '[]'), t.bound_ms, t.lock_want, t.lock_cmd, t.lock_acked,"
        " t.lock_reason, t.provision, (SELECT r.id FROM repairs r WHERE r.serial = d.serial AND"
        " r.closed_ms IS NULL), t.updated_ms"
        " FROM devices d LEFT JOIN terminals t ON t.serial = d.serial WHERE d.serial = ?1";

static json_t *life__term_row(sqlite3_stmt *s)
{
    const unsigned char *status = sqlite3_column_text(s, 2), *state = sqlite3_column_text(s, 3);
    bool revoked = status && strcmp((const char *)status, "revoked") == 0;
    enum pfs_term_state st =
            pfs_life_state(revoked, state ? pfs_term_state_parse((const char *)state) : -1);
    json_t *lock = json_null();

    if (sqlite3_column_type(s, 10) != SQLITE_NULL) {
        bool want = sqlite3_column_int(s, 9) != 0;

        json_decref(lock);
        lock = json_pack("{s:o, s:s, s:o, s:o}", "command", pfs_sqlite_col_json(s, 10, 'v'),
                         "action", want ? "lock" : "unlock", "acknowledged",
                         pfs_sqlite_col_json(s, 11, 'b'), "reason",
                         pfs_sqlite_col_json(s, 12, 'v'));
    }
    return json_pack(
            "{s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "serial",
            pfs_sqlite_col_json(s, 0, 'v'), "model", pfs_sqlite_col_json(s, 1, 'v'), "registry",
            pfs_sqlite_col_json(s, 2, 'v'), "state", pfs_term_state_names[st], "merchant_id",
            pfs_sqlite_col_json(s, 4, 'v'), "fee_plan", pfs_sqlite_col_json(s, 5, 'j'), "tz",
            pfs_sqlite_col_json(s, 6, 'v'), "tags", pfs_sqlite_col_json(s, 7, 'j'), "bound_ms",
            pfs_sqlite_col_json(s, 8, 'v'), "locked", pfs_sqlite_col_json(s, 9, 'b'), "lock", lock,
            "provision", pfs_sqlite_col_json(s, 13, 'j'), "repair_id",
            pfs_sqlite_col_json(s, 14, 'v'), "updated_ms", pfs_sqlite_col_json(s, 15, 'v'));
}

static char *life__term_text(sqlite3 *db, const char *serial)
{
    return life__dump(life__one(db, life__term_view, serial, 0, life__term_row));
}

int pfs_store_term_json(struct pfs_store *st, const char *serial, char **json)
{
    struct pfs_term t;
    int rc = pfs_store_term_get(st, serial, &t);

    *json = NULL;
    if (rc)
        return rc;
    *json = life__term_text(pfs_store_sqlite_db(st), serial);
    return *json ? 0 : PF_EIO;
}

int pfs_store_term_binding(struct pfs_store *st, const char *serial,
                           char merchant_id[PFS_MERCHANT_ID_MAX + 1], char tz[PFS_TZ_MAX + 1],
                           char *fee_plan, size_t fee_plan_size)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    int rc;

    merchant_id[0] = tz[0] = '\0';
    snprintf(fee_plan, fee_plan_size, "[]");
    if (sqlite3_prepare_v2(db,
                           "SELECT t.merchant_id, t.tz, t.fee_plan FROM devices d LEFT JOIN"
                           " terminals t ON t.serial = d.serial WHERE d.serial = ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_text(s, 0)) {
        life__col(s, 0, merchant_id, PFS_MERCHANT_ID_MAX + 1);
        life__col(s, 1, tz, PFS_TZ_MAX + 1);
        if (sqlite3_column_text(s, 2))
            life__col(s, 2, fee_plan, fee_plan_size);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? PF_EUNKNOWN_SERIAL : PF_EIO;
}

/* Writes a terminal's lifecycle row (insert or update), leaving the lock
 * columns alone. NULL fields are written as NULL. */
struct life__row {
    enum pfs_term_state state;
    const char *merchant_id;
    const char *fee_plan;
    const char *tz;
    const char *tags;
    int64_t bound_ms;
    const char *provision;
};

static int life__row_put(sqlite3 *db, const char *serial, const struct life__row *r, int64_t now,
                         struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc = life__prepare(
            db,
            "INSERT INTO terminals (serial, state, merchant_id, fee_plan, tz, tags, bound_ms,"
            " provision, updated_ms) VALUES (?1,?2,?3,?4,?5,coalesce(?6,'[]'),?7,?8,?9)"
            " ON CONFLICT (serial) DO UPDATE SET state=excluded.state,"
            " merchant_id=excluded.merchant_id, fee_plan=excluded.fee_plan, tz=excluded.tz,"
            " tags=excluded.tags, bound_ms=excluded.bound_ms, provision=excluded.provision,"
            " updated_ms=excluded.updated_ms",
            &s, err);

    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, pfs_term_state_names[r->state], -1, SQLITE_STATIC);
    life__bind_text(s, 3, r->merchant_id);
    life__bind_text(s, 4, r->fee_plan);
    life__bind_text(s, 5, r->tz);
    life__bind_text(s, 6, r->tags);
    if (r->bound_ms)
        sqlite3_bind_int64(s, 7, r->bound_ms);
    life__bind_text(s, 8, r->provision);
    sqlite3_bind_int64(s, 9, now);
    return life__done(db, s, err, "terminal write");
}

/* Only the state (and updated time) of a terminal. */
static int life__state_put(sqlite3 *db, const char *serial, enum pfs_term_state to, int64_t now,
                           struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc = life__prepare(db,
                           "INSERT INTO terminals (serial, state, updated_ms) VALUES (?1,?2,?3)"
                           " ON CONFLICT (serial) DO UPDATE SET state=excluded.state,"
                           " updated_ms=excluded.updated_ms",
                           &s, err);

    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, pfs_term_state_names[to], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now);
    return life__done(db, s, err, "terminal state");
}

static int life__lock_put(sqlite3 *db, const char *serial, bool want, const char *cmd,
                          const char *reason, struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc = life__prepare(db,
                           "UPDATE terminals SET lock_want=?2, lock_cmd=?3, lock_acked=0,"
                           " lock_reason=?4 WHERE serial=?1",
                           &s, err);

    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, want);
    sqlite3_bind_text(s, 3, cmd, -1, SQLITE_STATIC);
    life__bind_text(s, 4, reason);
    return life__done(db, s, err, "terminal lock");
}

/* The registry's merchant column follows the binding, so device views show it. */
static int life__registry_merchant(sqlite3 *db, const char *serial, const char *merchant,
                                   struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc = life__prepare(db, "UPDATE devices SET merchant_id = ?2 WHERE serial = ?1", &s, err);

    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    life__bind_text(s, 2, merchant);
    return life__done(db, s, err, "registry merchant");
}

static int life__get(struct pfs_store *st, const char *serial, struct pfs_term *t,
                     struct pf_error *err)
{
    int rc = pfs_store_term_get(st, serial, t);

    if (rc == PF_EUNKNOWN_SERIAL)
        return pf_error_set(err, rc, "serial %s is not registered", serial);
    if (rc)
        return pf_error_set(err, rc, "reading %s: %s", serial, pf_strerror(rc));
    return 0;
}

/* Audits a terminal change with its view before and after. */
static int life__audit_term(sqlite3 *db, const struct pfs_actor *actor, int64_t now,
                            const char *action, const char *serial, const char *before,
                            const char *serial2, const char *merchant, struct pf_error *err)
{
    char *after = life__term_text(db, serial);
    int rc;

    if (!after)
        return life__fail(db, err, "terminal view");
    rc = life__audit(db, actor, now, action, serial, before, after, serial, serial2, merchant, err);
    free(after);
    return rc;
}

int pfs_store_term_bind(struct pfs_store *st, const char *serial, const char *merchant_id,
                        const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_merchant m;
    struct pfs_term t;
    enum pfs_term_state to;
    char *before = NULL, *fees = NULL;
    bool activate = false;
    int rc;

    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = life__get(st, serial, &t, err);
    if (!rc)
        rc = pfs_life_bind(&t, &to, err);
    if (rc)
        goto out_end;
    rc = pfs_store_merchant_get(st, merchant_id, &m);
    if (rc == PF_ENOENT)
        rc = pf_error_set(err, PF_ENOENT, "merchant %s: no such merchant", merchant_id);
    if (!rc)
        rc = pfs_life_bind_merchant(&m, &activate, err);
    if (rc)
        goto out_end;
    before = life__term_text(db, serial);
    fees = pfs_merchant_fee_plan_json(&m);
    if (!before || !fees) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_end;
    }
    {
        char *tags = life__text1(db, "SELECT tags FROM terminals WHERE serial = ?1", serial, 0);
        struct life__row r = {to, merchant_id, fees, m.tz, tags, now_ms, NULL};

        rc = life__row_put(db, serial, &r, now_ms, err);
        free(tags);
    }
    if (!rc)
        rc = life__registry_merchant(db, serial, merchant_id, err);
    if (!rc && activate) {
        struct pfs_merchant act = m;
        char *mb = life__merchant_text(&m), *ma;

        act.status = PFS_MERCHANT_ACTIVE;
        act.updated_ms = now_ms;
        ma = life__merchant_text(&act);
        rc = life__merchant_write(db, &act, false, err);
        if (!rc)
            rc = mb && ma ? life__audit(db, actor, now_ms, "merchant.activate", m.id, mb, ma, NULL,
                                        NULL, m.id, err)
                          : pf_error_set(err, PF_ENOMEM, "out of memory");
        free(mb);
        free(ma);
    }
    if (!rc)
        rc = life__event(db, serial, now_ms, "bind", (int)t.state, (int)to, merchant_id, NULL, 0,
                         actor, NULL, err);
    if (!rc)
        rc = life__audit_term(db, actor, now_ms, "terminal.bind", serial, before, NULL, merchant_id,
                              err);
out_end:
    free(before);
    free(fees);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_store_term_unbind(struct pfs_store *st, const char *serial, const struct pfs_actor *actor,
                          int64_t now_ms, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_term t;
    enum pfs_term_state to;
    char *before = NULL;
    int rc;

    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = life__get(st, serial, &t, err);
    if (!rc)
        rc = pfs_life_unbind(&t, &to, err);
    if (rc)
        goto out_end;
    before = life__term_text(db, serial);
    if (!before) {
        rc = life__fail(db, err, "terminal view");
        goto out_end;
    }
    {
        char *tags = life__text1(db, "SELECT tags FROM terminals WHERE serial = ?1", serial, 0);
        struct life__row r = {to, NULL, NULL, NULL, tags, 0, NULL};

        rc = life__row_put(db, serial, &r, now_ms, err);
        free(tags);
    }
    if (!rc)
        rc = life__registry_merchant(db, serial, NULL, err);
    if (!rc)
        rc = life__event(db, serial, now_ms, "unbind", (int)t.state, (int)to, t.merchant_id, NULL,
                         0, actor, NULL, err);
    if (!rc)
        rc = life__audit_term(db, actor, now_ms, "terminal.unbind", serial, before, NULL,
                              t.merchant_id, err);
out_end:
    free(before);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_store_term_retire(struct pfs_store *st, const char *serial, const struct pfs_actor *actor,
                          int64_t now_ms, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_term t;
    enum pfs_term_state to;
    char *before = NULL;
    int64_t open = 0;
    int rc;

    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = life__get(st, serial, &t, err);
    if (!rc)
        rc = life__count(db, "SELECT count(*) FROM repairs WHERE serial=?1 AND closed_ms IS NULL",
                         serial, &open);
    if (!rc)
        rc = pfs_life_retire(&t, open > 0, &to, err);
    if (rc)
        goto out_end;
    before = life__term_text(db, serial);
    if (!before) {
        rc = life__fail(db, err, "terminal view");
        goto out_end;
    }
    rc = life__state_put(db, serial, to, now_ms, err);
    if (!rc) {
        sqlite3_stmt *s;

        rc = life__prepare(db,
                           "UPDATE devices SET status='revoked', revoked_ms=?2 WHERE serial=?1"
                           " AND status <> 'revoked'",
                           &s, err);
        if (!rc) {
            sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 2, now_ms);
            rc = life__done(db, s, err, "revoke");
        }
    }
    if (!rc)
        rc = life__event(db, serial, now_ms, "retire", (int)t.state, (int)to, NULL, NULL, 0, actor,
                         "certificate revoked in posfleetd", err);
    if (!rc)
        rc = life__audit_term(db, actor, now_ms, "terminal.retire", serial, before, NULL, NULL,
                              err);
out_end:
    free(before);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_store_term_tags(struct pfs_store *st, const char *serial, const char *tags_json,
                        const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_term t;
    char *before = NULL;
    sqlite3_stmt *s;
    int rc;

    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = life__get(st, serial, &t, err);
    if (!rc)
        rc = pfs_life_tags(&t, err);
    if (rc)
        goto out_end;
    before = life__term_text(db, serial);
    rc = life__prepare(db,
                       "INSERT INTO terminals (serial, state, tags, updated_ms) VALUES"
                       " (?1,?2,?3,?4) ON CONFLICT (serial) DO UPDATE SET tags=excluded.tags,"
                       " updated_ms=excluded.updated_ms",
                       &s, err);
    if (rc)
        goto out_end;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, pfs_term_state_names[t.state], -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, tags_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now_ms);
    rc = life__done(db, s, err, "tags");
    if (!rc)
        rc = life__audit_term(db, actor, now_ms, "terminal.tags", serial, before, NULL,
                              t.merchant_id[0] ? t.merchant_id : NULL, err);
out_end:
    free(before);
    return pfs_sqlite_end(st, rc, err);
}

/* The newest report, as a repair's snapshot keeps it. */
static json_t *life__snapshot_health(sqlite3_stmt *s)
{
    int paper = sqlite3_column_int(s, 10);

    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, "
                     "s:o}",
                     "seq", pfs_sqlite_col_json(s, 0, 'v'), "ts_ms", pfs_sqlite_col_json(s, 1, 'v'),
                     "recv_ms", pfs_sqlite_col_json(s, 2, 'v'), "battery_pct",
                     pfs_sqlite_col_json(s, 3, 'v'), "charging", pfs_sqlite_col_json(s, 4, 'v'),
                     "signal_dbm", pfs_sqlite_col_json(s, 5, 'v'), "temp_c",
                     pfs_sqlite_col_json(s, 6, 'v'), "fw_version", pfs_sqlite_col_json(s, 7, 'v'),
                     "fee_version", pfs_sqlite_col_json(s, 8, 'v'), "paper",
                     paper >= PF_PAPER_OK && paper < PF_PAPER_NONE ? pf_paper_names[paper]
                                                                   : pf_paper_names[PF_PAPER_NONE],
                     "tamper", pfs_sqlite_col_json(s, 9, 'b'), "selftest",
                     pfs_sqlite_col_json(s, 11, 'v'), "err_reader", pfs_sqlite_col_json(s, 12, 'v'),
                     "err_printer", pfs_sqlite_col_json(s, 13, 'v'), "uptime_s",
                     pfs_sqlite_col_json(s, 14, 'v'));
}

/* Appends each row of a query (text ?1) to arr, built by kinds. */
static int life__rows(sqlite3 *db, const char *sql, const char *serial, int limit,
                      const char *kinds, json_t *arr)
{
    sqlite3_stmt *s;
    int step;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, limit);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *o = pfs_sqlite_row_json(s, kinds);

        if (!o || json_array_append_new(arr, o)) {
            sqlite3_finalize(s);
            return PF_ENOMEM;
        }
    }
    sqlite3_finalize(s);
    return step == SQLITE_DONE ? 0 : PF_EIO;
}

/* What a repair record keeps of the terminal when it opens (JSON text, heap):
 * its newest report, its open alerts and its five newest answered
 * diagnostic requests. */
static char *life__snapshot(sqlite3 *db, const char *serial, int64_t now)
{
    json_t *health = life__one(db,
                               "SELECT h.seq, h.ts_ms, h.recv_ms, h.battery_pct, h.charging,"
                               " h.signal_dbm, h.temp_c, h.fw_version, h.fee_version, h.tamper,"
                               " h.paper, h.selftest, h.err_reader, h.err_printer, h.uptime_s"
                               " FROM device_state s JOIN health h ON h.id = s.health_id"
                               " WHERE s.serial = ?1",
                               serial, 0, life__snapshot_health);
    json_t *alerts = json_array(), *diags = json_array();
    int rc = alerts && diags ? 0 : PF_ENOMEM;

    if (!rc)
        rc = life__rows(db,
                        "SELECT kind, opened_ms, detail FROM alerts WHERE serial = ?1 AND"
                        " closed_ms IS NULL ORDER BY id LIMIT ?2",
                        serial, -1, "vvv", alerts);
    if (!rc)
        rc = life__rows(db,
                        "SELECT id, command, status, code, answered_ms, result FROM diag_requests"
                        " WHERE serial = ?1 AND answered_ms IS NOT NULL ORDER BY created_ms DESC"
                        " LIMIT ?2",
                        serial, 5, "vvvvvj", diags);
    if (rc) {
        json_decref(health);
        json_decref(alerts);
        json_decref(diags);
        return NULL;
    }
    return life__dump(json_pack("{s:I, s:o, s:o, s:o}", "taken_ms", (json_int_t)now, "health",
                                health ? health : json_null(), "alerts", alerts, "diagnostics",
                                diags));
}

static int life__repair_insert(sqlite3 *db, const char *serial, const char *source,
                               const char *reason, const char *merchant, const char *replaced_by,
                               const char *faults, int64_t now, int64_t *id, struct pf_error *err)
{
    char *snap = life__snapshot(db, serial, now);
    sqlite3_stmt *s;
    int rc;

    if (!snap)
        return life__fail(db, err, "repair snapshot");
    rc = life__prepare(db,
                       "INSERT INTO repairs (serial, state, source, reason, merchant_id,"
                       " replaced_by, fault_codes, snapshot, opened_ms, updated_ms)"
                       " VALUES (?1,'open',?2,?3,?4,?5,coalesce(?6,'[]'),?7,?8,?8)",
                       &s, err);
    if (!rc) {
        sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, source, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
        life__bind_text(s, 4, merchant);
        life__bind_text(s, 5, replaced_by);
        life__bind_text(s, 6, faults);
        sqlite3_bind_text(s, 7, snap, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 8, now);
        rc = life__done(db, s, err, "repair open");
    }
    free(snap);
    if (!rc)
        *id = sqlite3_last_insert_rowid(db);
    return rc;
}

static int life__open_repair_id(sqlite3 *db, const char *serial, int64_t *id)
{
    return life__count(db,
                       "SELECT coalesce(max(id), 0) FROM repairs WHERE serial = ?1 AND"
                       " closed_ms IS NULL",
                       serial, id);
}

static char *life__repair_text(sqlite3 *db, int64_t id);

int pfs_store_term_swap(struct pfs_store *st, const char *old_serial, const char *new_serial,
                        const char *reason, pfs_swap_hook hook, void *hook_ctx,
                        const struct pfs_actor *actor, int64_t now_ms, int64_t *repair_id,
                        struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_term o, n;
    enum pfs_term_state oto, nto;
    char *ob = NULL, *nb = NULL, *fees = NULL, *tz = NULL, *tags = NULL, *prov = NULL;
    char detail[300];
    int64_t rid = 0;
    int rc;

    *repair_id = 0;
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = life__get(st, old_serial, &o, err);
    if (!rc)
        rc = life__get(st, new_serial, &n, err);
    if (rc)
        goto out_end;
    rc = pfs_life_swap(&o, &n, &oto, &nto, err);
    if (rc)
        goto out_end;
    ob = life__term_text(db, old_serial);
    nb = life__term_text(db, new_serial);
    fees = life__text1(db, "SELECT fee_plan FROM terminals WHERE serial = ?1", old_serial, 0);
    tz = life__text1(db, "SELECT tz FROM terminals WHERE serial = ?1", old_serial, 0);
    tags = life__text1(db, "SELECT tags FROM terminals WHERE serial = ?1", old_serial, 0);
    {
        json_t *p =
                json_pack("{s:s, s:s, s:o, s:s, s:I}", "firmware", "fleet_target", "from",
                          old_serial, "fee_plan", fees ? json_loads(fees, 0, NULL) : json_array(),
                          "reason", "swap", "since_ms", (json_int_t)now_ms);

        prov = p ? json_dumps(p, JSON_COMPACT) : NULL;
        json_decref(p);
    }
    if (!ob || !nb || !prov) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_end;
    }
    {
        struct life__row nr = {nto, o.merchant_id, fees, tz, tags, now_ms, prov};
        struct life__row orow = {oto, NULL, NULL, NULL, "[]", 0, NULL};

        rc = life__row_put(db, new_serial, &nr, now_ms, err);
        if (!rc)
            rc = life__row_put(db, old_serial, &orow, now_ms, err);
    }
    if (!rc)
        rc = life__registry_merchant(db, new_serial, o.merchant_id, err);
    if (!rc)
        rc = life__registry_merchant(db, old_serial, NULL, err);
    /* Rollout memberships and other per-terminal assignments move here. */
    if (!rc && hook)
        rc = hook(hook_ctx, &st->tx, old_serial, new_serial, err);
    if (rc)
        goto out_end;
    rc = life__open_repair_id(db, old_serial, &rid);
    if (!rc && rid > 0) {
        /* A tamper repair is already open: it now also records the swap. */
        sqlite3_stmt *s;
        char *snap = life__snapshot(db, old_serial, now_ms);

        rc = life__prepare(db,
                           "UPDATE repairs SET replaced_by=?2, merchant_id=coalesce(merchant_id,"
                           " ?3), snapshot=coalesce(?4, snapshot), notes = notes ||"
                           " CASE WHEN notes = '' THEN '' ELSE char(10) END || ?5,"
                           " updated_ms=?6 WHERE id=?1",
                           &s, err);
        if (!rc) {
            snprintf(detail, sizeof(detail), "swapped for %s: %s", new_serial, reason);
            sqlite3_bind_int64(s, 1, rid);
            sqlite3_bind_text(s, 2, new_serial, -1, SQLITE_STATIC);
            life__bind_text(s, 3, o.merchant_id);
            life__bind_text(s, 4, snap);
            sqlite3_bind_text(s, 5, detail, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 6, now_ms);
            rc = life__done(db, s, err, "repair update");
        }
        free(snap);
    } else if (!rc) {
        rc = life__repair_insert(db, old_serial, "swap", reason, o.merchant_id, new_serial, NULL,
                                 now_ms, &rid, err);
    }
    if (rc)
        goto out_end;
    snprintf(detail, sizeof(detail), "%s", reason);
    rc = life__event(db, old_serial, now_ms, "swap_out", (int)o.state, (int)oto, o.merchant_id,
                     new_serial, rid, actor, detail, err);
    if (!rc)
        rc = life__event(db, new_serial, now_ms, "swap_in", (int)n.state, (int)nto, o.merchant_id,
                         old_serial, 0, actor, detail, err);
    if (!rc) {
        json_t *b = json_pack("{s:o, s:o}", "old", json_loads(ob, 0, NULL), "new",
                              json_loads(nb, 0, NULL));
        char *oa = life__term_text(db, old_serial), *na = life__term_text(db, new_serial);
        char *rj = life__repair_text(db, rid);
        json_t *a = oa && na && rj
                            ? json_pack("{s:o, s:o, s:o, s:s}", "old", json_loads(oa, 0, NULL),
                                        "new", json_loads(na, 0, NULL), "repair",
                                        json_loads(rj, 0, NULL), "reason", reason)
                            : NULL;
        char *bs = b ? json_dumps(b, JSON_COMPACT) : NULL,
             *as = a ? json_dumps(a, JSON_COMPACT) : NULL;

        rc = bs && as ? life__audit(db, actor, now_ms, "terminal.swap", old_serial, bs, as,
                                    old_serial, new_serial, o.merchant_id, err)
                      : pf_error_set(err, PF_ENOMEM, "out of memory");
        json_decref(b);
        json_decref(a);
        free(bs);
        free(as);
        free(oa);
        free(na);
        free(rj);
    }
    if (!rc)
        *repair_id = rid;
out_end:
    free(ob);
    free(nb);
    free(fees);
    free(tz);
    free(tags);
    free(prov);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_store_term_activate(struct pfs_store *st, const char *serial, int64_t now_ms, bool *changed)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pf_error err = {0};
    enum pfs_term_state to;
    struct pfs_term t;
    char *before = NULL;
    int rc;

    *changed = false;
    rc = pfs_store_term_get(st, serial, &t);
    if (rc || !pfs_life_activates(&t, &to))
        return rc;
    rc = pfs_sqlite_begin(st, now_ms, &err);
    if (rc)
        return rc;
    before = life__term_text(db, serial);
    rc = before ? life__state_put(db, serial, to, now_ms, &err) : PF_EIO;
    if (!rc)
        rc = life__event(db, serial, now_ms, "activate", (int)t.state, (int)to, t.merchant_id, NULL,
                         0, &life__system, "first report after binding", &err);
    if (!rc)
        rc = life__audit_term(db, &life__system, now_ms, "terminal.activate", serial, before, NULL,
                              t.merchant_id, &err);
    free(before);
    rc = pfs_sqlite_end(st, rc, &err);
    *changed = rc == 0;
    return rc;
}

int pfs_store_term_tamper(struct pfs_store *st, const char *serial, const char *cmd_id,
                          int64_t now_ms, bool *changed, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_term t;
    enum pfs_term_state to;
    char *before = NULL;
    int64_t rid = 0;
    int rc;

    *changed = false;
    rc = pfs_store_term_get(st, serial, &t);
    if (rc)
        return rc;
    if (!pfs_life_tamper_locks(&t, &to))
        return 0; /* already locked, in repair or retired */
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    before = life__term_text(db, serial);
    rc = before ? life__state_put(db, serial, to, now_ms, err) : PF_EIO;
    if (!rc)
        rc = life__lock_put(db, serial, true, cmd_id, "tamper", err);
    if (!rc)
        rc = life__repair_insert(db, serial, "tamper", "tamper reported by the terminal",
                                 t.merchant_id[0] ? t.merchant_id : NULL, NULL, "[\"TAMPER\"]",
                                 now_ms, &rid, err);
    if (!rc)
        rc = life__event(db, serial, now_ms, "lock", (int)t.state, (int)to, t.merchant_id, NULL,
                         rid, &life__system, "tamper: payments locked, repair opened", err);
    if (!rc)
        rc = life__audit_term(db, &life__system, now_ms, "terminal.lock", serial, before, NULL,
                              t.merchant_id[0] ? t.merchant_id : NULL, err);
    free(before);
    rc = pfs_sqlite_end(st, rc, err);
    *changed = rc == 0;
    return rc;
}

int pfs_store_term_lock_report(struct pfs_store *st, const char *serial, const char *cmd_id,
                               bool locked, int64_t now_ms, bool *matched)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pf_error err = {0};
    struct pfs_term t;
    sqlite3_stmt *s;
    int rc;

    *matched = false;
    rc = pfs_store_term_get(st, serial, &t);
    if (rc)
        return rc;
    if (!pfs_life_lock_confirms(&t, cmd_id, locked))
        return 0;
    rc = pfs_sqlite_begin(st, now_ms, &err);
    if (rc)
        return rc;
    rc = life__prepare(db, "UPDATE terminals SET lock_acked = 1 WHERE serial = ?1", &s, &err);
    if (!rc) {
        sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
        rc = life__done(db, s, &err, "lock acknowledged");
    }
    if (!rc)
        rc = life__event(db, serial, now_ms, locked ? "locked" : "unlocked", -1, -1, NULL, NULL, 0,
                         &life__system,
                         locked ? "terminal confirmed: payments disabled"
                                : "terminal confirmed: payments enabled",
                         &err);
    rc = pfs_sqlite_end(st, rc, &err);
    *matched = rc == 0;
    return rc;
}

int pfs_store_lock_pending_each(struct pfs_store *st, pfs_lock_pending_cb cb, void *ctx)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    int rc = 0, step;

    if (sqlite3_prepare_v2(
                db,
                "SELECT serial, lock_cmd, lock_want, coalesce(lock_reason, '') FROM"
                " terminals WHERE lock_acked = 0 AND lock_cmd IS NOT NULL AND state <> 'retired'",
                -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct pfs_lock_pending p = {
                (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
                sqlite3_column_int(s, 2) != 0, (const char *)sqlite3_column_text(s, 3)};

        rc = cb(ctx, &p);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

int pfs_store_term_installed_each(struct pfs_store *st, pfs_serial_cb cb, void *ctx)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    int rc = 0, step;

    if (sqlite3_prepare_v2(db, "SELECT serial FROM terminals WHERE state = 'installed'", -1, &s,
                           NULL) != SQLITE_OK)
        return PF_EIO;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        rc = cb(ctx, (const char *)sqlite3_column_text(s, 0));
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

/* --- repairs --- */

/* A repair record's view (LIFE_REPAIR_KINDS: how each column is read). */
static const char life__repair_view[] =
        "SELECT id, serial, state, source, reason, merchant_id, replaced_by, fault_codes, parts,"
        " notes, snapshot, opened_ms, received_ms, diagnosed_ms, repaired_ms, closed_ms,"
        " updated_ms FROM repairs";
#define LIFE_REPAIR_KINDS "vvvvvvvjjvjvvvvvv"

static json_t *life__repair_row(sqlite3_stmt *s)
{
    return pfs_sqlite_row_json(s, LIFE_REPAIR_KINDS);
}

static char *life__repair_text(sqlite3 *db, int64_t id)
{
    char sql[sizeof(life__repair_view) + 32];

    snprintf(sql, sizeof(sql), "%s WHERE id = ?2", life__repair_view);
    return life__dump(life__one(db, sql, NULL, id, life__repair_row));
}

int pfs_store_repair_json(struct pfs_store *st, int64_t id, char **json)
{
    *json = life__repair_text(pfs_store_sqlite_db(st), id);
    return *json ? 0 : PF_ENOENT;
}

int pfs_store_repair_open(struct pfs_store *st, const char *serial, const char *reason,
                          const char *faults_json, const struct pfs_actor *actor, int64_t now_ms,
                          int64_t *id, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct pfs_term t;
    enum pfs_term_state to;
    char *before = NULL, *rj = NULL;
    int64_t open = 0;
    int rc;

    *id = 0;
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = life__get(st, serial, &t, err);
    if (!rc)
        rc = life__open_repair_id(db, serial, &open);
    if (!rc)
        rc = pfs_life_repair_open(&t, open, &to, err);
    if (rc)
        goto out_end;
    before = life__term_text(db, serial);
    rc = before ? life__state_put(db, serial, to, now_ms, err) : life__fail(db, err, "view");
    if (!rc)
        rc = life__repair_insert(db, serial, "support", reason, NULL, NULL, faults_json, now_ms, id,
                                 err);
    if (!rc)
        rc = life__event(db, serial, now_ms, "repair_open", (int)t.state, (int)to, NULL, NULL, *id,
                         actor, reason, err);
    if (!rc) {
        rj = life__repair_text(db, *id);
        rc = rj ? life__audit(db, actor, now_ms, "repair.open", serial, before, rj, serial, NULL,
                              NULL, err)
                : life__fail(db, err, "repair view");
    }
out_end:
    free(before);
    free(rj);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_store_repair_change(struct pfs_store *st, int64_t id, const struct pfs_repair_change *c,
                            const struct pfs_actor *actor, int64_t now_ms, bool *unlock,
                            char *serial_out, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    char serial[PF_SERIAL_MAX + 1] = "", state[32] = "", merchant[PFS_MERCHANT_ID_MAX + 1] = "";
    char *before = NULL, *after = NULL;
    enum pfs_repair_state from;
    struct pfs_term t;
    sqlite3_stmt *s;
    int rc;

    *unlock = false;
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = life__prepare(db,
                       "SELECT serial, state, coalesce(merchant_id, '') FROM repairs WHERE id=?1",
                       &s, err);
    if (rc)
        goto out_end;
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW) {
        life__col(s, 0, serial, sizeof(serial));
        life__col(s, 1, state, sizeof(state));
        life__col(s, 2, merchant, sizeof(merchant));
    }
    sqlite3_finalize(s);
    if (!serial[0]) {
        rc = pf_error_set(err, PF_ENOENT, "repair %lld: no such repair", (long long)id);
        goto out_end;
    }
    if (serial_out)
        memcpy(serial_out, serial, sizeof(serial));
    from = (enum pfs_repair_state)pfs_repair_state_parse(state);
    rc = pfs_repair_check(id, from, c->to, err);
    if (rc)
        goto out_end;
    rc = life__get(st, serial, &t, err);
    if (rc)
        goto out_end;
    before = life__repair_text(db, id);
    /* The terminal follows the repair. */
    if (c->to >= 0) {
        struct pfs_repair_plan plan;

        rc = pfs_repair_plan_for(id, (enum pfs_repair_state)c->to, &t, &plan, err);
        if (rc)
            goto out_end;
        if (plan.leaves_field) {
            char *tags = life__text1(db, "SELECT tags FROM terminals WHERE serial = ?1", serial, 0);
            struct life__row r = {plan.to, NULL, NULL, NULL, tags, 0, NULL};

            rc = life__row_put(db, serial, &r, now_ms, err);
            free(tags);
            if (!rc && t.merchant_id[0])
                rc = life__registry_merchant(db, serial, NULL, err);
        } else if (plan.to != t.state) {
            rc = life__state_put(db, serial, plan.to, now_ms, err);
        }
        if (!rc) {
            /* Every step of the repair is a line of the terminal's history. */
            rc = life__event(db, serial, now_ms, pfs_term_event_names[plan.ev], (int)t.state,
                             (int)plan.to, NULL, NULL, id, actor, pfs_repair_state_names[c->to],
                             err);
        }
        if (!rc && plan.revoke) {
            rc = life__prepare(db,
                               "UPDATE devices SET status='revoked', revoked_ms=?2 WHERE"
                               " serial=?1 AND status <> 'revoked'",
                               &s, err);
            if (!rc) {
                sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
                sqlite3_bind_int64(s, 2, now_ms);
                rc = life__done(db, s, err, "revoke");
            }
        }
        if (!rc && plan.unlock) {
            rc = life__lock_put(db, serial, false, c->unlock_cmd, "repair closed", err);
            if (!rc)
                rc = life__event(db, serial, now_ms, "unlock", -1, -1, NULL, NULL, id, actor,
                                 "repair closed: unlock command sent", err);
            *unlock = rc == 0;
        }
        if (rc)
            goto out_end;
    }
    rc = life__prepare(db,
                       "UPDATE repairs SET state = coalesce(?2, state),"
                       " fault_codes = coalesce(?3, fault_codes), parts = coalesce(?4, parts),"
                       " notes = CASE WHEN ?5 IS NULL THEN notes WHEN notes = '' THEN ?5"
                       " ELSE notes || char(10) || ?5 END,"
                       " received_ms = CASE WHEN ?2 = 'received' THEN ?6 ELSE received_ms END,"
                       " diagnosed_ms = CASE WHEN ?2 = 'diagnosed' THEN ?6 ELSE diagnosed_ms END,"
                       " repaired_ms = CASE WHEN ?2 = 'repaired' THEN ?6 ELSE repaired_ms END,"
                       " closed_ms = CASE WHEN ?2 IN ('returned_to_stock', 'scrapped') THEN ?6"
                       " ELSE closed_ms END, updated_ms = ?6 WHERE id = ?1",
                       &s, err);
    if (rc)
        goto out_end;
    sqlite3_bind_int64(s, 1, id);
    life__bind_text(s, 2, c->to >= 0 ? pfs_repair_state_names[c->to] : NULL);
    life__bind_text(s, 3, c->faults_json);
    life__bind_text(s, 4, c->parts_json);
    life__bind_text(s, 5, c->notes);
    sqlite3_bind_int64(s, 6, now_ms);
    rc = life__done(db, s, err, "repair update");
    if (rc)
        goto out_end;
    after = life__repair_text(db, id);
    rc = before && after
                 ? life__audit(db, actor, now_ms,
                               c->to >= 0 && pfs_repair_state_final((enum pfs_repair_state)c->to)
                                       ? "repair.close"
                                       : "repair.update",
                               serial, before, after, serial, NULL, merchant[0] ? merchant : NULL,
                               err)
                 : life__fail(db, err, "repair view");
    if (!rc && c->to < 0)
        rc = life__event(db, serial, now_ms, "repair_update", -1, -1, NULL, NULL, id, actor,
                         "fault codes, parts or notes", err);
out_end:
    free(before);
    free(after);
    return pfs_sqlite_end(st, rc, err);
}

int pfs_store_repair_list(struct pfs_store *st, const char *serial, int state, int limit,
                          pfs_json_cb cb, void *ctx)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    char sql[sizeof(life__repair_view) + 200];
    sqlite3_stmt *s;
    int rc = 0, step;

    snprintf(sql, sizeof(sql),
             "%s WHERE (?1 IS NULL OR serial = ?1) AND (?2 IS NULL OR state = ?2) AND"
             " (?3 = 0 OR closed_ms IS NULL) ORDER BY id DESC LIMIT ?4",
             life__repair_view);
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    life__bind_text(s, 1, serial);
    life__bind_text(s, 2, state >= 0 ? pfs_repair_state_names[state] : NULL);
    sqlite3_bind_int(s, 3, state == -2);
    sqlite3_bind_int(s, 4, limit);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        char *text = life__dump(life__repair_row(s));

        rc = text ? cb(ctx, text) : PF_ENOMEM;
        free(text);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}

/* --- history and audit --- */

int pfs_store_history_json(struct pfs_store *st, const char *serial, int limit, char **json)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    char sql[sizeof(life__repair_view) + 128];
    json_t *o = NULL, *events = json_array(), *repairs = json_array(), *updates = json_array();
    char *term = NULL;
    int rc;

    *json = NULL;
    rc = pfs_store_term_json(st, serial, &term);
    if (rc)
        goto out_free;
    if (!events || !repairs || !updates) {
        rc = PF_ENOMEM;
        goto out_free;
    }
    rc = life__rows(db,
                    "SELECT id, ts_ms, kind, from_state AS \"from\", to_state AS \"to\","
                    " merchant_id, other, repair_id, actor, detail FROM (SELECT * FROM"
                    " terminal_events WHERE serial = ?1 ORDER BY id DESC LIMIT ?2)"
                    " ORDER BY id",
                    serial, limit, "vvvvvvvvvv", events);
    snprintf(sql, sizeof(sql), "%s WHERE serial = ?1 ORDER BY id DESC LIMIT ?2", life__repair_view);
    if (!rc)
        rc = life__rows(db, sql, serial, limit, LIFE_REPAIR_KINDS, repairs);
    if (!rc)
        rc = life__rows(db,
                        "SELECT recv_ms AS ts_ms, offer, bundle, kind, version, status, reason,"
                        " code, message FROM update_events WHERE serial = ?1 ORDER BY seq DESC"
                        " LIMIT ?2",
                        serial, limit, "vvvvvvvvv", updates);
    if (rc)
        goto out_free;
    o = json_pack("{s:s, s:o, s:O, s:O, s:O}", "serial", serial, "terminal",
                  json_loads(term, 0, NULL), "events", events, "repairs", repairs, "updates",
                  updates);
    *json = o ? json_dumps(o, JSON_COMPACT) : NULL;
    rc = *json ? 0 : PF_ENOMEM;
out_free:
    json_decref(o);
    json_decref(events);
    json_decref(repairs);
    json_decref(updates);
    free(term);
    return rc;
}

int pfs_store_audit_query(struct pfs_store *st, const char *serial, const char *merchant_id,
                          int64_t since_ms, int64_t before_id, int limit, pfs_audit_cb cb,
                          void *ctx)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    int rc = 0, step;

    if (sqlite3_prepare_v2(
                db,
                "SELECT id, ts_ms, actor, role, action, target, before, after FROM audit a"
                " WHERE (?1 IS NULL OR a.target = ?1 OR a.id IN (SELECT audit_id FROM audit_ref"
                " WHERE serial = ?1))"
                " AND (?2 IS NULL OR a.id IN (SELECT audit_id FROM audit_ref WHERE"
                " merchant_id = ?2))"
                " AND a.ts_ms >= ?3 AND (?4 = 0 OR a.id < ?4) ORDER BY a.id DESC LIMIT ?5",
                -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    life__bind_text(s, 1, serial);
    life__bind_text(s, 2, merchant_id);
    sqlite3_bind_int64(s, 3, since_ms);
    sqlite3_bind_int64(s, 4, before_id);
    sqlite3_bind_int(s, 5, limit);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct pfs_audit a;

        memset(&a, 0, sizeof(a));
        a.id = sqlite3_column_int64(s, 0);
        a.ts_ms = sqlite3_column_int64(s, 1);
        life__col(s, 2, a.actor, sizeof(a.actor));
        life__col(s, 3, a.role, sizeof(a.role));
        life__col(s, 4, a.action, sizeof(a.action));
        life__col(s, 5, a.target, sizeof(a.target));
        a.before = (const char *)sqlite3_column_text(s, 6);
        a.after = (const char *)sqlite3_column_text(s, 7);
        rc = cb(ctx, &a);
        if (rc)
            break;
    }
    if (!rc && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = PF_EIO;
    sqlite3_finalize(s);
    return rc;
}
