/*
 * test_rollout_plan.c - rollout planning without a database
 * (server/rollouts/rollout_plan.h): who joins a cohort, rule by rule; the
 * membership hash (pinned values: a plan must never reshuffle between
 * versions) and how evenly it spreads; the hash order and the stage split,
 * edge by edge.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf/bundle.h"
#include "rollouts/rollout_plan.h"
#include "testutil.h"

#define BUNDLE_A "\"bundle\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""

static void def(const char *text, struct pfs_ro_def *d)
{
    struct pf_error err = {0};
    json_t *o = json_loads(text, 0, NULL);

    ck_assert_ptr_nonnull(o);
    ck_assert_msg(pfs_ro_def_parse(o, 1000, d, &err) == 0, "%s", err.msg);
    json_decref(o);
}

static const struct pfs_ro_target fw2 = {PF_KIND_FIRMWARE, "2.0.0", "PX-500,A920", "A,B"};

/* A registered, in-stock PX-500 rev A on firmware 1.0.0 with merchant M1. */
static struct pfs_ro_candidate base(const char *serial)
{
    struct pfs_ro_candidate c = {serial, "PX-500", "A",     "registered",       "",   "1.0.0", "7",
                                 "M1",   "5411",   "north", "[\"vip\",\"eu\"]", 5000, NULL};
    return c;
}

static bool match(const char *text, int64_t since, const struct pfs_ro_candidate *c)
{
    struct pfs_ro_def d;
    struct pfs_ro_cohort_rule r;
    struct pf_error err = {0};
    bool m;

    def(text, &d);
    ck_assert_int_eq(pfs_ro_cohort_rule_init(&r, &d, &fw2, since, &err), 0);
    m = pfs_ro_cohort_match(&r, c);
    pfs_ro_cohort_rule_release(&r);
    pfs_ro_def_release(&d);
    return m;
}

#define ALL "{" BUNDLE_A ",\"stages\":[\"100%\"]"

START_TEST(cohort_rules_one_by_one)
{
    struct pfs_ro_candidate c = base("T1");

    ck_assert(match(ALL "}", -1, &c));
    /* registered and in a state that may install */
    c.status = "revoked";
    ck_assert(!match(ALL "}", -1, &c));
    c = base("T1");
    c.status = NULL;
    ck_assert(!match(ALL "}", -1, &c));
    c = base("T1");
    for (const char *const *s = (const char *const[]){"installed", "active", "in_stock", NULL}; *s;
         s++) {
        c.state = *s;
        ck_assert_msg(match(ALL "}", -1, &c), "%s", *s);
    }
    for (const char *const *s = (const char *const[]){"locked", "in_repair", "retired", NULL}; *s;
         s++) {
        c.state = *s;
        ck_assert_msg(!match(ALL "}", -1, &c), "%s", *s);
    }
    /* the bundle's targets: the one rule (pf/target.h) */
    c = base("T1");
    c.model = "QX-9";
    ck_assert(!match(ALL "}", -1, &c));
    c = base("T1");
    c.hw_rev = "C";
    ck_assert(!match(ALL "}", -1, &c));
    c.hw_rev = ""; /* never sent a birth: its model alone decides here */
    ck_assert(match(ALL "}", -1, &c));
    /* already on the version: not a member (but already); a fee table looks at the fee
     * version */
    c = base("T1");
    c.fw_version = "2.0.0";
    ck_assert(!match(ALL "}", -1, &c));
    {
        struct pfs_ro_def d;
        struct pfs_ro_cohort_rule r;
        struct pf_error err = {0};

        def(ALL "}", &d);
        ck_assert_int_eq(pfs_ro_cohort_rule_init(&r, &d, &fw2, -1, &err), 0);
        ck_assert(pfs_ro_cohort_already(&r, &c));
        c.status = "revoked";
        ck_assert(!pfs_ro_cohort_already(&r, &c));
        c.status = "registered";
        c.fw_version = "1.0.0";
        ck_assert(!pfs_ro_cohort_already(&r, &c));
        c.fw_version = "2.0.0";
        pfs_ro_cohort_rule_release(&r);
        pfs_ro_def_release(&d);
    }
    c.fw_version = NULL;
    ck_assert(match(ALL "}", -1, &c));
    /* registered after since_ms only (late joiners) */
    c = base("T1");
    ck_assert(match(ALL "}", 4999, &c));
    ck_assert(!match(ALL "}", 5000, &c));
}
END_TEST

