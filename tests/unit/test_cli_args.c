/*
 * test_cli_args.c - the command line: every bad usage exits 2 with a message
 * and sends nothing; good usage parses into the command, its arguments, the
 * request path and body; the command table is consistent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "testutil.h"

#define MAX_ARGS 24

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
    static int64_t now = 1800000000000;
    struct pf_clock clock = {fixed_ms, fixed_ms, &now};
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    FILE *out, *err;

    memset(r, 0, sizeof(*r));
    argv[argc++] = (char *)"posfleet";
    for (; words[argc - 1] && argc < MAX_ARGS; argc++)
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
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

/* Bad usage; the server URL points at a closed port, so a request would exit 3, not 2. */
struct bad {
    const char *argv[10];
    const char *msg; /* the first stderr line, exactly */
};

static const struct bad bad_usage[] = {
        {{NULL}, "posfleet: missing command"},
        {{"frob", NULL}, "posfleet: unknown command 'frob'"},
        {{"merchant", NULL}, "posfleet: merchant: missing subcommand"},
        {{"merchnat", "list", NULL},
         "posfleet: unknown command 'merchnat' (did you mean 'merchant'?)"},
        {{"rolout", NULL}, "posfleet: unknown command 'rolout' (did you mean 'rollout'?)"},
        {{"rollout", "frob", NULL}, "posfleet: rollout: unknown subcommand 'frob'"},
        {{"--json", NULL}, "posfleet: missing command"},
        {{"-x", "summary", NULL}, "posfleet: unknown option '-x'"},
        {{"devices", "--status", "bogus", NULL},
         "posfleet: devices: --status: expected one of online|offline|never|revoked, got 'bogus'"},
        {{"devices", "--status", NULL}, "posfleet: devices: --status: needs a value"},
        {{"devices", "--limit", "0", NULL},
         "posfleet: devices: --limit: expected a whole number from 1 to 1000, got '0'"},
        {{"devices", "--limit=abc", NULL},
         "posfleet: devices: --limit: expected a whole number from 1 to 1000, got 'abc'"},
        {{"devices", "--limit", "10x", NULL},
         "posfleet: devices: --limit: expected a whole number from 1 to 1000, got '10x'"},
        {{"devices", "--limit", "99999999999999999999", NULL},
         "posfleet: devices: --limit: expected a whole number from 1 to 1000, got "
         "'99999999999999999999'"},
        {{"devices", "--all=yes", NULL}, "posfleet: devices: --all: takes no value"},
        {{"devices", "--bogus", NULL}, "posfleet: devices: unknown option '--bogus'"},
        {{"devices", "extra", NULL}, "posfleet: devices: unexpected argument 'extra'"},
        {{"devices", "--status", "online", "--status=offline", NULL},
         "posfleet: devices: --status: given more than once"},
        {{"devices", "--model", "", NULL}, "posfleet: devices: --model: must not be empty"},
        {{"devices", "--model", "A\tB", NULL},
         "posfleet: devices: --model: expected at most 256 printable ASCII characters"},
        /* Text a person types is UTF-8 checked as posfleetd checks it (pf/text.h). */
        {{"merchant", "add", "M1", "--name", "\xe5\xb9", NULL},
         "posfleet: merchant add: --name: invalid UTF-8 at byte 1"},
        {{"merchant", "add", "M1", "--name", "\xc0\xaf", NULL},
         "posfleet: merchant add: --name: invalid UTF-8 at byte 1"},
        {{"merchant", "update", "M1", "--address", "\xed\xa0\x80", NULL},
         "posfleet: merchant update: --address: invalid UTF-8 at byte 1"},
        {{"repair", "update", "7", "--notes", "a\x1b[31m", NULL},
         "posfleet: repair update: --notes: control character U+001B at character 2"},
        {{"swap", "PF1", "PF2", "--reason",
          "\xe2\x80\xae"
          "x",
          NULL},
         "posfleet: swap: --reason: control character U+202E at character 1"},
        {{"device", NULL}, "posfleet: device: missing SERIAL"},
        {{"device", "PF1", "PF2", NULL}, "posfleet: device: unexpected argument 'PF2'"},
        {{"device", "PF/1", NULL},
         "posfleet: device: SERIAL: 'PF/1' is not a serial (1 to 32 characters of A-Z a-z 0-9 _ "
         "-)"},
        {{"device", "PF0123456789012345678901234567890", NULL},
         "posfleet: device: SERIAL: 'PF0123456789012345678901234567890' is not a serial (1 to 32 "
         "characters of A-Z a-z 0-9 _ -)"},
        {{"device", "PF1", "--health", "-1", NULL},
         "posfleet: device: --health: expected a whole number from 0 to 1000, got '-1'"},
        {{"device", "add", NULL}, "posfleet: device add: missing SERIAL"},
        {{"device", "add", "PF1", NULL}, "posfleet: device add: --model is required"},
        {{"device", "add", "PF1", "--model", NULL}, "posfleet: device add: --model: needs a value"},
        {{"device", "add", "PF1", "--model", "M", "--status", "online", NULL},
         "posfleet: device add: unknown option '--status'"},
        {{"device", "revoke", NULL}, "posfleet: device revoke: missing SERIAL"},
        {{"summary", "now", NULL}, "posfleet: summary: unexpected argument 'now'"},
        {{"alerts", "--timeout", "0", NULL},
         "posfleet: alerts: --timeout: expected a whole number from 1 to 3600, got '0'"},
        {{"--connect-timeout", "x", "alerts", NULL},
         "posfleet: --connect-timeout: expected a whole number from 1 to 600, got 'x'"},
        /* Whole numbers are strict decimal (pf_parse_i64): no sign, no blanks, no hex. */
        {{"alerts", "--timeout", "+5", NULL},
         "posfleet: alerts: --timeout: expected a whole number from 1 to 3600, got '+5'"},
        {{"alerts", "--timeout", "5 ", NULL},
         "posfleet: alerts: --timeout: expected a whole number from 1 to 3600, got '5 '"},
        {{"alerts", "--timeout", "0x10", NULL},
         "posfleet: alerts: --timeout: expected a whole number from 1 to 3600, got '0x10'"},
        {{"alerts", "--timeout", "99999999999999999999", NULL},
         "posfleet: alerts: --timeout: expected a whole number from 1 to 3600, got "
         "'99999999999999999999'"},
        /* Local configuration is usage too: exit 2 before any request. */
        {{"summary", "--server", "ftp://127.0.0.1:1", NULL},
         "posfleet: --server: expected an http:// or https:// URL, got 'ftp://127.0.0.1:1'"},
        {{"summary", "--server", "http://", NULL},
         "posfleet: --server: 'http://' is not a usable server URL"},
        {{"summary", "--token-file", "/nonexistent/posfleet-token", NULL},
         "posfleet: token file /nonexistent/posfleet-token: No such file or directory"},
};

