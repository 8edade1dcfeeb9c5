/*
 * topic.h - the MQTT topic tree (docs/protocol.md is the reference).
 *
 *   pf/v1/dev/{serial}/{leaf}   terminal -> server (a terminal may publish only here)
 *   pf/v1/cmd/{serial}/{leaf}   server -> terminal (a terminal may read only here)
 *
 * Every dev/ leaf is also a value of enum pf_dev_leaf, so a reader parses a topic once
 * (pf_topic_parse, then pf_dev_leaf) and dispatches by table.
 *
 * Serials are 1..PF_SERIAL_MAX characters of [A-Za-z0-9_-]; they are the broker
 * username (certificate CN) and client id, so they never contain '/', '+', '#'.
 */
#ifndef PF_TOPIC_H
#define PF_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

#include "pf/error.h"

#define PF_TOPIC_ROOT "pf/v1"
#define PF_SERIAL_MAX 32
#define PF_TOPIC_MAX  128

/* Leaves under dev/{serial}/ (terminal -> server). */
#define PF_DEV_BIRTH  "birth"  /* QoS 1, not retained: once per connection */
#define PF_DEV_HEALTH "health" /* QoS 1, not retained: periodic and queued reports */
#define PF_DEV_STATE  "state"  /* QoS 1, not retained: online, and offline as last will */
#define PF_DEV_EVENT  "event"  /* QoS 1: outcome events that the server acknowledges */

/* Leaves under cmd/{serial}/ (server -> terminal). */
#define PF_CMD_ACK "ack" /* QoS 1: application-level acknowledgement of an event id */

enum pf_dir { PF_DIR_DEV, PF_DIR_CMD };

/* The leaves a terminal publishes under dev/{serial}/; pf_dev_leaf_names[] holds their
 * names (the PF_DEV_* strings of this header, pf/msg_update.h, pf/msg_diag.h and
 * pf/msg_lifecycle.h), NULL-terminated. */
enum pf_dev_leaf {
    PF_LEAF_HEALTH,
    PF_LEAF_BIRTH,
    PF_LEAF_STATE,
    PF_LEAF_EVENT,
    PF_LEAF_CHUNKREQ,
    PF_LEAF_DIAG,
    PF_LEAF_DIAGCHUNK,
    PF_LEAF_LOCK,
    PF_LEAF_TAMPER,
    PF_LEAF_COUNT
};
extern const char *const pf_dev_leaf_names[];

/* True if s is a well-formed serial. */
bool pf_serial_valid(const char *s);

/* Writes "pf/v1/{dev|cmd}/{serial}/{leaf}" into buf. */
int pf_topic_build(char *buf, size_t len, enum pf_dir dir, const char *serial,
                   const char *leaf) PF_WUR;

/*
 * Splits a topic into direction, serial and leaf. serial must hold
 * PF_SERIAL_MAX + 1 bytes; *leaf points into topic (may contain further '/').
 * Returns PF_ETOPIC for anything outside the tree or with a bad serial.
 */
int pf_topic_parse(const char *topic, enum pf_dir *dir, char *serial, const char **leaf) PF_WUR;

/* The enum pf_dev_leaf of a dev/ leaf (as pf_topic_parse returns it), or PF_ETOPIC for any
 * other, including a deeper path. */
int pf_dev_leaf(const char *leaf) PF_WUR;

#endif
