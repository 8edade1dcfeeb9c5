/*
 * test_update_msg.c - update protocol codecs (pf/msg_update.h): round trips,
 * every rejection with its exact code, chunk frame layout, and the offer
 * builder on a real tar bundle.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <string.h>

#include "pf/msg_update.h"
#include "testutil.h"

static void offer_sample(struct pf_offer *o)
{
    static const char *const names[] = {"manifest.json", "manifest.json.minisig", "keyring.json",
                                        "keyring.json.minisig", "fw.img"};

    memset(o, 0, sizeof(*o));
    snprintf(o->id, sizeof(o->id), "offer-42");
    memset(o->bundle, 0xab, PF_B2_LEN);
    o->kind = PF_KIND_FIRMWARE;
    snprintf(o->version, sizeof(o->version), "1.4.2");
    o->size = 10240;
    memset(o->manifest, 0x01, PF_B2_LEN);
    o->deadline_ms = 1764220000000LL;
    o->max_chunk = 65536;
    o->nentries = 5;
    for (size_t i = 0; i < 5; i++) {
        snprintf(o->entries[i].name, sizeof(o->entries[i].name), "%s", names[i]);
        o->entries[i].offset = 512 + i * 1024;
        o->entries[i].size = 100 + i;
    }
}

/* Replaces the first occurrence of from with to in buf. */
static void replace(char *buf, size_t cap, const char *from, const char *to)
{
    char out[PF_UPDATE_MSG_MAX * 2];
    char *p = strstr(buf, from);

    ck_assert_msg(p != NULL, "%s not in %s", from, buf);
    snprintf(out, sizeof(out), "%.*s%s%s", (int)(p - buf), buf, to, p + strlen(from));
    ck_assert_uint_lt(strlen(out), cap);
    memcpy(buf, out, strlen(out) + 1);
}

START_TEST(offer_round_trip)
{
    struct pf_offer o, d;
    struct pf_error err = {0};
    char buf[PF_UPDATE_MSG_MAX];
    size_t len;

    offer_sample(&o);
    snprintf(o.url, sizeof(o.url), "https://cdn.example/b.tar");
    ck_assert_int_eq(pf_offer_encode(&o, buf, sizeof(buf), &len), 0);
    ck_assert_int_eq(pf_offer_decode(buf, len, &d, &err), 0);
    ck_assert_str_eq(d.id, "offer-42");
    ck_assert_mem_eq(d.bundle, o.bundle, PF_B2_LEN);
    ck_assert_mem_eq(d.manifest, o.manifest, PF_B2_LEN);
    ck_assert_int_eq(d.kind, PF_KIND_FIRMWARE);
    ck_assert_str_eq(d.version, "1.4.2");
    ck_assert_uint_eq(d.size, 10240);
    ck_assert_int_eq(d.deadline_ms, o.deadline_ms);
    ck_assert_uint_eq(d.max_chunk, 65536);
    ck_assert_uint_eq(d.nentries, 5);
    ck_assert_str_eq(d.entries[4].name, "fw.img");
    ck_assert_uint_eq(d.entries[4].offset, 512 + 4 * 1024);
    ck_assert_uint_eq(d.entries[4].size, 104);
    ck_assert_str_eq(d.url, "https://cdn.example/b.tar");
    ck_assert_ptr_eq(pf_offer_entry_find(&d, "keyring.json"), &d.entries[2]);
    ck_assert_ptr_null(pf_offer_entry_find(&d, "nope"));
}
END_TEST

