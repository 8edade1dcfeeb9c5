/*
 * test_boot.c - one boot-control suite, run on every backend (agent/boot/):
 * file, and uboot and grub against Debian's real tools - fw_printenv /
 * fw_setenv (libubootenv-tool, pulled in by u-boot-tools) with an
 * fw_env.config naming two environment copies, plain files in the test's
 * directory, and grub-editenv (grub-common) on a grubenv block there. A
 * missing tool fails the suite; nothing is skipped.
 *
 * On a terminal the bootloader runs between two pfa_boot_new() calls. The file
 * backend plays it itself; for U-Boot and GRUB the test "boots" by doing what
 * docs/update.md's boot script and grub.cfg do, with the same tools (a trial
 * boot counted, altbootcmd / the fallback once the count is out), and writes
 * the kernel command line the backend reads (posfleet.slot=).
 *
 * The cut test kills the writer of the environment in the middle of its write
 * with a real SIGKILL: the backend's change runs in a child under ptrace; the
 * first write(2) into the test directory by the writing process (the tool, or
 * the agent itself for file) is let through for its first CUT_BYTES bytes only
 * and the writer is SIGKILLed before the call returns - what a kill that
 * arrives while the kernel copies a write leaves on disk. (A longer prefix
 * can be harmless by luck: half of a 16 KiB U-Boot copy is padding that is
 * already zero, half of a grubenv block still holds every variable.) The
 * previous environment must read back whole, through the redundant copy
 * (U-Boot: the cut copy alone is refused by fw_printenv) or the untouched
 * block (file, GRUB: both change a copy and rename it), and the next change
 * must work.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__aarch64__)
#include <asm/ptrace.h>
#include <elf.h>
#endif

#include "pfa/boot.h"
#include "pf/fileio.h"
#include "pf/num.h"
#include "testutil.h"

/* ---- fixture ---------------------------------------------------------------------- */

struct fx;

struct backend {
    const char *name;
    const char *writer; /* the process that writes the environment; NULL = the agent */
    void (*setup)(struct fx *f);
    void (*bootloader)(struct fx *f); /* one boot's decision; NULL = the backend plays it */
    void (*damage)(struct fx *f);     /* leaves posfleet_slot without posfleet_good */
    /* A variable of the bootloader's own that every change must keep (NULL = none). */
    const char *keep_name, *keep_value;
    void (*get)(struct fx *f, const char *name, char *out, size_t cap);
    /* Checks the file the cut write went to (NULL = nothing more to check). */
    void (*cut_check)(struct fx *f, const char *path);
};

struct fx {
    const struct backend *bk;
    enum pf_slot initial;
    char dir[PATH_MAX];
    char env[PATH_MAX + 32];     /* what pfa_boot_new() is given */
    char cmdline[PATH_MAX + 32]; /* kernel command line (uboot, grub) */
};

/* Runs argv; its stdout into out (NUL-terminated) when given. Returns the exit status, -1
 * when it did not exit. */
