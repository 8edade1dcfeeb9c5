/*
 * pki_ca.c - device CA, index, certificate issuance and revocation.
 *
 * Keys are ECDSA P-256: every TLS stack a terminal or Mosquitto 2.0 links
 * (OpenSSL 1.1/3, mbedTLS, wolfSSL) accepts it for client authentication,
 * which Ed25519 certificates are not (mbedTLS and most secure elements lack
 * them). Certificates carry an extended key usage: clientAuth for terminals
 * and services, serverAuth for the broker, so a broker certificate can never
 * log in as a client (OpenSSL checks the ssl_client purpose on the server side).
 */
#include "pki_ca.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "pf/fileio.h"
#include "pf/num.h"
#include "pf/topic.h"
#include "pki_io.h"

#define PKI_INDEX_MAX (64u * 1024 * 1024)

static const char *const pki__reserved[] = {"posfleetd"};

/* Service identities: "posfleetd", and "posfleetd-NAME" for each further
 * posfleetd instance sharing the device topics (each needs its own client id,
 * which the broker takes from the certificate's CN). */
bool pfk_name_reserved(const char *cn)
{
    for (size_t i = 0; i < sizeof(pki__reserved) / sizeof(pki__reserved[0]); i++) {
        size_t n = strlen(pki__reserved[i]);

        if (!strcmp(cn, pki__reserved[i]) ||
            (!strncmp(cn, pki__reserved[i], n) && cn[n] == '-' && cn[n + 1]))
            return true;
    }
    return false;
}

const char *pfk_kind_name(enum pfk_cert_kind kind)
{
    switch (kind) {
    case PFK_CERT_DEVICE:
        return "device";
    case PFK_CERT_SERVER:
        return "server";
    case PFK_CERT_CLIENT:
        return "client";
    }
    return "?";
}

static int pki__kind_parse(const char *s, enum pfk_cert_kind *kind)
{
    if (!strcmp(s, "device"))
        *kind = PFK_CERT_DEVICE;
    else if (!strcmp(s, "server"))
        *kind = PFK_CERT_SERVER;
    else if (!strcmp(s, "client"))
        *kind = PFK_CERT_CLIENT;
    else
        return PF_EPARSE;
    return 0;
}

/* Names used as CN and as a file name: [A-Za-z0-9._-], not starting with '.'. */
static bool pki__name_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > PFK_NAME_MAX || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* A random positive 128-bit serial number (RFC 5280 allows up to 20 octets). */
static int pki__new_serial(ASN1_INTEGER **out, char hex[PFK_SERIALHEX_MAX + 1])
{
    unsigned char raw[16];
    BIGNUM *bn;
    char *h;
    int rc = PF_ECRYPTO;

    randombytes_buf(raw, sizeof(raw));
    raw[0] = (unsigned char)((raw[0] & 0x7f) | 0x40);
    bn = BN_bin2bn(raw, sizeof(raw), NULL);
    if (!bn)
        return PF_ENOMEM;
    *out = BN_to_ASN1_INTEGER(bn, NULL);
    h = BN_bn2hex(bn);
    if (*out && h && strlen(h) <= PFK_SERIALHEX_MAX) {
        snprintf(hex, PFK_SERIALHEX_MAX + 1, "%s", h);
        rc = 0;
    } else {
        ASN1_INTEGER_free(*out);
        *out = NULL;
    }
    OPENSSL_free(h);
    BN_free(bn);
    return rc;
}

static int pki__add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (!ext)
        return PF_ECRYPTO;
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : PF_ECRYPTO;
}

static int pki__lock(const char *dir, struct pf_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return pf_error_set(err, errno == ENOENT ? PF_ENOENT : PF_EIO, "%s: %s", dir,
                            strerror(errno));
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            close(fd);
            return pf_error_set(err, PF_EIO, "%s: cannot lock: %s", dir, strerror(errno));
        }
    }
    return fd;
}

/* ---- index ---- */

static int pki__entry_add(struct pfk_pki *pki, const struct pfk_pki_entry *e)
{
    if (pki->n_entries == pki->cap_entries) {
        size_t cap = pki->cap_entries ? pki->cap_entries * 2 : 64;
        struct pfk_pki_entry *n = realloc(pki->entries, cap * sizeof(*n));
        if (!n)
            return PF_ENOMEM;
        pki->entries = n;
        pki->cap_entries = cap;
    }
    pki->entries[pki->n_entries++] = *e;
    return 0;
}

