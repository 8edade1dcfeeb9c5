/*
 * store_lifecycle.c - the lifecycle rows of the SQLite backend, shared by its
 * files for store_lifecycle.h (store_lifecycle_internal.h): loading and
 * saving merchants, terminals and repairs, history lines, audit rows with
 * their references, and the views (terminal, repair, snapshot) built from
 * rows with jansson (no SQL JSON function). The calls themselves are in
 * store_merchants.c, store_terminals.c and store_repairs.c: each commits the
 * ingest batch, opens a FULL transaction, loads rows, lets the rules of
 * lifecycle/ decide, saves rows, history lines and the audit row, and
 * commits; any failure rolls everything back.
 */
#include "store/sqlite/store_lifecycle_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

const struct pfs_actor life__system = {"posfleetd", "system"};

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
char *life__dump(json_t *o)
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
}

char *life__merchant_text(const struct pfs_merchant *m)
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

int life__count(sqlite3 *db, const char *sql, const char *arg, int64_t *n)
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

char *life__term_text(sqlite3 *db, const char *serial)
{
    return life__dump(life__one(db, life__term_view, serial, 0, life__term_row));
}

int life__row_put(sqlite3 *db, const char *serial, const struct life__row *r, int64_t now,
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

/* The registry's merchant column follows the binding, so device views show it. */
int life__registry_merchant(sqlite3 *db, const char *serial, const char *merchant,
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

int life__get(struct pfs_store *st, const char *serial, struct pfs_term *t, struct pf_error *err)
{
    int rc = pfs_store_term_get(st, serial, t);

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
int life__rows(sqlite3 *db, const char *sql, const char *serial, int limit, const char *kinds,
               json_t *arr)
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
char *life__snapshot(sqlite3 *db, const char *serial, int64_t now)
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

json_t *life__repair_row(sqlite3_stmt *s)
{
    return pfs_sqlite_row_json(s, LIFE_REPAIR_KINDS);
}

char *life__repair_text(sqlite3 *db, int64_t id)
{
    char sql[sizeof(LIFE_REPAIR_VIEW) + 32];

    snprintf(sql, sizeof(sql), "%s WHERE id = ?2", LIFE_REPAIR_VIEW);
    return life__dump(life__one(db, sql, NULL, id, life__repair_row));
}
