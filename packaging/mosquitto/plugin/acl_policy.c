/*
 * acl_policy.c - parsing posfleet.acl and deciding read, write and subscribe.
 * See acl_policy.h. Libc only: this file is built into the broker plugin and
 * included by its unit suite.
 */
#include "acl_policy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int policy__fail(struct pf_error *err, int code, const char *fmt, ...) PF_PRINTF(3, 4);

/* Fills ERR without pf_proto (the plugin links nothing but libc). */
static int policy__fail(struct pf_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err) {
        err->code = code;
        va_start(ap, fmt);
        (void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

static bool policy__blank(char c)
{
    return c == ' ' || c == '\t';
}

static char *policy__skip_blanks(char *s)
{
    while (policy__blank(*s))
        s++;
    return s;
}

/* Splits S at its first run of blanks: returns S (NUL-terminated first word)
 * and sets *REST to what follows the blanks ("" when nothing does). */
static char *policy__word(char *s, char **rest)
{
    char *end = s;

    while (*end && !policy__blank(*end))
        end++;
    if (*end) {
        *end = '\0';
        *rest = policy__skip_blanks(end + 1);
    } else {
        *rest = end;
    }
    return s;
}

void pfacl_policy_release(struct pfacl_policy *policy)
{
    size_t i;

    if (!policy)
        return;
    for (i = 0; i < policy->count; i++) {
        free(policy->rules[i].user);
        free(policy->rules[i].filter);
    }
    free(policy->rules);
    policy->rules = NULL;
    policy->count = 0;
}

static int policy__add(struct pfacl_policy *policy, size_t *cap, const char *user,
                       const char *filter, unsigned access)
{
    struct pfacl_rule *r, *grown;

    if (policy->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        grown = realloc(policy->rules, ncap * sizeof(*grown));
        if (!grown)
            return PF_ENOMEM;
        policy->rules = grown;
        *cap = ncap;
    }
    r = &policy->rules[policy->count];
    memset(r, 0, sizeof(*r));
    r->access = access;
    r->filter = strdup(filter);
    if (!r->filter)
        return PF_ENOMEM;
    if (user) {
        r->user = strdup(user);
        if (!r->user) {
            free(r->filter);
            return PF_ENOMEM;
        }
    } else {
        r->expand = strstr(filter, "%u") || strstr(filter, "%c");
    }
    policy->count++;
    return 0;
}

/* One line, already stripped of its trailing blanks. USER is the current
 * `user` block (NULL before the first); it is updated on `user` lines. */
static int policy__line(struct pfacl_policy *policy, size_t *cap, char *line, char **user,
                        unsigned lineno, struct pf_error *err)
{
    char *rest, *word, *arg, *filter;
    unsigned access;
    bool pattern;

    line = policy__skip_blanks(line);
    if (*line == '\0' || *line == '#')
        return 0;
    word = policy__word(line, &rest);
    if (strcmp(word, "user") == 0) {
        if (*rest == '\0')
            return policy__fail(err, PF_EPARSE, "line %u: user without a name", lineno);
        *user = rest;
        return 0;
    }
    if (strcmp(word, "topic") == 0)
        pattern = false;
    else if (strcmp(word, "pattern") == 0)
        pattern = true;
    else
        return policy__fail(err, PF_EPARSE, "line %u: unknown keyword '%.40s'", lineno, word);
    if (*rest == '\0')
        return policy__fail(err, PF_EPARSE, "line %u: %s without a topic", lineno, word);
    /* `topic FILTER` grants read and write; `topic ACCESS FILTER` one of them. */
    arg = policy__word(rest, &filter);
    if (*filter == '\0') {
        filter = arg;
        access = PFACL_READ | PFACL_WRITE;
    } else if (strcmp(arg, "read") == 0) {
        access = PFACL_READ;
    } else if (strcmp(arg, "write") == 0) {
        access = PFACL_WRITE;
    } else if (strcmp(arg, "readwrite") == 0) {
        access = PFACL_READ | PFACL_WRITE;
    } else if (strcmp(arg, "deny") == 0) {
        return policy__fail(err, PF_EINVAL, "line %u: deny rules are not supported", lineno);
    } else {
        return policy__fail(err, PF_EPARSE, "line %u: unknown access '%.40s'", lineno, arg);
    }
    if (!pfacl_filter_valid(filter))
        return policy__fail(err, PF_EPARSE, "line %u: invalid topic filter", lineno);
    if (!pattern && !*user) {
        /* Mosquitto gives `topic` rules before any `user` line to clients
         * without a username only; posfleet has none, so they grant nothing. */
        return 0;
    }
    if (policy__add(policy, cap, pattern ? NULL : *user, filter, access) != 0)
        return policy__fail(err, PF_ENOMEM, "line %u: out of memory", lineno);
    return 0;
}

int pfacl_policy_parse(struct pfacl_policy *policy, const char *text, size_t len,
                       struct pf_error *err)
{
    char *buf, *line, *next, *user = NULL;
    size_t cap = 0, n;
    unsigned lineno = 0;
    int rc = 0;

    policy->rules = NULL;
    policy->count = 0;
    if (len > PFACL_FILE_MAX)
        return policy__fail(err, PF_ETOOBIG, "ACL file larger than %u bytes", PFACL_FILE_MAX);
    if (memchr(text, '\0', len))
        return policy__fail(err, PF_EPARSE, "ACL file contains a NUL byte");
    buf = malloc(len + 1);
    if (!buf)
        return policy__fail(err, PF_ENOMEM, "out of memory");
    memcpy(buf, text, len);
    buf[len] = '\0';

    for (line = buf; line; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        n = strlen(line);
        while (n > 0 && (policy__blank(line[n - 1]) || line[n - 1] == '\r'))
            line[--n] = '\0';
        rc = policy__line(policy, &cap, line, &user, lineno, err);
        if (rc != 0)
            break;
    }
    free(buf);
    if (rc != 0)
        pfacl_policy_release(policy);
    return rc;
}

int pfacl_policy_load(struct pfacl_policy *policy, const char *path, struct pf_error *err)
{
    FILE *f;
    char *text;
    size_t len;
    int rc;

    policy->rules = NULL;
    policy->count = 0;
    f = fopen(path, "rb");
    if (!f)
        return policy__fail(err, PF_EIO, "%s: %s", path, strerror(errno));
    text = malloc(PFACL_FILE_MAX + 1);
    if (!text) {
        fclose(f);
        return policy__fail(err, PF_ENOMEM, "out of memory");
    }
    len = fread(text, 1, PFACL_FILE_MAX + 1, f);
    if (ferror(f)) {
        rc = policy__fail(err, PF_EIO, "%s: read error", path);
        goto out_free;
    }
    rc = pfacl_policy_parse(policy, text, len, err);
    if (rc != 0 && err) {
        char msg[sizeof(err->msg)];
        memcpy(msg, err->msg, sizeof(msg));
        msg[sizeof(msg) - 1] = '\0';
        (void)snprintf(err->msg, sizeof(err->msg), "%.160s: %.200s", path, msg);
    }
out_free:
    free(text);
    fclose(f);
    return rc;
}

bool pfacl_filter_valid(const char *filter)
{
    const char *p = filter;
    size_t n;

    if (!filter || filter[0] == '\0' || strnlen(filter, PFACL_TOPIC_MAX + 1) > PFACL_TOPIC_MAX)
        return false;
    for (;;) {
        n = strcspn(p, "/");
        if ((memchr(p, '+', n) && n != 1) || (memchr(p, '#', n) && (n != 1 || p[n] != '\0')))
            return false;
        if (p[n] == '\0')
            return true;
        p += n + 1;
    }
}

static bool policy__is_wild(const char *level, size_t n)
{
    return n == 1 && (level[0] == '+' || level[0] == '#');
}

bool pfacl_filter_within(const char *filter, const char *rule)
{
    const char *f = filter, *r = rule;
    size_t fn, rn;

    /* A wildcard in the first level never matches a topic starting with $. */
    if (filter[0] == '$' && policy__is_wild(rule, strcspn(rule, "/")))
        return false;
    while (r) {
        rn = strcspn(r, "/");
        if (rn == 1 && r[0] == '#')
            return true; /* the rest of the filter, even nothing, is covered */
        if (!f)
            return false; /* the rule needs a level the filter's topics lack */
        fn = strcspn(f, "/");
        if (fn == 1 && f[0] == '#')
            return false; /* the filter reaches deeper than the rule */
        if (!(rn == 1 && r[0] == '+')) {
            /* A literal rule level needs the same literal (a + in the filter
             * would match other names too). */
            if (fn != rn || memcmp(f, r, fn) != 0)
                return false;
        }
        f = f[fn] ? f + fn + 1 : NULL;
        r = r[rn] ? r + rn + 1 : NULL;
    }
    return f == NULL;
}

/* The rule's filter with %u and %c replaced, as Mosquitto's acl_file does:
 * in BUF when it fits (the usual case, no allocation per message), otherwise
 * in memory the caller frees. NULL when out of memory. */
static char *policy__expand(const char *filter, const char *username, const char *clientid,
                            char *buf, size_t bufsize)
{
    size_t ulen = strlen(username), clen = strlen(clientid), len = 0, i;
    char *out, *o;

    for (i = 0; filter[i]; i++) {
        if (filter[i] == '%' && (filter[i + 1] == 'u' || filter[i + 1] == 'c')) {
            len += filter[i + 1] == 'u' ? ulen : clen;
            i++;
        } else {
            len++;
        }
    }
    out = len < bufsize ? buf : malloc(len + 1);
    if (!out)
        return NULL;
    o = out;
    for (i = 0; filter[i]; i++) {
        if (filter[i] == '%' && filter[i + 1] == 'u') {
            memcpy(o, username, ulen);
            o += ulen;
            i++;
        } else if (filter[i] == '%' && filter[i + 1] == 'c') {
            memcpy(o, clientid, clen);
            o += clen;
            i++;
        } else {
            *o++ = filter[i];
        }
    }
    *o = '\0';
    return out;
}

/* The filter a subscription is judged by: $share/GROUP/FILTER -> FILTER; NULL
 * for a malformed shared subscription. */
static const char *policy__unshare(const char *filter)
{
    const char *group;
    size_t n;

    if (strncmp(filter, "$share/", 7) != 0)
        return filter;
    group = filter + 7;
    n = strcspn(group, "/");
    if (n == 0 || group[n] != '/' || memchr(group, '+', n) || memchr(group, '#', n))
        return NULL;
    return group + n + 1;
}

static bool policy__name_ok(const char *name)
{
    return name && name[0] != '\0' && !strpbrk(name, "+#/") &&
           strnlen(name, PFACL_TOPIC_MAX + 1) <= PFACL_TOPIC_MAX;
}

/* pfacl_allowed, and with NAMED_ONLY only the `topic` rules of the client's own
 * `user` block count (patterns are skipped). */
static bool policy__decide(const struct pfacl_policy *policy, const char *username,
                           const char *clientid, unsigned access, const char *topic,
                           bool named_only)
{
    const struct pfacl_rule *rule;
    const char *filter = topic;
    unsigned need;
    size_t i;
    bool ok;
    char *x, buf[256];

    if (!policy || !topic || !policy__name_ok(username) || !policy__name_ok(clientid))
        return false;
    if (access == PFACL_SUBSCRIBE) {
        need = PFACL_READ;
        filter = policy__unshare(topic);
        if (!filter || !pfacl_filter_valid(filter))
            return false;
    } else if (access == PFACL_READ || access == PFACL_WRITE) {
        need = access;
        if (!pfacl_filter_valid(topic) || strpbrk(topic, "+#"))
            return false;
        if (strncmp(topic, "$share/", 7) == 0)
            return false;
    } else {
        return false;
    }

    for (i = 0; i < policy->count; i++) {
        rule = &policy->rules[i];
        if (!(rule->access & need))
            continue;
        if (rule->user && strcmp(rule->user, username) != 0)
            continue;
        if (named_only && !rule->user)
            continue;
        if (!rule->expand) {
            if (pfacl_filter_within(filter, rule->filter))
                return true;
            continue;
        }
        x = policy__expand(rule->filter, username, clientid, buf, sizeof(buf));
        if (!x)
            return false;
        ok = pfacl_filter_within(filter, x);
        if (x != buf)
            free(x);
        if (ok)
            return true;
    }
    return false;
}

bool pfacl_allowed(const struct pfacl_policy *policy, const char *username, const char *clientid,
                   unsigned access, const char *topic)
{
    return policy__decide(policy, username, clientid, access, topic, false);
}

bool pfacl_publish_allowed(const struct pfacl_policy *policy, const char *username,
                           const char *clientid, const char *topic, bool retain)
{
    return policy__decide(policy, username, clientid, PFACL_WRITE, topic, retain);
}

bool pfacl_is_service(const struct pfacl_policy *policy, const char *username)
{
    size_t i;

    if (!username)
        return false;
    for (i = 0; i < policy->count; i++) {
        if (policy->rules[i].user && strcmp(policy->rules[i].user, username) == 0)
            return true;
    }
    return false;
}