static int pki__index_parse_line(char *line, struct pfk_pki_entry *e)
{
    char *cur = line, *f[6];

    for (int i = 0; i < 6; i++) {
        f[i] = pfk_io_field(&cur);
        if (!f[i])
            return PF_EPARSE;
    }
    if (pfk_io_field(&cur))
        return PF_EPARSE;
    memset(e, 0, sizeof(*e));
    if ((strcmp(f[0], "V") && strcmp(f[0], "R")) || strlen(f[1]) > PFK_SERIALHEX_MAX ||
        strlen(f[5]) > PFK_NAME_MAX)
        return PF_EPARSE;
    e->status = f[0][0];
    snprintf(e->serial_hex, sizeof(e->serial_hex), "%s", f[1]);
    if (pf_parse_i64(f[2], 0, INT64_MAX, &e->not_after) < 0 ||
        pf_parse_i64(f[3], 0, INT64_MAX, &e->revoked_at) < 0 || pki__kind_parse(f[4], &e->kind) < 0)
        return PF_EPARSE;
    snprintf(e->name, sizeof(e->name), "%s", f[5]);
    return 0;
}

static int pki__index_load(struct pfk_pki *pki, struct pf_error *err)
{
    char path[PATH_MAX], *buf, *line, *next;
    size_t len, lineno = 0;
    int rc;

    if (pfk_io_path(path, sizeof(path), pki->dir, "index.txt", NULL) < 0)
        return pf_error_set(err, PF_ETOOBIG, "%s: path too long", pki->dir);
    rc = pf_file_read(path, PKI_INDEX_MAX, &buf, &len);
    if (rc < 0)
        return pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));
    for (line = buf; line && *line; line = next) {
        struct pfk_pki_entry e;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (!*line)
            continue;
        rc = pki__index_parse_line(line, &e);
        if (rc == 0)
            rc = pki__entry_add(pki, &e);
        if (rc < 0) {
            pf_error_set(err, rc, "%s:%zu: %s", path, lineno, pf_strerror(rc));
            break;
        }
    }
    free(buf);
    return rc;
}

int pfk_pki_save_index(struct pfk_pki *pki, struct pf_error *err)
{
    char path[PATH_MAX], *buf;
    size_t cap = pki->n_entries * 160 + 1, off = 0;
    int rc;

    if (pfk_io_path(path, sizeof(path), pki->dir, "index.txt", NULL) < 0)
        return pf_error_set(err, PF_ETOOBIG, "%s: path too long", pki->dir);
    buf = malloc(cap);
    if (!buf)
        return pf_error_set(err, PF_ENOMEM, "index: out of memory");
    buf[0] = '\0';
    for (size_t i = 0; i < pki->n_entries; i++) {
        const struct pfk_pki_entry *e = &pki->entries[i];
        int n = snprintf(buf + off, cap - off, "%c %s %lld %lld %s %s\n", e->status, e->serial_hex,
                         (long long)e->not_after, (long long)e->revoked_at, pfk_kind_name(e->kind),
                         e->name);
        if (n < 0 || (size_t)n >= cap - off) {
            free(buf);
            return pf_error_set(err, PF_ETOOBIG, "index: entry too long");
        }
        off += (size_t)n;
    }
    rc = pf_file_write_atomic(path, buf, off, 0644);
    free(buf);
    if (rc < 0)
        return pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));
    pki->index_dirty = false;
    return 0;
}

/* ---- open / create ---- */

static int pki__load_ca(struct pfk_pki *pki, struct pf_error *err)
{
    char path[PATH_MAX];
    BIO *bio = NULL;
    int rc;

    if (pfk_io_path(path, sizeof(path), pki->dir, "ca.key", NULL) < 0)
        return pf_error_set(err, PF_ETOOBIG, "%s: path too long", pki->dir);
    rc = pfk_io_read_bio(path, &bio, err);
    if (rc < 0)
        return rc;
    pki->ca_key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!pki->ca_key)
        return pfk_io_ssl_error(err, path);

    if (pfk_io_path(path, sizeof(path), pki->dir, "ca.crt", NULL) < 0)
        return pf_error_set(err, PF_ETOOBIG, "%s: path too long", pki->dir);
    rc = pfk_io_read_bio(path, &bio, err);
    if (rc < 0)
        return rc;
    pki->ca_cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!pki->ca_cert)
        return pfk_io_ssl_error(err, path);
    if (X509_check_private_key(pki->ca_cert, pki->ca_key) != 1)
        return pfk_io_ssl_error(err, "ca.key does not match ca.crt");
    return 0;
}

