/*
 * artifacts.c - verify, store and open signed bundles (artifacts.h).
 */
#include "updates/artifacts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pf/feetable.h"
#include "pf/fileio.h"
#include "pf/keyring.h"
#include "pf/msg_update.h"

static int artifacts__load_keyring(struct pfs_artifacts *a, const char *kdir, struct pf_error *err)
{
    char kp[PATH_MAX], ksp[PATH_MAX], *doc = NULL, *sig = NULL;
    size_t dl = 0, sl = 0;
    int rc;

    if ((size_t)snprintf(kp, sizeof(kp), "%s/%s", kdir, PF_BUNDLE_KEYRING) >= sizeof(kp) ||
        (size_t)snprintf(ksp, sizeof(ksp), "%s/%s", kdir, PF_BUNDLE_KEYRING_SIG) >= sizeof(ksp))
        return pf_error_set(err, PF_EINVAL, "update.keyring: path too long");
    a->keyring = malloc(sizeof(*a->keyring));
    if (!a->keyring)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    rc = pf_file_read(kp, PF_KEYRING_MAX_BYTES, &doc, &dl);
    if (!rc)
        rc = pf_file_read(ksp, PF_MS_SIG_MAX, &sig, &sl);
    if (rc)
        pf_error_set(err, rc, "update.keyring: %s: %s", kdir, pf_strerror(rc));
    else if ((rc = pf_keyring_verify(doc, dl, sig, sl, &a->trust.root, 0, a->keyring, err)) != 0)
        pf_error_prefix(err, "update.keyring: %s", kdir);
    free(doc);
    free(sig);
    if (rc) {
        free(a->keyring);
        a->keyring = NULL;
        return rc;
    }
    a->trust.keyring = a->keyring;
    return 0;
}

int pfs_artifacts_init(struct pfs_artifacts *a, const char *dir, const char *trust_root,
                       const char *keyring_dir, struct pf_error *err)
{
    int rc;

    memset(a, 0, sizeof(*a));
    for (int i = 0; i < PFS_ARTIFACT_FDS; i++)
        a->fds[i].fd = -1;
    if ((size_t)snprintf(a->dir, sizeof(a->dir), "%s", dir) >= sizeof(a->dir))
        return pf_error_set(err, PF_EINVAL, "artifacts.dir: path too long");
    rc = pf_mkdir_p(a->dir, 0700);
    if (rc)
        return pf_error_set(err, rc, "artifacts.dir: %s: %s", a->dir, pf_strerror(rc));
    if (trust_root && *trust_root) {
        rc = pf_ms_pubkey_load(trust_root, &a->trust.root, err);
        if (rc)
            return pf_error_prefix(err, "update.trust_root");
        a->have_trust = true;
        if (keyring_dir && *keyring_dir) {
            rc = artifacts__load_keyring(a, keyring_dir, err);
            if (rc)
                return rc;
        }
    } else if (keyring_dir && *keyring_dir) {
        return pf_error_set(err, PF_EINVAL, "update.keyring needs update.trust_root");
    }
    return 0;
}

void pfs_artifacts_release(struct pfs_artifacts *a)
{
    for (int i = 0; i < PFS_ARTIFACT_FDS; i++) {
        if (a->fds[i].fd >= 0)
            close(a->fds[i].fd);
        a->fds[i].fd = -1;
    }
    free(a->keyring);
    a->keyring = NULL;
    a->trust.keyring = NULL;
}

int pfs_artifacts_path(const struct pfs_artifacts *a, const char *hex, char *out, size_t size)
{
    if ((size_t)snprintf(out, size, "%s/%s.bundle", a->dir, hex) >= size)
        return PF_ERANGE;
    return 0;
}

/* Joins n fixed-width strings starting at base with commas. */
static void artifacts__join(char *out, size_t size, const char *base, size_t n, size_t width)
{
    size_t off = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(out + off, size - off, "%s%s", i ? "," : "", base + i * width);

        if (w < 0 || (size_t)w >= size - off)
            break;
        off += (size_t)w;
    }
}

