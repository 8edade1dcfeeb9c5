/*
 * pack_tar.c - writing bundle archives with libarchive.
 */
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pack.h"
#include "pf/bundle.h"

void pfp_fail(const char *cmd, const struct pf_error *err)
{
    fprintf(stderr, "posfleet-pack %s: %s [%s]\n", cmd, err->msg, pf_errname(err->code));
}

int pfp_filter_from_name(const char *name)
{
    if (!strcmp(name, "none"))
        return ARCHIVE_FILTER_NONE;
    if (!strcmp(name, "gzip"))
        return ARCHIVE_FILTER_GZIP;
    if (!strcmp(name, "zstd"))
        return ARCHIVE_FILTER_ZSTD;
    return PF_EINVAL;
}

int pfp_tar_open(struct archive **out, const char *path, int filter, struct pf_error *err)
{
    struct archive *a = archive_write_new();

    if (!a)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    archive_write_set_format_pax_restricted(a);
    if (filter != ARCHIVE_FILTER_NONE && archive_write_add_filter(a, filter) != ARCHIVE_OK) {
        pf_error_set(err, PF_EINVAL, "compression: %s", archive_error_string(a));
        archive_write_free(a);
        return PF_EINVAL;
    }
    archive_write_set_bytes_in_last_block(a, 1);
    if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
        pf_error_set(err, PF_EIO, "%s: %s", path, archive_error_string(a));
        archive_write_free(a);
        return PF_EIO;
    }
    *out = a;
    return 0;
}

static struct archive_entry *pack__entry(const char *name, size_t size, long long mtime)
{
    struct archive_entry *e = archive_entry_new();

    if (!e)
        return NULL;
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)size);
    archive_entry_set_mtime(e, (time_t)mtime, 0);
    archive_entry_set_uname(e, "root");
    archive_entry_set_gname(e, "root");
    return e;
}

int pfp_tar_add_mem(struct archive *a, const char *name, const void *buf, size_t len,
                    long long mtime, struct pf_error *err)
{
    struct archive_entry *e = pack__entry(name, len, mtime);
    int rc = 0;

    if (!e)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    if (archive_write_header(a, e) != ARCHIVE_OK ||
        (len && archive_write_data(a, buf, len) != (la_ssize_t)len))
        rc = pf_error_set(err, PF_EIO, "%s: %s", name, archive_error_string(a));
    archive_entry_free(e);
    return rc;
}

int pfp_tar_copy_entry(struct archive *w, struct archive *r, struct archive_entry *e,
                       struct pf_error *err)
{
    const char *name = archive_entry_pathname(e);
    int rc = 0;

    if (archive_write_header(w, e) != ARCHIVE_OK)
        return pf_error_set(err, PF_EIO, "%s: %s", name, archive_error_string(w));
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        int ar = archive_read_data_block(r, &buf, &size, &off);

        if (ar == ARCHIVE_EOF)
            break;
        if (ar != ARCHIVE_OK) {
            rc = pf_error_set(err, PF_EPARSE, "%s: %s", name, archive_error_string(r));
            break;
        }
        if (archive_write_data(w, buf, size) != (la_ssize_t)size) {
            rc = pf_error_set(err, PF_EIO, "%s: %s", name, archive_error_string(w));
            break;
        }
    }
    return rc;
}
