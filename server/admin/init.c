/*
 * init.c - posfleetd init (init.h): the first run of a posfleet server.
 */
#include "admin/init.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "base/config.h"
#include "pf/fileio.h"
#include "pf/num.h"
#include "pki_ca.h"
#include "pki_token.h"

#define INIT_CA_DAYS   3650 /* a development CA: ten years */
#define INIT_CERT_DAYS 825  /* the broker's and posfleetd's certificates */
#define INIT_CRL_DAYS  30   /* re-sign before it expires (docs/operations.md) */
#define INIT_FILE_MAX  (1024 * 1024)

#ifndef PFS_DATADIR
#define PFS_DATADIR "/usr/share"
#endif
#ifndef PFS_LIBDIR
#define PFS_LIBDIR "/usr/lib"
#endif

/* What a run writes where, all paths computed once. */
struct init__paths {
    char pki[PATH_MAX], tokens[PATH_MAX], conf[PATH_MAX], db[PATH_MAX];
    char capath[PATH_MAX], bkey[PATH_MAX], bcrt[PATH_MAX], bcrl[PATH_MAX], bconf[PATH_MAX];
    char cli_ca[PATH_MAX];
};

static int init__path(char *buf, const char *dir, const char *name, struct pf_error *err)
{
    int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);

    if (n < 0 || n >= PATH_MAX)
        return pf_error_set(err, PF_ETOOBIG, "%s/%s: path too long", dir, name);
    return 0;
}

static bool init__exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

void pfs_init_defaults(struct pfs_init_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->config_dir = "/etc/posfleet";
    o->state_dir = "/var/lib/posfleet";
    o->broker_dir = "/etc/mosquitto/posfleet";
    o->broker_state = "/var/lib/mosquitto";
    o->templates = PFS_DATADIR "/posfleet/mosquitto";
    o->acl_plugin = PFS_LIBDIR "/posfleet/posfleet_acl.so";
    o->admin = "admin";
    o->service_group = "posfleet";
    o->broker_group = "mosquitto";
    o->broker_port = 8883;
}

/* Sets mode, and the group when it exists and we may (root). */
static int init__share(const char *path, mode_t mode, const char *group, struct pf_error *err)
{
    struct group *g = group && geteuid() == 0 ? getgrnam(group) : NULL;

    if (g && chown(path, (uid_t)-1, g->gr_gid) != 0)
        return pf_error_set(err, PF_EIO, "%s: chgrp %s: %s", path, group, strerror(errno));
    if (chmod(path, mode) != 0)
        return pf_error_set(err, PF_EIO, "%s: chmod: %s", path, strerror(errno));
    return 0;
}

static int init__copy(const char *src, const char *dst, mode_t mode, struct pf_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = pf_file_read(src, INIT_FILE_MAX, &buf, &len);

    if (rc)
        return pf_error_set(err, rc, "%s: %s", src, pf_strerror(rc));
    rc = pf_file_write_atomic(dst, buf, len, mode);
    explicit_bzero(buf, len); /* it may be a key */
    free(buf);
    if (rc)
        return pf_error_set(err, rc, "%s: %s", dst, pf_strerror(rc));
    return 0;
}

/* A run over an earlier one: its files are kept under another name, never deleted. */
static int init__set_aside(const char *path, time_t now, FILE *out, struct pf_error *err)
{
    char old[PATH_MAX + 32];

    if (!init__exists(path))
        return 0;
    snprintf(old, sizeof(old), "%s.replaced-%lld", path, (long long)now);
    if (rename(path, old) != 0)
        return pf_error_set(err, PF_EIO, "%s: %s", path, strerror(errno));
    fprintf(out, "kept the earlier %s as %s\n", path, old);
    return 0;
}

