/*
 * csv.h - the CSV files posfleet reads (docs/cli.md): the import's
 * "serial,model[,hw_rev[,merchant_id]]" and the bulk files of device bind,
 * unbind and tag. One reader walks them all the way posfleetd reads the
 * import: lines split on LF (a CR before it dropped), blank lines skipped, a
 * first line starting with the column "serial" taken as the header, fields
 * split on commas (no quoting: no field of these files holds a comma).
 *
 * Ownership: fields point into the caller's buffer and are valid for the
 * callback only; they are not NUL-terminated (fl[] gives their lengths).
 */
#ifndef PFC_CSV_H
#define PFC_CSV_H

#include <stddef.h>

/* Fields a row may have; a row with more is passed with nf = PFC_CSV_FIELDS + 1. */
#define PFC_CSV_FIELDS 4

/* A row: its 1-based line number in the file and its fields. Non-zero stops the walk. */
typedef int (*pfc_csv_row_fn)(void *ctx, int line, const char *f[PFC_CSV_FIELDS],
                              const size_t fl[PFC_CSV_FIELDS], int nf);

/* Calls row() for every data row of csv[0..len); returns row()'s first non-zero. */
int pfc_csv_rows(const char *csv, size_t len, pfc_csv_row_fn row, void *ctx);

/* Data rows in csv (what pfc_csv_rows would call row() for). */
size_t pfc_csv_count(const char *csv, size_t len);

#endif
