/*
 * uboot.c - U-Boot boot control through fw_printenv / fw_setenv (Debian's
 * libubootenv-tool), configured by /etc/fw_env.config or the given
 * fw_env.config.
 *
 * Variables (docs/update.md has the matching U-Boot script):
 *   posfleet_slot      a|b   slot the bootloader boots
 *   posfleet_good      a|b   committed slot
 *   upgrade_available  0|1   trial in progress (U-Boot's bootcount feature)
 *   bootcount                incremented by U-Boot at each boot while upgrade_available=1
 *   bootlimit                tries; past it U-Boot runs altbootcmd (boots posfleet_good)
 * Every change is one `fw_setenv -s SCRIPT` call (script lines "name=value",
 * libubootenv's format), which writes the whole environment once: with two
 * copies in fw_env.config, into the copy that is not current, whose flag then
 * makes it current; a write cut short leaves that copy with a bad CRC and the
 * other one, the previous environment, is what U-Boot and fw_printenv read.
 * The booted slot comes from the kernel command line (posfleet.slot=a|b, set
 * by the boot script).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot_backends.h"
#include "boot_common.h"
#include "pf/num.h"

#define UBOOT_SCRIPT_MAX 192

struct uboot__priv {
    char *config;  /* fw_env.config or NULL */
    char *cmdline; /* NULL = /proc/cmdline */
};

/* The value of one variable ("" when unset: libubootenv prints nothing then). */
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

/* bootcount / bootlimit: unset or not a count in 0..1000 reads as 0. */
static long uboot__num(struct uboot__priv *p, const char *name)
{
    char v[32];
    int64_t n;

    if (uboot__get(p, name, v, sizeof(v), NULL) != 0 || pf_parse_i64(v, 0, 1000, &n) != 0)
        return 0;
    return (long)n;
}

static int uboot__load(struct pfa_boot *b, struct pfa_boot_env *env, struct pf_error *err)
{
    struct uboot__priv *p = b->priv;
    char slot[16], good[16], v[16];
    long count, limit;
    int rc;

    if ((rc = uboot__get(p, "posfleet_slot", slot, sizeof(slot), err)) != 0 ||
        (rc = uboot__get(p, "posfleet_good", good, sizeof(good), err)) != 0 ||
        (rc = pfa__boot_cmdline_slot(p->cmdline, &env->booted, err)) != 0)
        return rc;
    env->trial = uboot__get(p, "upgrade_available", v, sizeof(v), NULL) == 0 && !strcmp(v, "1");
    count = uboot__num(p, "bootcount");
    limit = uboot__num(p, "bootlimit");
    env->tries = env->trial && limit > count ? (int)(limit - count) : 0;
    return pfa__boot_slots(slot, good, env, "uboot", err);
}

/* Writes the "name=value" lines to a script and applies them with one fw_setenv -s. */
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
    struct pfa_boot_env env;
    char s[UBOOT_SCRIPT_MAX];
    int rc = uboot__load(b, &env, err);

    if (rc)
        return rc;
    snprintf(s, sizeof(s),
             "posfleet_slot=%s\nposfleet_good=%s\nupgrade_available=1\nbootcount=0\n"
             "bootlimit=%d\n",
             pf_slot_names[slot], pf_slot_names[env.good], tries);
    return uboot__set(b, s, err);
}

static int uboot__commit(struct pfa_boot *b, enum pf_slot slot, struct pf_error *err)
{
    char s[UBOOT_SCRIPT_MAX];

    snprintf(s, sizeof(s), "posfleet_slot=%s\nposfleet_good=%s\nupgrade_available=0\nbootcount=0\n",
             pf_slot_names[slot], pf_slot_names[slot]);
    return uboot__set(b, s, err);
}

static int uboot__fallback(struct pfa_boot *b, struct pf_error *err)
{
    struct pfa_boot_env env;
    char s[UBOOT_SCRIPT_MAX];
    int rc = uboot__load(b, &env, err);

    if (rc)
        return rc;
    snprintf(s, sizeof(s), "posfleet_slot=%s\nposfleet_good=%s\nupgrade_available=0\nbootcount=0\n",
             pf_slot_names[env.good], pf_slot_names[env.good]);
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