static int tool(char *const argv[], char *out, size_t cap)
{
    int pfd[2], st;
    size_t got = 0;
    pid_t pid;

    ck_assert_int_eq(pipe(pfd), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(pfd[1], STDOUT_FILENO);
        close(pfd[0]);
        close(pfd[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(pfd[1]);
    for (;;) {
        char sink[256];
        ssize_t n = out && got + 1 < cap ? read(pfd[0], out + got, cap - 1 - got)
                                         : read(pfd[0], sink, sizeof(sink));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (out && got + 1 < cap)
            got += (size_t)n;
    }
    close(pfd[0]);
    if (out)
        out[got] = '\0';
    while (waitpid(pid, &st, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    ck_assert_msg(!WIFEXITED(st) || WEXITSTATUS(st) != 127, "%s is not installed", argv[0]);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void put(const char *path, const char *text)
{
    ck_assert_int_eq(pf_file_write_atomic(path, text, strlen(text), 0644), 0);
}

static void write_cmdline(struct fx *f, const char *slot)
{
    char text[64];

    snprintf(text, sizeof(text), "console=ttyS0 posfleet.slot=%s quiet\n", slot);
    put(f->cmdline, text);
}

static long num(const char *v)
{
    int64_t n;

    return pf_parse_i64(v, 0, INT32_MAX, &n) == 0 ? (long)n : 0;
}

/* file ------------------------------------------------------------------------------- */

static void file_setup(struct fx *f)
{
    snprintf(f->env, sizeof(f->env), "%s/bootenv", f->dir);
}

static void file_damage(struct fx *f)
{
    put(f->env, "slot=b\ngood=?\ntrial=0\ntries=0\n");
}

/* U-Boot: fw_printenv / fw_setenv, two copies --------------------------------------- */

static void uboot_get(struct fx *f, const char *name, char *out, size_t cap)
{
    char *argv[] = {"fw_printenv", "-c", f->env, "-n", (char *)name, NULL};

    ck_assert_int_eq(tool(argv, out, cap), 0);
    out[strcspn(out, "\n")] = '\0';
}

static void uboot_set(struct fx *f, const char *script)
{
    char path[PATH_MAX + 32];
    char *argv[] = {"fw_setenv", "-c", f->env, "-s", path, NULL};

    snprintf(path, sizeof(path), "%s/bootloader.script", f->dir);
    put(path, script);
    ck_assert_int_eq(tool(argv, NULL, 0), 0);
}

static void uboot_setup(struct fx *f)
{
    char path[PATH_MAX + 32], defenv[PATH_MAX + 32], text[2 * PATH_MAX + 128];
    char *argv[] = {"fw_setenv", "-c", f->env, "-f", defenv, "bootdelay", "2", NULL};
    char zero[0x4000] = {0};
    FILE *fp;

    for (int i = 1; i <= 2; i++) {
        snprintf(path, sizeof(path), "%s/uboot.env%d", f->dir, i);
        fp = fopen(path, "w");
        ck_assert_ptr_nonnull(fp);
        ck_assert_uint_eq(fwrite(zero, 1, sizeof(zero), fp), sizeof(zero));
        ck_assert_int_eq(fclose(fp), 0);
    }
    snprintf(f->env, sizeof(f->env), "%s/fw_env.config", f->dir);
    snprintf(text, sizeof(text),
             "# device offset size\n%s/uboot.env1 0x0 0x4000\n"
             "%s/uboot.env2 0x0 0x4000\n",
             f->dir, f->dir);
    put(f->env, text);
    /* The factory: U-Boot's default environment, saved twice so both copies are valid. */
    snprintf(defenv, sizeof(defenv), "%s/u-boot-initial-env", f->dir);
    put(defenv, "bootdelay=3\nbootcmd=run boot_${posfleet_slot}\n");
    ck_assert_int_eq(tool(argv, NULL, 0), 0);
    ck_assert_int_eq(tool(argv, NULL, 0), 0);
}

/* What U-Boot does at power-on (CONFIG_BOOTCOUNT_ENV, docs/update.md's script). */
static void uboot_bootloader(struct fx *f)
{
    char v[64], slot[16], good[16], script[256];

    uboot_get(f, "upgrade_available", v, sizeof(v));
    if (strcmp(v, "1") == 0) {
        long count, limit;

        uboot_get(f, "bootcount", v, sizeof(v));
        count = num(v) + 1;
        uboot_get(f, "bootlimit", v, sizeof(v));
        limit = num(v);
        if (limit > 0 && count > limit) { /* altbootcmd */
            uboot_get(f, "posfleet_good", good, sizeof(good));
            snprintf(script, sizeof(script),
                     "bootcount=%ld\nposfleet_slot=%s\nupgrade_available=0\n", count, good);
        } else {
            snprintf(script, sizeof(script), "bootcount=%ld\n", count);
        }
        uboot_set(f, script);
    }
    uboot_get(f, "posfleet_slot", slot, sizeof(slot));
    write_cmdline(f, slot[0] ? slot : pf_slot_names[f->initial]);
}

/* The copy the cut went to is damaged: on its own, fw_printenv refuses it. */
static void uboot_cut_check(struct fx *f, const char *path)
{
    char cfg[PATH_MAX + 32], text[PATH_MAX + 64];
    char *argv[] = {"fw_printenv", "-c", cfg, NULL};

    ck_assert_msg(strstr(path, "/uboot.env") != NULL, "uboot: cut write went to %s", path);
    snprintf(cfg, sizeof(cfg), "%s/one-copy.config", f->dir);
    snprintf(text, sizeof(text), "%s 0x0 0x4000\n", path);
    put(cfg, text);
    ck_assert_int_ne(tool(argv, NULL, 0), 0);
    ck_assert_int_eq(unlink(cfg), 0);
}

static void uboot_damage(struct fx *f)
{
    uboot_set(f, "posfleet_slot=b\n");
}

/* GRUB: grub-editenv on grubenv ------------------------------------------------------ */

static void grub_list_var(const char *list, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);

    out[0] = '\0';
    for (const char *p = list; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != '\0')) {
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            snprintf(out, cap, "%.*s", (int)strcspn(p + n + 1, "\n"), p + n + 1);
            return;
        }
    }
}

static void grub_get(struct fx *f, const char *name, char *out, size_t cap)
{
    char list[4096];
    char *argv[] = {"grub-editenv", f->env, "list", NULL};

    ck_assert_int_eq(tool(argv, list, sizeof(list)), 0);
    grub_list_var(list, name, out, cap);
}

static void grub_set(struct fx *f, const char *kv1, const char *kv2)
{
    char *argv[] = {"grub-editenv", f->env, "set", (char *)kv1, (char *)kv2, NULL};

    ck_assert_int_eq(tool(argv, NULL, 0), 0);
}

static void grub_setup(struct fx *f)
{
    char *argv[] = {"grub-editenv", NULL, "create", NULL};

    snprintf(f->env, sizeof(f->env), "%s/grubenv", f->dir);
    argv[1] = f->env;
    ck_assert_int_eq(tool(argv, NULL, 0), 0);
    grub_set(f, "saved_entry=posfleet", NULL);
}

/* What grub.cfg does at power-on (docs/update.md). GRUB's save_env writes in place. */
static void grub_bootloader(struct fx *f)
{
    char trial[16], tries[16], slot[16], good[16], kv[64];

    grub_get(f, "posfleet_trial", trial, sizeof(trial));
    grub_get(f, "posfleet_tries", tries, sizeof(tries));
    grub_get(f, "posfleet_good", good, sizeof(good));
    if (strcmp(trial, "1") == 0) {
        if (num(tries) <= 0) {
            snprintf(kv, sizeof(kv), "posfleet_slot=%s", good);
            grub_set(f, kv, "posfleet_trial=0");
        } else {
            snprintf(kv, sizeof(kv), "posfleet_tries=%ld", num(tries) - 1);
            grub_set(f, kv, NULL);
        }
    }
    grub_get(f, "posfleet_slot", slot, sizeof(slot));
    write_cmdline(f, slot[0] ? slot : pf_slot_names[f->initial]);
}

static void grub_damage(struct fx *f)
{
    grub_set(f, "posfleet_slot=b", NULL);
}

static const struct backend backends[] = {
        {"file", NULL, file_setup, NULL, file_damage, NULL, NULL, NULL, NULL},
        {"uboot", "fw_setenv", uboot_setup, uboot_bootloader, uboot_damage, "bootdelay", "2",
         uboot_get, uboot_cut_check},
        {"grub", "grub-editenv", grub_setup, grub_bootloader, grub_damage, "saved_entry",
         "posfleet", grub_get, NULL},
};
#define NBACKENDS ((int)(sizeof(backends) / sizeof(backends[0])))

static void fx_init(struct fx *f, int i, enum pf_slot initial)
{
    char tmp[PATH_MAX];

    memset(f, 0, sizeof(*f));
    f->bk = &backends[i];
    f->initial = initial;
    pf_test_tmpdir(tmp, sizeof(tmp));
    /* /proc/PID/fd links are canonical; so is the directory the cut test compares with. */
    ck_assert_ptr_nonnull(realpath(tmp, f->dir));
    snprintf(f->cmdline, sizeof(f->cmdline), "%s/cmdline", f->dir);
    write_cmdline(f, pf_slot_names[initial]);
    f->bk->setup(f);
}

static void fx_done(struct fx *f)
{
    pf_test_rmtree(f->dir);
}

/* A boot: the bootloader's decision, then the agent opens its backend. */
static struct pfa_boot *fx_boot(struct fx *f)
{
    struct pfa_boot *b = NULL;
    struct pf_error err = {0};
    int rc;

    if (f->bk->bootloader)
        f->bk->bootloader(f);
    rc = pfa_boot_new(f->bk->name, f->env, f->cmdline, f->initial, &b, &err);
    ck_assert_msg(rc == 0, "%s: open: %s", f->bk->name, err.msg);
    return b;
}

static void expect(struct fx *f, struct pfa_boot *b, enum pf_slot booted, enum pf_slot good,
                   enum pf_slot target, bool trial, int tries)
{
    struct pfa_boot_env env;
    struct pf_error err = {0};
    int rc = b->ops->load(b, &env, &err);

    ck_assert_msg(rc == 0, "%s: load: %s", f->bk->name, err.msg);
    ck_assert_msg(env.booted == booted && env.good == good && env.target == target &&
                          env.trial == trial && env.tries == tries,
                  "%s: booted %s good %s target %s trial %d tries %d; expected %s %s %s %d %d",
                  f->bk->name, pf_slot_names[env.booted], pf_slot_names[env.good],
                  pf_slot_names[env.target], env.trial, env.tries, pf_slot_names[booted],
                  pf_slot_names[good], pf_slot_names[target], trial, tries);
    if (f->bk->keep_name) {
        char v[64];
        f->bk->get(f, f->bk->keep_name, v, sizeof(v));
        ck_assert_msg(strcmp(v, f->bk->keep_value) == 0, "%s: %s is \"%s\", was \"%s\"",
                      f->bk->name, f->bk->keep_name, v, f->bk->keep_value);
    }
}

static void try_slot(struct fx *f, struct pfa_boot *b, enum pf_slot slot, int tries)
{
    struct pf_error err = {0};
    int rc = b->ops->try_slot(b, slot, tries, &err);

    ck_assert_msg(rc == 0, "%s: try: %s", f->bk->name, err.msg);
}

static void commit(struct fx *f, struct pfa_boot *b, enum pf_slot slot)
{
    struct pf_error err = {0};
    int rc = b->ops->commit(b, slot, &err);

    ck_assert_msg(rc == 0, "%s: commit: %s", f->bk->name, err.msg);
}

/* ---- the suite, once per backend (_i indexes backends[]) -------------------------------- */

START_TEST(fresh_terminal_runs_its_slot)
{
    for (int s = 0; s < 2; s++) {
        enum pf_slot initial = s == 0 ? PF_SLOT_A : PF_SLOT_B;
        struct fx f;
        struct pfa_boot *b;

        fx_init(&f, _i, initial);
        b = fx_boot(&f);
        expect(&f, b, initial, initial, initial, false, 0);
        pfa_boot_free(b);
        fx_done(&f);
    }
}
END_TEST

START_TEST(trial_boot_then_commit)
{
    struct fx f;
    struct pfa_boot *b;

    fx_init(&f, _i, PF_SLOT_A);
    b = fx_boot(&f);
    try_slot(&f, b, PF_SLOT_B, 3);
    expect(&f, b, PF_SLOT_A, PF_SLOT_A, PF_SLOT_B, true, 3);
    pfa_boot_free(b);
    b = fx_boot(&f); /* first trial boot of b */
    expect(&f, b, PF_SLOT_B, PF_SLOT_A, PF_SLOT_B, true, 2);
    commit(&f, b, PF_SLOT_B);
    expect(&f, b, PF_SLOT_B, PF_SLOT_B, PF_SLOT_B, false, 0);
    pfa_boot_free(b);
    b = fx_boot(&f);
    expect(&f, b, PF_SLOT_B, PF_SLOT_B, PF_SLOT_B, false, 0);
    /* The next update goes the other way and keeps b as the slot to fall back to. */
    try_slot(&f, b, PF_SLOT_A, 1);
    expect(&f, b, PF_SLOT_B, PF_SLOT_B, PF_SLOT_A, true, 1);
    pfa_boot_free(b);
    b = fx_boot(&f);
    expect(&f, b, PF_SLOT_A, PF_SLOT_B, PF_SLOT_A, true, 0);
    pfa_boot_free(b);
    b = fx_boot(&f); /* never committed: the bootloader goes back to b */
    expect(&f, b, PF_SLOT_B, PF_SLOT_B, PF_SLOT_B, false, 0);
    pfa_boot_free(b);
    fx_done(&f);
}
END_TEST

START_TEST(counter_runs_out_falls_back)
{
    struct fx f;
    struct pfa_boot *b;

    fx_init(&f, _i, PF_SLOT_A);
    b = fx_boot(&f);
    try_slot(&f, b, PF_SLOT_B, 2);
    pfa_boot_free(b);
    for (int boot = 0; boot < 3; boot++) {
        b = fx_boot(&f);
        /* two trial boots of b, then the bootloader gives up on it */
        if (boot < 2)
            expect(&f, b, PF_SLOT_B, PF_SLOT_A, PF_SLOT_B, true, 1 - boot);
        else
            expect(&f, b, PF_SLOT_A, PF_SLOT_A, PF_SLOT_A, false, 0);
        pfa_boot_free(b);
    }
    fx_done(&f);
}
END_TEST

START_TEST(fallback_after_failed_selftest)
{
    struct fx f;
    struct pfa_boot *b;
    struct pf_error err = {0};

    fx_init(&f, _i, PF_SLOT_A);
    b = fx_boot(&f);
    try_slot(&f, b, PF_SLOT_B, 3);
    pfa_boot_free(b);
    b = fx_boot(&f);
    expect(&f, b, PF_SLOT_B, PF_SLOT_A, PF_SLOT_B, true, 2);
    ck_assert_msg(b->ops->fallback(b, &err) == 0, "%s: fallback: %s", f.bk->name, err.msg);
    expect(&f, b, PF_SLOT_B, PF_SLOT_A, PF_SLOT_A, false, 0);
    pfa_boot_free(b);
    b = fx_boot(&f);
    expect(&f, b, PF_SLOT_A, PF_SLOT_A, PF_SLOT_A, false, 0);
    pfa_boot_free(b);
    fx_done(&f);
}
END_TEST

START_TEST(damaged_environment_refused)
{
    struct fx f;
    struct pfa_boot *b = NULL;
    struct pfa_boot_env env;
    struct pf_error err = {0};
    int rc;

    fx_init(&f, _i, PF_SLOT_A);
    f.bk->damage(&f);
    rc = pfa_boot_new(f.bk->name, f.env, f.cmdline, f.initial, &b, &err);
    if (rc == 0) {
        rc = b->ops->load(b, &env, &err);
        pfa_boot_free(b);
    }
    ck_assert_msg(rc == PF_EPARSE, "%s: [%s] %s", f.bk->name, pf_errname(rc), err.msg);
    fx_done(&f);
}
END_TEST

/* ---- a real SIGKILL in the middle of the environment write --------------------------- */

#define CUT_BYTES 16 /* at most; never more than half the write */

struct cut {
    const char *dir;    /* writes into files under dir/ are candidates */
    const char *writer; /* by a process with this name; NULL = any traced process */
    pid_t victim;
    long asked, written;
    int victim_status;
    char path[PATH_MAX];
};

static bool cut__wanted(struct cut *c, pid_t pid, long fd)
{
    char link[64], comm[32] = "";
    size_t n = strlen(c->dir);
    ssize_t len;
    FILE *fp;

    if (c->writer) {
        snprintf(link, sizeof(link), "/proc/%d/comm", (int)pid);
        fp = fopen(link, "r");
        if (!fp)
            return false;
        if (!fgets(comm, sizeof(comm), fp))
            comm[0] = '\0';
        fclose(fp);
        comm[strcspn(comm, "\n")] = '\0';
        if (strcmp(comm, c->writer) != 0)
            return false;
    }
    snprintf(link, sizeof(link), "/proc/%d/fd/%ld", (int)pid, fd);
    len = readlink(link, c->path, sizeof(c->path) - 1);
    if (len < 0)
        return false;
    c->path[len] = '\0';
    return strncmp(c->path, c->dir, n) == 0 && c->path[n] == '/';
}

/* Sets the count argument of the write the tracee is entering. */
static void cut__shorten(pid_t pid, unsigned long count)
{
#if defined(__x86_64__)
    struct user_regs_struct r;

    ck_assert_int_eq(ptrace(PTRACE_GETREGS, pid, NULL, &r), 0);
    r.rdx = count;
    ck_assert_int_eq(ptrace(PTRACE_SETREGS, pid, NULL, &r), 0);
#elif defined(__aarch64__)
    struct user_pt_regs r;
    struct iovec iov = {&r, sizeof(r)};

    ck_assert_int_eq(ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &iov), 0);
    r.regs[2] = count;
    ck_assert_int_eq(ptrace(PTRACE_SETREGSET, pid, (void *)NT_PRSTATUS, &iov), 0);
#else
#error "test_boot.c: cut__shorten() needs the third syscall argument's register here"
#endif
}

/*
 * Runs op(b) in a traced child (and whatever it starts); cuts the first matching
 * write as described at the top. Returns the child's wait status.
 */
static int cut_run(struct cut *c, int (*op)(struct pfa_boot *), struct pfa_boot *b)
{
    int st, child_status = -1;
    pid_t child = fork(), pid;

    ck_assert_int_ge(child, 0);
    if (child == 0) {
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
            _exit(100);
        raise(SIGSTOP);
        _exit(op(b) == 0 ? 0 : 1); /* _exit: no exit handlers under the tracer */
    }
    ck_assert_int_eq(waitpid(child, &st, 0), child);
    ck_assert_msg(WIFSTOPPED(st), "the child could not be traced (status %d)", st);
    ck_assert_int_eq(
            ptrace(PTRACE_SETOPTIONS, child, NULL,
                   (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                                  PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL)),
            0);
    ck_assert_int_eq(ptrace(PTRACE_SYSCALL, child, NULL, NULL), 0);
    c->victim = 0;
    c->written = -1;
    while ((pid = waitpid(-1, &st, __WALL)) != -1 || errno == EINTR) {
        int sig, inject = 0;

        if (pid < 0)
            continue;
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            if (pid == child)
                child_status = st;
            if (pid == c->victim)
                c->victim_status = st;
            continue;
        }
        sig = WSTOPSIG(st);
        if (sig == (SIGTRAP | 0x80)) {
            struct __ptrace_syscall_info info;

            ck_assert_int_gt(ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(info), &info), 0);
            if (info.op == PTRACE_SYSCALL_INFO_ENTRY && !c->victim &&
                (info.entry.nr == SYS_write || info.entry.nr == SYS_pwrite64) &&
                info.entry.args[2] > 1 && cut__wanted(c, pid, (long)info.entry.args[0])) {
                c->victim = pid;
                c->asked = (long)info.entry.args[2];
                cut__shorten(pid, info.entry.args[2] / 2 < CUT_BYTES ? info.entry.args[2] / 2
                                                                     : CUT_BYTES);
            } else if (info.op == PTRACE_SYSCALL_INFO_EXIT && pid == c->victim && c->written < 0) {
                c->written = (long)info.exit.rval;
                kill(pid, SIGKILL); /* before the write returns to the writer */
                continue;
            }
        } else if ((st >> 16) == 0 && sig != SIGSTOP) {
            inject = sig; /* a real signal (SIGCHLD...): deliver it */
        }
        /* Event stops (fork, exec) and new tracees' SIGSTOP: just go on. */
        ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)inject);
    }
    return child_status;
}

