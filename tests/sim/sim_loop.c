/*
 * sim_loop.c - posfleet-sim's event loop: thousands of agent cores, one epoll.
 *
 * Each terminal is a pfa_agent with its own sim HAL. After every call into an
 * agent the loop re-reads the agent's socket, write interest and next
 * deadline (sim__refresh): the socket goes into epoll (data = terminal index),
 * the deadline into an indexed min-heap, so a loop round costs what is due,
 * not the size of the fleet. The connect gate of every agent is one
 * process-wide struct sim_gate. Counters for the status file and the summary
 * are summed from pfa_agent_stats() once per second.
 */

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pf/clock.h"
#include "pf/fileio.h"
#include "pfa/agent.h"
#include "pfa/backoff.h"
#include "pfa/hal.h"
#include "sim.h"
#include "sim_tamper.h"

#define SIM_EVENTS      1024
#define SIM_STOP_GRACE  5000 /* ms for graceful disconnects at the end */
#define SIM_SIGNAL_DATA UINT32_MAX

struct sim_term {
    struct pfa_agent *agent;
    struct pfa_hal *hal;
    int fd;           /* registered with epoll, or -1 */
    uint32_t ev;      /* registered events */
    int64_t deadline; /* heap key */
    size_t heap_pos;
    int64_t flaky_at; /* next shutdown() of a flaky link, or PFA_DEADLINE_NONE */
    uint32_t connects;
    unsigned reboots; /* reboot requests handled (the agent started again) */
    /* With updates: the agent's configuration, kept while it runs (the update
     * engine borrows its paths). */
    struct pfa_config *cfg;
    bool connected;
    bool connecting;
    bool flaky;
    bool stopped;
    size_t tamper_trial; /* sim_tamper_next()'s number while waiting for the lock, else 0 */
};

/* Totals summed over every agent's pfa_agent_stats(). */
struct sim_totals {
    uint64_t reconnects, connect_failures, gate_deferrals;
    uint64_t reports_made, reports_acked, queue_dropped, queue_len;
};

struct sim_ctx {
    const struct sim_opts *o;
    const struct sim_fleet *fleet;
    const struct sim_faults *faults;
    struct sim_term *t;
    size_t n;
    size_t *heap;
    size_t heap_n;
    int ep;
    int sigfd;
    uint64_t rng;
    struct sim_gate gate;
    int64_t t0;

    size_t connected;
    size_t connecting; /* sockets open without a CONNACK yet */
    size_t connecting_max;
    size_t stopped;
    uint64_t connacks;
    int64_t connack_bucket;
    uint32_t connack_used, connack_peak;
    uint64_t flaky_drops;
    int64_t all_connected_at; /* ms since t0 when all were first connected, or -1 */
    int64_t outage_at;        /* ms since t0 when the current outage began, or -1 */
    int64_t last_outage_ms;   /* length of the last finished outage, or -1 */
    uint32_t outages;
    uint64_t reboots; /* agents started again after a reboot request */
    size_t created;
    struct sim_tamper tamper;
};

static int64_t sim__now(void)
{
    return pf_clock_mono_ms(&pf_clock_system);
}

/* ---- the deadline heap ------------------------------------------------------ */

static void sim__heap_swap(struct sim_ctx *s, size_t a, size_t b)
{
    size_t ta = s->heap[a], tb = s->heap[b];

    s->heap[a] = tb;
    s->heap[b] = ta;
    s->t[tb].heap_pos = a;
    s->t[ta].heap_pos = b;
}

static void sim__heap_fix(struct sim_ctx *s, size_t pos)
{
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;

        if (s->t[s->heap[parent]].deadline <= s->t[s->heap[pos]].deadline)
            break;
        sim__heap_swap(s, parent, pos);
        pos = parent;
    }
    for (;;) {
        size_t l = 2 * pos + 1, r = l + 1, m = pos;

        if (l < s->heap_n && s->t[s->heap[l]].deadline < s->t[s->heap[m]].deadline)
            m = l;
        if (r < s->heap_n && s->t[s->heap[r]].deadline < s->t[s->heap[m]].deadline)
            m = r;
        if (m == pos)
            break;
        sim__heap_swap(s, pos, m);
        pos = m;
    }
}

