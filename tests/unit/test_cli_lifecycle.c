/*
 * test_cli_lifecycle.c - the lifecycle commands' cards and tables from canned
 * answers: full ones, ones with every optional field null, and answers that
 * lack their core (PF_ESCHEMA); output is plain ASCII without trailing blanks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands_lifecycle.h"
#include "render.h"
#include "table.h"
#include "testutil.h"

#define NOW 1800000000000LL /* 2027-01-15 08:00:00 UTC */

struct capture {
    FILE *f;
    char *buf;
    size_t len;
};

static void cap_open(struct capture *c)
{
    memset(c, 0, sizeof(*c));
    c->f = open_memstream(&c->buf, &c->len);
    ck_assert_ptr_nonnull(c->f);
}

static const char *cap_text(struct capture *c)
{
    fflush(c->f);
    return c->buf;
}

static void cap_close(struct capture *c)
{
    fclose(c->f);
    free(c->buf);
}

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);

    ck_assert_msg(j != NULL, "canned JSON: %s", jerr.text);
    return j;
}

/*
 * Printable text only: no control but newlines, no DEL, no C1 (C2 80..9F);
 * printable UTF-8 passes. No line ends in a space.
 */
static void assert_clean(const char *s)
{
    for (const char *p = s; *p; p++) {
        unsigned char b = (unsigned char)*p;

        ck_assert_msg((b >= 0x20 && b != 0x7f) || b == '\n', "byte 0x%02x at %zu", b,
                      (size_t)(p - s));
        ck_assert_msg(!(b == 0xc2 && (unsigned char)p[1] >= 0x80 && (unsigned char)p[1] <= 0x9f),
                      "C1 control at %zu", (size_t)(p - s));
        if (*p == '\n' && p > s)
            ck_assert_msg(p[-1] != ' ', "trailing space before offset %zu", (size_t)(p - s));
    }
}

static const char terminal_json[] =
        "{\"serial\":\"PF1\",\"model\":\"PX-500\",\"registry\":\"registered\",\"state\":\"locked\","
        "\"merchant_id\":\"M1\",\"fee_plan\":[\"fee-a\",\"fee-b\"],\"tz\":\"Asia/Shanghai\","
        "\"tags\":[],\"bound_ms\":1799996400000,\"locked\":true,"
        "\"lock\":{\"command\":\"lock-1\",\"action\":\"lock\",\"acknowledged\":false,"
        "\"reason\":\"tamper\"},\"provision\":null,\"repair_id\":7,\"updated_ms\":1800000000000}";

static const char repair_json[] =
        "{\"id\":7,\"serial\":\"PF1\",\"state\":\"open\",\"source\":\"tamper\",\"reason\":"
        "\"tamper\","
        "\"merchant_id\":null,\"replaced_by\":null,\"fault_codes\":[\"TAMPER\"],\"parts\":[],"
        "\"notes\":\"line one\\nline \\u001b two\",\"snapshot\":{\"taken_ms\":1,\"health\":"
        "{\"battery_pct\":61,\"fw_version\":\"1.0.0\",\"paper\":\"ok\",\"tamper\":true},"
        "\"alerts\":[{\"kind\":\"tamper\",\"opened_ms\":1,\"detail\":\"tamper switch\"}],"
        "\"diagnostics\":[]},\"opened_ms\":1799999940000,\"received_ms\":null,"
        "\"diagnosed_ms\":null,\"repaired_ms\":null,\"closed_ms\":null,\"updated_ms\":1}";

START_TEST(terminal_card)
{
    struct capture c;
    struct pf_error err = {0};
    json_t *j = load(terminal_json);

    cap_open(&c);
    ck_assert_int_eq(pfc_render_terminal(c.f, NOW, NULL, j, &err), 0);
    assert_clean(cap_text(&c));
    ck_assert_ptr_nonnull(strstr(c.buf, "state          locked\n"));
    ck_assert_ptr_nonnull(strstr(c.buf, "fee plan       fee-a,fee-b\n"));
    ck_assert_ptr_nonnull(strstr(c.buf, "tags           -\n"));
    ck_assert_ptr_nonnull(strstr(c.buf, "bound          1h ago (2027-01-15 07:00:00 UTC)\n"));
    ck_assert_ptr_nonnull(strstr(c.buf, "lock command   lock lock-1, waiting for the terminal\n"));
    ck_assert_ptr_nonnull(strstr(c.buf, "open repair    7\n"));
    /* The terminal's zone with its offset and local time now (08:00 UTC). */
    ck_assert_msg(strstr(c.buf, "time zone      Asia/Shanghai, UTC+08:00, 16:00 there now\n") !=
                          NULL,
                  "%s", c.buf);
    cap_close(&c);
    json_decref(j);

    /* The provisioning intent of a swap reads as a sentence, not raw JSON. */
    j = load("{\"serial\":\"PF3\",\"state\":\"installed\",\"provision\":{\"from\":\"PF1\","
             "\"fee_plan\":[\"fee-a\"],\"reason\":\"swap\",\"since_ms\":1799999700000}}");
    cap_open(&c);
    ck_assert_int_eq(pfc_render_terminal(c.f, NOW, NULL, j, &err), 0);
    ck_assert_msg(strstr(cap_text(&c), "provisioning   swap from PF1 5m ago (2027-01-15 07:55:00 "
                                       "UTC), fee plan fee-a\n") != NULL,
                  "%s", c.buf);
    ck_assert_ptr_null(strstr(c.buf, "{"));
    cap_close(&c);
    json_decref(j);

    j = load("{\"serial\":\"PF2\",\"state\":\"in_stock\",\"merchant_id\":null,\"lock\":null}");
    cap_open(&c);
    ck_assert_int_eq(pfc_render_terminal(c.f, NOW, NULL, j, &err), 0);
    assert_clean(cap_text(&c));
    ck_assert_ptr_nonnull(strstr(c.buf, "merchant       -\n"));
    ck_assert_ptr_nonnull(strstr(c.buf, "bound          -\n"));
    cap_close(&c);
    json_decref(j);

    j = load("{\"serial\":\"PF2\"}");
    cap_open(&c);
    ck_assert_int_eq(pfc_render_terminal(c.f, NOW, NULL, j, &err), PF_ESCHEMA);
    cap_close(&c);
    json_decref(j);
}
END_TEST

