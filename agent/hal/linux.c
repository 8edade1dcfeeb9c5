/*
 * linux.c - the HAL backend for real Linux terminals.
 *
 * Reads what the kernel knows (sysfs and procfs under a configurable root, so
 * tests point it at a tree they build) and what the payment application and
 * the secure-element driver write into a shared directory (default
 * /run/posfleet). Every probe reads its files again: nothing is cached, so a
 * battery that disappears or a tamper switch that trips is seen at the next
 * call. A value that cannot be read is "unknown": the probe fails (the agent
 * then reports the component as failing, see hal.h) or, for the two values a
 * wrong guess would turn into an action - tamper (locks the terminal) and busy
 * (holds updates) - reads as "not set". docs/agent.md, "Running on a real
 * board", is the reference for every file and rule here.
 *
 * The backend owns copies of its four paths.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pfa/hal.h"
#include "pf/num.h"

#define LNX_VALUE_MAX   127  /* one sysfs attribute or shared file */
#define LNX_TABLE_MAX   8192 /* /proc/meminfo, /proc/net/wireless, /proc/net/route */
#define LNX_NAME_MAX    64
#define LNX_UNKNOWN_DBM -150 /* the protocol's floor: "no usable signal reading" */

extern char **environ;

struct lnx {
    struct pfa_hal hal;
    char *root; /* "" for "/", so ROOT "/sys/..." is a plain concatenation */
    char *dir;
    char *data_dir;
    char *reboot_cmd;
};

static struct lnx *lnx__of(struct pfa_hal *hal)
{
    return hal->priv;
}

/*
 * Reads a small file into buf (at most size - 1 bytes, NUL-terminated) and
 * strips surrounding blanks. PF_ENOENT when the file (or its directory) does
 * not exist, PF_ETOOBIG when it holds more than fits, PF_EIO otherwise (a
 * sysfs attribute of a link that is down answers EINVAL, for instance).
 */
static int lnx__read_path(const char *path, char *buf, size_t size)
{
    size_t len = 0, skip;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? PF_ENOENT : PF_EIO;
    while (len < size - 1) {
        n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return PF_EIO;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len == size - 1) {
        char extra;
        n = read(fd, &extra, 1);
        if (n != 0) {
            close(fd);
            return n > 0 ? PF_ETOOBIG : PF_EIO;
        }
    }
    close(fd);
    buf[len] = '\0';
    if (strlen(buf) != len)
        return PF_EPARSE; /* a NUL inside: not text */
    while (len > 0 && strchr(" \t\r\n", buf[len - 1]))
        buf[--len] = '\0';
    skip = strspn(buf, " \t\r\n");
    if (skip > 0)
        memmove(buf, buf + skip, len - skip + 1);
    return 0;
}

/* Joins a, b and c into path; PF_ETOOBIG if it does not fit. */
static int lnx__join(char *path, size_t size, const char *a, const char *b, const char *c)
{
    int n = snprintf(path, size, "%s%s%s", a, b, c ? c : "");

    return n < 0 || (size_t)n >= size ? PF_ETOOBIG : 0;
}

/* Reads ROOT + rel (+ rel2). */
static int lnx__read_sys(struct lnx *l, const char *rel, const char *rel2, char *buf, size_t size)
{
    char path[PATH_MAX];
    int rc = lnx__join(path, sizeof(path), l->root, rel, rel2);

    return rc ? rc : lnx__read_path(path, buf, size);
}

/* Reads the shared file DIR/name. */
static int lnx__read_shared(struct lnx *l, const char *name, char *buf, size_t size)
{
    char path[PATH_MAX];
    int rc = lnx__join(path, sizeof(path), l->dir, "/", name);

    return rc ? rc : lnx__read_path(path, buf, size);
}

/* "1"/"true"/"yes" and "0"/"false"/"no", as the sim backend reads them. */
static int lnx__parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "yes"))
        *out = true;
    else if (!strcmp(s, "0") || !strcmp(s, "false") || !strcmp(s, "no"))
        *out = false;
    else
        return PF_EPARSE;
    return 0;
}

