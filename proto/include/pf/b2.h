/*
 * b2.h - BLAKE2b-256 payload digests (libsodium crypto_generichash) and their
 * hex form as written in manifests.
 *
 * Digests are fixed 32-byte arrays owned by the caller; the hex form is 64
 * lowercase characters. Nothing here allocates.
 */
#ifndef PF_B2_H
#define PF_B2_H

#include <stdint.h>
#include <stddef.h>

#include "pf/error.h"

#define PF_B2_LEN     32
#define PF_B2_HEX_LEN 64

/* Writes 64 lowercase hex characters and a NUL into out. */
void pf_b2_hex(const uint8_t digest[PF_B2_LEN], char out[PF_B2_HEX_LEN + 1]);
/* Parses exactly 64 lowercase hex characters; PF_EPARSE otherwise. */
int pf_b2_from_hex(const char *hex, uint8_t digest[PF_B2_LEN]) PF_WUR;
/* One-shot digest of a buffer. */
void pf_b2_buf(const void *buf, size_t len, uint8_t digest[PF_B2_LEN]);
/* Digest and size of a file, read in large blocks with bounded memory. */
int pf_b2_file(const char *path, uint8_t digest[PF_B2_LEN], uint64_t *size,
               struct pf_error *err) PF_WUR;

#endif
