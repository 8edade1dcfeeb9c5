/*
 * mosq_compat.c - keeps libmosquitto 2.0 from opening a socket pair per client.
 *
 * mosquitto_new() and mosquitto_connect*() open a socketpair(AF_UNIX) per client, used only to
 * wake mosquitto_loop_start()'s thread. The agent core never uses that thread,
 * but the pair costs two file descriptors per client: posfleet-sim, with its
 * 20,000-descriptor limit, could then run ~6,600 terminals instead of 15,000.
 * libmosquitto carries on without the pair when socketpair() fails (it only
 * matters to the threaded loop), so this file interposes socketpair(): while
 * the core is inside mosquitto_new() or a connect call, AF_UNIX pairs fail with
 * EMFILE; at any other time, or from anyone else, the call goes to the kernel
 * unchanged. The flag is the core's one piece of process-wide state, set and
 * cleared around a single call on the calling thread.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mosq_compat.h"

static int compat__refuse_pairs;

int socketpair(int domain, int type, int protocol, int sv[2])
{
    if (compat__refuse_pairs && domain == AF_UNIX) {
        errno = EMFILE;
        return -1;
    }
    return (int)syscall(SYS_socketpair, domain, type, protocol, sv);
}

void pfa__mosq_pairs_refuse(bool refuse)
{
    compat__refuse_pairs = refuse;
}
