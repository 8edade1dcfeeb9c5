/*
 * test_rollout_preview.c - previews and coverage without a database
 * (server/rollouts/rollout_preview.h, pfs_ro_cohort_classify in
 * rollout_plan.h): which terminals are members, already run the version, are
 * not targeted or not covered by a fee table's merchant categories; the counts
 * by stage and dimension; the next opening of a maintenance window; the plan
 * digest, stable for the same plan and different for another; the refusal
 * message naming the mismatch.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf/bundle.h"
#include "rollouts/rollout_preview.h"
#include "testutil.h"

#define BUNDLE_A "\"bundle\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""
#define ALL      "{" BUNDLE_A ",\"stages\":[\"100%\"]"

static void def(const char *text, struct pfs_ro_def *d)
{
    struct pf_error err = {0};
    json_t *o = json_loads(text, 0, NULL);

    ck_assert_ptr_nonnull(o);
    ck_assert_msg(pfs_ro_def_parse(o, 1000, d, &err) == 0, "%s", err.msg);
    json_decref(o);
}

static const struct pfs_ro_target fw2 = {PF_KIND_FIRMWARE, "2.0.0", "PX-500", "r2"};
static const struct pfs_ro_target fee3 = {PF_KIND_FEETABLE, "2026.3", "PX-500", "r2"};

static struct pfs_ro_candidate term(const char *serial, const char *model, const char *mcc)
{
    struct pfs_ro_candidate c = {serial, model, "r2",    "registered", "active", "1.0.0", "2026.1",
                                 "M1",   mcc,   "north", "[]",         1000,     "UTC"};
    return c;
}

static enum pfs_ro_class classify(const char *text, const struct pfs_ro_target *t,
                                  const struct pfs_ro_cover *cov, const struct pfs_ro_candidate *c)
{
    struct pfs_ro_def d;
    struct pfs_ro_cohort_rule r;
    struct pf_error err = {0};
    enum pfs_ro_class k;

    def(text, &d);
    ck_assert_int_eq(pfs_ro_cohort_rule_init(&r, &d, t, -1, &err), 0);
    k = pfs_ro_cohort_classify(&r, cov, c);
    pfs_ro_cohort_rule_release(&r);
    pfs_ro_def_release(&d);
    return k;
}

START_TEST(classify_members_already_untargeted)
{
    struct pfs_ro_candidate c = term("T1", "PX-500", "5411");

    ck_assert_int_eq(classify(ALL "}", &fw2, NULL, &c), PFS_RO_MEMBER);
    c.fw_version = "2.0.0";
    ck_assert_int_eq(classify(ALL "}", &fw2, NULL, &c), PFS_RO_ALREADY);
    c = term("T2", "A920", "5411");
    /* no filter: the cohort is the bundle's targets */
    ck_assert_int_eq(classify(ALL "}", &fw2, NULL, &c), PFS_RO_OUT);
    /* a filter selects it: the firmware does not cover it */
    ck_assert_int_eq(
            classify(ALL ",\"cohort\":{\"models\":[\"PX-500\",\"A920\"]}}", &fw2, NULL, &c),
            PFS_RO_UNTARGETED);
    ck_assert_int_eq(classify(ALL ",\"cohort\":{\"regions\":[\"north\"]}}", &fw2, NULL, &c),
                     PFS_RO_UNTARGETED);
    /* filtered out before targets are asked */
    ck_assert_int_eq(classify(ALL ",\"cohort\":{\"models\":[\"PX-500\"]}}", &fw2, NULL, &c),
                     PFS_RO_OUT);
    c.state = "locked";
    ck_assert_int_eq(classify(ALL ",\"cohort\":{\"regions\":[\"north\"]}}", &fw2, NULL, &c),
                     PFS_RO_OUT);
}
END_TEST

