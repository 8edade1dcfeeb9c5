/*
 * agent.c - one terminal's session: connect with backoff, birth, periodic
 * health through the on-disk queue, PUBACK bookkeeping. Driven by the caller's
 * poll loop through libmosquitto's loop_read/loop_write/loop_misc.
 *
 * Over 800 lines as one module on purpose: the connection states, the
 * libmosquitto callbacks, the report queue and the glue that hands messages to
 * diagnostics and the update engine all read and change one private struct
 * pfa_agent, and posfleet-sim runs thousands of them; split, that struct would
 * have to move into a shared internal header. The TLS context set-up
 * (agent__tls_ctx) is the first part to leave if the file grows.
 */
#include <openssl/ssl.h>

#include "pfa/agent.h"
#include "pfa/boothist.h"

#include <errno.h>
#include <limits.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pfa/backoff.h"
#include "pfa/diag.h"
#include "pfa/lock.h"
#include "pfa/log.h"
#include "pf/num.h"
#include "pf/fileio.h"
#include "pf/msg.h"
#include "pf/msg_lifecycle.h"
#include "pf/topic.h"
#include "pf/version.h"
#include "pfa/queue.h"
#include "pfa/update.h"
#include "pf/msg_update.h"

#define AGENT_WINDOW        8    /* health reports in flight at once */
#define AGENT_STOP_GRACE_MS 2000 /* how long a graceful stop may take */
#define AGENT_SEQ_MAX_FILE  32

enum agent__state {
    AGENT_IDLE,       /* created, not started */
    AGENT_WAIT_RETRY, /* no connection; next attempt at retry_at */
    AGENT_CONNECTING, /* socket open, waiting for CONNACK */
    AGENT_CONNECTED,  /* CONNACK received */
    AGENT_STOPPING,   /* DISCONNECT sent, waiting for the socket to close */
    AGENT_STOPPED,
};

struct agent__inflight {
    int mid;
    uint32_t seq;
    int64_t sent_at; /* monotonic ms; reset on reconnect */
};

struct pfa_agent {
    struct pfa_log log;
    const struct pf_clock *clock;
    struct pfa_hal *hal;
    struct mosquitto *mosq;
    struct pfa_queue *queue;
    struct pfa_backoff backoff;
    uint64_t rng;

    char serial[PF_SERIAL_MAX + 1];
    char model[PF_MODEL_MAX + 1];
    char hw_rev[PF_HWREV_MAX + 1];
    char fw_version[PF_VERSION_MAX + 1];
    char fee_version[PF_VERSION_MAX + 1];
    struct pf_fee_pending fee_pending; /* a fee table waiting for its time, if any */
    enum pf_slot fw_slot;
    enum pf_boot_outcome boot;
    enum pf_check boot_selftest[PF_COMP_COUNT];
    char *host;
    char *seq_path;
    char *boot_path;
    uint32_t boot_count; /* this start's number (state_dir/boot), in every health report */
    int port;
    int keepalive_s;
    int64_t connect_timeout_ms;
    int64_t interval_ms;
    int jitter_pct;
    int64_t tamper_poll_ms; /* 0: only pfa_agent_tamper_check() */
    int64_t next_tamper_at;
    bool tamper_tripped; /* as last read */

    bool (*may_connect)(void *ctx, struct pfa_agent *a);
    void *gate_ctx;
    void (*pair_guard)(void *ctx, bool inside);
    void *pair_ctx;

    enum agent__state state;
    bool connect_started; /* libmosquitto has host and port: use reconnect_async */
    bool reported_once;
    int64_t start_mono;
    int64_t retry_at;
    int64_t connect_deadline;
    int64_t next_report_at;
    int64_t next_misc_at;
    int64_t stop_deadline;
    bool pump_pending; /* publish queued reports at the next opportunity */

    struct pfa_update *upd; /* update engine; NULL when not configured */
    struct pfa_diag *diag;  /* remote diagnostics (diag.c) */
    struct pfa_lock *lock;  /* payment lock (lock.c) */
    bool exit_on_reboot;

    uint32_t next_seq;
    struct agent__inflight inflight[AGENT_WINDOW];
    int ninflight;
    struct pfa_agent_stats st;
};

/* ---- helpers ---------------------------------------------------------- */

static int64_t agent__now(const struct pfa_agent *a)
{
    return pf_clock_mono_ms(a->clock);
}

static int64_t agent__jittered_interval(struct pfa_agent *a)
{
    int64_t spread = a->interval_ms * a->jitter_pct / 100;

    return a->interval_ms + pfa_rand_range(&a->rng, -spread, spread);
}

static int agent__topic(const struct pfa_agent *a, enum pf_dir dir, const char *leaf, char *buf,
                        size_t len)
{
    return pf_topic_build(buf, len, dir, a->serial, leaf);
}

static int agent__load_seq(struct pfa_agent *a)
{
    char *buf = NULL;
    size_t len;
    uint64_t v;
    uint32_t last = 0, qlast;
    int rc = pf_file_read(a->seq_path, AGENT_SEQ_MAX_FILE, &buf, &len);

    if (rc == 0) {
        buf[strcspn(buf, "\n")] = '\0';
        if (pf_parse_u64(buf, 0, UINT32_MAX, &v) != 0) {
            pfa_warn(&a->log, "%s: not a sequence number; starting after the queue", a->seq_path);
        } else {
            last = (uint32_t)v;
        }
        free(buf);
    } else if (rc != PF_ENOENT) {
        return rc;
    }
    if (pfa_queue_last_seq(a->queue, &qlast) == 0 && qlast > last)
        last = qlast;
    a->next_seq = last + 1;
    a->st.last_seq = last;
    return 0;
}

/*
 * Counts this start: state_dir/boot holds the number of the previous start, this one is the
 * next (1 on a fresh state directory; after UINT32_MAX, 1 again). posfleetd orders a
 * terminal's reports by (boot, seq), so a report queued before a restart can never hide one
 * measured after it, whatever happened to seq in between (docs/protocol.md).
 */
static int agent__count_boot(struct pfa_agent *a)
{
    char *buf = NULL, out[16];
    size_t len;
    uint64_t v = 0;
    int n, rc = pf_file_read(a->boot_path, AGENT_SEQ_MAX_FILE, &buf, &len);

    if (rc == 0) {
        buf[strcspn(buf, "\n")] = '\0';
        if (pf_parse_u64(buf, 0, UINT32_MAX, &v) != 0) {
            pfa_warn(&a->log, "%s: not a start counter; counting from 1", a->boot_path);
            v = 0;
        }
        free(buf);
    } else if (rc != PF_ENOENT) {
        return rc;
    }
    a->boot_count = v >= UINT32_MAX ? 1 : (uint32_t)v + 1;
    n = snprintf(out, sizeof(out), "%u\n", a->boot_count);
    return pf_file_write_atomic(a->boot_path, out, (size_t)n, 0600);
}

