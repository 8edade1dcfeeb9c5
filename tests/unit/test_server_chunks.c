/*
 * test_server_chunks.c - posfleetd's artifacts and chunk server with a real
 * signed bundle (bundle_fixture.h): uploads verified (tampered and compressed
 * ones refused, nothing written), content-addressed and idempotent; chunk
 * requests answered with the exact bytes, or with unknown_bundle,
 * out_of_range, too_large and busy replies, never silence; the in-flight
 * window freed by written messages. With an allow function (posfleetd's
 * offers): only the offered bundle, within its byte budget; everything else
 * silence, counted.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "updates/artifacts.h"
#include "bundle_fixture.h"
#include "updates/chunks.h"
#include "pf/fileio.h"
#include "testutil.h"

static char dir[256];
static char artdir[300];
static char rootpub[300];
static struct fx fx;

/* What the chunk server published. */
struct sent {
    int n;
    char topic[8][PF_TOPIC_MAX];
    uint8_t *buf[8];
    size_t len[8];
    int next_mid;
    bool fail;
};
static struct sent sent;

static int capture(void *ctx, const char *topic, const void *buf, size_t len, int qos, int *mid)
{
    struct sent *s = ctx;

    (void)qos;
    if (s->fail)
        return PF_ECONN;
    ck_assert_int_lt(s->n, 8);
    snprintf(s->topic[s->n], PF_TOPIC_MAX, "%s", topic);
    s->buf[s->n] = malloc(len + 1);
    memcpy(s->buf[s->n], buf, len);
    s->buf[s->n][len] = 0;
    s->len[s->n] = len;
    s->n++;
    *mid = ++s->next_mid;
    return 0;
}

static void sent_reset(void)
{
    for (int i = 0; i < sent.n; i++)
        free(sent.buf[i]);
    sent.n = 0;
}

static void setup(void)
{
    struct pf_error err = {0};

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(artdir, sizeof(artdir), "%s/art", dir);
    snprintf(rootpub, sizeof(rootpub), "%s/root.pub", dir);
    fx_init(&fx);
    ck_assert_int_eq(pf_ms_pubkey_save(rootpub, &fx.root_pub, &err), 0);
    memset(&sent, 0, sizeof(sent));
}

static void teardown(void)
{
    sent_reset();
    fx_release(&fx);
    pf_test_rmtree(dir);
}

static int dir_entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* A good bundle with a payload of n pseudo-random bytes, read into memory. */
static char *make_bundle(const char *name, size_t n, int filter, size_t *len)
{
    char path[400];
    uint8_t *data = malloc(n);
    char *buf = NULL;

    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i * 2654435761u >> 13);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fx_good_bundle(&fx, path, data, n, filter);
    free(data);
    ck_assert_int_eq(pf_file_read(path, 64u << 20, &buf, len), 0);
    return buf;
}

START_TEST(upload_verified_and_idempotent)
{
    struct pfs_artifacts a;
    struct pfs_bundle_rec rec, again;
    struct pf_error err = {0};
    char path[PATH_MAX], *file, *stored;
    size_t len, slen;
    uint8_t id[PF_B2_LEN];
    char hex[PF_B2_HEX_LEN + 1];

    ck_assert_int_eq(pfs_artifacts_init(&a, artdir, rootpub, "", &err), 0);
    file = make_bundle("fw.tar", 300000, ARCHIVE_FILTER_NONE, &len);

    /* Tampered: the verifier's code, nothing stored. */
    file[len - 2000] ^= 0x01;
    ck_assert_int_eq(pfs_artifacts_put(&a, file, len, fx.now, &rec, &err), PF_EDIGEST);
    ck_assert_int_eq(dir_entries(artdir), 0);
    file[len - 2000] ^= 0x01;

    ck_assert_int_eq(pfs_artifacts_put(&a, file, len, fx.now, &rec, &err), 0);
    pf_b2_buf(file, len, id);
    pf_b2_hex(id, hex);
    ck_assert_str_eq(rec.id, hex);
    ck_assert_str_eq(rec.version, "2.0.0");
    ck_assert_str_eq(rec.models, "PX-200,PX-210");
    ck_assert_str_eq(rec.hw_revs, "A,B");
    ck_assert_int_eq(rec.kind, PF_KIND_FIRMWARE);
    ck_assert_int_eq(rec.size, len);
    ck_assert_int_eq(pfs_artifacts_path(&a, rec.id, path, sizeof(path)), 0);
    ck_assert_int_eq(pf_file_read(path, 64u << 20, &stored, &slen), 0);
    ck_assert_int_eq(slen, len);
    ck_assert(memcmp(stored, file, len) == 0);
    free(stored);
    ck_assert_int_eq(pfs_artifacts_put(&a, file, len, fx.now, &again, &err), 0);
    ck_assert_str_eq(again.id, rec.id);
    ck_assert_int_eq(dir_entries(artdir), 1);

    /* Expired at upload time: refused with the verifier's code. */
    ck_assert_int_eq(pfs_artifacts_put(&a, file, len, fx.now + 40 * 86400, &again, &err),
                     PF_EEXPIRED);
    ck_assert_int_eq(dir_entries(artdir), 1);
    free(file);
    pfs_artifacts_release(&a);
}
END_TEST

