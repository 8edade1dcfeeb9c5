/*
 * tokens.c - the tokens file and constant-time token checks.
 */
#include "api/tokens.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "pf/fileio.h"

#define TOKENS_FILE_MAX (1024 * 1024)
#define TOKENS_LINE_MAX 512

const char *const pfs_role_names[] = {"viewer", "support",  "ops", "approver",
                                      "admin",  "merchant", NULL};

/* The rank of the ordered roles (viewer < support < ops < admin). */
static int tokens__rank(enum pfs_role r)
{
    return r == PFS_ROLE_ADMIN ? 3 : (int)r;
}

bool pfs_role_may(enum pfs_role have, enum pfs_role need)
{
    if (need == PFS_ROLE_MERCHANT)
        return have == PFS_ROLE_MERCHANT || have == PFS_ROLE_SUPPORT || have == PFS_ROLE_OPS ||
               have == PFS_ROLE_ADMIN;
    if (have == PFS_ROLE_MERCHANT)
        return need == PFS_ROLE_VIEWER;
    if (need == PFS_ROLE_APPROVER || have == PFS_ROLE_APPROVER)
        return have == need || (have == PFS_ROLE_APPROVER && need == PFS_ROLE_VIEWER);
    return tokens__rank(have) >= tokens__rank(need);
}

int pfs_role_parse(const char *s)
{
    for (int i = 0; s && pfs_role_names[i]; i++) {
        if (strcmp(pfs_role_names[i], s) == 0)
            return i;
    }
    return -1;
}

static int tokens__hex(const char *s, size_t n, uint8_t *out)
{
    if (n != 2 * PFS_TOKEN_HASH_LEN)
        return PF_EPARSE;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int v;

        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else
            return PF_EPARSE;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return 0;
}

/* Splits the next blank-separated field of [*p, end). */
static size_t tokens__field(const char **p, const char *end, const char **start)
{
    const char *s = *p;

    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    *start = s;
    while (s < end && *s != ' ' && *s != '\t')
        s++;
    *p = s;
    return (size_t)(s - *start);
}

int pfs_tokens_parse(struct pfs_tokens *t, const char *buf, size_t len, const char *name,
                     struct pf_error *err)
{
    size_t pos = 0, cap = 0;
    int lineno = 0, rc = 0;

    memset(t, 0, sizeof(*t));
    while (pos < len) {
        const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
        const char *end = nl ? nl : buf + len, *p = line, *f[4];
        size_t fl[4];
        struct pfs_token tok;
        int role = -1;

        lineno++;
        pos = (size_t)(end - buf) + (nl ? 1 : 0);
        if (end > line && end[-1] == '\r')
            end--;
        if ((size_t)(end - line) > TOKENS_LINE_MAX) {
            rc = pf_error_set(err, PF_ETOOBIG, "%s:%d: line too long", name, lineno);
            goto out_free;
        }
        for (int i = 0; i < 4; i++)
            fl[i] = tokens__field(&p, end, &f[i]);
        if (fl[0] == 0 || f[0][0] == '#')
            continue;
        if (fl[3] != 0 || fl[2] == 0) {
            rc = pf_error_set(err, PF_EPARSE, "%s:%d: expected NAME ROLE HEX", name, lineno);
            goto out_free;
        }
        memset(&tok, 0, sizeof(tok));
        if (fl[0] > PFS_TOKEN_NAME_MAX) {
            rc = pf_error_set(err, PF_ETOOBIG, "%s:%d: name longer than %d", name, lineno,
                              PFS_TOKEN_NAME_MAX);
            goto out_free;
        }
        memcpy(tok.name, f[0], fl[0]);
        for (int i = 0; pfs_role_names[i]; i++) {
            if (strlen(pfs_role_names[i]) == fl[1] && memcmp(pfs_role_names[i], f[1], fl[1]) == 0)
                role = i;
        }
        if (role < 0) {
            rc = pf_error_set(err, PF_EPARSE,
                              "%s:%d: role must be admin, ops, support, viewer or approver", name,
                              lineno);
            goto out_free;
        }
        if (role == PFS_ROLE_MERCHANT) { /* a merchant is a user of one merchant only */
            rc = pf_error_set(err, PF_EPARSE,
                              "%s:%d: role must be admin, ops, support, viewer or approver", name,
                              lineno);
            goto out_free;
        }
        tok.role = (enum pfs_role)role;
        if (tokens__hex(f[2], fl[2], tok.hash)) {
            rc = pf_error_set(err, PF_EPARSE,
                              "%s:%d: hash must be 64 lowercase hex digits (BLAKE2b-256)", name,
                              lineno);
            goto out_free;
        }
        for (size_t i = 0; i < t->n; i++) {
            if (strcmp(t->v[i].name, tok.name) == 0 ||
                memcmp(t->v[i].hash, tok.hash, PFS_TOKEN_HASH_LEN) == 0) {
                rc = pf_error_set(err, PF_EEXIST, "%s:%d: duplicate name or token", name, lineno);
                goto out_free;
            }
        }
        if (t->n == cap) {
            size_t ncap = cap ? 2 * cap : 8;
            struct pfs_token *nv = realloc(t->v, ncap * sizeof(*nv));

            if (!nv) {
                rc = pf_error_set(err, PF_ENOMEM, "%s: out of memory", name);
                goto out_free;
            }
            t->v = nv;
            cap = ncap;
        }
        t->v[t->n++] = tok;
    }
    return 0;

out_free:
    pfs_tokens_release(t);
    return rc;
}

int pfs_tokens_load(struct pfs_tokens *t, const char *path, struct pf_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc;

    memset(t, 0, sizeof(*t));
    rc = pf_file_read(path, TOKENS_FILE_MAX, &buf, &len);
    if (rc)
        return pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));
    rc = pfs_tokens_parse(t, buf, len, path, err);
    sodium_memzero(buf, len);
    free(buf);
    return rc;
}

void pfs_tokens_release(struct pfs_tokens *t)
{
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

int pfs_tokens_auth(const struct pfs_tokens *t, const char *token, size_t len,
                    const struct pfs_token **out)
{
    uint8_t h[PFS_TOKEN_HASH_LEN];
    const struct pfs_token *found = NULL;

    *out = NULL;
    if (!token || len == 0)
        return PF_EAUTH;
    if (sodium_init() < 0)
        return PF_ECRYPTO;
    if (crypto_generichash(h, sizeof(h), (const unsigned char *)token, len, NULL, 0) != 0)
        return PF_ECRYPTO;
    /* Compare with every entry so timing does not depend on where a match is. */
    for (size_t i = 0; i < t->n; i++) {
        if (sodium_memcmp(h, t->v[i].hash, sizeof(h)) == 0)
            found = &t->v[i];
    }
    sodium_memzero(h, sizeof(h));
    if (!found)
        return PF_EAUTH;
    *out = found;
    return 0;
}

int pfs_token_hash_hex(const char *token, size_t len, char out[2 * PFS_TOKEN_HASH_LEN + 1])
{
    uint8_t h[PFS_TOKEN_HASH_LEN];

    if (sodium_init() < 0 ||
        crypto_generichash(h, sizeof(h), (const unsigned char *)token, len, NULL, 0) != 0)
        return PF_ECRYPTO;
    sodium_bin2hex(out, 2 * PFS_TOKEN_HASH_LEN + 1, h, sizeof(h));
    return 0;
}
