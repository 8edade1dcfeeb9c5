/*
 * update_fault.h - power-cut injection for the update engine (test hook).
 *
 * When POSFLEET_UPDATE_CRASH_AT=N is set in the environment (or crash_at is
 * set directly), the Nth crash point passed in this process SIGKILLs it:
 * every persisted state transition, every boot-environment write, every
 * fee-table write and every slot/staging chunk write is a crash point; a chunk
 * write cut there first writes a random prefix of the chunk, like a power cut
 * in the middle of a write. POSFLEET_UPDATE_CRASH_SEED seeds that prefix.
 * Off (crash_at = 0) in production; docs/update.md documents it.
 */
#ifndef PFA_UPDATE_FAULT_H
#define PFA_UPDATE_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pfa_fault {
    long crash_at; /* 0 = never */
    long count;    /* crash points passed so far */
    uint64_t rng;
};

/* Reads POSFLEET_UPDATE_CRASH_AT / _SEED into f (zeroed when unset). */
void pfa_fault_from_env(struct pfa_fault *f);
/* Counts one crash point; SIGKILLs the process if it is the chosen one. */
void pfa_fault_point(struct pfa_fault *f);
/*
 * For a write of len bytes at fd/offset: if this is the chosen point, writes
 * a random prefix (possibly empty) and SIGKILLs the process; otherwise counts.
 */
void pfa_fault_write_point(struct pfa_fault *f, int fd, const void *buf, size_t len,
                           uint64_t offset);

#endif
