/*
 * test_bundle.c - the bundle verifier's attack suite: one test per refusal,
 * each asserting the exact code, a reason in the message, and that nothing was
 * written; plus round trips, bit flips and truncations of real signed bundles.
 *
 * Over 800 lines on purpose: the attack list is the verifier's specification,
 * one case per refusal, and reads best as one list beside its fixtures.
 */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle_fixture.h"
#include "pf/fileio.h"
#include "testutil.h"

struct t {
    struct fx f;
    char tmp[256], bundle[320], out[320];
    unsigned char data[4096];
    struct pf_manifest m;
    char *doc;
    size_t mlen;
    char sig[PF_MS_SIG_MAX];
    size_t siglen;
    struct fx_entry ents[24];
    size_t n;
    int filter;
};

static void t_resign(struct t *t, int signer)
{
    free(t->doc);
    t->doc = fx_encode_sign(&t->m, &t->f.sec[signer], &t->mlen, t->sig, &t->siglen);
    fx_meta(&t->f, t->ents, t->doc, t->mlen, t->sig, t->siglen);
}

static struct t *t_setup(void)
{
    struct t *t = calloc(1, sizeof(*t));

    ck_assert_ptr_nonnull(t);
    fx_init(&t->f);
    pf_test_tmpdir(t->tmp, sizeof(t->tmp));
    snprintf(t->bundle, sizeof(t->bundle), "%s/b.tar", t->tmp);
    snprintf(t->out, sizeof(t->out), "%s/out", t->tmp);
    for (size_t i = 0; i < sizeof(t->data); i++)
        t->data[i] = (unsigned char)(i * 7 + 3);
    fx_manifest(&t->f, &t->m, FX_FW, "fw.img", t->data, sizeof(t->data));
    t_resign(t, FX_FW);
    t->ents[4] = (struct fx_entry){"fw.img", t->data, sizeof(t->data), FX_REG, NULL};
    t->n = 5;
    t->filter = ARCHIVE_FILTER_NONE;
    return t;
}

static void t_free(struct t *t)
{
    pf_test_rmtree(t->tmp);
    free(t->doc);
    fx_release(&t->f);
    free(t);
}

static size_t dir_count(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    size_t n = 0;

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return n;
}

struct counting_sink {
    int begins, writes, ends;
};

static int cs_begin(void *ctx, const struct pf_manifest_payload *p, struct pf_error *err)
{
    ((struct counting_sink *)ctx)->begins++;
    return 0;
}

static int cs_write(void *ctx, const void *buf, size_t len, struct pf_error *err)
{
    ((struct counting_sink *)ctx)->writes++;
    return 0;
}

static int cs_end(void *ctx, const struct pf_manifest_payload *p, struct pf_error *err)
{
    ((struct counting_sink *)ctx)->ends++;
    return 0;
}

/*
 * Writes the bundle, then verifies it twice: through a counting sink (returns
 * the sink counts) and by extraction into a fresh empty directory, which must
 * still be empty if refused. Both runs must agree on the code.
 */
static int t_check_file(struct t *t, const struct pf_trust *trust, const struct pf_policy *pol,
                        struct pf_error *err, struct counting_sink *cs);

static int t_run_pol(struct t *t, const struct pf_trust *trust, const struct pf_policy *pol,
                     struct pf_error *err, struct counting_sink *cs)
{
    fx_tar(t->bundle, t->ents, t->n, t->filter);
    return t_check_file(t, trust, pol, err, cs);
}

static int t_check_file(struct t *t, const struct pf_trust *trust, const struct pf_policy *pol,
                        struct pf_error *err, struct counting_sink *cs)
{
    struct pf_bundle_sink sink = {cs_begin, cs_write, cs_end, cs};
    struct pf_error err2 = {0};
    int rc, rc2;

    memset(cs, 0, sizeof(*cs));
    rc = pf_bundle_read_file(t->bundle, trust, pol, &sink, NULL, err);
    ck_assert_int_eq(mkdir(t->out, 0700), 0);
    rc2 = pf_bundle_extract(t->bundle, t->out, trust, pol, NULL, &err2);
    ck_assert_int_eq(rc, rc2);
    if (rc) {
        ck_assert_msg(dir_count(t->out) == 0, "refused bundle left files behind");
        ck_assert_int_eq(err->code, rc);
        ck_assert_msg(strlen(err->msg) > 10, "no reason given");
    }
    return rc;
}

static int t_run(struct t *t, struct pf_error *err, struct counting_sink *cs)
{
    struct pf_trust trust = fx_trust(&t->f);
    struct pf_policy pol = fx_policy(&t->f);
    return t_run_pol(t, &trust, &pol, err, cs);
}

#define REFUSED(t, code, before_payload)                                                           \
    do {                                                                                           \
        struct pf_error err_ = {0};                                                                \
        struct counting_sink cs_;                                                                  \
        int rc_ = t_run((t), &err_, &cs_);                                                         \
        ck_assert_msg(rc_ == (code), "expected %s, got %s: %s", pf_errname(code), pf_errname(rc_), \
                      err_.msg);                                                                   \
        if (before_payload)                                                                        \
            ck_assert_int_eq(cs_.begins, 0);                                                       \
    } while (0)

