/* cmd_ring.c - placeholder until the ring commands land; every command refuses. */
#include <stdio.h>

#include "keys.h"

int pfk_cmd_init(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "posfleet-keys %s: not available in this build\n", argv[0]);
    return 1;
}

int pfk_cmd_add(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "posfleet-keys %s: not available in this build\n", argv[0]);
    return 1;
}

int pfk_cmd_revoke(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "posfleet-keys %s: not available in this build\n", argv[0]);
    return 1;
}

int pfk_cmd_rotate_root(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "posfleet-keys %s: not available in this build\n", argv[0]);
    return 1;
}

int pfk_cmd_show(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "posfleet-keys %s: not available in this build\n", argv[0]);
    return 1;
}

