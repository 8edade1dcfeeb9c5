/*
 * chunks.h - posfleetd's chunk server: answers a terminal's chunk request
 * (pf/v1/dev/{serial}/chunkreq) with one binary chunk frame on
 * pf/v1/cmd/{serial}/chunk, read with pread from the stored bundle
 * (artifacts.h), or with a chunkerr on pf/v1/cmd/{serial}/chunkerr:
 *
 *   unknown_bundle  the bundle is not stored here
 *   out_of_range    offset/length beyond the end of the bundle
 *   too_large       length above the configured chunk size (update.chunk_max)
 *   busy            the terminal has update.window chunks not yet written to
 *                   the broker connection; it should retry later
 *
 * A chunk counts as in flight from its publish until libmosquitto reports it
 * written (pfs_chunks_published with its message id); if no write is
 * reported for PFS_CHUNKS_STALE_MS (a dropped connection discards QoS 0
 * messages silently) the terminal's window is reset.
 *
 * Only a bundle currently offered to the terminal is served, and only up to
 * a byte budget per offer (pfs_chunks_set_allow: the caller's function says
 * which offer, if any, covers the bundle, and how many bytes it allows). A
 * request outside that gets no answer at all: PF_ENOT_OFFERED, or PF_ELIMIT
 * once the offer's budget is spent (counted in stats.refused). The answer
 * is kept per terminal for PFS_CHUNKS_RECHECK_MS, so a download asks the
 * store once every few seconds, not once per chunk; bytes sent are counted
 * per offer in memory (a restart of posfleetd starts them again).
 *
 * The caller checks that the serial is registered and not revoked before
 * calling pfs_chunks_request. Publishing goes through a caller-given
 * function, so the module is the same in posfleetd and in its tests.
 * struct pfs_chunks is caller-owned (init/release) and owns its tables and
 * buffer; it borrows the artifacts and the clock. One thread.
 */
#ifndef PFS_CHUNKS_H
#define PFS_CHUNKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "updates/artifacts.h"
#include "pf/clock.h"
#include "pf/msg_update.h"
#include "pf/topic.h"

#define PFS_CHUNKS_STALE_MS   3000
#define PFS_CHUNKS_MIDS       65536 /* MQTT message ids are 16 bits */
#define PFS_CHUNKS_RECHECK_MS 5000

/* Which offer of serial covers bundle: 0 with offer (its id) and *budget
 * (bytes the terminal may fetch under it); PF_ENOT_OFFERED if no current
 * offer of serial is for bundle; another PF_E* if that cannot be told. */
typedef int (*pfs_chunks_allow_fn)(void *ctx, const char *serial, const uint8_t bundle[PF_B2_LEN],
                                   char offer[PF_UPDATE_ID_MAX + 1], uint64_t *budget);

enum pfs_chunks_refusal { PFS_CHUNKS_NOT_OFFERED, PFS_CHUNKS_BUDGET, PFS_CHUNKS_REFUSALS };
extern const char *const pfs_chunks_refusal_names[PFS_CHUNKS_REFUSALS];

/* Publishes on topic; *mid receives the MQTT message id. 0 or PF_ECONN. */
typedef int (*pfs_chunks_publish_fn)(void *ctx, const char *topic, const void *buf, size_t len,
                                     int qos, int *mid);

struct pfs_chunk_term {
    char serial[PF_SERIAL_MAX + 1]; /* "" = free slot */
    int inflight;
    int64_t active_ms; /* last publish or write of one of its chunks */
    /* The last answer of the allow function, for bundle, at checked_ms. */
    uint8_t bundle[PF_B2_LEN];
    bool checked, allowed;
    int64_t checked_ms;
    char offer[PF_UPDATE_ID_MAX + 1]; /* the offer whose bytes sent counts */
    uint64_t budget, sent;
};

struct pfs_chunks_stats {
    uint64_t chunks;                       /* chunk frames published */
    uint64_t bytes;                        /* data bytes in them (headers not counted) */
    uint64_t errors[4];                    /* chunkerr sent, by enum pf_chunk_errcode */
    uint64_t bad;                          /* requests the codec refused (no answer possible) */
    uint64_t io_errors;                    /* reads of stored bundles that failed */
    uint64_t refused[PFS_CHUNKS_REFUSALS]; /* requests left unanswered */
};

struct pfs_chunks {
    struct pfs_artifacts *art;
    const struct pf_clock *clock;
    uint32_t chunk_max;
    int window;
    pfs_chunks_publish_fn publish;
    void *publish_ctx;
    pfs_chunks_allow_fn allow; /* NULL: every stored bundle is served */
    void *allow_ctx;
    struct pfs_chunk_term *terms; /* open addressing by serial */
    size_t nterms, cap;
    uint32_t *mid_term; /* PFS_CHUNKS_MIDS entries: term index + 1, 0 = none */
    uint8_t *buf;       /* PF_CHUNK_HDR_LEN + chunk_max */
    struct pfs_chunks_stats stats;
    struct pf_error bad_err; /* why the last malformed request (stats.bad) was refused */
};

int pfs_chunks_init(struct pfs_chunks *c, struct pfs_artifacts *art, const struct pf_clock *clock,
                    uint32_t chunk_max, int window, pfs_chunks_publish_fn publish,
                    void *publish_ctx, struct pf_error *err) PF_WUR;
void pfs_chunks_release(struct pfs_chunks *c);
/* Serve only what allow says (see above). */
void pfs_chunks_set_allow(struct pfs_chunks *c, pfs_chunks_allow_fn allow, void *ctx);

/*
 * Answers one chunk request of serial. Returns 0 when a chunk was sent, the
 * chunkerr's reason as a PF_E* code when a chunkerr was sent (PF_ENOENT
 * unknown_bundle, PF_ERANGE out_of_range, PF_ETOOBIG too_large, PF_ELIMIT
 * busy), or the codec's code, PF_ENOT_OFFERED or PF_ELIMIT (budget spent)
 * when the request was refused without an answer.
 * PF_ECONN if publishing failed.
 */
int pfs_chunks_request(struct pfs_chunks *c, const char *serial, const void *payload, size_t len);

/* libmosquitto wrote message mid to the connection. */
void pfs_chunks_published(struct pfs_chunks *c, int mid);
/* Another module published message mid (not a chunk): forget any stale entry. */
void pfs_chunks_forget(struct pfs_chunks *c, int mid);

#endif
