/*
 * crashrec.h - the trace format shared by the recorder (crashrec.c, an
 * LD_PRELOAD shim loaded only by the crash tests) and the crash-state
 * generator (crashstates.c).
 *
 * A trace is a sequence of records, each a struct crashrec_hdr followed by
 * path1 (plen1 bytes), path2 (plen2 bytes) and, for writes, len bytes of data.
 * Paths are absolute as the process named them. Records are appended in the
 * order the calls completed: the recorder holds one lock per process around
 * the real call and its record, so the engine's worker threads cannot
 * interleave a call with another's record.
 */
#ifndef PF_CRASHREC_H
#define PF_CRASHREC_H

#include <stdint.h>

#define CRASHREC_MAGIC 0x50464352u /* "PFCR" */

enum crashrec_op {
    CR_OPEN = 1,  /* fd = open(path1, flags); created: the call made the file */
    CR_CLOSE,     /* close(fd) */
    CR_WRITE,     /* len bytes at off through fd (write, pwrite, writev) */
    CR_TRUNC,     /* ftruncate(fd, off) */
    CR_TRUNCP,    /* truncate(path1, off) */
    CR_FSYNC,     /* fsync(fd) or fdatasync(fd) (flags 1) */
    CR_RENAME,    /* rename(path1, path2) */
    CR_UNLINK,    /* unlink(path1) */
    CR_MKDIR,     /* mkdir(path1) */
    CR_RMDIR,     /* rmdir(path1) */
    CR_SYNC,      /* sync(), syncfs(), or a clean reboot (written by the generator) */
    CR_DUP,       /* fd2 = dup(fd) */
    CR_UNTRACKED, /* a write path the recorder cannot follow (stdio, mmap): path1 */
};

struct crashrec_hdr {
    uint32_t magic;
    uint32_t op;
    int32_t pid;
    int32_t fd;
    int32_t fd2;
    int32_t flags;
    uint64_t off;
    uint64_t len;
    uint32_t plen1;
    uint32_t plen2;
};

#endif
