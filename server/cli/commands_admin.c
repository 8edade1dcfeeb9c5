/*
 * commands_admin.c - posfleet admin backup FILE.
 *
 * posfleetd makes the copy, checks it (SQLite's integrity_check) and only
 * then answers with it, with its BLAKE2b-256 digest and schema version in
 * headers. The CLI streams it into FILE.part beside FILE (created new,
 * 0600: the copy is every record the server holds), checks the size, the
 * SQLite header and the digest, syncs it and only then gives it its name,
 * never replacing a file that exists. A failure leaves no FILE.
 */
#include "commands_admin.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pf/b2.h"
#include "pf/num.h"

/* A backup of a large fleet takes a while to copy, check and send. */
#define ADMIN_BACKUP_TIMEOUT_MS (60L * 60 * 1000)

const struct pfc_opt pfc_admin_backup_pos[] = {
        {.name = "FILE", .type = PFC_OPT_STR, .help = "where to write the backup (must not exist)"},
        {0},
};

/* The answer is a SQLite database: its first 16 bytes say so. */
static int admin__check_header(int fd, struct pf_error *err)
{
    static const char magic[16] = "SQLite format 3";
    char head[16];

    if (pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
        memcmp(head, magic, sizeof(head)) != 0)
        return pf_error_set(err, PF_EPARSE, "the answer is not a SQLite database");
    return 0;
}

static int admin__verify(int fd, const char *part, uint64_t written,
                         const struct pfc_http_header *hdrs, int64_t *schema, struct pf_error *err)
{
    uint8_t want[PF_B2_LEN], got[PF_B2_LEN];
    uint64_t size = 0;
    int rc;

    if (pf_b2_from_hex(hdrs[0].value, want) != 0)
        return pf_error_set(err, PF_ESCHEMA,
                            "unexpected answer from posfleetd: no backup digest header");
    if (pf_parse_i64(hdrs[1].value, 1, INT32_MAX, schema) != 0)
        return pf_error_set(err, PF_ESCHEMA,
                            "unexpected answer from posfleetd: no schema version header");
    rc = admin__check_header(fd, err);
    if (rc)
        return rc;
    if (fsync(fd) != 0)
        return pf_error_set(err, PF_EIO, "%s: %s", part, strerror(errno));
    rc = pf_b2_file(part, got, &size, err);
    if (rc)
        return rc;
    if (size != written || memcmp(got, want, sizeof(got)) != 0)
        return pf_error_set(err, PF_EDIGEST, "the backup received does not match its digest");
    return 0;
}

int pfc_cmd_admin_backup(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    struct pfc_http_header hdrs[] = {{.name = "X-Posfleet-Backup-Blake2b"},
                                     {.name = "X-Posfleet-Schema-Version"}};
    const char *file = pfc_args_pos(a, "FILE");
    struct pfc_http_resp resp = {0};
    char part[PATH_MAX];
    uint64_t written = 0;
    int64_t schema = 0;
    json_t *body = NULL;
    int fd, rc, n;

    n = snprintf(part, sizeof(part), "%s.part", file);
    if (n < 0 || (size_t)n >= sizeof(part))
        return pf_error_set(err, PF_EINVAL, "%s: path too long", file);
    if (access(file, F_OK) == 0)
        return pf_error_set(err, PF_EEXIST, "%s exists: choose a new file", file);
    fd = open(part, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return pf_error_set(err, errno == EEXIST ? PF_EEXIST : PF_EIO, "%s: %s", part,
                            strerror(errno));
    pfc_http_set_timeout(ctx->http, ADMIN_BACKUP_TIMEOUT_MS);
    rc = pfc_http_download(ctx->http, "POST", "/v1/admin/backup", fd, hdrs, 2, &written, &resp,
                           err);
    if (rc)
        goto out_unlink;
    if (resp.status < 200 || resp.status > 299) {
        json_error_t jerr;

        body = resp.len ? json_loadb(resp.data, resp.len, 0, &jerr) : NULL;
        rc = pfc_api_error(resp.status, body, NULL, ctx->have_token, err);
        goto out_unlink;
    }
    rc = admin__verify(fd, part, written, hdrs, &schema, err);
    if (rc)
        goto out_unlink;
    /* link() never replaces a FILE that appeared meanwhile. */
    if (link(part, file) != 0) {
        rc = pf_error_set(err, errno == EEXIST ? PF_EEXIST : PF_EIO, "%s: %s", file,
                          strerror(errno));
        goto out_unlink;
    }
    if (ctx->json) {
        json_t *o = json_pack("{s:s, s:I, s:I, s:s, s:s}", "file", file, "bytes",
                              (json_int_t)written, "schema_version", (json_int_t)schema, "blake2b",
                              hdrs[0].value, "integrity_check", "ok");

        rc = pfc_emit(ctx, a, NULL, o, err);
        json_decref(o);
    } else {
        fprintf(ctx->io->out,
                "backup: %s: %" PRIu64 " bytes, schema version %" PRId64
                ", integrity_check ok, BLAKE2b-256 %s\n",
                file, written, schema, hdrs[0].value);
    }

out_unlink:
    close(fd);
    unlink(part);
    json_decref(body);
    pfc_http_resp_release(&resp);
    return rc;
}