static int agent__save_seq(struct pfa_agent *a, uint32_t seq)
{
    char buf[16];
    int n = snprintf(buf, sizeof(buf), "%u\n", seq);

    return pf_file_write_atomic(a->seq_path, buf, (size_t)n, 0600);
}

/* ---- publishing --------------------------------------------------------- */

static int agent__publish(struct pfa_agent *a, const char *leaf, const char *payload, size_t len,
                          int *mid)
{
    char topic[PF_TOPIC_MAX];
    int rc = agent__topic(a, PF_DIR_DEV, leaf, topic, sizeof(topic));

    if (rc != 0)
        return rc;
    rc = mosquitto_publish_v5(a->mosq, mid, topic, (int)len, payload, 1, false, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        pfa_warn(&a->log, "publish %s: %s", leaf, mosquitto_strerror(rc));
        return PF_ECONN;
    }
    return 0;
}

static bool agent__is_inflight(const struct pfa_agent *a, uint32_t seq)
{
    for (int i = 0; i < a->ninflight; i++) {
        if (a->inflight[i].seq == seq)
            return true;
    }
    return false;
}

/* Publishes queued reports, oldest first, up to the in-flight window. */
static void agent__pump(struct pfa_agent *a)
{
    size_t n = pfa_queue_len(a->queue);

    a->pump_pending = false;
    if (a->state != AGENT_CONNECTED)
        return;
    for (size_t i = 0; i < n && a->ninflight < AGENT_WINDOW; i++) {
        char *buf;
        size_t len;
        uint32_t seq;
        int mid = 0, rc;

        if (pfa_queue_seq_at(a->queue, i, &seq) != 0)
            break;
        if (agent__is_inflight(a, seq))
            continue;
        rc = pfa_queue_read(a->queue, seq, &buf, &len);
        if (rc != 0) {
            pfa_warn(&a->log, "queue: report %u unreadable (%s); dropping it", seq,
                     pf_strerror(rc));
            if (pfa_queue_remove(a->queue, seq) == 0)
                a->st.queue_dropped++;
            n = pfa_queue_len(a->queue);
            i--;
            continue;
        }
        rc = agent__publish(a, PF_DEV_HEALTH, buf, len, &mid);
        free(buf);
        if (rc != 0)
            return;
        a->inflight[a->ninflight].mid = mid;
        a->inflight[a->ninflight].seq = seq;
        a->inflight[a->ninflight].sent_at = agent__now(a);
        a->ninflight++;
        pfa_debug(&a->log, "health seq %u published (mid %d)", seq, mid);
    }
}

/* ---- health ----------------------------------------------------------- */

static void agent__sample(struct pfa_agent *a, struct pf_health *h)
{
    const struct pfa_hal_ops *ops = a->hal->ops;
    struct pfa_hal_txn txn;
    int64_t now = agent__now(a);

    memset(h, 0, sizeof(*h));
    h->ts_ms = pf_clock_wall_ms(a->clock);
    pfa_hal_selftest_all(a->hal, h->selftest);
    if (ops->power(a->hal, &h->battery_pct, &h->charging) != 0) {
        pfa_warn(&a->log, "hal: power probe failed");
        h->battery_pct = 0;
        h->charging = false;
        h->selftest[PF_COMP_POWER] = PF_CHECK_FAIL;
    }
    if (ops->network(a->hal, &h->net_type, &h->signal_dbm) != 0) {
        pfa_warn(&a->log, "hal: network probe failed");
        h->net_type = PF_NET_NONE;
        h->signal_dbm = -150;
        h->selftest[PF_COMP_NETWORK] = PF_CHECK_FAIL;
    }
    if (ops->temperature(a->hal, &h->temp_c) != 0) {
        pfa_warn(&a->log, "hal: temperature probe failed");
        h->temp_c = 0;
    }
    if (ops->storage_free(a->hal, &h->storage_free_kb) != 0) {
        pfa_warn(&a->log, "hal: storage probe failed");
        h->storage_free_kb = 0;
    }
    if (ops->mem_free(a->hal, &h->mem_free_kb) != 0) {
        pfa_warn(&a->log, "hal: memory probe failed");
        h->mem_free_kb = 0;
    }
    if (ops->paper(a->hal, &h->paper) != 0) {
        pfa_warn(&a->log, "hal: paper probe failed");
        h->paper = PF_PAPER_OUT;
        h->selftest[PF_COMP_PRINTER] = PF_CHECK_FAIL;
    }
    if (ops->tamper(a->hal, &h->tamper) != 0) {
        /* A tamper switch that cannot be read is treated as tripped. */
        pfa_warn(&a->log, "hal: tamper probe failed");
        h->tamper = true;
        h->selftest[PF_COMP_SECURE_ELEMENT] = PF_CHECK_FAIL;
    }
    if (ops->faults(a->hal, &h->err_reader, &h->err_printer) != 0) {
        pfa_warn(&a->log, "hal: fault counters unreadable");
        h->err_reader = h->err_printer = 0;
    }
    if (ops->transactions(a->hal, &txn) != 0) {
        pfa_warn(&a->log, "hal: transaction totals unreadable");
        memset(&txn, 0, sizeof(txn));
        memcpy(txn.currency, "XXX", 4);
    }
    h->txn_count = txn.count;
    h->txn_amount_minor = txn.amount_minor;
    memcpy(h->currency, txn.currency, sizeof(h->currency));
    if (!ops->uptime || ops->uptime(a->hal, &h->uptime_s) != 0)
        h->uptime_s = (uint64_t)((now - a->start_mono) / 1000);
    memcpy(h->fw_version, a->fw_version, sizeof(h->fw_version));
    h->fw_slot = a->fw_slot;
    memcpy(h->fee_version, a->fee_version, sizeof(h->fee_version));
    h->fee_pending = a->fee_pending;
    h->err_reconnects = a->st.reconnects;
    h->err_queue_dropped = a->st.queue_dropped;
}

/*
 * Takes one report and stores it in the queue. A report that can go out at
 * once (connected, nothing older waiting) is marked queued=false; anything
 * that will wait is marked queued=true, since it is delivered late.
 */