/* A flag file of the shared directory: absent, unreadable or malformed reads as false. */
static int lnx__flag(struct lnx *l, const char *name, bool *out, int *why)
{
    char buf[LNX_VALUE_MAX + 1];
    int rc = lnx__read_shared(l, name, buf, sizeof(buf));

    *out = false;
    if (rc == 0)
        rc = lnx__parse_bool(buf, out);
    if (rc != 0)
        *out = false;
    if (why)
        *why = rc;
    return 0;
}

/* A counter of the shared directory; absent = def. */
static int lnx__shared_int(struct lnx *l, const char *name, int64_t max, int64_t def, int64_t *out)
{
    char buf[LNX_VALUE_MAX + 1];
    int rc = lnx__read_shared(l, name, buf, sizeof(buf));

    if (rc == PF_ENOENT) {
        *out = def;
        return 0;
    }
    return rc ? rc : pf_parse_i64(buf, 0, max, out);
}

/* Opens ROOT + rel as a directory; NULL when it cannot be listed. */
static DIR *lnx__opendir(struct lnx *l, const char *rel)
{
    char path[PATH_MAX];

    if (lnx__join(path, sizeof(path), l->root, rel, NULL) != 0)
        return NULL;
    return opendir(path);
}

/* An entry name worth looking at: not hidden, short enough to join. */
static bool lnx__entry_ok(const struct dirent *de)
{
    return de->d_name[0] != '.' && strlen(de->d_name) < LNX_NAME_MAX;
}

/* ---- power ---------------------------------------------------------------------------- */

/*
 * Batteries give the level (the lowest when there are several); a Mains, USB
 * or Wireless supply that is online, or a battery that says Charging or Full,
 * means external power. No battery at all but external power: a mains-only
 * terminal, reported as 100 % on external power. A battery whose level cannot
 * be read makes the value unknown (PF_EPARSE); no supply at all, PF_ENOENT.
 */
static int lnx__power(struct pfa_hal *hal, int *battery_pct, bool *charging)
{
    struct lnx *l = lnx__of(hal);
    char rel[PATH_MAX], buf[LNX_VALUE_MAX + 1];
    struct dirent *de;
    bool ext = false, any = false, bad_battery = false;
    int64_t pct, lowest = -1;
    DIR *d = lnx__opendir(l, "/sys/class/power_supply");

    if (!d)
        return PF_ENOENT;
    while ((de = readdir(d))) {
        if (!lnx__entry_ok(de))
            continue;
        snprintf(rel, sizeof(rel), "/sys/class/power_supply/%s/", de->d_name);
        if (lnx__read_sys(l, rel, "type", buf, sizeof(buf)) != 0)
            continue;
        if (strcmp(buf, "Battery") == 0) {
            bool present = true;
            if (lnx__read_sys(l, rel, "present", buf, sizeof(buf)) == 0 &&
                lnx__parse_bool(buf, &present) == 0 && !present)
                continue;
            any = true;
            if (lnx__read_sys(l, rel, "capacity", buf, sizeof(buf)) != 0 ||
                pf_parse_i64(buf, 0, 100, &pct) != 0) {
                bad_battery = true;
                continue;
            }
            if (lowest < 0 || pct < lowest)
                lowest = pct;
            if (lnx__read_sys(l, rel, "status", buf, sizeof(buf)) == 0 &&
                (!strcmp(buf, "Charging") || !strcmp(buf, "Full")))
                ext = true;
        } else if (!strcmp(buf, "Mains") || !strncmp(buf, "USB", 3) || !strcmp(buf, "Wireless")) {
            bool online = false;
            if (lnx__read_sys(l, rel, "online", buf, sizeof(buf)) == 0 &&
                lnx__parse_bool(buf, &online) == 0) {
                any = true;
                ext |= online;
            }
        }
    }
    closedir(d);
    if (bad_battery)
        return PF_EPARSE;
    if (lowest >= 0) {
        *battery_pct = (int)lowest;
        *charging = ext;
        return 0;
    }
    if (ext) {
        *battery_pct = 100;
        *charging = true;
        return 0;
    }
    return any ? PF_EIO : PF_ENOENT; /* only offline supplies: nothing powers us?! */
}

/* ---- network -------------------------------------------------------------------------- */

