/*
 * cmd_pki.c - posfleet-keys commands of the development PKI: ca-init,
 * server-cert, device-cert, cert-revoke, crl, api-token.
 *
 * Option parsing and messages only; the work is in pki_ca.c and pki_token.c.
 * Exit codes: 0 done, 1 refused or failed (reason on stderr), 2 usage.
 * Nothing here prints a private key; api-token prints its token once, on
 * stdout, by design (docs/security.md, "API tokens").
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "keys.h"
#include "pf/fileio.h"
#include "pf/num.h"
#include "pf/topic.h"
#include "pki_ca.h"
#include "pki_token.h"

#define PKI_DEFAULT_CA_DAYS     3650
#define PKI_DEFAULT_CERT_DAYS   825
#define PKI_DEFAULT_DEVICE_DAYS 1825
#define PKI_DEFAULT_CRL_DAYS    30
#define PKI_MAX_SAN             16
#define PKI_BATCH_MAX           1000000

static int cmd__fail(const char *cmd, const struct pf_error *err)
{
    fprintf(stderr, "posfleet-keys %s: %s\n", cmd, err->msg[0] ? err->msg : pf_strerror(err->code));
    return 1;
}

static int cmd__usage(const char *cmd, const char *usage)
{
    fprintf(stderr, "usage: posfleet-keys %s %s\n", cmd, usage);
    return 2;
}

static int cmd__int(const char *s, int min, int max, int *out)
{
    int64_t v;
    int rc = pf_parse_i64(s, min, max, &v);

    if (!rc)
        *out = (int)v;
    return rc;
}

/* ---- ca-init ---- */

static const char ca_init_usage[] = "--dir DIR [--name NAME] [--days N] [--crl-days N]";

int pfk_cmd_ca_init(int argc, char **argv)
{
    static const struct option opts[] = {
            {"dir", required_argument, NULL, 'd'},  {"name", required_argument, NULL, 'n'},
            {"days", required_argument, NULL, 'D'}, {"crl-days", required_argument, NULL, 'C'},
            {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    const char *dir = NULL, *name = "posfleet development device CA";
    int days = PKI_DEFAULT_CA_DAYS, crl_days = PKI_DEFAULT_CRL_DAYS, c;
    struct pf_error err = {0};

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'D':
            if (cmd__int(optarg, 1, 36500, &days) < 0)
                return cmd__usage(argv[0], ca_init_usage);
            break;
        case 'C':
            if (cmd__int(optarg, 1, 3650, &crl_days) < 0)
                return cmd__usage(argv[0], ca_init_usage);
            break;
        case 'h':
            printf("usage: posfleet-keys %s %s\n"
                   "Creates the device CA in DIR: ca.key (0600), ca.crt, index.txt, crl.pem.\n",
                   argv[0], ca_init_usage);
            return 0;
        default:
            return cmd__usage(argv[0], ca_init_usage);
        }
    }
    if (!dir || optind != argc)
        return cmd__usage(argv[0], ca_init_usage);
    if (pfk_pki_create(dir, name, days, crl_days, &err) < 0)
        return cmd__fail(argv[0], &err);
    printf("device CA created in %s (ca.crt, crl.pem)\n", dir);
    return 0;
}

/* ---- server-cert ---- */

static const char server_usage[] =
        "--dir DIR --cn NAME [--ip ADDR]... [--dns NAME]... [--loopback] [--out DIR] [--days N]";

/* --loopback: the names a client on the same machine reaches a local service by. */
static const char *const server_loopback_ips[] = {"127.0.0.1", "::1"};
static const char *const server_loopback_dns[] = {"localhost"};

