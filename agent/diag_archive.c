/*
 * diag_archive.c - the diagnostic archive: a size-bounded .tar.gz in memory,
 * written with libarchive (no hand-made tar or gzip).
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>

#include "pfa/diag.h"

/* One attempt with the first n entries into buf[max]; PF_ELIMIT if it overflows. */
static int archive__try(const struct pfa_diag_entry *e, size_t n, void *buf, size_t max,
                        int64_t mtime_s, size_t *used)
{
    struct archive *a = archive_write_new();
    struct archive_entry *ent = NULL;
    int rc = 0;

    if (!a)
        return PF_ENOMEM;
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open_memory(a, buf, max, used) != ARCHIVE_OK) {
        rc = PF_EIO;
        goto out_free;
    }
    ent = archive_entry_new();
    if (!ent) {
        rc = PF_ENOMEM;
        goto out_free;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        archive_entry_clear(ent);
        archive_entry_set_pathname(ent, e[i].name);
        archive_entry_set_filetype(ent, AE_IFREG);
        archive_entry_set_perm(ent, 0644);
        archive_entry_set_size(ent, (la_int64_t)e[i].len);
        archive_entry_set_mtime(ent, (time_t)mtime_s, 0);
        if (archive_write_header(a, ent) != ARCHIVE_OK ||
            (e[i].len && archive_write_data(a, e[i].data, e[i].len) != (la_ssize_t)e[i].len))
            rc = PF_ELIMIT;
    }
    if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
        rc = PF_ELIMIT;

out_free:
    archive_entry_free(ent);
    archive_write_free(a);
    return rc;
}

int pfa_diag_archive_build(const struct pfa_diag_entry *entries, size_t n, size_t max,
                           int64_t mtime_s, void **out, size_t *outlen, size_t *included)
{
    void *buf;
    size_t used = 0;
    int rc = PF_ELIMIT;

    *out = NULL;
    *outlen = 0;
    *included = 0;
    buf = malloc(max ? max : 1);
    if (!buf)
        return PF_ENOMEM;
    for (size_t k = n; k >= 1; k--) {
        used = 0;
        rc = archive__try(entries, k, buf, max, mtime_s, &used);
        if (rc == 0) {
            *included = k;
            break;
        }
        if (rc != PF_ELIMIT)
            break;
    }
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *outlen = used;
    return 0;
}
