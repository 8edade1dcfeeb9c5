/*
 * agent.h - the agent core: one terminal's MQTT session, health reports and
 * offline queue, driven entirely by its caller.
 *
 * The core owns no thread and never blocks waiting for the network: the
 * caller (posfleet-agent's main, or posfleet-sim for thousands of terminals
 * in one process) polls pfa_agent_fd() for reading, and for writing when
 * pfa_agent_want_write() is true, calls pfa_agent_on_readable() /
 * pfa_agent_on_writable() when the socket is ready (pfa_agent_on_error() on
 * POLLHUP/POLLERR) and pfa_agent_tick() at
 * pfa_agent_next_deadline_ms() (monotonic ms on the agent's clock). The fd can
 * change or disappear (-1) after ANY call into the agent, so re-read fd and
 * want_write after every call. Time comes only from the clock passed in.
 *
 * Ownership: pfa_agent_new() copies what it needs from cfg, except when the
 * update engine is configured (pfa_config_updates): that engine borrows cfg's
 * paths and identity fields, so cfg must then stay in place, unchanged, until
 * the agent is freed (posfleet-agent keeps it for the process; posfleet-sim
 * keeps one per terminal). hal and clock are borrowed and must outlive the
 * agent. Call pfa_agent_lib_init() once per process before the first agent
 * and pfa_agent_lib_cleanup() after the last one is freed, and ignore SIGPIPE
 * (OpenSSL writes to sockets that the peer may have closed).
 */
#ifndef PFA_AGENT_H
#define PFA_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pfa/config.h"
#include "pfa/hal.h"
#include "pf/clock.h"
#include "pf/error.h"
#include "pf/release.h"

#define PFA_AGENT_VERSION PF_RELEASE_VERSION /* the release (CMake project version) */
#define PFA_DEADLINE_NONE INT64_MAX

struct pfa_agent;

/* Optional knobs that are not configuration-file keys. Zeroed = defaults. */
struct pfa_agent_opts {
    uint64_t seed;   /* random seed for backoff and report jitter; 0 = random */
    FILE *log_out;   /* NULL = stderr */
    bool log_no_tag; /* do not prefix lines with the serial */
    /*
     * Connection gate (posfleet-sim's process-wide connect rate): called when
     * a connection attempt is due; returning false postpones it by a random
     * 50..250 ms without counting a failure. NULL = always allowed.
     */
    bool (*may_connect)(void *ctx, struct pfa_agent *a);
    void *gate_ctx;
    /*
     * Called with true right before, and false right after, each libmosquitto
     * call that opens the client's wake-up socket pair (mosquitto_new(), the
     * first connect). The pair only serves mosquitto_loop_start()'s thread,
     * which the core never uses; posfleet-sim refuses it there so a terminal
     * holds one descriptor (tests/sim/sim_pairs.c). NULL = libmosquitto opens
     * it: two descriptors more per agent, nothing else changes.
     */
    void (*pair_guard)(void *ctx, bool inside);
    void *pair_ctx;
};

struct pfa_agent_stats {
    bool connected;            /* CONNACK received, session up */
    uint32_t connects;         /* successful CONNACKs since start */
    uint32_t reconnects;       /* connections lost (each followed by a retry): errors.reconnects */
    uint32_t connect_failures; /* attempts that ended before a CONNACK */
    uint32_t reports_made;     /* health reports written to the queue */
    uint32_t reports_acked;    /* health reports PUBACKed and removed */
    uint32_t queue_dropped;    /* errors.queue_dropped */
    size_t queue_len;          /* reports waiting for a PUBACK */
    uint32_t last_seq;         /* seq of the latest report (0 before the first) */
    uint32_t acks_received;    /* application acks on cmd/{serial}/ack */
    uint32_t gate_deferrals;   /* attempts postponed by opts.may_connect */
    int64_t retry_at;          /* monotonic ms of the next connect attempt, or PFA_DEADLINE_NONE */
};

int pfa_agent_lib_init(void) PF_WUR;
void pfa_agent_lib_cleanup(void);

/*
 * Creates an agent: opens state_dir (seq and queue), runs the boot self-test
 * through hal, prepares the MQTT client (TLS, v5, last will). Does not connect
 * until pfa_agent_start(). opts may be NULL.
 */
int pfa_agent_new(const struct pfa_config *cfg, struct pfa_hal *hal, const struct pf_clock *clock,
                  const struct pfa_agent_opts *opts, struct pfa_agent **out,
                  struct pf_error *err) PF_WUR;
/* Frees everything; closes the socket without a DISCONNECT (the broker sends the will). */
void pfa_agent_free(struct pfa_agent *a);

/* Schedules the first connection attempt delay_ms from now (a ramp for many agents). */
void pfa_agent_start(struct pfa_agent *a, int64_t delay_ms);

int pfa_agent_fd(const struct pfa_agent *a);
bool pfa_agent_want_write(const struct pfa_agent *a);
void pfa_agent_on_readable(struct pfa_agent *a);
void pfa_agent_on_writable(struct pfa_agent *a);
/* The socket reported POLLHUP or POLLERR (EPOLLHUP/EPOLLERR): call this, not on_readable. */
void pfa_agent_on_error(struct pfa_agent *a);
/* Monotonic ms at which pfa_agent_tick() must run next; PFA_DEADLINE_NONE if never. */
int64_t pfa_agent_next_deadline_ms(const struct pfa_agent *a);
/* Runs timers that are due on the agent's clock: connect, keepalive, reports, stop. */
void pfa_agent_tick(struct pfa_agent *a);

/* Takes a health report at the next tick instead of waiting for the interval. */
void pfa_agent_report_now(struct pfa_agent *a);

/*
 * Reads the HAL's tamper switch now (the agent also reads it every
 * tamper_poll_ms). When it has tripped since the last read, publishes a tamper
 * event on dev/{serial}/tamper at once if connected, and takes a health report
 * (which carries the tamper flag and waits in the on-disk queue like any
 * other) at the next tick. A HAL with a tamper interrupt calls this from it.
 */
void pfa_agent_tamper_check(struct pfa_agent *a);
/* True while payments are locked (a lock command applied and answered). */
bool pfa_agent_locked(const struct pfa_agent *a);

/*
 * Graceful stop: sends DISCONNECT with reason "disconnect with will message"
 * so the server sees the terminal offline, then closes. Keep driving the agent
 * until pfa_agent_stopped() (at most ~2 s).
 */
void pfa_agent_stop(struct pfa_agent *a);
bool pfa_agent_stopped(const struct pfa_agent *a);

void pfa_agent_stats(const struct pfa_agent *a, struct pfa_agent_stats *st);
const char *pfa_agent_serial(const struct pfa_agent *a);

/* Firmware and fee-table identity reported in birth and health (the update engine sets them). */
int pfa_agent_set_firmware(struct pfa_agent *a, const char *version, enum pf_slot slot) PF_WUR;
int pfa_agent_set_fee_version(struct pfa_agent *a, const char *version) PF_WUR;

#endif