static const struct {
    const char *from, *to;
    int code;
} offer_bad[] = {
        {"\"v\":1", "\"v\":2", PF_EVERSION},
        {"\"id\":\"offer-42\"", "\"id\":\"off er\"", PF_ERANGE},
        {"\"id\":\"offer-42\"", "\"id\":\"\"", PF_ERANGE},
        {"\"id\":\"offer-42\"", "\"idx\":\"a\"", PF_ESCHEMA},
        {"\"bundle\":\"abab", "\"bundle\":\"ABAB", PF_ERANGE},
        {"\"kind\":\"firmware\"", "\"kind\":\"kernel\"", PF_ERANGE},
        {"\"version\":\"1.4.2\"", "\"version\":\"1.x\"", PF_ERANGE},
        {"\"size\":10240", "\"size\":0", PF_ERANGE},
        {"\"size\":10240", "\"size\":\"10240\"", PF_ESCHEMA},
        {"\"max_chunk\":65536", "\"max_chunk\":100", PF_ERANGE},
        {"\"max_chunk\":65536", "\"max_chunk\":999999999", PF_ERANGE},
        {"\"deadline\":1764220000000", "\"deadline\":-1", PF_ERANGE},
        {"\"name\":\"fw.img\"", "\"name\":\"../etc/passwd\"", PF_EUNSAFE_PATH},
        {"\"name\":\"fw.img\"", "\"name\":\"keyring.json\"", PF_EEXTRA_ENTRY},
        {"\"name\":\"manifest.json\"", "\"name\":\"other.bin\"", PF_EMISSING_ENTRY},
        {"\"offset\":4608", "\"offset\":10200", PF_ERANGE},
        {"\"size\":104", "\"size\":99999", PF_ERANGE},
        {"\"entries\":[", "\"entries\":{\"x\":1},\"zz\":[", PF_ESCHEMA},
        {"\"manifest\":\"0101", "\"manifest\":\"zz01", PF_ERANGE},
        {"}", ",\"url\":\"http://x/\"}", PF_ERANGE},
};

START_TEST(offer_rejections)
{
    struct pf_offer o, d;
    struct pf_error err;
    char buf[PF_UPDATE_MSG_MAX];
    size_t len;

    offer_sample(&o);
    ck_assert_int_eq(pf_offer_encode(&o, buf, sizeof(buf), &len), 0);
    /* The closing brace rule must hit the last one: append url at the end. */
    if (_i == (int)(sizeof(offer_bad) / sizeof(offer_bad[0])) - 1) {
        snprintf(buf + len - 1, sizeof(buf) - len + 1, ",\"url\":\"http://x/\"}");
    } else {
        replace(buf, sizeof(buf), offer_bad[_i].from, offer_bad[_i].to);
    }
    pf_error_clear(&err);
    ck_assert_int_eq(pf_offer_decode(buf, strlen(buf), &d, &err), offer_bad[_i].code);
    ck_assert_int_eq(err.code, offer_bad[_i].code);
    ck_assert_msg(strncmp(err.msg, "offer", 5) == 0, "message: %s", err.msg);
}
END_TEST

START_TEST(offer_too_few_entries)
{
    struct pf_offer o, d;
    struct pf_error err = {0};
    char buf[PF_UPDATE_MSG_MAX];
    size_t len;

    offer_sample(&o);
    o.nentries = 4;
    ck_assert_int_eq(pf_offer_encode(&o, buf, sizeof(buf), &len), 0);
    ck_assert_int_eq(pf_offer_decode(buf, len, &d, &err), PF_ERANGE);
    ck_assert_int_eq(pf_offer_decode("{\"v\":1", 6, &d, &err), PF_EPARSE);
}
END_TEST

START_TEST(chunkreq_round_trip_and_rejections)
{
    struct pf_chunkreq r = {{0}, 123456789, 65536, 7}, d;
    struct pf_error err = {0};
    char buf[512];
    size_t len;

    memset(r.bundle, 0x5a, PF_B2_LEN);
    ck_assert_int_eq(pf_chunkreq_encode(&r, buf, sizeof(buf), &len), 0);
    ck_assert_int_eq(pf_chunkreq_decode(buf, len, &d, &err), 0);
    ck_assert_mem_eq(d.bundle, r.bundle, PF_B2_LEN);
    ck_assert_uint_eq(d.offset, 123456789);
    ck_assert_uint_eq(d.length, 65536);
    ck_assert_uint_eq(d.req, 7);

    replace(buf, sizeof(buf), "\"length\":65536", "\"length\":0");
    ck_assert_int_eq(pf_chunkreq_decode(buf, strlen(buf), &d, &err), PF_ERANGE);
    replace(buf, sizeof(buf), "\"length\":0", "\"length\":262145");
    ck_assert_int_eq(pf_chunkreq_decode(buf, strlen(buf), &d, &err), PF_ERANGE);
    replace(buf, sizeof(buf), "\"length\":262145", "\"len\":1");
    ck_assert_int_eq(pf_chunkreq_decode(buf, strlen(buf), &d, &err), PF_ESCHEMA);
    /* Valid JSON of another type is not a message: PARSE, not SCHEMA. */
    ck_assert_int_eq(pf_chunkreq_decode("[]", 2, &d, &err), PF_EPARSE);
    ck_assert_int_eq(pf_chunkreq_decode("7", 1, &d, &err), PF_EPARSE);
    ck_assert_int_eq(pf_chunkreq_decode("{", 1, &d, &err), PF_EPARSE);
}
END_TEST

