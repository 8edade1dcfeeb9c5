/*
 * mqtt.h - posfleetd's MQTT v5 connection on the libuv loop.
 *
 * libmosquitto without its own thread: a uv_poll on mosquitto_socket() calls
 * mosquitto_loop_read/_write, a 1 s timer calls mosquitto_loop_misc (keep
 * alive, retries). Connection attempts never block the loop (non-blocking TCP
 * connect); an attempt that gets no CONNACK ends at the keep-alive interval,
 * one whose peer hangs up ends at once. The session is persistent (clean start false, session
 * expiry) under the configured client id, so messages published while
 * posfleetd restarts are delivered when it returns. It subscribes to
 * pf/v1/dev/+/+ (or $share/GROUP/pf/v1/dev/+/+) with QoS 1 and reconnects
 * with jittered exponential backoff when the broker goes away. Over TLS it
 * reads ahead, keeps its record buffers, and corks the socket while it reads a
 * burst, so a burst's PUBACKs leave in a few segments (mqtt.c).
 *
 * Each message is handed to on_message on the loop thread; the payload is
 * valid only during the call. pfs_mqtt_publisher() lends the connection to
 * domain modules as a struct pfs_publisher (base/publisher.h).
 */
#ifndef PFS_MQTT_H
#define PFS_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/config.h"
#include "base/log.h"
#include "base/publisher.h"
#include "pf/error.h"
#include "pf/topic.h"

struct mosquitto;

/* RETAINED: the broker delivered it as a retained message (its retain flag). */
/* corr/corr_len: the message's MQTT v5 correlation data (NULL, 0 when absent), borrowed for
 * the call. */
typedef void (*pfs_mqtt_message_cb)(void *ctx, const char *topic, const void *payload, size_t len,
                                    bool retained, const void *corr, size_t corr_len);
/* A published message (id mid) was written to the connection. */
typedef void (*pfs_mqtt_published_cb)(void *ctx, int mid);

struct pfs_mqtt {
    uv_loop_t *loop;
    struct mosquitto *mosq;
    uv_poll_t *poll; /* heap: one per connection, freed by its close callback */
    int poll_events; /* UV_READABLE/UV_WRITABLE currently watched */
    uv_timer_t misc_timer;
    uv_timer_t reconnect_timer;
    uv_timer_t read_timer; /* reads while the socket is not watched (mqtt.read_batch_ms) */
    bool read_held;        /* readability not watched: read_timer reads */
    unsigned long unacked; /* our publishes not yet reported done by libmosquitto */
    uint64_t published_at; /* uv_now() of our last publish */
    bool timers_open;
    bool connected; /* CONNACK received */
    bool stopping;
    bool lib_init;        /* mosquitto_lib_init() done */
    int attempt;          /* reconnect attempts since the last success */
    bool connect_started; /* libmosquitto has host and port: reconnect_async from now on */
    char sub[PFS_CLIENT_ID_MAX + 64];
    const struct pfs_config *cfg;
    const struct pfs_log *log;
    pfs_mqtt_message_cb on_message;
    void *ctx;
    pfs_mqtt_published_cb on_published; /* optional, set after start */
    void *published_ctx;
    unsigned long connects; /* successful connections, for tests */
    unsigned long received; /* messages handed to on_message */
};

/* Creates the client and starts connecting (failures retry with backoff). */
int pfs_mqtt_start(struct pfs_mqtt *m, uv_loop_t *loop, const struct pfs_config *cfg,
                   const struct pfs_log *log, pfs_mqtt_message_cb on_message, void *ctx,
                   struct pf_error *err) PF_WUR;
/* Publishes (not retained); *mid (optional) gets the message id. PF_ECONN when
 * not connected or the client refuses. The payload is copied. */
int pfs_mqtt_publish(struct pfs_mqtt *m, const char *topic, const void *payload, size_t len,
                     int qos, int *mid) PF_WUR;

/* pfs_mqtt_publish with v5 properties (p may be NULL). */
int pfs_mqtt_publish_props(struct pfs_mqtt *m, const char *topic, const void *payload, size_t len,
                           int qos, const struct pfs_pub_props *p, int *mid) PF_WUR;
/* Fills *out with this connection's publisher (out borrows m). */
void pfs_mqtt_publisher(struct pfs_mqtt *m, struct pfs_publisher *out);
/* Disconnects cleanly (the session stays on the broker) and closes handles. */
void pfs_mqtt_stop(struct pfs_mqtt *m);

#endif
