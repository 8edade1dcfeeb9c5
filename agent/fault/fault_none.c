/*
 * fault_none.c - the power-cut injection points of a release build
 * (POSFLEET_FAULT=OFF; see pfa/update_fault.h): every point is an empty call,
 * nothing reads the environment, nothing kills the process.
 */
#include <string.h>

#include "pfa/update_fault.h"

bool pfa_fault_compiled(void)
{
    return false;
}

void pfa_fault_init(struct pfa_fault *f)
{
    memset(f, 0, sizeof(*f));
}

void pfa_fault_point(struct pfa_fault *f)
{
    (void)f;
}

void pfa_fault_write_point(struct pfa_fault *f, int fd, const void *buf, size_t len,
                           uint64_t offset)
{
    (void)f;
    (void)fd;
    (void)buf;
    (void)len;
    (void)offset;
}
