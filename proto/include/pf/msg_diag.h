/*
 * msg_diag.h - the diagnostics protocol: allowlisted requests from support,
 * the terminal's responses, and the archive transfer in resumable chunks
 * (docs/protocol.md, "Diagnostics").
 *
 *   S->T  pf/v1/cmd/{serial}/diag       QoS 1, JSON   struct pf_diag_req
 *         MQTT v5: Response Topic pf/v1/dev/{serial}/diag, Correlation Data =
 *         the request id, Message Expiry Interval = seconds to the deadline
 *   T->S  pf/v1/dev/{serial}/diag       QoS 1, JSON   struct pf_diag_resp
 *         (same Correlation Data; the id is also in the payload)
 *   S->T  pf/v1/cmd/{serial}/diagchunk  QoS 1, JSON   struct pf_diag_chunkreq
 *   T->S  pf/v1/dev/{serial}/diagchunk  QoS 1, binary PF_DIAG_CHUNK_HDR_LEN header + data
 *
 * Codecs only, strict like pf/msg.h. The response's result is a JSON object
 * whose shape depends on the command; the codec checks the envelope and keeps
 * the result as compact JSON text (owned by the struct, freed by
 * pf_diag_resp_release). Every other struct is a caller-owned value.
 */
#ifndef PF_MSG_DIAG_H
#define PF_MSG_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"
#include "pf/msg.h"

#define PF_CMD_DIAG      "diag"
#define PF_CMD_DIAGCHUNK "diagchunk"
#define PF_DEV_DIAG      "diag"
#define PF_DEV_DIAGCHUNK "diagchunk"

#define PF_DIAG_ID_MAX      60 /* [A-Za-z0-9._:-] */
#define PF_DIAG_CMD_MAX     32 /* [a-z0-9_] */
#define PF_DIAG_REQ_MAX     2048
#define PF_DIAG_RESP_MAX    (64u * 1024u) /* a logs answer is the largest */
#define PF_DIAG_TEXT_MAX    200
#define PF_DIAG_CODE_MAX    48
#define PF_DIAG_LINES_MAX   500
#define PF_DIAG_MINUTES_MAX 1440
#define PF_DIAG_CHUNK_MAX   (32u * 1024u)
#define PF_DIAG_ARCHIVE_MAX (4u * 1024u * 1024u) /* no terminal may offer more */

/* The allowlist. Anything else is PF_DIAG_UNKNOWN and refused by the terminal. */
enum pf_diag_cmd {
    PF_DIAG_SELFTEST,
    PF_DIAG_LOGS,
    PF_DIAG_NET,
    PF_DIAG_CONFIG,
    PF_DIAG_VERSIONS,
    PF_DIAG_LOGLEVEL,
    PF_DIAG_REBOOT,
    PF_DIAG_ARCHIVE,
    PF_DIAG_UNKNOWN,
};
/* "selftest", "logs", ..., "archive", NULL (indexed by enum pf_diag_cmd). */
extern const char *const pf_diag_cmd_names[];
/* The allowlist entry of a command word, PF_DIAG_UNKNOWN if none. */
enum pf_diag_cmd pf_diag_cmd_lookup(const char *word);

enum pf_diag_status {
    PF_DIAG_OK,      /* ran; result holds what it found */
    PF_DIAG_REFUSED, /* not run: code says why (UNKNOWN_COMMAND, BUSY, EXPIRED, ...) */
    PF_DIAG_FAILED,  /* ran and failed: code, message */
};
extern const char *const pf_diag_status_names[]; /* "ok", "refused", "failed", NULL */

struct pf_diag_req {
    char id[PF_DIAG_ID_MAX + 1];
    char cmd[PF_DIAG_CMD_MAX + 1]; /* the word as sent; not necessarily allowlisted */
    int64_t ts_ms;                 /* when posfleetd created it */
    int64_t deadline_ms;           /* wall time after which it must not run */
    /* Arguments (absent = 0 / ""): */
    int lines;       /* logs: 1..PF_DIAG_LINES_MAX */
    char level[8];   /* loglevel: error, warn, info, debug */
    int minutes;     /* loglevel: 1..PF_DIAG_MINUTES_MAX */
    uint32_t max_kb; /* archive: bound asked for, 1..PF_DIAG_ARCHIVE_MAX/1024 */
};

