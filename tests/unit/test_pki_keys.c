/*
 * test_pki_keys.c - the development PKI and API tokens of posfleet-keys.
 *
 * The PKI lives in the posfleet-keys binary, so these cases run it (from
 * $POSFLEET_BUILD) on a fresh directory and inspect what it wrote. CRLs and
 * certificates are checked with the openssl command, an implementation
 * independent of the code under test; token digests with libsodium.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pf/fileio.h"
#include "testutil.h"

static char keys_bin[PATH_MAX];
static char tmp[256];
static char pki[512];

static void setup(void)
{
    const char *build = getenv("POSFLEET_BUILD");

    ck_assert_msg(build != NULL, "POSFLEET_BUILD is not set (run through ctest)");
    snprintf(keys_bin, sizeof(keys_bin), "%s/keys/posfleet-keys", build);
    ck_assert_msg(access(keys_bin, X_OK) == 0, "%s is missing", keys_bin);
    pf_test_tmpdir(tmp, sizeof(tmp));
    snprintf(pki, sizeof(pki), "%s/pki", tmp);
}

static void teardown(void)
{
    pf_test_rmtree(tmp);
}

/* Runs posfleet-keys with a NULL-terminated argument list; stdout goes to out
 * (if given, NUL-terminated), stderr is discarded. Returns the exit status. */
