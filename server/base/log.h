/*
 * log.h - posfleetd's log lines on stderr.
 *
 * A struct pfs_log is part of the server context; its level is the
 * configured log_level. A line is "TIME posfleetd: LEVEL: text", TIME in UTC
 * with milliseconds ("2026-12-07T16:27:00.123Z"). When stderr is journald's
 * stream (systemd sets JOURNAL_STREAM to its "device:inode"), the journal
 * stamps the time itself and wants the level as an sd-daemon priority
 * prefix instead: "<4>posfleetd: warn: text" (error 3, warn 4, info 6,
 * debug 7). Never log secrets, tokens or payload bytes beyond what
 * validation names.
 */
#ifndef PFS_LOG_H
#define PFS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* One line (with its newline) into buf, truncated to fit: journal style when
 * journal, else stamped with wall_ms (ms since the epoch). Returns its length. */
size_t pfs_log_format(char *buf, size_t size, enum pfs_log_level level, bool journal,
                      int64_t wall_ms, const char *text);
/* Does JOURNAL_STREAM's value ("device:inode", decimal) name this device and inode? */
bool pfs_log_journal_match(const char *journal_stream, uint64_t dev, uint64_t ino);

#endif
