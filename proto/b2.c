/*
 * b2.c - BLAKE2b-256 digests of buffers and files, and their hex form.
 */
#include "pf/b2.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#define B2_FILE_BLOCK (1u << 16) /* cache-sized, as PF_BUNDLE_BLOCK */

void pf_b2_hex(const uint8_t digest[PF_B2_LEN], char out[PF_B2_HEX_LEN + 1])
{
    sodium_bin2hex(out, PF_B2_HEX_LEN + 1, digest, PF_B2_LEN);
}

int pf_b2_from_hex(const char *hex, uint8_t digest[PF_B2_LEN])
{
    size_t i;

    if (!hex)
        return PF_EPARSE;
    for (i = 0; i < PF_B2_HEX_LEN; i++) {
        char c = hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return PF_EPARSE;
    }
    if (hex[PF_B2_HEX_LEN] != '\0')
        return PF_EPARSE;
    if (sodium_hex2bin(digest, PF_B2_LEN, hex, PF_B2_HEX_LEN, NULL, NULL, NULL) != 0)
        return PF_EPARSE;
    return 0;
}

void pf_b2_buf(const void *buf, size_t len, uint8_t digest[PF_B2_LEN])
{
    crypto_generichash(digest, PF_B2_LEN, buf, len, NULL, 0);
}

int pf_b2_file(const char *path, uint8_t digest[PF_B2_LEN], uint64_t *size, struct pf_error *err)
{
    crypto_generichash_state st;
    uint64_t total = 0;
    unsigned char *buf;
    int fd, rc = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pf_error_set(err, errno == ENOENT ? PF_ENOENT : PF_EIO, "%s: cannot open: %s", path,
                            strerror(errno));
    buf = malloc(B2_FILE_BLOCK);
    if (!buf) {
        rc = pf_error_set(err, PF_ENOMEM, "%s: out of memory", path);
        goto out_close;
    }
    crypto_generichash_init(&st, NULL, 0, PF_B2_LEN);
    for (;;) {
        ssize_t r = read(fd, buf, B2_FILE_BLOCK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = pf_error_set(err, PF_EIO, "%s: read failed: %s", path, strerror(errno));
            goto out_free;
        }
        if (r == 0)
            break;
        crypto_generichash_update(&st, buf, (size_t)r);
        total += (uint64_t)r;
    }
    crypto_generichash_final(&st, digest, PF_B2_LEN);
    if (size)
        *size = total;
out_free:
    free(buf);
out_close:
    close(fd);
    return rc;
}
