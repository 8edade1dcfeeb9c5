/*
 * bundle_fixture.h - builds keys, keyrings and (malicious) bundle archives for
 * the bundle suites and the fuzz smoke drivers. Everything is generated fresh
 * in memory or under a test's temporary directory; no key leaves the test.
 */
#ifndef PF_BUNDLE_FIXTURE_H
#define PF_BUNDLE_FIXTURE_H

#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pf/bundle.h"
#include "pf/bundle_time.h"
#include "pf/keyring.h"
#include "pf/manifest.h"
#include "pf/minisign.h"

enum fx_type { FX_REG, FX_SYMLINK, FX_HARDLINK, FX_FIFO, FX_CHR, FX_DIR };

struct fx_entry {
    const char *name;
    const void *data;
    size_t len;
    enum fx_type type;
    const char *link;
};

/* Signing keys of the fixture keyring. */
enum { FX_FW, FX_FEE, FX_EXPIRED, FX_REVOKED, FX_OUTSIDER, FX_NKEYS };

struct fx {
    int64_t now;
    struct pf_ms_pubkey root_pub;
    struct pf_ms_seckey root_sec;
    struct pf_ms_pubkey pub[FX_NKEYS];
    struct pf_ms_seckey sec[FX_NKEYS];
    struct pf_keyring *kr;
    char *kdoc;
    size_t klen;
    char ksig[PF_MS_SIG_MAX];
    size_t ksiglen;
};

static inline void fx_fail(const char *what)
{
    fprintf(stderr, "fixture: %s\n", what);
    abort();
}

/* Signs the fixture keyring document with sec (normally the root). */
static inline void fx_sign_keyring(struct fx *f, const struct pf_ms_seckey *sec)
{
    free(f->kdoc);
    if (pf_keyring_encode(f->kr, &f->kdoc, &f->klen, NULL) != 0 ||
        pf_ms_sign(sec, f->kdoc, f->klen, "fixture keyring", f->ksig, sizeof(f->ksig), &f->ksiglen,
                   NULL) != 0)
        fx_fail("keyring");
}

static inline void fx_init(struct fx *f)
{
    static const int roles[FX_NKEYS] = {PF_ROLE_FIRMWARE, PF_ROLE_FEETABLE, PF_ROLE_FIRMWARE,
                                        PF_ROLE_FIRMWARE, PF_ROLE_FIRMWARE};
    static const char *const names[FX_NKEYS] = {"fw", "fee", "old", "leaked", "outsider"};

    memset(f, 0, sizeof(*f));
    f->now = (int64_t)time(NULL);
    f->kr = calloc(1, sizeof(*f->kr));
    if (!f->kr || pf_ms_keygen(&f->root_pub, &f->root_sec) != 0)
        fx_fail("keygen");
    f->kr->serial = 7;
    f->kr->issued = f->now;
    f->kr->nroots = 1;
    f->kr->roots[0].pub = f->root_pub;
    for (int i = 0; i < FX_NKEYS; i++) {
        if (pf_ms_keygen(&f->pub[i], &f->sec[i]) != 0)
            fx_fail("keygen");
        if (i == FX_OUTSIDER)
            continue;
        struct pf_keyring_key *k = &f->kr->keys[f->kr->nkeys++];
        snprintf(k->name, sizeof(k->name), "%s", names[i]);
        k->role = roles[i];
        k->pub = f->pub[i];
        k->not_before = i == FX_EXPIRED ? 1577836800 : f->now - 86400;      /* 2020-01-01 */
        k->not_after = i == FX_EXPIRED ? 1609459200 : f->now + 365 * 86400; /* 2021-01-01 */
    }
    memcpy(f->kr->revoked[0].key_id, f->pub[FX_REVOKED].key_id, PF_MS_KEYID_LEN);
    f->kr->revoked[0].revoked_at = f->now - 60;
    snprintf(f->kr->revoked[0].reason, sizeof(f->kr->revoked[0].reason), "leaked");
    f->kr->nrevoked = 1;
    fx_sign_keyring(f, &f->root_sec);
}

static inline void fx_release(struct fx *f)
{
    pf_ms_seckey_wipe(&f->root_sec);
    for (int i = 0; i < FX_NKEYS; i++)
        pf_ms_seckey_wipe(&f->sec[i]);
    free(f->kr);
    free(f->kdoc);
}

static inline struct pf_trust fx_trust(const struct fx *f)
{
    struct pf_trust t = {.root = f->root_pub, .min_keyring_serial = 0};
    return t;
}

static inline struct pf_policy fx_policy(const struct fx *f)
{
    struct pf_policy p = {.kind = PF_KIND_FIRMWARE,
                          .model = "PX-200",
                          .hw_rev = "B",
                          .installed_version = "1.9.9",
                          .now = f->now};
    return p;
}

