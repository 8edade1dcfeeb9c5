/*
 * test_acl_plugin.c - the broker ACL plugin's policy: parsing posfleet.acl,
 * filter containment (+, #, $ topics, $share/GROUP/, empty levels, overlong
 * topics) and the read / write / subscribe decisions on the shipped ACL; the
 * per-client publish rate limit (token buckets, chunk requests apart, the
 * table that forgets disconnected clients) and who it applies to.
 *
 * The policy code is libc-only and not part of any library the suites link,
 * so it is compiled in here; the same file is built into posfleet_acl.so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../packaging/mosquitto/plugin/acl_policy.c"
#include "../../packaging/mosquitto/plugin/rate_limit.c"
#include "pf/topic.h"
#include "testutil.h"

#define R  PFACL_READ
#define W  PFACL_WRITE
#define S  PFACL_SUBSCRIBE
#define A  "TA-0001"
#define B  "TB-0002"
#define SV "posfleetd"

/* The ACL file shipped in packaging/mosquitto/. */
static void load_shipped(struct pfacl_policy *p)
{
    char path[4096];
    const char *src = getenv("POSFLEET_SRC");
    struct pf_error err = {0};
    int rc;

    if (src) {
        snprintf(path, sizeof(path), "%s/packaging/mosquitto/posfleet.acl", src);
    } else {
        const char *tail = strstr(__FILE__, "/tests/unit/");
        ck_assert_ptr_nonnull(tail);
        snprintf(path, sizeof(path), "%.*s/packaging/mosquitto/posfleet.acl",
                 (int)(tail - __FILE__), __FILE__);
    }
    rc = pfacl_policy_load(p, path, &err);
    ck_assert_msg(rc == 0, "%s: %s", path, err.msg);
    /* posfleetd's two rules, a write pattern per dev/ leaf and the read pattern. */
    ck_assert_uint_eq(p->count, 2 + PF_LEAF_COUNT + 1);
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

START_TEST(filters_valid)
{
    static const char *ok[] = {"a",   "#",     "+",          "/",      "a//b",  "a/+/b",
                               "a/#", "+/+/#", "$share/g/a", "$SYS/#", "a b/c", "/#"};
    static const char *bad[] = {"", "a/#/b", "a#", "a+/b", "a/b+", "##", "++", "#/a", "a/+b"};
    char *overlong = repeat('a', PFACL_TOPIC_MAX + 1);
    char *longest = repeat('a', PFACL_TOPIC_MAX);
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        ck_assert_msg(pfacl_filter_valid(ok[i]), "'%s' should be valid", ok[i]);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!pfacl_filter_valid(bad[i]), "'%s' should be invalid", bad[i]);
    ck_assert(!pfacl_filter_valid(NULL));
    ck_assert(!pfacl_filter_valid(overlong));
    ck_assert(pfacl_filter_valid(longest));
    free(overlong);
    free(longest);
}
END_TEST

