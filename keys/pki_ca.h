/*
 * pki_ca.h - the development PKI of the broker: device CA, certificates, CRL
 * (pki_ca.c: CA, index, issuance, revocation; pki_crl.c: CRL and capath).
 *
 * A PKI directory holds the device CA and the record of what it issued
 * (docs/security.md, "Development PKI"):
 *
 *   ca.key       0600  CA private key (ECDSA P-256, PKCS#8 PEM)
 *   ca.crt       0644  self-signed CA certificate
 *   index.txt    0644  one line per issued certificate (format below)
 *   crlnumber    0644  "NUMBER LASTUPDATE": last CRL number and its thisUpdate (unix s)
 *   crl.pem      0644  current CRL signed by the CA
 *   devices/     default output of device-cert: SERIAL.crt (0644), SERIAL.key (0600)
 *   NAME.crt/key default output of server-cert
 *
 * index.txt: "STATUS SERIALHEX NOTAFTER REVOKEDAT KIND NAME\n" where STATUS is
 * V (valid) or R (revoked), NOTAFTER and REVOKEDAT are unix seconds (0 if not
 * revoked), KIND is device, server or client, NAME is the certificate CN.
 *
 * struct pfk_pki is caller-owned (pfk_pki_open/pfk_pki_release); it holds an
 * exclusive flock() on the directory for its whole life, so two
 * posfleet-keys processes never interleave updates of one PKI. Private keys
 * only ever live in OpenSSL objects and secure-heap buffers and are written
 * 0600; nothing here prints them.
 */
#ifndef PFK_PKI_CA_H
#define PFK_PKI_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pf/error.h"

#define PFK_NAME_MAX      64
#define PFK_SERIALHEX_MAX 40

enum pfk_cert_kind {
    PFK_CERT_DEVICE, /* terminal: CN = serial, clientAuth */
    PFK_CERT_SERVER, /* broker: serverAuth, SAN IP/DNS */
    PFK_CERT_CLIENT, /* service (posfleetd): reserved CN, clientAuth */
};

struct pfk_pki_entry {
    char status; /* 'V' or 'R' */
    char serial_hex[PFK_SERIALHEX_MAX + 1];
    int64_t not_after;
    int64_t revoked_at;
    enum pfk_cert_kind kind;
    char name[PFK_NAME_MAX + 1];
};

struct pfk_pki {
    char dir[4096];
    int lock_fd;
    EVP_PKEY *ca_key;
    X509 *ca_cert;
    struct pfk_pki_entry *entries;
    size_t n_entries, cap_entries;
    bool index_dirty;
};

struct pfk_cert_req {
    enum pfk_cert_kind kind;
    const char *cn;
    const char *const *ips; /* SAN IP addresses (server only) */
    size_t n_ips;
    const char *const *dns; /* SAN DNS names (server only) */
    size_t n_dns;
    int days;
};

/* Service identities share the CN space with terminal serials; these names can
 * never be issued as device certificates (and only these as client certificates). */
bool pfk_name_reserved(const char *cn);

/* Creates DIR (0700 if new) with a fresh CA, an empty index and an empty CRL.
 * PF_EEXIST if DIR already holds a CA. */
int pfk_pki_create(const char *dir, const char *ca_name, int days, int crl_days,
                   struct pf_error *err) PF_WUR;

/* Locks DIR and loads its CA and index. */
int pfk_pki_open(struct pfk_pki *pki, const char *dir, struct pf_error *err) PF_WUR;
void pfk_pki_release(struct pfk_pki *pki);

/*
 * Issues one certificate, writes OUT/CN.crt (0644) and OUT/CN.key (0600) and
 * records it in the in-memory index (pfk_pki_save_index persists it). With
 * durable false the files are not fsync'ed one by one (batch issuance calls
 * sync() once at the end). Refuses a device CN that is reserved or not a valid
 * serial (PF_EINVAL) and a terminal serial that was revoked (PF_EREVOKED);
 * a revoked broker or service certificate may be replaced.
 */
int pfk_pki_issue(struct pfk_pki *pki, const struct pfk_cert_req *req, const char *out_dir,
                  bool durable, struct pf_error *err) PF_WUR;

int pfk_pki_save_index(struct pfk_pki *pki, struct pf_error *err) PF_WUR;

/* Marks every valid certificate with this CN revoked (only device
 * certificates when devices_only); *count says how many. PF_ENOENT if there is
 * none (nothing changed). */
int pfk_pki_revoke(struct pfk_pki *pki, const char *cn, bool devices_only, size_t *count,
                   struct pf_error *err) PF_WUR;

/*
 * Writes DIR/crl.pem from the index, valid for days. thisUpdate strictly
 * increases from one CRL to the next (a broker keeps every CRL it has seen and
 * trusts the newest), so a second CRL within the same second waits for the
 * clock to tick.
 */
int pfk_pki_write_crl(struct pfk_pki *pki, int days, struct pf_error *err) PF_WUR;

/*
 * Installs DIR/ca.crt and DIR/crl.pem into an OpenSSL hashed directory
 * (Mosquitto's capath): HASH.0 is the CA certificate, HASH.rN the CRLs, each
 * new CRL under the next N (nothing is added if the newest already is this
 * CRL). OpenSSL looks for newer HASH.rN files at every handshake, so a running
 * broker applies the CRL without a restart. Needs only the public files of
 * DIR (no key, no lock); refuses a CRL not signed by the CA (PF_EBAD_SIG) and
 * a capath holding a different CA under the same hash (PF_EEXIST).
 */
int pfk_pki_install_capath(const char *dir, const char *capath, struct pf_error *err) PF_WUR;

const char *pfk_kind_name(enum pfk_cert_kind kind);

#endif