START_TEST(classify_fee_table_categories)
{
    const uint16_t mccs[] = {5812, 5814};
    struct pfs_ro_cover cov = {true, mccs, 2}, none = {true, NULL, 0};
    struct pfs_ro_candidate c = term("T1", "PX-500", "5411");

    ck_assert_int_eq(classify(ALL "}", &fee3, &cov, &c), PFS_RO_UNCOVERED);
    ck_assert_int_eq(classify(ALL "}", &fee3, NULL, &c), PFS_RO_MEMBER); /* no check */
    c.mcc = "5812";
    ck_assert_int_eq(classify(ALL "}", &fee3, &cov, &c), PFS_RO_MEMBER);
    ck_assert_int_eq(classify(ALL "}", &fee3, &none, &c), PFS_RO_UNCOVERED);
    c.mcc = NULL; /* no merchant: nothing to charge, nothing to check */
    ck_assert_int_eq(classify(ALL "}", &fee3, &cov, &c), PFS_RO_MEMBER);
    c = term("T1", "PX-500", "5411");
    c.fee_version = "2026.3"; /* already before uncovered */
    ck_assert_int_eq(classify(ALL "}", &fee3, &cov, &c), PFS_RO_ALREADY);
    ck_assert(pfs_ro_cover_mcc(&cov, "5814"));
    ck_assert(!pfs_ro_cover_mcc(&cov, "581"));
    ck_assert(!pfs_ro_cover_mcc(&cov, "58x2"));
    ck_assert(pfs_ro_cover_mcc(NULL, "0000"));
}
END_TEST

START_TEST(window_next_open)
{
    struct pfs_ro_def d;
    int64_t now = 1794999960000 + 17 * 1000; /* 17 s into a minute */

    def(ALL ",\"window\":{\"start\":\"01:00\",\"end\":\"05:00\"}}", &d);
    ck_assert_int_eq(pfs_ro_window_next_open(&d, 120, now), now); /* 02:00: open */
    /* 23:30: opens in 90 minutes, at the start of that minute */
    ck_assert_int_eq(pfs_ro_window_next_open(&d, 23 * 60 + 30, now), now - 17000 + 90 * 60000);
    /* 05:00 (end excluded): tomorrow 01:00 */
    ck_assert_int_eq(pfs_ro_window_next_open(&d, 300, now), now - 17000 + 20 * 60 * 60000);
    pfs_ro_def_release(&d);
    def(ALL ",\"window\":{\"start\":\"22:00\",\"end\":\"02:00\"}}", &d); /* wraps */
    ck_assert_int_eq(pfs_ro_window_next_open(&d, 23 * 60, now), now);
    ck_assert_int_eq(pfs_ro_window_next_open(&d, 12 * 60, now), now - 17000 + 10 * 60 * 60000);
    pfs_ro_def_release(&d);
}
END_TEST

/* A preview of four PX-500s (one already at 2.0.0) and an A920 for the cohort text. */
static void preview(const char *text, struct pfs_ro_preview *p, const char *last_model, int64_t id)
{
    struct pfs_ro_def d;
    struct pf_error err = {0};
    struct pfs_ro_candidate c[5] = {term("T1", "PX-500", "5411"), term("T2", "PX-500", "5812"),
                                    term("T3", "PX-500", "5411"), term("T4", "PX-500", "5411"),
                                    term("T5", last_model, "5411")};

    c[1].region = "south";
    c[2].fw_version = "2.0.0";
    c[3].tz = "";
    def(text, &d);
    ck_assert_int_eq(pfs_ro_preview_init(p, &d, &fw2, NULL, false, &err), 0);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(pfs_ro_preview_consider(p, &c[i]), 0);
    ck_assert_int_eq(pfs_ro_preview_consider(p, &c[0]), PF_EINVAL); /* not in serial order */
    ck_assert_msg(pfs_ro_preview_finish(p, &d, id, "b1", text, "UTC", 1795000000000, &err) == 0,
                  "%s", err.msg);
    pfs_ro_def_release(&d);
}

static int64_t count(const struct pfs_ro_preview *p, int dim, const char *value, size_t stage)
{
    for (size_t v = 0; v < p->vals[dim].n; v++) {
        if (strcmp(p->vals[dim].v[v], value) == 0)
            return p->counts[dim][v * (p->nstages + 1) + stage];
    }
    return 0;
}

