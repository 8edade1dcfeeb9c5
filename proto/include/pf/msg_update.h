/*
 * msg_update.h - the update protocol: offers, chunk requests, binary chunk
 * frames, chunk errors and outcome events (docs/protocol.md, "Updates").
 *
 *   S->T  pf/v1/cmd/{serial}/offer     QoS 1, JSON   struct pf_offer
 *   T->S  pf/v1/dev/{serial}/chunkreq  QoS 0, JSON   struct pf_chunkreq
 *   S->T  pf/v1/cmd/{serial}/chunk     QoS 0, binary PF_CHUNK_HDR_LEN header + data
 *   S->T  pf/v1/cmd/{serial}/chunkerr  QoS 0, JSON   struct pf_chunkerr
 *   T->S  pf/v1/dev/{serial}/event     QoS 1, JSON   struct pf_update_event
 *   S->T  pf/v1/cmd/{serial}/ack       QoS 1, JSON   struct pf_ack (pf/msg.h)
 *
 * Codecs only, strict like pf/msg.h: every decoder checks presence, type,
 * range and length, ignores unknown fields and names the field it refuses.
 * Nothing here is trusted for safety: the offer's entry table and the chunk
 * bytes come from an untrusted server and are checked by the signed manifest's
 * digests on the terminal. pf_offer_from_bundle() builds the offer fields of a
 * bundle file (what posfleetd sends) with libarchive; all structs are
 * caller-owned values.
 */
#ifndef PF_MSG_UPDATE_H
#define PF_MSG_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/b2.h"
#include "pf/bundle.h"
#include "pf/error.h"
#include "pf/manifest.h"
#include "pf/msg.h"
#include "pf/version.h"

/* Leaves under cmd/{serial}/ (server -> terminal). */
#define PF_CMD_OFFER    "offer"
#define PF_CMD_CHUNK    "chunk"
#define PF_CMD_CHUNKERR "chunkerr"
/* Leaves under dev/{serial}/ (terminal -> server); events use PF_DEV_EVENT. */
#define PF_DEV_CHUNKREQ "chunkreq"

#define PF_UPDATE_ID_MAX     64 /* offer and event ids: [A-Za-z0-9._:-] */
#define PF_OFFER_MAX_ENTRIES PF_BUNDLE_MAX_ENTRIES
#define PF_OFFER_URL_MAX     512
#define PF_CHUNK_MIN         1024
#define PF_CHUNK_MAX         (256u * 1024u) /* largest chunk a server may send */
#define PF_UPDATE_SIZE_MAX   (UINT64_C(1) << 40)
#define PF_UPDATE_MSG_MAX    8192 /* JSON messages of this protocol */
#define PF_UPDATE_TEXT_MAX   200  /* human-readable messages */
#define PF_UPDATE_CODE_MAX   48   /* error names, reasons */
/* refused: the offered version is the one installed (docs/protocol.md) */
#define PF_UPDATE_CODE_ALREADY "ALREADY"

/* ---- offer ---------------------------------------------------------------- */

/* One tar entry of the bundle file: absolute byte range of its data. */
struct pf_offer_entry {
    char name[PF_MANIFEST_NAME_MAX + 1];
    uint64_t offset;
    uint64_t size;
};

struct pf_offer {
    char id[PF_UPDATE_ID_MAX + 1];
    uint8_t bundle[PF_B2_LEN]; /* BLAKE2b-256 of the bundle file */
    int kind;                  /* enum pf_bundle_kind */
    char version[PF_VERSION_MAX + 1];
    uint64_t size;               /* bundle file size */
    uint8_t manifest[PF_B2_LEN]; /* BLAKE2b-256 of manifest.json */
    int64_t deadline_ms;         /* give up (failed TIMEOUT) after this wall time */
    uint32_t max_chunk;          /* PF_CHUNK_MIN..PF_CHUNK_MAX */
    size_t nentries;
    struct pf_offer_entry entries[PF_OFFER_MAX_ENTRIES];
    char url[PF_OFFER_URL_MAX + 1]; /* optional https:// range source; "" = MQTT only */
};

int pf_offer_encode(const struct pf_offer *m, char *buf, size_t len, size_t *outlen) PF_WUR;
/* Also checks: entries unique, within size, the four metadata entries present. */
int pf_offer_decode(const char *buf, size_t len, struct pf_offer *m, struct pf_error *err) PF_WUR;
const struct pf_offer_entry *pf_offer_entry_find(const struct pf_offer *m, const char *name);

/*
 * Fills bundle, kind, version, size, manifest and entries of an offer from an
 * uncompressed bundle file (a compressed one is PF_EINVAL: ranges must be
 * plain bytes). The manifest is parsed, not verified (posfleetd verifies the
 * upload separately). id, deadline_ms, max_chunk and url are left as found.
 */
int pf_offer_from_bundle(const char *path, struct pf_offer *m, struct pf_error *err) PF_WUR;

/* ---- chunk request ---------------------------------------------------------- */

