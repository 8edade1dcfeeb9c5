/*
 * msg_update_bundle.c - the offer fields of a bundle file (entry byte ranges,
 * bundle and manifest digests), read with libarchive. Kept apart from the
 * codecs so that a terminal, which only decodes offers, does not need
 * libarchive at run time.
 */
#include "pf/msg_update.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

int pf_offer_from_bundle(const char *path, struct pf_offer *m, struct pf_error *err)
{
    struct archive *ar = archive_read_new();
    struct archive_entry *ae;
    struct pf_manifest *man = NULL;
    char *mbuf = NULL;
    uint64_t size;
    int rc = 0, r;

    if (!ar)
        return pf_error_set(err, PF_ENOMEM, "offer: out of memory");
    rc = pf_b2_file(path, m->bundle, &size, err);
    if (rc)
        goto out_archive;
    m->size = size;
    m->nentries = 0;
    archive_read_support_format_tar(ar);
    archive_read_support_filter_all(ar); /* to recognise (and refuse) compression */
    if (archive_read_open_filename(ar, path, PF_BUNDLE_BLOCK) != ARCHIVE_OK) {
        rc = pf_error_set(err, PF_EIO, "%s: %s", path, archive_error_string(ar));
        goto out_archive;
    }
    while ((r = archive_read_next_header(ar, &ae)) == ARCHIVE_OK) {
        struct pf_offer_entry *e;
        const char *name = archive_entry_pathname(ae);

        if (m->nentries >= PF_OFFER_MAX_ENTRIES) {
            rc = pf_error_set(err, PF_ELIMIT, "%s: more than %d entries", path,
                              PF_OFFER_MAX_ENTRIES);
            goto out_archive;
        }
        if (!name || strlen(name) > PF_MANIFEST_NAME_MAX ||
            archive_entry_filetype(ae) != AE_IFREG || archive_entry_size(ae) < 0) {
            rc = pf_error_set(err, PF_EENTRY_TYPE, "%s: entry %zu: not a plain file", path,
                              m->nentries);
            goto out_archive;
        }
        e = &m->entries[m->nentries++];
        memcpy(e->name, name, strlen(name) + 1);
        /* After the header the tar reader stands at the entry's first data byte. */
        e->offset = (uint64_t)archive_filter_bytes(ar, 0);
        e->size = (uint64_t)archive_entry_size(ae);
        if (strcmp(name, PF_BUNDLE_MANIFEST) == 0 && !mbuf && e->size <= PF_MANIFEST_MAX_BYTES) {
            mbuf = malloc(e->size + 1);
            if (!mbuf || archive_read_data(ar, mbuf, e->size) != (la_ssize_t)e->size) {
                rc = pf_error_set(err, PF_EIO, "%s: cannot read manifest.json", path);
                goto out_archive;
            }
            pf_b2_buf(mbuf, e->size, m->manifest);
            man = malloc(sizeof(*man));
            if (!man) {
                rc = pf_error_set(err, PF_ENOMEM, "offer: out of memory");
                goto out_archive;
            }
            rc = pf_manifest_parse(mbuf, e->size, man, err);
            if (rc)
                goto out_archive;
            m->kind = man->kind;
            memcpy(m->version, man->version, sizeof(m->version));
        }
    }
    if (r != ARCHIVE_EOF) {
        rc = pf_error_set(err, PF_EIO, "%s: %s", path, archive_error_string(ar));
        goto out_archive;
    }
    if (archive_filter_code(ar, 0) != ARCHIVE_FILTER_NONE) {
        rc = pf_error_set(err, PF_EINVAL, "%s: compressed bundles cannot be served in ranges",
                          path);
        goto out_archive;
    }
    if (!man)
        rc = pf_error_set(err, PF_EMISSING_ENTRY, "%s: manifest.json missing", path);
out_archive:
    archive_read_free(ar);
    free(mbuf);
    free(man);
    if (rc)
        pf_error_prefix(err, "offer");
    return rc;
}
