/*
 * test_cli_render.c - tables and cards from canned answers, with a fixed "now".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

START_TEST(test_reltime)
{
    static const struct {
        int64_t then;
        const char *text;
    } cases[] = {
            {0, "never"},
            {-5, "never"},
            {NOW, "just now"},
            {NOW - 999, "just now"},
            {NOW - 1000, "1s ago"},
            {NOW - 12000, "12s ago"},
            {NOW - 59999, "59s ago"},
            {NOW - 60000, "1m ago"},
            {NOW - 3599999, "59m ago"},
            {NOW - 3600000, "1h ago"},
            {NOW - 86399999, "23h ago"},
            {NOW - 2 * 86400000LL, "2d ago"},
            {NOW + 30000, "just now"}, /* small clock skew */
            {NOW + 120000, "in 2m"},
    };
    char buf[32];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pfc_reltime(NOW, cases[i].then, buf, sizeof(buf));
        ck_assert_str_eq(buf, cases[i].text);
    }
    pfc_showtime(NOW, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2027-01-15 08:00:00 UTC");
    pfc_showtime(0, buf, sizeof(buf));
    ck_assert_str_eq(buf, "-");
}
END_TEST

START_TEST(test_table_widths)
{
    static const char *const head[] = {"A", "LONGHEAD", "N"};
    const char *const r1[] = {"wide-cell", "x", "7"};
    const char *const r2[] = {"y", NULL, "1234"};
    const char *const r3[] = {"z", "\xc3\xa9t\xc3\xa9\x1b", ""};
    struct pfc_table t;
    struct capture c;

    ck_assert_int_eq(pfc_table_init(&t, 3, head, "llr"), 0);
    ck_assert_int_eq(pfc_table_add(&t, r1), 0);
    ck_assert_int_eq(pfc_table_add(&t, r2), 0);
    ck_assert_int_eq(pfc_table_add(&t, r3), 0);
    cap_open(&c);
    pfc_table_print(&t, c.f, NULL);
    /* Widths come from the widest of header and cells; missing and empty cells read "-". */
    ck_assert_str_eq(cap_text(&c), "A          LONGHEAD     N\n"
                                   "wide-cell  x            7\n"
                                   "y          -         1234\n"
                                   "z          été\\x1b      -\n");
    cap_close(&c);
    pfc_table_release(&t);
}
END_TEST

