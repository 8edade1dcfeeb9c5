/*
 * bundle_read.c - one pass over a bundle archive with libarchive: metadata
 * first (verified before any payload byte is handed out), then every payload
 * hashed as it streams to the caller's sink; plus the extracting sink.
 */
#include "pf/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pf/fileio.h"

enum { META_MANIFEST, META_MANIFEST_SIG, META_KEYRING, META_KEYRING_SIG, META_COUNT };

static const char *const bundle__meta_names[META_COUNT] = {
        PF_BUNDLE_MANIFEST, PF_BUNDLE_MANIFEST_SIG, PF_BUNDLE_KEYRING, PF_BUNDLE_KEYRING_SIG};
static const size_t bundle__meta_max[META_COUNT] = {PF_MANIFEST_MAX_BYTES, PF_MS_SIG_MAX,
                                                    PF_KEYRING_MAX_BYTES, PF_MS_SIG_MAX};

/*
 * The container is read by two libarchive readers: `raw` undoes the one allowed
 * whole-file compression (format "raw"), `a` reads the tar from raw's output
 * through bundle__tar_read. The bytes in between pass here, so the reader knows
 * where the tar stream ends and what follows tar's end-of-archive marker, and
 * can stop a container compressed more than once before decompressing it.
 */
struct bundle__stream {
    const struct pf_bundle_source *src; /* the caller's source, or NULL */
    void *buf;
    struct archive *raw;
    uint64_t total;      /* decompressed bytes handed to the tar reader */
    uint64_t nonzero_to; /* offset just after the last non-zero byte of them */
    int refused;         /* a PF_E* refusal found in the stream, with msg */
    char msg[160];
};

struct bundle__reader {
    struct archive *a;
    const struct pf_trust *trust;
    const struct pf_policy *pol;
    const struct pf_bundle_sink *sink;
    struct pf_manifest *m;
    char *meta[META_COUNT];
    size_t meta_len[META_COUNT];
    bool verified;
    bool seen[PF_MANIFEST_MAX_PAYLOADS];
    unsigned entries;
    struct pf_payload_verifier *v;
    struct bundle__stream *st; /* NULL for pf_bundle_meta_load */
};

const char *pf_bundle_compression(const void *buf, size_t len)
{
    static const struct {
        const char *name;
        size_t n;
        const char *magic;
    } fmts[] = {{"gzip", 2, "\x1f\x8b"},
                {"zstd", 4, "\x28\xb5\x2f\xfd"},
                {"xz", 6,
                 "\xfd"
                 "7zXZ\x00"},
                {"bzip2", 3, "BZh"}};

    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        if (len >= fmts[i].n && memcmp(buf, fmts[i].magic, fmts[i].n) == 0)
            return fmts[i].name;
    }
    return NULL;
}

static struct archive *bundle__archive_new(void)
{
    struct archive *a = archive_read_new();

    if (!a)
        return NULL;
    /* Only tar, optionally compressed as a whole: the smallest surface that stock tar lists. */
    archive_read_support_format_tar(a);
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_none(a);
    return a;
}

static int bundle__archive_err(struct archive *a, const char *what, struct pf_error *err)
{
    const char *s = archive_error_string(a);
    return pf_error_set(err, PF_EPARSE, "bundle: %s: %s", what, s ? s : "damaged archive");
}

/* Reads a whole metadata entry, refusing more than max bytes whatever the header says. */
static int bundle__read_small(struct archive *a, const char *name, size_t max, char **out,
                              size_t *outlen, struct pf_error *err)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap + 1);

    if (!buf)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    for (;;) {
        la_ssize_t r;
        if (len == cap) {
            char *nb;
            if (cap > max) {
                free(buf);
                return pf_error_set(err, PF_ELIMIT, "bundle: %s: larger than %zu bytes", name, max);
            }
            cap *= 2;
            nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                return pf_error_set(err, PF_ENOMEM, "out of memory");
            }
            buf = nb;
        }
        r = archive_read_data(a, buf + len, cap - len);
        if (r < 0) {
            free(buf);
            return bundle__archive_err(a, name, err);
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > max) {
            free(buf);
            return pf_error_set(err, PF_ELIMIT, "bundle: %s: larger than %zu bytes", name, max);
        }
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

