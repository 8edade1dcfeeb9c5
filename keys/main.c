/*
 * main.c - posfleet-keys: dispatch to a subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "pf/release.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
        {"init", pfk_cmd_init, "create a root key and an empty signed keyring"},
        {"add", pfk_cmd_add, "create a signing key with a role and validity window"},
        {"revoke", pfk_cmd_revoke, "revoke a signing key in the keyring"},
        {"rotate-root", pfk_cmd_rotate_root, "replace the root key, signed by the old one"},
        {"show", pfk_cmd_show, "print the keyring (public parts only)"},
        {"ca-init", pfk_cmd_ca_init, "create the device CA (development and simulation)"},
        {"server-cert", pfk_cmd_server_cert, "issue a certificate for the broker or posfleetd"},
        {"device-cert", pfk_cmd_device_cert, "issue a terminal certificate (CN = serial)"},
        {"cert-revoke", pfk_cmd_cert_revoke, "revoke a terminal certificate and rewrite the CRL"},
        {"crl", pfk_cmd_crl, "write the current certificate revocation list"},
        {"api-token", pfk_cmd_api_token, "create an API bearer token with a role"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: posfleet-keys COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nRun 'posfleet-keys COMMAND --help' for a command's options;\n"
               "'posfleet-keys --version' prints the release version.\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")))
        return pf_release_print(stdout, "posfleet-keys");
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "posfleet-keys: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