int pfk_cmd_server_cert(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"cn", required_argument, NULL, 'c'},
                                         {"ip", required_argument, NULL, 'i'},
                                         {"dns", required_argument, NULL, 'n'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"days", required_argument, NULL, 'D'},
                                         {"loopback", no_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL, *out = NULL, *ips[PKI_MAX_SAN], *dns[PKI_MAX_SAN];
    struct pfk_cert_req req = {.kind = PFK_CERT_SERVER, .days = PKI_DEFAULT_CERT_DAYS};
    struct pf_error err = {0};
    struct pfk_pki pki;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'c':
            req.cn = optarg;
            break;
        case 'i':
            if (req.n_ips == PKI_MAX_SAN)
                return cmd__usage(argv[0], server_usage);
            ips[req.n_ips++] = optarg;
            break;
        case 'n':
            if (req.n_dns == PKI_MAX_SAN)
                return cmd__usage(argv[0], server_usage);
            dns[req.n_dns++] = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'D':
            if (cmd__int(optarg, 1, 36500, &req.days) < 0)
                return cmd__usage(argv[0], server_usage);
            break;
        case 'l':
            if (req.n_ips + 2 > PKI_MAX_SAN || req.n_dns + 1 > PKI_MAX_SAN)
                return cmd__usage(argv[0], server_usage);
            ips[req.n_ips++] = server_loopback_ips[0];
            ips[req.n_ips++] = server_loopback_ips[1];
            dns[req.n_dns++] = server_loopback_dns[0];
            break;
        case 'h':
            printf("usage: posfleet-keys %s %s\n"
                   "Issues OUT/NAME.crt and OUT/NAME.key (0600); OUT defaults to DIR.\n"
                   "A reserved service name (posfleetd, posfleetd-NAME) gets a client certificate "
                   "for the\n"
                   "broker; any other name a broker certificate (serverAuth) whose subject\n"
                   "alternative names are the --ip/--dns given (default DNS:NAME);\n"
                   "--loopback adds DNS:localhost, IP:127.0.0.1 and IP:::1 (posfleetd's\n"
                   "HTTPS API on one machine, for development).\n",
                   argv[0], server_usage);
            return 0;
        default:
            return cmd__usage(argv[0], server_usage);
        }
    }
    if (!dir || !req.cn || optind != argc)
        return cmd__usage(argv[0], server_usage);
    req.ips = ips;
    req.dns = dns;
    if (pfk_name_reserved(req.cn))
        req.kind = PFK_CERT_CLIENT;
    if (pfk_pki_open(&pki, dir, &err) < 0)
        return cmd__fail(argv[0], &err);
    if (!out)
        out = dir;
    rc = pf_mkdir_p(out, 0700);
    if (rc < 0)
        pf_error_set(&err, rc, "%s: %s", out, pf_strerror(rc));
    if (rc == 0)
        rc = pfk_pki_issue(&pki, &req, out, true, &err);
    if (rc == 0)
        rc = pfk_pki_save_index(&pki, &err);
    pfk_pki_release(&pki);
    if (rc < 0)
        return cmd__fail(argv[0], &err);
    printf("%s certificate %s issued: %s/%s.crt\n", pfk_kind_name(req.kind), req.cn, out, req.cn);
    return 0;
}

/* ---- device-cert ---- */

static const char device_usage[] =
        "--dir DIR {--serial SERIAL | --serials FILE | --count N --prefix P [--start K]}\n"
        "       [--out DIR] [--days N]";

/* Issues one device certificate per serial of a list (one per line, '#'
 * comments). */
static int device__from_file(struct pfk_pki *pki, struct pfk_cert_req *req, const char *file,
                             const char *out, size_t *issued, struct pf_error *err)
{
    char *buf, *line, *next;
    size_t len, lineno = 0;
    int rc = pf_file_read(file, 64u * 1024 * 1024, &buf, &len);

    if (rc < 0)
        return pf_error_set(err, rc, "%s: %s", file, pf_strerror(rc));
    for (line = buf; line && *line; line = next) {
        char *end;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        while (*line == ' ' || *line == '\t')
            line++;
        end = line + strlen(line);
        while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            *--end = '\0';
        if (!*line || *line == '#')
            continue;
        req->cn = line;
        rc = pfk_pki_issue(pki, req, out, false, err);
        if (rc < 0) {
            pf_error_prefix(err, "%s:%zu", file, lineno);
            break;
        }
        (*issued)++;
    }
    free(buf);
    return rc;
}

static int device__from_count(struct pfk_pki *pki, struct pfk_cert_req *req, const char *prefix,
                              int start, int count, const char *out, size_t *issued,
                              struct pf_error *err)
{
    char serial[PF_SERIAL_MAX + 8];
    int width = 5, last = start + count - 1;

    for (int v = last; v >= 100000; v /= 10)
        width++;
    int rc = 0;

    /* req->cn borrows the local buffer only for the loop; it is cleared before returning. */
    req->cn = serial;
    for (int i = 0; i < count && rc == 0; i++) {
        if (snprintf(serial, sizeof(serial), "%s%0*d", prefix, width, start + i) >=
            (int)sizeof(serial)) {
            rc = pf_error_set(err, PF_EINVAL, "%s: prefix too long", prefix);
            break;
        }
        rc = pfk_pki_issue(pki, req, out, false, err);
        if (rc < 0)
            break;
        rc = 0;
        (*issued)++;
    }
    req->cn = NULL;
    return rc;
}

