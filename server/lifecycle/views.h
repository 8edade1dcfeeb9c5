/*
 * views.h - the one JSON form of lifecycle records: a terminal, a repair
 * record and the snapshot it keeps of its terminal, a line of a terminal's
 * history, an update outcome, a merchant's terminal. Built with jansson from
 * the records of store_lifecycle.h.
 *
 * They stay here, in the domain, rather than in api/ because two layers
 * print them and must print the same: the API answers with them
 * (api/api_lifecycle.c) and the audit log keeps them before and after a
 * change (store/record_json.c, which every store backend writes through).
 * Members keep the order they are set in; that order is what the API and the
 * audit log have always printed.
 *
 * The records are borrowed: their strings must stay valid for the call. A
 * nullable number is PFS_VIEW_NULL when absent and a nullable string NULL;
 * both print as null. Each function returns a new reference, or NULL on
 * allocation failure or malformed embedded JSON text.
 */
#ifndef PFS_VIEWS_H
#define PFS_VIEWS_H

#include <jansson.h>

#include "store/store_lifecycle.h"

json_t *pfs_term_view_json(const struct pfs_term_view *v);
json_t *pfs_repair_view_json(const struct pfs_repair_view *v);
json_t *pfs_repair_snapshot_json(const struct pfs_repair_snapshot *s);
json_t *pfs_term_event_json(const struct pfs_term_event_view *e);
/* NULL strings print as null. */
json_t *pfs_update_line_json(const struct pfs_update_view *u);
json_t *pfs_merchant_terminal_json(const struct pfs_merchant_term_view *t);

#endif
