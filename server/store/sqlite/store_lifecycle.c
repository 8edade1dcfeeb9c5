/*
 * store_lifecycle.c - the lifecycle rows of the SQLite backend, shared by its
 * files for store_lifecycle.h (store_lifecycle_internal.h): loading and
 * saving merchants, terminals and repairs, history lines, audit rows with
 * their references, and reading the records of the views (terminal, repair,
 * snapshot) into store_lifecycle.h's structs. The JSON text of audit rows and
 * snapshots comes from store/record_json.h with those structs (no SQL JSON
 * function, no JSON built here). The calls themselves are in
 * store_merchants.c, store_terminals.c and store_repairs.c: each commits the
 * ingest batch, opens a FULL transaction, loads rows, lets the rules of
 * lifecycle/ decide, saves rows, history lines and the audit row, and
 * commits; any failure rolls everything back.
 */
#include "store/sqlite/store_lifecycle_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/record_json.h"
#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

const struct pfs_actor life__system = {.name = "posfleetd", .role = "system"};

/* --- plumbing --- */

int life__fail(sqlite3 *db, struct pf_error *err, const char *what)
{
    return pfs_sqlite_fail(db, err, what);
}

int life__prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s, struct pf_error *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, s, NULL) != SQLITE_OK) {
        *s = NULL;
        return life__fail(db, err, "prepare");
    }
    return 0;
}

void life__bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

void life__col(sqlite3_stmt *s, int col, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(s, col);

    snprintf(out, size, "%s", t ? (const char *)t : "");
}

int life__cached(sqlite3 *db, const char *sql, sqlite3_stmt **s, struct pf_error *err)
{
    if (pfs_sqlite_cached(db, sql, s)) {
        *s = NULL;
        return life__fail(db, err, "prepare");
    }
    return 0;
}

int life__done_cached(sqlite3 *db, sqlite3_stmt *s, struct pf_error *err, const char *what)
{
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : life__fail(db, err, what);

    pfs_sqlite_cached_put(s);
    return rc;
}

/* Runs a statement with no result rows and finalizes it. */
int life__done(sqlite3 *db, sqlite3_stmt *s, struct pf_error *err, const char *what)
{
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : life__fail(db, err, what);

    sqlite3_finalize(s);
    return rc;
}

/* A single text value of a query with one text parameter (heap, or NULL). */
char *life__text1(sqlite3 *db, const char *sql, const char *arg, int64_t iarg)
{
    sqlite3_stmt *s;
    char *out = NULL;

    if (pfs_sqlite_cached(db, sql, &s))
        return NULL;
    life__bind_text(s, 1, arg);
    sqlite3_bind_int64(s, 2, iarg);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        out = strdup((const char *)sqlite3_column_text(s, 0));
    pfs_sqlite_cached_put(s);
    return out;
}

/* The audit row and its references, in the open transaction. */
int life__audit(sqlite3 *db, const struct pfs_actor *actor, int64_t now, const char *action,
                const char *target, const char *before, const char *after, const char *serial,
                const char *serial2, const char *merchant, struct pf_error *err)
{
    struct pfs_sqlite_audit a = {actor, now,    action,  target,  before,
                                 after, serial, serial2, merchant};

    return pfs_sqlite_audit_write(db, &a, err);
}

/* A line of a terminal's history. */
int life__event(sqlite3 *db, const char *serial, int64_t now, const char *kind, int from, int to,
                const char *merchant, const char *other, int64_t repair_id,
                const struct pfs_actor *actor, const char *detail, struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc = life__cached(db,
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
    return life__done_cached(db, s, err, "history");
}

/* --- merchants --- */

void life__merchant_read(sqlite3_stmt *s, struct pfs_merchant *m)
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
    life__col(s, 14, m->review_reason, sizeof(m->review_reason));
}

int pfs_sqlite_merchant_get(struct pfs_sqlite *st, const char *id, struct pfs_merchant *m)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    int rc;

    if (pfs_sqlite_cached(db, "SELECT " LIFE_MERCHANT_COLS " FROM merchants WHERE id = ?1", &s))
        return PF_EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        life__merchant_read(s, m);
    pfs_sqlite_cached_put(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? PF_ENOENT : PF_EIO;
}

int life__merchant_write(sqlite3 *db, const struct pfs_merchant *m, bool insert,
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
                     ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)"
                   : "UPDATE merchants SET name=?2, uscc=?3, mcc=?4, address=?5,"
                     " contact_name=?6, contact_phone=?7, tz=?8, settlement=?9,"
                     " fee_plan=?10, status=?11, created_ms=?12, updated_ms=?13, region=?14,"
                     " review_reason=?15"
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
        sqlite3_bind_text(s, 15, m->review_reason, -1, SQLITE_STATIC);
        rc = sqlite3_step(s) == SQLITE_DONE ? 0 : life__fail(db, err, "merchant write");
        sqlite3_finalize(s);
    }
    free(fees);
    return rc;
}

