/*
 * error.h - the one error convention of posfleet.
 *
 * Every fallible function returns 0 on success or a negative PF_E* code from
 * the table below; pf_strerror() names it. Where a person will read the reason
 * (configuration, messages, manifests, signatures, bundles) the function also
 * fills a caller-owned struct pf_error with context, prefixed as it propagates:
 * "manifest: payload fw.img: digest mismatch".
 */
#ifndef PF_ERROR_H
#define PF_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#define PF_WUR          __attribute__((warn_unused_result))
#define PF_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* X(name, value, text) — append only; values are part of the CLI/API contract. */
#define PF_ERRNO_MAP(X)                                                                            \
    X(OK, 0, "success")                                                                            \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(IO, -3, "input/output error")                                                                \
    X(NOENT, -4, "not found")                                                                      \
    X(EXIST, -5, "already exists")                                                                 \
    X(PARSE, -6, "malformed input")                                                                \
    X(SCHEMA, -7, "field missing or of the wrong type")                                            \
    X(RANGE, -8, "value out of range")                                                             \
    X(TOOBIG, -9, "input too large")                                                               \
    X(VERSION, -10, "unsupported schema version")                                                  \
    X(TOPIC, -11, "bad topic")                                                                     \
    X(NOSPACE, -12, "no space left")                                                               \
    X(PERM, -13, "permission denied")                                                              \
    X(STATE, -14, "not allowed in the current state")                                              \
    X(CONN, -15, "connection failed")                                                              \
    X(TIMEOUT, -16, "timed out")                                                                   \
    X(CRYPTO, -17, "cryptographic operation failed")                                               \
    X(UNKNOWN_SERIAL, -18, "unknown serial")                                                       \
    X(REVOKED, -19, "revoked")                                                                     \
    X(AUTH, -20, "authentication failed")                                                          \
    X(BAD_SIG, -30, "bad signature")                                                               \
    X(NO_SIG, -31, "missing signature")                                                            \
    X(KEY_UNKNOWN, -32, "unknown signing key")                                                     \
    X(KEY_REVOKED, -33, "signing key revoked")                                                     \
    X(KEY_EXPIRED, -34, "signing key outside its validity window")                                 \
    X(KEY_ROLE, -35, "signing key has the wrong role")                                             \
    X(ROOT_CHAIN, -36, "root key chain does not verify")                                           \
    X(EXPIRED, -37, "manifest expired")                                                            \
    X(ROLLBACK, -38, "version not above the installed one")                                        \
    X(MODEL, -39, "wrong model")                                                                   \
    X(HWREV, -40, "wrong hardware revision")                                                       \
    X(SIZE, -41, "payload size mismatch")                                                          \
    X(DIGEST, -42, "payload digest mismatch")                                                      \
    X(EXCESS, -43, "more data than declared")                                                      \
    X(MISSING_ENTRY, -44, "missing bundle entry")                                                  \
    X(EXTRA_ENTRY, -45, "unexpected bundle entry")                                                 \
    X(UNSAFE_PATH, -46, "unsafe entry path")                                                       \
    X(ENTRY_TYPE, -47, "entry is not a regular file")                                              \
    X(LIMIT, -48, "size or count limit exceeded")                                                  \
    X(FEETABLE, -49, "invalid fee table")                                                          \
    X(RETAINED, -50, "retained message refused")                                                   \
    X(NOT_OFFERED, -51, "not offered to this terminal")                                            \
    X(RATE, -52, "message rate limit exceeded")

enum pf_err {
#define PF__ERR_ENUM(name, val, text) PF_E##name = (val),
    PF_ERRNO_MAP(PF__ERR_ENUM)
#undef PF__ERR_ENUM
};

/* Static text for a PF_E* code; never NULL. */
const char *pf_strerror(int code);
/* Short stable identifier ("BAD_SIG") for a code, for JSON and metrics. */
const char *pf_errname(int code);

/* Human-readable context for an error. Caller-owned, fixed size, no heap. */
struct pf_error {
    int code;
    char msg[384];
};

/* Sets code and message; returns code so callers can `return pf_error_set(...)`.
 * err may be NULL. */
int pf_error_set(struct pf_error *err, int code, const char *fmt, ...) PF_PRINTF(3, 4);
/* Prepends "prefix: " to the existing message; returns err->code (0 if err is NULL). */
int pf_error_prefix(struct pf_error *err, const char *fmt, ...) PF_PRINTF(2, 3);
void pf_error_clear(struct pf_error *err);

#endif
