/*
 * apierr.h - posfleetd's refusals as one line for people and an exit code.
 *
 * posfleetd answers errors with {"error":"NAME","message":"text"} and a
 * status (400, 401, 403, 404, 409, 500). pfc_api_error turns that into a
 * PF_E* code and a message ("unknown serial PF123", "authentication failed:
 * check the token"); pfc_exit_code turns any PF_E* code from a request into
 * the documented exit status. Both are pure, so tests feed them canned input.
 */
#ifndef PFC_APIERR_H
#define PFC_APIERR_H

#include <stdbool.h>

#include <jansson.h>

#include "pf/error.h"

enum pfc_exit {
    PFC_EXIT_OK = 0,
    PFC_EXIT_API = 1,         /* posfleetd refused or failed the request, or answered nonsense */
    PFC_EXIT_USAGE = 2,       /* bad command line or local configuration (URL, token file) */
    PFC_EXIT_UNREACHABLE = 3, /* no answer: connection refused, unknown host, timeout */
    PFC_EXIT_AUTH = 4,        /* 401: missing, unknown or expired token */
    PFC_EXIT_FORBIDDEN = 5,   /* 403: the token's role may not do this */
};

/* The subject of POST /v1/login: its 401 shows posfleetd's reason. */
#define PFC_SUBJECT_LOGIN "login"

/*
 * Maps a non-2xx answer to a code and err->msg. body may be NULL (not JSON);
 * subject is the serial the request was about, PFC_SUBJECT_LOGIN for a login
 * (or NULL); have_token says whether a token was sent, for a more useful 401
 * message.
 */
int pfc_api_error(long status, json_t *body, const char *subject, bool have_token,
                  struct pf_error *err);

/* Exit status for the PF_E* code of a failed request. */
int pfc_exit_code(int code);

/*
 * Copies s into out[len] through pfc_safe_text (safe_text.h): controls,
 * C1, bidi overrides and invalid UTF-8 shown escaped ("\x1b", "\u009b"),
 * printable UTF-8 unchanged, so nothing a server or terminal sends can move
 * the cursor, retitle the terminal or smuggle escape sequences.
 */
void pfc_text_clean(const char *s, char *out, size_t len);

#endif
