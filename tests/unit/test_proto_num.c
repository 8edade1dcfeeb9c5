/*
 * test_proto_num.c - the one integer parser (pf/num.h) and the big-endian
 * helpers (pf/endian.h).
 */
#include <stdint.h>
#include <string.h>

#include "pf/endian.h"
#include "pf/error.h"
#include "pf/num.h"
#include "testutil.h"

START_TEST(i64_accepts)
{
    int64_t v = 7;

    ck_assert_int_eq(pf_parse_i64("0", INT64_MIN, INT64_MAX, &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(pf_parse_i64("1883", 1, 65535, &v), 0);
    ck_assert_int_eq(v, 1883);
    ck_assert_int_eq(pf_parse_i64("-42", -100, 100, &v), 0);
    ck_assert_int_eq(v, -42);
    ck_assert_int_eq(pf_parse_i64("-0", 0, 0, &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(pf_parse_i64("010", 0, 100, &v), 0);
    ck_assert_int_eq(v, 10); /* decimal, not octal */
    ck_assert_int_eq(pf_parse_i64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
    ck_assert(v == INT64_MAX);
    ck_assert_int_eq(pf_parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
    ck_assert(v == INT64_MIN);
    /* The bounds themselves are inside. */
    ck_assert_int_eq(pf_parse_i64("1", 1, 3650, &v), 0);
    ck_assert_int_eq(pf_parse_i64("3650", 1, 3650, &v), 0);
    ck_assert_int_eq(v, 3650);
}
END_TEST

START_TEST(i64_refuses)
{
    static const char *const junk[] = {
            "",    "-",    "+5",  " 5",  "5 ", "\t5", "5\n", "0x10",
            "1e3", "12ab", "--5", "- 5", "5-", "1.0", "١",
    };
    int64_t v = 7;

    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        ck_assert_msg(pf_parse_i64(junk[i], INT64_MIN, INT64_MAX, &v) == PF_EPARSE, "'%s'",
                      junk[i]);
        ck_assert_int_eq(v, 7); /* untouched */
    }
    ck_assert_int_eq(pf_parse_i64(NULL, 0, 1, &v), PF_EPARSE);
    /* Out of range, or out of 64 bits: PF_ERANGE, however many digits. */
    ck_assert_int_eq(pf_parse_i64("0", 1, 3650, &v), PF_ERANGE);
    ck_assert_int_eq(pf_parse_i64("3651", 1, 3650, &v), PF_ERANGE);
    ck_assert_int_eq(pf_parse_i64("-1", 0, INT64_MAX, &v), PF_ERANGE);
    ck_assert_int_eq(pf_parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v), PF_ERANGE);
    ck_assert_int_eq(pf_parse_i64("-9223372036854775809", INT64_MIN, INT64_MAX, &v), PF_ERANGE);
    ck_assert_int_eq(pf_parse_i64("99999999999999999999999", INT64_MIN, INT64_MAX, &v), PF_ERANGE);
    /* Junk after too many digits is still junk. */
    ck_assert_int_eq(pf_parse_i64("99999999999999999999999x", INT64_MIN, INT64_MAX, &v), PF_EPARSE);
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(u64)
{
    uint64_t v = 7;

    ck_assert_int_eq(pf_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
    ck_assert(v == UINT64_MAX);
    ck_assert_int_eq(pf_parse_u64("1099511627776", 1, UINT64_MAX, &v), 0);
    ck_assert(v == (UINT64_C(1) << 40));
    ck_assert_int_eq(pf_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), PF_ERANGE);
    ck_assert_int_eq(pf_parse_u64("0", 1, UINT64_MAX, &v), PF_ERANGE);
    /* No sign at all: "-1" must never wrap to the largest value. */
    ck_assert_int_eq(pf_parse_u64("-1", 0, UINT64_MAX, &v), PF_EPARSE);
    ck_assert_int_eq(pf_parse_u64("+1", 0, UINT64_MAX, &v), PF_EPARSE);
    ck_assert_int_eq(pf_parse_u64(" 1", 0, UINT64_MAX, &v), PF_EPARSE);
    ck_assert_int_eq(pf_parse_u64("", 0, UINT64_MAX, &v), PF_EPARSE);
    ck_assert_int_eq(pf_parse_u64(NULL, 0, UINT64_MAX, &v), PF_EPARSE);
    ck_assert(v == (UINT64_C(1) << 40));
}
END_TEST

START_TEST(big_endian)
{
    static const uint8_t want[14] = {0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01,
                                     0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x88};
    uint8_t buf[16];

    memset(buf, 0xaa, sizeof(buf));
    pf_store_be16(buf, 0x1234);
    pf_store_be32(buf + 2, 0xdeadbeef);
    pf_store_be64(buf + 6, UINT64_C(0x0102030405060788));
    ck_assert_mem_eq(buf, want, sizeof(want));
    ck_assert_uint_eq(buf[14], 0xaa); /* nothing written past the value */
    ck_assert_uint_eq(pf_load_be16(want), 0x1234);
    ck_assert_uint_eq(pf_load_be32(want + 2), 0xdeadbeef);
    ck_assert(pf_load_be64(want + 6) == UINT64_C(0x0102030405060788));
    /* High bits survive (no sign extension), at an odd address. */
    pf_store_be64(buf + 1, UINT64_MAX - 1);
    ck_assert(pf_load_be64(buf + 1) == UINT64_MAX - 1);
    ck_assert_uint_eq(buf[1], 0xff);
    ck_assert_uint_eq(buf[8], 0xfe);
    pf_store_be32(buf + 3, 0x80000001u);
    ck_assert_uint_eq(pf_load_be32(buf + 3), 0x80000001u);
    pf_store_be16(buf + 5, 0xff00);
    ck_assert_uint_eq(pf_load_be16(buf + 5), 0xff00);
}
END_TEST

static Suite *num_suite(void)
{
    Suite *s = suite_create("proto_num");
    TCase *tc = tcase_create("num");

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, i64_accepts);
    tcase_add_test(tc, i64_refuses);
    tcase_add_test(tc, u64);
    tcase_add_test(tc, big_endian);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(num_suite());
}
