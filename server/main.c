/*
 * main.c - posfleetd: parse options, load the configuration, run the core.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "server.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: posfleetd -c FILE [--check-config]\n"
               "  -c, --config FILE   configuration file (docs/server.md)\n"
               "      --check-config  validate the configuration and exit\n"
               "  -h, --help          this text\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
            {"config", required_argument, NULL, 'c'},
            {"check-config", no_argument, NULL, 'C'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
    };
    struct pfs_server_opts opts = {.signals = true, .mqtt = true};
    struct pfs_config cfg;
    struct pfs_server *srv = NULL;
    struct pf_error err = {0};
    const char *path = NULL;
    int check = 0, c, rc;

    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
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
        printf("posfleetd: %s: configuration OK\n", path);
        return 0;
    }
    rc = pfs_server_new(&cfg, &opts, &srv, &err);
    if (rc) {
        fprintf(stderr, "posfleetd: %s\n", err.msg);
        return 1;
    }
    rc = pfs_server_run(srv);
    pfs_server_free(srv);
    return rc ? 1 : 0;
}
