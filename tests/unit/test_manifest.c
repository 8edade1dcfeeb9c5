/*
 * test_manifest.c - manifest parsing (every field refused with its name) and policy.
 */
#include <jansson.h>

#include "bundle_fixture.h"
#include "testutil.h"

/* A valid manifest as a jansson object, to be broken one field at a time. */
static json_t *good(void)
{
    return json_pack("{s:i,s:s,s:s,s:[s,s],s:[s],s:s,s:s,s:s,s:s,s:[{s:s,s:i,s:s}]}", "schema", 1,
                     "kind", "firmware", "version", "1.4.2", "models", "PX-200", "PX-210",
                     "hw_revs", "B", "created", "2026-11-01T00:00:00Z", "expires",
                     "2027-01-01T00:00:00Z", "key_id", "0123456789ABCDEF", "notes", "fixes",
                     "payloads", "name", "fw.img", "size", 42, "blake2b_256",
                     "0000000000000000000000000000000000000000000000000000000000000000");
}

static int parse_obj(json_t *o, struct pf_manifest *m, struct pf_error *err)
{
    char *s = json_dumps(o, 0);
    int rc = pf_manifest_parse(s, strlen(s), m, err);
    free(s);
    json_decref(o);
    return rc;
}

START_TEST(test_parse_good_and_roundtrip)
{
    struct pf_manifest m, m2;
    struct pf_error err = {0};
    char *doc;
    size_t len;

    ck_assert_msg(parse_obj(good(), &m, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(m.kind, PF_KIND_FIRMWARE);
    ck_assert_str_eq(m.version, "1.4.2");
    ck_assert_uint_eq(m.nmodels, 2);
    ck_assert_str_eq(m.payloads[0].name, "fw.img");
    ck_assert_uint_eq(m.payloads[0].size, 42);
    ck_assert_int_eq(pf_manifest_encode(&m, &doc, &len, &err), 0);
    ck_assert_int_eq(pf_manifest_parse(doc, len, &m2, &err), 0);
    ck_assert_int_eq(memcmp(&m, &m2, sizeof(m)), 0);
    free(doc);
}
END_TEST

START_TEST(test_parse_refusals)
{
    static const struct {
        const char *key;
        const char *json_value; /* NULL: delete the field */
        int code;
    } cases[] = {
            {"schema", "2", PF_EVERSION},
            {"kind", "\"bootloader\"", PF_ERANGE},
            {"version", "\"1.x\"", PF_EPARSE},
            {"version", NULL, PF_ESCHEMA},
            {"models", "[]", PF_ESCHEMA},
            {"models", "[\"A\",\"A\"]", PF_ESCHEMA},
            {"models", "\"PX-200\"", PF_ESCHEMA},
            {"hw_revs", NULL, PF_ESCHEMA},
            {"created", "\"2026-11-01\"", PF_ERANGE},
            {"expires", "\"2026-10-01T00:00:00Z\"", PF_ERANGE},
            {"key_id", "\"0123\"", PF_ERANGE},
            {"key_id", "\"0123456789ABCDEX\"", PF_EPARSE},
            /* One key, one spelling: the lower-case form of a valid id. */
            {"key_id", "\"0123456789abcdef\"", PF_ERANGE},
            {"key_id", "\"0123456789ABCDEf\"", PF_ERANGE},
            /* One version, one spelling: no leading zeros. */
            {"version", "\"03.0.0\"", PF_ERANGE},
            {"version", "\"1.02.3\"", PF_ERANGE},
            {"version", "\"1.4.00\"", PF_ERANGE},
            {"payloads", "[]", PF_ESCHEMA},
            {"payloads", "[{\"name\":\"../x\",\"size\":1,\"blake2b_256\":\"00\"}]", PF_ERANGE},
            {"payloads",
             "[{\"name\":\"../x\",\"size\":1,\"blake2b_256\":"
             "\"0000000000000000000000000000000000000000000000000000000000000000\"}]",
             PF_EUNSAFE_PATH},
            {"payloads",
             "[{\"name\":\"manifest.json\",\"size\":1,\"blake2b_256\":"
             "\"0000000000000000000000000000000000000000000000000000000000000000\"}]",
             PF_EUNSAFE_PATH},
            {"payloads",
             "[{\"name\":\"a\",\"size\":-1,\"blake2b_256\":"
             "\"0000000000000000000000000000000000000000000000000000000000000000\"}]",
             PF_ERANGE},
            {"payloads",
             "[{\"name\":\"a\",\"size\":1,\"blake2b_256\":"
             "\"000000000000000000000000000000000000000000000000000000000000000G\"}]",
             PF_EPARSE},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pf_manifest m;
        struct pf_error err = {0};
        json_t *o = good();
        int rc;

        if (cases[i].json_value)
            json_object_set_new(o, cases[i].key,
                                json_loads(cases[i].json_value, JSON_DECODE_ANY, NULL));
        else
            json_object_del(o, cases[i].key);
        rc = parse_obj(o, &m, &err);
        ck_assert_msg(rc == cases[i].code, "case %zu (%s): %s: %s", i, cases[i].key, pf_errname(rc),
                      err.msg);
        ck_assert_msg(strstr(err.msg, cases[i].key), "case %zu: message '%s' lacks the field", i,
                      err.msg);
        ck_assert_msg(strncmp(err.msg, "manifest: ", 10) == 0, "%s", err.msg);
    }
    {
        struct pf_manifest m;
        struct pf_error err = {0};
        ck_assert_int_eq(pf_manifest_parse("{\"schema\":1,", 12, &m, &err), PF_EPARSE);
        ck_assert_int_eq(pf_manifest_parse("{\"a\":1,\"a\":2}", 13, &m, &err), PF_EPARSE);
    }
}
END_TEST

START_TEST(test_policy)
{
    struct pf_manifest m;
    struct pf_error err = {0};
    struct pf_policy pol = {.kind = PF_KIND_FIRMWARE,
                            .model = "PX-210",
                            .hw_rev = "B",
                            .installed_version = "1.4.1",
                            .now = 1793000000};

    ck_assert_int_eq(parse_obj(good(), &m, &err), 0);
    pol.now = m.created + 10;
    ck_assert_int_eq(pf_manifest_check_policy(&m, &pol, &err), 0);
    pol.installed_version = "1.4.10";
    ck_assert_int_eq(pf_manifest_check_policy(&m, &pol, &err), PF_EROLLBACK);
    pol.installed_version = "1.4.2";
    ck_assert_int_eq(pf_manifest_check_policy(&m, &pol, &err), PF_EROLLBACK);
    pol.installed_version = "junk";
    ck_assert_int_eq(pf_manifest_check_policy(&m, &pol, &err), PF_EINVAL);
    pol.installed_version = NULL;
    pol.model = "PX-300";
    ck_assert_int_eq(pf_manifest_check_policy(&m, &pol, &err), PF_EMODEL);
    pol.model = NULL;
    pol.hw_rev = "A";
    ck_assert_int_eq(pf_manifest_check_policy(&m, &pol, &err), PF_EHWREV);
    pol.hw_rev = NULL;
    pol.now = m.expires + 1;
    ck_assert_int_eq(pf_manifest_check_policy(&m, &pol, &err), PF_EEXPIRED);
    pol.now = m.expires;
    ck_assert_int_eq(pf_manifest_check_policy(&m, &pol, &err), 0);
    pol.kind = PF_KIND_FEETABLE;
    ck_assert_int_eq(pf_manifest_check_policy(&m, &pol, &err), PF_EINVAL);
    pol.kind = -1;
    pol.max_payload_size = 41;
    ck_assert_int_eq(pf_manifest_check_policy(&m, &pol, &err), PF_ELIMIT);
}
END_TEST

START_TEST(test_policy_created_skew)
{
    struct pf_manifest m;
    struct pf_error err = {0};
    struct pf_policy pol = {.kind = -1};

    ck_assert_int_eq(parse_obj(good(), &m, &err), 0);
    /* A signing clock up to the skew ahead of ours is tolerated... */
    pol.now = m.created - PF_MANIFEST_CREATED_SKEW;
    ck_assert_int_eq(pf_manifest_check_policy(&m, &pol, &err), 0);
    /* ...one second more is a created time in the future. */
    pol.now = m.created - PF_MANIFEST_CREATED_SKEW - 1;
    ck_assert_int_eq(pf_manifest_check_policy(&m, &pol, &err), PF_ERANGE);
    ck_assert_msg(strstr(err.msg, "created 2026-11-01T00:00:00Z is in the future"), "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "24 h"), "%s", err.msg);
}
END_TEST

START_TEST(test_version_canonical)
{
    static const char *const ok[] = {"0", "0.0.1", "1.4.2", "2026.12.1", "10.0.100"};
    static const char *const zero[] = {"00", "03.0.0", "1.02.3", "1.0.07", "2026.01.1"};

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        ck_assert_msg(pf_version_check(ok[i]) == 0, "%s", ok[i]);
    for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
        ck_assert_msg(pf_version_check(zero[i]) == PF_ERANGE, "%s", zero[i]);
        ck_assert(pf_version_valid(zero[i])); /* terminals' reported versions stay lenient */
    }
    ck_assert_int_eq(pf_version_check("1.x"), PF_EPARSE);
    ck_assert_int_eq(pf_version_check(""), PF_EPARSE);
}
END_TEST

START_TEST(test_names)
{
    ck_assert(pf_manifest_name_valid("fw.img"));
    ck_assert(pf_manifest_name_valid("rootfs-1.4.2_arm.squashfs"));
    ck_assert(!pf_manifest_name_valid(""));
    ck_assert(!pf_manifest_name_valid(".hidden"));
    ck_assert(!pf_manifest_name_valid("a/b"));
    ck_assert(!pf_manifest_name_valid(".."));
    ck_assert(!pf_manifest_name_valid("keyring.json"));
    ck_assert(!pf_manifest_name_valid("a b"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("manifest");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_parse_good_and_roundtrip);
    tcase_add_test(tc, test_parse_refusals);
    tcase_add_test(tc, test_policy);
    tcase_add_test(tc, test_policy_created_skew);
    tcase_add_test(tc, test_version_canonical);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    return pf_test_run(s);
}