START_TEST(test_bad_usage_exits_2)
{
    const struct bad *b = &bad_usage[_i];
    struct run r;
    char *nl;

    /* If anything slipped past the parser it would hit this closed port and exit 3. */
    setenv("POSFLEET_URL", "http://127.0.0.1:1", 1);
    unsetenv("POSFLEET_TOKEN");
    unsetenv("POSFLEET_TOKEN_FILE");
    run_cli(&r, b->argv);
    ck_assert_int_eq(r.status, PFC_EXIT_USAGE);
    ck_assert_uint_eq(r.outlen, 0);
    nl = strchr(r.err, '\n');
    ck_assert_ptr_nonnull(nl);
    *nl = '\0';
    ck_assert_str_eq(r.err, b->msg);
    run_free(&r);
}
END_TEST

START_TEST(test_usage_hint_names_command)
{
    struct run r;
    const char *const argv[] = {"device", "add", "PF1", NULL};

    run_cli(&r, argv);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "\nTry 'posfleet device add --help'.\n"));
    run_free(&r);
}
END_TEST

static void parse_ok(struct pfc_args *a, const char *const *words)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    struct pf_error err = {0};

    argv[argc++] = (char *)"posfleet";
    for (; words[argc - 1]; argc++)
        argv[argc] = (char *)words[argc - 1];
    argv[argc] = NULL;
    ck_assert_msg(pfc_args_parse(argc, argv, pfc_commands, pfc_ncommands, a, &err) == 0, "%s",
                  err.msg);
}