static void agent__report(struct pfa_agent *a)
{
    char buf[PF_MSG_MAX];
    struct pf_health h;
    size_t len;
    unsigned dropped = 0;
    uint32_t seq = a->next_seq;
    int rc;

    agent__sample(a, &h);
    h.boot = a->boot_count;
    h.seq = seq;
    h.queued = !(a->state == AGENT_CONNECTED && pfa_queue_len(a->queue) == 0);
    rc = pf_health_encode(&h, buf, sizeof(buf), &len);
    if (rc != 0) {
        pfa_err(&a->log, "health seq %u: cannot encode: %s", seq, pf_strerror(rc));
        return;
    }
    rc = agent__save_seq(a, seq);
    if (rc != 0) {
        pfa_err(&a->log, "%s: cannot save sequence number: %s", a->seq_path, pf_strerror(rc));
        return;
    }
    a->next_seq = seq + 1;
    a->st.last_seq = seq;
    rc = pfa_queue_push(a->queue, seq, buf, len, &dropped);
    if (rc != 0) {
        pfa_err(&a->log, "health seq %u: cannot queue: %s", seq, pf_strerror(rc));
        return;
    }
    a->st.reports_made++;
    if (dropped) {
        a->st.queue_dropped += dropped;
        pfa_warn(&a->log, "queue full: dropped %u oldest report(s)", dropped);
    }
    a->reported_once = true;
    pfa_debug(&a->log, "health seq %u queued (%zu waiting)", seq, pfa_queue_len(a->queue));
    agent__pump(a);
}

/* ---- connection --------------------------------------------------------- */

static void agent__schedule_retry(struct pfa_agent *a)
{
    int64_t delay = pfa_backoff_next(&a->backoff);

    a->retry_at = agent__now(a) + delay;
    a->state = AGENT_WAIT_RETRY;
    pfa_info(&a->log, "reconnecting in %lld ms", (long long)delay);
}

/* The session ended (or never started): count it and plan the next attempt. */
static void agent__lost(struct pfa_agent *a, const char *why)
{
    if (a->upd)
        pfa_update_on_disconnect(a->upd);
    switch (a->state) {
    case AGENT_CONNECTED:
        a->st.reconnects++;
        a->st.connected = false;
        pfa_warn(&a->log, "connection lost: %s", why);
        agent__schedule_retry(a);
        break;
    case AGENT_CONNECTING:
        a->st.connect_failures++;
        pfa_warn(&a->log, "connect failed: %s", why);
        agent__schedule_retry(a);
        break;
    case AGENT_STOPPING:
        a->state = AGENT_STOPPED;
        a->st.connected = false;
        pfa_info(&a->log, "disconnected");
        break;
    default:
        break;
    }
}

static void agent__pair_guard(struct pfa_agent *a, bool inside)
{
    if (a->pair_guard)
        a->pair_guard(a->pair_ctx, inside);
}

