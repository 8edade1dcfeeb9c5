/*
 * pack_check.c - posfleet-pack verify (exactly what a terminal does, through
 * the proto verifier) and inspect (what a bundle holds, verifying nothing).
 */
#include <archive_entry.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pack.h"
#include "pf/bundle.h"
#include "pf/bundle_time.h"
#include "pf/fileio.h"
#include "pf/num.h"

static const char verify__usage[] =
        "usage: posfleet-pack verify --root ROOT.pub [--kind firmware|fee-table] [--model M]\n"
        "         [--hw-rev R] [--installed VERSION] [--now TIME] [--min-keyring-serial N]\n"
        "         [--max-payload BYTES] [--keyring DIR] [--extract DIR] BUNDLE\n"
        "Checks the keyring chain from ROOT.pub, the manifest signature and key, the policy\n"
        "given by the options, and every payload's size and digest in one pass. --keyring\n"
        "supplies the current keyring (DIR/keyring.json, verified from ROOT.pub), which wins\n"
        "over the embedded one when newer (revocations after packing). --extract\n"
        "writes the payloads into DIR (absent or empty) only if everything verified.\n";

int pfp_cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
                                         {"kind", required_argument, NULL, 'k'},
                                         {"model", required_argument, NULL, 'm'},
                                         {"hw-rev", required_argument, NULL, 'w'},
                                         {"installed", required_argument, NULL, 'i'},
                                         {"now", required_argument, NULL, 'n'},
                                         {"min-keyring-serial", required_argument, NULL, 's'},
                                         {"max-payload", required_argument, NULL, 'M'},
                                         {"extract", required_argument, NULL, 'x'},
                                         {"keyring", required_argument, NULL, 'K'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    struct pf_error err = {0};
    struct pf_trust trust = {0};
    struct pf_policy pol = {.kind = -1, .now = (int64_t)time(NULL)};
    struct pf_manifest *m = NULL;
    const char *root = NULL, *extract = NULL, *kdir = NULL;
    struct pf_keyring *kr = NULL;
    char id[PF_MS_KEYID_HEX + 1];
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            root = optarg;
            break;
        case 'k':
            pol.kind = !strcmp(optarg, "firmware") ? 0 : !strcmp(optarg, "fee-table") ? 1 : -2;
            if (pol.kind == -2)
                goto usage;
            break;
        case 'm':
            pol.model = optarg;
            break;
        case 'w':
            pol.hw_rev = optarg;
            break;
        case 'i':
            if (!pf_version_valid(optarg))
                goto usage;
            pol.installed_version = optarg;
            break;
        case 'n':
            if (pf_time_parse(optarg, &pol.now) != 0)
                goto usage;
            break;
        case 's':
            if (pf_parse_i64(optarg, 0, INT64_MAX, &trust.min_keyring_serial))
                goto usage;
            break;
        case 'M':
            if (pf_parse_u64(optarg, 0, UINT64_MAX, &pol.max_payload_size))
                goto usage;
            break;
        case 'x':
            extract = optarg;
            break;
        case 'K':
            kdir = optarg;
            break;
        case 'h':
            fputs(verify__usage, stdout);
            return 0;
        default:
            goto usage;
        }
    }
    if (!root || optind + 1 != argc)
        goto usage;
    if (pf_ms_pubkey_load(root, &trust.root, &err) != 0) {
        pfp_fail("verify", &err);
        return 1;
    }
    m = malloc(sizeof(*m));
    if (!m)
        return 1;
    if (kdir) {
        char kp[4096], ksp[4096], *doc = NULL, *sig = NULL;
        size_t dl = 0, sl = 0;
        snprintf(kp, sizeof(kp), "%.4000s/%s", kdir, PF_BUNDLE_KEYRING);
        snprintf(ksp, sizeof(ksp), "%.4000s/%s", kdir, PF_BUNDLE_KEYRING_SIG);
        kr = malloc(sizeof(*kr));
        rc = kr ? pf_file_read(kp, PF_KEYRING_MAX_BYTES, &doc, &dl) : PF_ENOMEM;
        if (rc == 0)
            rc = pf_file_read(ksp, PF_MS_SIG_MAX, &sig, &sl);
        if (rc)
            pf_error_set(&err, rc, "%s: cannot read the keyring: %s", kdir, pf_strerror(rc));
        else
            rc = pf_keyring_verify(doc, dl, sig, sl, &trust.root, 0, kr, &err);
        free(doc);
        free(sig);
        if (rc) {
            pfp_fail("verify", &err);
            free(kr);
            free(m);
            return 1;
        }
        trust.keyring = kr;
    }
    if (extract)
        rc = pf_bundle_extract(argv[optind], extract, &trust, &pol, m, &err);
    else
        rc = pf_bundle_read_file(argv[optind], &trust, &pol, NULL, m, &err);
    free(kr);
    if (rc) {
        pfp_fail("verify", &err);
        free(m);
        return 1;
    }
    pf_ms_keyid_hex(m->key_id, id);
    printf("verified: %s %s signed by %s, %zu payload(s)%s%s\n", pf_bundle_kind_names[m->kind],
           m->version, id, m->npayloads, extract ? " extracted to " : "", extract ? extract : "");
    free(m);
    return 0;
