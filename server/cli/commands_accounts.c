/*
 * commands_accounts.c - login, logout, whoami and API tokens
 * (commands_accounts.h).
 */
#include "commands_accounts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "pf/fileio.h"
#include "pf/num.h"
#include "table.h"

#define ACC_PASSWORD_MAX 256

const struct pfc_opt pfc_login_opts[] = {
        {.name = "user",
         .type = PFC_OPT_STR,
         .metavar = "NAME",
         .required = true,
         .help = "the user to log in as (the password: POSFLEET_PASSWORD, else standard input)"},
        {0},
};

const struct pfc_opt pfc_token_create_pos[] = {
        {.name = "NAME", .type = PFC_OPT_STR, .body = "name", .help = "the token's name"},
        {0},
};

const struct pfc_opt pfc_token_create_opts[] = {
        {.name = "expires-days",
         .type = PFC_OPT_INT,
         .min = 1,
         .max = 366,
         .body = "expires_days",
         .help = "days until it expires (default 90)"},
        {0},
};

const struct pfc_opt pfc_token_id_pos[] = {
        {.name = "ID", .type = PFC_OPT_INT, .min = 1, .max = INT64_MAX, .help = "the token's id"},
        {0},
};

int pfc_session_path(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    int n;

    if (xdg && *xdg == '/')
        n = snprintf(buf, len, "%s/posfleet/session", xdg);
    else if (home && *home)
        n = snprintf(buf, len, "%s/.config/posfleet/session", home);
    else
        return PF_ENOENT;
    return n > 0 && (size_t)n < len ? 0 : PF_ETOOBIG;
}

/* Creates the directories above path (0700), like mkdir -p. */
static int acc__mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            *p = '/';
            return PF_EIO;
        }
        *p = '/';
    }
    return 0;
}

/* The password: POSFLEET_PASSWORD, else one line of stdin (not echoed on a terminal). */
static int acc__password(const struct pfc_ctx *ctx, char *buf, size_t len, struct pf_error *err)
{
    const char *env = getenv("POSFLEET_PASSWORD");
    struct termios old, quiet;
    bool tty = isatty(STDIN_FILENO) == 1;
    size_t n;

    if (env && *env) {
        if (strlen(env) >= len)
            return pf_error_set(err, PF_EINVAL, "POSFLEET_PASSWORD: too long");
        memcpy(buf, env, strlen(env) + 1);
        return 0;
    }
    if (tty) {
        fprintf(ctx->io->err, "password: ");
        fflush(ctx->io->err);
        if (tcgetattr(STDIN_FILENO, &old) == 0) {
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        } else {
            tty = false;
        }
    }
    if (!fgets(buf, (int)len, stdin))
        buf[0] = '\0';
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fprintf(ctx->io->err, "\n");
    }
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    if (!n)
        return pf_error_set(err, PF_EINVAL, "no password given (POSFLEET_PASSWORD or stdin)");
    return 0;
}

int pfc_cmd_login(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    char pw[ACC_PASSWORD_MAX + 2], path[4096], *text = NULL;
    json_t *body = NULL, *resp = NULL, *user;
    const char *tok, *when;
    int rc, n;

    rc = pfc_session_path(path, sizeof(path));
    if (rc)
        return pf_error_set(err, rc, "no place for the session: set HOME or XDG_CONFIG_HOME");
    rc = acc__password(ctx, pw, sizeof(pw), err);
    if (rc)
        return pfc_usage_failed(ctx, rc);
    body = json_pack("{s:s, s:s}", "user", pfc_args_get(a, "user"), "password", pw);
    explicit_bzero(pw, sizeof(pw));
    if (!body)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    rc = pfc_call(ctx, "POST", "/v1/login", body, PFC_SUBJECT_LOGIN, &resp, err);
    /* The body held the password: wipe its text before letting it go. */
    json_object_set_new(body, "password", json_string(""));
    json_decref(body);
    if (rc)
        return rc;
    tok = json_string_value(json_object_get(resp, "token"));
    when = json_string_value(json_object_get(resp, "expires_at"));
    user = json_object_get(resp, "user");
    if (!tok || !when || !json_is_object(user)) {
        rc = pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no session");
        goto out_free;
    }
    {
        const char *name = json_string_value(json_object_get(user, "name"));
        size_t cap = strlen(tok) + strlen(when) + 4096;

        text = malloc(cap);
        n = text ? snprintf(text, cap, "%s\n# posfleet session of %s at %s until %s\n", tok,
                            name ? name : "?", pfc_http_base(ctx->http), when)
                 : -1;
        if (n < 0 || (size_t)n >= cap) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
            goto out_free;
        }
    }
    rc = acc__mkdirs(path);
    if (!rc)
        rc = pf_file_write_atomic(path, text, (size_t)n, 0600);
    if (rc) {
        rc = pf_error_set(err, rc, "%s: cannot write the session: %s", path, pf_strerror(rc));
        goto out_free;
    }
    if (ctx->json)
        fprintf(ctx->io->out, "{\"user\": \"%s\", \"expires_at\": \"%s\"}\n",
                json_string_value(json_object_get(user, "name")), when);
    else
        fprintf(ctx->io->out, "logged in as %s (%s, %s) until %s\n",
                json_string_value(json_object_get(user, "name")),
                json_string_value(json_object_get(user, "role")),
                json_string_value(json_object_get(user, "org")), when);
