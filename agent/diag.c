/*
 * diag.c - allowlisted diagnostic commands on the terminal: dispatch,
 * deadline and repeat checks, the log ring, the non-blocking net check, the
 * temporary log level, reboot and the archive with its chunks.
 *
 * Over 800 lines as one module on purpose: every command answers through the
 * same reply, deadline and recent-id bookkeeping on one private struct
 * pfa_diag. The archive's building already lives apart (diag_archive.c, so the
 * agent maps libarchive only while it builds one); the non-blocking net check
 * (diag__lookup_*, diag__target_*, diag__net_*) is the next part to leave if
 * the file grows.
 */
#include "pfa/boothist.h"
#include "pfa/diag.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pfa/agent.h"
#include "pfa/update_state.h"
#include "pf/num.h"
#include "pf/b2.h"
#include "pf/fileio.h"
#include "pf/msg_diag.h"

#define DIAG_RECENT          16   /* request ids remembered (and persisted) */
#define DIAG_LINE_MAX        300  /* bytes kept of one log line */
#define DIAG_LOGS_DEFAULT    50   /* lines when the request does not say */
#define DIAG_LEVEL_MINUTES   15   /* loglevel default duration */
#define DIAG_NET_STEP_MS     3000 /* bound of one resolve or one connect */
#define DIAG_NET_POLL_MS     10   /* tick period while a net check runs */
#define DIAG_REBOOT_DELAY_MS 300  /* lets the answer leave before the reboot */
#define DIAG_HEALTH_FILES    20   /* queued reports put in an archive */
#define DIAG_FILE_MAX        (64 * 1024)

enum diag__net_phase { NET_RESOLVE, NET_CONNECT, NET_DONE };

/*
 * A name lookup on its own detached thread (getaddrinfo blocks; the agent may
 * not). Shared by the thread and the target through a reference count: the
 * last one to let go frees it, so a lookup that outlives its time bound
 * needs no join.
 */
struct diag__lookup {
    atomic_int refs;
    atomic_bool done;
    int rc;
    struct addrinfo *res;
    char host[256];
};

struct diag__target {
    const char *name;
    char *host;
    int port;
    enum diag__net_phase phase;
    struct diag__lookup *lookup;
    int fd;
    int64_t started, step_started;
    int64_t resolve_ms, connect_ms;
    char addr[64];
    char error[96];
    bool ok;
};

struct diag__net {
    char id[PF_DIAG_ID_MAX + 1];
    struct diag__target t[2];
    int n;
};

struct pfa_diag {
    const struct pf_clock *clock;
    struct pfa_hal *hal;
    struct pfa_log *log;
    struct pfa_diag_io io;
    char serial[PF_SERIAL_MAX + 1];
    char *dir; /* STATE_DIR/diag */
    char *state_dir;
    char *broker_host;
    int broker_port;
    char *payment_host;
    int payment_port;
    size_t archive_max;
    char *config_text; /* redacted "key = value" lines of the keys that are set */

    /* log ring */
    char **ring;
    size_t ring_cap, ring_len, ring_head;

    char recent[DIAG_RECENT][PF_DIAG_ID_MAX + 1];
    int nrecent;

    enum pfa_log_level base_level; /* the configured level */
    int64_t level_until;           /* mono ms; 0 = no temporary level */

    struct diag__net *net;
    int64_t reboot_at; /* mono ms; 0 = none pending */

    char archive_id[PF_DIAG_ID_MAX + 1];
    uint64_t archive_size;

    struct pfa_diag_stats st;
};

static int64_t diag__now(const struct pfa_diag *d)
{
    return pf_clock_mono_ms(d->clock);
}

/* ---- log ring ---------------------------------------------------------------- */

static void diag__tap(void *ctx, enum pfa_log_level level, const char *line)
{
    struct pfa_diag *d = ctx;
    char *copy;
    size_t n;

    (void)level;
    if (!d->ring_cap)
        return;
    if (!d->ring && !(d->ring = calloc(d->ring_cap, sizeof(*d->ring))))
        return; /* allocated at the first line: a quiet terminal costs nothing */
    n = strnlen(line, DIAG_LINE_MAX);
    copy = malloc(n + 1);
    if (!copy)
        return;
    memcpy(copy, line, n);
    copy[n] = '\0';
    pf_diag_scrub_pan(copy);
    if (d->ring_len == d->ring_cap) {
        free(d->ring[d->ring_head]);
        d->ring[d->ring_head] = copy;
        d->ring_head = (d->ring_head + 1) % d->ring_cap;
    } else {
        d->ring[(d->ring_head + d->ring_len) % d->ring_cap] = copy;
        d->ring_len++;
    }
}

/* The last n lines, oldest first, as an array. */
static json_t *diag__log_lines(const struct pfa_diag *d, size_t n)
{
    json_t *a = json_array();

    if (n > d->ring_len)
        n = d->ring_len;
    for (size_t i = d->ring_len - n; a && i < d->ring_len; i++)
        json_array_append_new(a, json_string(d->ring[(d->ring_head + i) % d->ring_cap]));
    return a;
}

static char *diag__log_text(const struct pfa_diag *d, size_t *len)
{
    size_t total = 0, off = 0;
    char *s;

    for (size_t i = 0; i < d->ring_len; i++)
        total += strlen(d->ring[(d->ring_head + i) % d->ring_cap]) + 1;
    s = malloc(total + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < d->ring_len; i++) {
        const char *l = d->ring[(d->ring_head + i) % d->ring_cap];
        size_t n = strlen(l);

        memcpy(s + off, l, n);
        off += n;
        s[off++] = '\n';
    }
    s[off] = '\0';
    *len = off;
    return s;
}

