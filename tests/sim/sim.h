/*
 * sim.h - posfleet-sim: many simulated terminals in one process.
 *
 * Every terminal is a real agent core (pfa_agent) with the simulated HAL, its
 * own MQTT connection and its own certificate; posfleet-sim only drives them
 * from one epoll loop, paces their connection attempts through the agent's
 * connect gate (one process-wide rate), gives some of them faults by setting
 * HAL values, and counts what happened. Nothing of the protocol is
 * reimplemented here.
 *
 * Modules: sim_fleet.c (the terminal list: credentials file or a counted
 * range, model mix), sim_gate.c (the connect-rate limiter), sim_faults.c
 * (which terminals get which fault, exactly), sim_pairs.c (no libmosquitto
 * wake-up socket pair per terminal), sim_loop.c (the event loop, status and
 * summary). main.c parses options.
 *
 * Ownership: struct sim_fleet owns its terminal descriptions (sim_fleet_release);
 * struct sim_faults owns its per-terminal fault bits (sim_faults_release). The
 * loop borrows both.
 */
#ifndef SIM_H
#define SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pf/error.h"
#include "pf/msg.h"
#include "pf/topic.h"

/* ---- the fleet ----------------------------------------------------------- */

struct sim_term_desc {
    char serial[PF_SERIAL_MAX + 1];
    char model[PF_MODEL_MAX + 1];
    char hw_rev[PF_HWREV_MAX + 1];
    char *cert; /* owned */
    char *key;  /* owned */
};

struct sim_fleet {
    struct sim_term_desc *terms;
    size_t n;
};

/* One model of a mix and its weight ("PX-500:70"). */
struct sim_model_mix {
    char model[PF_MODEL_MAX + 1];
    unsigned weight;
};

#define SIM_MODELS_MAX    16
#define SIM_DEFAULT_MODEL "PX-500"
#define SIM_DEFAULT_HWREV "r1"

/* Parses "A:70,B:30" (a bare "A" weighs 1); returns the number of models or PF_EINVAL. */
int sim_models_parse(const char *s, struct sim_model_mix *mix, size_t max,
                     struct pf_error *err) PF_WUR;

/*
 * Reads a credentials file (posfleet device import --credentials-out): lines
 * "serial,model,hw_rev,cert,key", '#' comments, an optional header line
 * starting with "serial," before the first terminal. A relative cert or key path is taken relative
 * to the file's directory. Errors name the line.
 */
int sim_fleet_load(const char *path, struct sim_fleet *f, struct pf_error *err) PF_WUR;

/*
 * A counted range: PREFIX plus the number from start, zero-padded to at least
 * 5 digits (posfleet-keys device-cert --count naming), certificates at
 * certs/SERIAL.crt and .key (certs may be NULL for --emit-csv). Models are
 * spread over the mix in exact proportion (largest remainder), shuffled with seed.
 */
int sim_fleet_count(const char *prefix, uint32_t start, size_t count, const char *certs,
                    const struct sim_model_mix *mix, size_t nmix, uint64_t seed,
                    struct sim_fleet *f, struct pf_error *err) PF_WUR;

/* Writes "serial,model,hw_rev" lines with a header: the CSV for posfleet device import. */
int sim_fleet_write_csv(const struct sim_fleet *f, FILE *out) PF_WUR;

void sim_fleet_release(struct sim_fleet *f);

/* ---- one descriptor per terminal ------------------------------------------- */

/*
 * pfa_agent_opts.pair_guard for every simulated terminal: while inside is true,
 * socketpair(AF_UNIX, ...) fails with EMFILE in this process, so libmosquitto
 * opens no wake-up pair for the client (sim_pairs.c). ctx is unused.
 */
void sim_pairs_guard(void *ctx, bool inside);

/* ---- connect-rate gate ----------------------------------------------------- */

/*
 * At most `rate` connection attempts in any one-second window (a token bucket
 * of max(1, rate/50) tokens refilled at rate minus that, sim_gate.c), so
 * neither the start nor a broker restart makes a burst. The loop also holds
 * attempts while rate/2 (at least 1) handshakes are still in progress, so a
 * slow broker or a busy simulator slows the attempts instead of piling them up.
 */
struct sim_gate {
    uint32_t rate; /* attempts per second, >= 1 */
    uint32_t cap;  /* bucket size */
    uint32_t refill;
    double tokens;
    int64_t last;
    int64_t t0;
    int64_t bucket; /* index of the current one-second bucket from t0 */
    uint32_t used;  /* attempts granted in it */
    uint64_t granted;
    uint32_t peak; /* most attempts granted in one bucket */
};

void sim_gate_init(struct sim_gate *g, uint32_t rate, int64_t now_ms);
bool sim_gate_try(struct sim_gate *g, int64_t now_ms);

/* ---- faults ---------------------------------------------------------------- */

