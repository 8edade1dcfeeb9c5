/*
 * uboot.c - U-Boot boot control through fw_printenv / fw_setenv (libubootenv
 * or u-boot-tools, configured by /etc/fw_env.config or fw_env_config).
 *
 * Variables (docs/update.md has the matching U-Boot script):
 *   posfleet_slot      a|b   slot the bootloader boots
 *   posfleet_good      a|b   committed slot
 *   upgrade_available  0|1   trial in progress (U-Boot's bootcount feature)
 *   bootcount                incremented by U-Boot at each boot while upgrade_available=1
 *   bootlimit                tries; past it U-Boot runs altbootcmd (boots posfleet_good)
 * Every change is one `fw_setenv -s SCRIPT` call, which writes the redundant
 * environment copy once (atomic). The booted slot comes from the kernel
 * command line (posfleet.slot=a|b, set by the boot script).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot_backends.h"
#include "boot_common.h"

struct uboot__priv {
    char *config;  /* fw_env.config or NULL */
    char *cmdline; /* NULL = /proc/cmdline */
};

static int uboot__get(struct uboot__priv *p, const char *name, char *out, size_t cap,
                      struct pf_error *err)
{
    char *argv[6];
    int n = 0, rc;

    argv[n++] = (char *)"fw_printenv";
    if (p->config) {
        argv[n++] = (char *)"-c";
        argv[n++] = p->config;
    }
    argv[n++] = (char *)"-n";
    argv[n++] = (char *)name;
    argv[n] = NULL;
    rc = pfa__boot_run(argv, out, cap, err);
    out[strcspn(out, "\n")] = '\0';
    return rc;
}

static int uboot__slot(const char *v, enum pf_slot *s)
{
    if (strcmp(v, "a") && strcmp(v, "b"))
        return PF_EPARSE;
    *s = v[0] == 'a' ? PF_SLOT_A : PF_SLOT_B;
    return 0;
}

static int uboot__load(struct pfa_boot *b, struct pfa_boot_env *env, struct pf_error *err)
{
    struct uboot__priv *p = b->priv;
    char v[64];
    long count = 0, limit = 0;
    int rc;

    if ((rc = uboot__get(p, "posfleet_slot", v, sizeof(v), err)) ||
        (rc = uboot__slot(v, &env->target)) ||
        (rc = uboot__get(p, "posfleet_good", v, sizeof(v), err)) ||
        (rc = uboot__slot(v, &env->good)))
        return pf_error_set(err, rc ? rc : PF_EPARSE, "boot: uboot: posfleet_slot/good unset");
    env->trial = uboot__get(p, "upgrade_available", v, sizeof(v), NULL) == 0 && !strcmp(v, "1");
    if (uboot__get(p, "bootcount", v, sizeof(v), NULL) == 0)
        count = strtol(v, NULL, 10);
    if (uboot__get(p, "bootlimit", v, sizeof(v), NULL) == 0)
        limit = strtol(v, NULL, 10);
    env->tries = env->trial && limit > count ? (int)(limit - count) : 0;
    return pfa__boot_cmdline_slot(p->cmdline, &env->booted, err);
}

/* Writes "name value" lines to a script and applies them with one fw_setenv -s. */
static int uboot__set(struct pfa_boot *b, const char *script, struct pf_error *err)
{
    struct uboot__priv *p = b->priv;
    char path[] = "/tmp/posfleet-fwenv.XXXXXX";
    char *argv[6];
    int fd = mkstemp(path), n = 0, rc;
    size_t len = strlen(script);

    if (fd < 0)
        return pf_error_set(err, PF_EIO, "boot: uboot: script: %s", strerror(errno));
    if (write(fd, script, len) != (ssize_t)len) {
        close(fd);
        unlink(path);
        return pf_error_set(err, PF_EIO, "boot: uboot: script: short write");
    }
    close(fd);
    if (b->before_write)
        b->before_write(b->hook_ctx);
    argv[n++] = (char *)"fw_setenv";
    if (p->config) {
        argv[n++] = (char *)"-c";
        argv[n++] = p->config;
    }
    argv[n++] = (char *)"-s";
    argv[n++] = path;
    argv[n] = NULL;
    rc = pfa__boot_run(argv, NULL, 0, err);
    unlink(path);
    return rc;
}

static int uboot__try(struct pfa_boot *b, enum pf_slot slot, int tries, struct pf_error *err)
{
    char s[160];

    snprintf(s, sizeof(s), "posfleet_slot %s\nupgrade_available 1\nbootcount 0\nbootlimit %d\n",
             pf_slot_names[slot], tries);
    return uboot__set(b, s, err);
}

static int uboot__commit(struct pfa_boot *b, enum pf_slot slot, struct pf_error *err)
{
    char s[160];

    snprintf(s, sizeof(s), "posfleet_slot %s\nposfleet_good %s\nupgrade_available 0\nbootcount 0\n",
             pf_slot_names[slot], pf_slot_names[slot]);
    return uboot__set(b, s, err);
}

static int uboot__fallback(struct pfa_boot *b, struct pf_error *err)
{
    struct pfa_boot_env env;
    char s[160];
    int rc = uboot__load(b, &env, err);

    if (rc)
        return rc;
    snprintf(s, sizeof(s), "posfleet_slot %s\nupgrade_available 0\nbootcount 0\n",
             pf_slot_names[env.good]);
    return uboot__set(b, s, err);
}

static void uboot__free(struct pfa_boot *b)
{
    struct uboot__priv *p = b->priv;

    free(p->config);
    free(p->cmdline);
    free(p);
    free(b);
}

static const struct pfa_boot_ops uboot__ops = {
        .name = "uboot",
        .load = uboot__load,
        .try_slot = uboot__try,
        .commit = uboot__commit,
        .fallback = uboot__fallback,
        .free = uboot__free,
};

static int uboot__open(const char *fw_env_config, const char *cmdline, enum pf_slot initial,
                       struct pfa_boot **out, struct pf_error *err)
{
    struct pfa_boot *b = calloc(1, sizeof(*b));
    struct uboot__priv *p = calloc(1, sizeof(*p));

    (void)initial; /* the kernel command line says which slot booted */

    if (!b || !p || (fw_env_config && !(p->config = strdup(fw_env_config))) ||
        (cmdline && !(p->cmdline = strdup(cmdline)))) {
        if (p) {
            free(p->config);
            free(p->cmdline);
        }
        free(p);
        free(b);
        return pf_error_set(err, PF_ENOMEM, "boot: out of memory");
    }
    b->ops = &uboot__ops;
    b->priv = p;
    *out = b;
    return 0;
}

const struct pfa__boot_backend pfa__boot_uboot = {"uboot", uboot__open};