/* Interface name → link type; PF_NET_NONE for names that are not a terminal's uplink. */
static enum pf_net_type lnx__if_type(const char *name)
{
    if (!strncmp(name, "eth", 3) || !strncmp(name, "en", 2))
        return PF_NET_ETH;
    if (!strncmp(name, "wlan", 4) || !strncmp(name, "wl", 2))
        return PF_NET_WIFI;
    if (!strncmp(name, "wwan", 4) || !strncmp(name, "ww", 2))
        return PF_NET_4G; /* the generation needs ModemManager; see docs/agent.md */
    return PF_NET_NONE;
}

/* An interface carries traffic: carrier 1 and operstate up (or unknown, as many
 * modem and point-to-point drivers report). */
static bool lnx__if_up(struct lnx *l, const char *name)
{
    char rel[PATH_MAX], buf[LNX_VALUE_MAX + 1];
    bool carrier = false;

    snprintf(rel, sizeof(rel), "/sys/class/net/%s/", name);
    if (lnx__read_sys(l, rel, "operstate", buf, sizeof(buf)) != 0 ||
        (strcmp(buf, "up") != 0 && strcmp(buf, "unknown") != 0))
        return false;
    return lnx__read_sys(l, rel, "carrier", buf, sizeof(buf)) == 0 &&
           lnx__parse_bool(buf, &carrier) == 0 && carrier;
}

/* Reads a /proc table into a heap buffer the caller frees. */
static int lnx__read_table(struct lnx *l, const char *rel, char **out)
{
    char *buf = malloc(LNX_TABLE_MAX + 1);
    int rc;

    if (!buf)
        return PF_ENOMEM;
    rc = lnx__read_sys(l, rel, NULL, buf, LNX_TABLE_MAX + 1);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    return 0;
}

/* The interface of the default route (/proc/net/route, destination 00000000). */
static int lnx__default_if(struct lnx *l, char *name, size_t size)
{
    char *table, *line, *next;
    int rc = lnx__read_table(l, "/proc/net/route", &table);

    if (rc != 0)
        return rc;
    rc = PF_ENOENT;
    for (line = table; line && *line; line = next) {
        char ifname[LNX_NAME_MAX], dest[16];
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (sscanf(line, "%63s %15s", ifname, dest) == 2 && strcmp(dest, "00000000") == 0 &&
            strlen(ifname) < size) {
            memcpy(name, ifname, strlen(ifname) + 1);
            rc = 0;
            break;
        }
    }
    free(table);
    return rc;
}

/* Wi-Fi level in dBm from /proc/net/wireless ("wlan0: 0000   54.  -56.  -256 ..."). */
static int lnx__wifi_dbm(struct lnx *l, const char *name, int *dbm)
{
    char *table, *line, *next;
    int rc = lnx__read_table(l, "/proc/net/wireless", &table);

    if (rc != 0)
        return rc;
    rc = PF_ENOENT;
    for (line = table; line && *line; line = next) {
        char ifname[LNX_NAME_MAX + 1], status[16], link[16], level[16], *dot;
        int64_t v;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (sscanf(line, " %64[^:]: %15s %15s %15s", ifname, status, link, level) != 4 ||
            strcmp(ifname, name) != 0)
            continue;
        dot = strchr(level, '.');
        if (dot && dot[1] == '\0')
            *dot = '\0';
        rc = pf_parse_i64(level, -150, 0, &v);
        if (rc == 0)
            *dbm = (int)v;
        break;
    }
    free(table);
    return rc;
}

/* Ranks a usable link for the choice when no default route names one. */
static int lnx__rank(enum pf_net_type t)
{
    return t == PF_NET_ETH ? 3 : t == PF_NET_WIFI ? 2 : 1;
}

/*
 * The link in use: the default route's interface when it is up, else the best
 * interface that is up (Ethernet, then Wi-Fi, then cellular). Interfaces exist
 * but none is up: PF_NET_NONE (a known value). No sysfs net class: unknown.
 */
