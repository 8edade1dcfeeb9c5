/*
 * cli.c - the posfleet program: setup, requests, output, exit status.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "commands_accounts.h"
#include "when.h"
#include "pf/num.h"

#ifndef PFC_DEFAULT_CACERT
#define PFC_DEFAULT_CACERT "/etc/posfleet/api-ca.crt" /* written by posfleetd init */
#endif

static bool cli__token_char_ok(char c)
{
    return c > 0x20 && c < 0x7f;
}

int pfc_token_check(char *token, const char *origin, struct pf_error *err)
{
    size_t len = strlen(token), start = 0;

    while (len > 0 && (token[len - 1] == ' ' || token[len - 1] == '\t' || token[len - 1] == '\n' ||
                       token[len - 1] == '\r'))
        token[--len] = '\0';
    while (token[start] == ' ' || token[start] == '\t')
        start++;
    if (start)
        memmove(token, token + start, len - start + 1);
    if (!token[0])
        return pf_error_set(err, PF_EINVAL, "%s: the token is empty", origin);
    if (strlen(token) > PFC_TOKEN_MAX)
        return pf_error_set(err, PF_EINVAL, "%s: the token is longer than %d characters", origin,
                            PFC_TOKEN_MAX);
    for (const char *p = token; *p; p++) {
        if (!cli__token_char_ok(*p))
            return pf_error_set(err, PF_EINVAL,
                                "%s: the token must be one line of printable characters "
                                "without spaces",
                                origin);
    }
    return 0;
}

int pfc_token_read(const char *path, char *buf, size_t len, struct pf_error *err)
{
    char origin[PFC_STR_MAX + 16];
    size_t n = 0;
    ssize_t r;
    char *nl;
    int fd, rc = 0;

    snprintf(origin, sizeof(origin), "token file %s", path);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pf_error_set(err, PF_EIO, "%s: %s", origin, strerror(errno));
    while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = pf_error_set(err, PF_EIO, "%s: %s", origin, strerror(errno));
            goto out_wipe;
        }
        n += (size_t)r;
    }
    buf[n] = '\0';
    if (memchr(buf, '\0', n)) {
        rc = pf_error_set(err, PF_EINVAL, "%s: not a text file", origin);
        goto out_wipe;
    }
    /* The token is the first line; anything after it (a comment, say) is ignored. */
    nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
    else if (n + 1 >= len) {
        rc = pf_error_set(err, PF_EINVAL, "%s: the token is longer than %zu characters", origin,
                          len - 2);
        goto out_wipe;
    }
    rc = pfc_token_check(buf, origin, err);
    if (!rc)
        goto out_close;
out_wipe:
    explicit_bzero(buf, len);
out_close:
    close(fd);
    return rc;
}

int pfc_usage_failed(struct pfc_ctx *ctx, int rc)
{
    if (rc)
        ctx->usage = true;
    return rc;
}

int pfc_call(struct pfc_ctx *ctx, const char *method, const char *path, json_t *body,
             const char *subject, json_t **out, struct pf_error *err)
{
    char *text = NULL;
    int rc;

    *out = NULL;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text)
            return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    rc = pfc_call_raw(ctx, method, path, "application/json", text, text ? strlen(text) : 0, subject,
                      out, err);
    free(text);
    return rc;
}

int pfc_call_raw(struct pfc_ctx *ctx, const char *method, const char *path,
                 const char *content_type, const char *body, size_t len, const char *subject,
                 json_t **out, struct pf_error *err)
{
    struct pfc_http_resp resp;
    json_error_t jerr;
    json_t *parsed = NULL;
    int rc;

    *out = NULL;
    rc = pfc_http_request_typed(ctx->http, method, path, content_type, body, len, &resp, err);
    if (rc)
        return rc;
    if (resp.len)
        parsed = json_loadb(resp.data, resp.len, 0, &jerr);
    if (resp.status < 200 || resp.status > 299) {
        /* A refusal that lists its lines (the import): each on a line of its own. */
        json_t *lines = json_object_get(parsed, "lines"), *l;
        size_t i;

        json_array_foreach(lines, i, l)
        {
            const char *m = json_string_value(json_object_get(l, "message"));
            char clean[512];

            if (m) {
                pfc_text_clean(m, clean, sizeof(clean));
                fprintf(ctx->io->err, "%s\n", clean);
            }
        }
        rc = pfc_api_error(resp.status, parsed, subject, ctx->have_token, err);
        goto out_release;
    }
    if (!resp.len) {
        parsed = json_object();
        if (!parsed)
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
    } else if (!parsed) {
        rc = pf_error_set(err, PF_EPARSE,
                          "unexpected answer from posfleetd at %s: not JSON (line %d: %s)",
                          pfc_http_base(ctx->http), jerr.line, jerr.text);
    }
    if (!rc) {
        *out = parsed;
        parsed = NULL;
    }
out_release:
    json_decref(parsed);
    pfc_http_resp_release(&resp);
    return rc;
}

