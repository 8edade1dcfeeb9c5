/*
 * pki_token.c - generate an API token and record its BLAKE2b-256 digest.
 */
#include "pki_token.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sodium.h>

#include "pf/fileio.h"

#define TOKEN_FILE_MAX (4u * 1024 * 1024)

static const char *const token__roles[] = {"ops", "support", "viewer", "approver", "admin"};

int pfk_token_role_valid(const char *role)
{
    for (size_t i = 0; i < sizeof(token__roles) / sizeof(token__roles[0]); i++) {
        if (!strcmp(role, token__roles[i]))
            return 1;
    }
    return 0;
}

static bool token__name_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > PFK_TOKEN_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '@'))
            return false;
    }
    return true;
}

/* Locks the directory holding file: the file itself is replaced by rename. */
static int token__lock_dir(const char *file, struct pf_error *err)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(file, '/');
    int fd;

    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == file)
        snprintf(dir, sizeof(dir), "/");
    else if ((size_t)(slash - file) >= sizeof(dir))
        return pf_error_set(err, PF_ETOOBIG, "%s: path too long", file);
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return pf_error_set(err, errno == ENOENT ? PF_ENOENT : PF_EIO, "%s: %s", dir,
                            strerror(errno));
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            close(fd);
            return pf_error_set(err, PF_EIO, "%s: cannot lock: %s", dir, strerror(errno));
        }
    }
    return fd;
}

/* Checks every token line is "NAME ROLE HEX" and that name is not among them. */
static int token__check_file(const char *file, const char *buf, const char *name,
                             struct pf_error *err)
{
    size_t lineno = 0;

    for (const char *line = buf; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char copy[256], lname[PFK_TOKEN_NAME_MAX + 2], role[16], hex[80];
        char extra, *p;

        lineno++;
        if (len >= sizeof(copy))
            return pf_error_set(err, PF_EPARSE, "%s:%zu: line too long", file, lineno);
        memcpy(copy, line, len);
        copy[len] = '\0';
        /* Blank lines and '#' comments are kept as they are (posfleetd skips them). */
        p = copy + strspn(copy, " \t\r");
        if (*p && *p != '#') {
            if (sscanf(p, "%65s %15s %79s %c", lname, role, hex, &extra) != 3 ||
                !token__name_valid(lname) || !pfk_token_role_valid(role) || strlen(hex) != 64)
                return pf_error_set(err, PF_EPARSE, "%s:%zu: not NAME ROLE HEX", file, lineno);
            if (!strcmp(lname, name))
                return pf_error_set(err, PF_EEXIST, "%s: a token named %s exists", file, name);
        }
        line += len + (end ? 1 : 0);
    }
    return 0;
}

int pfk_token_create(const char *file, const char *name, const char *role, char *token,
                     size_t token_len, struct pf_error *err)
{
    unsigned char raw[32], digest[32];
    char hex[65], *old = NULL, *buf = NULL;
    size_t old_len = 0, len;
    int lock_fd, rc, n;

    if (token_len < PFK_TOKEN_LEN + 1)
        return pf_error_set(err, PF_EINVAL, "token buffer too small");
    if (!token__name_valid(name))
        return pf_error_set(err, PF_EINVAL, "%s: token name must be 1..%d of A-Z a-z 0-9 . _ - @",
                            name, PFK_TOKEN_NAME_MAX);
    if (!pfk_token_role_valid(role))
        return pf_error_set(err, PF_EINVAL,
                            "%s: role must be ops, support, viewer, approver or admin", role);
    if (sodium_init() < 0)
        return pf_error_set(err, PF_ECRYPTO, "libsodium initialisation failed");

    lock_fd = token__lock_dir(file, err);
    if (lock_fd < 0)
        return lock_fd;
    rc = pf_file_read(file, TOKEN_FILE_MAX, &old, &old_len);
    if (rc == PF_ENOENT) {
        old = NULL;
        old_len = 0;
    } else if (rc < 0) {
        pf_error_set(err, rc, "%s: %s", file, pf_strerror(rc));
        goto out_unlock;
    }
    rc = token__check_file(file, old ? old : "", name, err);
    if (rc < 0)
        goto out_free;

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(token, token_len, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    crypto_generichash(digest, sizeof(digest), (const unsigned char *)token, strlen(token), NULL,
                       0);
    sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));

    len = old_len + strlen(name) + strlen(role) + sizeof(hex) + 4;
    buf = malloc(len);
    if (!buf) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_wipe;
    }
    n = snprintf(buf, len, "%s%s%s %s %s\n", old ? old : "",
                 old_len > 0 && old[old_len - 1] != '\n' ? "\n" : "", name, role, hex);
    if (n < 0 || (size_t)n >= len) {
        rc = pf_error_set(err, PF_ETOOBIG, "%s: line too long", file);
        goto out_wipe;
    }
    rc = pf_file_write_atomic(file, buf, (size_t)n, 0600);
    if (rc < 0)
        pf_error_set(err, rc, "%s: %s", file, pf_strerror(rc));

out_wipe:
    if (rc < 0)
        sodium_memzero(token, token_len);
out_free:
    free(buf);
    free(old);
out_unlock:
    close(lock_fd);
    return rc;
}
