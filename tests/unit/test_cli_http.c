/*
 * test_cli_http.c - the real client over real HTTP.
 *
 * A tiny libmicrohttpd server runs in the test process on an ephemeral
 * loopback port and answers the API contract with canned data; it records
 * what the client sent (query, body, Authorization) so the tests assert both
 * directions. posfleet itself runs in-process through pfc_main with captured
 * output. "Server down" is a port that was just closed; "no answer" is a
 * listening socket that never accepts.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "cli.h"
#include "testutil.h"

#define OPS_TOKEN    "ops-5f2b8c1d9e"
#define VIEWER_TOKEN "viewer-77aa01"
#define NOW          1800000000000LL

struct fixture {
    struct MHD_Daemon *d;
    int port;
    char url[64];
    pthread_mutex_t lock;
    int requests;
    char method[16];
    char path[256];
    char query[512]; /* "k=v;" per argument, decoded */
    char auth[256];  /* "" when no Authorization header came */
    char body[4096];
};

static struct fixture fx;

struct upload {
    char buf[4096];
    size_t len;
};

static enum MHD_Result fx_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
    char *q = cls;
    size_t off = strlen(q);

    (void)kind;
    snprintf(q + off, sizeof(fx.query) - off, "%s=%s;", key, value ? value : "");
    return MHD_YES;
}

