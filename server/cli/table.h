/*
 * table.h - the CLI's tables: one renderer driven by a column spec, the
 * cell getters the specs share, and relative/UTC times.
 *
 * Every table posfleet prints is a list of JSON objects drawn through
 * pfc_table_render and a column spec: per column a header, a width (0: as
 * wide as the widest cell), an alignment and a getter that turns one row
 * into the text of its cell. A spec reads its fields the way render.h
 * describes: tolerantly, a missing or null field prints "-".
 *
 * Layout: columns are separated by two spaces, padded to their width and
 * aligned left or right; the last column is never padded, so no line ends
 * in spaces. A cell is cleaned (pfc_text_clean); an empty cell reads "-";
 * cells longer than PFC_CELL_MAX, or than a fixed width, are cut and end in
 * "...".
 *
 * Underneath, struct pfc_table holds the cells of one table: it copies every
 * cell it is given, so callers may pass temporaries, and owns them until
 * pfc_table_release.
 */
#ifndef PFC_TABLE_H
#define PFC_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "pf/error.h"

#define PFC_CELL_MAX   64
#define PFC_TABLE_COLS 16

/* What a getter knows besides its row. */
struct pfc_cell_ctx {
    int64_t now_ms; /* for "12s ago" */
    size_t index;   /* the row's position in the list, 0 first */
    bool footer;    /* the summary row drawn after the list */
};

/* Writes the text of one cell of row into buf[len]; "" reads "-". */
typedef void (*pfc_cell_fn)(json_t *row, const char *key, const struct pfc_cell_ctx *cx, char *buf,
                            size_t len);

/* One column of a spec; a spec is an array ended by a column with head NULL. */
struct pfc_col {
    const char *head;
    int width;       /* 0: as wide as the widest cell; else this wide (the header at least) */
    char align;      /* 'r': right; anything else: left */
    const char *key; /* what the getter reads: for the shared getters, pfc_json_find paths */
    pfc_cell_fn get; /* NULL: pfc_cell_text */
};

/*
 * Prints the header and one line per element of the rows array, then, if
 * footer is not NULL, one line for footer (getters see cx->footer). indent
 * (may be NULL) starts every line. PF_ENOMEM, or PF_EINVAL for a spec of no
 * or more than PFC_TABLE_COLS columns, with err set.
 */
int pfc_table_render(FILE *out, const char *indent, const struct pfc_col *cols, json_t *rows,
                     json_t *footer, int64_t now_ms, struct pf_error *err) PF_WUR;

/* The first of '|'-separated dotted paths that exists and is not null, or NULL. */
json_t *pfc_json_find(json_t *obj, const char *paths);

/*
 * A JSON value as text: strings cleaned, numbers (reals to one decimal),
 * yes/no, arrays joined with "," (an object element by its "kind"), "{...}"
 * for an object, "-" for nothing.
 */
void pfc_json_text(json_t *v, char *buf, size_t len);
/* A millisecond time at key (an integer, or a real), 0 if absent. */
int64_t pfc_json_ms(json_t *row, const char *key);

/* The shared getters: key is the pfc_json_find paths of the field. */
void pfc_cell_text(json_t *row, const char *key, const struct pfc_cell_ctx *cx, char *buf,
                   size_t len);
/* pfc_reltime of the time at key ("never" when absent). */
void pfc_cell_ago(json_t *row, const char *key, const struct pfc_cell_ctx *cx, char *buf,
                  size_t len);
/* pfc_showtime of the time at key ("-" when absent): the display zone, with its offset. */
void pfc_cell_time(json_t *row, const char *key, const struct pfc_cell_ctx *cx, char *buf,
                   size_t len);

/* The cells underneath: head gives ncols names; align ncols letters 'l'/'r' (NULL: all left). */
struct pfc_table {
    size_t ncols;
    const char *head[PFC_TABLE_COLS];
    char align[PFC_TABLE_COLS]; /* 'l' or 'r' */
    int width[PFC_TABLE_COLS];  /* 0: auto; else fixed */
    char **cells;               /* nrows * ncols */
    size_t nrows, cap;
};

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

/*
 * ms since the epoch in the run's display zone (when.h) with its offset:
 * "2026-11-27 14:30:12 +08:00", or "2026-11-27 06:30:12 UTC" in UTC; "-" for
 * 0 or less.
 */
void pfc_showtime(int64_t ms, char *buf, size_t len);

#endif