usage:
    fputs(verify__usage, stderr);
    return 2;
}

/* ---- inspect ---- */

struct inspect_entry {
    char name[128];
    long long size;
    char type;
};

static int inspect__entries(const char *path, struct inspect_entry *ents, size_t max, size_t *n,
                            const char **filter, struct pf_error *err)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    int ar, rc = 0;

    *n = 0;
    archive_read_support_format_tar(a);
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_none(a);
    if (archive_read_open_filename(a, path, PF_BUNDLE_BLOCK) != ARCHIVE_OK) {
        rc = pf_error_set(err, PF_EPARSE, "%s: %s", path, archive_error_string(a));
        goto out;
    }
    while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        mode_t t = archive_entry_filetype(e);
        if (*n == max) {
            rc = pf_error_set(err, PF_ELIMIT, "%s: more than %zu entries", path, max);
            goto out;
        }
        snprintf(ents[*n].name, sizeof(ents[*n].name), "%s",
                 archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
        ents[*n].size = archive_entry_size(e);
        ents[*n].type = archive_entry_hardlink(e) ? 'h'
                        : t == AE_IFREG           ? '-'
                        : t == AE_IFLNK           ? 'l'
                        : t == AE_IFDIR           ? 'd'
                                                  : '?';
        (*n)++;
    }
    *filter = archive_filter_name(a, 0);
    if (ar != ARCHIVE_EOF)
        rc = pf_error_set(err, PF_EPARSE, "%s: %s", path, archive_error_string(a));
out:
    archive_read_free(a);
    return rc;
}

static json_t *inspect__time(int64_t t)
{
    char s[PF_TIME_STR_LEN + 1];
    return pf_time_format(t, s) == 0 ? json_string(s) : json_null();
}