int life__count(sqlite3 *db, const char *sql, const char *arg, int64_t *n)
{
    sqlite3_stmt *s;
    int rc;

    if (pfs_sqlite_cached(db, sql, &s))
        return PF_EIO;
    sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    pfs_sqlite_cached_put(s);
    return rc == SQLITE_ROW ? 0 : PF_EIO;
}

/* --- terminals --- */

int pfs_sqlite_term_get(struct pfs_sqlite *st, const char *serial, struct pfs_term *t)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    sqlite3_stmt *s;
    char state[32];
    int rc;

    memset(t, 0, sizeof(*t));
    if (pfs_sqlite_cached(db,
                          "SELECT d.serial, d.model, d.status, t.state, t.merchant_id,"
                          " coalesce(t.lock_want, 0), coalesce(t.lock_acked, 1), t.lock_cmd"
                          " FROM devices d LEFT JOIN terminals t ON t.serial = d.serial"
                          " WHERE d.serial = ?1",
                          &s))
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
    pfs_sqlite_cached_put(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? PF_EUNKNOWN_SERIAL : PF_EIO;
}

/* A terminal's view: its registry entry, state, binding, lock and open repair. */
static const char life__term_view_sql[] =
        "SELECT d.serial, d.model, d.status, t.state, t.merchant_id, t.fee_plan, t.tz,"
        " coalesce(t.tags, '[]'), t.bound_ms, t.lock_want, t.lock_cmd, t.lock_acked,"
        " t.lock_reason, t.provision, (SELECT r.id FROM repairs r WHERE r.serial = d.serial AND"
        " r.closed_ms IS NULL), t.updated_ms"
        " FROM devices d LEFT JOIN terminals t ON t.serial = d.serial WHERE d.serial = ?1";

/* A nullable text column: NULL for SQL NULL (borrowed until the next step). */
const char *life__ctext(sqlite3_stmt *s, int col)
{
    return (const char *)sqlite3_column_text(s, col);
}

/* A nullable integer column: PFS_VIEW_NULL for SQL NULL. */
int64_t life__cint(sqlite3_stmt *s, int col)
{
    return sqlite3_column_type(s, col) == SQLITE_NULL ? PFS_VIEW_NULL
                                                      : sqlite3_column_int64(s, col);
}

static void life__term_read(sqlite3_stmt *s, struct pfs_term_view *v)
{
    const char *status = life__ctext(s, 2), *state = life__ctext(s, 3);

    *v = (struct pfs_term_view){
            .serial = life__ctext(s, 0),
            .model = life__ctext(s, 1),
            .registry = status,
            .state = pfs_life_state(status && strcmp(status, "revoked") == 0,
                                    state ? pfs_term_state_parse(state) : -1),
            .merchant_id = life__ctext(s, 4),
            .fee_plan = life__ctext(s, 5),
            .tz = life__ctext(s, 6),
            .tags = life__ctext(s, 7),
            .bound_ms = life__cint(s, 8),
            .lock_want = sqlite3_column_int(s, 9) != 0,
            .lock_cmd = life__ctext(s, 10),
            .lock_acked = sqlite3_column_int(s, 11) != 0,
            .lock_reason = life__ctext(s, 12),
            .provision = life__ctext(s, 13),
            .repair_id = life__cint(s, 14),
            .updated_ms = life__cint(s, 15),
    };
}

int life__term_view(sqlite3 *db, const char *serial, pfs_term_view_cb cb, void *ctx)
{
    struct pfs_term_view v;
    sqlite3_stmt *s;
    int rc, step;

    if (pfs_sqlite_cached(db, life__term_view_sql, &s))
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        life__term_read(s, &v);
        rc = cb(ctx, &v);
    } else {
        rc = step == SQLITE_DONE ? PF_EUNKNOWN_SERIAL : PF_EIO;
    }
    pfs_sqlite_cached_put(s);
    return rc;
}

static int life__term_text_cb(void *ctx, const struct pfs_term_view *v)
{
    char **text = ctx;

    *text = pfs_rec_term_text(v);
    return *text ? 0 : PF_ENOMEM;
}

char *life__term_text(sqlite3 *db, const char *serial)
{
    char *text = NULL;

    if (life__term_view(db, serial, life__term_text_cb, &text)) {
        free(text);
        return NULL;
    }
    return text;
}

