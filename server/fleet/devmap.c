/*
 * devmap.c - chained hash map of terminals (FNV-1a, doubling at load 1).
 */
#include "fleet/devmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t devmap__hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void pfs_devmap_init(struct pfs_devmap *m)
{
    memset(m, 0, sizeof(*m));
}

void pfs_devmap_release(struct pfs_devmap *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct pfs_dev *d = m->buckets[i];

        while (d) {
            struct pfs_dev *next = d->next;

            free(d);
            d = next;
        }
    }
    free(m->buckets);
    memset(m, 0, sizeof(*m));
}

struct pfs_dev *pfs_devmap_get(struct pfs_devmap *m, const char *serial)
{
    if (!m->nbuckets)
        return NULL;
    for (struct pfs_dev *d = m->buckets[devmap__hash(serial) & (m->nbuckets - 1)]; d; d = d->next) {
        if (strcmp(d->serial, serial) == 0)
            return d;
    }
    return NULL;
}

static int devmap__grow(struct pfs_devmap *m)
{
    size_t nb = m->nbuckets ? 2 * m->nbuckets : 1024;
    struct pfs_dev **b = calloc(nb, sizeof(*b));

    if (!b)
        return PF_ENOMEM;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct pfs_dev *d = m->buckets[i];

        while (d) {
            struct pfs_dev *next = d->next;
            size_t j = devmap__hash(d->serial) & (nb - 1);

            d->next = b[j];
            b[j] = d;
            d = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
    return 0;
}

int pfs_devmap_put(struct pfs_devmap *m, const char *serial, struct pfs_dev **out, bool *added)
{
    struct pfs_dev *d = pfs_devmap_get(m, serial);
    size_t j;

    if (added)
        *added = false;
    if (d) {
        *out = d;
        return 0;
    }
    if (strlen(serial) > PF_SERIAL_MAX)
        return PF_EINVAL;
    if (m->count >= m->nbuckets && devmap__grow(m))
        return PF_ENOMEM;
    d = calloc(1, sizeof(*d));
    if (!d)
        return PF_ENOMEM;
    memcpy(d->serial, serial, strlen(serial) + 1);
    j = devmap__hash(serial) & (m->nbuckets - 1);
    d->next = m->buckets[j];
    m->buckets[j] = d;
    m->count++;
    if (added)
        *added = true;
    *out = d;
    return 0;
}

struct pfs_dev *pfs_devmap_first(struct pfs_devmap *m, size_t *it)
{
    for (*it = 0; *it < m->nbuckets; (*it)++) {
        if (m->buckets[*it])
            return m->buckets[*it];
    }
    return NULL;
}

struct pfs_dev *pfs_devmap_next(struct pfs_devmap *m, struct pfs_dev *d, size_t *it)
{
    if (d->next)
        return d->next;
    for ((*it)++; *it < m->nbuckets; (*it)++) {
        if (m->buckets[*it])
            return m->buckets[*it];
    }
    return NULL;
}