out_free:
    if (text) {
        explicit_bzero(text, strlen(text));
        free(text);
    }
    json_decref(resp);
    return rc;
}

int pfc_cmd_logout(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    char path[4096];
    json_t *resp = NULL;
    int rc;

    (void)a;
    if (pfc_session_path(path, sizeof(path)) != 0 || access(path, F_OK) != 0) {
        fprintf(ctx->io->out, "not logged in\n");
        return 0;
    }
    rc = pfc_call(ctx, "POST", "/v1/logout", NULL, NULL, &resp, err);
    json_decref(resp);
    /* Expired or ended already: the file goes all the same. */
    if (rc && rc != PF_EAUTH)
        return rc;
    if (unlink(path) != 0)
        return pf_error_set(err, PF_EIO, "%s: cannot remove the session", path);
    fprintf(ctx->io->out, "logged out\n");
    return 0;
}

int pfc_render_me(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                  struct pf_error *err)
{
    const char *merchant = json_string_value(json_object_get(resp, "merchant"));

    (void)now_ms;
    (void)a;
    if (!json_string_value(json_object_get(resp, "name")))
        return pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no \"name\"");
    fprintf(out, "%s (%s, %s%s%s) by %s\n", json_string_value(json_object_get(resp, "name")),
            json_string_value(json_object_get(resp, "role")),
            json_string_value(json_object_get(resp, "org")), merchant ? ", merchant " : "",
            merchant ? merchant : "", json_string_value(json_object_get(resp, "via")));
    return 0;
}

int pfc_render_token_created(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                             struct pf_error *err)
{
    const char *tok = json_string_value(json_object_get(resp, "token"));

    (void)now_ms;
    (void)a;
    if (!tok)
        return pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no \"token\"");
    fprintf(out, "token %lld %s, until %s (shown once; keep it in a 0600 file):\n%s\n",
            (long long)json_integer_value(json_object_get(resp, "id")),
            json_string_value(json_object_get(resp, "name")),
            json_string_value(json_object_get(resp, "expires_at")), tok);
    return 0;
}

static const struct pfc_col acc__token_cols[] = {
        {"ID", 0, 'r', "id", NULL},
        {"NAME", 0, 'l', "name", NULL},
        {"USER", 0, 'l', "user", NULL},
        {"CREATED", 0, 'l', "created_ms", pfc_cell_time},
        {"EXPIRES", 0, 'l', "expires_ms", pfc_cell_time},
        {"LAST USED", 0, 'l', "last_used_ms", pfc_cell_ago},
        {"REVOKED", 0, 'l', "revoked_ms", pfc_cell_time},
        {NULL},
};

int pfc_render_tokens(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                      struct pf_error *err)
{
    json_t *list = json_object_get(resp, "tokens");

    (void)a;
    if (!json_is_array(list))
        return pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no \"tokens\"");
    if (json_array_size(list) == 0) {
        fprintf(out, "no API tokens\n");
        return 0;
    }
    return pfc_table_render(out, "", acc__token_cols, list, NULL, now_ms, err);
}

int pfc_render_token_revoked(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                             struct pf_error *err)
{
    (void)now_ms;
    (void)a;
    (void)err;
    fprintf(out, "token %lld revoked\n",
            (long long)json_integer_value(json_object_get(resp, "id")));
    return 0;
}

