/*
 * pack_create.c - posfleet-pack create: payloads (a firmware image, or a
 * validated fee table) + manifest + keyring -> a bundle, signed now with
 * --key or left for `posfleet-pack sign` with --signer.
 */
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pack.h"
#include "pf/bundle.h"
#include "pf/bundle_time.h"
#include "pf/feetable.h"
#include "pf/fileio.h"
#include "pf/num.h"

#define CREATE_BLOCK (1u << 20)

static const char create__usage[] =
        "usage: posfleet-pack create --kind firmware|fee-table --model M [--model M...]\n"
        "         --hw-rev R [--hw-rev R...] --keyring DIR (--key SIGNING.key | --signer "
        "SIGNING.pub)\n"
        "         [--version V] [--notes TEXT] [--expires TIME | --expires-days N] [--created "
        "TIME]\n"
        "         [--fee-table TABLE.json] [--compress none|gzip|zstd] -o BUNDLE [PAYLOAD...]\n"
        "A firmware bundle carries the PAYLOAD files (named by their base names); a fee-table\n"
        "bundle carries --fee-table, validated first, as fee-table.json (its version by default).\n"
        "TIME is UTC like 2026-12-01T00:00:00Z; default expiry 90 days after creation.\n";

struct create_opts {
    int kind;
    const char *version, *notes, *keyring_dir, *key, *signer, *fee_table, *out, *compress;
    const char *expires, *created;
    int64_t expires_days;
    bool help; /* --help: print the usage, do nothing else */
    size_t nmodels, nrevs;
    const char *models[PF_MANIFEST_MAX_TARGETS], *revs[PF_MANIFEST_MAX_TARGETS];
};

/* Streams one payload file into the archive, re-hashing it: a file that changed
 * since its digest was taken is refused rather than shipped with a wrong digest. */