static int bundle__verify_meta(struct bundle__reader *r, struct pf_error *err)
{
    int rc;

    if (r->verified)
        return 0;
    rc = pf_bundle_verify_meta(r->meta[META_MANIFEST], r->meta_len[META_MANIFEST],
                               r->meta[META_MANIFEST_SIG], r->meta_len[META_MANIFEST_SIG],
                               r->meta[META_KEYRING], r->meta_len[META_KEYRING],
                               r->meta[META_KEYRING_SIG], r->meta_len[META_KEYRING_SIG], r->trust,
                               r->pol, r->m, NULL, err);
    if (rc == 0)
        r->verified = true;
    return rc;
}

/* Path and type checks every entry passes before its name means anything. */
static int bundle__entry_safe(struct archive_entry *e, const char **name, struct pf_error *err)
{
    const char *p = archive_entry_pathname(e);
    mode_t type = archive_entry_filetype(e);

    if (!p || !*p)
        return pf_error_set(err, PF_EUNSAFE_PATH, "bundle: entry without a name");
    if (p[0] == '/')
        return pf_error_set(err, PF_EUNSAFE_PATH, "bundle: entry '%s' is an absolute path", p);
    for (const char *c = p; c; c = strchr(c, '/')) {
        if (*c == '/')
            c++;
        if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
            return pf_error_set(err, PF_EUNSAFE_PATH, "bundle: entry '%s' contains '..'", p);
    }
    if (archive_entry_hardlink(e))
        return pf_error_set(err, PF_EENTRY_TYPE, "bundle: entry '%s' is a hard link", p);
    if (type != AE_IFREG) {
        const char *what = type == AE_IFLNK   ? "a symbolic link"
                           : type == AE_IFDIR ? "a directory"
                           : type == AE_IFCHR ? "a character device"
                           : type == AE_IFBLK ? "a block device"
                           : type == AE_IFIFO ? "a FIFO"
                                              : "not a regular file";
        return pf_error_set(err, PF_EENTRY_TYPE, "bundle: entry '%s' is %s", p, what);
    }
    if (strchr(p, '/'))
        return pf_error_set(err, PF_EEXTRA_ENTRY, "bundle: unexpected entry '%s'", p);
    *name = p;
    return 0;
}

static int bundle__payload(struct bundle__reader *r, struct archive_entry *e, const char *name,
                           struct pf_error *err)
{
    const struct pf_manifest_payload *p = pf_manifest_payload_find(r->m, name);
    size_t idx;
    int rc;

    if (!p)
        return pf_error_set(err, PF_EEXTRA_ENTRY, "bundle: entry '%s' is not in the manifest",
                            name);
    idx = (size_t)(p - r->m->payloads);
    if (r->seen[idx])
        return pf_error_set(err, PF_EEXTRA_ENTRY, "bundle: payload '%s' appears twice", name);
    r->seen[idx] = true;
    if (archive_entry_size_is_set(e)) {
        uint64_t hs = (uint64_t)archive_entry_size(e);
        if (hs > p->size)
            return pf_error_set(err, PF_EEXCESS,
                                "payload %s: entry holds %llu bytes, declared %llu", name,
                                (unsigned long long)hs, (unsigned long long)p->size);
        if (hs < p->size)
            return pf_error_set(err, PF_ESIZE, "payload %s: entry holds %llu bytes, declared %llu",
                                name, (unsigned long long)hs, (unsigned long long)p->size);
    }
    pf_payload_verifier_init(r->v, p);
    if (r->sink && r->sink->begin && (rc = r->sink->begin(r->sink->ctx, p, err)) != 0)
        return rc;
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        int ar = archive_read_data_block(r->a, &buf, &size, &off);

