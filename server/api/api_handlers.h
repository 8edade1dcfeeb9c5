/*
 * api_handlers.h - the handlers the route table (api.c) names, one group per
 * resource file. Every handler is a pfs_api_fn: it runs once the request was
 * authenticated and authorized for its route and its whole body (within the
 * route's limit) has arrived; call->params holds the parsed path parameters.
 * Handlers check the body and the query, call the domain and answer JSON
 * built with jansson (api_resp.h).
 */
#ifndef PFS_API_HANDLERS_H
#define PFS_API_HANDLERS_H

#include "api/api.h"
#include "api/api_resp.h"
#include "api/api_route.h"
#include "store/store_search.h"

/* api_fleet.c: terminals, the fleet summary, metrics. */
void pfs_api_device_get(struct pfs_api *api, const struct pfs_api_call *call,
                        struct pfs_http_resp *resp);
void pfs_api_device_add(struct pfs_api *api, const struct pfs_api_call *call,
                        struct pfs_http_resp *resp);
void pfs_api_devices_import(struct pfs_api *api, const struct pfs_api_call *call,
                            struct pfs_http_resp *resp);
void pfs_api_device_revoke(struct pfs_api *api, const struct pfs_api_call *call,
                           struct pfs_http_resp *resp);
void pfs_api_summary(struct pfs_api *api, const struct pfs_api_call *call,
                     struct pfs_http_resp *resp);
/* GET /v1/summary/online: the online samples of the last hours inside the scope. */
void pfs_api_summary_online(struct pfs_api *api, const struct pfs_api_call *call,
                            struct pfs_http_resp *resp);
void pfs_api_metrics(struct pfs_api *api, const struct pfs_api_call *call,
                     struct pfs_http_resp *resp);

/* api_search.c: the list routes and their filters (store_search.h). */
void pfs_api_search_terminals(struct pfs_api *api, const struct pfs_api_call *call,
                              struct pfs_http_resp *resp);
void pfs_api_search_merchants(struct pfs_api *api, const struct pfs_api_call *call,
                              struct pfs_http_resp *resp);
void pfs_api_search_alerts(struct pfs_api *api, const struct pfs_api_call *call,
                           struct pfs_http_resp *resp);
void pfs_api_search_audit(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp);
/* The filters of GET /v1/devices (and its export) into q, borrowing the
 * request's strings; known: the parameters the route takes. Answers and
 * returns PF_EINVAL on an unknown parameter or a bad value. */
int pfs_api_terminal_query(const struct pfs_http_req *req, struct pfs_http_resp *resp,
                           const char *const *known, struct pfs_search_terminals *q) PF_WUR;
/* api_export.c: GET /v1/devices/export, the search as CSV, streamed. */
/* GET /v1/events (api_events.c): server-sent events for open console pages. */
void pfs_api_events(struct pfs_api *api, const struct pfs_api_call *call,
                    struct pfs_http_resp *resp);
void pfs_api_devices_export(struct pfs_api *api, const struct pfs_api_call *call,
                            struct pfs_http_resp *resp);
/* The JSON of a terminal in a list (api_fleet.c); alerts_csv: open alert kinds. */
json_t *pfs_api_device_json(const struct pfs_device *d, const struct pfs_dev_state *s,
                            const char *alerts_csv);

/* api_lifecycle.c: merchants, terminal lifecycle, swaps, repairs. */
void pfs_api_merchant_add(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp);
void pfs_api_merchant_get(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp);
/* route->arg: an enum pfs_merchant_action, or -1 to update the fields. */
void pfs_api_merchant_change(struct pfs_api *api, const struct pfs_api_call *call,
                             struct pfs_http_resp *resp);
void pfs_api_term_lifecycle(struct pfs_api *api, const struct pfs_api_call *call,
                            struct pfs_http_resp *resp);
void pfs_api_term_history(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp);
void pfs_api_term_bind(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp);
/* route->arg: 1 retires (and revokes), 0 unbinds. */
void pfs_api_term_unbind(struct pfs_api *api, const struct pfs_api_call *call,
                         struct pfs_http_resp *resp);
