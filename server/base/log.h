/*
 * log.h - posfleetd's log lines on stderr (journald adds the time).
 *
 * A struct pfs_log is part of the server context; its level is the
 * configured log_level. Lines look like "posfleetd: warn: ingest: ...".
 * Never log secrets, tokens or payload bytes beyond what validation names.
 */
#ifndef PFS_LOG_H
#define PFS_LOG_H

#include "pf/error.h"

enum pfs_log_level { PFS_LOG_ERROR, PFS_LOG_WARN, PFS_LOG_INFO, PFS_LOG_DEBUG };
extern const char *const pfs_log_level_names[]; /* "error", "warn", "info", "debug", NULL */

struct pfs_log {
    enum pfs_log_level level;
};

void pfs_log(const struct pfs_log *log, enum pfs_log_level level, const char *fmt, ...)
        PF_PRINTF(3, 4);

#define pfs_log_error(l, ...) pfs_log((l), PFS_LOG_ERROR, __VA_ARGS__)
#define pfs_log_warn(l, ...)  pfs_log((l), PFS_LOG_WARN, __VA_ARGS__)
#define pfs_log_info(l, ...)  pfs_log((l), PFS_LOG_INFO, __VA_ARGS__)
#define pfs_log_debug(l, ...) pfs_log((l), PFS_LOG_DEBUG, __VA_ARGS__)

#endif
