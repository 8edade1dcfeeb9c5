/*
 * minisign.c - minisign-compatible keys and signatures over libsodium.
 */
#include "pf/minisign.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pf/fileio.h"

#define MS_PK_BLOB     42  /* "Ed" || key id || pk */
#define MS_SIG_BLOB    74  /* "ED" || key id || sig */
#define MS_SK_BLOB     158 /* minisign SeckeyStruct */
#define MS_KEYFILE_MAX 4096

static const char ms__untrusted_prefix[] = "untrusted comment: ";
static const char ms__trusted_prefix[] = "trusted comment: ";

int pf_ms_keygen(struct pf_ms_pubkey *pub, struct pf_ms_seckey *sec)
{
    if (sodium_init() < 0)
        return PF_ECRYPTO;
    randombytes_buf(sec->key_id, sizeof(sec->key_id));
    if (crypto_sign_keypair(pub->pk, sec->sk) != 0)
        return PF_ECRYPTO;
    memcpy(pub->key_id, sec->key_id, sizeof(pub->key_id));
    return 0;
}

void pf_ms_seckey_wipe(struct pf_ms_seckey *sec)
{
    sodium_memzero(sec, sizeof(*sec));
}

void pf_ms_seckey_public(const struct pf_ms_seckey *sec, struct pf_ms_pubkey *pub)
{
    memcpy(pub->key_id, sec->key_id, sizeof(pub->key_id));
    crypto_sign_ed25519_sk_to_pk(pub->pk, sec->sk);
}

void pf_ms_keyid_hex(const uint8_t id[PF_MS_KEYID_LEN], char out[PF_MS_KEYID_HEX + 1])
{
    static const char digits[] = "0123456789ABCDEF";

    for (int i = 0; i < PF_MS_KEYID_LEN; i++) {
        uint8_t b = id[PF_MS_KEYID_LEN - 1 - i];
        out[2 * i] = digits[b >> 4];
        out[2 * i + 1] = digits[b & 15];
    }
    out[PF_MS_KEYID_HEX] = '\0';
}

