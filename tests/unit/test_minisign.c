/*
 * test_minisign.c - minisign-format keys and signatures.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "pf/fileio.h"
#include "pf/minisign.h"
#include "testutil.h"

static const char msg[] = "{\"schema\":1}\n";

START_TEST(test_sign_verify)
{
    struct pf_ms_pubkey pub;
    struct pf_ms_seckey sec;
    struct pf_ms_sig sig;
    struct pf_error err = {0};
    char buf[PF_MS_SIG_MAX];
    size_t len;

    ck_assert_int_eq(pf_ms_keygen(&pub, &sec), 0);
    ck_assert_int_eq(
            pf_ms_sign(&sec, msg, sizeof(msg) - 1, "kind:firmware", buf, sizeof(buf), &len, &err),
            0);
    ck_assert_int_eq(pf_ms_sig_parse(buf, len, &sig, &err), 0);
    ck_assert_str_eq(sig.trusted_comment, "kind:firmware");
    ck_assert_int_eq(pf_ms_verify(&pub, &sig, msg, sizeof(msg) - 1, &err), 0);
    /* Message changed. */
    ck_assert_int_eq(pf_ms_verify(&pub, &sig, msg, sizeof(msg) - 2, &err), PF_EBAD_SIG);
    /* Trusted comment changed: the global signature fails. */
    sig.trusted_comment[0] = 'K';
    ck_assert_int_eq(pf_ms_verify(&pub, &sig, msg, sizeof(msg) - 1, &err), PF_EBAD_SIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "trusted comment"));
    pf_ms_seckey_wipe(&sec);
}
END_TEST

START_TEST(test_wrong_key)
{
    struct pf_ms_pubkey pub, other;
    struct pf_ms_seckey sec, osec;
    struct pf_ms_sig sig;
    struct pf_error err = {0};
    char buf[PF_MS_SIG_MAX];
    size_t len;

    ck_assert_int_eq(pf_ms_keygen(&pub, &sec), 0);
    ck_assert_int_eq(pf_ms_keygen(&other, &osec), 0);
    ck_assert_int_eq(pf_ms_sign(&sec, msg, 5, "c", buf, sizeof(buf), &len, &err), 0);
    ck_assert_int_eq(pf_ms_sig_parse(buf, len, &sig, &err), 0);
    ck_assert_int_eq(pf_ms_verify(&other, &sig, msg, 5, &err), PF_EBAD_SIG);
    /* Same key id, different key material. */
    memcpy(other.key_id, pub.key_id, PF_MS_KEYID_LEN);
    ck_assert_int_eq(pf_ms_verify(&other, &sig, msg, 5, &err), PF_EBAD_SIG);
    pf_ms_seckey_wipe(&sec);
    pf_ms_seckey_wipe(&osec);
}
END_TEST

START_TEST(test_sig_parse_refusals)
{
    struct pf_ms_sig sig;
    struct pf_error err = {0};
    static const char legacy[] = "untrusted comment: x\n"
                                 "RWQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
                                 "trusted comment: y\n"
                                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                                 "AAAAAAAAAAAAAAAAAAAAA==\n";

    ck_assert_int_eq(pf_ms_sig_parse("", 0, &sig, &err), PF_ENO_SIG);
    ck_assert_int_eq(pf_ms_sig_parse("garbage\n", 8, &sig, &err), PF_EBAD_SIG);
    ck_assert_int_eq(pf_ms_sig_parse(legacy, sizeof(legacy) - 1, &sig, &err), PF_EBAD_SIG);
}
END_TEST

