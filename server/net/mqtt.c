/*
 * mqtt.c - libmosquitto driven by uv_poll and timers on posfleetd's loop.
 */
#include "net/mqtt.h"

#include <errno.h>
#include <stdint.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MQTT_MISC_MS     1000
#define MQTT_RECEIVE_MAX 1000

static void mqtt__schedule_reconnect(struct pfs_mqtt *m);
static void mqtt__on_poll(uv_poll_t *p, int status, int events);
static void mqtt__on_read_timer(uv_timer_t *t);

static void mqtt__poll_closed(uv_handle_t *h)
{
    free(h);
}

static void mqtt__poll_close(struct pfs_mqtt *m)
{
    if (!m->poll)
        return;
    uv_poll_stop(m->poll);
    uv_close((uv_handle_t *)m->poll, mqtt__poll_closed);
    m->poll = NULL;
}

/* The connection is gone: stop watching it and try again later. */
static void mqtt__lost(struct pfs_mqtt *m, int rc)
{
    bool was = m->connected || m->poll;

    if (m->timers_open)
        uv_timer_stop(&m->read_timer);
    m->read_held = false;

    mqtt__poll_close(m);
    m->connected = false;
    if (m->stopping)
        return;
    if (was)
        pfs_log_warn(m->log, "mqtt: connection to %s:%d lost: %s", m->cfg->mqtt_host,
                     pfs_config_mqtt_port(m->cfg), mosquitto_strerror(rc));
    mqtt__schedule_reconnect(m);
}

static void mqtt__update_events(struct pfs_mqtt *m)
{
    /* UV_DISCONNECT: a peer that hangs up during the handshake is noticed (mqtt__on_poll). */
    int ev = (m->read_held ? 0 : UV_READABLE) | UV_DISCONNECT;

    if (!m->poll)
        return;
    if (mosquitto_want_write(m->mosq))
        ev |= UV_WRITABLE;
    /* Restarting the poll costs an epoll_ctl(); only do it when the set changes. */
    if (ev != m->poll_events) {
        uv_poll_start(m->poll, ev, mqtt__on_poll);
        m->poll_events = ev;
    }
}

#define MQTT_READS_PER_WAKEUP 64

/* True if the TLS layer holds bytes already read from the socket: the socket may not turn
 * readable again for them (read-ahead, mqtt__tls_tune), so mqtt__drain reads on a timer. */
static bool mqtt__tls_buffered(struct pfs_mqtt *m)
{
    SSL *ssl = m->mosq ? mosquitto_ssl_get(m->mosq) : NULL;

    return ssl && SSL_has_pending(ssl);
}

