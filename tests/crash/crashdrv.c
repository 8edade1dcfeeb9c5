/*
 * crashdrv.c - the update story's driver for the crash checker (pf_crashdrv,
 * tests/crash/story_update.sh). It is unit_update_engine's "run" driver - that
 * source is included below as it is, so every crash state is judged by the
 * very invariants the engine's suite and the power-cut test trust - with two
 * things around it:
 *
 *   - the story's boot-control backend, named by DIR/bootloader ("uboot" or
 *     "grub"; absent: the driver's own file backend, which plays the
 *     bootloader itself). For uboot and grub the bootloader is played before
 *     each boot with the real tools, as docs/update.md's U-Boot script and
 *     grub.cfg do (tests/unit/test_boot.c plays it the same way), and the
 *     engine is built on that backend. What the bootloader may boot next is
 *     handed to the driver's invariant check as DIR/bootenv, in the file
 *     backend's form, read from the real environment before the bootloader
 *     changes it: the check verifies the committed slot, and the trial slot
 *     while it has tries left.
 *   - one process per lane: "serve" reads a state's directory per line on
 *     stdin, boots it through the rest of the story and answers one line on
 *     stdout, "ok" or what was violated. Each boot is a fork of the serving
 *     process: a fresh process image for the engine, without paying exec and
 *     the sanitizers' start-up thousands of times.
 *
 *   pf_crashdrv setup DIR uboot|grub   creates the backend's environment as the
 *                                      factory leaves it (before recording)
 *   pf_crashdrv bootloader DIR         the bootloader's step alone (recorded apart:
 *                                      the bootloader's writes are on the medium
 *                                      before Linux starts)
 *   pf_crashdrv run DIR                the driver alone: exit 0 story done, 3 rebooted
 *   pf_crashdrv check DIR              boots DIR until the story ends and checks it
 *   pf_crashdrv serve                  "check" for each directory read on stdin
 *
 * The end of the story is checked as check_update.sh did: every offer has
 * exactly one final outcome at the server (server.log), and the driver
 * itself checks that each ended as expected.
 */
#include <limits.h>
#include <sys/wait.h>

#include "pf/num.h"

/* The suite's own main, unused here; and every boot's engine goes through crashdrv_update_new. */
int pf_update_engine_main(int argc, char **argv);
#define main           pf_update_engine_main
#define pfa_update_new crashdrv_update_new
#include "../unit/test_update_engine.c"
#undef pfa_update_new
#undef main

/* The engine's constructor itself (pfa/update.h, whose name is taken above). */
int pfa_update_new(const struct pfa_update_config *cfg, struct pfa_hal *hal,
                   const struct pf_clock *clock, const struct pfa_update_io *io,
                   struct pfa_log *log, struct pfa_update **out, struct pf_error *err);

enum crashdrv_boot { CD_FILE, CD_UBOOT, CD_GRUB };

static enum crashdrv_boot crashdrv_kind(const char *dir)
{
    char path[512], *buf = NULL;
    size_t len;
    enum crashdrv_boot k = CD_FILE;

    snprintf(path, sizeof(path), "%s/bootloader", dir);
    if (pf_file_read(path, 64, &buf, &len) == 0) {
        if (strncmp(buf, "uboot", 5) == 0)
            k = CD_UBOOT;
        else if (strncmp(buf, "grub", 4) == 0)
            k = CD_GRUB;
        free(buf);
    }
    return k;
}

/* Every boot of the driver goes through here: the story's backend replaces "file". */
static const char *crashdrv_dir;

int crashdrv_update_new(const struct pfa_update_config *cfg, struct pfa_hal *hal,
                        const struct pf_clock *clock, const struct pfa_update_io *io,
                        struct pfa_log *log, struct pfa_update **out, struct pf_error *err)
{
    static char env[512], cmdline[512];
    struct pfa_update_config c = *cfg;

    switch (crashdrv_dir ? crashdrv_kind(crashdrv_dir) : CD_FILE) {
    case CD_UBOOT:
        snprintf(env, sizeof(env), "%s/fw_env.config", crashdrv_dir);
        c.boot_backend = "uboot";
        break;
    case CD_GRUB:
        snprintf(env, sizeof(env), "%s/grubenv", crashdrv_dir);
        c.boot_backend = "grub";
        break;
    default:
        return pfa_update_new(cfg, hal, clock, io, log, out, err);
    }
    snprintf(cmdline, sizeof(cmdline), "%s/cmdline", crashdrv_dir);
    c.boot_env = env;
    c.boot_cmdline = cmdline;
    return pfa_update_new(&c, hal, clock, io, log, out, err);
}