/* Writes buf to a temporary file in the directory, fsynced; *tmp gets its path. */
static int artifacts__write_tmp(const struct pfs_artifacts *a, const void *buf, size_t len,
                                char *tmp, size_t size)
{
    const char *p = buf;
    int fd, rc = 0;

    if ((size_t)snprintf(tmp, size, "%s/.upload-XXXXXX", a->dir) >= size)
        return PF_ERANGE;
    fd = mkstemp(tmp);
    if (fd < 0)
        return errno == ENOSPC ? PF_ENOSPACE : PF_EIO;
    while (len > 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = errno == ENOSPC ? PF_ENOSPACE : PF_EIO;
            break;
        }
        p += w;
        len -= (size_t)w;
    }
    if (!rc && fsync(fd) != 0)
        rc = PF_EIO;
    if (close(fd) != 0 && !rc)
        rc = PF_EIO;
    if (rc)
        unlink(tmp);
    return rc;
}

/* Keeps the fee-table payload while the reader verifies it, to validate it as the agent will. */
struct artifacts__ft {
    char *buf;
    size_t len;
    bool mine; /* the payload being written is the fee table */
};

static int artifacts__ft_begin(void *ctx, const struct pf_manifest_payload *p, struct pf_error *err)
{
    struct artifacts__ft *f = ctx;

    f->mine = strcmp(p->name, PF_FEETABLE_PAYLOAD) == 0 && !f->buf;
    if (!f->mine || p->size > PF_FEETABLE_MAX_BYTES)
        return 0; /* too large a table is refused after the read, with the kind known */
    f->buf = malloc(p->size + 1);
    if (!f->buf)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    f->len = 0;
    return 0;
}

static int artifacts__ft_write(void *ctx, const void *buf, size_t len, struct pf_error *err)
{
    struct artifacts__ft *f = ctx;

    (void)err;
    if (f->mine && f->buf) { /* the reader never hands out more than the declared size */
        memcpy(f->buf + f->len, buf, len);
        f->len += len;
    }
    return 0;
}

static int artifacts__ft_end(void *ctx, const struct pf_manifest_payload *p, struct pf_error *err)
{
    struct artifacts__ft *f = ctx;

    (void)p;
    (void)err;
    f->mine = false;
    return 0;
}

/* A fee-table bundle must carry a table the agent will accept: refuse it now, not on the
 * terminal (same rules: exactly one payload, fee-table.json, pf_feetable_parse()). */
static int artifacts__check_feetable(const struct pf_manifest *m, const struct artifacts__ft *f,
                                     struct pf_error *err)
{
    struct pf_feetable *ft;
    int rc;

    if (m->kind != PF_KIND_FEETABLE)
        return 0;
    if (m->npayloads != 1 || strcmp(m->payloads[0].name, PF_FEETABLE_PAYLOAD) != 0)
        return pf_error_set(err, PF_EFEETABLE,
                            "fee-table bundle: must carry exactly one payload, %s",
                            PF_FEETABLE_PAYLOAD);
    if (!f->buf)
        return pf_error_set(err, PF_EFEETABLE, "fee-table bundle: %s: larger than %d bytes",
                            PF_FEETABLE_PAYLOAD, PF_FEETABLE_MAX_BYTES);
    ft = malloc(sizeof(*ft));
    if (!ft)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    rc = pf_feetable_parse(f->buf, f->len, ft, err);
    free(ft);
    if (rc)
        pf_error_prefix(err, "fee-table bundle: %s", PF_FEETABLE_PAYLOAD);
    return rc;
}

int pfs_artifacts_put(struct pfs_artifacts *a, const void *buf, size_t len, int64_t now_s,
                      struct pfs_bundle_rec *rec, struct pf_error *err)
{
    struct pf_policy pol = {.kind = -1, .now = now_s};
    struct pf_manifest *m = NULL;
    struct pf_offer *o = NULL;
    struct artifacts__ft ft = {0};
    struct pf_bundle_sink sink = {.begin = artifacts__ft_begin,
                                  .write = artifacts__ft_write,
                                  .end = artifacts__ft_end,
                                  .ctx = &ft};
    const char *comp;
    uint8_t id[PF_B2_LEN];
    char tmp[PATH_MAX], path[PATH_MAX];
    bool tmp_made = false;
    struct stat sb;
    int rc;

