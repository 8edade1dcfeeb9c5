/*
 * error.c - the error table and contextual error messages.
 */
#include "pf/error.h"

#include <stdio.h>
#include <string.h>

const char *pf_strerror(int code)
{
    switch (code) {
#define PF__ERR_TEXT(name, val, text)                                                              \
    case val:                                                                                      \
        return text;
        PF_ERRNO_MAP(PF__ERR_TEXT)
#undef PF__ERR_TEXT
    }
    return "unknown error";
}

const char *pf_errname(int code)
{
    switch (code) {
#define PF__ERR_NAME(name, val, text)                                                              \
    case val:                                                                                      \
        return #name;
        PF_ERRNO_MAP(PF__ERR_NAME)
#undef PF__ERR_NAME
    }
    return "UNKNOWN";
}

int pf_error_set(struct pf_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int pf_error_prefix(struct pf_error *err, const char *fmt, ...)
{
    char prefix[128];
    size_t plen, mlen;
    va_list ap;
    int n;

    if (!err)
        return 0;
    va_start(ap, fmt);
    n = vsnprintf(prefix, sizeof(prefix) - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return err->code;
    plen = strlen(prefix);
    memcpy(prefix + plen, ": ", 3);
    plen += 2;
    /* Keep the tail of the old message if the two do not fit: truncate, never overflow. */
    mlen = strnlen(err->msg, sizeof(err->msg) - 1);
    if (plen + mlen >= sizeof(err->msg))
        mlen = sizeof(err->msg) - 1 - plen;
    memmove(err->msg + plen, err->msg, mlen);
    memcpy(err->msg, prefix, plen);
    err->msg[plen + mlen] = '\0';
    return err->code;
}

void pf_error_clear(struct pf_error *err)
{
    if (!err)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}