/* TCP_CORK on (1) or off (0, which sends what it held at once). */
static void mqtt__cork(struct pfs_mqtt *m, int on)
{
    int fd = mosquitto_socket(m->mosq);

    if (fd >= 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
}

/*
 * Reads what the socket holds, at most MQTT_READS_PER_WAKEUP packets; *packets:
 * how many reads found data (MQTT_READS_PER_WAKEUP: there may be more). Each
 * packet's handlers run inside (on_message, PUBACK).
 *
 * libmosquitto writes each PUBACK as it reads the message, one TLS record and one
 * segment each. When more messages are already buffered (a burst), the socket is
 * corked until the reads end, so the acknowledgements of the burst leave in a few
 * segments, not one per message (perf in the ingest benchmark: the TCP send path,
 * loopback delivery included, 8.6 % of posfleetd's samples before, 1.8 % corked).
 */
static int mqtt__drain(struct pfs_mqtt *m, int *packets)
{
    unsigned long received = m->received;
    int rc = MOSQ_ERR_SUCCESS;
    bool corked = false;

    *packets = 0;
    while (*packets < MQTT_READS_PER_WAKEUP && rc == MOSQ_ERR_SUCCESS) {
        errno = 0;
        rc = mosquitto_loop_read(m->mosq, 1);
        if (errno == EAGAIN || errno == EWOULDBLOCK || !m->poll)
            break;
        ++*packets;
        if (!corked && rc == MOSQ_ERR_SUCCESS && mqtt__tls_buffered(m)) {
            mqtt__cork(m, 1);
            corked = true;
        }
    }
    if (corked && m->poll)
        mqtt__cork(m, 0);
    /* Records the TLS layer read ahead wait for no wake-up of the socket. When these
     * reads took messages and stopped with bytes buffered (at their bound, or early
     * because a PUBACK met a full send buffer: EAGAIN), read again at once; held reads
     * (mqtt__hold_reads) may put that off by read_batch_ms. Bytes of a record not
     * complete yet are left to the poll. */
    if (rc == MOSQ_ERR_SUCCESS && m->poll && m->received != received && mqtt__tls_buffered(m))
        uv_timer_start(&m->read_timer, mqtt__on_read_timer, 0, 0);
    return rc;
}

/*
 * Batched reads: with mqtt.read_batch_ms, once connected, a wake-up for
 * readability is followed by reads on a timer instead of a wake-up per
 * message. At 15,000 terminals reporting every 60 s (250 reports/s) every
 * report arrived alone, and its wake-up on cold caches cost far more than the
 * report (docs/benchmarks.md, sim_fleet); read every 50 ms, a wake-up handles
 * a handful. The timer keeps reading while reads find messages (at once when
 * the last one stopped at its bound: a flood is read as fast as before) and
 * hands back to the poll when a read finds nothing. Never while a publish of
 * ours awaits its acknowledgement: request/answer traffic (update offers and
 * event acks, chunks, diagnostics) runs at the speed of the connection.
 */
static void mqtt__hold_reads(struct pfs_mqtt *m, int packets)
{
    if (!m->connected || !m->poll || m->cfg->mqtt_read_batch_ms <= 0 || m->stopping)
        return;
    /* A publish of ours (offers, event acks, diagnostics, chunks) is not done or was
     * made within read_batch_ms: held reads would cap QoS 1 at the broker's receive
     * maximum per read_batch_ms and slow a request/answer exchange (chunk requests). */
    if (m->unacked || uv_now(m->loop) - m->published_at < (uint64_t)m->cfg->mqtt_read_batch_ms)
        return;
    m->read_held = true;
    uv_timer_start(&m->read_timer, mqtt__on_read_timer,
                   packets >= MQTT_READS_PER_WAKEUP ? 0 : (uint64_t)m->cfg->mqtt_read_batch_ms, 0);
}

static void mqtt__on_read_timer(uv_timer_t *t)
{
    struct pfs_mqtt *m = t->data;
    int packets = 0, rc;

    m->read_held = false;
    if (!m->poll)
        return;
    rc = mqtt__drain(m, &packets);
    if (rc != MOSQ_ERR_SUCCESS) {
        mqtt__lost(m, rc);
        return;
    }
    if (packets)
        mqtt__hold_reads(m, packets);
    mqtt__update_events(m);
}

/*
 * TLS settings libmosquitto does not offer, on each new connection. Read-ahead: a read
 * takes what the socket holds instead of one record's header and then its body, two
 * reads per message; libmosquitto reads on while the TLS layer has bytes of a record
 * (SSL_pending), and mqtt__drain reads again at once when it stopped with records
 * buffered. Kept buffers: libmosquitto asks OpenSSL to free its
 * record buffers whenever they are empty, which for one connection carrying a report
 * per record meant allocating and freeing ~17 KiB twice per report (the allocations
 * large enough to make glibc consolidate its free lists each time).
 */
static void mqtt__tls_tune(struct mosquitto *mosq)
{
    SSL *ssl = mosquitto_ssl_get(mosq);

    if (!ssl)
        return;
    SSL_set_read_ahead(ssl, 1);
    SSL_clear_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
}

static void mqtt__on_poll(uv_poll_t *p, int status, int events)
{
    struct pfs_mqtt *m = p->data;
    int rc = MOSQ_ERR_SUCCESS;

    if (status < 0) {
        mqtt__lost(m, MOSQ_ERR_CONN_LOST);
        return;
    }
    /*
     * Until CONNACK, a writable socket may mean the TCP connection has just been set up
     * under a TLS handshake that could not send its first flight: only loop_read()
     * advances a handshake in libmosquitto 2.0 (loop_write() returns without writing),
     * so read first. With nothing to read it is a no-op.
     */
    if (!m->connected && (events & UV_WRITABLE))
        events |= UV_READABLE;
    if (events & UV_DISCONNECT) /* reading finds the end (also while reads are held) */
        events |= UV_READABLE;
    if (events & UV_READABLE) {
        int packets;

        rc = mqtt__drain(m, &packets);
        if (rc == MOSQ_ERR_SUCCESS && !m->read_held)
            mqtt__hold_reads(m, packets);
    }
    if (rc == MOSQ_ERR_SUCCESS && m->poll && (events & UV_WRITABLE))
        rc = mosquitto_loop_write(m->mosq, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
        mqtt__lost(m, rc);
        return;
    }
    /*
     * The peer hung up (or refused the connection) before CONNACK and libmosquitto kept
     * the socket: a TLS handshake that meets EOF or a reset reports success and waits
     * for more, so the socket would stay readable for ever (a busy loop until the
     * keep-alive check). Give the attempt up now; the next one closes the socket.
     */
    if (m->poll && !m->connected && (events & UV_DISCONNECT)) {
        mqtt__lost(m, MOSQ_ERR_CONN_LOST);
        return;
    }
    mqtt__update_events(m);
}

static void mqtt__on_misc(uv_timer_t *t)
{
    struct pfs_mqtt *m = t->data;
    int rc;

    if (!m->poll)
        return;
    rc = mosquitto_loop_misc(m->mosq);
    if (rc != MOSQ_ERR_SUCCESS) {
        mqtt__lost(m, rc);
        return;
    }
    mqtt__update_events(m);
}

/*
 * Connects without blocking the loop. mosquitto_connect_bind_v5() would do the TCP
 * connect synchronously: against a broker whose accept queue is full (one drowning in
 * a reconnect storm) the SYN is dropped and retried for up to two minutes, and the
 * whole of posfleetd - API, store, timers - would wait. The async calls take no
 * CONNECT properties, so the Session Expiry Interval is handed over once at start
 * (mqtt__session_props); libmosquitto 2.0 sends it on every later connect.
 */
static void mqtt__connect(struct pfs_mqtt *m)
{
    const struct pfs_config *c = m->cfg;
    int rc, fd;

    if (!m->connect_started) {
        rc = mosquitto_connect_bind_async(m->mosq, c->mqtt_host, pfs_config_mqtt_port(c),
                                          c->mqtt_keepalive_s, NULL);
        /* Only argument and memory errors leave libmosquitto without host and port. */
        if (rc != MOSQ_ERR_INVAL && rc != MOSQ_ERR_NOMEM)
            m->connect_started = true;
    } else {
        rc = mosquitto_reconnect_async(m->mosq);
    }
    if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(m->mosq) < 0)
        rc = MOSQ_ERR_NO_CONN;
    if (rc != MOSQ_ERR_SUCCESS) {
        pfs_log_warn(m->log, "mqtt: cannot connect to %s:%d: %s", c->mqtt_host,
                     pfs_config_mqtt_port(c),
                     rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        mqtt__schedule_reconnect(m);
        return;
    }
    fd = mosquitto_socket(m->mosq);
    m->poll = calloc(1, sizeof(*m->poll));
    if (!m->poll || uv_poll_init_socket(m->loop, m->poll, fd) != 0) {
        free(m->poll);
        m->poll = NULL;
        mosquitto_disconnect(m->mosq);
        pfs_log_error(m->log, "mqtt: cannot watch the broker socket");
        mqtt__schedule_reconnect(m);
        return;
    }
    m->poll->data = m;
    m->poll_events = 0;
    mqtt__update_events(m);
}

/*
 * Hands the CONNECT properties (Session Expiry Interval) to libmosquitto without
 * connecting: mosquitto_connect_bind_v5() stores them before it checks its arguments,
 * and with no host it returns MOSQ_ERR_INVAL without any I/O (the agent core does the
 * same; unit_agent_session checks the interval reaches a real broker).
 */
static int mqtt__session_props(struct pfs_mqtt *m, struct pf_error *err)
{
    mosquitto_property *props = NULL;

    if (mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                     (uint32_t)m->cfg->mqtt_session_expiry_s) != MOSQ_ERR_SUCCESS)
        return pf_error_set(err, PF_ENOMEM, "mqtt: session expiry property");
    (void)mosquitto_connect_bind_v5(m->mosq, NULL, pfs_config_mqtt_port(m->cfg),
                                    m->cfg->mqtt_keepalive_s, NULL, props);
    mosquitto_property_free_all(&props);
    return 0;
}