/* ---- per-terminal bookkeeping -------------------------------------------- */

static bool sim__gate_cb(void *ctx, struct pfa_agent *a)
{
    struct sim_ctx *s = ctx;

    (void)a;
    /* Handshakes in progress count too: a slow broker (or a busy sim) slows the attempts. */
    if (s->connecting >= s->connecting_max)
        return false;
    return sim_gate_try(&s->gate, sim__now());
}

static void sim__count_connack(struct sim_ctx *s, int64_t now, uint32_t k)
{
    int64_t bucket = (now - s->t0) / 1000;

    if (bucket != s->connack_bucket) {
        s->connack_bucket = bucket;
        s->connack_used = 0;
    }
    s->connack_used += k;
    s->connacks += k;
    if (s->connack_used > s->connack_peak)
        s->connack_peak = s->connack_used;
}

static void sim__set_connected(struct sim_ctx *s, struct sim_term *t, bool up, int64_t now)
{
    int64_t since = now - s->t0;

    t->connected = up;
    if (up) {
        s->connected++;
        if (s->connected == s->n) {
            if (s->all_connected_at < 0) {
                s->all_connected_at = since;
                if (!s->o->quiet)
                    fprintf(stderr, "posfleet-sim: all %zu connected after %.1f s\n", s->n,
                            (double)since / 1000.0);
            } else if (s->outage_at >= 0) {
                s->last_outage_ms = since - s->outage_at;
                if (!s->o->quiet)
                    fprintf(stderr,
                            "posfleet-sim: all %zu connected again %.1f s after the first loss\n",
                            s->n, (double)s->last_outage_ms / 1000.0);
            }
            s->outage_at = -1;
        }
        if (t->flaky)
            t->flaky_at = now + pfa_rand_range(&s->rng, 1000, (int64_t)s->o->flaky_every_s * 1000);
    } else {
        if (s->connected == s->n && s->all_connected_at >= 0 && s->outage_at < 0) {
            s->outage_at = since;
            s->outages++;
        }
        s->connected--;
        t->flaky_at = PFA_DEADLINE_NONE;
    }
}

static void sim__epoll_set(struct sim_ctx *s, size_t i, int op, int fd, uint32_t ev)
{
    struct epoll_event e = {.events = ev, .data.u32 = (uint32_t)i};

    if (epoll_ctl(s->ep, op, fd, &e) == 0)
        return;
    if (op == EPOLL_CTL_ADD && errno == EEXIST)
        (void)epoll_ctl(s->ep, EPOLL_CTL_MOD, fd, &e);
    else if (op == EPOLL_CTL_MOD && errno == ENOENT)
        (void)epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e);
}

static int sim__create(struct sim_ctx *s, size_t i, struct pf_error *err);
static void sim__term_free(struct sim_term *t);

const char *sim_screen_after_reboot(unsigned reboots)
{
    /* "ok" is no check result: the HAL read it as a failed probe, so the screen kept failing
     * after the fallback. pf_check_names: pass, fail, skip. */
    return reboots % 2 ? "fail" : "pass";
}

/*
 * The terminal asked its HAL for a reboot (an update): its agent starts again
 * on the same hardware, which runs the update engine's boot decision. A
 * selftest_fail terminal fails its self-test while booted into a new firmware
 * (odd reboots: install, even: the fallback).
 */
static void sim__reboot(struct sim_ctx *s, size_t i, int64_t now)
{
    struct sim_term *t = &s->t[i];
    uint8_t bits = s->faults && s->faults->bits ? s->faults->bits[i] : 0;
    struct pf_error err = {0};

    t->reboots = pfa_hal_sim_reboots(t->hal);
    if ((bits & (1u << SIM_FAULT_SELFTEST_FAIL)) &&
        pfa_hal_sim_set(t->hal, "screen", sim_screen_after_reboot(t->reboots)) != 0)
        fprintf(stderr, "posfleet-sim: %s: cannot set the screen fault\n",
                s->fleet->terms[i].serial);
    if (t->fd >= 0)
        (void)epoll_ctl(s->ep, EPOLL_CTL_DEL, t->fd, NULL);
    t->fd = -1;
    sim__term_free(t);
    if (t->connected)
        sim__set_connected(s, t, false, now);
    if (t->connecting) {
        t->connecting = false;
        s->connecting--;
    }
    t->connects = 0;
    t->ev = 0;
    if (sim__create(s, i, &err) != 0) {
        fprintf(stderr, "posfleet-sim: %s: cannot boot again: %s\n", s->fleet->terms[i].serial,
                err.msg);
        t->stopped = true;
        s->stopped++;
        t->deadline = PFA_DEADLINE_NONE;
        sim__heap_fix(s, t->heap_pos);
        return;
    }
    s->reboots++;
    pfa_agent_start(t->agent, 0);
}

