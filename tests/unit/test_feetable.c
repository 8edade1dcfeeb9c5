/*
 * test_feetable.c - fee-table schema: every invalid field is refused with
 * PF_EFEETABLE and its name; fee arithmetic.
 */
#include <jansson.h>

#include "pf/feetable.h"
#include "testutil.h"

static const char good_doc[] = "{\"schema\":1,\"version\":\"2026.12.1\",\"currency\":\"EUR\","
                               "\"effective_at\":\"2026-12-01T00:00:00Z\","
                               "\"rates\":{\"debit_card\":{\"rate_bp\":90,\"cap_minor\":500},"
                               "\"credit_card\":{\"rate_bp\":150,\"cap_minor\":1000},"
                               "\"qr_code\":{\"rate_bp\":60,\"cap_minor\":300},"
                               "\"contactless\":{\"rate_bp\":80,\"cap_minor\":500}},"
                               "\"settlement\":{\"t0_surcharge_bp\":25,\"t1_surcharge_bp\":0},"
                               "\"mcc\":[\"5411\",\"5812\",\"5999\"]}";

START_TEST(test_good)
{
    struct pf_feetable ft;
    struct pf_error err = {0};

    ck_assert_msg(pf_feetable_parse(good_doc, strlen(good_doc), &ft, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(ft.version, "2026.12.1");
    ck_assert_str_eq(ft.currency, "EUR");
    ck_assert_int_eq(ft.effective_at, 1796083200);
    ck_assert_int_eq(ft.rates[PF_FEE_CREDIT_CARD].rate_bp, 150);
    ck_assert_int_eq(ft.surcharge_bp[PF_SETTLE_T0], 25);
    ck_assert_uint_eq(ft.nmcc, 3);
    ck_assert(pf_feetable_applies(&ft, 5812));
    ck_assert(!pf_feetable_applies(&ft, 4111));
    /* 100.00 EUR by credit card, T+1: 1.50 % = 150 minor units. */
    ck_assert_int_eq(pf_feetable_fee(&ft, PF_FEE_CREDIT_CARD, PF_SETTLE_T1, 10000), 150);
    /* T+0 adds 25 bp: 1.75 %. */
    ck_assert_int_eq(pf_feetable_fee(&ft, PF_FEE_CREDIT_CARD, PF_SETTLE_T0, 10000), 175);
    /* Capped at 10.00. */
    ck_assert_int_eq(pf_feetable_fee(&ft, PF_FEE_CREDIT_CARD, PF_SETTLE_T1, 10000000), 1000);
    /* Rounded half up: 0.9 % of 0.50 = 0.45 -> 0. of 1.00 = 0.9 -> 1. */
    ck_assert_int_eq(pf_feetable_fee(&ft, PF_FEE_DEBIT_CARD, PF_SETTLE_T1, 50), 0);
    ck_assert_int_eq(pf_feetable_fee(&ft, PF_FEE_DEBIT_CARD, PF_SETTLE_T1, 100), 1);
}
END_TEST

START_TEST(test_refusals)
{
    static const struct {
        const char *path;  /* "a" or "a.b" */
        const char *value; /* NULL deletes */
        const char *mention;
    } cases[] = {
            {"schema", "3",
             "fee table: the field \"schema\": format version 3 not supported (1 is)"},
            {"schema", NULL, "fee table: the field \"schema\" (the format version, 1) is missing"},
            {"version", "\"next\"", "version"},
            {"version", "\"2026.012.1\"", "version: '2026.012.1' has a leading zero"},
            {"currency", "\"eur\"", "currency"},
            {"currency", "\"EURO\"", "currency"},
            {"effective_at", "\"2026-12-01\"", "effective_at"},
            {"effective_at", NULL, "effective_at"},
            {"rates", NULL, "rates"},
            {"rates.qr_code", NULL, "rates: qr_code"},
            {"rates.crypto", "{\"rate_bp\":1,\"cap_minor\":1}", "rates.crypto"},
            {"rates.credit_card", "{\"rate_bp\":20000,\"cap_minor\":1}",
             "rates.credit_card: rate_bp"},
            {"rates.credit_card", "{\"rate_bp\":-1,\"cap_minor\":1}", "rates.credit_card: rate_bp"},
            {"rates.debit_card", "{\"rate_bp\":90}", "rates.debit_card: cap_minor"},
            {"rates.debit_card", "{\"rate_bp\":90,\"cap_minor\":0}", "rates.debit_card: cap_minor"},
            {"rates.debit_card", "{\"rate_bp\":\"90\",\"cap_minor\":5}",
             "rates.debit_card: rate_bp"},
            {"settlement", NULL, "settlement"},
            {"settlement", "{\"t0_surcharge_bp\":5000,\"t1_surcharge_bp\":0}",
             "settlement: t0_surcharge_bp"},
            {"settlement", "{\"t0_surcharge_bp\":5}", "settlement: t1_surcharge_bp"},
            {"mcc", "[]", "mcc"},
            {"mcc", "[5411]", "mcc[0]"},
            {"mcc", "[\"5411\",\"541\"]", "mcc[1]"},
            {"mcc", "[\"5411\",\"5411\"]", "mcc[1]"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *o = json_loads(good_doc, 0, NULL), *parent = o;
        struct pf_feetable ft;
        struct pf_error err = {0};
        char key[64], *dot, *s;
        int rc;

        snprintf(key, sizeof(key), "%s", cases[i].path);
        if ((dot = strchr(key, '.')) != NULL) {
            *dot = '\0';
            parent = json_object_get(o, key);
            memmove(key, dot + 1, strlen(dot + 1) + 1);
        }
        if (cases[i].value)
            json_object_set_new(parent, key, json_loads(cases[i].value, JSON_DECODE_ANY, NULL));
        else
            json_object_del(parent, key);
        s = json_dumps(o, 0);
        rc = pf_feetable_parse(s, strlen(s), &ft, &err);
        ck_assert_msg(rc == PF_EFEETABLE, "case %zu: %s", i, pf_errname(rc));
        ck_assert_int_eq(err.code, PF_EFEETABLE);
        ck_assert_msg(strstr(err.msg, cases[i].mention), "case %zu: '%s' lacks '%s'", i, err.msg,
                      cases[i].mention);
        free(s);
        json_decref(o);
    }
}
END_TEST

START_TEST(test_surcharge_sum)
{
    static const char doc[] =
            "{\"schema\":1,\"version\":\"1\",\"currency\":\"USD\","
            "\"effective_at\":\"2026-12-01T00:00:00Z\","
            "\"rates\":{\"debit_card\":{\"rate_bp\":9500,\"cap_minor\":500},"
            "\"credit_card\":{\"rate_bp\":150,\"cap_minor\":1000},"
            "\"qr_code\":{\"rate_bp\":60,\"cap_minor\":300},"
            "\"contactless\":{\"rate_bp\":80,\"cap_minor\":500}},"
            "\"settlement\":{\"t0_surcharge_bp\":600,\"t1_surcharge_bp\":0},\"mcc\":[\"5411\"]}";
    struct pf_feetable ft;
    struct pf_error err = {0};

    ck_assert_int_eq(pf_feetable_parse(doc, strlen(doc), &ft, &err), PF_EFEETABLE);
    ck_assert_ptr_nonnull(strstr(err.msg, "debit_card"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("feetable");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_good);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_surcharge_sum);
    suite_add_tcase(s, tc);
    return pf_test_run(s);
}
