/*
 * import.c - `posfleet device import FILE.csv`: bulk registration, and the
 * credentials file that posfleet-sim (or a factory script) reads.
 *
 * The CSV goes to posfleetd as it is (POST /v1/devices/import, all or nothing,
 * errors name the line). Only after posfleetd accepted it, and only when asked
 * (--credentials-out), the CLI reads the rows itself, has posfleet-keys issue
 * a development certificate for every serial that has none yet (--pki), and
 * writes "serial,model,hw_rev,cert,key" lines. A refused import writes nothing.
 */
#include "import.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csv.h"
#include "pf/fileio.h"
#include "pf/msg.h"
#include "pf/topic.h"

#define IMPORT_FILE_MAX   (1024u * 1024 * 1024)
#define IMPORT_TIMEOUT_MS (600L * 1000) /* unless --timeout: a million rows take seconds */
#define IMPORT_KEYS_ENV   "POSFLEET_KEYS"
#define IMPORT_KEYS_BIN   "posfleet-keys"

/* A growing text buffer. */
struct import__buf {
    char *p;
    size_t len, cap;
};

static int import__put(struct import__buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        char *np;

        while (cap < b->len + n + 1)
            cap *= 2;
        np = realloc(b->p, cap);
        if (!np)
            return PF_ENOMEM;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int import__puts(struct import__buf *b, const char *s)
{
    return import__put(b, s, strlen(s));
}

struct import__ctx {
    const char *certs; /* absolute */
    struct import__buf creds;
    struct import__buf missing; /* serials without a certificate yet */
    size_t rows, missing_n;
};

static bool import__exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int import__row(void *vctx, int line, const char *f[PFC_CSV_FIELDS],
                       const size_t fl[PFC_CSV_FIELDS], int nf)
{
    struct import__ctx *c = vctx;
    char serial[PF_SERIAL_MAX + 1], crt[PATH_MAX], key[PATH_MAX], hw[PF_HWREV_MAX + 1] = "";
    int rc;

    (void)line;
    if (nf < 2 || nf > PFC_CSV_FIELDS || fl[0] > PF_SERIAL_MAX || (nf > 2 && fl[2] > PF_HWREV_MAX))
        return PF_EINVAL; /* posfleetd accepted it, so the file changed under us */
    memcpy(serial, f[0], fl[0]);
    serial[fl[0]] = '\0';
    if (nf > 2) {
        memcpy(hw, f[2], fl[2]);
        hw[fl[2]] = '\0';
    }
    if (snprintf(crt, sizeof(crt), "%s/%s.crt", c->certs, serial) >= (int)sizeof(crt) ||
        snprintf(key, sizeof(key), "%s/%s.key", c->certs, serial) >= (int)sizeof(key))
        return PF_ETOOBIG;
    c->rows++;
    if (!import__exists(crt) || !import__exists(key)) {
        if ((rc = import__put(&c->missing, serial, strlen(serial))) ||
            (rc = import__puts(&c->missing, "\n")))
            return rc;
        c->missing_n++;
    }
    if ((rc = import__put(&c->creds, serial, strlen(serial))) ||
        (rc = import__puts(&c->creds, ",")) || (rc = import__put(&c->creds, f[1], fl[1])) ||
        (rc = import__puts(&c->creds, ",")) || (rc = import__puts(&c->creds, hw)) ||
        (rc = import__puts(&c->creds, ",")) || (rc = import__puts(&c->creds, crt)) ||
        (rc = import__puts(&c->creds, ",")) || (rc = import__puts(&c->creds, key)) ||
        (rc = import__puts(&c->creds, "\n")))
        return rc;
    return 0;
}

/* posfleet-keys device-cert --dir PKI --serials LIST --out CERTS; its stdout is not ours. */
static int import__issue(const char *pki, const char *list, const char *certs, struct pf_error *err)
{
    const char *bin = getenv(IMPORT_KEYS_ENV);
    int status;
    pid_t pid;

    if (!bin || !*bin)
        bin = IMPORT_KEYS_BIN;
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return pf_error_set(err, PF_EIO, "fork: %s", strerror(errno));
    if (pid == 0) {
        char *argv[] = {(char *)bin,  "device-cert", "--dir",       (char *)pki, "--serials",
                        (char *)list, "--out",       (char *)certs, NULL};
        int devnull = open("/dev/null", O_WRONLY);

        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);
        execvp(bin, argv);
        fprintf(stderr, "posfleet: cannot run %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return pf_error_set(err, PF_EIO, "waitpid: %s", strerror(errno));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return pf_error_set(err, PF_EIO,
                            "%s device-cert failed (status %d); set %s to the posfleet-keys "
                            "binary if it is not on PATH",
                            bin, WIFEXITED(status) ? WEXITSTATUS(status) : -1, IMPORT_KEYS_ENV);
    return 0;
}

/* Writes the serials that need a certificate to a temporary file; *path is set. */
static int import__write_list(const struct import__buf *list, char *path, size_t len,
                              struct pf_error *err)
{
    const char *tmp = getenv("TMPDIR");
    int fd, rc = 0;

    snprintf(path, len, "%s/posfleet-serials.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    fd = mkstemp(path);
    if (fd < 0)
        return pf_error_set(err, PF_EIO, "%s: %s", path, strerror(errno));
    for (size_t off = 0; off < list->len;) {
        ssize_t w = write(fd, list->p + off, list->len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = pf_error_set(err, PF_EIO, "%s: %s", path, strerror(errno));
            break;
        }
        off += (size_t)w;
    }
    close(fd);
    if (rc)
        unlink(path);
    return rc;
}

static int import__credentials(const char *csv, size_t len, const char *out, const char *pki,
                               const char *certs_opt, size_t *issued, size_t *written,
                               struct pf_error *err)
{
    struct import__ctx c = {0};
    char certs[PATH_MAX], dflt[PATH_MAX], list[PATH_MAX];
    const char *want = certs_opt;
    int rc;

    if (!want) {
        if (snprintf(dflt, sizeof(dflt), "%s/devices", pki) >= (int)sizeof(dflt))
            return pf_error_set(err, PF_ETOOBIG, "--pki: path too long");
        want = dflt;
    }
    if (pki && (rc = pf_mkdir_p(want, 0700)))
        return pf_error_set(err, rc, "%s: %s", want, pf_strerror(rc));
    if (!realpath(want, certs))
        return pf_error_set(err, PF_ENOENT, "%s: %s", want, strerror(errno));
    c.certs = certs;
    rc = import__puts(&c.creds, "# posfleet credentials v1 (posfleet device import)\n"
                                "serial,model,hw_rev,cert,key\n");
    if (!rc)
        rc = pfc_csv_rows(csv, len, import__row, &c);
    if (rc) {
        pf_error_set(err, rc, "credentials: %s", pf_strerror(rc));
        goto out_bufs;
    }
    if (c.missing_n && !pki) {
        rc = pf_error_set(err, PF_ENOENT,
                          "%zu terminals have no certificate in %s: give --pki DIR to issue "
                          "development certificates",
                          c.missing_n, certs);
        goto out_bufs;
    }
    if (c.missing_n) {
        if ((rc = import__write_list(&c.missing, list, sizeof(list), err)))
            goto out_bufs;
        rc = import__issue(pki, list, certs, err);
        unlink(list);
        if (rc)
            goto out_bufs;
    }
    rc = pf_file_write_atomic(out, c.creds.p, c.creds.len, 0600);
    if (rc) {
        pf_error_set(err, rc, "%s: %s", out, pf_strerror(rc));
        goto out_bufs;
    }
    *issued = c.missing_n;
    *written = c.rows;
out_bufs:
    free(c.creds.p);
    free(c.missing.p);
    return rc;
}

int pfc_cmd_device_import(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    const char *file = pfc_args_pos(a, "FILE");
    const char *out = pfc_args_get(a, "credentials-out");
    const char *pki = pfc_args_get(a, "pki");
    const char *certs = pfc_args_get(a, "certs");
    size_t len, issued = 0, written = 0;
    json_t *resp = NULL, *added;
    char *csv = NULL;
    int rc;

    if ((pki || certs) && !out)
        return pfc_usage_failed(ctx, pf_error_set(err, PF_EINVAL,
                                                  "device import: --pki and --certs go with "
                                                  "--credentials-out"));
    if (out && !pki && !certs)
        return pfc_usage_failed(
                ctx, pf_error_set(err, PF_EINVAL,
                                  "device import: --credentials-out needs --pki DIR (issue "
                                  "development certificates) or --certs DIR (certificates "
                                  "already there)"));
    rc = pf_file_read(file, IMPORT_FILE_MAX, &csv, &len);
    if (rc)
        return pf_error_set(err, rc == PF_ENOENT ? PF_EINVAL : rc, "%s: %s", file, pf_strerror(rc));
    if (!pfc_args_get(a, "timeout"))
        pfc_http_set_timeout(ctx->http, IMPORT_TIMEOUT_MS);
    rc = pfc_call_raw(ctx, "POST", "/v1/devices/import", "text/csv", csv, len, NULL, &resp, err);
    if (rc) {
        pf_error_prefix(err, "%s", file);
        goto out_csv;
    }
    added = json_object_get(resp, "added");
    if (!json_is_integer(added)) {
        rc = pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no \"added\"");
        goto out_resp;
    }
    if (out) {
        rc = import__credentials(csv, len, out, pki, certs, &issued, &written, err);
        if (rc) {
            pf_error_prefix(err, "imported %lld terminals, but no credentials file",
                            (long long)json_integer_value(added));
            goto out_resp;
        }
        if (json_object_set_new(resp, "credentials", json_string(out)) ||
            json_object_set_new(resp, "certificates_issued", json_integer((json_int_t)issued)))
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    if (!rc && ctx->json) {
        rc = pfc_emit(ctx, a, NULL, resp, err);
    } else if (!rc) {
        fprintf(ctx->io->out, "imported %lld terminals\n", (long long)json_integer_value(added));
        if (out)
            fprintf(ctx->io->out,
                    "credentials for %zu terminals written to %s (%zu certificates issued)\n",
                    written, out, issued);
    }
out_resp:
    json_decref(resp);
out_csv:
    free(csv);
    return rc;
}