START_TEST(upload_refusals)
{
    struct pfs_artifacts a;
    struct pfs_bundle_rec rec;
    struct pf_error err = {0};
    char *file;
    size_t len;

    /* No trust root: nothing can be verified, so nothing is accepted. */
    ck_assert_int_eq(pfs_artifacts_init(&a, artdir, "", "", &err), 0);
    file = make_bundle("fw.tar", 5000, ARCHIVE_FILTER_NONE, &len);
    ck_assert_int_eq(pfs_artifacts_put(&a, file, len, fx.now, &rec, &err), PF_ESTATE);
    free(file);
    pfs_artifacts_release(&a);

    /* Compressed: verified fine, but ranges would not be plain bytes. */
    ck_assert_int_eq(pfs_artifacts_init(&a, artdir, rootpub, "", &err), 0);
    file = make_bundle("fw.tar.gz", 5000, ARCHIVE_FILTER_GZIP, &len);
    ck_assert_int_eq(pfs_artifacts_put(&a, file, len, fx.now, &rec, &err), PF_EINVAL);
    ck_assert_int_eq(dir_entries(artdir), 0);
    free(file);
    /* Not a bundle at all. */
    ck_assert_int_ne(pfs_artifacts_put(&a, "hello", 5, fx.now, &rec, &err), 0);
    ck_assert_int_eq(dir_entries(artdir), 0);
    pfs_artifacts_release(&a);
}
END_TEST

struct rig {
    struct pfs_artifacts a;
    struct pfs_chunks c;
    struct pfs_bundle_rec rec;
    uint8_t id[PF_B2_LEN];
    char *file;
    size_t len;
};

static void rig_init(struct rig *r, uint32_t chunk_max, int window)
{
    struct pf_error err = {0};

    ck_assert_int_eq(pfs_artifacts_init(&r->a, artdir, rootpub, "", &err), 0);
    r->file = make_bundle("fw.tar", 200000, ARCHIVE_FILTER_NONE, &r->len);
    ck_assert_int_eq(pfs_artifacts_put(&r->a, r->file, r->len, fx.now, &r->rec, &err), 0);
    ck_assert_int_eq(pf_b2_from_hex(r->rec.id, r->id), 0);
    ck_assert_int_eq(pfs_chunks_init(&r->c, &r->a, &pf_clock_system, chunk_max, window, capture,
                                     &sent, &err),
                     0);
}

static void rig_release(struct rig *r)
{
    pfs_chunks_release(&r->c);
    pfs_artifacts_release(&r->a);
    free(r->file);
}

static int request(struct rig *r, const uint8_t *bundle, uint64_t off, uint32_t len, uint32_t req)
{
    struct pf_chunkreq q = {.offset = off, .length = len, .req = req};
    char buf[512];
    size_t blen;

    memcpy(q.bundle, bundle, PF_B2_LEN);
    ck_assert_int_eq(pf_chunkreq_encode(&q, buf, sizeof(buf), &blen), 0);
    return pfs_chunks_request(&r->c, "T1", buf, blen);
}

static void expect_chunkerr(int i, enum pf_chunk_errcode code, uint32_t req)
{
    struct pf_chunkerr e;
    struct pf_error err = {0};

    ck_assert_str_eq(sent.topic[i], "pf/v1/cmd/T1/chunkerr");
    ck_assert_int_eq(pf_chunkerr_decode((char *)sent.buf[i], sent.len[i], &e, &err), 0);
    ck_assert_int_eq(e.error, code);
    ck_assert_uint_eq(e.req, req);
}