/* ---- configuration, redacted ---------------------------------------------------- */

const char *pfa_diag_redact(const char *key, const char *value)
{
    static const char *const secret_words[] = {"password", "passwd",  "secret",     "token", "psk",
                                               "pin",      "private", "credential", NULL};

    for (int i = 0; secret_words[i]; i++) {
        if (strstr(key, secret_words[i]))
            return *value ? "<redacted>" : "";
    }
    return value;
}

struct diag__cfg_ctx {
    char *text;
    size_t len, cap;
};

/* The configuration text as an object (built on demand: thousands of simulated
 * terminals in one process should not each hold it twice). */
static json_t *diag__config_json(const struct pfa_diag *d)
{
    json_t *o = json_object();
    const char *p = d->config_text;

    while (o && p && *p) {
        const char *eq = strstr(p, " = "), *nl = strchr(p, '\n');

        if (!eq || !nl || eq > nl)
            break;
        {
            char key[64];
            size_t kn = (size_t)(eq - p);

            if (kn < sizeof(key)) {
                memcpy(key, p, kn);
                key[kn] = '\0';
                json_object_set_new(o, key, json_stringn(eq + 3, (size_t)(nl - eq - 3)));
            }
        }
        p = nl + 1;
    }
    return o;
}

static void diag__cfg_cb(void *ctx, const char *key, const char *value)
{
    struct diag__cfg_ctx *c = ctx;
    const char *v = pfa_diag_redact(key, value);
    size_t need = strlen(key) + strlen(v) + 5;

    if (!*v)
        return;
    if (c->len + need >= c->cap) {
        size_t cap = (c->cap + need) * 2;
        char *t = realloc(c->text, cap);

        if (!t)
            return;
        c->text = t;
        c->cap = cap;
    }
    c->len += (size_t)snprintf(c->text + c->len, c->cap - c->len, "%s = %s\n", key, v);
}

/* ---- replies ---------------------------------------------------------------------- */

static void diag__reply(struct pfa_diag *d, const char *id, const char *cmd,
                        enum pf_diag_status status, const char *code, const char *message,
                        json_t *result)
{
    struct pf_diag_resp r;
    char *buf = NULL;
    size_t len = 0;
    int rc;

    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "%s", id);
    snprintf(r.cmd, sizeof(r.cmd), "%s", cmd);
    r.status = status;
    r.ts_ms = pf_clock_wall_ms(d->clock);
    snprintf(r.code, sizeof(r.code), "%s", code ? code : "");
    snprintf(r.message, sizeof(r.message), "%s", message ? message : "");
    if (result)
        r.result = json_dumps(result, JSON_COMPACT);
    json_decref(result);
    buf = malloc(PF_DIAG_RESP_MAX);
    rc = buf ? pf_diag_resp_encode(&r, buf, PF_DIAG_RESP_MAX, &len) : PF_ENOMEM;
    if (rc == PF_ETOOBIG) {
        /* Never silently lose an answer: say it did not fit. */
        free(r.result);
        r.result = NULL;
        r.status = PF_DIAG_FAILED;
        snprintf(r.code, sizeof(r.code), "TOOBIG");
        snprintf(r.message, sizeof(r.message), "result larger than %u bytes", PF_DIAG_RESP_MAX);
        rc = pf_diag_resp_encode(&r, buf, PF_DIAG_RESP_MAX, &len);
    }
    if (rc == 0)
        rc = d->io.publish(d->io.ctx, PF_DEV_DIAG, buf, len, id, strlen(id));
    if (rc)
        pfa_warn(d->log, "diag %s: cannot answer (%s)", id, pf_strerror(rc));
    free(r.result);
    free(buf);
}

static void diag__refuse(struct pfa_diag *d, const char *id, const char *cmd, const char *code,
                         const char *message)
{
    d->st.refused++;
    pfa_info(d->log, "diag %s: %s refused: %s", id, cmd, message);
    diag__reply(d, id, cmd, PF_DIAG_REFUSED, code, message, NULL);
}

/* ---- recent ids ---------------------------------------------------------------------- */

static bool diag__seen(const struct pfa_diag *d, const char *id)
{
    for (int i = 0; i < d->nrecent; i++) {
        if (strcmp(d->recent[i], id) == 0)
            return true;
    }
    return false;
}

