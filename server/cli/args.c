/*
 * args.c - command-line parsing driven by the command table.
 *
 * Grammar: posfleet [GLOBAL OPTIONS] WORDS... [OPTIONS] [POSITIONALS] where
 * options and positionals mix freely after the command words, "--name value"
 * and "--name=value" are equivalent, "--" ends the options and "-h" means
 * "--help". The longest run of words that names a command wins, so "device add
 * X" is the command "device add" while "device X" is "device".
 */
#include "args.h"

#include <string.h>

#include "pf/num.h"
#include "pf/text.h"
#include "pf/topic.h"
#include "when.h"

const struct pfc_opt pfc_global_opts[] = {
        {.name = "server",
         .type = PFC_OPT_STR,
         .metavar = "URL",
         .help = "posfleetd base URL (env POSFLEET_URL; default https://127.0.0.1:8080)"},
        {.name = "cacert",
         .type = PFC_OPT_STR,
         .metavar = "FILE",
         .help = "verify posfleetd's HTTPS certificate with the CA certificates in FILE "
                 "(env POSFLEET_CACERT; default: /etc/posfleet/api-ca.crt if readable, as "
                 "posfleetd init writes it, else the system's trusted CAs)"},
        {.name = "token-file",
         .type = PFC_OPT_STR,
         .metavar = "FILE",
         .help = "file holding the API bearer token (env POSFLEET_TOKEN, POSFLEET_TOKEN_FILE)"},
        {.name = "json", .type = PFC_OPT_FLAG, .help = "print the API's JSON (pretty) for scripts"},
        {.name = "tz",
         .type = PFC_OPT_STR,
         .metavar = "ZONE",
         .help = "show and read times in ZONE (Asia/Shanghai, UTC; default: TZ, else the "
                 "system's zone); before the command words for merchant add/update"},
        {.name = "connect-timeout",
         .type = PFC_OPT_INT,
         .metavar = "SECONDS",
         .min = 1,
         .max = 600,
         .help = "give up connecting after SECONDS (default 5)"},
        {.name = "timeout",
         .type = PFC_OPT_INT,
         .metavar = "SECONDS",
         .min = 1,
         .max = 3600,
         .help = "give up on a request after SECONDS in total (default 30)"},
        {.name = "help", .type = PFC_OPT_FLAG, .help = "show help and exit"},
        {0},
};

static size_t args__count(const struct pfc_opt *opts)
{
    size_t n = 0;

    while (opts && opts[n].name)
        n++;
    return n;
}

/* Number of words in name if they equal argv[0..], else 0. */
static size_t args__words_match(const char *name, char **argv, int argc)
{
    size_t words = 0;
    const char *p = name;

    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t len = sp ? (size_t)(sp - p) : strlen(p);

        if ((int)words >= argc || strlen(argv[words]) != len || memcmp(argv[words], p, len))
            return 0;
        words++;
        p += len;
        if (*p == ' ')
            p++;
    }
    return words;
}

static const struct pfc_command *args__find(const struct pfc_command *table, size_t n, char **argv,
                                            int argc, size_t *nwords)
{
    const struct pfc_command *best = NULL;

    *nwords = 0;
    for (size_t i = 0; i < n; i++) {
        size_t w = args__words_match(table[i].name, argv, argc);

        if (w > *nwords) {
            *nwords = w;
            best = &table[i];
        }
    }
    return best;
}

static bool args__printable(const char *s)
{
    for (; *s; s++) {
        if (*s < 0x20 || *s > 0x7e)
            return false;
    }
    return true;
}

static bool args__choice(const char *choices, const char *v)
{
    size_t vlen = strlen(v);
    const char *p = choices;

    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);

        if (len == vlen && !memcmp(p, v, len))
            return true;
        p += len;
        if (*p == '|')
            p++;
    }
    return false;
}