START_TEST(test_key_files)
{
    char dir[256], sk[300], pk[300];
    struct pf_ms_pubkey pub, pub2;
    struct pf_ms_seckey sec, sec2;
    struct pf_error err = {0};
    struct stat st;
    char *text;
    size_t len;

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(sk, sizeof(sk), "%s/a.key", dir);
    snprintf(pk, sizeof(pk), "%s/a.pub", dir);
    ck_assert_int_eq(pf_ms_keygen(&pub, &sec), 0);
    ck_assert_int_eq(pf_ms_seckey_save(sk, &sec, &err), 0);
    ck_assert_int_eq(pf_ms_pubkey_save(pk, &pub, &err), 0);
    ck_assert_int_eq(stat(sk, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    /* Never overwritten. */
    ck_assert_int_eq(pf_ms_seckey_save(sk, &sec, &err), PF_EEXIST);
    ck_assert_int_eq(pf_ms_seckey_load(sk, &sec2, &err), 0);
    ck_assert_int_eq(memcmp(&sec, &sec2, sizeof(sec)), 0);
    ck_assert_int_eq(pf_ms_pubkey_load(pk, &pub2, &err), 0);
    ck_assert(pf_ms_pubkey_equal(&pub, &pub2));
    /* The public file is minisign's format: comment line names the key id. */
    ck_assert_int_eq(pf_file_read(pk, 4096, &text, &len), 0);
    ck_assert_ptr_nonnull(strstr(text, "untrusted comment: minisign public key "));
    free(text);
    /* A corrupted secret key fails its checksum. */
    ck_assert_int_eq(pf_file_read(sk, 4096, &text, &len), 0);
    text[strlen("untrusted comment: minisign secret key (unencrypted; keep offline)\n") + 100] ^= 1;
    ck_assert_int_eq(unlink(sk), 0);
    ck_assert_int_eq(pf_file_write_atomic(sk, text, len, 0600), 0);
    ck_assert_int_ne(pf_ms_seckey_load(sk, &sec2, &err), 0);
    free(text);
    pf_ms_seckey_wipe(&sec);
    pf_ms_seckey_wipe(&sec2);
    pf_test_rmtree(dir);
}
END_TEST

START_TEST(test_keyid_format)
{
    uint8_t id[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}, back[8];
    char hex[17];

    pf_ms_keyid_hex(id, hex);
    /* minisign prints the id as a little-endian 64-bit integer. */
    ck_assert_str_eq(hex, "EFCDAB8967452301");
    ck_assert_int_eq(pf_ms_keyid_parse(hex, back), 0);
    ck_assert_int_eq(memcmp(id, back, 8), 0);
    ck_assert_int_eq(pf_ms_keyid_parse("EFCDAB896745230", back), PF_EPARSE);
    ck_assert_int_eq(pf_ms_keyid_parse("EFCDAB896745230G", back), PF_EPARSE);
    /* Signed documents take only the canonical spelling. */
    ck_assert_int_eq(pf_ms_keyid_parse_canonical(hex, back), 0);
    ck_assert_int_eq(memcmp(id, back, 8), 0);
    ck_assert_int_eq(pf_ms_keyid_parse_canonical("efcdab8967452301", back), PF_ERANGE);
    ck_assert_int_eq(pf_ms_keyid_parse_canonical("EFCDAB896745230", back), PF_EPARSE);
    ck_assert_int_eq(pf_ms_keyid_parse_canonical("EFCDAB89674523010", back), PF_EPARSE);
}
END_TEST

/* Sets the lowest of the unused bits in the last base64 character before the padding. */
static void set_spare_bit(char *line)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *eq = strchr(line, '=');
    char *c = eq - 1;

    *c = b64[(strchr(b64, *c) - b64) | 1];
}

START_TEST(test_sig_base64_not_canonical)
{
    struct pf_ms_pubkey pub;
    struct pf_ms_seckey sec;
    struct pf_ms_sig sig;
    struct pf_error err = {0};
    char buf[PF_MS_SIG_MAX], *lines[4];
    size_t len;

    ck_assert_int_eq(pf_ms_keygen(&pub, &sec), 0);
    ck_assert_int_eq(pf_ms_sign(&sec, "m", 1, "c", buf, sizeof(buf), &len, &err), 0);
    ck_assert_int_eq(pf_ms_sig_parse(buf, len, &sig, &err), 0);
    lines[0] = buf;
    for (int i = 1; i < 4; i++)
        lines[i] = strchr(lines[i - 1], '\n') + 1;
    /* The signature line (74 bytes: two spare bits) decodes to the same bytes
     * with a spare bit set; it is not the canonical text, so it is refused. */
    set_spare_bit(lines[1]);
    ck_assert_int_eq(pf_ms_sig_parse(buf, len, &sig, &err), PF_EBAD_SIG);
    ck_assert_msg(strstr(err.msg, "malformed signature line"), "%s", err.msg);
    pf_ms_seckey_wipe(&sec);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("minisign");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_sign_verify);
    tcase_add_test(tc, test_wrong_key);
    tcase_add_test(tc, test_sig_parse_refusals);
    tcase_add_test(tc, test_key_files);
    tcase_add_test(tc, test_keyid_format);
    tcase_add_test(tc, test_sig_base64_not_canonical);
    suite_add_tcase(s, tc);
    return pf_test_run(s);
}
