/*
 * api_admin.c - the server's own administration: POST /v1/admin/backup.
 *
 * A backup answers with the whole store as a file, so it waits for the copy
 * (admin/backup.h) without holding the loop: the request is deferred, the
 * copy is made and checked on the thread pool, and the answer streams the
 * verified copy (application/vnd.sqlite3) with its size, schema version and
 * BLAKE2b-256 digest in headers, so the client can check what it received.
 * Who took a backup is logged: it is every record the server holds.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "admin/backup.h"
#include "api/api_handlers.h"

struct api_admin__pending {
    struct pfs_api *api;
    struct pfs_http_later *later;
    char name[PFS_TOKEN_NAME_MAX + 1];
};

static void api_admin__answer(struct pfs_http_resp *resp, int rc, struct pfs_backup_result *r,
                              const struct pf_error *err)
{
    if (rc) {
        pfs_api_error(resp, rc, "%s", err->msg[0] ? err->msg : pf_strerror(rc));
        return;
    }
    resp->status = 200;
    resp->content_type = "application/vnd.sqlite3";
    resp->file = true;
    resp->file_fd = r->fd;
    resp->file_len = r->bytes;
    r->fd = -1;
    resp->extra[0].name = "X-Posfleet-Backup-Blake2b";
    snprintf(resp->extra[0].value, sizeof(resp->extra[0].value), "%s", r->digest);
    resp->extra[1].name = "X-Posfleet-Schema-Version";
    snprintf(resp->extra[1].value, sizeof(resp->extra[1].value), "%d", r->schema_version);
    resp->extra[2].name = "Content-Disposition";
    snprintf(resp->extra[2].value, sizeof(resp->extra[2].value),
             "attachment; filename=\"posfleetd-backup.db\"");
}

static void api_admin__backed_up(void *ctx, int rc, struct pfs_backup_result *r,
                                 const struct pf_error *err)
{
    struct api_admin__pending *p = ctx;
    struct pfs_http_resp resp = {0};

    if (!rc)
        pfs_log_info(p->api->log, "api: %s (admin) took a backup: %" PRIu64 " bytes, schema %d",
                     p->name, r->bytes, r->schema_version);
    api_admin__answer(&resp, rc, r, err);
    pfs_http_answer(p->later, &resp);
    free(p);
}

void pfs_api_admin_backup(struct pfs_api *api, const struct pfs_api_call *call,
                          struct pfs_http_resp *resp)
{
    struct api_admin__pending *p;
    struct pf_error err = {0};
    char *body = NULL;
    size_t len = 0;
    int rc;

    if (!api->backup) {
        pfs_api_error(resp, PF_ESTATE, "backups are not available in this posfleetd");
        return;
    }
    p = calloc(1, sizeof(*p));
    if (!p || !(p->later = pfs_http_defer(call->req, &body, &len))) {
        free(p);
        pfs_api_error(resp, PF_ENOMEM, "out of memory");
        return;
    }
    free(body);
    p->api = api;
    snprintf(p->name, sizeof(p->name), "%s", call->name);
    rc = pfs_backup_start(api->backup, api_admin__backed_up, p, &err);
    if (rc) {
        struct pfs_http_resp r = {0};

        pfs_api_error(&r, rc, "%s", err.msg);
        pfs_http_answer(p->later, &r);
        free(p);
    }
}
