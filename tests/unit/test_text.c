/*
 * test_text.c - the one check for text a person typed (pf/text.h): valid
 * UTF-8 only, no control characters, limits in characters.
 */
#include <string.h>

#include "pf/error.h"
#include "pf/text.h"
#include "testutil.h"

static int check(const char *s, size_t max, unsigned flags, struct pf_error *err)
{
    return pf_text_check("name", s, strlen(s), max, flags, NULL, err);
}

START_TEST(accepts_utf8)
{
    struct pf_error err = {0};
    size_t chars = 0;

    ck_assert_int_eq(pf_text_check("name", "幸运面馆", strlen("幸运面馆"), 4, 0, &chars, &err), 0);
    ck_assert_uint_eq(chars, 4);
    ck_assert_int_eq(check("Café Zürich", 11, 0, &err), 0);
    ck_assert_int_eq(check("€", 1, 0, &err), 0);
    ck_assert_int_eq(check("\xf0\x9f\x8d\x9c", 1, 0, &err), 0); /* U+1F35C, 4 bytes */
    ck_assert_int_eq(check("\xf4\x8f\xbf\xbf", 1, 0, &err), 0); /* U+10FFFF, the last */
    ck_assert_int_eq(check("\xed\x9f\xbf", 1, 0, &err), 0);     /* U+D7FF, below surrogates */
    ck_assert_int_eq(check("\xee\x80\x80", 1, 0, &err), 0);     /* U+E000, above them */
    ck_assert_int_eq(check("a\nb", 3, PF_TEXT_LINES, &err), 0); /* notes keep lines */
    ck_assert_int_eq(check("inner space", 11, PF_TEXT_TRIMMED, &err), 0);
}
END_TEST

START_TEST(limit_in_characters)
{
    struct pf_error err = {0};
    char many[3 * 129 + 1];
    size_t off = 0;

    /* 128 Chinese characters are 384 bytes and fit a 128-character field. */
    for (int i = 0; i < 128; i++, off += 3)
        memcpy(many + off, "面", 3);
    many[off] = '\0';
    ck_assert_int_eq(check(many, PF_TEXT_NAME_MAX, 0, &err), 0);
    memcpy(many + off, "面", 4);
    ck_assert_int_eq(check(many, PF_TEXT_NAME_MAX, 0, &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "name: 129 characters, at most 128");
}
END_TEST

START_TEST(refuses_invalid_utf8)
{
    static const struct {
        const char *s, *why;
    } bad[] = {
            {"\xc0\xaf", "overlong '/' (2 bytes)"},
            {"\xe0\x80\xaf", "overlong '/' (3 bytes)"},
            {"\xf0\x80\x80\xaf", "overlong '/' (4 bytes)"},
            {"\xc1\xbf", "overlong (C1 lead)"},
            {"\xed\xa0\x80", "surrogate U+D800"},
            {"\xed\xbf\xbf", "surrogate U+DFFF"},
            {"\xf4\x90\x80\x80", "above U+10FFFF"},
            {"\xf5\x80\x80\x80", "F5 lead"},
            {"\xff", "FF byte"},
            {"\x80", "stray continuation"},
            {"\xe5\xb9", "cut 3-byte sequence"},
            {"ab\xe5", "cut at the end"},
            {"\xe5\xb9\x41", "continuation replaced by ASCII"},
    };
    struct pf_error err = {0};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(check(bad[i].s, 10, 0, &err) == PF_EINVAL, "%s accepted", bad[i].why);
        ck_assert_msg(strstr(err.msg, "name: invalid UTF-8 at byte") == err.msg, "%s: %s",
                      bad[i].why, err.msg);
    }
    ck_assert_int_eq(check("ab\xe5", 10, 0, &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "name: invalid UTF-8 at byte 3");
}
END_TEST

START_TEST(refuses_controls)
{
    static const char *const bad[] = {
            "a\x01",
            "a\tb",
            "a\rb",
            "a\x1b[31m",
            "a\x7f",
            "\xc2\x9b"
            "31m", /* C1 CSI */
            "\xe2\x80\xae"
            "evil", /* U+202E right-to-left override */
            "\xe2\x81\xa6"
            "x", /* U+2066 isolate */
    };
    struct pf_error err = {0};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(check(bad[i], 10, PF_TEXT_LINES, &err) == PF_EINVAL, "#%zu accepted", i);
        ck_assert_msg(strstr(err.msg, "name: control character U+") == err.msg, "#%zu: %s", i,
                      err.msg);
    }
    ck_assert_int_eq(check("a\nb", 10, 0, &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "name: control character U+000A at character 2");
    /* A NUL inside the length is a control character too. */
    ck_assert_int_eq(pf_text_check("notes", "a\0b", 3, 10, PF_TEXT_LINES, NULL, &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "notes: control character U+0000 at character 2");
    ck_assert_int_eq(check("", 10, 0, &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "name: must not be empty");
    ck_assert_int_eq(check(" 幸运", 10, PF_TEXT_TRIMMED, &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "name: leading or trailing blanks");
}
END_TEST

START_TEST(json_field)
{
    json_t *o = json_pack("{s:s, s:i, s:s}", "name", "幸运面馆", "n", 5, "bad", "\xe2\x80\xae");
    struct pf_error err = {0};
    char out[PF_TEXT_BYTES(4)] = "";

    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(pf_json_text(o, "name", true, 4, 0, out, sizeof(out), &err), 0);
    ck_assert_str_eq(out, "幸运面馆"); /* stored unchanged */
    ck_assert_int_eq(pf_json_text(o, "name", true, 3, 0, out, sizeof(out), &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "name: 4 characters, at most 3");
    ck_assert_int_eq(pf_json_text(o, "n", true, 4, 0, out, sizeof(out), &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "n: must be a string");
    ck_assert_int_eq(pf_json_text(o, "bad", true, 4, 0, out, sizeof(out), &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "bad: control character U+202E at character 1");
    ck_assert_int_eq(pf_json_text(o, "none", true, 4, 0, out, sizeof(out), &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "none: required");
    memcpy(out, "kept", 5);
    ck_assert_int_eq(pf_json_text(o, "none", false, 4, 0, out, sizeof(out), &err), 0);
    ck_assert_str_eq(out, "kept");
    json_decref(o);
}
END_TEST

static Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("text");

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, accepts_utf8);
    tcase_add_test(tc, limit_in_characters);
    tcase_add_test(tc, refuses_invalid_utf8);
    tcase_add_test(tc, refuses_controls);
    tcase_add_test(tc, json_field);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(text_suite());
}