START_TEST(test_table_cuts_long_cells)
{
    static const char *const head[] = {"K", "V"};
    char longv[200];
    const char *const row[] = {"k", longv};
    struct pfc_table t;
    struct capture c;
    const char *line2;

    memset(longv, 'x', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    ck_assert_int_eq(pfc_table_init(&t, 2, head, NULL), 0);
    ck_assert_int_eq(pfc_table_add(&t, row), 0);
    cap_open(&c);
    pfc_table_print(&t, c.f, "  ");
    line2 = strchr(cap_text(&c), '\n') + 1;
    ck_assert_uint_eq(strlen(line2), 2 + 1 + 2 + PFC_CELL_MAX + 1);
    ck_assert_str_eq(line2 + strlen(line2) - 4, "...\n");
    cap_close(&c);
    pfc_table_release(&t);
    ck_assert_int_eq(pfc_table_init(&t, PFC_TABLE_COLS + 1, head, NULL), PF_EINVAL);
}
END_TEST

/* A getter that shows what the renderer told it: the row's index, or "total" on the footer. */
static void cell_where(json_t *row, const char *key, const struct pfc_cell_ctx *cx, char *buf,
                       size_t len)
{
    (void)row;
    (void)key;
    if (cx->footer)
        snprintf(buf, len, "total");
    else
        snprintf(buf, len, "#%zu", cx->index);
}

START_TEST(test_table_spec)
{
    static const struct pfc_col cols[] = {
            {"AT", 0, 'l', NULL, cell_where},        {"NAME", 0, 'l', "name|label", NULL},
            {"N", 0, 'r', "n.count", NULL},          {"CODE", 6, 'l', "code", NULL},
            {"WHEN", 0, 'l', "ts_ms", pfc_cell_ago}, {NULL},
    };
    json_t *rows = load("[{\"name\":\"alpha\",\"n\":{\"count\":7},\"code\":\"E1\",\"ts_ms\":"
                        "1799999988000},{\"label\":\"b\",\"code\":\"TOOLONGCODE\"}]");
    json_t *foot = load("{\"name\":\"all\",\"n\":{\"count\":1234}}");
    struct pf_error err = {0};
    struct pfc_col wide[PFC_TABLE_COLS + 2];
    struct capture c;

    cap_open(&c);
    ck_assert_int_eq(pfc_table_render(c.f, "  ", cols, rows, foot, NOW, &err), 0);
    /* A fixed width pads short cells and cuts long ones; the footer comes last. */
    ck_assert_str_eq(cap_text(&c), "  AT     NAME      N  CODE    WHEN\n"
                                   "  #0     alpha     7  E1      12s ago\n"
                                   "  #1     b         -  TOO...  never\n"
                                   "  total  all    1234  -       never\n");
    cap_close(&c);
    /* No rows: the header alone. */
    cap_open(&c);
    json_array_clear(rows);
    ck_assert_int_eq(pfc_table_render(c.f, NULL, cols + 1, rows, NULL, NOW, &err), 0);
    ck_assert_str_eq(cap_text(&c), "NAME  N  CODE    WHEN\n");
    /* A spec wider than a table may be is refused, not cut. */
    for (size_t i = 0; i < PFC_TABLE_COLS + 1; i++)
        wide[i] = cols[1];
    wide[PFC_TABLE_COLS + 1] = cols[5];
    ck_assert_int_eq(pfc_table_render(c.f, NULL, wide, rows, NULL, NOW, &err), PF_EINVAL);
    ck_assert_int_eq(pfc_table_render(c.f, NULL, cols + 5, rows, NULL, NOW, &err), PF_EINVAL);
    cap_close(&c);
    json_decref(rows);
    json_decref(foot);
}
END_TEST

static const char devices_json[] =
        "{\"devices\":["
        "{\"serial\":\"PF000001\",\"model\":\"A920\",\"hw_rev\":\"B\",\"merchant_id\":\"M-1\","
        "\"status\":\"online\",\"online\":true,\"last_seen_ms\":1799999988000,"
        "\"fw_version\":\"1.4.2\",\"fw_slot\":\"a\",\"fee_version\":\"2026.1\","
        "\"battery_pct\":87,\"charging\":true,\"signal_dbm\":-71,\"net_type\":\"4g\","
        "\"temp_c\":41,\"paper\":\"ok\",\"tamper\":false,\"alerts\":[]},"
        "{\"serial\":\"PF000002\",\"model\":\"A920\",\"status\":\"offline\",\"online\":false,"
        "\"last_seen_ms\":1799996400000,\"fw_version\":\"1.4.10\",\"fw_slot\":\"b\","
        "\"fee_version\":\"\",\"battery_pct\":4,\"charging\":false,\"signal_dbm\":-101,"
        "\"net_type\":\"wifi\",\"paper\":\"out\",\"tamper\":true,"
        "\"alerts\":[\"battery_critical\",\"paper_out\",\"tamper\"]},"
        "{\"serial\":\"PF000003\",\"model\":\"V\\u00e9rifone\",\"status\":\"never\","
        "\"online\":false,\"last_seen_ms\":null,\"alerts\":[]}"
        "],\"next\":null}";

START_TEST(test_devices_table)
{
    json_t *j = load(devices_json);
    struct pf_error err = {0};
    struct capture c;

    cap_open(&c);
    ck_assert_int_eq(pfc_render_devices(c.f, NOW, NULL, j, &err), 0);
    ck_assert_str_eq(cap_text(&c),
                     "SERIAL    MODEL     FW      SLOT  FEE     STATUS   LAST-SEEN  BATTERY  PAPER"
                     "         SIGNAL  ALERTS\n"
                     "PF000001  A920      1.4.2   a     2026.1  online     12s ago  87% chg  ok   "
                     "     -71 dBm 4g  -\n"
                     "PF000002  A920      1.4.10  b     -       offline     1h ago       4%  out  "
                     "  -101 dBm wifi  battery_critical,paper_out,tamper\n"
                     "PF000003  Vérifone  -       -     -       never        never        -  -    "
                     "              -  -\n");
    assert_clean(cap_text(&c));
    cap_close(&c);
    json_decref(j);
}
END_TEST

START_TEST(test_devices_empty_and_malformed)
{
    json_t *empty = load("{\"devices\":[],\"next\":null}");
    json_t *bad = load("{\"terminals\":[]}");
    struct pf_error err = {0};
    struct capture c;

    cap_open(&c);
    ck_assert_int_eq(pfc_render_devices(c.f, NOW, NULL, empty, &err), 0);
    ck_assert_str_eq(cap_text(&c), "no terminals\n");
    cap_close(&c);

    cap_open(&c);
    ck_assert_int_eq(pfc_render_devices(c.f, NOW, NULL, bad, &err), PF_ESCHEMA);
    ck_assert_str_eq(err.msg, "answer has no \"devices\" list");
    ck_assert_uint_eq(strlen(cap_text(&c)), 0);
    cap_close(&c);
    json_decref(empty);
    json_decref(bad);
}
END_TEST

/* A device answer whose health reports use the wire protocol's nested fields. */
static const char device_json[] =
        "{\"serial\":\"PF000002\",\"model\":\"A920\",\"hw_rev\":\"B\",\"merchant_id\":\"M-1\","
        "\"status\":\"online\",\"online\":true,\"last_seen_ms\":1799999940000,"
        "\"fw_version\":\"1.4.2\",\"fw_slot\":\"a\",\"fee_version\":\"2026.1\","
        "\"fee_pending\":{\"version\":\"2026.2\",\"effective_ms\":1800028800000},"
        "\"battery_pct\":4,\"charging\":false,\"signal_dbm\":-80,\"net_type\":\"4g\","
        "\"temp_c\":38,\"paper\":\"low\",\"tamper\":false,\"alerts\":[{\"kind\":\"battery_"
        "critical\",\"opened_ms\":1799999700000,\"detail\":\"battery 4%\"}],"
        "\"birth\":{\"ts\":1799990000000,\"model\":\"A920\",\"hw_rev\":\"B\","
        "\"fw\":{\"version\":\"1.4.2\",\"slot\":\"a\"},\"fee_version\":\"2026.1\","
        "\"boot\":\"normal\",\"agent_version\":\"0.1.0\"},"
        "\"selftest\":{\"power\":\"pass\",\"network\":\"pass\",\"screen\":\"pass\","
        "\"printer\":\"fail\",\"card_reader\":\"pass\",\"secure_element\":\"skip\"},"
        "\"counters\":{\"reconnects\":3,\"queue_dropped\":0,\"reader\":1,\"printer\":7},"
        "\"health\":["
        "{\"seq\":42,\"ts\":1799999940000,\"power\":{\"battery_pct\":4,\"charging\":false},"
        "\"net\":{\"type\":\"4g\",\"signal_dbm\":-80},\"temp_c\":38,\"storage_free_kb\":1024,"
        "\"mem_free_kb\":2048,\"uptime_s\":3600,\"fw\":{\"version\":\"1.4.2\",\"slot\":\"a\"},"
        "\"paper\":\"low\",\"tamper\":false,\"selftest\":{\"power\":\"pass\",\"printer\":"
        "\"fail\"},\"txn\":{\"count\":17,\"amount_minor\":123400,\"currency\":\"EUR\"}},"
        "{\"seq\":41,\"ts\":1799999880000,\"power\":{\"battery_pct\":5,\"charging\":true},"
        "\"net\":{\"type\":\"4g\",\"signal_dbm\":-79},\"temp_c\":37,\"fw\":{\"version\":"
        "\"1.4.2\",\"slot\":\"a\"},\"paper\":\"ok\",\"selftest\":{\"power\":\"pass\"},"
        "\"txn\":{\"count\":16}}]}";

START_TEST(test_device_card)
{
    json_t *j = load(device_json);
    struct pf_error err = {0};
    struct capture c;
    const char *out;
    static const char *const expect[] = {
            "terminal PF000002  (online)\n",
            "  model          A920\n",
            "  merchant       M-1\n",
            "  last seen      1m ago (2027-01-15 07:59:00 UTC)\n",
            "\nversions\n  firmware       1.4.2 (slot a)\n  fee table      2026.1\n"
            "  fee pending    2026.2 from 2027-01-15 16:00:00 UTC (in 8h)\n"
            "  agent          0.1.0\n  last boot      normal\n",
            "  battery        4%\n",
            "  temperature    38 C\n",
            "  network        -80 dBm 4g\n",
            "  paper          low\n",
            "  tamper         no\n",
            "\nself-test\n  power          pass\n",
            "  printer        fail\n",
            "  secure_element skip\n",
            "\ncounters\n  reconnects     3\n",
            "  printer        7\n",
            "\nopen alerts\n  KIND              OPENED  DETAIL\n"
            "  battery_critical  5m ago  battery 4%\n",
            "\nrecent health (newest first)\n"
            "  WHEN    SEQ  BATTERY      SIGNAL  TEMP  PAPER  FW     SELFTEST      TXNS\n"
            "  1m ago   42       4%  -80 dBm 4g  38 C  low    1.4.2  fail:printer    17\n"
            "  2m ago   41   5% chg  -79 dBm 4g  37 C  ok     1.4.2  pass            16\n",
    };

    cap_open(&c);
    ck_assert_int_eq(pfc_render_device(c.f, NOW, NULL, j, &err), 0);
    out = cap_text(&c);
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
        ck_assert_msg(strstr(out, expect[i]) != NULL, "missing:\n%s\nin:\n%s", expect[i], out);
    assert_clean(out);
    cap_close(&c);
    json_decref(j);
}
END_TEST

START_TEST(test_device_card_sparse)
{
    /* A terminal registered but never seen: every section says so instead of failing. */
    json_t *j = load("{\"serial\":\"PF9\",\"model\":\"A920\",\"status\":\"never\","
                     "\"last_seen_ms\":null,\"alerts\":[],\"health\":[]}");
    json_t *bad = load("{\"model\":\"A920\"}");
    struct pf_error err = {0};
    struct capture c;
    const char *out;

    cap_open(&c);
    ck_assert_int_eq(pfc_render_device(c.f, NOW, NULL, j, &err), 0);
    out = cap_text(&c);
    ck_assert_ptr_nonnull(strstr(out, "terminal PF9  (never)\n"));
    ck_assert_ptr_nonnull(strstr(out, "  last seen      never\n"));
    ck_assert_ptr_nonnull(strstr(out, "  firmware       - (slot -)\n"));
    ck_assert_ptr_nonnull(strstr(out, "  fee pending    none\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nself-test\n  not reported\n"));
    ck_assert_ptr_nonnull(strstr(out, "\ncounters\n  none reported\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nopen alerts\n  none\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nrecent health (newest first)\n  none\n"));
    assert_clean(out);
    cap_close(&c);

    cap_open(&c);
    ck_assert_int_eq(pfc_render_device(c.f, NOW, NULL, bad, &err), PF_ESCHEMA);
    ck_assert_uint_eq(strlen(cap_text(&c)), 0);
    cap_close(&c);
    json_decref(j);
    json_decref(bad);
}
END_TEST

START_TEST(test_summary)
{
    json_t *j = load("{\"total\":12,\"online\":9,\"offline\":2,\"never_seen\":1,\"revoked\":0,"
                     "\"alerts\":{\"paper_out\":1,\"tamper\":1},\"models\":{\"A920\":10,"
                     "\"V400m\":2},\"firmware\":{\"1.4.2\":11,\"1.3.0\":1},"
                     "\"fee_tables\":[{\"version\":\"2026.1\",\"state\":\"active\","
                     "\"effective_ms\":null,\"terminals\":9},{\"version\":\"2026.2\","
                     "\"state\":\"pending\",\"effective_ms\":1800028800000,\"terminals\":4}]}");
    json_t *empty = load("{\"total\":0,\"online\":0,\"offline\":0,\"never_seen\":0,"
                         "\"revoked\":0,\"alerts\":{},\"models\":{},\"firmware\":{}}");
    json_t *bad = load("{\"online\":3}");
    struct pf_error err = {0};
    struct capture c;

    cap_open(&c);
    ck_assert_int_eq(pfc_render_summary(c.f, NOW, NULL, j, &err), 0);
    ck_assert_str_eq(cap_text(&c), "terminals\n"
                                   "  total          12\n"
                                   "  online         9\n"
                                   "  offline        2\n"
                                   "  never seen     1\n"
                                   "  revoked        0\n"
                                   "\nopen alerts by kind\n"
                                   "  paper_out      1\n"
                                   "  tamper         1\n"
                                   "\nmodels\n"
                                   "  A920           10\n"
                                   "  V400m          2\n"
                                   "\nfirmware\n"
                                   "  1.4.2          11\n"
                                   "  1.3.0          1\n"
                                   "\nfee tables by effective date\n"
                                   "  in effect                        2026.1           9\n"
                                   "  from 2027-01-15 16:00:00 UTC     2026.2           4\n");
    cap_close(&c);

    cap_open(&c);
    ck_assert_int_eq(pfc_render_summary(c.f, NOW, NULL, empty, &err), 0);
    ck_assert_ptr_nonnull(strstr(cap_text(&c), "\nopen alerts by kind\n  none\n"));
    ck_assert_ptr_nonnull(strstr(cap_text(&c), "\nfee tables by effective date\n  none\n"));
    cap_close(&c);

    cap_open(&c);
    ck_assert_int_eq(pfc_render_summary(c.f, NOW, NULL, bad, &err), PF_ESCHEMA);
    cap_close(&c);
    json_decref(j);
    json_decref(empty);
    json_decref(bad);
}
END_TEST

START_TEST(test_alerts)
{
    json_t *j = load("{\"alerts\":[{\"serial\":\"PF000002\",\"kind\":\"tamper\","
                     "\"opened_ms\":1799999000000,\"detail\":\"tamper switch tripped\"},"
                     "{\"serial\":\"PF10\",\"kind\":\"silent\",\"opened_ms\":1799913600000,"
                     "\"detail\":null},{\"serial\":\"PF11\",\"kind\":\"unregistered\","
                     "\"opened_ms\":1799999999000,\"detail\":\"\\u001b]0;pwned\\u0007\"}]}");
    json_t *none = load("{\"alerts\":[]}");
    struct pf_error err = {0};
    struct capture c;

    cap_open(&c);
    ck_assert_int_eq(pfc_render_alerts(c.f, NOW, NULL, j, &err), 0);
    ck_assert_str_eq(cap_text(&c), "SERIAL    KIND          OPENED   DETAIL\n"
                                   "PF000002  tamper        16m ago  tamper switch tripped\n"
                                   "PF10      silent        1d ago   -\n"
                                   "PF11      unregistered  1s ago   \\x1b]0;pwned\\x07\n");
    assert_clean(cap_text(&c));
    cap_close(&c);

    cap_open(&c);
    ck_assert_int_eq(pfc_render_alerts(c.f, NOW, NULL, none, &err), 0);
    ck_assert_str_eq(cap_text(&c), "no open alerts\n");
    cap_close(&c);
    json_decref(j);
    json_decref(none);
}
END_TEST

/* posfleetd's "status" is the registration state; the column shows the connection. */
START_TEST(test_devices_status_derived)
{
    json_t *j = load("{\"devices\":["
                     "{\"serial\":\"A\",\"status\":\"registered\",\"online\":true,"
                     "\"last_seen_ms\":1799999999000},"
                     "{\"serial\":\"B\",\"status\":\"registered\",\"online\":false,"
                     "\"last_seen_ms\":1799999000000},"
                     "{\"serial\":\"C\",\"status\":\"registered\",\"online\":false,"
                     "\"last_seen_ms\":null},"
                     "{\"serial\":\"D\",\"status\":\"revoked\",\"online\":false,"
                     "\"last_seen_ms\":1799000000000}],\"next\":null}");
    struct pf_error err = {0};
    struct capture c;
    const char *out;

    cap_open(&c);
    ck_assert_int_eq(pfc_render_devices(c.f, NOW, NULL, j, &err), 0);
    out = cap_text(&c);
    ck_assert_ptr_nonnull(strstr(out, "\nA       -      -   -     -    online      1s ago"));
    ck_assert_ptr_nonnull(strstr(out, "\nB       -      -   -     -    offline    16m ago"));
    ck_assert_ptr_nonnull(strstr(out, "\nC       -      -   -     -    never        never"));
    ck_assert_ptr_nonnull(strstr(out, "\nD       -      -   -     -    revoked    11d ago"));
    cap_close(&c);
    json_decref(j);
}
END_TEST

/* Zero counts are left out; long labels widen their section instead of breaking it. */
START_TEST(test_summary_zero_and_long_labels)
{
    json_t *j = load("{\"total\":1,\"online\":1,\"offline\":0,\"never_seen\":0,"
                     "\"revoked\":0,\"alerts\":{\"tamper\":0,\"battery_critical\":1,"
                     "\"paper_out\":0},\"models\":{\"A920\":1},\"firmware\":{}}");
    json_t *zero = load("{\"total\":1,\"alerts\":{\"tamper\":0}}");
    struct pf_error err = {0};
    struct capture c;

    cap_open(&c);
    ck_assert_int_eq(pfc_render_summary(c.f, NOW, NULL, j, &err), 0);
    ck_assert_ptr_nonnull(strstr(cap_text(&c), "\nopen alerts by kind\n"
                                               "  battery_critical 1\n"
                                               "\nmodels\n"
                                               "  A920           1\n"
                                               "\nfirmware\n"
                                               "  none\n"));
    /* The terminal counts themselves are shown even when zero. */
    ck_assert_ptr_nonnull(strstr(cap_text(&c), "  offline        0\n"));
    cap_close(&c);

    cap_open(&c);
    ck_assert_int_eq(pfc_render_summary(c.f, NOW, NULL, zero, &err), 0);
    ck_assert_ptr_nonnull(strstr(cap_text(&c), "\nopen alerts by kind\n  none\n"));
    cap_close(&c);
    json_decref(j);
    json_decref(zero);
}
END_TEST

/* The shape posfleetd sends: flat counters, with fields the card shows elsewhere. */
START_TEST(test_device_card_counters)
{
    json_t *j = load("{\"serial\":\"PF1\",\"status\":\"registered\",\"online\":true,"
                     "\"last_seen_ms\":1799999999000,\"health\":[],\"alerts\":[],"
                     "\"counters\":{\"reconnects\":2,\"txn_amount_minor\":45000,"
                     "\"currency\":\"EUR\",\"storage_free_kb\":100000,"
                     "\"mem_free_kb\":20000,\"uptime_s\":93784,\"seq\":2,"
                     "\"ts_ms\":1799999999000}}");
    struct pf_error err = {0};
    struct capture c;
    const char *out;

    cap_open(&c);
    ck_assert_int_eq(pfc_render_device(c.f, NOW, NULL, j, &err), 0);
    out = cap_text(&c);
    ck_assert_ptr_nonnull(strstr(out, "terminal PF1  (online)\n"));
    ck_assert_ptr_nonnull(strstr(out, "  storage free   100000 kB\n"
                                      "  memory free    20000 kB\n"
                                      "  uptime         1d02h\n"));
    ck_assert_ptr_nonnull(strstr(out, "\ncounters\n"
                                      "  reconnects       2\n"
                                      "  txn_amount_minor 45000\n"
                                      "  currency         EUR\n"
                                      "\nopen alerts\n"));
    cap_close(&c);
    json_decref(j);
}
END_TEST

START_TEST(test_json_find)
{
    json_t *j = load("{\"a\":{\"b\":{\"c\":7}},\"n\":null,\"s\":\"x\"}");

    ck_assert_int_eq(json_integer_value(pfc_json_find(j, "a.b.c")), 7);
    ck_assert_int_eq(json_integer_value(pfc_json_find(j, "zz|a.b.c")), 7);
    ck_assert_str_eq(json_string_value(pfc_json_find(j, "n|s")), "x");
    ck_assert_ptr_null(pfc_json_find(j, "n"));
    ck_assert_ptr_null(pfc_json_find(j, "s.t"));
    ck_assert_ptr_null(pfc_json_find(j, "a.b.c.d"));
    ck_assert_ptr_null(pfc_json_find(NULL, "a"));
    json_decref(j);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli_render");
    TCase *tc = tcase_create("render");

    tcase_add_test(tc, test_reltime);
    tcase_add_test(tc, test_table_widths);
    tcase_add_test(tc, test_table_cuts_long_cells);
    tcase_add_test(tc, test_table_spec);
    tcase_add_test(tc, test_devices_table);
    tcase_add_test(tc, test_devices_empty_and_malformed);
    tcase_add_test(tc, test_device_card);
    tcase_add_test(tc, test_device_card_sparse);
    tcase_add_test(tc, test_summary);
    tcase_add_test(tc, test_alerts);
    tcase_add_test(tc, test_devices_status_derived);
    tcase_add_test(tc, test_summary_zero_and_long_labels);
    tcase_add_test(tc, test_device_card_counters);
    tcase_add_test(tc, test_json_find);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