/* After any call into terminal i: socket, write interest, connection, deadline. */
static void sim__refresh(struct sim_ctx *s, size_t i, int64_t now)
{
    struct sim_term *t = &s->t[i];
    struct pfa_agent_stats st;
    int fd;
    uint32_t ev;
    int64_t d;

    if (t->agent && !t->stopped && pfa_hal_sim_reboots(t->hal) != t->reboots)
        sim__reboot(s, i, now);
    if (!t->agent)
        return;
    if (t->tamper_trial && pfa_agent_locked(t->agent)) {
        sim_tamper_locked(&s->tamper, t->tamper_trial, sim__now());
        t->tamper_trial = 0;
    }
    fd = pfa_agent_fd(t->agent);
    ev = EPOLLIN | (fd >= 0 && pfa_agent_want_write(t->agent) ? EPOLLOUT : 0);

    if (fd != t->fd) {
        /* A closed socket has already left the epoll set; EBADF/ENOENT are fine. */
        if (t->fd >= 0)
            (void)epoll_ctl(s->ep, EPOLL_CTL_DEL, t->fd, NULL);
        t->fd = fd;
        if (fd >= 0)
            sim__epoll_set(s, i, EPOLL_CTL_ADD, fd, ev);
        t->ev = ev;
    } else if (fd >= 0 && ev != t->ev) {
        sim__epoll_set(s, i, EPOLL_CTL_MOD, fd, ev);
        t->ev = ev;
    }

    pfa_agent_stats(t->agent, &st);
    if (st.connects != t->connects) {
        sim__count_connack(s, now, st.connects - t->connects);
        t->connects = st.connects;
    }
    if (st.connected != t->connected)
        sim__set_connected(s, t, st.connected, now);
    if ((fd >= 0 && !st.connected && !t->stopped) != t->connecting) {
        t->connecting = !t->connecting;
        if (t->connecting)
            s->connecting++;
        else
            s->connecting--;
    }
    if (!t->stopped && pfa_agent_stopped(t->agent)) {
        t->stopped = true;
        s->stopped++;
    }

    d = pfa_agent_next_deadline_ms(t->agent);
    if (t->connected && t->flaky_at < d)
        d = t->flaky_at;
    if (d != t->deadline) {
        t->deadline = d;
        sim__heap_fix(s, t->heap_pos);
    }
}

/* ---- set-up ---------------------------------------------------------------- */

static int sim__apply_faults(struct pfa_hal *hal, uint8_t bits, bool updates)
{
    int rc = 0;

    if (bits & (1u << SIM_FAULT_BATTERY_LOW)) {
        if (!rc)
            rc = pfa_hal_sim_set(hal, "battery_pct", "4");
        if (!rc)
            rc = pfa_hal_sim_set(hal, "charging", "0");
    }
    if (!rc && (bits & (1u << SIM_FAULT_PAPER_OUT)))
        rc = pfa_hal_sim_set(hal, "paper", "out");
    if (!rc && (bits & (1u << SIM_FAULT_TAMPER)))
        rc = pfa_hal_sim_set(hal, "tamper", "1");
    /* Without updates the self-test fails from boot; with them, see sim__reboot. */
    if (!rc && !updates && (bits & (1u << SIM_FAULT_SELFTEST_FAIL)))
        rc = pfa_hal_sim_set(hal, "screen", "fail");
    return rc;
}