START_TEST(test_parse_longest_command_wins)
{
    struct pfc_args a;
    const char *const add[] = {"device", "add", "PF1", "--model", "A920", "--hw-rev=B", NULL};
    const char *const show[] = {"device", "PF1", NULL};
    const char *const revoke[] = {"device", "revoke", "PF9", NULL};

    parse_ok(&a, add);
    ck_assert_str_eq(a.cmd->name, "device add");
    ck_assert_str_eq(pfc_args_pos(&a, "SERIAL"), "PF1");
    ck_assert_str_eq(pfc_args_get(&a, "model"), "A920");
    ck_assert_str_eq(pfc_args_get(&a, "hw-rev"), "B");
    ck_assert_ptr_null(pfc_args_get(&a, "merchant"));

    parse_ok(&a, show);
    ck_assert_str_eq(a.cmd->name, "device");
    ck_assert_str_eq(pfc_args_pos(&a, "SERIAL"), "PF1");

    parse_ok(&a, revoke);
    ck_assert_str_eq(a.cmd->name, "device revoke");
    ck_assert_str_eq(pfc_args_pos(&a, "SERIAL"), "PF9");
}
END_TEST

START_TEST(test_parse_globals_anywhere)
{
    struct pfc_args a;
    const char *const before[] = {"--json", "--server", "http://h:1", "devices", "--all", NULL};
    const char *const after[] = {"devices", "--status=online", "--limit", "5",
                                 "--json",  "--timeout",       "7",       NULL};
    const char *const dashdash[] = {"device", "--", "-PF1", NULL};

    parse_ok(&a, before);
    ck_assert_str_eq(a.cmd->name, "devices");
    ck_assert(pfc_args_flag(&a, "json"));
    ck_assert(pfc_args_flag(&a, "all"));
    ck_assert_str_eq(pfc_args_get(&a, "server"), "http://h:1");
    ck_assert_int_eq(pfc_args_int(&a, "timeout", 30), 30);

    parse_ok(&a, after);
    ck_assert(pfc_args_flag(&a, "json"));
    ck_assert(!pfc_args_flag(&a, "all"));
    ck_assert_str_eq(pfc_args_get(&a, "status"), "online");
    ck_assert_int_eq(pfc_args_int(&a, "limit", 0), 5);
    ck_assert_int_eq(pfc_args_int(&a, "timeout", 30), 7);

    /* "--" ends the options; a serial may start with '-'. */
    parse_ok(&a, dashdash);
    ck_assert_str_eq(pfc_args_pos(&a, "SERIAL"), "-PF1");
}
END_TEST

START_TEST(test_help)
{
    struct run r;
    const char *const top[] = {"--help", NULL};
    const char *const add[] = {"device", "add", "-h", NULL};
    const char *const dev[] = {"device", "--help", NULL};

    run_cli(&r, top);
    ck_assert_int_eq(r.status, 0);
    ck_assert_uint_eq(r.errlen, 0);
    for (size_t i = 0; i < pfc_ncommands; i++)
        ck_assert_ptr_nonnull(strstr(r.out, pfc_commands[i].help));
    ck_assert_ptr_nonnull(strstr(r.out, "3 posfleetd unreachable"));
    run_free(&r);

    /* --help needs none of the required arguments. */
    run_cli(&r, add);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(
            r.out, "usage: posfleet device add SERIAL --model M [--hw-rev R] [--merchant ID]\n"));
    run_free(&r);

    run_cli(&r, dev);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "related commands:"));
    ck_assert_ptr_nonnull(strstr(r.out, "device revoke SERIAL"));
    run_free(&r);
}
END_TEST