/* Checks value v against the option's type; label is "--name" or "SERIAL". */
static int args__check(const struct pfc_opt *o, const char *label, const char *v,
                       struct pf_error *err)
{
    switch (o->type) {
    case PFC_OPT_FLAG:
        return 0;
    case PFC_OPT_STR:
        if (!*v)
            return pf_error_set(err, PF_EINVAL, "%s: must not be empty", label);
        if (strlen(v) > PFC_STR_MAX || !args__printable(v))
            return pf_error_set(err, PF_EINVAL,
                                "%s: expected at most %d printable ASCII characters", label,
                                PFC_STR_MAX);
        return 0;
    case PFC_OPT_TIME: {
        int64_t ms;

        if (pfc_time_parse(NULL, v, &ms))
            return pf_error_set(err, PF_EINVAL,
                                "%s: expected an ISO 8601 time such as 2026-12-07T18:30+08:00, "
                                "2026-12-07T10:30Z or 2026-12-07 18:30 (in the display zone), "
                                "got '%.40s'",
                                label, v);
        return 0;
    }
    case PFC_OPT_TEXT:
        return pf_text_check(label, v, strlen(v), o->max > 0 ? (size_t)o->max : PFC_STR_MAX, 0,
                             NULL, err);
    case PFC_OPT_INT: {
        int64_t x;

        if (pf_parse_i64(v, o->min, o->max, &x))
            return pf_error_set(err, PF_EINVAL,
                                "%s: expected a whole number from %lld to %lld, got '%.40s'", label,
                                (long long)o->min, (long long)o->max, v);
        return 0;
    }
    case PFC_OPT_ENUM:
        if (!args__choice(o->choices, v))
            return pf_error_set(err, PF_EINVAL, "%s: expected one of %s, got '%.40s'", label,
                                o->choices, v);
        return 0;
    case PFC_OPT_SERIAL:
        if (!pf_serial_valid(v))
            return pf_error_set(err, PF_EINVAL,
                                "%s: '%.40s' is not a serial (1 to %d characters of A-Z a-z 0-9 "
                                "_ -)",
                                label, v, PF_SERIAL_MAX);
        return 0;
    }
    return pf_error_set(err, PF_EINVAL, "%s: unsupported option type", label);
}

/* The index of the option called name[0..len) in opts, or PF_ENOENT. */
static int args__lookup(const struct pfc_opt *opts, const char *name, size_t len)
{
    for (size_t i = 0; opts && opts[i].name; i++) {
        if (strlen(opts[i].name) == len && !memcmp(opts[i].name, name, len))
            return (int)i;
    }
    return PF_ENOENT;
}

/*
 * Consumes the option at argv[*i] (already known to start with '-'), looking
 * it up in the command's options first and the global ones second.
 */
static int args__take_option(int argc, char **argv, int *i, const struct pfc_opt *cmd_opts,
                             const char **cmd_val, struct pfc_args *a, struct pf_error *err)
{
    const char *s = argv[*i];
    const char *name, *eq, *v;
    const struct pfc_opt *o;
    const char **slot;
    char label[64];
    size_t len;
    int idx;

    char shortname[4];

    if (!strcmp(s, "-h"))
        s = "--help";
    /* "-x" is the option named "x" (a one-letter alias declared in the table). */
    if (s[0] == '-' && s[1] && s[1] != '-' && !s[2] &&
        (args__lookup(cmd_opts, s + 1, 1) >= 0 || args__lookup(pfc_global_opts, s + 1, 1) >= 0)) {
        snprintf(shortname, sizeof(shortname), "--%c", s[1]);
        s = shortname;
    }
    if (strncmp(s, "--", 2) || !s[2])
        return pf_error_set(err, PF_EINVAL, "unknown option '%.40s'", s);
    name = s + 2;
    eq = strchr(name, '=');
    len = eq ? (size_t)(eq - name) : strlen(name);
    idx = args__lookup(cmd_opts, name, len);
    if (idx >= 0) {
        o = &cmd_opts[idx];
        slot = &cmd_val[idx];
    } else if ((idx = args__lookup(pfc_global_opts, name, len)) >= 0) {
        o = &pfc_global_opts[idx];
        slot = &a->gval[idx];
    } else {
        return pf_error_set(err, PF_EINVAL, "unknown option '--%.*s'", (int)(len > 40 ? 40 : len),
                            name);
    }
    snprintf(label, sizeof(label), "--%s", o->name);
    if (*slot)
        return pf_error_set(err, PF_EINVAL, "%s: given more than once", label);
    if (o->type == PFC_OPT_FLAG) {
        if (eq)
            return pf_error_set(err, PF_EINVAL, "%s: takes no value", label);
        v = "";
    } else if (eq) {
        v = eq + 1;
    } else {
        if (*i + 1 >= argc)
            return pf_error_set(err, PF_EINVAL, "%s: needs a value", label);
        v = argv[++*i];
    }
    (*i)++;
    if (args__check(o, label, v, err))
        return err ? err->code : PF_EINVAL;
    *slot = v;
    return 0;
}

