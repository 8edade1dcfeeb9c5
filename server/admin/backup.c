/*
 * backup.c - one online backup at a time, made off the loop (backup.h).
 */
#include "admin/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_backup.h"

struct backup__job {
    uv_work_t work;
    struct pfs_backup *b;
    struct pfs_store_backup *sb;
    char path[PATH_MAX];
    pfs_backup_cb done;
    void *ctx;
    int rc;
    struct pfs_backup_result res;
    struct pf_error err;
};

int pfs_backup_init(struct pfs_backup *b, uv_loop_t *loop, struct pfs_store *store,
                    const char *store_path, const struct pfs_log *log, struct pf_error *err)
{
    const char *slash = strrchr(store_path, '/');

    memset(b, 0, sizeof(*b));
    b->loop = loop;
    b->store = store;
    b->log = log;
    if (!slash)
        snprintf(b->dir, sizeof(b->dir), ".");
    else if (slash == store_path)
        snprintf(b->dir, sizeof(b->dir), "/");
    else if ((size_t)(slash - store_path) >= sizeof(b->dir))
        return pf_error_set(err, PF_ETOOBIG, "store.path: too long");
    else
        snprintf(b->dir, sizeof(b->dir), "%.*s", (int)(slash - store_path), store_path);
    return 0;
}

/* Thread pool: the copy, its check, its digest; then the name goes. */
static void backup__work(uv_work_t *w)
{
    struct backup__job *j = w->data;
    uint64_t size = 0;
    uint8_t d[PF_B2_LEN];
    struct pfs_store_backup_info info;

    j->rc = pfs_store_backup_run(j->sb, &info, &j->err);
    if (j->rc)
        return;
    j->res.bytes = info.bytes;
    j->res.schema_version = info.schema_version;
    j->res.fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (j->res.fd < 0) {
        j->rc = pf_error_set(&j->err, PF_EIO, "backup: %s: %s", j->path, strerror(errno));
        goto out_unlink;
    }
    j->rc = pf_b2_file(j->path, d, &size, &j->err);
    if (!j->rc && size != info.bytes)
        j->rc = pf_error_set(&j->err, PF_EIO, "backup: %s changed while read", j->path);
    if (j->rc) {
        close(j->res.fd);
        j->res.fd = -1;
        goto out_unlink;
    }
    pf_b2_hex(d, j->res.digest);

out_unlink:
    unlink(j->path);
}

static void backup__after(uv_work_t *w, int status)
{
    struct backup__job *j = w->data;

    (void)status; /* a job is never cancelled: uv_cancel is not called on it */
    j->b->busy = false;
    pfs_store_backup_free(j->sb);
    if (j->rc)
        pfs_log_error(j->b->log, "%s", j->err.msg);
    j->done(j->ctx, j->rc, &j->res, &j->err);
    free(j);
}

int pfs_backup_start(struct pfs_backup *b, pfs_backup_cb done, void *ctx, struct pf_error *err)
{
    struct backup__job *j;
    int rc, n;

    if (b->busy)
        return pf_error_set(err, PF_ESTATE, "a backup is already under way");
    j = calloc(1, sizeof(*j));
    if (!j)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    j->work.data = j;
    j->b = b;
    j->done = done;
    j->ctx = ctx;
    j->res.fd = -1;
    n = snprintf(j->path, sizeof(j->path), "%s/.backup-%ld-%u.db", b->dir, (long)getpid(),
                 b->seq++);
    if (n < 0 || (size_t)n >= sizeof(j->path)) {
        free(j);
        return pf_error_set(err, PF_ETOOBIG, "backup: store directory path too long");
    }
    rc = pfs_store_backup_new(b->store, j->path, &j->sb, err);
    if (rc) {
        free(j);
        return rc;
    }
    b->busy = true;
    if (!b->loop || uv_queue_work(b->loop, &j->work, backup__work, backup__after) != 0) {
        backup__work(&j->work);
        backup__after(&j->work, 0);
    }
    return 0;
}
