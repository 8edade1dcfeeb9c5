/*
 * test_server_tokens.c - the tokens file format, constant-time lookup, roles.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "api/tokens.h"

static void line_for(char *out, size_t size, const char *name, const char *role, const char *token)
{
    char hex[2 * PFS_TOKEN_HASH_LEN + 1];

    ck_assert_int_eq(pfs_token_hash_hex(token, strlen(token), hex), 0);
    snprintf(out, size, "%s %s %s", name, role, hex);
}

START_TEST(parse_and_auth)
{
    char a[200], b[200], c[200], file[1024];
    struct pfs_tokens t;
    const struct pfs_token *who;
    struct pf_error err = {0};

    line_for(a, sizeof(a), "alice", "ops", "tok-alice");
    line_for(b, sizeof(b), "sam", "support", "tok-sam");
    line_for(c, sizeof(c), "vic", "viewer", "tok-vic");
    snprintf(file, sizeof(file), "# posfleetd tokens\n\n%s\r\n   %s\n\t# indented comment\n%s", a,
             b, c);
    ck_assert_int_eq(pfs_tokens_parse(&t, file, strlen(file), "tokens", &err), 0);
    ck_assert_uint_eq(t.n, 3);
    ck_assert_int_eq(pfs_tokens_auth(&t, "tok-sam", 7, &who), 0);
    ck_assert_str_eq(who->name, "sam");
    ck_assert_int_eq(who->role, PFS_ROLE_SUPPORT);
    ck_assert_int_eq(pfs_tokens_auth(&t, "tok-vic", 7, &who), 0);
    ck_assert_int_eq(who->role, PFS_ROLE_VIEWER);
    ck_assert_int_eq(pfs_tokens_auth(&t, "tok-alice", 9, &who), 0);
    ck_assert_int_eq(who->role, PFS_ROLE_OPS);
    ck_assert(PFS_ROLE_OPS > PFS_ROLE_SUPPORT && PFS_ROLE_SUPPORT > PFS_ROLE_VIEWER);
    ck_assert_int_eq(pfs_tokens_auth(&t, "tok-alic", 8, &who), PF_EAUTH);
    ck_assert_ptr_null(who);
    ck_assert_int_eq(pfs_tokens_auth(&t, "", 0, &who), PF_EAUTH);
    /* The file holds hashes: the hash itself is not a token. */
    ck_assert_int_eq(pfs_tokens_auth(&t, a + 10, 64, &who), PF_EAUTH);
    pfs_tokens_release(&t);
}
END_TEST

/* admin may everything ops may, and what only admin may (backups); never approve. */
START_TEST(admin_role)
{
    char a[200];
    struct pfs_tokens t;
    const struct pfs_token *who;
    struct pf_error err = {0};

    line_for(a, sizeof(a), "ada", "admin", "tok-ada");
    ck_assert_int_eq(pfs_tokens_parse(&t, a, strlen(a), "tokens", &err), 0);
    ck_assert_int_eq(pfs_tokens_auth(&t, "tok-ada", 7, &who), 0);
    ck_assert_int_eq(who->role, PFS_ROLE_ADMIN);
    pfs_tokens_release(&t);
    ck_assert_str_eq(pfs_role_names[PFS_ROLE_ADMIN], "admin");
    ck_assert(pfs_role_may(PFS_ROLE_ADMIN, PFS_ROLE_ADMIN));
    ck_assert(pfs_role_may(PFS_ROLE_ADMIN, PFS_ROLE_OPS));
    ck_assert(pfs_role_may(PFS_ROLE_ADMIN, PFS_ROLE_VIEWER));
    ck_assert(!pfs_role_may(PFS_ROLE_ADMIN, PFS_ROLE_APPROVER));
    ck_assert(!pfs_role_may(PFS_ROLE_OPS, PFS_ROLE_ADMIN));
    ck_assert(!pfs_role_may(PFS_ROLE_APPROVER, PFS_ROLE_ADMIN));
}
END_TEST