int pfk_cmd_device_cert(int argc, char **argv)
{
    static const struct option opts[] = {
            {"dir", required_argument, NULL, 'd'},     {"serial", required_argument, NULL, 's'},
            {"serials", required_argument, NULL, 'f'}, {"count", required_argument, NULL, 'n'},
            {"prefix", required_argument, NULL, 'p'},  {"start", required_argument, NULL, 'k'},
            {"out", required_argument, NULL, 'o'},     {"days", required_argument, NULL, 'D'},
            {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const char *dir = NULL, *out = NULL, *serial = NULL, *file = NULL, *prefix = NULL;
    struct pfk_cert_req req = {.kind = PFK_CERT_DEVICE, .days = PKI_DEFAULT_DEVICE_DAYS};
    char outbuf[PATH_MAX];
    int count = 0, start = 1, c, rc, modes;
    size_t issued = 0;
    struct pf_error err = {0};
    struct pfk_pki pki;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 's':
            serial = optarg;
            break;
        case 'f':
            file = optarg;
            break;
        case 'n':
            if (cmd__int(optarg, 1, PKI_BATCH_MAX, &count) < 0)
                return cmd__usage(argv[0], device_usage);
            break;
        case 'p':
            prefix = optarg;
            break;
        case 'k':
            if (cmd__int(optarg, 0, PKI_BATCH_MAX, &start) < 0)
                return cmd__usage(argv[0], device_usage);
            break;
        case 'o':
            out = optarg;
            break;
        case 'D':
            if (cmd__int(optarg, 1, 36500, &req.days) < 0)
                return cmd__usage(argv[0], device_usage);
            break;
        case 'h':
            printf("usage: posfleet-keys %s %s\n"
                   "Issues terminal certificates (CN = serial): OUT/SERIAL.crt and\n"
                   "OUT/SERIAL.key (0600); OUT defaults to DIR/devices. --count N --prefix P\n"
                   "issues P00001..P0000N (from --start K, at least 5 digits).\n",
                   argv[0], device_usage);
            return 0;
        default:
            return cmd__usage(argv[0], device_usage);
        }
    }
    modes = (serial != NULL) + (file != NULL) + (count > 0 || prefix != NULL);
    if (!dir || optind != argc || modes != 1 || (count > 0) != (prefix != NULL))
        return cmd__usage(argv[0], device_usage);
    if (!out) {
        if (snprintf(outbuf, sizeof(outbuf), "%s/devices", dir) >= (int)sizeof(outbuf)) {
            fprintf(stderr, "posfleet-keys %s: %s: path too long\n", argv[0], dir);
            return 1;
        }
        out = outbuf;
    }
    if (pfk_pki_open(&pki, dir, &err) < 0)
        return cmd__fail(argv[0], &err);
    rc = pf_mkdir_p(out, 0700);
    if (rc < 0) {
        pf_error_set(&err, rc, "%s: %s", out, pf_strerror(rc));
    } else if (serial) {
        req.cn = serial;
        rc = pfk_pki_issue(&pki, &req, out, true, &err);
        issued = rc == 0;
    } else if (file) {
        rc = device__from_file(&pki, &req, file, out, &issued, &err);
    } else {
        rc = device__from_count(&pki, &req, prefix, start, count, out, &issued, &err);
    }
    /* Whatever was issued is recorded, even if a later serial was refused. */
    if (!serial && issued > 0)
        sync();
    if (pki.index_dirty) {
        struct pf_error err2 = {0};
        if (pfk_pki_save_index(&pki, &err2) < 0) {
            rc = err2.code;
            err = err2;
        }
    }
    pfk_pki_release(&pki);
    if (rc < 0) {
        if (issued > 0)
            fprintf(stderr, "posfleet-keys %s: %zu certificate(s) issued before the error\n",
                    argv[0], issued);
        return cmd__fail(argv[0], &err);
    }
    if (serial)
        printf("device certificate %s issued: %s/%s.crt\n", serial, out, serial);
    else
        printf("%zu device certificate(s) issued in %s\n", issued, out);
    return 0;
}

/* ---- cert-revoke and crl ---- */

static const char revoke_usage[] =
        "--dir DIR {--serial SERIAL | --cn NAME} [--crl-days N] [--capath DIR]";