START_TEST(cohort_filters_one_by_one)
{
    static const struct {
        const char *filter;
        bool hit;
    } cases[] = {
            {"\"models\":[\"A920\",\"PX-500\"]", true},
            {"\"models\":[\"A920\"]", false},
            {"\"hw_revs\":[\"A\"]", true},
            {"\"hw_revs\":[\"B\"]", false},
            {"\"fw_versions\":[\"0.9\",\"1.0.0\"]", true},
            {"\"fw_versions\":[\"1.0\"]", false},
            {"\"fee_versions\":[\"7\"]", true},
            {"\"fee_versions\":[\"8\"]", false},
            {"\"merchants\":[\"M1\"]", true},
            {"\"merchants\":[\"M10\"]", false},
            {"\"mccs\":[\"5411\"]", true},
            {"\"mccs\":[\"5412\"]", false},
            {"\"regions\":[\"north\"]", true},
            {"\"regions\":[\"North\"]", false},
            {"\"tags\":[\"eu\"]", true},
            {"\"tags\":[\"us\",\"vip\"]", true},
            {"\"tags\":[\"us\"]", false},
            {"\"serials\":[\"T0\",\"T1\",\"T2\"]", true},
            {"\"serials\":[\"T10\"]", false},
            {"\"models\":[\"PX-500\"],\"regions\":[\"north\"],\"tags\":[\"vip\"]", true},
            {"\"models\":[\"PX-500\"],\"regions\":[\"south\"],\"tags\":[\"vip\"]", false},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];
        struct pfs_ro_candidate c = base("T1");

        snprintf(text, sizeof(text), "%s,\"cohort\":{%s}}", ALL, cases[i].filter);
        ck_assert_msg(match(text, -1, &c) == cases[i].hit, "%s", cases[i].filter);
        /* a terminal without the field never matches a filter on it */
        c.fw_version = c.fee_version = c.merchant = c.mcc = c.region = c.tags = NULL;
        if (strstr(cases[i].filter, "models") || strstr(cases[i].filter, "hw_revs") ||
            strstr(cases[i].filter, "serials"))
            continue;
        ck_assert_msg(!match(text, -1, &c), "%s without the field", cases[i].filter);
    }
}
END_TEST