START_TEST(test_request_path_and_body)
{
    struct pfc_args a;
    struct pf_error err = {0};
    char path[256];
    json_t *body;
    char *text;
    const char *const list[] = {"devices", "--model", "A 920/x", "--status", "never",
                                "--limit", "50",      "--all",   NULL};
    const char *const show[] = {"device", "PF-1_a", "--health", "5", NULL};
    const char *const revoke[] = {"device", "revoke", "PF1", NULL};
    const char *const add[] = {"device", "add",        "PF1", "--model",
                               "A920",   "--merchant", "M-7", NULL};

    parse_ok(&a, list);
    ck_assert_int_eq(pfc_request_path(&a, NULL, NULL, path, sizeof(path), &err), 0);
    /* Options are sent in table order, values escaped; --all is not a query parameter. */
    ck_assert_str_eq(path, "/v1/devices?status=never&model=A%20920%2Fx&limit=50");
    ck_assert_int_eq(pfc_request_path(&a, "after", "PF 2", path, sizeof(path), &err), 0);
    ck_assert_str_eq(path, "/v1/devices?status=never&model=A%20920%2Fx&limit=50&after=PF%202");
    ck_assert_int_eq(pfc_request_path(&a, NULL, NULL, path, 20, &err), PF_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "request path too long"));
    ck_assert_int_eq(pfc_request_body(&a, &body, &err), 0);
    ck_assert_ptr_null(body);

    parse_ok(&a, show);
    ck_assert_int_eq(pfc_request_path(&a, NULL, NULL, path, sizeof(path), &err), 0);
    ck_assert_str_eq(path, "/v1/devices/PF-1_a?health=5");

    parse_ok(&a, revoke);
    ck_assert_int_eq(pfc_request_path(&a, NULL, NULL, path, sizeof(path), &err), 0);
    ck_assert_str_eq(path, "/v1/devices/PF1/revoke");

    parse_ok(&a, add);
    ck_assert_int_eq(pfc_request_path(&a, NULL, NULL, path, sizeof(path), &err), 0);
    ck_assert_str_eq(path, "/v1/devices");
    ck_assert_int_eq(pfc_request_body(&a, &body, &err), 0);
    text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(text, "{\"merchant_id\":\"M-7\",\"model\":\"A920\",\"serial\":\"PF1\"}");
    free(text);
    json_decref(body);
}
END_TEST

/* Chinese text goes into the body unchanged; the limits count characters, as posfleetd does. */
START_TEST(test_text_options_utf8)
{
    struct pfc_args a;
    struct pf_error err = {0};
    char name[3 * 129 + 1], *argv[8];
    json_t *body;
    size_t off = 0;
    const char *const add[] = {"merchant",
                               "update",
                               "M1",
                               "--name",
                               "幸运面馆",
                               "--address",
                               "上海市徐汇区漕溪北路 88 号",
                               "--contact",
                               "王芳",
                               NULL};
    const char *const note[] = {"repair", "update", "7", "--notes", "屏幕碎裂，已更换", NULL};

    parse_ok(&a, add);
    ck_assert_int_eq(pfc_request_body(&a, &body, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(body, "name")), "幸运面馆");
    ck_assert_str_eq(json_string_value(json_object_get(body, "contact_name")), "王芳");
    json_decref(body);
    parse_ok(&a, note);
    ck_assert_int_eq(pfc_request_body(&a, &body, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(body, "notes")), "屏幕碎裂，已更换");
    json_decref(body);

    /* 128 characters (384 bytes) fit the name; 129 do not. */
    for (int i = 0; i < 128; i++, off += 3)
        memcpy(name + off, "面", 3);
    name[off] = '\0';
    argv[0] = (char *)"posfleet", argv[1] = (char *)"merchant", argv[2] = (char *)"update";
    argv[3] = (char *)"M1", argv[4] = (char *)"--name", argv[5] = name, argv[6] = NULL;
    ck_assert_int_eq(pfc_args_parse(6, argv, pfc_commands, pfc_ncommands, &a, &err), 0);
    memcpy(name + off, "面", 4);
    ck_assert_int_eq(pfc_args_parse(6, argv, pfc_commands, pfc_ncommands, &a, &err), PF_EINVAL);
    ck_assert_str_eq(err.msg, "merchant update: --name: 129 characters, at most 128");
}
END_TEST

/* Splits an example command line as a shell would (blanks, '...' quotes) into argv. */
static int split_words(char *line, char **argv, int max)
{
    int argc = 0;
    char *p = line, *o;

    while (*p && argc < max) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        argv[argc++] = o = p;
        while (*p && *p != ' ') {
            if (*p == '\'') {
                for (p++; *p && *p != '\'';)
                    *o++ = *p++;
                ck_assert_msg(*p == '\'', "unbalanced quote in an example");
                p++;
            } else {
                *o++ = *p++;
            }
        }
        if (*p)
            p++;
        *o = '\0';
    }
    argv[argc] = NULL;
    return argc;
}

/*
 * Every command has --help with usage, options and an example, and the
 * example is a command line the parser accepts as that command: generated
 * from the table, so a new command or a renamed option cannot go stale.
 */