START_TEST(test_roundtrip_extract)
{
    struct t *t = t_setup();
    struct pf_error err = {0};
    struct pf_trust trust = fx_trust(&t->f);
    struct pf_policy pol = fx_policy(&t->f);
    struct pf_manifest out;
    char path[400], *buf;
    size_t len;

    fx_tar(t->bundle, t->ents, t->n, ARCHIVE_FILTER_NONE);
    ck_assert_int_eq(pf_bundle_extract(t->bundle, t->out, &trust, &pol, &out, &err), 0);
    ck_assert_str_eq(out.version, "2.0.0");
    snprintf(path, sizeof(path), "%s/fw.img", t->out);
    ck_assert_int_eq(pf_file_read(path, 1 << 20, &buf, &len), 0);
    ck_assert_uint_eq(len, sizeof(t->data));
    ck_assert_int_eq(memcmp(buf, t->data, len), 0);
    free(buf);
    ck_assert_uint_eq(dir_count(t->out), 1);
    /* A non-empty destination is refused and left alone. */
    ck_assert_int_eq(pf_bundle_extract(t->bundle, t->out, &trust, &pol, NULL, &err), PF_EEXIST);
    ck_assert_uint_eq(dir_count(t->out), 1);
    t_free(t);
}
END_TEST

START_TEST(test_roundtrip_compressed_and_multi)
{
    static const int filters[] = {ARCHIVE_FILTER_GZIP, ARCHIVE_FILTER_ZSTD};
    for (size_t i = 0; i < 2; i++) {
        struct t *t = t_setup();
        struct pf_error err = {0};
        struct counting_sink cs;
        static const char extra[] = "second payload";

        fx_manifest_add(&t->m, "boot.bin", extra, sizeof(extra));
        t_resign(t, FX_FW);
        t->ents[5] = (struct fx_entry){"boot.bin", extra, sizeof(extra), FX_REG, NULL};
        t->n = 6;
        t->filter = filters[i];
        ck_assert_msg(t_run(t, &err, &cs) == 0, "%s", err.msg);
        ck_assert_int_eq(cs.begins, 2);
        ck_assert_int_eq(cs.ends, 2);
        ck_assert_uint_eq(dir_count(t->out), 2);
        t_free(t);
    }
}
END_TEST

