/*
 * topic.c - building and parsing topics of the pf/v1 tree.
 */
#include "pf/topic.h"

#include <stdio.h>
#include <string.h>

#include "pf/msg_diag.h"
#include "pf/msg_lifecycle.h"
#include "pf/msg_update.h"

const char *const pf_dev_leaf_names[] = {
        [PF_LEAF_HEALTH] = PF_DEV_HEALTH,       [PF_LEAF_BIRTH] = PF_DEV_BIRTH,
        [PF_LEAF_STATE] = PF_DEV_STATE,         [PF_LEAF_EVENT] = PF_DEV_EVENT,
        [PF_LEAF_CHUNKREQ] = PF_DEV_CHUNKREQ,   [PF_LEAF_DIAG] = PF_DEV_DIAG,
        [PF_LEAF_DIAGCHUNK] = PF_DEV_DIAGCHUNK, [PF_LEAF_LOCK] = PF_DEV_LOCK,
        [PF_LEAF_TAMPER] = PF_DEV_TAMPER,       [PF_LEAF_COUNT] = NULL,
};

bool pf_serial_valid(const char *s)
{
    size_t n = 0;

    if (!s)
        return false;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= PF_SERIAL_MAX)
            return false;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return n > 0;
}

int pf_topic_build(char *buf, size_t len, enum pf_dir dir, const char *serial, const char *leaf)
{
    int n;

    if (!pf_serial_valid(serial) || !leaf || !*leaf)
        return PF_ETOPIC;
    n = snprintf(buf, len, PF_TOPIC_ROOT "/%s/%s/%s", dir == PF_DIR_DEV ? "dev" : "cmd", serial,
                 leaf);
    if (n < 0 || (size_t)n >= len)
        return PF_ETOOBIG;
    return 0;
}

int pf_topic_parse(const char *topic, enum pf_dir *dir, char *serial, const char **leaf)
{
    static const char root[] = PF_TOPIC_ROOT "/";
    const char *p, *slash;
    size_t n;

    if (!topic || strncmp(topic, root, sizeof(root) - 1) != 0)
        return PF_ETOPIC;
    p = topic + sizeof(root) - 1;
    if (strncmp(p, "dev/", 4) == 0)
        *dir = PF_DIR_DEV;
    else if (strncmp(p, "cmd/", 4) == 0)
        *dir = PF_DIR_CMD;
    else
        return PF_ETOPIC;
    p += 4;
    slash = strchr(p, '/');
    if (!slash)
        return PF_ETOPIC;
    n = (size_t)(slash - p);
    if (n == 0 || n > PF_SERIAL_MAX)
        return PF_ETOPIC;
    memcpy(serial, p, n);
    serial[n] = '\0';
    if (!pf_serial_valid(serial) || slash[1] == '\0')
        return PF_ETOPIC;
    *leaf = slash + 1;
    return 0;
}

int pf_dev_leaf(const char *leaf)
{
    if (!leaf)
        return PF_ETOPIC;
    for (int i = 0; i < PF_LEAF_COUNT; i++) {
        if (strcmp(leaf, pf_dev_leaf_names[i]) == 0)
            return i;
    }
    return PF_ETOPIC;
}
