/*
 * sim.c - the simulated HAL backend: terminal values from small text files.
 *
 * Each value lives in its own file under the backend's directory (e.g.
 * battery_pct containing "4", tamper containing "1", screen containing
 * "fail"); files are read at every probe so a test can change them live, and
 * an absent file means the healthy default. In-memory overrides (for
 * posfleet-sim, which runs thousands of terminals) take precedence over files.
 * The backend owns its copy of the directory path and its overrides.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pfa/hal.h"
#include "pf/num.h"
#include "pf/fileio.h"

#define SIM_VALUE_MAX 63

struct sim__override {
    struct sim__override *next;
    char *name;
    char *value;
};

struct sim {
    struct pfa_hal hal;
    char *dir;
    struct sim__override *overrides;
    unsigned reboots;
};

static struct sim *sim__of(struct pfa_hal *hal)
{
    return hal->priv;
}

/* Reads value NAME into buf, trimmed. PF_ENOENT when neither override nor file exists. */
static int sim__read(struct sim *s, const char *name, char *buf, size_t size)
{
    char path[PATH_MAX];
    ssize_t n;
    size_t len;
    int fd;

    for (struct sim__override *o = s->overrides; o; o = o->next) {
        if (strcmp(o->name, name) == 0) {
            len = strlen(o->value);
            if (len >= size)
                return PF_ETOOBIG;
            memcpy(buf, o->value, len + 1);
            goto trim;
        }
    }
    if (!s->dir)
        return PF_ENOENT;
    if (snprintf(path, sizeof(path), "%s/%s", s->dir, name) >= (int)sizeof(path))
        return PF_ETOOBIG;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? PF_ENOENT : PF_EIO;
    n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return PF_EIO;
    buf[n] = '\0';
trim:
    len = strlen(buf);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                       buf[len - 1] == '\t'))
        buf[--len] = '\0';
    if (strspn(buf, " \t") > 0)
        memmove(buf, buf + strspn(buf, " \t"), strlen(buf + strspn(buf, " \t")) + 1);
    return 0;
}

static int sim__int(struct sim *s, const char *name, long long min, long long max, long long def,
                    long long *out)
{
    char buf[SIM_VALUE_MAX + 1];
    int64_t v;
    int rc = sim__read(s, name, buf, sizeof(buf));

    if (rc == PF_ENOENT) {
        *out = def;
        return 0;
    }
    if (rc != 0)
        return rc;
    if ((rc = pf_parse_i64(buf, min, max, &v)) != 0)
        return rc;
    *out = v;
    return 0;
}

static int sim__bool(struct sim *s, const char *name, bool def, bool *out)
{
    char buf[SIM_VALUE_MAX + 1];
    int rc = sim__read(s, name, buf, sizeof(buf));

    if (rc == PF_ENOENT) {
        *out = def;
        return 0;
    }
    if (rc != 0)
        return rc;
    if (!strcmp(buf, "1") || !strcmp(buf, "true") || !strcmp(buf, "yes"))
        *out = true;
    else if (!strcmp(buf, "0") || !strcmp(buf, "false") || !strcmp(buf, "no"))
        *out = false;
    else
        return PF_EPARSE;
    return 0;
}