static const struct {
    const char *filter, *rule;
    bool within;
} within_cases[] = {
        /* Exact and literal. */
        {"pf/v1/cmd/A/ping", "pf/v1/cmd/A/#", true},
        {"pf/v1/cmd/A", "pf/v1/cmd/A/#", true}, /* # matches its parent level */
        {"pf/v1/cmd/A/#", "pf/v1/cmd/A/#", true},
        {"pf/v1/cmd/A/+", "pf/v1/cmd/A/#", true},
        {"pf/v1/cmd/A/+/x/#", "pf/v1/cmd/A/#", true},
        {"pf/v1/cmd/B/#", "pf/v1/cmd/A/#", false},
        {"pf/v1/cmd/AB/#", "pf/v1/cmd/A/#", false},
        {"pf/v1/cmd/#", "pf/v1/cmd/A/#", false},
        {"pf/v1/cmd/+/#", "pf/v1/cmd/A/#", false},
        {"pf/v1/cmd/+", "pf/v1/cmd/A/#", false},
        {"pf/v1/+/A/#", "pf/v1/cmd/A/#", false},
        {"pf/v1/#", "pf/v1/cmd/A/#", false},
        {"#", "pf/v1/cmd/A/#", false},
        {"+/+/+/+", "pf/v1/cmd/A/#", false},
        {"pf/v1/cmd", "pf/v1/cmd/A/#", false},
        /* + in the rule. */
        {"pf/v1/dev/A/health", "pf/v1/dev/+/+", true},
        {"pf/v1/dev/+/+", "pf/v1/dev/+/+", true},
        {"pf/v1/dev/+/health", "pf/v1/dev/+/+", true},
        {"pf/v1/dev/+/#", "pf/v1/dev/+/+", false},
        {"pf/v1/dev/A", "pf/v1/dev/+/+", false},
        {"pf/v1/dev/A/x/y", "pf/v1/dev/+/+", false},
        {"pf/v1/dev/+", "pf/v1/dev/+/#", true},
        {"pf/v1/dev/#", "pf/v1/dev/+/#", false}, /* pf/v1/dev itself */
        {"pf/v1/dev/+/+", "pf/v1/dev/#", true},
        {"#", "#", true},
        {"a/b", "#", true},
        /* Empty levels are levels. */
        {"pf/v1/cmd/A//x", "pf/v1/cmd/A/#", true},
        {"pf/v1/cmd//#", "pf/v1/cmd/A/#", false},
        {"pf/v1/cmd/A/", "pf/v1/cmd/A/#", true},
        {"/", "+/+", true},
        {"/", "+", false},
        {"a//b", "a/+/b", true},
        {"a/b", "a//b", false},
        /* Topics starting with $ are not matched by a leading wildcard. */
        {"$SYS/broker/uptime", "#", false},
        {"$SYS/broker/uptime", "+/broker/uptime", false},
        {"$SYS/#", "#", false},
        {"$SYS/broker/uptime", "$SYS/#", true},
        {"#", "$SYS/#", false},
};

START_TEST(filter_within)
{
    size_t i;

    for (i = 0; i < sizeof(within_cases) / sizeof(within_cases[0]); i++)
        ck_assert_msg(pfacl_filter_within(within_cases[i].filter, within_cases[i].rule) ==
                              within_cases[i].within,
                      "'%s' within '%s' should be %d", within_cases[i].filter, within_cases[i].rule,
                      within_cases[i].within);
}
END_TEST

/* A terminal subscribes only inside its own command subtree. */
START_TEST(terminal_subscribe)
{
    static const char *allowed[] = {
            "pf/v1/cmd/" A "/#",         "pf/v1/cmd/" A "/ping",
            "pf/v1/cmd/" A "/+",         "pf/v1/cmd/" A,
            "pf/v1/cmd/" A "//x",        "$share/g/pf/v1/cmd/" A "/#",
            "pf/v1/cmd/" A "/a/b/c/d/#",
    };
    static const char *refused[] = {
            "pf/v1/cmd/" B "/#",
            "pf/v1/cmd/" B "/ping",
            "pf/v1/cmd/+/#",
            "pf/v1/cmd/+/ping",
            "pf/v1/cmd/#",
            "pf/v1/+/+/ping",
            "pf/v1/#",
            "#",
            "+/+/+/+",
            "pf/v1/dev/#",
            "pf/v1/dev/" A "/#",
            "pf/v1/dev/" B "/#",
            "pf/v1/dev/+/+",
            "pf/v1/+/" A "/#",
            "$share/g/pf/v1/cmd/#",
            "$share/g/#",
            "$share/g/pf/v1/cmd/" B "/#",
            "$share/" A "/pf/v1/cmd/+/#",
            "$SYS/#",
            "$share//pf/v1/cmd/" A "/#",
            "$share/g",
            "$share/g/",
            "$share/g+/pf/v1/cmd/" A "/#",
            "$share/#/pf/v1/cmd/" A "/#",
            "pf/v1/cmd//#",
            "pf/v1/cmd/" A "x/#",
            "pf/v1/cmd/" A "/#/x",
            "",
            "pf/v1/cmd/" A "+",
    };
    struct pfacl_policy p;
    size_t i;

    load_shipped(&p);
    for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        ck_assert_msg(pfacl_allowed(&p, A, A, S, allowed[i]), "%s should subscribe to '%s'", A,
                      allowed[i]);
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        ck_assert_msg(!pfacl_allowed(&p, A, A, S, refused[i]), "%s must not subscribe to '%s'", A,
                      refused[i]);
    pfacl_policy_release(&p);
    ck_assert_ptr_null(p.rules);
    ck_assert_uint_eq(p.count, 0);
}
END_TEST