START_TEST(repair_card_cleans_text)
{
    struct capture c;
    struct pf_error err = {0};
    json_t *j = load(repair_json);

    cap_open(&c);
    ck_assert_int_eq(pfc_render_repair(c.f, NOW, NULL, j, &err), 0);
    assert_clean(cap_text(&c));
    ck_assert_ptr_nonnull(strstr(c.buf, "opened by      tamper\n"));
    ck_assert_ptr_nonnull(strstr(c.buf, "fault codes    TAMPER\n"));
    ck_assert_ptr_nonnull(strstr(c.buf, "last health: battery 61%, firmware 1.0.0, paper ok,"
                                        " tamper yes\n"));
    ck_assert_ptr_nonnull(strstr(c.buf, "alert: tamper (tamper switch)\n"));
    ck_assert_ptr_null(strstr(c.buf, "\x1b"));
    cap_close(&c);
    json_decref(j);
    j = load("{\"serial\":\"PF1\"}");
    cap_open(&c);
    ck_assert_int_eq(pfc_render_repair(c.f, NOW, NULL, j, &err), PF_ESCHEMA);
    cap_close(&c);
    json_decref(j);
}
END_TEST

/* The card shows the diagnostics kept at opening and Chinese notes line by line, unchanged. */
START_TEST(repair_card_diagnostics_and_notes)
{
    static const char zh[] =
            "{\"id\":8,\"serial\":\"PF1\",\"state\":\"received\",\"reason\":\"屏幕碎裂\","
            "\"notes\":\"已更换屏幕\\n待测试 \\u001b[31m\",\"snapshot\":{\"taken_ms\":1,"
            "\"health\":null,\"alerts\":[],\"diagnostics\":[{\"id\":\"d-7\",\"command\":"
            "\"selftest\",\"status\":\"ok\",\"code\":null,\"answered_ms\":1799996400000,"
            "\"result\":{}},{\"id\":\"d-6\",\"command\":\"logs\",\"status\":\"failed\","
            "\"code\":\"EIO\",\"answered_ms\":1799996400000,\"result\":null}]}}";
    struct capture c;
    struct pf_error err = {0};
    json_t *j = load(zh);

    cap_open(&c);
    ck_assert_int_eq(pfc_render_repair(c.f, NOW, NULL, j, &err), 0);
    assert_clean(cap_text(&c));
    ck_assert_msg(strstr(c.buf, "reason         屏幕碎裂\n") != NULL, "%s", c.buf);
    ck_assert_msg(strstr(c.buf, "  diagnostic: selftest ok, answered 2027-01-15 07:00:00 UTC "
                                "(posfleet diag show d-7)\n") != NULL,
                  "%s", c.buf);
    ck_assert_msg(strstr(c.buf, "  diagnostic: logs failed (EIO), answered") != NULL, "%s", c.buf);
    ck_assert_msg(strstr(c.buf, "\nnotes:\n  已更换屏幕\n  待测试 \\x1b[31m\n") != NULL, "%s",
                  c.buf);
    cap_close(&c);
    json_decref(j);
    j = load(repair_json);
    cap_open(&c);
    ck_assert_int_eq(pfc_render_repair(c.f, NOW, NULL, j, &err), 0);
    ck_assert_ptr_nonnull(strstr(cap_text(&c), "  diagnostics: none\n"));
    cap_close(&c);
    json_decref(j);
}
END_TEST

