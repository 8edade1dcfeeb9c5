/*
 * feestore.c - active, pending and previous fee tables (see pfa/feestore.h).
 */
#include "pfa/feestore.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pf/fileio.h"

struct pfa_feestore {
    char *dir;
    char *path; /* scratch for pfa_feestore_path: dir + "/" + the longest name */
    char active[PF_VERSION_MAX + 1];
    char pending[PF_VERSION_MAX + 1];
    int64_t pending_at;
    struct pfa_fault *fault;
};

const char *pfa_feestore_path(const struct pfa_feestore *fs, const char *name)
{
    struct pfa_feestore *m = (struct pfa_feestore *)fs;

    snprintf(m->path, strlen(fs->dir) + 32, "%s/%s", fs->dir, name);
    return m->path;
}

/* Reads and parses one table file; PF_ENOENT if absent. */
static int fee__load(struct pfa_feestore *fs, const char *name, struct pf_feetable *ft,
                     char **content, size_t *len, struct pf_error *err)
{
    char *buf = NULL;
    size_t n;
    int rc = pf_file_read(pfa_feestore_path(fs, name), PF_FEETABLE_MAX_BYTES, &buf, &n);

    if (rc)
        return rc == PF_ENOENT ? rc
                               : pf_error_set(err, rc, "fee table %s: %s", name, pf_strerror(rc));
    rc = pf_feetable_parse(buf, n, ft, err);
    if (rc == 0 && content) {
        *content = buf;
        *len = n;
        return 0;
    }
    free(buf);
    return rc;
}

static int fee__refresh(struct pfa_feestore *fs, struct pf_error *err)
{
    struct pf_feetable *ft = malloc(sizeof(*ft));
    int rc;

    if (!ft)
        return pf_error_set(err, PF_ENOMEM, "fee table: out of memory");
    fs->active[0] = fs->pending[0] = '\0';
    fs->pending_at = INT64_MAX;
    rc = fee__load(fs, PFA_FEE_ACTIVE, ft, NULL, NULL, err);
    if (rc == 0)
        memcpy(fs->active, ft->version, sizeof(fs->active));
    else if (rc != PF_ENOENT)
        goto out_free;
    rc = fee__load(fs, PFA_FEE_PENDING, ft, NULL, NULL, err);
    if (rc == 0) {
        memcpy(fs->pending, ft->version, sizeof(fs->pending));
        fs->pending_at = ft->effective_at;
    } else if (rc == PF_ENOENT) {
        rc = 0;
    }
out_free:
    free(ft);
    return rc;
}

int pfa_feestore_open(const char *dir, struct pfa_fault *fault, struct pfa_feestore **out,
                      struct pf_error *err)
{
    struct pfa_feestore *fs = NULL;
    int rc;

    if (strlen(dir) > PATH_MAX - 64)
        return pf_error_set(err, PF_ETOOBIG, "fee tables: %s: path too long", dir);
    rc = pf_mkdir_p(dir, 0755);
    if (rc)
        return pf_error_set(err, rc, "fee tables: %s: %s", dir, pf_strerror(rc));
    fs = calloc(1, sizeof(*fs));
    if (!fs)
        return pf_error_set(err, PF_ENOMEM, "fee tables: out of memory");
    fs->dir = strdup(dir);
    fs->path = malloc(strlen(dir) + 32);
    if (!fs->dir || !fs->path) {
        pfa_feestore_close(fs);
        return pf_error_set(err, PF_ENOMEM, "fee tables: out of memory");
    }
    fs->fault = fault;
    rc = fee__refresh(fs, err);
    if (rc) {
        pfa_feestore_close(fs);
        return rc;
    }
    *out = fs;
    return 0;
}

void pfa_feestore_close(struct pfa_feestore *fs)
{
    if (!fs)
        return;
    free(fs->dir);
    free(fs->path);
    free(fs);
}

const char *pfa_feestore_active_version(const struct pfa_feestore *fs)
{
    return fs->active;
}

const char *pfa_feestore_pending_version(const struct pfa_feestore *fs)
{
    return fs->pending;
}

const char *pfa_feestore_newest_version(const struct pfa_feestore *fs)
{
    if (!fs->pending[0])
        return fs->active;
    if (!fs->active[0])
        return fs->pending;
    return pf_version_cmp(fs->pending, fs->active) > 0 ? fs->pending : fs->active;
}

int64_t pfa_feestore_pending_at(const struct pfa_feestore *fs)
{
    return fs->pending[0] ? fs->pending_at : INT64_MAX;
}