static enum MHD_Result fx_send(struct MHD_Connection *c, unsigned int status, const char *body,
                               const char *type)
{
    struct MHD_Response *r =
            MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    MHD_add_response_header(r, "Content-Type", type ? type : "application/json");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static const char page1[] =
        "{\"devices\":[{\"serial\":\"PF001\",\"model\":\"A920\",\"status\":\"online\","
        "\"online\":true,\"last_seen_ms\":1799999990000,\"fw_version\":\"1.4.2\","
        "\"fw_slot\":\"a\",\"fee_version\":\"2026.1\",\"battery_pct\":80,\"charging\":false,"
        "\"signal_dbm\":-70,\"net_type\":\"4g\",\"paper\":\"ok\",\"tamper\":false,\"alerts\":[]},"
        "{\"serial\":\"PF002\",\"model\":\"A920\",\"status\":\"offline\",\"online\":false,"
        "\"last_seen_ms\":1799990000000,\"fw_version\":\"1.4.2\",\"fw_slot\":\"b\","
        "\"paper\":\"out\",\"alerts\":[\"paper_out\"]}],\"next\":\"PF002\"}";
static const char page2[] = "{\"devices\":[{\"serial\":\"PF003\",\"model\":\"V400\","
                            "\"status\":\"never\",\"last_seen_ms\":null,\"alerts\":[]}],"
                            "\"next\":null}";
static const char device1[] =
        "{\"serial\":\"PF001\",\"model\":\"A920\",\"hw_rev\":\"B\",\"status\":\"online\","
        "\"online\":true,\"last_seen_ms\":1799999990000,\"fw_version\":\"1.4.2\","
        "\"fw_slot\":\"a\",\"battery_pct\":80,\"paper\":\"ok\",\"alerts\":[],"
        "\"selftest\":{\"power\":\"pass\"},\"counters\":{\"reconnects\":1},\"health\":[]}";

static enum MHD_Result fx_route(struct MHD_Connection *c, const char *method, const char *url,
                                const char *body, bool viewer)
{
    if (!strcmp(method, "GET") && !strcmp(url, "/v1/devices")) {
        const char *after = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");

        return fx_send(c, 200, after && !strcmp(after, "PF002") ? page2 : page1, NULL);
    }
    if (!strcmp(method, "GET") && !strcmp(url, "/v1/devices/PF001"))
        return fx_send(c, 200, device1, NULL);
    if (!strcmp(method, "GET") && !strcmp(url, "/v1/devices/PFHTML"))
        return fx_send(c, 200, "<html>proxy login</html>", "text/html");
    if (!strcmp(method, "GET") && !strcmp(url, "/v1/devices/PFFAIL"))
        return fx_send(c, 500, "{\"error\":\"IO\",\"message\":\"database is locked\"}", NULL);
    if (!strcmp(method, "GET") && !strncmp(url, "/v1/devices/", 12))
        return fx_send(c, 404, "{\"error\":\"UNKNOWN_SERIAL\",\"message\":\"no such terminal\"}",
                       NULL);
    if (!strcmp(method, "POST") && !strcmp(url, "/v1/devices")) {
        json_t *j = json_loads(body, 0, NULL);
        const char *serial = json_string_value(json_object_get(j, "serial"));
        const char *model = json_string_value(json_object_get(j, "model"));
        enum MHD_Result ret;
        char out[256];

        if (viewer)
            ret = fx_send(c, 403,
                          "{\"error\":\"PERM\",\"message\":\"role viewer may not register "
                          "terminals\"}",
                          NULL);
        else if (!serial || !model)
            ret = fx_send(c, 400, "{\"error\":\"PARSE\",\"message\":\"body: serial and model\"}",
                          NULL);
        else if (!strcmp(serial, "PF001"))
            ret = fx_send(c, 409,
                          "{\"error\":\"EXIST\",\"message\":\"serial PF001 is already "
                          "registered\"}",
                          NULL);
        else if (!strcmp(model, "BAD"))
            ret = fx_send(c, 400, "{\"error\":\"INVAL\",\"message\":\"model: unknown model BAD\"}",
                          NULL);
        else {
            snprintf(out, sizeof(out), "{\"serial\":\"%s\",\"model\":\"%s\",\"status\":\"never\"}",
                     serial, model);
            ret = fx_send(c, 201, out, NULL);
        }
        json_decref(j);
        return ret;
    }
    if (!strcmp(method, "POST") && !strcmp(url, "/v1/devices/PF001/revoke"))
        return fx_send(c, 200, "{\"serial\":\"PF001\",\"status\":\"revoked\"}", NULL);
    if (!strcmp(method, "GET") && !strcmp(url, "/v1/summary"))
        return fx_send(c, 200,
                       "{\"total\":3,\"online\":1,\"offline\":1,\"never_seen\":1,\"revoked\":0,"
                       "\"alerts\":{\"paper_out\":1},\"models\":{\"A920\":2,\"V400\":1},"
                       "\"firmware\":{\"1.4.2\":2}}",
                       NULL);
    if (!strcmp(method, "GET") && !strcmp(url, "/v1/alerts"))
        return fx_send(c, 200,
                       "{\"alerts\":[{\"serial\":\"PF002\",\"kind\":\"paper_out\","
                       "\"opened_ms\":1799999400000,\"detail\":\"paper out\"}]}",
                       NULL);
    return fx_send(c, 404, "{\"error\":\"NOENT\",\"message\":\"no route\"}", NULL);
}

static enum MHD_Result fx_handler(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct upload *up = *con_cls;
    const char *auth;
    bool viewer;

    (void)cls;
    (void)version;
    if (!up) {
        up = calloc(1, sizeof(*up));
        if (!up)
            return MHD_NO;
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;

        if (up->len + n >= sizeof(up->buf))
            n = sizeof(up->buf) - 1 - up->len;
        memcpy(up->buf + up->len, upload_data, n);
        up->len += n;
        *upload_data_size = 0;
        return MHD_YES;
    }
    auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    pthread_mutex_lock(&fx.lock);
    fx.requests++;
    snprintf(fx.method, sizeof(fx.method), "%s", method);
    snprintf(fx.path, sizeof(fx.path), "%s", url);
    snprintf(fx.auth, sizeof(fx.auth), "%s", auth ? auth : "");
    snprintf(fx.body, sizeof(fx.body), "%s", up->buf);
    fx.query[0] = '\0';
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, fx_arg, fx.query);
    pthread_mutex_unlock(&fx.lock);

    if (!auth || (strcmp(auth, "Bearer " OPS_TOKEN) && strcmp(auth, "Bearer " VIEWER_TOKEN)))
        return fx_send(c, 401, "{\"error\":\"AUTH\",\"message\":\"unknown token\"}", NULL);
    viewer = !strcmp(auth, "Bearer " VIEWER_TOKEN);
    return fx_route(c, method, url, up->buf, viewer);
}

