/*
 * test_server_observe.c - posfleetd's log lines (stamped, or prefixed for
 * journald when stderr is the journal's stream) and the HTTP request metrics.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "base/log.h"
#include "base/metrics.h"

START_TEST(line_stamped)
{
    char buf[256];
    size_t n = pfs_log_format(buf, sizeof(buf), PFS_LOG_WARN, false, INT64_C(1796660820123),
                              "ingest: late");

    ck_assert_str_eq(buf, "2026-12-07T16:27:00.123Z posfleetd: warn: ingest: late\n");
    ck_assert_uint_eq(n, strlen(buf));
    pfs_log_format(buf, sizeof(buf), PFS_LOG_DEBUG, false, INT64_C(1796660820007), "x");
    ck_assert_str_eq(buf, "2026-12-07T16:27:00.007Z posfleetd: debug: x\n");
}
END_TEST

START_TEST(line_journal)
{
    char buf[256];

    pfs_log_format(buf, sizeof(buf), PFS_LOG_ERROR, true, 0, "store: gone");
    ck_assert_str_eq(buf, "<3>posfleetd: error: store: gone\n");
    pfs_log_format(buf, sizeof(buf), PFS_LOG_WARN, true, 0, "a");
    ck_assert_str_eq(buf, "<4>posfleetd: warn: a\n");
    pfs_log_format(buf, sizeof(buf), PFS_LOG_INFO, true, 0, "a");
    ck_assert_str_eq(buf, "<6>posfleetd: info: a\n");
    pfs_log_format(buf, sizeof(buf), PFS_LOG_DEBUG, true, 0, "a");
    ck_assert_str_eq(buf, "<7>posfleetd: debug: a\n");
}
END_TEST

START_TEST(line_truncated_keeps_newline)
{
    char buf[24];
    size_t n = pfs_log_format(buf, sizeof(buf), PFS_LOG_INFO, true, 0,
                              "a message far longer than the buffer");

    ck_assert_uint_eq(n, sizeof(buf) - 1);
    ck_assert_int_eq(buf[n - 1], '\n');
    ck_assert(strncmp(buf, "<6>posfleetd: info: a m", 20) == 0);
}
END_TEST

START_TEST(journal_stream_match)
{
    ck_assert(pfs_log_journal_match("8:1234", 8, 1234));
    ck_assert(!pfs_log_journal_match("8:1234", 8, 1235));
    ck_assert(!pfs_log_journal_match("9:1234", 8, 1234));
    ck_assert(!pfs_log_journal_match(NULL, 8, 1234));
    ck_assert(!pfs_log_journal_match("", 8, 1234));
    ck_assert(!pfs_log_journal_match("8", 8, 1234));
    ck_assert(!pfs_log_journal_match(":1234", 8, 1234));
    ck_assert(!pfs_log_journal_match("8:", 8, 1234));
    ck_assert(!pfs_log_journal_match("8:12x4", 8, 1234));
    ck_assert(!pfs_log_journal_match("-8:1234", 8, 1234));
}
END_TEST

/* Runs pfs_log with stderr sent to a file; journal: JOURNAL_STREAM names that file. */
static void log_to_file(bool journal, char *out, size_t size)
{
    char dir[256], path[300];
    struct stat st;
    struct pfs_log log = {PFS_LOG_INFO};
    FILE *f;
    size_t n;

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/stderr", dir);
    ck_assert_ptr_nonnull(freopen(path, "w", stderr));
    ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
    if (journal) {
        char v[64];

        snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino);
        setenv("JOURNAL_STREAM", v, 1);
    } else {
        /* systemd's variable inherited by a process whose stderr went elsewhere */
        setenv("JOURNAL_STREAM", "1:1", 1);
    }
    pfs_log_warn(&log, "mqtt: %s", "connection lost");
    pfs_log_debug(&log, "not shown at info");
    fflush(stderr);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    fclose(f);
    pf_test_rmtree(dir);
}

START_TEST(journald_stderr_gets_priorities)
{
    char got[512];

    log_to_file(true, got, sizeof(got));
    ck_assert_str_eq(got, "<4>posfleetd: warn: mqtt: connection lost\n");
}
END_TEST

START_TEST(other_stderr_gets_timestamps)
{
    char got[512];

    log_to_file(false, got, sizeof(got));
    ck_assert_uint_eq(strlen(got), 24 + strlen(" posfleetd: warn: mqtt: connection lost\n"));
    ck_assert_int_eq(got[10], 'T');
    ck_assert_int_eq(got[23], 'Z');
    ck_assert_str_eq(got + 24, " posfleetd: warn: mqtt: connection lost\n");
}
END_TEST

START_TEST(http_requests_by_route_and_code)
{
    struct pfs_metrics m;
    const char *methods[] = {"GET", "POST"};
    const char *patterns[] = {"/v1/summary", "/v1/devices/{serial}/bind"};
    struct pfs_mtext t = {0};

    pfs_metrics_init(&m);
    pfs_metrics_http(&m, 0, 200, 0.003);
    pfs_metrics_http(&m, 0, 200, 0.2);
    pfs_metrics_http(&m, 1, 409, 0.004);
    pfs_metrics_http(&m, 1, 418, 0.004);               /* not listed: "other" */
    pfs_metrics_http(&m, PFS_HTTP_ROUTES_MAX, 401, 0); /* refused on its headers */
    pfs_metrics_render_http(&m, methods, patterns, 2, &t);
    ck_assert(!t.failed);
    ck_assert_ptr_nonnull(strstr(
            t.p,
            "posfleet_http_requests_total{method=\"GET\",route=\"/v1/summary\",code=\"200\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(
            t.p,
            "posfleet_http_requests_total{method=\"GET\",route=\"/v1/summary\",code=\"404\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(t.p, "posfleet_http_requests_total{method=\"POST\",route=\"/v1/"
                                      "devices/{serial}/bind\",code=\"409\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(t.p, "posfleet_http_requests_total{method=\"POST\",route=\"/v1/"
                                      "devices/{serial}/bind\",code=\"other\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(
            t.p, "posfleet_http_requests_total{method=\"\",route=\"(refused)\",code=\"401\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(t.p, "posfleet_http_request_duration_seconds_count 5\n"));
    ck_assert_ptr_nonnull(
            strstr(t.p, "posfleet_http_request_duration_seconds_bucket{le=\"0.005\"} 4\n"));
    ck_assert_ptr_nonnull(
            strstr(t.p, "posfleet_http_request_duration_seconds_bucket{le=\"+Inf\"} 5\n"));
    ck_assert_ptr_nonnull(strstr(t.p, "# TYPE posfleet_http_requests_total counter\n"));
    free(t.p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("server_observe");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, line_stamped);
    tcase_add_test(tc, line_journal);
    tcase_add_test(tc, line_truncated_keeps_newline);
    tcase_add_test(tc, journal_stream_match);
    tcase_add_test(tc, journald_stderr_gets_priorities);
    tcase_add_test(tc, other_stderr_gets_timestamps);
    tcase_add_test(tc, http_requests_by_route_and_code);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
