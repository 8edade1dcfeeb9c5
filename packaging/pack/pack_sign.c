/*
 * pack_sign.c - posfleet-pack sign: (re)sign a bundle's manifest with the
 * signing key it names, rewriting the archive with the signature after the
 * manifest. Payloads are streamed, never held in memory.
 */
#include <archive_entry.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pack.h"
#include "pf/bundle.h"
#include "pf/bundle_time.h"

static const char sign__usage[] = "usage: posfleet-pack sign --key SIGNING.key [-o OUT] BUNDLE\n"
                                  "Signs manifest.json (in place unless -o is given).\n";

/* Copies every entry of in to a new archive at tmp, putting sig right after the manifest. */
static int sign__rewrite(const char *in, const char *tmp, const char *sig, size_t siglen,
                         long long mtime, struct pf_error *err)
{
    struct archive *r = archive_read_new(), *w = NULL;
    struct archive_entry *e;
    int rc = 0, ar;
    bool first = true;

    if (!r)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    archive_read_support_format_tar(r);
    archive_read_support_filter_gzip(r);
    archive_read_support_filter_zstd(r);
    archive_read_support_filter_none(r);
    if (archive_read_open_filename(r, in, PF_BUNDLE_BLOCK) != ARCHIVE_OK) {
        rc = pf_error_set(err, PF_EPARSE, "%s: %s", in, archive_error_string(r));
        goto out;
    }
    while ((ar = archive_read_next_header(r, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        if (first) {
            if ((rc = pfp_tar_open(&w, tmp, archive_filter_code(r, 0), err)) != 0)
                goto out;
            first = false;
        }
        if (name && !strcmp(name, PF_BUNDLE_MANIFEST_SIG))
            continue;
        if ((rc = pfp_tar_copy_entry(w, r, e, err)) != 0)
            goto out;
        if (name && !strcmp(name, PF_BUNDLE_MANIFEST) &&
            (rc = pfp_tar_add_mem(w, PF_BUNDLE_MANIFEST_SIG, sig, siglen, mtime, err)) != 0)
            goto out;
    }
    if (ar != ARCHIVE_EOF) {
        rc = pf_error_set(err, PF_EPARSE, "%s: %s", in, archive_error_string(r));
        goto out;
    }
    if (!w) {
        rc = pf_error_set(err, PF_EMISSING_ENTRY, "%s: empty archive", in);
        goto out;
    }
    if (archive_write_close(w) != ARCHIVE_OK)
        rc = pf_error_set(err, PF_EIO, "%s: %s", tmp, archive_error_string(w));
out:
    if (w)
        archive_write_free(w);
    archive_read_free(r);
    return rc;
}

int pfp_cmd_sign(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    struct pf_error err = {0};
    struct pf_bundle_meta meta;
    struct pf_manifest *m = NULL;
    struct pf_ms_seckey sec;
    const char *key = NULL, *out = NULL, *in;
    char sig[PF_MS_SIG_MAX], comment[256], when[PF_TIME_STR_LEN + 1], tmp[PATH_MAX];
    char a[PF_MS_KEYID_HEX + 1], b[PF_MS_KEYID_HEX + 1];
    size_t siglen;
    bool have_sec = false;
    int c, rc = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(sign__usage, stdout);
            return 0;
        default:
            fputs(sign__usage, stderr);
            return 2;
        }
    }
    if (!key || optind + 1 != argc) {
        fputs(sign__usage, stderr);
        return 2;
    }
    in = argv[optind];
    out = out ? out : in;
    if (pf_bundle_meta_load(in, &meta, &err) != 0) {
        pfp_fail("sign", &err);
        return 1;
    }
    m = malloc(sizeof(*m));
    if (!m)
        goto out;
    if (!meta.manifest) {
        fprintf(stderr, "posfleet-pack sign: %s has no manifest.json [MISSING_ENTRY]\n", in);
        goto out;
    }
    if (pf_manifest_parse(meta.manifest, meta.manifest_len, m, &err) != 0 ||
        pf_ms_seckey_load(key, &sec, &err) != 0) {
        pfp_fail("sign", &err);
        goto out;
    }
    have_sec = true;
    if (memcmp(sec.key_id, m->key_id, PF_MS_KEYID_LEN) != 0) {
        pf_ms_keyid_hex(m->key_id, a);
        pf_ms_keyid_hex(sec.key_id, b);
        fprintf(stderr,
                "posfleet-pack sign: the manifest names key %s, %s is key %s [KEY_UNKNOWN]\n", a,
                key, b);
        goto out;
    }
    if (pf_time_format(m->created, when) != 0)
        when[0] = '\0';
    snprintf(comment, sizeof(comment), "posfleet kind:%s version:%s created:%s file:manifest.json",
             pf_bundle_kind_names[m->kind], m->version, when);
    if (pf_ms_sign(&sec, meta.manifest, meta.manifest_len, comment, sig, sizeof(sig), &siglen,
                   &err) != 0) {
        pfp_fail("sign", &err);
        goto out;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", out, (long)getpid());
    if (sign__rewrite(in, tmp, sig, siglen, m->created, &err) != 0) {
        unlink(tmp);
        pfp_fail("sign", &err);
        goto out;
    }
    if (rename(tmp, out) != 0) {
        fprintf(stderr, "posfleet-pack sign: cannot rename to %s: %s\n", out, strerror(errno));
        unlink(tmp);
        goto out;
    }
    pf_ms_keyid_hex(sec.key_id, a);
    printf("%s: manifest signed by %s\n", out, a);
    rc = 0;
out:
    if (have_sec)
        pf_ms_seckey_wipe(&sec);
    pf_bundle_meta_release(&meta);
    free(m);
    return rc;
}
