/*
 * test_cli_rollout.c - `posfleet rollout`: the definition JSON built from
 * create's flags (exact text), every bad value refused locally with its flag
 * named and no request made, the --definition file rules, the progress bar's
 * arithmetic, and the card, list and member table from canned answers (exact
 * text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "commands_rollout.h"
#include "testutil.h"

#define NOW      1800000000000LL /* 2027-01-15 08:00:00 UTC */
#define MAX_ARGS 40
#define BUNDLE   "abababababababababababababababababababababababababababababababab"

/* --- helpers --- */

static void parse(struct pfc_args *a, const char *const *words)
{
    struct pf_error err = {0};
    char *argv[MAX_ARGS + 2];
    int argc = 0;

    argv[argc++] = (char *)"posfleet";
    for (; words[argc - 1]; argc++) {
        ck_assert_int_lt(argc, MAX_ARGS);
        argv[argc] = (char *)words[argc - 1];
    }
    argv[argc] = NULL;
    ck_assert_msg(pfc_args_parse(argc, argv, pfc_commands, pfc_ncommands, a, &err) == 0, "%s",
                  err.msg);
}

/* The body create would send for words, or NULL with err filled. */
static char *definition(const char *const *words, int *rc, struct pf_error *err)
{
    struct pfc_args a;
    json_t *def = NULL;
    char *text;

    parse(&a, words);
    *rc = pfc_rollout_definition(&a, &def, err);
    if (*rc) {
        ck_assert_ptr_null(def);
        return NULL;
    }
    text = pfc_rollout_dump(def);
    json_decref(def);
    ck_assert_ptr_nonnull(text);
    return text;
}

struct run {
    int status;
    char *out, *err;
    size_t outlen, errlen;
};

static int64_t fixed_ms(void *ctx)
{
    return *(const int64_t *)ctx;
}

