/*
 * grub.c - GRUB boot control through grub-editenv on the environment block
 * (e.g. /boot/grub/grubenv).
 *
 * Variables (docs/update.md has the matching grub.cfg fragment):
 *   posfleet_slot a|b, posfleet_good a|b, posfleet_trial 0|1, posfleet_tries N
 * grub.cfg decrements posfleet_tries with save_env at each trial boot and
 * boots posfleet_good once it reaches 0. The booted slot comes from the kernel
 * command line (posfleet.slot=a|b).
 *
 * grub-editenv rewrites the block in place (open with O_TRUNC, write, fsync):
 * killed or cut in between, it leaves an empty or partial block that GRUB
 * cannot load. So every change is made on a copy: the block is copied to
 * FILE.new, one `grub-editenv FILE.new set k=v ...` call changes the copy,
 * and the copy is fsynced and renamed over FILE (then the directory fsynced).
 * Until the rename FILE is the previous environment, whole; after it, the new
 * one. A leftover FILE.new from a cut is simply overwritten next time.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot_backends.h"
#include "boot_common.h"
#include "pf/fileio.h"
#include "pf/num.h"

#define GRUB_ENV_MAX  65536 /* the block is 1 KiB unless made larger on purpose */
#define GRUB_LIST_MAX 4096

struct grub__priv {
    char *envfile;
    char *newfile; /* envfile + ".new": the copy grub-editenv changes */
    char *cmdline;
};

static int grub__var(const char *list, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);

    out[0] = '\0';
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
    char list[GRUB_LIST_MAX], slot[16], good[16], v[16];
    int64_t tries;
    int rc = pfa__boot_run(argv, list, sizeof(list), err);

    if (rc)
        return rc;
    if ((rc = pfa__boot_cmdline_slot(p->cmdline, &env->booted, err)) != 0)
        return rc;
    env->trial = grub__var(list, "posfleet_trial", v, sizeof(v)) == 0 && !strcmp(v, "1");
    env->tries = 0;
    if (grub__var(list, "posfleet_tries", v, sizeof(v)) == 0 &&
        pf_parse_i64(v, 0, 100, &tries) == 0)
        env->tries = (int)tries;
    if (grub__var(list, "posfleet_slot", slot, sizeof(slot)) == PF_ETOOBIG ||
        grub__var(list, "posfleet_good", good, sizeof(good)) == PF_ETOOBIG)
        return pf_error_set(err, PF_EPARSE, "boot: grub: %s: slot variable too long", p->envfile);
    return pfa__boot_slots(slot, good, env, "grub", err);
}

/* Copies the block to newfile, with the block's own mode. */
static int grub__copy(struct grub__priv *p, struct pf_error *err)
{
    struct stat st;
    char *blk = NULL;
    size_t len;
    int rc;

    if (stat(p->envfile, &st) != 0)
        return pf_error_set(err, PF_ENOENT, "boot: grub: %s: no environment block", p->envfile);
    rc = pf_file_read(p->envfile, GRUB_ENV_MAX, &blk, &len);
    if (rc == 0)
        rc = pf_file_write_atomic(p->newfile, blk, len, st.st_mode & 0777);
    free(blk);
    if (rc)
        return pf_error_set(err, rc, "boot: grub: copy of %s: %s", p->envfile, pf_strerror(rc));
    return 0;
}

/* One change of the environment: kv ("name=value", NULL-terminated, at most 4) on a copy. */
static int grub__set(struct pfa_boot *b, char *const kv[], struct pf_error *err)
{
    struct grub__priv *p = b->priv;
    char *argv[8] = {(char *)"grub-editenv", p->newfile, (char *)"set"};
    int n = 3, fd, rc;

    for (int i = 0; kv[i] && n < 7; i++)
        argv[n++] = kv[i];
    argv[n] = NULL;
    if (b->before_write)
        b->before_write(b->hook_ctx);
    if ((rc = grub__copy(p, err)) != 0 || (rc = pfa__boot_run(argv, NULL, 0, err)) != 0)
        return rc;
    /* grub-editenv fsyncs what it writes; this does not depend on it. */
    fd = open(p->newfile, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        if (fd >= 0)
            close(fd);
        return pf_error_set(err, PF_EIO, "boot: grub: fsync %s", p->newfile);
    }
    close(fd);
    if (rename(p->newfile, p->envfile) != 0)
        return pf_error_set(err, PF_EIO, "boot: grub: rename to %s", p->envfile);
    if ((rc = pf_fsync_dir_of(p->envfile)) != 0)
        return pf_error_set(err, rc, "boot: grub: fsync of %s's directory", p->envfile);
    return 0;
}

static int grub__try(struct pfa_boot *b, enum pf_slot slot, int tries, struct pf_error *err)
{
    struct pfa_boot_env env;
    char s[32], g[32], t[32];
    char *kv[] = {s, g, (char *)"posfleet_trial=1", t, NULL};
    int rc = grub__load(b, &env, err);

    if (rc)
        return rc;
    snprintf(s, sizeof(s), "posfleet_slot=%s", pf_slot_names[slot]);
    snprintf(g, sizeof(g), "posfleet_good=%s", pf_slot_names[env.good]);
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
    char s[32], g[32];
    char *kv[] = {s, g, (char *)"posfleet_trial=0", (char *)"posfleet_tries=0", NULL};
    int rc = grub__load(b, &env, err);

    if (rc)
        return rc;
    snprintf(s, sizeof(s), "posfleet_slot=%s", pf_slot_names[env.good]);
    snprintf(g, sizeof(g), "posfleet_good=%s", pf_slot_names[env.good]);
    return grub__set(b, kv, err);
}

static void grub__free(struct pfa_boot *b)
{
    struct grub__priv *p = b->priv;

    free(p->envfile);
    free(p->newfile);
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
    size_t n;

    (void)initial; /* the kernel command line says which slot booted */
    if (!envfile)
        return pf_error_set(err, PF_EINVAL, "boot: the grub backend needs the grubenv path");
    b = calloc(1, sizeof(*b));
    p = calloc(1, sizeof(*p));
    n = strlen(envfile) + sizeof(".new");
    if (!b || !p || !(p->envfile = strdup(envfile)) || !(p->newfile = malloc(n)) ||
        (cmdline && !(p->cmdline = strdup(cmdline)))) {
        if (p) {
            free(p->envfile);
            free(p->newfile);
            free(p->cmdline);
        }
        free(p);
        free(b);
        return pf_error_set(err, PF_ENOMEM, "boot: out of memory");
    }
    snprintf(p->newfile, n, "%s.new", envfile);
    b->ops = &grub__ops;
    b->priv = p;
    *out = b;
    return 0;
}

const struct pfa__boot_backend pfa__boot_grub = {"grub", grub__open};