/* posfleetd reads every report, shared or not, and no command subtree but its own. */
START_TEST(service_subscribe)
{
    static const char *allowed[] = {"pf/v1/dev/+/+",        "$share/pfs/pf/v1/dev/+/+",
                                    "pf/v1/dev/#",          "pf/v1/dev/" A "/health",
                                    "$share/g/pf/v1/dev/#", "pf/v1/cmd/" SV "/#"};
    static const char *refused[] = {"pf/v1/#",           "#",
                                    "pf/v1/cmd/#",       "pf/v1/cmd/+/ping",
                                    "pf/v1/cmd/" A "/#", "$share/pfs/pf/v1/cmd/+/#",
                                    "pf/v1/+/+/+",       "$share/pfs/#"};
    struct pfacl_policy p;
    size_t i;

    load_shipped(&p);
    for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        ck_assert_msg(pfacl_allowed(&p, SV, SV, S, allowed[i]), "posfleetd should get '%s'",
                      allowed[i]);
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        ck_assert_msg(!pfacl_allowed(&p, SV, SV, S, refused[i]), "posfleetd must not get '%s'",
                      refused[i]);
    pfacl_policy_release(&p);
}
END_TEST

START_TEST(read_write)
{
    struct pfacl_policy p;

    load_shipped(&p);
    /* A terminal publishes under its own dev subtree only... */
    ck_assert(pfacl_allowed(&p, A, A, W, "pf/v1/dev/" A "/health"));
    ck_assert(!pfacl_allowed(&p, A, A, W, "pf/v1/dev/" A));
    ck_assert(!pfacl_allowed(&p, A, A, W, "pf/v1/dev/" B "/health"));
    ck_assert(!pfacl_allowed(&p, A, A, W, "pf/v1/dev/" A "x/health"));
    ck_assert(!pfacl_allowed(&p, A, A, W, "pf/v1/cmd/" A "/ack"));
    ck_assert(!pfacl_allowed(&p, A, A, W, "other/topic"));
    /* ... and receives its own cmd subtree only. */
    ck_assert(pfacl_allowed(&p, A, A, R, "pf/v1/cmd/" A "/ping"));
    ck_assert(!pfacl_allowed(&p, A, A, R, "pf/v1/cmd/" B "/ping"));
    ck_assert(!pfacl_allowed(&p, A, A, R, "pf/v1/dev/" A "/health"));
    ck_assert(!pfacl_allowed(&p, A, A, R, "pf/v1/dev/" B "/health"));
    /* posfleetd reads reports and writes commands, not the other way round. */
    ck_assert(pfacl_allowed(&p, SV, SV, R, "pf/v1/dev/" A "/health"));
    ck_assert(pfacl_allowed(&p, SV, SV, W, "pf/v1/cmd/" A "/ping"));
    ck_assert(!pfacl_allowed(&p, SV, SV, W, "pf/v1/dev/" A "/health"));
    ck_assert(!pfacl_allowed(&p, SV, SV, R, "pf/v1/cmd/" A "/ping"));
    /* A topic name with wildcards, or $share, is never a read or write. */
    ck_assert(!pfacl_allowed(&p, SV, SV, R, "pf/v1/dev/+/health"));
    ck_assert(!pfacl_allowed(&p, A, A, W, "pf/v1/dev/" A "/#"));
    ck_assert(!pfacl_allowed(&p, SV, SV, R, "$share/g/pf/v1/dev/" A "/health"));
    /* Unknown access values get nothing (UNSUBSCRIBE is the plugin's business). */
    ck_assert(!pfacl_allowed(&p, A, A, 0, "pf/v1/cmd/" A "/ping"));
    ck_assert(!pfacl_allowed(&p, A, A, R | W, "pf/v1/cmd/" A "/ping"));
    ck_assert(!pfacl_allowed(&p, A, A, 8, "pf/v1/cmd/" A "/ping"));
    pfacl_policy_release(&p);
}
END_TEST

