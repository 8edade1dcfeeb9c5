/*
 * static.h - the back office's files (docs/console.md), served by posfleetd
 * in front of the API.
 *
 * The console is a few static files: "/" is the directory's index.html, and
 * /js/, /css/, /i18n/ what lies under the same names there. Third-party
 * JavaScript comes from Debian's libjs-* packages under /usr/share/javascript,
 * served at /javascript/NAME/... for an allowed NAME only, as Debian's own web
 * applications do. Every other path goes to the wrapped service (the API).
 *
 * Console answers are GET or HEAD only (else 405), never a directory listing,
 * and a path is taken only when every segment is made of [A-Za-z0-9._-] and
 * does not start with a dot, so ".." and hidden files cannot be named; a file
 * of a type not in the table is absent. Every console answer, errors too,
 * carries the security headers of pfs_static_headers.
 */
#ifndef PFS_STATIC_H
#define PFS_STATIC_H

#include <limits.h>
#include <stdbool.h>

#include "net/http.h"

struct pfs_static {
    char dir[PATH_MAX];    /* the console's files; "" = no console (the API answers) */
    char js_dir[PATH_MAX]; /* Debian's /usr/share/javascript */
    struct pfs_http_service inner;
};

/* Name, value pairs, NULL-ended: CSP, nosniff, referrer, frames. */
extern const char *const pfs_static_headers[];

/* The service that answers console paths from st and hands the rest to inner. */
struct pfs_http_service pfs_static_service(struct pfs_static *st,
                                           const struct pfs_http_service *inner);

/* Whether path is one of the console's (the test of the wrapper, exposed for tests). */
bool pfs_static_is_console(const char *path);

/* The console's answer to method and path, into resp (status, body, type, headers). */
void pfs_static_answer(const struct pfs_static *st, const char *method, const char *path,
                       struct pfs_http_resp *resp);

#endif