        if (ar == ARCHIVE_EOF)
            break;
        if (ar != ARCHIVE_OK)
            return pf_error_set(
                    err, PF_ESIZE, "payload %s: truncated after %llu of %llu bytes (%s)", name,
                    (unsigned long long)r->v->seen, (unsigned long long)p->size,
                    archive_error_string(r->a) ? archive_error_string(r->a) : "read error");
        if (off < 0 || (uint64_t)off != r->v->seen)
            return pf_error_set(err, PF_EENTRY_TYPE, "payload %s: sparse entries are refused",
                                name);
        if ((rc = pf_payload_verifier_update(r->v, buf, size, err)) != 0)
            return rc;
        if (r->sink && r->sink->write && (rc = r->sink->write(r->sink->ctx, buf, size, err)) != 0)
            return rc;
    }
    if ((rc = pf_payload_verifier_final(r->v, err)) != 0)
        return rc;
    if (r->sink && r->sink->end && (rc = r->sink->end(r->sink->ctx, p, err)) != 0)
        return rc;
    return 0;
}

/* Pulls the next block of the decompressed stream for the tar reader, noting its extent. */
static la_ssize_t bundle__tar_read(struct archive *a, void *ctx, const void **buf)
{
    struct bundle__stream *s = ctx;
    const unsigned char *p;
    size_t size = 0;
    la_int64_t off;
    int ar = archive_read_data_block(s->raw, buf, &size, &off);

    if (ar == ARCHIVE_EOF)
        return 0;
    if (ar != ARCHIVE_OK) {
        archive_set_error(a, EIO, "%s",
                          archive_error_string(s->raw) ? archive_error_string(s->raw)
                                                       : "read error");
        return -1; /* libarchive's read callback contract, not a PF_E* code */
    }
    p = *buf;
    if (s->total == 0 && pf_bundle_compression(p, size)) {
        /* What is left after the one allowed layer is compressed again, in a format
         * the reader does not undo (gzip and zstd layers were counted at open). */
        s->refused = PF_EPARSE;
        if (archive_filter_count(s->raw) > 1)
            snprintf(s->msg, sizeof(s->msg),
                     "the container is compressed twice (%s inside %s); one layer at most",
                     pf_bundle_compression(p, size), archive_filter_name(s->raw, 0));
        else
            snprintf(s->msg, sizeof(s->msg),
                     "the container is %s-compressed; bundles are tar, gzip or zstd only",
                     pf_bundle_compression(p, size));
        archive_set_error(a, EINVAL, "%s", s->msg);
        return -1;
    }
    for (size_t i = size; i > 0; i--) {
        if (p[i - 1] != 0) {
            s->nonzero_to = s->total + i;
            break;
        }
    }
    s->total += size;
    return (la_ssize_t)size;
}

/*
 * At tar's end-of-archive marker: whatever follows must be zero padding of at most
 * PF_BUNDLE_TAIL_MAX bytes. Entries or bytes after the marker are what `tar tf`
 * does not list but another reader might, so they are refused.
 */
static int bundle__tail(struct bundle__reader *r, struct pf_error *err)
{
    struct bundle__stream *s = r->st;
    uint64_t end;

    if (!s)
        return 0;
    end = (uint64_t)archive_filter_bytes(r->a, 0);
    for (;;) {
        const void *buf;
        la_ssize_t n;

        if (s->nonzero_to > end)
            return pf_error_set(err, PF_EEXCESS,
                                "bundle: data after the tar end-of-archive marker at byte %llu",
                                (unsigned long long)end);
        if (s->total - end > PF_BUNDLE_TAIL_MAX)
            return pf_error_set(err, PF_EEXCESS,
                                "bundle: more than %d bytes after the tar end-of-archive marker",
                                PF_BUNDLE_TAIL_MAX);
        n = bundle__tar_read(r->a, s, &buf);
        if (n == 0)
            return 0;
        if (n < 0)
            return bundle__archive_err(r->a, "after the end-of-archive marker", err);
    }
}

