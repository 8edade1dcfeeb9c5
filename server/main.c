/*
 * main.c - posfleetd: parse options, load the configuration, run the core.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "admin/init.h"
#include "base/config.h"
#include "pf/release.h"
#include "server.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: posfleetd -c FILE [--check-config]\n"
               "       posfleetd init [OPTIONS]   first run: PKI, broker, configuration, admin\n"
               "       posfleetd --version\n"
               "  -c, --config FILE   configuration file (docs/server.md)\n"
               "      --check-config  validate the configuration and exit\n"
               "  -h, --help          this text\n"
               "  -V, --version       print the release version\n\n");
    pfs_init_usage(f);
}

/* Every HTTP connection is a descriptor: raise the soft limit to the hard one
 * so http.max_conns (plus the store and broker) fits, and warn when it cannot. */
static void raise_nofile(const struct pfs_config *cfg)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)cfg->http_max_conns + 256;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
            return;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
        fprintf(stderr,
                "posfleetd: warning: %llu descriptors allowed, http.max_conns = %d needs about "
                "%llu\n",
                (unsigned long long)rl.rlim_cur, cfg->http_max_conns, (unsigned long long)need);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
            {"config", required_argument, NULL, 'c'},
            {"check-config", no_argument, NULL, 'C'},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},
            {NULL, 0, NULL, 0},
    };
    struct pfs_server_opts opts = {.signals = true, .mqtt = true};
    struct pfs_config cfg;
    struct pfs_server *srv = NULL;
    struct pf_error err = {0};
    const char *path = NULL;
    int check = 0, c, rc;

    if (argc > 1 && strcmp(argv[1], "init") == 0)
        return pfs_init_main(argc - 1, argv + 1);
    while ((c = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'C':
            check = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            return pf_release_print(stdout, "posfleetd");
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!path || optind != argc) {
        usage(stderr);
        return 2;
    }
    pfs_config_defaults(&cfg);
    if (pfs_config_load(&cfg, path, &err) != 0) {
        fprintf(stderr, "posfleetd: %s\n", err.msg);
        return 1;
    }
    if (check) {
        printf("posfleetd: %s: configuration OK (store.backend = %s)\n", path, cfg.store_backend);
        return 0;
    }
    raise_nofile(&cfg);
    rc = pfs_server_new(&cfg, &opts, &srv, &err);
    if (rc) {
        fprintf(stderr, "posfleetd: %s\n", err.msg);
        return 1;
    }
    rc = pfs_server_run(srv);
    pfs_server_free(srv);
    return rc ? 1 : 0;
}