/* The whole program, pointed at a closed port: a request would exit 3. */
static void run_cli(struct run *r, const char *const *words)
{
    static int64_t now = NOW;
    struct pf_clock clock = {fixed_ms, fixed_ms, &now};
    char *argv[MAX_ARGS + 4];
    int argc = 0;
    FILE *out, *err;

    memset(r, 0, sizeof(*r));
    argv[argc++] = (char *)"posfleet";
    argv[argc++] = (char *)"--server";
    argv[argc++] = (char *)"http://127.0.0.1:1";
    for (int i = 0; words[i]; i++) {
        ck_assert_int_lt(argc, MAX_ARGS);
        argv[argc++] = (char *)words[i];
    }
    argv[argc] = NULL;
    out = open_memstream(&r->out, &r->outlen);
    err = open_memstream(&r->err, &r->errlen);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(err);
    struct pfc_io io = {.out = out, .err = err, .clock = &clock};
    r->status = pfc_main(argc, argv, &io);
    fclose(out);
    fclose(err);
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

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

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

/* --- the definition --- */

START_TEST(definition_from_every_flag)
{
    char dir[256], file[300], cohort[700];
    struct pf_error err = {0};
    char *text;
    int rc;

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(file, sizeof(file), "%s/serials.txt", dir);
    write_file(file, "# pilot shops\nPF1\n\n  PF-2  \r\nPF_3");
    snprintf(cohort, sizeof(cohort),
             "models=PX1, PX2; hw_revs=B;fw-versions=1.0.0;fee-versions=fee-7;merchants=M1,M2;"
             "mccs=5411;regions=EU-W;tags=pilot;serials=@%s",
             file);
    {
        const char *const w[] = {"rollout",
                                 "create",
                                 BUNDLE,
                                 "--name",
                                 "fw 2.1",
                                 "--cohort",
                                 cohort,
                                 "--stages",
                                 "20, 0.5%,10%,100%",
                                 "--soak",
                                 "30m",
                                 "--gate",
                                 "--max-failure-rate",
                                 "0.02",
                                 "--max-rollback-rate",
                                 "5%",
                                 "--max-unhealthy-rate",
                                 "0.1",
                                 "--min-sample",
                                 "20",
                                 "--window",
                                 "22:00-24:00",
                                 "--max-concurrent",
                                 "10",
                                 "--update-timeout",
                                 "2h",
                                 "--retry",
                                 "90",
                                 "--start-at",
                                 "2026-11-28T01:00:00Z",
                                 "--deadline",
                                 "2026-11-29T01:00:00Z",
                                 NULL};

        text = definition(w, &rc, &err);
    }
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_str_eq(
            text, "{\"bundle\":\"" BUNDLE "\",\"name\":\"fw 2.1\",\"cohort\":{\"models\":[\"PX1\","
                  "\"PX2\"],\"hw_revs\":[\"B\"],\"fw_versions\":[\"1.0.0\"],\"fee_versions\":"
                  "[\"fee-7\"],\"merchants\":[\"M1\",\"M2\"],\"mccs\":[\"5411\"],\"regions\":"
                  "[\"EU-W\"],\"tags\":[\"pilot\"],\"serials\":[\"PF1\",\"PF-2\",\"PF_3\"]},"
                  "\"stages\":[20,\"0.5%\",\"10%\",\"100%\"],\"soak_s\":1800,\"gate\":true,"
                  "\"criteria\":{\"max_failure_rate\":0.02,\"max_rollback_rate\":0.05,"
                  "\"max_unhealthy_rate\":0.1,\"min_sample\":20},\"window\":{\"start\":\"22:00\","
                  "\"end\":\"24:00\"},\"max_concurrent\":10,\"timeout_s\":7200,\"retry_s\":90,"
                  "\"start_at\":\"2026-11-28T01:00:00Z\",\"deadline\":\"2026-11-29T01:00:00Z\"}");
    free(text);
    pf_test_rmtree(dir);
}
END_TEST

START_TEST(definition_minimal_and_durations)
{
    struct pf_error err = {0};
    int64_t s = -1;
    char *text;
    int rc;

    {
        const char *const w[] = {"rollout", "create", "9F2C", "--stages", "100%", NULL};

        text = definition(w, &rc, &err);
    }
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_str_eq(text, "{\"bundle\":\"9F2C\",\"stages\":[\"100%\"]}");
    free(text);
    {
        const char *const w[] = {"rollout", "create", "9f2c",     "--stages",        "1%,100%",
                                 "--soak",  "0",      "--cohort", "serials=PF1,PF2", NULL};

        text = definition(w, &rc, &err);
    }
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_str_eq(text, "{\"bundle\":\"9f2c\",\"cohort\":{\"serials\":[\"PF1\",\"PF2\"]},"
                           "\"stages\":[\"1%\",\"100%\"],\"soak_s\":0}");
    free(text);

    ck_assert_int_eq(pfc_duration_parse("90", &s), 0);
    ck_assert_int_eq(s, 90);
    ck_assert_int_eq(pfc_duration_parse("90s", &s), 0);
    ck_assert_int_eq(s, 90);
    ck_assert_int_eq(pfc_duration_parse("30m", &s), 0);
    ck_assert_int_eq(s, 1800);
    ck_assert_int_eq(pfc_duration_parse("2h", &s), 0);
    ck_assert_int_eq(s, 7200);
    ck_assert_int_eq(pfc_duration_parse("1d", &s), 0);
    ck_assert_int_eq(s, 86400);
    s = -1;
    ck_assert_int_eq(pfc_duration_parse("", &s), PF_EINVAL);
    ck_assert_int_eq(pfc_duration_parse("m", &s), PF_EINVAL);
    ck_assert_int_eq(pfc_duration_parse("1.5h", &s), PF_EINVAL);
    ck_assert_int_eq(pfc_duration_parse("-5", &s), PF_EINVAL);
    ck_assert_int_eq(pfc_duration_parse("5ms", &s), PF_EINVAL);
    ck_assert_int_eq(pfc_duration_parse("2 h", &s), PF_EINVAL);
    ck_assert_int_eq(pfc_duration_parse("+5m", &s), PF_EINVAL);
    ck_assert_int_eq(pfc_duration_parse("0x10", &s), PF_EINVAL);
    ck_assert_int_eq(pfc_duration_parse("h5", &s), PF_EINVAL);
    ck_assert_int_eq(pfc_duration_parse("99999999999999999", &s), PF_EINVAL);
    ck_assert_int_eq(s, -1);
}
END_TEST

/* Each refused locally: exit 2 (usage, as cli.md says) with the flag named, and no request
 * (that would exit 3). */
struct bad {
    const char *argv[8];
    const char *msg;
};

static const struct bad bads[] = {
        {{"--stages", "10%,5%,100%"},
         "rollout create: --stages: stage 2: sizes are cumulative and must grow (5% after the "
         "one before)"},
        {{"--stages", "10%,20"},
         "rollout create: --stages: stage 2: sizes are cumulative and must grow (20 after the one "
         "before)"},
        {{"--stages", "10%,50%"}, "rollout create: --stages: the last stage must be 100%"},
        {{"--stages", "0%,100%"},
         "rollout create: --stages: stage 1: expected a percentage 0.01%..100% or a count like "
         "20, got '0%'"},
        {{"--stages", "10%,,100%"},
         "rollout create: --stages: stage 2: expected a percentage 0.01%..100% or a count like "
         "20, got ''"},
        {{"--stages", "0.125%,100%"},
         "rollout create: --stages: stage 1: expected a percentage 0.01%..100% or a count like "
         "20, got '0.125%'"},
        {{"--stages", "101%"},
         "rollout create: --stages: stage 1: expected a percentage 0.01%..100% or a count like "
         "20, got '101%'"},
        {{"--stages", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,100%"},
         "rollout create: --stages: at most 16 stages"},
        {{"--soak", "3x"},
         "rollout create: --soak: expected a duration (90, 90s, 30m, 2h, 1d), got '3x'"},
        {{"--soak", "31d"}, "rollout create: --soak: 31d is outside 0s..2592000s"},
        {{"--update-timeout", "9s"},
         "rollout create: --update-timeout: 9s is outside 10s..604800s"},
        {{"--retry", "5"}, "rollout create: --retry: 5 is outside 10s..86400s"},
        {{"--retry", "2d"}, "rollout create: --retry: 2d is outside 10s..86400s"},
        {{"--max-failure-rate", "1.5"},
         "rollout create: --max-failure-rate: 1.5 is not between 0 and 1 (0%..100%)"},
        {{"--max-rollback-rate", "abc"},
         "rollout create: --max-rollback-rate: expected a fraction 0..1 or a percentage, got "
         "'abc'"},
        {{"--max-unhealthy-rate", "-0.1"},
         "rollout create: --max-unhealthy-rate: expected a fraction 0..1 or a percentage, got "
         "'-0.1'"},
        {{"--max-unhealthy-rate", "nan"},
         "rollout create: --max-unhealthy-rate: expected a fraction 0..1 or a percentage, got "
         "'nan'"},
        {{"--window", "1:00-05:00"},
         "rollout create: --window: expected HH:MM-HH:MM, 00:00..23:59 (the end may be 24:00), "
         "got '1:00-05:00'"},
        {{"--window", "24:00-05:00"},
         "rollout create: --window: expected HH:MM-HH:MM, 00:00..23:59 (the end may be 24:00), "
         "got '24:00-05:00'"},
        {{"--window", "01:60-05:00"},
         "rollout create: --window: expected HH:MM-HH:MM, 00:00..23:59 (the end may be 24:00), "
         "got '01:60-05:00'"},
        {{"--start-at", "2026-11-28 01:00:00 UTC"},
         "rollout create: --start-at: expected an ISO 8601 time such as 2026-11-28T09:00+08:00, "
         "2026-11-28T01:00Z or 2026-11-28 09:00 (in the display zone), got '2026-11-28 01:00:00 "
         "UTC'"},
        {{"--deadline", "2026-02-30T01:00:00Z"},
         "rollout create: --deadline: expected an ISO 8601 time such as 2026-11-28T09:00+08:00, "
         "2026-11-28T01:00Z or 2026-11-28 09:00 (in the display zone), got "
         "'2026-02-30T01:00:00Z'"},
        /* Any offset: 09:00 in Shanghai is 01:00 UTC, the same instant as the start. */
        {{"--start-at", "2026-11-28T01:00:00Z", "--deadline", "2026-11-28T09:00+08:00"},
         "rollout create: --deadline: 2026-11-28T09:00+08:00 is not after --start-at "
         "2026-11-28T01:00:00Z"},
        {{"--start-at", "2026-11-28T01:00:00Z", "--deadline", "2026-11-28T01:00:00Z"},
         "rollout create: --deadline: 2026-11-28T01:00:00Z is not after --start-at "
         "2026-11-28T01:00:00Z"},
        {{"--name", "0123456789012345678901234567890123456789012345678901234567890123456789"},
         "rollout create: --name: 70 characters, at most 64"},
        {{"--cohort", "colours=red"},
         "rollout create: --cohort: expected FILTER=A,B with FILTER one of models, hw-revs, "
         "fw-versions, fee-versions, merchants, mccs, regions, tags, serials; got "
         "'colours=red'"},
        {{"--cohort", "models"},
         "rollout create: --cohort: expected FILTER=A,B with FILTER one of models, hw-revs, "
         "fw-versions, fee-versions, merchants, mccs, regions, tags, serials; got 'models'"},
        {{"--cohort", "models=A,,B"}, "rollout create: --cohort: models: empty value"},
        {{"--cohort", "models=A;models=B"},
         "rollout create: --cohort: models: given more than once"},
        {{"--cohort", "mccs=541"}, "rollout create: --cohort: mccs: '541' is not a 4-digit MCC"},
        {{"--cohort", "serials=PF1,bad serial"},
         "rollout create: --cohort: serials: 'bad serial' is not a serial (1 to 32 characters of "
         "A-Z a-z 0-9 _ -)"},
        {{"--cohort", ";"}, "rollout create: --cohort: no filter given"},
        {{"--cohort", "serials=@/nonexistent/serials.txt"},
         "rollout create: --cohort: serials: /nonexistent/serials.txt: not found"},
        {{"--gate"}, "rollout create: --stages is required (or --definition)"},
};

START_TEST(bad_flag_refused)
{
    const struct bad *b = &bads[_i];
    const char *words[16] = {"rollout", "create", BUNDLE};
    size_t n = 3;
    struct run r;
    char first[512];
    bool has_stages = false;

    for (size_t i = 0; b->argv[i]; i++) {
        has_stages |= !strcmp(b->argv[i], "--stages");
        words[n++] = b->argv[i];
    }
    if (!has_stages && strcmp(b->argv[0], "--gate")) {
        words[n++] = "--stages";
        words[n++] = "100%";
    }
    words[n] = NULL;
    run_cli(&r, words);
    ck_assert_int_eq(r.status, PFC_EXIT_USAGE);
    ck_assert_uint_eq(r.outlen, 0);
    snprintf(first, sizeof(first), "posfleet: %s\nTry 'posfleet rollout create --help'.\n", b->msg);
    ck_assert_str_eq(r.err, first);
    run_free(&r);
}
END_TEST

START_TEST(bad_bundle_and_serial_file)
{
    char dir[256], file[300], cohort[700], want[900];
    struct pf_error err = {0};
    int rc;

    {
        const char *const w[] = {"rollout", "create", "not-hex", "--stages", "100%", NULL};

        ck_assert_ptr_null(definition(w, &rc, &err));
        ck_assert_int_eq(rc, PF_EINVAL);
        ck_assert_str_eq(err.msg, "rollout create: BUNDLE: expected a bundle id (hex, 'posfleet "
                                  "bundles'), got 'not-hex'");
    }
    {
        const char *const w[] = {"rollout", "create", "--stages", "100%", NULL};

        ck_assert_ptr_null(definition(w, &rc, &err));
        ck_assert_int_eq(rc, PF_EINVAL);
        ck_assert_str_eq(err.msg, "rollout create: missing BUNDLE");
    }
    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(file, sizeof(file), "%s/serials.txt", dir);
    write_file(file, "PF1\nPF2\nPF 3\n");
    snprintf(cohort, sizeof(cohort), "serials=@%s", file);
    {
        const char *const w[] = {"rollout", "create",   BUNDLE, "--stages",
                                 "100%",    "--cohort", cohort, NULL};

        ck_assert_ptr_null(definition(w, &rc, &err));
        ck_assert_int_eq(rc, PF_EINVAL);
        snprintf(want, sizeof(want),
                 "rollout create: --cohort: serials: %s line 3: 'PF 3' is not a serial (1 to 32 "
                 "characters of A-Z a-z 0-9 _ -)",
                 file);
        ck_assert_str_eq(err.msg, want);
    }
    write_file(file, "# nothing\n\n");
    {
        const char *const w[] = {"rollout", "create",   BUNDLE, "--stages",
                                 "100%",    "--cohort", cohort, NULL};

        ck_assert_ptr_null(definition(w, &rc, &err));
        ck_assert_int_eq(rc, PF_EINVAL);
        snprintf(want, sizeof(want), "rollout create: --cohort: serials: %s lists no serial", file);
        ck_assert_str_eq(err.msg, want);
    }
    pf_test_rmtree(dir);
}
END_TEST

START_TEST(definition_file)
{
    char dir[256], file[300];
    struct pf_error err = {0};
    char *text;
    int rc;

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(file, sizeof(file), "%s/def.json", dir);
    write_file(file, "{\"stages\": [{\"size\": \"10%\", \"gate\": true}, \"100%\"], "
                     "\"soak_s\": 60}");
    {
        const char *const w[] = {"rollout", "create", BUNDLE, "--definition", file, NULL};

        text = definition(w, &rc, &err);
    }
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_str_eq(text, "{\"stages\":[{\"size\":\"10%\",\"gate\":true},\"100%\"],\"soak_s\":60,"
                           "\"bundle\":\"" BUNDLE "\"}");
    free(text);
    /* the file's bundle is used when BUNDLE is left out; another BUNDLE is refused */
    write_file(file, "{\"bundle\": \"9f2c\", \"stages\": [\"100%\"]}");
    {
        const char *const w[] = {"rollout", "create", "--definition", file, NULL};

        text = definition(w, &rc, &err);
    }
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_str_eq(text, "{\"bundle\":\"9f2c\",\"stages\":[\"100%\"]}");
    free(text);
    {
        const char *const w[] = {"rollout", "create", BUNDLE, "--definition", file, NULL};
        char want[600];

        ck_assert_ptr_null(definition(w, &rc, &err));
        ck_assert_int_eq(rc, PF_EINVAL);
        snprintf(want, sizeof(want),
                 "rollout create: --definition: %s names another bundle than BUNDLE " BUNDLE, file);
        ck_assert_str_eq(err.msg, want);
    }
    {
        const char *const w[] = {"rollout", "create", "--definition", file, "--gate", NULL};

        ck_assert_ptr_null(definition(w, &rc, &err));
        ck_assert_int_eq(rc, PF_EINVAL);
        ck_assert_str_eq(err.msg, "rollout create: --definition: cannot be combined with --gate");
    }
    write_file(file, "[1, 2]");
    {
        const char *const w[] = {"rollout", "create", BUNDLE, "--definition", file, NULL};
        char want[600];

        ck_assert_ptr_null(definition(w, &rc, &err));
        ck_assert_int_eq(rc, PF_EINVAL);
        snprintf(want, sizeof(want), "rollout create: --definition: %s: expected a JSON object",
                 file);
        ck_assert_str_eq(err.msg, want);
    }
    write_file(file, "{\"stages\": ");
    {
        const char *const w[] = {"rollout", "create", BUNDLE, "--definition", file, NULL};

        ck_assert_ptr_null(definition(w, &rc, &err));
        ck_assert_int_eq(rc, PF_EPARSE);
    }
    write_file(file, "{\"stages\": [\"100%\"]}");
    {
        const char *const w[] = {"rollout", "create", "--definition", file, NULL};

        ck_assert_ptr_null(definition(w, &rc, &err));
        ck_assert_int_eq(rc, PF_EINVAL);
        ck_assert_str_eq(err.msg, "rollout create: missing BUNDLE (or a \"bundle\" in the "
                                  "definition file)");
    }
    pf_test_rmtree(dir);
}
END_TEST

/* --- rendering --- */

START_TEST(bar_cells)
{
    static const char glyphs[] = "#xr>.-";
    char bar[PFC_RO_BAR_WIDTH + 1];

    /* exact shares */
    pfc_rollout_bar((const int64_t[]){7, 1, 2, 0, 0, 0}, glyphs, 6, 30, bar);
    ck_assert_str_eq(bar, "#####################xxxrrrrrr");
    /* halves: the two largest remainders go to the earlier segments */
    pfc_rollout_bar((const int64_t[]){10, 2, 2, 6, 20, 0}, glyphs, 6, 30, bar);
    ck_assert_str_eq(bar, "########xxr>>>>...............");
    /* one failure among a thousand still shows, taken from the widest segment */
    pfc_rollout_bar((const int64_t[]){1000, 1, 0, 0, 0, 0}, glyphs, 6, 30, bar);
    ck_assert_str_eq(bar, "#############################x");
    /* nothing yet: blanks */
    pfc_rollout_bar((const int64_t[]){0, 0, 0, 0, 0, 0}, glyphs, 6, 30, bar);
    ck_assert_str_eq(bar, "                              ");
    pfc_rollout_bar((const int64_t[]){0, 0, 0, 0, 3, 0}, glyphs, 6, 10, bar);
    ck_assert_str_eq(bar, "..........");
}
END_TEST

static const char rollout_json[] =
        "{\"id\":3,\"name\":\"fw 2.1\",\"state\":\"paused\",\"bundle\":\"9f2c\",\"kind\":"
        "\"firmware\",\"version\":\"2.1.0\",\"previous\":{\"2.0.0\":\"41ab\"},"
        "\"created_ms\":1799999700000,\"actor\":\"ops-alice\",\"start_at_ms\":0,"
        "\"deadline_ms\":0,\"definition\":{},\"members\":40,\"stage\":1,"
        "\"stages\":["
        "{\"index\":0,\"size\":\"25%\",\"target\":10,\"members\":10,\"soak_s\":60,\"gate\":false,"
        "\"opened_ms\":1,\"settled_ms\":2,\"counts\":{\"pending\":0,\"offered\":0,\"deferred\":0,"
        "\"downloading\":0,\"installing\":0,\"installed\":7,\"failed\":1,\"rolled_back\":2,"
        "\"timed_out\":0,\"skipped\":0,\"swapped\":0,\"revert_pending\":0,\"reverting\":0,"
        "\"reverted\":0,\"revert_failed\":0}},"
        "{\"index\":1,\"size\":\"100%\",\"target\":40,\"members\":30,\"soak_s\":60,\"gate\":false,"
        "\"opened_ms\":3,\"settled_ms\":0,\"counts\":{\"pending\":18,\"offered\":3,\"deferred\":2,"
        "\"downloading\":2,\"installing\":1,\"installed\":3,\"failed\":0,\"rolled_back\":0,"
        "\"timed_out\":1,\"skipped\":0,\"swapped\":0,\"revert_pending\":0,\"reverting\":0,"
        "\"reverted\":0,\"revert_failed\":0}}],"
        "\"totals\":{\"pending\":18,\"offered\":3,\"deferred\":2,\"downloading\":2,"
        "\"installing\":1,\"installed\":10,\"failed\":1,\"rolled_back\":2,\"timed_out\":1,"
        "\"skipped\":0,\"swapped\":0,\"revert_pending\":0,\"reverting\":0,\"reverted\":0,"
        "\"revert_failed\":0},"
        "\"pause\":{\"reason\":\"rollback_rate\",\"detail\":\"2 of 10 outcomes rolled back (20.0% "
        "> 5.0%)\",\"at_ms\":1799999880000,\"by\":\"posfleetd\"},"
        "\"waiting\":\"paused: rollback_rate\","
        "\"failures\":[{\"status\":\"rolled_back\",\"code\":\"selftest\",\"n\":2},"
        "{\"status\":\"failed\",\"code\":\"E_DISK\",\"n\":1},"
        "{\"status\":\"timed_out\",\"code\":\"TIMEOUT\",\"n\":1}],"
        "\"no_previous\":0}";

START_TEST(show_card)
{
    struct capture c;
    struct pf_error err = {0};
    json_t *j = load(rollout_json);

    cap_open(&c);
    ck_assert_int_eq(pfc_render_rollout(c.f, NOW, NULL, j, &err), 0);
    ck_assert_str_eq(
            cap_text(&c),
            "rollout   3  fw 2.1\n"
            "state     paused\n"
            "bundle    firmware 2.1.0  9f2c\n"
            "created   5m ago (2027-01-15 07:55:00 UTC) by ops-alice\n"
            "members   40, stage 2/2\n"
            "waiting   paused: rollback_rate\n"
            "paused    rollback_rate: 2 of 10 outcomes rolled back (20.0% > 5.0%) (by posfleetd, "
            "2m ago)\n"
            "counts    pending 18, offered 3, deferred 2, downloading 2, installing 1, installed "
            "10, "
            "failed 1, rolled_back 2, timed_out 1\n"
            "\n"
            "STAGE  SIZE  MEMBERS  PROGRESS                          PEND  OFFER  DL  INST  FAIL"
            "  RB  TOUT  ALRDY  DOUT  STATE\n"
            "1       25%       10  [#####################xxxrrrrrr]     0      0   0     7     1"
            "   2     0      0     0  settled\n"
            "2      100%       30  [###x>>>>>>....................]    20      3   3     3     0"
            "   0     1      0     0  open\n"
            "all       -       40  [########xxr>>>>...............]    20      3   3    10     1"
            "   2     1      0     0  -\n"
            "legend: # installed or already  x failed or timed out  r rolled back  > offered, "
            "downloading or installing\n"
            "        . pending or deferred  - skipped, swapped, deferred out or reverting\n"
            "\n"
            "failures:\n"
            "  rolled_back selftest  ############################## 2\n"
            "  failed E_DISK         ###############                1\n"
            "  timed_out TIMEOUT     ###############                1\n");
    cap_close(&c);
    json_decref(j);
}
END_TEST

START_TEST(show_sparse_and_bad)
{
    struct capture c;
    struct pf_error err = {0};
    json_t *j = load("{\"id\":4,\"state\":\"completed\",\"members\":2,\"stage\":0,"
                     "\"pause\":null,\"waiting\":\"\",\"failures\":[],"
                     "\"name\":\"\\u001b[2Jx\"}");

    cap_open(&c);
    ck_assert_int_eq(pfc_render_rollout(c.f, NOW, NULL, j, &err), 0);
    ck_assert_str_eq(cap_text(&c), "rollout   4  \\x1b[2Jx\n"
                                   "state     completed\n"
                                   "bundle    - -  -\n"
                                   "members   2, stage 1\n"
                                   "\n"
                                   "failures: none\n");
    cap_close(&c);
    json_decref(j);

    j = load("{\"name\":\"no id\"}");
    cap_open(&c);
    ck_assert_int_eq(pfc_render_rollout(c.f, NOW, NULL, j, &err), PF_ESCHEMA);
    ck_assert_uint_eq(strlen(cap_text(&c)), 0);
    cap_close(&c);
    json_decref(j);
}
END_TEST

START_TEST(list_table)
{
    struct capture c;
    struct pf_error err = {0};
    json_t *j =
            load("{\"rollouts\":[{\"id\":12,\"name\":\"fees q1\",\"state\":\"running\",\"kind\":"
                 "\"feetable\",\"version\":\"7\",\"members\":1500,\"stage\":0,\"stage_count\":3,"
                 "\"totals\":{\"installed\":15,\"failed\":0,\"rolled_back\":0,\"timed_out\":2},"
                 "\"waiting\":\"outside maintenance window: 1483 terminals\"},"
                 "{\"id\":3,\"name\":\"fw 2.1\",\"state\":\"paused\",\"kind\":\"firmware\","
                 "\"version\":\"2.1.0\",\"members\":40,\"stage\":1,\"stage_count\":2,"
                 "\"totals\":{\"installed\":10,\"failed\":1,\"rolled_back\":2,\"timed_out\":1},"
                 "\"waiting\":\"paused: rollback_rate\"}]}");

    cap_open(&c);
    ck_assert_int_eq(pfc_render_rollouts(c.f, NOW, NULL, j, &err), 0);
    ck_assert_str_eq(cap_text(&c),
                     "ID  NAME     STATE    KIND      VERSION  STAGE  MEMBERS  INSTALLED  FAILED  "
                     "ROLLED-BACK  TIMED-OUT  WAITING\n"
                     "12  fees q1  running  feetable  7        1/3       1500         15       0"
                     "            0          2  outside maintenance window: 1483 terminals\n"
                     " 3  fw 2.1   paused   firmware  2.1.0    2/2         40         10       1"
                     "            2          1  paused: rollback_rate\n");
    cap_close(&c);
    json_decref(j);

    j = load("{\"rollouts\":[]}");
    cap_open(&c);
    ck_assert_int_eq(pfc_render_rollouts(c.f, NOW, NULL, j, &err), 0);
    ck_assert_str_eq(cap_text(&c), "no rollouts\n");
    cap_close(&c);
    json_decref(j);

    j = load("{\"devices\":[]}");
    cap_open(&c);
    ck_assert_int_eq(pfc_render_rollouts(c.f, NOW, NULL, j, &err), PF_ESCHEMA);
    cap_close(&c);
    json_decref(j);
}
END_TEST

START_TEST(members_table)
{
    struct capture c;
    struct pf_error err = {0};
    json_t *j = load("{\"members\":[{\"serial\":\"PF1\",\"stage\":0,\"status\":\"installed\","
                     "\"code\":\"\",\"attempts\":1,\"since_ms\":1799999940000},"
                     "{\"serial\":\"PF2\",\"stage\":1,\"status\":\"rolled_back\",\"code\":"
                     "\"selftest\",\"attempts\":2,\"since_ms\":1799996400000}],\"next\":null}");

    cap_open(&c);
    ck_assert_int_eq(pfc_render_rollout_members(c.f, NOW, NULL, j, &err), 0);
    ck_assert_str_eq(cap_text(&c), "SERIAL  STAGE  STATUS       CODE      ATTEMPTS  SINCE\n"
                                   "PF1         1  installed    -                1  1m ago\n"
                                   "PF2         2  rolled_back  selftest         2  1h ago\n");
    cap_close(&c);
    json_decref(j);

    j = load("{\"rollouts\":[]}");
    cap_open(&c);
    ck_assert_int_eq(pfc_render_rollout_members(c.f, NOW, NULL, j, &err), PF_ESCHEMA);
    cap_close(&c);
    json_decref(j);
}
END_TEST

/* Other commands' usage errors: the parser's exit 2, nothing sent. */
START_TEST(usage_errors)
{
    static const struct {
        const char *argv[6];
        const char *msg;
    } cases[] = {
            {{"rollout", "show", "x"},
             "posfleet: rollout show: ID: expected a whole number from 1 to 9223372036854775807, "
             "got 'x'\n"},
            {{"rollout", "members", "3", "--stage", "17"},
             "posfleet: rollout members: --stage: expected a whole number from 1 to 16, got "
             "'17'\n"},
            {{"rollout", "members", "3", "--status", "done"},
             "posfleet: rollout members: --status: expected one of pending|offered|deferred|"
             "downloading|installing|installed|failed|rolled_back|timed_out|skipped|swapped|"
             "revert_pending|reverting|reverted|revert_failed|already|deferred_out, got 'done'\n"},
            {{"rollout", "pause"}, "posfleet: rollout pause: missing ID\n"},
            {{"rollout", "create", BUNDLE, "--min-sample", "0"},
             "posfleet: rollout create: --min-sample: expected a whole number from 1 to 1000000, "
             "got '0'\n"},
            {{"rollout", "create", BUNDLE, "--max-concurrent", "100001"},
             "posfleet: rollout create: --max-concurrent: expected a whole number from 1 to "
             "100000, got '100001'\n"},
            {{"rollout", "show", "3", "--interval", "0"},
             "posfleet: rollout show: --interval: expected a whole number from 1 to 3600, got "
             "'0'\n"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run r;
        const char *w[8] = {0};
        char *nl;

        for (size_t k = 0; cases[i].argv[k]; k++)
            w[k] = cases[i].argv[k];
        run_cli(&r, w);
        ck_assert_int_eq(r.status, PFC_EXIT_USAGE);
        ck_assert_uint_eq(r.outlen, 0);
        nl = strchr(r.err, '\n');
        ck_assert_ptr_nonnull(nl);
        nl[1] = '\0';
        ck_assert_str_eq(r.err, cases[i].msg);
        run_free(&r);
    }
    /* --interval without --watch is refused before any request (else: exit 3) */
    {
        const char *const w[] = {"rollout", "show", "3", "--interval", "5", NULL};
        struct run r;

        run_cli(&r, w);
        ck_assert_int_eq(r.status, PFC_EXIT_USAGE);
        ck_assert_str_eq(r.err, "posfleet: rollout show: --interval: only with --watch\n"
                                "Try 'posfleet rollout show --help'.\n");
        run_free(&r);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli_rollout");
    TCase *tc = tcase_create("definition");

    tcase_add_test(tc, definition_from_every_flag);
    tcase_add_test(tc, definition_minimal_and_durations);
    tcase_add_loop_test(tc, bad_flag_refused, 0, (int)(sizeof(bads) / sizeof(bads[0])));
    tcase_add_test(tc, bad_bundle_and_serial_file);
    tcase_add_test(tc, definition_file);
    suite_add_tcase(s, tc);
    tc = tcase_create("render");
    tcase_add_test(tc, bar_cells);
    tcase_add_test(tc, show_card);
    tcase_add_test(tc, show_sparse_and_bad);
    tcase_add_test(tc, list_table);
    tcase_add_test(tc, members_table);
    tcase_add_test(tc, usage_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