int pfc_emit(struct pfc_ctx *ctx, const struct pfc_args *a, pfc_render_fn render, json_t *resp,
             struct pf_error *err)
{
    if (ctx->json || !render) {
        if (json_dumpf(resp, ctx->io->out, JSON_INDENT(2) | JSON_ENSURE_ASCII) ||
            fputc('\n', ctx->io->out) == EOF)
            return pf_error_set(err, PF_EIO, "cannot write the answer");
        return 0;
    }
    if (render(ctx->io->out, pf_clock_wall_ms(ctx->io->clock), a, resp, err))
        return pf_error_prefix(err, "unexpected answer from posfleetd at %s",
                               pfc_http_base(ctx->http));
    return 0;
}

static int cli__append(char *buf, size_t len, size_t *off, const char *s)
{
    size_t n = strlen(s);

    if (*off + n + 1 > len)
        return PF_ETOOBIG;
    memcpy(buf + *off, s, n + 1);
    *off += n;
    return 0;
}

int pfc_request_path(const struct pfc_args *a, const char *extra_key, const char *extra_val,
                     char *buf, size_t len, struct pf_error *err)
{
    const struct pfc_command *cmd = a->cmd;
    const char *p = cmd->path;
    size_t off = 0;
    bool first = true;
    int rc = 0;

    buf[0] = '\0';
    while (*p && !rc) {
        const char *open = strchr(p, '{'), *close;
        char name[32], chunk[128];
        const char *val;
        size_t n;

        if (!open) {
            rc = cli__append(buf, len, &off, p);
            break;
        }
        close = strchr(open, '}');
        n = (size_t)(open - p);
        if (!close || n >= sizeof(chunk) || (size_t)(close - open - 1) >= sizeof(name))
            return pf_error_set(err, PF_EINVAL, "%s: bad path template", cmd->name);
        memcpy(chunk, p, n);
        chunk[n] = '\0';
        memcpy(name, open + 1, (size_t)(close - open - 1));
        name[close - open - 1] = '\0';
        val = pfc_args_pos(a, name);
        if (!val)
            return pf_error_set(err, PF_EINVAL, "%s: no argument %s for the path", cmd->name, name);
        if (!(rc = cli__append(buf, len, &off, chunk)))
            rc = pfc_url_escape(val, buf, len, &off);
        p = close + 1;
    }
    for (size_t i = 0; !rc && cmd->opts && cmd->opts[i].name; i++) {
        const struct pfc_opt *o = &cmd->opts[i];
        const char *v = a->val[i];

        char ms[24];
        int64_t t;

        /* The extra parameter replaces an option's (`devices --all --after X`). */
        if (!o->query || !v || (extra_key && !strcmp(o->query, extra_key)))
            continue;
        if (o->type == PFC_OPT_FLAG)
            v = "1";
        if (o->type == PFC_OPT_TIME && !pfc_time_parse(pfc_tz_current(), v, &t)) {
            snprintf(ms, sizeof(ms), "%lld", (long long)t); /* the API takes UTC ms */
            v = ms;
        }
        if (!(rc = cli__append(buf, len, &off, first ? "?" : "&")) &&
            !(rc = pfc_url_escape(o->query, buf, len, &off)) &&
            !(rc = cli__append(buf, len, &off, "=")))
            rc = pfc_url_escape(v, buf, len, &off);
        first = false;
    }
    if (!rc && extra_key) {
        if (!(rc = cli__append(buf, len, &off, first ? "?" : "&")) &&
            !(rc = pfc_url_escape(extra_key, buf, len, &off)) &&
            !(rc = cli__append(buf, len, &off, "=")))
            rc = pfc_url_escape(extra_val, buf, len, &off);
    }
    if (rc)
        return pf_error_set(err, rc, "%s: request path too long", cmd->name);
    return 0;
}

static int cli__body_set(json_t *body, const struct pfc_opt *o, const char *v)
{
    json_t *j;
    int64_t x;

    if (o->type == PFC_OPT_FLAG)
        j = json_true();
    else if (o->type == PFC_OPT_INT && pf_parse_i64(v, INT64_MIN, INT64_MAX, &x))
        return PF_EINVAL; /* pfc_args_parse has checked it already */
    else if (o->type == PFC_OPT_INT)
        j = json_integer((json_int_t)x);
    else if (o->type == PFC_OPT_TIME && pfc_time_parse(pfc_tz_current(), v, &x))
        return PF_EINVAL; /* pfc_args_parse has checked it already */
    else if (o->type == PFC_OPT_TIME)
        j = json_integer((json_int_t)x);
    else
        j = json_string(v);
    return json_object_set_new(body, o->body, j) ? PF_ENOMEM : 0;
}

