/*
 * table.c - the column-spec table renderer, its shared getters, and time
 * formatting (table.h).
 */
#include "table.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apierr.h"
#include "safe_text.h"
#include "when.h"

int pfc_table_init(struct pfc_table *t, size_t ncols, const char *const *head, const char *align)
{
    memset(t, 0, sizeof(*t));
    if (ncols == 0 || ncols > PFC_TABLE_COLS)
        return PF_EINVAL;
    t->ncols = ncols;
    for (size_t i = 0; i < ncols; i++) {
        t->head[i] = head[i];
        t->align[i] = (align && align[i] == 'r') ? 'r' : 'l';
        t->width[i] = 0;
    }
    return 0;
}

/* How wide a cell of column i may be: a fixed width (at least the header's), or PFC_CELL_MAX. */
static size_t table__max(const struct pfc_table *t, size_t i)
{
    size_t w, h = strlen(t->head[i]);

    if (t->width[i] <= 0)
        return PFC_CELL_MAX;
    w = (size_t)t->width[i] < h ? h : (size_t)t->width[i];
    return w < PFC_CELL_MAX ? w : PFC_CELL_MAX;
}

static char *table__cell(const char *s, size_t max)
{
    char buf[PFC_CELL_MAX * 4 + 1];
    char *c;

    pfc_safe_text(s ? s : "-", buf, sizeof(buf));
    if (!buf[0])
        memcpy(buf, "-", 2);
    if (pfc_safe_width(buf) > max) {
        if (max >= 3)
            memcpy(buf + pfc_safe_prefix(buf, max - 3), "...", 4);
        else
            buf[pfc_safe_prefix(buf, max)] = '\0';
    }
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
        t->cells[base + i] = table__cell(row[i], table__max(t, i));
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

        int pad = w - (int)pfc_safe_width(cells[i]);

        if (i)
            fputs("  ", f);
        if (t->align[i] == 'r')
            fprintf(f, "%*s%s", pad > 0 ? pad : 0, "", cells[i]);
        else if (last)
            fputs(cells[i], f);
        else
            fprintf(f, "%s%*s", cells[i], pad > 0 ? pad : 0, "");
    }
    fputc('\n', f);
}

