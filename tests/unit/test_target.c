/*
 * test_target.c - the terminal-targeting rule (pf/target.h), edge by edge,
 * in both list shapes, and through the manifest policy that the agent uses.
 */
#include <string.h>

#include "pf/manifest.h"
#include "pf/target.h"
#include "testutil.h"

static int match_csv(const char *models, const char *revs, const char *model, const char *hw)
{
    struct pf_target_list m = pf_target_csv(models), r = pf_target_csv(revs);

    return pf_target_match(&m, &r, model, hw);
}

START_TEST(csv_lists)
{
    ck_assert_int_eq(match_csv("T1", "A", "T1", "A"), 0);
    ck_assert_int_eq(match_csv("T0,T1,T2", "A,B", "T2", "B"), 0);
    ck_assert_int_eq(match_csv("T0,T1", "A", "T2", "A"), PF_EMODEL);
    ck_assert_int_eq(match_csv("T1", "A,B", "T1", "C"), PF_EHWREV);
    /* Names are whole and exact: no prefix, no case folding, no blanks trimmed. */
    ck_assert_int_eq(match_csv("T10", "A", "T1", "A"), PF_EMODEL);
    ck_assert_int_eq(match_csv("T1", "A", "T10", "A"), PF_EMODEL);
    ck_assert_int_eq(match_csv("t1", "A", "T1", "A"), PF_EMODEL);
    ck_assert_int_eq(match_csv("T0, T1", "A", "T1", "A"), PF_EMODEL);
    /* An empty entry in a list names nothing. */
    ck_assert_int_eq(match_csv("T0,,T1", "A", "", "A"), PF_EMODEL);
    ck_assert_int_eq(match_csv(",", "A", "", "A"), PF_EMODEL);
}
END_TEST

START_TEST(empty_lists_match_nothing)
{
    ck_assert_int_eq(match_csv("", "A", "T1", "A"), PF_EMODEL);
    ck_assert_int_eq(match_csv("T1", "", "T1", "A"), PF_EHWREV);
    ck_assert_int_eq(match_csv("", "", "T1", "A"), PF_EMODEL);
    /* Even a terminal whose revision is not known yet. */
    ck_assert_int_eq(match_csv("T1", "", "T1", ""), PF_EHWREV);
    /* NULL csv is an empty list. */
    ck_assert_int_eq(match_csv(NULL, "A", "T1", "A"), PF_EMODEL);
    /* A terminal without a model matches no list. */
    ck_assert_int_eq(match_csv("T1", "A", "", "A"), PF_EMODEL);
}
END_TEST

START_TEST(unknown_revision_matches_on_model)
{
    ck_assert_int_eq(match_csv("T1", "A", "T1", ""), 0);
    ck_assert_int_eq(match_csv("T2", "A", "T1", ""), PF_EMODEL);
}
END_TEST

START_TEST(array_lists)
{
    char models[3][8] = {"T0", "T1", "T10"};
    char revs[2][4] = {"A", "B"};
    struct pf_target_list m = pf_target_array(&models[0][0], 3, sizeof(models[0]));
    struct pf_target_list r = pf_target_array(&revs[0][0], 2, sizeof(revs[0]));
    struct pf_target_list none = pf_target_array(&revs[0][0], 0, sizeof(revs[0]));

    ck_assert_int_eq(pf_target_match(&m, &r, "T10", "B"), 0);
    ck_assert_int_eq(pf_target_match(&m, &r, "T1", "B"), 0);
    ck_assert_int_eq(pf_target_match(&m, &r, "T2", "B"), PF_EMODEL);
    ck_assert_int_eq(pf_target_match(&m, &r, "T1", "C"), PF_EHWREV);
    ck_assert_int_eq(pf_target_match(&none, &r, "T1", "A"), PF_EMODEL);
    ck_assert_int_eq(pf_target_match(&m, &none, "T1", "A"), PF_EHWREV);
    ck_assert(pf_target_listed(&m, "T0"));
    ck_assert(!pf_target_listed(&m, ""));
}
END_TEST

/* The agent's check goes through the same rule: a manifest it reads. */
START_TEST(manifest_policy)
{
    struct pf_manifest m;
    struct pf_policy pol = {.kind = -1, .now = 1000};
    struct pf_error err;

    memset(&m, 0, sizeof(m));
    m.kind = PF_KIND_FIRMWARE;
    m.expires = 2000;
    m.nmodels = 2;
    memcpy(m.models[0], "T1", 3);
    memcpy(m.models[1], "T2", 3);
    m.nhw_revs = 1;
    memcpy(m.hw_revs[0], "A", 2);

    pol.model = "T2";
    pol.hw_rev = "A";
    ck_assert_int_eq(pf_manifest_check_policy(&m, &pol, &err), 0);
    pol.model = "T3";
    ck_assert_int_eq(pf_manifest_check_policy(&m, &pol, &err), PF_EMODEL);
    ck_assert_str_eq(err.msg, "manifest: not built for model T3");
    pol.model = "T1";
    pol.hw_rev = "B";
    ck_assert_int_eq(pf_manifest_check_policy(&m, &pol, &err), PF_EHWREV);
    ck_assert_str_eq(err.msg, "manifest: not built for hardware revision B");
    m.nhw_revs = 0;
    pol.hw_rev = "A";
    ck_assert_int_eq(pf_manifest_check_policy(&m, &pol, &err), PF_EHWREV);
}
END_TEST

static Suite *target_suite(void)
{
    Suite *s = suite_create("target");
    TCase *tc = tcase_create("rule");

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, csv_lists);
    tcase_add_test(tc, empty_lists_match_nothing);
    tcase_add_test(tc, unknown_revision_matches_on_model);
    tcase_add_test(tc, array_lists);
    tcase_add_test(tc, manifest_policy);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(target_suite());
}