static int run_out(char *out, size_t outlen, const char *arg0, ...)
{
    const char *argv[32];
    va_list ap;
    int n = 0, pipefd[2], status;
    pid_t pid;
    size_t got = 0;

    argv[n++] = keys_bin;
    argv[n++] = arg0;
    va_start(ap, arg0);
    while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;

    ck_assert_int_eq(pipe(pipefd), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(pipefd[1], 1);
        dup2(devnull, 2);
        close(pipefd[0]);
        execv(keys_bin, (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    for (;;) {
        char sink[256];
        char *dst = out && got + 1 < outlen ? out + got : sink;
        size_t room = out && got + 1 < outlen ? outlen - got - 1 : sizeof(sink);
        ssize_t r = read(pipefd[0], dst, room);
        if (r <= 0)
            break;
        if (dst != sink)
            got += (size_t)r;
    }
    if (out)
        out[got] = '\0';
    close(pipefd[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

#define run(...)              run_out(NULL, 0, __VA_ARGS__, (const char *)NULL)
#define run_capture(buf, ...) run_out(buf, sizeof(buf), __VA_ARGS__, (const char *)NULL)

/* Output of a shell command (the openssl CLI), NUL-terminated; exit status. */
static int shell(char *out, size_t outlen, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    FILE *p;
    size_t got;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    got = fread(out, 1, outlen - 1, p);
    out[got] = '\0';
    return pclose(p);
}

static char *slurp(const char *dir, const char *name)
{
    char path[PATH_MAX], *buf = NULL;
    size_t len;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (pf_file_read(path, 64u * 1024 * 1024, &buf, &len) < 0)
        return NULL;
    return buf;
}

static mode_t mode_of(const char *dir, const char *name)
{
    char path[PATH_MAX];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ck_assert_msg(stat(path, &st) == 0, "%s missing", path);
    return st.st_mode & 07777;
}

static bool exists(const char *dir, const char *name)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static int count_lines(const char *s)
{
    int n = 0;

    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The certificate serial number (hex, as openssl prints it) of a cert file. */
static void cert_serial(const char *path, char *hex, size_t len)
{
    char out[256], *eq, *nl;

    ck_assert_int_eq(shell(out, sizeof(out), "openssl x509 -in '%s' -noout -serial", path), 0);
    eq = strchr(out, '=');
    ck_assert_ptr_nonnull(eq);
    nl = strchr(eq, '\n');
    if (nl)
        *nl = '\0';
    snprintf(hex, len, "%s", eq + 1);
}

static void ca_init(void)
{
    ck_assert_int_eq(run("ca-init", "--dir", pki), 0);
}

START_TEST(ca_init_layout_and_modes)
{
    char out[4096];

    ca_init();
    ck_assert_int_eq(mode_of(pki, "ca.key"), 0600);
    ck_assert_int_eq(mode_of(pki, "ca.crt"), 0644);
    ck_assert_int_eq(mode_of(pki, "crl.pem"), 0644);
    ck_assert(exists(pki, "index.txt"));
    ck_assert_int_eq(mode_of(tmp, "pki"), 0700);
    /* A CA, self-signed, P-256, and an empty CRL that verifies against it. */
    ck_assert_int_eq(shell(out, sizeof(out), "openssl x509 -in '%s/ca.crt' -noout -text", pki), 0);
    ck_assert_ptr_nonnull(strstr(out, "CA:TRUE"));
    ck_assert_ptr_nonnull(strstr(out, "prime256v1"));
    ck_assert_ptr_nonnull(strstr(out, "Certificate Sign, CRL Sign"));
    ck_assert_int_eq(shell(out, sizeof(out),
                           "openssl crl -in '%s/crl.pem' -CAfile '%s/ca.crt' -noout -text 2>&1",
                           pki, pki),
                     0);
    ck_assert_ptr_nonnull(strstr(out, "verify OK"));
    ck_assert_ptr_nonnull(strstr(out, "No Revoked Certificates"));
}
END_TEST

START_TEST(ca_init_refuses_existing)
{
    char *before, *after;

    ca_init();
    before = slurp(pki, "ca.key");
    ck_assert_int_eq(run("ca-init", "--dir", pki), 1);
    after = slurp(pki, "ca.key");
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    ck_assert_int_eq(run("ca-init"), 2);
    ck_assert_int_eq(run("ca-init", "--dir", pki, "--days", "0"), 2);
}
END_TEST

START_TEST(device_cert_issued_and_verifies)
{
    char devs[1024], out[8192], *index;

    ca_init();
    ck_assert_int_eq(run("device-cert", "--dir", pki, "--serial", "PF-A1_0001"), 0);
    snprintf(devs, sizeof(devs), "%s/devices", pki);
    ck_assert_int_eq(mode_of(devs, "PF-A1_0001.key"), 0600);
    ck_assert_int_eq(mode_of(devs, "PF-A1_0001.crt"), 0644);
    ck_assert_int_eq(shell(out, sizeof(out),
                           "openssl verify -purpose sslclient -CAfile '%s/ca.crt' "
                           "'%s/PF-A1_0001.crt' 2>&1",
                           pki, devs),
                     0);
    ck_assert_int_eq(
            shell(out, sizeof(out), "openssl x509 -in '%s/PF-A1_0001.crt' -noout -text", devs), 0);
    ck_assert_ptr_nonnull(strstr(out, "Subject: CN = PF-A1_0001"));
    ck_assert_ptr_nonnull(strstr(out, "TLS Web Client Authentication"));
    ck_assert_ptr_nonnull(strstr(out, "CA:FALSE"));
    /* The key belongs to the certificate. */
    ck_assert_int_eq(shell(out, sizeof(out),
                           "test \"$(openssl x509 -in '%s/PF-A1_0001.crt' -noout -pubkey)\" = "
                           "\"$(openssl pkey -in '%s/PF-A1_0001.key' -pubout)\"",
                           devs, devs),
                     0);
    index = slurp(pki, "index.txt");
    ck_assert_ptr_nonnull(strstr(index, " device PF-A1_0001\n"));
    ck_assert_int_eq(index[0], 'V');
    free(index);
}
END_TEST

START_TEST(device_cert_refusals_write_nothing)
{
    static const char *bad[] = {"posfleetd",
                                "posfleetd-2",
                                "a/b",
                                "",
                                "x+y",
                                "#",
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"}; /* 33 chars */
    char devs[1024], *before, *after;

    ca_init();
    snprintf(devs, sizeof(devs), "%s/devices", pki);
    before = slurp(pki, "index.txt");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(run("device-cert", "--dir", pki, "--serial", bad[i]) == 1, "%s accepted",
                      bad[i]);
    after = slurp(pki, "index.txt");
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(count_files(devs), 0);
    free(before);
    free(after);
    /* Usage errors: no mode, two modes. */
    ck_assert_int_eq(run("device-cert", "--dir", pki), 2);
    ck_assert_int_eq(run("device-cert", "--dir", pki, "--serial", "A", "--count", "2"), 2);
    /* No CA. */
    ck_assert_int_eq(run("device-cert", "--dir", tmp, "--serial", "A"), 1);
}
END_TEST

START_TEST(server_and_service_certs)
{
    char out[8192];

    ca_init();
    ck_assert_int_eq(run("server-cert", "--dir", pki, "--cn", "broker", "--ip", "127.0.0.1",
                         "--dns", "localhost"),
                     0);
    ck_assert_int_eq(run("server-cert", "--dir", pki, "--cn", "posfleetd"), 0);
    ck_assert_int_eq(mode_of(pki, "broker.key"), 0600);
    ck_assert_int_eq(mode_of(pki, "posfleetd.key"), 0600);
    ck_assert_int_eq(shell(out, sizeof(out), "openssl x509 -in '%s/broker.crt' -noout -text", pki),
                     0);
    ck_assert_ptr_nonnull(strstr(out, "IP Address:127.0.0.1, DNS:localhost"));
    ck_assert_ptr_nonnull(strstr(out, "TLS Web Server Authentication"));
    /* The broker certificate cannot serve as a client certificate. */
    ck_assert_int_ne(shell(out, sizeof(out),
                           "openssl verify -purpose sslclient -CAfile '%s/ca.crt' "
                           "'%s/broker.crt' 2>&1",
                           pki, pki),
                     0);
    ck_assert_int_eq(shell(out, sizeof(out),
                           "openssl verify -purpose sslclient -CAfile '%s/ca.crt' "
                           "'%s/posfleetd.crt' 2>&1",
                           pki, pki),
                     0);
    ck_assert_int_eq(run("server-cert", "--dir", pki, "--cn", "b", "--ip", "not-an-ip"), 1);
    ck_assert_int_eq(run("server-cert", "--dir", pki, "--cn", "ca"), 1);
    ck_assert_int_eq(run("server-cert", "--dir", pki, "--cn", "../x"), 1);
    ck_assert_int_eq(run("server-cert", "--dir", pki, "--cn", "posfleetd", "--ip", "127.0.0.1"), 1);
    ck_assert(!exists(pki, "b.crt"));
}
END_TEST

START_TEST(revoke_puts_serial_in_crl)
{
    char devs[1024], crt[2048], serial[128], out[8192], *index;

    ca_init();
    ck_assert_int_eq(run("device-cert", "--dir", pki, "--serial", "T1"), 0);
    ck_assert_int_eq(run("device-cert", "--dir", pki, "--serial", "T2"), 0);
    snprintf(devs, sizeof(devs), "%s/devices", pki);
    snprintf(crt, sizeof(crt), "%s/T1.crt", devs);
    cert_serial(crt, serial, sizeof(serial));

    ck_assert_int_eq(run("cert-revoke", "--dir", pki, "--serial", "T1"), 0);
    ck_assert_int_eq(shell(out, sizeof(out),
                           "openssl crl -in '%s/crl.pem' -CAfile '%s/ca.crt' -noout -text 2>&1",
                           pki, pki),
                     0);
    ck_assert_ptr_nonnull(strstr(out, "verify OK"));
    ck_assert_msg(strstr(out, serial) != NULL, "serial %s not in CRL:\n%s", serial, out);
    ck_assert_ptr_nonnull(strstr(out, "X509v3 CRL Number"));
    /* openssl verify with the CRL: T1 revoked, T2 still good. */
    ck_assert_int_ne(shell(out, sizeof(out),
                           "openssl verify -crl_check -CAfile '%s/ca.crt' -CRLfile '%s/crl.pem' "
                           "'%s' 2>&1",
                           pki, pki, crt),
                     0);
    ck_assert_ptr_nonnull(strstr(out, "revoked"));
    ck_assert_int_eq(shell(out, sizeof(out),
                           "openssl verify -crl_check -CAfile '%s/ca.crt' -CRLfile '%s/crl.pem' "
                           "'%s/T2.crt' 2>&1",
                           pki, pki, devs),
                     0);
    index = slurp(pki, "index.txt");
    ck_assert_ptr_nonnull(strstr(index, "R "));
    free(index);
    /* A revoked serial is not reissued. */
    ck_assert_int_eq(run("device-cert", "--dir", pki, "--serial", "T1"), 1);
}
END_TEST

START_TEST(revoke_unknown_changes_nothing)
{
    char *idx_before, *crl_before, *idx_after, *crl_after;

    ca_init();
    ck_assert_int_eq(run("device-cert", "--dir", pki, "--serial", "T1"), 0);
    idx_before = slurp(pki, "index.txt");
    crl_before = slurp(pki, "crl.pem");
    ck_assert_int_eq(run("cert-revoke", "--dir", pki, "--serial", "T9"), 1);
    /* --serial revokes terminals only: the service certificate is not one. */
    ck_assert_int_eq(run("server-cert", "--dir", pki, "--cn", "posfleetd"), 0);
    free(idx_before);
    idx_before = slurp(pki, "index.txt");
    ck_assert_int_eq(run("cert-revoke", "--dir", pki, "--serial", "posfleetd"), 1);
    ck_assert_int_eq(run("cert-revoke", "--dir", pki), 2);
    idx_after = slurp(pki, "index.txt");
    crl_after = slurp(pki, "crl.pem");
    ck_assert_str_eq(idx_before, idx_after);
    ck_assert_str_eq(crl_before, crl_after);
    free(idx_before);
    free(crl_before);
    free(idx_after);
    free(crl_after);
}
END_TEST

START_TEST(service_cert_rotates_after_revocation)
{
    char crt[1024], before[128], after[128], out[8192];

    ca_init();
    ck_assert_int_eq(run("server-cert", "--dir", pki, "--cn", "posfleetd"), 0);
    snprintf(crt, sizeof(crt), "%s/posfleetd.crt", pki);
    cert_serial(crt, before, sizeof(before));
    ck_assert_int_eq(run("cert-revoke", "--dir", pki, "--cn", "posfleetd"), 0);
    ck_assert_int_eq(run("server-cert", "--dir", pki, "--cn", "posfleetd"), 0);
    cert_serial(crt, after, sizeof(after));
    ck_assert_str_ne(before, after);
    ck_assert_int_eq(shell(out, sizeof(out),
                           "openssl verify -crl_check -CAfile '%s/ca.crt' -CRLfile '%s/crl.pem' "
                           "'%s' 2>&1",
                           pki, pki, crt),
                     0);
}
END_TEST

START_TEST(batch_count_and_file)
{
    char devs[1024], list[1024], *index;
    FILE *f;

    ca_init();
    snprintf(devs, sizeof(devs), "%s/out", tmp);
    ck_assert_int_eq(
            run("device-cert", "--dir", pki, "--count", "40", "--prefix", "SIM", "--out", devs), 0);
    ck_assert_int_eq(count_files(devs), 80);
    ck_assert(exists(devs, "SIM00001.crt"));
    ck_assert(exists(devs, "SIM00040.key"));
    ck_assert_int_eq(mode_of(devs, "SIM00040.key"), 0600);
    index = slurp(pki, "index.txt");
    ck_assert_int_eq(count_lines(index), 40);
    free(index);

    /* A list with a comment and a bad serial on line 4: the first two are
     * issued and recorded, the error names the line, the rest is not issued. */
    snprintf(list, sizeof(list), "%s/serials", tmp);
    f = fopen(list, "w");
    ck_assert_ptr_nonnull(f);
    fputs("L1\n# comment\n  L2  \nbad/serial\nL3\n", f);
    fclose(f);
    ck_assert_int_eq(run("device-cert", "--dir", pki, "--serials", list, "--out", devs), 1);
    ck_assert(exists(devs, "L1.crt"));
    ck_assert(exists(devs, "L2.crt"));
    ck_assert(!exists(devs, "L3.crt"));
    index = slurp(pki, "index.txt");
    ck_assert_int_eq(count_lines(index), 42);
    free(index);
}
END_TEST

START_TEST(capath_install_and_newer_crl)
{
    char capath[1024], out[256];

    ca_init();
    snprintf(capath, sizeof(capath), "%s/capath", tmp);
    ck_assert_int_eq(run("crl", "--dir", pki, "--capath", capath, "--install-only"), 0);
    ck_assert_int_eq(count_files(capath), 2);
    /* Installing the same CRL again adds nothing. */
    ck_assert_int_eq(run("crl", "--dir", pki, "--capath", capath, "--install-only"), 0);
    ck_assert_int_eq(count_files(capath), 2);
    ck_assert_int_eq(run("device-cert", "--dir", pki, "--serial", "T1"), 0);
    ck_assert_int_eq(run("cert-revoke", "--dir", pki, "--serial", "T1", "--capath", capath), 0);
    ck_assert_int_eq(count_files(capath), 3);
    /* Names are the OpenSSL subject hash of the CA: HASH.0, HASH.r0, HASH.r1. */
    ck_assert_int_eq(shell(out, sizeof(out),
                           "h=$(openssl x509 -in '%s/ca.crt' -noout -subject_hash) && "
                           "test -f '%s'/$h.0 && test -f '%s'/$h.r0 && cmp -s '%s'/$h.r1 "
                           "'%s/crl.pem'",
                           pki, capath, capath, capath, pki),
                     0);
    ck_assert_int_eq(run("crl", "--capath", capath, "--install-only"), 2);
}
END_TEST

START_TEST(crl_this_update_strictly_increases)
{
    char a[512], b[512];

    ca_init();
    ck_assert_int_eq(run("crl", "--dir", pki), 0);
    ck_assert_int_eq(shell(a, sizeof(a), "openssl crl -in '%s/crl.pem' -noout -lastupdate", pki),
                     0);
    ck_assert_int_eq(run("crl", "--dir", pki, "--days", "7"), 0);
    ck_assert_int_eq(shell(b, sizeof(b), "openssl crl -in '%s/crl.pem' -noout -lastupdate", pki),
                     0);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(api_token_line_and_digest)
{
    char file[1024], token[256], line[512], hex[65], *content, *before;
    unsigned char digest[32];
    FILE *f;

    ck_assert_int_ge(sodium_init(), 0);
    snprintf(file, sizeof(file), "%s/tokens", tmp);
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs("# posfleetd tokens\n\n  # indented comment\n", f);
    fclose(f);
    chmod(file, 0644);

    ck_assert_int_eq(
            run_capture(token, "api-token", "--name", "alice", "--role", "ops", "--file", file), 0);
    ck_assert_int_eq(strlen(token), 44); /* 43 characters and a newline */
    token[43] = '\0';
    ck_assert_uint_eq(
            strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    crypto_generichash(digest, sizeof(digest), (const unsigned char *)token, strlen(token), NULL,
                       0);
    sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
    snprintf(line, sizeof(line), "\nalice ops %s\n", hex);
    content = slurp(tmp, "tokens");
    ck_assert_msg(strstr(content, line) != NULL, "no line '%s' in:\n%s", line, content);
    ck_assert_ptr_null(strstr(content, token)); /* the token itself is never stored */
    ck_assert_ptr_nonnull(strstr(content, "# posfleetd tokens\n"));
    ck_assert_int_eq(mode_of(tmp, "tokens"), 0600);
    free(content);

    ck_assert_int_eq(
            run_capture(token, "api-token", "--name", "vic", "--role", "viewer", "--file", file),
            0);
    before = slurp(tmp, "tokens");
    ck_assert_ptr_nonnull(strstr(before, "\nvic viewer "));
    /* Refusals change nothing and print no token. */
    ck_assert_int_eq(
            run_capture(token, "api-token", "--name", "alice", "--role", "viewer", "--file", file),
            1);
    ck_assert_str_eq(token, "");
    ck_assert_int_eq(
            run_capture(token, "api-token", "--name", "bob", "--role", "merchant", "--file", file),
            1);
    ck_assert_str_eq(token, "");
    ck_assert_int_eq(
            run_capture(token, "api-token", "--name", "bob", "--role", "root", "--file", file), 1);
    ck_assert_str_eq(token, "");
    ck_assert_int_eq(
            run_capture(token, "api-token", "--name", "b c", "--role", "ops", "--file", file), 1);
    ck_assert_int_eq(run("api-token", "--name", "x", "--role", "ops"), 2);
    content = slurp(tmp, "tokens");
    ck_assert_str_eq(before, content);
    free(before);
    free(content);
}
END_TEST

START_TEST(api_token_refuses_malformed_file)
{
    char file[1024], token[256], *content;
    FILE *f;

    snprintf(file, sizeof(file), "%s/tokens", tmp);
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs("alice ops nothex\n", f);
    fclose(f);
    ck_assert_int_eq(
            run_capture(token, "api-token", "--name", "bob", "--role", "ops", "--file", file), 1);
    ck_assert_str_eq(token, "");
    content = slurp(tmp, "tokens");
    ck_assert_str_eq(content, "alice ops nothex\n");
    free(content);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pki_keys");
    TCase *tc = tcase_create("pki");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ca_init_layout_and_modes);
    tcase_add_test(tc, ca_init_refuses_existing);
    tcase_add_test(tc, device_cert_issued_and_verifies);
    tcase_add_test(tc, device_cert_refusals_write_nothing);
    tcase_add_test(tc, server_and_service_certs);
    tcase_add_test(tc, revoke_puts_serial_in_crl);
    tcase_add_test(tc, revoke_unknown_changes_nothing);
    tcase_add_test(tc, service_cert_rotates_after_revocation);
    tcase_add_test(tc, batch_count_and_file);
    tcase_add_test(tc, capath_install_and_newer_crl);
    tcase_add_test(tc, crl_this_update_strictly_increases);
    tcase_add_test(tc, api_token_line_and_digest);
    tcase_add_test(tc, api_token_refuses_malformed_file);
    suite_add_tcase(s, tc);
    return pf_test_run(s);
}
