/*
 * update_slot.c - payload writer for slots and staging files (see
 * pfa/update_slot.h).
 */
#include "pfa/update_slot.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h> /* SYNC_FILE_RANGE_WRITE without _GNU_SOURCE */
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLOT_KICK (8u << 20) /* writeback request granularity */

int pfa_slot_open(struct pfa_slot_writer *w, const char *path, const struct pf_manifest_payload *p,
                  uint64_t resume, struct pfa_fault *fault, struct pf_error *err)
{
    struct stat st;
    uint8_t *buf = NULL;
    uint64_t off = 0;
    int rc = 0;

    memset(w, 0, sizeof(*w));
    w->fault = fault;
    w->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (w->fd < 0)
        return pf_error_set(err, errno == ENOSPC ? PF_ENOSPACE : PF_EIO, "slot %s: %s", path,
                            strerror(errno));
    w->regular = fstat(w->fd, &st) == 0 && S_ISREG(st.st_mode);
    if (p) {
        w->v = pf_payload_verifier_new(p);
        if (!w->v) {
            rc = pf_error_set(err, PF_ENOMEM, "slot: out of memory");
            goto out_close;
        }
    }
    if (resume == 0)
        return 0;
    /* Resume: the digest must cover the prefix already written, so hash it again. */
    buf = malloc(PFA_SLOT_BLOCK);
    if (!buf) {
        rc = pf_error_set(err, PF_ENOMEM, "slot: out of memory");
        goto out_close;
    }
    while (off < resume) {
        size_t want = resume - off < PFA_SLOT_BLOCK ? (size_t)(resume - off) : PFA_SLOT_BLOCK;
        ssize_t n = pread(w->fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = pf_error_set(err, PF_EIO, "slot %s: cannot re-read %llu bytes to resume", path,
                              (unsigned long long)resume);
            goto out_close;
        }
        if (w->v && (rc = pf_payload_verifier_update(w->v, buf, (size_t)n, err)) != 0)
            goto out_close;
        off += (uint64_t)n;
    }
    w->written = w->kicked = resume;
    free(buf);
    return 0;

out_close:
    free(buf);
    pfa_slot_close(w);
    return rc;
}

int pfa_slot_write(struct pfa_slot_writer *w, const void *buf, size_t len, struct pf_error *err)
{
    const uint8_t *p = buf;
    size_t done = 0;
    int rc;

    if (w->v && (rc = pf_payload_verifier_update(w->v, buf, len, err)) != 0)
        return rc;
    pfa_fault_write_point(w->fault, w->fd, buf, len, w->written);
    while (done < len) {
        ssize_t n = pwrite(w->fd, p + done, len - done, (off_t)(w->written + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return pf_error_set(err, errno == ENOSPC ? PF_ENOSPACE : PF_EIO, "slot: write: %s",
                                n < 0 ? strerror(errno) : "no progress");
        done += (size_t)n;
    }
    w->written += len;
    if (w->written - w->kicked >= SLOT_KICK) {
        /* Start writeback now; the final fdatasync then waits for little. */
        (void)syscall(SYS_sync_file_range, w->fd, (off_t)w->kicked, (off_t)(w->written - w->kicked),
                      (unsigned)SYNC_FILE_RANGE_WRITE);
        w->kicked = w->written;
    }
    return 0;
}

int pfa_slot_sync(struct pfa_slot_writer *w, struct pf_error *err)
{
    if (fdatasync(w->fd) != 0)
        return pf_error_set(err, PF_EIO, "slot: fdatasync: %s", strerror(errno));
    return 0;
}

int pfa_slot_finish(struct pfa_slot_writer *w, struct pf_error *err)
{
    int rc;

    if (w->v && (rc = pf_payload_verifier_final(w->v, err)) != 0)
        return rc;
    if (w->regular && ftruncate(w->fd, (off_t)w->written) != 0)
        return pf_error_set(err, PF_EIO, "slot: truncate: %s", strerror(errno));
    return pfa_slot_sync(w, err);
}

void pfa_slot_close(struct pfa_slot_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    pf_payload_verifier_free(w->v);
    w->v = NULL;
}

int pfa_slot_verify(const char *path, uint64_t size, const uint8_t digest[PF_B2_LEN],
                    struct pf_error *err)
{
    struct pf_manifest_payload p;
    struct pfa_slot_writer w;
    int rc;

    memset(&p, 0, sizeof(p));
    memcpy(p.name, "slot", 5);
    p.size = size;
    memcpy(p.digest, digest, PF_B2_LEN);
    rc = pfa_slot_open(&w, path, &p, size, NULL, err);
    if (rc == PF_EIO)
        rc = pf_error_set(err, PF_ESIZE, "slot %s: shorter than %llu bytes", path,
                          (unsigned long long)size);
    if (rc == 0) {
        rc = pf_payload_verifier_final(w.v, err);
        pfa_slot_close(&w);
    }
    return rc;
}

/* ---- staged install from byte ranges ---------------------------------------------- */

static int slot__pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return PF_EIO;
        done += (size_t)n;
    }
    return 0;
}