static int bundle__run(struct bundle__reader *r, struct pf_error *err)
{
    struct archive_entry *e;
    int rc;

    for (;;) {
        const char *name = NULL;
        int ar = archive_read_next_header(r->a, &e);
        int meta = -1;

        if (ar == ARCHIVE_EOF) {
            if ((rc = bundle__tail(r, err)) != 0)
                return rc;
            break;
        }
        if (ar != ARCHIVE_OK) {
            if (r->st && r->st->refused)
                return pf_error_set(err, r->st->refused, "bundle: %s", r->st->msg);
            return bundle__archive_err(r->a, "not a readable tar archive", err);
        }
        if (++r->entries > PF_BUNDLE_MAX_ENTRIES)
            return pf_error_set(err, PF_ELIMIT, "bundle: more than %d entries",
                                PF_BUNDLE_MAX_ENTRIES);
        if ((rc = bundle__entry_safe(e, &name, err)) != 0)
            return rc;
        for (int i = 0; i < META_COUNT; i++) {
            if (strcmp(name, bundle__meta_names[i]) == 0)
                meta = i;
        }
        if (meta >= 0) {
            if (r->meta[meta] || r->verified)
                return pf_error_set(err, PF_EEXTRA_ENTRY, "bundle: %s appears twice or late", name);
            if (archive_entry_size_is_set(e) &&
                (uint64_t)archive_entry_size(e) > bundle__meta_max[meta])
                return pf_error_set(err, PF_ELIMIT, "bundle: %s: larger than %zu bytes", name,
                                    bundle__meta_max[meta]);
            if ((rc = bundle__read_small(r->a, name, bundle__meta_max[meta], &r->meta[meta],
                                         &r->meta_len[meta], err)) != 0)
                return rc;
            continue;
        }
        if ((rc = bundle__verify_meta(r, err)) != 0)
            return rc;
        if ((rc = bundle__payload(r, e, name, err)) != 0)
            return rc;
    }
    if ((rc = bundle__verify_meta(r, err)) != 0)
        return rc;
    for (size_t i = 0; i < r->m->npayloads; i++) {
        if (!r->seen[i])
            return pf_error_set(err, PF_EMISSING_ENTRY, "bundle: payload '%s' missing",
                                r->m->payloads[i].name);
    }
    return 0;
}

/* Runs the reader over a tar archive that is already opened; closes and frees it. */
static int bundle__read_archive(struct archive *a, struct bundle__stream *st,
                                const struct pf_trust *trust, const struct pf_policy *pol,
                                const struct pf_bundle_sink *sink, struct pf_manifest *out,
                                struct pf_error *err)
{
    struct bundle__reader r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.a = a;
    r.st = st;
    r.trust = trust;
    r.pol = pol;
    r.sink = sink;
    r.m = malloc(sizeof(*r.m));
    r.v = pf_payload_verifier_new(&(struct pf_manifest_payload){.size = 0});
    if (!r.m || !r.v) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    rc = bundle__run(&r, err);
    if (rc == 0 && out)
        memcpy(out, r.m, sizeof(*out));
out_free:
    for (int i = 0; i < META_COUNT; i++)
        free(r.meta[i]);
    pf_payload_verifier_free(r.v);
    free(r.m);
    archive_read_free(a);
    return rc;
}

/* The outer reader: undoes at most one whole-file gzip or zstd layer. */
static struct archive *bundle__raw_new(void)
{
    struct archive *a = archive_read_new();

    if (!a)
        return NULL;
    archive_read_support_format_raw(a);
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_none(a);
    return a;
}

/*
 * Reads the bundle from s->raw, already opened (its filters were chosen from the
 * first bytes only), and frees it. A container compressed more than once is
 * refused here, before any of it is decompressed beyond that first look.
 */
static int bundle__read_stream(struct bundle__stream *s, const struct pf_trust *trust,
                               const struct pf_policy *pol, const struct pf_bundle_sink *sink,
                               struct pf_manifest *out, struct pf_error *err)
{
    int layers = archive_filter_count(s->raw) - 1; /* the last one is the plain source */
    struct archive_entry *e;
    struct archive *a = NULL;
    int rc;

    if (layers > 1) {
        char names[96] = "";
        size_t n = 0;

        for (int i = layers - 1; i >= 0 && n < sizeof(names); i--) {
            int w = snprintf(names + n, sizeof(names) - n, "%s%s", n ? ", " : "",
                             archive_filter_name(s->raw, i));
            n += w > 0 ? (size_t)w : 0;
        }
        rc = pf_error_set(err, PF_EPARSE,
                          "bundle: the container is compressed %d times (%s); one layer at most",
                          layers, names);
        goto out;
    }
    if (archive_read_next_header(s->raw, &e) != ARCHIVE_OK) {
        rc = bundle__archive_err(s->raw, "cannot open", err);
        goto out;
    }
    a = archive_read_new();
    if (!a) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    /* Only tar: the smallest surface that stock tar lists. */
    archive_read_support_format_tar(a);
    archive_read_support_filter_none(a);
    if (archive_read_open(a, s, NULL, bundle__tar_read, NULL) != ARCHIVE_OK) {
        rc = s->refused ? pf_error_set(err, s->refused, "bundle: %s", s->msg)
                        : bundle__archive_err(a, "not a readable tar archive", err);
        archive_read_free(a);
        goto out;
    }
    rc = bundle__read_archive(a, s, trust, pol, sink, out, err);
out:
    archive_read_free(s->raw);
    s->raw = NULL;
    return rc;
}

