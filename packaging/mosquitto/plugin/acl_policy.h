/*
 * acl_policy.h - posfleet's broker ACL as data, and the decisions taken on it.
 *
 * The policy is read from the same file Mosquitto's acl_file reads
 * (packaging/mosquitto/posfleet.acl): `user NAME`, `topic [read|write|readwrite]
 * FILTER` and `pattern [read|write|readwrite] FILTER` with %u (username) and %c
 * (client id). `deny` rules are refused: the plugin would otherwise have to
 * decide overlaps it cannot see whole, and posfleet's policy has none.
 *
 * Decisions:
 *   - read and write: the topic matches a rule of that access for the client;
 *   - a retained publish: the topic matches a `topic` write rule of the
 *     client's own `user` block. `pattern` rules, which are all a terminal
 *     has, never allow one: a retained message would be kept by the broker
 *     (in memory and in mosquitto.db) for as long as nobody clears it;
 *   - subscribe: every topic the filter can match is readable by the client,
 *     that is the filter lies within one read rule. `$share/GROUP/` is
 *     removed first, so a shared subscription is judged by its inner filter.
 *
 * Pure libc, no Mosquitto types: the broker plugin (posfleet_acl.c) and the
 * unit suite (tests/unit/test_acl_plugin.c) both build it.
 *
 * Ownership: a struct pfacl_policy owns its rules and their strings; the caller
 * owns the struct itself (zero it, fill it with pfacl_policy_parse or
 * pfacl_policy_load, free with pfacl_policy_release).
 */
#ifndef PFACL_POLICY_H
#define PFACL_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "pf/error.h"

/* Access bits; the values are Mosquitto's MOSQ_ACL_* (checked in the plugin). */
#define PFACL_READ      0x01u
#define PFACL_WRITE     0x02u
#define PFACL_SUBSCRIBE 0x04u

/* MQTT's limit on a topic or filter, in bytes. */
#define PFACL_TOPIC_MAX 65535u
/* Largest ACL file the plugin reads. */
#define PFACL_FILE_MAX (1024u * 1024u)

struct pfacl_rule {
    char *user;      /* owner of a `topic` rule; NULL for a `pattern` */
    char *filter;    /* as written, %u / %c unexpanded */
    unsigned access; /* PFACL_READ | PFACL_WRITE */
    bool expand;     /* a pattern that contains %u or %c */
};

struct pfacl_policy {
    struct pfacl_rule *rules;
    size_t count;
};

/* Parses an ACL file's text (LEN bytes, need not be NUL-terminated). On error
 * returns PF_EPARSE (with the line number in ERR), PF_EINVAL (deny rule),
 * PF_ETOOBIG or PF_ENOMEM, and leaves POLICY empty. */
PF_WUR int pfacl_policy_parse(struct pfacl_policy *policy, const char *text, size_t len,
                              struct pf_error *err);
/* pfacl_policy_parse on a file; PF_EIO when it cannot be read. */
PF_WUR int pfacl_policy_load(struct pfacl_policy *policy, const char *path, struct pf_error *err);
void pfacl_policy_release(struct pfacl_policy *policy);

/* A valid MQTT topic filter: 1..65535 bytes, + and # only as whole levels, #
 * only last. */
bool pfacl_filter_valid(const char *filter);
/* True when every topic FILTER matches is also matched by RULE (both valid
 * filters). A topic name is a filter without wildcards, so this is also
 * "does RULE match this topic". Topics starting with $ are matched only by a
 * rule whose first level is the same literal, as in MQTT. */
bool pfacl_filter_within(const char *filter, const char *rule);

/* The decision for one access (PFACL_READ, PFACL_WRITE: TOPIC is a topic name;
 * PFACL_SUBSCRIBE: TOPIC is a subscription filter, $share/ allowed). A client
 * without username or client id, or whose names contain + # or /, gets
 * nothing. */
bool pfacl_allowed(const struct pfacl_policy *policy, const char *username, const char *clientid,
                   unsigned access, const char *topic);

/* The decision for a publish of TOPIC: pfacl_allowed(..., PFACL_WRITE, TOPIC),
 * and when RETAIN is set only a `topic` rule under `user USERNAME` counts. */
bool pfacl_publish_allowed(const struct pfacl_policy *policy, const char *username,
                           const char *clientid, const char *topic, bool retain);

/* True when USERNAME has a `user` block in the policy: posfleetd and other
 * service identities, never a terminal (terminals have only `pattern` rules).
 * The plugin's publish rate limit applies to everyone else. */
bool pfacl_is_service(const struct pfacl_policy *policy, const char *username);

#endif
