/*
 * apierr.c - mapping API errors to messages and exit codes.
 */
#include "apierr.h"

#include "safe_text.h"

#include <string.h>

void pfc_text_clean(const char *s, char *out, size_t len)
{
    (void)pfc_safe_text(s, out, len);
}

int pfc_api_error(long status, json_t *body, const char *subject, bool have_token,
                  struct pf_error *err)
{
    const char *name = NULL, *message = NULL;
    char msg[256] = "";

    if (json_is_object(body)) {
        name = json_string_value(json_object_get(body, "error"));
        message = json_string_value(json_object_get(body, "message"));
    }
    if (message && *message)
        pfc_text_clean(message, msg, sizeof(msg));

    switch (status) {
    case 401:
        /* A login's refusal is about the user, not a token: say what posfleetd said
         * ("bad user or password", "account disabled: ask an administrator"). */
        if (subject && strcmp(subject, PFC_SUBJECT_LOGIN) == 0)
            return pf_error_set(err, PF_EAUTH, "login refused: %s",
                                msg[0] ? msg : "bad user or password");
        if (!have_token)
            return pf_error_set(err, PF_EAUTH,
                                "authentication failed: no token given (use --token-file or "
                                "POSFLEET_TOKEN)");
        return pf_error_set(err, PF_EAUTH, "authentication failed: check the token");
    case 403:
        return pf_error_set(err, PF_EPERM, "permission denied: %s",
                            msg[0] ? msg : "the token's role does not allow this");
    case 404:
        if (subject && (!name || !strcmp(name, "UNKNOWN_SERIAL")))
            return pf_error_set(err, PF_EUNKNOWN_SERIAL, "unknown serial %s", subject);
        if (name && !strcmp(name, "UNKNOWN_SERIAL"))
            return pf_error_set(err, PF_EUNKNOWN_SERIAL, "%s", msg[0] ? msg : "unknown serial");
        return pf_error_set(err, PF_ENOENT, "not found: %s",
                            msg[0] ? msg : "posfleetd does not know this request");
    case 400:
        return pf_error_set(err, PF_EINVAL, "%s", msg[0] ? msg : "request rejected (HTTP 400)");
    case 409:
        if (msg[0])
            return pf_error_set(err, PF_EEXIST, "%s", msg);
        if (subject)
            return pf_error_set(err, PF_EEXIST, "serial %s already exists", subject);
        return pf_error_set(err, PF_EEXIST, "conflict (HTTP 409)");
    default:
        break;
    }
    if (status >= 500)
        return pf_error_set(err, PF_EIO, "posfleetd failed (HTTP %ld)%s%s", status,
                            msg[0] ? ": " : "", msg);
    return pf_error_set(err, PF_EIO, "unexpected answer from posfleetd (HTTP %ld)%s%s", status,
                        msg[0] ? ": " : "", msg);
}

int pfc_exit_code(int code)
{
    switch (code) {
    case 0:
        return PFC_EXIT_OK;
    case PF_ECONN:
    case PF_ETIMEOUT:
        return PFC_EXIT_UNREACHABLE;
    case PF_EAUTH:
        return PFC_EXIT_AUTH;
    case PF_EPERM:
        return PFC_EXIT_FORBIDDEN;
    default:
        return PFC_EXIT_API;
    }
}