/* --- users and organisations (admin) --- */

const struct pfc_opt pfc_user_name_pos[] = {
        {.name = "NAME", .type = PFC_OPT_STR, .help = "the user's name"},
        {0},
};

const struct pfc_opt pfc_user_add_pos[] = {
        {.name = "NAME",
         .type = PFC_OPT_STR,
         .body = "name",
         .help = "the new user's name (A-Z a-z 0-9 . _ - @)"},
        {0},
};

const struct pfc_opt pfc_user_add_opts[] = {
        {.name = "role",
         .type = PFC_OPT_ENUM,
         .choices = "admin|ops|approver|support|viewer|merchant",
         .required = true,
         .body = "role",
         .help = "what the user may do"},
        {.name = "org",
         .type = PFC_OPT_STR,
         .metavar = "ORG",
         .required = true,
         .body = "org",
         .help = "the organisation it belongs to (name), inside yours"},
        {.name = "merchant",
         .type = PFC_OPT_STR,
         .metavar = "ID",
         .body = "merchant",
         .help = "the merchant a merchant user sees (of that organisation)"},
        {0},
};

const struct pfc_opt pfc_user_role_pos[] = {
        {.name = "NAME", .type = PFC_OPT_STR, .help = "the user's name"},
        {.name = "ROLE",
         .type = PFC_OPT_ENUM,
         .choices = "admin|ops|approver|support|viewer|merchant",
         .body = "role",
         .help = "the new role"},
        {0},
};

const struct pfc_opt pfc_org_add_pos[] = {
        {.name = "NAME",
         .type = PFC_OPT_STR,
         .body = "name",
         .help = "the new agent's name (A-Z a-z 0-9 . _ - @)"},
        {0},
};

const struct pfc_opt pfc_org_add_opts[] = {
        {.name = "parent",
         .type = PFC_OPT_STR,
         .metavar = "ORG",
         .body = "parent",
         .help = "the organisation above it (name; default: yours)"},
        {0},
};

const struct pfc_opt pfc_org_pos[] = {
        {.name = "ORG", .type = PFC_OPT_STR, .help = "the organisation's id or name"},
        {0},
};

/* The command's request with the body built from its arguments plus, when
 * key is set, key = val; the answer printed by the command's renderer. The
 * body is wiped (it may hold a password) before it goes. */
static int acc__post(struct pfc_ctx *ctx, const struct pfc_args *a, const char *key, json_t *val,
                     struct pf_error *err)
{
    char path[PFC_URL_MAX];
    json_t *body = NULL, *resp = NULL;
    int rc;