/* Names that could widen a %u pattern, or no name at all, get nothing. */
START_TEST(identities)
{
    struct pfacl_policy p;

    load_shipped(&p);
    ck_assert(!pfacl_allowed(&p, NULL, A, S, "pf/v1/cmd/" A "/#"));
    ck_assert(!pfacl_allowed(&p, A, NULL, S, "pf/v1/cmd/" A "/#"));
    ck_assert(!pfacl_allowed(&p, "", A, S, "pf/v1/cmd//#"));
    ck_assert(!pfacl_allowed(&p, "+", A, S, "pf/v1/cmd/+/#"));
    ck_assert(!pfacl_allowed(&p, "#", A, R, "pf/v1/cmd/x/y"));
    ck_assert(!pfacl_allowed(&p, "a/b", A, S, "pf/v1/cmd/a/b/#"));
    ck_assert(!pfacl_allowed(&p, A, "x#", S, "pf/v1/cmd/" A "/#"));
    ck_assert(!pfacl_allowed(NULL, A, A, S, "pf/v1/cmd/" A "/#"));
    ck_assert(!pfacl_allowed(&p, A, A, S, NULL));
    pfacl_policy_release(&p);
}
END_TEST

/* A name too long for the expansion's stack buffer takes the heap path. */
START_TEST(long_names)
{
    struct pfacl_policy p;
    char *name = repeat('n', 1000), *other = repeat('n', 999);
    char topic[1100];

    load_shipped(&p);
    snprintf(topic, sizeof(topic), "pf/v1/cmd/%s/#", name);
    ck_assert(pfacl_allowed(&p, name, name, S, topic));
    ck_assert(!pfacl_allowed(&p, other, other, S, topic));
    snprintf(topic, sizeof(topic), "pf/v1/dev/%s/health", name);
    ck_assert(pfacl_allowed(&p, name, name, W, topic));
    ck_assert(!pfacl_allowed(&p, name, name, R, topic));
    free(name);
    free(other);
    pfacl_policy_release(&p);
}
END_TEST

START_TEST(overlong_topics)
{
    struct pfacl_policy p;
    const char *prefix = "pf/v1/cmd/" A "/";
    size_t plen = strlen(prefix);
    char *t = repeat('x', PFACL_TOPIC_MAX + 1);

    load_shipped(&p);
    memcpy(t, prefix, plen);
    /* 65536 bytes: over MQTT's limit, refused for every access. */
    ck_assert(!pfacl_allowed(&p, A, A, S, t));
    ck_assert(!pfacl_allowed(&p, A, A, R, t));
    /* 65535 bytes: the longest topic, inside A's subtree. */
    t[PFACL_TOPIC_MAX] = '\0';
    ck_assert(pfacl_allowed(&p, A, A, S, t));
    ck_assert(pfacl_allowed(&p, A, A, R, t));
    ck_assert(!pfacl_allowed(&p, B, B, R, t));
    free(t);
    pfacl_policy_release(&p);
}
END_TEST