START_TEST(chunks_exact_bytes)
{
    struct rig r;
    struct pf_chunk_hdr h;
    const uint8_t *data;
    struct pf_error err = {0};

    rig_init(&r, 65536, 4);
    ck_assert_int_eq(request(&r, r.id, 1000, 4096, 7), 0);
    ck_assert_int_eq(sent.n, 1);
    ck_assert_str_eq(sent.topic[0], "pf/v1/cmd/T1/chunk");
    ck_assert_int_eq(sent.len[0], PF_CHUNK_HDR_LEN + 4096);
    ck_assert_int_eq(pf_chunk_decode(sent.buf[0], sent.len[0], &h, &data, &err), 0);
    ck_assert(memcmp(h.bundle, r.id, PF_B2_LEN) == 0);
    ck_assert_uint_eq(h.offset, 1000);
    ck_assert_uint_eq(h.req, 7);
    ck_assert(memcmp(data, r.file + 1000, 4096) == 0);
    /* The last byte of the bundle. */
    ck_assert_int_eq(request(&r, r.id, r.len - 1, 1, 8), 0);
    ck_assert_int_eq(pf_chunk_decode(sent.buf[1], sent.len[1], &h, &data, &err), 0);
    ck_assert_uint_eq(data[0], (uint8_t)r.file[r.len - 1]);
    ck_assert_uint_eq(r.c.stats.chunks, 2);
    ck_assert_uint_eq(r.c.stats.bytes, 4097);
    rig_release(&r);
}
END_TEST

START_TEST(chunk_errors_not_silence)
{
    struct rig r;
    uint8_t other[PF_B2_LEN];

    rig_init(&r, 8192, 4);
    memset(other, 0x5a, sizeof(other));
    ck_assert_int_eq(request(&r, other, 0, 1024, 1), PF_ENOENT);
    expect_chunkerr(0, PF_CHUNKERR_UNKNOWN_BUNDLE, 1);
    ck_assert_int_eq(request(&r, r.id, r.len, 1, 2), PF_ERANGE);
    expect_chunkerr(1, PF_CHUNKERR_OUT_OF_RANGE, 2);
    ck_assert_int_eq(request(&r, r.id, r.len - 10, 11, 3), PF_ERANGE);
    expect_chunkerr(2, PF_CHUNKERR_OUT_OF_RANGE, 3);
    ck_assert_int_eq(request(&r, r.id, 0, 8193, 4), PF_ETOOBIG);
    expect_chunkerr(3, PF_CHUNKERR_TOO_LARGE, 4);
    ck_assert_uint_eq(r.c.stats.chunks, 0);
    /* A request the codec refuses cannot be answered: counted, nothing sent. */
    ck_assert_int_ne(pfs_chunks_request(&r.c, "T1", "{\"v\":1}", 7), 0);
    ck_assert_int_eq(sent.n, 4);
    ck_assert_uint_eq(r.c.stats.bad, 1);
    rig_release(&r);
}
END_TEST

START_TEST(window_busy_until_written)
{
    struct rig r;

    rig_init(&r, 8192, 2);
    ck_assert_int_eq(request(&r, r.id, 0, 1024, 1), 0);    /* mid 1 */
    ck_assert_int_eq(request(&r, r.id, 1024, 1024, 2), 0); /* mid 2 */
    ck_assert_int_eq(request(&r, r.id, 2048, 1024, 3), PF_ELIMIT);
    expect_chunkerr(2, PF_CHUNKERR_BUSY, 3);
    /* Another terminal has its own window. */
    {
        struct pf_chunkreq q = {.offset = 0, .length = 1024, .req = 9};
        char buf[512];
        size_t blen;

        memcpy(q.bundle, r.id, PF_B2_LEN);
        ck_assert_int_eq(pf_chunkreq_encode(&q, buf, sizeof(buf), &blen), 0);
        ck_assert_int_eq(pfs_chunks_request(&r.c, "T2", buf, blen), 0);
    }
    pfs_chunks_published(&r.c, 1); /* the first chunk reached the connection */
    ck_assert_int_eq(request(&r, r.id, 2048, 1024, 4), 0);
    ck_assert_int_eq(request(&r, r.id, 3072, 1024, 5), PF_ELIMIT);
    /* Publishing failures are reported, not counted as sent. */
    pfs_chunks_published(&r.c, 2);
    sent.fail = true;
    ck_assert_int_eq(request(&r, r.id, 3072, 1024, 6), PF_ECONN);
    ck_assert_uint_eq(r.c.stats.chunks, 4);
    rig_release(&r);
}
END_TEST

