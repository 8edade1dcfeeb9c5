/*
 * test_lifecycle.c - merchants (fields, GB 32100-2015 credit codes, review
 * flow), the terminal state table, the decisions of each terminal change and
 * repair step (pure functions, no database), repair states, the lock codecs,
 * and the store's lifecycle changes: every transition, every refusal with
 * nothing changed, swaps, tamper locks, repairs and the audit queries.
 *
 * Over 800 lines because it walks the whole lifecycle table twice, once as
 * pure decisions and once through the store; the two halves share fixtures.
 */
#include <check.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle/lifecycle.h"
#include "lifecycle/merchant.h"
#include "pf/msg_lifecycle.h"
#include "lifecycle/repair.h"
#include "lifecycle/views.h"
#include "store/store.h"
#include "store/store_diag.h"
#include "store/store_lifecycle.h"
#include "testutil.h"

static char dir[256];
static char dbpath[300];
static const struct pfs_actor ops = {.name = "alice", .role = "ops"};
static const struct pfs_actor sup = {.name = "sam", .role = "support"};

static void setup(void)
{
    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(dbpath, sizeof(dbpath), "%s/s.db", dir);
}

static void teardown(void)
{
    pf_test_rmtree(dir);
}

/* ---- credit codes ---------------------------------------------------------- */

/* Published codes: the example of GB 32100-2015 and registered companies. */
static const char *const valid_codes[] = {
        "91350100M000100Y43", /* GB 32100-2015 example */
        "9144030071526726XG", /* Shenzhen Tencent Computer Systems Co., Ltd. */
        "914403001922038216", /* Huawei Technologies Co., Ltd. */
        "91110000802100433B", /* Beijing Baidu Netcom Science and Technology Co., Ltd. */
        "91110108551385082Q", /* Beijing Xiaomi Technology Co., Ltd. */
};

START_TEST(uscc_published_codes_pass)
{
    for (size_t i = 0; i < sizeof(valid_codes) / sizeof(valid_codes[0]); i++)
        ck_assert_msg(pfs_uscc_valid(valid_codes[i]), "%s", valid_codes[i]);
    ck_assert_int_eq(pfs_uscc_check_char("91350100M000100Y4"), '3');
    ck_assert_int_eq(pfs_uscc_check_char("9144030071526726X"), 'G');
}
END_TEST

START_TEST(uscc_invalid_codes_fail)
{
    static const char *const bad[] = {
            "91350100M000100Y44",  /* wrong check character */
            "9144030071526726XH",  /* wrong check character */
            "914403001922038217",  /* wrong check character */
            "91110000802100433A",  /* wrong check character */
            "91350100M000010Y43",  /* two characters swapped */
            "91350100M000100Y4",   /* 17 characters */
            "91350100M000100Y433", /* 19 characters */
            "",                    /* empty */
            "91350100I000100Y43",  /* I is not in the character set */
            "91350100O000100Y43",  /* O */
            "91350100S000100Y43",  /* S */
            "91350100V000100Y43",  /* V */
            "91350100Z000100Y43",  /* Z */
            "91350100m000100Y43",  /* lower case */
            "913A0100M000100Y4X",  /* division code (3-8) not digits */
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!pfs_uscc_valid(bad[i]), "%s accepted", bad[i]);
}
END_TEST

/* ---- merchant fields ------------------------------------------------------------ */

static json_t *merchant_body(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s]}", "id", "M1", "name",
                     "Lucky Noodles", "uscc", "9144030071526726XG", "mcc", "5812", "address",
                     "1 Nanshan Road, Shenzhen", "contact_name", "Li Wei", "contact_phone",
                     "+86 138-0000-0000", "tz", "Asia/Shanghai", "settlement", "T1", "fee_plan",
                     "fee-2026.11");
}

START_TEST(merchant_valid_fields)
{
    struct pfs_merchant m;
    struct pf_error err = {0};
    json_t *b = merchant_body();

    memset(&m, 0, sizeof(m));
    json_object_set_new(b, "name", json_string("幸运面馆"));
    ck_assert_int_eq(pfs_merchant_from_json(b, true, &m, &err), 0);
    ck_assert_str_eq(m.id, "M1");
    ck_assert_str_eq(m.uscc, "9144030071526726XG");
    ck_assert_int_eq(m.settlement, PFS_SETTLE_T1);
    ck_assert_uint_eq(m.nfees, 1);
    ck_assert_str_eq(m.fee_plan[0], "fee-2026.11");
    ck_assert_int_eq(m.status, PFS_MERCHANT_APPLIED);
    json_decref(b);
}
END_TEST

/* Each bad value is refused with PF_EINVAL, the message names the field, and
 * the merchant is left as it was. */
START_TEST(merchant_each_field_refused)
{
    static const struct {
        const char *field;
        const char *json; /* the bad value as JSON */
    } cases[] = {
            {"id", "\"\""},
            {"id", "\"M 1\""},
            {"id", "\""
                   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                   "\""},
            {"id", "7"},
            {"name", "\"\""},
            {"name", "\" padded\""},
            {"name", "\"tab\\there\""},
            {"name", "12"},
            {"uscc", "\"9144030071526726XH\""},
            {"uscc", "\"9144030071526726X\""},
            {"uscc", "\"9144030071526726XGG\""},
            {"uscc", "\"91440300715267I6XG\""},
            {"mcc", "\"581\""},
            {"mcc", "\"58A2\""},
            {"mcc", "5812"},
            {"address", "\"\""},
            {"contact_name", "\"\""},
            {"contact_phone", "\"phone me\""},
            {"contact_phone", "\"+12\""},
            {"contact_phone", "\"1234567890123456\""},
            {"tz", "\"Mars/Olympus_Mons\""},
            {"tz", "\"../../etc/passwd\""},
            {"tz", "\"Asia//Shanghai\""},
            {"tz", "\"\""},
            {"settlement", "\"T2\""},
            {"settlement", "\"t1\""},
            {"fee_plan", "\"fee-1\""},
            {"fee_plan", "[\"\"]"},
            {"fee_plan", "[\"a b\"]"},
            {"fee_plan", "[\"x\", \"x\"]"},
            {"fee_plan", "[1]"},
            {"fee_plan", "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pfs_merchant m, before;
        struct pf_error err = {0};
        json_t *b = merchant_body();

        memset(&m, 0x5a, sizeof(m));
        before = m;
        json_object_set_new(b, cases[i].field, json_loads(cases[i].json, JSON_DECODE_ANY, NULL));
        ck_assert_int_eq(pfs_merchant_from_json(b, true, &m, &err), PF_EINVAL);
        ck_assert_msg(strncmp(err.msg, cases[i].field, strlen(cases[i].field)) == 0,
                      "case %zu: '%s' does not name %s", i, err.msg, cases[i].field);
        ck_assert_msg(memcmp(&m, &before, sizeof(m)) == 0, "case %zu changed the merchant", i);
        json_decref(b);
    }
}
END_TEST

START_TEST(merchant_required_fields)
{
    static const char *const req[] = {"id",  "name",       "uscc",
                                      "mcc", "address",    "contact_name",
                                      "tz",  "settlement", "contact_phone"};

    for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
        struct pfs_merchant m;
        struct pf_error err = {0};
        json_t *b = merchant_body();

        memset(&m, 0, sizeof(m));
        json_object_del(b, req[i]);
        ck_assert_int_eq(pfs_merchant_from_json(b, true, &m, &err), PF_EINVAL);
        ck_assert_msg(strstr(err.msg, req[i]) == err.msg, "%s: %s", req[i], err.msg);
        json_decref(b);
    }
}
END_TEST