START_TEST(chunk_frame_layout)
{
    struct pf_chunk_hdr h = {{0}, 0x0010203040506070ULL, 3, 0xa1b2c3d4}, d;
    uint8_t frame[PF_CHUNK_HDR_LEN + 3];
    const uint8_t *data = NULL;
    struct pf_error err = {0};

    memset(h.bundle, 0xee, PF_B2_LEN);
    pf_chunk_hdr_encode(&h, frame);
    memcpy(frame + PF_CHUNK_HDR_LEN, "xyz", 3);
    ck_assert_mem_eq(frame, "PFCK\x01\x00\x00\x38", 8);
    ck_assert_mem_eq(frame + 40, "\x00\x10\x20\x30\x40\x50\x60\x70", 8);
    ck_assert_mem_eq(frame + 48, "\x00\x00\x00\x03", 4);
    ck_assert_mem_eq(frame + 52, "\xa1\xb2\xc3\xd4", 4);
    ck_assert_int_eq(pf_chunk_decode(frame, sizeof(frame), &d, &data, &err), 0);
    ck_assert_mem_eq(d.bundle, h.bundle, PF_B2_LEN);
    ck_assert_uint_eq(d.offset, h.offset);
    ck_assert_uint_eq(d.length, 3);
    ck_assert_uint_eq(d.req, h.req);
    ck_assert_ptr_eq(data, frame + PF_CHUNK_HDR_LEN);
}
END_TEST

START_TEST(chunk_frame_rejections)
{
    struct pf_chunk_hdr h = {{0}, 10, 3, 1}, d;
    uint8_t frame[PF_CHUNK_HDR_LEN + 3], bad[sizeof(frame)];
    const uint8_t *data = NULL;
    struct pf_error err = {0};

    pf_chunk_hdr_encode(&h, frame);
    ck_assert_int_eq(pf_chunk_decode(frame, 10, &d, &data, &err), PF_EPARSE);
    memcpy(bad, frame, sizeof(bad));
    bad[0] = 'X';
    ck_assert_int_eq(pf_chunk_decode(bad, sizeof(bad), &d, &data, &err), PF_EPARSE);
    memcpy(bad, frame, sizeof(bad));
    bad[4] = 2;
    ck_assert_int_eq(pf_chunk_decode(bad, sizeof(bad), &d, &data, &err), PF_EVERSION);
    memcpy(bad, frame, sizeof(bad));
    bad[5] = 1;
    ck_assert_int_eq(pf_chunk_decode(bad, sizeof(bad), &d, &data, &err), PF_EPARSE);
    memcpy(bad, frame, sizeof(bad));
    bad[7] = 40;
    ck_assert_int_eq(pf_chunk_decode(bad, sizeof(bad), &d, &data, &err), PF_EPARSE);
    /* Length field says 3, frame carries 2 or 4 bytes. */
    ck_assert_int_eq(pf_chunk_decode(frame, sizeof(frame) - 1, &d, &data, &err), PF_ESIZE);
    memcpy(bad, frame, sizeof(bad));
    bad[51] = 0;
    ck_assert_int_eq(pf_chunk_decode(bad, sizeof(bad), &d, &data, &err), PF_ERANGE);
    memcpy(bad, frame, sizeof(bad));
    bad[49] = 0x10; /* 1 MiB + 3 > PF_CHUNK_MAX */
    ck_assert_int_eq(pf_chunk_decode(bad, sizeof(bad), &d, &data, &err), PF_ERANGE);
    memcpy(bad, frame, sizeof(bad));
    bad[40] = 0xff; /* offset beyond 2^53 */
    ck_assert_int_eq(pf_chunk_decode(bad, sizeof(bad), &d, &data, &err), PF_ERANGE);
}
END_TEST