void pfc_table_print(const struct pfc_table *t, FILE *f, const char *indent)
{
    size_t width[PFC_TABLE_COLS];

    for (size_t i = 0; i < t->ncols; i++) {
        width[i] = strlen(t->head[i]);
        if (t->width[i] > 0 && (size_t)t->width[i] > width[i])
            width[i] = (size_t)t->width[i];
    }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t i = 0; i < t->ncols; i++) {
            size_t n = pfc_safe_width(t->cells[r * t->ncols + i]);

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

/* ---- the column-spec renderer ---- */

/* Adds the cells of one row, each from its column's getter. */
static int table__row(struct pfc_table *t, const struct pfc_col *cols, json_t *row,
                      const struct pfc_cell_ctx *cx)
{
    char cells[PFC_TABLE_COLS][PFC_CELL_MAX * 4 + 1];
    const char *ptr[PFC_TABLE_COLS];

    for (size_t i = 0; i < t->ncols; i++) {
        pfc_cell_fn get = cols[i].get ? cols[i].get : pfc_cell_text;

        cells[i][0] = '\0';
        get(row, cols[i].key, cx, cells[i], sizeof(cells[i]));
        ptr[i] = cells[i];
    }
    return pfc_table_add(t, ptr);
}

int pfc_table_render(FILE *out, const char *indent, const struct pfc_col *cols, json_t *rows,
                     json_t *footer, int64_t now_ms, struct pf_error *err)
{
    const char *head[PFC_TABLE_COLS] = {NULL};
    char align[PFC_TABLE_COLS] = {0};
    struct pfc_cell_ctx cx = {.now_ms = now_ms};
    struct pfc_table t;
    size_t ncols = 0, i;
    json_t *row;
    int rc;

    for (; ncols < PFC_TABLE_COLS && cols[ncols].head; ncols++) {
        head[ncols] = cols[ncols].head;
        align[ncols] = cols[ncols].align == 'r' ? 'r' : 'l';
    }
    if (cols[ncols].head)
        return pf_error_set(err, PF_EINVAL, "table: more than %d columns", PFC_TABLE_COLS);
    if ((rc = pfc_table_init(&t, ncols, head, align)))
        return pf_error_set(err, rc, "table: no columns");
    for (i = 0; i < ncols; i++)
        t.width[i] = cols[i].width;
    json_array_foreach(rows, i, row)
    {
        cx.index = i;
        if ((rc = table__row(&t, cols, row, &cx)))
            goto out;
    }
    if (footer) {
        cx.index = json_array_size(rows);
        cx.footer = true;
        rc = table__row(&t, cols, footer, &cx);
    }
out:
    if (!rc)
        pfc_table_print(&t, out, indent);
    pfc_table_release(&t);
    return rc ? pf_error_set(err, rc, "out of memory") : 0;
}

json_t *pfc_json_find(json_t *obj, const char *paths)
{
    const char *p = paths;

    while (*p) {
        const char *bar = strchr(p, '|');
        size_t plen = bar ? (size_t)(bar - p) : strlen(p);
        json_t *cur = obj;
        const char *seg = p, *end = p + plen;

        while (cur && seg < end) {
            const char *dot = memchr(seg, '.', (size_t)(end - seg));
            size_t slen = dot ? (size_t)(dot - seg) : (size_t)(end - seg);

            cur = json_is_object(cur) ? json_object_getn(cur, seg, slen) : NULL;
            seg += slen + (dot ? 1 : 0);
        }
        if (cur && !json_is_null(cur))
            return cur;
        p = end + (bar ? 1 : 0);
    }
    return NULL;
}

void pfc_json_text(json_t *v, char *buf, size_t len)
{
    char tmp[256];

    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        pfc_text_clean(json_string_value(v), buf, len);
        if (!buf[0])
            snprintf(buf, len, "-");
        return;
    case JSON_INTEGER:
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return;
    case JSON_REAL:
        snprintf(buf, len, "%.1f", json_real_value(v));
        return;
    case JSON_TRUE:
        snprintf(buf, len, "yes");
        return;
    case JSON_FALSE:
        snprintf(buf, len, "no");
        return;
    case JSON_ARRAY: {
        size_t i, off = 0;
        json_t *e;

        buf[0] = '\0';
        json_array_foreach(v, i, e)
        {
            json_t *k = json_is_object(e) ? json_object_get(e, "kind") : e;

            pfc_json_text(k, tmp, sizeof(tmp));
            if (off < len)
                off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "", tmp);
        }
        if (!buf[0])
            snprintf(buf, len, "-");
        return;
    }
    case JSON_OBJECT:
        snprintf(buf, len, "{...}");
        return;
    case JSON_NULL:
        break;
    }
    snprintf(buf, len, "-");
}

int64_t pfc_json_ms(json_t *row, const char *key)
{
    json_t *v = pfc_json_find(row, key);

    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_real(v))
        return (int64_t)json_real_value(v);
    return 0;
}

void pfc_cell_text(json_t *row, const char *key, const struct pfc_cell_ctx *cx, char *buf,
                   size_t len)
{
    (void)cx;
    pfc_json_text(pfc_json_find(row, key), buf, len);
}

void pfc_cell_ago(json_t *row, const char *key, const struct pfc_cell_ctx *cx, char *buf,
                  size_t len)
{
    pfc_reltime(cx->now_ms, pfc_json_ms(row, key), buf, len);
}

void pfc_cell_time(json_t *row, const char *key, const struct pfc_cell_ctx *cx, char *buf,
                   size_t len)
{
    (void)cx;
    pfc_showtime(pfc_json_ms(row, key), buf, len);
}

/* ---- times ---- */

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

void pfc_showtime(int64_t ms, char *buf, size_t len)
{
    pfc_tz_format(pfc_tz_current(), ms, buf, len);
}
