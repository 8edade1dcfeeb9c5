/*
 * keyring.h - the signed keyring: which keys may sign what, and until when.
 *
 * keyring.json is a JSON document signed (minisign format, keyring.json.minisig)
 * by the current root key. It holds the root chain (each root after the first
 * endorsed by its predecessor), the signing keys with their role and validity
 * window, revocations, and a serial that grows with every change.
 *
 * Terminals ship with one root public key (the anchor). pf_keyring_verify()
 * finds the anchor in the chain, checks every endorsement after it, and checks
 * the document's signature by the last root. The caller may then persist
 * pf_keyring_current_root() and the serial as its new anchor and floor.
 *
 * struct pf_keyring is a fixed-size value (~60 KiB): allocate it, don't put
 * it on a small stack. Nothing in it is secret.
 */
#ifndef PF_KEYRING_H
#define PF_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"
#include "pf/minisign.h"

#define PF_KEYRING_MAX_BYTES   (256 * 1024)
#define PF_KEYRING_MAX_ROOTS   16
#define PF_KEYRING_MAX_KEYS    64
#define PF_KEYRING_MAX_REVOKED 256
#define PF_KEY_NAME_MAX        64
#define PF_KEY_REASON_MAX      200

enum pf_key_role { PF_ROLE_FIRMWARE = 0, PF_ROLE_FEETABLE = 1 };
/* "firmware", "fee-table", NULL */
extern const char *const pf_key_role_names[];

struct pf_keyring_root {
    struct pf_ms_pubkey pub;
    bool endorsed;           /* false only for the first root */
    uint8_t endorsement[64]; /* by the previous root, see pf_keyring_endorse() */
};

struct pf_keyring_key {
    char name[PF_KEY_NAME_MAX + 1];
    int role; /* enum pf_key_role */
    struct pf_ms_pubkey pub;
    int64_t not_before; /* Unix seconds, inclusive */
    int64_t not_after;  /* Unix seconds, inclusive */
};

struct pf_keyring_revocation {
    uint8_t key_id[PF_MS_KEYID_LEN];
    int64_t revoked_at;
    char reason[PF_KEY_REASON_MAX + 1];
};

struct pf_keyring {
    int64_t serial;
    int64_t issued;
    size_t nroots;
    struct pf_keyring_root roots[PF_KEYRING_MAX_ROOTS];
    size_t nkeys;
    struct pf_keyring_key keys[PF_KEYRING_MAX_KEYS];
    size_t nrevoked;
    struct pf_keyring_revocation revoked[PF_KEYRING_MAX_REVOKED];
};

/* Parses (does not verify) a keyring document. */
int pf_keyring_parse(const char *buf, size_t len, struct pf_keyring *kr,
                     struct pf_error *err) PF_WUR;
int pf_keyring_parse_file(const char *path, struct pf_keyring *kr, struct pf_error *err) PF_WUR;
/* Serialises kr as indented JSON; *out is heap, caller frees. */
int pf_keyring_encode(const struct pf_keyring *kr, char **out, size_t *len,
                      struct pf_error *err) PF_WUR;

/*
 * Parses and verifies a keyring against a trusted anchor. Refusals:
 * PF_EROOT_CHAIN (anchor not in the chain, or an endorsement fails),
 * PF_ENO_SIG / PF_EBAD_SIG (document signature), PF_EROLLBACK (serial below
 * min_serial), plus parse errors. kr is filled only on success.
 */
int pf_keyring_verify(const char *buf, size_t len, const char *sig, size_t siglen,
                      const struct pf_ms_pubkey *anchor, int64_t min_serial, struct pf_keyring *kr,
                      struct pf_error *err) PF_WUR;

const struct pf_ms_pubkey *pf_keyring_current_root(const struct pf_keyring *kr);

/*
 * Finds the signing key key_id and checks it may sign for role at time now:
 * PF_EKEY_UNKNOWN, PF_EKEY_REVOKED, PF_EKEY_EXPIRED (outside the window),
 * PF_EKEY_ROLE (role < 0 skips the role check). *out (optional) points into kr.
 */
int pf_keyring_check_key(const struct pf_keyring *kr, const uint8_t key_id[PF_MS_KEYID_LEN],
                         int role, int64_t now, const struct pf_keyring_key **out,
                         struct pf_error *err) PF_WUR;

/* Endorsement of new_root by old_root: Ed25519 over
 * "posfleet-root-endorsement-v1\0" || base64(old) || base64(new). */
void pf_keyring_endorse(const struct pf_ms_seckey *old_sec, const struct pf_ms_pubkey *new_pub,
                        uint8_t sig[64]);
bool pf_keyring_endorsement_ok(const struct pf_ms_pubkey *old_pub,
                               const struct pf_ms_pubkey *new_pub, const uint8_t sig[64]);

#endif
