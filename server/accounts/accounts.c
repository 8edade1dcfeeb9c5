/*
 * accounts.c - principals, secrets, Argon2id work off the loop and the login
 * throttle (accounts.h).
 */
#include "accounts/accounts.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACC_ADDR_MAX_TRACKED 4096

const char *const pfs_auth_via_names[] = {"file", "session", "token", NULL};

/* Failed logins from one client address within the window. */
struct acc__addr {
    char addr[64];
    int failures;
    int64_t first_ms;  /* the window's start */
    int64_t locked_ms; /* locked until */
};

void pfs_accounts_init(struct pfs_accounts *a, uv_loop_t *loop, struct pfs_store *store,
                       const struct pf_clock *clock)
{
    memset(a, 0, sizeof(*a));
    a->loop = loop;
    a->store = store;
    a->clock = clock;
    a->session_ttl_ms = 12 * 3600 * 1000LL;
    a->lock_after = 5;
    a->addr_max = 20;
    a->lock_ms = 15 * 60 * 1000LL;
    a->opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    a->memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
}

void pfs_accounts_release(struct pfs_accounts *a)
{
    free(a->addrs);
    a->addrs = NULL;
    a->naddrs = a->addrs_cap = 0;
}

int pfs_accounts_secret_hash(const char *text, size_t len, uint8_t hash[PFS_SECRET_HASH])
{
    if (sodium_init() < 0 ||
        crypto_generichash(hash, PFS_SECRET_HASH, (const unsigned char *)text, len, NULL, 0) != 0)
        return PF_ECRYPTO;
    return 0;
}

