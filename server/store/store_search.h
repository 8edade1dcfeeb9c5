/*
 * store_search.h - finding merchants, terminals, open alerts and audit rows by
 * what support knows about them, a page at a time.
 *
 * Each search takes a query struct: filters (NULL, 0 or an "any" value do not
 * filter; several filters all apply), the organisation scope, a keyset cursor
 * and a limit. Matching records are handed to a typed callback in the page's
 * order; their strings are borrowed and valid only during the call. The
 * search reads one row past the limit and sets *more when it exists, so the
 * caller can say whether another page follows and the last record's key is
 * the next cursor.
 *
 * Orders and cursors (docs/server.md "Search"):
 *  - terminals: by serial; after = the last serial of the previous page;
 *  - merchants: by id; with a name fragment, in the order merchants were
 *    added (the name index's order); after = the last merchant id either way;
 *  - alerts (open ones): newest first by id; before = the last id;
 *  - audit rows: newest first by time, then id; before = the last id.
 *
 * Every first page is answered from an index (migration 014); the SQLite
 * backend's plans are checked by tests/unit/test_store_search.c, and
 * tests/bench/bench_search.sh times them on a million terminals.
 *
 * scope: what the caller may see (store_accounts.h's struct pfs_scope, the
 * one scope rule): NULL, or headquarters' scope, is everything; any other
 * limits terminals, merchants, alerts and audit rows to the organisation's
 * subtree (a merchant user: its merchant) inside the same statement, so a
 * filter cannot reach past it. One thread only, like the store.
 */
#ifndef PFS_STORE_SEARCH_H
#define PFS_STORE_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"
#include "store/store.h"
#include "store/store_accounts.h"

/* --- terminals --- */

enum pfs_search_lock {
    PFS_SEARCH_LOCK_ANY,
    PFS_SEARCH_LOCK_LOCKED,   /* a lock is wanted (acknowledged or not) */
    PFS_SEARCH_LOCK_UNLOCKED, /* no lock wanted */
    PFS_SEARCH_LOCK_PENDING,  /* the terminal has not confirmed the last lock or unlock */
};

struct pfs_search_terminals {
    const struct pfs_scope *scope; /* NULL: everything (see above) */
    enum pfs_conn_filter conn;     /* online, offline, never seen, revoked */
    const char *model;             /* exact */
    const char *fw;                /* running firmware version, exact */
    const char *fee;               /* running fee-table version, exact */
    const char *state;             /* lifecycle state name (lifecycle.h), exact */
    const char *merchant;          /* bound to this merchant id */
    const char *merchant_name;     /* bound to a merchant whose name holds this fragment */
    const char *region;            /* bound to a merchant of this region */
    const char *tag;               /* carries this tag */
    const char *alert;             /* has an open alert of this kind */
    enum pfs_search_lock lock;
    const char *after; /* keyset: serials above this one; NULL from the start */
    int limit;         /* >= 1 */
};

/* One terminal as a search finds it. */
struct pfs_search_terminal {
    const char *serial, *model;
    const char *state;         /* lifecycle state name */
    const char *merchant_id;   /* NULL: unbound */
    const char *merchant_name; /* NULL: unbound */
    const char *region;        /* the merchant's, "" none, NULL unbound */
    const char *tags;          /* JSON array text */
    bool lock_wanted, lock_acked;
    const char *alerts; /* open alert kinds, comma-separated, "" none */
};
typedef int (*pfs_search_terminal_cb)(void *ctx, const struct pfs_search_terminal *t);

int pfs_store_search_terminals(struct pfs_store *st, const struct pfs_search_terminals *q,
                               pfs_search_terminal_cb cb, void *ctx, bool *more) PF_WUR;

/* --- merchants --- */

struct pfs_search_merchants {
    const struct pfs_scope *scope; /* NULL: everything */
    const char *name;              /* fragment of the name, any script; ASCII letters in any case */
    const char *uscc;              /* unified social credit code, exact (letters in any case) */
    const char *phone;             /* contact phone, exact */
    const char *contact;           /* contact person, exact */
    const char *region;            /* exact */
    int status;                    /* enum pfs_merchant_status, or -1: any */
    const char *after;             /* keyset: the last merchant id of the previous page */
    int limit;
};
/* The merchant record is struct pfs_merchant (lifecycle/merchant.h). */
struct pfs_merchant;
typedef int (*pfs_search_merchant_cb)(void *ctx, const struct pfs_merchant *m);

int pfs_store_search_merchants(struct pfs_store *st, const struct pfs_search_merchants *q,
                               pfs_search_merchant_cb cb, void *ctx, bool *more) PF_WUR;

/* --- open alerts --- */

struct pfs_search_alerts {
    const struct pfs_scope *scope; /* NULL: everything */
    const char *kind;              /* exact */
    const char *merchant;          /* of terminals bound to this merchant id */
    const char *serial;            /* of this terminal */
    int64_t opened_before; /* > 0: opened at or before this time (ms), i.e. at least this old */
    int64_t before;        /* keyset: ids below this one; 0 from the newest */
    int limit;
};

struct pfs_search_alert {
    int64_t id;
    const struct pfs_alert *alert;
    const char *merchant_id; /* the terminal's binding, NULL unbound */
};
typedef int (*pfs_search_alert_cb)(void *ctx, const struct pfs_search_alert *a);

int pfs_store_search_alerts(struct pfs_store *st, const struct pfs_search_alerts *q,
                            pfs_search_alert_cb cb, void *ctx, bool *more) PF_WUR;

/* --- audit log --- */

struct pfs_search_audit {
    const struct pfs_scope
            *scope;     /* NULL: everything; else rows by its people or about its things */
    const char *actor;  /* exact */
    const char *org;    /* the actor's organisation name, exact */
    const char *addr;   /* the client address the change came from, exact */
    const char *action; /* exact ("terminal.bind") */
    const char *target; /* exact: the serial, merchant id, rollout... the row names */
    const char *serial; /* concerns this terminal (target or reference, as a swap's two) */
    const char *merchant;
    int64_t since_ms; /* > 0: at or after */
    int64_t until_ms; /* > 0: before */
    int64_t before;   /* keyset: rows older than this audit id (by time, then id) */
    int limit;
};

int pfs_store_search_audit(struct pfs_store *st, const struct pfs_search_audit *q, pfs_audit_cb cb,
                           void *ctx, bool *more) PF_WUR;

/* --- plans --- */

enum pfs_search_kind {
    PFS_SEARCH_TERMINALS,
    PFS_SEARCH_MERCHANTS,
    PFS_SEARCH_ALERTS,
    PFS_SEARCH_AUDIT
};

/*
 * How the backend answers the first page of a search: the SQLite backend
 * writes its EXPLAIN QUERY PLAN lines, one per line, into buf (truncated to
 * size). q points at the query struct of kind. For tests and for an operator
 * asking why a search is slow.
 */
int pfs_store_search_explain(struct pfs_store *st, enum pfs_search_kind kind, const void *q,
                             char *buf, size_t size) PF_WUR;

#endif
