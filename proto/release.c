/*
 * release.c - the --version line.
 */
#include "pf/release.h"

int pf_release_print(FILE *f, const char *prog)
{
    if (fprintf(f, "%s %s\n", prog, PF_RELEASE_VERSION) < 0 || fflush(f) != 0)
        return 1;
    return 0;
}