/* A stored definition whose filter is not an array of strings is refused. */
START_TEST(rule_refuses_bad_filters)
{
    struct pfs_ro_def d;
    struct pfs_ro_cohort_rule r;
    struct pf_error err = {0};

    def(ALL "}", &d);
    d.filters[PFS_RO_TAGS] = strdup("{\"a\":1}");
    ck_assert_int_eq(pfs_ro_cohort_rule_init(&r, &d, &fw2, -1, &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "cohort.tags: not an array");
    free(d.filters[PFS_RO_TAGS]);
    d.filters[PFS_RO_TAGS] = strdup("[\"a\",2]");
    ck_assert_int_eq(pfs_ro_cohort_rule_init(&r, &d, &fw2, -1, &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "cohort.tags[1]: not a string");
    pfs_ro_def_release(&d);
}
END_TEST

START_TEST(light_scan_when_it_suffices)
{
    static const struct {
        const char *cohort;
        int64_t since;
        bool light;
    } cases[] = {
            {"{}", -1, true},
            {"{\"models\":[\"A920\"],\"hw_revs\":[\"A\"],\"serials\":[\"T1\"]}", -1, true},
            {"{}", 0, false},
            {"{\"fw_versions\":[\"1\"]}", -1, false},
            {"{\"fee_versions\":[\"1\"]}", -1, false},
            {"{\"merchants\":[\"M1\"]}", -1, false},
            {"{\"mccs\":[\"1\"]}", -1, false},
            {"{\"regions\":[\"r\"]}", -1, false},
            {"{\"tags\":[\"t\"]}", -1, false},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256];
        struct pfs_ro_def d;
        struct pfs_ro_cohort_rule r;
        struct pf_error err = {0};

        snprintf(text, sizeof(text), "%s,\"cohort\":%s}", ALL, cases[i].cohort);
        def(text, &d);
        ck_assert_int_eq(pfs_ro_cohort_rule_init(&r, &d, &fw2, cases[i].since, &err), 0);
        ck_assert_msg(pfs_ro_cohort_rule_light(&r) == cases[i].light, "%s", cases[i].cohort);
        pfs_ro_cohort_rule_release(&r);
        pfs_ro_def_release(&d);
    }
}
END_TEST

/* Candidates in serial order; members keep it, versions are told apart. */
START_TEST(cohort_collects_in_serial_order)
{
    struct pfs_ro_def d;
    struct pfs_ro_cohort_rule r;
    struct pfs_ro_cohort co = {0};
    struct pf_error err = {0};
    struct pfs_ro_candidate c;

    def(ALL "}", &d);
    ck_assert_int_eq(pfs_ro_cohort_rule_init(&r, &d, &fw2, -1, &err), 0);
    c = base("A1");
    ck_assert_int_eq(pfs_ro_cohort_consider(&co, &r, &c), 0);
    c = base("A2");
    c.model = "QX-9"; /* not a member: not counted, order not checked against it */
    ck_assert_int_eq(pfs_ro_cohort_consider(&co, &r, &c), 0);
    c = base("A3");
    c.fw_version = "1.5.0";
    ck_assert_int_eq(pfs_ro_cohort_consider(&co, &r, &c), 0);
    c = base("A4");
    c.fw_version = NULL;
    ck_assert_int_eq(pfs_ro_cohort_consider(&co, &r, &c), 0);
    /* already on the bundle's version: kept apart, `already` from planning on */
    c = base("A45");
    c.fw_version = "2.0.0";
    ck_assert_int_eq(pfs_ro_cohort_consider(&co, &r, &c), 0);
    c = base("A46");
    c.fw_version = "2.0.0";
    c.model = "QX-9"; /* not for this bundle: not even already */
    ck_assert_int_eq(pfs_ro_cohort_consider(&co, &r, &c), 0);
    ck_assert_int_eq(co.nalready, 1);
    ck_assert_str_eq(co.already[0], "A45");
    ck_assert(!pfs_ro_cohort_has(&co, "A45"));
    c = base("A0"); /* out of order: refused, nothing added */
    ck_assert_int_eq(pfs_ro_cohort_consider(&co, &r, &c), PF_EINVAL);
    c = base("A3");
    ck_assert_int_eq(pfs_ro_cohort_consider(&co, &r, &c), PF_EINVAL);
    ck_assert_int_eq(co.n, 3);
    ck_assert_str_eq(co.serial[0], "A1");
    ck_assert_str_eq(co.serial[2], "A4");
    ck_assert_int_eq(co.nver, 2);
    ck_assert_str_eq(co.versions[co.version[0] - 1], "1.0.0");
    ck_assert_str_eq(co.versions[co.version[1] - 1], "1.5.0");
    ck_assert_int_eq(co.version[2], 0);
    ck_assert(pfs_ro_cohort_has(&co, "A3"));
    ck_assert(!pfs_ro_cohort_has(&co, "A2"));
    ck_assert(!pfs_ro_cohort_has(&co, "A"));
    pfs_ro_cohort_release(&co);
    pfs_ro_cohort_rule_release(&r);
    pfs_ro_def_release(&d);
}
END_TEST

START_TEST(hash_is_pinned)
{
    /* BLAKE2b with an 8-byte digest of "{id}/{serial}", big-endian: fixed
     * forever, since stored plans and running rollouts depend on it. */
    ck_assert_uint_eq(pfs_ro_hash(7, "T1"), 0x49f28b7250c3f466ULL);
    ck_assert_uint_eq(pfs_ro_hash(1, "T0000"), 0x6cee605f81411b11ULL);
    ck_assert_uint_eq(pfs_ro_hash(42, "PX500-000001"), 0xbd0e2b209740a94aULL);
    ck_assert(pfs_ro_hash(7, "T1") != pfs_ro_hash(8, "T1"));
    ck_assert(pfs_ro_hash(7, "T1") != pfs_ro_hash(7, "T2"));
}
END_TEST

/* 100,000 sequential serials: the top 4 bits of the hash fall into 16 buckets
 * evenly (chi-square, 15 degrees of freedom, well under the 0.1 % critical
 * value 37.7), and a 10 % stage takes about 10 % of every block of 10,000
 * consecutive serials. */
START_TEST(hash_spreads_evenly)
{
    enum { N = 100000 };
    static size_t bucket[16];
    double chi = 0;
    struct pfs_ro_def d;
    struct pfs_ro_cohort_rule r;
    struct pfs_ro_cohort co = {0};
    struct pf_error err = {0};
    size_t targets[PFS_RO_STAGES_MAX];
    size_t per_block[10] = {0};

    memset(bucket, 0, sizeof(bucket));
    def("{" BUNDLE_A ",\"stages\":[\"10%\",\"100%\"]}", &d);
    ck_assert_int_eq(pfs_ro_cohort_rule_init(&r, &d, &fw2, -1, &err), 0);
    for (int i = 0; i < N; i++) {
        char serial[16];
        struct pfs_ro_candidate c;

        snprintf(serial, sizeof(serial), "T%06d", i);
        c = base(serial);
        bucket[pfs_ro_hash(3, serial) >> 60]++;
        ck_assert_int_eq(pfs_ro_cohort_consider(&co, &r, &c), 0);
    }
    for (int b = 0; b < 16; b++)
        chi += ((double)bucket[b] - N / 16.0) * ((double)bucket[b] - N / 16.0) / (N / 16.0);
    ck_assert_msg(chi < 37.7, "chi-square %.1f", chi);
    ck_assert_int_eq(pfs_ro_stage_targets(&d, co.n, targets, &err), 0);
    ck_assert_int_eq(pfs_ro_cohort_order(&co, 3, targets, d.nstages), 0);
    for (size_t i = 0; i < co.n; i++)
        per_block[i / 10000] += co.stage[i] == 0;
    for (int b = 0; b < 10; b++)
        ck_assert_msg(per_block[b] > 850 && per_block[b] < 1150, "block %d: %zu", b, per_block[b]);
    pfs_ro_cohort_release(&co);
    pfs_ro_cohort_rule_release(&r);
    pfs_ro_def_release(&d);
}
END_TEST

/* The stages follow the hash order alone: every member of stage k hashes
 * below every member of stage k + 1, and each stage has its target's size. */
START_TEST(order_gives_stages_by_hash)
{
    struct pfs_ro_def d;
    struct pfs_ro_cohort_rule r;
    struct pfs_ro_cohort co = {0};
    struct pf_error err = {0};
    size_t targets[PFS_RO_STAGES_MAX], size[3] = {0};
    uint64_t max[3] = {0}, min[3] = {UINT64_MAX, UINT64_MAX, UINT64_MAX};

    def("{" BUNDLE_A ",\"stages\":[3,\"50%\",\"100%\"]}", &d);
    ck_assert_int_eq(pfs_ro_cohort_rule_init(&r, &d, &fw2, -1, &err), 0);
    for (int i = 0; i < 37; i++) {
        char serial[16];
        struct pfs_ro_candidate c;

        snprintf(serial, sizeof(serial), "S%03d", i);
        c = base(serial);
        ck_assert_int_eq(pfs_ro_cohort_consider(&co, &r, &c), 0);
    }
    ck_assert_int_eq(pfs_ro_stage_targets(&d, co.n, targets, &err), 0);
    ck_assert_int_eq(targets[0], 3);
    ck_assert_int_eq(targets[1], 18);
    ck_assert_int_eq(targets[2], 37);
    ck_assert_int_eq(pfs_ro_cohort_order(&co, 11, targets, 2), PF_EINVAL); /* must cover all */
    ck_assert_int_eq(pfs_ro_cohort_order(&co, 11, targets, d.nstages), 0);
    for (size_t i = 0; i < co.n; i++) {
        uint64_t h = pfs_ro_hash(11, co.serial[i]);
        int k = co.stage[i];

        size[k]++;
        max[k] = h > max[k] ? h : max[k];
        min[k] = h < min[k] ? h : min[k];
    }
    ck_assert_int_eq(size[0], 3);
    ck_assert_int_eq(size[1], 15);
    ck_assert_int_eq(size[2], 19);
    ck_assert(max[0] < min[1] && max[1] < min[2]);
    /* the same cohort and rollout id give the same stages */
    {
        uint8_t first[37];

        memcpy(first, co.stage, co.n);
        ck_assert_int_eq(pfs_ro_cohort_order(&co, 11, targets, d.nstages), 0);
        ck_assert(memcmp(first, co.stage, co.n) == 0);
        ck_assert_int_eq(pfs_ro_cohort_order(&co, 12, targets, d.nstages), 0);
        ck_assert(memcmp(first, co.stage, co.n) != 0);
    }
    pfs_ro_cohort_release(&co);
    pfs_ro_cohort_rule_release(&r);
    pfs_ro_def_release(&d);
}
END_TEST

static int targets_of(const char *stages, size_t n, size_t t[PFS_RO_STAGES_MAX], char *msg,
                      size_t msglen)
{
    char text[256];
    struct pfs_ro_def d;
    struct pf_error err = {0};
    int rc;

    snprintf(text, sizeof(text), "{" BUNDLE_A ",\"stages\":%s}", stages);
    def(text, &d);
    rc = pfs_ro_stage_targets(&d, n, t, &err);
    msglen = strnlen(err.msg, msglen - 1);
    memcpy(msg, err.msg, msglen);
    msg[msglen] = '\0';
    pfs_ro_def_release(&d);
    return rc;
}

START_TEST(stage_split_edges)
{
    size_t t[PFS_RO_STAGES_MAX];
    char msg[256];

    /* one member: one stage of 100 % */
    ck_assert_int_eq(targets_of("[\"100%\"]", 1, t, msg, sizeof(msg)), 0);
    ck_assert_int_eq(t[0], 1);
    /* one member cannot fill two stages */
    ck_assert_int_eq(targets_of("[\"50%\",\"100%\"]", 1, t, msg, sizeof(msg)), PF_EINVAL);
    ck_assert_str_eq(msg, "stage 1 (50%) rounds to 0 of 1 terminals");
    ck_assert_int_eq(targets_of("[1,\"100%\"]", 1, t, msg, sizeof(msg)), PF_EINVAL);
    ck_assert_str_eq(msg, "stage 2 (100%) rounds to 0 of 1 terminals: the stages before it"
                          " already reach them all");
    /* an empty cohort */
    ck_assert_int_eq(targets_of("[\"100%\"]", 0, t, msg, sizeof(msg)), PF_EINVAL);
    ck_assert(strstr(msg, "the cohort is empty") != NULL);
    /* percentages round down; the smallest 0.01 % */
    ck_assert_int_eq(targets_of("[\"0.01%\",\"33.33%\",\"100%\"]", 10000, t, msg, sizeof(msg)), 0);
    ck_assert_int_eq(t[0], 1);
    ck_assert_int_eq(t[1], 3333);
    ck_assert_int_eq(t[2], 10000);
    ck_assert_int_eq(targets_of("[\"0.01%\",\"100%\"]", 9999, t, msg, sizeof(msg)), PF_EINVAL);
    ck_assert_str_eq(msg, "stage 1 (0.01%) rounds to 0 of 9999 terminals");
    ck_assert_int_eq(targets_of("[\"1%\",\"1.5%\",\"100%\"]", 100, t, msg, sizeof(msg)), PF_EINVAL);
    ck_assert_str_eq(msg, "stage 2 (1.5%) rounds to 0 of 100 terminals"); /* 1, then 1 */
    /* absolute sizes, capped at the cohort */
    ck_assert_int_eq(targets_of("[5,20,\"100%\"]", 30, t, msg, sizeof(msg)), 0);
    ck_assert_int_eq(t[0], 5);
    ck_assert_int_eq(t[1], 20);
    ck_assert_int_eq(t[2], 30);
    ck_assert_int_eq(targets_of("[5,50,\"100%\"]", 30, t, msg, sizeof(msg)), PF_EINVAL);
    ck_assert_str_eq(msg, "stage 3 (100%) rounds to 0 of 30 terminals: the stages before it"
                          " already reach them all");
    /* counts then percentages: the percentage must add someone */
    ck_assert_int_eq(targets_of("[20,\"50%\",\"100%\"]", 30, t, msg, sizeof(msg)), PF_EINVAL);
    ck_assert_str_eq(msg, "stage 2 (50%) rounds to 0 of 30 terminals");
    /* 100 % of a large cohort, sixteen stages */
    ck_assert_int_eq(targets_of("[\"1%\",\"2%\",\"3%\",\"4%\",\"5%\",\"6%\",\"7%\",\"8%\",\"9%\","
                                "\"10%\",\"20%\",\"30%\",\"40%\",\"50%\",\"60%\",\"100%\"]",
                                1000000, t, msg, sizeof(msg)),
                     0);
    ck_assert_int_eq(t[0], 10000);
    ck_assert_int_eq(t[15], 1000000);
}
END_TEST

static int parse_def(const char *text, struct pfs_ro_def *d, struct pf_error *err)
{
    json_t *o = json_loads(text, 0, NULL);
    int rc;

    ck_assert_ptr_nonnull(o);
    rc = pfs_ro_def_parse(o, 1000000, d, err);
    json_decref(o);
    return rc;
}

START_TEST(stage_targets_round_down_and_refuse_zero)
{
    struct pfs_ro_def d;
    struct pf_error err = {0};
    size_t t[PFS_RO_STAGES_MAX];

    ck_assert_int_eq(parse_def("{" BUNDLE_A ",\"stages\":[\"1%\",\"10%\",\"100%\"]}", &d, &err), 0);
    ck_assert_int_eq(pfs_ro_stage_targets(&d, 50, t, &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "stage 1 (1%) rounds to 0 of 50 terminals");
    ck_assert_int_eq(pfs_ro_stage_targets(&d, 0, t, &err), PF_EINVAL);
    ck_assert(strstr(err.msg, "the cohort is empty") != NULL);
    ck_assert_int_eq(pfs_ro_stage_targets(&d, 1000, t, &err), 0);
    ck_assert_int_eq(t[0], 10);
    ck_assert_int_eq(t[1], 100);
    ck_assert_int_eq(t[2], 1000);
    pfs_ro_def_release(&d);
    ck_assert_int_eq(parse_def("{" BUNDLE_A ",\"stages\":[20,\"50%\",\"100%\"]}", &d, &err), 0);
    ck_assert_int_eq(pfs_ro_stage_targets(&d, 30, t, &err), PF_EINVAL); /* 50% of 30 < 20 */
    ck_assert(strstr(err.msg, "stage 2 (50%) rounds to 0 of 30") != NULL);
    ck_assert_int_eq(pfs_ro_stage_targets(&d, 101, t, &err), 0);
    ck_assert_int_eq(t[0], 20);
    ck_assert_int_eq(t[1], 50);
    ck_assert_int_eq(t[2], 101);
    pfs_ro_def_release(&d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("rollout_plan");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, cohort_rules_one_by_one);
    tcase_add_test(tc, cohort_filters_one_by_one);
    tcase_add_test(tc, rule_refuses_bad_filters);
    tcase_add_test(tc, light_scan_when_it_suffices);
    tcase_add_test(tc, cohort_collects_in_serial_order);
    tcase_add_test(tc, hash_is_pinned);
    tcase_add_test(tc, hash_spreads_evenly);
    tcase_add_test(tc, order_gives_stages_by_hash);
    tcase_add_test(tc, stage_split_edges);
    tcase_add_test(tc, stage_targets_round_down_and_refuse_zero);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
