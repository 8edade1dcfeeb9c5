/*
 * test_msg_diag.c - diagnostics codecs: requests, responses, chunk requests,
 * chunk frames and the card-number scrubber; round trips and refusals with
 * their exact codes.
 */
#include <stdio.h>
#include <string.h>

#include "pf/msg_diag.h"
#include "testutil.h"

static struct pf_diag_req req_sample(void)
{
    struct pf_diag_req q;

    memset(&q, 0, sizeof(q));
    snprintf(q.id, sizeof(q.id), "d0123456789abcdef");
    snprintf(q.cmd, sizeof(q.cmd), "logs");
    q.ts_ms = 1764220000000LL;
    q.deadline_ms = q.ts_ms + 30000;
    q.lines = 20;
    return q;
}

static int decode_req(const char *s, struct pf_diag_req *q, struct pf_error *err)
{
    pf_error_clear(err);
    return pf_diag_req_decode(s, strlen(s), q, err);
}

START_TEST(test_req_round_trip)
{
    struct pf_diag_req q = req_sample(), back;
    struct pf_error err = {0};
    char buf[PF_DIAG_REQ_MAX];
    size_t n;

    q.minutes = 5;
    snprintf(q.level, sizeof(q.level), "debug");
    q.max_kb = 64;
    ck_assert_int_eq(pf_diag_req_encode(&q, buf, sizeof(buf), &n), 0);
    ck_assert_int_eq(pf_diag_req_decode(buf, n, &back, &err), 0);
    ck_assert_str_eq(back.id, q.id);
    ck_assert_str_eq(back.cmd, "logs");
    ck_assert_int_eq(back.deadline_ms, q.deadline_ms);
    ck_assert_int_eq(back.lines, 20);
    ck_assert_int_eq(back.minutes, 5);
    ck_assert_str_eq(back.level, "debug");
    ck_assert_uint_eq(back.max_kb, 64);
}
END_TEST

START_TEST(test_req_refusals)
{
    struct pf_diag_req q;
    struct pf_error err = {0};

    ck_assert_int_eq(decode_req("{\"v\":1,\"id\":\"a\",\"cmd\":\"logs\",\"ts\":1,\"deadline\":2,"
                                "\"args\":{\"lines\":501}}",
                                &q, &err),
                     PF_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "lines"));
    /* A command word with a shell metacharacter never gets through. */
    ck_assert_int_eq(decode_req("{\"v\":1,\"id\":\"a\",\"cmd\":\"ls;rm\",\"ts\":1,\"deadline\":2}",
                                &q, &err),
                     PF_ERANGE);
    ck_assert_int_eq(decode_req("{\"v\":1,\"id\":\"a/b\",\"cmd\":\"logs\",\"ts\":1,\"deadline\":2}",
                                &q, &err),
                     PF_ERANGE);
    ck_assert_int_eq(decode_req("{\"v\":1,\"id\":\"a\",\"cmd\":\"logs\",\"ts\":1}", &q, &err),
                     PF_ESCHEMA);
    ck_assert_int_eq(
            decode_req("{\"v\":1,\"id\":\"a\",\"cmd\":\"logs\",\"ts\":5,\"deadline\":4}", &q, &err),
            PF_ERANGE);
    ck_assert_int_eq(decode_req("{\"v\":1,\"id\":\"a\",\"cmd\":\"loglevel\",\"ts\":1,"
                                "\"deadline\":2}",
                                &q, &err),
                     PF_ESCHEMA);
    ck_assert_int_eq(decode_req("{\"v\":1,\"id\":\"a\",\"cmd\":\"loglevel\",\"ts\":1,"
                                "\"deadline\":2,\"args\":{\"level\":\"verbose\"}}",
                                &q, &err),
                     PF_ERANGE);
    ck_assert_int_eq(
            decode_req("{\"v\":2,\"id\":\"a\",\"cmd\":\"logs\",\"ts\":1,\"deadline\":2}", &q, &err),
            PF_EVERSION);
    ck_assert_int_eq(decode_req("{\"v\":1,\"id\":\"a\",\"cmd\":\"logs\",\"ts\":\"1\","
                                "\"deadline\":2}",
                                &q, &err),
                     PF_ESCHEMA);
    /* Unknown commands decode (the agent refuses them and says so); unknown fields are ignored. */
    ck_assert_int_eq(decode_req("{\"v\":1,\"id\":\"a\",\"cmd\":\"shell\",\"ts\":1,\"deadline\":2,"
                                "\"extra\":true}",
                                &q, &err),
                     0);
    ck_assert_int_eq(pf_diag_cmd_lookup(q.cmd), PF_DIAG_UNKNOWN);
    ck_assert_int_eq(pf_diag_cmd_lookup("reboot"), PF_DIAG_REBOOT);
}
END_TEST