/* ---- the bootloader, played with the real tools ----------------------------------- */

/* Runs a tool in DIR (fw_env.config names its copies relative to it); its stdout to out. */
static int crashdrv_tool(const char *dir, char *const argv[], char *out, size_t cap)
{
    int pfd[2], st;
    size_t got = 0;
    pid_t pid;

    if (pipe(pfd) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(pfd[1], STDOUT_FILENO);
        close(pfd[0]);
        close(pfd[1]);
        if (chdir(dir) != 0)
            _exit(126);
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
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* "name=value" lines: the value of name, "" if absent. */
static void crashdrv_var(const char *list, const char *name, char *out, size_t cap)
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

static long crashdrv_num(const char *v)
{
    int64_t n;

    return pf_parse_i64(v, 0, 1000, &n) == 0 ? (long)n : 0;
}

static int crashdrv_put(const char *dir, const char *name, const char *text)
{
    char path[512];
    int fd;
    size_t len = strlen(text);

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (write(fd, text, len) != (ssize_t)len) {
        close(fd);
        return -1;
    }
    return close(fd);
}

/* The whole environment as name=value lines (fw_printenv, grub-editenv list). */
static int crashdrv_env_list(const char *dir, enum crashdrv_boot k, char *out, size_t cap)
{
    char *uboot[] = {"fw_printenv", "-c", "fw_env.config", NULL};
    char *grub[] = {"grub-editenv", "grubenv", "list", NULL};

    return crashdrv_tool(dir, k == CD_UBOOT ? uboot : grub, out, cap);
}

/*
 * Power-on: the bootloader reads its environment, writes what the U-Boot
 * script or grub.cfg writes (counting a trial boot, or giving up on the trial
 * slot) and boots a slot, which the kernel command line names. Before that,
 * what it may boot is handed to the driver's check as DIR/bootenv. 0, or 1
 * with why if the environment cannot be read (a bootloader with no
 * environment boots nothing the agent installed: a violation).
 */
static int crashdrv_bootloader(const char *dir, char *why, size_t wlen)
{
    enum crashdrv_boot k = crashdrv_kind(dir);
    char list[4096], slot[16], good[16], v[16], text[256], script[256];
    long count = 0, limit = 0, tries = 0;
    bool trial;

    if (k == CD_FILE)
        return 0; /* pfa_boot_new() plays it */
    if (crashdrv_env_list(dir, k, list, sizeof(list)) != 0) {
        snprintf(why, wlen, "INVARIANT VIOLATED: the bootloader cannot read its environment");
        return 1;
    }
    crashdrv_var(list, "posfleet_slot", slot, sizeof(slot));
    crashdrv_var(list, "posfleet_good", good, sizeof(good));
    if (!slot[0])
        snprintf(slot, sizeof(slot), "a"); /* the factory image */
    if (!good[0])
        snprintf(good, sizeof(good), "%s", slot);
    if (k == CD_UBOOT) {
        crashdrv_var(list, "upgrade_available", v, sizeof(v));
        trial = strcmp(v, "1") == 0;
        crashdrv_var(list, "bootcount", v, sizeof(v));
        count = crashdrv_num(v);
        crashdrv_var(list, "bootlimit", v, sizeof(v));
        limit = crashdrv_num(v);
        tries = trial && limit > count ? limit - count : 0;
    } else {
        crashdrv_var(list, "posfleet_trial", v, sizeof(v));
        trial = strcmp(v, "1") == 0;
        crashdrv_var(list, "posfleet_tries", v, sizeof(v));
        tries = trial ? crashdrv_num(v) : 0;
    }
    snprintf(text, sizeof(text), "slot=%c\ngood=%c\ntrial=%d\ntries=%ld\n", slot[0], good[0],
             trial ? 1 : 0, tries);
    if (crashdrv_put(dir, "bootenv", text) != 0)
        return -1;
    if (trial && k == CD_UBOOT) {
        /* CONFIG_BOOTCOUNT_ENV, then altbootcmd once the count passes the limit. */
        char path[] = "/tmp/pf-crashdrv-fwenv.XXXXXX";
        char *argv[] = {"fw_setenv", "-c", "fw_env.config", "-s", path, NULL};
        int fd = mkstemp(path), rc;

        count++;
        if (limit > 0 && count > limit) {
            snprintf(script, sizeof(script),
                     "bootcount=%ld\nposfleet_slot=%s\nupgrade_available=0\n", count, good);
            snprintf(slot, sizeof(slot), "%s", good);
        } else {
            snprintf(script, sizeof(script), "bootcount=%ld\n", count);
        }
        if (fd < 0 || write(fd, script, strlen(script)) != (ssize_t)strlen(script)) {
            if (fd >= 0)
                close(fd);
            unlink(path);
            return -1;
        }
        close(fd);
        rc = crashdrv_tool(dir, argv, NULL, 0);
        unlink(path);
        if (rc)
            return -1;
    } else if (trial) {
        /*
         * grub.cfg: save_env. GRUB writes the block's sectors in place, the file
         * keeping its size (grub-editenv would truncate it first, which GRUB
         * never does): the new block is made by grub-editenv on a scratch copy
         * outside the terminal's directory, then written over grubenv in place.
         */
        char kv1[64], kv2[64], tmp[] = "/tmp/pf-crashdrv-grubenv.XXXXXX", path[512];
        char *argv[] = {"grub-editenv", tmp, "set", kv1, kv2, NULL};
        char *block = NULL;
        size_t blen = 0;
        int fd = mkstemp(tmp), rc = -1;

        if (fd < 0)
            return -1;
        close(fd);
        snprintf(path, sizeof(path), "%s/grubenv", dir);
        if (tries <= 0) {
            snprintf(kv1, sizeof(kv1), "posfleet_slot=%s", good);
            snprintf(kv2, sizeof(kv2), "posfleet_trial=0");
            snprintf(slot, sizeof(slot), "%s", good);
        } else {
            snprintf(kv1, sizeof(kv1), "posfleet_tries=%ld", tries - 1);
            argv[4] = NULL;
        }
        if (pf_file_read(path, 65536, &block, &blen) == 0 &&
            (fd = open(tmp, O_WRONLY | O_TRUNC | O_CLOEXEC)) >= 0) {
            rc = write(fd, block, blen) == (ssize_t)blen ? 0 : -1;
            close(fd);
        }
        free(block);
        block = NULL;
        if (rc == 0 && (rc = crashdrv_tool(dir, argv, NULL, 0)) == 0 &&
            (rc = pf_file_read(tmp, 65536, &block, &blen)) == 0) {
            fd = open(path, O_WRONLY | O_CLOEXEC);
            rc = fd >= 0 && pwrite(fd, block, blen, 0) == (ssize_t)blen && fsync(fd) == 0 ? 0 : -1;
            if (fd >= 0)
                close(fd);
        }
        free(block);
        unlink(tmp);
        if (rc)
            return -1;
    }
    snprintf(text, sizeof(text), "console=ttyS0 posfleet.slot=%c\n", slot[0]);
    return crashdrv_put(dir, "cmdline", text);
}

/* The factory's environment: U-Boot's default saved into both copies, or an empty grubenv. */
static int crashdrv_setup(const char *dir, const char *kind)
{
    if (strcmp(kind, "uboot") == 0) {
        char zero[0x4000] = {0};
        char *argv[] = {"fw_setenv", "-c", "fw_env.config", "-f", "u-boot-initial-env", "bootdelay",
                        "2",         NULL};
        char path[512];

        for (int i = 1; i <= 2; i++) {
            int fd;
            snprintf(path, sizeof(path), "%s/uboot.env%d", dir, i);
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (fd < 0 || write(fd, zero, sizeof(zero)) != (ssize_t)sizeof(zero))
                return 1;
            close(fd);
        }
        if (crashdrv_put(dir, "fw_env.config",
                         "# device offset size\nuboot.env1 0x0 0x4000\nuboot.env2 0x0 0x4000\n") ||
            crashdrv_put(dir, "u-boot-initial-env",
                         "bootdelay=3\nbootcmd=run boot_${posfleet_slot}\n"))
            return 1;
        /* Saved twice, so both copies are valid. */
        if (crashdrv_tool(dir, argv, NULL, 0) || crashdrv_tool(dir, argv, NULL, 0))
            return 1;
        snprintf(path, sizeof(path), "%s/u-boot-initial-env", dir);
        unlink(path);
    } else if (strcmp(kind, "grub") == 0) {
        char *create[] = {"grub-editenv", "grubenv", "create", NULL};
        char *set[] = {"grub-editenv", "grubenv", "set", "saved_entry=posfleet", NULL};

        if (crashdrv_tool(dir, create, NULL, 0) || crashdrv_tool(dir, set, NULL, 0))
            return 1;
    } else {
        return 2;
    }
    return crashdrv_put(dir, "bootloader", kind) ? 1 : 0;
}

/* ---- checking a state -------------------------------------------------------------- */

/* One boot in a child: the engine starts from a fresh process image. */
static int crashdrv_run(const char *dir)
{
    pid_t pid = fork();
    int st;

    if (pid == 0) {
        crashdrv_dir = dir;
        if (chdir(dir) != 0) /* fw_env.config names its copies relative to DIR */
            _exit(1);
        _exit(drv_main_run(dir));
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return 1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Every offer has exactly one final outcome at the server. */
static int crashdrv_outcomes(const char *dir, char *why, size_t wlen)
{
    char path[512], line[300];
    char names[DRV_MAX_OFFERS][80];
    int finals[DRV_MAX_OFFERS], noffers = 0, nnames = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/offers", dir);
    if ((f = fopen(path, "r"))) {
        while (fgets(line, sizeof(line), f))
            noffers += line[0] != '\n';
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/server.log", dir);
    if ((f = fopen(path, "r"))) {
        while (fgets(line, sizeof(line), f)) {
            char id[80], offer[80], status[32];
            int i;
            if (sscanf(line, "%79s %79s %31s", id, offer, status) != 3 ||
                (strcmp(status, "success") && strcmp(status, "failed") &&
                 strcmp(status, "rolled_back") && strcmp(status, "refused")))
                continue;
            for (i = 0; i < nnames && strcmp(names[i], offer); i++)
                ;
            if (i == nnames) {
                if (nnames == DRV_MAX_OFFERS)
                    continue;
                snprintf(names[nnames], sizeof(names[0]), "%s", offer);
                finals[nnames++] = 0;
            }
            finals[i]++;
        }
        fclose(f);
    }
    for (int i = 0; i < nnames; i++) {
        if (finals[i] != 1) {
            snprintf(why, wlen, "%s: %d final outcomes", names[i], finals[i]);
            return 1;
        }
    }
    if (nnames != noffers) {
        snprintf(why, wlen, "%d of %d offers have a final outcome", nnames, noffers);
        return 1;
    }
    return 0;
}

/* Boots DIR until the story ends (at most 60 boots). 0, or 1 with why. */
static int crashdrv_check(const char *dir, char *why, size_t wlen)
{
    why[0] = '\0';
    for (int boot = 1; boot <= 60; boot++) {
        int rc = crashdrv_bootloader(dir, why, wlen);
        if (rc < 0) {
            snprintf(why, wlen, "boot %d: the bootloader's step failed", boot);
            return 1;
        }
        if (rc)
            return 1;
        rc = crashdrv_run(dir);
        if (rc == 0)
            return crashdrv_outcomes(dir, why, wlen);
        if (rc != 3) {
            snprintf(why, wlen, "boot %d: driver exited %d%s", boot, rc,
                     rc == 4 ? " (invariant violated: see the lane's log)" : "");
            return 1;
        }
    }
    snprintf(why, wlen, "no end after 60 boots");
    return 1;
}

/* Answers on the protocol's fd only: whatever else is printed goes to stderr. */
static int crashdrv_serve(void)
{
    char dir[PATH_MAX], why[512];
    int proto = dup(STDOUT_FILENO);
    FILE *out;

    if (proto < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0 || !(out = fdopen(proto, "w")))
        return 1;
    while (fgets(dir, sizeof(dir), stdin)) {
        dir[strcspn(dir, "\n")] = '\0';
        fprintf(stderr, "== %s\n", dir);
        if (crashdrv_check(dir, why, sizeof(why)) == 0)
            fprintf(out, "ok\n");
        else
            fprintf(out, "%s\n", why[0] ? why : "violation");
        fflush(out);
    }
    fclose(out);
    return 0;
}

int main(int argc, char **argv)
{
    char why[512];

    setenv("DRV_FAST", "1", 0); /* idle waits move the engine's clock */
    if (sodium_init() < 0)
        return 1;
    if (argc == 4 && strcmp(argv[1], "setup") == 0)
        return crashdrv_setup(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "bootloader") == 0) {
        int rc = crashdrv_bootloader(argv[2], why, sizeof(why));
        if (rc > 0)
            fprintf(stderr, "%s\n", why);
        return rc ? 1 : 0;
    }
    if (argc == 3 && strcmp(argv[1], "run") == 0) {
        crashdrv_dir = argv[2];
        if (chdir(argv[2]) != 0)
            return 1;
        return drv_main_run(argv[2]);
    }
    if (argc == 3 && strcmp(argv[1], "check") == 0) {
        if (crashdrv_check(argv[2], why, sizeof(why)) == 0)
            return 0;
        fprintf(stderr, "%s\n", why);
        return 1;
    }
    if (argc == 2 && strcmp(argv[1], "serve") == 0)
        return crashdrv_serve();
    fprintf(stderr, "usage: pf_crashdrv setup DIR uboot|grub | bootloader DIR | run DIR | "
                    "check DIR | serve\n");
    return 2;
}