/* Edit distance of a[0..al) and b[0..bl), both at most 31 characters. */
static size_t args__distance(const char *a, size_t al, const char *b, size_t bl)
{
    size_t row[32];

    for (size_t j = 0; j <= bl; j++)
        row[j] = j;
    for (size_t i = 1; i <= al; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= bl; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[bl];
}

/*
 * The first word of a command that word is a typo of (at most two edits,
 * and fewer than half its letters), into best, for the hint; false if none.
 */
static bool args__nearest(const struct pfc_command *table, size_t n, const char *word,
                          char best[32])
{
    size_t wl = strlen(word), dbest = 3;

    best[0] = '\0';
    if (wl == 0 || wl > 31)
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *name = table[i].name, *sp = strchr(name, ' ');
        size_t nl = sp ? (size_t)(sp - name) : strlen(name), d;

        if (nl > 31)
            continue;
        d = args__distance(word, wl, name, nl);
        if (d < dbest && 2 * d < wl) {
            dbest = d;
            snprintf(best, 32, "%.*s", (int)nl, name);
        }
    }
    return best[0] != '\0';
}

bool pfc_is_group(const struct pfc_command *table, size_t n, const char *word)
{
    size_t len = strlen(word);

    for (size_t i = 0; i < n; i++) {
        if (!strncmp(table[i].name, word, len) && table[i].name[len] == ' ')
            return true;
    }
    return false;
}

/*
 * argv[i] is a group's word that no command of the table completes: help
 * for the group if --help (or -h) follows, else a usage error.
 */
static int args__group(int argc, char **argv, int i, struct pfc_args *a, struct pf_error *err)
{
    const char *group = argv[i];

    a->group = group;
    for (int k = i + 1; k < argc; k++) {
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            a->gval[args__lookup(pfc_global_opts, "help", 4)] = "";
            return 0;
        }
    }
    if (i + 1 < argc && argv[i + 1][0] != '-')
        return pf_error_set(err, PF_EINVAL, "%.40s: unknown subcommand '%.40s'", group,
                            argv[i + 1]);
    return pf_error_set(err, PF_EINVAL, "%.40s: missing subcommand", group);
}

int pfc_args_parse(int argc, char **argv, const struct pfc_command *table, size_t n,
                   struct pfc_args *a, struct pf_error *err)
{
    const struct pfc_command *cmd;
    bool opts_done = false;
    size_t nwords, npos = 0, maxpos;
    int i = 1, rc;

    memset(a, 0, sizeof(*a));
    /* Global options before the command words. */
    while (i < argc && argv[i][0] == '-' && argv[i][1]) {
        if ((rc = args__take_option(argc, argv, &i, NULL, NULL, a, err)))
            return rc;
    }
    if (i >= argc) {
        if (pfc_args_flag(a, "help"))
            return 0;
        return pf_error_set(err, PF_EINVAL, "missing command");
    }
    cmd = args__find(table, n, argv + i, argc - i, &nwords);
    if (!cmd && pfc_is_group(table, n, argv[i]))
        return args__group(argc, argv, i, a, err);
    if (!cmd) {
        char near[32];

        if (args__nearest(table, n, argv[i], near))
            return pf_error_set(err, PF_EINVAL, "unknown command '%.40s' (did you mean '%s'?)",
                                argv[i], near);
        return pf_error_set(err, PF_EINVAL, "unknown command '%.40s'", argv[i]);
    }
    a->cmd = cmd;
    i += (int)nwords;
    maxpos = args__count(cmd->pos);

