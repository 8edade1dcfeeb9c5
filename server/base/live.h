/*
 * live.h - who is watching what changes, for GET /v1/events (server-sent
 * events, docs/server.md): a watcher names one rollout and/or one terminal
 * (the API checked the caller may read them), and is told when they change.
 *
 * The domain says what changed: pfs_live_note() at once (an API change, a
 * rollout tick that found the rollout different), pfs_live_note_later() for
 * a terminal's message whose writes wait for the ingest batch, delivered by
 * pfs_live_commit() once that batch is committed, so a console that refetches
 * on the event reads the new state. With nobody watching, every call is one
 * test of a counter: nothing is kept, formatted or woken.
 *
 * A watcher holds flags, not a queue: what changed since it last read, at most
 * one rollout event and one terminal event, so a burst of changes costs one
 * refetch and a slow client cannot make posfleetd keep more. take() writes
 * them as event-stream text. Each user may watch with at most per_user
 * streams at once; keep-alive comments go to every watcher every
 * keepalive_ms (a uv timer that runs only while someone watches).
 *
 * Ownership: struct pfs_live is the caller's (init/release); a watcher is
 * made by pfs_live_watch() and freed by pfs_live_unwatch(). wake(ctx) is
 * called on the loop thread when a watcher has something to take.
 */
#ifndef PFS_LIVE_H
#define PFS_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "pf/error.h"
#include "pf/topic.h"

#define PFS_LIVE_USER_MAX 64

struct pfs_live_watch {
    struct pfs_live_watch *prev, *next;
    struct pfs_live *live;
    char user[PFS_LIVE_USER_MAX + 1];
    int64_t rollout;                /* 0: none */
    char serial[PF_SERIAL_MAX + 1]; /* "": none */
    bool hello, rollout_changed, terminal_changed, keepalive;
    void (*wake)(void *ctx);
    void *wake_ctx;
};

struct pfs_live {
    struct pfs_live_watch *watches;
    size_t nwatch;
    int per_user;
    uint64_t keepalive_ms;
    uv_loop_t *loop; /* NULL: no keep-alive timer (unit tests) */
    uv_timer_t timer;
    bool timer_open, timer_on;
    /* Terminals heard since the last commit, while someone watches them. */
    char (*later)[PF_SERIAL_MAX + 1];
    size_t nlater, caplater;
    uint64_t events_sent, refused; /* counted for the unit tests; not in /metrics yet */
};

int pfs_live_init(struct pfs_live *lv, uv_loop_t *loop, int per_user, int keepalive_s) PF_WUR;
/* Stops the timer (the loop must run once more to close it); watchers must be gone. */
void pfs_live_release(struct pfs_live *lv);

/* A new watcher of user for rollout (0: none) and serial (NULL or "": none).
 * PF_ERATE when user already has per_user watchers; PF_ENOMEM. */
int pfs_live_watch(struct pfs_live *lv, const char *user, int64_t rollout, const char *serial,
                   void (*wake)(void *ctx), void *wake_ctx, struct pfs_live_watch **out) PF_WUR;
void pfs_live_unwatch(struct pfs_live_watch *w);

/* What changed (rollout 0 or serial NULL: that kind did not). */
void pfs_live_note(struct pfs_live *lv, int64_t rollout, const char *serial);
/* A terminal changed in writes not yet committed; told at pfs_live_commit(). */
void pfs_live_note_later(struct pfs_live *lv, const char *serial);
void pfs_live_commit(struct pfs_live *lv);
/* Whether anyone watches this rollout. */
bool pfs_live_watched(const struct pfs_live *lv, int64_t rollout);

/* Writes what w has to say into buf (whole events only, at most max bytes) and
 * clears it; 0 when nothing. */
size_t pfs_live_take(struct pfs_live_watch *w, char *buf, size_t max);

#endif