int pf_ms_keyid_parse(const char *hex, uint8_t id[PF_MS_KEYID_LEN])
{
    uint8_t tmp[PF_MS_KEYID_LEN];

    if (!hex || strlen(hex) != PF_MS_KEYID_HEX)
        return PF_EPARSE;
    for (int i = 0; i < PF_MS_KEYID_LEN; i++) {
        int v = 0;
        for (int j = 0; j < 2; j++) {
            char c = hex[2 * i + j];
            int d;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (c >= 'A' && c <= 'F')
                d = c - 'A' + 10;
            else if (c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else
                return PF_EPARSE;
            v = v * 16 + d;
        }
        tmp[PF_MS_KEYID_LEN - 1 - i] = (uint8_t)v;
    }
    memcpy(id, tmp, sizeof(tmp));
    return 0;
}

int pf_ms_keyid_parse_canonical(const char *hex, uint8_t id[PF_MS_KEYID_LEN])
{
    char again[PF_MS_KEYID_HEX + 1];
    uint8_t tmp[PF_MS_KEYID_LEN];

    if (pf_ms_keyid_parse(hex, tmp) != 0)
        return PF_EPARSE;
    pf_ms_keyid_hex(tmp, again);
    if (strcmp(hex, again) != 0)
        return PF_ERANGE;
    memcpy(id, tmp, sizeof(tmp));
    return 0;
}

bool pf_ms_pubkey_equal(const struct pf_ms_pubkey *a, const struct pf_ms_pubkey *b)
{
    return memcmp(a->key_id, b->key_id, sizeof(a->key_id)) == 0 &&
           memcmp(a->pk, b->pk, sizeof(a->pk)) == 0;
}

void pf_ms_pubkey_b64(const struct pf_ms_pubkey *pub, char out[PF_MS_PK_B64_LEN + 1])
{
    uint8_t blob[MS_PK_BLOB];

    blob[0] = 'E';
    blob[1] = 'd';
    memcpy(blob + 2, pub->key_id, 8);
    memcpy(blob + 10, pub->pk, 32);
    sodium_bin2base64(out, PF_MS_PK_B64_LEN + 1, blob, sizeof(blob),
                      sodium_base64_VARIANT_ORIGINAL);
}

/* Decodes exactly want (at most 256) bytes of standard base64 from s[0..n), and only
 * its canonical spelling: encoding the bytes again must give s back, so one key or
 * signature has one text (no stray padding bits or other aliases). */
static int ms__b64_decode(const char *s, size_t n, uint8_t *out, size_t want)
{
    char again[sodium_base64_ENCODED_LEN(256, sodium_base64_VARIANT_ORIGINAL)];
    size_t got = 0;
    const char *end = NULL;

    if (want > 256 ||
        sodium_base642bin(out, want, s, n, NULL, &got, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != want || end != s + n)
        return PF_EPARSE;
    sodium_bin2base64(again, sizeof(again), out, want, sodium_base64_VARIANT_ORIGINAL);
    if (strlen(again) != n || memcmp(again, s, n) != 0)
        return PF_EPARSE;
    return 0;
}

int pf_ms_pubkey_from_b64(const char *b64, struct pf_ms_pubkey *pub, struct pf_error *err)
{
    uint8_t blob[MS_PK_BLOB];

    if (!b64 || strlen(b64) != PF_MS_PK_B64_LEN ||
        ms__b64_decode(b64, PF_MS_PK_B64_LEN, blob, sizeof(blob)) != 0)
        return pf_error_set(err, PF_EPARSE, "public key: not a minisign public key");
    if (blob[0] != 'E' || blob[1] != 'd')
        return pf_error_set(err, PF_EPARSE, "public key: unsupported algorithm");
    memcpy(pub->key_id, blob + 2, 8);
    memcpy(pub->pk, blob + 10, 32);
    return 0;
}

/*
 * Splits buf into lines (LF, optional CR before it). Returns the number of
 * lines stored in starts/lens (at most max), or PF_EPARSE if there are more
 * or a line contains a NUL.
 */
static int ms__lines(const char *buf, size_t len, const char **starts, size_t *lens, int max)
{
    int n = 0;
    size_t i = 0;

    while (i < len) {
        size_t j = i;
        while (j < len && buf[j] != '\n') {
            if (buf[j] == '\0')
                return PF_EPARSE;
            j++;
        }
        size_t l = j - i;
        if (l > 0 && buf[i + l - 1] == '\r')
            l--;
        if (n == max) {
            if (l == 0 && j >= len - 1)
                break; /* trailing empty line */
            return PF_EPARSE;
        }
        starts[n] = buf + i;
        lens[n] = l;
        n++;
        i = j + 1;
    }
    while (n > 0 && lens[n - 1] == 0)
        n--;
    return n;
}

static bool ms__has_prefix(const char *s, size_t n, const char *prefix)
{
    size_t p = strlen(prefix);
    return n >= p && memcmp(s, prefix, p) == 0;
}

int pf_ms_pubkey_parse(const char *buf, size_t len, struct pf_ms_pubkey *pub, struct pf_error *err)
{
    const char *starts[2];
    size_t lens[2];
    char line[PF_MS_PK_B64_LEN + 1];
    int n = ms__lines(buf, len, starts, lens, 2);

    if (n == 1) { /* a bare base64 line is accepted too */
        starts[1] = starts[0];
        lens[1] = lens[0];
    } else if (n != 2 || !ms__has_prefix(starts[0], lens[0], ms__untrusted_prefix)) {
        return pf_error_set(err, PF_EPARSE, "public key: not a minisign public key file");
    }
    if (lens[1] != PF_MS_PK_B64_LEN)
        return pf_error_set(err, PF_EPARSE, "public key: not a minisign public key");
    memcpy(line, starts[1], PF_MS_PK_B64_LEN);
    line[PF_MS_PK_B64_LEN] = '\0';
    return pf_ms_pubkey_from_b64(line, pub, err);
}

int pf_ms_pubkey_load(const char *path, struct pf_ms_pubkey *pub, struct pf_error *err)
{
    char *buf;
    size_t len;
    int rc = pf_file_read(path, MS_KEYFILE_MAX, &buf, &len);

    if (rc)
        return pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));
    rc = pf_ms_pubkey_parse(buf, len, pub, err);
    free(buf);
    if (rc)
        pf_error_prefix(err, "%s", path);
    return rc;
}

