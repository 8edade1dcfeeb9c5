/*
 * store_swaps.c - the record a swap keeps for its undo (table swaps,
 * migration 016) and the undo of store_lifecycle.h on SQLite. The swap itself
 * (store_terminals.c) fills the record; the undo loads it with what happened
 * to the two terminals and the repair since, lets lifecycle.c's
 * pfs_life_swap_undo decide, and puts everything back in one transaction.
 */
#include "store/sqlite/store_lifecycle_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/record_json.h"
#include "store/sqlite/store_sqlite_internal.h"
#include "store/sqlite/store_tx.h"

int life__swap_before(sqlite3 *db, const struct pfs_term *o, const struct pfs_term *n, int64_t now,
                      struct life__swap *rec, struct pf_error *err)
{
    int rc;

    snprintf(rec->rec.old_serial, sizeof(rec->rec.old_serial), "%s", o->serial);
    snprintf(rec->rec.new_serial, sizeof(rec->rec.new_serial), "%s", n->serial);
    rec->rec.old_from = o->state;
    rec->rec.new_from = n->state;
    rec->rec.ts_ms = now;
    rc = pfs_store_sql_int(db, "SELECT coalesce(bound_ms, 0) FROM terminals WHERE serial = ?1",
                           &rec->old_bound_ms, "S", o->serial);
    if (rc)
        return life__fail(db, err, "swap record");
    rec->old_provision =
            life__text1(db, "SELECT provision FROM terminals WHERE serial = ?1", o->serial, 0);
    rec->new_tags = life__text1(db, "SELECT tags FROM terminals WHERE serial = ?1", n->serial, 0);
    rec->new_provision =
            life__text1(db, "SELECT provision FROM terminals WHERE serial = ?1", n->serial, 0);
    return 0;
}

int life__swap_record(sqlite3 *db, const struct life__swap *rec, struct pf_error *err)
{
    int rc = pfs_store_sql_run(
            db,
            "INSERT INTO swaps (old_serial, new_serial, ts_ms, old_state, old_bound_ms,"
            " old_provision, new_state, new_tags, new_provision, repair_id, repair_opened,"
            " old_event_id, new_event_id) VALUES (?1,?2,?3,?4,?5,?6,?7,coalesce(?8,'[]'),?9,?10,"
            "?11,?12,?13)",
            "SSiSnsSssiiii", rec->rec.old_serial, rec->rec.new_serial, rec->rec.ts_ms,
            pfs_term_state_names[rec->rec.old_from],
            rec->old_bound_ms > 0 ? rec->old_bound_ms : (int64_t)-1, rec->old_provision,
            pfs_term_state_names[rec->rec.new_from], rec->new_tags, rec->new_provision,
            rec->rec.repair_id, (int64_t)rec->rec.repair_opened, rec->old_event_id,
            rec->new_event_id);

    return rc ? life__fail(db, err, "swap record") : 0;
}

void life__swap_release(struct life__swap *rec)
{
    free(rec->old_provision);
    free(rec->new_tags);
    free(rec->new_provision);
    rec->old_provision = rec->new_tags = rec->new_provision = NULL;
}

static char *swap__dup(sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);

    return t ? strdup(t) : NULL;
}

/* The newest swap of old for new; PF_ENOENT if none is recorded. */
static int swap__load(sqlite3 *db, const char *old_serial, const char *new_serial,
                      struct life__swap *rec)
{
    sqlite3_stmt *s;
    int step;

    if (sqlite3_prepare_v2(db,
                           "SELECT id, ts_ms, old_state, coalesce(old_bound_ms, 0), old_provision,"
                           " new_state, new_tags, new_provision, repair_id, repair_opened,"
                           " old_event_id, new_event_id, coalesce(undone_ms, 0) FROM swaps"
                           " WHERE old_serial = ?1 AND new_serial = ?2 ORDER BY id DESC LIMIT 1",
                           -1, &s, NULL) != SQLITE_OK)
        return PF_EIO;
    sqlite3_bind_text(s, 1, old_serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, new_serial, -1, SQLITE_STATIC);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        const char *os = (const char *)sqlite3_column_text(s, 2);
        const char *ns = (const char *)sqlite3_column_text(s, 5);