START_TEST(chunkerr_round_trip_and_rejections)
{
    struct pf_chunkerr e, d;
    struct pf_error err = {0};
    char buf[1024];
    size_t len;

    memset(&e, 0, sizeof(e));
    memset(e.bundle, 0x11, PF_B2_LEN);
    e.offset = 99;
    e.req = 4;
    e.error = PF_CHUNKERR_OUT_OF_RANGE;
    snprintf(e.message, sizeof(e.message), "offset past the end");
    ck_assert_int_eq(pf_chunkerr_encode(&e, buf, sizeof(buf), &len), 0);
    ck_assert_int_eq(pf_chunkerr_decode(buf, len, &d, &err), 0);
    ck_assert_int_eq(d.error, PF_CHUNKERR_OUT_OF_RANGE);
    ck_assert_uint_eq(d.offset, 99);
    ck_assert_uint_eq(d.req, 4);
    ck_assert_str_eq(d.message, "offset past the end");
    replace(buf, sizeof(buf), "out_of_range", "nope");
    ck_assert_int_eq(pf_chunkerr_decode(buf, strlen(buf), &d, &err), PF_ERANGE);
    replace(buf, sizeof(buf), "\"error\":\"nope\"", "\"error\":1");
    ck_assert_int_eq(pf_chunkerr_decode(buf, strlen(buf), &d, &err), PF_ESCHEMA);
    replace(buf, sizeof(buf), "\"error\":1", "\"error\":\"busy\"");
    replace(buf, sizeof(buf), "offset past the end", "bell\\u0007");
    ck_assert_int_eq(pf_chunkerr_decode(buf, strlen(buf), &d, &err), PF_ERANGE);
}
END_TEST

static void event_sample(struct pf_update_event *e, enum pf_update_status st)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->id, sizeof(e->id), "0123456789abcdef");
    snprintf(e->offer, sizeof(e->offer), "offer-42");
    memset(e->bundle, 0x22, PF_B2_LEN);
    e->kind = PF_KIND_FEETABLE;
    snprintf(e->version, sizeof(e->version), "2026.12.1");
    e->status = st;
    e->ts_ms = 1764220000000LL;
    snprintf(e->reason, sizeof(e->reason), "battery");
    e->percent = 50;
    snprintf(e->code, sizeof(e->code), "DIGEST");
}

START_TEST(event_round_trip)
{
    struct pf_update_event e, d;
    struct pf_error err = {0};
    char buf[PF_UPDATE_MSG_MAX];
    size_t len;

    for (int st = 0; st < PF_UPD_STATUS_COUNT; st++) {
        event_sample(&e, (enum pf_update_status)st);
        ck_assert_int_eq(pf_update_event_encode(&e, buf, sizeof(buf), &len), 0);
        ck_assert_int_eq(pf_update_event_decode(buf, len, &d, &err), 0);
        ck_assert_int_eq(d.status, st);
        ck_assert_str_eq(d.id, e.id);
        ck_assert_str_eq(d.offer, "offer-42");
        ck_assert_int_eq(d.kind, PF_KIND_FEETABLE);
        ck_assert_str_eq(d.reason, st == PF_UPD_DEFERRED ? "battery" : "");
        ck_assert_int_eq(d.percent, st == PF_UPD_DOWNLOADING ? 50 : 0);
        ck_assert_str_eq(d.code,
                         (st == PF_UPD_FAILED || st == PF_UPD_ROLLED_BACK || st == PF_UPD_REFUSED)
                                 ? "DIGEST"
                                 : "");
        ck_assert(pf_update_status_final((enum pf_update_status)st) ==
                  (st == PF_UPD_SUCCESS || st == PF_UPD_FAILED || st == PF_UPD_ROLLED_BACK ||
                   st == PF_UPD_REFUSED));
    }
}
END_TEST