void pfs_api_term_tags(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp);
void pfs_api_term_swap(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp);
void pfs_api_term_repair(struct pfs_api *api, const struct pfs_api_call *call,
                         struct pfs_http_resp *resp);
void pfs_api_repairs_list(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp);
void pfs_api_repair_get(struct pfs_api *api, const struct pfs_api_call *call,
                        struct pfs_http_resp *resp);
/* route->arg: 1 closes the repair, 0 changes it. */
void pfs_api_repair_change(struct pfs_api *api, const struct pfs_api_call *call,
                           struct pfs_http_resp *resp);
/* One terminal tag (field names it): 1..PF_TEXT_TAG_MAX characters of UTF-8
 * text (pf/text.h) without blanks or commas, which separate tags on the
 * command line and in rollout cohorts. */
int pfs_api_tag_check(json_t *v, const char *field, struct pf_error *err) PF_WUR;

/* api_terminal.c: a terminal's health over time (downsampled) and support's
 * lock and unlock (route->arg: 1 locks, 0 unlocks). */
void pfs_api_term_health(struct pfs_api *api, const struct pfs_api_call *call,
                         struct pfs_http_resp *resp);
void pfs_api_term_lock(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp);

/* api_bulk.c: bulk bind, unbind and tags from a file's rows; a swap's undo.
 * route->arg of the bulk route: an enum pfs_bulk_kind. */
void pfs_api_term_bulk(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp);
void pfs_api_term_swap_undo(struct pfs_api *api, const struct pfs_api_call *call,
                            struct pfs_http_resp *resp);

/* api_diag.c: remote diagnostics. */
void pfs_api_diag_create(struct pfs_api *api, const struct pfs_api_call *call,
                         struct pfs_http_resp *resp);
void pfs_api_diag_list(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp);
/* route->arg: 1 answers the archive, 0 the request. */
void pfs_api_diag_get(struct pfs_api *api, const struct pfs_api_call *call,
                      struct pfs_http_resp *resp);

/* api_updates.c: bundles, offers, update history, update metrics. */
void pfs_api_bundle_upload(struct pfs_api *api, const struct pfs_api_call *call,
                           struct pfs_http_resp *resp);
void pfs_api_bundles_list(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp);
void pfs_api_bundle_get(struct pfs_api *api, const struct pfs_api_call *call,
                        struct pfs_http_resp *resp);
void pfs_api_update_offer(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp);
void pfs_api_updates_history(struct pfs_api *api, const struct pfs_api_call *call,
                             struct pfs_http_resp *resp);
/* Adds "update" (current) and "updates" (history) to a terminal's object. */
int pfs_api_updates_device_json(struct pfs_updates *u, const char *serial, json_t *o) PF_WUR;
/* Appends the update metrics (Prometheus text) to a heap buffer. */
int pfs_api_updates_metrics(struct pfs_updates *u, char **body, size_t *len) PF_WUR;

/* api_rollouts.c: staged rollouts. */
enum pfs_api_ro_action {
    PFS_API_RO_PAUSE,
    PFS_API_RO_RESUME,
    PFS_API_RO_CONTINUE,
    PFS_API_RO_ABORT,
    PFS_API_RO_ROLLBACK
};
void pfs_api_rollout_create(struct pfs_api *api, const struct pfs_api_call *call,
                            struct pfs_http_resp *resp);
void pfs_api_rollouts_list(struct pfs_api *api, const struct pfs_api_call *call,
                           struct pfs_http_resp *resp);
void pfs_api_rollout_get(struct pfs_api *api, const struct pfs_api_call *call,
                         struct pfs_http_resp *resp);
void pfs_api_rollout_members(struct pfs_api *api, const struct pfs_api_call *call,
                             struct pfs_http_resp *resp);
/* route->arg: an enum pfs_api_ro_action. */
void pfs_api_rollout_action(struct pfs_api *api, const struct pfs_api_call *call,
                            struct pfs_http_resp *resp);
