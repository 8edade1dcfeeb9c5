/*
 * pg_elector.c - one scheduler elector (store/postgres/pg_leader.h) as a
 * process of its own, for the election tests (tests/integration/test_pg_leader.sh).
 *
 *   pf_pg_elector DSN RETRY_MS
 *
 * Steps the election every RETRY_MS; while leading it watches the election
 * session's socket in between, so a lost session ends leadership at once.
 * Prints one line per change, flushed:
 *   leader BACKEND_PID WALL_MS      (took the lock)
 *   follower WALL_MS                (lost it)
 * and "error TEXT" lines for failed steps. Runs until killed.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pf/num.h"
#include "store/postgres/pg_leader.h"

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_change(void *ctx, bool leading)
{
    struct pfs_pg_leader **l = ctx;

    if (leading)
        printf("leader %d %lld\n", pfs_pg_leader_backend_pid(*l), (long long)wall_ms());
    else
        printf("follower %lld\n", (long long)wall_ms());
    fflush(stdout);
}

int main(int argc, char **argv)
{
    struct pfs_pg_leader *l = NULL;
    struct pf_error err = {0};
    int64_t retry_ms, next;
    struct pollfd pfd;
    int fd;

    if (argc != 3 || pf_parse_i64(argv[2], 10, 60000, &retry_ms)) {
        fprintf(stderr, "usage: pf_pg_elector DSN RETRY_MS (10..60000)\n");
        return 2;
    }
    if (pfs_pg_leader_new(argv[1], PFS_PG_LEADER_KEY, on_change, &l, &l, &err)) {
        fprintf(stderr, "pf_pg_elector: %s\n", err.msg);
        return 1;
    }
    for (;;) {
        if (pfs_pg_leader_step(l, &err)) {
            printf("error %s\n", err.msg);
            fflush(stdout);
        }
        next = wall_ms() + retry_ms;
        /* Until the next step: a leader watches its session. */
        while (wall_ms() < next) {
            fd = pfs_pg_leader_socket(l);
            pfd.fd = pfs_pg_leader_leading(l) ? fd : -1;
            pfd.events = POLLIN;
            pfd.revents = 0;
            if (poll(&pfd, 1, (int)(next - wall_ms() > 0 ? next - wall_ms() : 0)) > 0)
                pfs_pg_leader_check(l);
        }
    }
}