static la_ssize_t bundle__src_read(struct archive *a, void *ctx, const void **buf)
{
    struct bundle__stream *s = ctx;
    ssize_t n = s->src->read(s->src->ctx, s->buf, PF_BUNDLE_BLOCK);

    if (n < 0) {
        archive_set_error(a, EIO, "source read failed: %s", pf_strerror((int)n));
        return -1; /* libarchive's read callback contract, not a PF_E* code */
    }
    *buf = s->buf;
    return n;
}

int pf_bundle_read(const struct pf_bundle_source *src, const struct pf_trust *trust,
                   const struct pf_policy *pol, const struct pf_bundle_sink *sink,
                   struct pf_manifest *out, struct pf_error *err)
{
    struct bundle__stream s = {
            .src = src, .buf = malloc(PF_BUNDLE_BLOCK), .raw = bundle__raw_new()};
    int rc;

    if (!s.raw || !s.buf) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    if (archive_read_open(s.raw, &s, NULL, bundle__src_read, NULL) != ARCHIVE_OK) {
        rc = bundle__archive_err(s.raw, "cannot open", err);
        goto out;
    }
    rc = bundle__read_stream(&s, trust, pol, sink, out, err);
out:
    if (s.raw)
        archive_read_free(s.raw);
    free(s.buf);
    return rc;
}

int pf_bundle_read_file(const char *path, const struct pf_trust *trust, const struct pf_policy *pol,
                        const struct pf_bundle_sink *sink, struct pf_manifest *out,
                        struct pf_error *err)
{
    struct bundle__stream s = {.raw = bundle__raw_new()};
    int rc;

    if (!s.raw)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    if (archive_read_open_filename(s.raw, path, PF_BUNDLE_BLOCK) != ARCHIVE_OK) {
        rc = pf_error_set(err, errno == ENOENT ? PF_ENOENT : PF_EPARSE, "bundle: %s: %s", path,
                          archive_error_string(s.raw) ? archive_error_string(s.raw)
                                                      : "cannot open");
        archive_read_free(s.raw);
        return rc;
    }
    return bundle__read_stream(&s, trust, pol, sink, out, err);
}

int pf_bundle_read_mem(const void *buf, size_t len, const struct pf_trust *trust,
                       const struct pf_policy *pol, const struct pf_bundle_sink *sink,
                       struct pf_manifest *out, struct pf_error *err)
{
    struct bundle__stream s = {.raw = bundle__raw_new()};

    if (!s.raw)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    if (archive_read_open_memory(s.raw, buf, len) != ARCHIVE_OK) {
        int rc = bundle__archive_err(s.raw, "cannot open", err);
        archive_read_free(s.raw);
        return rc;
    }
    return bundle__read_stream(&s, trust, pol, sink, out, err);
}

/* ---- metadata without verification (inspect, sign) ---- */

