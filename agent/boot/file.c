/*
 * file.c - file-backed boot environment (simulation and tests).
 *
 * The environment is a small "key=value" file (slot=, good=, trial=, tries=)
 * replaced with pf_file_write_atomic(), so every state change is one atomic
 * write. Creating the backend is a boot: it runs the bootloader's decision
 * once, as U-Boot's bootcount logic would — a trial slot with tries left is
 * booted and its counter decremented; with none left the bootloader falls back
 * to the good slot and clears the trial. A missing file is a fresh terminal
 * that boots `initial`.
 */
#include "pfa/boot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_backends.h"
#include "pf/fileio.h"

struct file__priv {
    char *path;
    struct pfa_boot_env env; /* as last written; booted is fixed at creation */
};

static int file__parse(const char *buf, struct pfa_boot_env *env)
{
    char slot = 0, good = 0;
    int trial = -1, tries = -1;

    if (sscanf(buf, "slot=%c\ngood=%c\ntrial=%d\ntries=%d\n", &slot, &good, &trial, &tries) != 4 ||
        (slot != 'a' && slot != 'b') || (good != 'a' && good != 'b') || trial < 0 || trial > 1 ||
        tries < 0 || tries > 100)
        return PF_EPARSE;
    env->target = slot == 'a' ? PF_SLOT_A : PF_SLOT_B;
    env->good = good == 'a' ? PF_SLOT_A : PF_SLOT_B;
    env->trial = trial == 1;
    env->tries = tries;
    return 0;
}

static int file__write(struct pfa_boot *b, const struct pfa_boot_env *env, struct pf_error *err)
{
    struct file__priv *p = b->priv;
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "slot=%s\ngood=%s\ntrial=%d\ntries=%d\n",
                     pf_slot_names[env->target], pf_slot_names[env->good], env->trial ? 1 : 0,
                     env->tries);
    int rc;

    if (b->before_write)
        b->before_write(b->hook_ctx);
    rc = pf_file_write_atomic(p->path, buf, (size_t)n, 0600);
    if (rc)
        return pf_error_set(err, rc, "boot: %s: %s", p->path, pf_strerror(rc));
    p->env.target = env->target;
    p->env.good = env->good;
    p->env.trial = env->trial;
    p->env.tries = env->tries;
    return 0;
}

static int file__load(struct pfa_boot *b, struct pfa_boot_env *env, struct pf_error *err)
{
    (void)err;
    *env = ((struct file__priv *)b->priv)->env;
    return 0;
}

static int file__try(struct pfa_boot *b, enum pf_slot slot, int tries, struct pf_error *err)
{
    struct pfa_boot_env env = ((struct file__priv *)b->priv)->env;

    env.target = slot;
    env.trial = true;
    env.tries = tries;
    return file__write(b, &env, err);
}

static int file__commit(struct pfa_boot *b, enum pf_slot slot, struct pf_error *err)
{
    struct pfa_boot_env env = ((struct file__priv *)b->priv)->env;

    env.target = env.good = slot;
    env.trial = false;
    env.tries = 0;
    return file__write(b, &env, err);
}

static int file__fallback(struct pfa_boot *b, struct pf_error *err)
{
    struct pfa_boot_env env = ((struct file__priv *)b->priv)->env;

    env.target = env.good;
    env.trial = false;
    env.tries = 0;
    return file__write(b, &env, err);
}

static void file__free(struct pfa_boot *b)
{
    struct file__priv *p = b->priv;

    free(p->path);
    free(p);
    free(b);
}

static const struct pfa_boot_ops file__ops = {
        .name = "file",
        .load = file__load,
        .try_slot = file__try,
        .commit = file__commit,
        .fallback = file__fallback,
        .free = file__free,
};

static int file__open(const char *path, const char *cmdline, enum pf_slot initial,
                      struct pfa_boot **out, struct pf_error *err)
{
    struct pfa_boot *b = NULL;
    struct file__priv *p = NULL;
    struct pfa_boot_env env = {initial, initial, initial, false, 0};
    char *buf = NULL;
    size_t len;
    bool dirty = false;
    int rc;

    (void)cmdline; /* the simulated boot decision below is the booted slot */
    if (!path)
        return pf_error_set(err, PF_EINVAL, "boot: the file backend needs an env path");
    b = calloc(1, sizeof(*b));
    p = calloc(1, sizeof(*p));
    if (!b || !p || !(p->path = strdup(path))) {
        rc = pf_error_set(err, PF_ENOMEM, "boot: out of memory");
        goto out_free;
    }
    b->ops = &file__ops;
    b->priv = p;
    rc = pf_file_read(path, 256, &buf, &len);
    if (rc == PF_ENOENT) {
        dirty = true;
    } else if (rc) {
        pf_error_set(err, rc, "boot: %s: %s", path, pf_strerror(rc));
        goto out_free;
    } else if ((rc = file__parse(buf, &env)) != 0) {
        pf_error_set(err, rc, "boot: %s: not a boot environment", path);
        goto out_free;
    }
    free(buf);
    buf = NULL;
    /* The simulated bootloader's decision for this boot. */
    if (env.trial && env.tries > 0) {
        env.tries--;
        env.booted = env.target;
        dirty = true;
    } else if (env.trial) {
        env.target = env.good;
        env.trial = false;
        env.booted = env.good;
        dirty = true;
    } else {
        env.booted = env.target;
    }
    p->env = env;
    if (dirty && (rc = file__write(b, &env, err)) != 0)
        goto out_free;
    *out = b;
    return 0;

out_free:
    free(buf);
    if (p)
        free(p->path);
    free(p);
    free(b);
    return rc;
}

const struct pfa__boot_backend pfa__boot_file = {"file", file__open};