static int op_try_a(struct pfa_boot *b)
{
    return b->ops->try_slot(b, PF_SLOT_A, 3, NULL);
}

/* A cheap fingerprint of every file in dir (names and contents). */
static uint64_t dir_print(const char *dir)
{
    uint64_t h = 1469598103934665603ULL;
    struct dirent *de;
    DIR *d = opendir(dir);

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)) != NULL) {
        char path[PATH_MAX + 300], *buf = NULL;
        size_t len = 0;

        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (pf_file_read(path, 1 << 20, &buf, &len) != 0)
            continue;
        for (const char *p = de->d_name; *p; p++)
            h = (h ^ (uint8_t)*p) * 1099511628211ULL;
        for (size_t i = 0; i < len; i++)
            h = (h ^ (uint8_t)buf[i]) * 1099511628211ULL;
        free(buf);
    }
    closedir(d);
    return h;
}

START_TEST(writer_killed_mid_write_keeps_previous)
{
    struct fx f;
    struct pfa_boot *b;
    struct cut c = {0};
    uint64_t before;
    int st;

    fx_init(&f, _i, PF_SLOT_A);
    b = fx_boot(&f);
    try_slot(&f, b, PF_SLOT_B, 3);
    pfa_boot_free(b);
    b = fx_boot(&f);
    commit(&f, b, PF_SLOT_B); /* the previous environment: b committed */
    pfa_boot_free(b);
    b = fx_boot(&f);
    expect(&f, b, PF_SLOT_B, PF_SLOT_B, PF_SLOT_B, false, 0);

    before = dir_print(f.dir);
    c.dir = f.dir;
    c.writer = f.bk->writer;
    st = cut_run(&c, op_try_a, b);
    pfa_boot_free(b);
    ck_assert_msg(c.victim != 0, "%s: no write into %s by %s", f.bk->name, f.dir,
                  c.writer ? c.writer : "the agent");
    ck_assert_msg(c.written > 0 && c.written < c.asked, "%s: %ld of %ld bytes written", f.bk->name,
                  c.written, c.asked);
    ck_assert_msg(WIFSIGNALED(c.victim_status) && WTERMSIG(c.victim_status) == SIGKILL,
                  "%s: the writer was not killed (status %d)", f.bk->name, c.victim_status);
    /* The change failed: the agent process died with its writer, or its tool failed. */
    ck_assert_msg(!WIFEXITED(st) || WEXITSTATUS(st) == 1, "%s: child status %d", f.bk->name, st);
    ck_assert_msg(dir_print(f.dir) != before, "%s: the cut write left nothing on disk (%s)",
                  f.bk->name, c.path);
    if (f.bk->cut_check)
        f.bk->cut_check(&f, c.path);

    /* The previous environment reads back whole; the next change goes through. */
    b = fx_boot(&f);
    expect(&f, b, PF_SLOT_B, PF_SLOT_B, PF_SLOT_B, false, 0);
    try_slot(&f, b, PF_SLOT_A, 3);
    expect(&f, b, PF_SLOT_B, PF_SLOT_B, PF_SLOT_A, true, 3);
    pfa_boot_free(b);
    b = fx_boot(&f);
    expect(&f, b, PF_SLOT_A, PF_SLOT_B, PF_SLOT_A, true, 2);
    pfa_boot_free(b);
    fx_done(&f);
}
END_TEST

