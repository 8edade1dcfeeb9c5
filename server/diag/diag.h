/*
 * diag.h - posfleetd's side of remote diagnostics (docs/protocol.md,
 * "Diagnostics"; docs/server.md, "Diagnostics").
 *
 * pfs_diag_request() checks the rate limits (per terminal and per user, a
 * sliding minute), records the request with its audit row (store_diag.h) and
 * publishes it as an MQTT v5 request: Response Topic, Correlation Data = id,
 * Message Expiry Interval = seconds to the deadline, so the broker drops a
 * request the terminal was not there to receive in time. Answers on
 * dev/{serial}/diag are matched by id (which is also the correlation data)
 * and stored; an answer after the deadline is stored and flagged late. An ok
 * archive answer starts the chunk transfer: one chunk request at a time from
 * the offset stored so far, re-sent after a silence, so a dropped link or a
 * restart of either side resumes where it stopped. A complete archive is
 * checked against the digest the terminal announced.
 *
 * The server's inbound dispatch (fleet/inbound.h) hands answers and archive
 * chunks of registered terminals to pfs_diag_on_answer and pfs_diag_on_chunk.
 * A timer on the loop expires pending requests and drives transfers.
 * Everything runs on the loop thread. The struct is caller-owned; it borrows
 * store, publisher, clock and log.
 */
#ifndef PFS_DIAG_H
#define PFS_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <uv.h>

#include "base/log.h"
#include "base/publisher.h"
#include "pf/clock.h"
#include "pf/msg_diag.h"
#include "store/store.h"

#define PFS_DIAG_DEADLINE_DEFAULT_S 30
#define PFS_DIAG_DEADLINE_MAX_S     3600
#define PFS_DIAG_RATE_TERMINAL      10 /* requests per terminal per minute */
#define PFS_DIAG_RATE_USER          60 /* requests per API user per minute */
#define PFS_DIAG_RATE_KEYS          256
#define PFS_DIAG_RATE_MAX           1000
#define PFS_DIAG_TRANSFERS          64 /* archive transfers at once */

struct pfs_diag_opts {
    int rate_terminal; /* 0 = PFS_DIAG_RATE_TERMINAL */
    int rate_user;     /* 0 = PFS_DIAG_RATE_USER */
};

/* Sliding-minute counter of one key (a serial or a user name). */
struct pfs_diag_rate {
    char key[72];
    int64_t last_ms;
    int n; /* entries in ts */
    int head;
    int64_t ts[PFS_DIAG_RATE_MAX];
};

struct pfs_diag_xfer {
    bool active;
    char id[PF_DIAG_ID_MAX + 1];
    char serial[PF_SERIAL_MAX + 1];
    int64_t size, received;
    char digest[PF_DIAG_CODE_MAX + 32];
    int64_t asked_ms;   /* mono ms of the last chunk request */
    int64_t give_up_ms; /* wall ms */
};

struct pfs_diag_counts {
    uint64_t requests, answers, late, expired, rate_limited, bad, chunks, archives;
};

struct pfs_diag {
    struct pfs_store *store;
    const struct pfs_publisher *pub;
    const struct pf_clock *clock;
    const struct pfs_log *log;
    struct pfs_diag_opts opts;
    uv_timer_t timer;
    bool timer_open;
    struct pfs_diag_rate *rates; /* PFS_DIAG_RATE_KEYS, heap */
    struct pfs_diag_xfer xfer[PFS_DIAG_TRANSFERS];
    struct pfs_diag_counts n;
};

int pfs_diag_init(struct pfs_diag *d, const struct pfs_diag_opts *opts, struct pfs_store *store,
                  const struct pfs_publisher *pub, uv_loop_t *loop, const struct pf_clock *clock,
                  const struct pfs_log *log, struct pf_error *err) PF_WUR;
/* Stops the timer (the loop must run once more to close it) and frees. */
void pfs_diag_release(struct pfs_diag *d);

/* Inbound handler (ctx is the struct pfs_diag) for dev/{serial}/diagchunk of a
 * registered terminal. It returns 0: a bad message is counted (bad) and logged here. */
/*
 * An answer with the MQTT v5 correlation data it came with (corr NULL, corr_len 0 when it had
 * none): the correlation data must be the bytes of the payload's id, which must name a request
 * made to serial. A mismatch (or none) is refused before anything is stored: counted (bad),
 * logged, PF_EPERM returned for the dispatch to count. The wiring routes dev/{serial}/diag here
 * with the correlation data the dispatch holds (pfs_inbound_corr).
 */
int pfs_diag_answer(struct pfs_diag *d, const char *serial, const void *payload, size_t len,
                    const void *corr, size_t corr_len);
int pfs_diag_on_chunk(void *ctx, const char *serial, const void *payload, size_t len);

/*
 * Creates and sends a request. command: 1..32 of [a-z0-9_] (not checked
 * against the allowlist: the terminal refuses what it does not run, and says
 * so). args: the JSON object of the API (lines, level, minutes, max_kb), may be
 * NULL. deadline_s: 0 = default. On success id[PF_DIAG_ID_MAX + 1] and
 * *deadline_ms are filled. PF_ELIMIT (err says which limit) when rate limited,
 * PF_EUNKNOWN_SERIAL, PF_EREVOKED, PF_ECONN when posfleetd has no broker
 * connection, PF_EINVAL/PF_ERANGE for bad arguments.
 */
int pfs_diag_request(struct pfs_diag *d, const char *serial, const char *command, json_t *args,
                     int deadline_s, const struct pfs_actor *actor, char *id, int64_t *deadline_ms,
                     struct pf_error *err) PF_WUR;

/* Runs the periodic work now (tests). */
void pfs_diag_poll(struct pfs_diag *d);

#endif
