/*
 * pki_io.c - file and OpenSSL helpers of the PKI modules.
 */
#include "pki_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "pf/fileio.h"

int pfk_io_ssl_error(struct pf_error *err, const char *what)
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

int pfk_io_path(char *buf, size_t len, const char *dir, const char *name, const char *ext)
{
    int n = snprintf(buf, len, "%s/%s%s", dir, name, ext ? ext : "");

    if (n < 0 || (size_t)n >= len)
        return PF_ETOOBIG;
    return 0;
}

int pfk_io_write(const char *path, const void *buf, size_t len, mode_t mode, bool durable)
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

int pfk_io_write_pem(const char *path, enum pfk_pem kind, void *obj, mode_t mode, bool durable,
                     struct pf_error *err)
{
    BIO *bio = BIO_new(kind == PFK_PEM_KEY ? BIO_s_secmem() : BIO_s_mem());
    char *data;
    long len;
    int ok, rc;

    if (!bio)
        return pf_error_set(err, PF_ENOMEM, "%s: out of memory", path);
    if (kind == PFK_PEM_CERT)
        ok = PEM_write_bio_X509(bio, obj);
    else if (kind == PFK_PEM_CRL)
        ok = PEM_write_bio_X509_CRL(bio, obj);
    else
        ok = PEM_write_bio_PrivateKey(bio, obj, NULL, NULL, 0, NULL, NULL);
    if (!ok) {
        rc = pfk_io_ssl_error(err, path);
        goto out_free;
    }
    len = BIO_get_mem_data(bio, &data);
    rc = pfk_io_write(path, data, (size_t)len, mode, durable);
    if (rc < 0)
        pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));
    if (kind == PFK_PEM_KEY)
        OPENSSL_cleanse(data, (size_t)len);
out_free:
    BIO_free(bio);
    return rc;
}

int pfk_io_read_bio(const char *path, BIO **out, struct pf_error *err)
{
    char *buf;
    size_t len;
    int rc = pf_file_read(path, PFK_PEM_MAX, &buf, &len);

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

char *pfk_io_field(char **cursor)
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

bool pfk_io_same_content(const char *path, const char *data, size_t len)
{
    char *buf;
    size_t got;
    bool same;

    if (pf_file_read(path, PFK_PEM_MAX, &buf, &got) < 0)
        return false;
    same = got == len && !memcmp(buf, data, len);
    free(buf);
    return same;
}
