/*
 * main.c - posfleet-agent: parse options, build the agent, drive it with poll().
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pfa/agent.h"
#include "pfa/config.h"
#include "pfa/hal.h"
#include "pfa/notify.h"

#define MAIN_DEFAULT_CONFIG  "/etc/posfleet/agent.conf"
#define MAIN_ONCE_TIMEOUT_MS 60000
#define MAIN_TRIM_MIN_MS     1000 /* at most one idle heap trim a second */

static volatile sig_atomic_t main__signalled;

static void main__on_signal(int sig)
{
    main__signalled = sig;
}

/*
 * A terminal's agent is long-lived and small: skip OpenSSL's system
 * configuration file and its error-string tables (about 70 KiB of heap that
 * stays resident). The agent sets its own TLS floor (TLS 1.2, security level 2)
 * on the connection, so openssl.cnf is not needed. Must run before
 * libmosquitto initialises OpenSSL.
 */
static void main__openssl_lean(void)
{
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL);
    OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_SSL_STRINGS, NULL);
}

/*
 * Gives back the stack pages below the caller's frame: the TLS handshake runs OpenSSL
 * calls many frames deeper than the idle loop, and those pages would stay resident
 * (about 16 KiB) for the life of the agent. Below the stack pointer nothing is live
 * (the ABI's red zone is 128 bytes; two pages are kept); the pages fault back in,
 * zeroed, when the stack grows again.
 */
static void main__trim_stack(void)
{
    pthread_attr_t attr;
    void *lo;
    size_t size;
    volatile char here = 0;
    long pagesz = sysconf(_SC_PAGESIZE);
    uintptr_t page = pagesz > 0 ? (uintptr_t)pagesz : 4096, start, end;

    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    if (pthread_attr_getstack(&attr, &lo, &size) == 0) {
        start = ((uintptr_t)lo + page - 1) & ~(page - 1);
        end = ((uintptr_t)&here & ~(page - 1)) - 2 * page;
        /* The main thread's stack is mapped on demand: a range reaching below its
         * lowest mapped page fails with ENOMEM for that part only. */
        if (end > start)
            (void)madvise((void *)start, end - start, MADV_DONTNEED);
    }
    pthread_attr_destroy(&attr);
    (void)here;
}

/*
 * glibc keeps up to seven freed blocks of each small size in a per-thread cache
 * (tcache) that malloc_trim() cannot touch; after the TLS handshake those blocks pin
 * about 28 KiB of otherwise free heap for the life of the agent. The cache only
 * speeds up allocation-heavy programs, which an idle terminal agent is not. Its size
 * is a tunable read at process start only, so when the environment does not set it
 * the agent sets it and starts itself again, once (same pid, same arguments). If
 * that is impossible the agent simply carries on with the cache.
 *
 * Why a re-exec and why here: glibc (2.36) has no mallopt() parameter for the
 * tcache - GLIBC_TUNABLES, read before main(), is the only knob - and setting the
 * environment and replacing the process image are process-wide acts that belong to
 * the program, not to the agent core, which posfleet-sim and the tests also link.
 * A unit file that sets GLIBC_TUNABLES itself makes the re-exec a no-op.
 */
#define MAIN_TCACHE_TUNABLE "glibc.malloc.tcache_count="

static void main__no_tcache(char **argv)
{
    const char *cur = getenv("GLIBC_TUNABLES");
    char *val;
    size_t len;

    if (cur && strstr(cur, MAIN_TCACHE_TUNABLE))
        return;
    len = (cur ? strlen(cur) + 1 : 0) + sizeof(MAIN_TCACHE_TUNABLE "0");
    val = malloc(len);
    if (!val)
        return;
    snprintf(val, len, "%s%s" MAIN_TCACHE_TUNABLE "0", cur ? cur : "", cur ? ":" : "");
    if (setenv("GLIBC_TUNABLES", val, 1) == 0) {
        execv("/proc/self/exe", argv);
        /* Still here: restore what the environment said. */
        if (cur)
            (void)setenv("GLIBC_TUNABLES", cur, 1);
        else
            (void)unsetenv("GLIBC_TUNABLES");
    }
    free(val);
}

static void main__usage(FILE *f)
{
    fprintf(f,
            "usage: posfleet-agent [-c FILE] [--once] [--check-config]\n"
            "\n"
            "  -c, --config FILE   configuration file (default " MAIN_DEFAULT_CONFIG ")\n"
            "      --once          send one health report, wait for its PUBACK, exit\n"
            "                      (exit 1 if not delivered within 60 s; it stays queued)\n"
            "      --check-config  parse the configuration, print nothing, exit 0 or 2\n"
            "  -h, --help          this help\n"
            "  -V, --version       print the release version\n"
            "\n"
            "Exit status: 0 ok, 1 runtime failure, 2 bad usage or configuration.\n"
            "SIGTERM or SIGINT: disconnect gracefully (the server sees the terminal offline).\n");
}