static void mqtt__on_reconnect_timer(uv_timer_t *t)
{
    struct pfs_mqtt *m = t->data;

    if (!m->stopping && !m->poll)
        mqtt__connect(m);
}

static void mqtt__schedule_reconnect(struct pfs_mqtt *m)
{
    const struct pfs_config *c = m->cfg;
    uint64_t hi = (uint64_t)c->mqtt_reconnect_min_ms;
    uint64_t delay;

    if (m->stopping || uv_is_active((uv_handle_t *)&m->reconnect_timer))
        return;
    for (int i = 0; i < m->attempt && hi < (uint64_t)c->mqtt_reconnect_max_ms; i++)
        hi *= 2;
    if (hi > (uint64_t)c->mqtt_reconnect_max_ms)
        hi = (uint64_t)c->mqtt_reconnect_max_ms;
    /* Full jitter in [min, hi]. */
    delay = (uint64_t)c->mqtt_reconnect_min_ms +
            randombytes_uniform((uint32_t)(hi - (uint64_t)c->mqtt_reconnect_min_ms + 1));
    m->attempt++;
    pfs_log_info(m->log, "mqtt: reconnecting in %llu ms", (unsigned long long)delay);
    uv_timer_start(&m->reconnect_timer, mqtt__on_reconnect_timer, delay, 0);
}

