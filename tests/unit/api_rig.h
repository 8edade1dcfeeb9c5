/*
 * api_rig.h - posfleetd in-process for the API suites (test_server_api.c,
 * test_api_lifecycle.c): a server on its own thread with an ephemeral HTTP
 * port, and plain-socket HTTP requests to it. Included once by a suite, after
 * it declares the rig's state: dir, cfg, srv, srv_thread and port.
 */
#ifndef PF_TEST_API_RIG_H
#define PF_TEST_API_RIG_H

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void *run_server(void *arg)
{
    return pfs_server_run(arg) == 0 ? NULL : arg;
}

static void server_start(bool mqtt)
{
    struct pfs_server_opts opts = {.signals = false, .mqtt = mqtt};
    struct pf_error err = {0};

    ck_assert_msg(pfs_server_new(&cfg, &opts, &srv, &err) == 0, "%s", err.msg);
    port = pfs_server_http_port(srv);
    ck_assert_int_gt(port, 0);
    ck_assert_int_eq(pthread_create(&srv_thread, NULL, run_server, srv), 0);
}

static void server_stop(void)
{
    pfs_server_stop(srv);
    ck_assert_int_eq(pthread_join(srv_thread, NULL), 0);
    pfs_server_free(srv);
    srv = NULL;
}

static void setup(void)
{
    char path[400], file[1024], a[100], s[100], v[100];

    pf_test_tmpdir(dir, sizeof(dir));
    ck_assert_int_eq(pfs_token_hash_hex("tok-ops", 7, a), 0);
    ck_assert_int_eq(pfs_token_hash_hex("tok-sup", 7, s), 0);
    ck_assert_int_eq(pfs_token_hash_hex("tok-view", 8, v), 0);
    snprintf(file, sizeof(file), "alice ops %s\nsam support %s\nvic viewer %s\n", a, s, v);
    snprintf(path, sizeof(path), "%s/tokens", dir);
    write_file(path, file);
    pfs_config_defaults(&cfg);
    snprintf(cfg.http_tokens, sizeof(cfg.http_tokens), "%s", path);
    snprintf(cfg.store_path, sizeof(cfg.store_path), "%s/posfleetd.db", dir);
    cfg.http_port = 0;
    cfg.http_tls = false; /* plain HTTP on loopback: the rig speaks HTTP */
    cfg.http_body_max = 4096;
    cfg.log_level = PFS_LOG_ERROR;
    cfg.mqtt_reconnect_min_ms = 50;
    cfg.mqtt_reconnect_max_ms = 400;
    cfg.store_batch_ms = 5;
}

static void teardown(void)
{
    if (srv)
        server_stop();
    pf_test_rmtree(dir);
}

/* --- a minimal HTTP/1.1 client over a loopback socket --- */

struct resp {
    int status;
    json_t *json;
    char head[4096]; /* status line and headers */
    char body[65536];
};

/* More request headers for the next http() calls ("Name: value\r\n"...), or NULL. */
static const char *rig_headers;

static void http(const char *method, const char *path, const char *token, const char *body,
                 struct resp *r)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char req[8192];
    size_t got = 0;
    char *raw = malloc(1 << 20);
    int fd, n;
    char *hdr_end;

    ck_assert_ptr_nonnull(raw);
    memset(r, 0, sizeof(*r));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    n = snprintf(req, sizeof(req),
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s%s"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                 method, path, token ? "Authorization: Bearer " : "", token ? token : "",
                 token ? "\r\n" : "", rig_headers ? rig_headers : "", body ? strlen(body) : 0);
    ck_assert_int_eq(write(fd, req, (size_t)n), n);
    if (body && *body) {
        size_t off = 0, len = strlen(body);

        while (off < len) {
            ssize_t w = write(fd, body + off, len - off);

            if (w < 0 && errno == EPIPE)
                break;
            ck_assert_int_gt(w, 0);
            off += (size_t)w;
        }
    }
    for (;;) {
        ssize_t rd = read(fd, raw + got, (1 << 20) - 1 - got);

        if (rd <= 0)
            break;
        got += (size_t)rd;
    }
    close(fd);
    raw[got] = '\0';
    ck_assert_msg(sscanf(raw, "HTTP/1.1 %d", &r->status) == 1, "no status line: %.80s", raw);
    hdr_end = strstr(raw, "\r\n\r\n");
    ck_assert_ptr_nonnull(hdr_end);
    snprintf(r->head, sizeof(r->head), "%.*s", (int)(hdr_end - raw), raw);
    snprintf(r->body, sizeof(r->body), "%s", hdr_end + 4);
    r->json = json_loads(r->body, 0, NULL);
    free(raw);
}

/*
 * Sends only the headers of a request whose body would be content_length
 * bytes, waiting for "100 Continue", and reads what posfleetd answers before
 * any of the body: the head of its first response (status line and headers)
 * into head. A request refused on its headers is answered at once; one that
 * was taken gets "100 Continue".
 */
static int http_head_only(const char *method, const char *path, const char *token,
                          size_t content_length, char *head, size_t size)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char req[1024];
    size_t got = 0;
    int fd, n, status = 0;

    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    n = snprintf(req, sizeof(req),
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s"
                 "Content-Type: application/octet-stream\r\nContent-Length: %zu\r\n"
                 "Expect: 100-continue\r\n\r\n",
                 method, path, token ? "Authorization: Bearer " : "", token ? token : "",
                 token ? "\r\n" : "", content_length);
    ck_assert_int_eq(write(fd, req, (size_t)n), n);
    /* Until the end of the first head: the server sends nothing more unasked. */
    while (got + 1 < size && !(got >= 4 && memcmp(head + got - 4, "\r\n\r\n", 4) == 0)) {
        ssize_t rd = read(fd, head + got, 1);

        if (rd <= 0)
            break;
        got += (size_t)rd;
    }
    head[got] = '\0';
    close(fd);
    ck_assert_msg(sscanf(head, "HTTP/1.1 %d", &status) == 1, "no status line: %.80s", head);
    return status;
}

static void resp_release(struct resp *r)
{
    json_decref(r->json);
    r->json = NULL;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void expect_error(struct resp *r, int status, const char *name)
{
    ck_assert_msg(r->status == status, "status %d want %d: %s", r->status, status, r->body);
    ck_assert_ptr_nonnull(r->json);
    ck_assert_str_eq(jstr(r->json, "error"), name);
    ck_assert_ptr_nonnull(jstr(r->json, "message"));
}

static void add_device(const char *serial, const char *model)
{
    char body[256];
    struct resp r;

    snprintf(body, sizeof(body), "{\"serial\":\"%s\",\"model\":\"%s\"}", serial, model);
    http("POST", "/v1/devices", "tok-ops", body, &r);
    ck_assert_msg(r.status == 201, "%d %s", r.status, r.body);
    resp_release(&r);
}

#endif