int pfc_request_body(const struct pfc_args *a, json_t **out, struct pf_error *err)
{
    const struct pfc_command *cmd = a->cmd;
    json_t *body = NULL;
    int rc = 0;

    *out = NULL;
    for (int pass = 0; pass < 2 && !rc; pass++) {
        const struct pfc_opt *list = pass ? cmd->opts : cmd->pos;
        const char *const *vals = pass ? a->val : a->pos;

        for (size_t i = 0; list && list[i].name && !rc; i++) {
            if (!list[i].body || !vals[i])
                continue;
            if (!body && !(body = json_object()))
                return pf_error_set(err, PF_ENOMEM, "out of memory");
            rc = cli__body_set(body, &list[i], vals[i]);
        }
    }
    if (rc) {
        json_decref(body);
        return pf_error_set(err, rc, "out of memory");
    }
    *out = body;
    return 0;
}

int pfc_run_template(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    char path[PFC_URL_MAX];
    json_t *body = NULL, *resp = NULL;
    int rc;

    if ((rc = pfc_request_path(a, NULL, NULL, path, sizeof(path), err)) ||
        (rc = pfc_request_body(a, &body, err)))
        return rc;
    rc = pfc_call(ctx, a->cmd->method, path, body, pfc_args_pos(a, "SERIAL"), &resp, err);
    json_decref(body);
    if (!rc)
        rc = pfc_emit(ctx, a, a->cmd->render, resp, err);
    json_decref(resp);
    return rc;
}

/* The server URL from --server, POSFLEET_URL or the default; only http and https. */
static int cli__server_url(const struct pfc_args *a, const char **url, struct pf_error *err)
{
    const char *u = pfc_args_get(a, "server");
    const char *origin = "--server";
    const char *host;

    if (!u) {
        u = getenv("POSFLEET_URL");
        origin = "POSFLEET_URL";
    }
    if (!u || !*u) {
        *url = PFC_DEFAULT_URL;
        return 0;
    }
    if (!strncmp(u, "http://", 7))
        host = u + 7;
    else if (!strncmp(u, "https://", 8))
        host = u + 8;
    else
        return pf_error_set(err, PF_EINVAL, "%s: expected an http:// or https:// URL, got '%.60s'",
                            origin, u);
    if (!*host || *host == '/' || strlen(u) > PFC_URL_MAX || strpbrk(u, " \t\r\n?#"))
        return pf_error_set(err, PF_EINVAL, "%s: '%.60s' is not a usable server URL", origin, u);
    *url = u;
    return 0;
}

/* The CA file from --cacert or POSFLEET_CACERT, else the one `posfleetd init`
 * writes (PFC_DEFAULT_CACERT) when this user may read it; NULL: the system's store. */
static int cli__cacert(const struct pfc_args *a, const char **file, struct pf_error *err)
{
    const char *f = pfc_args_get(a, "cacert");
    const char *origin = "--cacert";

    if (!f) {
        f = getenv("POSFLEET_CACERT");
        origin = "POSFLEET_CACERT";
    }
    *file = NULL;
    if (!f && access(PFC_DEFAULT_CACERT, R_OK) == 0) {
        *file = PFC_DEFAULT_CACERT;
        return 0;
    }
    if (!f || !*f)
        return 0;
    /* Said now, in words, rather than as a TLS failure after connecting. */
    if (access(f, R_OK) != 0)
        return pf_error_set(err, PF_EINVAL, "%s %s: cannot read the CA file: %s", origin, f,
                            strerror(errno));
    *file = f;
    return 0;
}

/* The token from --token-file, POSFLEET_TOKEN, POSFLEET_TOKEN_FILE or the
 * session of `posfleet login` (commands_accounts.h); *have false if none. */
static int cli__token(const struct pfc_args *a, char *buf, size_t len, bool *have,
                      struct pf_error *err)
{
    const char *file = pfc_args_get(a, "token-file");
    const char *env = getenv("POSFLEET_TOKEN");
    int rc;