/* The approver stands apart: it reads and approves, and nobody else approves. */
START_TEST(approver_role)
{
    char a[200];
    struct pfs_tokens t;
    const struct pfs_token *who;
    struct pf_error err = {0};

    line_for(a, sizeof(a), "ann", "approver", "tok-ann");
    ck_assert_int_eq(pfs_tokens_parse(&t, a, strlen(a), "tokens", &err), 0);
    ck_assert_int_eq(pfs_tokens_auth(&t, "tok-ann", 7, &who), 0);
    ck_assert_int_eq(who->role, PFS_ROLE_APPROVER);
    pfs_tokens_release(&t);
    ck_assert(pfs_role_may(PFS_ROLE_APPROVER, PFS_ROLE_APPROVER));
    ck_assert(pfs_role_may(PFS_ROLE_APPROVER, PFS_ROLE_VIEWER));
    ck_assert(!pfs_role_may(PFS_ROLE_APPROVER, PFS_ROLE_SUPPORT));
    ck_assert(!pfs_role_may(PFS_ROLE_APPROVER, PFS_ROLE_OPS));
    ck_assert(!pfs_role_may(PFS_ROLE_OPS, PFS_ROLE_APPROVER));
    ck_assert(!pfs_role_may(PFS_ROLE_VIEWER, PFS_ROLE_APPROVER));
    /* the others as before */
    ck_assert(pfs_role_may(PFS_ROLE_OPS, PFS_ROLE_SUPPORT));
    ck_assert(pfs_role_may(PFS_ROLE_SUPPORT, PFS_ROLE_VIEWER));
    ck_assert(!pfs_role_may(PFS_ROLE_SUPPORT, PFS_ROLE_OPS));
    ck_assert(!pfs_role_may(PFS_ROLE_VIEWER, PFS_ROLE_SUPPORT));
}
END_TEST

START_TEST(hash_is_blake2b_256)
{
    char hex[2 * PFS_TOKEN_HASH_LEN + 1];

    /* b2sum -l 256 of the empty input */
    ck_assert_int_eq(pfs_token_hash_hex("", 0, hex), 0);
    ck_assert_str_eq(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}
END_TEST

START_TEST(bad_lines)
{
    static const char good_hex[] =
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8";
    static const struct {
        const char *text;
        int code;
        const char *where;
    } cases[] = {
            {"alice ops\n", PF_EPARSE, "t:1:"},
            /* A merchant is a user of one merchant: never a tokens-file identity. */
            {"# ok\nalice merchant "
             "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8\n",
             PF_EPARSE, "t:2:"},
            {"# ok\nalice root 0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8\n",
             PF_EPARSE, "t:2:"},
            {"alice ops 0E5751C026E543B2E8AB2EB06099DAA1D1E5DF47778F7787FAAB45CDF12FE3A8\n",
             PF_EPARSE, "t:1:"},
            {"alice ops 0e5751c0\n", PF_EPARSE, "t:1:"},
            {"alice ops 0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8 extra\n",
             PF_EPARSE, "t:1:"},
            {"alice ops 0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8\n"
             "alice viewer 1e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8\n",
             PF_EEXIST, "t:2:"},
            {"alice ops 0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8\n"
             "bob viewer 0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8\n",
             PF_EEXIST, "t:2:"},
    };
    (void)good_hex;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pfs_tokens t;
        struct pf_error err = {0};

        ck_assert_msg(pfs_tokens_parse(&t, cases[i].text, strlen(cases[i].text), "t", &err) ==
                              cases[i].code,
                      "case %zu", i);
        ck_assert_msg(strncmp(err.msg, cases[i].where, strlen(cases[i].where)) == 0, "case %zu: %s",
                      i, err.msg);
        ck_assert_ptr_null(t.v);
        ck_assert_uint_eq(t.n, 0);
    }
}
END_TEST

START_TEST(load_missing_file)
{
    struct pfs_tokens t;
    struct pf_error err = {0};

    ck_assert_int_eq(pfs_tokens_load(&t, "/nonexistent/tokens", &err), PF_ENOENT);
    ck_assert_uint_eq(t.n, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("server_tokens");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, parse_and_auth);
    tcase_add_test(tc, hash_is_blake2b_256);
    tcase_add_test(tc, approver_role);
    tcase_add_test(tc, admin_role);
    tcase_add_test(tc, bad_lines);
    tcase_add_test(tc, load_missing_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
