/*
 * bench_pub.c - publishes health reports for many serials as fast as the
 * broker takes them (benchmark load generator, not shipped).
 *
 *   bench_pub --port P [--host H] [--terminals N] [--reports R] [--prefix S]
 *             [--seq-base B] [--rate R] [--qos Q] [--id ID]
 *             [--cafile F --cert F --key F]
 *
 * Each message is a valid health report whose ts is the publish time, so a
 * consumer can compute publish-to-commit latency. --rate paces the publishes
 * at R messages per second (0, the default: as fast as the broker takes them),
 * so the reports of many terminals can arrive as a fleet's would, or one
 * terminal can flood at a set rate. Prints one JSON line with the first and
 * last publish times and the number acknowledged (at QoS 0: written out).
 */
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pf/msg.h"
#include "pf/topic.h"

struct bench {
    long acked;
};

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_publish(struct mosquitto *m, void *ud, int mid, int rc, const mosquitto_property *p)
{
    struct bench *b = ud;

    (void)m;
    (void)mid;
    (void)rc;
    (void)p;
    __atomic_add_fetch(&b->acked, 1, __ATOMIC_RELAXED);
}

static long arg_long(const char *s)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 0) {
        fprintf(stderr, "bench_pub: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *prefix = "BN", *cafile = NULL, *cert = NULL, *key = NULL;
    const char *id = "bench-pub";
    long port = 0, terminals = 10000, reports = 1, seq_base = 0, rate = 0, qos = 1, total, sent = 0;
    struct bench b = {0};
    struct mosquitto *m;
    struct pf_health h;
    long long t0, t1;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--host"))
            host = argv[i + 1];
        else if (!strcmp(argv[i], "--port"))
            port = arg_long(argv[i + 1]);
        else if (!strcmp(argv[i], "--terminals"))
            terminals = arg_long(argv[i + 1]);
        else if (!strcmp(argv[i], "--reports"))
            reports = arg_long(argv[i + 1]);
        else if (!strcmp(argv[i], "--seq-base"))
            seq_base = arg_long(argv[i + 1]);
        else if (!strcmp(argv[i], "--rate"))
            rate = arg_long(argv[i + 1]);
        else if (!strcmp(argv[i], "--qos"))
            qos = arg_long(argv[i + 1]) ? 1 : 0;
        else if (!strcmp(argv[i], "--id"))
            id = argv[i + 1];
        else if (!strcmp(argv[i], "--prefix"))
            prefix = argv[i + 1];
        else if (!strcmp(argv[i], "--cafile"))
            cafile = argv[i + 1];
        else if (!strcmp(argv[i], "--cert"))
            cert = argv[i + 1];
        else if (!strcmp(argv[i], "--key"))
            key = argv[i + 1];
        else {
            fprintf(stderr, "bench_pub: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "usage: bench_pub --port P [--terminals N] [--reports R]\n");
        return 2;
    }
    total = terminals * reports;

    mosquitto_lib_init();
    m = mosquitto_new(id, true, &b);
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_max_inflight_messages_set(m, 0);
    mosquitto_publish_v5_callback_set(m, on_publish);
    if (cafile && mosquitto_tls_set(m, cafile, NULL, cert, key, NULL) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "bench_pub: TLS setup failed\n");
        return 1;
    }
    if (mosquitto_connect(m, host, (int)port, 60) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "bench_pub: cannot connect to %s:%ld\n", host, port);
        return 1;
    }

    memset(&h, 0, sizeof(h));
    h.battery_pct = 80;
    h.net_type = PF_NET_4G;
    h.signal_dbm = -80;
    h.temp_c = 35;
    h.storage_free_kb = 100000;
    h.mem_free_kb = 8000;
    snprintf(h.fw_version, sizeof(h.fw_version), "1.0.0");
    snprintf(h.fee_version, sizeof(h.fee_version), "1");
    snprintf(h.currency, sizeof(h.currency), "CNY");

    t0 = now_ms();
    for (long r = 0; r < reports; r++) {
        for (long t = 0; t < terminals; t++) {
            char serial[PF_SERIAL_MAX + 1], topic[PF_TOPIC_MAX], buf[PF_MSG_MAX];
            size_t n;

            snprintf(serial, sizeof(serial), "%s%06ld", prefix, t);
            h.seq = (uint32_t)(seq_base + r + 1);
            h.ts_ms = now_ms();
            h.uptime_s = (uint64_t)r * 60;
            if (pf_topic_build(topic, sizeof(topic), PF_DIR_DEV, serial, PF_DEV_HEALTH) ||
                pf_health_encode(&h, buf, sizeof(buf), &n))
                return 1;
            /* Paced: the k-th message leaves no earlier than k / rate s after the first. */
            while (rate > 0 && (now_ms() - t0) * rate < sent * 1000) {
                struct timespec ts = {0, 200000};
                nanosleep(&ts, NULL);
            }
            while (mosquitto_publish_v5(m, NULL, topic, (int)n, buf, (int)qos, false, NULL) ==
                   MOSQ_ERR_NOMEM)
                ;
            sent++;
        }
    }
    /* Wait for every PUBACK, bounded: a stuck broker must not hang the benchmark. */
    for (int i = 0; i < 60000 && __atomic_load_n(&b.acked, __ATOMIC_RELAXED) < total; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    t1 = now_ms();
    printf("{\"published\":%ld,\"acked\":%ld,\"t_first_ms\":%lld,\"t_last_ms\":%lld}\n", total,
           __atomic_load_n(&b.acked, __ATOMIC_RELAXED), t0, t1);
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    return 0;
}
