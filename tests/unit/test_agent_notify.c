/*
 * test_agent_notify.c - the service manager notifications reach a real
 * datagram socket named by NOTIFY_SOCKET, as systemd would receive them, and
 * the watchdog interval is read from WATCHDOG_USEC only for this process.
 * A build without libsystemd sends nothing and asks for no watchdog. libsystemd
 * is loaded only when NOTIFY_SOCKET asks for notifications.
 */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pfa/notify.h"
#include "testutil.h"

static char dir[256];
static int sock = -1;

static void setup(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    pf_test_tmpdir(dir, sizeof(dir));
    ck_assert_uint_lt(strlen(dir) + sizeof("/notify"), sizeof(sa.sun_path));
    memcpy(sa.sun_path, dir, strlen(dir));
    memcpy(sa.sun_path + strlen(dir), "/notify", sizeof("/notify"));
    sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(sock, 0);
    ck_assert_int_eq(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(setenv("NOTIFY_SOCKET", sa.sun_path, 1), 0);
}

static void teardown(void)
{
    close(sock);
    unsetenv("NOTIFY_SOCKET");
    pf_test_rmtree(dir);
}

/* The next datagram (waits up to 2 s); "" when none came. */
static void next_msg(char *buf, size_t size)
{
    struct pollfd p = {sock, POLLIN, 0};
    ssize_t n = 0;

    buf[0] = '\0';
    if (poll(&p, 1, 2000) == 1)
        n = recv(sock, buf, size - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
}

START_TEST(messages_reach_the_socket)
{
    char buf[256];

    if (!pfa_notify_supported()) {
        /* Built without libsystemd: nothing is sent. */
        pfa_notify_ready("x");
        pfa_notify_watchdog();
        next_msg(buf, sizeof(buf));
        ck_assert_str_eq(buf, "");
        return;
    }
    pfa_notify_ready("boot step done");
    next_msg(buf, sizeof(buf));
    ck_assert_str_eq(buf, "READY=1\nSTATUS=boot step done");
    pfa_notify_watchdog();
    next_msg(buf, sizeof(buf));
    ck_assert_str_eq(buf, "WATCHDOG=1");
    pfa_notify_stopping();
    next_msg(buf, sizeof(buf));
    ck_assert_str_eq(buf, "STOPPING=1");
}
END_TEST

START_TEST(watchdog_interval)
{
    char pid[32];

    ck_assert_int_eq(pfa_notify_watchdog_ms(), 0);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    ck_assert_int_eq(setenv("WATCHDOG_USEC", "4000000", 1), 0);
    ck_assert_int_eq(setenv("WATCHDOG_PID", pid, 1), 0);
    ck_assert_int_eq(pfa_notify_watchdog_ms(), pfa_notify_supported() ? 4000 : 0);
    /* Meant for another process (a parent that did not unset it): no watchdog here. */
    snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
    ck_assert_int_eq(setenv("WATCHDOG_PID", pid, 1), 0);
    ck_assert_int_eq(pfa_notify_watchdog_ms(), 0);
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}
END_TEST

/* Is a library whose file name starts with name mapped in this process? */
static bool mapped(const char *name)
{
    char line[512];
    bool found = false;
    FILE *f = fopen("/proc/self/maps", "r");

    ck_assert_ptr_nonnull(f);
    while (!found && fgets(line, sizeof(line), f)) {
        const char *base = strrchr(line, '/');
        found = base && strncmp(base + 1, name, strlen(name)) == 0;
    }
    fclose(f);
    return found;
}

/* Not started by a service manager: libsystemd is never loaded, so the agent
 * does not pay for its memory (docs/agent.md, Footprint); then it is, once a
 * notification is to be sent. */
START_TEST(libsystemd_only_under_a_service_manager)
{
    char buf[256];

    if (!pfa_notify_supported())
        return;
    unsetenv("NOTIFY_SOCKET");
    pfa_notify_ready("x");
    pfa_notify_watchdog();
    ck_assert_int_eq(pfa_notify_watchdog_ms(), 0);
    pfa_notify_stopping();
    ck_assert_msg(!mapped("libsystemd.so"), "libsystemd loaded without NOTIFY_SOCKET");
    next_msg(buf, sizeof(buf));
    ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(libsystemd_loaded_when_asked)
{
    char buf[256];

    if (!pfa_notify_supported())
        return;
    pfa_notify_ready("up");
    next_msg(buf, sizeof(buf));
    ck_assert_str_eq(buf, "READY=1\nSTATUS=up");
    ck_assert(mapped("libsystemd.so"));
}
END_TEST

static Suite *notify_suite(void)
{
    Suite *s = suite_create("agent_notify");
    TCase *tc = tcase_create("notify");

    tcase_set_timeout(tc, 10);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, messages_reach_the_socket);
    tcase_add_test(tc, watchdog_interval);
    tcase_add_test(tc, libsystemd_only_under_a_service_manager);
    tcase_add_test(tc, libsystemd_loaded_when_asked);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(notify_suite());
}