START_TEST(test_resp_round_trip)
{
    struct pf_diag_resp r, back;
    struct pf_error err = {0};
    char buf[1024];
    size_t n;

    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "d1");
    snprintf(r.cmd, sizeof(r.cmd), "selftest");
    r.status = PF_DIAG_OK;
    r.ts_ms = 5;
    r.result = (char *)"{\"passed\":true}";
    ck_assert_int_eq(pf_diag_resp_encode(&r, buf, sizeof(buf), &n), 0);
    ck_assert_int_eq(pf_diag_resp_decode(buf, n, &back, &err), 0);
    ck_assert_str_eq(back.result, "{\"passed\":true}");
    ck_assert_int_eq(back.status, PF_DIAG_OK);
    pf_diag_resp_release(&back);
    ck_assert_ptr_null(back.result);

    /* A refusal needs its code; a result must be an object. */
    ck_assert_int_eq(pf_diag_resp_decode("{\"v\":1,\"id\":\"d1\",\"cmd\":\"x\",\"status\":"
                                         "\"refused\",\"ts\":1}",
                                         strlen("{\"v\":1,\"id\":\"d1\",\"cmd\":\"x\",\"status\":"
                                                "\"refused\",\"ts\":1}"),
                                         &back, &err),
                     PF_ESCHEMA);
    ck_assert_ptr_null(back.result);
    {
        const char *s = "{\"v\":1,\"id\":\"d1\",\"cmd\":\"x\",\"status\":\"ok\",\"ts\":1,"
                        "\"result\":[1]}";

        ck_assert_int_eq(pf_diag_resp_decode(s, strlen(s), &back, &err), PF_ESCHEMA);
        ck_assert_ptr_null(back.result);
    }
    /* An answer that is valid JSON but not an object is not a message: PARSE. */
    ck_assert_int_eq(pf_diag_resp_decode("[1]", 3, &back, &err), PF_EPARSE);
    ck_assert_int_eq(pf_diag_resp_decode("\"ok\"", 4, &back, &err), PF_EPARSE);
    ck_assert_ptr_null(back.result);
    r.result = (char *)"[1]";
    ck_assert_int_eq(pf_diag_resp_encode(&r, buf, sizeof(buf), &n), PF_EINVAL);
    r.result = NULL;
    ck_assert_int_eq(pf_diag_resp_encode(&r, buf, 10, &n), PF_ETOOBIG);
}
END_TEST

