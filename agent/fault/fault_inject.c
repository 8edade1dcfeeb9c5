/*
 * fault_inject.c - the power-cut injection points of a test build
 * (POSFLEET_FAULT=ON; see pfa/update_fault.h): the chosen point SIGKILLs the
 * process. Never compiled into a release build (fault_none.c is).
 */
#include "pfa/update_fault.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pf/num.h"

bool pfa_fault_compiled(void)
{
    return true;
}

void pfa_fault_init(struct pfa_fault *f)
{
    const char *at = getenv("POSFLEET_UPDATE_CRASH_AT");
    const char *seed = getenv("POSFLEET_UPDATE_CRASH_SEED");
    int64_t n;
    uint64_t s;

    memset(f, 0, sizeof(*f));
    /* A value that is not a count leaves the points off rather than guessing one. */
    if (at && pf_parse_i64(at, 0, INT32_MAX, &n) == 0)
        f->crash_at = (long)n;
    f->rng = seed && pf_parse_u64(seed, 0, UINT64_MAX, &s) == 0 ? s : 0x9e3779b97f4a7c15ULL;
    if (f->rng == 0)
        f->rng = 1;
}

static bool fault__due(struct pfa_fault *f)
{
    if (!f || f->crash_at <= 0)
        return false;
    return ++f->count == f->crash_at;
}

static void fault__die(void)
{
    kill(getpid(), SIGKILL);
    _exit(137); /* not reached */
}

void pfa_fault_point(struct pfa_fault *f)
{
    if (fault__due(f))
        fault__die();
}

void pfa_fault_write_point(struct pfa_fault *f, int fd, const void *buf, size_t len,
                           uint64_t offset)
{
    if (!fault__due(f))
        return;
    f->rng ^= f->rng << 13;
    f->rng ^= f->rng >> 7;
    f->rng ^= f->rng << 17;
    if (len > 0) {
        size_t part = (size_t)(f->rng % len);
        if (pwrite(fd, buf, part, (off_t)offset) < 0)
            fault__die();
    }
    fault__die();
}