START_TEST(parse_rules)
{
    static const char text[] = "# comment\n"
                               "topic read anon/#\n" /* before any user: anonymous only */
                               "\n"
                               "user svc  \r\n"
                               "topic a/#\n"
                               "  topic write b/+/c\n"
                               "user other\n"
                               "topic readwrite d\n"
                               "pattern read x/%c/%u/#\n"
                               "pattern write y/#"; /* no final newline */
    struct pfacl_policy p;
    struct pf_error err = {0};

    ck_assert_int_eq(pfacl_policy_parse(&p, text, strlen(text), &err), 0);
    ck_assert_uint_eq(p.count, 5);
    ck_assert_str_eq(p.rules[0].user, "svc");
    ck_assert_str_eq(p.rules[0].filter, "a/#");
    ck_assert_uint_eq(p.rules[0].access, R | W);
    ck_assert_str_eq(p.rules[1].filter, "b/+/c");
    ck_assert_uint_eq(p.rules[1].access, W);
    ck_assert_str_eq(p.rules[2].user, "other");
    ck_assert_ptr_null(p.rules[3].user);
    ck_assert(p.rules[3].expand);
    ck_assert(!p.rules[4].expand);

    /* Rules apply to their user; patterns to everyone, %c and %u expanded. */
    ck_assert(pfacl_allowed(&p, "svc", "svc", S, "a/b/#"));
    ck_assert(!pfacl_allowed(&p, "other", "other", S, "a/b/#"));
    ck_assert(!pfacl_allowed(&p, "svc", "svc", S, "b/x/c"));
    ck_assert(pfacl_allowed(&p, "svc", "svc", W, "b/x/c"));
    ck_assert(pfacl_allowed(&p, "u1", "c1", S, "x/c1/u1/#"));
    ck_assert(!pfacl_allowed(&p, "u1", "c1", S, "x/u1/u1/#"));
    ck_assert(!pfacl_allowed(&p, "u1", "c1", S, "anon/#"));
    ck_assert(pfacl_allowed(&p, "u1", "c1", W, "y/z"));
    ck_assert(!pfacl_allowed(&p, "u1", "c1", S, "y/z"));
    pfacl_policy_release(&p);
}
END_TEST

START_TEST(parse_errors)
{
    static const struct {
        const char *text;
        int code;
        const char *msg;
    } cases[] = {
            {"user a\ntopic deny a/#\n", PF_EINVAL, "line 2: deny rules are not supported"},
            {"pattern deny a/%u\n", PF_EINVAL, "line 1: deny rules are not supported"},
            {"user a\ntopic read\n", PF_EINVAL, NULL}, /* "read" alone is a topic: fine */
            {"user a\ntopic sometimes a/#\n", PF_EPARSE, "line 2: unknown access 'sometimes'"},
            {"# x\n\nallow a\n", PF_EPARSE, "line 3: unknown keyword 'allow'"},
            {"user\n", PF_EPARSE, "line 1: user without a name"},
            {"user a\ntopic\n", PF_EPARSE, "line 2: topic without a topic"},
            {"pattern read a/#/b\n", PF_EPARSE, "line 1: invalid topic filter"},
            {"user a\ntopic read a+\n", PF_EPARSE, "line 2: invalid topic filter"},
    };
    struct pfacl_policy p;
    struct pf_error err;
    size_t i;
    int rc;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&err, 0, sizeof(err));
        p.rules = (void *)&err; /* parse must reset the output */
        p.count = 99;
        rc = pfacl_policy_parse(&p, cases[i].text, strlen(cases[i].text), &err);
        if (!cases[i].msg) {
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(p.count, 1);
            ck_assert_str_eq(p.rules[0].filter, "read");
            pfacl_policy_release(&p);
            continue;
        }
        ck_assert_msg(rc == cases[i].code, "case %zu: rc %d", i, rc);
        ck_assert_int_eq(err.code, cases[i].code);
        ck_assert_str_eq(err.msg, cases[i].msg);
        ck_assert_ptr_null(p.rules);
        ck_assert_uint_eq(p.count, 0);
    }
}
END_TEST