START_TEST(test_chunk_frames)
{
    struct pf_diag_chunk_hdr h = {0}, back;
    struct pf_error err = {0};
    uint8_t frame[PF_DIAG_CHUNK_HDR_LEN + 4];
    const uint8_t *data;

    snprintf(h.id, sizeof(h.id), "d42");
    h.offset = 100;
    h.size = 104;
    h.length = 4;
    h.flags = PF_DIAG_CHUNK_LAST;
    ck_assert_int_eq(pf_diag_chunk_hdr_encode(&h, frame), 0);
    memcpy(frame + PF_DIAG_CHUNK_HDR_LEN, "abcd", 4);
    ck_assert_int_eq(pf_diag_chunk_decode(frame, sizeof(frame), &back, &data, &err), 0);
    ck_assert_str_eq(back.id, "d42");
    ck_assert_uint_eq(back.offset, 100);
    ck_assert_uint_eq(back.size, 104);
    ck_assert_int_eq(memcmp(data, "abcd", 4), 0);
    /* Truncated, lying about its length, past the end, bad magic, unknown flag. */
    ck_assert_int_eq(pf_diag_chunk_decode(frame, 10, &back, &data, &err), PF_EPARSE);
    ck_assert_int_eq(pf_diag_chunk_decode(frame, sizeof(frame) - 1, &back, &data, &err), PF_ESIZE);
    h.size = 103;
    ck_assert_int_eq(pf_diag_chunk_hdr_encode(&h, frame), 0);
    ck_assert_int_eq(pf_diag_chunk_decode(frame, sizeof(frame), &back, &data, &err), PF_ERANGE);
    h.size = 104;
    ck_assert_int_eq(pf_diag_chunk_hdr_encode(&h, frame), 0);
    frame[0] = 'X';
    ck_assert_int_eq(pf_diag_chunk_decode(frame, sizeof(frame), &back, &data, &err), PF_EPARSE);
    frame[0] = 'P';
    frame[5] = 0x80;
    ck_assert_int_eq(pf_diag_chunk_decode(frame, sizeof(frame), &back, &data, &err), PF_EPARSE);
    h.flags = 0x80;
    ck_assert_int_eq(pf_diag_chunk_hdr_encode(&h, frame), PF_EINVAL);
}
END_TEST

START_TEST(test_chunkreq)
{
    struct pf_diag_chunkreq r = {0}, back;
    struct pf_error err = {0};
    char buf[256];
    size_t n;

    snprintf(r.id, sizeof(r.id), "d9");
    r.offset = 32768;
    r.length = PF_DIAG_CHUNK_MAX;
    ck_assert_int_eq(pf_diag_chunkreq_encode(&r, buf, sizeof(buf), &n), 0);
    ck_assert_int_eq(pf_diag_chunkreq_decode(buf, n, &back, &err), 0);
    ck_assert_uint_eq(back.offset, 32768);
    r.length = PF_DIAG_CHUNK_MAX + 1;
    ck_assert_int_eq(pf_diag_chunkreq_encode(&r, buf, sizeof(buf), &n), PF_EINVAL);
    {
        const char *s = "{\"v\":1,\"id\":\"d9\",\"offset\":0,\"length\":0}";

        ck_assert_int_eq(pf_diag_chunkreq_decode(s, strlen(s), &back, &err), PF_ERANGE);
    }
}
END_TEST

START_TEST(test_scrub_pan)
{
    char a[] = "card 4111 1111 1111 1111 declined";
    char b[] = "pan=5500-0000-0000-0004;";
    char c[] = "ts 1764220000000 seq 4111111111111112 ok"; /* not Luhn-valid: kept */
    char d[] = "id T-000123 build 20261127";

    ck_assert_int_eq(pf_diag_scrub_pan(a), 1);
    ck_assert_str_eq(a, "card **** **** **** 1111 declined");
    ck_assert_int_eq(pf_diag_scrub_pan(b), 1);
    ck_assert_str_eq(b, "pan=****-****-****-0004;");
    ck_assert_int_eq(pf_diag_scrub_pan(c), 0);
    ck_assert_str_eq(c, "ts 1764220000000 seq 4111111111111112 ok");
    ck_assert_int_eq(pf_diag_scrub_pan(d), 0);
}
END_TEST

static Suite *msg_diag_suite(void)
{
    Suite *s = suite_create("msg_diag");
    TCase *tc = tcase_create("codecs");

    tcase_add_test(tc, test_req_round_trip);
    tcase_add_test(tc, test_req_refusals);
    tcase_add_test(tc, test_resp_round_trip);
    tcase_add_test(tc, test_chunk_frames);
    tcase_add_test(tc, test_chunkreq);
    tcase_add_test(tc, test_scrub_pan);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(msg_diag_suite());
}
