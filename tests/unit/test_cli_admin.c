/*
 * test_cli_admin.c - posfleet admin backup against a canned server: FILE
 * appears only for an answer that is a SQLite database matching the digest
 * sent with it; a bad digest, a body that is not a database, a refusal or an
 * existing FILE leave no FILE (and no FILE.part), and an existing FILE is
 * never replaced.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "cli.h"
#include "pf/b2.h"
#include "pf/fileio.h"
#include "testutil.h"

#define ADMIN_TOKEN "admin-3c9e51aa07"

enum fx_mode { FX_GOOD, FX_BAD_DIGEST, FX_NOT_SQLITE, FX_FORBIDDEN };

static struct {
    struct MHD_Daemon *d;
    char url[64];
    enum fx_mode mode;
    char body[8192];
    char tmp[256];
} fx;

static enum MHD_Result fx_handler(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_len, void **con_cls)
{
    uint8_t d[PF_B2_LEN];
    char hex[PF_B2_HEX_LEN + 1];
    struct MHD_Response *r;
    enum MHD_Result ret;
    const char *forbidden = "{\"error\":\"PERM\",\"message\":\"role ops may not do this\"}";

    (void)cls;
    (void)version;
    (void)upload;
    if (!*con_cls) { /* headers first */
        *con_cls = (void *)1;
        return MHD_YES;
    }
    *upload_len = 0;
    if (strcmp(method, "POST") != 0 || strcmp(url, "/v1/admin/backup") != 0)
        return MHD_NO;
    if (fx.mode == FX_FORBIDDEN) {
        r = MHD_create_response_from_buffer(strlen(forbidden), (void *)forbidden,
                                            MHD_RESPMEM_MUST_COPY);
        ret = MHD_queue_response(c, 403, r);
        MHD_destroy_response(r);
        return ret;
    }
    pf_b2_buf(fx.body, sizeof(fx.body), d);
    if (fx.mode == FX_BAD_DIGEST)
        d[0] ^= 1;
    pf_b2_hex(d, hex);
    r = MHD_create_response_from_buffer(sizeof(fx.body), fx.body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/vnd.sqlite3");
    MHD_add_response_header(r, "X-Posfleet-Backup-Blake2b", hex);
    MHD_add_response_header(r, "X-Posfleet-Schema-Version", "12");
    ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static void fx_start(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    const union MHD_DaemonInfo *info;

    memset(&fx, 0, sizeof(fx));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fx.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, fx_handler, NULL,
                            MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_END);
    ck_assert_ptr_nonnull(fx.d);
    info = MHD_get_daemon_info(fx.d, MHD_DAEMON_INFO_BIND_PORT);
    ck_assert_ptr_nonnull(info);
    snprintf(fx.url, sizeof(fx.url), "http://127.0.0.1:%d", info->port);
    for (size_t i = 0; i < sizeof(fx.body); i++)
        fx.body[i] = (char)(i * 7);
    memcpy(fx.body, "SQLite format 3", 16);
    pf_test_tmpdir(fx.tmp, sizeof(fx.tmp));
    ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), 0);
    setenv("POSFLEET_URL", fx.url, 1);
    setenv("POSFLEET_TOKEN", ADMIN_TOKEN, 1);
    unsetenv("POSFLEET_TOKEN_FILE");
}

static void fx_stop(void)
{
    MHD_stop_daemon(fx.d);
    pf_test_rmtree(fx.tmp);
    curl_global_cleanup();
}

static int64_t fixed_ms(void *ctx)
{
    return *(const int64_t *)ctx;
}

/* posfleet admin backup FILE; returns the exit status, stderr in err. */
static int backup(const char *file, char *err, size_t errlen)
{
    static int64_t now = 1800000000000LL;
    struct pf_clock clock = {fixed_ms, fixed_ms, &now};
    char *argv[] = {(char *)"posfleet", (char *)"admin", (char *)"backup", (char *)file, NULL};
    char *o = NULL, *e = NULL;
    size_t ol = 0, el = 0;
    FILE *out = open_memstream(&o, &ol), *ef = open_memstream(&e, &el);
    struct pfc_io io = {.out = out, .err = ef, .clock = &clock};
    int status = pfc_main(4, argv, &io);

    fclose(out);
    fclose(ef);
    snprintf(err, errlen, "%s", e);
    ck_assert_ptr_null(strstr(o, ADMIN_TOKEN));
    ck_assert_ptr_null(strstr(e, ADMIN_TOKEN));
    free(o);
    free(e);
    return status;
}

static void path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", fx.tmp, name);
}

static bool exists(const char *p)
{
    return access(p, F_OK) == 0;
}

START_TEST(good_copy_is_named_private)
{
    char file[300], part[310], err[512];
    struct stat st;
    char *data = NULL;
    size_t len = 0;

    path(file, sizeof(file), "b.db");
    snprintf(part, sizeof(part), "%s.part", file);
    ck_assert_msg(backup(file, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(pf_file_read(file, 1 << 20, &data, &len), 0);
    ck_assert_uint_eq(len, sizeof(fx.body));
    ck_assert_int_eq(memcmp(data, fx.body, len), 0);
    free(data);
    ck_assert(!exists(part));
}
END_TEST

START_TEST(bad_answers_leave_no_file)
{
    static const enum fx_mode modes[] = {FX_BAD_DIGEST, FX_NOT_SQLITE, FX_FORBIDDEN};
    char file[300], part[310], err[512];

    path(file, sizeof(file), "bad.db");
    snprintf(part, sizeof(part), "%s.part", file);
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        fx.mode = modes[i];
        if (fx.mode == FX_NOT_SQLITE)
            memcpy(fx.body, "PK\3\4 not sqlite", 16);
        ck_assert_int_ne(backup(file, err, sizeof(err)), 0);
        ck_assert_msg(!exists(file) && !exists(part), "mode %d left a file", (int)fx.mode);
    }
    ck_assert_ptr_nonnull(strstr(err, "permission denied"));
}
END_TEST

START_TEST(existing_file_is_never_replaced)
{
    char file[300], err[512], *data = NULL;
    size_t len = 0;

    path(file, sizeof(file), "keep.db");
    ck_assert_int_eq(pf_file_write_atomic(file, "precious", 8, 0644), 0);
    ck_assert_int_ne(backup(file, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, "exists"));
    ck_assert_int_eq(pf_file_read(file, 1024, &data, &len), 0);
    ck_assert_uint_eq(len, 8);
    ck_assert_int_eq(memcmp(data, "precious", 8), 0);
    free(data);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli_admin");
    TCase *tc = tcase_create("backup");

    tcase_add_checked_fixture(tc, fx_start, fx_stop);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, good_copy_is_named_private);
    tcase_add_test(tc, bad_answers_leave_no_file);
    tcase_add_test(tc, existing_file_is_never_replaced);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
