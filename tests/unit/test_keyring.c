/*
 * test_keyring.c - keyring documents: encode/parse, chain walking, key checks.
 */
#include "bundle_fixture.h"
#include "testutil.h"

START_TEST(test_encode_parse_roundtrip)
{
    struct fx f;
    struct pf_keyring *kr = malloc(sizeof(*kr));
    struct pf_error err = {0};

    fx_init(&f);
    ck_assert_int_eq(pf_keyring_parse(f.kdoc, f.klen, kr, &err), 0);
    ck_assert_int_eq(kr->serial, 7);
    ck_assert_uint_eq(kr->nkeys, 4);
    ck_assert_uint_eq(kr->nrevoked, 1);
    ck_assert_str_eq(kr->keys[1].name, "fee");
    ck_assert_int_eq(kr->keys[1].role, PF_ROLE_FEETABLE);
    ck_assert(pf_ms_pubkey_equal(&kr->keys[0].pub, &f.pub[FX_FW]));
    ck_assert_int_eq(pf_keyring_verify(f.kdoc, f.klen, f.ksig, f.ksiglen, &f.root_pub, 7, kr, &err),
                     0);
    free(kr);
    fx_release(&f);
}
END_TEST

/* The fixture keyring with every key id spelled in lower case, re-signed by the root. */
START_TEST(test_refuse_key_id_not_canonical)
{
    struct fx f;
    struct pf_keyring *kr = malloc(sizeof(*kr));
    struct pf_error err = {0};
    char *p;
    int n = 0;

    fx_init(&f);
    for (p = f.kdoc; (p = strstr(p, "\"key_id\": \"")) != NULL; p += 11, n++) {
        for (char *c = p + 11; *c != '"'; c++)
            *c = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
    }
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(pf_ms_sign(&f.root_sec, f.kdoc, f.klen, "lower case", f.ksig, sizeof(f.ksig),
                                &f.ksiglen, NULL),
                     0);
    ck_assert_int_eq(pf_keyring_verify(f.kdoc, f.klen, f.ksig, f.ksiglen, &f.root_pub, 0, kr, &err),
                     PF_ERANGE);
    ck_assert_msg(strstr(err.msg, "key_id") && strstr(err.msg, "not canonical"), "%s", err.msg);
    free(kr);
    fx_release(&f);
}
END_TEST

START_TEST(test_check_key)
{
    struct fx f;
    struct pf_error err = {0};
    const struct pf_keyring_key *k = NULL;

    fx_init(&f);
    ck_assert_int_eq(
            pf_keyring_check_key(f.kr, f.pub[FX_FW].key_id, PF_ROLE_FIRMWARE, f.now, &k, &err), 0);
    ck_assert_str_eq(k->name, "fw");
    ck_assert_int_eq(
            pf_keyring_check_key(f.kr, f.pub[FX_FEE].key_id, PF_ROLE_FIRMWARE, f.now, NULL, &err),
            PF_EKEY_ROLE);
    ck_assert_int_eq(pf_keyring_check_key(f.kr, f.pub[FX_EXPIRED].key_id, PF_ROLE_FIRMWARE, f.now,
                                          NULL, &err),
                     PF_EKEY_EXPIRED);
    ck_assert_int_eq(pf_keyring_check_key(f.kr, f.pub[FX_REVOKED].key_id, PF_ROLE_FIRMWARE, f.now,
                                          NULL, &err),
                     PF_EKEY_REVOKED);
    ck_assert_ptr_nonnull(strstr(err.msg, "leaked"));
    ck_assert_int_eq(pf_keyring_check_key(f.kr, f.pub[FX_OUTSIDER].key_id, PF_ROLE_FIRMWARE, f.now,
                                          NULL, &err),
                     PF_EKEY_UNKNOWN);
    /* Not yet valid is outside the window too. */
    ck_assert_int_eq(pf_keyring_check_key(f.kr, f.pub[FX_FW].key_id, PF_ROLE_FIRMWARE,
                                          f.now - 2 * 86400, NULL, &err),
                     PF_EKEY_EXPIRED);
    fx_release(&f);
}
END_TEST