int pf_diag_req_encode(const struct pf_diag_req *m, char *buf, size_t len, size_t *outlen) PF_WUR;
/* Checks the arguments the allowlisted command needs (logs: lines; loglevel: level). */
int pf_diag_req_decode(const char *buf, size_t len, struct pf_diag_req *m,
                       struct pf_error *err) PF_WUR;

struct pf_diag_resp {
    char id[PF_DIAG_ID_MAX + 1];
    char cmd[PF_DIAG_CMD_MAX + 1];
    enum pf_diag_status status;
    int64_t ts_ms;
    char code[PF_DIAG_CODE_MAX + 1];    /* refused/failed: a reason name */
    char message[PF_DIAG_TEXT_MAX + 1]; /* optional, for people */
    char *result;                       /* compact JSON object text, heap; NULL when absent */
};

/* result (may be NULL) must be a JSON object's text. */
int pf_diag_resp_encode(const struct pf_diag_resp *m, char *buf, size_t len, size_t *outlen) PF_WUR;
int pf_diag_resp_decode(const char *buf, size_t len, struct pf_diag_resp *m,
                        struct pf_error *err) PF_WUR;
void pf_diag_resp_release(struct pf_diag_resp *m);

struct pf_diag_chunkreq {
    char id[PF_DIAG_ID_MAX + 1]; /* the archive request's id */
    uint64_t offset;
    uint32_t length; /* 1..PF_DIAG_CHUNK_MAX */
};

int pf_diag_chunkreq_encode(const struct pf_diag_chunkreq *m, char *buf, size_t len,
                            size_t *outlen) PF_WUR;
int pf_diag_chunkreq_decode(const char *buf, size_t len, struct pf_diag_chunkreq *m,
                            struct pf_error *err) PF_WUR;

/* ---- archive chunk frame (binary) ---------------------------------------------
 *
 *   off len field
 *    0   4  magic "PFDG"
 *    4   1  version (1)
 *    5   1  flags: 0x01 last chunk, 0x02 archive unknown or gone (no data)
 *    6   2  header length, big endian (88)
 *    8   8  offset in the archive, big endian
 *   16   8  archive size, big endian
 *   24   4  data length, big endian (0..PF_DIAG_CHUNK_MAX)
 *   28  60  request id, NUL padded (PF_DIAG_ID_MAX)
 *   88   n  data
 */
#define PF_DIAG_CHUNK_MAGIC   "PFDG"
#define PF_DIAG_CHUNK_VERSION 1
#define PF_DIAG_CHUNK_HDR_LEN 88
#define PF_DIAG_CHUNK_IDLEN   PF_DIAG_ID_MAX
#define PF_DIAG_CHUNK_LAST    0x01
#define PF_DIAG_CHUNK_GONE    0x02

struct pf_diag_chunk_hdr {
    char id[PF_DIAG_CHUNK_IDLEN + 1];
    uint8_t flags;
    uint64_t offset;
    uint64_t size;
    uint32_t length;
};

/* Writes the header; PF_EINVAL if the id does not fit the frame. */
int pf_diag_chunk_hdr_encode(const struct pf_diag_chunk_hdr *h,
                             uint8_t out[PF_DIAG_CHUNK_HDR_LEN]) PF_WUR;
/* Decodes a whole frame; *data points into buf. */
int pf_diag_chunk_decode(const void *buf, size_t len, struct pf_diag_chunk_hdr *h,
                         const uint8_t **data, struct pf_error *err) PF_WUR;

/* Ids: 1..PF_DIAG_ID_MAX characters of [A-Za-z0-9._:-]. */
bool pf_diag_id_valid(const char *s);

/*
 * Masks anything in s that looks like a card number (13 to 19 digits, with
 * optional single spaces or dashes between them, passing the Luhn check) with '*' in place, keeping
 * the last four digits. Returns the number of sequences masked. Every text a
 * terminal puts in a diagnostic result goes through this.
 */
int pf_diag_scrub_pan(char *s);

#endif
