/*
 * mqtt_term.c - one MQTT v5 connection that plays a terminal by hand, for
 * the integration tests (not shipped): what a hostile terminal sends, and
 * what it gets back, on the same connection (the broker takes the client id
 * from the certificate, so a second connection would end the first).
 *
 *   pf_mqtt_term --port P --cafile F --cert F --key F [--host H]
 *                [--sub FILTER]... [--qos Q] [--expect N] [--wait-ms MS]
 *
 * Subscribes to every FILTER (QoS 1), then publishes each stdin line
 * "TOPIC PAYLOAD" with QoS Q (default 1), waits until the broker
 * acknowledged all of them, then until N messages arrived (--expect) or MS
 * more milliseconds passed (default 3000). Every message received is printed
 * as "TOPIC PAYLOAD", or "TOPIC <binary LEN>" when the payload is not
 * printable ASCII. A summary goes to stderr. Exit 0 if every publish was
 * acknowledged (and, with --expect, N messages arrived), else 1.
 */
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TERM_MAX_SUBS 8

struct term {
    int connected;  /* 1 connected, -1 refused */
    int subscribed; /* SUBACKs */
    long acked;
    long received;
};

static long long term__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void term__sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static long term__load(long *p)
{
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void term__on_connect(struct mosquitto *m, void *ud, int rc, int flags,
                             const mosquitto_property *p)
{
    struct term *t = ud;

    (void)m;
    (void)flags;
    (void)p;
    __atomic_store_n(&t->connected, rc == 0 ? 1 : -1, __ATOMIC_SEQ_CST);
}

static void term__on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *granted,
                               const mosquitto_property *p)
{
    struct term *t = ud;

    (void)m;
    (void)mid;
    (void)n;
    (void)granted;
    (void)p;
    __atomic_add_fetch(&t->subscribed, 1, __ATOMIC_SEQ_CST);
}

static void term__on_publish(struct mosquitto *m, void *ud, int mid, int rc,
                             const mosquitto_property *p)
{
    struct term *t = ud;

    (void)m;
    (void)mid;
    (void)rc;
    (void)p;
    __atomic_add_fetch(&t->acked, 1, __ATOMIC_SEQ_CST);
}

static void term__on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg,
                             const mosquitto_property *p)
{
    struct term *t = ud;
    const unsigned char *b = msg->payload;
    bool text = true;

    (void)m;
    (void)p;
    for (int i = 0; i < msg->payloadlen; i++) {
        if (b[i] < 0x20 || b[i] > 0x7e) {
            text = false;
            break;
        }
    }
    if (text)
        printf("%s %.*s\n", msg->topic, msg->payloadlen, (const char *)msg->payload);
    else
        printf("%s <binary %d>\n", msg->topic, msg->payloadlen);
    fflush(stdout);
    __atomic_add_fetch(&t->received, 1, __ATOMIC_SEQ_CST);
}

static long term__num(const char *s)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 0) {
        fprintf(stderr, "pf_mqtt_term: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *cafile = NULL, *cert = NULL, *key = NULL;
    const char *subs[TERM_MAX_SUBS];
    long port = 0, qos = 1, expect = -1, wait_ms = 3000, sent = 0;
    int nsubs = 0, rc = 0;
    struct term t = {0};
    struct mosquitto *m;
    char line[16384];
    long long deadline;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--host"))
            host = argv[i + 1];
        else if (!strcmp(argv[i], "--port"))
            port = term__num(argv[i + 1]);
        else if (!strcmp(argv[i], "--cafile"))
            cafile = argv[i + 1];
        else if (!strcmp(argv[i], "--cert"))
            cert = argv[i + 1];
        else if (!strcmp(argv[i], "--key"))
            key = argv[i + 1];
        else if (!strcmp(argv[i], "--sub") && nsubs < TERM_MAX_SUBS)
            subs[nsubs++] = argv[i + 1];
        else if (!strcmp(argv[i], "--qos"))
            qos = term__num(argv[i + 1]);
        else if (!strcmp(argv[i], "--expect"))
            expect = term__num(argv[i + 1]);
        else if (!strcmp(argv[i], "--wait-ms"))
            wait_ms = term__num(argv[i + 1]);
        else {
            fprintf(stderr, "pf_mqtt_term: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (port <= 0 || port > 65535 || qos > 2) {
        fprintf(stderr, "usage: pf_mqtt_term --port P --cafile F --cert F --key F [--sub F]...\n");
        return 2;
    }
    mosquitto_lib_init();
    m = mosquitto_new(NULL, true, &t);
    if (!m)
        return 1;
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_max_inflight_messages_set(m, 0);
    mosquitto_connect_v5_callback_set(m, term__on_connect);
    mosquitto_subscribe_v5_callback_set(m, term__on_subscribe);
    mosquitto_publish_v5_callback_set(m, term__on_publish);
    mosquitto_message_v5_callback_set(m, term__on_message);
    if (cafile && mosquitto_tls_set(m, cafile, NULL, cert, key, NULL) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "pf_mqtt_term: TLS setup failed\n");
        return 1;
    }
    if (mosquitto_connect(m, host, (int)port, 60) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "pf_mqtt_term: cannot connect to %s:%ld\n", host, port);
        return 1;
    }
    deadline = term__now_ms() + 10000;
    while (__atomic_load_n(&t.connected, __ATOMIC_SEQ_CST) == 0 && term__now_ms() < deadline)
        term__sleep_ms(10);
    if (__atomic_load_n(&t.connected, __ATOMIC_SEQ_CST) != 1) {
        fprintf(stderr, "pf_mqtt_term: not connected\n");
        return 1;
    }
    for (int i = 0; i < nsubs; i++)
        mosquitto_subscribe_v5(m, NULL, subs[i], 1, 0, NULL);
    while (__atomic_load_n(&t.subscribed, __ATOMIC_SEQ_CST) < nsubs && term__now_ms() < deadline)
        term__sleep_ms(10);
    while (fgets(line, sizeof(line), stdin)) {
        char *sp = strchr(line, ' ');
        size_t n;

        line[strcspn(line, "\n")] = '\0';
        if (!sp)
            continue;
        *sp = '\0';
        n = strlen(sp + 1);
        while ((rc = mosquitto_publish_v5(m, NULL, line, (int)n, sp + 1, (int)qos, false, NULL)) ==
               MOSQ_ERR_NOMEM)
            term__sleep_ms(1);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "pf_mqtt_term: publish: %s\n", mosquitto_strerror(rc));
            break;
        }
        sent++;
    }
    deadline = term__now_ms() + 30000;
    while (qos > 0 && term__load(&t.acked) < sent && term__now_ms() < deadline)
        term__sleep_ms(10);
    deadline = term__now_ms() + wait_ms;
    while (term__now_ms() < deadline && (expect < 0 || term__load(&t.received) < expect))
        term__sleep_ms(10);
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    fprintf(stderr, "pf_mqtt_term: published %ld acked %ld received %ld\n", sent,
            term__load(&t.acked), term__load(&t.received));
    rc = (qos == 0 || term__load(&t.acked) == sent) &&
                         (expect < 0 || term__load(&t.received) >= expect)
                 ? 0
                 : 1;
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    return rc;
}
