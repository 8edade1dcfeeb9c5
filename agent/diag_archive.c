/*
 * diag_archive.c - the diagnostic archive: a size-bounded .tar.gz in memory,
 * written with libarchive (no hand-made tar or gzip).
 *
 * libarchive is loaded with dlopen() for the duration of one build and unloaded
 * after: linked normally it brings libxml2, ICU and libstdc++ into every agent,
 * about 2.5 MiB of resident memory on a terminal that builds an archive only when
 * support asks for one. The headers still give the types and constants.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "pfa/diag.h"

#define ARCHIVE_SONAME "libarchive.so.13"

/* The libarchive calls this file makes, resolved at load time. */
struct archive__lib {
    void *handle;
    struct archive *(*write_new)(void);
    int (*set_format_pax_restricted)(struct archive *);
    int (*add_filter_gzip)(struct archive *);
    int (*set_bytes_in_last_block)(struct archive *, int);
    int (*open_memory)(struct archive *, void *, size_t, size_t *);
    int (*write_header)(struct archive *, struct archive_entry *);
    la_ssize_t (*write_data)(struct archive *, const void *, size_t);
    int (*write_close)(struct archive *);
    int (*write_free)(struct archive *);
    struct archive_entry *(*entry_new)(void);
    struct archive_entry *(*entry_clear)(struct archive_entry *);
    void (*entry_free)(struct archive_entry *);
    void (*entry_set_pathname)(struct archive_entry *, const char *);
    void (*entry_set_filetype)(struct archive_entry *, unsigned int);
    void (*entry_set_perm)(struct archive_entry *, __LA_MODE_T);
    void (*entry_set_size)(struct archive_entry *, la_int64_t);
    void (*entry_set_mtime)(struct archive_entry *, time_t, long);
};

static int archive__sym(void *h, const char *name, void *fnp)
{
    void *f = dlsym(h, name);

    /* POSIX guarantees a function pointer round-trips through void *. */
    memcpy(fnp, &f, sizeof(f));
    return f ? 0 : -1;
}

static int archive__load(struct archive__lib *l)
{
    int bad = 0;

    l->handle = dlopen(ARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!l->handle)
        return PF_EIO;
    bad |= archive__sym(l->handle, "archive_write_new", &l->write_new);
    bad |= archive__sym(l->handle, "archive_write_set_format_pax_restricted",
                        &l->set_format_pax_restricted);
    bad |= archive__sym(l->handle, "archive_write_add_filter_gzip", &l->add_filter_gzip);
    bad |= archive__sym(l->handle, "archive_write_set_bytes_in_last_block",
                        &l->set_bytes_in_last_block);
    bad |= archive__sym(l->handle, "archive_write_open_memory", &l->open_memory);
    bad |= archive__sym(l->handle, "archive_write_header", &l->write_header);
    bad |= archive__sym(l->handle, "archive_write_data", &l->write_data);
    bad |= archive__sym(l->handle, "archive_write_close", &l->write_close);
    bad |= archive__sym(l->handle, "archive_write_free", &l->write_free);
    bad |= archive__sym(l->handle, "archive_entry_new", &l->entry_new);
    bad |= archive__sym(l->handle, "archive_entry_clear", &l->entry_clear);
    bad |= archive__sym(l->handle, "archive_entry_free", &l->entry_free);
    bad |= archive__sym(l->handle, "archive_entry_set_pathname", &l->entry_set_pathname);
    bad |= archive__sym(l->handle, "archive_entry_set_filetype", &l->entry_set_filetype);
    bad |= archive__sym(l->handle, "archive_entry_set_perm", &l->entry_set_perm);
    bad |= archive__sym(l->handle, "archive_entry_set_size", &l->entry_set_size);
    bad |= archive__sym(l->handle, "archive_entry_set_mtime", &l->entry_set_mtime);
    if (bad) {
        dlclose(l->handle);
        l->handle = NULL;
        return PF_EIO;
    }
    return 0;
}

/* One attempt with the first n entries into buf[max]; PF_ELIMIT if it overflows. */
static int archive__try(const struct archive__lib *l, const struct pfa_diag_entry *e, size_t n,
                        void *buf, size_t max, int64_t mtime_s, size_t *used)
{
    struct archive *a = l->write_new();
    struct archive_entry *ent = NULL;
    int rc = 0;

    if (!a)
        return PF_ENOMEM;
    if (l->set_format_pax_restricted(a) != ARCHIVE_OK || l->add_filter_gzip(a) != ARCHIVE_OK ||
        l->set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        l->open_memory(a, buf, max, used) != ARCHIVE_OK) {
        rc = PF_EIO;
        goto out_free;
    }
    ent = l->entry_new();
    if (!ent) {
        rc = PF_ENOMEM;
        goto out_free;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        l->entry_clear(ent);
        l->entry_set_pathname(ent, e[i].name);
        l->entry_set_filetype(ent, AE_IFREG);
        l->entry_set_perm(ent, 0644);
        l->entry_set_size(ent, (la_int64_t)e[i].len);
        l->entry_set_mtime(ent, (time_t)mtime_s, 0);
        if (l->write_header(a, ent) != ARCHIVE_OK ||
            (e[i].len && l->write_data(a, e[i].data, e[i].len) != (la_ssize_t)e[i].len))
            rc = PF_ELIMIT;
    }
    if (l->write_close(a) != ARCHIVE_OK && rc == 0)
        rc = PF_ELIMIT;

out_free:
    if (ent)
        l->entry_free(ent);
    l->write_free(a);
    return rc;
}

int pfa_diag_archive_build(const struct pfa_diag_entry *entries, size_t n, size_t max,
                           int64_t mtime_s, void **out, size_t *outlen, size_t *included)
{
    struct archive__lib lib;
    void *buf;
    size_t used = 0;
    int rc = PF_ELIMIT;

    *out = NULL;
    *outlen = 0;
    *included = 0;
    if (archive__load(&lib) != 0)
        return PF_EIO;
    buf = malloc(max ? max : 1);
    if (!buf) {
        dlclose(lib.handle);
        return PF_ENOMEM;
    }
    for (size_t k = n; k >= 1; k--) {
        used = 0;
        rc = archive__try(&lib, entries, k, buf, max, mtime_s, &used);
        if (rc == 0) {
            *included = k;
            break;
        }
        if (rc != PF_ELIMIT)
            break;
    }
    dlclose(lib.handle);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *outlen = used;
    return 0;
}
