/*
 * pki_token.h - API bearer tokens for posfleetd.
 *
 * A token is 32 random bytes, base64url without padding (43 characters). The
 * tokens file holds one line per token, "NAME ROLE HEX", where HEX is the
 * lowercase hex of BLAKE2b-256 (crypto_generichash, 32 bytes, no key) of the
 * token string; the token itself is never stored. The file is mode 0600 and
 * replaced atomically; posfleetd reads it. The caller receives the token once
 * (to print it) and must wipe its buffer.
 */
#ifndef PFK_PKI_TOKEN_H
#define PFK_PKI_TOKEN_H

#include <stddef.h>

#include "pf/error.h"

#define PFK_TOKEN_LEN      43 /* characters, without the NUL */
#define PFK_TOKEN_NAME_MAX 64

/* True for ops, support, viewer, approver, admin. */
int pfk_token_role_valid(const char *role);

/*
 * Appends a new token for name/role to file and writes the token (NUL
 * terminated) into token, which must hold PFK_TOKEN_LEN + 1 bytes.
 * PF_EINVAL for a bad name or role, PF_EEXIST if the name is taken (nothing
 * written), PF_EPARSE if the file has a malformed line.
 */
int pfk_token_create(const char *file, const char *name, const char *role, char *token,
                     size_t token_len, struct pf_error *err) PF_WUR;

#endif