struct pf_chunkreq {
    uint8_t bundle[PF_B2_LEN];
    uint64_t offset;
    uint32_t length; /* 1..PF_CHUNK_MAX */
    uint32_t req;    /* echoed in the chunk header */
};

int pf_chunkreq_encode(const struct pf_chunkreq *m, char *buf, size_t len, size_t *outlen) PF_WUR;
int pf_chunkreq_decode(const char *buf, size_t len, struct pf_chunkreq *m,
                       struct pf_error *err) PF_WUR;

/* ---- chunk frame (binary) -----------------------------------------------------
 *
 *   off len field
 *    0   4  magic "PFCK"
 *    4   1  version (1)
 *    5   1  flags (0)
 *    6   2  header length, big endian (56)
 *    8  32  bundle id (raw BLAKE2b-256)
 *   40   8  offset in the bundle file, big endian
 *   48   4  data length, big endian (1..PF_CHUNK_MAX)
 *   52   4  request id, big endian (echo of chunkreq.req)
 *   56   n  data
 */
#define PF_CHUNK_MAGIC   "PFCK"
#define PF_CHUNK_VERSION 1
#define PF_CHUNK_HDR_LEN 56

struct pf_chunk_hdr {
    uint8_t bundle[PF_B2_LEN];
    uint64_t offset;
    uint32_t length;
    uint32_t req;
};

/* Writes the PF_CHUNK_HDR_LEN header bytes. */
void pf_chunk_hdr_encode(const struct pf_chunk_hdr *h, uint8_t out[PF_CHUNK_HDR_LEN]);
/*
 * Decodes a whole frame of len bytes: the header must be well formed and
 * length must equal len - PF_CHUNK_HDR_LEN. *data points into buf.
 */
int pf_chunk_decode(const void *buf, size_t len, struct pf_chunk_hdr *h, const uint8_t **data,
                    struct pf_error *err) PF_WUR;

/* ---- chunk error ------------------------------------------------------------ */

enum pf_chunk_errcode {
    PF_CHUNKERR_UNKNOWN_BUNDLE,
    PF_CHUNKERR_OUT_OF_RANGE,
    PF_CHUNKERR_TOO_LARGE,
    PF_CHUNKERR_BUSY, /* the per-terminal in-flight window is full: retry later */
};
/* "unknown_bundle", "out_of_range", "too_large", "busy", NULL */
extern const char *const pf_chunkerr_names[];

struct pf_chunkerr {
    uint8_t bundle[PF_B2_LEN];
    uint64_t offset;
    uint32_t req;
    enum pf_chunk_errcode error;
    char message[PF_UPDATE_TEXT_MAX + 1]; /* optional */
};

int pf_chunkerr_encode(const struct pf_chunkerr *m, char *buf, size_t len, size_t *outlen) PF_WUR;
int pf_chunkerr_decode(const char *buf, size_t len, struct pf_chunkerr *m,
                       struct pf_error *err) PF_WUR;

/* ---- outcome event ----------------------------------------------------------- */

enum pf_update_status {
    PF_UPD_ACCEPTED,
    PF_UPD_DEFERRED,    /* reason */
    PF_UPD_DOWNLOADING, /* percent */
    PF_UPD_VERIFYING,
    PF_UPD_INSTALLING,
    PF_UPD_REBOOTING,
    PF_UPD_SUCCESS,
    PF_UPD_FAILED,      /* code */
    PF_UPD_ROLLED_BACK, /* code */
    PF_UPD_REFUSED,     /* code: the verifier's pf_errname() */
    PF_UPD_STATUS_COUNT
};
/* "accepted", "deferred", "downloading", ..., "refused", NULL */
extern const char *const pf_update_status_names[];
/* success, failed, rolled_back and refused end an offer. */
bool pf_update_status_final(enum pf_update_status s);

struct pf_update_event {
    char id[PF_UPDATE_ID_MAX + 1]; /* unique; the server acks it and records it once */
    char offer[PF_UPDATE_ID_MAX + 1];
    uint8_t bundle[PF_B2_LEN];
    int kind;
    char version[PF_VERSION_MAX + 1];
    enum pf_update_status status;
    int64_t ts_ms;
    char reason[PF_UPDATE_CODE_MAX + 1];  /* deferred: busy, battery, storage, ... */
    int percent;                          /* downloading: 0..100 */
    char code[PF_UPDATE_CODE_MAX + 1];    /* failed / rolled_back / refused */
    char message[PF_UPDATE_TEXT_MAX + 1]; /* optional human-readable detail */
};

int pf_update_event_encode(const struct pf_update_event *m, char *buf, size_t len,
                           size_t *outlen) PF_WUR;
int pf_update_event_decode(const char *buf, size_t len, struct pf_update_event *m,
                           struct pf_error *err) PF_WUR;

/* Ids: 1..PF_UPDATE_ID_MAX characters of [A-Za-z0-9._:-]. */
bool pf_update_id_valid(const char *s);

#endif
