/*
 * commands_accounts.h - posfleet login | logout | whoami | token create |
 * token list | token revoke | user ... | org ..., and where the CLI keeps its
 * session.
 *
 * `posfleet login --user NAME` asks posfleetd for a session (the password
 * from POSFLEET_PASSWORD, else one line of standard input, not echoed on a
 * terminal) and keeps its token in the session file, mode 0600:
 * $XDG_CONFIG_HOME/posfleet/session, or ~/.config/posfleet/session. Every
 * later command without --token-file, POSFLEET_TOKEN or POSFLEET_TOKEN_FILE
 * uses it; `posfleet logout` ends the session and removes the file.
 */
#ifndef PFC_COMMANDS_ACCOUNTS_H
#define PFC_COMMANDS_ACCOUNTS_H

#include <stddef.h>

#include "args.h"

extern const struct pfc_opt pfc_login_opts[];
extern const struct pfc_opt pfc_token_create_pos[];
extern const struct pfc_opt pfc_token_create_opts[];
extern const struct pfc_opt pfc_token_id_pos[];

int pfc_cmd_login(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err) PF_WUR;
int pfc_cmd_logout(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err) PF_WUR;
int pfc_render_me(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                  struct pf_error *err) PF_WUR;
int pfc_render_token_created(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                             struct pf_error *err) PF_WUR;
int pfc_render_tokens(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                      struct pf_error *err) PF_WUR;
int pfc_render_token_revoked(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                             struct pf_error *err) PF_WUR;

/* user add | list | show | disable | enable | passwd | role, org add | list | show
 * (admin): passwords come as login's does (POSFLEET_PASSWORD, else stdin). */
extern const struct pfc_opt pfc_user_name_pos[];
extern const struct pfc_opt pfc_user_add_pos[];
extern const struct pfc_opt pfc_user_add_opts[];
extern const struct pfc_opt pfc_user_role_pos[];
extern const struct pfc_opt pfc_org_add_pos[];
extern const struct pfc_opt pfc_org_add_opts[];
extern const struct pfc_opt pfc_org_pos[];
int pfc_cmd_user_add(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err) PF_WUR;
int pfc_cmd_user_passwd(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err) PF_WUR;
int pfc_cmd_user_disable(struct pfc_ctx *ctx, const struct pfc_args *a,
                         struct pf_error *err) PF_WUR;
int pfc_cmd_user_enable(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err) PF_WUR;
int pfc_cmd_org_show(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err) PF_WUR;
int pfc_render_users(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                     struct pf_error *err) PF_WUR;
int pfc_render_user(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                    struct pf_error *err) PF_WUR;
int pfc_render_orgs(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                    struct pf_error *err) PF_WUR;
int pfc_render_org(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                   struct pf_error *err) PF_WUR;

/* The session file's path (above); PF_ENOENT when neither variable is set. */
int pfc_session_path(char *buf, size_t len) PF_WUR;

#endif