static void fx_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static void fx_start(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    const union MHD_DaemonInfo *info;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    memset(&fx, 0, sizeof(fx));
    pthread_mutex_init(&fx.lock, NULL);
    fx.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            fx_handler, NULL, MHD_OPTION_SOCK_ADDR, &sin,
                            MHD_OPTION_NOTIFY_COMPLETED, fx_completed, NULL, MHD_OPTION_END);
    ck_assert_ptr_nonnull(fx.d);
    info = MHD_get_daemon_info(fx.d, MHD_DAEMON_INFO_BIND_PORT);
    ck_assert_ptr_nonnull(info);
    fx.port = info->port;
    ck_assert_int_gt(fx.port, 0);
    snprintf(fx.url, sizeof(fx.url), "http://127.0.0.1:%d", fx.port);
    ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), 0);
    setenv("POSFLEET_URL", fx.url, 1);
    setenv("POSFLEET_TOKEN", OPS_TOKEN, 1);
    unsetenv("POSFLEET_TOKEN_FILE");
}

static void fx_stop(void)
{
    MHD_stop_daemon(fx.d);
    pthread_mutex_destroy(&fx.lock);
    curl_global_cleanup();
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

static void run_cli(struct run *r, const char *const *words)
{
    static int64_t now = NOW;
    struct pf_clock clock = {fixed_ms, fixed_ms, &now};
    char *argv[20];
    int argc = 0;
    FILE *out, *err;

    memset(r, 0, sizeof(*r));
    argv[argc++] = (char *)"posfleet";
    for (; words[argc - 1] && argc < 19; argc++)
        argv[argc] = (char *)words[argc - 1];
    argv[argc] = NULL;
    out = open_memstream(&r->out, &r->outlen);
    err = open_memstream(&r->err, &r->errlen);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(err);
    struct pfc_io io = {.out = out, .err = err, .clock = &clock};
    r->status = pfc_main(argc, argv, &io);
    fclose(out);
    fclose(err);
    /* Whatever happened, no token is ever printed. */
    ck_assert_ptr_null(strstr(r->out, OPS_TOKEN));
    ck_assert_ptr_null(strstr(r->err, OPS_TOKEN));
    ck_assert_ptr_null(strstr(r->out, VIEWER_TOKEN));
    ck_assert_ptr_null(strstr(r->err, VIEWER_TOKEN));
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

/* Snapshot of what the server saw, taken under its lock. */
static struct fixture seen(void)
{
    struct fixture copy;

    pthread_mutex_lock(&fx.lock);
    copy = fx;
    pthread_mutex_unlock(&fx.lock);
    return copy;
}

START_TEST(test_devices_200_one_page)
{
    const char *const argv[] = {"devices", "--status", "online", "--model",
                                "A920",    "--limit",  "2",      NULL};
    struct fixture s;
    struct run r;

    run_cli(&r, argv);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "SERIAL  MODEL  FW     SLOT  FEE     STATUS   LAST-SEEN"));
    ck_assert_ptr_nonnull(
            strstr(r.out, "\nPF001   A920   1.4.2  a     2026.1  online     10s ago"));
    ck_assert_ptr_nonnull(strstr(r.out, "\nPF002   A920"));
    ck_assert_ptr_null(strstr(r.out, "PF003"));
    ck_assert_str_eq(r.err, "posfleet: more terminals after PF002: use --all for every page\n");
    s = seen();
    ck_assert_int_eq(s.requests, 1);
    ck_assert_str_eq(s.method, "GET");
    ck_assert_str_eq(s.path, "/v1/devices");
    ck_assert_str_eq(s.query, "status=online;model=A920;limit=2;");
    ck_assert_str_eq(s.auth, "Bearer " OPS_TOKEN);
    run_free(&r);
}
END_TEST

START_TEST(test_devices_all_json)
{
    const char *const argv[] = {"--json", "devices", "--all", NULL};
    json_t *j;
    struct run r;

    run_cli(&r, argv);
    ck_assert_int_eq(r.status, 0);
    ck_assert_uint_eq(r.errlen, 0);
    j = json_loads(r.out, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "devices")), 3);
    ck_assert(json_is_null(json_object_get(j, "next")));
    ck_assert_str_eq(json_string_value(json_object_get(
                             json_array_get(json_object_get(j, "devices"), 2), "serial")),
                     "PF003");
    /* Pretty-printed for people reading scripts' output. */
    ck_assert_ptr_nonnull(strstr(r.out, "{\n  \"devices\": [\n"));
    ck_assert_int_eq(seen().requests, 2);
    ck_assert_str_eq(seen().query, "after=PF002;");
    json_decref(j);
    run_free(&r);
}
END_TEST

