/*
 * commands_search.h - the filters of posfleet's list commands (`devices`,
 * `merchants`, `alerts`, `audit`): each option is a query parameter of the
 * list route it calls (docs/cli.md "Finding things", docs/server.md "Search").
 */
#ifndef PFC_COMMANDS_SEARCH_H
#define PFC_COMMANDS_SEARCH_H

#include "args.h"

extern const struct pfc_opt pfc_devices_opts[];
extern const struct pfc_opt pfc_merchants_opts[];
extern const struct pfc_opt pfc_alerts_opts[];
extern const struct pfc_opt pfc_audit_opts[];

#endif