int sim_update_config(const struct sim_opts *o, const char *dir, struct pfa_config *cfg)
{
    char path[4096];

    snprintf(cfg->upd_boot, sizeof(cfg->upd_boot), "file");
#define SIM_PATH(field, leaf)                                                                      \
    do {                                                                                           \
        if (snprintf(path, sizeof(path), "%s/%s", dir, leaf) >= (int)sizeof(path) ||               \
            !(cfg->field = strdup(path)))                                                          \
            return PF_ENOMEM;                                                                      \
    } while (0)
    SIM_PATH(upd_slot_a, "slot_a");
    SIM_PATH(upd_slot_b, "slot_b");
    SIM_PATH(upd_boot_env, "bootenv");
    SIM_PATH(upd_feetable_dir, "fees");
#undef SIM_PATH
    if (pf_mkdir_p(cfg->upd_feetable_dir, 0700) != 0)
        return PF_EIO;
    cfg->upd_trust_root = strdup(o->update_trust_root);
    cfg->upd_retry_s = 2;
    /* The agent's own default unless the run asks otherwise: with a resend far below
     * it, every ack slower than that came with a duplicate event (docs/benchmarks.md). */
    if (o->resend_s > 0)
        cfg->upd_resend_s = o->resend_s;
    return cfg->upd_trust_root ? 0 : PF_ENOMEM;
}

