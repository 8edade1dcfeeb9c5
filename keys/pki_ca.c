/*
 * pki_ca.c - device CA, certificate issuance, index, CRL and hashed CA dir.
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
#include "pf/topic.h"

#define PKI_INDEX_MAX (64u * 1024 * 1024)
#define PKI_PEM_MAX   (1024u * 1024)

static const char *const pki__reserved[] = {"posfleetd"};

bool pfk_name_reserved(const char *cn)
{
    for (size_t i = 0; i < sizeof(pki__reserved) / sizeof(pki__reserved[0]); i++) {
        if (!strcmp(cn, pki__reserved[i]))
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

static int pki__ssl_error(struct pf_error *err, const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();

    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    else
        snprintf(buf, sizeof(buf), "unknown error");
    ERR_clear_error();
    return pf_error_set(err, PF_ECRYPTO, "%s: %s", what, buf);
}

static int pki__path(char *buf, size_t len, const char *dir, const char *name, const char *ext)
{
    int n = snprintf(buf, len, "%s/%s%s", dir, name, ext ? ext : "");

    if (n < 0 || (size_t)n >= len)
        return PF_ETOOBIG;
    return 0;
}

/* Replaces path with buf; durable writes go through pf_file_write_atomic, the
 * others skip the fsyncs (batch issuance syncs once at the end). */
static int pki__write(const char *path, const void *buf, size_t len, mode_t mode, bool durable)
{
    char tmp[PATH_MAX];
    const char *p = buf;
    int fd, rc = 0;

    if (durable)
        return pf_file_write_atomic(path, buf, len, mode);
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return PF_ETOOBIG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return errno == ENOSPC ? PF_ENOSPACE : errno == EACCES ? PF_EPERM : PF_EIO;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = errno == ENOSPC ? PF_ENOSPACE : PF_EIO;
            goto out_unlink;
        }
        p += w;
        len -= (size_t)w;
    }
    if (fchmod(fd, mode) < 0) {
        rc = PF_EIO;
        goto out_unlink;
    }
    if (close(fd) < 0) {
        fd = -1;
        rc = PF_EIO;
        goto out_unlink;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        rc = PF_EIO;
        goto out_unlink;
    }
    return 0;

out_unlink:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

/* Serialises a certificate, CRL or private key to PEM in a memory BIO and
 * writes it out. Private keys go through the secure heap and are cleansed. */
enum pki_pem { PKI_PEM_CERT, PKI_PEM_CRL, PKI_PEM_KEY };

static int pki__write_pem(const char *path, enum pki_pem kind, void *obj, mode_t mode, bool durable,
                          struct pf_error *err)
{
    BIO *bio = BIO_new(kind == PKI_PEM_KEY ? BIO_s_secmem() : BIO_s_mem());
    char *data;
    long len;
    int ok, rc;

    if (!bio)
        return pf_error_set(err, PF_ENOMEM, "%s: out of memory", path);
    if (kind == PKI_PEM_CERT)
        ok = PEM_write_bio_X509(bio, obj);
    else if (kind == PKI_PEM_CRL)
        ok = PEM_write_bio_X509_CRL(bio, obj);
    else
        ok = PEM_write_bio_PrivateKey(bio, obj, NULL, NULL, 0, NULL, NULL);
    if (!ok) {
        rc = pki__ssl_error(err, path);
        goto out_free;
    }
    len = BIO_get_mem_data(bio, &data);
    rc = pki__write(path, data, (size_t)len, mode, durable);
    if (rc < 0)
        pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));
    if (kind == PKI_PEM_KEY)
        OPENSSL_cleanse(data, (size_t)len);
out_free:
    BIO_free(bio);
    return rc;
}

static int pki__read_bio(const char *path, BIO **out, struct pf_error *err)
{
    char *buf;
    size_t len;
    int rc = pf_file_read(path, PKI_PEM_MAX, &buf, &len);

    if (rc < 0)
        return pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));
    *out = BIO_new(BIO_s_secmem());
    if (!*out || BIO_write(*out, buf, (int)len) != (int)len) {
        BIO_free(*out);
        *out = NULL;
        rc = pf_error_set(err, PF_ENOMEM, "%s: out of memory", path);
    }
    OPENSSL_cleanse(buf, len);
    free(buf);
    return rc;
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

static char *pki__field(char **cursor)
{
    char *s = *cursor, *start;

    while (*s == ' ')
        s++;
    if (!*s)
        return NULL;
    start = s;
    while (*s && *s != ' ')
        s++;
    if (*s)
        *s++ = '\0';
    *cursor = s;
    return start;
}