static void agent__connect_start(struct pfa_agent *a)
{
    int rc;

    if (a->may_connect && !a->may_connect(a->gate_ctx, a)) {
        a->retry_at = agent__now(a) + pfa_rand_range(&a->rng, 50, 250);
        a->st.gate_deferrals++;
        return;
    }

    if (!a->connect_started) {
        /* The first connect opens a wake-up socket pair (opts.pair_guard). */
        agent__pair_guard(a, true);
        rc = mosquitto_connect_bind_async(a->mosq, a->host, a->port, a->keepalive_s, NULL);
        agent__pair_guard(a, false);
        /* Only argument and memory errors leave libmosquitto without host and port. */
        if (rc != MOSQ_ERR_INVAL && rc != MOSQ_ERR_NOMEM)
            a->connect_started = true;
    } else {
        rc = mosquitto_reconnect_async(a->mosq);
    }
    a->state = AGENT_CONNECTING;
    a->connect_deadline = agent__now(a) + a->connect_timeout_ms;
    if (rc != MOSQ_ERR_SUCCESS) {
        agent__lost(a, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        return;
    }
    pfa_debug(&a->log, "connecting to %s:%d", a->host, a->port);
}

static void agent__on_connect(struct mosquitto *mosq, void *ud, int rc, int flags,
                              const mosquitto_property *props)
{
    struct pfa_agent *a = ud;
    char topic[PF_TOPIC_MAX], buf[PF_MSG_MAX];
    struct pf_state state = {PF_STATE_ONLINE, 0};
    struct pf_birth birth;
    size_t len;
    int64_t now;

    (void)props;
    if (rc != 0) {
        pfa_err(&a->log, "broker refused the connection: %s", mosquitto_reason_string(rc));
        return; /* libmosquitto closes the socket; the disconnect callback retries */
    }
    now = agent__now(a);
    a->state = AGENT_CONNECTED;
    a->st.connected = true;
    a->st.connects++;
    pfa_backoff_reset(&a->backoff);
    a->next_misc_at = now;
    pfa_info(&a->log, "connected to %s:%d (session %s)", a->host, a->port,
             flags ? "resumed" : "new");

    /*
     * Subscribe before announcing ourselves: the broker handles one client's packets in
     * order, so the subscription exists before posfleetd sees the birth and answers it
     * (an offer sent again at birth would otherwise reach a new session with no
     * subscription yet, and be dropped).
     */
    if (agent__topic(a, PF_DIR_CMD, "#", topic, sizeof(topic)) == 0) {
        rc = mosquitto_subscribe_v5(a->mosq, NULL, topic, 1, 0, NULL);
        if (rc != MOSQ_ERR_SUCCESS)
            pfa_warn(&a->log, "subscribe %s: %s", topic, mosquitto_strerror(rc));
    }

    state.ts_ms = pf_clock_wall_ms(a->clock);
    if (pf_state_encode(&state, buf, sizeof(buf), &len) == 0)
        (void)agent__publish(a, PF_DEV_STATE, buf, len, NULL);

    memset(&birth, 0, sizeof(birth));
    birth.ts_ms = pf_clock_wall_ms(a->clock);
    memcpy(birth.model, a->model, sizeof(birth.model));
    memcpy(birth.hw_rev, a->hw_rev, sizeof(birth.hw_rev));
    memcpy(birth.fw_version, a->fw_version, sizeof(birth.fw_version));
    birth.fw_slot = a->fw_slot;
    memcpy(birth.fee_version, a->fee_version, sizeof(birth.fee_version));
    birth.fee_pending = a->fee_pending;
    birth.boot = a->boot;
    memcpy(birth.agent_version, PFA_AGENT_VERSION, sizeof(PFA_AGENT_VERSION));
    memcpy(birth.selftest, a->boot_selftest, sizeof(birth.selftest));
    if (pf_birth_encode(&birth, buf, sizeof(buf), &len) == 0)
        (void)agent__publish(a, PF_DEV_BIRTH, buf, len, NULL);
    else
        pfa_err(&a->log, "birth: cannot encode");

    /* Reports still in flight from the last connection are resent by
     * libmosquitto after this callback returns; restart their ack clocks and
     * publish newer reports only after that (the pump runs after the read). */
    for (int i = 0; i < a->ninflight; i++)
        a->inflight[i].sent_at = now;
    if (!a->reported_once)
        a->next_report_at = now; /* first report right after the first birth */
    a->pump_pending = true;
    if (a->upd)
        pfa_update_on_connect(a->upd);
}

static void agent__on_disconnect(struct mosquitto *mosq, void *ud, int rc,
                                 const mosquitto_property *props)
{
    struct pfa_agent *a = ud;

    (void)mosq;
    (void)props;
    agent__lost(a, rc == 0 ? "closed" : mosquitto_strerror(rc));
}

static void agent__on_publish(struct mosquitto *mosq, void *ud, int mid, int reason,
                              const mosquitto_property *props)
{
    struct pfa_agent *a = ud;

    (void)mosq;
    (void)props;
    for (int i = 0; i < a->ninflight; i++) {
        uint32_t seq;
        int rc;

        if (a->inflight[i].mid != mid)
            continue;
        seq = a->inflight[i].seq;
        a->inflight[i] = a->inflight[--a->ninflight];
        if (reason >= 0x80)
            pfa_warn(&a->log, "health seq %u refused by the broker: %s; dropping it", seq,
                     mosquitto_reason_string(reason));
        rc = pfa_queue_remove(a->queue, seq);
        if (rc == 0 && reason < 0x80)
            a->st.reports_acked++;
        else if (rc != 0 && rc != PF_ENOENT)
            pfa_err(&a->log, "queue: cannot remove report %u: %s", seq, pf_strerror(rc));
        pfa_debug(&a->log, "health seq %u acknowledged", seq);
        a->pump_pending = true;
        return;
    }
}

static void agent__on_message(struct mosquitto *mosq, void *ud, const struct mosquitto_message *m,
                              const mosquitto_property *props)
{
    struct pfa_agent *a = ud;
    struct pf_error err = {0};
    enum pf_dir dir;
    char serial[PF_SERIAL_MAX + 1];
    const char *leaf;
    struct pf_ack ack;

    (void)mosq;
    (void)props;
    if (pf_topic_parse(m->topic, &dir, serial, &leaf) != 0 || dir != PF_DIR_CMD ||
        strcmp(serial, a->serial) != 0) {
        pfa_warn(&a->log, "ignoring a message on an unexpected topic");
        return;
    }
    if (strcmp(leaf, PF_CMD_ACK) == 0) {
        if (pf_ack_decode(m->payload, (size_t)m->payloadlen, &ack, &err) != 0) {
            pfa_warn(&a->log, "ack rejected: %s", err.msg);
            return;
        }
        a->st.acks_received++;
        pfa_debug(&a->log, "ack for event %s", ack.id);
        if (a->upd)
            pfa_update_on_ack(a->upd, ack.id);
        return;
    }
    if (pfa_lock_on_message(a->lock, leaf, m->payload, (size_t)m->payloadlen))
        return;
    if (a->upd && pfa_update_on_message(a->upd, leaf, m->payload, (size_t)m->payloadlen))
        return;
    if (a->diag) {
        void *corr = NULL;
        uint16_t corr_len = 0;
        bool mine;

        (void)mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &corr_len,
                                             false);
        mine = pfa_diag_on_message(a->diag, leaf, m->payload, (size_t)m->payloadlen, corr,
                                   corr_len);
        free(corr);
        if (mine)
            return;
    }
    pfa_debug(&a->log, "ignoring command %s (not supported by this agent)", leaf);
}

/* ---- lifecycle ---------------------------------------------------------- */

int pfa_agent_lib_init(void)
{
    return mosquitto_lib_init() == MOSQ_ERR_SUCCESS ? 0 : PF_EIO;
}

void pfa_agent_lib_cleanup(void)
{
    mosquitto_lib_cleanup();
}

/* Why FILE could not be used: the system's reason when it cannot be read, else WHAT. */
static const char *agent__tls_file_why(const char *file, const char *what)
{
    return access(file, R_OK) != 0 ? strerror(errno) : what;
}

/*
 * The terminal's TLS context, loaded once: CA, certificate chain and key. Left to
 * itself libmosquitto 2.0 re-reads and re-parses all three files at every connection
 * attempt (net__init_ssl_ctx), which with OpenSSL 3's decoders costs milliseconds of
 * CPU per attempt: after a broker restart a whole fleet of simulated terminals pays
 * it at once (docs/benchmarks.md, sim_fleet). The settings are the ones libmosquitto
 * would apply: verify the broker's chain and its name or address (broker.host, as a
 * certificate host or IP name), TLS 1.2 or later, security level 2 whatever the
 * system openssl.cnf says (or whether it is read), no compression, no idle record
 * buffers (about 34 KiB per connection: OpenSSL allocates them per record).
 * Only libssl calls: the core links libssl, not libcrypto.
 */
static int agent__tls_ctx(const struct pfa_config *cfg, SSL_CTX **out, struct pf_error *err)
{
    SSL_CTX *ctx;
    SSL *proto = NULL;
    int rc = 0;

    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return pf_error_set(err, PF_ENOMEM, "tls: cannot create a TLS context");
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=2") != 1) {
        rc = pf_error_set(err, PF_EINVAL, "tls: protocol or cipher settings refused");
        goto out_free_ctx;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_load_verify_file(ctx, cfg->tls_ca) != 1) {
        rc = pf_error_set(err, PF_EINVAL, "tls: cannot use tls.ca %s: %s", cfg->tls_ca,
                          agent__tls_file_why(cfg->tls_ca, "no PEM certificate in it"));
        goto out_free_ctx;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
        rc = pf_error_set(err, PF_EINVAL, "tls: cannot use tls.cert %s: %s", cfg->tls_cert,
                          agent__tls_file_why(cfg->tls_cert, "no usable PEM certificate in it"));
        goto out_free_ctx;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
        rc = pf_error_set(err, PF_EINVAL, "tls: cannot use tls.key %s: %s", cfg->tls_key,
                          agent__tls_file_why(cfg->tls_key, "no usable PEM private key in it"));
        goto out_free_ctx;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        rc = pf_error_set(err, PF_EINVAL, "tls: tls.key %s does not belong to tls.cert %s",
                          cfg->tls_key, cfg->tls_cert);
        goto out_free_ctx;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* The broker's name goes into the context's verification parameters, which every
     * connection inherits; SSL_set1_host() takes an IP address as one. */
    proto = SSL_new(ctx);
    if (!proto || SSL_set1_host(proto, cfg->broker_host) != 1 ||
        SSL_CTX_set1_param(ctx, SSL_get0_param(proto)) != 1) {
        rc = pf_error_set(err, PF_EINVAL, "tls: cannot verify the broker as %s", cfg->broker_host);
        goto out_free_ctx;
    }
    SSL_free(proto);
    *out = ctx;
    return 0;

out_free_ctx:
    SSL_free(proto);
    SSL_CTX_free(ctx);
    return rc;
}