static void mqtt__on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                             const mosquitto_property *props)
{
    struct pfs_mqtt *m = obj;
    int src;

    (void)props;
    if (rc != 0) {
        pfs_log_error(m->log, "mqtt: broker refused the connection: %s",
                      mosquitto_reason_string(rc));
        return; /* the broker closes the socket; the read path notices */
    }
    m->connected = true;
    mqtt__tls_tune(mosq);
    m->attempt = 0;
    m->connects++;
    pfs_log_info(m->log, "mqtt: connected to %s:%d as %s (session %s)", m->cfg->mqtt_host,
                 pfs_config_mqtt_port(m->cfg), m->cfg->mqtt_client_id,
                 (flags & 1) ? "resumed" : "new");
    src = mosquitto_subscribe_v5(mosq, NULL, m->sub, 1, 0, NULL);
    if (src != MOSQ_ERR_SUCCESS)
        pfs_log_error(m->log, "mqtt: subscribe %s: %s", m->sub, mosquitto_strerror(src));
}

static void mqtt__on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                               const int *granted_qos, const mosquitto_property *props)
{
    struct pfs_mqtt *m = obj;

    (void)mosq;
    (void)mid;
    (void)props;
    if (qos_count < 1 || granted_qos[0] > 2)
        pfs_log_error(m->log, "mqtt: subscription to %s refused by the broker", m->sub);
    else
        pfs_log_info(m->log, "mqtt: subscribed to %s (QoS %d)", m->sub, granted_qos[0]);
}