int pfk_pki_open(struct pfk_pki *pki, const char *dir, struct pf_error *err)
{
    int rc;

    memset(pki, 0, sizeof(*pki));
    pki->lock_fd = -1;
    if (snprintf(pki->dir, sizeof(pki->dir), "%s", dir) >= (int)sizeof(pki->dir))
        return pf_error_set(err, PF_ETOOBIG, "%s: path too long", dir);
    rc = pki__lock(dir, err);
    if (rc < 0)
        return rc;
    pki->lock_fd = rc;
    rc = pki__load_ca(pki, err);
    if (rc == 0)
        rc = pki__index_load(pki, err);
    if (rc < 0)
        pfk_pki_release(pki);
    return rc;
}

void pfk_pki_release(struct pfk_pki *pki)
{
    EVP_PKEY_free(pki->ca_key);
    X509_free(pki->ca_cert);
    free(pki->entries);
    if (pki->lock_fd >= 0)
        close(pki->lock_fd);
    memset(pki, 0, sizeof(*pki));
    pki->lock_fd = -1;
}

static int pki__set_name(X509 *cert, const char *cn)
{
    X509_NAME *name = X509_NAME_new();
    int ok;

    if (!name)
        return PF_ENOMEM;
    ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0) &&
         X509_set_subject_name(cert, name);
    X509_NAME_free(name);
    return ok ? 0 : PF_ECRYPTO;
}

int pfk_pki_create(const char *dir, const char *ca_name, int days, int crl_days,
                   struct pf_error *err)
{
    struct pfk_pki pki;
    char path[PATH_MAX];
    ASN1_INTEGER *serial = NULL;
    char hex[PFK_SERIALHEX_MAX + 1];
    struct stat st;
    int rc;

    if (!ca_name || !*ca_name || strlen(ca_name) > PFK_NAME_MAX || days <= 0 || crl_days <= 0)
        return pf_error_set(err, PF_EINVAL, "CA name must be 1..%d characters, days positive",
                            PFK_NAME_MAX);
    rc = pf_mkdir_p(dir, 0700);
    if (rc < 0)
        return pf_error_set(err, rc, "%s: %s", dir, pf_strerror(rc));
    memset(&pki, 0, sizeof(pki));
    pki.lock_fd = -1;
    if (snprintf(pki.dir, sizeof(pki.dir), "%s", dir) >= (int)sizeof(pki.dir))
        return pf_error_set(err, PF_ETOOBIG, "%s: path too long", dir);
    rc = pki__lock(dir, err);
    if (rc < 0)
        return rc;
    pki.lock_fd = rc;

    if (pfk_io_path(path, sizeof(path), dir, "ca.key", NULL) < 0) {
        rc = pf_error_set(err, PF_ETOOBIG, "%s: path too long", dir);
        goto out_release;
    }
    if (stat(path, &st) == 0) {
        rc = pf_error_set(err, PF_EEXIST, "%s: a CA already exists", dir);
        goto out_release;
    }