static void diag__remember(struct pfa_diag *d, const char *id)
{
    char path[PATH_MAX], buf[DIAG_RECENT * (PF_DIAG_ID_MAX + 1) + 1];
    size_t off = 0;

    if (d->nrecent == DIAG_RECENT) {
        memmove(d->recent[0], d->recent[1], sizeof(d->recent[0]) * (DIAG_RECENT - 1));
        d->nrecent--;
    }
    snprintf(d->recent[d->nrecent++], sizeof(d->recent[0]), "%s", id);
    for (int i = 0; i < d->nrecent; i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s\n", d->recent[i]);
    snprintf(path, sizeof(path), "%s/recent", d->dir);
    if (pf_file_write_atomic(path, buf, off, 0600) != 0)
        pfa_warn(d->log, "diag: %s: cannot record request ids", path);
}

static void diag__load_recent(struct pfa_diag *d)
{
    char *path = pf_path_join(d->dir, "recent"), *buf = NULL, *p, *nl;
    size_t len;
    int rc = path ? pf_file_read(path, sizeof(d->recent) + DIAG_RECENT, &buf, &len) : PF_ENOMEM;

    free(path);
    if (rc != 0)
        return;
    for (p = buf; p && *p && d->nrecent < DIAG_RECENT; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (pf_diag_id_valid(p))
            snprintf(d->recent[d->nrecent++], sizeof(d->recent[0]), "%s", p);
    }
    free(buf);
}

static void diag__load_archive_id(struct pfa_diag *d)
{
    char *path = pf_path_join(d->dir, "archive.id"), *buf = NULL, *sp;
    uint64_t size;
    size_t len;
    int rc = path ? pf_file_read(path, PF_DIAG_ID_MAX + 32, &buf, &len) : PF_ENOMEM;

    free(path);
    if (rc != 0)
        return;
    sp = strchr(buf, ' ');
    if (sp) {
        *sp = '\0';
        sp[1 + strcspn(sp + 1, "\n")] = '\0';
        if (pf_parse_u64(sp + 1, 0, PF_DIAG_ARCHIVE_MAX, &size) == 0 && pf_diag_id_valid(buf)) {
            snprintf(d->archive_id, sizeof(d->archive_id), "%s", buf);
            d->archive_size = size;
        }
    }
    free(buf);
}

/* ---- commands ------------------------------------------------------------------------ */

static json_t *diag__selftest_json(struct pfa_diag *d)
{
    const struct pfa_hal_ops *ops = d->hal->ops;
    enum pf_check res[PF_COMP_COUNT];
    json_t *o = json_object(), *c = json_object();
    int batt = 0, dbm = 0, temp = 0;
    bool charging = false, tamper = false, busy = false;
    enum pf_net_type net = PF_NET_NONE;
    enum pf_paper paper = PF_PAPER_OK;
    uint64_t storage = 0, mem = 0;
    int fails = 0;

    pfa_hal_selftest_all(d->hal, res);
    for (int i = 0; i < PF_COMP_COUNT; i++) {
        json_object_set_new(c, pf_component_names[i], json_string(pf_check_names[res[i]]));
        fails += res[i] == PF_CHECK_FAIL;
    }
    json_object_set_new(o, "components", c);
    json_object_set_new(o, "passed", json_boolean(fails == 0));
    if (ops->power(d->hal, &batt, &charging) == 0) {
        json_object_set_new(o, "battery_pct", json_integer(batt));
        json_object_set_new(o, "charging", json_boolean(charging));
    }
    if (ops->network(d->hal, &net, &dbm) == 0) {
        json_object_set_new(o, "net_type", json_string(pf_net_type_names[net]));
        json_object_set_new(o, "signal_dbm", json_integer(dbm));
    }
    if (ops->temperature(d->hal, &temp) == 0)
        json_object_set_new(o, "temp_c", json_integer(temp));
    if (ops->storage_free(d->hal, &storage) == 0)
        json_object_set_new(o, "storage_free_kb", json_integer((json_int_t)storage));
    if (ops->mem_free(d->hal, &mem) == 0)
        json_object_set_new(o, "mem_free_kb", json_integer((json_int_t)mem));
    if (ops->paper(d->hal, &paper) == 0)
        json_object_set_new(o, "paper", json_string(pf_paper_names[paper]));
    json_object_set_new(o, "tamper", json_boolean(ops->tamper(d->hal, &tamper) != 0 || tamper));
    if (ops->busy(d->hal, &busy) == 0)
        json_object_set_new(o, "transaction_in_progress", json_boolean(busy));
    return o;
}

static json_t *diag__versions_json(struct pfa_diag *d)
{
    struct pfa_diag_identity id = {0};
    json_t *o = json_object();
    char path[PATH_MAX], *buf = NULL;
    size_t len;

    d->io.identity(d->io.ctx, &id);
    json_object_set_new(o, "agent", json_string(PFA_AGENT_VERSION));
    json_object_set_new(o, "firmware", json_string(id.fw_version ? id.fw_version : ""));
    json_object_set_new(o, "slot", json_string(pf_slot_names[id.fw_slot]));
    json_object_set_new(o, "fee_table", json_string(id.fee_version ? id.fee_version : ""));
    json_object_set_new(o, "boot", json_string(pf_boot_outcome_names[id.boot]));
    json_object_set_new(o, "boot_history", pfa_boothist_json(d->state_dir));
    json_object_set_new(o, "updates", json_boolean(id.update_configured));
    json_object_set_new(o, "update_in_progress", json_boolean(id.update_busy));
    snprintf(path, sizeof(path), "%s/update/state.json", d->state_dir);
    if (id.update_configured && pf_file_read(path, PFA_STATE_MAX, &buf, &len) == 0) {
        struct pfa_update_state us;
        struct pf_error err = {0};

        pfa_update_state_init(&us);
        if (pfa_update_state_decode(buf, len, &us, &err) == 0) {
            json_t *slots = json_object();

            for (int s = 0; s < 2; s++)
                json_object_set_new(slots, pf_slot_names[s],
                                    us.slots[s].known ? json_string(us.slots[s].version)
                                                      : json_null());
            json_object_set_new(o, "slots", slots);
            json_object_set_new(o, "update_phase", json_string(pfa_update_phase_names[us.phase]));
            json_object_set_new(o, "firmware_floor", json_string(us.fw_floor));
            json_object_set_new(o, "last_offer", json_string(us.last_offer));
            if (us.phase == PFA_UPD_FALLBACK || us.code[0])
                json_object_set_new(o, "last_failure", json_string(us.code));
        }
        pfa_update_state_release(&us);
        free(buf);
    }
    return o;
}

static void diag__cmd_loglevel(struct pfa_diag *d, const struct pf_diag_req *q)
{
    enum pfa_log_level lv, prev = d->log->level;
    int minutes = q->minutes > 0 ? q->minutes : DIAG_LEVEL_MINUTES;
    int64_t until_wall;

    if (pfa_log_level_parse(q->level, &lv) != 0) {
        diag__refuse(d, q->id, q->cmd, "RANGE", "unknown log level");
        return;
    }
    d->log->level = lv;
    d->level_until = diag__now(d) + (int64_t)minutes * 60000;
    until_wall = pf_clock_wall_ms(d->clock) + (int64_t)minutes * 60000;
    pfa_info(d->log, "diag %s: log level %s for %d minute(s) (configured: %s)", q->id,
             pfa_log_level_name(lv), minutes, pfa_log_level_name(d->base_level));
    d->st.executed++;
    diag__reply(d, q->id, q->cmd, PF_DIAG_OK, NULL, NULL,
                json_pack("{s:s, s:s, s:s, s:i, s:I}", "level", pfa_log_level_name(lv), "previous",
                          pfa_log_level_name(prev), "reverts_to", pfa_log_level_name(d->base_level),
                          "minutes", minutes, "until_ms", (json_int_t)until_wall));
}

static void diag__cmd_reboot(struct pfa_diag *d, const struct pf_diag_req *q)
{
    struct pfa_diag_identity id = {0};
    bool busy = false;

    if (d->hal->ops->busy(d->hal, &busy) != 0 || busy) {
        diag__refuse(d, q->id, q->cmd, "BUSY", "a transaction is in progress");
        return;
    }
    d->io.identity(d->io.ctx, &id);
    if (id.update_busy) {
        diag__refuse(d, q->id, q->cmd, "BUSY", "an update is in progress");
        return;
    }
    if (d->reboot_at) {
        diag__refuse(d, q->id, q->cmd, "STATE", "a reboot is already pending");
        return;
    }
    d->st.executed++;
    d->reboot_at = diag__now(d) + DIAG_REBOOT_DELAY_MS;
    pfa_warn(d->log, "diag %s: reboot requested by support", q->id);
    diag__reply(d, q->id, q->cmd, PF_DIAG_OK, NULL, NULL,
                json_pack("{s:b, s:i}", "rebooting", 1, "in_ms", DIAG_REBOOT_DELAY_MS));
}

/* -- net check -- */

static void diag__lookup_put(struct diag__lookup *l)
{
    if (l && atomic_fetch_sub(&l->refs, 1) == 1) {
        if (l->res)
            freeaddrinfo(l->res);
        free(l);
    }
}

static void *diag__lookup_run(void *arg)
{
    struct diag__lookup *l = arg;
    struct addrinfo hints = {0};

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    l->rc = getaddrinfo(l->host, NULL, &hints, &l->res);
    atomic_store(&l->done, true);
    diag__lookup_put(l);
    return NULL;
}

static int diag__lookup_start(const char *host, struct diag__lookup **out)
{
    struct diag__lookup *l = calloc(1, sizeof(*l));
    pthread_attr_t attr;
    pthread_t th;
    int rc;

    *out = NULL;
    if (!l)
        return PF_ENOMEM;
    if (strlen(host) >= sizeof(l->host)) {
        free(l);
        return PF_ETOOBIG;
    }
    memcpy(l->host, host, strlen(host) + 1);
    atomic_init(&l->refs, 2);
    atomic_init(&l->done, false);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 128 * 1024);
    rc = pthread_create(&th, &attr, diag__lookup_run, l);
    pthread_attr_destroy(&attr);
    if (rc) {
        free(l);
        return PF_ENOMEM;
    }
    *out = l;
    return 0;
}