static int lnx__pick_link(struct lnx *l, enum pf_net_type *type, char *name, size_t size,
                          int *nlinks)
{
    char def[LNX_NAME_MAX];
    struct dirent *de;
    enum pf_net_type best = PF_NET_NONE;
    DIR *d = lnx__opendir(l, "/sys/class/net");

    *nlinks = 0;
    if (!d)
        return PF_ENOENT;
    if (lnx__default_if(l, def, sizeof(def)) != 0)
        def[0] = '\0';
    while ((de = readdir(d))) {
        enum pf_net_type t;
        if (!lnx__entry_ok(de) || (t = lnx__if_type(de->d_name)) == PF_NET_NONE)
            continue;
        (*nlinks)++;
        if (!lnx__if_up(l, de->d_name))
            continue;
        if (strcmp(de->d_name, def) == 0) {
            best = t;
            snprintf(name, size, "%s", de->d_name);
            break;
        }
        if (best == PF_NET_NONE || lnx__rank(t) > lnx__rank(best) ||
            (lnx__rank(t) == lnx__rank(best) && strcmp(de->d_name, name) < 0)) {
            best = t;
            snprintf(name, size, "%s", de->d_name);
        }
    }
    closedir(d);
    *type = best;
    return 0;
}

/* Signal: 0 dBm for a wire (no radio loss), the level for Wi-Fi, the floor when unknown. */
static int lnx__network(struct pfa_hal *hal, enum pf_net_type *type, int *signal_dbm)
{
    struct lnx *l = lnx__of(hal);
    char name[LNX_NAME_MAX] = "";
    int n, rc = lnx__pick_link(l, type, name, sizeof(name), &n);

    if (rc != 0)
        return rc;
    *signal_dbm = LNX_UNKNOWN_DBM;
    if (*type == PF_NET_ETH)
        *signal_dbm = 0;
    else if (*type == PF_NET_WIFI && lnx__wifi_dbm(l, name, signal_dbm) != 0)
        *signal_dbm = LNX_UNKNOWN_DBM;
    return 0;
}

/* ---- temperature, storage, memory, uptime --------------------------------------------- */

/* The hottest thermal zone, in whole degrees (millidegrees rounded), clamped to -40..125. */
static int lnx__temperature(struct pfa_hal *hal, int *temp_c)
{
    struct lnx *l = lnx__of(hal);
    char rel[PATH_MAX], buf[LNX_VALUE_MAX + 1];
    struct dirent *de;
    int64_t v, hottest = INT64_MIN;
    DIR *d = lnx__opendir(l, "/sys/class/thermal");

    if (!d)
        return PF_ENOENT;
    while ((de = readdir(d))) {
        if (!lnx__entry_ok(de) || strncmp(de->d_name, "thermal_zone", 12) != 0)
            continue;
        snprintf(rel, sizeof(rel), "/sys/class/thermal/%s/", de->d_name);
        if (lnx__read_sys(l, rel, "temp", buf, sizeof(buf)) == 0 &&
            pf_parse_i64(buf, -273150, 1000000, &v) == 0 && v > hottest)
            hottest = v;
    }
    closedir(d);
    if (hottest == INT64_MIN)
        return PF_ENOENT;
    v = (hottest >= 0 ? hottest + 500 : hottest - 500) / 1000;
    *temp_c = (int)(v < -40 ? -40 : v > 125 ? 125 : v);
    return 0;
}

static int lnx__storage_free(struct pfa_hal *hal, uint64_t *kb)
{
    struct statvfs st;

    if (statvfs(lnx__of(hal)->data_dir, &st) != 0)
        return errno == ENOENT ? PF_ENOENT : PF_EIO;
    *kb = (uint64_t)st.f_bavail * (uint64_t)st.f_frsize / 1024;
    return 0;
}

/* MemAvailable (the kernel's estimate of memory available without swapping). */
static int lnx__mem_free(struct pfa_hal *hal, uint64_t *kb)
{
    char *table, *p, num[32];
    uint64_t v;
    int rc = lnx__read_table(lnx__of(hal), "/proc/meminfo", &table);

    if (rc != 0)
        return rc;
    p = strstr(table, "MemAvailable:");
    if (!p || (p != table && p[-1] != '\n')) {
        rc = PF_ENOENT;
        goto out_free;
    }
    if (sscanf(p + 13, " %31[0-9] kB", num) != 1) {
        rc = PF_EPARSE;
        goto out_free;
    }
    rc = pf_parse_u64(num, 0, 1ULL << 53, &v);
    if (rc == 0)
        *kb = v;
out_free:
    free(table);
    return rc;
}