    while (i < argc) {
        const char *s = argv[i];

        if (!opts_done && !strcmp(s, "--")) {
            opts_done = true;
            i++;
            continue;
        }
        if (!opts_done && s[0] == '-' && s[1]) {
            if ((rc = args__take_option(argc, argv, &i, cmd->opts, a->val, a, err)))
                return pf_error_prefix(err, "%s", cmd->name);
            continue;
        }
        if (npos >= maxpos)
            return pf_error_set(err, PF_EINVAL, "%s: unexpected argument '%.40s'", cmd->name, s);
        if (args__check(&cmd->pos[npos], cmd->pos[npos].name, s, err))
            return pf_error_prefix(err, "%s", cmd->name);
        a->pos[npos++] = s;
        i++;
    }
    /* With --help nothing else is required. */
    if (pfc_args_flag(a, "help"))
        return 0;
    /* A positional named "[NAME]" is optional (only trailing ones make sense). */
    if (npos < maxpos && cmd->pos[npos].name[0] != '[')
        return pf_error_set(err, PF_EINVAL, "%s: missing %s", cmd->name, cmd->pos[npos].name);
    for (size_t k = 0; cmd->opts && cmd->opts[k].name; k++) {
        if (cmd->opts[k].required && !a->val[k])
            return pf_error_set(err, PF_EINVAL, "%s: --%s is required", cmd->name,
                                cmd->opts[k].name);
    }
    return 0;
}

const char *pfc_args_get(const struct pfc_args *a, const char *name)
{
    int idx;

    if (a->cmd && (idx = args__lookup(a->cmd->opts, name, strlen(name))) >= 0)
        return a->val[idx];
    if ((idx = args__lookup(pfc_global_opts, name, strlen(name))) >= 0)
        return a->gval[idx];
    return NULL;
}

const char *pfc_args_global(const struct pfc_args *a, const char *name)
{
    int idx = args__lookup(pfc_global_opts, name, strlen(name));

    return idx >= 0 ? a->gval[idx] : NULL;
}

bool pfc_args_flag(const struct pfc_args *a, const char *name)
{
    return pfc_args_get(a, name) != NULL;
}

const char *pfc_args_pos(const struct pfc_args *a, const char *name)
{
    int idx;

    if (!a->cmd || (idx = args__lookup(a->cmd->pos, name, strlen(name))) < 0)
        return NULL;
    return a->pos[idx];
}

int64_t pfc_args_int(const struct pfc_args *a, const char *name, int64_t dflt)
{
    const char *v = pfc_args_get(a, name);
    int64_t x;

    /* The parser has validated the digits and the range. */
    return v && !pf_parse_i64(v, INT64_MIN, INT64_MAX, &x) ? x : dflt;
}

static const char *args__metavar(const struct pfc_opt *o)
{
    if (o->metavar)
        return o->metavar;
    switch (o->type) {
    case PFC_OPT_INT:
        return "N";
    case PFC_OPT_ENUM:
        return o->choices;
    case PFC_OPT_SERIAL:
        return "SERIAL";
    case PFC_OPT_TEXT:
        return "TEXT";
    case PFC_OPT_TIME:
        return "TIME";
    default:
        return "VALUE";
    }
}

/* "device add SERIAL" into buf. */
static void args__synopsis(const struct pfc_command *c, char *buf, size_t len)
{
    size_t off = (size_t)snprintf(buf, len, "%s", c->name);

    for (size_t i = 0; c->pos && c->pos[i].name && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, " %s", c->pos[i].name);
}