START_TEST(parse_limits)
{
    struct pfacl_policy p;
    struct pf_error err = {0};
    char *big = repeat('#', PFACL_FILE_MAX + 1);
    static const char nul[] = "user a\0\ntopic read a/#\n";
    char dir[256], path[512];
    FILE *f;

    ck_assert_int_eq(pfacl_policy_parse(&p, big, PFACL_FILE_MAX + 1, &err), PF_ETOOBIG);
    ck_assert_ptr_null(p.rules);
    /* A file of comments only, at the limit, is an empty policy: it allows nothing. */
    ck_assert_int_eq(pfacl_policy_parse(&p, big, PFACL_FILE_MAX, &err), 0);
    ck_assert_uint_eq(p.count, 0);
    ck_assert(!pfacl_allowed(&p, A, A, S, "pf/v1/cmd/" A "/#"));
    pfacl_policy_release(&p);
    ck_assert_int_eq(pfacl_policy_parse(&p, nul, sizeof(nul) - 1, &err), PF_EPARSE);
    ck_assert_str_eq(err.msg, "ACL file contains a NUL byte");

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/missing.acl", dir);
    ck_assert_int_eq(pfacl_policy_load(&p, path, &err), PF_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "missing.acl"));
    ck_assert_ptr_null(p.rules);
    /* Too big on disk too (one byte over). */
    snprintf(path, sizeof(path), "%s/big.acl", dir);
    f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(big, 1, PFACL_FILE_MAX + 1, f), PFACL_FILE_MAX + 1);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(pfacl_policy_load(&p, path, &err), PF_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "big.acl: ACL file larger than"));
    pf_test_rmtree(dir);
    free(big);
}
END_TEST

/* A terminal publishes exactly the leaves of enum pf_dev_leaf under its own
 * subtree: the shipped file and pf/topic.h name the same leaves. */
START_TEST(terminal_leaves)
{
    static const char *refused[] = {
            "pf/v1/dev/" A "/x",
            "pf/v1/dev/" A "/health/x",
            "pf/v1/dev/" A "/",
            "pf/v1/dev/" A "/Health",
            "pf/v1/dev/" A "/healthx",
            "pf/v1/dev/" A "//health",
            "pf/v1/dev/" A "/ack",
            "pf/v1/dev/" A "/offer",
            "pf/v1/dev/" A "/chunk",
            "pf/v1/dev/" A "/diag/result",
            "pf/v1/dev/" A,
    };
    struct pfacl_policy p;
    char topic[PF_TOPIC_MAX];
    size_t i;

    load_shipped(&p);
    for (i = 0; pf_dev_leaf_names[i]; i++) {
        ck_assert_int_eq(pf_topic_build(topic, sizeof(topic), PF_DIR_DEV, A, pf_dev_leaf_names[i]),
                         0);
        ck_assert_msg(pfacl_allowed(&p, A, A, W, topic), "%s refused", topic);
        ck_assert_msg(pfacl_publish_allowed(&p, A, A, topic, false), "%s refused", topic);
        /* Never as someone else. */
        ck_assert_msg(!pfacl_allowed(&p, B, B, W, topic), "%s allowed to " B, topic);
    }
    ck_assert_uint_eq(i, PF_LEAF_COUNT);
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        ck_assert_msg(!pfacl_allowed(&p, A, A, W, refused[i]), "%s allowed", refused[i]);
        ck_assert_msg(!pfacl_publish_allowed(&p, A, A, refused[i], false), "%s allowed",
                      refused[i]);
    }
    pfacl_policy_release(&p);
}
END_TEST