START_TEST(test_help_every_command_has_example)
{
    const struct pfc_command *c = &pfc_commands[_i];
    const char *words[8] = {NULL};
    char name[64], line[512], want[96], *argv[40];
    struct pfc_args a;
    struct pf_error err = {0};
    struct run r;
    int nw = 0, argc;

    snprintf(name, sizeof(name), "%s", c->name);
    for (char *save = NULL, *w = strtok_r(name, " ", &save); w; w = strtok_r(NULL, " ", &save))
        words[nw++] = w;
    words[nw++] = "--help";
    run_cli(&r, words);
    ck_assert_msg(r.status == 0, "%s --help: exit %d", c->name, r.status);
    snprintf(want, sizeof(want), "usage: posfleet %s", c->name);
    ck_assert_msg(strstr(r.out, want) == r.out, "%s: no usage line:\n%s", c->name, r.out);
    ck_assert_msg(c->example != NULL, "%s: no example in the command table", c->name);
    snprintf(want, sizeof(want), "\nexample:\n  posfleet %s", c->name);
    ck_assert_msg(strstr(r.out, want) != NULL, "%s: no example in its help:\n%s", c->name, r.out);
    for (size_t k = 0; c->opts && c->opts[k].name; k++) {
        snprintf(want, sizeof(want), "  --%s", c->opts[k].name);
        ck_assert_msg(strstr(r.out, want) != NULL, "%s: --%s not in its help", c->name,
                      c->opts[k].name);
    }
    run_free(&r);

    snprintf(line, sizeof(line), "%s", c->example);
    argc = split_words(line, argv, 39);
    ck_assert_str_eq(argv[0], "posfleet");
    ck_assert_msg(pfc_args_parse(argc, argv, pfc_commands, pfc_ncommands, &a, &err) == 0,
                  "%s: its example does not parse: %s", c->name, err.msg);
    ck_assert_msg(a.cmd == c, "%s: its example runs '%s'", c->name, a.cmd ? a.cmd->name : "-");
}
END_TEST

/* Every group (merchant, repair, rollout, bundle ...) lists its commands, one line each. */
START_TEST(test_help_every_group)
{
    size_t groups = 0;

    for (size_t i = 0; i < pfc_ncommands; i++) {
        const char *sp = strchr(pfc_commands[i].name, ' ');
        char group[32];
        const char *help[] = {group, "--help", NULL}, *bare[] = {group, NULL};
        struct run r;

        if (!sp)
            continue;
        snprintf(group, sizeof(group), "%.*s", (int)(sp - pfc_commands[i].name),
                 pfc_commands[i].name);
        ck_assert(pfc_is_group(pfc_commands, pfc_ncommands, group));
        run_cli(&r, help);
        ck_assert_msg(r.status == 0, "%s --help: exit %d: %s", group, r.status, r.err);
        for (size_t k = 0; k < pfc_ncommands; k++) {
            const char *n = pfc_commands[k].name;

            if (strncmp(n, group, strlen(group)) || n[strlen(group)] != ' ')
                continue;
            ck_assert_msg(strstr(r.out, n + strlen(group) + 1) &&
                                  strstr(r.out, pfc_commands[k].help),
                          "%s --help does not list %s:\n%s", group, n, r.out);
        }
        run_free(&r);
        /* A group alone is not a command: usage error naming it, exit 2 (unless it is one). */
        if (!strcmp(group, "device") || !strcmp(group, "diag") || !strcmp(group, "swap"))
            continue;
        run_cli(&r, bare);
        ck_assert_int_eq(r.status, PFC_EXIT_USAGE);
        ck_assert_ptr_nonnull(strstr(r.err, "missing subcommand"));
        ck_assert_ptr_nonnull(strstr(r.err, "--help' for its commands"));
        run_free(&r);
        groups++;
    }
    ck_assert_uint_ge(groups, 4);
}
END_TEST

