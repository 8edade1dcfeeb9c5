/*
 * boot_common.c - helpers shared by the boot-control backends (see
 * boot_common.h): the booted slot from the kernel command line, running the
 * bootloader's environment tools without a shell, reading the slot variables.
 */
#include "boot_common.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pf/fileio.h"

extern char **environ;

int pfa__boot_cmdline_slot(const char *path, enum pf_slot *slot, struct pf_error *err)
{
    char *buf = NULL, *p;
    size_t len;
    int rc = pf_file_read(path ? path : "/proc/cmdline", 8192, &buf, &len);

    if (rc)
        return pf_error_set(err, rc, "boot: %s: %s", path ? path : "/proc/cmdline",
                            pf_strerror(rc));
    for (p = buf; (p = strstr(p, "posfleet.slot=")) != NULL; p++) {
        if (p != buf && p[-1] != ' ')
            continue;
        p += strlen("posfleet.slot=");
        if ((p[0] == 'a' || p[0] == 'b') && (p[1] == '\0' || p[1] == ' ' || p[1] == '\n')) {
            *slot = p[0] == 'a' ? PF_SLOT_A : PF_SLOT_B;
            free(buf);
            return 0;
        }
        break;
    }
    free(buf);
    return pf_error_set(err, PF_ENOENT, "boot: no posfleet.slot=a|b on the kernel command line");
}

int pfa__boot_run(char *const argv[], char *out, size_t cap, struct pf_error *err)
{
    posix_spawn_file_actions_t fa;
    int pipefd[2], status = 0, rc = 0;
    size_t got = 0;
    pid_t pid;

    if (out && cap)
        out[0] = '\0';
    if (pipe(pipefd) != 0)
        return pf_error_set(err, PF_EIO, "boot: pipe: %s", strerror(errno));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, pipefd[0]);
    if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
        rc = pf_error_set(err, PF_EIO, "boot: cannot run %s", argv[0]);
        close(pipefd[0]);
        close(pipefd[1]);
        goto out_actions;
    }
    close(pipefd[1]);
    for (;;) {
        char sink[256];
        ssize_t n = out && got + 1 < cap ? read(pipefd[0], out + got, cap - 1 - got)
                                         : read(pipefd[0], sink, sizeof(sink));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (out && got + 1 < cap)
            got += (size_t)n;
    }
    close(pipefd[0]);
    if (out && cap)
        out[got] = '\0';
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        rc = pf_error_set(err, PF_EIO, "boot: %s failed (status %d)", argv[0], status);
out_actions:
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

int pfa__boot_slot_parse(const char *v, enum pf_slot *slot)
{
    if (strcmp(v, "a") != 0 && strcmp(v, "b") != 0)
        return PF_EPARSE;
    *slot = v[0] == 'a' ? PF_SLOT_A : PF_SLOT_B;
    return 0;
}

int pfa__boot_slots(const char *target, const char *good, struct pfa_boot_env *env,
                    const char *backend, struct pf_error *err)
{
    if (!target[0] && !good[0] && !env->trial) {
        env->target = env->good = env->booted;
        return 0;
    }
    if (pfa__boot_slot_parse(target, &env->target) != 0 ||
        pfa__boot_slot_parse(good, &env->good) != 0)
        return pf_error_set(err, PF_EPARSE,
                            "boot: %s: posfleet_slot \"%.8s\" / posfleet_good \"%.8s\": "
                            "not a boot environment",
                            backend, target, good);
    return 0;
}
