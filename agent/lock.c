/*
 * lock.c - the persisted payment lock and its reports.
 */
#include "pfa/lock.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pf/fileio.h"
#include "pf/jsonv.h"

#define LOCK_FILE_MAX 1024

struct pfa_lock {
    char path[PATH_MAX];
    char switch_path[PATH_MAX]; /* simulated payments switch; "" if none */
    struct pfa_lock_io io;
    const struct pfa_log *log;
    bool locked;
    char id[PF_LOCK_ID_MAX + 1]; /* the command that set the state */
    char reason[PF_LOCK_REASON_MAX + 1];
};

static int lock__payments(struct pfa_lock *l, bool enabled)
{
    const char *v = enabled ? "enabled\n" : "disabled\n";

    if (l->io.set_payments)
        return l->io.set_payments(l->io.ctx, enabled);
    if (!l->switch_path[0])
        return 0;
    return pf_file_write_atomic(l->switch_path, v, strlen(v), 0644);
}

static int lock__save(struct pfa_lock *l)
{
    char buf[LOCK_FILE_MAX];
    size_t len = 0;
    json_t *o = json_pack("{s:i, s:b, s:s, s:s}", "v", 1, "locked", l->locked, "id", l->id,
                          "reason", l->reason);
    int rc;

    if (!o)
        return PF_ENOMEM;
    rc = pf_json_dump(o, buf, sizeof(buf), &len);
    json_decref(o);
    return rc ? rc : pf_file_write_atomic(l->path, buf, len, 0600);
}

static int lock__load(struct pfa_lock *l, struct pf_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    json_t *o = NULL;
    int rc = pf_file_read(l->path, LOCK_FILE_MAX, &buf, &len);

    if (rc == PF_ENOENT)
        return 0;
    if (rc)
        return pf_error_set(err, rc, "%s: %s", l->path, pf_strerror(rc));
    rc = pf_json_open_message(buf, len, LOCK_FILE_MAX, 1, &o, err);
    if (!rc)
        rc = pf_json_bool(o, "locked", true, &l->locked, err);
    if (!rc)
        rc = pf_json_str(o, "id", false, 0, PF_LOCK_ID_MAX, l->id, err);
    if (!rc)
        rc = pf_json_str(o, "reason", false, 0, PF_LOCK_REASON_MAX, l->reason, err);
    json_decref(o);
    free(buf);
    if (rc) {
        /* A damaged lock file must not unlock a tampered terminal. */
        l->locked = true;
        pf_error_prefix(err, "%s", l->path);
    }
    return rc;
}

int pfa_lock_new(const char *state_dir, const char *hal_dir, const struct pfa_lock_io *io,
                 const struct pfa_log *log, struct pfa_lock **out, struct pf_error *err)
{
    struct pfa_lock *l = calloc(1, sizeof(*l));
    struct pf_error lerr = {0};
    int rc;

    *out = NULL;
    if (!l)
        return pf_error_set(err, PF_ENOMEM, "lock: out of memory");
    if (io)
        l->io = *io;
    l->log = log;
    if ((size_t)snprintf(l->path, sizeof(l->path), "%s/lock", state_dir) >= sizeof(l->path) ||
        (hal_dir && (size_t)snprintf(l->switch_path, sizeof(l->switch_path), "%s/payments",
                                     hal_dir) >= sizeof(l->switch_path))) {
        free(l);
        return pf_error_set(err, PF_ETOOBIG, "lock: state_dir or hal.dir: path too long");
    }
    if (lock__load(l, &lerr))
        pfa_err(log, "lock: %s; keeping payments locked", lerr.msg);
    rc = lock__payments(l, !l->locked);
    if (rc)
        pfa_err(log, "lock: cannot switch payments %s: %s", l->locked ? "off" : "on",
                pf_strerror(rc));
    if (l->locked)
        pfa_warn(log, "lock: payments locked (%s, command %s)", l->reason[0] ? l->reason : "?",
                 l->id[0] ? l->id : "-");
    *out = l;
    return 0;
}

void pfa_lock_free(struct pfa_lock *l)
{
    free(l);
}

bool pfa_lock_locked(const struct pfa_lock *l)
{
    return l && l->locked;
}

static void lock__report(struct pfa_lock *l, const char *id)
{
    struct pf_lock_report r = {.locked = l->locked};
    char buf[256];
    size_t len = 0;

    snprintf(r.id, sizeof(r.id), "%s", id);
    if (pf_lock_report_encode(&r, buf, sizeof(buf), &len) != 0) {
        pfa_err(l->log, "lock: cannot encode the report for %s", id);
        return;
    }
    if (!l->io.publish || l->io.publish(l->io.ctx, PF_DEV_LOCK, buf, len, 1) != 0)
        pfa_warn(l->log, "lock: report for %s not sent (posfleetd sends the command again)", id);
}

bool pfa_lock_on_message(struct pfa_lock *l, const char *leaf, const void *payload, size_t len)
{
    struct pf_error err = {0};
    struct pf_lock_cmd c;
    bool was;
    int rc;

    if (!l || strcmp(leaf, PF_CMD_LOCK) != 0)
        return false;
    if (pf_lock_cmd_decode(payload, len, &c, &err) != 0) {
        pfa_warn(l->log, "lock command rejected: %s", err.msg);
        return true;
    }
    was = l->locked;
    if (was != c.lock || strcmp(l->id, c.id) != 0) {
        struct pfa_lock prev = *l;

        l->locked = c.lock;
        snprintf(l->id, sizeof(l->id), "%s", c.id);
        snprintf(l->reason, sizeof(l->reason), "%s", c.reason);
        /* Persist first: a crash after switching but before saving would forget a lock. */
        rc = lock__save(l);
        if (rc) {
            pfa_err(l->log, "lock: cannot persist %s: %s; not applied", c.id, pf_strerror(rc));
            *l = prev;
            return true;
        }
        rc = lock__payments(l, !l->locked);
        if (rc)
            pfa_err(l->log, "lock: cannot switch payments %s: %s", l->locked ? "off" : "on",
                    pf_strerror(rc));
        if (was != l->locked)
            pfa_warn(l->log, "lock: payments %s by posfleetd (%s, command %s)",
                     l->locked ? "locked" : "unlocked", l->reason[0] ? l->reason : "-", l->id);
    }
    lock__report(l, c.id);
    return true;
}