START_TEST(merchant_update_keeps_and_refuses)
{
    struct pfs_merchant m;
    struct pf_error err = {0};
    json_t *b = merchant_body(), *u;

    memset(&m, 0, sizeof(m));
    ck_assert_int_eq(pfs_merchant_from_json(b, true, &m, &err), 0);
    u = json_pack("{s:s}", "tz", "Asia/Urumqi");
    ck_assert_int_eq(pfs_merchant_from_json(u, false, &m, &err), 0);
    ck_assert_str_eq(m.tz, "Asia/Urumqi");
    ck_assert_str_eq(m.name, "Lucky Noodles");
    json_decref(u);
    u = json_pack("{s:s}", "id", "M2");
    ck_assert_int_eq(pfs_merchant_from_json(u, false, &m, &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "id: cannot be changed");
    json_decref(u);
    u = json_pack("{s:s}", "status", "active");
    ck_assert_int_eq(pfs_merchant_from_json(u, false, &m, &err), PF_EINVAL);
    ck_assert_int_eq(m.status, PFS_MERCHANT_APPLIED);
    json_decref(u);
    json_decref(b);
}
END_TEST

START_TEST(tz_names)
{
    ck_assert(pfs_tz_valid("Asia/Shanghai", NULL));
    ck_assert(pfs_tz_valid("UTC", NULL));
    ck_assert(pfs_tz_valid("America/Argentina/Buenos_Aires", NULL));
    ck_assert(!pfs_tz_valid("Asia/Nowhere", NULL));
    ck_assert(!pfs_tz_valid("/etc/passwd", NULL));
    ck_assert(!pfs_tz_valid("Asia/../../etc/passwd", NULL));
    ck_assert(!pfs_tz_valid(".hidden", NULL));
    ck_assert(!pfs_tz_valid("", NULL));
    /* Without a zoneinfo database the strict pattern decides. */
    ck_assert(pfs_tz_valid("Asia/Nowhere", "/nonexistent-zoneinfo"));
    ck_assert(!pfs_tz_valid("Asia/No where", "/nonexistent-zoneinfo"));
}
END_TEST

/* ---- review flow and state tables --------------------------------------------- */

START_TEST(merchant_flow_every_pair)
{
    /* expect[status][action]: the status reached, or -1 when refused. */
    static const int expect[PFS_MERCHANT_STATUS_COUNT][PFS_MACT_COUNT] = {
            /*             approve reject activate suspend resume close */
            [PFS_MERCHANT_APPLIED] = {PFS_MERCHANT_APPROVED, PFS_MERCHANT_REJECTED, -1, -1, -1,
                                      PFS_MERCHANT_CLOSED},
            [PFS_MERCHANT_APPROVED] = {-1, -1, PFS_MERCHANT_ACTIVE, -1, -1, PFS_MERCHANT_CLOSED},
            [PFS_MERCHANT_REJECTED] = {-1, -1, -1, -1, -1, PFS_MERCHANT_CLOSED},
            [PFS_MERCHANT_ACTIVE] = {-1, -1, -1, PFS_MERCHANT_SUSPENDED, -1, PFS_MERCHANT_CLOSED},
            [PFS_MERCHANT_SUSPENDED] = {-1, -1, -1, -1, PFS_MERCHANT_ACTIVE, PFS_MERCHANT_CLOSED},
            [PFS_MERCHANT_CLOSED] = {-1, -1, -1, -1, -1, -1},
    };

    for (int s = 0; s < PFS_MERCHANT_STATUS_COUNT; s++) {
        for (int a = 0; a < PFS_MACT_COUNT; a++) {
            enum pfs_merchant_status to = PFS_MERCHANT_STATUS_COUNT;
            struct pf_error err = {0};
            int rc = pfs_merchant_next((enum pfs_merchant_status)s, (enum pfs_merchant_action)a,
                                       &to, &err);

            if (expect[s][a] < 0) {
                ck_assert_msg(rc == PF_ESTATE, "%s %s allowed", pfs_merchant_status_names[s],
                              pfs_merchant_action_names[a]);
                ck_assert_int_eq(to, PFS_MERCHANT_STATUS_COUNT);
                ck_assert_ptr_nonnull(strstr(err.msg, pfs_merchant_status_names[s]));
            } else {
                ck_assert_int_eq(rc, 0);
                ck_assert_int_eq(to, expect[s][a]);
            }
        }
    }
    ck_assert(pfs_merchant_bindable(PFS_MERCHANT_APPROVED));
    ck_assert(pfs_merchant_bindable(PFS_MERCHANT_ACTIVE));
    ck_assert(!pfs_merchant_bindable(PFS_MERCHANT_SUSPENDED));
    ck_assert(!pfs_merchant_bindable(PFS_MERCHANT_APPLIED));
}
END_TEST

START_TEST(terminal_table_every_pair)
{
    enum {
        IS = PFS_TERM_IN_STOCK,
        IN = PFS_TERM_INSTALLED,
        AC = PFS_TERM_ACTIVE,
        LO = PFS_TERM_LOCKED,
        IR = PFS_TERM_IN_REPAIR,
        RE = PFS_TERM_RETIRED,
        NO = -1
    };
    /* expect[event][state]: in_stock installed active locked in_repair retired */
    static const int expect[PFS_TEV_COUNT][PFS_TERM_STATE_COUNT] = {
            [PFS_TEV_BIND] = {IN, NO, NO, NO, NO, NO},
            [PFS_TEV_UNBIND] = {NO, IS, IS, NO, NO, NO},
            [PFS_TEV_ACTIVATE] = {NO, AC, NO, NO, NO, NO},
            [PFS_TEV_TAMPER] = {LO, LO, LO, NO, NO, NO},
            [PFS_TEV_SWAP_OUT] = {NO, IR, IR, IR, NO, NO},
            [PFS_TEV_SWAP_IN] = {IN, NO, NO, NO, NO, NO},
            [PFS_TEV_REPAIR_OPEN] = {IR, NO, NO, NO, NO, NO},
            [PFS_TEV_REPAIR_RECEIVE] = {NO, NO, NO, IR, IR, NO},
            [PFS_TEV_REPAIR_RETURN] = {NO, NO, NO, IS, IS, NO},
            [PFS_TEV_REPAIR_SCRAP] = {NO, NO, NO, RE, RE, NO},
            [PFS_TEV_RETIRE] = {RE, NO, NO, NO, RE, NO},
    };

    for (int e = 0; e < PFS_TEV_COUNT; e++) {
        for (int s = 0; s < PFS_TERM_STATE_COUNT; s++) {
            enum pfs_term_state to = PFS_TERM_STATE_COUNT;
            struct pf_error err = {0};
            int rc = pfs_life_next((enum pfs_term_state)s, (enum pfs_term_event)e, &to, &err);

            if (expect[e][s] == NO) {
                ck_assert_msg(rc == PF_ESTATE, "%s from %s allowed", pfs_term_event_names[e],
                              pfs_term_state_names[s]);
                ck_assert_int_eq(to, PFS_TERM_STATE_COUNT);
                ck_assert_ptr_nonnull(strstr(err.msg, pfs_term_state_names[s]));
            } else {
                ck_assert_msg(rc == 0, "%s from %s: %s", pfs_term_event_names[e],
                              pfs_term_state_names[s], err.msg);
                ck_assert_int_eq(to, expect[e][s]);
            }
        }
    }
}
END_TEST

START_TEST(repair_states_and_codes)
{
    struct pf_error err = {0};
    json_t *a;

    ck_assert_int_eq(pfs_repair_next(PFS_REPAIR_OPEN, PFS_REPAIR_RECEIVED, &err), 0);
    ck_assert_int_eq(pfs_repair_next(PFS_REPAIR_OPEN, PFS_REPAIR_DIAGNOSED, &err), 0);
    ck_assert_int_eq(pfs_repair_next(PFS_REPAIR_REPAIRED, PFS_REPAIR_RETURNED, &err), 0);
    ck_assert_int_eq(pfs_repair_next(PFS_REPAIR_RECEIVED, PFS_REPAIR_SCRAPPED, &err), 0);
    ck_assert_int_eq(pfs_repair_next(PFS_REPAIR_DIAGNOSED, PFS_REPAIR_RECEIVED, &err), PF_ESTATE);
    ck_assert_int_eq(pfs_repair_next(PFS_REPAIR_RECEIVED, PFS_REPAIR_RECEIVED, &err), PF_ESTATE);
    ck_assert_int_eq(pfs_repair_next(PFS_REPAIR_RETURNED, PFS_REPAIR_SCRAPPED, &err), PF_ESTATE);
    ck_assert_int_eq(pfs_repair_next(PFS_REPAIR_SCRAPPED, PFS_REPAIR_RETURNED, &err), PF_ESTATE);
    a = json_pack("[s, s]", "TAMPER", "CARD_READER");
    ck_assert_int_eq(pfs_repair_faults_check(a, &err), 0);
    json_array_append_new(a, json_string("GREMLINS"));
    ck_assert_int_eq(pfs_repair_faults_check(a, &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "fault_codes[2]: not a documented fault code (docs/support.md)");
    json_decref(a);
}
END_TEST

/* ---- decisions of each change (no database) ------------------------------------ */

static struct pfs_term term(const char *serial, const char *model, enum pfs_term_state state,
                            const char *merchant)
{
    struct pfs_term t;

    memset(&t, 0, sizeof(t));
    snprintf(t.serial, sizeof(t.serial), "%s", serial);
    snprintf(t.model, sizeof(t.model), "%s", model);
    snprintf(t.merchant_id, sizeof(t.merchant_id), "%s", merchant);
    t.state = state;
    return t;
}

START_TEST(rules_state_and_family)
{
    char fam[PF_MODEL_MAX + 1];

    ck_assert_int_eq(pfs_life_state(true, PFS_TERM_ACTIVE), PFS_TERM_RETIRED);
    ck_assert_int_eq(pfs_life_state(false, -1), PFS_TERM_IN_STOCK);
    ck_assert_int_eq(pfs_life_state(false, PFS_TERM_LOCKED), PFS_TERM_LOCKED);
    ck_assert_int_eq(pfs_life_state(false, 99), PFS_TERM_IN_STOCK);
    pfs_model_family("PX-500", fam, sizeof(fam));
    ck_assert_str_eq(fam, "PX");
    pfs_model_family("PX", fam, sizeof(fam));
    ck_assert_str_eq(fam, "PX");
    pfs_model_family("-X", fam, sizeof(fam));
    ck_assert_str_eq(fam, "-X");
    pfs_model_family("ABCDEF-1", fam, 4);
    ck_assert_str_eq(fam, "ABC");
}
END_TEST

START_TEST(rules_bind_unbind_retire_tags)
{
    struct pfs_term t = term("T1", "PX-500", PFS_TERM_IN_STOCK, "");
    struct pfs_merchant m;
    struct pf_error err = {0};
    enum pfs_term_state to = PFS_TERM_RETIRED;
    bool activate = false;

    ck_assert_int_eq(pfs_life_bind(&t, &to, &err), 0);
    ck_assert_int_eq(to, PFS_TERM_INSTALLED);
    t = term("T1", "PX-500", PFS_TERM_ACTIVE, "M7");
    ck_assert_int_eq(pfs_life_bind(&t, &to, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "T1 (bound to merchant M7): bind: terminal is active: only a"
                              " terminal in stock can be bound (unbind or swap it first)");
    memset(&m, 0, sizeof(m));
    snprintf(m.id, sizeof(m.id), "M1");
    m.status = PFS_MERCHANT_APPROVED;
    ck_assert_int_eq(pfs_life_bind_merchant(&m, &activate, &err), 0);
    ck_assert(activate);
    m.status = PFS_MERCHANT_ACTIVE;
    ck_assert_int_eq(pfs_life_bind_merchant(&m, &activate, &err), 0);
    ck_assert(!activate);
    for (int s = 0; s < PFS_MERCHANT_STATUS_COUNT; s++) {
        m.status = (enum pfs_merchant_status)s;
        if (s == PFS_MERCHANT_APPROVED || s == PFS_MERCHANT_ACTIVE)
            continue;
        ck_assert_int_eq(pfs_life_bind_merchant(&m, &activate, &err), PF_ESTATE);
        ck_assert(!activate);
    }
    ck_assert_str_eq(err.msg, "bind: merchant M1 is closed: only approved or active merchants"
                              " get terminals");
    ck_assert_int_eq(pfs_life_unbind(&t, &to, &err), 0);
    ck_assert_int_eq(to, PFS_TERM_IN_STOCK);
    ck_assert_int_eq(pfs_life_retire(&t, false, &to, &err), PF_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, "T1: retire: terminal is active"));
    t.state = PFS_TERM_IN_REPAIR;
    ck_assert_int_eq(pfs_life_retire(&t, true, &to, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "retire: T1 has an open repair: close it as scrapped instead");
    ck_assert_int_eq(pfs_life_retire(&t, false, &to, &err), 0);
    ck_assert_int_eq(to, PFS_TERM_RETIRED);
    ck_assert_int_eq(pfs_life_tags(&t, &err), 0);
    t.state = PFS_TERM_RETIRED;
    ck_assert_int_eq(pfs_life_tags(&t, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "tags: T1 is retired");
}
END_TEST

START_TEST(rules_swap)
{
    struct pfs_term o = term("OLD", "PX-500", PFS_TERM_ACTIVE, "M1");
    struct pfs_term n = term("NEW", "PX-700", PFS_TERM_IN_STOCK, "");
    struct pfs_term alien = term("ALIEN", "QX-1", PFS_TERM_IN_STOCK, "");
    struct pf_error err = {0};
    enum pfs_term_state oto, nto;

    ck_assert_int_eq(pfs_life_swap(&o, &n, &oto, &nto, &err), 0);
    ck_assert_int_eq(oto, PFS_TERM_IN_REPAIR);
    ck_assert_int_eq(nto, PFS_TERM_INSTALLED);
    o.state = PFS_TERM_LOCKED; /* a tampered terminal is swapped out too */
    ck_assert_int_eq(pfs_life_swap(&o, &n, &oto, &nto, &err), 0);
    ck_assert_int_eq(pfs_life_swap(&o, &o, &oto, &nto, &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "swap: old and new are the same terminal");
    ck_assert_int_eq(pfs_life_swap(&o, &alien, &oto, &nto, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "swap: new ALIEN is model QX-1 (family QX), old OLD is PX-500"
                              " (family PX)");
    o.state = PFS_TERM_IN_STOCK;
    ck_assert_int_eq(pfs_life_swap(&o, &n, &oto, &nto, &err), PF_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, "old OLD: swap_out: terminal is in_stock"));
    o.state = PFS_TERM_ACTIVE;
    n.state = PFS_TERM_INSTALLED;
    ck_assert_int_eq(pfs_life_swap(&o, &n, &oto, &nto, &err), PF_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, "new NEW: swap_in: terminal is installed"));
    n.state = PFS_TERM_IN_STOCK;
    n.revoked = true;
    ck_assert_int_eq(pfs_life_swap(&o, &n, &oto, &nto, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "new NEW: swap_in: terminal is revoked");
}
END_TEST

/* A swap is undone only while nothing happened since: each refusal names what did. */
START_TEST(rules_swap_undo)
{
    struct pfs_term o = term("OLD", "PX-500", PFS_TERM_IN_REPAIR, "");
    struct pfs_term n = term("NEW", "PX-500", PFS_TERM_INSTALLED, "M1");
    struct pfs_swap_rec s = {.old_from = PFS_TERM_ACTIVE,
                             .new_from = PFS_TERM_IN_STOCK,
                             .repair_id = 7,
                             .repair_opened = true};
    struct pfs_swap_since since = {.repair_state = "open"};
    struct pf_error err = {0};
    enum pfs_term_state oto, nto;

    snprintf(s.old_serial, sizeof(s.old_serial), "OLD");
    snprintf(s.new_serial, sizeof(s.new_serial), "NEW");
    ck_assert_int_eq(pfs_life_swap_undo(&s, &o, &n, &since, &oto, &nto, &err), 0);
    ck_assert_int_eq(oto, PFS_TERM_ACTIVE);
    ck_assert_int_eq(nto, PFS_TERM_IN_STOCK);
    s.old_from = PFS_TERM_LOCKED; /* a tampered terminal goes back to locked */
    ck_assert_int_eq(pfs_life_swap_undo(&s, &o, &n, &since, &oto, &nto, &err), 0);
    ck_assert_int_eq(oto, PFS_TERM_LOCKED);

    since.new_event = "activate";
    ck_assert_int_eq(pfs_life_swap_undo(&s, &o, &n, &since, &oto, &nto, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "swap undo: NEW has reported from the merchant since the swap (it is"
                              " active and may have taken payments): unbind it or swap it instead");
    since.new_event = "swap_out";
    ck_assert_int_eq(pfs_life_swap_undo(&s, &o, &n, &since, &oto, &nto, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "swap undo: NEW changed since the swap (swap_out)");
    since.new_event = NULL;
    since.old_event = "repair_return";
    ck_assert_int_eq(pfs_life_swap_undo(&s, &o, &n, &since, &oto, &nto, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "swap undo: OLD changed since the swap (repair_return)");
    since.old_event = NULL;
    since.repair_state = "received";
    ck_assert_int_eq(pfs_life_swap_undo(&s, &o, &n, &since, &oto, &nto, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "swap undo: repair 7 of OLD is received now");
    since.repair_state = "open";
    since.repair_touched = true;
    ck_assert_int_eq(pfs_life_swap_undo(&s, &o, &n, &since, &oto, &nto, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "swap undo: repair 7 of OLD was worked on since the swap");
    since.repair_touched = false;
    n.state = PFS_TERM_ACTIVE;
    ck_assert_int_eq(pfs_life_swap_undo(&s, &o, &n, &since, &oto, &nto, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "swap undo: NEW is active, not installed");
    n.state = PFS_TERM_INSTALLED;
    s.undone_ms = 1;
    ck_assert_int_eq(pfs_life_swap_undo(&s, &o, &n, &since, &oto, &nto, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "swap undo: the swap of OLD for NEW was undone already");
}
END_TEST

START_TEST(rules_posfleetd_transitions)
{
    struct pfs_term t = term("T1", "PX-500", PFS_TERM_INSTALLED, "M1");
    enum pfs_term_state to = PFS_TERM_RETIRED;

    ck_assert(pfs_life_activates(&t, &to));
    ck_assert_int_eq(to, PFS_TERM_ACTIVE);
    for (int s = 0; s < PFS_TERM_STATE_COUNT; s++) {
        t.state = (enum pfs_term_state)s;
        ck_assert(pfs_life_activates(&t, &to) == (s == PFS_TERM_INSTALLED));
        ck_assert(pfs_life_tamper_locks(&t, &to) ==
                  (s == PFS_TERM_IN_STOCK || s == PFS_TERM_INSTALLED || s == PFS_TERM_ACTIVE));
    }
    t.state = PFS_TERM_ACTIVE;
    ck_assert(pfs_life_tamper_locks(&t, &to));
    ck_assert_int_eq(to, PFS_TERM_LOCKED);
    t.lock_want = true; /* locked by support by hand: tamper still locks and opens its repair */
    ck_assert(pfs_life_tamper_locks(&t, &to));
    ck_assert_int_eq(to, PFS_TERM_LOCKED);
    snprintf(t.lock_cmd, sizeof(t.lock_cmd), "c1");
    ck_assert(pfs_life_lock_confirms(&t, "c1", true));
    ck_assert(!pfs_life_lock_confirms(&t, "c2", true));
    ck_assert(!pfs_life_lock_confirms(&t, "c1", false));
    t.lock_acked = true;
    ck_assert(!pfs_life_lock_confirms(&t, "c1", true));
}
END_TEST

START_TEST(rules_repairs)
{
    struct pfs_term t = term("T1", "PX-500", PFS_TERM_IN_STOCK, "");
    struct pfs_repair_plan p;
    struct pf_error err = {0};
    enum pfs_term_state to;

    ck_assert_int_eq(pfs_life_repair_open(&t, 0, &to, &err), 0);
    ck_assert_int_eq(to, PFS_TERM_IN_REPAIR);
    ck_assert_int_eq(pfs_life_repair_open(&t, 12, &to, &err), PF_EEXIST);
    ck_assert_str_eq(err.msg, "repair: T1 already has repair 12 open");
    t.state = PFS_TERM_ACTIVE;
    ck_assert_int_eq(pfs_life_repair_open(&t, 0, &to, &err), PF_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, "T1: repair_open: terminal is active"));

    ck_assert_int_eq(pfs_repair_check(5, PFS_REPAIR_OPEN, -1, &err), 0);
    ck_assert_int_eq(pfs_repair_check(5, PFS_REPAIR_OPEN, PFS_REPAIR_REPAIRED, &err), 0);
    ck_assert_int_eq(pfs_repair_check(5, PFS_REPAIR_REPAIRED, PFS_REPAIR_RECEIVED, &err),
                     PF_ESTATE);
    ck_assert_str_eq(err.msg, "repair 5: repair is repaired: cannot go back to received");
    ck_assert_int_eq(pfs_repair_check(5, PFS_REPAIR_SCRAPPED, -1, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "repair 5 is closed (scrapped)");

    /* a locked terminal returned to stock: unbound, and an unlock goes out */
    t = term("T1", "PX-500", PFS_TERM_LOCKED, "M1");
    t.lock_want = true;
    ck_assert_int_eq(pfs_repair_plan_for(5, PFS_REPAIR_RETURNED, &t, &p, &err), 0);
    ck_assert_int_eq(p.ev, PFS_TEV_REPAIR_RETURN);
    ck_assert_int_eq(p.to, PFS_TERM_IN_STOCK);
    ck_assert(p.leaves_field && p.unlock && !p.revoke);
    /* received: the locked terminal goes into repair, still bound */
    ck_assert_int_eq(pfs_repair_plan_for(5, PFS_REPAIR_RECEIVED, &t, &p, &err), 0);
    ck_assert_int_eq(p.ev, PFS_TEV_REPAIR_RECEIVE);
    ck_assert_int_eq(p.to, PFS_TERM_IN_REPAIR);
    ck_assert(!p.leaves_field && !p.unlock && !p.revoke);
    /* scrapped: retired and revoked */
    t.state = PFS_TERM_IN_REPAIR;
    t.lock_want = false;
    ck_assert_int_eq(pfs_repair_plan_for(5, PFS_REPAIR_SCRAPPED, &t, &p, &err), 0);
    ck_assert_int_eq(p.to, PFS_TERM_RETIRED);
    ck_assert(p.leaves_field && p.revoke && !p.unlock);
    /* diagnosed while in repair: no state change */
    ck_assert_int_eq(pfs_repair_plan_for(5, PFS_REPAIR_DIAGNOSED, &t, &p, &err), 0);
    ck_assert_int_eq(p.to, PFS_TERM_IN_REPAIR);
    ck_assert(!p.leaves_field);
    t.state = PFS_TERM_ACTIVE;
    ck_assert_int_eq(pfs_repair_plan_for(5, PFS_REPAIR_RETURNED, &t, &p, &err), PF_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, "repair 5: terminal T1: repair_return:"));
}
END_TEST

START_TEST(rules_merchant_close)
{
    struct pfs_merchant cur, next;
    struct pf_error err = {0};

    memset(&cur, 0, sizeof(cur));
    snprintf(cur.id, sizeof(cur.id), "M1");
    cur.status = PFS_MERCHANT_ACTIVE;
    next = cur;
    ck_assert_int_eq(pfs_merchant_change_check(&cur, &next, 3, &err), 0);
    next.status = PFS_MERCHANT_CLOSED;
    ck_assert_int_eq(pfs_merchant_change_check(&cur, &next, 0, &err), 0);
    ck_assert_int_eq(pfs_merchant_change_check(&cur, &next, 2, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "merchant M1: 2 terminal(s) still bound: unbind or swap them first");
}
END_TEST

START_TEST(views_print_nulls_and_order)
{
    struct pfs_term_view v = {.serial = "T1",
                              .model = "PX-500",
                              .registry = "registered",
                              .state = PFS_TERM_IN_STOCK,
                              .tags = "[]",
                              .bound_ms = PFS_VIEW_NULL,
                              .repair_id = PFS_VIEW_NULL,
                              .updated_ms = PFS_VIEW_NULL};
    struct pfs_term_event_view e = {.id = 3,
                                    .ts_ms = 9,
                                    .kind = "lock",
                                    .repair_id = 7,
                                    .actor = "posfleetd",
                                    .detail = ""};
    json_t *o = pfs_term_view_json(&v);
    char *text = json_dumps(o, JSON_COMPACT);

    ck_assert_str_eq(text,
                     "{\"serial\":\"T1\",\"model\":\"PX-500\",\"registry\":\"registered\","
                     "\"state\":\"in_stock\",\"merchant_id\":null,\"fee_plan\":null,\"tz\":null,"
                     "\"tags\":[],\"bound_ms\":null,\"locked\":false,\"lock\":null,"
                     "\"provision\":null,\"repair_id\":null,\"updated_ms\":null}");
    free(text);
    json_decref(o);
    v.lock_cmd = "c1";
    v.lock_want = true;
    v.fee_plan = "[\"f1\"]";
    o = pfs_term_view_json(&v);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "lock"), "action")),
                     "lock");
    ck_assert(json_is_null(json_object_get(json_object_get(o, "lock"), "reason")));
    ck_assert_int_eq((int)json_array_size(json_object_get(o, "fee_plan")), 1);
    json_decref(o);
    v.fee_plan = "[broken";
    ck_assert_ptr_null(pfs_term_view_json(&v)); /* malformed stored JSON is an error */
    o = pfs_term_event_json(&e);
    text = json_dumps(o, JSON_COMPACT);
    ck_assert_str_eq(text, "{\"id\":3,\"ts_ms\":9,\"kind\":\"lock\",\"from\":null,\"to\":null,"
                           "\"merchant_id\":null,\"other\":null,\"repair_id\":7,"
                           "\"actor\":\"posfleetd\",\"detail\":\"\"}");
    free(text);
    json_decref(o);
}
END_TEST

/* ---- lock codecs --------------------------------------------------------------- */

static int lock_dec(const char *json)
{
    struct pf_lock_cmd c;
    struct pf_error err = {0};

    return pf_lock_cmd_decode(json, strlen(json), &c, &err);
}

static int report_dec(const char *json)
{
    struct pf_lock_report r;
    struct pf_error err = {0};

    return pf_lock_report_decode(json, strlen(json), &r, &err);
}

START_TEST(lock_codecs)
{
    struct pf_lock_cmd c = {.id = "lock-1", .lock = true, .reason = "tamper", .ts_ms = 5}, c2;
    struct pf_lock_report r = {.id = "lock-1", .locked = true}, r2;
    struct pf_error err = {0};
    char buf[256];
    size_t len = 0;

    ck_assert_int_eq(pf_lock_cmd_encode(&c, buf, sizeof(buf), &len), 0);
    ck_assert_int_eq(pf_lock_cmd_decode(buf, len, &c2, &err), 0);
    ck_assert_str_eq(c2.id, "lock-1");
    ck_assert(c2.lock);
    ck_assert_str_eq(c2.reason, "tamper");
    ck_assert_int_eq(pf_lock_report_encode(&r, buf, sizeof(buf), &len), 0);
    ck_assert_int_eq(pf_lock_report_decode(buf, len, &r2, &err), 0);
    ck_assert(r2.locked);
    ck_assert_int_eq(lock_dec("{\"v\":1,\"id\":\"x\",\"action\":\"melt\"}"), PF_ERANGE);
    ck_assert_int_eq(lock_dec("{\"v\":1,\"id\":\"a/b\",\"action\":\"lock\"}"), PF_ERANGE);
    ck_assert_int_eq(lock_dec("{\"v\":1,\"action\":\"lock\"}"), PF_ESCHEMA);
    ck_assert_int_eq(lock_dec("{\"v\":1,\"id\":\"x\",\"action\":true}"), PF_ESCHEMA);
    ck_assert_int_eq(lock_dec("{\"v\":1,"), PF_EPARSE);
    ck_assert_int_eq(report_dec("{\"v\":1,\"id\":\"x\"}"), PF_ESCHEMA);
    ck_assert_int_eq(report_dec("{\"v\":2,\"id\":\"x\",\"locked\":true}"), PF_EVERSION);
    ck_assert_int_eq(report_dec("{\"v\":1,\"id\":\"x\",\"locked\":1}"), PF_ESCHEMA);
}
END_TEST

static int tamper_dec(const char *json)
{
    struct pf_tamper_event e;
    struct pf_error err = {0};

    return pf_tamper_event_decode(json, strlen(json), &e, &err);
}

START_TEST(tamper_event_codec)
{
    struct pf_tamper_event e = {.ts_ms = 1795000000123}, e2;
    struct pf_error err = {0};
    char buf[128];
    size_t len = 0;

    ck_assert_int_eq(pf_tamper_event_encode(&e, buf, sizeof(buf), &len), 0);
    ck_assert_int_eq(pf_tamper_event_decode(buf, len, &e2, &err), 0);
    ck_assert_int_eq(e2.ts_ms, 1795000000123);
    e.ts_ms = -1;
    ck_assert_int_eq(pf_tamper_event_encode(&e, buf, sizeof(buf), &len), PF_EINVAL);
    ck_assert_int_eq(tamper_dec("{\"v\":1}"), PF_ESCHEMA);
    ck_assert_int_eq(tamper_dec("{\"v\":1,\"ts\":\"now\"}"), PF_ESCHEMA);
    ck_assert_int_eq(tamper_dec("{\"v\":1,\"ts\":-5}"), PF_ERANGE);
    ck_assert_int_eq(tamper_dec("{\"v\":2,\"ts\":5}"), PF_EVERSION);
    ck_assert_int_eq(tamper_dec("{\"v\":1,\"ts\":5,\"extra\":true}"), 0); /* unknown ignored */
}
END_TEST

/* ---- store ------------------------------------------------------------------------ */

static struct pfs_store *open_store(void)
{
    struct pfs_store_opts o = {.path = dbpath};
    struct pfs_store *st = NULL;
    struct pf_error err = {0};

    ck_assert_int_eq(pfs_store_open(&o, &st, &err), 0);
    return st;
}

static void add_device(struct pfs_store *st, const char *serial, const char *model)
{
    struct pfs_device d;
    struct pf_error err = {0};

    memset(&d, 0, sizeof(d));
    snprintf(d.serial, sizeof(d.serial), "%s", serial);
    snprintf(d.model, sizeof(d.model), "%s", model);
    ck_assert_int_eq(pfs_store_device_add(st, &d, &ops, 1000, &err), 0);
}

static int count_cb(void *ctx, const struct pfs_repair_view *v)
{
    (void)v;
    (*(int *)ctx)++;
    return 0;
}

/* The store's records as the API prints them (lifecycle/views.h), as text. */
static int text_of(json_t *o, char **out)
{
    *out = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return *out ? 0 : PF_ENOMEM;
}

static int term_text_cb(void *ctx, const struct pfs_term_view *v)
{
    return text_of(pfs_term_view_json(v), ctx);
}

static int repair_text_cb(void *ctx, const struct pfs_repair_view *v)
{
    return text_of(pfs_repair_view_json(v), ctx);
}

static int term_json(struct pfs_store *s, const char *serial, char **out)
{
    *out = NULL;
    return pfs_store_term_view(s, serial, term_text_cb, out);
}

static int repair_json(struct pfs_store *s, int64_t id, char **out)
{
    *out = NULL;
    return pfs_store_repair_view(s, id, repair_text_cb, out);
}

static int event_item_cb(void *ctx, const struct pfs_term_event_view *e)
{
    return json_array_append_new(ctx, pfs_term_event_json(e)) ? PF_ENOMEM : 0;
}

static int repair_item_cb(void *ctx, const struct pfs_repair_view *v)
{
    return json_array_append_new(ctx, pfs_repair_view_json(v)) ? PF_ENOMEM : 0;
}

/* The events and repairs of a terminal's history, as text. */
static int history_json(struct pfs_store *s, const char *serial, int limit, char **out)
{
    json_t *events = json_array(), *repairs = json_array();
    int rc;

    *out = NULL;
    rc = pfs_store_term_events(s, serial, limit, event_item_cb, events);
    if (!rc)
        rc = pfs_store_repair_list(s, serial, -1, limit, repair_item_cb, repairs);
    if (rc) {
        json_decref(events);
        json_decref(repairs);
        return rc;
    }
    return text_of(json_pack("{s:o, s:o}", "events", events, "repairs", repairs), out);
}

static void add_merchant(struct pfs_store *st, const char *id, const char *uscc)
{
    struct pfs_merchant m;
    struct pf_error err = {0};
    json_t *b = merchant_body();

    memset(&m, 0, sizeof(m));
    json_object_set_new(b, "id", json_string(id));
    json_object_set_new(b, "uscc", json_string(uscc));
    ck_assert_int_eq(pfs_merchant_from_json(b, true, &m, &err), 0);
    json_decref(b);
    ck_assert_int_eq(pfs_store_merchant_add(st, &m, &ops, 2000, &err), 0);
}

static int approve_fn(void *ctx, struct pfs_merchant *m, struct pf_error *err)
{
    enum pfs_merchant_status to;
    int rc = pfs_merchant_next(m->status, *(enum pfs_merchant_action *)ctx, &to, err);

    if (!rc)
        m->status = to;
    return rc;
}

static int merchant_act(struct pfs_store *st, const char *id, enum pfs_merchant_action act,
                        struct pf_error *err)
{
    return pfs_store_merchant_change(st, id, pfs_merchant_action_names[act], approve_fn, &act, &ops,
                                     3000, NULL, err);
}

/* What must not move when a change is refused. */
struct snap {
    char *term[3];
    int64_t audit, events, repairs;
};

static int64_t count(struct pfs_store *st, const char *table)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    char sql[128];
    int64_t n = -1;

    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    (void)st;
    return n;
}

static void snap_take(struct pfs_store *st, struct snap *s, const char *a, const char *b,
                      const char *c)
{
    const char *serials[3] = {a, b, c};

    for (int i = 0; i < 3; i++) {
        s->term[i] = NULL;
        if (serials[i])
            ck_assert_int_eq(term_json(st, serials[i], &s->term[i]), 0);
    }
    s->audit = count(st, "audit");
    s->events = count(st, "terminal_events");
    s->repairs = count(st, "repairs");
}

static void snap_same(struct pfs_store *st, struct snap *before, const char *a, const char *b,
                      const char *c)
{
    struct snap now;

    snap_take(st, &now, a, b, c);
    for (int i = 0; i < 3; i++) {
        if (before->term[i])
            ck_assert_str_eq(now.term[i], before->term[i]);
        free(now.term[i]);
        free(before->term[i]);
    }
    ck_assert_int_eq(now.audit, before->audit);
    ck_assert_int_eq(now.events, before->events);
    ck_assert_int_eq(now.repairs, before->repairs);
}

static enum pfs_term_state state_of(struct pfs_store *st, const char *serial)
{
    struct pfs_term t;

    ck_assert_int_eq(pfs_store_term_get(st, serial, &t), 0);
    return t.state;
}

static int tz_fn(void *ctx, struct pfs_merchant *m, struct pf_error *err)
{
    (void)ctx;
    (void)err;
    snprintf(m->tz, sizeof(m->tz), "Asia/Urumqi");
    return 0;
}

START_TEST(store_bind_unbind_retire)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    struct pfs_term t;
    struct snap s;
    bool changed = false;

    add_device(st, "T1", "PX-500");
    add_device(st, "T2", "PX-500");
    add_merchant(st, "M1", valid_codes[1]);
    ck_assert_int_eq(state_of(st, "T1"), PFS_TERM_IN_STOCK);

    /* A merchant still applying gets no terminal. */
    snap_take(st, &s, "T1", NULL, NULL);
    ck_assert_int_eq(pfs_store_term_bind(st, "T1", "M1", &ops, 4000, &err), PF_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, "applied"));
    snap_same(st, &s, "T1", NULL, NULL);
    ck_assert_int_eq(pfs_store_term_bind(st, "T1", "M9", &ops, 4000, &err), PF_ENOENT);
    ck_assert_int_eq(pfs_store_term_bind(st, "NOPE", "M1", &ops, 4000, &err), PF_EUNKNOWN_SERIAL);

    ck_assert_int_eq(merchant_act(st, "M1", PFS_MACT_APPROVE, &err), 0);
    ck_assert_int_eq(pfs_store_term_bind(st, "T1", "M1", &ops, 4000, &err), 0);
    ck_assert_int_eq(pfs_store_term_get(st, "T1", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_INSTALLED);
    ck_assert_str_eq(t.merchant_id, "M1");
    {
        struct pfs_merchant m;

        ck_assert_int_eq(pfs_store_merchant_get(st, "M1", &m), 0);
        ck_assert_int_eq(m.status, PFS_MERCHANT_ACTIVE); /* its first terminal */
    }
    {
        char *j = NULL;

        ck_assert_int_eq(term_json(st, "T1", &j), 0);
        ck_assert_ptr_nonnull(strstr(j, "\"fee_plan\":[\"fee-2026.11\"]"));
        ck_assert_ptr_nonnull(strstr(j, "\"tz\":\"Asia/Shanghai\""));
        free(j);
    }

    {
        char mid[PFS_MERCHANT_ID_MAX + 1], tz[PFS_TZ_MAX + 1], fees[256];

        ck_assert_int_eq(pfs_store_term_binding(st, "T1", mid, tz, fees, sizeof(fees)), 0);
        ck_assert_str_eq(mid, "M1");
        ck_assert_str_eq(tz, "Asia/Shanghai");
        ck_assert_str_eq(fees, "[\"fee-2026.11\"]");
        ck_assert_int_eq(pfs_store_term_binding(st, "T2", mid, tz, fees, sizeof(fees)), 0);
        ck_assert_str_eq(mid, "");
        ck_assert_str_eq(fees, "[]");
        ck_assert_int_eq(pfs_store_term_binding(st, "T9", mid, tz, fees, sizeof(fees)),
                         PF_EUNKNOWN_SERIAL);
    }

    /* The merchant's new time zone reaches its bound terminal. */
    ck_assert_int_eq(
            pfs_store_merchant_change(st, "M1", "update", tz_fn, NULL, &ops, 4050, NULL, &err), 0);
    {
        char mid[PFS_MERCHANT_ID_MAX + 1], tz[PFS_TZ_MAX + 1], fees[256];

        ck_assert_int_eq(pfs_store_term_binding(st, "T1", mid, tz, fees, sizeof(fees)), 0);
        ck_assert_str_eq(tz, "Asia/Urumqi");
    }

    /* One terminal, one merchant: binding again is refused, nothing changes. */
    snap_take(st, &s, "T1", NULL, NULL);
    ck_assert_int_eq(pfs_store_term_bind(st, "T1", "M1", &ops, 4100, &err), PF_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, "bound to merchant M1"));
    snap_same(st, &s, "T1", NULL, NULL);

    /* Closing a merchant with a bound terminal is refused. */
    ck_assert_int_eq(merchant_act(st, "M1", PFS_MACT_CLOSE, &err), PF_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, "still bound"));

    /* Retiring a bound terminal is refused. */
    snap_take(st, &s, "T1", NULL, NULL);
    ck_assert_int_eq(pfs_store_term_retire(st, "T1", &ops, 4200, &err), PF_ESTATE);
    snap_same(st, &s, "T1", NULL, NULL);

    /* The first report after binding makes it active, once. */
    ck_assert_int_eq(pfs_store_term_activate(st, "T1", 4300, &changed), 0);
    ck_assert(changed);
    ck_assert_int_eq(state_of(st, "T1"), PFS_TERM_ACTIVE);
    ck_assert_int_eq(pfs_store_term_activate(st, "T1", 4400, &changed), 0);
    ck_assert(!changed);
    ck_assert_int_eq(pfs_store_term_activate(st, "T2", 4400, &changed), 0);
    ck_assert(!changed);
    ck_assert_int_eq(state_of(st, "T2"), PFS_TERM_IN_STOCK);

    ck_assert_int_eq(pfs_store_term_unbind(st, "T1", &ops, 4500, &err), 0);
    ck_assert_int_eq(pfs_store_term_get(st, "T1", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_IN_STOCK);
    ck_assert_str_eq(t.merchant_id, "");
    snap_take(st, &s, "T1", NULL, NULL);
    ck_assert_int_eq(pfs_store_term_unbind(st, "T1", &ops, 4600, &err), PF_ESTATE);
    snap_same(st, &s, "T1", NULL, NULL);

    ck_assert_int_eq(pfs_store_term_retire(st, "T1", &ops, 4700, &err), 0);
    ck_assert_int_eq(pfs_store_term_get(st, "T1", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_RETIRED);
    ck_assert(t.revoked);
    /* A retired terminal cannot be bound again, retired again or unbound. */
    snap_take(st, &s, "T1", NULL, NULL);
    ck_assert_int_eq(pfs_store_term_bind(st, "T1", "M1", &ops, 4800, &err), PF_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, "retired"));
    ck_assert_int_eq(pfs_store_term_retire(st, "T1", &ops, 4800, &err), PF_ESTATE);
    ck_assert_int_eq(pfs_store_term_unbind(st, "T1", &ops, 4800, &err), PF_ESTATE);
    snap_same(st, &s, "T1", NULL, NULL);

    /* A terminal revoked through the registry is retired for the lifecycle too. */
    ck_assert_int_eq(pfs_store_device_revoke(st, "T2", &ops, 4900, &err), 0);
    ck_assert_int_eq(state_of(st, "T2"), PFS_TERM_RETIRED);
    ck_assert_int_eq(pfs_store_term_bind(st, "T2", "M1", &ops, 4900, &err), PF_ESTATE);

    /* Now the merchant has no terminal and may close. */
    ck_assert_int_eq(merchant_act(st, "M1", PFS_MACT_CLOSE, &err), 0);
    pfs_store_close(st);
}
END_TEST

static void put_health(struct pfs_store *st, const char *serial, uint32_t seq, bool tamper)
{
    struct pf_health h;

    memset(&h, 0, sizeof(h));
    h.seq = seq;
    h.ts_ms = 10000 + seq;
    h.battery_pct = 61;
    h.net_type = PF_NET_4G;
    h.signal_dbm = -80;
    h.temp_c = 30;
    h.tamper = tamper;
    snprintf(h.fw_version, sizeof(h.fw_version), "1.2.3");
    snprintf(h.currency, sizeof(h.currency), "CNY");
    ck_assert_int_eq(pfs_store_health_put(st, serial, &h, 10000 + seq, NULL), 0);
    ck_assert_int_eq(pfs_store_flush(st, 10000 + seq, NULL), 0);
}

START_TEST(store_swap)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    struct pfs_term t;
    struct snap s;
    int64_t rid = 0;
    char *j = NULL;

    add_device(st, "OLD", "PX-500");
    add_device(st, "NEW", "PX-700");
    add_device(st, "ALIEN", "QT-100");
    add_device(st, "SPARE", "PX-500");
    add_merchant(st, "M1", valid_codes[2]);
    ck_assert_int_eq(merchant_act(st, "M1", PFS_MACT_APPROVE, &err), 0);

    /* OLD not bound. */
    snap_take(st, &s, "OLD", "NEW", NULL);
    ck_assert_int_eq(
            pfs_store_term_swap(st, "OLD", "NEW", "broken", NULL, NULL, &sup, 5000, &rid, &err),
            PF_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, "old OLD"));
    snap_same(st, &s, "OLD", "NEW", NULL);

    ck_assert_int_eq(pfs_store_term_bind(st, "OLD", "M1", &ops, 5000, &err), 0);
    ck_assert_int_eq(pfs_store_term_tags(st, "OLD", "[\"vip\",\"north\"]", &ops, 5001, &err), 0);
    put_health(st, "OLD", 1, false);
    ck_assert_int_eq(pfs_store_alert_open(st, "OLD", "paper_out", 5002, "paper out"), 0);
    ck_assert_int_eq(pfs_store_flush(st, 5003, NULL), 0);

    /* Another model family. */
    snap_take(st, &s, "OLD", "ALIEN", NULL);
    ck_assert_int_eq(
            pfs_store_term_swap(st, "OLD", "ALIEN", "broken", NULL, NULL, &sup, 5100, &rid, &err),
            PF_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, "family QT"));
    snap_same(st, &s, "OLD", "ALIEN", NULL);

    /* NEW not in stock (bound elsewhere). */
    ck_assert_int_eq(pfs_store_term_bind(st, "SPARE", "M1", &ops, 5200, &err), 0);
    snap_take(st, &s, "OLD", "SPARE", NULL);
    ck_assert_int_eq(
            pfs_store_term_swap(st, "OLD", "SPARE", "broken", NULL, NULL, &sup, 5300, &rid, &err),
            PF_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, "new SPARE"));
    snap_same(st, &s, "OLD", "SPARE", NULL);
    ck_assert_int_eq(pfs_store_term_swap(st, "OLD", "OLD", "x", NULL, NULL, &sup, 5300, &rid, &err),
                     PF_EINVAL);

    /* The swap itself. */
    ck_assert_int_eq(pfs_store_term_swap(st, "OLD", "NEW", "card reader dead", NULL, NULL, &sup,
                                         6000, &rid, &err),
                     0);
    ck_assert_int_gt(rid, 0);
    ck_assert_int_eq(pfs_store_term_get(st, "NEW", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_INSTALLED);
    ck_assert_str_eq(t.merchant_id, "M1");
    ck_assert_int_eq(pfs_store_term_get(st, "OLD", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_IN_REPAIR);
    ck_assert_str_eq(t.merchant_id, "");
    ck_assert_int_eq(term_json(st, "NEW", &j), 0);
    ck_assert_ptr_nonnull(strstr(j, "\"tags\":[\"vip\",\"north\"]"));
    ck_assert_ptr_nonnull(strstr(j, "\"fee_plan\":[\"fee-2026.11\"]"));
    ck_assert_ptr_nonnull(strstr(j, "\"provision\":{\"from\":\"OLD\",\"fee_plan\""));
    ck_assert_ptr_null(strstr(j, "fleet_target")); /* nothing acts on a firmware intent */
    free(j);
    ck_assert_int_eq(repair_json(st, rid, &j), 0);
    ck_assert_ptr_nonnull(strstr(j, "\"source\":\"swap\""));
    ck_assert_ptr_nonnull(strstr(j, "\"replaced_by\":\"NEW\""));
    ck_assert_ptr_nonnull(strstr(j, "\"kind\":\"paper_out\""));
    ck_assert_ptr_nonnull(strstr(j, "\"battery_pct\":61"));
    ck_assert_ptr_nonnull(strstr(j, "\"diagnostics\":[]"));
    free(j);
    pfs_store_close(st);
}
END_TEST

/* A locked terminal swapped out keeps its one (tamper) repair, which records the swap;
 * the lock stays until that repair closes. */
START_TEST(store_swap_locked)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    struct pfs_term t;
    int64_t rid = 0;
    bool changed = false;
    char *j = NULL;
    int n = 0;

    add_device(st, "OLD", "PX-500");
    add_device(st, "NEW", "PX-500");
    add_merchant(st, "M1", valid_codes[2]);
    ck_assert_int_eq(merchant_act(st, "M1", PFS_MACT_APPROVE, &err), 0);
    ck_assert_int_eq(pfs_store_term_bind(st, "OLD", "M1", &ops, 100, &err), 0);
    ck_assert_int_eq(pfs_store_term_tamper(st, "OLD", "lock-t", 200, &changed, &err), 0);
    ck_assert(changed);
    ck_assert_int_eq(
            pfs_store_term_swap(st, "OLD", "NEW", "tampered", NULL, NULL, &sup, 300, &rid, &err),
            0);
    ck_assert_int_eq(rid, 1);
    ck_assert_int_eq(pfs_store_repair_list(st, NULL, -1, 10, count_cb, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(repair_json(st, rid, &j), 0);
    ck_assert_ptr_nonnull(strstr(j, "\"source\":\"tamper\""));
    ck_assert_ptr_nonnull(strstr(j, "\"replaced_by\":\"NEW\""));
    ck_assert_ptr_nonnull(strstr(j, "swapped for NEW: tampered"));
    free(j);
    ck_assert_int_eq(pfs_store_term_get(st, "OLD", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_IN_REPAIR);
    ck_assert(t.lock_want);
    ck_assert_int_eq(pfs_store_term_get(st, "NEW", &t), 0);
    ck_assert_str_eq(t.merchant_id, "M1");
    ck_assert(!t.lock_want);
    pfs_store_close(st);
}
END_TEST

/* Undoing a swap that joined a tamper repair: OLD locked again, the repair stays open without
 * the swap's mark; a second undo is refused and changes nothing. */
START_TEST(store_swap_undo_locked)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    struct pfs_term t;
    struct snap s;
    int64_t rid = 0, urid = 0;
    bool changed = false, removed = true;
    char *j = NULL;

    add_device(st, "OLD", "PX-500");
    add_device(st, "NEW", "PX-500");
    add_merchant(st, "M1", valid_codes[2]);
    ck_assert_int_eq(merchant_act(st, "M1", PFS_MACT_APPROVE, &err), 0);
    ck_assert_int_eq(pfs_store_term_bind(st, "OLD", "M1", &ops, 100, &err), 0);
    ck_assert_int_eq(pfs_store_term_tamper(st, "OLD", "lock-t", 200, &changed, &err), 0);
    ck_assert_int_eq(
            pfs_store_term_swap(st, "OLD", "NEW", "tampered", NULL, NULL, &sup, 300, &rid, &err),
            0);
    ck_assert_int_eq(pfs_store_term_swap_undo(st, "OLD", "NEW", "wrong one", NULL, NULL, &sup, 400,
                                              &urid, &removed, &err),
                     0);
    ck_assert_int_eq(urid, rid);
    ck_assert(!removed);
    ck_assert_int_eq(pfs_store_term_get(st, "OLD", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_LOCKED);
    ck_assert_str_eq(t.merchant_id, "M1");
    ck_assert(t.lock_want);
    ck_assert_int_eq(pfs_store_term_get(st, "NEW", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_IN_STOCK);
    ck_assert_str_eq(t.merchant_id, "");
    ck_assert_int_eq(repair_json(st, rid, &j), 0);
    ck_assert_ptr_nonnull(strstr(j, "\"state\":\"open\""));
    ck_assert_ptr_null(strstr(j, "\"replaced_by\":\"NEW\""));
    ck_assert_ptr_nonnull(strstr(j, "swap for NEW undone: wrong one"));
    free(j);
    snap_take(st, &s, "OLD", "NEW", NULL);
    ck_assert_int_eq(pfs_store_term_swap_undo(st, "OLD", "NEW", "again", NULL, NULL, &sup, 500,
                                              &urid, &removed, &err),
                     PF_ESTATE);
    ck_assert_str_eq(err.msg, "swap undo: the swap of OLD for NEW was undone already");
    snap_same(st, &s, "OLD", "NEW", NULL);
    pfs_store_close(st);
}
END_TEST

/* A diagnostic run on OLD after the swap is kept with the swap's repair: undo is refused. */
START_TEST(store_swap_undo_after_diag)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    struct pfs_diag_rec d;
    struct snap s;
    int64_t rid = 0, urid = 0;
    bool removed = false;

    add_device(st, "OLD", "PX-500");
    add_device(st, "NEW", "PX-500");
    add_merchant(st, "M1", valid_codes[2]);
    ck_assert_int_eq(merchant_act(st, "M1", PFS_MACT_APPROVE, &err), 0);
    ck_assert_int_eq(pfs_store_term_bind(st, "OLD", "M1", &ops, 100, &err), 0);
    ck_assert_int_eq(
            pfs_store_term_swap(st, "OLD", "NEW", "reader", NULL, NULL, &sup, 300, &rid, &err), 0);
    memset(&d, 0, sizeof(d));
    snprintf(d.id, sizeof(d.id), "diag-1");
    snprintf(d.serial, sizeof(d.serial), "OLD");
    snprintf(d.command, sizeof(d.command), "selftest");
    d.created_ms = 350;
    d.deadline_ms = 9999;
    ck_assert_int_eq(pfs_store_diag_create(st, &d, &sup, 350, &err), 0);
    snap_take(st, &s, "OLD", "NEW", NULL);
    ck_assert_int_eq(pfs_store_term_swap_undo(st, "OLD", "NEW", "oops", NULL, NULL, &sup, 400,
                                              &urid, &removed, &err),
                     PF_ESTATE);
    ck_assert_str_eq(err.msg, "swap undo: repair 1 of OLD was worked on since the swap");
    snap_same(st, &s, "OLD", "NEW", NULL);
    (void)rid;
    pfs_store_close(st);
}
END_TEST

struct bad_lines {
    int line[8];
    int n;
};

static int bad_cb(void *ctx, int line, int code, const char *msg)
{
    struct bad_lines *b = ctx;

    (void)code;
    (void)msg;
    if (b->n < 8)
        b->line[b->n++] = line;
    return 0;
}

/* A bulk bind with bad rows is refused whole, naming each; a check changes nothing; a clean
 * one binds every terminal with its own history line and audit row. */
START_TEST(store_bulk_all_or_nothing)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    struct bad_lines b = {0};
    struct snap s;
    struct pfs_bulk_op ops3[] = {
            {2, "B1", "M1"}, {3, "B2", "M-NOPE"}, {4, "B3", "M1"}, {5, "B-NOPE", "M1"}};
    size_t nbad = 0;

    add_device(st, "B1", "PX-500");
    add_device(st, "B2", "PX-500");
    add_device(st, "B3", "PX-500");
    add_merchant(st, "M1", valid_codes[2]);
    ck_assert_int_eq(merchant_act(st, "M1", PFS_MACT_APPROVE, &err), 0);
    snap_take(st, &s, "B1", "B2", "B3");
    ck_assert_int_eq(pfs_store_term_bulk(st, PFS_BULK_BIND, ops3, 4, false, bad_cb, &b, &ops, 100,
                                         &nbad, &err),
                     PF_ENOENT);
    ck_assert_uint_eq(nbad, 2);
    ck_assert_int_eq(b.n, 2);
    ck_assert_int_eq(b.line[0], 3);
    ck_assert_int_eq(b.line[1], 5);
    ck_assert_str_eq(err.msg, "2 bad lines (nothing changed)");
    snap_same(st, &s, "B1", "B2", "B3");
    /* check only: good rows, nothing kept */
    snap_take(st, &s, "B1", "B2", "B3");
    ck_assert_int_eq(pfs_store_term_bulk(st, PFS_BULK_BIND, ops3, 1, true, bad_cb, &b, &ops, 100,
                                         &nbad, &err),
                     0);
    ck_assert_uint_eq(nbad, 0);
    snap_same(st, &s, "B1", "B2", "B3");
    ops3[1].arg = "M1";
    ck_assert_int_eq(pfs_store_term_bulk(st, PFS_BULK_BIND, ops3, 3, false, bad_cb, &b, &ops, 100,
                                         &nbad, &err),
                     0);
    ck_assert_int_eq(state_of(st, "B1"), PFS_TERM_INSTALLED);
    ck_assert_int_eq(state_of(st, "B3"), PFS_TERM_INSTALLED);
    ck_assert_int_eq(count(st, "terminal_events"), 3);
    pfs_store_close(st);
}
END_TEST

/* Puts a new terminal serial into state (merchant M1 approved, in store st). */
static void make_in_state(struct pfs_store *st, const char *serial, enum pfs_term_state state)
{
    struct pf_error err = {0};
    bool changed = false;
    int64_t rid = 0;

    add_device(st, serial, "PX-500");
    switch (state) {
    case PFS_TERM_IN_STOCK:
        break;
    case PFS_TERM_INSTALLED:
    case PFS_TERM_ACTIVE:
        ck_assert_int_eq(pfs_store_term_bind(st, serial, "M1", &ops, 10, &err), 0);
        if (state == PFS_TERM_ACTIVE) {
            ck_assert_int_eq(pfs_store_term_activate(st, serial, 11, &changed), 0);
            ck_assert(changed);
        }
        break;
    case PFS_TERM_LOCKED:
        ck_assert_int_eq(pfs_store_term_bind(st, serial, "M1", &ops, 10, &err), 0);
        ck_assert_int_eq(pfs_store_term_tamper(st, serial, "lock-x", 11, &changed, &err), 0);
        ck_assert(changed);
        break;
    case PFS_TERM_IN_REPAIR:
        ck_assert_int_eq(pfs_store_repair_open(st, serial, "bench", NULL, &sup, 10, &rid, &err), 0);
        break;
    case PFS_TERM_RETIRED:
        ck_assert_int_eq(pfs_store_term_retire(st, serial, &ops, 10, &err), 0);
        break;
    default:
        ck_abort();
    }
    ck_assert_int_eq(state_of(st, serial), state);
}

enum op { OP_BIND, OP_UNBIND, OP_RETIRE, OP_SWAP_OLD, OP_SWAP_NEW, OP_REPAIR, OP_COUNT };

/* Every operation support and ops can make, from every state: allowed ones move the
 * terminal where the table says, refused ones name the state and change nothing. */
START_TEST(store_every_operation_from_every_state)
{
    static const char *const opname[OP_COUNT] = {"bind",    "unbind",  "retire",
                                                 "swapold", "swapnew", "repair"};
    /* want[op][state]: the state reached, or -1 refused (PF_ESTATE), -2 refused (PF_EEXIST). */
    static const int want[OP_COUNT][PFS_TERM_STATE_COUNT] = {
            /*            in_stock installed active locked in_repair retired */
            [OP_BIND] = {PFS_TERM_INSTALLED, -1, -1, -1, -1, -1},
            [OP_UNBIND] = {-1, PFS_TERM_IN_STOCK, PFS_TERM_IN_STOCK, -1, -1, -1},
            [OP_RETIRE] = {PFS_TERM_RETIRED, -1, -1, -1, -1 /* open repair */, -1},
            [OP_SWAP_OLD] = {-1, PFS_TERM_IN_REPAIR, PFS_TERM_IN_REPAIR, PFS_TERM_IN_REPAIR, -1,
                             -1},
            [OP_SWAP_NEW] = {PFS_TERM_INSTALLED, -1, -1, -1, -1, -1},
            [OP_REPAIR] = {PFS_TERM_IN_REPAIR, -1, -1, -2, -2, -1},
    };
    struct pfs_store *st = open_store();
    struct pf_error err = {0};

    add_merchant(st, "M1", valid_codes[0]);
    ck_assert_int_eq(merchant_act(st, "M1", PFS_MACT_APPROVE, &err), 0);
    for (int o = 0; o < OP_COUNT; o++) {
        for (int from = 0; from < PFS_TERM_STATE_COUNT; from++) {
            char serial[32], other[32];
            int64_t rid = 0;
            struct snap sn;
            int rc = 0;

            snprintf(serial, sizeof(serial), "S-%s-%d", opname[o], from);
            snprintf(other, sizeof(other), "O-%s-%d", opname[o], from);
            make_in_state(st, serial, (enum pfs_term_state)from);
            if (o == OP_SWAP_OLD)
                make_in_state(st, other, PFS_TERM_IN_STOCK);
            if (o == OP_SWAP_NEW)
                make_in_state(st, other, PFS_TERM_INSTALLED);
            snap_take(st, &sn, serial, o >= OP_SWAP_OLD && o <= OP_SWAP_NEW ? other : NULL, NULL);
            pf_error_clear(&err);
            switch (o) {
            case OP_BIND:
                rc = pfs_store_term_bind(st, serial, "M1", &ops, 100, &err);
                break;
            case OP_UNBIND:
                rc = pfs_store_term_unbind(st, serial, &ops, 100, &err);
                break;
            case OP_RETIRE:
                rc = pfs_store_term_retire(st, serial, &ops, 100, &err);
                break;
            case OP_SWAP_OLD:
                rc = pfs_store_term_swap(st, serial, other, "r", NULL, NULL, &sup, 100, &rid, &err);
                break;
            case OP_SWAP_NEW:
                rc = pfs_store_term_swap(st, other, serial, "r", NULL, NULL, &sup, 100, &rid, &err);
                break;
            case OP_REPAIR:
                rc = pfs_store_repair_open(st, serial, "r", NULL, &sup, 100, &rid, &err);
                break;
            }
            if (want[o][from] >= 0) {
                ck_assert_msg(rc == 0, "%s from %s: %s", opname[o], pfs_term_state_names[from],
                              err.msg);
                ck_assert_int_eq(state_of(st, serial), want[o][from]);
                for (int i = 0; i < 3; i++)
                    free(sn.term[i]);
            } else {
                ck_assert_msg(rc == (want[o][from] == -2 ? PF_EEXIST : PF_ESTATE),
                              "%s from %s: %d %s", opname[o], pfs_term_state_names[from], rc,
                              err.msg);
                ck_assert_msg(err.msg[0], "%s from %s: no reason", opname[o],
                              pfs_term_state_names[from]);
                snap_same(st, &sn, serial, o >= OP_SWAP_OLD && o <= OP_SWAP_NEW ? other : NULL,
                          NULL);
            }
        }
    }
    pfs_store_close(st);
}
END_TEST

struct audit_seen {
    int n;
    char actions[16][32];
};

static int audit_cb(void *ctx, const struct pfs_audit *a)
{
    struct audit_seen *s = ctx;

    if (s->n < 16)
        snprintf(s->actions[s->n], sizeof(s->actions[0]), "%s", a->action);
    s->n++;
    return 0;
}

static bool audit_has(const struct audit_seen *s, const char *action)
{
    for (int i = 0; i < s->n && i < 16; i++) {
        if (strcmp(s->actions[i], action) == 0)
            return true;
    }
    return false;
}

START_TEST(store_audit_queries)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    struct audit_seen a;
    int64_t rid = 0;

    add_device(st, "A1", "PX-500");
    add_device(st, "A2", "PX-500");
    add_device(st, "B1", "PX-500");
    add_merchant(st, "MA", valid_codes[3]);
    add_merchant(st, "MB", valid_codes[4]);
    ck_assert_int_eq(merchant_act(st, "MA", PFS_MACT_APPROVE, &err), 0);
    ck_assert_int_eq(merchant_act(st, "MB", PFS_MACT_APPROVE, &err), 0);
    ck_assert_int_eq(pfs_store_term_bind(st, "A1", "MA", &ops, 7000, &err), 0);
    ck_assert_int_eq(pfs_store_term_bind(st, "B1", "MB", &ops, 8000, &err), 0);
    ck_assert_int_eq(
            pfs_store_term_swap(st, "A1", "A2", "dropped", NULL, NULL, &sup, 9000, &rid, &err), 0);

    memset(&a, 0, sizeof(a));
    ck_assert_int_eq(pfs_store_audit_query(st, "A2", NULL, 0, 0, 100, audit_cb, &a), 0);
    ck_assert(audit_has(&a, "terminal.swap"));
    ck_assert(audit_has(&a, "device.add"));
    ck_assert(!audit_has(&a, "terminal.bind")); /* that was A1's */

    memset(&a, 0, sizeof(a));
    ck_assert_int_eq(pfs_store_audit_query(st, NULL, "MA", 0, 0, 100, audit_cb, &a), 0);
    ck_assert(audit_has(&a, "merchant.add"));
    ck_assert(audit_has(&a, "merchant.approve"));
    ck_assert(audit_has(&a, "merchant.activate"));
    ck_assert(audit_has(&a, "terminal.bind"));
    ck_assert(audit_has(&a, "terminal.swap"));
    for (int i = 0; i < a.n; i++)
        ck_assert_str_ne(a.actions[i], "device.add");

    memset(&a, 0, sizeof(a));
    ck_assert_int_eq(pfs_store_audit_query(st, NULL, NULL, 8000, 0, 100, audit_cb, &a), 0);
    ck_assert_int_eq(a.n, 3); /* B1's bind, MB activated by it, the swap */

    memset(&a, 0, sizeof(a));
    ck_assert_int_eq(pfs_store_audit_query(st, "B1", "MA", 0, 0, 100, audit_cb, &a), 0);
    ck_assert_int_eq(a.n, 0);
    pfs_store_close(st);
}
END_TEST

START_TEST(store_tamper_lock_and_repair)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    struct pfs_repair_change c = {.to = -1};
    struct pfs_term t;
    struct snap s;
    bool changed = false, matched = false, unlock = false;
    char serial[PF_SERIAL_MAX + 1];
    int64_t rid = 0;
    char *j = NULL;

    add_device(st, "TT", "PX-500");
    add_merchant(st, "M1", valid_codes[0]);
    ck_assert_int_eq(merchant_act(st, "M1", PFS_MACT_APPROVE, &err), 0);
    ck_assert_int_eq(pfs_store_term_bind(st, "TT", "M1", &ops, 1000, &err), 0);
    put_health(st, "TT", 1, true);

    ck_assert_int_eq(pfs_store_term_tamper(st, "TT", "lock-a", 2000, &changed, &err), 0);
    ck_assert(changed);
    ck_assert_int_eq(pfs_store_term_get(st, "TT", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_LOCKED);
    ck_assert(t.lock_want);
    ck_assert(!t.lock_acked);
    ck_assert_str_eq(t.lock_cmd, "lock-a");
    ck_assert_str_eq(t.merchant_id, "M1");

    /* A second tamper report changes nothing. */
    snap_take(st, &s, "TT", NULL, NULL);
    ck_assert_int_eq(pfs_store_term_tamper(st, "TT", "lock-b", 2100, &changed, &err), 0);
    ck_assert(!changed);
    snap_same(st, &s, "TT", NULL, NULL);

    /* A report for another id, or the wrong state, acknowledges nothing. */
    ck_assert_int_eq(pfs_store_term_lock_report(st, "TT", "lock-old", true, 2200, &matched), 0);
    ck_assert(!matched);
    ck_assert_int_eq(pfs_store_term_lock_report(st, "TT", "lock-a", false, 2200, &matched), 0);
    ck_assert(!matched);
    ck_assert_int_eq(pfs_store_term_lock_report(st, "TT", "lock-a", true, 2300, &matched), 0);
    ck_assert(matched);
    ck_assert_int_eq(pfs_store_term_get(st, "TT", &t), 0);
    ck_assert(t.lock_acked);

    /* The tamper repair is open, with the tamper fault and a snapshot. */
    {
        int open = 0;

        ck_assert_int_eq(pfs_store_repair_list(st, "TT", -2, 10, count_cb, &open), 0);
        ck_assert_int_eq(open, 1);
    }
    {
        struct pfs_store *s2 = st;
        char *rj = NULL;

        ck_assert_int_eq(term_json(s2, "TT", &rj), 0);
        ck_assert_ptr_nonnull(strstr(rj, "\"repair_id\":1"));
        free(rj);
    }
    rid = 1;
    ck_assert_int_eq(repair_json(st, rid, &j), 0);
    ck_assert_ptr_nonnull(strstr(j, "\"source\":\"tamper\""));
    ck_assert_ptr_nonnull(strstr(j, "\"fault_codes\":[\"TAMPER\"]"));
    ck_assert_ptr_nonnull(strstr(j, "\"tamper\":true"));
    free(j);

    /* Support cannot open a second repair, nor retire it while its repair is open. */
    snap_take(st, &s, "TT", NULL, NULL);
    ck_assert_int_eq(pfs_store_repair_open(st, "TT", "again", NULL, &sup, 2400, &rid, &err),
                     PF_EEXIST);
    ck_assert_int_eq(pfs_store_term_retire(st, "TT", &ops, 2400, &err), PF_ESTATE);
    ck_assert_int_eq(pfs_store_term_unbind(st, "TT", &ops, 2400, &err), PF_ESTATE);
    snap_same(st, &s, "TT", NULL, NULL);

    /* received -> the terminal is in repair (still locked). */
    c.to = PFS_REPAIR_RECEIVED;
    c.unlock_cmd = "unlock-x";
    ck_assert_int_eq(pfs_store_repair_change(st, 1, &c, &sup, 2500, &unlock, serial, &err), 0);
    ck_assert(!unlock);
    ck_assert_str_eq(serial, "TT");
    ck_assert_int_eq(pfs_store_term_get(st, "TT", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_IN_REPAIR);
    ck_assert(t.lock_want);

    /* Backwards is refused. */
    snap_take(st, &s, "TT", NULL, NULL);
    c.to = PFS_REPAIR_RECEIVED;
    ck_assert_int_eq(pfs_store_repair_change(st, 1, &c, &sup, 2600, &unlock, serial, &err),
                     PF_ESTATE);
    snap_same(st, &s, "TT", NULL, NULL);

    c.to = PFS_REPAIR_DIAGNOSED;
    c.faults_json = "[\"TAMPER\",\"PHYSICAL\"]";
    c.notes = "case opened, seal broken";
    ck_assert_int_eq(pfs_store_repair_change(st, 1, &c, &sup, 2700, &unlock, serial, &err), 0);
    c.to = PFS_REPAIR_REPAIRED;
    c.faults_json = NULL;
    c.parts_json = "[\"casing\",\"tamper mesh\"]";
    c.notes = "replaced casing";
    ck_assert_int_eq(pfs_store_repair_change(st, 1, &c, &sup, 2800, &unlock, serial, &err), 0);
    c.to = PFS_REPAIR_RETURNED;
    c.parts_json = NULL;
    c.notes = NULL;
    ck_assert_int_eq(pfs_store_repair_change(st, 1, &c, &sup, 2900, &unlock, serial, &err), 0);
    ck_assert(unlock);
    ck_assert_int_eq(pfs_store_term_get(st, "TT", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_IN_STOCK);
    ck_assert_str_eq(t.merchant_id, "");
    ck_assert(!t.lock_want);
    ck_assert(!t.lock_acked);
    ck_assert_str_eq(t.lock_cmd, "unlock-x");
    ck_assert_int_eq(repair_json(st, 1, &j), 0);
    ck_assert_ptr_nonnull(strstr(j, "\"state\":\"returned_to_stock\""));
    ck_assert_ptr_nonnull(strstr(j, "\"parts\":[\"casing\",\"tamper mesh\"]"));
    ck_assert_ptr_nonnull(strstr(j, "case opened, seal broken\\nreplaced casing"));
    ck_assert_ptr_nonnull(strstr(j, "\"closed_ms\":2900"));
    free(j);

    /* A closed repair does not move. */
    snap_take(st, &s, "TT", NULL, NULL);
    c.to = PFS_REPAIR_SCRAPPED;
    ck_assert_int_eq(pfs_store_repair_change(st, 1, &c, &sup, 3000, &unlock, serial, &err),
                     PF_ESTATE);
    snap_same(st, &s, "TT", NULL, NULL);
    ck_assert_int_eq(pfs_store_term_lock_report(st, "TT", "unlock-x", false, 3100, &matched), 0);
    ck_assert(matched);

    /* Support's own repair, then scrapped: the terminal is retired and revoked. */
    ck_assert_int_eq(pfs_store_repair_open(st, "TT", "screen flicker", "[\"DISPLAY\"]", &sup, 3200,
                                           &rid, &err),
                     0);
    ck_assert_int_eq(state_of(st, "TT"), PFS_TERM_IN_REPAIR);
    c.to = PFS_REPAIR_SCRAPPED;
    ck_assert_int_eq(pfs_store_repair_change(st, rid, &c, &sup, 3300, &unlock, serial, &err), 0);
    ck_assert(!unlock);
    ck_assert_int_eq(pfs_store_term_get(st, "TT", &t), 0);
    ck_assert_int_eq(t.state, PFS_TERM_RETIRED);
    ck_assert(t.revoked);

    /* The history has it all, in order. */
    ck_assert_int_eq(history_json(st, "TT", 100, &j), 0);
    {
        const char *kinds[] = {"\"kind\":\"bind\"",          "\"kind\":\"lock\"",
                               "\"kind\":\"locked\"",        "\"kind\":\"repair_receive\"",
                               "\"kind\":\"repair_return\"", "\"kind\":\"unlock\"",
                               "\"kind\":\"unlocked\"",      "\"kind\":\"repair_open\"",
                               "\"kind\":\"repair_scrap\""};
        const char *p = j;

        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
            p = strstr(p, kinds[i]);
            ck_assert_msg(p != NULL, "history lacks %s in order: %s", kinds[i], j);
        }
    }
    free(j);
    pfs_store_close(st);
}
END_TEST

static int pending_cb(void *ctx, const struct pfs_lock_pending *p)
{
    (*(int *)ctx)++;
    ck_assert_str_eq(p->cmd_id, "lock-p");
    ck_assert(p->lock);
    return 0;
}

START_TEST(store_lock_pending_survives_reopen)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    bool changed = false;
    int n = 0;

    add_device(st, "LP", "PX-500");
    ck_assert_int_eq(pfs_store_term_tamper(st, "LP", "lock-p", 100, &changed, &err), 0);
    ck_assert(changed);
    pfs_store_close(st);
    st = open_store();
    ck_assert_int_eq(pfs_store_lock_pending_each(st, pending_cb, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(state_of(st, "LP"), PFS_TERM_LOCKED);
    pfs_store_close(st);
}
END_TEST

START_TEST(store_merchant_changes)
{
    struct pfs_store *st = open_store();
    struct pf_error err = {0};
    struct pfs_merchant m;
    struct snap s;

    add_merchant(st, "M1", valid_codes[0]);
    memset(&m, 0, sizeof(m));
    {
        json_t *b = merchant_body();

        json_object_set_new(b, "id", json_string("M1"));
        json_object_set_new(b, "uscc", json_string(valid_codes[1]));
        ck_assert_int_eq(pfs_merchant_from_json(b, true, &m, &err), 0);
        ck_assert_int_eq(pfs_store_merchant_add(st, &m, &ops, 1, &err), PF_EEXIST);
        json_object_set_new(b, "id", json_string("M2"));
        json_object_set_new(b, "uscc", json_string(valid_codes[0]));
        ck_assert_int_eq(pfs_merchant_from_json(b, true, &m, &err), 0);
        ck_assert_int_eq(pfs_store_merchant_add(st, &m, &ops, 1, &err), PF_EEXIST);
        ck_assert_str_eq(err.msg, "uscc: 91350100M000100Y43 belongs to another merchant");
        json_decref(b);
    }
    snap_take(st, &s, NULL, NULL, NULL);
    ck_assert_int_eq(merchant_act(st, "M1", PFS_MACT_SUSPEND, &err), PF_ESTATE);
    ck_assert_str_eq(err.msg, "cannot suspend a merchant that is applied (only active)");
    ck_assert_int_eq(merchant_act(st, "M9", PFS_MACT_APPROVE, &err), PF_ENOENT);
    snap_same(st, &s, NULL, NULL, NULL);
    ck_assert_int_eq(merchant_act(st, "M1", PFS_MACT_APPROVE, &err), 0);
    ck_assert_int_eq(merchant_act(st, "M1", PFS_MACT_ACTIVATE, &err), 0);
    ck_assert_int_eq(merchant_act(st, "M1", PFS_MACT_SUSPEND, &err), 0);
    ck_assert_int_eq(merchant_act(st, "M1", PFS_MACT_RESUME, &err), 0);
    ck_assert_int_eq(pfs_store_merchant_get(st, "M1", &m), 0);
    ck_assert_int_eq(m.status, PFS_MERCHANT_ACTIVE);
    pfs_store_close(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *pure = tcase_create("rules");
    TCase *store = tcase_create("store");

    tcase_add_test(pure, uscc_published_codes_pass);
    tcase_add_test(pure, uscc_invalid_codes_fail);
    tcase_add_test(pure, merchant_valid_fields);
    tcase_add_test(pure, merchant_each_field_refused);
    tcase_add_test(pure, merchant_required_fields);
    tcase_add_test(pure, merchant_update_keeps_and_refuses);
    tcase_add_test(pure, tz_names);
    tcase_add_test(pure, merchant_flow_every_pair);
    tcase_add_test(pure, terminal_table_every_pair);
    tcase_add_test(pure, repair_states_and_codes);
    tcase_add_test(pure, rules_state_and_family);
    tcase_add_test(pure, rules_bind_unbind_retire_tags);
    tcase_add_test(pure, rules_swap);
    tcase_add_test(pure, rules_swap_undo);
    tcase_add_test(pure, rules_posfleetd_transitions);
    tcase_add_test(pure, rules_repairs);
    tcase_add_test(pure, rules_merchant_close);
    tcase_add_test(pure, views_print_nulls_and_order);
    tcase_add_test(pure, lock_codecs);
    tcase_add_test(pure, tamper_event_codec);
    suite_add_tcase(s, pure);
    tcase_add_checked_fixture(store, setup, teardown);
    tcase_set_timeout(store, 110);
    tcase_add_test(store, store_bind_unbind_retire);
    tcase_add_test(store, store_swap);
    tcase_add_test(store, store_swap_locked);
    tcase_add_test(store, store_swap_undo_locked);
    tcase_add_test(store, store_swap_undo_after_diag);
    tcase_add_test(store, store_bulk_all_or_nothing);
    tcase_add_test(store, store_every_operation_from_every_state);
    tcase_add_test(store, store_audit_queries);
    tcase_add_test(store, store_tamper_lock_and_repair);
    tcase_add_test(store, store_lock_pending_survives_reopen);
    tcase_add_test(store, store_merchant_changes);
    suite_add_tcase(s, store);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