static int main__run(struct pfa_agent *a, bool once)
{
    sigset_t block, orig;
    struct sigaction sa;
    struct pfa_agent_stats st;
    int64_t once_deadline = pf_clock_mono_ms(&pf_clock_system) + MAIN_ONCE_TIMEOUT_MS;
    bool stopping = false, io_since_trim = false;
    uint32_t trimmed_at = 0;
    int64_t last_trim = 0;
    /* Watchdog pings at half the interval systemd asked for (WatchdogSec), from this
     * loop: a loop that stops turning stops them, and systemd restarts the agent. */
    int64_t wd_ms = (pfa_notify_watchdog_ms() + 1) / 2, next_wd = 0;
    int status = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = main__on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Signals are delivered only inside ppoll(), so none is lost between checks. */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &orig);

    /* The first report goes out right after the first CONNACK (--once waits for it). */
    pfa_agent_start(a, 0);
    while (!pfa_agent_stopped(a)) {
        struct pollfd pfd = {pfa_agent_fd(a), POLLIN, 0};
        int64_t now = pf_clock_mono_ms(&pf_clock_system);
        int64_t deadline = pfa_agent_next_deadline_ms(a);
        struct timespec ts;
        int64_t wait;
        int n;

        if (wd_ms > 0 && now >= next_wd) {
            pfa_notify_watchdog();
            next_wd = now + wd_ms;
        }
        if (!stopping && main__signalled) {
            stopping = true;
            pfa_notify_stopping();
            pfa_agent_stop(a);
            continue;
        }
        if (once && !stopping) {
            pfa_agent_stats(a, &st);
            if (st.reports_acked > 0 || now >= once_deadline) {
                stopping = true;
                pfa_agent_stop(a);
                continue;
            }
            if (deadline > once_deadline)
                deadline = once_deadline;
        }
        if (wd_ms > 0 && (deadline == PFA_DEADLINE_NONE || deadline > next_wd))
            deadline = next_wd;
        if (pfd.fd >= 0 && pfa_agent_want_write(a))
            pfd.events |= POLLOUT;
        wait = deadline == PFA_DEADLINE_NONE ? 1000 : deadline - now;
        if (wait < 0)
            wait = 0;
        ts.tv_sec = wait / 1000;
        ts.tv_nsec = (wait % 1000) * 1000000;
        n = ppoll(&pfd, pfd.fd >= 0 ? 1 : 0, &ts, &orig);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "posfleet-agent: poll: %s\n", strerror(errno));
            status = 1;
            break;
        }
        if (n > 0 && (pfd.revents & (POLLHUP | POLLERR)))
            pfa_agent_on_error(a);
        else if (n > 0 && (pfd.revents & POLLIN))
            pfa_agent_on_readable(a);
        if (n > 0 && (pfd.revents & POLLOUT) && pfa_agent_fd(a) == pfd.fd)
            pfa_agent_on_writable(a);
        pfa_agent_tick(a);
        pfa_agent_stats(a, &st);
        if (once)
            status = st.reports_acked > 0 ? 0 : 1;
        io_since_trim |= n > 0;
        now = pf_clock_mono_ms(&pf_clock_system);
        if (st.connects != trimmed_at ||
            (io_since_trim && st.connected && st.queue_len == 0 && !pfa_agent_want_write(a) &&
             now - last_trim >= MAIN_TRIM_MIN_MS)) {
            /*
             * Give freed heap and stack back to the system (idle footprint): after a
             * TLS handshake, and once the exchange that followed is over (birth,
             * reports, their PUBACKs: OpenSSL allocates record buffers per record and
             * frees them), at most once a second. Without it the pages stay resident
             * until the heap's top grows past glibc's 128 KiB trim threshold, which an
             * idle terminal never does.
             */
            trimmed_at = st.connects;
            io_since_trim = false;
            last_trim = now;
            malloc_trim(0);
            main__trim_stack();
        }
    }
    return status;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
            {"config", required_argument, NULL, 'c'}, {"once", no_argument, NULL, 'o'},
            {"check-config", no_argument, NULL, 'k'}, {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
    };
    const char *path = MAIN_DEFAULT_CONFIG;
    struct pfa_config cfg;
    struct pf_error err = {0};
    struct pfa_hal *hal = NULL;
    struct pfa_agent *agent = NULL;
    bool once = false, check = false;
    int opt, status = 1;

    while ((opt = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'o':
            once = true;
            break;
        case 'k':
            check = true;
            break;
        case 'h':
            main__usage(stdout);
            return 0;
        case 'V':
            return pf_release_print(stdout, "posfleet-agent");
        default:
            main__usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        main__usage(stderr);
        return 2;
    }
    if (pfa_config_load(path, &cfg, &err) != 0) {
        fprintf(stderr, "posfleet-agent: %s\n", err.msg);
        pfa_config_release(&cfg);
        return 2;
    }
    if (check) {
        pfa_config_release(&cfg);
        return 0;
    }
    main__no_tcache(argv);
    main__openssl_lean();
    if (pfa_agent_lib_init() != 0) {
        fprintf(stderr, "posfleet-agent: cannot initialise libmosquitto\n");
        goto out_config;
    }
    if (pfa_hal_open(&cfg, &hal, &err) != 0 ||
        pfa_agent_new(&cfg, hal, &pf_clock_system, NULL, &agent, &err) != 0) {
        fprintf(stderr, "posfleet-agent: %s\n", err.msg);
        goto out_lib;
    }
    /*
     * Ready only now: pfa_agent_new() has run the boot step, so on the first boot
     * of a new slot the self-test has passed and the slot is committed (or the
     * fallback is written and a reboot requested) before systemd sees the unit
     * started. An agent that dies or hangs before this point never reaches READY:
     * systemd restarts it, and the uncommitted slot's boot counter decides at the
     * next reboot.
     */
    pfa_notify_ready("boot step done");
    status = main__run(agent, once);
    pfa_agent_free(agent);
out_lib:
    pfa_hal_free(hal);
    pfa_agent_lib_cleanup();
out_config:
    pfa_config_release(&cfg);
    return status;
}