int life__row_put(sqlite3 *db, const char *serial, const struct life__row *r, int64_t now,
                  struct pf_error *err)
{
    sqlite3_stmt *s;
    int rc = life__cached(
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
    return life__done_cached(db, s, err, "terminal write");
}

/* Only the state (and updated time) of a terminal. */
int life__state_put(sqlite3 *db, const char *serial, enum pfs_term_state to, int64_t now,
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

int life__lock_put(sqlite3 *db, const char *serial, bool want, const char *cmd, const char *reason,
                   struct pf_error *err)
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

int life__get(struct pfs_sqlite *st, const char *serial, struct pfs_term *t, struct pf_error *err)
{
    int rc = pfs_sqlite_term_get(st, serial, t);

    if (rc == PF_EUNKNOWN_SERIAL)
        return pf_error_set(err, rc, "serial %s is not registered", serial);
    if (rc)
        return pf_error_set(err, rc, "reading %s: %s", serial, pf_strerror(rc));
    return 0;
}

/* Audits a terminal change with its view before and after. */
int life__audit_term(sqlite3 *db, const struct pfs_actor *actor, int64_t now, const char *action,
                     const char *serial, const char *before, const char *serial2,
                     const char *merchant, struct pf_error *err)
{
    char *after = life__term_text(db, serial);
    int rc;

    if (!after)
        return life__fail(db, err, "terminal view");
    rc = life__audit(db, actor, now, action, serial, before, after, serial, serial2, merchant, err);
    free(after);
    return rc;
}

/* The terminal's newest report with the time it came (*found false if none). */
static int life__snapshot_health(sqlite3 *db, const char *serial, struct pf_health *h,
                                 int64_t *recv_ms, bool *found)
{
    sqlite3_stmt *s;
    int step;

    *found = false;
    if (sqlite3_prepare_v2(db,
                           "SELECT h.seq, h.ts_ms, h.recv_ms, h.battery_pct, h.charging,"
                           " h.signal_dbm, h.temp_c, h.fw_version, h.fee_version, h.tamper,"
                           " h.paper, h.selftest, h.err_reader, h.err_printer, h.uptime_s"
                           " FROM device_state s JOIN health h ON h.id = s.health_id"
                           " WHERE s.serial = ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        memset(h, 0, sizeof(*h));
        h->seq = (uint32_t)sqlite3_column_int64(s, 0);
        h->ts_ms = sqlite3_column_int64(s, 1);
        *recv_ms = sqlite3_column_int64(s, 2);
        h->battery_pct = sqlite3_column_int(s, 3);
        h->charging = sqlite3_column_int(s, 4) != 0;
        h->signal_dbm = sqlite3_column_int(s, 5);
        h->temp_c = sqlite3_column_int(s, 6);
        pfs_sqlite_col_text(s, 7, h->fw_version, sizeof(h->fw_version));
        pfs_sqlite_col_text(s, 8, h->fee_version, sizeof(h->fee_version));
        h->tamper = sqlite3_column_int(s, 9) != 0;
        h->paper = (enum pf_paper)sqlite3_column_int(s, 10);
        pfs_sqlite_selftest_decode(s, 11, h->selftest);
        h->err_reader = (uint32_t)sqlite3_column_int64(s, 12);
        h->err_printer = (uint32_t)sqlite3_column_int64(s, 13);
        h->uptime_s = (uint64_t)sqlite3_column_int64(s, 14);
        *found = true;
    }
    sqlite3_finalize(s);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : PF_EIO;
}

/* The terminal's open alerts, in the order they opened (heap array). */
static int life__snapshot_alerts(sqlite3 *db, const char *serial, struct pfs_alert **out, size_t *n)
{
    struct pfs_alert *a = NULL;
    size_t cap = 0;
    sqlite3_stmt *s;
    int step;

    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT kind, opened_ms, detail FROM alerts WHERE serial = ?1 AND"
                           " closed_ms IS NULL ORDER BY id",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            struct pfs_alert *more = realloc(a, (cap ? cap * 2 : 8) * sizeof(*a));

            if (!more) {
                step = SQLITE_NOMEM;
                break;
            }
            a = more;
            cap = cap ? cap * 2 : 8;
        }
        memset(&a[*n], 0, sizeof(a[*n]));
        pfs_sqlite_col_text(s, 0, a[*n].kind, sizeof(a[*n].kind));
        a[*n].opened_ms = sqlite3_column_int64(s, 1);
        pfs_sqlite_col_text(s, 2, a[*n].detail, sizeof(a[*n].detail));
        (*n)++;
    }
    sqlite3_finalize(s);
    *out = a;
    return step == SQLITE_DONE ? 0 : step == SQLITE_NOMEM ? PF_ENOMEM : PF_EIO;
}

#define LIFE_SNAPSHOT_DIAGS 5

/* The terminal's newest answered diagnostic requests; d[i].result is heap. */
static int life__snapshot_diags(sqlite3 *db, const char *serial,
                                struct pfs_diag_rec d[LIFE_SNAPSHOT_DIAGS], size_t *n)
{
    sqlite3_stmt *s;
    int step;

