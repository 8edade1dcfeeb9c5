/*
 * accounts.h - people: who is asking (a principal), passwords, sessions, API
 * tokens and the login throttle.
 *
 * A request names itself with a secret: a token of the tokens file (the
 * bootstrap; a headquarters identity), a session token (from login) or an
 * API token (named, owned by a user, expiring, revocable). All three are
 * compared as BLAKE2b-256 hashes; the store keeps only hashes.
 * pfs_accounts_authenticate() turns a secret into a principal: a name, a
 * role, an organisation and the scope (store_accounts.h) everything it reads
 * is filtered by.
 *
 * Passwords are Argon2id strings (crypto_pwhash_str). Hashing and verifying
 * are slow on purpose, so they run on libuv's thread pool (pfs_accounts_pw):
 * the loop goes on serving while a login is checked.
 *
 * The throttle: an account is locked for lock_ms after lock_after failed
 * logins in a row (kept in the store, so a restart does not reset it); a
 * client address is locked for lock_ms after addr_max failed logins within
 * lock_ms (kept in memory). Every login, failure and lock-out is audited by
 * the store; never the password.
 *
 * struct pfs_accounts is caller-owned (pfs_accounts_init/_release) and used
 * on the loop thread; it borrows the store, clock and log.
 */
#ifndef PFS_ACCOUNTS_H
#define PFS_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "api/tokens.h"
#include "pf/clock.h"
#include "pf/error.h"
#include "store/store_accounts.h"

#define PFS_SECRET_TEXT_LEN 43 /* base64url of 32 random bytes */
#define PFS_PASSWORD_MIN    10
#define PFS_PASSWORD_MAX    256

enum pfs_auth_via { PFS_VIA_FILE, PFS_VIA_SESSION, PFS_VIA_TOKEN };
extern const char *const pfs_auth_via_names[]; /* "file", "session", "token", NULL */

/* Who asks. */
struct pfs_principal {
    char name[PFS_USER_NAME_MAX + 1];
    enum pfs_role role;
    enum pfs_auth_via via;
    char org[PFS_ORG_NAME_MAX + 1];
    struct pfs_scope scope;
    char csrf[PFS_CSRF_LEN + 1];          /* sessions only */
    uint8_t secret_hash[PFS_SECRET_HASH]; /* the session's or token's hash */
};

struct acc__addr;

struct pfs_accounts {
    uv_loop_t *loop; /* for password work; NULL: done in the caller */
    struct pfs_store *store;
    const struct pf_clock *clock;
    int64_t session_ttl_ms; /* default 12 h */
    int lock_after;         /* failed logins of an account before its lock; default 5 */
    int addr_max;           /* failed logins of an address before its lock; default 20 */
    int64_t lock_ms;        /* default 15 min */
    unsigned long long opslimit;
    size_t memlimit;
    struct acc__addr *addrs; /* failures by client address */
    size_t naddrs, addrs_cap;
};

void pfs_accounts_init(struct pfs_accounts *a, uv_loop_t *loop, struct pfs_store *store,
                       const struct pf_clock *clock);
void pfs_accounts_release(struct pfs_accounts *a);

/* The principal of a presented secret that is not in the tokens file: a
 * session, else an API token (its last use recorded). PF_EAUTH if none.
 * (api_route.c tries the tokens file first.) */
int pfs_accounts_authenticate(struct pfs_accounts *a, const char *secret, size_t len,
                              struct pfs_principal *out) PF_WUR;
/* The principal of a tokens-file entry: a headquarters identity. */
void pfs_accounts_file_principal(const struct pfs_token *t, struct pfs_principal *out);
/* A principal for a user record (a session or token of that user). */
int pfs_accounts_principal(const struct pfs_user_rec *u, enum pfs_auth_via via,
                           struct pfs_principal *out) PF_WUR;

/* A fresh random secret as text, and its hash. */
int pfs_accounts_secret(char text[PFS_SECRET_TEXT_LEN + 1], uint8_t hash[PFS_SECRET_HASH]) PF_WUR;
/* The hash of a presented secret. */
int pfs_accounts_secret_hash(const char *text, size_t len, uint8_t hash[PFS_SECRET_HASH]) PF_WUR;

/* Whether a password is acceptable (length); err says why not. */
int pfs_accounts_password_ok(const char *pw, struct pf_error *err) PF_WUR;

/*
 * Password work off the loop. With verify_hash set, checks password against
 * it (an empty verify_hash costs as much and never matches, so an unknown
 * user answers as slowly as a known one); with new_pw set (and the check
 * passed, if any), makes a new Argon2id string. done() runs on the loop
 * thread (before this returns without a loop) with rc (0, or PF_ECRYPTO /
 * PF_ENOMEM), whether the check passed, and the new hash ("" if none). The
 * passwords are copied and wiped.
 *
 * A check alone (new_pw NULL) that passes against a hash made with other
 * Argon2id limits than a->opslimit/memlimit (crypto_pwhash_str_needs_rehash)
 * also hashes password again with the current limits and hands that over as
 * new_hash: the caller stores it (pfs_store_user_rehash), so raising the
 * limits reaches every account at its next login.
 */
typedef void (*pfs_accounts_pw_fn)(void *ctx, int rc, bool verified, const char *new_hash);
int pfs_accounts_pw(struct pfs_accounts *a, const char *password, const char *verify_hash,
                    const char *new_pw, pfs_accounts_pw_fn done, void *ctx) PF_WUR;

/* --- the throttle --- */

/* Whether logins from addr are refused at now_ms. */
bool pfs_accounts_addr_locked(struct pfs_accounts *a, const char *addr, int64_t now_ms);
/* Counts a failed login from addr: true when this failure locks it. */
bool pfs_accounts_addr_failed(struct pfs_accounts *a, const char *addr, int64_t now_ms);
/* The lock an account gets from one more failure after failed ones (0: none). */
int64_t pfs_accounts_lock_until(const struct pfs_accounts *a, int64_t failed, int64_t now_ms);

#endif