/* Retained publishes need a `topic` rule of the client's own `user` block. */
START_TEST(retained_publish)
{
    static const char text[] = "user svc\n"
                               "topic write pf/v1/cmd/#\n"
                               "user ops\n"
                               "topic readwrite pf/v1/dev/#\n"
                               "user " A "\n"
                               "topic write pf/v1/extra/" A "/#\n"
                               "pattern write pf/v1/dev/%u/health\n";
    struct pfacl_policy p;
    struct pf_error err = {0};
    size_t i;

    load_shipped(&p);
    /* A terminal's retained publish is refused on every leaf, its plain one allowed. */
    for (i = 0; pf_dev_leaf_names[i]; i++) {
        char topic[PF_TOPIC_MAX];
        ck_assert_int_eq(pf_topic_build(topic, sizeof(topic), PF_DIR_DEV, A, pf_dev_leaf_names[i]),
                         0);
        ck_assert_msg(!pfacl_publish_allowed(&p, A, A, topic, true), "%s retained", topic);
        ck_assert(pfacl_publish_allowed(&p, A, A, topic, false));
    }
    /* posfleetd keeps what it has: commands, retained or not; never reports. */
    ck_assert(pfacl_publish_allowed(&p, SV, SV, "pf/v1/cmd/" A "/ack", false));
    ck_assert(pfacl_publish_allowed(&p, SV, SV, "pf/v1/cmd/" A "/ack", true));
    ck_assert(!pfacl_publish_allowed(&p, SV, SV, "pf/v1/dev/" A "/health", true));
    ck_assert(!pfacl_publish_allowed(&p, SV, SV, "pf/v1/dev/" A "/health", false));
    pfacl_policy_release(&p);

    ck_assert_int_eq(pfacl_policy_parse(&p, text, strlen(text), &err), 0);
    /* A pattern that also names the client does not allow retaining... */
    ck_assert(pfacl_publish_allowed(&p, A, A, "pf/v1/dev/" A "/health", false));
    ck_assert(!pfacl_publish_allowed(&p, A, A, "pf/v1/dev/" A "/health", true));
    ck_assert(!pfacl_publish_allowed(&p, "svc", "svc", "pf/v1/dev/svc/health", true));
    ck_assert(pfacl_publish_allowed(&p, "svc", "svc", "pf/v1/dev/svc/health", false));
    /* ... a rule of its own user block does, and only there. */
    ck_assert(pfacl_publish_allowed(&p, A, A, "pf/v1/extra/" A "/x", true));
    ck_assert(!pfacl_publish_allowed(&p, B, B, "pf/v1/extra/" A "/x", true));
    ck_assert(pfacl_publish_allowed(&p, "ops", "ops", "pf/v1/dev/" A "/health", true));
    ck_assert(pfacl_publish_allowed(&p, "svc", "svc", "pf/v1/cmd/" A "/ack", true));
    ck_assert(!pfacl_publish_allowed(&p, "svc", "svc", "pf/v1/dev/" A "/health", true));
    /* Same identity rules as every decision. */
    ck_assert(!pfacl_publish_allowed(&p, "ops", NULL, "pf/v1/dev/" A "/health", true));
    ck_assert(!pfacl_publish_allowed(&p, "ops", "ops", "pf/v1/dev/+/health", true));
    pfacl_policy_release(&p);
}
END_TEST

/* A bucket starts full, refuses past its burst, refills at its rate and never
 * above its burst; rate 0 is no limit; a clock going back refills nothing. */
START_TEST(rate_bucket)
{
    struct pfrl_limit lim = {10, 5}, off = {0, 1};
    struct pfrl_bucket b;
    int i;

    pfrl_bucket_init(&b, &lim, 1000);
    for (i = 0; i < 5; i++)
        ck_assert(pfrl_take(&b, &lim, 1000));
    ck_assert(!pfrl_take(&b, &lim, 1000));
    /* 10/s: one token per 100 ms, not before. */
    ck_assert(!pfrl_take(&b, &lim, 1099));
    ck_assert(pfrl_take(&b, &lim, 1100));
    ck_assert(!pfrl_take(&b, &lim, 1100));
    /* Refill in small steps loses nothing to rounding. */
    for (i = 1; i <= 100; i++)
        ck_assert_msg(!pfrl_take(&b, &lim, 1100 + (uint64_t)i) || i == 100, "token at %d", i);
    /* ... the 100th millisecond above gave the next token: the bucket is empty again. */
    ck_assert(!pfrl_take(&b, &lim, 1200));
    /* A long silence fills it to the burst, not beyond. */
    for (i = 0; i < 5; i++)
        ck_assert(pfrl_take(&b, &lim, 1000000));
    ck_assert(!pfrl_take(&b, &lim, 1000000));
    /* The clock going back refills nothing. */
    ck_assert(!pfrl_take(&b, &lim, 5));
    ck_assert(!pfrl_take(&b, &lim, 1000000));
    /* Rate 0: no limit. */
    pfrl_bucket_init(&b, &off, 0);
    for (i = 0; i < 10000; i++)
        ck_assert(pfrl_take(&b, &off, 0));
}
END_TEST

/* Over its limit a client is refused, another is not; chunk requests have a
 * bucket of their own; a forgotten (disconnected) client leaves the table. */