static int create__stream(struct archive *a, const char *path, const struct pf_manifest_payload *p,
                          long long mtime, unsigned char *buf, struct pf_error *err)
{
    struct pf_payload_verifier *v = pf_payload_verifier_new(p);
    struct archive_entry *e = archive_entry_new();
    int fd = -1, rc = 0;

    if (!v || !e) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = pf_error_set(err, PF_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    archive_entry_set_pathname(e, p->name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)p->size);
    archive_entry_set_mtime(e, (time_t)mtime, 0);
    archive_entry_set_uname(e, "root");
    archive_entry_set_gname(e, "root");
    if (archive_write_header(a, e) != ARCHIVE_OK) {
        rc = pf_error_set(err, PF_EIO, "%s: %s", p->name, archive_error_string(a));
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf, CREATE_BLOCK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = pf_error_set(err, PF_EIO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        if ((rc = pf_payload_verifier_update(v, buf, (size_t)r, err)) != 0)
            goto out_changed;
        if (archive_write_data(a, buf, (size_t)r) != r) {
            rc = pf_error_set(err, PF_EIO, "%s: %s", p->name, archive_error_string(a));
            goto out;
        }
    }
    if ((rc = pf_payload_verifier_final(v, err)) != 0)
        goto out_changed;
    goto out;
out_changed:
    pf_error_prefix(err, "%s changed while packing", path);
out:
    if (fd >= 0)
        close(fd);
    archive_entry_free(e);
    pf_payload_verifier_free(v);
    return rc;
}

static int create__parse(int argc, char **argv, struct create_opts *o)
{
    static const struct option opts[] = {{"kind", required_argument, NULL, 'k'},
                                         {"version", required_argument, NULL, 'V'},
                                         {"model", required_argument, NULL, 'm'},
                                         {"hw-rev", required_argument, NULL, 'r'},
                                         {"notes", required_argument, NULL, 'n'},
                                         {"keyring", required_argument, NULL, 'K'},
                                         {"key", required_argument, NULL, 's'},
                                         {"signer", required_argument, NULL, 'S'},
                                         {"fee-table", required_argument, NULL, 'f'},
                                         {"expires", required_argument, NULL, 'e'},
                                         {"expires-days", required_argument, NULL, 'E'},
                                         {"created", required_argument, NULL, 'c'},
                                         {"compress", required_argument, NULL, 'z'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    int c;

    memset(o, 0, sizeof(*o));
    o->kind = -1;
    o->expires_days = 90;
    o->compress = "none";
    o->notes = "";
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            o->kind = !strcmp(optarg, "firmware") ? 0 : !strcmp(optarg, "fee-table") ? 1 : -2;
            break;
        case 'V':
            o->version = optarg;
            break;
        case 'm':
            if (o->nmodels == PF_MANIFEST_MAX_TARGETS)
                return PF_EINVAL;
            o->models[o->nmodels++] = optarg;
            break;
        case 'r':
            if (o->nrevs == PF_MANIFEST_MAX_TARGETS)
                return PF_EINVAL;
            o->revs[o->nrevs++] = optarg;
            break;
        case 'n':
            o->notes = optarg;
            break;
        case 'K':
            o->keyring_dir = optarg;
            break;
        case 's':
            o->key = optarg;
            break;
        case 'S':
            o->signer = optarg;
            break;
        case 'f':
            o->fee_table = optarg;
            break;
        case 'e':
            o->expires = optarg;
            break;
        case 'E':
            if (pf_parse_i64(optarg, 1, 3650, &o->expires_days))
                return PF_EINVAL;
            break;
        case 'c':
            o->created = optarg;
            break;
        case 'z':
            o->compress = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'h':
            o->help = true;
            return 0;
        default:
            return PF_EINVAL;
        }
    }
    if (o->kind < 0 || !o->nmodels || !o->nrevs || !o->keyring_dir || !o->out ||
        (!o->key == !o->signer) || pfp_filter_from_name(o->compress) < 0)
        return PF_EINVAL;
    if (o->kind == PF_KIND_FEETABLE && (!o->fee_table || optind != argc))
        return PF_EINVAL;
    if (o->kind == PF_KIND_FIRMWARE && (o->fee_table || optind == argc || !o->version))
        return PF_EINVAL;
    return 0;
}

int pfp_cmd_create(int argc, char **argv)
{
    struct create_opts o;
    struct pf_error err = {0};
    struct pf_manifest *m = NULL;
    struct pf_keyring *kr = NULL;
    struct pf_ms_seckey sec;
    struct pf_ms_pubkey pub;
    struct pf_feetable ft;
    struct archive *a = NULL;
    const char *paths[PF_MANIFEST_MAX_PAYLOADS];
    char kpath[PATH_MAX], kspath[PATH_MAX], tmp[PATH_MAX], comment[256], when[PF_TIME_STR_LEN + 1];
    char *kdoc = NULL, *ksig = NULL, *mdoc = NULL, msig[PF_MS_SIG_MAX];
    size_t klen = 0, ksiglen = 0, mlen = 0, msiglen = 0;
    unsigned char *buf = NULL;
    bool have_sec = false, tmp_made = false;
    int rc = 1, prc;

    if (create__parse(argc, argv, &o) != 0 || o.help) {
        fputs(create__usage, o.help ? stdout : stderr);
        return o.help ? 0 : 2;
    }
    m = calloc(1, sizeof(*m));
    kr = calloc(1, sizeof(*kr));
    buf = malloc(CREATE_BLOCK);
    if (!m || !kr || !buf)
        goto out;
    m->kind = o.kind;

    /* Payloads: a fee table is validated against the schema before anything else. */
    if (o.kind == PF_KIND_FEETABLE) {
        if (pf_feetable_parse_file(o.fee_table, &ft, &err) != 0) {
            pfp_fail("create", &err);
            goto out;
        }
        if (o.version && strcmp(o.version, ft.version) != 0) {
            fprintf(stderr, "posfleet-pack create: --version %s differs from the table's %s\n",
                    o.version, ft.version);
            goto out;
        }
        o.version = NULL;
        snprintf(m->version, sizeof(m->version), "%s", ft.version);
        paths[0] = o.fee_table;
        snprintf(m->payloads[0].name, sizeof(m->payloads[0].name), "%s", PF_FEETABLE_PAYLOAD);
        m->npayloads = 1;
    } else {
        if (argc - optind > PF_MANIFEST_MAX_PAYLOADS) {
            fprintf(stderr, "posfleet-pack create: at most %d payloads [LIMIT]\n",
                    PF_MANIFEST_MAX_PAYLOADS);
            goto out;
        }
        for (int i = optind; i < argc; i++) {
            char copy[PATH_MAX];
            struct pf_manifest_payload *p = &m->payloads[m->npayloads];
            snprintf(copy, sizeof(copy), "%s", argv[i]);
            snprintf(p->name, sizeof(p->name), "%s", basename(copy));
            if (!pf_manifest_name_valid(p->name) || pf_manifest_payload_find(m, p->name)) {
                fprintf(stderr,
                        "posfleet-pack create: payload name '%s' is not a plain unique "
                        "file name [UNSAFE_PATH]\n",
                        p->name);
                goto out;
            }
            paths[m->npayloads++] = argv[i];
        }
    }
    if (o.version) {
        if (!pf_version_valid(o.version)) {
            fprintf(stderr, "posfleet-pack create: --version '%s' is not like 1.4.2\n", o.version);
            goto out;
        }
        snprintf(m->version, sizeof(m->version), "%s", o.version);
    }
    for (size_t i = 0; i < m->npayloads; i++) {
        if (pf_b2_file(paths[i], m->payloads[i].digest, &m->payloads[i].size, &err) != 0) {
            pfp_fail("create", &err);
            goto out;
        }
    }

    /* Targets, times, notes. */
    for (size_t i = 0; i < o.nmodels; i++)
        snprintf(m->models[i], sizeof(m->models[i]), "%s", o.models[i]);
    m->nmodels = o.nmodels;
    for (size_t i = 0; i < o.nrevs; i++)
        snprintf(m->hw_revs[i], sizeof(m->hw_revs[i]), "%s", o.revs[i]);
    m->nhw_revs = o.nrevs;
    m->created = (int64_t)time(NULL);
    if ((o.created && pf_time_parse(o.created, &m->created) != 0) ||
        (o.expires && pf_time_parse(o.expires, &m->expires) != 0)) {
        fprintf(stderr, "posfleet-pack create: times are UTC like 2026-12-01T00:00:00Z\n");
        goto out;
    }
    if (!o.expires)
        m->expires = m->created + (int64_t)o.expires_days * 86400;
    if (strlen(o.notes) > PF_MANIFEST_NOTES_MAX) {
        fprintf(stderr, "posfleet-pack create: --notes longer than %d bytes\n",
                PF_MANIFEST_NOTES_MAX);
        goto out;
    }
    snprintf(m->notes, sizeof(m->notes), "%s", o.notes);

    /* Signer and keyring: refuse now what a terminal would refuse later. */
    if (o.key) {
        if (pf_ms_seckey_load(o.key, &sec, &err) != 0) {
            pfp_fail("create", &err);
            goto out;
        }
        have_sec = true;
        pf_ms_seckey_public(&sec, &pub);
    } else if (pf_ms_pubkey_load(o.signer, &pub, &err) != 0) {
        pfp_fail("create", &err);
        goto out;
    }
    memcpy(m->key_id, pub.key_id, PF_MS_KEYID_LEN);
    snprintf(kpath, sizeof(kpath), "%s/%s", o.keyring_dir, PF_BUNDLE_KEYRING);
    snprintf(kspath, sizeof(kspath), "%s/%s", o.keyring_dir, PF_BUNDLE_KEYRING_SIG);
    if ((prc = pf_file_read(kpath, PF_KEYRING_MAX_BYTES, &kdoc, &klen)) != 0 ||
        (prc = pf_file_read(kspath, PF_MS_SIG_MAX, &ksig, &ksiglen)) != 0) {
        fprintf(stderr, "posfleet-pack create: cannot read the keyring in %s: %s\n", o.keyring_dir,
                pf_strerror(prc));
        goto out;
    }
    if (pf_keyring_parse(kdoc, klen, kr, &err) != 0 ||
        pf_keyring_check_key(kr, pub.key_id, o.kind, m->created, NULL, &err) != 0) {
        pfp_fail("create", &err);
        goto out;
    }
    for (size_t i = 0; i < kr->nkeys; i++) {
        if (!memcmp(kr->keys[i].pub.key_id, pub.key_id, PF_MS_KEYID_LEN) &&
            !pf_ms_pubkey_equal(&kr->keys[i].pub, &pub)) {
            fprintf(stderr, "posfleet-pack create: key %s does not match the keyring [BAD_SIG]\n",
                    o.key ? o.key : o.signer);
            goto out;
        }
    }

    if (pf_manifest_encode(m, &mdoc, &mlen, &err) != 0) {
        pfp_fail("create", &err);
        goto out;
    }
    if (have_sec) {
        if (pf_time_format(m->created, when) != 0)
            when[0] = '\0';
        snprintf(comment, sizeof(comment),
                 "posfleet kind:%s version:%s created:%s file:manifest.json",
                 pf_bundle_kind_names[m->kind], m->version, when);
        if (pf_ms_sign(&sec, mdoc, mlen, comment, msig, sizeof(msig), &msiglen, &err) != 0) {
            pfp_fail("create", &err);
            goto out;
        }
    }

    /* Archive: metadata first, then payloads, into a temporary renamed at the end. */
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", o.out, (long)getpid());
    if (pfp_tar_open(&a, tmp, pfp_filter_from_name(o.compress), &err) != 0) {
        pfp_fail("create", &err);
        goto out;
    }
    tmp_made = true;
    if (pfp_tar_add_mem(a, PF_BUNDLE_MANIFEST, mdoc, mlen, m->created, &err) != 0 ||
        (have_sec &&
         pfp_tar_add_mem(a, PF_BUNDLE_MANIFEST_SIG, msig, msiglen, m->created, &err) != 0) ||
        pfp_tar_add_mem(a, PF_BUNDLE_KEYRING, kdoc, klen, m->created, &err) != 0 ||
        pfp_tar_add_mem(a, PF_BUNDLE_KEYRING_SIG, ksig, ksiglen, m->created, &err) != 0) {
        pfp_fail("create", &err);
        goto out;
    }
    for (size_t i = 0; i < m->npayloads; i++) {
        if (create__stream(a, paths[i], &m->payloads[i], m->created, buf, &err) != 0) {
            pfp_fail("create", &err);
            goto out;
        }
    }
    if (archive_write_close(a) != ARCHIVE_OK) {
        fprintf(stderr, "posfleet-pack create: %s\n", archive_error_string(a));
        goto out;
    }
    if (rename(tmp, o.out) != 0) {
        fprintf(stderr, "posfleet-pack create: cannot rename to %s: %s\n", o.out, strerror(errno));
        goto out;
    }
    tmp_made = false;
    printf("%s: %s %s, %zu payload(s), %s\n", o.out, pf_bundle_kind_names[m->kind], m->version,
           m->npayloads, have_sec ? "signed" : "unsigned (run posfleet-pack sign)");
    rc = 0;
out:
    if (a)
        archive_write_free(a);
    if (tmp_made)
        unlink(tmp);
    if (have_sec)
        pf_ms_seckey_wipe(&sec);
    free(kdoc);
    free(ksig);
    free(mdoc);
    free(buf);
    free(kr);
    free(m);
    return rc;
}