/* The offers as the allow function sees them: one bundle, one offer, a budget. */
struct offers {
    uint8_t bundle[PF_B2_LEN];
    char offer[PF_UPDATE_ID_MAX + 1];
    uint64_t budget;
    int calls;
    int64_t now;
};

static int offers_allow(void *ctx, const char *serial, const uint8_t bundle[PF_B2_LEN],
                        char offer[PF_UPDATE_ID_MAX + 1], uint64_t *budget)
{
    struct offers *o = ctx;

    o->calls++;
    if (strcmp(serial, "T1") != 0 || memcmp(bundle, o->bundle, PF_B2_LEN) != 0)
        return PF_ENOT_OFFERED;
    snprintf(offer, PF_UPDATE_ID_MAX + 1, "%s", o->offer);
    *budget = o->budget;
    return 0;
}

static int64_t offers_now(void *ctx)
{
    return ((struct offers *)ctx)->now;
}

START_TEST(only_the_offered_bundle_within_budget)
{
    struct offers o = {.budget = 3000, .now = 1000000};
    struct pf_clock clock = {offers_now, offers_now, &o};
    struct rig r;
    uint8_t other[PF_B2_LEN];

    rig_init(&r, 8192, 16);
    r.c.clock = &clock;
    memcpy(o.bundle, r.id, PF_B2_LEN);
    snprintf(o.offer, sizeof(o.offer), "o1");
    pfs_chunks_set_allow(&r.c, offers_allow, &o);
    /* Not offered: silence, not unknown_bundle, so nothing is learnt about what is stored. */
    memset(other, 0x5a, sizeof(other));
    ck_assert_int_eq(request(&r, other, 0, 1024, 1), PF_ENOT_OFFERED);
    ck_assert_int_eq(sent.n, 0);
    ck_assert_uint_eq(r.c.stats.refused[PFS_CHUNKS_NOT_OFFERED], 1);
    /* Offered: served up to the budget; the answer is kept, not asked per chunk. */
    ck_assert_int_eq(request(&r, r.id, 0, 1024, 2), 0);
    ck_assert_int_eq(request(&r, r.id, 1024, 1024, 3), 0);
    ck_assert_int_eq(o.calls, 2);
    ck_assert_int_eq(request(&r, r.id, 2048, 1024, 4), PF_ELIMIT); /* 3072 > 3000 */
    ck_assert_int_eq(request(&r, r.id, 2048, 952, 5), 0);          /* exactly 3000 */
    ck_assert_int_eq(request(&r, r.id, 0, 1, 6), PF_ELIMIT);
    ck_assert_int_eq(sent.n, 3);
    ck_assert_uint_eq(r.c.stats.refused[PFS_CHUNKS_BUDGET], 2);
    ck_assert_uint_eq(r.c.stats.errors[PF_CHUNKERR_BUSY], 0);
    /* The same offer asked again later keeps its count; a new offer has a new budget. */
    o.now += PFS_CHUNKS_RECHECK_MS;
    ck_assert_int_eq(request(&r, r.id, 0, 1, 7), PF_ELIMIT);
    ck_assert_int_eq(o.calls, 3);
    snprintf(o.offer, sizeof(o.offer), "o2");
    o.now += PFS_CHUNKS_RECHECK_MS;
    ck_assert_int_eq(request(&r, r.id, 0, 1024, 8), 0);
    /* The offer ends (a final outcome): no more chunks once the answer is asked again. */
    memset(o.bundle, 0, sizeof(o.bundle));
    ck_assert_int_eq(request(&r, r.id, 1024, 1024, 9), 0); /* kept answer, < 5 s */
    o.now += PFS_CHUNKS_RECHECK_MS;
    ck_assert_int_eq(request(&r, r.id, 2048, 1024, 10), PF_ENOT_OFFERED);
    ck_assert_int_eq(sent.n, 5);
    rig_release(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("server_chunks");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, upload_verified_and_idempotent);
    tcase_add_test(tc, upload_refusals);
    tcase_add_test(tc, chunks_exact_bytes);
    tcase_add_test(tc, chunk_errors_not_silence);
    tcase_add_test(tc, window_busy_until_written);
    tcase_add_test(tc, only_the_offered_bundle_within_budget);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
