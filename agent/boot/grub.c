/*
 * grub.c - GRUB boot control through grub-editenv on the environment block
 * (e.g. /boot/grub/grubenv).
 *
 * Variables (docs/update.md has the matching grub.cfg fragment):
 *   posfleet_slot a|b, posfleet_good a|b, posfleet_trial 0|1, posfleet_tries N
 * grub.cfg decrements posfleet_tries with save_env at each trial boot and
 * boots posfleet_good once it reaches 0. Every change is one
 * `grub-editenv FILE set k=v ...` call: one rewrite of the 1 KiB block.
 * The booted slot comes from the kernel command line (posfleet.slot=a|b).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_backends.h"
#include "boot_common.h"

struct grub__priv {
    char *envfile;
    char *cmdline;
};

static int grub__var(const char *list, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);

    for (const char *p = list; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            size_t l = strcspn(p + n + 1, "\n");
            if (l >= cap)
                return PF_ETOOBIG;
            memcpy(out, p + n + 1, l);
            out[l] = '\0';
            return 0;
        }
    }
    return PF_ENOENT;
}

static int grub__load(struct pfa_boot *b, struct pfa_boot_env *env, struct pf_error *err)
{
    struct grub__priv *p = b->priv;
    char *argv[] = {(char *)"grub-editenv", p->envfile, (char *)"list", NULL};
    char list[1100], v[16];
    int rc = pfa__boot_run(argv, list, sizeof(list), err);

    if (rc)
        return rc;
    if (grub__var(list, "posfleet_slot", v, sizeof(v)) || (strcmp(v, "a") && strcmp(v, "b")))
        return pf_error_set(err, PF_EPARSE, "boot: grub: posfleet_slot unset");
    env->target = v[0] == 'a' ? PF_SLOT_A : PF_SLOT_B;
    if (grub__var(list, "posfleet_good", v, sizeof(v)) || (strcmp(v, "a") && strcmp(v, "b")))
        return pf_error_set(err, PF_EPARSE, "boot: grub: posfleet_good unset");
    env->good = v[0] == 'a' ? PF_SLOT_A : PF_SLOT_B;
    env->trial = grub__var(list, "posfleet_trial", v, sizeof(v)) == 0 && !strcmp(v, "1");
    env->tries =
            grub__var(list, "posfleet_tries", v, sizeof(v)) == 0 ? (int)strtol(v, NULL, 10) : 0;
    if (env->tries < 0 || env->tries > 100)
        env->tries = 0;
    return pfa__boot_cmdline_slot(p->cmdline, &env->booted, err);
}

static int grub__set(struct pfa_boot *b, char *const kv[], struct pf_error *err)
{
    struct grub__priv *p = b->priv;
    char *argv[8] = {(char *)"grub-editenv", p->envfile, (char *)"set"};
    int n = 3;

    for (int i = 0; kv[i] && n < 7; i++)
        argv[n++] = kv[i];
    argv[n] = NULL;
    if (b->before_write)
        b->before_write(b->hook_ctx);
    return pfa__boot_run(argv, NULL, 0, err);
}

static int grub__try(struct pfa_boot *b, enum pf_slot slot, int tries, struct pf_error *err)
{
    char s[32], t[32];
    char *kv[] = {s, (char *)"posfleet_trial=1", t, NULL};

    snprintf(s, sizeof(s), "posfleet_slot=%s", pf_slot_names[slot]);
    snprintf(t, sizeof(t), "posfleet_tries=%d", tries);
    return grub__set(b, kv, err);
}

static int grub__commit(struct pfa_boot *b, enum pf_slot slot, struct pf_error *err)
{
    char s[32], g[32];
    char *kv[] = {s, g, (char *)"posfleet_trial=0", (char *)"posfleet_tries=0", NULL};

    snprintf(s, sizeof(s), "posfleet_slot=%s", pf_slot_names[slot]);
    snprintf(g, sizeof(g), "posfleet_good=%s", pf_slot_names[slot]);
    return grub__set(b, kv, err);
}

static int grub__fallback(struct pfa_boot *b, struct pf_error *err)
{
    struct pfa_boot_env env;
    char s[32];
    char *kv[] = {s, (char *)"posfleet_trial=0", (char *)"posfleet_tries=0", NULL};
    int rc = grub__load(b, &env, err);

    if (rc)
        return rc;
    snprintf(s, sizeof(s), "posfleet_slot=%s", pf_slot_names[env.good]);
    return grub__set(b, kv, err);
}

static void grub__free(struct pfa_boot *b)
{
    struct grub__priv *p = b->priv;

    free(p->envfile);
    free(p->cmdline);
    free(p);
    free(b);
}

static const struct pfa_boot_ops grub__ops = {
        .name = "grub",
        .load = grub__load,
        .try_slot = grub__try,
        .commit = grub__commit,
        .fallback = grub__fallback,
        .free = grub__free,
};

static int grub__open(const char *envfile, const char *cmdline, enum pf_slot initial,
                      struct pfa_boot **out, struct pf_error *err)
{
    struct pfa_boot *b;
    struct grub__priv *p;

    (void)initial; /* the kernel command line says which slot booted */
    if (!envfile)
        return pf_error_set(err, PF_EINVAL, "boot: the grub backend needs the grubenv path");
    b = calloc(1, sizeof(*b));
    p = calloc(1, sizeof(*p));

    if (!b || !p || !(p->envfile = strdup(envfile)) ||
        (cmdline && !(p->cmdline = strdup(cmdline)))) {
        if (p) {
            free(p->envfile);
            free(p->cmdline);
        }
        free(p);
        free(b);
        return pf_error_set(err, PF_ENOMEM, "boot: out of memory");
    }
    b->ops = &grub__ops;
    b->priv = p;
    *out = b;
    return 0;
}

const struct pfa__boot_backend pfa__boot_grub = {"grub", grub__open};
