/*
 * test_static.c - the console's file answers (server/net/static.c) on a real
 * directory: the index at "/", types by extension, the security headers on
 * every answer, GET/HEAD only, no listing, no path outside the folders, and
 * /javascript/ only for the allowed packages.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "net/static.h"
#include "testutil.h"

static char root[256], js[512];
static struct pfs_static st;

static void put(const char *dir, const char *rel, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void sub(const char *dir, const char *rel)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    ck_assert_int_eq(mkdir(path, 0700), 0);
}

static void setup(void)
{
    pf_test_tmpdir(root, sizeof(root));
    snprintf(js, sizeof(js), "%s/javascript", root);
    sub(root, "console");
    sub(root, "console/js");
    sub(root, "console/.git");
    sub(root, "javascript");
    sub(root, "javascript/jquery");
    sub(root, "javascript/other");
    put(root, "console/index.html", "<!DOCTYPE html>");
    put(root, "console/js/app.js", "app()");
    put(root, "console/js/notes.txt", "notes");
    put(root, "console/.git/config.json", "{}");
    put(root, "secret.json", "{\"secret\":1}");
    put(root, "javascript/jquery/jquery.min.js", "jq()");
    put(root, "javascript/other/other.js", "other()");
    memset(&st, 0, sizeof(st));
    snprintf(st.dir, sizeof(st.dir), "%s/console", root);
    snprintf(st.js_dir, sizeof(st.js_dir), "%s", js);
}

static void teardown(void)
{
    pf_test_rmtree(root);
}

/* The status of method path; the body into *body (freed by the caller) when wanted. */
static int answer(const char *method, const char *path, struct pfs_http_resp *r)
{
    memset(r, 0, sizeof(*r));
    pfs_static_answer(&st, method, path, r);
    return r->status;
}

static const char *header(const struct pfs_http_resp *r, const char *name)
{
    for (const char *const *h = r->headers; h && h[0]; h += 2)
        if (strcmp(h[0], name) == 0)
            return h[1];
    return NULL;
}

static void has_security_headers(const struct pfs_http_resp *r)
{
    const char *csp = header(r, "Content-Security-Policy");

    ck_assert_ptr_nonnull(csp);
    ck_assert_ptr_nonnull(strstr(csp, "script-src 'self'"));
    ck_assert_ptr_nonnull(strstr(csp, "style-src 'self'"));
    ck_assert_ptr_nonnull(strstr(csp, "frame-ancestors 'none'"));
    ck_assert_ptr_null(strstr(csp, "unsafe"));
    ck_assert_str_eq(header(r, "X-Content-Type-Options"), "nosniff");
    ck_assert_str_eq(header(r, "Referrer-Policy"), "no-referrer");
}

START_TEST(index_and_types)
{
    struct pfs_http_resp r;

    ck_assert_int_eq(answer("GET", "/", &r), 200);
    ck_assert_str_eq(r.body, "<!DOCTYPE html>");
    ck_assert_str_eq(r.content_type, "text/html; charset=utf-8");
    has_security_headers(&r);
    free(r.body);
    ck_assert_int_eq(answer("HEAD", "/js/app.js", &r), 200);
    ck_assert_str_eq(r.content_type, "text/javascript; charset=utf-8");
    ck_assert_uint_eq(r.len, 5);
    free(r.body);
    ck_assert_int_eq(answer("GET", "/javascript/jquery/jquery.min.js", &r), 200);
    ck_assert_str_eq(r.body, "jq()");
    has_security_headers(&r);
    free(r.body);
}
END_TEST

START_TEST(refusals)
{
    static const char *const absent[] = {"/js/../../secret.json",
                                         "/js/../index.html",
                                         "/js/./app.js",
                                         "/js//app.js",
                                         "/js/",
                                         "/js",
                                         "/js/notes.txt",
                                         "/.git/config.json",
                                         "/js/.hidden.js",
                                         "/index.htm",
                                         "/js/app.js/",
                                         "/js/a\\b.js",
                                         "/javascript/other/other.js",
                                         "/javascript/jquery/../other/other.js",
                                         "/javascript/jquery",
                                         "/javascript/",
                                         "/javascript/jquery/",
                                         NULL};
    struct pfs_http_resp r;

    for (size_t i = 0; absent[i]; i++) {
        ck_assert_msg(answer("GET", absent[i], &r) == 404, "%s: %d", absent[i], r.status);
        has_security_headers(&r);
        ck_assert_ptr_null(strstr(r.body, "secret"));
        free(r.body);
    }
    ck_assert_int_eq(answer("POST", "/", &r), 405);
    ck_assert_str_eq(r.allow, "GET, HEAD");
    has_security_headers(&r);
    free(r.body);
    ck_assert_int_eq(answer("DELETE", "/js/app.js", &r), 405);
    free(r.body);
}
END_TEST

START_TEST(console_paths)
{
    ck_assert(pfs_static_is_console("/"));
    ck_assert(pfs_static_is_console("/js/app.js"));
    ck_assert(pfs_static_is_console("/i18n/en.json"));
    ck_assert(pfs_static_is_console("/javascript/jquery/jquery.min.js"));
    ck_assert(!pfs_static_is_console("/v1/devices"));
    ck_assert(!pfs_static_is_console("/api/v1/login"));
    ck_assert(!pfs_static_is_console("/metrics"));
    ck_assert(!pfs_static_is_console("/healthz"));
}
END_TEST

START_TEST(no_console_dir)
{
    struct pfs_http_resp r;

    st.dir[0] = '\0';
    ck_assert_int_eq(answer("GET", "/", &r), 404);
    free(r.body);
}
END_TEST

static Suite *static_suite(void)
{
    Suite *s = suite_create("static");
    TCase *tc = tcase_create("static");

    tcase_set_timeout(tc, 10);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, index_and_types);
    tcase_add_test(tc, refusals);
    tcase_add_test(tc, console_paths);
    tcase_add_test(tc, no_console_dir);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(static_suite());
}