    if ((rc = pfc_request_path(a, NULL, NULL, path, sizeof(path), err)) ||
        (rc = pfc_request_body(a, &body, err))) {
        json_decref(val);
        return rc;
    }
    if (!body)
        body = json_object();
    if (!body || (key && json_object_set_new(body, key, val) != 0)) {
        json_decref(body);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    rc = pfc_call(ctx, a->cmd->method, path, body, NULL, &resp, err);
    if (json_is_string(json_object_get(body, "password")))
        json_object_set_new(body, "password", json_string(""));
    json_decref(body);
    if (!rc)
        rc = pfc_emit(ctx, a, a->cmd->render, resp, err);
    json_decref(resp);
    return rc;
}

/* A password for someone else: POSFLEET_PASSWORD, else standard input. */
static int acc__post_password(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    char pw[ACC_PASSWORD_MAX + 2];
    json_t *v;
    int rc;

    rc = acc__password(ctx, pw, sizeof(pw), err);
    if (rc)
        return pfc_usage_failed(ctx, rc);
    v = json_string(pw);
    explicit_bzero(pw, sizeof(pw));
    if (!v)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    return acc__post(ctx, a, "password", v, err);
}

int pfc_cmd_user_add(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    return acc__post_password(ctx, a, err);
}

int pfc_cmd_user_passwd(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    return acc__post_password(ctx, a, err);
}

int pfc_cmd_user_disable(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    return acc__post(ctx, a, NULL, NULL, err);
}

int pfc_cmd_user_enable(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    return acc__post(ctx, a, NULL, NULL, err);
}

/* org show takes an id or a name; a name is looked up in `org list`'s answer. */
int pfc_cmd_org_show(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    const char *org = pfc_args_pos(a, "ORG");
    char path[PFC_URL_MAX];
    json_t *list = NULL, *resp = NULL, *o;
    int64_t id = 0;
    size_t i;
    int rc;

    if (pf_parse_i64(org, 1, INT64_MAX, &id) != 0) {
        rc = pfc_call(ctx, "GET", "/v1/orgs", NULL, NULL, &list, err);
        if (rc)
            return rc;
        json_array_foreach(json_object_get(list, "orgs"), i, o)
        {
            const char *name = json_string_value(json_object_get(o, "name"));

            if (name && strcmp(name, org) == 0)
                id = json_integer_value(json_object_get(o, "id"));
        }
        json_decref(list);
        if (id <= 0)
            return pf_error_set(err, PF_ENOENT, "organisation %s: not found", org);
    }
    snprintf(path, sizeof(path), "/v1/orgs/%lld", (long long)id);
    rc = pfc_call(ctx, "GET", path, NULL, NULL, &resp, err);
    if (!rc)
        rc = pfc_emit(ctx, a, a->cmd->render, resp, err);
    json_decref(resp);
    return rc;
}

/* A user's state in one word. */
static void acc__cell_state(json_t *row, const char *key, const struct pfc_cell_ctx *cx, char *buf,
                            size_t len)
{
    (void)key;
    if (json_is_true(json_object_get(row, "disabled")))
        snprintf(buf, len, "disabled");
    else if (pfc_json_ms(row, "locked_until_ms") > cx->now_ms)
        snprintf(buf, len, "locked");
    else
        snprintf(buf, len, "active");
}

static const struct pfc_col acc__user_cols[] = {
        {"NAME", 0, 'l', "name", NULL},
        {"ROLE", 0, 'l', "role", NULL},
        {"ORG", 0, 'l', "org", NULL},
        {"MERCHANT", 0, 'l', "merchant", NULL},
        {"STATE", 0, 'l', "disabled", acc__cell_state},
        {"FAILED", 0, 'r', "failed", NULL},
        {"CREATED", 0, 'l', "created_ms", pfc_cell_time},
        {NULL},
};

int pfc_render_users(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                     struct pf_error *err)
{
    json_t *list = json_object_get(resp, "users");

    (void)a;
    if (!json_is_array(list))
        return pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no \"users\"");
    if (json_array_size(list) == 0) {
        fprintf(out, "no users\n");
        return 0;
    }
    return pfc_table_render(out, "", acc__user_cols, list, NULL, now_ms, err);
}

int pfc_render_user(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                    struct pf_error *err)
{
    json_t *rows = json_pack("[O]", resp);
    int rc;

    (void)a;
    if (!json_string_value(json_object_get(resp, "name"))) {
        json_decref(rows);
        return pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no \"name\"");
    }
    if (!rows)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    rc = pfc_table_render(out, "", acc__user_cols, rows, NULL, now_ms, err);
    json_decref(rows);
    return rc;
}

static const struct pfc_col acc__org_cols[] = {
        {"ID", 0, 'r', "id", NULL},     {"NAME", 0, 'l', "name", NULL},
        {"KIND", 0, 'l', "kind", NULL}, {"PARENT", 0, 'r', "parent", NULL},
        {"PATH", 0, 'l', "path", NULL}, {NULL},
};

int pfc_render_orgs(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                    struct pf_error *err)
{
    json_t *list = json_object_get(resp, "orgs");

    (void)a;
    if (!json_is_array(list))
        return pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no \"orgs\"");
    return pfc_table_render(out, "", acc__org_cols, list, NULL, now_ms, err);
}

int pfc_render_org(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                   struct pf_error *err)
{
    json_t *rows = json_pack("[O]", resp), *users = json_object_get(resp, "users");
    char name[128];
    size_t i;
    json_t *u;
    int rc;

    (void)a;
    if (!json_is_integer(json_object_get(resp, "id"))) {
        json_decref(rows);
        return pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no \"id\"");
    }
    if (!rows)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    rc = pfc_table_render(out, "", acc__org_cols, rows, NULL, now_ms, err);
    json_decref(rows);
    if (rc || !json_is_array(users))
        return rc;
    fprintf(out, "users: %s", json_array_size(users) ? "" : "none");
    json_array_foreach(users, i, u)
    {
        pfc_json_text(u, name, sizeof(name));
        fprintf(out, "%s%s", i ? ", " : "", name);
    }
    fprintf(out, "\n");
    return 0;
}