static void mqtt__on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                                const mosquitto_property *props)
{
    (void)mosq;
    (void)props;
    mqtt__lost(obj, rc);
}

static void mqtt__on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
                             const mosquitto_property *props)
{
    struct pfs_mqtt *m = obj;
    void *corr = NULL;
    uint16_t corr_len = 0;

    (void)mosq;
    m->received++;
    /* Only diagnostic answers carry it (posfleetd checks it there); absent is NULL, 0. */
    if (!props || !mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr,
                                                  &corr_len, false)) {
        corr = NULL;
        corr_len = 0;
    }
    m->on_message(m->ctx, msg->topic, msg->payload,
                  msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0, msg->retain, corr, corr_len);
    free(corr);
}

static void mqtt__on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    struct pfs_mqtt *m = obj;

    (void)mosq;
    if (m->unacked)
        m->unacked--;
    if (m->on_published)
        m->on_published(m->published_ctx, mid);
}

int pfs_mqtt_publish(struct pfs_mqtt *m, const char *topic, const void *payload, size_t len,
                     int qos, int *mid)
{
    return pfs_mqtt_publish_props(m, topic, payload, len, qos, NULL, mid);
}

static void mqtt__on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
    struct pfs_mqtt *m = obj;

    (void)mosq;
    if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
        pfs_log_warn(m->log, "mqtt: %s", str);
}

int pfs_mqtt_start(struct pfs_mqtt *m, uv_loop_t *loop, const struct pfs_config *cfg,
                   const struct pfs_log *log, pfs_mqtt_message_cb on_message, void *ctx,
                   struct pf_error *err)
{
    int rc;

    memset(m, 0, sizeof(*m));
    if (sodium_init() < 0)
        return pf_error_set(err, PF_ECRYPTO, "mqtt: libsodium failed to initialise");
    mosquitto_lib_init();
    m->lib_init = true;
    m->loop = loop;
    m->cfg = cfg;
    m->log = log;
    m->on_message = on_message;
    m->ctx = ctx;
    if (cfg->mqtt_shared_group[0])
        snprintf(m->sub, sizeof(m->sub), "$share/%s/" PF_TOPIC_ROOT "/dev/+/+",
                 cfg->mqtt_shared_group);
    else
        snprintf(m->sub, sizeof(m->sub), PF_TOPIC_ROOT "/dev/+/+");
    m->mosq = mosquitto_new(cfg->mqtt_client_id, false, m);
    if (!m->mosq) {
        rc = pf_error_set(err, PF_ENOMEM, "mqtt: cannot create the client");
        goto out_destroy;
    }
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, MQTT_RECEIVE_MAX);
    /* No Nagle: a command written right after a PUBACK must not wait for a delayed ACK. */
    mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    if (pfs_config_tls(cfg)) {
        rc = mosquitto_tls_set(m->mosq, cfg->mqtt_ca, NULL, cfg->mqtt_cert, cfg->mqtt_key, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            rc = pf_error_set(err, PF_EINVAL, "mqtt: TLS files (mqtt.ca, mqtt.cert, mqtt.key): %s",
                              mosquitto_strerror(rc));
            goto out_destroy;
        }
    } else {
        pfs_log_warn(log, "mqtt: no mqtt.ca/cert/key: plain TCP, for development only");
    }
    mosquitto_connect_v5_callback_set(m->mosq, mqtt__on_connect);
    mosquitto_disconnect_v5_callback_set(m->mosq, mqtt__on_disconnect);
    mosquitto_message_v5_callback_set(m->mosq, mqtt__on_message);
    mosquitto_subscribe_v5_callback_set(m->mosq, mqtt__on_subscribe);
    mosquitto_publish_callback_set(m->mosq, mqtt__on_publish);
    mosquitto_log_callback_set(m->mosq, mqtt__on_log);
    rc = mqtt__session_props(m, err);
    if (rc != 0)
        goto out_destroy;
    uv_timer_init(loop, &m->misc_timer);
    uv_timer_init(loop, &m->reconnect_timer);
    uv_timer_init(loop, &m->read_timer);
    m->misc_timer.data = m;
    m->reconnect_timer.data = m;
    m->read_timer.data = m;
    m->timers_open = true;
    uv_timer_start(&m->misc_timer, mqtt__on_misc, MQTT_MISC_MS, MQTT_MISC_MS);
    mqtt__connect(m);
    return 0;