/* ---- the selector ------------------------------------------------------------------------ */

START_TEST(selector_refuses_unknown_and_incomplete)
{
    struct pfa_boot *b = NULL;
    struct pf_error err = {0};

    ck_assert_int_eq(pfa_boot_new("nope", "/x", NULL, PF_SLOT_A, &b, &err), PF_EINVAL);
    ck_assert_ptr_null(b);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown backend"));
    ck_assert_int_eq(pfa_boot_new("file", NULL, NULL, PF_SLOT_A, &b, &err), PF_EINVAL);
    ck_assert_int_eq(pfa_boot_new("grub", NULL, NULL, PF_SLOT_A, &b, &err), PF_EINVAL);
    ck_assert_ptr_null(b);
    pfa_boot_free(NULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("boot");
    TCase *tc = tcase_create("backends");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, fresh_terminal_runs_its_slot, 0, NBACKENDS);
    tcase_add_loop_test(tc, trial_boot_then_commit, 0, NBACKENDS);
    tcase_add_loop_test(tc, counter_runs_out_falls_back, 0, NBACKENDS);
    tcase_add_loop_test(tc, fallback_after_failed_selftest, 0, NBACKENDS);
    tcase_add_loop_test(tc, damaged_environment_refused, 0, NBACKENDS);
    tcase_add_loop_test(tc, writer_killed_mid_write_keeps_previous, 0, NBACKENDS);
    tcase_add_test(tc, selector_refuses_unknown_and_incomplete);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