int pfs_accounts_secret(char text[PFS_SECRET_TEXT_LEN + 1], uint8_t hash[PFS_SECRET_HASH])
{
    uint8_t rnd[32];

    if (sodium_init() < 0)
        return PF_ECRYPTO;
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2base64(text, PFS_SECRET_TEXT_LEN + 1, rnd, sizeof(rnd),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(rnd, sizeof(rnd));
    return pfs_accounts_secret_hash(text, strlen(text), hash);
}

int pfs_accounts_principal(const struct pfs_user_rec *u, enum pfs_auth_via via,
                           struct pfs_principal *out)
{
    int role = pfs_role_parse(u->role);

    memset(out, 0, sizeof(*out));
    if (role < 0)
        return PF_EAUTH;
    snprintf(out->name, sizeof(out->name), "%s", u->name);
    out->role = (enum pfs_role)role;
    out->via = via;
    snprintf(out->org, sizeof(out->org), "%s", u->org);
    snprintf(out->scope.path, sizeof(out->scope.path), "%s", u->org_path);
    /* A merchant user sees its merchant only, whatever the organisation. */
    if (role == PFS_ROLE_MERCHANT) {
        if (!u->merchant[0])
            return PF_EAUTH;
        snprintf(out->scope.merchant, sizeof(out->scope.merchant), "%s", u->merchant);
    }
    return 0;
}

void pfs_accounts_file_principal(const struct pfs_token *t, struct pfs_principal *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", t->name);
    out->role = t->role;
    out->via = PFS_VIA_FILE;
    snprintf(out->org, sizeof(out->org), "headquarters");
    snprintf(out->scope.path, sizeof(out->scope.path), "%s", PFS_HQ_ORG_PATH);
}

int pfs_accounts_authenticate(struct pfs_accounts *a, const char *secret, size_t len,
                              struct pfs_principal *out)
{
    struct pfs_session_rec *sess = NULL;
    struct pfs_apitoken_rec tok;
    struct pfs_user_rec *u = NULL;
    uint8_t h[PFS_SECRET_HASH];
    int64_t now;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!secret || len == 0)
        return PF_EAUTH;
    if (!a || !a->store || len > 256)
        return PF_EAUTH;
    rc = pfs_accounts_secret_hash(secret, len, h);
    if (rc)
        return rc;
    now = pf_clock_wall_ms(a->clock);
    sess = malloc(sizeof(*sess));
    u = malloc(sizeof(*u));
    if (!sess || !u) {
        rc = PF_ENOMEM;
        goto out_free;
    }
    if (pfs_store_session_get(a->store, h, now, sess) == 0) {
        rc = pfs_accounts_principal(&sess->user, PFS_VIA_SESSION, out);
        if (!rc) {
            snprintf(out->csrf, sizeof(out->csrf), "%s", sess->csrf);
            memcpy(out->secret_hash, h, sizeof(h));
        }
        goto out_free;
    }
    if (pfs_store_apitoken_use(a->store, h, now, &tok, u) == 0) {
        rc = pfs_accounts_principal(u, PFS_VIA_TOKEN, out);
        if (!rc)
            memcpy(out->secret_hash, h, sizeof(h));
        goto out_free;
    }
    rc = PF_EAUTH;
out_free:
    if (sess)
        sodium_memzero(sess, sizeof(*sess));
    free(sess);
    if (u)
        sodium_memzero(u, sizeof(*u));
    free(u);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

int pfs_accounts_password_ok(const char *pw, struct pf_error *err)
{
    size_t n = pw ? strlen(pw) : 0;

    if (n < PFS_PASSWORD_MIN || n > PFS_PASSWORD_MAX)
        return pf_error_set(err, PF_EINVAL, "password: %d to %d characters", PFS_PASSWORD_MIN,
                            PFS_PASSWORD_MAX);
    return 0;
}

/* --- password work on the thread pool --- */

struct acc__pw {
    uv_work_t work;
    char password[PFS_PASSWORD_MAX + 1];
    char verify_hash[crypto_pwhash_STRBYTES];
    char new_pw[PFS_PASSWORD_MAX + 1];
    char new_hash[crypto_pwhash_STRBYTES];
    bool verify, make, verified;
    unsigned long long ops;
    size_t mem;
    int rc;
    pfs_accounts_pw_fn done;
    void *ctx;
};

static void acc__pw_work(uv_work_t *w)
{
    struct acc__pw *j = w->data;

    if (j->verify) {
        if (j->verify_hash[0]) {
            j->verified =
                    crypto_pwhash_str_verify(j->verify_hash, j->password, strlen(j->password)) == 0;
            /* A login with a hash made at other limits: hashed again with today's. */
            if (j->verified && !j->make &&
                crypto_pwhash_str_needs_rehash(j->verify_hash, j->ops, j->mem) != 0 &&
                crypto_pwhash_str(j->new_hash, j->password, strlen(j->password), j->ops, j->mem) !=
                        0)
                j->new_hash[0] = '\0'; /* no memory now: the old hash serves until next time */
        } else {
            /* An unknown user: as much work as a check, and no match. */
            if (crypto_pwhash_str(j->new_hash, j->password, strlen(j->password), j->ops, j->mem) !=
                0)
                j->rc = PF_ENOMEM;
            j->new_hash[0] = '\0';
            j->verified = false;
        }
    }
    if (j->make && (!j->verify || j->verified) && !j->rc) {
        if (crypto_pwhash_str(j->new_hash, j->new_pw, strlen(j->new_pw), j->ops, j->mem) != 0)
            j->rc = PF_ENOMEM; /* libsodium fails only without memory */
    }
    sodium_memzero(j->password, sizeof(j->password));
    sodium_memzero(j->new_pw, sizeof(j->new_pw));
}

static void acc__pw_after(uv_work_t *w, int status)
{
    struct acc__pw *j = w->data;

    (void)status;
    j->done(j->ctx, j->rc, j->verified, j->new_hash);
    sodium_memzero(j, sizeof(*j));
    free(j);
}

int pfs_accounts_pw(struct pfs_accounts *a, const char *password, const char *verify_hash,
                    const char *new_pw, pfs_accounts_pw_fn done, void *ctx)
{
    struct acc__pw *j;

    if (sodium_init() < 0)
        return PF_ECRYPTO;
    if ((password && strlen(password) > PFS_PASSWORD_MAX) ||
        (new_pw && strlen(new_pw) > PFS_PASSWORD_MAX) ||
        (verify_hash && strlen(verify_hash) >= crypto_pwhash_STRBYTES))
        return PF_EINVAL;
    j = calloc(1, sizeof(*j));
    if (!j)
        return PF_ENOMEM;
    j->work.data = j;
    j->verify = verify_hash != NULL;
    j->make = new_pw != NULL;
    if (password)
        memcpy(j->password, password, strlen(password));
    if (verify_hash)
        memcpy(j->verify_hash, verify_hash, strlen(verify_hash));
    if (new_pw)
        memcpy(j->new_pw, new_pw, strlen(new_pw));
    j->ops = a->opslimit;
    j->mem = a->memlimit;
    j->done = done;
    j->ctx = ctx;
    if (!a->loop || uv_queue_work(a->loop, &j->work, acc__pw_work, acc__pw_after) != 0) {
        acc__pw_work(&j->work);
        acc__pw_after(&j->work, 0);
    }
    return 0;
}

/* --- the throttle --- */

static struct acc__addr *acc__addr_find(struct pfs_accounts *a, const char *addr, bool add,
                                        int64_t now_ms)
{
    for (size_t i = 0; i < a->naddrs; i++) {
        if (strcmp(a->addrs[i].addr, addr) == 0)
            return &a->addrs[i];
    }
    if (!add)
        return NULL;
    /* Forget windows that are over (and locks that ended) before growing. */
    for (size_t i = 0; i < a->naddrs;) {
        struct acc__addr *x = &a->addrs[i];

        if (x->locked_ms <= now_ms && now_ms - x->first_ms >= a->lock_ms)
            a->addrs[i] = a->addrs[--a->naddrs];
        else
            i++;
    }
    if (a->naddrs == a->addrs_cap) {
        size_t cap = a->addrs_cap ? 2 * a->addrs_cap : 16;
        struct acc__addr *v;

        if (cap > ACC_ADDR_MAX_TRACKED)
            return NULL;
        v = realloc(a->addrs, cap * sizeof(*v));
        if (!v)
            return NULL;
        a->addrs = v;
        a->addrs_cap = cap;
    }
    memset(&a->addrs[a->naddrs], 0, sizeof(a->addrs[0]));
    snprintf(a->addrs[a->naddrs].addr, sizeof(a->addrs[0].addr), "%s", addr);
    a->addrs[a->naddrs].first_ms = now_ms;
    return &a->addrs[a->naddrs++];
}

bool pfs_accounts_addr_locked(struct pfs_accounts *a, const char *addr, int64_t now_ms)
{
    struct acc__addr *x = acc__addr_find(a, addr, false, now_ms);

    return x && x->locked_ms > now_ms;
}

bool pfs_accounts_addr_failed(struct pfs_accounts *a, const char *addr, int64_t now_ms)
{
    struct acc__addr *x = acc__addr_find(a, addr, true, now_ms);

    if (!x)
        return false;
    if (now_ms - x->first_ms >= a->lock_ms) {
        x->first_ms = now_ms;
        x->failures = 0;
    }
    if (++x->failures >= a->addr_max) {
        x->locked_ms = now_ms + a->lock_ms;
        x->failures = 0;
        x->first_ms = now_ms;
        return true;
    }
    return false;
}

int64_t pfs_accounts_lock_until(const struct pfs_accounts *a, int64_t failed, int64_t now_ms)
{
    return failed + 1 >= a->lock_after ? now_ms + a->lock_ms : 0;
}
