/* cmd_pki.c - placeholder until the pki commands land; every command refuses. */
#include <stdio.h>

#include "keys.h"

int pfk_cmd_ca_init(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "posfleet-keys %s: not available in this build\n", argv[0]);
    return 1;
}

int pfk_cmd_server_cert(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "posfleet-keys %s: not available in this build\n", argv[0]);
    return 1;
}

int pfk_cmd_device_cert(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "posfleet-keys %s: not available in this build\n", argv[0]);
    return 1;
}

int pfk_cmd_cert_revoke(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "posfleet-keys %s: not available in this build\n", argv[0]);
    return 1;
}

int pfk_cmd_crl(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "posfleet-keys %s: not available in this build\n", argv[0]);
    return 1;
}

int pfk_cmd_api_token(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "posfleet-keys %s: not available in this build\n", argv[0]);
    return 1;
}