    pki.ca_key = EVP_EC_gen("P-256");
    pki.ca_cert = X509_new();
    if (!pki.ca_key || !pki.ca_cert) {
        rc = pfk_io_ssl_error(err, "CA key");
        goto out_release;
    }
    rc = pki__new_serial(&serial, hex);
    if (rc < 0) {
        rc = pf_error_set(err, rc, "CA serial: %s", pf_strerror(rc));
        goto out_release;
    }
    if (!X509_set_version(pki.ca_cert, X509_VERSION_3) ||
        !X509_set_serialNumber(pki.ca_cert, serial) || pki__set_name(pki.ca_cert, ca_name) < 0 ||
        !X509_set_issuer_name(pki.ca_cert, X509_get_subject_name(pki.ca_cert)) ||
        !X509_gmtime_adj(X509_getm_notBefore(pki.ca_cert), -300) ||
        !X509_time_adj_ex(X509_getm_notAfter(pki.ca_cert), days, 0, NULL) ||
        !X509_set_pubkey(pki.ca_cert, pki.ca_key) ||
        pki__add_ext(pki.ca_cert, pki.ca_cert, NID_basic_constraints,
                     "critical,CA:TRUE,pathlen:0") < 0 ||
        pki__add_ext(pki.ca_cert, pki.ca_cert, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
        pki__add_ext(pki.ca_cert, pki.ca_cert, NID_subject_key_identifier, "hash") < 0 ||
        !X509_sign(pki.ca_cert, pki.ca_key, EVP_sha256())) {
        rc = pfk_io_ssl_error(err, "CA certificate");
        goto out_release;
    }

    /* Key first: a crash leaves a key without a certificate, which a rerun
     * refuses loudly rather than a certificate whose key is lost. */
    rc = pfk_io_write_pem(path, PFK_PEM_KEY, pki.ca_key, 0600, true, err);
    if (rc < 0)
        goto out_release;
    if (pfk_io_path(path, sizeof(path), dir, "ca.crt", NULL) < 0) {
        rc = pf_error_set(err, PF_ETOOBIG, "%s: path too long", dir);
        goto out_release;
    }
    rc = pfk_io_write_pem(path, PFK_PEM_CERT, pki.ca_cert, 0644, true, err);
    if (rc < 0)
        goto out_release;
    rc = pfk_pki_save_index(&pki, err);
    if (rc < 0)
        goto out_release;
    rc = pfk_pki_write_crl(&pki, crl_days, err);

out_release:
    ASN1_INTEGER_free(serial);
    pfk_pki_release(&pki);
    return rc;
}

/* ---- issuance ---- */

static int pki__san(char *buf, size_t len, const struct pfk_cert_req *req, struct pf_error *err)
{
    size_t off = 0;
    unsigned char addr[16];

    buf[0] = '\0';
    for (size_t i = 0; i < req->n_ips + req->n_dns; i++) {
        bool ip = i < req->n_ips;
        const char *v = ip ? req->ips[i] : req->dns[i - req->n_ips];
        int n;

        if (ip && inet_pton(AF_INET, v, addr) != 1 && inet_pton(AF_INET6, v, addr) != 1)
            return pf_error_set(err, PF_EINVAL, "--ip %s: not an IP address", v);
        if (!ip && !pki__name_valid(v))
            return pf_error_set(err, PF_EINVAL, "--dns %s: not a host name", v);
        n = snprintf(buf + off, len - off, "%s%s:%s", off ? "," : "", ip ? "IP" : "DNS", v);
        if (n < 0 || (size_t)n >= len - off)
            return pf_error_set(err, PF_ETOOBIG, "too many subject alternative names");
        off += (size_t)n;
    }
    return 0;
}

static int pki__check_req(const struct pfk_pki *pki, const struct pfk_cert_req *req,
                          struct pf_error *err)
{
    if (!req->cn || req->days <= 0)
        return pf_error_set(err, PF_EINVAL, "a name and a positive validity are required");
    switch (req->kind) {
    case PFK_CERT_DEVICE:
        if (!pf_serial_valid(req->cn))
            return pf_error_set(err, PF_EINVAL,
                                "%s: not a terminal serial (1..%d of A-Z a-z 0-9 _ -)", req->cn,
                                PF_SERIAL_MAX);
        if (pfk_name_reserved(req->cn))
            return pf_error_set(err, PF_EINVAL, "%s: reserved for a service identity", req->cn);
        break;
    case PFK_CERT_CLIENT:
        if (!pfk_name_reserved(req->cn))
            return pf_error_set(err, PF_EINVAL, "%s: not a service identity", req->cn);
        break;
    case PFK_CERT_SERVER:
        if (!pki__name_valid(req->cn) || !strcmp(req->cn, "ca"))
            return pf_error_set(err, PF_EINVAL, "%s: not a usable server name", req->cn);
        break;
    }
    for (size_t i = 0; i < pki->n_entries; i++) {
        const struct pfk_pki_entry *e = &pki->entries[i];
        /* Services and the broker get a new certificate after a revocation
         * (key rotation); a revoked terminal serial stays retired. */
        if (e->status == 'R' && e->kind == PFK_CERT_DEVICE && req->kind == PFK_CERT_DEVICE &&
            !strcmp(e->name, req->cn))
            return pf_error_set(err, PF_EREVOKED, "%s: revoked; a retired identity is not reissued",
                                req->cn);
    }
    return 0;
}

int pfk_pki_issue(struct pfk_pki *pki, const struct pfk_cert_req *req, const char *out_dir,
                  bool durable, struct pf_error *err)
{
    struct pfk_pki_entry entry;
    char path[PATH_MAX], san[2048];
    ASN1_INTEGER *serial = NULL;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    time_t now = time(NULL);
    int rc;

    rc = pki__check_req(pki, req, err);
    if (rc < 0)
        return rc;
    if (req->kind == PFK_CERT_SERVER) {
        const char *dns_default[] = {req->cn};
        struct pfk_cert_req r = *req;
        if (r.n_ips + r.n_dns == 0) {
            r.dns = dns_default;
            r.n_dns = 1;
        }
        rc = pki__san(san, sizeof(san), &r, err);
        if (rc < 0)
            return rc;
    } else if (req->n_ips + req->n_dns > 0) {
        return pf_error_set(err, PF_EINVAL, "--ip/--dns apply to server certificates only");
    }

    memset(&entry, 0, sizeof(entry));
    entry.status = 'V';
    entry.kind = req->kind;
    entry.not_after = (int64_t)now + (int64_t)req->days * 86400;
    snprintf(entry.name, sizeof(entry.name), "%s", req->cn);

    key = EVP_EC_gen("P-256");
    cert = X509_new();
    if (!key || !cert) {
        rc = pfk_io_ssl_error(err, req->cn);
        goto out_free;
    }
    rc = pki__new_serial(&serial, entry.serial_hex);
    if (rc < 0) {
        rc = pf_error_set(err, rc, "%s: serial number: %s", req->cn, pf_strerror(rc));
        goto out_free;
    }
    if (!X509_set_version(cert, X509_VERSION_3) || !X509_set_serialNumber(cert, serial) ||
        pki__set_name(cert, req->cn) < 0 ||
        !X509_set_issuer_name(cert, X509_get_subject_name(pki->ca_cert)) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert), -300) ||
        !ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)entry.not_after) ||
        !X509_set_pubkey(cert, key) ||
        pki__add_ext(cert, pki->ca_cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
        pki__add_ext(cert, pki->ca_cert, NID_key_usage, "critical,digitalSignature") < 0 ||
        pki__add_ext(cert, pki->ca_cert, NID_ext_key_usage,
                     req->kind == PFK_CERT_SERVER ? "serverAuth" : "clientAuth") < 0 ||
        pki__add_ext(cert, pki->ca_cert, NID_subject_key_identifier, "hash") < 0 ||
        pki__add_ext(cert, pki->ca_cert, NID_authority_key_identifier, "keyid:always") < 0 ||
        (req->kind == PFK_CERT_SERVER &&
         pki__add_ext(cert, pki->ca_cert, NID_subject_alt_name, san) < 0) ||
        !X509_sign(cert, pki->ca_key, EVP_sha256())) {
        rc = pfk_io_ssl_error(err, req->cn);
        goto out_free;
    }

    /* Recorded before the files exist: an interrupted run leaves an index
     * entry without files (harmless) rather than a certificate nobody can revoke. */
    rc = pki__entry_add(pki, &entry);
    if (rc < 0) {
        rc = pf_error_set(err, rc, "index: %s", pf_strerror(rc));
        goto out_free;
    }
    pki->index_dirty = true;
    if (pfk_io_path(path, sizeof(path), out_dir, req->cn, ".key") < 0) {
        rc = pf_error_set(err, PF_ETOOBIG, "%s: path too long", out_dir);
        goto out_free;
    }
    rc = pfk_io_write_pem(path, PFK_PEM_KEY, key, 0600, durable, err);
    if (rc < 0)
        goto out_free;
    if (pfk_io_path(path, sizeof(path), out_dir, req->cn, ".crt") < 0) {
        rc = pf_error_set(err, PF_ETOOBIG, "%s: path too long", out_dir);
        goto out_free;
    }
    rc = pfk_io_write_pem(path, PFK_PEM_CERT, cert, 0644, durable, err);

out_free:
    ASN1_INTEGER_free(serial);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

int pfk_pki_revoke(struct pfk_pki *pki, const char *cn, bool devices_only, size_t *count,
                   struct pf_error *err)
{
    time_t now = time(NULL);

    *count = 0;
    for (size_t i = 0; i < pki->n_entries; i++) {
        struct pfk_pki_entry *e = &pki->entries[i];
        if (e->status != 'V' || strcmp(e->name, cn) || (devices_only && e->kind != PFK_CERT_DEVICE))
            continue;
        e->status = 'R';
        e->revoked_at = (int64_t)now;
        (*count)++;
    }
    if (*count == 0)
        return pf_error_set(err, PF_ENOENT, "%s: no valid certificate issued to this name", cn);
    pki->index_dirty = true;
    return 0;
}
