/*
 * pki_crl.c - the CA's revocation list and the broker's hashed CA directory.
 *
 * The CRL is rebuilt from the index each time (every revoked certificate, a
 * growing CRL number, thisUpdate strictly increasing). Installing it into a
 * capath is how a running Mosquitto applies it (docs/security.md).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pf/fileio.h"
#include "pf/num.h"
#include "pki_ca.h"
#include "pki_io.h"

static int crl__number_read(const struct pfk_pki *pki, int64_t *number, int64_t *last)
{
    char path[PATH_MAX], *buf, *cur;
    size_t len;
    int rc;

    *number = 0;
    *last = 0;
    if (pfk_io_path(path, sizeof(path), pki->dir, "crlnumber", NULL) < 0)
        return PF_ETOOBIG;
    rc = pf_file_read(path, 256, &buf, &len);
    if (rc == PF_ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    cur = buf;
    if (strchr(cur, '\n'))
        *strchr(cur, '\n') = '\0';
    rc = pf_parse_i64(pfk_io_field(&cur), 0, INT64_MAX, number);
    if (rc == 0)
        rc = pf_parse_i64(pfk_io_field(&cur), 0, INT64_MAX, last);
    free(buf);
    return rc;
}

static int crl__revoked_add(X509_CRL *crl, const struct pfk_pki_entry *e)
{
    X509_REVOKED *rev = X509_REVOKED_new();
    BIGNUM *bn = NULL;
    ASN1_INTEGER *serial = NULL;
    ASN1_TIME *when = NULL;
    int rc = PF_ECRYPTO;

    if (!rev || !BN_hex2bn(&bn, e->serial_hex))
        goto out_free;
    serial = BN_to_ASN1_INTEGER(bn, NULL);
    when = ASN1_TIME_set(NULL, (time_t)e->revoked_at);
    if (!serial || !when || !X509_REVOKED_set_serialNumber(rev, serial) ||
        !X509_REVOKED_set_revocationDate(rev, when) || !X509_CRL_add0_revoked(crl, rev))
        goto out_free;
    rev = NULL;
    rc = 0;
out_free:
    X509_REVOKED_free(rev);
    ASN1_INTEGER_free(serial);
    ASN1_TIME_free(when);
    BN_free(bn);
    return rc;
}

int pfk_pki_write_crl(struct pfk_pki *pki, int days, struct pf_error *err)
{
    char path[PATH_MAX], state[64];
    int64_t number, last, now;
    X509_CRL *crl = NULL;
    ASN1_TIME *t_this = NULL, *t_next = NULL;
    ASN1_INTEGER *num = NULL;
    X509_EXTENSION *aki = NULL;
    X509V3_CTX v3;
    int rc, n;

    if (days <= 0)
        return pf_error_set(err, PF_EINVAL, "CRL validity must be positive");
    rc = crl__number_read(pki, &number, &last);
    if (rc < 0)
        return pf_error_set(err, rc, "%s/crlnumber: %s", pki->dir, pf_strerror(rc));
    /* thisUpdate must grow strictly: OpenSSL keeps every CRL it loaded from a
     * hashed directory and uses the one with the latest thisUpdate. The wait is
     * bounded (clock moved back by more than a few seconds: no wait). */
    now = (int64_t)time(NULL);
    if (now <= last && last - now <= 5) {
        while ((now = (int64_t)time(NULL)) <= last) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }

    crl = X509_CRL_new();
    t_this = ASN1_TIME_set(NULL, (time_t)now);
    t_next = ASN1_TIME_set(NULL, (time_t)(now + (int64_t)days * 86400));
    num = ASN1_INTEGER_new();
    if (!crl || !t_this || !t_next || !num || !ASN1_INTEGER_set_int64(num, number + 1) ||
        !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
        !X509_CRL_set_issuer_name(crl, X509_get_subject_name(pki->ca_cert)) ||
        !X509_CRL_set1_lastUpdate(crl, t_this) || !X509_CRL_set1_nextUpdate(crl, t_next)) {
        rc = pfk_io_ssl_error(err, "CRL");
        goto out_free;
    }
    for (size_t i = 0; i < pki->n_entries; i++) {
        if (pki->entries[i].status != 'R')
            continue;
        if (crl__revoked_add(crl, &pki->entries[i]) < 0) {
            rc = pfk_io_ssl_error(err, pki->entries[i].name);
            goto out_free;
        }
    }
    X509V3_set_ctx(&v3, pki->ca_cert, NULL, NULL, crl, 0);
    aki = X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier, "keyid:always");
    if (!aki || !X509_CRL_add_ext(crl, aki, -1) ||
        !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) || !X509_CRL_sort(crl) ||
        !X509_CRL_sign(crl, pki->ca_key, EVP_sha256())) {
        rc = pfk_io_ssl_error(err, "CRL");
        goto out_free;
    }
    if (pfk_io_path(path, sizeof(path), pki->dir, "crl.pem", NULL) < 0) {
        rc = pf_error_set(err, PF_ETOOBIG, "%s: path too long", pki->dir);
        goto out_free;
    }
    rc = pfk_io_write_pem(path, PFK_PEM_CRL, crl, 0644, true, err);
    if (rc < 0)
        goto out_free;
    n = snprintf(state, sizeof(state), "%lld %lld\n", (long long)(number + 1), (long long)now);
    if (pfk_io_path(path, sizeof(path), pki->dir, "crlnumber", NULL) < 0) {
        rc = pf_error_set(err, PF_ETOOBIG, "%s: path too long", pki->dir);
        goto out_free;
    }
    rc = pf_file_write_atomic(path, state, (size_t)n, 0644);
    if (rc < 0)
        pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));

