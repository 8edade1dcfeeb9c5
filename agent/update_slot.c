/*
 * update_slot.c - payload writer for slots and staging files (see
 * pfa/update_slot.h).
 */
#include "pfa/update_slot.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h> /* SYNC_FILE_RANGE_WRITE without _GNU_SOURCE */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SLOT_KICK (8u << 20) /* writeback request granularity */

/* Staged install pipeline: a ring of blocks between the hashing and the writing thread. */
#define SLOT_PIPE_BLOCK (128u * 1024u)
#define SLOT_PIPE_RING  4u
#define SLOT_PIPE_FLUSH (32u << 20) /* the flusher makes this much durable at a time */
#define SLOT_PIPE_STACK (64u * 1024u)

static void slot__kick(struct pfa_slot_writer *w)
{
    if (w->written - w->kicked >= SLOT_KICK) {
        /* Start writeback now; the final fdatasync then waits for little. */
        (void)syscall(SYS_sync_file_range, w->fd, (off_t)w->kicked, (off_t)(w->written - w->kicked),
                      (unsigned)SYNC_FILE_RANGE_WRITE);
        w->kicked = w->written;
    }
}

/* 0 or the errno of the failed write (EIO for a write that makes no progress). */
static int slot__pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pwrite(fd, (const uint8_t *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n == 0)
            return EIO;
        done += (size_t)n;
    }
    return 0;
}

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
    int rc, e;

    if (w->v && (rc = pf_payload_verifier_update(w->v, buf, len, err)) != 0)
        return rc;
    pfa_fault_write_point(w->fault, w->fd, buf, len, w->written);
    if ((e = slot__pwrite_all(w->fd, buf, len, w->written)) != 0)
        return pf_error_set(err, e == ENOSPC ? PF_ENOSPACE : PF_EIO, "slot: write: %s",
                            strerror(e));
    w->written += len;
    slot__kick(w);
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

/*
 * The payload of a staged install goes through three threads so that hashing,
 * copying into the page cache and the device's write-out overlap: the calling
 * thread reads each block into a small ring and hashes it (the verifier
 * refuses bytes past the declared size before they are handed over); the
 * writer writes hashed blocks in order and kicks writeback; the flusher
 * fdatasyncs every SLOT_PIPE_FLUSH bytes, so that the device's caches are
 * drained while the hashing goes on and the final fdatasync has little left.
 * A block is written only after it has been hashed and is not refilled before
 * it has been written: the digest covers exactly the bytes in the slot.
 */
struct slot__pipe {
    pthread_mutex_t mu;
    pthread_cond_t can_fill;   /* the hashing thread waits: a block was written, or stop */
    pthread_cond_t can_write;  /* the writer waits: a block was filled, eof, or stop */
    pthread_cond_t can_flush;  /* the flusher waits: flush_at reached, written, or stop */
    struct pfa_slot_writer *w; /* written/kicked belong to the writer until it is joined */
    uint8_t *ring;             /* SLOT_PIPE_RING blocks of SLOT_PIPE_BLOCK */
    size_t len[SLOT_PIPE_RING];
    uint64_t filled;   /* blocks hashed and handed to the writer */
    uint64_t drained;  /* blocks written */
    uint64_t bytes;    /* bytes written */
    uint64_t flush_at; /* the flusher's next fdatasync once bytes reaches this */
    bool eof;          /* nothing more will be filled */
    bool written;      /* the writer is gone: the flusher stops */
    bool stop;         /* an error somewhere: everyone stops */
    int werr;          /* the writer's errno, 0 if none */
    int ferr;          /* the flusher's errno, 0 if none */
};

/* With mu held. */
static void slot__pipe_stop(struct slot__pipe *p)
{
    p->stop = true;
    pthread_cond_signal(&p->can_fill);
    pthread_cond_signal(&p->can_write);
    pthread_cond_signal(&p->can_flush);
}

