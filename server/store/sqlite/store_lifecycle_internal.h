/*
 * store_lifecycle_internal.h - what the SQLite files of store_lifecycle.h
 * share: the lifecycle rows they load and save (merchants, terminals, repairs,
 * history lines, audit rows with their references) and the reading of the
 * view records of store_lifecycle.h; the JSON text the backend stores comes
 * from store/record_json.h. Implemented in store_lifecycle.c; used by
 * store_merchants.c, store_terminals.c and store_repairs.c. Names keep the
 * module's life__ prefix, as libuv's uv__ functions shared between its files.
 * Not for callers outside server/store/sqlite/.
 */
#ifndef PFS_STORE_LIFECYCLE_INTERNAL_H
#define PFS_STORE_LIFECYCLE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/sqlite/store_sqlite_api.h"
#include "store/store_lifecycle.h"

/* The actor of posfleetd's own changes (activation, tamper lock). */
extern const struct pfs_actor life__system;

#define LIFE_MERCHANT_COLS                                                                         \
    "id, name, uscc, mcc, address, contact_name, contact_phone, tz, settlement, fee_plan,"         \
    " status, created_ms, updated_ms, region, review_reason"

/* The columns of a repair record's view, in life__repair_read's order. */
#define LIFE_REPAIR_VIEW                                                                           \
    "SELECT id, serial, state, source, reason, merchant_id, replaced_by, fault_codes, parts,"      \
    " notes, snapshot, opened_ms, received_ms, diagnosed_ms, repaired_ms, closed_ms,"              \
    " updated_ms FROM repairs"

/* A terminal's lifecycle row as life__row_put writes it (insert or update),
 * leaving the lock columns alone. NULL fields are written as NULL. */
struct life__row {
    enum pfs_term_state state;
    const char *merchant_id;
    const char *fee_plan;
    const char *tz;
    const char *tags;
    int64_t bound_ms;
    const char *provision;
};

/* --- statements --- */
int life__fail(sqlite3 *db, struct pf_error *err, const char *what);
int life__prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s, struct pf_error *err);
/* Binds v, or NULL when v is NULL or "" (copied). */
void life__bind_text(sqlite3_stmt *s, int i, const char *v);
void life__col(sqlite3_stmt *s, int col, char *out, size_t size);
/* The same through the connection's statement cache (store_sqlite_internal.h), for
 * the statements a bulk change runs per row; life__done_cached runs one with no
 * result rows and gives it back. */
int life__cached(sqlite3 *db, const char *sql, sqlite3_stmt **s, struct pf_error *err);
int life__done_cached(sqlite3 *db, sqlite3_stmt *s, struct pf_error *err, const char *what);
/* Runs a statement with no result rows and finalizes it. */
int life__done(sqlite3 *db, sqlite3_stmt *s, struct pf_error *err, const char *what);
/* The first column of a one-row query (text ?1), heap, or NULL. */
char *life__text1(sqlite3 *db, const char *sql, const char *arg, int64_t iarg);
int life__count(sqlite3 *db, const char *sql, const char *arg, int64_t *n);

/* --- rows written in the caller's transaction --- */
int life__audit(sqlite3 *db, const struct pfs_actor *actor, int64_t now, const char *action,
                const char *target, const char *before, const char *after, const char *serial,
                const char *serial2, const char *merchant, struct pf_error *err);
/* Audits a terminal change with its view before and after. */
int life__audit_term(sqlite3 *db, const struct pfs_actor *actor, int64_t now, const char *action,
                     const char *serial, const char *before, const char *serial2,
                     const char *merchant, struct pf_error *err);
/* A line of a terminal's history (from/to: a state, or -1). */
int life__event(sqlite3 *db, const char *serial, int64_t now, const char *kind, int from, int to,
                const char *merchant, const char *other, int64_t repair_id,
                const struct pfs_actor *actor, const char *detail, struct pf_error *err);
int life__merchant_write(sqlite3 *db, const struct pfs_merchant *m, bool insert,
                         struct pf_error *err);
int life__row_put(sqlite3 *db, const char *serial, const struct life__row *r, int64_t now,
                  struct pf_error *err);
int life__state_put(sqlite3 *db, const char *serial, enum pfs_term_state to, int64_t now,
                    struct pf_error *err);
int life__lock_put(sqlite3 *db, const char *serial, bool want, const char *cmd, const char *reason,
                   struct pf_error *err);
/* The bind transition inside an open transaction (pfs_sqlite_term_bind, and
 * registration with a merchant: registering accepts only an active one). */
int life__bind(struct pfs_sqlite *st, const char *serial, const char *merchant_id, bool registering,
               const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err);
/* Opens a repair record with the snapshot of its terminal. */
int life__repair_insert(sqlite3 *db, const char *serial, const char *source, const char *reason,
                        const char *merchant, const char *replaced_by, const char *faults,
                        int64_t now, int64_t *id, struct pf_error *err);

/* A swap's row (migration 016): the record the rules see and what the
 * swap overwrote, for its undo (store_swaps.c). Strings are heap. */
struct life__swap {
    struct pfs_swap_rec rec;
    int64_t old_bound_ms; /* 0: none */
    char *old_provision, *new_tags, *new_provision;
    int64_t old_event_id, new_event_id;
};
/* Fills rec with the two terminals before the swap changes them. */
int life__swap_before(sqlite3 *db, const struct pfs_term *o, const struct pfs_term *n, int64_t now,
                      struct life__swap *rec, struct pf_error *err);
/* Writes the swap's row (rec.repair_id and the event ids set). */
int life__swap_record(sqlite3 *db, const struct life__swap *rec, struct pf_error *err);
void life__swap_release(struct life__swap *rec);
/* The unbind transition inside an open transaction (detail: the reason, or NULL). */
int life__unbind(struct pfs_sqlite *st, const char *serial, const char *detail,
                 const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err);
/* Replaces a terminal's tags inside an open transaction. */
int life__tags(struct pfs_sqlite *st, const char *serial, const char *tags_json,
               const struct pfs_actor *actor, int64_t now_ms, struct pf_error *err);

/* --- rows read --- */
/* pfs_sqlite_term_get with err naming the serial. */
int life__get(struct pfs_sqlite *st, const char *serial, struct pfs_term *t, struct pf_error *err);
void life__merchant_read(sqlite3_stmt *s, struct pfs_merchant *m);
/* The terminal's open repair, 0 if none. */
int life__open_repair_id(sqlite3 *db, const char *serial, int64_t *id);

/* --- view records (borrowed from the statement until its next step) --- */
/* A nullable text column (NULL for SQL NULL) and integer (PFS_VIEW_NULL). */
const char *life__ctext(sqlite3_stmt *s, int col);
int64_t life__cint(sqlite3_stmt *s, int col);
/* A row of LIFE_REPAIR_VIEW. */
void life__repair_read(sqlite3_stmt *s, struct pfs_repair_view *v);
/* One record to cb: PF_EUNKNOWN_SERIAL / PF_ENOENT when there is none. */
int life__term_view(sqlite3 *db, const char *serial, pfs_term_view_cb cb, void *ctx);
int life__repair_view(sqlite3 *db, int64_t id, pfs_repair_view_cb cb, void *ctx);
/* Their text for audit rows (record_json.h): heap, NULL on failure. */
char *life__term_text(sqlite3 *db, const char *serial);
char *life__repair_text(sqlite3 *db, int64_t id);
/* The snapshot a repair keeps of its terminal, as text. */
char *life__snapshot(sqlite3 *db, const char *serial, int64_t now);

#endif