START_TEST(event_rejections)
{
    struct pf_update_event e, d;
    struct pf_error err = {0};
    char buf[PF_UPDATE_MSG_MAX];
    size_t len;

    event_sample(&e, PF_UPD_DEFERRED);
    ck_assert_int_eq(pf_update_event_encode(&e, buf, sizeof(buf), &len), 0);
    replace(buf, sizeof(buf), "\"reason\":\"battery\"", "\"reason\":\"two words\"");
    ck_assert_int_eq(pf_update_event_decode(buf, strlen(buf), &d, &err), PF_ERANGE);
    replace(buf, sizeof(buf), "\"reason\":\"two words\"", "\"why\":\"x\"");
    ck_assert_int_eq(pf_update_event_decode(buf, strlen(buf), &d, &err), PF_ESCHEMA);

    event_sample(&e, PF_UPD_DOWNLOADING);
    ck_assert_int_eq(pf_update_event_encode(&e, buf, sizeof(buf), &len), 0);
    replace(buf, sizeof(buf), "\"percent\":50", "\"percent\":101");
    ck_assert_int_eq(pf_update_event_decode(buf, strlen(buf), &d, &err), PF_ERANGE);

    event_sample(&e, PF_UPD_REFUSED);
    ck_assert_int_eq(pf_update_event_encode(&e, buf, sizeof(buf), &len), 0);
    replace(buf, sizeof(buf), "\"code\":\"DIGEST\"", "\"code\":\"\"");
    ck_assert_int_eq(pf_update_event_decode(buf, strlen(buf), &d, &err), PF_ERANGE);

    event_sample(&e, PF_UPD_SUCCESS);
    ck_assert_int_eq(pf_update_event_encode(&e, buf, sizeof(buf), &len), 0);
    replace(buf, sizeof(buf), "\"status\":\"success\"", "\"status\":\"done\"");
    ck_assert_int_eq(pf_update_event_decode(buf, strlen(buf), &d, &err), PF_ERANGE);
    replace(buf, sizeof(buf), "\"status\":\"done\"", "\"status\":\"success\"");
    replace(buf, sizeof(buf), "\"id\":\"0123456789abcdef\"", "\"id\":\"a/b\"");
    ck_assert_int_eq(pf_update_event_decode(buf, strlen(buf), &d, &err), PF_ERANGE);
    replace(buf, sizeof(buf), "\"id\":\"a/b\"", "\"id\":\"ok\"");
    replace(buf, sizeof(buf), "\"ts\":1764220000000", "\"ts\":-5");
    ck_assert_int_eq(pf_update_event_decode(buf, strlen(buf), &d, &err), PF_ERANGE);
    ck_assert_msg(strncmp(err.msg, "event", 5) == 0, "%s", err.msg);
}
END_TEST

/* A field the docs reserve for other statuses refuses the event, naming the field. */
START_TEST(event_reserved_fields)
{
    static const struct {
        enum pf_update_status st;
        const char *extra;
        const char *field;
    } cases[] = {
            {PF_UPD_SUCCESS, ",\"code\":\"DIGEST\"", "code"},
            {PF_UPD_ACCEPTED, ",\"percent\":10", "percent"},
            {PF_UPD_FAILED, ",\"reason\":\"battery\"", "reason"},
            {PF_UPD_FAILED, ",\"percent\":10", "percent"},
            {PF_UPD_DEFERRED, ",\"code\":\"IO\"", "code"},
            {PF_UPD_DOWNLOADING, ",\"reason\":\"busy\"", "reason"},
            {PF_UPD_VERIFYING, ",\"code\":\"DIGEST\"", "code"},
            /* A reserved field is refused whatever its value. */
            {PF_UPD_SUCCESS, ",\"reason\":\"\"", "reason"},
    };
    struct pf_update_event e, d;
    struct pf_error err = {0};
    char buf[PF_UPDATE_MSG_MAX];
    size_t len;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        event_sample(&e, cases[i].st);
        ck_assert_int_eq(pf_update_event_encode(&e, buf, sizeof(buf) - 64, &len), 0);
        ck_assert_int_eq(pf_update_event_decode(buf, len, &d, &err), 0);
        /* Insert the extra field before the closing brace. */
        buf[len - 1] = '\0';
        ck_assert_int_lt(strlen(buf) + strlen(cases[i].extra) + 2, sizeof(buf));
        strncat(buf, cases[i].extra, sizeof(buf) - strlen(buf) - 2);
        strncat(buf, "}", sizeof(buf) - strlen(buf) - 1);
        ck_assert_msg(pf_update_event_decode(buf, strlen(buf), &d, &err) == PF_ESCHEMA,
                      "case %zu accepted: %s", i, buf);
        ck_assert_msg(strstr(err.msg, cases[i].field) != NULL, "case %zu: %s", i, err.msg);
        ck_assert_msg(strstr(err.msg, "not allowed") != NULL, "case %zu: %s", i, err.msg);
    }
    /* null counts as absent, as for every field. */
    event_sample(&e, PF_UPD_SUCCESS);
    ck_assert_int_eq(pf_update_event_encode(&e, buf, sizeof(buf) - 64, &len), 0);
    buf[len - 1] = '\0';
    strncat(buf, ",\"code\":null,\"percent\":null}", sizeof(buf) - strlen(buf) - 1);
    ck_assert_int_eq(pf_update_event_decode(buf, strlen(buf), &d, &err), 0);
    /* Non-object events are PARSE. */
    ck_assert_int_eq(pf_update_event_decode("[1]", 3, &d, &err), PF_EPARSE);
}
END_TEST