START_TEST(test_device_200_and_404)
{
    const char *const ok[] = {"device", "PF001", "--health", "3", NULL};
    const char *const missing[] = {"device", "PF404", NULL};
    const char *const missing_json[] = {"device", "PF404", "--json", NULL};
    struct run r;

    run_cli(&r, ok);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "terminal PF001  (online)\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "\nself-test\n  power          pass\n"));
    ck_assert_str_eq(seen().query, "health=3;");
    run_free(&r);

    run_cli(&r, missing);
    ck_assert_int_eq(r.status, PFC_EXIT_API);
    ck_assert_uint_eq(r.outlen, 0);
    ck_assert_str_eq(r.err, "posfleet: unknown serial PF404\n");
    ck_assert_str_eq(seen().path, "/v1/devices/PF404");
    run_free(&r);

    /* --json changes only successful output; errors stay one line on stderr. */
    run_cli(&r, missing_json);
    ck_assert_int_eq(r.status, PFC_EXIT_API);
    ck_assert_uint_eq(r.outlen, 0);
    ck_assert_str_eq(r.err, "posfleet: unknown serial PF404\n");
    run_free(&r);
}
END_TEST

START_TEST(test_401_bad_token_and_no_token)
{
    const char *const argv[] = {"summary", NULL};
    struct run r;

    setenv("POSFLEET_TOKEN", "wrong-token", 1);
    run_cli(&r, argv);
    ck_assert_int_eq(r.status, PFC_EXIT_AUTH);
    ck_assert_uint_eq(r.outlen, 0);
    ck_assert_str_eq(r.err, "posfleet: authentication failed: check the token\n");
    ck_assert_ptr_null(strstr(r.err, "wrong-token"));
    ck_assert_str_eq(seen().auth, "Bearer wrong-token");
    run_free(&r);

    unsetenv("POSFLEET_TOKEN");
    run_cli(&r, argv);
    ck_assert_int_eq(r.status, PFC_EXIT_AUTH);
    ck_assert_str_eq(r.err, "posfleet: authentication failed: no token given (use --token-file "
                            "or POSFLEET_TOKEN)\n");
    ck_assert_str_eq(seen().auth, "");
    run_free(&r);
}
END_TEST

START_TEST(test_token_file_wins_over_env)
{
    char dir[256], path[300];
    const char *const argv[] = {"summary", "--token-file", path, NULL};
    struct run r;
    FILE *f;

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/token", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(OPS_TOKEN "\n", f);
    fclose(f);
    setenv("POSFLEET_TOKEN", "env-token-not-used", 1);
    run_cli(&r, argv);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(seen().auth, "Bearer " OPS_TOKEN);
    ck_assert_ptr_nonnull(strstr(r.out, "terminals\n  total          3\n"));
    run_free(&r);

    /* POSFLEET_TOKEN_FILE is the last resort. */
    unsetenv("POSFLEET_TOKEN");
    setenv("POSFLEET_TOKEN_FILE", path, 1);
    {
        const char *const plain[] = {"alerts", NULL};

        run_cli(&r, plain);
        ck_assert_int_eq(r.status, 0);
        ck_assert_str_eq(seen().auth, "Bearer " OPS_TOKEN);
        ck_assert_str_eq(r.out, "SERIAL  KIND       OPENED   DETAIL\n"
                                "PF002   paper_out  10m ago  paper out\n");
        run_free(&r);
    }
    pf_test_rmtree(dir);
}
END_TEST

START_TEST(test_403_viewer_cannot_register)
{
    const char *const argv[] = {"device", "add", "PF009", "--model", "A920", NULL};
    struct run r;

    setenv("POSFLEET_TOKEN", VIEWER_TOKEN, 1);
    run_cli(&r, argv);
    ck_assert_int_eq(r.status, PFC_EXIT_FORBIDDEN);
    ck_assert_uint_eq(r.outlen, 0);
    ck_assert_str_eq(r.err, "posfleet: permission denied: role viewer may not register "
                            "terminals\n");
    run_free(&r);
}
END_TEST

