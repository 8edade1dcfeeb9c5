/*
 * log.h - the agent's small logger: one line per event on stderr.
 *
 * A struct pfa_log is caller-owned and lives in the agent's context; the tag
 * (normally the serial) is borrowed and must outlive it. Never log secrets,
 * key material or card data: callers pass file paths and counters, not contents.
 */
#ifndef PFA_LOG_H
#define PFA_LOG_H

#include <stdio.h>

#include "pf/error.h"

enum pfa_log_level { PFA_LOG_ERROR, PFA_LOG_WARN, PFA_LOG_INFO, PFA_LOG_DEBUG };

struct pfa_log {
    enum pfa_log_level level; /* messages above this level are dropped */
    const char *tag;          /* borrowed; printed after the level, may be NULL */
    FILE *out;                /* NULL means stderr */
    /* Optional: also handed every line printed (diagnostics keep the last ones). */
    void (*tap)(void *ctx, enum pfa_log_level level, const char *line);
    void *tap_ctx;
};

/* Parses "error", "warn", "info" or "debug"; PF_EINVAL otherwise. */
int pfa_log_level_parse(const char *s, enum pfa_log_level *out) PF_WUR;
const char *pfa_log_level_name(enum pfa_log_level level);

void pfa_log_printf(const struct pfa_log *log, enum pfa_log_level level, const char *fmt, ...)
        PF_PRINTF(3, 4);

#define pfa_err(log, ...)   pfa_log_printf((log), PFA_LOG_ERROR, __VA_ARGS__)
#define pfa_warn(log, ...)  pfa_log_printf((log), PFA_LOG_WARN, __VA_ARGS__)
#define pfa_info(log, ...)  pfa_log_printf((log), PFA_LOG_INFO, __VA_ARGS__)
#define pfa_debug(log, ...) pfa_log_printf((log), PFA_LOG_DEBUG, __VA_ARGS__)

#endif