START_TEST(preview_counts_stages_and_dimensions)
{
    struct pfs_ro_preview p;
    char msg[400];
    const char *text =
            "{" BUNDLE_A ",\"stages\":[\"1\",\"100%\"],\"cohort\":{\"regions\":[\"north\","
            "\"south\"]}}";
    preview(text, &p, "A920", 7);
    ck_assert_int_eq(p.n, 3); /* T1 T2 T4 */
    ck_assert_int_eq(p.already, 1);
    ck_assert_int_eq(p.untargeted, 1);
    ck_assert_int_eq(p.nstages, 2);
    ck_assert_int_eq(p.targets[0], 1);
    ck_assert_int_eq(p.targets[1], 3);
    ck_assert_int_eq(count(&p, PFS_RO_DIM_MODEL, "PX-500", 2), 3);
    ck_assert_int_eq(
            count(&p, PFS_RO_DIM_MODEL, "PX-500", 0) + count(&p, PFS_RO_DIM_MODEL, "PX-500", 1), 3);
    ck_assert_int_eq(count(&p, PFS_RO_DIM_MCC, "5411", 2), 2);
    ck_assert_int_eq(count(&p, PFS_RO_DIM_REGION, "south", 2), 1);
    ck_assert_int_eq(count(&p, PFS_RO_DIM_VERSION, "1.0.0", 2), 3);
    ck_assert_int_eq(count(&p, PFS_RO_DIM_TZ, "UTC", 2), 2);
    ck_assert_int_eq(count(&p, PFS_RO_DIM_TZ, "", 2), 1); /* the default zone */
    ck_assert_int_eq(p.nterms, 2);
    ck_assert_str_eq(p.terms[0].serial, "T3");
    ck_assert_int_eq(p.terms[0].cls, PFS_RO_ALREADY);
    ck_assert_str_eq(p.terms[1].serial, "T5");
    ck_assert(pfs_ro_preview_mismatch(&p, msg, sizeof(msg)));
    ck_assert_msg(strstr(msg, "first T5: model A920 r2 is not a target") != NULL, "%s", msg);
    ck_assert_int_eq(strlen(p.digest), PF_B2_HEX_LEN);
    ck_assert_str_eq(p.plan_error, "");
    pfs_ro_preview_release(&p);
}
END_TEST

START_TEST(preview_digest_follows_the_plan)
{
    const char *text = "{" BUNDLE_A ",\"stages\":[\"1\",\"100%\"],\"cohort\":{\"regions\":["
                       "\"north\",\"south\"]}}";
    struct pfs_ro_preview a, b, c, e;
    char msg[400];

    preview(text, &a, "A920", 7);
    preview(text, &b, "A920", 7);
    ck_assert_str_eq(a.digest, b.digest);
    preview(text, &c, "PX-500", 7); /* T5 joins: another cohort */
    ck_assert_str_ne(a.digest, c.digest);
    ck_assert(!pfs_ro_preview_mismatch(&c, msg, sizeof(msg)));
    preview(text, &e, "A920", 8); /* another id: another order */
    ck_assert_int_eq(e.n, a.n);
    pfs_ro_preview_release(&a);
    pfs_ro_preview_release(&b);
    pfs_ro_preview_release(&c);
    pfs_ro_preview_release(&e);
}
END_TEST

START_TEST(preview_of_an_empty_cohort_says_why)
{
    struct pfs_ro_preview p;
    struct pfs_ro_def d;
    struct pf_error err = {0};
    struct pfs_ro_candidate c = term("T1", "PX-500", "5411");

    c.fw_version = "2.0.0";
    def(ALL "}", &d);
    ck_assert_int_eq(pfs_ro_preview_init(&p, &d, &fw2, NULL, false, &err), 0);
    ck_assert_int_eq(pfs_ro_preview_consider(&p, &c), 0);
    ck_assert_int_eq(pfs_ro_preview_finish(&p, &d, 1, "b1", "{}", "UTC", 1000, &err), 0);
    ck_assert_int_eq(p.n, 0);
    ck_assert_int_eq(p.already, 1);
    ck_assert_int_eq(p.nstages, 0);
    ck_assert_msg(strstr(p.plan_error, "the cohort is empty") != NULL, "%s", p.plan_error);
    pfs_ro_preview_release(&p);
    pfs_ro_def_release(&d);
}
END_TEST

