/*
 * log.c - leveled log lines on stderr.
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>

const char *const pfs_log_level_names[] = {"error", "warn", "info", "debug", NULL};

void pfs_log(const struct pfs_log *log, enum pfs_log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (log && level > log->level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "posfleetd: %s: %s\n", pfs_log_level_names[level], line);
}