int pf_ms_pubkey_save(const char *path, const struct pf_ms_pubkey *pub, struct pf_error *err)
{
    char b64[PF_MS_PK_B64_LEN + 1], id[PF_MS_KEYID_HEX + 1], buf[256];
    int n, rc;

    pf_ms_pubkey_b64(pub, b64);
    pf_ms_keyid_hex(pub->key_id, id);
    n = snprintf(buf, sizeof(buf), "untrusted comment: minisign public key %s\n%s\n", id, b64);
    rc = pf_file_write_atomic(path, buf, (size_t)n, 0644);
    if (rc)
        return pf_error_set(err, rc, "%s: cannot write: %s", path, pf_strerror(rc));
    return 0;
}

static void ms__sk_checksum(const uint8_t *blob, uint8_t chk[32])
{
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, blob, 2);       /* sig_alg */
    crypto_generichash_update(&st, blob + 54, 8);  /* key id */
    crypto_generichash_update(&st, blob + 62, 64); /* sk */
    crypto_generichash_final(&st, chk, 32);
}

/* minisign SeckeyStruct: sig_alg[2] kdf_alg[2] chk_alg[2] salt[32] ops[8] mem[8]
 * key id[8] sk[64] chk[32]; KDF "\0\0" means the key is stored unencrypted. */
int pf_ms_seckey_save(const char *path, const struct pf_ms_seckey *sec, struct pf_error *err)
{
    uint8_t blob[MS_SK_BLOB];
    char b64[sodium_base64_ENCODED_LEN(MS_SK_BLOB, sodium_base64_VARIANT_ORIGINAL)];
    char text[512];
    int fd, n, rc = 0;
    size_t off = 0;

    memset(blob, 0, sizeof(blob));
    memcpy(blob, "Ed", 2);
    memcpy(blob + 4, "B2", 2);
    memcpy(blob + 54, sec->key_id, 8);
    memcpy(blob + 62, sec->sk, 64);
    ms__sk_checksum(blob, blob + 126);
    sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob), sodium_base64_VARIANT_ORIGINAL);
    n = snprintf(text, sizeof(text),
                 "untrusted comment: minisign secret key (unencrypted; keep offline)\n%s\n", b64);
    sodium_memzero(blob, sizeof(blob));
    sodium_memzero(b64, sizeof(b64));

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = pf_error_set(err, errno == EEXIST ? PF_EEXIST : PF_EIO,
                          "%s: cannot create secret key: %s", path, strerror(errno));
        goto out_wipe;
    }
    if (fchmod(fd, 0600) < 0)
        goto out_io;
    while (off < (size_t)n) {
        ssize_t w = write(fd, text + off, (size_t)n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto out_io;
        off += (size_t)w;
    }
    if (fsync(fd) < 0)
        goto out_io;
    close(fd);
    fd = -1;
    if (pf_fsync_dir_of(path) != 0) {
        rc = pf_error_set(err, PF_EIO, "%s: cannot sync its directory", path);
        goto out_wipe;
    }
    goto out_wipe;
out_io:
    rc = pf_error_set(err, PF_EIO, "%s: cannot write secret key: %s", path, strerror(errno));
    close(fd);
    unlink(path);
out_wipe:
    sodium_memzero(text, sizeof(text));
    return rc;
}

