/*
 * hal.h - the hardware abstraction the agent reads the terminal through.
 *
 * One backend per file under agent/hal/, each exporting a constructor that
 * returns a struct pfa_hal (an ops table plus the backend's private state).
 * The agent borrows the hal; whoever created it frees it with pfa_hal_free()
 * after the agent is gone. Every probe returns 0 or a negative PF_E* code;
 * on error the agent reports the component as failing rather than guessing.
 * Probes must be cheap: the agent calls them at every health report.
 */
#ifndef PFA_HAL_H
#define PFA_HAL_H

#include <stdbool.h>
#include <stdint.h>

#include "pf/error.h"
#include "pf/msg.h"

struct pfa_hal;

struct pfa_hal_txn {
    uint32_t count;        /* today's transactions */
    uint64_t amount_minor; /* today's total, minor units */
    char currency[PF_CURRENCY_LEN + 1];
};

struct pfa_hal_ops {
    const char *name;
    int (*power)(struct pfa_hal *hal, int *battery_pct, bool *charging);
    int (*network)(struct pfa_hal *hal, enum pf_net_type *type, int *signal_dbm);
    int (*temperature)(struct pfa_hal *hal, int *temp_c);
    int (*storage_free)(struct pfa_hal *hal, uint64_t *kb);
    int (*mem_free)(struct pfa_hal *hal, uint64_t *kb);
    int (*paper)(struct pfa_hal *hal, enum pf_paper *paper);
    int (*tamper)(struct pfa_hal *hal, bool *tripped);
    /* Runs the self-test of one component. */
    int (*selftest)(struct pfa_hal *hal, enum pf_component comp, enum pf_check *result);
    /* Fault counters since boot (card reader, printer). */
    int (*faults)(struct pfa_hal *hal, uint32_t *reader, uint32_t *printer);
    /* True while the payment application has a transaction in progress. */
    int (*busy)(struct pfa_hal *hal, bool *busy);
    int (*transactions)(struct pfa_hal *hal, struct pfa_hal_txn *txn);
    /* Asks the platform to reboot; returns once the request is recorded. */
    int (*reboot)(struct pfa_hal *hal);
    /* Seconds since the system booted; NULL when the backend cannot tell (the agent
     * then reports its own uptime). */
    int (*uptime)(struct pfa_hal *hal, uint64_t *seconds);
    void (*free)(struct pfa_hal *hal);
};

struct pfa_hal {
    const struct pfa_hal_ops *ops;
    void *priv; /* backend state */
};

/*
 * Simulated backend (agent/hal/sim.c): values come from small text files in
 * dir (re-read at every call, so a test can change them live) and from
 * in-memory overrides set with pfa_hal_sim_set(), which take precedence. A
 * missing file means the healthy default. dir may be NULL (defaults and
 * overrides only). docs/agent.md lists the file names.
 */
int pfa_hal_sim_new(const char *dir, struct pfa_hal **out) PF_WUR;
/* Overrides one value file's content in memory; value NULL removes the override. */
int pfa_hal_sim_set(struct pfa_hal *hal, const char *name, const char *value) PF_WUR;
/* Number of reboot requests the sim backend has recorded. */
unsigned pfa_hal_sim_reboots(const struct pfa_hal *hal);

/*
 * Linux backend (agent/hal/linux.c): the kernel's view of the board under
 * root (sysfs: power_supply, net, thermal; procfs: meminfo, uptime,
 * net/wireless, net/route), statvfs() of data_dir, and the files the payment
 * application and the secure-element driver write in dir (busy, tamper,
 * paper, self-test results; docs/agent.md, "Running on a real board").
 * Files are read at every probe. A missing or malformed file makes a value
 * unknown (the probe fails, or the documented neutral value), never a crash,
 * and never a tamper or busy that nobody wrote. NULL members take the
 * defaults: root "/", dir "/run/posfleet", data_dir "/", reboot_cmd
 * "/usr/sbin/reboot" (run with no argument). The backend copies the strings.
 */
#define PFA_HAL_LINUX_DIR "/run/posfleet"
struct pfa_hal_linux_opts {
    const char *root;
    const char *dir;
    const char *data_dir;
    const char *reboot_cmd;
};
int pfa_hal_linux_new(const struct pfa_hal_linux_opts *opts, struct pfa_hal **out) PF_WUR;

/* Creates the backend named by the config key "hal"; dir is hal.dir (the other linux
 * settings at their defaults). */
int pfa_hal_new(const char *backend, const char *dir, struct pfa_hal **out,
                struct pf_error *err) PF_WUR;
struct pfa_config;
/* Creates the backend the configuration names, with its hal.* keys. */
int pfa_hal_open(const struct pfa_config *cfg, struct pfa_hal **out, struct pf_error *err) PF_WUR;
void pfa_hal_free(struct pfa_hal *hal);

/* Runs every component's self-test; a probe error counts as PF_CHECK_FAIL. */
void pfa_hal_selftest_all(struct pfa_hal *hal, enum pf_check results[PF_COMP_COUNT]);

#endif