static int sim__create(struct sim_ctx *s, size_t i, struct pf_error *err)
{
    const struct sim_opts *o = s->o;
    const struct sim_term_desc *d = &s->fleet->terms[i];
    struct sim_term *t = &s->t[i];
    struct pfa_agent_opts ao = {0};
    struct pfa_config *cfg;
    char dir[4096];
    uint8_t bits = s->faults && s->faults->bits ? s->faults->bits[i] : 0;
    /* no_answer: a terminal without its update engine leaves every offer unanswered */
    bool updates = o->update_trust_root && !(bits & (1u << SIM_FAULT_NO_ANSWER));
    int rc;

    t->fd = -1;
    t->flaky_at = PFA_DEADLINE_NONE;
    t->deadline = PFA_DEADLINE_NONE;
    t->flaky = bits & (1u << SIM_FAULT_FLAKY);
    if (snprintf(dir, sizeof(dir), "%s/%s", o->state_dir, d->serial) >= (int)sizeof(dir))
        return pf_error_set(err, PF_ETOOBIG, "%s: state path too long", d->serial);
    if (!t->hal) { /* a reboot keeps the hardware */
        rc = pfa_hal_sim_new(NULL, &t->hal);
        if (!rc)
            rc = sim__apply_faults(t->hal, bits, updates);
        if (rc)
            return pf_error_set(err, rc, "%s: simulated HAL: %s", d->serial, pf_strerror(rc));
    }

    /* On the heap: with updates it lives as long as the agent (the update engine
     * borrows its strings and arrays). */
    cfg = malloc(sizeof(*cfg));
    if (!cfg)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    pfa_config_init(cfg);
    memcpy(cfg->serial, d->serial, sizeof(cfg->serial));
    memcpy(cfg->model, d->model, sizeof(cfg->model));
    memcpy(cfg->hw_rev, d->hw_rev, sizeof(cfg->hw_rev));
    snprintf(cfg->fw_version, sizeof(cfg->fw_version), "%s", o->fw_version);
    cfg->broker_host = strdup(o->broker_host);
    cfg->broker_port = o->broker_port;
    cfg->state_dir = strdup(dir);
    if (o->ca) {
        cfg->tls_ca = strdup(o->ca);
        cfg->tls_cert = strdup(d->cert);
        cfg->tls_key = strdup(d->key);
    }
    cfg->health_interval_s = o->interval_s;
    cfg->health_jitter_pct = o->jitter_pct;
    cfg->backoff_min_ms = o->backoff_min_ms;
    cfg->backoff_max_ms = o->backoff_max_ms;
    cfg->keepalive_s = o->keepalive_s;
    cfg->tamper_poll_ms = 0; /* the loop trips switches itself and tells the agent at once */
    cfg->log_level = (enum pfa_log_level)o->log_level;
    if (updates && (pf_mkdir_p(dir, 0700) != 0 || sim_update_config(o, dir, cfg))) {
        pfa_config_release(cfg);
        free(cfg);
        return pf_error_set(err, PF_EIO, "%s: update engine files", d->serial);
    }
    if (!cfg->broker_host || !cfg->state_dir ||
        (o->ca && (!cfg->tls_ca || !cfg->tls_cert || !cfg->tls_key))) {
        pfa_config_release(cfg);
        free(cfg);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    ao.seed = pfa_rand_next(&s->rng) | 1;
    ao.log_out = o->log;
    ao.may_connect = sim__gate_cb;
    ao.gate_ctx = s;
    ao.pair_guard = sim_pairs_guard;
    rc = pfa_agent_new(cfg, t->hal, &pf_clock_system, &ao, &t->agent, err);
    if (!rc && updates) {
        t->cfg = cfg;
        return 0;
    }
    pfa_config_release(cfg);
    free(cfg);
    if (rc)
        return pf_error_prefix(err, "%s", d->serial);
    return 0;
}

static void sim__term_free(struct sim_term *t)
{
    pfa_agent_free(t->agent);
    t->agent = NULL;
    if (t->cfg) {
        pfa_config_release(t->cfg);
        free(t->cfg);
        t->cfg = NULL;
    }
}

static int sim__rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* ---- status and summary ------------------------------------------------------- */

static void sim__totals(const struct sim_ctx *s, struct sim_totals *tot)
{
    memset(tot, 0, sizeof(*tot));
    for (size_t i = 0; i < s->created; i++) {
        struct pfa_agent_stats st;

        if (!s->t[i].agent)
            continue; /* could not boot again */
        pfa_agent_stats(s->t[i].agent, &st);
        tot->reconnects += st.reconnects;
        tot->connect_failures += st.connect_failures;
        tot->gate_deferrals += st.gate_deferrals;
        tot->reports_made += st.reports_made;
        tot->reports_acked += st.reports_acked;
        tot->queue_dropped += st.queue_dropped;
        tot->queue_len += st.queue_len;
    }
}

static json_t *sim__ms_or_null(int64_t v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

static json_t *sim__status_json(const struct sim_ctx *s, int64_t now)
{
    struct sim_totals tot;
    json_t *faults = json_object(), *j;

    sim__totals(s, &tot);
    for (int k = 0; faults && s->faults && k < SIM_FAULT_COUNT; k++)
        json_object_set_new(faults, sim_fault_names[k],
                            json_pack("{s:f,s:I}", "percent", s->faults->pct[k], "terminals",
                                      (json_int_t)s->faults->count[k]));
    j = json_pack("{s:I,s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,"
                  "s:b,s:o,s:I}",
                  "terminals", (json_int_t)s->n, "connected", (json_int_t)s->connected,
                  "all_connected_ms", sim__ms_or_null(s->all_connected_at), "connects",
                  (json_int_t)s->connacks, "attempts", (json_int_t)s->gate.granted, "reconnects",
                  (json_int_t)tot.reconnects, "connect_failures", (json_int_t)tot.connect_failures,
                  "gate_deferrals", (json_int_t)tot.gate_deferrals, "reports_made",
                  (json_int_t)tot.reports_made, "reports_acked", (json_int_t)tot.reports_acked,
                  "queue_dropped", (json_int_t)tot.queue_dropped, "queue_len",
                  (json_int_t)tot.queue_len, "rate_limit", (json_int_t)s->gate.rate,
                  "peak_attempts_per_s", (json_int_t)s->gate.peak, "peak_connects_per_s",
                  (json_int_t)s->connack_peak, "flaky_drops", (json_int_t)s->flaky_drops, "outages",
                  (json_int_t)s->outages, "last_outage_ms", sim__ms_or_null(s->last_outage_ms),
                  "in_outage", s->outage_at >= 0, "faults", faults ? faults : json_null(),
                  "elapsed_ms", (json_int_t)(now - s->t0));
    if (j)
        json_object_set_new(j, "reboots", json_integer((json_int_t)s->reboots));
    if (j && s->tamper.want)
        json_object_set_new(j, "tamper", sim_tamper_json(&s->tamper));
    return j;
}

static void sim__write_status(const struct sim_ctx *s, int64_t now)
{
    json_t *j;
    char *text;

    if (!s->o->status_path)
        return;
    j = sim__status_json(s, now);
    text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (text) {
        size_t len = strlen(text);

        text[len] = '\n';
        if (pf_file_write_atomic(s->o->status_path, text, len + 1, 0644) != 0)
            fprintf(stderr, "posfleet-sim: cannot write %s\n", s->o->status_path);
        text[len] = '\0';
    }
    free(text);
    json_decref(j);
}

static void sim__progress(const struct sim_ctx *s, uint64_t *last_attempts)
{
    if (s->o->quiet || s->connected == s->n || s->stopped)
        return;
    fprintf(stderr, "posfleet-sim: %zu/%zu connected, %llu attempts in the last second\n",
            s->connected, s->n, (unsigned long long)(s->gate.granted - *last_attempts));
    *last_attempts = s->gate.granted;
}

static int sim__summary(const struct sim_ctx *s, int64_t now)
{
    struct sim_totals tot;
    json_t *j;

    if (s->o->json) {
        j = sim__status_json(s, now);
        if (!j || json_dumpf(j, stdout, JSON_INDENT(2)) || fputc('\n', stdout) == EOF) {
            json_decref(j);
            return PF_EIO;
        }
        json_decref(j);
        return fflush(stdout) == 0 ? 0 : PF_EIO;
    }
    sim__totals(s, &tot);
    printf("terminals        %zu (connected at the end %zu)\n", s->n, s->connected);
    if (s->all_connected_at >= 0)
        printf("all connected    after %.1f s\n", (double)s->all_connected_at / 1000.0);
    else
        printf("all connected    never\n");
    printf("connects         %llu, reconnects %llu, connect failures %llu\n",
           (unsigned long long)s->connacks, (unsigned long long)tot.reconnects,
           (unsigned long long)tot.connect_failures);
    printf("attempts         %llu, peak %u/s (limit %u/s), peak CONNACKs %u/s\n",
           (unsigned long long)s->gate.granted, s->gate.peak, s->gate.rate, s->connack_peak);
    if (s->last_outage_ms >= 0)
        printf("last outage      all back %.1f s after the first loss (%u outages)\n",
               (double)s->last_outage_ms / 1000.0, s->outages);
    printf("reports          %llu sent, %llu acknowledged, %llu dropped, %llu queued\n",
           (unsigned long long)tot.reports_made, (unsigned long long)tot.reports_acked,
           (unsigned long long)tot.queue_dropped, (unsigned long long)tot.queue_len);
    if (s->tamper.want) {
        json_t *tj = sim_tamper_json(&s->tamper);
        char *txt = tj ? json_dumps(tj, JSON_COMPACT) : NULL;

        printf("tamper           %s\n", txt ? txt : "?");
        free(txt);
        json_decref(tj);
    }
    printf("faults applied  ");
    for (int k = 0; s->faults && k < SIM_FAULT_COUNT; k++) {
        if (s->faults->count[k])
            printf(" %s %zu", sim_fault_names[k], s->faults->count[k]);
    }
    if (s->flaky_drops)
        printf(" (links dropped %llu times)", (unsigned long long)s->flaky_drops);
    printf("\n");
    return fflush(stdout) == 0 ? 0 : PF_EIO;
}

/* ---- the loop ----------------------------------------------------------------- */

static void sim__dispatch(struct sim_ctx *s, size_t i, uint32_t ev)
{
    struct sim_term *t = &s->t[i];
    int fd = t->fd;

    if (fd < 0)
        return;
    if (ev & (EPOLLHUP | EPOLLERR)) {
        pfa_agent_on_error(t->agent);
    } else {
        if (ev & EPOLLIN)
            pfa_agent_on_readable(t->agent);
        if ((ev & EPOLLOUT) && pfa_agent_fd(t->agent) == fd)
            pfa_agent_on_writable(t->agent);
    }
    sim__refresh(s, i, sim__now());
}

static void sim__run_due(struct sim_ctx *s)
{
    int64_t now = sim__now();

    /* At most one pass over the fleet per round, whatever the agents do. */
    for (size_t budget = s->heap_n; budget > 0 && s->heap_n > 0; budget--) {
        size_t i = s->heap[0];
        struct sim_term *t = &s->t[i];

        if (t->deadline > now || !t->agent)
            break;
        if (t->connected && t->flaky_at <= now) {
            t->flaky_at = PFA_DEADLINE_NONE;
            if (t->fd >= 0 && shutdown(t->fd, SHUT_RDWR) == 0)
                s->flaky_drops++;
        }
        pfa_agent_tick(t->agent);
        sim__refresh(s, i, now);
    }
}

/* Trips the tamper switches that are due and tells their agents at once, as a
 * tamper interrupt would. */
static void sim__tamper_trips(struct sim_ctx *s)
{
    int64_t now = sim__now();
    size_t k, term;

    if (s->all_connected_at >= 0)
        sim_tamper_arm(&s->tamper, now);
    while ((k = sim_tamper_next(&s->tamper, now, &term)) != 0) {
        struct sim_term *t = &s->t[term];

        if (!t->agent || pfa_hal_sim_set(t->hal, "tamper", "1") != 0)
            continue;
        t->tamper_trial = k;
        if (!s->o->tamper_report_only)
            pfa_agent_tamper_check(t->agent);
        sim__refresh(s, term, now);
    }
}

static void sim__stop_all(struct sim_ctx *s)
{
    int64_t now = sim__now();

    for (size_t i = 0; i < s->n; i++) {
        if (!s->t[i].agent)
            continue;
        pfa_agent_stop(s->t[i].agent);
        sim__refresh(s, i, now);
    }
}

static int sim__setup_signals(struct sim_ctx *s, sigset_t *orig, struct pf_error *err)
{
    sigset_t set;
    struct epoll_event e = {.events = EPOLLIN, .data.u32 = SIM_SIGNAL_DATA};

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, orig) != 0)
        return pf_error_set(err, PF_EIO, "sigprocmask: %s", strerror(errno));
    s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->sigfd < 0 || epoll_ctl(s->ep, EPOLL_CTL_ADD, s->sigfd, &e) != 0)
        return pf_error_set(err, PF_EIO, "signalfd: %s", strerror(errno));
    return 0;
}