enum sim_fault {
    SIM_FAULT_BATTERY_LOW,   /* battery 4 %, not charging -> battery_critical */
    SIM_FAULT_PAPER_OUT,     /* paper out -> paper_out */
    SIM_FAULT_TAMPER,        /* tamper switch tripped -> tamper */
    SIM_FAULT_SELFTEST_FAIL, /* screen self-test fails -> selftest_failed; with updates only
                              * while booted into a new firmware (so it rolls back) */
    SIM_FAULT_FLAKY,         /* link dropped with shutdown() every flaky_every_s */
    SIM_FAULT_SLOW_DOWNLOAD, /* placeholder: takes effect with the update engine */
    SIM_FAULT_POWER_CUT,     /* placeholder: power cut during install, update engine */
    SIM_FAULT_NO_ANSWER,     /* runs without its update engine: never answers an offer */
    SIM_FAULT_COUNT,
};

extern const char *const sim_fault_names[SIM_FAULT_COUNT];

struct sim_faults {
    double pct[SIM_FAULT_COUNT];   /* requested percentage of the fleet */
    size_t count[SIM_FAULT_COUNT]; /* terminals that got it: round(n * pct / 100) */
    uint8_t *bits;                 /* per terminal: 1 << enum sim_fault; owned */
    size_t n;
};

/* Parses "KIND=PCT" (PCT 0..100, decimals allowed) into f->pct. */
int sim_faults_parse(struct sim_faults *f, const char *spec, struct pf_error *err) PF_WUR;

/*
 * Chooses, for every kind, exactly round(n * pct / 100) distinct terminals
 * (a seeded partial shuffle, independent per kind; a terminal may get several kinds).
 */
int sim_faults_assign(struct sim_faults *f, size_t n, uint64_t seed, struct pf_error *err) PF_WUR;

/* Writes "SERIAL KIND" lines, one per assigned fault. */
int sim_faults_write(const struct sim_faults *f, const struct sim_fleet *fleet, FILE *out) PF_WUR;

/* After sim_faults_assign: "KIND=FILE" gives KIND to the serials listed in FILE
 * (one a line) as well; PF_EINVAL names a serial that is not in the fleet. */
int sim_faults_list(struct sim_faults *f, const struct sim_fleet *fleet, const char *spec,
                    struct pf_error *err) PF_WUR;

void sim_faults_release(struct sim_faults *f);

/*
 * The HAL screen value of a selftest_fail terminal (with updates) after its
 * reboots-th reboot: "fail" while booted into the new firmware (odd: the
 * install), "pass" after the fallback (even), a value the HAL's self-test
 * reads as a pass, so only the new firmware fails (docs/sim.md).
 */
const char *sim_screen_after_reboot(unsigned reboots);

/* ---- the loop -------------------------------------------------------------- */

struct sim_opts {
    const char *broker_host;
    int broker_port;
    const char *ca;        /* CA of the broker's certificate */
    const char *state_dir; /* per-terminal state directories go under it */
    bool remove_state;     /* remove state_dir at the end (a directory sim created) */
    int interval_s;        /* health_interval_s */
    int jitter_pct;
    int backoff_min_ms, backoff_max_ms;
    int keepalive_s;
    uint32_t rate;       /* connection attempts per second, process-wide */
    int flaky_every_s;   /* SIM_FAULT_FLAKY period */
    int64_t duration_ms; /* stop after this long; 0 = until SIGINT/SIGTERM */
    uint64_t seed;
    const char *fw_version;
    const char *update_trust_root; /* run the update engine (NULL: no updates) */
    int resend_s;                  /* update.resend_s of every engine; 0: the agent's default */
    const char *status_path;       /* JSON status rewritten every second, or NULL */
    FILE *log;                     /* the agents' log lines */
    int log_level;                 /* enum pfa_log_level */
    bool quiet;                    /* no progress lines */
    bool json;                     /* summary as JSON on stdout */
    size_t tamper_count;           /* tamper trials (sim_tamper.h); 0 = none */
    int64_t tamper_every_ms, tamper_after_ms;
    bool tamper_report_only; /* trip the switch only: it travels with the next health report */
};

struct pfa_config;

/* The update engine's part of a terminal's configuration: its files in dir (the
 * terminal's state directory, which must exist), consent retried every 2 s, and
 * events resent at o->resend_s, or the agent's default when that is 0. Fills cfg
 * (initialised by the caller; pfa_config_release() frees what it adds). */
int sim_update_config(const struct sim_opts *o, const char *dir, struct pfa_config *cfg) PF_WUR;

/* Runs the fleet until the duration ends or a signal arrives; prints the summary. */
int sim_run(const struct sim_opts *o, const struct sim_fleet *fleet,
            const struct sim_faults *faults, struct pf_error *err) PF_WUR;

#endif
