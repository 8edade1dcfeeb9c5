/*
 * init.h - `posfleetd init`: the first run of a posfleet server
 * (docs/operations.md, "First run").
 *
 * One command creates what a fresh installation lacks: the device CA (a new
 * development CA, or the operator's own with --ca-cert/--ca-key) in
 * CONFIG/pki with the broker's and posfleetd's certificates, the API's
 * HTTPS certificate (CONFIG/pki/api.crt, for the host name, localhost,
 * 127.0.0.1 and ::1) and the first CRL; the CA certificate the CLI verifies
 * the API with (CONFIG/api-ca.crt, where posfleet looks by default); the
 * broker's material in BROKER (certificate, key, CRL, hashed CA directory)
 * and, when the package did not put one there, its configuration rendered
 * from the Mosquitto templates; posfleetd.conf pointing at all of it, with
 * http.tls = on (http.tls = off on 127.0.0.1 only with --plain-http); and
 * the first administrator, an admin API token appended to CONFIG/tokens and
 * printed once on stdout.
 *
 * It refuses to run over an earlier one (CONFIG/pki, CONFIG/tokens or
 * BROKER/broker.key exists) unless forced, and then moves the earlier files
 * aside (NAME.replaced-UNIXTIME) instead of deleting keys. Private keys are
 * written 0600 (0640 to the group of the service that reads them) and never
 * printed or logged.
 */
#ifndef PFS_INIT_H
#define PFS_INIT_H

#include <stdbool.h>
#include <stdio.h>

#include "pf/error.h"

struct pfs_init_opts {
    const char *config_dir;    /* /etc/posfleet */
    const char *state_dir;     /* /var/lib/posfleet: store.path's directory */
    const char *broker_dir;    /* /etc/mosquitto/posfleet */
    const char *broker_state;  /* /var/lib/mosquitto: the broker's session database */
    const char *templates;     /* the Mosquitto templates (posfleet.conf.in, .acl, openssl.cnf) */
    const char *acl_plugin;    /* posfleet_acl.so, as the broker configuration loads it */
    const char *ca_cert;       /* the operator's CA certificate, or NULL for a development CA */
    const char *ca_key;        /* its private key (with ca_cert) */
    const char *broker_host;   /* the broker's DNS name in its certificate (else the host name) */
    const char *admin;         /* name of the first admin token ("admin") */
    const char *service_group; /* group posfleetd runs as ("posfleet"); unused if absent */
    const char *broker_group;  /* group Mosquitto runs as ("mosquitto"); unused if absent */
    const char *api_host;      /* the API's DNS name in its certificate (else as broker_host) */
    int broker_port;           /* 8883 */
    bool plain_http;           /* the API on plain HTTP (loopback only) instead of HTTPS */
    bool force;
};

/* Defaults for every field (the packaged paths). */
void pfs_init_defaults(struct pfs_init_opts *o);
/* Runs the first run; the admin token goes to out, progress to out too. */
int pfs_init_run(const struct pfs_init_opts *o, FILE *out, struct pf_error *err) PF_WUR;
/* The options of posfleetd init (its --help, and posfleetd's). */
void pfs_init_usage(FILE *f);
/* posfleetd init [OPTIONS]: parses argv (argv[0] is "init") and runs; exit status. */
int pfs_init_main(int argc, char **argv);

#endif