    *have = false;
    if (!file && env && *env) {
        int n = snprintf(buf, len, "%s", env);

        if (n < 0 || (size_t)n >= len) {
            explicit_bzero(buf, len);
            return pf_error_set(err, PF_EINVAL, "POSFLEET_TOKEN: the token is too long");
        }
        if ((rc = pfc_token_check(buf, "POSFLEET_TOKEN", err))) {
            explicit_bzero(buf, len);
            return rc;
        }
        *have = true;
        return 0;
    }
    if (!file) {
        file = getenv("POSFLEET_TOKEN_FILE");
        if (!file || !*file) {
            char session[4096];

            if (pfc_session_path(session, sizeof(session)) != 0 || access(session, F_OK) != 0)
                return 0;
            if ((rc = pfc_token_read(session, buf, len, err)))
                return rc;
            *have = true;
            return 0;
        }
    }
    if ((rc = pfc_token_read(file, buf, len, err)))
        return rc;
    *have = true;
    return 0;
}

/* Runs the parsed command in the display zone tz: everything after parsing and help. */
static int cli__run(struct pfc_args *a, const struct pfc_io *io)
{
    struct pf_error err = {0};
    struct pfc_ctx ctx = {.io = io};
    struct pfc_http_conf conf = {0};
    char token[PFC_TOKEN_MAX + 2];
    pfc_run_fn run;
    int rc;

    ctx.cmd = a->cmd;
    ctx.json = pfc_args_flag(a, "json");
    conf.connect_timeout_ms =
            1000 * (long)pfc_args_int(a, "connect-timeout", PFC_DEFAULT_CONNECT_TIMEOUT_S);
    conf.timeout_ms = 1000 * (long)pfc_args_int(a, "timeout", PFC_DEFAULT_TIMEOUT_S);
    if ((rc = cli__server_url(a, &conf.base_url, &err)) ||
        (rc = cli__cacert(a, &conf.cacert, &err)) ||
        (rc = cli__token(a, token, sizeof(token), &ctx.have_token, &err))) {
        fprintf(io->err, "posfleet: %s\n", err.msg);
        return PFC_EXIT_USAGE;
    }
    conf.token = ctx.have_token ? token : NULL;
    rc = pfc_http_new(&conf, &ctx.http, &err);
    explicit_bzero(token, sizeof(token));
    if (rc) {
        fprintf(io->err, "posfleet: %s\n", err.msg);
        return rc == PF_EINVAL ? PFC_EXIT_USAGE : PFC_EXIT_API;
    }

    run = a->cmd->run ? a->cmd->run : pfc_run_template;
    rc = run(&ctx, a, &err);
    pfc_http_free(ctx.http);
    if (rc && ctx.usage) {
        fprintf(io->err, "posfleet: %s\nTry 'posfleet %s --help'.\n", err.msg, a->cmd->name);
        return PFC_EXIT_USAGE;
    }
    if (rc) {
        fprintf(io->err, "posfleet: %s\n", err.msg);
        return pfc_exit_code(rc);
    }
    if (fflush(io->out) == EOF || ferror(io->out)) {
        fprintf(io->err, "posfleet: cannot write the answer: %s\n", strerror(errno));
        return PFC_EXIT_API;
    }
    return PFC_EXIT_OK;
}

int pfc_main(int argc, char **argv, const struct pfc_io *io)
{
    struct pf_error err = {0};
    const char *zone;
    struct pfc_args a;
    struct pfc_tz tz;
    int status;

    if (pfc_args_parse(argc, argv, pfc_commands, pfc_ncommands, &a, &err)) {
        fprintf(io->err, "posfleet: %s\n", err.msg);
        if (a.cmd)
            fprintf(io->err, "Try 'posfleet %s --help'.\n", a.cmd->name);
        else if (a.group)
            fprintf(io->err, "Try 'posfleet %s --help' for its commands.\n", a.group);
        else
            fprintf(io->err, "Try 'posfleet --help'.\n");
        return PFC_EXIT_USAGE;
    }
    if (pfc_args_flag(&a, "help")) {
        if (a.cmd)
            pfc_command_usage(io->out, pfc_commands, pfc_ncommands, a.cmd);
        else if (a.group)
            pfc_group_usage(io->out, pfc_commands, pfc_ncommands, a.group);
        else
            pfc_usage(io->out, pfc_commands, pfc_ncommands);
        return PFC_EXIT_OK;
    }
    /* Times are shown and read in the user's zone: --tz, else TZ, else the system's. */
    zone = pfc_args_global(&a, "tz");
    if (pfc_tz_init(&tz, zone, getenv("TZ"), NULL, NULL, &err)) {
        fprintf(io->err, "posfleet: %s%s\n", err.msg, zone ? "" : "; times are shown in UTC");
        if (zone)
            return PFC_EXIT_USAGE;
    }
    pfc_tz_use(&tz);
    status = cli__run(&a, io);
    pfc_tz_use(NULL);
    pfc_tz_release(&tz);
    return status;
}