/* Looks buf up in a NULL-terminated name table. */
static int sim__enum(struct sim *s, const char *name, const char *const *names, int def, int *out)
{
    char buf[SIM_VALUE_MAX + 1];
    int rc = sim__read(s, name, buf, sizeof(buf));

    if (rc == PF_ENOENT) {
        *out = def;
        return 0;
    }
    if (rc != 0)
        return rc;
    for (int i = 0; names[i]; i++) {
        if (strcmp(buf, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return PF_EPARSE;
}

static int sim__power(struct pfa_hal *hal, int *battery_pct, bool *charging)
{
    long long v;
    int rc = sim__int(sim__of(hal), "battery_pct", 0, 100, 100, &v);

    if (rc != 0)
        return rc;
    *battery_pct = (int)v;
    return sim__bool(sim__of(hal), "charging", true, charging);
}

static int sim__network(struct pfa_hal *hal, enum pf_net_type *type, int *signal_dbm)
{
    long long v;
    int t, rc = sim__enum(sim__of(hal), "net_type", pf_net_type_names, PF_NET_ETH, &t);

    if (rc != 0)
        return rc;
    rc = sim__int(sim__of(hal), "signal_dbm", -150, 0, -60, &v);
    if (rc != 0)
        return rc;
    *type = (enum pf_net_type)t;
    *signal_dbm = (int)v;
    return 0;
}

static int sim__temperature(struct pfa_hal *hal, int *temp_c)
{
    long long v;
    int rc = sim__int(sim__of(hal), "temp_c", -40, 125, 35, &v);

    if (rc == 0)
        *temp_c = (int)v;
    return rc;
}

static int sim__storage_free(struct pfa_hal *hal, uint64_t *kb)
{
    long long v;
    int rc = sim__int(sim__of(hal), "storage_free_kb", 0, 1LL << 53, 1048576, &v);

    if (rc == 0)
        *kb = (uint64_t)v;
    return rc;
}

static int sim__mem_free(struct pfa_hal *hal, uint64_t *kb)
{
    long long v;
    int rc = sim__int(sim__of(hal), "mem_free_kb", 0, 1LL << 53, 65536, &v);

    if (rc == 0)
        *kb = (uint64_t)v;
    return rc;
}

static int sim__paper(struct pfa_hal *hal, enum pf_paper *paper)
{
    int p, rc = sim__enum(sim__of(hal), "paper", pf_paper_names, PF_PAPER_OK, &p);

    if (rc == 0)
        *paper = (enum pf_paper)p;
    return rc;
}

static int sim__tamper(struct pfa_hal *hal, bool *tripped)
{
    return sim__bool(sim__of(hal), "tamper", false, tripped);
}

static int sim__selftest(struct pfa_hal *hal, enum pf_component comp, enum pf_check *result)
{
    int r, rc;

    if ((unsigned)comp >= PF_COMP_COUNT)
        return PF_EINVAL;
    rc = sim__enum(sim__of(hal), pf_component_names[comp], pf_check_names, PF_CHECK_PASS, &r);
    if (rc == 0)
        *result = (enum pf_check)r;
    return rc;
}

static int sim__faults(struct pfa_hal *hal, uint32_t *reader, uint32_t *printer)
{
    long long r, p;
    int rc = sim__int(sim__of(hal), "err_reader", 0, UINT32_MAX, 0, &r);

    if (rc == 0)
        rc = sim__int(sim__of(hal), "err_printer", 0, UINT32_MAX, 0, &p);
    if (rc != 0)
        return rc;
    *reader = (uint32_t)r;
    *printer = (uint32_t)p;
    return 0;
}

static int sim__busy(struct pfa_hal *hal, bool *busy)
{
    return sim__bool(sim__of(hal), "busy", false, busy);
}

static int sim__transactions(struct pfa_hal *hal, struct pfa_hal_txn *txn)
{
    struct sim *s = sim__of(hal);
    char cur[SIM_VALUE_MAX + 1];
    long long count, amount;
    int rc;

    rc = sim__int(s, "txn_count", 0, UINT32_MAX, 0, &count);
    if (rc == 0)
        rc = sim__int(s, "txn_amount_minor", 0, 1LL << 53, 0, &amount);
    if (rc != 0)
        return rc;
    rc = sim__read(s, "txn_currency", cur, sizeof(cur));
    if (rc == PF_ENOENT) {
        memcpy(cur, "CNY", 4);
    } else if (rc != 0) {
        return rc;
    } else if (strlen(cur) != PF_CURRENCY_LEN || strspn(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3) {
        return PF_EPARSE;
    }
    txn->count = (uint32_t)count;
    txn->amount_minor = (uint64_t)amount;
    memcpy(txn->currency, cur, PF_CURRENCY_LEN + 1);
    return 0;
}

static int sim__reboot(struct pfa_hal *hal)
{
    struct sim *s = sim__of(hal);
    char path[PATH_MAX], buf[16];
    int n;

    s->reboots++;
    if (!s->dir)
        return 0;
    if (snprintf(path, sizeof(path), "%s/reboots", s->dir) >= (int)sizeof(path))
        return PF_ETOOBIG;
    n = snprintf(buf, sizeof(buf), "%u\n", s->reboots);
    return pf_file_write_atomic(path, buf, (size_t)n, 0644);
}

static void sim__free(struct pfa_hal *hal)
{
    struct sim *s = sim__of(hal);

    while (s->overrides) {
        struct sim__override *o = s->overrides;
        s->overrides = o->next;
        free(o->name);
        free(o->value);
        free(o);
    }
    free(s->dir);
    free(s);
}

static const struct pfa_hal_ops sim__ops = {
        .name = "sim",
        .power = sim__power,
        .network = sim__network,
        .temperature = sim__temperature,
        .storage_free = sim__storage_free,
        .mem_free = sim__mem_free,
        .paper = sim__paper,
        .tamper = sim__tamper,
        .selftest = sim__selftest,
        .faults = sim__faults,
        .busy = sim__busy,
        .transactions = sim__transactions,
        .reboot = sim__reboot,
        .free = sim__free,
};

int pfa_hal_sim_new(const char *dir, struct pfa_hal **out)
{
    struct sim *s = calloc(1, sizeof(*s));

    if (!s)
        return PF_ENOMEM;
    if (dir) {
        s->dir = strdup(dir);
        if (!s->dir) {
            free(s);
            return PF_ENOMEM;
        }
    }
    s->hal.ops = &sim__ops;
    s->hal.priv = s;
    *out = &s->hal;
    return 0;
}

int pfa_hal_sim_set(struct pfa_hal *hal, const char *name, const char *value)
{
    struct sim *s;
    struct sim__override **pp, *o;
    char *copy = NULL;

    if (!hal || hal->ops != &sim__ops || !name || strchr(name, '/'))
        return PF_EINVAL;
    s = sim__of(hal);
    if (value) {
        if (strlen(value) > SIM_VALUE_MAX)
            return PF_ETOOBIG;
        copy = strdup(value);
        if (!copy)
            return PF_ENOMEM;
    }
    for (pp = &s->overrides; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->name, name) == 0)
            break;
    }
    if (*pp) {
        o = *pp;
        free(o->value);
        o->value = copy;
        if (!copy) {
            *pp = o->next;
            free(o->name);
            free(o);
        }
        return 0;
    }
    if (!copy)
        return 0;
    o = calloc(1, sizeof(*o));
    if (!o || !(o->name = strdup(name))) {
        free(o);
        free(copy);
        return PF_ENOMEM;
    }
    o->value = copy;
    o->next = s->overrides;
    s->overrides = o;
    return 0;
}

unsigned pfa_hal_sim_reboots(const struct pfa_hal *hal)
{
    if (!hal || hal->ops != &sim__ops)
        return 0;
    return ((const struct sim *)hal->priv)->reboots;
}