out_free:
    X509_EXTENSION_free(aki);
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(t_this);
    ASN1_TIME_free(t_next);
    X509_CRL_free(crl);
    return rc;
}

int pfk_pki_install_capath(const char *dir, const char *capath, struct pf_error *err)
{
    char path[PATH_MAX], name[32], *ca_pem = NULL, *crl_pem = NULL;
    size_t ca_len, crl_len;
    unsigned long hash;
    struct stat st;
    X509 *ca = NULL;
    X509_CRL *crl = NULL;
    EVP_PKEY *ca_pub;
    BIO *bio;
    int ok = 0, rc, n;

    if (pfk_io_path(path, sizeof(path), dir, "ca.crt", NULL) < 0 ||
        pf_file_read(path, PFK_PEM_MAX, &ca_pem, &ca_len) < 0) {
        rc = pf_error_set(err, PF_ENOENT, "%s/ca.crt: cannot read", dir);
        goto out_free;
    }
    if (pfk_io_path(path, sizeof(path), dir, "crl.pem", NULL) < 0 ||
        pf_file_read(path, PFK_PEM_MAX, &crl_pem, &crl_len) < 0) {
        rc = pf_error_set(err, PF_ENOENT, "%s/crl.pem: cannot read", dir);
        goto out_free;
    }
    /* Only a CRL signed by this CA is installed: a wrong one would lock every
     * terminal out (OpenSSL fails the handshake on a CRL it cannot verify). */
    bio = BIO_new_mem_buf(ca_pem, (int)ca_len);
    ca = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    bio = BIO_new_mem_buf(crl_pem, (int)crl_len);
    crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!ca || !crl) {
        rc = pfk_io_ssl_error(err, ca ? "crl.pem" : "ca.crt");
        goto out_free;
    }
    ca_pub = X509_get0_pubkey(ca);
    if (!ca_pub || X509_CRL_verify(crl, ca_pub) != 1) {
        ERR_clear_error();
        rc = pf_error_set(err, PF_EBAD_SIG, "%s/crl.pem: not signed by %s/ca.crt", dir, dir);
        goto out_free;
    }

    hash = X509_NAME_hash_ex(X509_get_subject_name(ca), NULL, NULL, &ok);
    if (!ok) {
        rc = pfk_io_ssl_error(err, "CA subject hash");
        goto out_free;
    }
    rc = pf_mkdir_p(capath, 0755);
    if (rc < 0) {
        pf_error_set(err, rc, "%s: %s", capath, pf_strerror(rc));
        goto out_free;
    }
    snprintf(name, sizeof(name), "%08lx.0", hash);
    if (pfk_io_path(path, sizeof(path), capath, name, NULL) < 0) {
        rc = pf_error_set(err, PF_ETOOBIG, "%s: path too long", capath);
        goto out_free;
    }
    if (stat(path, &st) == 0) {
        if (!pfk_io_same_content(path, ca_pem, ca_len)) {
            rc = pf_error_set(err, PF_EEXIST, "%s: holds a different CA with the same name", path);
            goto out_free;
        }
    } else {
        rc = pf_file_write_atomic(path, ca_pem, ca_len, 0644);
        if (rc < 0) {
            pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));
            goto out_free;
        }
    }

    /* The next free HASH.rN, unless the newest one already is this CRL. */
    for (n = 0;; n++) {
        snprintf(name, sizeof(name), "%08lx.r%d", hash, n);
        if (pfk_io_path(path, sizeof(path), capath, name, NULL) < 0) {
            rc = pf_error_set(err, PF_ETOOBIG, "%s: path too long", capath);
            goto out_free;
        }
        if (stat(path, &st) < 0)
            break;
    }
    if (n > 0) {
        char prev[PATH_MAX], pname[32];
        snprintf(pname, sizeof(pname), "%08lx.r%d", hash, n - 1);
        if (pfk_io_path(prev, sizeof(prev), capath, pname, NULL) == 0 &&
            pfk_io_same_content(prev, crl_pem, crl_len)) {
            rc = 0;
            goto out_free;
        }
    }
    rc = pf_file_write_atomic(path, crl_pem, crl_len, 0644);
    if (rc < 0)
        pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));

out_free:
    X509_CRL_free(crl);
    X509_free(ca);
    free(ca_pem);
    free(crl_pem);
    return rc;
}