START_TEST(lists)
{
    struct capture c;
    struct pf_error err = {0};
    json_t *j;
    char *text;

    text = malloc(sizeof(repair_json) + 64);
    ck_assert_ptr_nonnull(text);
    snprintf(text, sizeof(repair_json) + 64, "{\"repairs\":[%s]}", repair_json);
    j = load(text);
    free(text);
    cap_open(&c);
    ck_assert_int_eq(pfc_render_repairs(c.f, NOW, NULL, j, &err), 0);
    assert_clean(cap_text(&c));
    ck_assert_ptr_nonnull(strstr(c.buf, "ID  SERIAL  STATE  SOURCE  OPENED  FAULTS  REASON\n"));
    ck_assert_ptr_nonnull(strstr(c.buf, " 7  PF1     open   tamper  1m ago  TAMPER  tamper\n"));
    cap_close(&c);
    json_decref(j);

    j = load("{\"merchants\":[{\"id\":\"M1\",\"status\":\"active\",\"name\":\"\\u5e78\\u8fd0\","
             "\"mcc\":\"5812\",\"tz\":\"Asia/Shanghai\",\"settlement\":\"T1\",\"fee_plan\":[]}],"
             "\"next\":\"M1\"}");
    cap_open(&c);
    ck_assert_int_eq(pfc_render_merchants(c.f, NOW, NULL, j, &err), 0);
    assert_clean(cap_text(&c));
    ck_assert_ptr_nonnull(strstr(c.buf, "M1  active  幸运  5812  Asia/Shanghai  T1      -\n"));
    ck_assert_ptr_nonnull(strstr(c.buf, "more after M1: use --after\n"));
    cap_close(&c);
    json_decref(j);

    j = load("{\"audit\":[{\"id\":3,\"ts_ms\":1800000000000,\"actor\":\"sam\",\"role\":\"support\","
             "\"action\":\"terminal.swap\",\"target\":\"PF1\",\"before\":null,\"after\":null}],"
             "\"next\":2}");
    cap_open(&c);
    ck_assert_int_eq(pfc_render_audit(c.f, NOW, NULL, j, &err), 0);
    assert_clean(cap_text(&c));
    ck_assert_ptr_nonnull(strstr(
            c.buf, " 3  2027-01-15 08:00:00 UTC  sam  support  -    -     terminal.swap  PF1\n"));
    ck_assert_ptr_nonnull(strstr(c.buf, "older rows: --before 2\n"));
    cap_close(&c);
    json_decref(j);

    j = load("{\"audit\":[]}");
    cap_open(&c);
    ck_assert_int_eq(pfc_render_audit(c.f, NOW, NULL, j, &err), 0);
    ck_assert_str_eq(cap_text(&c), "no audit rows\n");
    cap_close(&c);
    json_decref(j);
    j = load("{}");
    cap_open(&c);
    ck_assert_int_eq(pfc_render_merchants(c.f, NOW, NULL, j, &err), PF_ESCHEMA);
    ck_assert_int_eq(pfc_render_repairs(c.f, NOW, NULL, j, &err), PF_ESCHEMA);
    ck_assert_int_eq(pfc_render_audit(c.f, NOW, NULL, j, &err), PF_ESCHEMA);
    ck_assert_int_eq(pfc_render_history(c.f, NOW, NULL, j, &err), PF_ESCHEMA);
    ck_assert_int_eq(pfc_render_swap(c.f, NOW, NULL, j, &err), PF_ESCHEMA);
    ck_assert_int_eq(pfc_render_merchant(c.f, NOW, NULL, j, &err), PF_ESCHEMA);
    cap_close(&c);
    json_decref(j);
}
END_TEST

START_TEST(history_view)
{
    struct capture c;
    struct pf_error err = {0};
    char *text = malloc(8192);
    json_t *j;

    ck_assert_ptr_nonnull(text);
    snprintf(text, 8192,
             "{\"serial\":\"PF1\",\"terminal\":%s,\"events\":[{\"id\":1,\"ts_ms\":1800000000000,"
             "\"kind\":\"bind\",\"from\":\"in_stock\",\"to\":\"installed\",\"merchant_id\":"
             "\"M1\",\"other\":null,\"repair_id\":null,\"actor\":\"alice\",\"detail\":\"\"}],"
             "\"repairs\":[%s],\"updates\":[{\"ts_ms\":1800000000000,\"kind\":\"firmware\","
             "\"version\":\"1.2.0\",\"status\":\"success\",\"code\":null}]}",
             terminal_json, repair_json);
    j = load(text);
    free(text);
    cap_open(&c);
    ck_assert_int_eq(pfc_render_history(c.f, NOW, NULL, j, &err), 0);
    assert_clean(cap_text(&c));
    ck_assert_ptr_nonnull(strstr(c.buf, "history (oldest first):\n"));
    ck_assert_ptr_nonnull(strstr(c.buf, "2027-01-15 08:00:00 UTC  bind   in_stock  installed  M1"
                                        "        -      -       alice  -\n"));
    ck_assert_ptr_nonnull(strstr(c.buf, "repairs:\n"));
    ck_assert_ptr_nonnull(strstr(c.buf, "  2027-01-15 08:00:00 UTC  firmware 1.2.0  success\n"));
    cap_close(&c);
    json_decref(j);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli_lifecycle");
    TCase *tc = tcase_create("render");

    tcase_add_test(tc, terminal_card);
    tcase_add_test(tc, repair_card_cleans_text);
    tcase_add_test(tc, repair_card_diagnostics_and_notes);
    tcase_add_test(tc, lists);
    tcase_add_test(tc, history_view);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
