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
    rc = pfc_call(ctx, "POST", "/v1/login", body, NULL, &resp, err);
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