START_TEST(test_device_add_201_409_400)
{
    const char *const ok[] = {"device", "add", "PF009", "--model", "A920", "--hw-rev", "B", NULL};
    const char *const dup[] = {"device", "add", "PF001", "--model", "A920", NULL};
    const char *const bad[] = {"device", "add", "PF010", "--model", "BAD", NULL};
    json_t *body;
    struct run r;
    char *text;

    run_cli(&r, ok);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "registered PF009 (model A920)\n");
    ck_assert_str_eq(seen().method, "POST");
    ck_assert_str_eq(seen().path, "/v1/devices");
    body = json_loads(seen().body, 0, NULL);
    ck_assert_ptr_nonnull(body);
    text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(text, "{\"hw_rev\":\"B\",\"model\":\"A920\",\"serial\":\"PF009\"}");
    free(text);
    json_decref(body);
    run_free(&r);

    run_cli(&r, dup);
    ck_assert_int_eq(r.status, PFC_EXIT_API);
    ck_assert_uint_eq(r.outlen, 0);
    ck_assert_str_eq(r.err, "posfleet: serial PF001 is already registered\n");
    run_free(&r);

    run_cli(&r, bad);
    ck_assert_int_eq(r.status, PFC_EXIT_API);
    ck_assert_str_eq(r.err, "posfleet: model: unknown model BAD\n");
    run_free(&r);
}
END_TEST

START_TEST(test_revoke_200)
{
    const char *const argv[] = {"device", "revoke", "PF001", NULL};
    struct run r;

    run_cli(&r, argv);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "revoked PF001: its messages are dropped and nothing is sent to it\n");
    ck_assert_str_eq(seen().method, "POST");
    ck_assert_str_eq(seen().path, "/v1/devices/PF001/revoke");
    ck_assert_str_eq(seen().body, "");
    run_free(&r);
}
END_TEST

START_TEST(test_bad_answers)
{
    const char *const html[] = {"device", "PFHTML", NULL};
    const char *const fail[] = {"device", "PFFAIL", NULL};
    struct run r;
    char want[256];

    run_cli(&r, html);
    ck_assert_int_eq(r.status, PFC_EXIT_API);
    ck_assert_uint_eq(r.outlen, 0);
    snprintf(want, sizeof(want), "posfleet: unexpected answer from posfleetd at %s: not JSON",
             fx.url);
    ck_assert_msg(!strncmp(r.err, want, strlen(want)), "%s", r.err);
    run_free(&r);

    run_cli(&r, fail);
    ck_assert_int_eq(r.status, PFC_EXIT_API);
    ck_assert_str_eq(r.err, "posfleet: posfleetd failed (HTTP 500): database is locked\n");
    run_free(&r);
}
END_TEST

/* A loopback port with nothing listening: bind, read the port, close. */
static int closed_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    port = ntohs(sin.sin_port);
    close(fd);
    return port;
}

START_TEST(test_server_down)
{
    char url[64], want[160];
    const char *const argv[] = {"devices", "--server", url, NULL};
    struct run r;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    run_cli(&r, argv);
    ck_assert_int_eq(r.status, PFC_EXIT_UNREACHABLE);
    ck_assert_uint_eq(r.outlen, 0);
    snprintf(want, sizeof(want), "posfleet: cannot reach posfleetd at %s: connection refused\n",
             url);
    ck_assert_str_eq(r.err, want);
    run_free(&r);
}
END_TEST

START_TEST(test_no_answer_times_out)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof(sin);
    char url[64], want[160];
    const char *const argv[] = {"summary", "--timeout", "1", NULL};
    struct run r;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    /* The kernel completes the handshake from the backlog; nobody ever answers. */
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sin.sin_port));
    setenv("POSFLEET_URL", url, 1);
    run_cli(&r, argv);
    ck_assert_int_eq(r.status, PFC_EXIT_UNREACHABLE);
    snprintf(want, sizeof(want), "posfleet: posfleetd at %s did not answer within 1000 ms\n", url);
    ck_assert_str_eq(r.err, want);
    run_free(&r);
    close(fd);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli_http");
    TCase *tc = tcase_create("http");

    tcase_add_checked_fixture(tc, fx_start, fx_stop);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_devices_200_one_page);
    tcase_add_test(tc, test_devices_all_json);
    tcase_add_test(tc, test_device_200_and_404);
    tcase_add_test(tc, test_401_bad_token_and_no_token);
    tcase_add_test(tc, test_token_file_wins_over_env);
    tcase_add_test(tc, test_403_viewer_cannot_register);
    tcase_add_test(tc, test_device_add_201_409_400);
    tcase_add_test(tc, test_revoke_200);
    tcase_add_test(tc, test_bad_answers);
    tcase_add_test(tc, test_server_down);
    tcase_add_test(tc, test_no_answer_times_out);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
