/*
 * conf.c - "key = value" configuration files.
 */
#include "pf/conf.h"

#include <stdlib.h>
#include <string.h>

#include "pf/fileio.h"
#include "pf/num.h"

#define CONF_MAX_FILE (256 * 1024)
#define CONF_MAX_LINE 1023
#define CONF_MAX_KEYS 128

static char *conf__trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = '\0';
    return s;
}

static int conf__key_valid(const char *k)
{
    if (!*k)
        return 0;
    for (; *k; k++) {
        if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_' || *k == '.'))
            return 0;
    }
    return 1;
}

int pf_conf_parse(const char *buf, size_t len, const char *name, pf_conf_cb cb, void *ctx,
                  struct pf_error *err)
{
    char line[CONF_MAX_LINE + 1];
    char *seen[CONF_MAX_KEYS];
    int nseen = 0, lineno = 0, rc = 0;
    size_t pos = 0;

    while (pos < len && rc == 0) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
        char *key, *value, *eq;

        lineno++;
        if (n > CONF_MAX_LINE) {
            rc = pf_error_set(err, PF_ETOOBIG, "%s:%d: line too long", name, lineno);
            break;
        }
        memcpy(line, buf + pos, n);
        line[n] = '\0';
        pos += n + (nl ? 1 : 0);
        if (memchr(line, '\0', n)) {
            rc = pf_error_set(err, PF_EPARSE, "%s:%d: NUL byte", name, lineno);
            break;
        }
        key = conf__trim(line, line + n);
        if (*key == '\0' || *key == '#')
            continue;
        eq = strchr(key, '=');
        if (!eq) {
            rc = pf_error_set(err, PF_EPARSE, "%s:%d: expected key = value", name, lineno);
            break;
        }
        value = conf__trim(eq + 1, key + strlen(key));
        key = conf__trim(key, eq);
        if (!conf__key_valid(key)) {
            rc = pf_error_set(err, PF_EPARSE, "%s:%d: bad key name", name, lineno);
            break;
        }
        for (int i = 0; i < nseen; i++) {
            if (strcmp(seen[i], key) == 0) {
                rc = pf_error_set(err, PF_EEXIST, "%s:%d: %s: duplicate key", name, lineno, key);
                goto out;
            }
        }
        if (nseen == CONF_MAX_KEYS) {
            rc = pf_error_set(err, PF_ELIMIT, "%s:%d: too many keys", name, lineno);
            break;
        }
        seen[nseen] = strdup(key);
        if (!seen[nseen]) {
            rc = PF_ENOMEM;
            break;
        }
        nseen++;
        rc = cb(ctx, key, value, err);
        if (rc != 0)
            pf_error_prefix(err, "%s:%d", name, lineno);
    }
out:
    for (int i = 0; i < nseen; i++)
        free(seen[i]);
    return rc;
}

int pf_conf_parse_file(const char *path, pf_conf_cb cb, void *ctx, struct pf_error *err)
{
    char *buf;
    size_t len;
    int rc = pf_file_read(path, CONF_MAX_FILE, &buf, &len);

    if (rc != 0)
        return pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));
    rc = pf_conf_parse(buf, len, path, cb, ctx, err);
    free(buf);
    return rc;
}

int pf_conf_int(const char *key, const char *value, int64_t min, int64_t max, int64_t *out,
                struct pf_error *err)
{
    int rc = pf_parse_i64(value, min, max, out);

    if (rc == PF_EPARSE)
        return pf_error_set(err, rc, "%s: not an integer", key);
    if (rc)
        return pf_error_set(err, rc, "%s: %.40s out of range %lld..%lld", key, value,
                            (long long)min, (long long)max);
    return 0;
}

int pf_conf_bool(const char *key, const char *value, int *out, struct pf_error *err)
{
    if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "1")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0")) {
        *out = 0;
        return 0;
    }
    return pf_error_set(err, PF_EPARSE, "%s: expected true or false", key);
}

int pf_conf_str(const char *key, const char *value, char *out, size_t size, struct pf_error *err)
{
    size_t n = strlen(value);

    if (n >= size)
        return pf_error_set(err, PF_ETOOBIG, "%s: longer than %zu characters", key, size - 1);
    memcpy(out, value, n + 1);
    return 0;
}