/* Writes a plain tar with the four metadata entries and one payload. */
static void write_tar(const char *path, const char *manifest, size_t plen)
{
    struct archive *a = archive_write_new();
    struct {
        const char *name;
        const char *data;
        size_t len;
    } ents[5] = {{"manifest.json", manifest, strlen(manifest)},
                 {"manifest.json.minisig", "sig1", 4},
                 {"keyring.json", "{\"k\":1}", 7},
                 {"keyring.json.minisig", "sig2", 4},
                 {"fw.img", NULL, plen}};
    char *payload = malloc(plen);

    for (size_t i = 0; i < plen; i++)
        payload[i] = (char)(i * 7 + 3);
    ents[4].data = payload;
    archive_write_set_format_pax_restricted(a);
    ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (int i = 0; i < 5; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, ents[i].name);
        archive_entry_set_size(e, (la_int64_t)ents[i].len);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
        ck_assert_int_eq(archive_write_data(a, ents[i].data, ents[i].len), (la_ssize_t)ents[i].len);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    free(payload);
}

START_TEST(offer_from_bundle_ranges)
{
    static const char manifest[] =
            "{\"schema\":1,\"kind\":\"firmware\",\"version\":\"2.0.1\",\"models\":[\"M\"],"
            "\"hw_revs\":[\"A\"],\"created\":\"2026-01-01T00:00:00Z\",\"expires\":"
            "\"2027-01-01T00:00:00Z\",\"key_id\":\"0123456789ABCDEF\",\"payloads\":[{\"name\":"
            "\"fw.img\",\"size\":70000,\"blake2b_256\":"
            "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}";
    char dir[256], path[512];
    struct pf_offer o;
    struct pf_error err = {0};
    uint8_t want[PF_B2_LEN];
    FILE *f;
    char buf[80000];

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/b.tar", dir);
    write_tar(path, manifest, 70000);
    memset(&o, 0, sizeof(o));
    ck_assert_int_eq(pf_offer_from_bundle(path, &o, &err), 0);
    ck_assert_uint_eq(o.nentries, 5);
    ck_assert_int_eq(o.kind, PF_KIND_FIRMWARE);
    ck_assert_str_eq(o.version, "2.0.1");
    pf_b2_buf(manifest, strlen(manifest), want);
    ck_assert_mem_eq(o.manifest, want, PF_B2_LEN);
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    /* Each range holds exactly the entry's bytes. */
    ck_assert_int_eq(fseek(f, (long)o.entries[0].offset, SEEK_SET), 0);
    ck_assert_uint_eq(fread(buf, 1, o.entries[0].size, f), strlen(manifest));
    ck_assert_mem_eq(buf, manifest, strlen(manifest));
    ck_assert_int_eq(fseek(f, (long)o.entries[3].offset, SEEK_SET), 0);
    ck_assert_uint_eq(fread(buf, 1, 4, f), 4);
    ck_assert_mem_eq(buf, "sig2", 4);
    ck_assert_str_eq(o.entries[4].name, "fw.img");
    ck_assert_int_eq(fseek(f, (long)o.entries[4].offset, SEEK_SET), 0);
    ck_assert_uint_eq(fread(buf, 1, 70000, f), 70000);
    for (size_t i = 0; i < 70000; i++)
        ck_assert_int_eq(buf[i], (char)(i * 7 + 3));
    fclose(f);

    /* A compressed bundle cannot be served in ranges. */
    snprintf(buf, sizeof(buf), "gzip -k %s", path);
    ck_assert_int_eq(system(buf), 0);
    snprintf(path, sizeof(path), "%s/b.tar.gz", dir);
    ck_assert_int_eq(pf_offer_from_bundle(path, &o, &err), PF_EINVAL);
    snprintf(path, sizeof(path), "%s/missing.tar", dir);
    ck_assert_int_eq(pf_offer_from_bundle(path, &o, &err), PF_ENOENT);
    pf_test_rmtree(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("update_msg");
    TCase *tc = tcase_create("codecs");

    tcase_add_test(tc, offer_round_trip);
    tcase_add_loop_test(tc, offer_rejections, 0, (int)(sizeof(offer_bad) / sizeof(offer_bad[0])));
    tcase_add_test(tc, offer_too_few_entries);
    tcase_add_test(tc, chunkreq_round_trip_and_rejections);
    tcase_add_test(tc, chunk_frame_layout);
    tcase_add_test(tc, chunk_frame_rejections);
    tcase_add_test(tc, chunkerr_round_trip_and_rejections);
    tcase_add_test(tc, event_round_trip);
    tcase_add_test(tc, event_rejections);
    tcase_add_test(tc, event_reserved_fields);
    tcase_add_test(tc, offer_from_bundle_ranges);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