int pf_bundle_meta_load(const char *path, struct pf_bundle_meta *meta, struct pf_error *err)
{
    struct archive *a = bundle__archive_new();
    struct archive_entry *e;
    char **bufs[META_COUNT] = {&meta->manifest, &meta->manifest_sig, &meta->keyring,
                               &meta->keyring_sig};
    size_t *lens[META_COUNT] = {&meta->manifest_len, &meta->manifest_sig_len, &meta->keyring_len,
                                &meta->keyring_sig_len};
    int rc = 0;

    memset(meta, 0, sizeof(*meta));
    if (!a)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    if (archive_read_open_filename(a, path, PF_BUNDLE_BLOCK) != ARCHIVE_OK) {
        rc = pf_error_set(err, errno == ENOENT ? PF_ENOENT : PF_EPARSE, "bundle: %s: %s", path,
                          archive_error_string(a) ? archive_error_string(a) : "cannot open");
        goto out;
    }
    for (unsigned n = 0;; n++) {
        const char *name;
        int ar = archive_read_next_header(a, &e), meta_idx = -1;

        if (ar == ARCHIVE_EOF)
            break;
        if (ar != ARCHIVE_OK) {
            rc = bundle__archive_err(a, "not a readable tar archive", err);
            goto out;
        }
        if (n >= PF_BUNDLE_MAX_ENTRIES) {
            rc = pf_error_set(err, PF_ELIMIT, "bundle: more than %d entries",
                              PF_BUNDLE_MAX_ENTRIES);
            goto out;
        }
        name = archive_entry_pathname(e);
        for (int i = 0; name && i < META_COUNT; i++) {
            if (strcmp(name, bundle__meta_names[i]) == 0)
                meta_idx = i;
        }
        if (meta_idx < 0 || *bufs[meta_idx])
            continue;
        if ((rc = bundle__read_small(a, name, bundle__meta_max[meta_idx], bufs[meta_idx],
                                     lens[meta_idx], err)) != 0)
            goto out;
    }
out:
    if (rc)
        pf_bundle_meta_release(meta);
    archive_read_free(a);
    return rc;
}

void pf_bundle_meta_release(struct pf_bundle_meta *meta)
{
    free(meta->manifest);
    free(meta->manifest_sig);
    free(meta->keyring);
    free(meta->keyring_sig);
    memset(meta, 0, sizeof(*meta));
}

/* ---- extraction into a fresh empty directory ---- */

struct bundle__extract {
    struct archive *disk;
    char dir[PATH_MAX];
    size_t nparts;
    char parts[PF_MANIFEST_MAX_PAYLOADS][PF_MANIFEST_NAME_MAX + 1];
    bool open_entry;
};

static int bundle__part_path(const struct bundle__extract *x, const char *name, bool part,
                             char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s%s%s", x->dir, part ? "." : "", name, part ? ".part" : "");
    return n < 0 || (size_t)n >= len ? PF_ETOOBIG : 0;
}

static int bundle__x_begin(void *ctx, const struct pf_manifest_payload *p, struct pf_error *err)
{
    struct bundle__extract *x = ctx;
    struct archive_entry *e;
    char path[PATH_MAX];
    int rc = 0;

    if (bundle__part_path(x, p->name, true, path, sizeof(path)) != 0)
        return pf_error_set(err, PF_ETOOBIG, "extract: path too long");
    e = archive_entry_new();
    if (!e)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0600);
    archive_entry_set_size(e, (la_int64_t)p->size);
    if (archive_write_header(x->disk, e) != ARCHIVE_OK)
        rc = pf_error_set(err, PF_EIO, "extract: %s: %s", p->name, archive_error_string(x->disk));
    else {
        snprintf(x->parts[x->nparts++], PF_MANIFEST_NAME_MAX + 1, "%s", p->name);
        x->open_entry = true;
    }
    archive_entry_free(e);
    return rc;
}

static int bundle__x_write(void *ctx, const void *buf, size_t len, struct pf_error *err)
{
    struct bundle__extract *x = ctx;
    la_ssize_t w = archive_write_data(x->disk, buf, len);

    if (w < 0 || (size_t)w != len)
        return pf_error_set(err, PF_EIO, "extract: write failed: %s",
                            archive_error_string(x->disk) ? archive_error_string(x->disk)
                                                          : "short write");
    return 0;
}

static int bundle__x_end(void *ctx, const struct pf_manifest_payload *p, struct pf_error *err)
{
    struct bundle__extract *x = ctx;

    x->open_entry = false;
    if (archive_write_finish_entry(x->disk) != ARCHIVE_OK)
        return pf_error_set(err, PF_EIO, "extract: %s: %s", p->name, archive_error_string(x->disk));
    return 0;
}

static int bundle__fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;

    if (fd < 0)
        return PF_EIO;
    if (fsync(fd) < 0)
        rc = PF_EIO;
    close(fd);
    return rc;
}