static void diag__target_close(struct diag__target *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

static void diag__target_fail(struct diag__target *t, const char *why)
{
    snprintf(t->error, sizeof(t->error), "%s", why);
    diag__target_close(t);
    t->phase = NET_DONE;
}

static void diag__target_connect(struct pfa_diag *d, struct diag__target *t,
                                 const struct addrinfo *ai)
{
    int64_t now = diag__now(d);
    int rc;

    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, t->addr, sizeof(t->addr), NULL, 0,
                    NI_NUMERICHOST) != 0)
        snprintf(t->addr, sizeof(t->addr), "?");
    if (ai->ai_family == AF_INET)
        ((struct sockaddr_in *)(void *)ai->ai_addr)->sin_port = htons((uint16_t)t->port);
    else if (ai->ai_family == AF_INET6)
        ((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_port = htons((uint16_t)t->port);
    t->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (t->fd < 0) {
        diag__target_fail(t, strerror(errno));
        return;
    }
    t->step_started = now;
    t->phase = NET_CONNECT;
    rc = connect(t->fd, ai->ai_addr, ai->ai_addrlen);
    if (rc == 0) {
        t->connect_ms = 0;
        t->ok = true;
        diag__target_close(t);
        t->phase = NET_DONE;
    } else if (errno != EINPROGRESS) {
        diag__target_fail(t, strerror(errno));
    }
}

static void diag__target_step(struct pfa_diag *d, struct diag__target *t)
{
    int64_t now = diag__now(d);

    if (t->phase == NET_RESOLVE) {
        struct diag__lookup *l = t->lookup;

        if (!atomic_load(&l->done)) {
            if (now - t->step_started >= DIAG_NET_STEP_MS) {
                t->resolve_ms = now - t->step_started;
                diag__target_fail(t, "name resolution timed out");
            }
            return;
        }
        t->resolve_ms = now - t->step_started;
        if (l->rc != 0 || !l->res) {
            diag__target_fail(t, gai_strerror(l->rc));
            return;
        }
        diag__target_connect(d, t, l->res);
        return;
    }
    if (t->phase == NET_CONNECT) {
        struct pollfd p = {t->fd, POLLOUT, 0};
        int soerr = 0;
        socklen_t sl = sizeof(soerr);

        if (poll(&p, 1, 0) == 1) {
            t->connect_ms = now - t->step_started;
            if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
                soerr = errno;
            if (soerr)
                diag__target_fail(t, strerror(soerr));
            else {
                t->ok = true;
                diag__target_close(t);
                t->phase = NET_DONE;
            }
        } else if (now - t->step_started >= DIAG_NET_STEP_MS) {
            t->connect_ms = now - t->step_started;
            diag__target_fail(t, "connect timed out");
        }
    }
}

static void diag__net_free(struct diag__net *n)
{
    if (!n)
        return;
    for (int i = 0; i < n->n; i++) {
        struct diag__target *t = &n->t[i];

        diag__lookup_put(t->lookup);
        diag__target_close(t);
        free(t->host);
    }
    free(n);
}

static void diag__net_start(struct pfa_diag *d, const struct pf_diag_req *q)
{
    struct diag__net *n;

    if (d->net) {
        diag__refuse(d, q->id, q->cmd, "STATE", "a network check is already running");
        return;
    }
    n = calloc(1, sizeof(*n));
    if (!n) {
        diag__reply(d, q->id, q->cmd, PF_DIAG_FAILED, "NOMEM", "out of memory", NULL);
        return;
    }
    snprintf(n->id, sizeof(n->id), "%s", q->id);
    if (d->payment_host) {
        n->t[n->n].name = "payment";
        n->t[n->n].host = strdup(d->payment_host);
        n->t[n->n].port = d->payment_port;
        n->n++;
    }
    n->t[n->n].name = "broker";
    n->t[n->n].host = strdup(d->broker_host);
    n->t[n->n].port = d->broker_port;
    n->n++;
    for (int i = 0; i < n->n; i++) {
        struct diag__target *t = &n->t[i];
        int rc;

        t->fd = -1;
        t->started = t->step_started = diag__now(d);
        t->phase = NET_RESOLVE;
        if (!t->host) {
            diag__target_fail(t, "out of memory");
            continue;
        }
        rc = diag__lookup_start(t->host, &t->lookup);
        if (rc)
            diag__target_fail(t, pf_strerror(rc));
    }
    d->net = n;
    d->st.executed++;
    pfa_info(d->log, "diag %s: network check started", q->id);
}

static void diag__net_finish(struct pfa_diag *d)
{
    struct diag__net *n = d->net;
    json_t *arr = json_array();
    bool all_ok = true;

    for (int i = 0; i < n->n; i++) {
        struct diag__target *t = &n->t[i];
        json_t *o = json_pack("{s:s, s:s, s:i, s:b}", "target", t->name, "host",
                              t->host ? t->host : "", "port", t->port, "ok", t->ok);

        json_object_set_new(o, "resolve_ms", json_integer(t->resolve_ms));
        json_object_set_new(o, "address", t->addr[0] ? json_string(t->addr) : json_null());
        json_object_set_new(o, "connect_ms",
                            t->addr[0] ? json_integer(t->connect_ms) : json_null());
        json_object_set_new(o, "error", t->ok ? json_null() : json_string(t->error));
        json_array_append_new(arr, o);
        all_ok = all_ok && t->ok;
    }
    pfa_info(d->log, "diag %s: network check done (%s)", n->id,
             all_ok ? "all reachable" : "failures");
    diag__reply(d, n->id, "net", PF_DIAG_OK, NULL, NULL,
                json_pack("{s:o, s:b, s:b}", "targets", arr, "ok", all_ok, "payment_configured",
                          d->payment_host != NULL));
    d->net = NULL;
    diag__net_free(n);
}

static void diag__net_tick(struct pfa_diag *d)
{
    bool done = true;

    for (int i = 0; i < d->net->n; i++) {
        struct diag__target *t = &d->net->t[i];

        diag__target_step(d, t);
        if (t->phase == NET_CONNECT && t->fd < 0)
            t->phase = NET_DONE;
        done = done && t->phase == NET_DONE;
    }
    if (done)
        diag__net_finish(d);
}

/* -- archive -- */

static char *diag__read_small(const char *path, size_t *len)
{
    char *buf = NULL;

    if (pf_file_read(path, DIAG_FILE_MAX, &buf, len) != 0)
        return NULL;
    return buf;
}

static int diag__name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void diag__cmd_archive(struct pfa_diag *d, const struct pf_diag_req *q)
{
    struct pfa_diag_entry e[8 + DIAG_HEALTH_FILES];
    char *owned[8 + DIAG_HEALTH_FILES] = {0};
    char *names[DIAG_HEALTH_FILES] = {0};
    char path[PATH_MAX], digest_hex[PF_B2_HEX_LEN + 1];
    uint8_t digest[PF_B2_LEN];
    size_t n = 0, nown = 0, len, outlen = 0, included = 0, max;
    void *out = NULL;
    json_t *ent, *omitted, *tmp;
    char *manifest, *s;
    DIR *dir;
    struct dirent *de;
    int nnames = 0, rc;

    max = d->archive_max;
    if (q->max_kb > 0 && (size_t)q->max_kb * 1024 < max)
        max = (size_t)q->max_kb * 1024;

    manifest = json_dumps(tmp = json_pack("{s:i, s:s, s:s, s:I, s:s}", "v", 1, "serial", d->serial,
                                          "request", q->id, "created_ms",
                                          (json_int_t)pf_clock_wall_ms(d->clock), "agent",
                                          PFA_AGENT_VERSION),
                          JSON_INDENT(1));
    json_decref(tmp);
    owned[nown++] = manifest;
    e[n++] = (struct pfa_diag_entry){"manifest.json", manifest, manifest ? strlen(manifest) : 0};
    s = json_dumps(tmp = diag__versions_json(d), JSON_INDENT(1));
    json_decref(tmp);
    owned[nown++] = s;
    e[n++] = (struct pfa_diag_entry){"versions.json", s, s ? strlen(s) : 0};
    e[n++] = (struct pfa_diag_entry){"config.txt", d->config_text,
                                     d->config_text ? strlen(d->config_text) : 0};
    s = json_dumps(tmp = diag__selftest_json(d), JSON_INDENT(1));
    json_decref(tmp);
    owned[nown++] = s;
    e[n++] = (struct pfa_diag_entry){"selftest.json", s, s ? strlen(s) : 0};
    s = diag__log_text(d, &len);
    owned[nown++] = s;
    e[n++] = (struct pfa_diag_entry){"logs.txt", s, s ? len : 0};
    snprintf(path, sizeof(path), "%s/update/state.json", d->state_dir);
    if ((s = diag__read_small(path, &len))) {
        owned[nown++] = s;
        e[n++] = (struct pfa_diag_entry){"state/update.json", s, len};
    }
    snprintf(path, sizeof(path), "%s/seq", d->state_dir);
    if ((s = diag__read_small(path, &len))) {
        owned[nown++] = s;
        e[n++] = (struct pfa_diag_entry){"state/seq", s, len};
    }
    /* Recent health: the newest reports still waiting in the queue. */
    snprintf(path, sizeof(path), "%s/queue", d->state_dir);
    if ((dir = opendir(path))) {
        char **all = NULL;
        int nall = 0, cap = 0;

        while ((de = readdir(dir))) {
            size_t l = strlen(de->d_name);

            if (l < 5 || strcmp(de->d_name + l - 4, ".msg") != 0)
                continue;
            if (nall == cap) {
                char **t = realloc(all, sizeof(*all) * (size_t)(cap = cap ? cap * 2 : 32));
                if (!t)
                    break;
                all = t;
            }
            all[nall++] = strdup(de->d_name);
        }
        closedir(dir);
        if (nall)
            qsort(all, (size_t)nall, sizeof(*all), diag__name_cmp);
        for (int i = nall - 1; i >= 0 && nnames < DIAG_HEALTH_FILES; i--) {
            char full[PATH_MAX + 300];

            snprintf(full, sizeof(full), "%s/%s", path, all[i] ? all[i] : "");
            if (!all[i] || !(s = diag__read_small(full, &len)))
                continue;
            owned[nown++] = s;
            names[nnames] = malloc(strlen(all[i]) + 16);
            if (names[nnames]) {
                snprintf(names[nnames], strlen(all[i]) + 16, "health/%s", all[i]);
                e[n++] = (struct pfa_diag_entry){names[nnames], s, len};
            }
            nnames++;
        }
        for (int i = 0; i < nall; i++)
            free(all[i]);
        free(all);
    }

    rc = pfa_diag_archive_build(e, n, max, pf_clock_wall_ms(d->clock) / 1000, &out, &outlen,
                                &included);
    if (rc == 0) {
        snprintf(path, sizeof(path), "%s/archive.tgz", d->dir);
        rc = pf_file_write_atomic(path, out, outlen, 0600);
    }
    if (rc) {
        d->st.refused++;
        diag__reply(d, q->id, q->cmd, PF_DIAG_FAILED, pf_errname(rc),
                    rc == PF_ELIMIT ? "not even the manifest fits the size bound"
                                    : "cannot write the archive",
                    NULL);
        goto out_free;
    }
    pf_b2_buf(out, outlen, digest);
    pf_b2_hex(digest, digest_hex);
    snprintf(d->archive_id, sizeof(d->archive_id), "%s", q->id);
    d->archive_size = outlen;
    {
        /* Which archive archive.tgz is, so a restarted agent still serves its chunks. */
        char meta[PF_DIAG_ID_MAX + 32];
        int ml = snprintf(meta, sizeof(meta), "%s %zu\n", q->id, outlen);

        snprintf(path, sizeof(path), "%s/archive.id", d->dir);
        if (pf_file_write_atomic(path, meta, (size_t)ml, 0600) != 0)
            pfa_warn(d->log, "diag: %s: cannot record the archive id", path);
    }
    ent = json_array();
    omitted = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(i < included ? ent : omitted, json_string(e[i].name));
    d->st.executed++;
    pfa_info(d->log, "diag %s: archive of %zu bytes, %zu of %zu entries", q->id, outlen, included,
             n);
    diag__reply(d, q->id, q->cmd, PF_DIAG_OK, NULL, NULL,
                json_pack("{s:I, s:s, s:I, s:o, s:o, s:b, s:i}", "size", (json_int_t)outlen,
                          "digest", digest_hex, "bound", (json_int_t)max, "entries", ent, "omitted",
                          omitted, "truncated", included < n, "chunk_max", (int)PF_DIAG_CHUNK_MAX));

out_free:
    free(out);
    for (size_t i = 0; i < nown; i++)
        free(owned[i]);
    for (int i = 0; i < nnames; i++)
        free(names[i]);
}

static void diag__on_chunkreq(struct pfa_diag *d, const void *payload, size_t len)
{
    struct pf_diag_chunkreq q;
    struct pf_diag_chunk_hdr h = {0};
    struct pf_error err = {0};
    uint8_t *frame = NULL;
    char path[PATH_MAX];
    size_t n = 0;
    int fd = -1, rc;

    if (pf_diag_chunkreq_decode(payload, len, &q, &err) != 0) {
        d->st.bad++;
        pfa_warn(d->log, "%s", err.msg);
        return;
    }
    snprintf(h.id, sizeof(h.id), "%s", q.id);
    h.offset = q.offset;
    snprintf(path, sizeof(path), "%s/archive.tgz", d->dir);
    if (strcmp(q.id, d->archive_id) != 0 || q.offset > d->archive_size ||
        (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        h.flags = PF_DIAG_CHUNK_GONE;
        h.offset = 0;
    } else {
        h.size = d->archive_size;
        n = q.length;
        if (q.offset + n > d->archive_size)
            n = (size_t)(d->archive_size - q.offset);
    }
    frame = malloc(PF_DIAG_CHUNK_HDR_LEN + n + 1);
    if (!frame)
        goto out_close;
    if (n) {
        ssize_t r = pread(fd, frame + PF_DIAG_CHUNK_HDR_LEN, n, (off_t)q.offset);

        if (r != (ssize_t)n) {
            h.flags = PF_DIAG_CHUNK_GONE;
            h.offset = h.size = 0;
            n = 0;
        }
    }
    h.length = (uint32_t)n;
    if (!(h.flags & PF_DIAG_CHUNK_GONE) && h.offset + n == h.size)
        h.flags |= PF_DIAG_CHUNK_LAST;
    rc = pf_diag_chunk_hdr_encode(&h, frame);
    if (rc == 0)
        rc = d->io.publish(d->io.ctx, PF_DEV_DIAGCHUNK, frame, PF_DIAG_CHUNK_HDR_LEN + n, NULL, 0);
    if (rc == 0)
        d->st.chunks++;
    free(frame);
out_close:
    if (fd >= 0)
        close(fd);
}

/* ---- dispatch ----------------------------------------------------------------------- */

static void diag__on_request(struct pfa_diag *d, const void *payload, size_t len, const void *corr,
                             size_t corr_len)
{
    struct pf_diag_req q;
    struct pf_error err = {0};
    char cid[PF_DIAG_ID_MAX + 1] = "";
    enum pf_diag_cmd cmd;
    int rc;

    if (corr_len > 0 && corr_len <= PF_DIAG_ID_MAX) {
        memcpy(cid, corr, corr_len);
        cid[corr_len] = '\0';
        if (!pf_diag_id_valid(cid))
            cid[0] = '\0';
    }
    rc = pf_diag_req_decode(payload, len, &q, &err);
    if (rc) {
        d->st.bad++;
        pfa_warn(d->log, "%s", err.msg);
        /* Answer what could not be run when the request can be named. */
        if (cid[0] && !diag__seen(d, cid)) {
            diag__remember(d, cid);
            diag__refuse(d, cid, "unknown", pf_errname(rc), err.msg);
        }
        return;
    }
    d->st.requests++;
    if (cid[0] && strcmp(cid, q.id) != 0)
        pfa_warn(d->log, "diag %s: correlation data names another id; answering the payload's",
                 q.id);
    if (diag__seen(d, q.id)) {
        d->st.repeats++;
        pfa_info(d->log, "diag %s: already handled; not run again", q.id);
        return;
    }
    diag__remember(d, q.id);
    if (pf_clock_wall_ms(d->clock) > q.deadline_ms) {
        diag__refuse(d, q.id, q.cmd, "EXPIRED", "the request's deadline has passed");
        return;
    }
    cmd = pf_diag_cmd_lookup(q.cmd);
    pfa_info(d->log, "diag %s: %s", q.id, q.cmd);
    switch (cmd) {
    case PF_DIAG_SELFTEST:
        d->st.executed++;
        diag__reply(d, q.id, q.cmd, PF_DIAG_OK, NULL, NULL, diag__selftest_json(d));
        break;
    case PF_DIAG_LOGS: {
        size_t lines = q.lines > 0 ? (size_t)q.lines : DIAG_LOGS_DEFAULT;

        d->st.executed++;
        diag__reply(d, q.id, q.cmd, PF_DIAG_OK, NULL, NULL,
                    json_pack("{s:o, s:I, s:I, s:s}", "lines", diag__log_lines(d, lines), "kept",
                              (json_int_t)d->ring_len, "capacity", (json_int_t)d->ring_cap, "level",
                              pfa_log_level_name(d->log->level)));
        break;
    }
    case PF_DIAG_NET:
        diag__net_start(d, &q);
        break;
    case PF_DIAG_CONFIG:
        d->st.executed++;
        diag__reply(d, q.id, q.cmd, PF_DIAG_OK, NULL, NULL,
                    json_pack("{s:o}", "config", diag__config_json(d)));
        break;
    case PF_DIAG_VERSIONS:
        d->st.executed++;
        diag__reply(d, q.id, q.cmd, PF_DIAG_OK, NULL, NULL, diag__versions_json(d));
        break;
    case PF_DIAG_LOGLEVEL:
        diag__cmd_loglevel(d, &q);
        break;
    case PF_DIAG_REBOOT:
        diag__cmd_reboot(d, &q);
        break;
    case PF_DIAG_ARCHIVE:
        diag__cmd_archive(d, &q);
        break;
    case PF_DIAG_UNKNOWN:
        diag__refuse(d, q.id, q.cmd, "UNKNOWN_COMMAND", "not on the terminal's allowlist");
        break;
    }
}

bool pfa_diag_on_message(struct pfa_diag *d, const char *leaf, const void *payload, size_t len,
                         const void *corr, size_t corr_len)
{
    if (strcmp(leaf, PF_CMD_DIAG) == 0)
        diag__on_request(d, payload, len, corr, corr_len);
    else if (strcmp(leaf, PF_CMD_DIAGCHUNK) == 0)
        diag__on_chunkreq(d, payload, len);
    else
        return false;
    return true;
}

void pfa_diag_tick(struct pfa_diag *d)
{
    int64_t now = diag__now(d);

    if (d->net)
        diag__net_tick(d);
    if (d->level_until && now >= d->level_until) {
        d->level_until = 0;
        d->log->level = d->base_level;
        pfa_info(d->log, "diag: log level back to %s", pfa_log_level_name(d->base_level));
    }
    if (d->reboot_at && now >= d->reboot_at) {
        d->reboot_at = 0;
        if (d->hal->ops->reboot(d->hal) != 0) {
            pfa_err(d->log, "diag: the platform refused the reboot");
            return;
        }
        d->st.reboots++;
        pfa_warn(d->log, "diag: rebooting");
        if (d->io.reboot)
            d->io.reboot(d->io.ctx);
    }
}

int64_t pfa_diag_next_deadline_ms(const struct pfa_diag *d)
{
    int64_t t = INT64_MAX;

    if (d->net)
        t = diag__now(d) + DIAG_NET_POLL_MS;
    if (d->level_until && d->level_until < t)
        t = d->level_until;
    if (d->reboot_at && d->reboot_at < t)
        t = d->reboot_at;
    return t;
}

void pfa_diag_stats(const struct pfa_diag *d, struct pfa_diag_stats *st)
{
    *st = d->st;
}

enum pfa_log_level pfa_diag_log_level(const struct pfa_diag *d)
{
    return d->log->level;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

int pfa_diag_new(const struct pfa_config *cfg, struct pfa_hal *hal, const struct pf_clock *clock,
                 struct pfa_log *log, const struct pfa_diag_io *io, struct pfa_diag **out,
                 struct pf_error *err)
{
    struct pfa_diag *d = calloc(1, sizeof(*d));
    struct diag__cfg_ctx cc = {0};
    int rc;

    *out = NULL;
    if (!d)
        return pf_error_set(err, PF_ENOMEM, "diag: out of memory");
    d->clock = clock;
    d->hal = hal;
    d->log = log;
    d->io = *io;
    d->base_level = log->level;
    snprintf(d->serial, sizeof(d->serial), "%s", cfg->serial);
    d->broker_port = cfg->broker_port;
    d->payment_port = cfg->diag_payment_port;
    d->archive_max = (size_t)cfg->diag_archive_max_kb * 1024;
    d->state_dir = strdup(cfg->state_dir);
    d->broker_host = strdup(cfg->broker_host);
    d->payment_host = cfg->diag_payment_host ? strdup(cfg->diag_payment_host) : NULL;
    if (strlen(cfg->state_dir) + sizeof("/diag/archive.tar.gz") >= PATH_MAX) {
        rc = pf_error_set(err, PF_ETOOBIG, "state_dir: path too long");
        goto out_free;
    }
    d->dir = pf_path_join(cfg->state_dir, "diag");
    d->ring_cap = (size_t)cfg->diag_log_lines;
    if (!d->state_dir || !d->broker_host || !d->dir ||
        (cfg->diag_payment_host && !d->payment_host)) {
        rc = pf_error_set(err, PF_ENOMEM, "diag: out of memory");
        goto out_free;
    }
    pfa_config_each(cfg, diag__cfg_cb, &cc);
    d->config_text = cc.text;
    rc = pf_mkdir_p(d->dir, 0700);
    if (rc) {
        pf_error_set(err, rc, "%s: %s", d->dir, pf_strerror(rc));
        goto out_free;
    }
    diag__load_recent(d);
    diag__load_archive_id(d);
    log->tap = diag__tap;
    log->tap_ctx = d;
    *out = d;
    return 0;

out_free:
    pfa_diag_free(d);
    return rc;
}

void pfa_diag_free(struct pfa_diag *d)
{
    if (!d)
        return;
    if (d->log && d->log->tap_ctx == d) {
        d->log->tap = NULL;
        d->log->tap_ctx = NULL;
        if (d->level_until)
            d->log->level = d->base_level;
    }
    diag__net_free(d->net);
    for (size_t i = 0; i < d->ring_len; i++)
        free(d->ring[(d->ring_head + i) % d->ring_cap]);
    free(d->ring);
    free(d->config_text);
    free(d->dir);
    free(d->state_dir);
    free(d->broker_host);
    free(d->payment_host);
    free(d);
}