/* The operator's CA becomes the PKI directory's CA: checked to be a CA whose key matches. */
static int init__import_ca(const char *dir, const char *cert, const char *key, struct pf_error *err)
{
    char path[PATH_MAX];
    struct pfk_pki pki;
    int rc;

    rc = pf_mkdir_p(dir, 0700);
    if (rc)
        return pf_error_set(err, rc, "%s: %s", dir, pf_strerror(rc));
    if ((rc = init__path(path, dir, "ca.key", err)) || (rc = init__copy(key, path, 0600, err)) ||
        (rc = init__path(path, dir, "ca.crt", err)) || (rc = init__copy(cert, path, 0644, err)) ||
        (rc = init__path(path, dir, "index.txt", err)))
        return rc;
    rc = pf_file_write_atomic(path, "", 0, 0644);
    if (rc)
        return pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));
    rc = pfk_pki_open(&pki, dir, err);
    if (rc)
        return pf_error_prefix(err, "--ca-cert/--ca-key");
    if (X509_check_ca(pki.ca_cert) != 1)
        rc = pf_error_set(err, PF_EINVAL, "--ca-cert %s: not a CA certificate", cert);
    else
        rc = pfk_pki_write_crl(&pki, INIT_CRL_DAYS, err);
    pfk_pki_release(&pki);
    return rc;
}

/* The broker's server certificate, posfleetd's client certificate and
 * (unless the API is plain HTTP) the API's server certificate. */
static int init__issue(const struct pfs_init_opts *o, const char *dir, struct pf_error *err)
{
    char host[256] = "localhost", api_host[256];
    const char *ips[] = {"127.0.0.1", "::1"};
    const char *dns[2] = {NULL, "localhost"}, *api_dns[2] = {NULL, "localhost"};
    struct pfk_cert_req broker = {PFK_CERT_SERVER, "broker", ips, 1, dns, 2, INIT_CERT_DAYS};
    struct pfk_cert_req server = {PFK_CERT_CLIENT, "posfleetd", NULL, 0, NULL, 0, INIT_CERT_DAYS};
    struct pfk_cert_req api = {PFK_CERT_SERVER, "api", ips, 2, api_dns, 2, INIT_CERT_DAYS};
    struct pfk_pki pki;
    int rc;

    if (o->broker_host)
        snprintf(host, sizeof(host), "%s", o->broker_host);
    else if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
        snprintf(host, sizeof(host), "localhost");
    dns[0] = host;
    if (!strcmp(host, "localhost"))
        broker.n_dns = 1;
    /* The API answers on this machine's name (and loopback) unless told another. */
    snprintf(api_host, sizeof(api_host), "%s", o->api_host ? o->api_host : host);
    api_dns[0] = api_host;
    if (!strcmp(api_host, "localhost"))
        api.n_dns = 1;
    rc = pfk_pki_open(&pki, dir, err);
    if (rc)
        return rc;
    if (!(rc = pfk_pki_issue(&pki, &broker, dir, true, err)) &&
        !(rc = pfk_pki_issue(&pki, &server, dir, true, err)) &&
        !(rc = o->plain_http ? 0 : pfk_pki_issue(&pki, &api, dir, true, err)))
        rc = pfk_pki_save_index(&pki, err);
    pfk_pki_release(&pki);
    return rc;
}

/* Replaces every @NAME@ of vars in text; the result is heap-owned by *out. */
static int init__render(const char *text, const char *const (*vars)[2], size_t n, char **out,
                        struct pf_error *err)
{
    size_t cap = strlen(text) + 1, len = 0;
    char *buf = malloc(cap);

    if (!buf)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    for (const char *p = text; *p;) {
        const char *val = NULL;
        size_t skip = 1, add;

        if (*p == '@') {
            for (size_t i = 0; i < n && !val; i++) {
                size_t kl = strlen(vars[i][0]);

                if (!strncmp(p + 1, vars[i][0], kl) && p[1 + kl] == '@') {
                    val = vars[i][1];
                    skip = kl + 2;
                }
            }
        }
        add = val ? strlen(val) : 1;
        if (len + add + 1 > cap) {
            char *nb;

            cap = (len + add + 1) * 2;
            nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return pf_error_set(err, PF_ENOMEM, "out of memory");
            }
            buf = nb;
        }
        memcpy(buf + len, val ? val : p, add);
        len += add;
        p += skip;
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

/* The broker's configuration, when no package put one in its directory. */
static int init__broker_conf(const struct pfs_init_opts *o, const struct init__paths *p, FILE *out,
                             struct pf_error *err)
{
    char tpl[PATH_MAX], acl[PATH_MAX], ossl[PATH_MAX], port[16], *text = NULL, *conf = NULL;
    size_t len;
    int rc;