static int pki__parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (!s)
        return PF_EPARSE;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0)
        return PF_EPARSE;
    *out = v;
    return 0;
}

static int pki__index_parse_line(char *line, struct pfk_pki_entry *e)
{
    char *cur = line, *f[6];

    for (int i = 0; i < 6; i++) {
        f[i] = pki__field(&cur);
        if (!f[i])
            return PF_EPARSE;
    }
    if (pki__field(&cur))
        return PF_EPARSE;
    memset(e, 0, sizeof(*e));
    if ((strcmp(f[0], "V") && strcmp(f[0], "R")) || strlen(f[1]) > PFK_SERIALHEX_MAX ||
        strlen(f[5]) > PFK_NAME_MAX)
        return PF_EPARSE;
    e->status = f[0][0];
    snprintf(e->serial_hex, sizeof(e->serial_hex), "%s", f[1]);
    if (pki__parse_i64(f[2], &e->not_after) < 0 || pki__parse_i64(f[3], &e->revoked_at) < 0 ||
        pki__kind_parse(f[4], &e->kind) < 0)
        return PF_EPARSE;
    snprintf(e->name, sizeof(e->name), "%s", f[5]);
    return 0;
}

static int pki__index_load(struct pfk_pki *pki, struct pf_error *err)
{
    char path[PATH_MAX], *buf, *line, *next;
    size_t len, lineno = 0;
    int rc;

    if (pki__path(path, sizeof(path), pki->dir, "index.txt", NULL) < 0)
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

    if (pki__path(path, sizeof(path), pki->dir, "index.txt", NULL) < 0)
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

    if (pki__path(path, sizeof(path), pki->dir, "ca.key", NULL) < 0)
        return pf_error_set(err, PF_ETOOBIG, "%s: path too long", pki->dir);
    rc = pki__read_bio(path, &bio, err);
    if (rc < 0)
        return rc;
    pki->ca_key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!pki->ca_key)
        return pki__ssl_error(err, path);

    if (pki__path(path, sizeof(path), pki->dir, "ca.crt", NULL) < 0)
        return pf_error_set(err, PF_ETOOBIG, "%s: path too long", pki->dir);
    rc = pki__read_bio(path, &bio, err);
    if (rc < 0)
        return rc;
    pki->ca_cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!pki->ca_cert)
        return pki__ssl_error(err, path);
    if (X509_check_private_key(pki->ca_cert, pki->ca_key) != 1)
        return pki__ssl_error(err, "ca.key does not match ca.crt");
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

    if (pki__path(path, sizeof(path), dir, "ca.key", NULL) < 0) {
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
        rc = pki__ssl_error(err, "CA key");
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
        rc = pki__ssl_error(err, "CA certificate");
        goto out_release;
    }

    /* Key first: a crash leaves a key without a certificate, which a rerun
     * refuses loudly rather than a certificate whose key is lost. */
    rc = pki__write_pem(path, PKI_PEM_KEY, pki.ca_key, 0600, true, err);
    if (rc < 0)
        goto out_release;
    if (pki__path(path, sizeof(path), dir, "ca.crt", NULL) < 0) {
        rc = pf_error_set(err, PF_ETOOBIG, "%s: path too long", dir);
        goto out_release;
    }
    rc = pki__write_pem(path, PKI_PEM_CERT, pki.ca_cert, 0644, true, err);
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
        if (e->status == 'R' && e->kind == req->kind && !strcmp(e->name, req->cn))
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
        rc = pki__ssl_error(err, req->cn);
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
        rc = pki__ssl_error(err, req->cn);
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
    if (pki__path(path, sizeof(path), out_dir, req->cn, ".key") < 0) {
        rc = pf_error_set(err, PF_ETOOBIG, "%s: path too long", out_dir);
        goto out_free;
    }
    rc = pki__write_pem(path, PKI_PEM_KEY, key, 0600, durable, err);
    if (rc < 0)
        goto out_free;
    if (pki__path(path, sizeof(path), out_dir, req->cn, ".crt") < 0) {
        rc = pf_error_set(err, PF_ETOOBIG, "%s: path too long", out_dir);
        goto out_free;
    }
    rc = pki__write_pem(path, PKI_PEM_CERT, cert, 0644, durable, err);

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

/* ---- CRL ---- */