/* Accepts a missing directory (created 0700) or an empty real directory. */
static int bundle__fresh_dir(const char *dir, bool *created, struct pf_error *err)
{
    struct stat st;
    DIR *d;
    struct dirent *de;
    bool empty = true;

    *created = false;
    if (lstat(dir, &st) < 0) {
        if (errno != ENOENT)
            return pf_error_set(err, PF_EIO, "extract: %s: %s", dir, strerror(errno));
        if (mkdir(dir, 0700) < 0)
            return pf_error_set(err, PF_EIO, "extract: cannot create %s: %s", dir, strerror(errno));
        *created = true;
        return 0;
    }
    if (!S_ISDIR(st.st_mode))
        return pf_error_set(err, PF_EEXIST, "extract: %s exists and is not a directory", dir);
    d = opendir(dir);
    if (!d)
        return pf_error_set(err, PF_EIO, "extract: %s: %s", dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            empty = false;
            break;
        }
    }
    closedir(d);
    if (!empty)
        return pf_error_set(err, PF_EEXIST, "extract: %s is not empty", dir);
    return 0;
}

int pf_bundle_extract(const char *bundle_path, const char *dir, const struct pf_trust *trust,
                      const struct pf_policy *pol, struct pf_manifest *out, struct pf_error *err)
{
    struct bundle__extract *x;
    struct pf_bundle_sink sink;
    char from[PATH_MAX], to[PATH_MAX];
    size_t renamed = 0;
    bool created;
    int rc;

    if ((rc = bundle__fresh_dir(dir, &created, err)) != 0)
        return rc;
    x = calloc(1, sizeof(*x));
    if (!x) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_rmdir;
    }
    /* The destination is ours, so it is resolved once and written by absolute path;
     * the SECURE flags still refuse symlinks and '..' anywhere below it. */
    if (!realpath(dir, x->dir)) {
        rc = pf_error_set(err, PF_EIO, "extract: %s: %s", dir, strerror(errno));
        goto out_free;
    }
    x->disk = archive_write_disk_new();
    if (!x->disk) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    archive_write_disk_set_options(
            x->disk, ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                             ARCHIVE_EXTRACT_NO_OVERWRITE | ARCHIVE_EXTRACT_NO_AUTODIR);
    sink = (struct pf_bundle_sink){
            .begin = bundle__x_begin, .write = bundle__x_write, .end = bundle__x_end, .ctx = x};
    rc = pf_bundle_read_file(bundle_path, trust, pol, &sink, out, err);
    if (x->open_entry)
        (void)archive_write_finish_entry(x->disk);
    if (archive_write_close(x->disk) != ARCHIVE_OK && rc == 0)
        rc = pf_error_set(err, PF_EIO, "extract: %s", archive_error_string(x->disk));
    archive_write_free(x->disk);
    if (rc)
        goto out_unlink;
    /* Everything verified: make the payloads durable, then give them their names. */
    for (size_t i = 0; i < x->nparts; i++) {
        if (bundle__part_path(x, x->parts[i], true, from, sizeof(from)) != 0 ||
            bundle__fsync_path(from) != 0) {
            rc = pf_error_set(err, PF_EIO, "extract: cannot sync %s", x->parts[i]);
            goto out_unlink;
        }
    }
    for (; renamed < x->nparts; renamed++) {
        if (bundle__part_path(x, x->parts[renamed], true, from, sizeof(from)) != 0 ||
            bundle__part_path(x, x->parts[renamed], false, to, sizeof(to)) != 0 ||
            rename(from, to) < 0) {
            rc = pf_error_set(err, PF_EIO, "extract: cannot rename %s", x->parts[renamed]);
            goto out_unlink;
        }
    }
    if (pf_fsync_dir_of(to) != 0) {
        rc = pf_error_set(err, PF_EIO, "extract: cannot sync %s", x->dir);
        goto out_unlink;
    }
    free(x);
    return 0;
out_unlink:
    for (size_t i = 0; i < x->nparts; i++) {
        if (bundle__part_path(x, x->parts[i], i >= renamed, from, sizeof(from)) == 0)
            unlink(from);
    }
out_free:
    free(x);
out_rmdir:
    if (created)
        rmdir(dir);
    return rc;
}
