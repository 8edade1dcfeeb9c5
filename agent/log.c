/*
 * log.c - level-filtered lines on stderr: "posfleet-agent LEVEL [tag] message".
 */
#include "pfa/log.h"

#include <stdarg.h>
#include <string.h>

static const char *const log__names[] = {"error", "warn", "info", "debug"};

int pfa_log_level_parse(const char *s, enum pfa_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, log__names[i]) == 0) {
            *out = (enum pfa_log_level)i;
            return 0;
        }
    }
    return PF_EINVAL;
}

const char *pfa_log_level_name(enum pfa_log_level level)
{
    if ((unsigned)level > PFA_LOG_DEBUG)
        return "?";
    return log__names[level];
}

void pfa_log_printf(const struct pfa_log *log, enum pfa_log_level level, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    if (log && level > log->level)
        return;
    n = snprintf(line, sizeof(line), "posfleet-agent %s %s%s%s", pfa_log_level_name(level),
                 log && log->tag ? "[" : "", log && log->tag ? log->tag : "",
                 log && log->tag ? "] " : "");
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(log && log->out ? log->out : stderr, "%s\n", line);
    if (log && log->tap)
        log->tap(log->tap_ctx, level, line);
}
