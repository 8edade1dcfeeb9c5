/*
 * pki_io.h - file and OpenSSL helpers shared by the PKI modules of posfleet-keys.
 *
 * Paths are built into caller buffers; PEM output goes through memory BIOs
 * (the secure heap for private keys, cleansed after use) and is written with
 * pfk_io_write. Errors are PF_E* codes with a message in struct pf_error.
 */
#ifndef PFK_PKI_IO_H
#define PFK_PKI_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/bio.h>

#include "pf/error.h"

#define PFK_PEM_MAX (1024u * 1024)

enum pfk_pem { PFK_PEM_CERT, PFK_PEM_CRL, PFK_PEM_KEY };

/* Fills err with the first queued OpenSSL error ("what: reason"); returns PF_ECRYPTO. */
int pfk_io_ssl_error(struct pf_error *err, const char *what);

/* "dir/name" + ext (may be NULL) into buf; PF_ETOOBIG if it does not fit. */
int pfk_io_path(char *buf, size_t len, const char *dir, const char *name, const char *ext) PF_WUR;

/* Replaces path with buf. durable: pf_file_write_atomic (fsyncs); otherwise
 * temp + rename only (batch issuance syncs once at the end). */
int pfk_io_write(const char *path, const void *buf, size_t len, mode_t mode, bool durable) PF_WUR;

/* Writes an X509, X509_CRL or EVP_PKEY (obj) as PEM. */
int pfk_io_write_pem(const char *path, enum pfk_pem kind, void *obj, mode_t mode, bool durable,
                     struct pf_error *err) PF_WUR;

/* Reads a file (at most PFK_PEM_MAX) into a new secure-heap BIO (*out, caller frees). */
int pfk_io_read_bio(const char *path, BIO **out, struct pf_error *err) PF_WUR;

/* Next space-separated field of *cursor (NUL-terminated in place), NULL at the end. */
char *pfk_io_field(char **cursor);

/* True if the file at path holds exactly data[0..len). */
bool pfk_io_same_content(const char *path, const char *data, size_t len);

#endif