/* A firmware manifest for one payload of the given bytes, signed by key `signer`. */
static inline void fx_manifest(const struct fx *f, struct pf_manifest *m, int signer,
                               const char *name, const void *data, size_t len)
{
    memset(m, 0, sizeof(*m));
    m->kind = PF_KIND_FIRMWARE;
    snprintf(m->version, sizeof(m->version), "2.0.0");
    snprintf(m->models[0], sizeof(m->models[0]), "PX-200");
    snprintf(m->models[1], sizeof(m->models[1]), "PX-210");
    m->nmodels = 2;
    snprintf(m->hw_revs[0], sizeof(m->hw_revs[0]), "A");
    snprintf(m->hw_revs[1], sizeof(m->hw_revs[1]), "B");
    m->nhw_revs = 2;
    m->created = f->now - 60;
    m->expires = f->now + 30 * 86400;
    memcpy(m->key_id, f->pub[signer].key_id, PF_MS_KEYID_LEN);
    snprintf(m->notes, sizeof(m->notes), "fixture build");
    snprintf(m->payloads[0].name, sizeof(m->payloads[0].name), "%s", name);
    m->payloads[0].size = len;
    pf_b2_buf(data, len, m->payloads[0].digest);
    m->npayloads = 1;
}

static inline void fx_manifest_add(struct pf_manifest *m, const char *name, const void *data,
                                   size_t len)
{
    struct pf_manifest_payload *p = &m->payloads[m->npayloads++];
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->size = len;
    pf_b2_buf(data, len, p->digest);
}

/* Encoded manifest (heap) and its signature by sec. */
static inline char *fx_encode_sign(const struct pf_manifest *m, const struct pf_ms_seckey *sec,
                                   size_t *mlen, char *sig, size_t *siglen)
{
    char *doc = NULL;
    if (pf_manifest_encode(m, &doc, mlen, NULL) != 0 ||
        pf_ms_sign(sec, doc, *mlen, "fixture manifest", sig, PF_MS_SIG_MAX, siglen, NULL) != 0)
        fx_fail("manifest");
    return doc;
}

/* Writes entries as a pax-restricted tar (optionally filtered) to path. */
static inline void fx_tar(const char *path, const struct fx_entry *ents, size_t n, int filter)
{
    struct archive *a = archive_write_new();

    archive_write_set_format_pax_restricted(a);
    if (filter != ARCHIVE_FILTER_NONE)
        archive_write_add_filter(a, filter);
    if (archive_write_open_filename(a, path) != ARCHIVE_OK)
        fx_fail("tar open");
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, ents[i].name);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_mtime(e, 1764201600, 0);
        switch (ents[i].type) {
        case FX_REG:
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_size(e, (la_int64_t)ents[i].len);
            break;
        case FX_SYMLINK:
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, ents[i].link);
            break;
        case FX_HARDLINK:
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, ents[i].link);
            archive_entry_set_size(e, 0);
            break;
        case FX_FIFO:
            archive_entry_set_filetype(e, AE_IFIFO);
            break;
        case FX_CHR:
            archive_entry_set_filetype(e, AE_IFCHR);
            archive_entry_set_rdev(e, 0x0103);
            break;
        case FX_DIR:
            archive_entry_set_filetype(e, AE_IFDIR);
            break;
        }
        if (archive_write_header(a, e) != ARCHIVE_OK)
            fx_fail(archive_error_string(a));
        if (ents[i].type == FX_REG && ents[i].len &&
            archive_write_data(a, ents[i].data, ents[i].len) != (la_ssize_t)ents[i].len)
            fx_fail("tar data");
        archive_entry_free(e);
    }
    if (archive_write_close(a) != ARCHIVE_OK)
        fx_fail("tar close");
    archive_write_free(a);
}

/* The four metadata entries, in bundle order, into ents[0..4). */
static inline void fx_meta(const struct fx *f, struct fx_entry *ents, const char *mdoc, size_t mlen,
                           const char *msig, size_t msiglen)
{
    ents[0] = (struct fx_entry){PF_BUNDLE_MANIFEST, mdoc, mlen, FX_REG, NULL};
    ents[1] = (struct fx_entry){PF_BUNDLE_MANIFEST_SIG, msig, msiglen, FX_REG, NULL};
    ents[2] = (struct fx_entry){PF_BUNDLE_KEYRING, f->kdoc, f->klen, FX_REG, NULL};
    ents[3] = (struct fx_entry){PF_BUNDLE_KEYRING_SIG, f->ksig, f->ksiglen, FX_REG, NULL};
}

/* A complete valid firmware bundle with one payload "fw.img" of data. */
static inline void fx_good_bundle(const struct fx *f, const char *path, const void *data,
                                  size_t len, int filter)
{
    struct pf_manifest *m = malloc(sizeof(*m));
    struct fx_entry ents[5];
    char sig[PF_MS_SIG_MAX], *doc;
    size_t mlen, siglen;

    fx_manifest(f, m, FX_FW, "fw.img", data, len);
    doc = fx_encode_sign(m, &f->sec[FX_FW], &mlen, sig, &siglen);
    fx_meta(f, ents, doc, mlen, sig, siglen);
    ents[4] = (struct fx_entry){"fw.img", data, len, FX_REG, NULL};
    fx_tar(path, ents, 5, filter);
    free(doc);
    free(m);
}

#endif
