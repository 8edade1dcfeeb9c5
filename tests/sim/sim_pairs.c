/*
 * sim_pairs.c - keeps libmosquitto 2.0 from opening a socket pair per simulated
 * terminal (posfleet-sim only; the agent core has no such code).
 *
 * mosquitto_new() and mosquitto_connect*() open a socketpair(AF_UNIX) per
 * client, used only to wake mosquitto_loop_start()'s thread. The agent core
 * never uses that thread, but the pair costs two file descriptors per client:
 * posfleet-sim, with its 20,000-descriptor limit, could then run ~6,600
 * terminals instead of 15,000. libmosquitto carries on without the pair when
 * socketpair() fails (it only matters to the threaded loop), so this file
 * interposes socketpair() in the posfleet-sim executable: while an agent is
 * inside one of those calls (pfa_agent_opts.pair_guard = sim_pairs_guard),
 * AF_UNIX pairs fail with EMFILE; at any other time, or from anyone else, the
 * call goes to the kernel unchanged. The flag is process-wide, set and
 * cleared around a single call on the loop's one thread - acceptable in a
 * test tool, and the reason it lives here and not in the agent core.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sim.h"

static bool pairs__refuse;

int socketpair(int domain, int type, int protocol, int sv[2])
{
    if (pairs__refuse && domain == AF_UNIX) {
        errno = EMFILE;
        return -1; /* socketpair()'s own contract: -1 and errno, not a PF_E* code */
    }
    return (int)syscall(SYS_socketpair, domain, type, protocol, sv);
}

void sim_pairs_guard(void *ctx, bool inside)
{
    (void)ctx;
    pairs__refuse = inside;
}