    *n = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, command, status, code, answered_ms, result FROM"
                           " diag_requests WHERE serial = ?1 AND answered_ms IS NOT NULL"
                           " ORDER BY created_ms DESC LIMIT ?2",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, LIFE_SNAPSHOT_DIAGS);
    while ((step = sqlite3_step(s)) == SQLITE_ROW && *n < LIFE_SNAPSHOT_DIAGS) {
        struct pfs_diag_rec *r = &d[*n];
        const char *result = (const char *)sqlite3_column_text(s, 5);

        memset(r, 0, sizeof(*r));
        pfs_sqlite_col_text(s, 0, r->id, sizeof(r->id));
        pfs_sqlite_col_text(s, 1, r->command, sizeof(r->command));
        pfs_sqlite_col_text(s, 2, r->status, sizeof(r->status));
        pfs_sqlite_col_text(s, 3, r->code, sizeof(r->code));
        r->answered_ms = sqlite3_column_int64(s, 4);
        r->result = result ? strdup(result) : NULL;
        (*n)++;
        if (result && !r->result) {
            step = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_finalize(s);
    return step == SQLITE_DONE || step == SQLITE_ROW ? 0
           : step == SQLITE_NOMEM                    ? PF_ENOMEM
                                                     : PF_EIO;
}

char *life__snapshot(sqlite3 *db, const char *serial, int64_t now)
{
    struct pfs_diag_rec diags[LIFE_SNAPSHOT_DIAGS];
    struct pfs_repair_snapshot snap = {.taken_ms = now, .diags = diags};
    struct pfs_alert *alerts = NULL;
    struct pf_health h;
    bool have_health = false;
    char *text = NULL;
    int rc;

    rc = life__snapshot_health(db, serial, &h, &snap.health_recv_ms, &have_health);
    if (!rc)
        rc = life__snapshot_alerts(db, serial, &alerts, &snap.nalerts);
    if (!rc)
        rc = life__snapshot_diags(db, serial, diags, &snap.ndiags);
    if (!rc) {
        snap.health = have_health ? &h : NULL;
        snap.alerts = alerts;
        text = pfs_rec_snapshot_text(&snap);
    }
    for (size_t i = 0; i < snap.ndiags; i++)
        free((char *)diags[i].result);
    free(alerts);
    return text;
}

int life__repair_insert(sqlite3 *db, const char *serial, const char *source, const char *reason,
                        const char *merchant, const char *replaced_by, const char *faults,
                        int64_t now, int64_t *id, struct pf_error *err)
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

int life__open_repair_id(sqlite3 *db, const char *serial, int64_t *id)
{
    return life__count(db,
                       "SELECT coalesce(max(id), 0) FROM repairs WHERE serial = ?1 AND"
                       " closed_ms IS NULL",
                       serial, id);
}
/* --- repairs --- */

void life__repair_read(sqlite3_stmt *s, struct pfs_repair_view *v)
{
    *v = (struct pfs_repair_view){
            .id = sqlite3_column_int64(s, 0),
            .serial = life__ctext(s, 1),
            .state = life__ctext(s, 2),
            .source = life__ctext(s, 3),
            .reason = life__ctext(s, 4),
            .merchant_id = life__ctext(s, 5),
            .replaced_by = life__ctext(s, 6),
            .fault_codes = life__ctext(s, 7),
            .parts = life__ctext(s, 8),
            .notes = life__ctext(s, 9),
            .snapshot = life__ctext(s, 10),
            .opened_ms = sqlite3_column_int64(s, 11),
            .received_ms = life__cint(s, 12),
            .diagnosed_ms = life__cint(s, 13),
            .repaired_ms = life__cint(s, 14),
            .closed_ms = life__cint(s, 15),
            .updated_ms = sqlite3_column_int64(s, 16),
    };
}

int life__repair_view(sqlite3 *db, int64_t id, pfs_repair_view_cb cb, void *ctx)
{
    struct pfs_repair_view v;
    sqlite3_stmt *s;
    int rc, step;

    if (sqlite3_prepare_v2(db, LIFE_REPAIR_VIEW " WHERE id = ?1", -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_int64(s, 1, id);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        life__repair_read(s, &v);
        rc = cb(ctx, &v);
    } else {
        rc = step == SQLITE_DONE ? PF_ENOENT : PF_EIO;
    }
    sqlite3_finalize(s);
    return rc;
}

static int life__repair_text_cb(void *ctx, const struct pfs_repair_view *v)
{
    char **text = ctx;

    *text = pfs_rec_repair_text(v);
    return *text ? 0 : PF_ENOMEM;
}

char *life__repair_text(sqlite3 *db, int64_t id)
{
    char *text = NULL;

    if (life__repair_view(db, id, life__repair_text_cb, &text)) {
        free(text);
        return NULL;
    }
    return text;
}
