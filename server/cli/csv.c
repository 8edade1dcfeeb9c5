/*
 * csv.c - the one reader of posfleet's CSV files (csv.h).
 */
#include "csv.h"

#include <string.h>

int pfc_csv_rows(const char *csv, size_t len, pfc_csv_row_fn row, void *ctx)
{
    const char *p = csv, *end = csv + len;
    int line = 0, rc;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end, *f[PFC_CSV_FIELDS] = {0};
        size_t fl[PFC_CSV_FIELDS] = {0};
        int nf = 0;

        line++;
        if (e > p && e[-1] == '\r')
            e--;
        if (e == p ||
            (line == 1 && e - p >= 6 && !memcmp(p, "serial", 6) && (e - p == 6 || p[6] == ','))) {
            p = nl ? nl + 1 : end;
            continue;
        }
        for (const char *q = p;;) {
            const char *c = memchr(q, ',', (size_t)(e - q));

            if (nf == PFC_CSV_FIELDS) {
                nf++; /* more fields than any file has */
                break;
            }
            f[nf] = q;
            fl[nf] = (size_t)((c ? c : e) - q);
            nf++;
            if (!c)
                break;
            q = c + 1;
        }
        if ((rc = row(ctx, line, f, fl, nf)))
            return rc;
        p = nl ? nl + 1 : end;
    }
    return 0;
}

static int csv__count(void *ctx, int line, const char *f[PFC_CSV_FIELDS],
                      const size_t fl[PFC_CSV_FIELDS], int nf)
{
    (void)line;
    (void)f;
    (void)fl;
    (void)nf;
    (*(size_t *)ctx)++;
    return 0;
}

size_t pfc_csv_count(const char *csv, size_t len)
{
    size_t n = 0;

    (void)pfc_csv_rows(csv, len, csv__count, &n);
    return n;
}
