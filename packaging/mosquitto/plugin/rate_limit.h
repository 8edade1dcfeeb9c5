/*
 * rate_limit.h - the broker plugin's per-client publish rate limit: a token
 * bucket per client id, kept only while the client is connected.
 *
 * Each client has two buckets: one for chunk requests (topics whose last level
 * is `chunkreq`: a download asks for chunks as fast as the link answers) and
 * one for every other publish. A bucket holds at most BURST tokens, gains RATE
 * tokens a second and a publish takes one; a publish finding none is refused.
 * RATE 0 means no limit. Tokens are counted in thousandths so that whole
 * milliseconds of refill are never lost to rounding.
 *
 * The table is keyed by client id and grows with the connected clients; the
 * plugin removes a client's entry when it disconnects, so its size is bounded
 * by the broker's connections. Pure libc, no Mosquitto types: the plugin
 * (posfleet_acl.c) and tests/unit/test_acl_plugin.c both build it.
 */
#ifndef PFACL_RATE_LIMIT_H
#define PFACL_RATE_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"

struct pfrl_bucket {
    uint64_t milli;   /* tokens × 1000 */
    uint64_t last_ms; /* time of the last refill */
};

/* RATE tokens a second, at most BURST (≥ 1); 0 RATE = no limit. */
struct pfrl_limit {
    uint32_t rate;
    uint32_t burst;
};

/* Fills B to its burst at NOW_MS (a bucket starts full). */
void pfrl_bucket_init(struct pfrl_bucket *b, const struct pfrl_limit *lim, uint64_t now_ms);
/* Refills B up to NOW_MS and takes one token: true when the publish may pass.
 * A clock that goes backwards refills nothing. */
bool pfrl_take(struct pfrl_bucket *b, const struct pfrl_limit *lim, uint64_t now_ms);

struct pfrl_client {
    struct pfrl_client *next;
    char *id;
    struct pfrl_bucket report; /* every publish but chunk requests */
    struct pfrl_bucket chunk;  /* chunk requests */
    uint64_t denied;           /* refused since the last log line */
    uint64_t logged_ms;        /* time of the last log line; 0 = never */
};

struct pfrl_table {
    struct pfrl_limit report;
    struct pfrl_limit chunk;
    struct pfrl_client **slots;
    size_t nslots; /* a power of two, or 0 before the first client */
    size_t count;
};

/* True when TOPIC's last level is `chunkreq`. */
bool pfrl_is_chunkreq(const char *topic);
/* The decision for one publish of client ID on TOPIC at NOW_MS. Creates the
 * client's entry (both buckets full) on its first publish; *CLIENT (when not
 * NULL) is set to it. Returns 1 to allow, 0 to refuse, -1 when no entry
 * could be allocated (the caller decides; the plugin lets it pass). */
PF_WUR int pfrl_check(struct pfrl_table *t, const char *id, const char *topic, uint64_t now_ms,
                      struct pfrl_client **client);
/* Forgets client ID (it disconnected); nothing when unknown. */
void pfrl_forget(struct pfrl_table *t, const char *id);
void pfrl_table_release(struct pfrl_table *t);

#endif