    if (init__exists(p->bconf)) {
        fprintf(out, "broker: keeping the configuration in %s\n", p->bconf);
        return 0;
    }
    if ((rc = init__path(tpl, o->templates, "posfleet.acl", err)) ||
        (rc = init__path(acl, o->broker_dir, "posfleet.acl", err)) ||
        (rc = init__copy(tpl, acl, 0644, err)) ||
        (rc = init__path(tpl, o->templates, "openssl.cnf", err)) ||
        (rc = init__path(ossl, o->broker_dir, "openssl.cnf", err)) ||
        (rc = init__copy(tpl, ossl, 0644, err)) ||
        (rc = init__path(tpl, o->templates, "posfleet.conf.in", err)))
        return rc;
    rc = pf_file_read(tpl, INIT_FILE_MAX, &text, &len);
    if (rc)
        return pf_error_set(err, rc, "%s: %s", tpl, pf_strerror(rc));
    snprintf(port, sizeof(port), "%d", o->broker_port);
    {
        const char *const vars[][2] = {
                {"PORT", port},
                {"BIND", "0.0.0.0"},
                {"USER", o->broker_group},
                {"ACL_FILE", acl},
                {"ACL_PLUGIN", o->acl_plugin},
                {"CAPATH", p->capath},
                {"CRL_FILE", p->bcrl},
                {"CERT_FILE", p->bcrt},
                {"KEY_FILE", p->bkey},
                {"PERSIST_DIR", o->broker_state},
                {"PUB_RATE", "100"},
                {"PUB_BURST", "400"},
        };

        rc = init__render(text, vars, sizeof(vars) / sizeof(vars[0]), &conf, err);
    }
    free(text);
    if (rc)
        return rc;
    rc = pf_file_write_atomic(p->bconf, conf, strlen(conf), 0644);
    free(conf);
    if (rc)
        return pf_error_set(err, rc, "%s: %s", p->bconf, pf_strerror(rc));
    fprintf(out, "broker: wrote %s (TLS on port %d)\n", p->bconf, o->broker_port);
    return 0;
}

/* Keys init decides; every other line of an existing posfleetd.conf stays as it is. */
static int init__server_conf(const struct pfs_init_opts *o, const struct init__paths *p, FILE *out,
                             struct pf_error *err)
{
    char ca[PATH_MAX], crt[PATH_MAX], key[PATH_MAX], port[16], acrt[PATH_MAX], akey[PATH_MAX];
    /* HTTPS with the certificate init issued, or plain HTTP on loopback when asked. */
    const char *const set[][2] = {
            {"mqtt.port", port},
            {"mqtt.ca", ca},
            {"mqtt.cert", crt},
            {"mqtt.key", key},
            {"mqtt.client_id", "posfleetd"},
            {"store.path", p->db},
            {"http.tokens", p->tokens},
            {"http.tls", o->plain_http ? "off" : "on"},
            {o->plain_http ? "http.addr" : "http.cert", o->plain_http ? "127.0.0.1" : acrt},
            {o->plain_http ? NULL : "http.key", akey},
    };
    enum { NALL = sizeof(set) / sizeof(set[0]) };
    const int NSET = o->plain_http ? NALL - 1 : NALL;
    bool done[NALL] = {false};
    char *old = NULL, *buf = NULL;
    size_t len = 0, cap, off = 0;
    struct pfs_config cfg;
    int rc;

