/*
 * test_cli_errors.c - posfleetd refusals become one line and the documented exit status.
 */
#include <string.h>

#include <jansson.h>

#include "apierr.h"
#include "testutil.h"

struct errcase {
    long status;
    const char *body; /* NULL: no JSON body */
    const char *subject;
    bool have_token;
    int code;
    int exit_status;
    const char *msg; /* exact */
};

static const struct errcase cases[] = {
        {401, "{\"error\":\"AUTH\",\"message\":\"unknown token\"}", NULL, true, PF_EAUTH,
         PFC_EXIT_AUTH, "authentication failed: check the token"},
        {401, "{\"error\":\"AUTH\",\"message\":\"account disabled: ask an administrator\"}",
         PFC_SUBJECT_LOGIN, true, PF_EAUTH, PFC_EXIT_AUTH,
         "login refused: account disabled: ask an administrator"},
        {401, NULL, PFC_SUBJECT_LOGIN, false, PF_EAUTH, PFC_EXIT_AUTH,
         "login refused: bad user or password"},
        {401, NULL, "PF1", false, PF_EAUTH, PFC_EXIT_AUTH,
         "authentication failed: no token given (use --token-file or POSFLEET_TOKEN)"},
        {403, "{\"error\":\"PERM\",\"message\":\"role viewer may not register terminals\"}", "PF1",
         true, PF_EPERM, PFC_EXIT_FORBIDDEN,
         "permission denied: role viewer may not register terminals"},
        {403, NULL, NULL, true, PF_EPERM, PFC_EXIT_FORBIDDEN,
         "permission denied: the token's role does not allow this"},
        {404, "{\"error\":\"UNKNOWN_SERIAL\",\"message\":\"no terminal PF123\"}", "PF123", true,
         PF_EUNKNOWN_SERIAL, PFC_EXIT_API, "unknown serial PF123"},
        {404, "{\"error\":\"UNKNOWN_SERIAL\",\"message\":\"no terminal PF9\"}", NULL, true,
         PF_EUNKNOWN_SERIAL, PFC_EXIT_API, "no terminal PF9"},
        {404, "{\"error\":\"NOENT\",\"message\":\"no route /v1/x\"}", NULL, true, PF_ENOENT,
         PFC_EXIT_API, "not found: no route /v1/x"},
        {404, NULL, "PF7", true, PF_EUNKNOWN_SERIAL, PFC_EXIT_API, "unknown serial PF7"},
        {400, "{\"error\":\"INVAL\",\"message\":\"model: 1 to 32 characters\"}", "PF1", true,
         PF_EINVAL, PFC_EXIT_API, "model: 1 to 32 characters"},
        {400, "not json", NULL, true, PF_EINVAL, PFC_EXIT_API, "request rejected (HTTP 400)"},
        {409, "{\"error\":\"EXIST\",\"message\":\"serial PF1 is already registered\"}", "PF1", true,
         PF_EEXIST, PFC_EXIT_API, "serial PF1 is already registered"},
        {409, NULL, "PF1", true, PF_EEXIST, PFC_EXIT_API, "serial PF1 already exists"},
        {500, "{\"error\":\"IO\",\"message\":\"database is locked\"}", NULL, true, PF_EIO,
         PFC_EXIT_API, "posfleetd failed (HTTP 500): database is locked"},
        {502, NULL, NULL, true, PF_EIO, PFC_EXIT_API, "posfleetd failed (HTTP 502)"},
        {405, "{\"error\":\"INVAL\",\"message\":\"method not allowed\"}", NULL, true, PF_EIO,
         PFC_EXIT_API, "unexpected answer from posfleetd (HTTP 405): method not allowed"},
        /* A hostile message is cleaned: no escape sequences reach the terminal. */
        {400, "{\"error\":\"INVAL\",\"message\":\"bad\\u001b[2J caf\\u00e9\\n\"}", NULL, true,
         PF_EINVAL, PFC_EXIT_API, "bad\\x1b[2J café\\n"},
};

START_TEST(test_api_error_table)
{
    const struct errcase *c = &cases[_i];
    struct pf_error err = {0};
    json_t *body = c->body ? json_loads(c->body, 0, NULL) : NULL;
    int code = pfc_api_error(c->status, body, c->subject, c->have_token, &err);

    ck_assert_int_eq(code, c->code);
    ck_assert_int_eq(err.code, c->code);
    ck_assert_str_eq(err.msg, c->msg);
    ck_assert_int_eq(pfc_exit_code(code), c->exit_status);
    json_decref(body);
}
END_TEST

START_TEST(test_exit_codes)
{
    ck_assert_int_eq(pfc_exit_code(0), 0);
    ck_assert_int_eq(pfc_exit_code(PF_ECONN), 3);
    ck_assert_int_eq(pfc_exit_code(PF_ETIMEOUT), 3);
    ck_assert_int_eq(pfc_exit_code(PF_EAUTH), 4);
    ck_assert_int_eq(pfc_exit_code(PF_EPERM), 5);
    ck_assert_int_eq(pfc_exit_code(PF_EPARSE), 1);
    ck_assert_int_eq(pfc_exit_code(PF_ESCHEMA), 1);
    ck_assert_int_eq(pfc_exit_code(PF_EUNKNOWN_SERIAL), 1);
    /* The numbers are a documented contract (docs/cli.md). */
    ck_assert_int_eq(PFC_EXIT_OK, 0);
    ck_assert_int_eq(PFC_EXIT_API, 1);
    ck_assert_int_eq(PFC_EXIT_USAGE, 2);
    ck_assert_int_eq(PFC_EXIT_UNREACHABLE, 3);
    ck_assert_int_eq(PFC_EXIT_AUTH, 4);
    ck_assert_int_eq(PFC_EXIT_FORBIDDEN, 5);
}
END_TEST

START_TEST(test_text_clean)
{
    char out[16];

    pfc_text_clean("plain text", out, sizeof(out));
    ck_assert_str_eq(out, "plain text");
    pfc_text_clean("a\tb\x1b[0m", out, sizeof(out));
    ck_assert_str_eq(out, "a\\tb\\x1b[0m");
    /* Printable UTF-8 passes unchanged. */
    pfc_text_clean("\xe2\x82\xac 5", out, sizeof(out));
    ck_assert_str_eq(out, "\xe2\x82\xac 5");
    pfc_text_clean("0123456789abcdefghij", out, sizeof(out));
    ck_assert_str_eq(out, "0123456789abcde");
    pfc_text_clean(NULL, out, sizeof(out));
    ck_assert_str_eq(out, "");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli_errors");
    TCase *tc = tcase_create("map");

    tcase_add_loop_test(tc, test_api_error_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, test_exit_codes);
    tcase_add_test(tc, test_text_clean);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