void pfc_usage(FILE *f, const struct pfc_command *table, size_t n)
{
    char syn[128];
    int width = 0;

    for (size_t i = 0; i < n; i++) {
        args__synopsis(&table[i], syn, sizeof(syn));
        if ((int)strlen(syn) > width)
            width = (int)strlen(syn);
    }
    fprintf(f, "usage: posfleet [GLOBAL OPTIONS] COMMAND [ARGS] [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < n; i++) {
        args__synopsis(&table[i], syn, sizeof(syn));
        fprintf(f, "  %-*s  %s\n", width, syn, table[i].help);
    }
    fprintf(f, "\nglobal options (any command):\n");
    for (size_t i = 0; pfc_global_opts[i].name; i++) {
        const struct pfc_opt *o = &pfc_global_opts[i];
        char opt[64];

        if (o->type == PFC_OPT_FLAG)
            snprintf(opt, sizeof(opt), "--%s", o->name);
        else
            snprintf(opt, sizeof(opt), "--%s %s", o->name, args__metavar(o));
        fprintf(f, "  %-26s %s\n", opt, o->help);
    }
    fprintf(f, "\nexit status: 0 ok, 1 refused or failed by posfleetd, 2 usage or local\n"
               "configuration, 3 posfleetd unreachable, 4 authentication failed,\n"
               "5 permission denied for the token's role.\n"
               "Run 'posfleet COMMAND --help' for a command's options and an example,\n"
               "'posfleet GROUP --help' for a group's commands (merchant, repair, rollout ...).\n");
}

void pfc_command_usage(FILE *f, const struct pfc_command *table, size_t n,
                       const struct pfc_command *cmd)
{
    char syn[128];
    size_t nlen = strlen(cmd->name);

    args__synopsis(cmd, syn, sizeof(syn));
    fprintf(f, "usage: posfleet %s", syn);
    for (size_t i = 0; cmd->opts && cmd->opts[i].name; i++) {
        const struct pfc_opt *o = &cmd->opts[i];

        fprintf(f, o->required ? " --%s" : " [--%s", o->name);
        if (o->type != PFC_OPT_FLAG)
            fprintf(f, " %s", args__metavar(o));
        fputs(o->required ? "" : "]", f);
    }
    fprintf(f, "\n\n%s\n", cmd->help);
    if (cmd->opts && cmd->opts[0].name) {
        fprintf(f, "\noptions:\n");
        for (size_t i = 0; cmd->opts[i].name; i++) {
            const struct pfc_opt *o = &cmd->opts[i];
            char opt[96];

            if (o->type == PFC_OPT_FLAG)
                snprintf(opt, sizeof(opt), "--%s", o->name);
            else
                snprintf(opt, sizeof(opt), "--%s %s", o->name, args__metavar(o));
            if (o->type == PFC_OPT_TEXT)
                fprintf(f, "  %-34s %s (UTF-8, at most %lld characters)\n", opt, o->help,
                        (long long)(o->max > 0 ? o->max : PFC_STR_MAX));
            else
                fprintf(f, "  %-34s %s\n", opt, o->help);
        }
    }
    if (cmd->example)
        fprintf(f, "\nexample:\n  %s\n", cmd->example);
    /* Commands under this one's words ("device" lists "device add"). */
    for (size_t i = 0, first = 1; i < n; i++) {
        if (&table[i] == cmd || strncmp(table[i].name, cmd->name, nlen) ||
            table[i].name[nlen] != ' ')
            continue;
        if (first)
            fprintf(f, "\nrelated commands:\n");
        first = 0;
        args__synopsis(&table[i], syn, sizeof(syn));
        fprintf(f, "  %-26s %s\n", syn, table[i].help);
    }
    fprintf(f, "\nGlobal options (--server, --cacert, --token-file, --json, timeouts): 'posfleet "
               "--help'.\n");
}

void pfc_group_usage(FILE *f, const struct pfc_command *table, size_t n, const char *group)
{
    size_t glen = strlen(group);
    char syn[128];
    int width = 0;

    for (int pass = 0; pass < 2; pass++) {
        if (pass)
            fprintf(f, "usage: posfleet %s COMMAND [ARGS] [OPTIONS]\n\ncommands:\n", group);
        for (size_t i = 0; i < n; i++) {
            if (strncmp(table[i].name, group, glen) || table[i].name[glen] != ' ')
                continue;
            args__synopsis(&table[i], syn, sizeof(syn));
            if (!pass && (int)strlen(syn + glen + 1) > width)
                width = (int)strlen(syn + glen + 1);
            else if (pass)
                fprintf(f, "  %-*s  %s\n", width, syn + glen + 1, table[i].help);
        }
    }
    fprintf(f, "\nRun 'posfleet %s COMMAND --help' for a command's options and an example.\n",
            group);
}