int pf_ms_seckey_load(const char *path, struct pf_ms_seckey *sec, struct pf_error *err)
{
    const char *starts[2];
    size_t lens[2];
    uint8_t blob[MS_SK_BLOB], chk[32], pk[32];
    struct stat st;
    char *buf = NULL;
    size_t len;
    int rc = pf_file_read(path, MS_KEYFILE_MAX, &buf, &len), n;

    if (rc)
        return pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        fprintf(stderr, "warning: %s is accessible by other users (mode %03o)\n", path,
                (unsigned)(st.st_mode & 0777));
    n = ms__lines(buf, len, starts, lens, 2);
    if (n != 2 || !ms__has_prefix(starts[0], lens[0], ms__untrusted_prefix) ||
        ms__b64_decode(starts[1], lens[1], blob, sizeof(blob)) != 0) {
        rc = pf_error_set(err, PF_EPARSE, "%s: not a minisign secret key", path);
        goto out_wipe;
    }
    if (memcmp(blob, "Ed", 2) != 0 || memcmp(blob + 4, "B2", 2) != 0) {
        rc = pf_error_set(err, PF_EPARSE, "%s: unsupported secret key algorithm", path);
        goto out_wipe;
    }
    if (blob[2] != 0 || blob[3] != 0) {
        rc = pf_error_set(err, PF_EPARSE,
                          "%s: passphrase-protected keys are not supported (use minisign -W)",
                          path);
        goto out_wipe;
    }
    ms__sk_checksum(blob, chk);
    if (sodium_memcmp(chk, blob + 126, 32) != 0) {
        rc = pf_error_set(err, PF_ECRYPTO, "%s: secret key checksum mismatch", path);
        goto out_wipe;
    }
    memcpy(sec->key_id, blob + 54, 8);
    memcpy(sec->sk, blob + 62, 64);
    /* The public half is stored in sk; make sure it matches the seed. */
    crypto_sign_ed25519_sk_to_pk(pk, sec->sk);
    {
        uint8_t seedpk[32], seedsk[64];
        crypto_sign_seed_keypair(seedpk, seedsk, sec->sk);
        if (memcmp(seedpk, pk, 32) != 0) {
            sodium_memzero(seedsk, sizeof(seedsk));
            pf_ms_seckey_wipe(sec);
            rc = pf_error_set(err, PF_ECRYPTO, "%s: inconsistent secret key", path);
            goto out_wipe;
        }
        sodium_memzero(seedsk, sizeof(seedsk));
    }
out_wipe:
    sodium_memzero(blob, sizeof(blob));
    sodium_memzero(buf, len);
    free(buf);
    return rc;
}

int pf_ms_sign(const struct pf_ms_seckey *sec, const void *msg, size_t len,
               const char *trusted_comment, char *out, size_t outlen, size_t *written,
               struct pf_error *err)
{
    uint8_t hash[crypto_generichash_BYTES_MAX], blob[MS_SIG_BLOB], gsig[64];
    uint8_t *gmsg;
    size_t tlen = strlen(trusted_comment);
    char sig64[sodium_base64_ENCODED_LEN(MS_SIG_BLOB, sodium_base64_VARIANT_ORIGINAL)];
    char gsig64[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];
    char id[PF_MS_KEYID_HEX + 1];
    int n;

    if (sodium_init() < 0)
        return pf_error_set(err, PF_ECRYPTO, "libsodium failed to initialise");
    if (tlen > PF_MS_COMMENT_MAX || strpbrk(trusted_comment, "\r\n"))
        return pf_error_set(err, PF_EINVAL, "trusted comment must be one line of at most %d bytes",
                            PF_MS_COMMENT_MAX);
    crypto_generichash(hash, sizeof(hash), msg, len, NULL, 0);
    memcpy(blob, "ED", 2);
    memcpy(blob + 2, sec->key_id, 8);
    crypto_sign_detached(blob + 10, NULL, hash, sizeof(hash), sec->sk);

    gmsg = malloc(64 + tlen + 1);
    if (!gmsg)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    memcpy(gmsg, blob + 10, 64);
    memcpy(gmsg + 64, trusted_comment, tlen);
    crypto_sign_detached(gsig, NULL, gmsg, 64 + tlen, sec->sk);
    free(gmsg);