        snprintf(rec->rec.old_serial, sizeof(rec->rec.old_serial), "%s", old_serial);
        snprintf(rec->rec.new_serial, sizeof(rec->rec.new_serial), "%s", new_serial);
        rec->rec.id = sqlite3_column_int64(s, 0);
        rec->rec.ts_ms = sqlite3_column_int64(s, 1);
        rec->rec.old_from = pfs_life_state(false, os ? pfs_term_state_parse(os) : -1);
        rec->old_bound_ms = sqlite3_column_int64(s, 3);
        rec->old_provision = swap__dup(s, 4);
        rec->rec.new_from = pfs_life_state(false, ns ? pfs_term_state_parse(ns) : -1);
        rec->new_tags = swap__dup(s, 6);
        rec->new_provision = swap__dup(s, 7);
        rec->rec.repair_id = sqlite3_column_int64(s, 8);
        rec->rec.repair_opened = sqlite3_column_int(s, 9) != 0;
        rec->old_event_id = sqlite3_column_int64(s, 10);
        rec->new_event_id = sqlite3_column_int64(s, 11);
        rec->rec.undone_ms = sqlite3_column_int64(s, 12);
    }
    sqlite3_finalize(s);
    return step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? PF_ENOENT : PF_EIO;
}

/* The kind of the first history line of serial after event id, or NULL (heap). */
static char *swap__event_after(sqlite3 *db, const char *serial, int64_t id)
{
    return life__text1(db,
                       "SELECT kind FROM terminal_events WHERE serial = ?1 AND id > ?2"
                       " ORDER BY id LIMIT 1",
                       serial, id);
}

/* Puts the repair back: removed if the swap opened it, else the swap's mark taken off. */
static int swap__repair_back(sqlite3 *db, const struct life__swap *rec, const char *reason,
                             int64_t now, struct pf_error *err)
{
    char note[400];
    int rc;

    if (rec->rec.repair_opened) {
        rc = pfs_store_sql_run(db, "DELETE FROM repairs WHERE id = ?1", "i", rec->rec.repair_id);
        return rc ? life__fail(db, err, "repair remove") : 0;
    }
    snprintf(note, sizeof(note), "swap for %s undone: %s", rec->rec.new_serial, reason);
    rc = pfs_store_sql_run(db,
                           "UPDATE repairs SET replaced_by = NULL, notes = notes || CASE WHEN"
                           " notes = '' THEN '' ELSE char(10) END || ?2, updated_ms = ?3"
                           " WHERE id = ?1",
                           "iSi", rec->rec.repair_id, note, now);
    return rc ? life__fail(db, err, "repair update") : 0;
}