    snprintf(port, sizeof(port), "%d", o->broker_port);
    if ((rc = init__path(ca, p->pki, "ca.crt", err)) ||
        (rc = init__path(crt, p->pki, "posfleetd.crt", err)) ||
        (rc = init__path(key, p->pki, "posfleetd.key", err)) ||
        (rc = init__path(acrt, p->pki, "api.crt", err)) ||
        (rc = init__path(akey, p->pki, "api.key", err)))
        return rc;
    if (init__exists(p->conf)) {
        rc = pf_file_read(p->conf, INIT_FILE_MAX, &old, &len);
        if (rc)
            return pf_error_set(err, rc, "%s: %s", p->conf, pf_strerror(rc));
    } else {
        old = strdup("# posfleetd.conf - written by posfleetd init (posfleetd.conf(5)).\n"
                     "mqtt.host = 127.0.0.1\n"
                     "# The API: HTTPS with the certificate init issued (pki/api.crt); plain\n"
                     "# HTTP (http.tls = off) only on a loopback address (docs/operations.md).\n"
                     "# For other hosts to reach it, set http.addr = 0.0.0.0.\n"
                     "http.addr = 127.0.0.1\nhttp.port = 8080\nhttp.tls = on\n"
                     "log_level = info\n");
        if (!old)
            return pf_error_set(err, PF_ENOMEM, "out of memory");
        len = strlen(old);
    }
    cap = len + NSET * (2 * PATH_MAX) + 64;
    buf = malloc(cap);
    if (!buf) {
        free(old);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    for (char *line = old, *next; line && *line; line = next) {
        size_t ll;
        int which = -1;

        next = strchr(line, '\n');
        ll = next ? (size_t)(next - line) : strlen(line);
        if (next)
            next++;
        for (int i = 0; i < NSET && which < 0; i++) {
            size_t kl = strlen(set[i][0]);
            const char *q = line + kl;

            if (!strncmp(line, set[i][0], kl)) {
                while (*q == ' ' || *q == '\t')
                    q++;
                if (*q == '=')
                    which = i;
            }
        }
        if (which >= 0) {
            if (!done[which])
                off += (size_t)snprintf(buf + off, cap - off, "%s = %s\n", set[which][0],
                                        set[which][1]);
            done[which] = true;
        } else {
            off += (size_t)snprintf(buf + off, cap - off, "%.*s\n", (int)ll, line);
        }
    }
    for (int i = 0; i < NSET; i++)
        if (!done[i])
            off += (size_t)snprintf(buf + off, cap - off, "%s = %s\n", set[i][0], set[i][1]);
    free(old);
    rc = pf_file_write_atomic(p->conf, buf, off, 0640);
    free(buf);
    if (rc)
        return pf_error_set(err, rc, "%s: %s", p->conf, pf_strerror(rc));
    if ((rc = init__share(p->conf, 0640, o->service_group, err)))
        return rc;
    pfs_config_defaults(&cfg);
    if (pfs_config_load(&cfg, p->conf, err) != 0)
        return pf_error_prefix(err, "the configuration written does not load");
    fprintf(out, "posfleetd: wrote %s\n", p->conf);
    return 0;
}

static int init__paths(const struct pfs_init_opts *o, struct init__paths *p, struct pf_error *err)
{
    int rc;

    if ((rc = init__path(p->pki, o->config_dir, "pki", err)) ||
        (rc = init__path(p->tokens, o->config_dir, "tokens", err)) ||
        (rc = init__path(p->conf, o->config_dir, "posfleetd.conf", err)) ||
        (rc = init__path(p->db, o->state_dir, "posfleetd.db", err)) ||
        (rc = init__path(p->capath, o->broker_dir, "capath", err)) ||
        (rc = init__path(p->bkey, o->broker_dir, "broker.key", err)) ||
        (rc = init__path(p->bcrt, o->broker_dir, "broker.crt", err)) ||
        (rc = init__path(p->bcrl, o->broker_dir, "crl.pem", err)) ||
        (rc = init__path(p->bconf, o->broker_dir, "posfleet.conf", err)) ||
        (rc = init__path(p->cli_ca, o->config_dir, "api-ca.crt", err)))
        return rc;
    return 0;
}

/* The state directory belongs to the service's user when there is one. */
static int init__state_dir(const struct pfs_init_opts *o, struct pf_error *err)
{
    struct passwd *pw = geteuid() == 0 ? getpwnam(o->service_group) : NULL;
    int rc = pf_mkdir_p(o->state_dir, 0750);

    if (rc)
        return pf_error_set(err, rc, "%s: %s", o->state_dir, pf_strerror(rc));
    if (pw && chown(o->state_dir, pw->pw_uid, pw->pw_gid) != 0)
        return pf_error_set(err, PF_EIO, "%s: chown: %s", o->state_dir, strerror(errno));
    return 0;
}

int pfs_init_run(const struct pfs_init_opts *o, FILE *out, struct pf_error *err)
{
    struct init__paths p;
    char src[PATH_MAX], token[PFK_TOKEN_LEN + 1];
    time_t now = time(NULL);
    int rc;

    if ((!o->ca_cert) != (!o->ca_key))
        return pf_error_set(err, PF_EINVAL, "--ca-cert and --ca-key go together");
    if ((rc = init__paths(o, &p, err)))
        return rc;
    if (!o->force) {
        const char *earlier[] = {p.pki, p.tokens, p.bkey};

        for (size_t i = 0; i < sizeof(earlier) / sizeof(earlier[0]); i++)
            if (init__exists(earlier[i]))
                return pf_error_set(err, PF_EEXIST,
                                    "%s exists: this server was initialised already (--force "
                                    "starts over and keeps the earlier files aside)",
                                    earlier[i]);
    } else if ((rc = init__set_aside(p.pki, now, out, err)) ||
               (rc = init__set_aside(p.cli_ca, now, out, err)) ||
               (rc = init__set_aside(p.tokens, now, out, err)) ||
               (rc = init__set_aside(p.bkey, now, out, err)) ||
               (rc = init__set_aside(p.capath, now, out, err))) {
        return rc;
    }
    if ((rc = pf_mkdir_p(o->config_dir, 0750)) || (rc = pf_mkdir_p(o->broker_dir, 0755)))
        return pf_error_set(err, rc, "%s: %s", o->config_dir, pf_strerror(rc));
    if ((rc = init__share(o->config_dir, 0750, o->service_group, err)) ||
        (rc = init__state_dir(o, err)))
        return rc;

    /* The device CA: the operator's, or a new development CA. */
    if (o->ca_cert)
        rc = init__import_ca(p.pki, o->ca_cert, o->ca_key, err);
    else
        rc = pfk_pki_create(p.pki, "posfleet device CA", INIT_CA_DAYS, INIT_CRL_DAYS, err);
    if (rc || (rc = init__issue(o, p.pki, err)))
        return pf_error_prefix(err, "pki");
    fprintf(out, "pki: %s CA in %s; certificates for the broker and posfleetd\n",
            o->ca_cert ? "the operator's" : "a new development", p.pki);

    /* The broker's material, then its configuration. */
    if ((rc = pfk_pki_install_capath(p.pki, p.capath, err)) ||
        (rc = init__path(src, p.pki, "crl.pem", err)) ||
        (rc = init__copy(src, p.bcrl, 0644, err)) ||
        (rc = init__path(src, p.pki, "broker.crt", err)) ||
        (rc = init__copy(src, p.bcrt, 0644, err)) ||
        (rc = init__path(src, p.pki, "broker.key", err)) ||
        (rc = init__copy(src, p.bkey, 0640, err)) ||
        (rc = init__share(p.bkey, 0640, o->broker_group, err)))
        return pf_error_prefix(err, "broker");
    unlink(src); /* one copy of the broker's key: the broker's */
    rc = init__broker_conf(o, &p, out, err);
    if (rc)
        return pf_error_prefix(err, "broker");

    /* posfleetd reads its keys, the CA and the tokens as its group. */
    if ((rc = init__share(p.pki, 0750, o->service_group, err)) ||
        (rc = init__path(src, p.pki, "posfleetd.key", err)) ||
        (rc = init__share(src, 0640, o->service_group, err)))
        return rc;
    if (!o->plain_http) {
        /* The CLI verifies the API with the CA: a copy where posfleet looks by default. */
        if ((rc = init__path(src, p.pki, "api.key", err)) ||
            (rc = init__share(src, 0640, o->service_group, err)) ||
            (rc = init__path(src, p.pki, "ca.crt", err)) ||
            (rc = init__copy(src, p.cli_ca, 0644, err)))
            return pf_error_prefix(err, "api");
        fprintf(out, "api: HTTPS with %s/api.crt; the CLI verifies it with %s\n", p.pki, p.cli_ca);
    } else {
        fprintf(out, "api: plain HTTP on 127.0.0.1 (--plain-http)\n");
    }
    rc = init__server_conf(o, &p, out, err);
    if (rc)
        return rc;

    /* The first administrator: shown once, only its digest is kept. */
    rc = pfk_token_create(p.tokens, o->admin, "admin", token, sizeof(token), err);
    if (rc)
        return pf_error_prefix(err, "tokens");
    rc = init__share(p.tokens, 0640, o->service_group, err);
    if (!rc)
        fprintf(out, "first admin token for %s (shown only this once; %s keeps its digest):\n%s\n",
                o->admin, p.tokens, token);
    explicit_bzero(token, sizeof(token));
    return rc;
}

void pfs_init_usage(FILE *f)
{
    fprintf(f,
            "usage: posfleetd init [--root DIR] [--config-dir DIR] [--state-dir DIR]\n"
            "                      [--broker-dir DIR] [--ca-cert FILE --ca-key FILE]\n"
            "                      [--broker-host NAME] [--broker-port N] [--admin NAME]\n"
            "                      [--api-host NAME] [--plain-http]\n"
            "                      [--templates DIR] [--acl-plugin FILE] [--force]\n"
            "  --root DIR          the default paths below and /var/lib/mosquitto under DIR\n"
            "  --config-dir DIR    configuration, PKI, tokens (/etc/posfleet)\n"
            "  --state-dir DIR     the database's directory (/var/lib/posfleet)\n"
            "  --broker-dir DIR    the broker's configuration (/etc/mosquitto/posfleet)\n"
            "  --ca-cert FILE      the operator's device CA certificate (PEM)...\n"
            "  --ca-key FILE       ...and its private key; else a development CA is made\n"
            "  --broker-host NAME  the broker's DNS name in its certificate (the host name)\n"
            "  --broker-port N     the broker's TLS port (8883)\n"
            "  --api-host NAME     the API's DNS name in its HTTPS certificate (as the broker's)\n"
            "  --plain-http        the API on plain HTTP, on 127.0.0.1 only, and no certificate\n"
            "  --admin NAME        name of the first admin token (admin)\n"
            "  --templates DIR     Mosquitto templates (%s/posfleet/mosquitto)\n"
            "  --acl-plugin FILE   the broker's ACL plugin (%s/posfleet/posfleet_acl.so)\n"
            "  --force             start over; earlier files are kept as NAME.replaced-TIME\n",
            PFS_DATADIR, PFS_LIBDIR);
}

int pfs_init_main(int argc, char **argv)
{
    static const struct option longopts[] = {
            {"root", required_argument, NULL, 'r'},
            {"config-dir", required_argument, NULL, 'c'},
            {"state-dir", required_argument, NULL, 's'},
            {"broker-dir", required_argument, NULL, 'b'},
            {"ca-cert", required_argument, NULL, 'C'},
            {"ca-key", required_argument, NULL, 'K'},
            {"broker-host", required_argument, NULL, 'H'},
            {"broker-port", required_argument, NULL, 'p'},
            {"admin", required_argument, NULL, 'a'},
            {"templates", required_argument, NULL, 't'},
            {"acl-plugin", required_argument, NULL, 'P'},
            {"api-host", required_argument, NULL, 'A'},
            {"plain-http", no_argument, NULL, 'T'},
            {"force", no_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
    };
    static char rooted[4][PATH_MAX];
    struct pfs_init_opts o;
    struct pf_error err = {0};
    const char *root = NULL, *dirs[4] = {NULL, NULL, NULL, NULL};
    int64_t port;
    int c;

    pfs_init_defaults(&o);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            root = optarg;
            break;
        case 'c':
            dirs[0] = optarg;
            break;
        case 's':
            dirs[1] = optarg;
            break;
        case 'b':
            dirs[2] = optarg;
            break;
        case 'C':
            o.ca_cert = optarg;
            break;
        case 'K':
            o.ca_key = optarg;
            break;
        case 'H':
            o.broker_host = optarg;
            break;
        case 'p':
            if (pf_parse_i64(optarg, 1, 65535, &port) != 0) {
                fprintf(stderr, "posfleetd init: --broker-port %s: expected 1..65535\n", optarg);
                return 2;
            }
            o.broker_port = (int)port;
            break;
        case 'a':
            o.admin = optarg;
            break;
        case 't':
            o.templates = optarg;
            break;
        case 'P':
            o.acl_plugin = optarg;
            break;
        case 'A':
            o.api_host = optarg;
            break;
        case 'T':
            o.plain_http = true;
            break;
        case 'f':
            o.force = true;
            break;
        case 'h':
            pfs_init_usage(stdout);
            return 0;
        default:
            pfs_init_usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        pfs_init_usage(stderr);
        return 2;
    }
    {
        const char **field[4] = {&o.config_dir, &o.state_dir, &o.broker_dir, &o.broker_state};

        for (int i = 0; i < 4; i++) {
            if (dirs[i]) {
                *field[i] = dirs[i];
            } else if (root) {
                snprintf(rooted[i], sizeof(rooted[i]), "%s%s", root, *field[i]);
                *field[i] = rooted[i];
            }
        }
    }
    if (pfs_init_run(&o, stdout, &err) != 0) {
        fprintf(stderr, "posfleetd init: %s\n", err.msg);
        return 1;
    }
    printf("next: docs/operations.md, \"First run\": start the broker, then posfleetd -c %s/"
           "posfleetd.conf\n",
           o.config_dir);
    return 0;
}
