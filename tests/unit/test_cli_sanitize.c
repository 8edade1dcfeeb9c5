/*
 * test_cli_sanitize.c - nothing a terminal sends reaches a person's screen raw.
 *
 * The sanitizer itself (safe_text.h) byte for byte, then every diagnostic
 * result type rendered with control and escape sequences in every string
 * field and as extra keys of every object: the output must hold no C0
 * control but its own newlines, no DEL, no C1, only valid UTF-8, and a
 * field must never start a line of its own. Chinese text passes unchanged.
 * The strings are set without jansson's UTF-8 check so that invalid bytes,
 * which a JSON decoder would refuse first, reach the renderers too.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apierr.h"
#include "diag.h"
#include "render.h"
#include "safe_text.h"
#include "table.h"
#include "testutil.h"

#define NOW 1800000000000LL /* 2027-01-15 08:00:00 UTC */

/*
 * Red text (CSI), a window title (OSC ... BEL), CSI as the C1 control in
 * UTF-8, backspace, carriage return, DEL, a line of its own, an invalid byte,
 * a bidi override, and Chinese that must survive.
 */
#define HOSTILE                                                                                    \
    "\x1b[31mred\x1b]0;pwned\x07"                                                                  \
    "\xc2\x9b"                                                                                     \
    "2J\bX\rY\x7f\nFAKE\tT\xff\xe2\x80\xae中文"

static const char *cap(int (*render)(FILE *, int64_t, const struct pfc_args *, json_t *,
                                     struct pf_error *),
                       json_t *resp, char **buf)
{
    struct pf_error err = {0};
    size_t len = 0;
    FILE *f = open_memstream(buf, &len);

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(render(f, NOW, NULL, resp, &err), 0);
    fclose(f);
    return *buf;
}

/* No byte < 0x20 but '\n', no DEL, no C1 (C2 80..9F), valid UTF-8, no line of a field's own. */
static void assert_safe(const char *what, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; p[i]; i++) {
        ck_assert_msg(p[i] >= 0x20 || p[i] == '\n', "%s: byte 0x%02x at %zu:\n%s", what, p[i], i,
                      s);
        ck_assert_msg(p[i] != 0x7f, "%s: DEL at %zu", what, i);
        ck_assert_msg(!(p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f),
                      "%s: C1 control at %zu", what, i);
        ck_assert_msg(p[i] != 0xff, "%s: invalid byte at %zu", what, i);
        ck_assert_msg(!(p[i] == 0xe2 && p[i + 1] == 0x80 && p[i + 2] == 0xae),
                      "%s: bidi override at %zu", what, i);
        if (p[i] == '\n')
            ck_assert_msg(strncmp(s + i + 1, "FAKE", 4) != 0, "%s: a field broke the line", what);
    }
}

/* Every string value becomes HOSTILE and every object gains a HOSTILE key (keep: left as is). */
static void poison(json_t *v, const char *const *keep)
{
    const char *k;
    json_t *e;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach(v, k, e)
        {
            bool kept = false;

            for (size_t j = 0; keep && keep[j]; j++)
                kept |= !strcmp(k, keep[j]);
            if (kept)
                continue;
            if (json_is_string(e))
                json_object_set_new(v, k, json_string_nocheck(HOSTILE));
            else
                poison(e, NULL);
        }
        json_object_set_new_nocheck(v, HOSTILE, json_string_nocheck(HOSTILE));
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e)
        {
            if (json_is_string(e))
                json_array_set_new(v, i, json_string_nocheck(HOSTILE));
            else
                poison(e, NULL);
        }
        json_array_append_new(v, json_string_nocheck(HOSTILE));
    }
}

/* One answer per result type of docs/protocol.md "Diagnostics", with every field it has. */
static const struct {
    const char *cmd, *answer;
} results[] = {
        {"selftest",
         "{\"components\":{\"power\":\"ok\",\"printer\":\"fail\"},\"passed\":false,"
         "\"battery_pct\":80,\"charging\":true,\"net_type\":\"wifi\",\"signal_dbm\":-60,"
         "\"temp_c\":30,\"storage_free_kb\":100,\"mem_free_kb\":100,\"paper\":\"ok\","
         "\"tamper\":\"none\",\"transaction_in_progress\":false}"},
        {"logs", "{\"lines\":[\"a\",\"b\"],\"kept\":2,\"capacity\":200,\"level\":\"info\"}"},
        {"net", "{\"targets\":[{\"target\":\"payment\",\"host\":\"pay.example\",\"port\":443,"
                "\"resolve_ms\":3,\"address\":\"127.0.0.1\",\"connect_ms\":4,\"ok\":false,"
                "\"error\":\"refused\"}],\"ok\":false,\"payment_configured\":true}"},
        {"config", "{\"config\":{\"mqtt.host\":\"127.0.0.1\",\"tls.key\":\"/k\"}}"},
        {"versions",
         "{\"agent\":\"1.0\",\"firmware\":\"2.0\",\"slot\":\"a\",\"slots\":{\"a\":\"2.0\","
         "\"b\":\"1.9\"},\"boot_history\":[{\"ts\":1799999000000,\"slot\":\"a\","
         "\"firmware\":\"2.0\",\"boot\":\"ok\"}]}"},
        {"loglevel",
         "{\"level\":\"debug\",\"previous\":\"info\",\"reverts_to\":\"info\",\"minutes\":15,"
         "\"until_ms\":1800000900000}"},
        {"reboot", "{\"rebooting\":true,\"in_ms\":300}"},
        {"archive",
         "{\"size\":100,\"digest\":\"00ff\",\"bound\":262144,\"entries\":[\"manifest.json\"],"
         "\"omitted\":[\"health/1.msg\"],\"truncated\":true,\"chunk_max\":4096}"},
        {"future_command", "{\"anything\":\"x\",\"nested\":{\"k\":\"v\"}}"},
};

