/*
 * queue.h - the on-disk queue of health reports awaiting the broker's PUBACK.
 *
 * One file per report in a directory the queue owns, named by the report's
 * sequence number ("0000000042.msg"), written with pf_file_write_atomic() so
 * a power cut leaves either the whole report or nothing; leftover temporary
 * files are ignored and removed at open. The queue holds at most max reports:
 * pushing onto a full queue deletes the oldest and counts it as dropped. Only
 * the sequence numbers are kept in memory (4 bytes a report); payloads are
 * read back from disk when published. Order is by sequence number, oldest first.
 */
#ifndef PFA_QUEUE_H
#define PFA_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"

struct pfa_queue;

/* Creates dir if needed and loads what a previous run left there. */
int pfa_queue_open(const char *dir, size_t max, struct pfa_queue **out,
                   struct pf_error *err) PF_WUR;
void pfa_queue_close(struct pfa_queue *q);

/*
 * Stores a report. If the queue is full the oldest reports are removed first
 * and *dropped (may be NULL) is set to how many. PF_EEXIST if seq is queued.
 */
int pfa_queue_push(struct pfa_queue *q, uint32_t seq, const void *buf, size_t len,
                   unsigned *dropped) PF_WUR;
size_t pfa_queue_len(const struct pfa_queue *q);
/* Sequence number of the i-th oldest report; PF_ENOENT past the end. */
int pfa_queue_seq_at(const struct pfa_queue *q, size_t i, uint32_t *seq) PF_WUR;
/* Highest queued sequence number; PF_ENOENT when empty. */
int pfa_queue_last_seq(const struct pfa_queue *q, uint32_t *seq) PF_WUR;
/* Reads a report into a heap buffer (caller frees *buf). */
int pfa_queue_read(const struct pfa_queue *q, uint32_t seq, char **buf, size_t *len) PF_WUR;
/* Deletes a delivered report; PF_ENOENT if it is not queued (already dropped). */
int pfa_queue_remove(struct pfa_queue *q, uint32_t seq) PF_WUR;
/* Reports dropped by this queue since it was opened. */
unsigned pfa_queue_dropped(const struct pfa_queue *q);

#endif