    sodium_bin2base64(sig64, sizeof(sig64), blob, sizeof(blob), sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(gsig64, sizeof(gsig64), gsig, sizeof(gsig), sodium_base64_VARIANT_ORIGINAL);
    pf_ms_keyid_hex(sec->key_id, id);
    n = snprintf(out, outlen, "untrusted comment: signature from posfleet key %s\n%s\n%s%s\n%s\n",
                 id, sig64, ms__trusted_prefix, trusted_comment, gsig64);
    if (n < 0 || (size_t)n >= outlen)
        return pf_error_set(err, PF_ETOOBIG, "signature does not fit the buffer");
    if (written)
        *written = (size_t)n;
    return 0;
}

int pf_ms_sig_parse(const char *buf, size_t len, struct pf_ms_sig *sig, struct pf_error *err)
{
    const char *starts[4];
    size_t lens[4], plen = strlen(ms__trusted_prefix);
    uint8_t blob[MS_SIG_BLOB];
    int n;

    if (len == 0)
        return pf_error_set(err, PF_ENO_SIG, "signature is empty");
    if (len > PF_MS_SIG_MAX)
        return pf_error_set(err, PF_EBAD_SIG, "signature file too large");
    n = ms__lines(buf, len, starts, lens, 4);
    if (n != 4 || !ms__has_prefix(starts[0], lens[0], ms__untrusted_prefix) ||
        !ms__has_prefix(starts[2], lens[2], ms__trusted_prefix))
        return pf_error_set(err, PF_EBAD_SIG, "signature: not a minisign signature file");
    if (ms__b64_decode(starts[1], lens[1], blob, sizeof(blob)) != 0)
        return pf_error_set(err, PF_EBAD_SIG, "signature: malformed signature line");
    if (memcmp(blob, "ED", 2) != 0)
        return pf_error_set(err, PF_EBAD_SIG,
                            "signature: only prehashed (ED) signatures are accepted");
    if (lens[2] - plen > PF_MS_COMMENT_MAX)
        return pf_error_set(err, PF_EBAD_SIG, "signature: trusted comment too long");
    if (ms__b64_decode(starts[3], lens[3], sig->global_sig, 64) != 0)
        return pf_error_set(err, PF_EBAD_SIG, "signature: malformed global signature line");
    memcpy(sig->key_id, blob + 2, 8);
    memcpy(sig->sig, blob + 10, 64);
    memcpy(sig->trusted_comment, starts[2] + plen, lens[2] - plen);
    sig->trusted_comment[lens[2] - plen] = '\0';
    return 0;
}

int pf_ms_verify(const struct pf_ms_pubkey *pub, const struct pf_ms_sig *sig, const void *msg,
                 size_t len, struct pf_error *err)
{
    uint8_t hash[crypto_generichash_BYTES_MAX];
    uint8_t gmsg[64 + PF_MS_COMMENT_MAX];
    size_t tlen = strlen(sig->trusted_comment);
    char a[PF_MS_KEYID_HEX + 1], b[PF_MS_KEYID_HEX + 1];

    if (sodium_init() < 0)
        return pf_error_set(err, PF_ECRYPTO, "libsodium failed to initialise");
    if (memcmp(pub->key_id, sig->key_id, 8) != 0) {
        pf_ms_keyid_hex(sig->key_id, a);
        pf_ms_keyid_hex(pub->key_id, b);
        return pf_error_set(err, PF_EBAD_SIG, "signed by key %s, expected key %s", a, b);
    }
    crypto_generichash(hash, sizeof(hash), msg, len, NULL, 0);
    if (crypto_sign_verify_detached(sig->sig, hash, sizeof(hash), pub->pk) != 0)
        return pf_error_set(err, PF_EBAD_SIG, "signature does not verify");
    memcpy(gmsg, sig->sig, 64);
    memcpy(gmsg + 64, sig->trusted_comment, tlen);
    if (crypto_sign_verify_detached(sig->global_sig, gmsg, 64 + tlen, pub->pk) != 0)
        return pf_error_set(err, PF_EBAD_SIG, "trusted comment signature does not verify");
    return 0;
}

void pf_ms_sign_raw(const struct pf_ms_seckey *sec, const void *msg, size_t len, uint8_t sig[64])
{
    crypto_sign_detached(sig, NULL, msg, len, sec->sk);
}

bool pf_ms_verify_raw(const struct pf_ms_pubkey *pub, const void *msg, size_t len,
                      const uint8_t sig[64])
{
    if (sodium_init() < 0)
        return false;
    return crypto_sign_verify_detached(sig, msg, len, pub->pk) == 0;
}