/* /proc/uptime: "SECONDS.FRACTION IDLE"; whole seconds. */
static int lnx__uptime(struct pfa_hal *hal, uint64_t *seconds)
{
    char buf[LNX_VALUE_MAX + 1], *end;
    uint64_t v;
    int rc = lnx__read_sys(lnx__of(hal), "/proc/uptime", NULL, buf, sizeof(buf));

    if (rc != 0)
        return rc;
    end = buf + strcspn(buf, ". \t");
    if (*end == '.' && !(end[1] >= '0' && end[1] <= '9'))
        return PF_EPARSE;
    *end = '\0';
    rc = pf_parse_u64(buf, 0, 1ULL << 53, &v);
    if (rc == 0)
        *seconds = v;
    return rc;
}

/* ---- what the payment application and the secure-element driver write ------------------ */

static int lnx__paper(struct pfa_hal *hal, enum pf_paper *paper)
{
    char buf[LNX_VALUE_MAX + 1];
    int rc = lnx__read_shared(lnx__of(hal), "paper", buf, sizeof(buf));

    if (rc == PF_ENOENT) {
        *paper = PF_PAPER_NONE; /* no application reporting a printer */
        return 0;
    }
    if (rc != 0)
        return rc;
    for (int i = 0; pf_paper_names[i]; i++) {
        if (strcmp(buf, pf_paper_names[i]) == 0) {
            *paper = (enum pf_paper)i;
            return 0;
        }
    }
    return PF_EPARSE;
}

/* Set only by a well-formed "1": a missing or garbled file is not a tamper. */
static int lnx__tamper(struct pfa_hal *hal, bool *tripped)
{
    return lnx__flag(lnx__of(hal), "tamper", tripped, NULL);
}

/* Set only by a well-formed "1": a missing or garbled file does not hold updates. */
static int lnx__busy(struct pfa_hal *hal, bool *busy)
{
    return lnx__flag(lnx__of(hal), "busy", busy, NULL);
}

/* A result file of the shared directory: pass, fail or skip; absent or garbled: skip. */
static enum pf_check lnx__check_file(struct lnx *l, enum pf_component comp, bool *found)
{
    char buf[LNX_VALUE_MAX + 1];

    *found = false;
    if (lnx__read_shared(l, pf_component_names[comp], buf, sizeof(buf)) != 0)
        return PF_CHECK_SKIP;
    for (int i = 0; pf_check_names[i]; i++) {
        if (strcmp(buf, pf_check_names[i]) == 0) {
            *found = true;
            return (enum pf_check)i;
        }
    }
    return PF_CHECK_SKIP;
}

/*
 * power: pass when the supplies read well, skip when unknown. network: pass
 * with a link up, fail when every uplink interface is down, skip with none.
 * screen, printer, card reader: the application's result files. Secure
 * element: its result file, else the tamper file: readable passes, garbled
 * fails (the driver's own output is broken), absent skips.
 */
static int lnx__selftest(struct pfa_hal *hal, enum pf_component comp, enum pf_check *result)
{
    struct lnx *l = lnx__of(hal);
    char name[LNX_NAME_MAX];
    enum pf_net_type t;
    bool b, found;
    int v, n, why;

    switch (comp) {
    case PF_COMP_POWER:
        *result = lnx__power(hal, &v, &b) == 0 ? PF_CHECK_PASS : PF_CHECK_SKIP;
        return 0;
    case PF_COMP_NETWORK:
        if (lnx__pick_link(l, &t, name, sizeof(name), &n) != 0 || n == 0)
            *result = PF_CHECK_SKIP;
        else
            *result = t != PF_NET_NONE ? PF_CHECK_PASS : PF_CHECK_FAIL;
        return 0;
    case PF_COMP_SCREEN:
    case PF_COMP_PRINTER:
    case PF_COMP_CARD_READER:
        *result = lnx__check_file(l, comp, &found);
        return 0;
    case PF_COMP_SECURE_ELEMENT:
        *result = lnx__check_file(l, comp, &found);
        if (found)
            return 0;
        (void)lnx__flag(l, "tamper", &b, &why);
        *result = why == 0 ? PF_CHECK_PASS : why == PF_ENOENT ? PF_CHECK_SKIP : PF_CHECK_FAIL;
        return 0;
    default:
        return PF_EINVAL;
    }
}

