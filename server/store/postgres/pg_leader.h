/*
 * pg_leader.h - which posfleetd instance runs the schedulers.
 *
 * Every instance keeps an elector: its own libpq session (never the store's,
 * whose reconnects must not decide leadership) on which it tries
 * pg_try_advisory_lock(key). The instance whose session holds the lock leads
 * and runs the schedulers (rollout tick, silent checks, diagnostic expiry,
 * fee-table and lock retransmissions); the others try again on every step,
 * which the caller makes every retry interval. PostgreSQL releases a session
 * lock when the session ends, so a leader that dies (kill -9, power cut) frees
 * it as soon as its server process sees the socket close.
 *
 * Losing the session means losing leadership at once: a step (or a check of
 * the socket becoming readable) that finds the session broken reports
 * "not leading" first and closes it; only a later step reconnects and tries
 * again. The caller stops scheduling on that report, before anything else.
 *
 * Limit (docs/store.md): a leader cut off from PostgreSQL keeps believing it
 * leads until its next step or socket check notices; the window is one retry
 * interval at most, shorter than it takes a follower to take over only when
 * the leader checks at least as often as followers retry.
 */
#ifndef PFS_PG_LEADER_H
#define PFS_PG_LEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "pf/error.h"

/* The scheduler's advisory lock key: "posfleet" in ASCII. In pg_locks it shows
 * as locktype 'advisory', classid 0x706f7366, objid 0x6c656574, objsubid 1. */
#define PFS_PG_LEADER_KEY 0x706f73666c656574LL

struct pfs_pg_leader;

/* Leadership changed: leading true when this instance took the lock, false
 * when it lost it (or its session). */
typedef void (*pfs_pg_leader_cb)(void *ctx, bool leading);

/* dsn: a libpq connection string; key: PFS_PG_LEADER_KEY in posfleetd. Does
 * not connect yet (the first step does). */
int pfs_pg_leader_new(const char *dsn, int64_t key, pfs_pg_leader_cb cb, void *ctx,
                      struct pfs_pg_leader **out, struct pf_error *err) PF_WUR;
void pfs_pg_leader_free(struct pfs_pg_leader *l);

/* One election step: a leader checks its session still answers; a follower
 * (re)connects if needed and tries the lock. Errors (PostgreSQL down) leave
 * the instance a follower and are returned for the log. */
int pfs_pg_leader_step(struct pfs_pg_leader *l, struct pf_error *err) PF_WUR;

/* The session's socket (-1 when none), for the caller's poll or uv_poll: when
 * it becomes readable, call pfs_pg_leader_check. */
int pfs_pg_leader_socket(const struct pfs_pg_leader *l);
/* Reads what arrived on the session; a closed or broken session ends
 * leadership at once. Never blocks. */
void pfs_pg_leader_check(struct pfs_pg_leader *l);

bool pfs_pg_leader_leading(const struct pfs_pg_leader *l);
/* The elector session's server process id (0 when not connected): what
 * pg_locks.pid shows for the lock while leading. */
int pfs_pg_leader_backend_pid(const struct pfs_pg_leader *l);

#endif
