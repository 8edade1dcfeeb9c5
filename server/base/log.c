/*
 * log.c - leveled log lines on stderr, stamped, or prefixed for journald.
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pf/num.h"

const char *const pfs_log_level_names[] = {"error", "warn", "info", "debug", NULL};

/* sd-daemon(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int log__priority[] = {3, 4, 6, 7};

bool pfs_log_journal_match(const char *journal_stream, uint64_t dev, uint64_t ino)
{
    char num[32];
    const char *colon;
    uint64_t d, i;
    size_t n;

    if (!journal_stream || !(colon = strchr(journal_stream, ':')))
        return false;
    n = (size_t)(colon - journal_stream);
    if (n == 0 || n >= sizeof(num))
        return false;
    memcpy(num, journal_stream, n);
    num[n] = '\0';
    if (pf_parse_u64(num, 0, UINT64_MAX, &d) != 0 ||
        pf_parse_u64(colon + 1, 0, UINT64_MAX, &i) != 0)
        return false;
    return d == dev && i == ino;
}

/* Whether stderr is the journal's stream; decided once (stderr does not change). */
static bool log__journal(void)
{
    static int known = -1;

    if (known < 0) {
        struct stat st;

        known = fstat(STDERR_FILENO, &st) == 0 &&
                pfs_log_journal_match(getenv("JOURNAL_STREAM"), (uint64_t)st.st_dev,
                                      (uint64_t)st.st_ino);
    }
    return known == 1;
}

size_t pfs_log_format(char *buf, size_t size, enum pfs_log_level level, bool journal,
                      int64_t wall_ms, const char *text)
{
    int n;

    if (size == 0)
        return 0;
    if (journal) {
        n = snprintf(buf, size, "<%d>posfleetd: %s: %s\n", log__priority[level],
                     pfs_log_level_names[level], text);
    } else {
        time_t secs = (time_t)(wall_ms / 1000);
        struct tm tm;
        char stamp[32];

        if (!gmtime_r(&secs, &tm) || strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
            stamp[0] = '\0';
        n = snprintf(buf, size, "%s.%03dZ posfleetd: %s: %s\n", stamp, (int)(wall_ms % 1000),
                     pfs_log_level_names[level], text);
    }
    if (n < 0) {
        buf[0] = '\0';
        return 0;
    }
    if ((size_t)n >= size) {
        /* Truncated: the line still ends with its newline. */
        if (size >= 2)
            buf[size - 2] = '\n';
        buf[size - 1] = '\0';
        return size - 1;
    }
    return (size_t)n;
}

void pfs_log(const struct pfs_log *log, enum pfs_log_level level, const char *fmt, ...)
{
    char text[1024], line[1152];
    struct timespec ts;
    size_t n;
    va_list ap;

    if (log && level > log->level)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    clock_gettime(CLOCK_REALTIME, &ts);
    n = pfs_log_format(line, sizeof(line), level, log__journal(),
                       (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, text);
    fwrite(line, 1, n, stderr);
}