static int agent__mqtt_setup(struct pfa_agent *a, const struct pfa_config *cfg,
                             struct pf_error *err)
{
    char topic[PF_TOPIC_MAX], will[PF_MSG_MAX];
    struct pf_state offline = {PF_STATE_OFFLINE, 0};
    mosquitto_property *props = NULL;
    size_t len;
    int rc;

    /* mosquitto_new() opens a wake-up socket pair (opts.pair_guard). */
    agent__pair_guard(a, true);
    a->mosq = mosquitto_new(a->serial, false, a);
    agent__pair_guard(a, false);
    if (!a->mosq)
        return pf_error_set(err, PF_ENOMEM, "mqtt: cannot create client");
    mosquitto_int_option(a->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    /* No Nagle: an answer written right after the PUBACK of its request must not wait for
     * the broker's delayed ACK (40 ms on Linux) - diagnostics round trips (docs/benchmarks.md). */
    mosquitto_int_option(a->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_v5_callback_set(a->mosq, agent__on_connect);
    mosquitto_disconnect_v5_callback_set(a->mosq, agent__on_disconnect);
    mosquitto_publish_v5_callback_set(a->mosq, agent__on_publish);
    mosquitto_message_v5_callback_set(a->mosq, agent__on_message);

    if (pfa_config_tls(cfg)) {
        SSL_CTX *ctx = NULL;

        rc = agent__tls_ctx(cfg, &ctx, err);
        if (rc != 0)
            return rc;
        /* libmosquitto takes its own reference and uses the context as it is. */
        mosquitto_int_option(a->mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
        rc = mosquitto_void_option(a->mosq, MOSQ_OPT_SSL_CTX, ctx);
        SSL_CTX_free(ctx);
        if (rc != MOSQ_ERR_SUCCESS)
            return pf_error_set(err, PF_EINVAL, "tls: %s", mosquitto_strerror(rc));
    } else {
        pfa_warn(&a->log, "no tls.* keys: connecting WITHOUT TLS (development only)");
    }

    rc = agent__topic(a, PF_DIR_DEV, PF_DEV_STATE, topic, sizeof(topic));
    if (rc == 0)
        rc = pf_state_encode(&offline, will, sizeof(will), &len);
    if (rc != 0)
        return pf_error_set(err, rc, "mqtt: last will: %s", pf_strerror(rc));
    rc = mosquitto_will_set_v5(a->mosq, topic, (int)len, will, 1, false, NULL);
    if (rc != MOSQ_ERR_SUCCESS)
        return pf_error_set(err, PF_EINVAL, "mqtt: last will: %s", mosquitto_strerror(rc));

    /*
     * A persistent session needs the Session Expiry Interval on every CONNECT,
     * but only mosquitto_connect_bind_v5() (which connects TCP synchronously)
     * takes CONNECT properties. libmosquitto 2.0 remembers the interval from
     * that call even when it fails its argument checks, and sends it on every
     * later (re)connect, so hand it over here with no host (MOSQ_ERR_INVAL, no
     * I/O) and connect with the non-blocking calls. tests/unit/test_agent_session.c
     * checks the interval reaches a real broker.
     */
    rc = mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                      (uint32_t)cfg->session_expiry_s);
    if (rc != MOSQ_ERR_SUCCESS)
        return pf_error_set(err, PF_ENOMEM, "mqtt: session expiry property");
    (void)mosquitto_connect_bind_v5(a->mosq, NULL, a->port, a->keepalive_s, NULL, props);
    mosquitto_property_free_all(&props);
    return 0;
}

/* ---- diagnostics glue ------------------------------------------------------------ */

static int agent__diag_publish(void *ctx, const char *leaf, const void *buf, size_t len,
                               const void *corr, size_t corr_len)
{
    struct pfa_agent *a = ctx;
    mosquitto_property *props = NULL;
    char topic[PF_TOPIC_MAX];
    int rc;

    if (a->state != AGENT_CONNECTED || agent__topic(a, PF_DIR_DEV, leaf, topic, sizeof(topic)))
        return PF_ECONN;
    if (corr_len && mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr,
                                                  (uint16_t)corr_len) != MOSQ_ERR_SUCCESS)
        return PF_ENOMEM;
    rc = mosquitto_publish_v5(a->mosq, NULL, topic, (int)len, buf, 1, false, props);
    mosquitto_property_free_all(&props);
    return rc == MOSQ_ERR_SUCCESS ? 0 : PF_ECONN;
}

static void agent__diag_identity(void *ctx, struct pfa_diag_identity *out)
{
    struct pfa_agent *a = ctx;
    struct pfa_update_stats us;

    out->fw_version = a->fw_version;
    out->fw_slot = a->fw_slot;
    out->fee_version = a->fee_version;
    out->boot = a->boot;
    out->update_configured = a->upd != NULL;
    out->update_busy = false;
    if (a->upd) {
        pfa_update_stats(a->upd, &us);
        out->update_busy = us.busy;
    }
}

static void agent__diag_reboot(void *ctx)
{
    struct pfa_agent *a = ctx;

    if (a->exit_on_reboot)
        _exit(0); /* simulation: the supervisor starts the agent again ("boot") */
}

/* ---- update engine glue ------------------------------------------------------ */

static int agent__upd_publish(void *ctx, const char *leaf, const void *buf, size_t len, int qos)
{
    struct pfa_agent *a = ctx;
    char topic[PF_TOPIC_MAX];

    if (a->state != AGENT_CONNECTED || agent__topic(a, PF_DIR_DEV, leaf, topic, sizeof(topic)))
        return PF_ECONN;
    if (mosquitto_publish_v5(a->mosq, NULL, topic, (int)len, buf, qos, false, NULL) !=
        MOSQ_ERR_SUCCESS)
        return PF_ECONN;
    return 0;
}

static void agent__upd_reboot(void *ctx)
{
    struct pfa_agent *a = ctx;

    pfa_info(&a->log, "rebooting to finish an update");
    if (a->exit_on_reboot)
        _exit(0); /* simulation: the supervisor starts the agent again ("boot") */
}

static void agent__upd_identity(void *ctx, const char *fw, enum pf_slot slot, const char *fee,
                                const struct pf_fee_pending *pending)
{
    struct pfa_agent *a = ctx;
    bool fee_changed = strcmp(a->fee_version, fee) != 0 ||
                       strcmp(a->fee_pending.version, pending->version) != 0 ||
                       a->fee_pending.effective_at != pending->effective_at;

    if (pfa_agent_set_firmware(a, fw, slot) != 0 || pfa_agent_set_fee_version(a, fee) != 0)
        pfa_warn(&a->log, "update: cannot report firmware %s / fee table %s", fw, fee);
    a->fee_pending = *pending;
    /* A fee table staged or made active is reported at once, not at the next interval:
     * support reads it on the terminal's card (docs/protocol.md, fee_pending). */
    if (fee_changed && a->state == AGENT_CONNECTED)
        a->next_report_at = agent__now(a);
}

static int agent__upd_setup(struct pfa_agent *a, const struct pfa_config *cfg, struct pf_error *err)
{
    struct pfa_update_config uc;
    struct pfa_update_io io = {agent__upd_publish, agent__upd_reboot, NULL, agent__upd_identity, a};

    pfa_update_config_init(&uc);
    uc.state_dir = cfg->state_dir;
    uc.slot_a = cfg->upd_slot_a;
    uc.slot_b = cfg->upd_slot_b;
    uc.boot_backend = cfg->upd_boot;
    uc.boot_env = cfg->upd_boot_env;
    uc.boot_cmdline = cfg->upd_boot_cmdline;
    uc.trust_root = cfg->upd_trust_root;
    uc.keyring = cfg->upd_keyring;
    uc.feetable_dir = cfg->upd_feetable_dir;
    uc.model = cfg->model;
    uc.hw_rev = cfg->hw_rev;
    uc.fw_version = cfg->fw_version;
    uc.fw_slot = cfg->fw_slot;
    uc.battery_min_pct = cfg->upd_battery_min_pct;
    uc.storage_margin_kb = cfg->upd_storage_margin_kb;
    uc.retry_s = cfg->upd_retry_s;
    uc.stall_s = cfg->upd_stall_s;
    uc.resend_s = cfg->upd_resend_s;
    uc.boot_tries = cfg->upd_boot_tries;
    uc.chunk_size = (uint32_t)cfg->upd_chunk_kb * 1024u;
    uc.window = cfg->upd_window;
    uc.persist_bytes = (uint64_t)cfg->upd_persist_kb * 1024u;
    a->exit_on_reboot = cfg->upd_exit_on_reboot != 0;
    return pfa_update_new(&uc, a->hal, a->clock, &io, &a->log, &a->upd, err);
}

int pfa_agent_new(const struct pfa_config *cfg, struct pfa_hal *hal, const struct pf_clock *clock,
                  const struct pfa_agent_opts *opts, struct pfa_agent **out, struct pf_error *err)
{
    struct pf_error hist_err = {0};
    struct pfa_agent_opts none = {0};
    struct pfa_agent *a;
    int rc;

    if (!opts)
        opts = &none;
    if (!cfg->state_dir || !cfg->broker_host || !pf_serial_valid(cfg->serial))
        return pf_error_set(err, PF_EINVAL, "agent: incomplete configuration");
    a = calloc(1, sizeof(*a));
    if (!a)
        return pf_error_set(err, PF_ENOMEM, "agent: out of memory");
    a->clock = clock;
    a->hal = hal;
    memcpy(a->serial, cfg->serial, sizeof(a->serial));
    memcpy(a->model, cfg->model, sizeof(a->model));
    memcpy(a->hw_rev, cfg->hw_rev, sizeof(a->hw_rev));
    memcpy(a->fw_version, cfg->fw_version, sizeof(a->fw_version));
    memcpy(a->fee_version, cfg->fee_version, sizeof(a->fee_version));
    a->fw_slot = cfg->fw_slot;
    a->boot = PF_BOOT_NORMAL;
    a->log.level = cfg->log_level;
    a->log.tag = opts->log_no_tag ? NULL : a->serial;
    a->log.out = opts->log_out;
    a->may_connect = opts->may_connect;
    a->gate_ctx = opts->gate_ctx;
    a->pair_guard = opts->pair_guard;
    a->pair_ctx = opts->pair_ctx;
    a->port = cfg->broker_port;
    a->keepalive_s = cfg->keepalive_s;
    a->connect_timeout_ms = (int64_t)cfg->connect_timeout_s * 1000;
    a->interval_ms = (int64_t)cfg->health_interval_s * 1000;
    a->jitter_pct = cfg->health_jitter_pct;
    a->tamper_poll_ms = cfg->tamper_poll_ms;
    a->rng = opts->seed ? opts->seed : pfa_rand_seed();
    pfa_backoff_init(&a->backoff, cfg->backoff_min_ms, cfg->backoff_max_ms,
                     pfa_rand_next(&a->rng) | 1);
    a->state = AGENT_IDLE;
    a->retry_at = PFA_DEADLINE_NONE;
    a->start_mono = agent__now(a);

    a->host = strdup(cfg->broker_host);
    if (strlen(cfg->state_dir) + sizeof("/update/state.json") >= PATH_MAX) {
        rc = pf_error_set(err, PF_ETOOBIG, "state_dir: path too long");
        goto out_free;
    }
    a->seq_path = pf_path_join(cfg->state_dir, "seq");
    a->boot_path = pf_path_join(cfg->state_dir, "boot");
    if (!a->host || !a->seq_path || !a->boot_path) {
        rc = pf_error_set(err, PF_ENOMEM, "agent: out of memory");
        goto out_free;
    }
    /* The client first: a bad TLS file must not leave a state directory behind. */
    rc = agent__mqtt_setup(a, cfg, err);
    if (rc != 0)
        goto out_free;
    rc = pf_mkdir_p(cfg->state_dir, 0700);
    if (rc != 0) {
        pf_error_set(err, rc, "state_dir %s: %s", cfg->state_dir, pf_strerror(rc));
        goto out_free;
    }
    {
        char *qdir = pf_path_join(cfg->state_dir, "queue");

        rc = qdir ? pfa_queue_open(qdir, (size_t)cfg->queue_max, &a->queue, err)
                  : pf_error_set(err, PF_ENOMEM, "agent: out of memory");
        free(qdir);
    }
    if (rc != 0)
        goto out_free;
    a->st.queue_dropped = pfa_queue_dropped(a->queue);
    rc = agent__load_seq(a);
    if (rc != 0) {
        pf_error_set(err, rc, "%s: %s", a->seq_path, pf_strerror(rc));
        goto out_free;
    }
    rc = agent__count_boot(a);
    if (rc != 0) {
        pf_error_set(err, rc, "%s: %s", a->boot_path, pf_strerror(rc));
        goto out_free;
    }
    /* The update engine's boot step (post-update self-test, commit or fallback). */
    if (pfa_config_updates(cfg) && (rc = agent__upd_setup(a, cfg, err)) != 0)
        goto out_free;
    if (a->upd)
        a->boot = pfa_update_boot_outcome(a->upd);
    /* A history that cannot be written must not keep the terminal from booting. */
    if (pfa_boothist_record(cfg->state_dir, pf_clock_wall_ms(clock), a->fw_slot, a->fw_version,
                            a->boot, &hist_err) != 0)
        pfa_warn(&a->log, "%s", hist_err.msg);
    {
        struct pfa_diag_io dio = {agent__diag_publish, agent__diag_identity, agent__diag_reboot, a};

        if (!pfa_config_updates(cfg))
            a->exit_on_reboot = cfg->upd_exit_on_reboot != 0;
        if ((rc = pfa_diag_new(cfg, hal, clock, &a->log, &dio, &a->diag, err)) != 0)
            goto out_free;
    }
    {
        struct pfa_lock_io lio = {NULL, agent__upd_publish, a};

        if ((rc = pfa_lock_new(cfg->state_dir, cfg->hal_dir, &lio, &a->log, &a->lock, err)) != 0)
            goto out_free;
    }
    /* Boot self-test: its results go into the birth message. */
    pfa_hal_selftest_all(hal, a->boot_selftest);
    for (int c = 0; c < PF_COMP_COUNT; c++) {
        if (a->boot_selftest[c] == PF_CHECK_FAIL)
            pfa_warn(&a->log, "self-test: %s failed", pf_component_names[c]);
    }
    a->next_report_at = a->start_mono + agent__jittered_interval(a);
    a->next_tamper_at = a->tamper_poll_ms ? a->start_mono + a->tamper_poll_ms : PFA_DEADLINE_NONE;
    *out = a;
    return 0;

out_free:
    pfa_agent_free(a);
    return rc;
}

void pfa_agent_free(struct pfa_agent *a)
{
    if (!a)
        return;
    if (a->mosq)
        mosquitto_destroy(a->mosq);
    pfa_update_free(a->upd);
    pfa_diag_free(a->diag);
    pfa_lock_free(a->lock);
    pfa_queue_close(a->queue);
    free(a->host);
    free(a->seq_path);
    free(a->boot_path);
    free(a);
}

void pfa_agent_start(struct pfa_agent *a, int64_t delay_ms)
{
    if (a->state != AGENT_IDLE)
        return;
    a->state = AGENT_WAIT_RETRY;
    a->retry_at = agent__now(a) + (delay_ms > 0 ? delay_ms : 0);
}

/* ---- driving -------------------------------------------------------------- */

static bool agent__has_socket(const struct pfa_agent *a)
{
    return a->state == AGENT_CONNECTING || a->state == AGENT_CONNECTED ||
           a->state == AGENT_STOPPING;
}

int pfa_agent_fd(const struct pfa_agent *a)
{
    return agent__has_socket(a) ? mosquitto_socket(a->mosq) : -1;
}

bool pfa_agent_want_write(const struct pfa_agent *a)
{
    return pfa_agent_fd(a) >= 0 && mosquitto_want_write(a->mosq);
}

/* After any libmosquitto I/O: notice a closed socket and publish what is waiting. */
static void agent__after_io(struct pfa_agent *a, int rc)
{
    if (agent__has_socket(a) && (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(a->mosq) < 0))
        agent__lost(a, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    if (a->pump_pending)
        agent__pump(a);
}

void pfa_agent_on_readable(struct pfa_agent *a)
{
    if (!agent__has_socket(a))
        return;
    agent__after_io(a, mosquitto_loop_read(a->mosq, 16));
}

void pfa_agent_on_error(struct pfa_agent *a)
{
    if (!agent__has_socket(a))
        return;
    /* Read what the peer sent before hanging up (a DISCONNECT, a refusal). */
    agent__after_io(a, mosquitto_loop_read(a->mosq, 16));
    /* libmosquitto may keep a dead socket (a TLS handshake on a refused
     * connection); the next attempt closes it, and until then fd is -1. */
    if (agent__has_socket(a))
        agent__lost(a, "connection closed by peer or refused");
}

void pfa_agent_on_writable(struct pfa_agent *a)
{
    if (!agent__has_socket(a))
        return;
    /*
     * While the TLS handshake is under way only mosquitto_loop_read() advances it
     * (libmosquitto 2.0 calls SSL_connect there when it wants to; loop_write()
     * returns without writing). A handshake whose first flight could not be written -
     * the TCP connection was still being set up, as when a busy broker's accept queue
     * is full and the SYN is retried - waits for writability, not for data: without
     * this it would never start, and the attempt would end only at connect_timeout_s
     * while the socket kept reporting writable. With nothing to read, the read is a
     * no-op (EAGAIN).
     */
    if (a->state == AGENT_CONNECTING) {
        int rc = mosquitto_loop_read(a->mosq, 1);

        if (rc != MOSQ_ERR_SUCCESS || pfa_agent_fd(a) < 0) {
            agent__after_io(a, rc);
            return;
        }
    }
    agent__after_io(a, mosquitto_loop_write(a->mosq, 16));
}

static int64_t agent__min(int64_t x, int64_t y)
{
    return x < y ? x : y;
}

int64_t pfa_agent_next_deadline_ms(const struct pfa_agent *a)
{
    int64_t d = PFA_DEADLINE_NONE;

    switch (a->state) {
    case AGENT_IDLE:
    case AGENT_STOPPED:
        return PFA_DEADLINE_NONE;
    case AGENT_WAIT_RETRY:
        d = a->retry_at;
        break;
    case AGENT_CONNECTING:
        d = a->connect_deadline;
        break;
    case AGENT_CONNECTED:
        d = a->next_misc_at;
        for (int i = 0; i < a->ninflight; i++)
            d = agent__min(d, a->inflight[i].sent_at + (int64_t)a->keepalive_s * 2000);
        if (a->pump_pending)
            d = agent__min(d, agent__now(a));
        break;
    case AGENT_STOPPING:
        return a->stop_deadline;
    }
    if (a->upd)
        d = agent__min(d, pfa_update_next_deadline_ms(a->upd));
    if (a->diag)
        d = agent__min(d, pfa_diag_next_deadline_ms(a->diag));
    d = agent__min(d, a->next_tamper_at);
    return agent__min(d, a->next_report_at);
}

void pfa_agent_tick(struct pfa_agent *a)
{
    int64_t now = agent__now(a);

    switch (a->state) {
    case AGENT_IDLE:
    case AGENT_STOPPED:
        return;
    case AGENT_STOPPING:
        if (now >= a->stop_deadline) {
            pfa_warn(&a->log, "stop: broker did not confirm in time; closing");
            a->state = AGENT_STOPPED;
            a->st.connected = false;
        }
        return;
    case AGENT_WAIT_RETRY:
        if (now >= a->retry_at)
            agent__connect_start(a);
        break;
    case AGENT_CONNECTING:
        if (now >= a->connect_deadline) {
            /* reconnect_async closes the stale socket on the next attempt. */
            agent__lost(a, "no CONNACK before connect_timeout_s");
        }
        break;
    case AGENT_CONNECTED:
        if (now >= a->next_misc_at) {
            int rc = mosquitto_loop_misc(a->mosq);
            a->next_misc_at = now + (int64_t)a->keepalive_s * 250;
            agent__after_io(a, rc == MOSQ_ERR_NO_CONN ? MOSQ_ERR_CONN_LOST : rc);
        }
        for (int i = 0; a->state == AGENT_CONNECTED && i < a->ninflight; i++) {
            if (now - a->inflight[i].sent_at >= (int64_t)a->keepalive_s * 2000) {
                /* No PUBACK in two keepalives: publish it again. */
                pfa_warn(&a->log, "health seq %u: no PUBACK; sending again", a->inflight[i].seq);
                a->inflight[i--] = a->inflight[--a->ninflight];
                a->pump_pending = true;
            }
        }
        break;
    }
    if (a->upd && a->state != AGENT_STOPPING && a->state != AGENT_STOPPED)
        pfa_update_tick(a->upd);
    if (a->diag && a->state != AGENT_STOPPING && a->state != AGENT_STOPPED)
        pfa_diag_tick(a->diag);
    if (a->state != AGENT_STOPPING && a->state != AGENT_STOPPED && now >= a->next_tamper_at) {
        a->next_tamper_at = now + a->tamper_poll_ms;
        pfa_agent_tamper_check(a);
    }
    if (a->state != AGENT_STOPPING && a->state != AGENT_STOPPED && now >= a->next_report_at) {
        a->next_report_at = now + agent__jittered_interval(a);
        agent__report(a);
    }
    if (a->pump_pending)
        agent__pump(a);
}

void pfa_agent_report_now(struct pfa_agent *a)
{
    a->next_report_at = agent__now(a);
}

void pfa_agent_tamper_check(struct pfa_agent *a)
{
    struct pf_tamper_event e;
    char buf[PF_MSG_MAX];
    size_t len;
    bool tripped = false;
    int mid = 0;

    /* A switch that cannot be read counts as tripped, as in the health report. */
    if (a->hal->ops->tamper(a->hal, &tripped) != 0)
        tripped = true;
    if (tripped == a->tamper_tripped)
        return;
    a->tamper_tripped = tripped;
    if (!tripped)
        return;
    pfa_warn(&a->log, "tamper switch tripped: reporting at once");
    a->next_report_at = agent__now(a); /* the durable copy, through the queue */
    e.ts_ms = pf_clock_wall_ms(a->clock);
    if (a->state != AGENT_CONNECTED)
        return;
    if (pf_tamper_event_encode(&e, buf, sizeof(buf), &len) != 0 ||
        agent__publish(a, PF_DEV_TAMPER, buf, len, &mid) != 0)
        pfa_warn(&a->log, "tamper event not sent; the health report carries it");
    else
        agent__after_io(a, mosquitto_loop_write(a->mosq, 16));
}

bool pfa_agent_locked(const struct pfa_agent *a)
{
    return a->lock && pfa_lock_locked(a->lock);
}

void pfa_agent_stop(struct pfa_agent *a)
{
    switch (a->state) {
    case AGENT_CONNECTED:
        /* Reason 0x04: the broker publishes the will, so the server sees "offline".
         * The DISCONNECT may be written (and the socket closed) inside the call. */
        a->state = AGENT_STOPPING;
        a->st.connected = false;
        a->stop_deadline = agent__now(a) + AGENT_STOP_GRACE_MS;
        if (mosquitto_disconnect_v5(a->mosq, MQTT_RC_DISCONNECT_WITH_WILL_MSG, NULL) !=
                    MOSQ_ERR_SUCCESS ||
            mosquitto_socket(a->mosq) < 0)
            a->state = AGENT_STOPPED;
        return;
    case AGENT_STOPPING:
    case AGENT_STOPPED:
        return;
    default:
        break;
    }
    a->state = AGENT_STOPPED;
    a->st.connected = false;
}

bool pfa_agent_stopped(const struct pfa_agent *a)
{
    return a->state == AGENT_STOPPED;
}

void pfa_agent_stats(const struct pfa_agent *a, struct pfa_agent_stats *st)
{
    *st = a->st;
    st->queue_len = pfa_queue_len(a->queue);
    st->retry_at = a->state == AGENT_WAIT_RETRY ? a->retry_at : PFA_DEADLINE_NONE;
}

const char *pfa_agent_serial(const struct pfa_agent *a)
{
    return a->serial;
}

int pfa_agent_set_firmware(struct pfa_agent *a, const char *version, enum pf_slot slot)
{
    if (!pf_version_valid(version) || strlen(version) > PF_VERSION_MAX)
        return PF_EINVAL;
    memcpy(a->fw_version, version, strlen(version) + 1);
    a->fw_slot = slot;
    return 0;
}

int pfa_agent_set_fee_version(struct pfa_agent *a, const char *version)
{
    if ((*version && !pf_version_valid(version)) || strlen(version) > PF_VERSION_MAX)
        return PF_EINVAL;
    memcpy(a->fee_version, version, strlen(version) + 1);
    return 0;
}