static json_t *answer(const char *cmd, const char *status, const char *result)
{
    json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:I}", "id", "d1", "serial",
                          "S1", "actor", "bob", "command", cmd, "status", status, "created_ms",
                          (json_int_t)(NOW - 5000), "answered_ms", (json_int_t)(NOW - 4000), "late",
                          1, "repair_id", (json_int_t)7);

    ck_assert_ptr_nonnull(r);
    if (result)
        json_object_set_new(r, "result", json_loads(result, 0, NULL));
    json_object_set_new(r, "code", json_string("BUSY"));
    json_object_set_new(r, "message", json_string("m"));
    json_object_set_new(r, "archive",
                        json_pack("{s:s, s:I, s:I}", "state", "complete", "received",
                                  (json_int_t)100, "size", (json_int_t)100));
    return r;
}

START_TEST(test_safe_text_bytes)
{
    char out[128];

    /* Clean ASCII and printable UTF-8 are copied unchanged. */
    ck_assert_uint_eq(pfc_safe_text("plain text", out, sizeof(out)), 10);
    ck_assert_str_eq(out, "plain text");
    pfc_safe_text("终端 €5 café", out, sizeof(out));
    ck_assert_str_eq(out, "终端 €5 café");
    /* C0, DEL, C1 (CSI as C2 9B), bidi override, invalid bytes, overlong, surrogate. */
    pfc_safe_text("\x1b[31m\a\b\r\n\t\x7f", out, sizeof(out));
    ck_assert_str_eq(out, "\\x1b[31m\\x07\\x08\\r\\n\\t\\x7f");
    pfc_safe_text("\xc2\x9b"
                  "2J\xc2\x80\xc2\xa0\xe2\x80\xae",
                  out, sizeof(out));
    ck_assert_str_eq(out, "\\u009b2J\\u0080\xc2\xa0\\u202e");
    pfc_safe_text("\xff\xc0\xaf\xed\xa0\x80"
                  "a\xe4\xb8",
                  out, sizeof(out));
    ck_assert_str_eq(out, "\\xff\\xc0\\xaf\\xed\\xa0\\x80a\\xe4\\xb8");
    /* Sanitizing twice changes nothing. */
    pfc_safe_text("\\x1b[31m", out, sizeof(out));
    ck_assert_str_eq(out, "\\x1b[31m");
    pfc_safe_text(NULL, out, sizeof(out));
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_safe_text_cut)
{
    char out[6];

    /* Never half an escape, never half a character. */
    pfc_safe_text("ab\x1b", out, sizeof(out));
    ck_assert_str_eq(out, "ab");
    pfc_safe_text("abc中", out, sizeof(out));
    ck_assert_str_eq(out, "abc");
    pfc_safe_text("0123456789", out, sizeof(out));
    ck_assert_str_eq(out, "01234");
    /* Chinese characters take two columns each; a cut never splits one. */
    ck_assert_uint_eq(pfc_safe_width("中文ab"), 6);
    ck_assert_uint_eq(pfc_safe_prefix("中文ab", 3), 3);
    ck_assert_uint_eq(pfc_safe_prefix("中文ab", 5), 7);
    ck_assert_uint_eq(pfc_safe_width("café"), 4);
}
END_TEST

START_TEST(test_diag_every_result)
{
    static const char *const keep[] = {"command", "status", NULL};
    static const char *const statuses[] = {"ok", "refused", "failed"};
    const char *cmd = results[_i].cmd;

    for (size_t s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++) {
        json_t *r = answer(cmd, statuses[s], results[_i].answer);
        char *buf = NULL, what[64];

        poison(r, keep);
        snprintf(what, sizeof(what), "%s/%s", cmd, statuses[s]);
        assert_safe(what, cap(pfc_render_diag, r, &buf));
        ck_assert_msg(strstr(buf, "中文") != NULL, "%s: Chinese text lost:\n%s", what, buf);
        ck_assert_msg(strstr(buf, "\\x1b[31m") != NULL, "%s: escape not shown:\n%s", what, buf);
        free(buf);
        json_decref(r);
    }
}
END_TEST

