/*
 * publisher.h - how domain modules send to terminals without knowing the transport.
 *
 * updates, diag and lifectl publish commands through a struct pfs_publisher;
 * net/mqtt.c fills one in for its connection (pfs_mqtt_publisher) and server.c
 * hands it to them, so no domain module includes a transport header. The
 * struct is small and caller-owned; ctx is the transport, borrowed. A module
 * given NULL (no broker: tests of the API alone) publishes nothing and is told
 * PF_ECONN.
 */
#ifndef PFS_PUBLISHER_H
#define PFS_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"

/* MQTT v5 request properties (diagnostics): any field may be 0/NULL. */
struct pfs_pub_props {
    const char *response_topic;
    const void *corr; /* correlation data */
    size_t corr_len;
    uint32_t expiry_s; /* Message Expiry Interval; 0 = none */
};

struct pfs_publisher {
    /* Publishes (not retained; the payload is copied); *mid (optional) gets the message
     * id; props may be NULL. 0, or PF_ECONN when not connected or refused. */
    int (*publish)(void *ctx, const char *topic, const void *buf, size_t len, int qos,
                   const struct pfs_pub_props *props, int *mid);
    /* True while connected to the broker. */
    bool (*connected)(void *ctx);
    void *ctx;
};

static inline bool pfs_publisher_connected(const struct pfs_publisher *p)
{
    return p && p->connected(p->ctx);
}

static inline int pfs_publish(const struct pfs_publisher *p, const char *topic, const void *buf,
                              size_t len, int qos, const struct pfs_pub_props *props,
                              int *mid) PF_WUR;

static inline int pfs_publish(const struct pfs_publisher *p, const char *topic, const void *buf,
                              size_t len, int qos, const struct pfs_pub_props *props, int *mid)
{
    if (!p)
        return PF_ECONN;
    return p->publish(p->ctx, topic, buf, len, qos, props, mid);
}

#endif
