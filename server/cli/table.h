/*
 * table.h - aligned plain-ASCII tables and relative times for the CLI.
 *
 * A table copies (and cleans, see pfc_text_clean) every cell it is given, so
 * callers may pass temporaries. Columns are separated by two spaces, padded
 * to the widest cell, aligned left or right per column; the last column is
 * never padded, so no line ends in spaces. Cells longer than PFC_CELL_MAX are
 * cut and end in "...".
 *
 * Ownership: the table owns its cells; pfc_table_release frees them.
 */
#ifndef PFC_TABLE_H
#define PFC_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pf/error.h"

#define PFC_CELL_MAX   64
#define PFC_TABLE_COLS 16

struct pfc_table {
    size_t ncols;
    const char *head[PFC_TABLE_COLS];
    char align[PFC_TABLE_COLS]; /* 'l' or 'r' */
    char **cells;               /* nrows * ncols */
    size_t nrows, cap;
};

/* head: ncols names; align: ncols letters 'l'/'r' (NULL: all left). */
int pfc_table_init(struct pfc_table *t, size_t ncols, const char *const *head,
                   const char *align) PF_WUR;
int pfc_table_add(struct pfc_table *t, const char *const *row) PF_WUR;
void pfc_table_print(const struct pfc_table *t, FILE *f, const char *indent);
void pfc_table_release(struct pfc_table *t);

/*
 * "just now", "12s ago", "5m ago", "3h ago", "2d ago"; "never" when then_ms
 * is 0 or less; "in 5m" when then_ms is ahead of now by a minute or more
 * (clock skew). Within a second either way reads "just now".
 */
void pfc_reltime(int64_t now_ms, int64_t then_ms, char *buf, size_t len);

/* "2026-11-27 06:30:12 UTC" for ms since the epoch. */
void pfc_utctime(int64_t ms, char *buf, size_t len);

#endif
