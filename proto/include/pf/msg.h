/*
 * msg.h - terminal <-> server messages and their JSON codecs.
 *
 * Every message is a JSON object with "v" (schema version, PF_SCHEMA_VERSION)
 * of at most PF_MSG_MAX bytes. The serial is never in the payload: it is the
 * topic's, which the broker ACL binds to the terminal's certificate.
 * Decoders are strict (type, range, length, required fields, total size),
 * ignore unknown fields, and on rejection return a PF_E* code and fill err.
 * Encoders write into a caller buffer. No card data exists in any message.
 * docs/protocol.md documents every field.
 */
#ifndef PF_MSG_H
#define PF_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"
#include "pf/topic.h"
#include "pf/version.h"

#define PF_SCHEMA_VERSION 1
#define PF_MSG_MAX        4096
#define PF_MODEL_MAX      32
#define PF_HWREV_MAX      16
#define PF_CURRENCY_LEN   3

enum pf_slot { PF_SLOT_A, PF_SLOT_B };
enum pf_boot_outcome {
    PF_BOOT_NORMAL,      /* ordinary boot of the committed slot */
    PF_BOOT_UPDATED,     /* first boot of a newly installed slot, self-test passed */
    PF_BOOT_ROLLED_BACK, /* fell back to the previous slot */
    PF_BOOT_RECOVERY,    /* self-test failed with no slot to fall back to */
};
enum pf_net_type {
    PF_NET_NONE,
    PF_NET_ETH,
    PF_NET_WIFI,
    PF_NET_2G,
    PF_NET_3G,
    PF_NET_4G,
    PF_NET_5G
};
enum pf_paper { PF_PAPER_OK, PF_PAPER_LOW, PF_PAPER_OUT, PF_PAPER_NONE /* no printer */ };
enum pf_check { PF_CHECK_PASS, PF_CHECK_FAIL, PF_CHECK_SKIP };
enum pf_component {
    PF_COMP_POWER,
    PF_COMP_NETWORK,
    PF_COMP_SCREEN,
    PF_COMP_PRINTER,
    PF_COMP_CARD_READER,
    PF_COMP_SECURE_ELEMENT,
    PF_COMP_COUNT
};
enum pf_conn_state { PF_STATE_ONLINE, PF_STATE_OFFLINE };

/* Names as they appear on the wire, NULL-terminated, indexed by the enums above. */
extern const char *const pf_slot_names[];
extern const char *const pf_boot_outcome_names[];
extern const char *const pf_net_type_names[];
extern const char *const pf_paper_names[];
extern const char *const pf_check_names[];
extern const char *const pf_component_names[];
extern const char *const pf_conn_state_names[];

/* A verified fee table waiting for its effective time on the terminal (optional in
 * birth and health; absent from agents before it, and when none waits). */
struct pf_fee_pending {
    char version[PF_VERSION_MAX + 1]; /* "" when no table is pending */
    int64_t effective_at;             /* Unix seconds, when it becomes the active one */
};

/* Published once per connection, before any health report. */
struct pf_birth {
    int64_t ts_ms; /* terminal wall clock, ms since epoch */
    char model[PF_MODEL_MAX + 1];
    char hw_rev[PF_HWREV_MAX + 1];
    char fw_version[PF_VERSION_MAX + 1];
    enum pf_slot fw_slot;
    char fee_version[PF_VERSION_MAX + 1]; /* "" when no fee table is installed */
    struct pf_fee_pending fee_pending;
    enum pf_boot_outcome boot;
    char agent_version[PF_VERSION_MAX + 1];
    enum pf_check selftest[PF_COMP_COUNT];
};

struct pf_health {
    uint32_t boot;   /* start counter of the agent, 1 at its first start; 0: not sent */
    uint32_t seq;    /* per-terminal, increases by one per report (within a boot) */
    int64_t ts_ms;   /* when measured (queued reports keep their time) */
    int battery_pct; /* 0..100 */
    bool charging;
    enum pf_net_type net_type;
    int signal_dbm; /* -150..0 */
    int temp_c;     /* -40..125 */
    uint64_t storage_free_kb;
    uint64_t mem_free_kb;
    uint64_t uptime_s;
    char fw_version[PF_VERSION_MAX + 1];
    enum pf_slot fw_slot;
    char fee_version[PF_VERSION_MAX + 1];
    struct pf_fee_pending fee_pending;
    enum pf_paper paper;
    bool tamper;
    enum pf_check selftest[PF_COMP_COUNT];
    uint32_t err_reconnects;            /* MQTT reconnects since boot */
    uint32_t err_queue_dropped;         /* offline reports dropped because the queue was full */
    uint32_t err_reader;                /* card reader faults since boot */
    uint32_t err_printer;               /* printer faults since boot */
    uint32_t txn_count;                 /* today's transactions (terminal local day) */
    uint64_t txn_amount_minor;          /* today's total, minor currency units */
    char currency[PF_CURRENCY_LEN + 1]; /* ISO 4217 alpha code */
    bool queued;                        /* delivered late from the offline queue */
};

struct pf_state {
    enum pf_conn_state state;
    int64_t ts_ms; /* 0 when unknown (the last will is composed at connect time) */
};

/* Application-level acknowledgement of an event id (cmd/{serial}/ack). */
struct pf_ack {
    char id[64 + 1];
};

int pf_birth_encode(const struct pf_birth *m, char *buf, size_t len, size_t *outlen) PF_WUR;
int pf_birth_decode(const char *buf, size_t len, struct pf_birth *m, struct pf_error *err) PF_WUR;
int pf_health_encode(const struct pf_health *m, char *buf, size_t len, size_t *outlen) PF_WUR;
int pf_health_decode(const char *buf, size_t len, struct pf_health *m, struct pf_error *err) PF_WUR;
int pf_state_encode(const struct pf_state *m, char *buf, size_t len, size_t *outlen) PF_WUR;
int pf_state_decode(const char *buf, size_t len, struct pf_state *m, struct pf_error *err) PF_WUR;
int pf_ack_encode(const struct pf_ack *m, char *buf, size_t len, size_t *outlen) PF_WUR;
int pf_ack_decode(const char *buf, size_t len, struct pf_ack *m, struct pf_error *err) PF_WUR;

#endif