static int fee__remove(struct pfa_feestore *fs, const char *name)
{
    const char *path = pfa_feestore_path(fs, name);

    pfa_fault_point(fs->fault);
    if (unlink(path) != 0 && errno != ENOENT)
        return PF_EIO;
    return pf_fsync_dir_of(path);
}

static int fee__write(struct pfa_feestore *fs, const char *name, const char *buf, size_t len)
{
    pfa_fault_point(fs->fault);
    return pf_file_write_atomic(pfa_feestore_path(fs, name), buf, len, 0644);
}

int pfa_feestore_stage(struct pfa_feestore *fs, const char *version, struct pf_error *err)
{
    struct pf_feetable *ft = malloc(sizeof(*ft));
    char *buf = NULL;
    size_t len;
    int rc;

    if (!ft)
        return pf_error_set(err, PF_ENOMEM, "fee table: out of memory");
    rc = fee__load(fs, PFA_FEE_STAGED, ft, &buf, &len, err);
    if (rc == PF_ENOENT)
        rc = pf_error_set(err, PF_ENOENT, "fee table: nothing staged");
    if (rc == 0 && strcmp(ft->version, version) != 0)
        rc = pf_error_set(err, PF_EFEETABLE, "fee table: version %s differs from the manifest's %s",
                          ft->version, version);
    if (rc == 0)
        rc = fee__write(fs, PFA_FEE_PENDING, buf, len);
    if (rc == 0 || rc == PF_EFEETABLE || rc == PF_EPARSE)
        (void)fee__remove(fs, PFA_FEE_STAGED);
    if (rc == 0) {
        memcpy(fs->pending, ft->version, sizeof(fs->pending));
        fs->pending_at = ft->effective_at;
    } else if (!err || !err->code) {
        pf_error_set(err, rc, "fee table: %s", pf_strerror(rc));
    }
    free(buf);
    free(ft);
    return rc;
}

int pfa_feestore_activate_due(struct pfa_feestore *fs, int64_t now_s, bool *switched,
                              struct pf_error *err)
{
    char *cur = NULL, *next = NULL;
    size_t curlen = 0, nextlen;
    int rc;

    *switched = false;
    if (!fs->pending[0] || fs->pending_at > now_s)
        return 0;
    rc = pf_file_read(pfa_feestore_path(fs, PFA_FEE_PENDING), PF_FEETABLE_MAX_BYTES, &next,
                      &nextlen);
    if (rc)
        return pf_error_set(err, rc, "fee table: pending: %s", pf_strerror(rc));
    /* A cut after active.json was replaced but before pending.json went away:
     * the switch is done; don't make the new table its own "previous". */
    if (strcmp(fs->active, fs->pending) != 0) {
        rc = pf_file_read(pfa_feestore_path(fs, PFA_FEE_ACTIVE), PF_FEETABLE_MAX_BYTES, &cur,
                          &curlen);
        if (rc == 0)
            rc = fee__write(fs, PFA_FEE_PREVIOUS, cur, curlen);
        else if (rc == PF_ENOENT)
            rc = 0;
        if (rc == 0)
            rc = fee__write(fs, PFA_FEE_ACTIVE, next, nextlen);
        if (rc)
            goto out_free;
        memcpy(fs->active, fs->pending, sizeof(fs->active));
        *switched = true;
    }
    rc = fee__remove(fs, PFA_FEE_PENDING);
    if (rc == 0) {
        fs->pending[0] = '\0';
        fs->pending_at = INT64_MAX;
    }
out_free:
    if (rc)
        pf_error_set(err, rc, "fee table: activation: %s", pf_strerror(rc));
    free(cur);
    free(next);
    return rc;
}

int pfa_feestore_rollback(struct pfa_feestore *fs, struct pf_error *err)
{
    struct pf_feetable *ft = malloc(sizeof(*ft));
    char *buf = NULL;
    size_t len;
    int rc;

    if (!ft)
        return pf_error_set(err, PF_ENOMEM, "fee table: out of memory");
    rc = fee__load(fs, PFA_FEE_PREVIOUS, ft, &buf, &len, err);
    if (rc == PF_ENOENT)
        rc = pf_error_set(err, PF_ENOENT, "fee table: no previous table to roll back to");
    if (rc == 0)
        rc = fee__write(fs, PFA_FEE_ACTIVE, buf, len);
    if (rc == 0)
        rc = fee__remove(fs, PFA_FEE_PREVIOUS);
    if (rc == 0)
        memcpy(fs->active, ft->version, sizeof(fs->active));
    free(buf);
    free(ft);
    return rc;
}