START_TEST(test_refuse_bad_sig)
{
    struct t *t = t_setup();
    /* Manifest edited after signing: a different version under the old signature. */
    char *p = strstr(t->doc, "2.0.0");
    ck_assert_ptr_nonnull(p);
    p[0] = '9';
    REFUSED(t, PF_EBAD_SIG, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_no_sig)
{
    struct t *t = t_setup();
    t->ents[1] = t->ents[4];
    t->n = 4;
    REFUSED(t, PF_ENO_SIG, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_empty_sig)
{
    struct t *t = t_setup();
    t->ents[1].len = 0;
    REFUSED(t, PF_ENO_SIG, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_key_unknown)
{
    struct t *t = t_setup();
    memcpy(t->m.key_id, t->f.pub[FX_OUTSIDER].key_id, PF_MS_KEYID_LEN);
    t_resign(t, FX_OUTSIDER);
    REFUSED(t, PF_EKEY_UNKNOWN, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_key_revoked)
{
    struct t *t = t_setup();
    memcpy(t->m.key_id, t->f.pub[FX_REVOKED].key_id, PF_MS_KEYID_LEN);
    t_resign(t, FX_REVOKED);
    REFUSED(t, PF_EKEY_REVOKED, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_key_expired)
{
    struct t *t = t_setup();
    memcpy(t->m.key_id, t->f.pub[FX_EXPIRED].key_id, PF_MS_KEYID_LEN);
    t_resign(t, FX_EXPIRED);
    REFUSED(t, PF_EKEY_EXPIRED, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_key_role)
{
    /* A fee-table key cannot sign firmware. */
    struct t *t = t_setup();
    memcpy(t->m.key_id, t->f.pub[FX_FEE].key_id, PF_MS_KEYID_LEN);
    t_resign(t, FX_FEE);
    REFUSED(t, PF_EKEY_ROLE, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_key_id_mismatch)
{
    /* Signed by the firmware key while naming another key. */
    struct t *t = t_setup();
    memcpy(t->m.key_id, t->f.pub[FX_FEE].key_id, PF_MS_KEYID_LEN);
    t_resign(t, FX_FW);
    REFUSED(t, PF_EBAD_SIG, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_root_chain_foreign_root)
{
    /* The keyring is internally valid but signed by a root the terminal never trusted. */
    struct t *t = t_setup();
    struct pf_ms_pubkey pub;
    struct pf_ms_seckey sec;
    ck_assert_int_eq(pf_ms_keygen(&pub, &sec), 0);
    t->f.kr->roots[0].pub = pub;
    fx_sign_keyring(&t->f, &sec);
    fx_meta(&t->f, t->ents, t->doc, t->mlen, t->sig, t->siglen);
    REFUSED(t, PF_EROOT_CHAIN, true);
    pf_ms_seckey_wipe(&sec);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_root_chain_bad_endorsement)
{
    /* A second root appended without a valid endorsement by the trusted one. */
    struct t *t = t_setup();
    struct pf_ms_pubkey pub;
    struct pf_ms_seckey sec;
    ck_assert_int_eq(pf_ms_keygen(&pub, &sec), 0);
    t->f.kr->roots[1].pub = pub;
    t->f.kr->roots[1].endorsed = true;
    pf_keyring_endorse(&sec, &pub, t->f.kr->roots[1].endorsement); /* self-endorsed */
    t->f.kr->nroots = 2;
    fx_sign_keyring(&t->f, &sec);
    fx_meta(&t->f, t->ents, t->doc, t->mlen, t->sig, t->siglen);
    REFUSED(t, PF_EROOT_CHAIN, true);
    pf_ms_seckey_wipe(&sec);
    t_free(t);
}
END_TEST

START_TEST(test_root_rotation_chain_accepted)
{
    /* Rotated root: the new root endorsed by the old signs the keyring; a terminal
     * that ships with the old root walks the chain and accepts. */
    struct t *t = t_setup();
    struct pf_ms_pubkey pub;
    struct pf_ms_seckey sec;
    struct pf_error err = {0};
    struct counting_sink cs;
    ck_assert_int_eq(pf_ms_keygen(&pub, &sec), 0);
    t->f.kr->roots[1].pub = pub;
    t->f.kr->roots[1].endorsed = true;
    pf_keyring_endorse(&t->f.root_sec, &pub, t->f.kr->roots[1].endorsement);
    t->f.kr->nroots = 2;
    fx_sign_keyring(&t->f, &sec);
    fx_meta(&t->f, t->ents, t->doc, t->mlen, t->sig, t->siglen);
    ck_assert_msg(t_run(t, &err, &cs) == 0, "%s", err.msg);
    /* The old root can no longer sign the keyring once the chain moved on. */
    pf_test_rmtree(t->out);
    fx_sign_keyring(&t->f, &t->f.root_sec);
    fx_meta(&t->f, t->ents, t->doc, t->mlen, t->sig, t->siglen);
    REFUSED(t, PF_EBAD_SIG, true);
    pf_ms_seckey_wipe(&sec);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_keyring_tampered)
{
    struct t *t = t_setup();
    /* A valid-looking extra signing key slipped into the signed document. */
    char *p = strstr(t->f.kdoc, "\"leaked\"");
    ck_assert_ptr_nonnull(p);
    memcpy(p + 1, "lea", 3);
    p[1] = 'f';
    REFUSED(t, PF_EBAD_SIG, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_keyring_rollback)
{
    struct t *t = t_setup();
    struct pf_trust trust = fx_trust(&t->f);
    struct pf_policy pol = fx_policy(&t->f);
    struct pf_error err = {0};
    struct counting_sink cs;
    trust.min_keyring_serial = 8; /* the fixture keyring is serial 7 */
    ck_assert_int_eq(t_run_pol(t, &trust, &pol, &err, &cs), PF_EROLLBACK);
    ck_assert_int_eq(cs.begins, 0);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_revoked_after_pack)
{
    /* The bundle embeds keyring serial 7, packed before the firmware key leaked; the
     * terminal already holds serial 8 revoking it. The newer keyring decides. */
    struct t *t = t_setup();
    struct pf_trust trust = fx_trust(&t->f);
    struct pf_policy pol = fx_policy(&t->f);
    struct pf_keyring *newer = malloc(sizeof(*newer));
    struct pf_error err = {0};
    struct counting_sink cs;

    memcpy(newer, t->f.kr, sizeof(*newer));
    newer->serial = 8;
    memcpy(newer->revoked[1].key_id, t->f.pub[FX_FW].key_id, PF_MS_KEYID_LEN);
    newer->revoked[1].revoked_at = t->f.now;
    newer->nrevoked = 2;
    trust.keyring = newer;
    ck_assert_int_eq(t_run_pol(t, &trust, &pol, &err, &cs), PF_EKEY_REVOKED);
    ck_assert_int_eq(cs.begins, 0);
    /* With an older trusted keyring, the embedded newer one decides and the bundle passes. */
    pf_test_rmtree(t->out);
    newer->serial = 6;
    ck_assert_msg(t_run_pol(t, &trust, &pol, &err, &cs) == 0, "%s", err.msg);
    free(newer);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_expired)
{
    struct t *t = t_setup();
    t->m.created = t->f.now - 10 * 86400;
    t->m.expires = t->f.now - 1;
    t_resign(t, FX_FW);
    REFUSED(t, PF_EEXPIRED, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_rollback)
{
    struct t *t = t_setup();
    struct pf_trust trust = fx_trust(&t->f);
    struct pf_policy pol = fx_policy(&t->f);
    struct pf_error err = {0};
    struct counting_sink cs;
    pol.installed_version = "2.0.0"; /* equal is refused too */
    ck_assert_int_eq(t_run_pol(t, &trust, &pol, &err, &cs), PF_EROLLBACK);
    ck_assert_int_eq(cs.begins, 0);
    pf_test_rmtree(t->out);
    pol.installed_version = "2.0.10";
    ck_assert_int_eq(t_run_pol(t, &trust, &pol, &err, &cs), PF_EROLLBACK);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_model)
{
    struct t *t = t_setup();
    snprintf(t->m.models[0], sizeof(t->m.models[0]), "PX-900");
    t->m.nmodels = 1;
    t_resign(t, FX_FW);
    REFUSED(t, PF_EMODEL, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_hwrev)
{
    struct t *t = t_setup();
    t->m.nhw_revs = 1; /* only "A"; the terminal is "B" */
    t_resign(t, FX_FW);
    REFUSED(t, PF_EHWREV, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_size_short)
{
    struct t *t = t_setup();
    t->ents[4].len = sizeof(t->data) - 100;
    REFUSED(t, PF_ESIZE, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_digest)
{
    struct t *t = t_setup();
    static unsigned char evil[4096];
    memcpy(evil, t->data, sizeof(evil));
    evil[1234] ^= 0x40;
    t->ents[4].data = evil;
    REFUSED(t, PF_EDIGEST, false);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_excess_entry)
{
    struct t *t = t_setup();
    static unsigned char more[8192];
    memcpy(more, t->data, sizeof(t->data));
    t->ents[4].data = more;
    t->ents[4].len = sizeof(more);
    REFUSED(t, PF_EEXCESS, true);
    t_free(t);
}
END_TEST

/* A source that replays a prefix and then produces zeros forever. */
struct endless {
    const unsigned char *prefix;
    size_t len, off;
    uint64_t served;
};

static ssize_t endless_read(void *ctx, void *buf, size_t cap)
{
    struct endless *e = ctx;
    size_t n = cap;

    if (e->off < e->len) {
        n = e->len - e->off < cap ? e->len - e->off : cap;
        memcpy(buf, e->prefix + e->off, n);
        e->off += n;
    } else {
        memset(buf, 0, n);
    }
    e->served += n;
    return (ssize_t)n;
}

struct capture {
    unsigned char *buf;
    size_t len, cap;
    bool stop;
};

static la_ssize_t capture_write(struct archive *a, void *ctx, const void *buf, size_t n)
{
    struct capture *c = ctx;
    if (c->stop)
        return -1;
    ck_assert_uint_le(c->len + n, c->cap);
    memcpy(c->buf + c->len, buf, n);
    c->len += n;
    return (la_ssize_t)n;
}

START_TEST(test_refuse_endless_stream)
{
    /* The payload entry claims 8 GiB and the stream never ends: refused at the
     * header, long before the data, with the same code the chunk verifier uses. */
    struct t *t = t_setup();
    struct capture c = {.buf = malloc(1 << 20), .cap = 1 << 20};
    struct archive *a = archive_write_new();
    struct archive_entry *e;
    struct pf_trust trust = fx_trust(&t->f);
    struct pf_policy pol = fx_policy(&t->f);
    struct pf_error err = {0};
    struct counting_sink cs = {0};
    struct pf_bundle_sink sink = {cs_begin, cs_write, cs_end, &cs};
    struct endless src;
    struct pf_bundle_source s = {endless_read, &src};

    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_per_block(a, 0);
    ck_assert_int_eq(archive_write_open(a, &c, NULL, capture_write, NULL), ARCHIVE_OK);
    for (int i = 0; i < 4; i++) {
        e = archive_entry_new();
        archive_entry_set_pathname(e, t->ents[i].name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)t->ents[i].len);
        ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
        ck_assert_int_eq(archive_write_data(a, t->ents[i].data, t->ents[i].len),
                         (la_ssize_t)t->ents[i].len);
        archive_entry_free(e);
    }
    e = archive_entry_new();
    archive_entry_set_pathname(e, "fw.img");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)8 << 30);
    ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
    archive_entry_free(e);
    c.stop = true;
    archive_write_free(a);

    src = (struct endless){.prefix = c.buf, .len = c.len};
    ck_assert_int_eq(pf_bundle_read(&s, &trust, &pol, &sink, NULL, &err), PF_EEXCESS);
    ck_assert_int_eq(cs.begins, 0);
    ck_assert_uint_lt(src.served, 64u << 20);
    free(c.buf);
    t_free(t);
}
END_TEST

START_TEST(test_payload_verifier_endless)
{
    /* The agent's chunk path: excess is refused on the chunk that brings it. */
    static const unsigned char chunk[1000];
    struct pf_manifest_payload p = {.name = "fw.img", .size = 2500};
    struct pf_payload_verifier v;
    struct pf_error err = {0};

    pf_b2_buf(chunk, 0, p.digest);
    pf_payload_verifier_init(&v, &p);
    ck_assert_int_eq(pf_payload_verifier_update(&v, chunk, sizeof(chunk), &err), 0);
    ck_assert_int_eq(pf_payload_verifier_update(&v, chunk, sizeof(chunk), &err), 0);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(pf_payload_verifier_update(&v, chunk, sizeof(chunk), &err), PF_EEXCESS);
    ck_assert_uint_eq(v.seen, 2000);
    ck_assert_int_eq(pf_payload_verifier_final(&v, &err), PF_ESIZE);
}
END_TEST

START_TEST(test_payload_verifier_digest)
{
    unsigned char buf[300000];
    struct pf_manifest_payload p = {.name = "x", .size = sizeof(buf)};
    struct pf_payload_verifier *v;
    struct pf_error err = {0};

    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i ^ (i >> 8));
    pf_b2_buf(buf, sizeof(buf), p.digest);
    v = pf_payload_verifier_new(&p);
    for (size_t off = 0; off < sizeof(buf); off += 7777) {
        size_t n = sizeof(buf) - off < 7777 ? sizeof(buf) - off : 7777;
        ck_assert_int_eq(pf_payload_verifier_update(v, buf + off, n, &err), 0);
    }
    ck_assert_int_eq(pf_payload_verifier_final(v, &err), 0);
    pf_payload_verifier_free(v);
    p.digest[0] ^= 1;
    v = pf_payload_verifier_new(&p);
    ck_assert_int_eq(pf_payload_verifier_update(v, buf, sizeof(buf), &err), 0);
    ck_assert_int_eq(pf_payload_verifier_final(v, &err), PF_EDIGEST);
    pf_payload_verifier_free(v);
}
END_TEST

START_TEST(test_refuse_missing_payload)
{
    struct t *t = t_setup();
    t->n = 4;
    REFUSED(t, PF_EMISSING_ENTRY, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_missing_manifest)
{
    struct t *t = t_setup();
    t->ents[0] = t->ents[4];
    t->n = 4; /* payload first, no manifest at all */
    REFUSED(t, PF_EMISSING_ENTRY, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_missing_keyring)
{
    struct t *t = t_setup();
    t->ents[2] = t->ents[4];
    t->n = 3;
    REFUSED(t, PF_EMISSING_ENTRY, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_extra_entry)
{
    struct t *t = t_setup();
    static const char x[] = "#!/bin/sh\n";
    t->ents[5] = (struct fx_entry){"install.sh", x, sizeof(x), FX_REG, NULL};
    t->n = 6;
    REFUSED(t, PF_EEXTRA_ENTRY, false);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_duplicate_payload)
{
    struct t *t = t_setup();
    t->ents[5] = t->ents[4];
    t->n = 6;
    REFUSED(t, PF_EEXTRA_ENTRY, false);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_absolute_path)
{
    struct t *t = t_setup();
    static const char x[] = "root::0:0::/root:/bin/sh\n";
    t->ents[4] = (struct fx_entry){"/etc/passwd", x, sizeof(x), FX_REG, NULL};
    REFUSED(t, PF_EUNSAFE_PATH, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_dotdot)
{
    struct t *t = t_setup();
    t->ents[4].name = "../fw.img";
    REFUSED(t, PF_EUNSAFE_PATH, true);
    t_free(t);
    t = t_setup();
    t->ents[4].name = "a/../../fw.img";
    REFUSED(t, PF_EUNSAFE_PATH, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_symlink)
{
    struct t *t = t_setup();
    t->ents[4] = (struct fx_entry){"fw.img", NULL, 0, FX_SYMLINK, "/etc/shadow"};
    REFUSED(t, PF_EENTRY_TYPE, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_hardlink)
{
    struct t *t = t_setup();
    t->ents[4] = (struct fx_entry){"fw.img", NULL, 0, FX_HARDLINK, "manifest.json"};
    REFUSED(t, PF_EENTRY_TYPE, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_device)
{
    struct t *t = t_setup();
    t->ents[4] = (struct fx_entry){"fw.img", NULL, 0, FX_CHR, NULL};
    REFUSED(t, PF_EENTRY_TYPE, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_fifo)
{
    struct t *t = t_setup();
    t->ents[4] = (struct fx_entry){"fw.img", NULL, 0, FX_FIFO, NULL};
    REFUSED(t, PF_EENTRY_TYPE, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_directory)
{
    struct t *t = t_setup();
    t->ents[4] = (struct fx_entry){"fw.img", NULL, 0, FX_DIR, NULL};
    REFUSED(t, PF_EENTRY_TYPE, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_payload_size_limit)
{
    struct t *t = t_setup();
    struct pf_trust trust = fx_trust(&t->f);
    struct pf_policy pol = fx_policy(&t->f);
    struct pf_error err = {0};
    struct counting_sink cs;
    pol.max_payload_size = 1024;
    ck_assert_int_eq(t_run_pol(t, &trust, &pol, &err, &cs), PF_ELIMIT);
    ck_assert_int_eq(cs.begins, 0);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_manifest_too_large)
{
    struct t *t = t_setup();
    static char big[PF_MANIFEST_MAX_BYTES + 10];
    memset(big, ' ', sizeof(big));
    t->ents[0].data = big;
    t->ents[0].len = sizeof(big);
    REFUSED(t, PF_ELIMIT, true);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_entry_count)
{
    /* 4 metadata + 16 declared payloads is the ceiling; a 21st entry is refused by count. */
    struct t *t = t_setup();
    static char names[PF_MANIFEST_MAX_PAYLOADS][16];
    for (int i = 1; i < PF_MANIFEST_MAX_PAYLOADS; i++) {
        snprintf(names[i], sizeof(names[i]), "part%02d.bin", i);
        fx_manifest_add(&t->m, names[i], t->data, 16);
        t->ents[4 + i] = (struct fx_entry){names[i], t->data, 16, FX_REG, NULL};
    }
    t_resign(t, FX_FW);
    t->ents[4 + PF_MANIFEST_MAX_PAYLOADS] = t->ents[5];
    t->n = 5 + PF_MANIFEST_MAX_PAYLOADS;
    REFUSED(t, PF_ELIMIT, false);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_payload_count)
{
    struct pf_manifest *m = calloc(1, sizeof(*m));
    struct fx f;
    struct pf_error err = {0};
    char *doc, *big;
    json_t *root, *pl;
    size_t mlen;

    fx_init(&f);
    fx_manifest(&f, m, FX_FW, "p0", "x", 1);
    for (int i = 1; i < PF_MANIFEST_MAX_PAYLOADS; i++) {
        char n[8];
        snprintf(n, sizeof(n), "p%d", i);
        fx_manifest_add(m, n, "x", 1);
    }
    ck_assert_int_eq(pf_manifest_encode(m, &doc, &mlen, NULL), 0);
    ck_assert_int_eq(pf_manifest_parse(doc, mlen, m, &err), 0);
    root = json_loads(doc, 0, NULL);
    pl = json_object_get(root, "payloads");
    json_array_append_new(pl, json_pack("{s:s,s:i,s:O}", "name", "p99", "size", 1, "blake2b_256",
                                        json_object_get(json_array_get(pl, 0), "blake2b_256")));
    big = json_dumps(root, 0);
    ck_assert_int_eq(pf_manifest_parse(big, strlen(big), m, &err), PF_ELIMIT);
    ck_assert_ptr_nonnull(strstr(err.msg, "payloads"));
    free(big);
    json_decref(root);
    free(doc);
    free(m);
    fx_release(&f);
}
END_TEST

START_TEST(test_refuse_not_tar)
{
    struct t *t = t_setup();
    struct pf_trust trust = fx_trust(&t->f);
    struct pf_policy pol = fx_policy(&t->f);
    struct pf_error err = {0};
    static const char junk[] = "this is not an archive at all, just text\n";
    ck_assert_int_eq(pf_bundle_read_mem(junk, sizeof(junk), &trust, &pol, NULL, NULL, &err),
                     PF_EPARSE);
    t_free(t);
}
END_TEST

/* ---- stricter reading: what the format forbids is refused before it is used ---- */

/*
 * Verifies t->bundle as it is on disk (no rewrite); asserts code and reason, and
 * (t_check_file) that extraction left nothing. A tail after the end marker is only
 * seen once the payloads have streamed, so before_payload is false for those: the
 * sink has had the bytes, but the read fails and extraction renames nothing.
 */
static void t_refused_file(struct t *t, int code, const char *reason, bool before_payload)
{
    struct pf_trust trust = fx_trust(&t->f);
    struct pf_policy pol = fx_policy(&t->f);
    struct pf_error err = {0};
    struct counting_sink cs;
    int rc = t_check_file(t, &trust, &pol, &err, &cs);

    ck_assert_msg(rc == code, "expected %s, got %s: %s", pf_errname(code), pf_errname(rc), err.msg);
    ck_assert_msg(strstr(err.msg, reason), "reason '%s' not in '%s'", reason, err.msg);
    if (before_payload)
        ck_assert_int_eq(cs.begins, 0);
}

static void t_append(const char *path, const void *buf, size_t len)
{
    FILE *fp = fopen(path, "ab");

    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(buf, 1, len, fp), len);
    ck_assert_int_eq(fclose(fp), 0);
}

static void *t_slurp(const char *path, size_t *len)
{
    char *buf = NULL;

    ck_assert_int_eq(pf_file_read(path, 64u << 20, &buf, len), 0);
    return buf;
}

START_TEST(test_refuse_entry_after_end_marker)
{
    struct t *t = t_setup();
    static const char evil[] = "#!/bin/sh\nrm -rf /\n";
    struct fx_entry extra = {"fw.img", evil, sizeof(evil) - 1, FX_REG, NULL};
    char second[400];
    void *more;
    size_t len;

    /* A second archive after the first one's end marker: `tar tf` stops at the
     * marker, a reader that skips zero blocks (tar -i) sees another fw.img. */
    fx_tar(t->bundle, t->ents, t->n, t->filter);
    snprintf(second, sizeof(second), "%s/second.tar", t->tmp);
    fx_tar(second, &extra, 1, ARCHIVE_FILTER_NONE);
    more = t_slurp(second, &len);
    t_append(t->bundle, more, len);
    free(more);
    t_refused_file(t, PF_EEXCESS, "after the tar end-of-archive marker", false);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_bytes_after_end_marker)
{
    struct t *t = t_setup();
    static const char junk[] = "appended after signing\n";

    fx_tar(t->bundle, t->ents, t->n, t->filter);
    t_append(t->bundle, junk, sizeof(junk) - 1);
    t_refused_file(t, PF_EEXCESS, "data after the tar end-of-archive marker", false);
    t_free(t);
}
END_TEST

START_TEST(test_end_marker_padding)
{
    struct t *t = t_setup();
    struct pf_trust trust = fx_trust(&t->f);
    struct pf_policy pol = fx_policy(&t->f);
    struct pf_error err = {0};
    struct counting_sink cs;
    static const char zeros[PF_BUNDLE_TAIL_MAX + 1024];

    /* fx_tar pads to tar's 10240-byte record, like GNU tar: accepted. */
    fx_tar(t->bundle, t->ents, t->n, t->filter);
    ck_assert_int_eq(t_check_file(t, &trust, &pol, &err, &cs), 0);
    ck_assert_int_eq(cs.ends, 1);
    pf_test_rmtree(t->out);
    /* More zeros than one record after the marker: refused. */
    t_append(t->bundle, zeros, sizeof(zeros));
    t_refused_file(t, PF_EEXCESS, "bytes after the tar end-of-archive marker", false);
    t_free(t);
}
END_TEST

/* Compresses path in place with gzip (one layer, no block padding). */
static void t_gzip(const char *path)
{
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    char tmp[400];
    size_t len;
    void *buf = t_slurp(path, &len);

    snprintf(tmp, sizeof(tmp), "%s.gz", path);
    ck_assert_int_eq(archive_write_set_format_raw(a), ARCHIVE_OK);
    ck_assert_int_eq(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    ck_assert_int_eq(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
    ck_assert_int_eq(archive_write_open_filename(a, tmp), ARCHIVE_OK);
    archive_entry_set_pathname(e, "data");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_size(e, (la_int64_t)len);
    ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
    ck_assert_int_eq(archive_write_data(a, buf, len), (la_ssize_t)len);
    ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    archive_entry_free(e);
    free(buf);
    ck_assert_int_eq(rename(tmp, path), 0);
}

struct counting_src {
    const unsigned char *buf;
    size_t len, off, reads;
};

static ssize_t counting_read(void *ctx, void *buf, size_t cap)
{
    struct counting_src *s = ctx;
    size_t n = s->len - s->off < cap ? s->len - s->off : cap;

    s->reads++;
    memcpy(buf, s->buf + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

START_TEST(test_refuse_gzip_thrice)
{
    struct t *t = t_setup();
    struct pf_trust trust = fx_trust(&t->f);
    struct pf_policy pol = fx_policy(&t->f);
    struct pf_error err = {0};
    struct counting_sink cs;
    struct counting_src cnt = {0};
    struct pf_bundle_source src = {counting_read, &cnt};
    size_t len;
    void *buf;

    /* Once compressed is the format: accepted. */
    fx_tar(t->bundle, t->ents, t->n, t->filter);
    t_gzip(t->bundle);
    ck_assert_int_eq(t_check_file(t, &trust, &pol, &err, &cs), 0);
    pf_test_rmtree(t->out);
    /* Three times: refused by the layer count, before the tar is reached. */
    t_gzip(t->bundle);
    t_gzip(t->bundle);
    t_refused_file(t, PF_EPARSE, "compressed 3 times (gzip, gzip, gzip)", true);
    buf = t_slurp(t->bundle, &len);
    cnt.buf = buf;
    cnt.len = len;
    memset(&cs, 0, sizeof(cs));
    ck_assert_int_eq(pf_bundle_read(&src, &trust, &pol,
                                    &(struct pf_bundle_sink){cs_begin, cs_write, cs_end, &cs}, NULL,
                                    &err),
                     PF_EPARSE);
    ck_assert_int_eq(cs.begins, 0);
    free(buf);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_xz_container)
{
    struct t *t = t_setup();
    struct pf_trust trust = fx_trust(&t->f);
    struct pf_policy pol = fx_policy(&t->f);
    struct pf_error err = {0};
    static const char xz[64] = "\xfd"
                               "7zXZ\x00\x00\x04";

    ck_assert_int_eq(pf_bundle_read_mem(xz, sizeof(xz), &trust, &pol, NULL, NULL, &err), PF_EPARSE);
    ck_assert_msg(strstr(err.msg, "xz-compressed"), "%s", err.msg);
    t_free(t);
}
END_TEST

START_TEST(test_refuse_version_leading_zero)
{
    static const char *const bad[] = {"03.0.0", "2.02.3", "2.0.00"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct t *t = t_setup();
        struct pf_trust trust = fx_trust(&t->f);
        struct pf_policy pol = fx_policy(&t->f);
        struct pf_error err = {0};
        struct counting_sink cs;

        snprintf(t->m.version, sizeof(t->m.version), "%s", bad[i]);
        t_resign(t, FX_FW);
        ck_assert_int_eq(t_run_pol(t, &trust, &pol, &err, &cs), PF_ERANGE);
        ck_assert_msg(strstr(err.msg, "leading zero"), "%s", err.msg);
        ck_assert_int_eq(cs.begins, 0);
        t_free(t);
    }
}
END_TEST

START_TEST(test_refuse_key_id_not_canonical)
{
    struct t *t = t_setup();
    char *k;

    /* The same key id in lower case, validly signed: one key, one spelling. */
    k = strstr(t->doc, "\"key_id\": \"");
    ck_assert_ptr_nonnull(k);
    for (char *c = k + 11; *c != '"'; c++)
        *c = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
    ck_assert_int_eq(pf_ms_sign(&t->f.sec[FX_FW], t->doc, t->mlen, "fixture manifest", t->sig,
                                sizeof(t->sig), &t->siglen, NULL),
                     0);
    fx_meta(&t->f, t->ents, t->doc, t->mlen, t->sig, t->siglen);
    {
        struct pf_error err = {0};
        struct counting_sink cs;
        struct pf_trust trust = fx_trust(&t->f);
        struct pf_policy pol = fx_policy(&t->f);
        ck_assert_int_eq(t_run_pol(t, &trust, &pol, &err, &cs), PF_ERANGE);
        ck_assert_msg(strstr(err.msg, "key_id") && strstr(err.msg, "not canonical"), "%s", err.msg);
        ck_assert_int_eq(cs.begins, 0);
    }
    t_free(t);
}
END_TEST

START_TEST(test_refuse_created_future)
{
    struct t *t = t_setup();
    struct pf_trust trust = fx_trust(&t->f);
    struct pf_policy pol = fx_policy(&t->f);
    struct pf_error err = {0};
    struct counting_sink cs;

    /* Within the skew: accepted. */
    t->m.created = t->f.now + PF_MANIFEST_CREATED_SKEW - 60;
    t_resign(t, FX_FW);
    ck_assert_int_eq(t_run_pol(t, &trust, &pol, &err, &cs), 0);
    pf_test_rmtree(t->out);
    /* A bundle "from next week": refused. */
    t->m.created = t->f.now + 7 * 86400;
    t->m.expires = t->f.now + 60 * 86400;
    t_resign(t, FX_FW);
    ck_assert_int_eq(t_run_pol(t, &trust, &pol, &err, &cs), PF_ERANGE);
    ck_assert_msg(strstr(err.msg, "created") && strstr(err.msg, "in the future"), "%s", err.msg);
    ck_assert_int_eq(cs.begins, 0);
    t_free(t);
}
END_TEST

/* Offsets of each entry's header and data in an uncompressed bundle. */
static size_t entry_offsets(const char *path, int64_t *hdr, int64_t *data, int64_t *size,
                            size_t max)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    size_t n = 0;

    archive_read_support_format_tar(a);
    ck_assert_int_eq(archive_read_open_filename(a, path, 10240), ARCHIVE_OK);
    while (n < max && archive_read_next_header(a, &e) == ARCHIVE_OK) {
        hdr[n] = archive_read_header_position(a);
        size[n] = archive_entry_size(e);
        n++;
    }
    archive_read_free(a);
    /* pax_restricted writes plain ustar headers for these short names: data follows at +512. */
    for (size_t i = 0; i < n; i++)
        data[i] = hdr[i] + 512;
    return n;
}

START_TEST(test_bitflips)
{
    struct t *t = t_setup();
    struct pf_trust trust = fx_trust(&t->f);
    struct pf_policy pol = fx_policy(&t->f);
    int64_t hdr[8], data[8], size[8];
    char *orig;
    size_t len, n;
    int tried = 0;

    fx_tar(t->bundle, t->ents, t->n, ARCHIVE_FILTER_NONE);
    ck_assert_int_eq(pf_file_read(t->bundle, 1 << 20, &orig, &len), 0);
    n = entry_offsets(t->bundle, hdr, data, size, 8);
    ck_assert_uint_eq(n, 5);
    for (size_t i = 0; i < n; i++) {
        int64_t spots[] = {hdr[i] + 0, hdr[i] + 100,          hdr[i] + 124,         hdr[i] + 150,
                           data[i],    data[i] + size[i] / 2, data[i] + size[i] - 1};
        for (size_t s = 0; s < sizeof(spots) / sizeof(spots[0]); s++) {
            for (int bit = 0; bit < 8; bit += 3) {
                struct pf_error err = {0};
                char *buf = malloc(len);
                int rc;
                memcpy(buf, orig, len);
                buf[spots[s]] ^= (char)(1 << bit);
                rc = pf_bundle_read_mem(buf, len, &trust, &pol, NULL, NULL, &err);
                ck_assert_msg(rc != 0, "flip at %lld bit %d accepted", (long long)spots[s], bit);
                if (spots[s] >= data[i] && i == 4)
                    ck_assert_int_eq(rc, PF_EDIGEST);
                if (spots[s] >= data[i] && (i == 0 || i == 1))
                    ck_assert_int_eq(rc, PF_EBAD_SIG);
                free(buf);
                tried++;
            }
        }
    }
    ck_assert_int_ge(tried, 100);
    free(orig);
    t_free(t);
}
END_TEST

START_TEST(test_truncations)
{
    struct t *t = t_setup();
    struct pf_trust trust = fx_trust(&t->f);
    struct pf_policy pol = fx_policy(&t->f);
    char *orig, path[400];
    size_t len;

    fx_tar(t->bundle, t->ents, t->n, ARCHIVE_FILTER_NONE);
    ck_assert_int_eq(pf_file_read(t->bundle, 1 << 20, &orig, &len), 0);
    /* Every cut that removes part of an entry must be refused; the end-of-archive
     * blocks may go (tar readers accept a missing trailer). */
    int64_t hdr[8], data[8], size[8];
    size_t n = entry_offsets(t->bundle, hdr, data, size, 8);
    size_t end = (size_t)(data[n - 1] + size[n - 1]);
    for (size_t cut = 0; cut < end; cut += cut < 4096 ? 97 : 509) {
        struct pf_error err = {0};
        int rc = pf_bundle_read_mem(orig, cut, &trust, &pol, NULL, NULL, &err);
        ck_assert_msg(rc != 0, "truncation at %zu accepted", cut);
    }
    /* And through extraction: nothing is left behind. */
    snprintf(path, sizeof(path), "%s/cut.tar", t->tmp);
    ck_assert_int_eq(pf_file_write_atomic(path, orig, end - 100, 0644), 0);
    {
        struct pf_error err = {0};
        ck_assert_int_eq(pf_bundle_extract(path, t->out, &trust, &pol, NULL, &err), PF_ESIZE);
        ck_assert_int_eq(access(t->out, F_OK), -1); /* created by extract, removed again */
    }
    free(orig);
    t_free(t);
}
END_TEST

static Suite *bundle_suite(void)
{
    Suite *s = suite_create("bundle");
    TCase *ok = tcase_create("roundtrip"), *att = tcase_create("attacks"),
          *cor = tcase_create("corruption");

    tcase_add_test(ok, test_roundtrip_extract);
    tcase_add_test(ok, test_roundtrip_compressed_and_multi);
    tcase_add_test(ok, test_root_rotation_chain_accepted);
    tcase_add_test(ok, test_payload_verifier_digest);
    tcase_add_test(att, test_refuse_bad_sig);
    tcase_add_test(att, test_refuse_no_sig);
    tcase_add_test(att, test_refuse_empty_sig);
    tcase_add_test(att, test_refuse_key_unknown);
    tcase_add_test(att, test_refuse_key_revoked);
    tcase_add_test(att, test_refuse_key_expired);
    tcase_add_test(att, test_refuse_key_role);
    tcase_add_test(att, test_refuse_key_id_mismatch);
    tcase_add_test(att, test_refuse_root_chain_foreign_root);
    tcase_add_test(att, test_refuse_root_chain_bad_endorsement);
    tcase_add_test(att, test_refuse_keyring_tampered);
    tcase_add_test(att, test_refuse_keyring_rollback);
    tcase_add_test(att, test_refuse_revoked_after_pack);
    tcase_add_test(att, test_refuse_expired);
    tcase_add_test(att, test_refuse_rollback);
    tcase_add_test(att, test_refuse_model);
    tcase_add_test(att, test_refuse_hwrev);
    tcase_add_test(att, test_refuse_size_short);
    tcase_add_test(att, test_refuse_digest);
    tcase_add_test(att, test_refuse_excess_entry);
    tcase_add_test(att, test_refuse_endless_stream);
    tcase_add_test(att, test_payload_verifier_endless);
    tcase_add_test(att, test_refuse_missing_payload);
    tcase_add_test(att, test_refuse_missing_manifest);
    tcase_add_test(att, test_refuse_missing_keyring);
    tcase_add_test(att, test_refuse_extra_entry);
    tcase_add_test(att, test_refuse_duplicate_payload);
    tcase_add_test(att, test_refuse_absolute_path);
    tcase_add_test(att, test_refuse_dotdot);
    tcase_add_test(att, test_refuse_symlink);
    tcase_add_test(att, test_refuse_hardlink);
    tcase_add_test(att, test_refuse_device);
    tcase_add_test(att, test_refuse_fifo);
    tcase_add_test(att, test_refuse_directory);
    tcase_add_test(att, test_refuse_payload_size_limit);
    tcase_add_test(att, test_refuse_manifest_too_large);
    tcase_add_test(att, test_refuse_entry_count);
    tcase_add_test(att, test_refuse_payload_count);
    tcase_add_test(att, test_refuse_not_tar);
    tcase_add_test(att, test_refuse_entry_after_end_marker);
    tcase_add_test(att, test_refuse_bytes_after_end_marker);
    tcase_add_test(att, test_end_marker_padding);
    tcase_add_test(att, test_refuse_gzip_thrice);
    tcase_add_test(att, test_refuse_xz_container);
    tcase_add_test(att, test_refuse_version_leading_zero);
    tcase_add_test(att, test_refuse_key_id_not_canonical);
    tcase_add_test(att, test_refuse_created_future);
    tcase_add_test(cor, test_bitflips);
    tcase_add_test(cor, test_truncations);
    tcase_set_timeout(cor, 60);
    suite_add_tcase(s, ok);
    suite_add_tcase(s, att);
    suite_add_tcase(s, cor);
    return s;
}

int main(void)
{
    return pf_test_run(bundle_suite());
}