/* Every row is usable: unique names, holes match positionals, limits respected. */
START_TEST(test_command_table_consistent)
{
    for (size_t i = 0; i < pfc_ncommands; i++) {
        const struct pfc_command *c = &pfc_commands[i];
        size_t nopts = 0, npos = 0;

        ck_assert_ptr_nonnull(c->help);
        ck_assert_msg(c->run || (c->method && c->path && c->render), "%s: no way to run", c->name);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(c->name, pfc_commands[j].name);
        while (c->opts && c->opts[nopts].name)
            nopts++;
        while (c->pos && c->pos[npos].name)
            npos++;
        ck_assert_uint_le(nopts, PFC_MAX_OPTS);
        ck_assert_uint_le(npos, PFC_MAX_POS);
        for (const char *p = c->path; p && (p = strchr(p, '{')); p++) {
            const char *end = strchr(p, '}');
            bool found = false;

            ck_assert_ptr_nonnull(end);
            for (size_t k = 0; k < npos; k++)
                found |= strlen(c->pos[k].name) == (size_t)(end - p - 1) &&
                         !strncmp(c->pos[k].name, p + 1, (size_t)(end - p - 1));
            ck_assert_msg(found, "%s: path hole without a positional", c->name);
        }
        /* No command option shadows a global one, but the merchant's own --tz (its zone;
         * the display zone's --tz goes before the command words there). */
        for (size_t k = 0; k < nopts; k++)
            for (size_t g = 0; pfc_global_opts[g].name; g++)
                if (strcmp(c->opts[k].name, "tz") || strncmp(c->name, "merchant ", 9))
                    ck_assert_str_ne(c->opts[k].name, pfc_global_opts[g].name);
    }
}
END_TEST

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_token_file)
{
    char dir[256], path[300], buf[PFC_TOKEN_MAX + 2];
    struct pf_error err = {0};

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/token", dir);

    write_file(path, "  s3cr3t-Tok3n \n# comment\n", 26);
    ck_assert_int_eq(pfc_token_read(path, buf, sizeof(buf), &err), 0);
    ck_assert_str_eq(buf, "s3cr3t-Tok3n");

    write_file(path, "s3cr3t-Tok3n", 12);
    ck_assert_int_eq(pfc_token_read(path, buf, sizeof(buf), &err), 0);
    ck_assert_str_eq(buf, "s3cr3t-Tok3n");

    write_file(path, "\n", 1);
    ck_assert_int_eq(pfc_token_read(path, buf, sizeof(buf), &err), PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "the token is empty"));

    /* The token never appears in a message, even when it is refused. */
    write_file(path, "s3cr3t Tok3n\n", 13);
    ck_assert_int_eq(pfc_token_read(path, buf, sizeof(buf), &err), PF_EINVAL);
    ck_assert_ptr_null(strstr(err.msg, "s3cr3t"));
    ck_assert_ptr_nonnull(strstr(err.msg, "one line of printable characters"));
    ck_assert_str_eq(buf, "");

    write_file(path, "s3cr\0t\n", 7);
    ck_assert_int_eq(pfc_token_read(path, buf, sizeof(buf), &err), PF_EINVAL);
    ck_assert_ptr_null(strstr(err.msg, "s3cr"));

    snprintf(path, sizeof(path), "%s/missing", dir);
    ck_assert_int_eq(pfc_token_read(path, buf, sizeof(buf), &err), PF_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "No such file or directory"));
    pf_test_rmtree(dir);
}
END_TEST

START_TEST(test_token_env_refused_without_echo)
{
    struct run r;
    const char *const argv[] = {"summary", NULL};

    setenv("POSFLEET_URL", "http://127.0.0.1:1", 1);
    setenv("POSFLEET_TOKEN", "hunter2 with spaces", 1);
    run_cli(&r, argv);
    ck_assert_int_eq(r.status, PFC_EXIT_USAGE);
    ck_assert_ptr_null(strstr(r.err, "hunter2"));
    ck_assert_ptr_nonnull(strstr(r.err, "POSFLEET_TOKEN: the token must be one line"));
    run_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli_args");
    TCase *tc = tcase_create("usage");

    tcase_add_loop_test(tc, test_bad_usage_exits_2, 0,
                        (int)(sizeof(bad_usage) / sizeof(bad_usage[0])));
    tcase_add_test(tc, test_usage_hint_names_command);
    tcase_add_test(tc, test_parse_longest_command_wins);
    tcase_add_test(tc, test_parse_globals_anywhere);
    tcase_add_test(tc, test_help);
    tcase_add_test(tc, test_request_path_and_body);
    tcase_add_test(tc, test_command_table_consistent);
    tcase_add_test(tc, test_text_options_utf8);
    tcase_add_loop_test(tc, test_help_every_command_has_example, 0, (int)pfc_ncommands);
    tcase_add_test(tc, test_help_every_group);
    tcase_add_test(tc, test_token_file);
    tcase_add_test(tc, test_token_env_refused_without_echo);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