static void *slot__pipe_writer(void *arg)
{
    struct slot__pipe *p = arg;
    struct pfa_slot_writer *w = p->w;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        const uint8_t *buf;
        size_t len;
        int e;

        while (!p->stop && !p->eof && p->drained == p->filled)
            pthread_cond_wait(&p->can_write, &p->mu);
        if (p->stop || p->drained == p->filled)
            break;
        buf = p->ring + (size_t)(p->drained % SLOT_PIPE_RING) * SLOT_PIPE_BLOCK;
        len = p->len[p->drained % SLOT_PIPE_RING];
        pthread_mutex_unlock(&p->mu);
        e = slot__pwrite_all(w->fd, buf, len, w->written);
        if (e == 0) {
            w->written += len;
            slot__kick(w);
        }
        pthread_mutex_lock(&p->mu);
        if (e) {
            p->werr = e;
            slot__pipe_stop(p);
            break;
        }
        p->drained++;
        p->bytes = w->written;
        pthread_cond_signal(&p->can_fill);
        if (p->bytes >= p->flush_at)
            pthread_cond_signal(&p->can_flush);
    }
    p->written = true;
    pthread_cond_signal(&p->can_flush);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void *slot__pipe_flusher(void *arg)
{
    struct slot__pipe *p = arg;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        int e;

        while (!p->stop && !p->written && p->bytes < p->flush_at)
            pthread_cond_wait(&p->can_flush, &p->mu);
        if (p->stop || p->written)
            break;
        p->flush_at = p->bytes + SLOT_PIPE_FLUSH;
        pthread_mutex_unlock(&p->mu);
        e = fdatasync(p->w->fd) == 0 ? 0 : errno;
        pthread_mutex_lock(&p->mu);
        if (e) {
            /* Remembered here: a later fdatasync may not report it again. */
            p->ferr = e;
            slot__pipe_stop(p);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Stops the pipeline (rc != 0: on an error) and collects the threads' errors. */
static int slot__pipe_end(struct slot__pipe *p, pthread_t *writer, pthread_t *flusher, int rc,
                          struct pf_error *err)
{
    pthread_mutex_lock(&p->mu);
    p->eof = true;
    if (rc)
        slot__pipe_stop(p);
    pthread_cond_signal(&p->can_write);
    pthread_mutex_unlock(&p->mu);
    if (writer)
        pthread_join(*writer, NULL); /* sets written: the flusher stops */
    if (flusher)
        pthread_join(*flusher, NULL);
    if (rc == 0 && p->werr)
        rc = pf_error_set(err, p->werr == ENOSPC ? PF_ENOSPACE : PF_EIO, "slot: write: %s",
                          strerror(p->werr));
    if (rc == 0 && p->ferr)
        rc = pf_error_set(err, PF_EIO, "slot: fdatasync: %s", strerror(p->ferr));
    return rc;
}

/* Reads size bytes at offset from fd, hashes them with w's verifier and has them written. */
static int slot__pipe_run(struct pfa_slot_writer *w, int fd, const char *bundle_path,
                          uint64_t offset, uint64_t size, struct pf_error *err)
{
    struct slot__pipe p;
    pthread_attr_t attr;
    pthread_t writer, flusher;
    sigset_t all, old;
    bool have_writer = false, have_flusher = false;
    uint64_t off = 0;
    int rc = 0;

    memset(&p, 0, sizeof(p));
    p.w = w;
    p.ring = aligned_alloc(4096, (size_t)SLOT_PIPE_RING * SLOT_PIPE_BLOCK);
    if (!p.ring)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    p.flush_at = SLOT_PIPE_FLUSH;
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.can_fill, NULL);
    pthread_cond_init(&p.can_write, NULL);
    pthread_cond_init(&p.can_flush, NULL);
    /* The workers take no signals: the agent's handlers keep running on its own thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, SLOT_PIPE_STACK);
    have_writer = pthread_create(&writer, &attr, slot__pipe_writer, &p) == 0;
    have_flusher = have_writer && pthread_create(&flusher, &attr, slot__pipe_flusher, &p) == 0;
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!have_flusher)
        rc = pf_error_set(err, PF_ENOMEM, "slot: cannot start the writer threads");

    while (rc == 0 && off < size) {
        size_t n = size - off < SLOT_PIPE_BLOCK ? (size_t)(size - off) : SLOT_PIPE_BLOCK;
        size_t slot = (size_t)(p.filled % SLOT_PIPE_RING); /* filled: only this thread moves it */
        uint8_t *buf = p.ring + slot * SLOT_PIPE_BLOCK;
        bool stop;

        pthread_mutex_lock(&p.mu);
        while (!p.stop && p.filled - p.drained >= SLOT_PIPE_RING)
            pthread_cond_wait(&p.can_fill, &p.mu);
        stop = p.stop;
        pthread_mutex_unlock(&p.mu);
        if (stop)
            break; /* the writer's or flusher's error is reported below */
        if (slot__pread_all(fd, buf, n, offset + off) != 0) {
            rc = pf_error_set(err, PF_EIO, "%s: short payload", bundle_path);
            break;
        }
        if ((rc = pf_payload_verifier_update(w->v, buf, n, err)) != 0)
            break;
        pthread_mutex_lock(&p.mu);
        p.len[slot] = n;
        p.filled++;
        pthread_cond_signal(&p.can_write);
        pthread_mutex_unlock(&p.mu);
        off += n;
    }
    rc = slot__pipe_end(&p, have_writer ? &writer : NULL, have_flusher ? &flusher : NULL, rc, err);
    pthread_cond_destroy(&p.can_flush);
    pthread_cond_destroy(&p.can_write);
    pthread_cond_destroy(&p.can_fill);
    pthread_mutex_destroy(&p.mu);
    free(p.ring);
    return rc;
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
    rc = pfa_slot_open(&w, slot_path, &out->payloads[0], 0, NULL, err);
    if (rc == 0)
        rc = slot__pipe_run(&w, fd, bundle_path, pe->offset, pe->size, err);
    if (rc == 0)
        rc = pfa_slot_finish(&w, err);
    pfa_slot_close(&w);
out_close:
    close(fd);
    return rc;
}