/* One member by hand: {"action": "retry"|"skip"|"cancel", "reason": TEXT}. */
void pfs_api_rollout_member_action(struct pfs_api *api, const struct pfs_api_call *call,
                                   struct pfs_http_resp *resp);
/* Four eyes: the preview of a stored rollout now, and its approval by digest. */
void pfs_api_rollout_preview(struct pfs_api *api, const struct pfs_api_call *call,
                             struct pfs_http_resp *resp);
void pfs_api_rollout_approve(struct pfs_api *api, const struct pfs_api_call *call,
                             struct pfs_http_resp *resp);

/* api_hooks.c: the webhooks (names, receiver origins, events, delivery
 * counts) and their delivery log, newest first, paged by id. */
void pfs_api_hooks_list(struct pfs_api *api, const struct pfs_api_call *call,
                        struct pfs_http_resp *resp);
void pfs_api_hooks_log(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp);

/* api_admin.c: the server's administration (admin role): POST /v1/admin/backup
 * answers a verified copy of the whole store (docs/operations.md). */
void pfs_api_admin_backup(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp);

/* api_obs.c: probes and the metrics only the API can count. /healthz answers
 * 200 while the loop runs; /readyz 200 when the store answers a read and the
 * broker connection is up (or posfleetd runs without one), else 503 with the
 * reason. */
void pfs_api_healthz(struct pfs_api *api, const struct pfs_api_call *call,
                     struct pfs_http_resp *resp);
void pfs_api_readyz(struct pfs_api *api, const struct pfs_api_call *call,
                    struct pfs_http_resp *resp);
/* A monotonic time in seconds (when a request's head arrived). */
double pfs_api_obs_now(void);
/* Counts one answered request of route (NULL: refused on its headers), begun at t0. */
void pfs_api_obs_request(struct pfs_api *api, const struct pfs_api_route *route, int status,
                         double t0);
/* Appends the HTTP, process, broker, lifecycle and rollout metrics to body. */
int pfs_api_obs_metrics(struct pfs_api *api, char **body, size_t *len) PF_WUR;

/* api_accounts.c: login, sessions, API tokens, users, organisations,
 * support requests and the audit search. */
void pfs_api_login(struct pfs_api *api, const struct pfs_api_call *call,
                   struct pfs_http_resp *resp);
void pfs_api_logout(struct pfs_api *api, const struct pfs_api_call *call,
                    struct pfs_http_resp *resp);
void pfs_api_me(struct pfs_api *api, const struct pfs_api_call *call, struct pfs_http_resp *resp);
void pfs_api_me_password(struct pfs_api *api, const struct pfs_api_call *call,
                         struct pfs_http_resp *resp);
void pfs_api_tokens_list(struct pfs_api *api, const struct pfs_api_call *call,
                         struct pfs_http_resp *resp);
void pfs_api_token_create(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp);
void pfs_api_token_revoke(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp);
void pfs_api_users_list(struct pfs_api *api, const struct pfs_api_call *call,
                        struct pfs_http_resp *resp);
void pfs_api_user_add(struct pfs_api *api, const struct pfs_api_call *call,
                      struct pfs_http_resp *resp);
void pfs_api_user_get(struct pfs_api *api, const struct pfs_api_call *call,
                      struct pfs_http_resp *resp);
void pfs_api_user_password(struct pfs_api *api, const struct pfs_api_call *call,
                           struct pfs_http_resp *resp);
void pfs_api_org_get(struct pfs_api *api, const struct pfs_api_call *call,
                     struct pfs_http_resp *resp);
void pfs_api_user_role(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp);
void pfs_api_user_disable(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp);
void pfs_api_orgs_list(struct pfs_api *api, const struct pfs_api_call *call,
                       struct pfs_http_resp *resp);
void pfs_api_org_add(struct pfs_api *api, const struct pfs_api_call *call,
                     struct pfs_http_resp *resp);
void pfs_api_merchant_org(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp);
void pfs_api_support_list(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp);
void pfs_api_support_open(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp);

#endif