START_TEST(rate_table)
{
    struct pfrl_table t = {.report = {100, 3}, .chunk = {1000, 2}};
    struct pfrl_client *c;
    char id[32];
    int i;

    ck_assert(pfrl_is_chunkreq("pf/v1/dev/" A "/chunkreq"));
    ck_assert(!pfrl_is_chunkreq("pf/v1/dev/" A "/health"));
    ck_assert(!pfrl_is_chunkreq("pf/v1/dev/chunkreq/health"));
    ck_assert(pfrl_is_chunkreq("chunkreq"));
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(pfrl_check(&t, A, "pf/v1/dev/" A "/health", 0, &c), 1);
    ck_assert_int_eq(pfrl_check(&t, A, "pf/v1/dev/" A "/event", 0, &c), 0);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->id, A);
    /* Another terminal is untouched. */
    ck_assert_int_eq(pfrl_check(&t, B, "pf/v1/dev/" B "/health", 0, NULL), 1);
    /* A's chunk requests still pass, up to their own burst. */
    ck_assert_int_eq(pfrl_check(&t, A, "pf/v1/dev/" A "/chunkreq", 0, NULL), 1);
    ck_assert_int_eq(pfrl_check(&t, A, "pf/v1/dev/" A "/chunkreq", 0, NULL), 1);
    ck_assert_int_eq(pfrl_check(&t, A, "pf/v1/dev/" A "/chunkreq", 0, NULL), 0);
    /* 10 ms later A has one report token. */
    ck_assert_int_eq(pfrl_check(&t, A, "pf/v1/dev/" A "/health", 10, NULL), 1);
    ck_assert_int_eq(pfrl_check(&t, A, "pf/v1/dev/" A "/health", 10, NULL), 0);
    ck_assert_uint_eq(t.count, 2);
    /* Disconnected: forgotten, and a reconnect starts full. */
    pfrl_forget(&t, A);
    pfrl_forget(&t, "never-seen");
    ck_assert_uint_eq(t.count, 1);
    ck_assert_int_eq(pfrl_check(&t, A, "pf/v1/dev/" A "/health", 10, NULL), 1);
    /* Many clients: the table grows and each keeps its own bucket. */
    for (i = 0; i < 5000; i++) {
        snprintf(id, sizeof(id), "T%06d", i);
        ck_assert_int_eq(pfrl_check(&t, id, "pf/v1/dev/x/health", 10, NULL), 1);
    }
    ck_assert_uint_eq(t.count, 5002);
    for (i = 0; i < 5000; i++) {
        snprintf(id, sizeof(id), "T%06d", i);
        pfrl_forget(&t, id);
    }
    ck_assert_uint_eq(t.count, 2);
    ck_assert_int_eq(pfrl_check(&t, B, "pf/v1/dev/" B "/health", 10, NULL), 1);
    pfrl_table_release(&t);
    ck_assert_uint_eq(t.count, 0);
}
END_TEST

/* Only terminals are limited: posfleetd has a `user` block, terminals do not. */
START_TEST(rate_who)
{
    struct pfacl_policy p = {0};

    load_shipped(&p);
    ck_assert(pfacl_is_service(&p, SV));
    ck_assert(!pfacl_is_service(&p, A));
    ck_assert(!pfacl_is_service(&p, NULL));
    pfacl_policy_release(&p);
}
END_TEST

static Suite *acl_suite(void)
{
    Suite *s = suite_create("acl_plugin");
    TCase *tc = tcase_create("policy");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, filters_valid);
    tcase_add_test(tc, filter_within);
    tcase_add_test(tc, terminal_subscribe);
    tcase_add_test(tc, service_subscribe);
    tcase_add_test(tc, read_write);
    tcase_add_test(tc, terminal_leaves);
    tcase_add_test(tc, retained_publish);
    tcase_add_test(tc, identities);
    tcase_add_test(tc, long_names);
    tcase_add_test(tc, overlong_topics);
    tcase_add_test(tc, parse_rules);
    tcase_add_test(tc, parse_errors);
    tcase_add_test(tc, parse_limits);
    tcase_add_test(tc, rate_bucket);
    tcase_add_test(tc, rate_table);
    tcase_add_test(tc, rate_who);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(acl_suite());
}
