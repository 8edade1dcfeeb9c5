/*
 * args.h - the command table's types and the command-line parser of posfleet.
 *
 * A command is one row of a table (commands.c): the words that name it
 * ("device add"), its positional arguments and options as pfc_opt arrays, and
 * either a request template (method, path with {SERIAL}-style holes, options
 * mapped to query parameters or JSON body fields, a renderer) or a custom run
 * function. The parser validates everything the table declares (types, ranges,
 * choices, serial syntax, required options) so a command never sees bad usage.
 *
 * Ownership: struct pfc_args only points into argv and into the table; it owns
 * nothing and needs no release.
 */
#ifndef PFC_ARGS_H
#define PFC_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "pf/error.h"

#define PFC_MAX_OPTS 20  /* options per command, and global options */
#define PFC_MAX_POS  4   /* positional arguments per command */
#define PFC_STR_MAX  256 /* longest accepted string value */

enum pfc_opt_type {
    PFC_OPT_FLAG,   /* no value */
    PFC_OPT_STR,    /* 1..PFC_STR_MAX printable ASCII characters */
    PFC_OPT_INT,    /* decimal integer in min..max */
    PFC_OPT_ENUM,   /* one of choices, "a|b|c" */
    PFC_OPT_SERIAL, /* a terminal serial (pf_serial_valid) */
    PFC_OPT_TEXT,   /* text a person typed: UTF-8, 1..max characters (pf/text.h) */
    PFC_OPT_TIME,   /* ISO 8601 with any offset, or local (when.h); sent as UTC ms */
};

/* An option (name without the leading "--") or a positional argument (name in
 * capitals; "[NAME]" makes a trailing positional optional). */
struct pfc_opt {
    const char *name;
    enum pfc_opt_type type;
    const char *metavar; /* shown in help: "--model M"; defaults from the type */
    bool required;
    const char *choices; /* PFC_OPT_ENUM */
    int64_t min, max;    /* PFC_OPT_INT; max: PFC_OPT_TEXT's limit in characters */
    const char *query;   /* request template: sent as ?query=value */
    const char *body;    /* request template: sent as the JSON body field body */
    const char *help;
};

struct pfc_ctx;
struct pfc_args;

/* Runs a command; returns 0 or a negative PF_E* code with err filled. */
typedef int (*pfc_run_fn)(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err);
/* Prints a successful answer for people; PF_ESCHEMA if the answer lacks what it needs. */
typedef int (*pfc_render_fn)(FILE *out, int64_t now_ms, const struct pfc_args *a, json_t *resp,
                             struct pf_error *err);

struct pfc_command {
    const char *name;           /* words separated by one space: "device add" */
    const struct pfc_opt *pos;  /* positionals, {0}-terminated, or NULL */
    const struct pfc_opt *opts; /* options, {0}-terminated, or NULL */
    const char *method;         /* request template: "GET", "POST" */
    const char *path;           /* request template: "/v1/devices/{SERIAL}" */
    pfc_render_fn render;       /* request template: human output */
    pfc_run_fn run;             /* custom flow instead of the template, or NULL */
    const char *help;           /* one line: what it does */
    const char *example;        /* one complete command line, "posfleet NAME ..." */
};

/* Options every command accepts, before or after the command words. */
extern const struct pfc_opt pfc_global_opts[];

struct pfc_args {
    const struct pfc_command *cmd;  /* NULL only with help and no command */
    const char *group;              /* with help and no command: a group's word ("merchant") */
    const char *pos[PFC_MAX_POS];   /* indexed like cmd->pos */
    const char *val[PFC_MAX_OPTS];  /* indexed like cmd->opts; flags hold "" when given */
    const char *gval[PFC_MAX_OPTS]; /* indexed like pfc_global_opts */
};

/*
 * Parses argv against the table of n commands. On bad usage returns PF_EINVAL
 * with err->msg naming the command and the fault ("devices: --limit: expected
 * a whole number from 1 to 1000, got 'x'"). A group's word alone ("merchant",
 * the first word of several commands) with --help parses with cmd NULL and
 * group set; without --help it is "merchant: missing subcommand" or
 * "merchant: unknown subcommand 'x'", and a->group is set for the hint.
 */
int pfc_args_parse(int argc, char **argv, const struct pfc_command *table, size_t n,
                   struct pfc_args *a, struct pf_error *err) PF_WUR;

/* The value of an option (command option first, then global), NULL if not given. */
const char *pfc_args_get(const struct pfc_args *a, const char *name);
bool pfc_args_flag(const struct pfc_args *a, const char *name);
/* The value of a global option only (merchant add's own --tz is the merchant's zone). */
const char *pfc_args_global(const struct pfc_args *a, const char *name);
/* The value of a positional by name ("SERIAL"), NULL if the command has none. */
const char *pfc_args_pos(const struct pfc_args *a, const char *name);
/* A validated PFC_OPT_INT option, or dflt when not given. */
int64_t pfc_args_int(const struct pfc_args *a, const char *name, int64_t dflt);

/* Help: the command list, or one command (and the commands under its words). */
void pfc_usage(FILE *f, const struct pfc_command *table, size_t n);
/* Whether word is a group: the first of several words of some command. */
bool pfc_is_group(const struct pfc_command *table, size_t n, const char *word);
/* A group's commands, one line each, as git and kubectl list theirs. */
void pfc_group_usage(FILE *f, const struct pfc_command *table, size_t n, const char *group);
void pfc_command_usage(FILE *f, const struct pfc_command *table, size_t n,
                       const struct pfc_command *cmd);

#endif