    memset(rec, 0, sizeof(*rec));
    if (!a->have_trust)
        return pf_error_set(err, PF_ESTATE,
                            "update.trust_root is not configured: posfleetd cannot verify bundles");
    m = malloc(sizeof(*m));
    o = calloc(1, sizeof(*o));
    if (!m || !o) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    /* Chunks are byte ranges of a plain tar: a compressed container (let alone one
     * compressed several times over) is refused by its first bytes, before anything is
     * decompressed. */
    if ((comp = pf_bundle_compression(buf, len)) != NULL) {
        rc = pf_error_set(err, PF_EINVAL,
                          "bundle: the container is %s-compressed; upload the uncompressed tar "
                          "(nothing is decompressed on upload)",
                          comp);
        goto out_free;
    }
    rc = pf_bundle_read_mem(buf, len, &a->trust, &pol, &sink, m, err);
    if (rc == 0)
        rc = artifacts__check_feetable(m, &ft, err);
    if (rc)
        goto out_free;
    pf_b2_buf(buf, len, id);
    pf_b2_hex(id, rec->id);
    rc = pfs_artifacts_path(a, rec->id, path, sizeof(path));
    if (rc) {
        pf_error_set(err, rc, "artifacts.dir: path too long");
        goto out_free;
    }
    rc = artifacts__write_tmp(a, buf, len, tmp, sizeof(tmp));
    if (rc) {
        pf_error_set(err, rc, "artifacts: writing %s: %s", a->dir, pf_strerror(rc));
        goto out_free;
    }
    tmp_made = true;
    /* The offer's byte ranges need a plain tar: this also refuses compression. */
    rc = pf_offer_from_bundle(tmp, o, err);
    if (rc) {
        if (rc == PF_EINVAL)
            pf_error_set(err, rc,
                         "compressed bundles cannot be served in chunks; upload the"
                         " uncompressed tar");
        goto out_free;
    }
    if (stat(path, &sb) == 0 && (uint64_t)sb.st_size == (uint64_t)len) {
        rc = 0; /* the same content is stored already */
    } else if (rename(tmp, path) != 0) {
        rc = pf_error_set(err, PF_EIO, "artifacts: storing %s: %s", path, strerror(errno));
        goto out_free;
    } else {
        tmp_made = false;
        rc = pf_fsync_dir_of(path);
        if (rc) {
            pf_error_set(err, rc, "artifacts: fsync %s: %s", a->dir, pf_strerror(rc));
            goto out_free;
        }
    }
    rec->kind = m->kind;
    snprintf(rec->version, sizeof(rec->version), "%s", m->version);
    artifacts__join(rec->models, sizeof(rec->models), m->models[0], m->nmodels,
                    sizeof(m->models[0]));
    artifacts__join(rec->hw_revs, sizeof(rec->hw_revs), m->hw_revs[0], m->nhw_revs,
                    sizeof(m->hw_revs[0]));
    rec->size = len;
    pf_b2_hex(o->manifest, rec->manifest);
    rec->created_s = m->created;
    rec->expires_s = m->expires;
out_free:
    if (tmp_made)
        unlink(tmp);
    free(ft.buf);
    free(m);
    free(o);
    return rc;
}

int pfs_artifacts_open(struct pfs_artifacts *a, const uint8_t id[PF_B2_LEN], int *fd,
                       uint64_t *size)
{
    struct pfs_artifact_fd *victim = &a->fds[0];
    char hex[PF_B2_HEX_LEN + 1], path[PATH_MAX];
    struct stat sb;
    int f;

    for (int i = 0; i < PFS_ARTIFACT_FDS; i++) {
        struct pfs_artifact_fd *e = &a->fds[i];

        if (e->fd >= 0 && memcmp(e->id, id, PF_B2_LEN) == 0) {
            e->used = ++a->tick;
            *fd = e->fd;
            *size = e->size;
            return 0;
        }
        if (e->fd < 0 || (victim->fd >= 0 && e->used < victim->used))
            victim = e;
    }
    pf_b2_hex(id, hex);
    if (pfs_artifacts_path(a, hex, path, sizeof(path)))
        return PF_ENOENT;
    f = open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0)
        return errno == ENOENT ? PF_ENOENT : PF_EIO;
    if (fstat(f, &sb) != 0) {
        close(f);
        return PF_EIO;
    }
    if (victim->fd >= 0)
        close(victim->fd);
    memcpy(victim->id, id, PF_B2_LEN);
    victim->fd = f;
    victim->size = (uint64_t)sb.st_size;
    victim->used = ++a->tick;
    *fd = f;
    *size = victim->size;
    return 0;
}
