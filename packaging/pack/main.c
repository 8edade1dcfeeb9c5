/*
 * main.c - posfleet-pack: dispatch to a subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "pack.h"
#include "pf/release.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
        {"create", pfp_cmd_create, "build a bundle from a firmware image or a fee table"},
        {"sign", pfp_cmd_sign, "sign (or re-sign) a bundle's manifest"},
        {"verify", pfp_cmd_verify, "verify a bundle as a terminal would (optionally extract)"},
        {"inspect", pfp_cmd_inspect, "show what a bundle holds (--json for machines)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: posfleet-pack COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nRun 'posfleet-pack COMMAND --help' for a command's options;\n"
               "'posfleet-pack --version' prints the release version.\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")))
        return pf_release_print(stdout, "posfleet-pack");
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "posfleet-pack: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