int pfa_slot_install_staged(const char *bundle_path, const struct pf_offer *offer,
                            const char *slot_path, const struct pf_trust *trust,
                            const struct pf_policy *pol, struct pf_manifest *out,
                            struct pf_error *err)
{
    static const char *const names[4] = {PF_BUNDLE_MANIFEST, PF_BUNDLE_MANIFEST_SIG,
                                         PF_BUNDLE_KEYRING, PF_BUNDLE_KEYRING_SIG};
    static const uint64_t limits[4] = {PF_MANIFEST_MAX_BYTES, 2048, PF_KEYRING_MAX_BYTES, 2048};
    char *meta[4] = {NULL, NULL, NULL, NULL};
    size_t mlen[4] = {0, 0, 0, 0};
    const struct pf_offer_entry *pe;
    struct pfa_slot_writer w = {.fd = -1};
    uint8_t *buf = NULL;
    uint64_t off = 0;
    int fd, rc = 0;

    fd = open(bundle_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pf_error_set(err, errno == ENOENT ? PF_ENOENT : PF_EIO, "%s: %s", bundle_path,
                            strerror(errno));
    for (int i = 0; i < 4 && rc == 0; i++) {
        const struct pf_offer_entry *e = pf_offer_entry_find(offer, names[i]);
        if (!e) {
            rc = pf_error_set(err, PF_EMISSING_ENTRY, "%s: no range", names[i]);
        } else if (e->size > limits[i]) {
            rc = pf_error_set(err, PF_ELIMIT, "%s: %llu bytes, above the limit", names[i],
                              (unsigned long long)e->size);
        } else if (!(meta[i] = malloc(e->size + 1))) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        } else if (slot__pread_all(fd, meta[i], e->size, e->offset) != 0) {
            rc = pf_error_set(err, PF_EIO, "%s: cannot read %s", bundle_path, names[i]);
        } else {
            mlen[i] = e->size;
        }
    }
    if (rc == 0)
        rc = pf_bundle_verify_meta(meta[0], mlen[0], meta[1], mlen[1], meta[2], mlen[2], meta[3],
                                   mlen[3], trust, pol, out, NULL, err);
    for (int i = 0; i < 4; i++)
        free(meta[i]);
    if (rc)
        goto out_close;
    if (out->npayloads != 1) {
        rc = pf_error_set(err, PF_ELIMIT, "%zu payloads; a firmware bundle carries one",
                          out->npayloads);
        goto out_close;
    }
    pe = pf_offer_entry_find(offer, out->payloads[0].name);
    if (!pe || pe->size != out->payloads[0].size) {
        rc = pf_error_set(err, PF_ESIZE, "payload %s: range does not match the manifest",
                          out->payloads[0].name);
        goto out_close;
    }
    buf = malloc(PFA_SLOT_BLOCK);
    if (!buf) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_close;
    }
    rc = pfa_slot_open(&w, slot_path, &out->payloads[0], 0, NULL, err);
    while (rc == 0 && off < pe->size) {
        size_t n = pe->size - off < PFA_SLOT_BLOCK ? (size_t)(pe->size - off) : PFA_SLOT_BLOCK;
        if (slot__pread_all(fd, buf, n, pe->offset + off) != 0)
            rc = pf_error_set(err, PF_EIO, "%s: short payload", bundle_path);
        else
            rc = pfa_slot_write(&w, buf, n, err);
        off += n;
    }
    if (rc == 0)
        rc = pfa_slot_finish(&w, err);
    pfa_slot_close(&w);
out_close:
    free(buf);
    close(fd);
    return rc;
}