START_TEST(test_chain_walk)
{
    /* root0 -> root1 -> root2: anchors 0, 1 and 2 all accept; a foreign anchor does not. */
    struct fx f;
    struct pf_ms_pubkey p1, p2, foreign;
    struct pf_ms_seckey s1, s2, sf;
    struct pf_keyring *kr = malloc(sizeof(*kr));
    struct pf_error err = {0};

    fx_init(&f);
    ck_assert_int_eq(pf_ms_keygen(&p1, &s1), 0);
    ck_assert_int_eq(pf_ms_keygen(&p2, &s2), 0);
    ck_assert_int_eq(pf_ms_keygen(&foreign, &sf), 0);
    f.kr->roots[1] = (struct pf_keyring_root){.pub = p1, .endorsed = true};
    pf_keyring_endorse(&f.root_sec, &p1, f.kr->roots[1].endorsement);
    f.kr->roots[2] = (struct pf_keyring_root){.pub = p2, .endorsed = true};
    pf_keyring_endorse(&s1, &p2, f.kr->roots[2].endorsement);
    f.kr->nroots = 3;
    fx_sign_keyring(&f, &s2);
    ck_assert_int_eq(pf_keyring_verify(f.kdoc, f.klen, f.ksig, f.ksiglen, &f.root_pub, 0, kr, &err),
                     0);
    ck_assert(pf_ms_pubkey_equal(pf_keyring_current_root(kr), &p2));
    ck_assert_int_eq(pf_keyring_verify(f.kdoc, f.klen, f.ksig, f.ksiglen, &p1, 0, kr, &err), 0);
    ck_assert_int_eq(pf_keyring_verify(f.kdoc, f.klen, f.ksig, f.ksiglen, &p2, 0, kr, &err), 0);
    ck_assert_int_eq(pf_keyring_verify(f.kdoc, f.klen, f.ksig, f.ksiglen, &foreign, 0, kr, &err),
                     PF_EROOT_CHAIN);
    /* Break the middle link: endorsed by a stranger. */
    pf_keyring_endorse(&sf, &p1, f.kr->roots[1].endorsement);
    fx_sign_keyring(&f, &s2);
    ck_assert_int_eq(pf_keyring_verify(f.kdoc, f.klen, f.ksig, f.ksiglen, &f.root_pub, 0, kr, &err),
                     PF_EROOT_CHAIN);
    /* An anchor past the broken link does not need it. */
    ck_assert_int_eq(pf_keyring_verify(f.kdoc, f.klen, f.ksig, f.ksiglen, &p1, 0, kr, &err), 0);
    /* Keyring signed by a root that is not the chain's last. */
    pf_keyring_endorse(&f.root_sec, &p1, f.kr->roots[1].endorsement);
    fx_sign_keyring(&f, &s1);
    ck_assert_int_eq(pf_keyring_verify(f.kdoc, f.klen, f.ksig, f.ksiglen, &f.root_pub, 0, kr, &err),
                     PF_EBAD_SIG);
    ck_assert_int_eq(pf_keyring_verify(f.kdoc, f.klen, NULL, 0, &f.root_pub, 0, kr, &err),
                     PF_ENO_SIG);
    pf_ms_seckey_wipe(&s1);
    pf_ms_seckey_wipe(&s2);
    pf_ms_seckey_wipe(&sf);
    free(kr);
    fx_release(&f);
}
END_TEST

START_TEST(test_parse_refusals)
{
    static const struct {
        const char *doc;
        int code;
        const char *field;
    } cases[] = {
            {"[]", PF_ESCHEMA, "top level"},
            {"{\"schema\":2}", PF_EVERSION, "schema"},
            {"{\"schema\":1,\"serial\":0}", PF_ERANGE, "serial"},
            {"{\"schema\":1,\"serial\":1,\"issued\":\"yesterday\"}", PF_ERANGE, "issued"},
            {"{\"schema\":1,\"serial\":1,\"issued\":\"2026-02-30T00:00:00Z\"}", PF_EPARSE,
             "issued"},
            {"{\"schema\":1,\"serial\":1,\"issued\":\"2026-01-01T00:00:00Z\",\"roots\":[]}",
             PF_ESCHEMA, "roots"},
            {"{\"schema\":1,\"serial\":1,\"issued\":\"2026-01-01T00:00:00Z\",\"roots\":[{\"public_"
             "key\":"
             "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
             PF_EPARSE, "public_key"},
    };
    struct pf_keyring *kr = malloc(sizeof(*kr));

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pf_error err = {0};
        int rc = pf_keyring_parse(cases[i].doc, strlen(cases[i].doc), kr, &err);
        ck_assert_msg(rc == cases[i].code, "case %zu: %s (%s)", i, pf_errname(rc), err.msg);
        ck_assert_msg(strstr(err.msg, cases[i].field), "case %zu: %s", i, err.msg);
    }
    free(kr);
}
END_TEST

START_TEST(test_time_format)
{
    int64_t t;
    char s[PF_TIME_STR_LEN + 1];

    ck_assert_int_eq(pf_time_parse("1970-01-01T00:00:00Z", &t), 0);
    ck_assert_int_eq(t, 0);
    ck_assert_int_eq(pf_time_parse("2024-02-29T12:34:56Z", &t), 0);
    ck_assert_int_eq(t, 1709210096);
    ck_assert_int_eq(pf_time_format(t, s), 0);
    ck_assert_str_eq(s, "2024-02-29T12:34:56Z");
    ck_assert_int_eq(pf_time_parse("2023-02-29T00:00:00Z", &t), PF_EPARSE);
    ck_assert_int_eq(pf_time_parse("2024-01-01T00:00:00+01:00", &t), PF_EPARSE);
    ck_assert_int_eq(pf_time_parse("2024-01-01 00:00:00Z", &t), PF_EPARSE);
    ck_assert_int_eq(pf_time_parse("2024-01-01T24:00:00Z", &t), PF_EPARSE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("keyring");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_encode_parse_roundtrip);
    tcase_add_test(tc, test_check_key);
    tcase_add_test(tc, test_refuse_key_id_not_canonical);
    tcase_add_test(tc, test_chain_walk);
    tcase_add_test(tc, test_parse_refusals);
    tcase_add_test(tc, test_time_format);
    suite_add_tcase(s, tc);
    return pf_test_run(s);
}
