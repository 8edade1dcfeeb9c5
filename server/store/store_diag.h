/*
 * store_diag.h - what posfleetd keeps about remote diagnostics (tables of
 * migration 006_diag): one row per request with the terminal's answer, and
 * the chunks of diagnostic archives.
 *
 * Like store.h: one thread, caller-owned structs, strings handed to callbacks
 * valid only during the call. Creating a request is administrative: it
 * commits the open ingest batch, then writes the request and its audit row in
 * one synchronous=FULL transaction. Answers and chunks commit the batch
 * (stamped with now_ms, like the ingest's own commits) and write in their own
 * statement.
 */
#ifndef PFS_STORE_DIAG_H
#define PFS_STORE_DIAG_H

#include <stdbool.h>
#include <stdint.h>

#include "pf/msg_diag.h"
#include "store/store.h"

#define PFS_DIAG_STATUS_MAX 8

struct pfs_diag_rec {
    char id[PF_DIAG_ID_MAX + 1];
    char serial[PF_SERIAL_MAX + 1];
    char command[PF_DIAG_CMD_MAX + 1];
    const char *args; /* JSON object text or NULL */
    char actor[PFS_ACTOR_MAX + 1];
    char role[16];
    int64_t created_ms;
    int64_t deadline_ms;
    char status[PFS_DIAG_STATUS_MAX + 1]; /* pending, ok, refused, failed, expired */
    char code[PF_DIAG_CODE_MAX + 1];
    const char *message;  /* or NULL */
    const char *result;   /* JSON object text or NULL */
    int64_t answered_ms;  /* 0 if no answer */
    bool late;            /* the answer came after the deadline */
    int64_t repair_id;    /* 0 if the terminal had no open repair record */
    int64_t archive_size; /* -1 unless an archive was announced */
    char archive_digest[PF_DIAG_CODE_MAX + 32];
    int64_t archive_received;
    int archive_done; /* 0 in progress or none, 1 complete and verified, 2 failed */
};

typedef int (*pfs_diag_rec_cb)(void *ctx, const struct pfs_diag_rec *r);

/* Inserts a pending request and its audit row ("diag.request", target serial). */
int pfs_store_diag_create(struct pfs_store *st, const struct pfs_diag_rec *r,
                          const struct pfs_actor *actor, int64_t now_ms,
                          struct pf_error *err) PF_WUR;
/* PF_ENOENT if there is no such request. */
int pfs_store_diag_get(struct pfs_store *st, const char *id, pfs_diag_rec_cb cb, void *ctx) PF_WUR;
/* A terminal's requests, newest first. */
int pfs_store_diag_list(struct pfs_store *st, const char *serial, int limit, pfs_diag_rec_cb cb,
                        void *ctx) PF_WUR;

/*
 * Records a terminal's answer. PF_ENOENT if the id is not a request to that
 * serial; PF_EEXIST if it was answered already (nothing changed). An answer
 * to an expired request is stored with late set. An ok archive answer also
 * records the announced size and digest (archive_size, archive_digest).
 */
int pfs_store_diag_answer(struct pfs_store *st, const char *serial, const struct pf_diag_resp *r,
                          int64_t archive_size, const char *archive_digest, int64_t now_ms,
                          bool *late) PF_WUR;
/* Marks pending requests past their deadline expired; cb (may be NULL) sees each. */
int pfs_store_diag_expire(struct pfs_store *st, int64_t now_ms, pfs_diag_rec_cb cb, void *ctx,
                          int *n) PF_WUR;

/* Appends a chunk at offset == archive_received; PF_ERANGE otherwise. *received gets the new total.
 */
int pfs_store_diag_chunk_put(struct pfs_store *st, const char *id, int64_t offset, const void *data,
                             size_t len, int64_t now_ms, int64_t *received) PF_WUR;
/* done: 1 complete and verified, 2 failed. */
int pfs_store_diag_archive_done(struct pfs_store *st, const char *id, int done,
                                int64_t now_ms) PF_WUR;
/* The archive's bytes received so far, in order (heap, caller frees). */
int pfs_store_diag_archive_read(struct pfs_store *st, const char *id, void **buf,
                                size_t *len) PF_WUR;
/* Archives announced but not complete (archive_done 0, size >= 0). */
int pfs_store_diag_transfers(struct pfs_store *st, pfs_diag_rec_cb cb, void *ctx) PF_WUR;

#endif
