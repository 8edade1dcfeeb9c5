/*
 * update_fault.h - power-cut injection for the update engine (test builds).
 *
 * The engine, the slot writer and the fee-table store pass a crash point at
 * every persisted state transition, boot-environment write, fee-table write
 * and slot/staging chunk write. What a crash point does is chosen by the
 * build, by file (agent/CMakeLists.txt):
 *   - release (POSFLEET_FAULT=OFF, the default): agent/fault/fault_none.c,
 *     where every point is an empty call; nothing reads the environment and
 *     nothing in the binary can kill the process;
 *   - test (POSFLEET_FAULT=ON, packaging/scripts/test.sh):
 *     agent/fault/fault_inject.c. POSFLEET_UPDATE_CRASH_AT=N in the
 *     environment (or crash_at set directly) makes the Nth crash point passed
 *     in this process SIGKILL it; a chunk write cut there first writes a
 *     random prefix of the chunk, like a power cut in the middle of a write.
 *     POSFLEET_UPDATE_CRASH_SEED seeds that prefix.
 * docs/update.md documents it; tests/fault/injected/ holds the tests that
 * need it.
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

/* True in a POSFLEET_FAULT=ON build: crash points can kill the process. */
bool pfa_fault_compiled(void);
/* Zeroes f; with the points compiled in, reads POSFLEET_UPDATE_CRASH_AT / _SEED into it. */
void pfa_fault_init(struct pfa_fault *f);
/* Counts one crash point; SIGKILLs the process if it is the chosen one. */
void pfa_fault_point(struct pfa_fault *f);
/*
 * For a write of len bytes at fd/offset: if this is the chosen point, writes
 * a random prefix (possibly empty) and SIGKILLs the process; otherwise counts.
 */
void pfa_fault_write_point(struct pfa_fault *f, int fd, const void *buf, size_t len,
                           uint64_t offset);

#endif
