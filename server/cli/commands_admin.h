/*
 * commands_admin.h - posfleet admin backup FILE: a verified copy of
 * posfleetd's whole store (POST /v1/admin/backup, admin role), written to
 * FILE only once it is complete and matches the digest posfleetd sent.
 */
#ifndef PFC_COMMANDS_ADMIN_H
#define PFC_COMMANDS_ADMIN_H

#include "args.h"

extern const struct pfc_opt pfc_admin_backup_pos[];
int pfc_cmd_admin_backup(struct pfc_ctx *ctx, const struct pfc_args *a,
                         struct pf_error *err) PF_WUR;

#endif
