/*
 * minisign.h - Ed25519 keys and signatures in minisign's formats (libsodium).
 *
 * Signatures are minisign's prehashed "ED" kind: Ed25519 over the BLAKE2b-512
 * of the message, plus a global signature over (signature || trusted comment),
 * so `minisign -V -p KEY.pub -m FILE` verifies what pf_ms_sign() made.
 * Public key files are minisign's; secret key files use minisign's layout
 * without a passphrase (KDF "none"), are written 0600 and never printed.
 *
 * Key ids are 8 bytes, shown as 16 uppercase hex digits the way minisign shows
 * them (the bytes read as a little-endian integer).
 *
 * All structs are caller-owned values; secret keys must be wiped with
 * pf_ms_seckey_wipe() when no longer needed.
 */
#ifndef PF_MINISIGN_H
#define PF_MINISIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"

#define PF_MS_KEYID_LEN   8
#define PF_MS_KEYID_HEX   16
#define PF_MS_PK_B64_LEN  56   /* base64 of "Ed" || key id || pk */
#define PF_MS_COMMENT_MAX 1024 /* trusted comment bytes */
#define PF_MS_SIG_MAX     2048 /* a signature file is never larger */

struct pf_ms_pubkey {
    uint8_t key_id[PF_MS_KEYID_LEN];
    uint8_t pk[32];
};

struct pf_ms_seckey {
    uint8_t key_id[PF_MS_KEYID_LEN];
    uint8_t sk[64]; /* libsodium layout: seed || pk */
};

struct pf_ms_sig {
    uint8_t key_id[PF_MS_KEYID_LEN];
    uint8_t sig[64];
    uint8_t global_sig[64];
    char trusted_comment[PF_MS_COMMENT_MAX + 1];
};

/* Fresh random key pair with a random key id. */
int pf_ms_keygen(struct pf_ms_pubkey *pub, struct pf_ms_seckey *sec) PF_WUR;
void pf_ms_seckey_wipe(struct pf_ms_seckey *sec);
/* Public half of a secret key. */
void pf_ms_seckey_public(const struct pf_ms_seckey *sec, struct pf_ms_pubkey *pub);

void pf_ms_keyid_hex(const uint8_t id[PF_MS_KEYID_LEN], char out[PF_MS_KEYID_HEX + 1]);
/* Parses 16 hex digits (either case); PF_EPARSE otherwise. */
int pf_ms_keyid_parse(const char *hex, uint8_t id[PF_MS_KEYID_LEN]) PF_WUR;
/*
 * What signed documents (manifests, keyrings) must use: exactly the text
 * pf_ms_keyid_hex() writes, 16 upper-case hex digits, so a key has one id
 * string. PF_EPARSE if not 16 hex digits, PF_ERANGE if hex but not canonical
 * (lower case).
 */
int pf_ms_keyid_parse_canonical(const char *hex, uint8_t id[PF_MS_KEYID_LEN]) PF_WUR;
bool pf_ms_pubkey_equal(const struct pf_ms_pubkey *a, const struct pf_ms_pubkey *b);

/* The one-line base64 form of a public key ("RWQ..."), as in .pub files and keyrings. */
void pf_ms_pubkey_b64(const struct pf_ms_pubkey *pub, char out[PF_MS_PK_B64_LEN + 1]);
int pf_ms_pubkey_from_b64(const char *b64, struct pf_ms_pubkey *pub, struct pf_error *err) PF_WUR;

/* Public key files (minisign format: untrusted comment line + base64 line). */
int pf_ms_pubkey_parse(const char *buf, size_t len, struct pf_ms_pubkey *pub,
                       struct pf_error *err) PF_WUR;
int pf_ms_pubkey_load(const char *path, struct pf_ms_pubkey *pub, struct pf_error *err) PF_WUR;
int pf_ms_pubkey_save(const char *path, const struct pf_ms_pubkey *pub,
                      struct pf_error *err) PF_WUR;

/* Secret key files: written atomically with mode 0600, refused if they exist. */
int pf_ms_seckey_save(const char *path, const struct pf_ms_seckey *sec,
                      struct pf_error *err) PF_WUR;
int pf_ms_seckey_load(const char *path, struct pf_ms_seckey *sec, struct pf_error *err) PF_WUR;

/*
 * Signs msg; writes a complete minisign signature file (NUL-terminated) into
 * out[outlen]. trusted_comment must be one line of at most PF_MS_COMMENT_MAX bytes.
 */
int pf_ms_sign(const struct pf_ms_seckey *sec, const void *msg, size_t len,
               const char *trusted_comment, char *out, size_t outlen, size_t *written,
               struct pf_error *err) PF_WUR;

/* Parses a signature file; PF_ENO_SIG if empty, PF_EBAD_SIG if malformed. */
int pf_ms_sig_parse(const char *buf, size_t len, struct pf_ms_sig *sig,
                    struct pf_error *err) PF_WUR;

/* Checks key id, the prehashed signature and the global (trusted comment) signature. */
int pf_ms_verify(const struct pf_ms_pubkey *pub, const struct pf_ms_sig *sig, const void *msg,
                 size_t len, struct pf_error *err) PF_WUR;

/* Raw Ed25519 over a short message (root endorsements inside keyrings). */
void pf_ms_sign_raw(const struct pf_ms_seckey *sec, const void *msg, size_t len, uint8_t sig[64]);
bool pf_ms_verify_raw(const struct pf_ms_pubkey *pub, const void *msg, size_t len,
                      const uint8_t sig[64]);

#endif