START_TEST(test_diag_command_and_list)
{
    json_t *r = answer("x", "ok", "{\"k\":\"v\"}"), *list;
    char *buf = NULL;

    json_object_set_new(r, "command", json_string_nocheck(HOSTILE));
    assert_safe("command", cap(pfc_render_diag, r, &buf));
    free(buf);
    json_decref(r);

    list = json_pack("{s:[o, o]}", "diag", answer("logs", "ok", NULL),
                     answer("net", "failed", NULL));
    poison(list, NULL);
    buf = NULL;
    assert_safe("diag list", cap(pfc_render_diag_list, list, &buf));
    free(buf);
    json_decref(list);
}
END_TEST

/* A getter that hands the table its field raw, so only the table's own cleaning stands. */
static void raw_cell(json_t *row, const char *key, const struct pfc_cell_ctx *cx, char *buf,
                     size_t len)
{
    (void)cx;
    snprintf(buf, len, "%s", json_string_value(json_object_get(row, key)));
}

START_TEST(test_table_cells)
{
    static const struct pfc_col cols[] = {
            {"MODEL", 0, 'l', "model", raw_cell},
            {"NOTE", 0, 'r', "note", raw_cell},
            {"LAST", 0, 'l', "note", raw_cell},
            {NULL},
    };
    json_t *rows = json_pack("[{s:s, s:s}, {s:s, s:s}]", "model", "m", "note", "x", "model", "终端",
                             "note", "n");
    struct pf_error err = {0};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(rows);
    json_object_set_new(json_array_get(rows, 0), "model", json_string_nocheck(HOSTILE));
    json_object_set_new(json_array_get(rows, 1), "note", json_string_nocheck(HOSTILE));
    ck_assert_int_eq(pfc_table_render(f, "", cols, rows, NULL, NOW, &err), 0);
    fclose(f);
    assert_safe("table", buf);
    /* Printable UTF-8 reaches the cell unchanged. */
    ck_assert_msg(strstr(buf, "\n终端 ") != NULL, "%s", buf);
    free(buf);
    json_decref(rows);
}
END_TEST

START_TEST(test_device_card)
{
    json_t *dev = json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:{s:s, s:s}}", "serial", "S1",
                            "model", "m", "hw_rev", "r", "fw_version", "1", "alerts", "kind",
                            "tamper", "detail", "d", "birth", "model", "m", "fw_version", "1");
    char *buf = NULL;

    poison(dev, (const char *const[]){"serial", NULL});
    assert_safe("device", cap(pfc_render_device, dev, &buf));
    free(buf);
    json_decref(dev);
}
END_TEST

/* Display width is wcwidth(3) under C.UTF-8: combining marks take none, emoji and CJK two. */
START_TEST(test_safe_width_wcwidth)
{
    ck_assert_uint_eq(pfc_safe_width("幸运面馆"), 8);
    ck_assert_uint_eq(pfc_safe_width("e\xcc\x81"), 1);        /* e + U+0301 */
    ck_assert_uint_eq(pfc_safe_width("\xf0\x9f\x9a\x80"), 2); /* U+1F680 */
    ck_assert_uint_eq(pfc_safe_width("\xef\xbc\xa1"
                                     "B"),
                      3); /* fullwidth A */
    ck_assert_uint_eq(pfc_safe_width("a\xe2\x80\x8b"
                                     "b"),
                      2); /* zero-width space */
    /* A cut keeps a base character with its combining mark. */
    ck_assert_uint_eq(pfc_safe_prefix("e\xcc\x81x", 1), 3);
}
END_TEST

/* Rows of Chinese and Latin names line up: the next column starts at one display column. */
START_TEST(test_table_cjk_aligned)
{
    static const struct pfc_col cols[] = {
            {"NAME", 0, 'l', "name", NULL},
            {"CITY", 0, 'l', "city", NULL},
            {NULL},
    };
    json_t *rows = json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]", "name", "幸运面馆", "city",
                             "上海", "name", "Lucky Noodles", "city", "SH", "name",
                             "Cafe\xcc\x81 王", "city", "x");
    struct pf_error err = {0};
    char *buf = NULL, *line, *save = NULL;
    size_t len = 0, col = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(rows);
    ck_assert_int_eq(pfc_table_render(f, "", cols, rows, NULL, NOW, &err), 0);
    fclose(f);
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *c = strstr(line, "CITY");
        size_t at;

        if (!c)
            c = strstr(line, "上海") ? strstr(line, "上海") : strrchr(line, ' ') + 1;
        *(char *)c = '\0';
        at = pfc_safe_width(line);
        if (!col)
            col = at;
        ck_assert_msg(at == col, "column at %zu, expected %zu", at, col);
    }
    ck_assert_uint_eq(col, strlen("Lucky Noodles") + 2);
    free(buf);
    json_decref(rows);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli_sanitize");
    TCase *tc = tcase_create("sanitize");

    tcase_add_test(tc, test_safe_text_bytes);
    tcase_add_test(tc, test_safe_text_cut);
    tcase_add_loop_test(tc, test_diag_every_result, 0, (int)(sizeof(results) / sizeof(results[0])));
    tcase_add_test(tc, test_diag_command_and_list);
    tcase_add_test(tc, test_table_cells);
    tcase_add_test(tc, test_device_card);
    tcase_add_test(tc, test_safe_width_wcwidth);
    tcase_add_test(tc, test_table_cjk_aligned);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