static int lnx__faults(struct pfa_hal *hal, uint32_t *reader, uint32_t *printer)
{
    int64_t r, p;
    int rc = lnx__shared_int(lnx__of(hal), "err_reader", UINT32_MAX, 0, &r);

    if (rc == 0)
        rc = lnx__shared_int(lnx__of(hal), "err_printer", UINT32_MAX, 0, &p);
    if (rc != 0)
        return rc;
    *reader = (uint32_t)r;
    *printer = (uint32_t)p;
    return 0;
}

/* Today's totals; no file: none today, currency "XXX" (ISO 4217: no currency). */
static int lnx__transactions(struct pfa_hal *hal, struct pfa_hal_txn *txn)
{
    struct lnx *l = lnx__of(hal);
    char cur[LNX_VALUE_MAX + 1];
    int64_t count, amount;
    int rc = lnx__shared_int(l, "txn_count", UINT32_MAX, 0, &count);

    if (rc == 0)
        rc = lnx__shared_int(l, "txn_amount_minor", 1LL << 53, 0, &amount);
    if (rc != 0)
        return rc;
    rc = lnx__read_shared(l, "txn_currency", cur, sizeof(cur));
    if (rc == PF_ENOENT)
        memcpy(cur, "XXX", 4);
    else if (rc != 0)
        return rc;
    else if (strlen(cur) != PF_CURRENCY_LEN || strspn(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)
        return PF_EPARSE;
    txn->count = (uint32_t)count;
    txn->amount_minor = (uint64_t)amount;
    memcpy(txn->currency, cur, PF_CURRENCY_LEN + 1);
    return 0;
}

/* Runs the reboot command (no argument) and waits for it: the init system's
 * reboot queues an orderly shutdown and returns. */
static int lnx__reboot(struct pfa_hal *hal)
{
    struct lnx *l = lnx__of(hal);
    char *argv[] = {l->reboot_cmd, NULL};
    pid_t pid;
    int status;

    if (posix_spawn(&pid, l->reboot_cmd, NULL, NULL, argv, environ) != 0)
        return PF_EIO;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return PF_EIO;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : PF_EIO;
}

static void lnx__free(struct pfa_hal *hal)
{
    struct lnx *l = lnx__of(hal);

    free(l->root);
    free(l->dir);
    free(l->data_dir);
    free(l->reboot_cmd);
    free(l);
}

static const struct pfa_hal_ops lnx__ops = {
        .name = "linux",
        .power = lnx__power,
        .network = lnx__network,
        .temperature = lnx__temperature,
        .storage_free = lnx__storage_free,
        .mem_free = lnx__mem_free,
        .paper = lnx__paper,
        .tamper = lnx__tamper,
        .selftest = lnx__selftest,
        .faults = lnx__faults,
        .busy = lnx__busy,
        .transactions = lnx__transactions,
        .reboot = lnx__reboot,
        .uptime = lnx__uptime,
        .free = lnx__free,
};

int pfa_hal_linux_new(const struct pfa_hal_linux_opts *opts, struct pfa_hal **out)
{
    const struct pfa_hal_linux_opts none = {0};
    struct lnx *l;
    const char *root;
    size_t rlen;

    if (!opts)
        opts = &none;
    root = opts->root ? opts->root : "/";
    rlen = strlen(root);
    while (rlen > 0 && root[rlen - 1] == '/')
        rlen--;
    if (rlen > PATH_MAX / 2)
        return PF_ETOOBIG;
    l = calloc(1, sizeof(*l));
    if (!l)
        return PF_ENOMEM;
    l->root = strndup(root, rlen);
    l->dir = strdup(opts->dir ? opts->dir : PFA_HAL_LINUX_DIR);
    l->data_dir = strdup(opts->data_dir ? opts->data_dir : "/");
    l->reboot_cmd = strdup(opts->reboot_cmd ? opts->reboot_cmd : "/usr/sbin/reboot");
    l->hal.ops = &lnx__ops;
    l->hal.priv = l;
    if (!l->root || !l->dir || !l->data_dir || !l->reboot_cmd) {
        lnx__free(&l->hal);
        return PF_ENOMEM;
    }
    *out = &l->hal;
    return 0;
}