int pfp_cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
            {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
    struct pf_error err = {0};
    struct pf_bundle_meta meta = {0};
    struct pf_manifest *m = NULL;
    struct pf_keyring *kr = NULL;
    struct pf_ms_sig sig;
    struct inspect_entry ents[PF_BUNDLE_MAX_ENTRIES + 8];
    const struct pf_keyring_key *signer = NULL;
    const char *filter = "none";
    char id[PF_MS_KEYID_HEX + 1], hex[PF_B2_HEX_LEN + 1], t1[PF_TIME_STR_LEN + 1],
            t2[PF_TIME_STR_LEN + 1];
    size_t nents = 0;
    bool json = false, have_sig = false, have_kr = false;
    int c, rc = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j')
            json = true;
        else {
            fputs("usage: posfleet-pack inspect [--json] BUNDLE\n", c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind + 1 != argc) {
        fputs("usage: posfleet-pack inspect [--json] BUNDLE\n", stderr);
        return 2;
    }
    m = calloc(1, sizeof(*m));
    kr = calloc(1, sizeof(*kr));
    if (!m || !kr)
        goto out;
    if (pf_bundle_meta_load(argv[optind], &meta, &err) != 0 ||
        inspect__entries(argv[optind], ents, sizeof(ents) / sizeof(ents[0]), &nents, &filter,
                         &err) != 0) {
        pfp_fail("inspect", &err);
        goto out;
    }
    if (!meta.manifest) {
        fprintf(stderr, "posfleet-pack inspect: no manifest.json [MISSING_ENTRY]\n");
        goto out;
    }
    if (pf_manifest_parse(meta.manifest, meta.manifest_len, m, &err) != 0) {
        pfp_fail("inspect", &err);
        goto out;
    }
    have_sig = meta.manifest_sig &&
               pf_ms_sig_parse(meta.manifest_sig, meta.manifest_sig_len, &sig, NULL) == 0;
    have_kr = meta.keyring && pf_keyring_parse(meta.keyring, meta.keyring_len, kr, NULL) == 0;
    for (size_t i = 0; have_kr && i < kr->nkeys; i++) {
        if (!memcmp(kr->keys[i].pub.key_id, m->key_id, PF_MS_KEYID_LEN))
            signer = &kr->keys[i];
    }
    pf_ms_keyid_hex(m->key_id, id);

    if (json) {
        json_t *root = json_object(), *man = json_object(), *a, *pl = json_array(),
               *en = json_array();
        json_object_set_new(root, "verified", json_false());
        json_object_set_new(root, "compression", json_string(filter));
        json_object_set_new(man, "kind", json_string(pf_bundle_kind_names[m->kind]));
        json_object_set_new(man, "version", json_string(m->version));
        a = json_array();
        for (size_t i = 0; i < m->nmodels; i++)
            json_array_append_new(a, json_string(m->models[i]));
        json_object_set_new(man, "models", a);
        a = json_array();
        for (size_t i = 0; i < m->nhw_revs; i++)
            json_array_append_new(a, json_string(m->hw_revs[i]));
        json_object_set_new(man, "hw_revs", a);
        json_object_set_new(man, "created", inspect__time(m->created));
        json_object_set_new(man, "expires", inspect__time(m->expires));
        json_object_set_new(man, "key_id", json_string(id));
        json_object_set_new(man, "notes", json_string(m->notes));
        for (size_t i = 0; i < m->npayloads; i++) {
            pf_b2_hex(m->payloads[i].digest, hex);
            json_array_append_new(pl,
                                  json_pack("{s:s,s:I,s:s}", "name", m->payloads[i].name, "size",
                                            (json_int_t)m->payloads[i].size, "blake2b_256", hex));
        }
        json_object_set_new(man, "payloads", pl);
        json_object_set_new(root, "manifest", man);
        if (have_sig) {
            pf_ms_keyid_hex(sig.key_id, id);
            json_object_set_new(
                    root, "signature",
                    json_pack("{s:s,s:s}", "key_id", id, "trusted_comment", sig.trusted_comment));
        } else {
            json_object_set_new(root, "signature", json_null());
        }
        if (have_kr) {
            json_t *k = json_pack("{s:I}", "serial", (json_int_t)kr->serial);
            pf_ms_keyid_hex(pf_keyring_current_root(kr)->key_id, id);
            json_object_set_new(k, "root", json_string(id));
            json_object_set_new(k, "root_chain_length", json_integer((json_int_t)kr->nroots));
            if (signer)
                json_object_set_new(k, "signer",
                                    json_pack("{s:s,s:s}", "name", signer->name, "role",
                                              pf_key_role_names[signer->role]));
            json_object_set_new(root, "keyring", k);
        } else {
            json_object_set_new(root, "keyring", json_null());
        }
        for (size_t i = 0; i < nents; i++) {
            char t[2] = {ents[i].type, 0};
            json_array_append_new(en, json_pack("{s:s,s:I,s:s}", "name", ents[i].name, "size",
                                                (json_int_t)ents[i].size, "type", t));
        }
        json_object_set_new(root, "entries", en);
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(root);
        rc = 0;
        goto out;
    }

    if (pf_time_format(m->created, t1) != 0)
        t1[0] = '\0';
    if (pf_time_format(m->expires, t2) != 0)
        t2[0] = '\0';
    printf("bundle %s (NOT verified; use posfleet-pack verify)\n", argv[optind]);
    printf("  kind:        %s\n  version:     %s\n  models:     ", pf_bundle_kind_names[m->kind],
           m->version);
    for (size_t i = 0; i < m->nmodels; i++)
        printf(" %s", m->models[i]);
    printf("\n  hw revs:    ");
    for (size_t i = 0; i < m->nhw_revs; i++)
        printf(" %s", m->hw_revs[i]);
    printf("\n  created:     %s\n  expires:     %s\n  compression: %s\n", t1, t2, filter);
    printf("  signing key: %s", id);
    if (signer)
        printf(" (%s, role %s)", signer->name, pf_key_role_names[signer->role]);
    printf("\n  signature:   %s%s%s\n", have_sig ? "present, trusted comment \"" : "MISSING",
           have_sig ? sig.trusted_comment : "", have_sig ? "\"" : "");
    if (have_kr) {
        pf_ms_keyid_hex(pf_keyring_current_root(kr)->key_id, id);
        printf("  keyring:     serial %lld, root %s, chain of %zu\n", (long long)kr->serial, id,
               kr->nroots);
    } else {
        printf("  keyring:     missing or malformed\n");
    }
    if (m->notes[0])
        printf("  notes:       %s\n", m->notes);
    printf("  payloads:\n");
    for (size_t i = 0; i < m->npayloads; i++) {
        pf_b2_hex(m->payloads[i].digest, hex);
        printf("    %-24s %12llu  blake2b-256 %s\n", m->payloads[i].name,
               (unsigned long long)m->payloads[i].size, hex);
    }
    printf("  entries:\n");
    for (size_t i = 0; i < nents; i++)
        printf("    %c %-24s %12lld\n", ents[i].type, ents[i].name, ents[i].size);
    rc = 0;
out:
    pf_bundle_meta_release(&meta);
    free(kr);
    free(m);
    return rc;
}