static int pki__crlnumber_read(const struct pfk_pki *pki, int64_t *number, int64_t *last)
{
    char path[PATH_MAX], *buf, *cur;
    size_t len;
    int rc;

    *number = 0;
    *last = 0;
    if (pki__path(path, sizeof(path), pki->dir, "crlnumber", NULL) < 0)
        return PF_ETOOBIG;
    rc = pf_file_read(path, 256, &buf, &len);
    if (rc == PF_ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    cur = buf;
    if (strchr(cur, '\n'))
        *strchr(cur, '\n') = '\0';
    rc = pki__parse_i64(pki__field(&cur), number);
    if (rc == 0)
        rc = pki__parse_i64(pki__field(&cur), last);
    free(buf);
    return rc;
}

static int pki__revoked_add(X509_CRL *crl, const struct pfk_pki_entry *e)
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
    rc = pki__crlnumber_read(pki, &number, &last);
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
        rc = pki__ssl_error(err, "CRL");
        goto out_free;
    }
    for (size_t i = 0; i < pki->n_entries; i++) {
        if (pki->entries[i].status != 'R')
            continue;
        if (pki__revoked_add(crl, &pki->entries[i]) < 0) {
            rc = pki__ssl_error(err, pki->entries[i].name);
            goto out_free;
        }
    }
    X509V3_set_ctx(&v3, pki->ca_cert, NULL, NULL, crl, 0);
    aki = X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier, "keyid:always");
    if (!aki || !X509_CRL_add_ext(crl, aki, -1) ||
        !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) || !X509_CRL_sort(crl) ||
        !X509_CRL_sign(crl, pki->ca_key, EVP_sha256())) {
        rc = pki__ssl_error(err, "CRL");
        goto out_free;
    }
    if (pki__path(path, sizeof(path), pki->dir, "crl.pem", NULL) < 0) {
        rc = pf_error_set(err, PF_ETOOBIG, "%s: path too long", pki->dir);
        goto out_free;
    }
    rc = pki__write_pem(path, PKI_PEM_CRL, crl, 0644, true, err);
    if (rc < 0)
        goto out_free;
    n = snprintf(state, sizeof(state), "%lld %lld\n", (long long)(number + 1), (long long)now);
    if (pki__path(path, sizeof(path), pki->dir, "crlnumber", NULL) < 0) {
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

/* ---- hashed CA directory (Mosquitto capath) ---- */

static bool pki__same_content(const char *path, const char *data, size_t len)
{
    char *buf;
    size_t got;
    bool same;

    if (pf_file_read(path, PKI_INDEX_MAX, &buf, &got) < 0)
        return false;
    same = got == len && !memcmp(buf, data, len);
    free(buf);
    return same;
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

    if (pki__path(path, sizeof(path), dir, "ca.crt", NULL) < 0 ||
        pf_file_read(path, PKI_PEM_MAX, &ca_pem, &ca_len) < 0) {
        rc = pf_error_set(err, PF_ENOENT, "%s/ca.crt: cannot read", dir);
        goto out_free;
    }
    if (pki__path(path, sizeof(path), dir, "crl.pem", NULL) < 0 ||
        pf_file_read(path, PKI_PEM_MAX, &crl_pem, &crl_len) < 0) {
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
        rc = pki__ssl_error(err, ca ? "crl.pem" : "ca.crt");
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
        rc = pki__ssl_error(err, "CA subject hash");
        goto out_free;
    }
    rc = pf_mkdir_p(capath, 0755);
    if (rc < 0) {
        pf_error_set(err, rc, "%s: %s", capath, pf_strerror(rc));
        goto out_free;
    }
    snprintf(name, sizeof(name), "%08lx.0", hash);
    if (pki__path(path, sizeof(path), capath, name, NULL) < 0) {
        rc = pf_error_set(err, PF_ETOOBIG, "%s: path too long", capath);
        goto out_free;
    }
    if (stat(path, &st) == 0) {
        if (!pki__same_content(path, ca_pem, ca_len)) {
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
        if (pki__path(path, sizeof(path), capath, name, NULL) < 0) {
            rc = pf_error_set(err, PF_ETOOBIG, "%s: path too long", capath);
            goto out_free;
        }
        if (stat(path, &st) < 0)
            break;
    }
    if (n > 0) {
        char prev[PATH_MAX], pname[32];
        snprintf(pname, sizeof(pname), "%08lx.r%d", hash, n - 1);
        if (pki__path(prev, sizeof(prev), capath, pname, NULL) == 0 &&
            pki__same_content(prev, crl_pem, crl_len)) {
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