START_TEST(preview_forced_keeps_uncovered_members)
{
    const uint16_t mccs[] = {5812};
    struct pfs_ro_cover cov = {true, mccs, 1};
    struct pfs_ro_preview p;
    struct pfs_ro_def d;
    struct pf_error err = {0};
    struct pfs_ro_candidate c[2] = {term("T1", "PX-500", "5411"), term("T2", "PX-500", "5812")};
    char msg[400];

    def(ALL "}", &d);
    for (int forced = 0; forced < 2; forced++) {
        ck_assert_int_eq(pfs_ro_preview_init(&p, &d, &fee3, &cov, forced, &err), 0);
        for (int i = 0; i < 2; i++)
            ck_assert_int_eq(pfs_ro_preview_consider(&p, &c[i]), 0);
        ck_assert_int_eq(pfs_ro_preview_finish(&p, &d, 1, "b1", "{}", "UTC", 1000, &err), 0);
        ck_assert_int_eq(p.n, forced ? 2 : 1);
        ck_assert_int_eq(p.uncovered_n, 1);
        ck_assert(pfs_ro_preview_mismatch(&p, msg, sizeof(msg)));
        ck_assert_msg(strstr(msg, "first T1: MCC 5411 is not in the fee table") != NULL, "%s", msg);
        pfs_ro_preview_release(&p);
    }
    pfs_ro_def_release(&d);
}
END_TEST

START_TEST(approval_four_eyes)
{
    char d1[PF_B2_HEX_LEN + 1], d2[PF_B2_HEX_LEN + 1], detail[128];
    struct pfs_ro_approval a = {true, "ops-alice", d1, d1};
    struct pf_error err = {0};

    memset(d1, 'a', PF_B2_HEX_LEN);
    d1[PF_B2_HEX_LEN] = 0;
    memcpy(d2, d1, sizeof(d2));
    d2[0] = 'b';
    ck_assert_int_eq(pfs_ro_approval_check(&a, "ann", d1, &err), 0);
    ck_assert_int_eq(pfs_ro_approval_check(&a, "ops-alice", d1, &err), PF_EPERM); /* creator */
    ck_assert_int_eq(pfs_ro_approval_check(&a, "ann", "abc", &err), PF_EINVAL);
    ck_assert_int_eq(pfs_ro_approval_check(&a, "ann", d2, &err), PF_ESTATE); /* other plan */
    ck_assert_msg(strstr(err.msg, "not the plan it was created with") != NULL, "%s", err.msg);
    a.now = d2; /* the cohort changed since creation */
    ck_assert_int_eq(pfs_ro_approval_check(&a, "ann", d1, &err), PF_ESTATE);
    ck_assert_msg(strstr(err.msg, "cohort changed") != NULL, "%s", err.msg);
    a.now = d1;
    a.awaiting = false;
    ck_assert_int_eq(pfs_ro_approval_check(&a, "ann", d1, &err), PF_ESTATE);
    ck_assert(pfs_ro_awaits_approval(PFS_RO_PAUSED, PFS_RO_APPROVAL));
    ck_assert(!pfs_ro_awaits_approval(PFS_RO_PAUSED, "ops"));
    ck_assert(!pfs_ro_awaits_approval(PFS_RO_RUNNING, PFS_RO_APPROVAL));
    snprintf(detail, sizeof(detail), "waits for an approver of plan %s", d1);
    ck_assert_str_eq(pfs_ro_approval_recorded(detail), d1);
    ck_assert_str_eq(pfs_ro_approval_recorded("waits for an approver"), "");
    ck_assert_str_eq(pfs_ro_approval_recorded(NULL), "");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("rollout_preview");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, classify_members_already_untargeted);
    tcase_add_test(tc, classify_fee_table_categories);
    tcase_add_test(tc, window_next_open);
    tcase_add_test(tc, preview_counts_stages_and_dimensions);
    tcase_add_test(tc, preview_digest_follows_the_plan);
    tcase_add_test(tc, preview_of_an_empty_cohort_says_why);
    tcase_add_test(tc, preview_forced_keeps_uncovered_members);
    tcase_add_test(tc, approval_four_eyes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