int pfs_sqlite_term_swap_undo(struct pfs_sqlite *st, const char *old_serial, const char *new_serial,
                              const char *reason, pfs_swap_hook hook, void *hook_ctx,
                              const struct pfs_actor *actor, int64_t now_ms, int64_t *repair_id,
                              bool *repair_removed, struct pf_error *err)
{
    sqlite3 *db = pfs_store_sqlite_db(st);
    struct life__swap rec = {0};
    struct pfs_swap_since since = {0};
    struct pfs_term o, n;
    enum pfs_term_state oto, nto;
    char *oev = NULL, *nev = NULL, *rstate = NULL, *ob = NULL, *nb = NULL, *rj = NULL;
    char *fees = NULL, *tz = NULL, *tags = NULL;
    int64_t rupdated = 0, ndiag = 0;
    int rc;

    *repair_id = 0;
    *repair_removed = false;
    rc = pfs_sqlite_begin(st, now_ms, err);
    if (rc)
        return rc;
    rc = swap__load(db, old_serial, new_serial, &rec);
    if (rc == PF_ENOENT)
        rc = pf_error_set(err, rc,
                          "swap undo: no swap of %s for %s is recorded (swaps made before"
                          " posfleetd kept swap records cannot be undone)",
                          old_serial, new_serial);
    else if (rc)
        rc = life__fail(db, err, "swap record");
    if (!rc)
        rc = life__get(st, old_serial, &o, err);
    if (!rc)
        rc = life__get(st, new_serial, &n, err);
    if (rc)
        goto out_end;
    oev = swap__event_after(db, old_serial, rec.old_event_id);
    nev = swap__event_after(db, new_serial, rec.new_event_id);
    rstate = life__text1(db, "SELECT state FROM repairs WHERE id = ?2", NULL, rec.rec.repair_id);
    rc = pfs_store_sql_int(db, "SELECT coalesce(max(updated_ms), 0) FROM repairs WHERE id = ?1",
                           &rupdated, "i", rec.rec.repair_id);
    if (rc) {
        rc = life__fail(db, err, "repair");
        goto out_end;
    }
    since.old_event = oev;
    since.new_event = nev;
    since.repair_state = rstate;
    /* A diagnostic run on OLD since the swap is kept with the repair: it was worked on. */
    if (pfs_store_sql_int(db, "SELECT count(*) FROM diag_requests WHERE repair_id = ?1", &ndiag,
                          "i", rec.rec.repair_id)) {
        rc = life__fail(db, err, "diagnostics");
        goto out_end;
    }
    since.repair_touched = rupdated > rec.rec.ts_ms || (rec.rec.repair_opened && ndiag > 0);
    rc = pfs_life_swap_undo(&rec.rec, &o, &n, &since, &oto, &nto, err);
    if (rc)
        goto out_end;
    ob = life__term_text(db, old_serial);
    nb = life__term_text(db, new_serial);
    rj = life__repair_text(db, rec.rec.repair_id);
    fees = life__text1(db, "SELECT fee_plan FROM terminals WHERE serial = ?1", new_serial, 0);
    tz = life__text1(db, "SELECT tz FROM terminals WHERE serial = ?1", new_serial, 0);
    tags = life__text1(db, "SELECT tags FROM terminals WHERE serial = ?1", new_serial, 0);
    if (!ob || !nb || !rj) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_end;
    }
    {
        struct life__row orow = {
                oto, n.merchant_id, fees, tz, tags, rec.old_bound_ms, rec.old_provision};
        struct life__row nrow = {nto, NULL, NULL, NULL, rec.new_tags, 0, rec.new_provision};

        rc = life__row_put(db, old_serial, &orow, now_ms, err);
        if (!rc)
            rc = life__row_put(db, new_serial, &nrow, now_ms, err);
    }
    /* Rollout memberships and other per-terminal assignments move back. */
    if (!rc && hook)
        rc = hook(hook_ctx, &st->tx.base, new_serial, old_serial, err);
    if (!rc)
        rc = swap__repair_back(db, &rec, reason, now_ms, err);
    if (!rc)
        rc = life__event(db, old_serial, now_ms, "swap_undo", (int)o.state, (int)oto, n.merchant_id,
                         new_serial, rec.rec.repair_opened ? 0 : rec.rec.repair_id, actor, reason,
                         err);
    if (!rc)
        rc = life__event(db, new_serial, now_ms, "swap_undo", (int)n.state, (int)nto, n.merchant_id,
                         old_serial, 0, actor, reason, err);
    if (!rc &&
        pfs_store_sql_run(db, "UPDATE swaps SET undone_ms = ?2, undo_reason = ?3 WHERE id = ?1",
                          "iiS", rec.rec.id, now_ms, reason))
        rc = life__fail(db, err, "swap record");
    if (!rc) {
        char *oa = life__term_text(db, old_serial), *na = life__term_text(db, new_serial);
        char *bs = pfs_rec_swap_after_text(ob, nb, rj, reason);
        char *as = oa && na ? pfs_rec_swap_before_text(oa, na) : NULL;

        rc = bs && as ? life__audit(db, actor, now_ms, "terminal.swap_undo", old_serial, bs, as,
                                    old_serial, new_serial, n.merchant_id, err)
                      : pf_error_set(err, PF_ENOMEM, "out of memory");
        free(bs);
        free(as);
        free(oa);
        free(na);
    }
    if (!rc) {
        *repair_id = rec.rec.repair_id;
        *repair_removed = rec.rec.repair_opened;
    }
out_end:
    free(oev);
    free(nev);
    free(rstate);
    free(ob);
    free(nb);
    free(rj);
    free(fees);
    free(tz);
    free(tags);
    life__swap_release(&rec);
    return pfs_sqlite_end(st, rc, err);
}