int pfk_cmd_cert_revoke(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"serial", required_argument, NULL, 's'},
                                         {"cn", required_argument, NULL, 'c'},
                                         {"crl-days", required_argument, NULL, 'C'},
                                         {"capath", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL, *serial = NULL, *cn = NULL, *capath = NULL;
    int crl_days = PKI_DEFAULT_CRL_DAYS, c, rc;
    struct pf_error err = {0};
    struct pfk_pki pki;
    size_t count = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 's':
            serial = optarg;
            break;
        case 'c':
            cn = optarg;
            break;
        case 'C':
            if (cmd__int(optarg, 1, 3650, &crl_days) < 0)
                return cmd__usage(argv[0], revoke_usage);
            break;
        case 'P':
            capath = optarg;
            break;
        case 'h':
            printf("usage: posfleet-keys %s %s\n"
                   "Revokes every certificate of a terminal (--serial) or of any name\n"
                   "(--cn), rewrites DIR/crl.pem and, with --capath, installs it into the\n"
                   "broker's hashed CA directory, where new connections see it at once.\n",
                   argv[0], revoke_usage);
            return 0;
        default:
            return cmd__usage(argv[0], revoke_usage);
        }
    }
    if (!dir || optind != argc || (serial != NULL) == (cn != NULL))
        return cmd__usage(argv[0], revoke_usage);
    if (pfk_pki_open(&pki, dir, &err) < 0)
        return cmd__fail(argv[0], &err);
    rc = pfk_pki_revoke(&pki, serial ? serial : cn, serial != NULL, &count, &err);
    if (rc == 0)
        rc = pfk_pki_save_index(&pki, &err);
    if (rc == 0)
        rc = pfk_pki_write_crl(&pki, crl_days, &err);
    pfk_pki_release(&pki);
    if (rc == 0 && capath)
        rc = pfk_pki_install_capath(dir, capath, &err);
    if (rc < 0)
        return cmd__fail(argv[0], &err);
    printf("%zu certificate(s) of %s revoked; CRL written to %s/crl.pem\n", count,
           serial ? serial : cn, dir);
    return 0;
}

static const char crl_usage[] = "--dir DIR [--days N] [--capath DIR [--install-only]]";

int pfk_cmd_crl(int argc, char **argv)
{
    static const struct option opts[] = {
            {"dir", required_argument, NULL, 'd'},    {"days", required_argument, NULL, 'D'},
            {"capath", required_argument, NULL, 'P'}, {"install-only", no_argument, NULL, 'I'},
            {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *dir = NULL, *capath = NULL;
    int days = PKI_DEFAULT_CRL_DAYS, install_only = 0, c, rc = 0;
    struct pf_error err = {0};
    struct pfk_pki pki;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'D':
            if (cmd__int(optarg, 1, 3650, &days) < 0)
                return cmd__usage(argv[0], crl_usage);
            break;
        case 'P':
            capath = optarg;
            break;
        case 'I':
            install_only = 1;
            break;
        case 'h':
            printf("usage: posfleet-keys %s %s\n"
                   "Re-signs DIR/crl.pem from the index with a fresh validity of N days\n"
                   "(default %d); run it before the CRL expires, or every terminal is\n"
                   "refused. --capath installs the CA and the CRL into the broker's hashed\n"
                   "CA directory (HASH.0, HASH.rN); --install-only skips re-signing and\n"
                   "needs only DIR/ca.crt and DIR/crl.pem (for the broker host).\n",
                   argv[0], crl_usage, PKI_DEFAULT_CRL_DAYS);
            return 0;
        default:
            return cmd__usage(argv[0], crl_usage);
        }
    }
    if (!dir || optind != argc || (install_only && !capath))
        return cmd__usage(argv[0], crl_usage);
    if (!install_only) {
        if (pfk_pki_open(&pki, dir, &err) < 0)
            return cmd__fail(argv[0], &err);
        rc = pfk_pki_write_crl(&pki, days, &err);
        pfk_pki_release(&pki);
    }
    if (rc == 0 && capath)
        rc = pfk_pki_install_capath(dir, capath, &err);
    if (rc < 0)
        return cmd__fail(argv[0], &err);
    if (!install_only)
        printf("CRL written to %s/crl.pem\n", dir);
    if (capath)
        printf("CA and CRL installed in %s\n", capath);
    return 0;
}

/* ---- api-token ---- */

static const char token_usage[] =
        "--name NAME --role ops|support|viewer|approver|admin --file TOKENS";

int pfk_cmd_api_token(int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
                                         {"role", required_argument, NULL, 'r'},
                                         {"file", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *name = NULL, *role = NULL, *file = NULL;
    char token[PFK_TOKEN_LEN + 1];
    struct pf_error err = {0};
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            name = optarg;
            break;
        case 'r':
            role = optarg;
            break;
        case 'f':
            file = optarg;
            break;
        case 'h':
            printf("usage: posfleet-keys %s %s\n"
                   "Creates a bearer token for posfleetd's HTTP API, appends\n"
                   "\"NAME ROLE BLAKE2B-256-HEX\" to TOKENS (0600) and prints the token once\n"
                   "on stdout: it is stored nowhere else.\n",
                   argv[0], token_usage);
            return 0;
        default:
            return cmd__usage(argv[0], token_usage);
        }
    }
    if (!name || !role || !file || optind != argc)
        return cmd__usage(argv[0], token_usage);
    if (pfk_token_create(file, name, role, token, sizeof(token), &err) < 0)
        return cmd__fail(argv[0], &err);
    printf("%s\n", token);
    fflush(stdout);
    sodium_memzero(token, sizeof(token));
    if (isatty(STDOUT_FILENO))
        fprintf(stderr, "token %s (%s) added to %s; it is shown only this once\n", name, role,
                file);
    return 0;
}
