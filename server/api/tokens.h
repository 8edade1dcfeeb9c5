/*
 * tokens.h - API bearer tokens and their roles.
 *
 * The tokens file holds one token per line, "NAME ROLE HEX", with '#'
 * comments and blank lines: NAME is who the token belongs to (recorded in
 * the audit log), ROLE is ops, support, viewer, approver or admin, and HEX is the lowercase hex
 * BLAKE2b-256 (libsodium crypto_generichash, 32 bytes, no key) of the token.
 * The file never holds a token itself. A presented token is hashed and
 * compared in constant time with every entry.
 *
 * Roles are ordered: viewer reads; support reads and runs diagnostics,
 * swaps and repairs; ops may do everything but approve; admin may what ops
 * may and also manage users and organisations. approver stands apart
 * (pfs_role_may): it reads like viewer and approves rollouts that wait for a
 * second pair of eyes (docs/rollouts.md), which no other role may do.
 * admin also runs the server's own administration (backups); `posfleetd
 * init` gives the first one. merchant stands apart too: it reads like viewer (what it sees is its
 * own merchant's, by its scope) and opens support requests.
 *
 * The tokens file is the bootstrap: its tokens are headquarters identities
 * (store_accounts.h); people log in with user accounts (accounts/).
 */
#ifndef PFS_TOKENS_H
#define PFS_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"

#define PFS_TOKEN_NAME_MAX 64
#define PFS_TOKEN_HASH_LEN 32

enum pfs_role {
    PFS_ROLE_VIEWER,
    PFS_ROLE_SUPPORT,
    PFS_ROLE_OPS,
    PFS_ROLE_APPROVER,
    PFS_ROLE_ADMIN,
    PFS_ROLE_MERCHANT,
    PFS_ROLE_COUNT
};
/* "viewer", "support", "ops", "approver", "admin", "merchant", NULL */
extern const char *const pfs_role_names[];

/* May a token of role have do what needs role need? viewer < support < ops <
 * admin in order; approver may what viewer may, and only approver may
 * approve; merchant may what viewer may; a route that needs merchant (a
 * support request) is open to merchant, support, ops and admin. */
bool pfs_role_may(enum pfs_role have, enum pfs_role need);
/* The role named s, or -1. */
int pfs_role_parse(const char *s);

struct pfs_token {
    char name[PFS_TOKEN_NAME_MAX + 1];
    enum pfs_role role;
    uint8_t hash[PFS_TOKEN_HASH_LEN];
};

/* A loaded tokens file; caller-owned, release with pfs_tokens_release(). */
struct pfs_tokens {
    struct pfs_token *v;
    size_t n;
};

/* Parses a tokens file held in memory; err names the line of a bad entry. */
int pfs_tokens_parse(struct pfs_tokens *t, const char *buf, size_t len, const char *name,
                     struct pf_error *err) PF_WUR;
int pfs_tokens_load(struct pfs_tokens *t, const char *path, struct pf_error *err) PF_WUR;
void pfs_tokens_release(struct pfs_tokens *t);

/* Finds the entry for a presented token; PF_EAUTH if none matches. */
int pfs_tokens_auth(const struct pfs_tokens *t, const char *token, size_t len,
                    const struct pfs_token **out) PF_WUR;

/* Lowercase hex BLAKE2b-256 of a token, as the tokens file stores it. */
int pfs_token_hash_hex(const char *token, size_t len, char out[2 * PFS_TOKEN_HASH_LEN + 1]) PF_WUR;

#endif
