/*
 * table.c - aligned tables and time formatting.
 */
#include "table.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "apierr.h"

int pfc_table_init(struct pfc_table *t, size_t ncols, const char *const *head, const char *align)
{
    memset(t, 0, sizeof(*t));
    if (ncols == 0 || ncols > PFC_TABLE_COLS)
        return PF_EINVAL;
    t->ncols = ncols;
    for (size_t i = 0; i < ncols; i++) {
        t->head[i] = head[i];
        t->align[i] = (align && align[i] == 'r') ? 'r' : 'l';
    }
    return 0;
}

static char *table__cell(const char *s)
{
    char buf[PFC_CELL_MAX * 4 + 1];
    char *c;

    pfc_text_clean(s ? s : "-", buf, sizeof(buf));
    if (!buf[0])
        memcpy(buf, "-", 2);
    if (strlen(buf) > PFC_CELL_MAX)
        memcpy(buf + PFC_CELL_MAX - 3, "...", 4);
    c = strdup(buf);
    return c;
}

int pfc_table_add(struct pfc_table *t, const char *const *row)
{
    size_t base = t->nrows * t->ncols;

    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **p = realloc(t->cells, cap * t->ncols * sizeof(*p));

        if (!p)
            return PF_ENOMEM;
        t->cells = p;
        t->cap = cap;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        t->cells[base + i] = table__cell(row[i]);
        if (!t->cells[base + i]) {
            while (i-- > 0)
                free(t->cells[base + i]);
            return PF_ENOMEM;
        }
    }
    t->nrows++;
    return 0;
}

static void table__line(const struct pfc_table *t, FILE *f, const char *indent,
                        const char *const *cells, const size_t *width)
{
    fputs(indent ? indent : "", f);
    for (size_t i = 0; i < t->ncols; i++) {
        int w = (int)width[i];
        bool last = i + 1 == t->ncols;

        if (i)
            fputs("  ", f);
        if (t->align[i] == 'r')
            fprintf(f, "%*s", w, cells[i]);
        else if (last)
            fputs(cells[i], f);
        else
            fprintf(f, "%-*s", w, cells[i]);
    }
    fputc('\n', f);
}

void pfc_table_print(const struct pfc_table *t, FILE *f, const char *indent)
{
    size_t width[PFC_TABLE_COLS];

    for (size_t i = 0; i < t->ncols; i++)
        width[i] = strlen(t->head[i]);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t i = 0; i < t->ncols; i++) {
            size_t n = strlen(t->cells[r * t->ncols + i]);

            if (n > width[i])
                width[i] = n;
        }
    }
    table__line(t, f, indent, t->head, width);
    for (size_t r = 0; r < t->nrows; r++)
        table__line(t, f, indent, (const char *const *)&t->cells[r * t->ncols], width);
}

void pfc_table_release(struct pfc_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

static void table__span(int64_t s, char *buf, size_t len, bool future)
{
    char span[32];

    if (s < 60)
        snprintf(span, sizeof(span), "%llds", (long long)s);
    else if (s < 3600)
        snprintf(span, sizeof(span), "%lldm", (long long)(s / 60));
    else if (s < 86400)
        snprintf(span, sizeof(span), "%lldh", (long long)(s / 3600));
    else
        snprintf(span, sizeof(span), "%lldd", (long long)(s / 86400));
    snprintf(buf, len, future ? "in %s" : "%s ago", span);
}

void pfc_reltime(int64_t now_ms, int64_t then_ms, char *buf, size_t len)
{
    int64_t d;

    if (then_ms <= 0) {
        snprintf(buf, len, "never");
        return;
    }
    d = now_ms - then_ms;
    if (d > -60000 && d < 1000)
        snprintf(buf, len, "just now");
    else if (d < 0)
        table__span(-d / 1000, buf, len, true);
    else
        table__span(d / 1000, buf, len, false);
}

void pfc_utctime(int64_t ms, char *buf, size_t len)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0 || !gmtime_r(&secs, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(buf, len, "-");
}
