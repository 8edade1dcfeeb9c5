/*
 * cli.h - posfleet, the ops/support command-line client of posfleetd's HTTP API.
 *
 * pfc_main() is the whole program: it parses the command line against the
 * command table (args.h, commands.c), sets up the connection (server URL,
 * token, timeouts; http.h), runs the command and prints either the answer
 * (render.h, or pretty JSON with --json) or one line on stderr with a
 * documented exit status (apierr.h). main.c only hands it the process's
 * streams and clock, so tests run the real program in-process.
 *
 * Ownership: pfc_main owns the struct pfc_ctx for one run; commands borrow it.
 * Nothing is global but the run's display zone, which pfc_main loads, hands
 * to when.h for the run (every time shown or typed uses it) and takes back.
 */
#ifndef PFC_CLI_H
#define PFC_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "apierr.h"
#include "args.h"
#include "http.h"
#include "pf/clock.h"
#include "pf/error.h"

#define PFC_DEFAULT_URL               "https://127.0.0.1:8080"
#define PFC_DEFAULT_CONNECT_TIMEOUT_S 5
#define PFC_DEFAULT_TIMEOUT_S         30

struct pfc_io {
    FILE *in;  /* answers to a confirmation (swap); NULL: none, as not on a terminal */
    FILE *out; /* answers */
    FILE *err; /* errors and notes */
    const struct pf_clock *clock;
};

struct pfc_ctx {
    const struct pfc_io *io;
    const struct pfc_command *cmd;
    struct pfc_http *http;
    bool have_token;
    bool json;
    bool usage; /* the run failed on bad usage found after parsing: exit 2 (pfc_usage_failed) */
};

/*
 * For run functions that check their arguments beyond the table's types
 * (rollout create's definition, say): marks the failure rc as bad usage, so
 * posfleet exits 2 with the usage hint, as for the parser's own errors.
 * Returns rc.
 */
int pfc_usage_failed(struct pfc_ctx *ctx, int rc);

/* Runs posfleet with argv; returns the exit status. */
int pfc_main(int argc, char **argv, const struct pfc_io *io);

/*
 * One API call: sends method path (with an optional JSON body), and on 2xx
 * hands back the parsed answer in *out (owned by the caller; {} for an empty
 * body). Anything else is a PF_E* code with err filled: see pfc_api_error.
 * subject is the serial the request is about, for "unknown serial X".
 */
int pfc_call(struct pfc_ctx *ctx, const char *method, const char *path, json_t *body,
             const char *subject, json_t **out, struct pf_error *err) PF_WUR;

/* pfc_call with a body of len bytes of content_type (the CSV import). */
int pfc_call_raw(struct pfc_ctx *ctx, const char *method, const char *path,
                 const char *content_type, const char *body, size_t len, const char *subject,
                 json_t **out, struct pf_error *err) PF_WUR;

/* Prints an answer: pretty JSON with --json, else through render. */
int pfc_emit(struct pfc_ctx *ctx, const struct pfc_args *a, pfc_render_fn render, json_t *resp,
             struct pf_error *err) PF_WUR;

/*
 * Builds the request path of a template command: fills {NAME} holes from the
 * positionals (escaped) and appends options that have a query name, plus
 * extra_key=extra_val when extra_key is not NULL.
 */
int pfc_request_path(const struct pfc_args *a, const char *extra_key, const char *extra_val,
                     char *buf, size_t len, struct pf_error *err) PF_WUR;

/* Builds the JSON body of a template command from arguments that have a body name; NULL if none. */
int pfc_request_body(const struct pfc_args *a, json_t **out, struct pf_error *err) PF_WUR;

/* The run function of template commands: one request, then pfc_emit. */
int pfc_run_template(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err) PF_WUR;

/*
 * Reads an API token from a file: the first line, surrounding blanks removed;
 * it must be printable ASCII without spaces. Error messages never include
 * the token. buf is wiped on failure.
 */
int pfc_token_read(const char *path, char *buf, size_t len, struct pf_error *err) PF_WUR;
/* Checks (and trims in place) a token taken from the environment. */
int pfc_token_check(char *token, const char *origin, struct pf_error *err) PF_WUR;

#endif