int sim_run(const struct sim_opts *o, const struct sim_fleet *fleet,
            const struct sim_faults *faults, struct pf_error *err)
{
    struct sim_ctx s = {.o = o,
                        .fleet = fleet,
                        .faults = faults,
                        .n = fleet->n,
                        .ep = -1,
                        .sigfd = -1,
                        .all_connected_at = -1,
                        .outage_at = -1,
                        .last_outage_ms = -1,
                        .connack_bucket = -1};
    struct epoll_event *events = NULL;
    sigset_t orig;
    bool stopping = false, state_made = false;
    int64_t next_status, stop_by = PFA_DEADLINE_NONE, end_at;
    uint64_t last_attempts = 0;
    int rc;

    sigemptyset(&orig);
    s.rng = o->seed ? o->seed : pfa_rand_seed();
    s.t = calloc(s.n, sizeof(*s.t));
    s.heap = calloc(s.n, sizeof(*s.heap));
    events = calloc(SIM_EVENTS, sizeof(*events));
    if (!s.t || !s.heap || !events) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_free;
    }
    if ((rc = sim_tamper_init(&s.tamper, o->tamper_count, o->tamper_every_ms, o->tamper_after_ms,
                              s.n))) {
        rc = pf_error_set(err, rc, "--tamper %zu: at most one per terminal (%zu)", o->tamper_count,
                          s.n);
        goto out_free;
    }
    s.ep = epoll_create1(EPOLL_CLOEXEC);
    if (s.ep < 0) {
        rc = pf_error_set(err, PF_EIO, "epoll: %s", strerror(errno));
        goto out_free;
    }
    if ((rc = sim__setup_signals(&s, &orig, err)))
        goto out_free;
    if ((rc = pf_mkdir_p(o->state_dir, 0700))) {
        rc = pf_error_set(err, rc, "%s: %s", o->state_dir, pf_strerror(rc));
        goto out_free;
    }
    state_made = true;
    if (pfa_agent_lib_init() != 0) {
        rc = pf_error_set(err, PF_EIO, "cannot initialise libmosquitto");
        goto out_free;
    }
    for (s.created = 0; s.created < s.n; s.created++) {
        if ((rc = sim__create(&s, s.created, err)))
            goto out_agents;
    }

    /* Ramp: terminal i's first attempt is due i/rate s after start; the gate holds the rate. */
    s.t0 = sim__now();
    sim_gate_init(&s.gate, o->rate, s.t0);
    s.connecting_max = o->rate / 2 > 0 ? o->rate / 2 : 1;
    for (size_t i = 0; i < s.n; i++) {
        pfa_agent_start(s.t[i].agent, (int64_t)(i * 1000 / o->rate));
        s.heap[i] = i;
        s.t[i].heap_pos = i;
        s.t[i].deadline = pfa_agent_next_deadline_ms(s.t[i].agent);
    }
    s.heap_n = s.n;
    for (size_t i = s.n / 2 + 1; i-- > 0;)
        if (i < s.n)
            sim__heap_fix(&s, i);
    if (!o->quiet)
        fprintf(stderr, "posfleet-sim: %zu terminals, connecting at up to %u/s to %s:%d\n", s.n,
                s.gate.rate, o->broker_host, o->broker_port);

    next_status = s.t0;
    end_at = o->duration_ms > 0 ? s.t0 + o->duration_ms : PFA_DEADLINE_NONE;
    for (;;) {
        int64_t now = sim__now(), wait, until = next_status;
        int nev;

        if (!stopping && now >= end_at) {
            stopping = true;
            stop_by = now + SIM_STOP_GRACE;
            sim__stop_all(&s);
        }
        if (stopping && (s.stopped == s.n || now >= stop_by))
            break;
        if (now >= next_status) {
            sim__write_status(&s, now);
            sim__progress(&s, &last_attempts);
            next_status = now + 1000;
            until = next_status;
        }
        if (s.heap_n && s.t[s.heap[0]].deadline < until)
            until = s.t[s.heap[0]].deadline;
        if (end_at < until && !stopping)
            until = end_at;
        if (!stopping && sim_tamper_deadline(&s.tamper) < until)
            until = sim_tamper_deadline(&s.tamper);
        wait = until - now;
        if (wait < 0)
            wait = 0;
        if (wait > 1000)
            wait = 1000;
        nev = epoll_wait(s.ep, events, SIM_EVENTS, (int)wait);
        if (nev < 0 && errno != EINTR) {
            rc = pf_error_set(err, PF_EIO, "epoll_wait: %s", strerror(errno));
            goto out_agents;
        }
        for (int k = 0; k < nev; k++) {
            if (events[k].data.u32 == SIM_SIGNAL_DATA) {
                struct signalfd_siginfo si;

                while (read(s.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                    ;
                if (!stopping) {
                    if (!o->quiet)
                        fprintf(stderr, "posfleet-sim: stopping (signal)\n");
                    stopping = true;
                    stop_by = sim__now() + SIM_STOP_GRACE;
                    sim__stop_all(&s);
                }
                continue;
            }
            sim__dispatch(&s, events[k].data.u32, events[k].events);
        }
        sim__run_due(&s);
        if (!stopping)
            sim__tamper_trips(&s);
    }
    sim__write_status(&s, sim__now());
    rc = sim__summary(&s, sim__now());
    if (rc)
        pf_error_set(err, rc, "cannot write the summary");

out_agents:
    for (size_t i = 0; i < s.created; i++) {
        sim__term_free(&s.t[i]);
        pfa_hal_free(s.t[i].hal);
    }
    if (s.created < s.n && s.t && s.t[s.created].hal)
        pfa_hal_free(s.t[s.created].hal);
    pfa_agent_lib_cleanup();
out_free:
    if (state_made && o->remove_state)
        (void)nftw(o->state_dir, sim__rm_entry, 64, FTW_DEPTH | FTW_PHYS);
    if (s.sigfd >= 0)
        close(s.sigfd);
    if (s.ep >= 0)
        close(s.ep);
    sigprocmask(SIG_SETMASK, &orig, NULL);
    free(events);
    free(s.heap);
    free(s.t);
    sim_tamper_release(&s.tamper);
    return rc;
}