out_destroy:
    mosquitto_destroy(m->mosq);
    m->mosq = NULL;
    mosquitto_lib_cleanup();
    m->lib_init = false;
    return rc;
}

void pfs_mqtt_stop(struct pfs_mqtt *m)
{
    m->stopping = true;
    if (m->timers_open) {
        uv_close((uv_handle_t *)&m->misc_timer, NULL);
        uv_close((uv_handle_t *)&m->reconnect_timer, NULL);
        uv_close((uv_handle_t *)&m->read_timer, NULL);
        m->timers_open = false;
    }
    if (m->mosq && m->poll) {
        uv_poll_stop(m->poll);
        if (mosquitto_disconnect_v5(m->mosq, MQTT_RC_NORMAL_DISCONNECTION, NULL) ==
            MOSQ_ERR_SUCCESS)
            (void)mosquitto_loop_write(m->mosq, 1);
    }
    mqtt__poll_close(m);
    if (m->mosq) {
        mosquitto_destroy(m->mosq);
        m->mosq = NULL;
    }
    if (m->lib_init) {
        mosquitto_lib_cleanup();
        m->lib_init = false;
    }
}

int pfs_mqtt_publish_props(struct pfs_mqtt *m, const char *topic, const void *payload, size_t len,
                           int qos, const struct pfs_pub_props *p, int *mid)
{
    mosquitto_property *props = NULL;
    int rc = MOSQ_ERR_SUCCESS;

    if (!m->mosq || !m->connected || !m->poll || len > (size_t)INT32_MAX ||
        (p && p->corr_len > UINT16_MAX))
        return PF_ECONN;
    if (p && p->response_topic)
        rc = mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, p->response_topic);
    if (rc == MOSQ_ERR_SUCCESS && p && p->corr_len)
        rc = mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, p->corr,
                                           (uint16_t)p->corr_len);
    if (rc == MOSQ_ERR_SUCCESS && p && p->expiry_s)
        rc = mosquitto_property_add_int32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, p->expiry_s);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_publish_v5(m->mosq, mid, topic, (int)len, payload, qos, false, props);
    mosquitto_property_free_all(&props);
    if (rc != MOSQ_ERR_SUCCESS)
        return PF_ECONN;
    /* Until libmosquitto reports it done (sent for QoS 0, acknowledged for QoS 1),
     * the connection is read at once (mqtt__hold_reads). */
    m->unacked++;
    m->published_at = uv_now(m->loop);
    if (m->read_held) {
        uv_timer_stop(&m->read_timer);
        m->read_held = false;
    }
    mqtt__update_events(m);
    return 0;
}

static int mqtt__pub_publish(void *ctx, const char *topic, const void *buf, size_t len, int qos,
                             const struct pfs_pub_props *props, int *mid)
{
    return pfs_mqtt_publish_props(ctx, topic, buf, len, qos, props, mid);
}

static bool mqtt__pub_connected(void *ctx)
{
    const struct pfs_mqtt *m = ctx;

    return m->connected;
}

void pfs_mqtt_publisher(struct pfs_mqtt *m, struct pfs_publisher *out)
{
    out->publish = mqtt__pub_publish;
    out->connected = mqtt__pub_connected;
    out->ctx = m;
}
