/*
 * store_story.c - posfleetd's store through a story of acknowledged changes,
 * for the crash states of tests/crash/test_store_smoke.sh.
 *
 *   pf_store_story write DIR ROUNDS   runs ROUNDS rounds on DIR/posfleet.db with
 *                                     the real store code; after each change the
 *                                     store acknowledges (the call returned 0,
 *                                     what the API and the agent are then told)
 *                                     one line is appended to DIR/acks
 *   pf_store_story init DIR           creates DIR/posfleet.db (migrated), closed
 *   pf_store_story check DIR          reopens the store on a crash state and
 *                                     checks that every acknowledged change is
 *                                     there, with its audit row
 *   pf_store_story serve              the same for each directory read on stdin
 *                                     (one per line), after SQLite's
 *                                     integrity_check: answers "ok" or what is
 *                                     wrong, one line each (pf_crashstates --serve)
 *
 * A round: an ingest batch of health reports (synchronous=NORMAL: the store
 * does not claim it survives a power cut, it must only be whole or absent), a
 * registry change (device.add), every second round a lifecycle change
 * (terminal tags), every third a terminal retired (lifecycle state and the
 * registry revocation in one transaction) - each of those administrative
 * changes FULL with its audit row (docs/server.md). Then a rollout, one step
 * after each further ingest batch (story_rollout_steps): a bundle uploaded,
 * the rollout created over the terminals not retired (stages 1 and 100 %),
 * the first stage's member offered and its success recorded, the next stage
 * opened, a member of it offered and its failure recorded, the rollout
 * paused, resumed and aborted - each one transaction the store acknowledges,
 * each acknowledged as "rollout K" (K the step). A state must show the
 * rollout as some step at or after the last one acknowledged left it (state,
 * open stage, member counts by status): a later step may have reached the
 * disk before its acknowledgement did, an acknowledged one may not be lost.
 * The store is closed at the end, which checkpoints the WAL into the database.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <limits.h>
#include <sqlite3.h>

#include "pf/num.h"
#include "rollouts/rollout_def.h"
#include "store/store.h"
#include "store/store_lifecycle.h"
#include "store/store_rollouts.h"
#include "store/store_updates.h"

static const struct pfs_actor story_actor = {.name = "olga", .role = "ops"};

static int story_open(const char *dir, struct pfs_store **st, struct pf_error *err)
{
    char path[512];
    struct pfs_store_opts o = {.path = path};

    snprintf(path, sizeof(path), "%s/posfleet.db", dir);
    return pfs_store_open(&o, st, err);
}

static void story_ack(int fd, const char *line)
{
    size_t n = strlen(line);

    if (write(fd, line, n) != (ssize_t)n)
        exit(1);
}

/* An ingest batch: a health report of terminal T<term> (none before the first exists). */
static int story_health(struct pfs_store *st, int round, int term)
{
    struct pf_health h;
    char serial[32];

    memset(&h, 0, sizeof(h));
    snprintf(serial, sizeof(serial), "T%04d", term);
    h.seq = (uint32_t)round;
    h.ts_ms = 1000 + round;
    h.battery_pct = 50;
    if (term < 1 || pfs_store_health_put(st, serial, &h, 1000 + round, NULL) != 0)
        return 0; /* the first round has no terminal yet */
    return pfs_store_flush(st, 1000 + round, NULL);
}

/* ---- the rollout ------------------------------------------------------------------- */

#define STORY_BUNDLE "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
#define STORY_RO_ID  1 /* the first rollout of a fresh database */

enum story_ro_step {
    RS_NONE,     /* no rollout yet */
    RS_BUNDLE,   /* the bundle uploaded */
    RS_CREATE,   /* running, stage 0 open, every member pending */
    RS_OFFER0,   /* the stage-0 member offered */
    RS_SUCCESS0, /* ... and installed */
    RS_PROMOTE,  /* stage 1 open */
    RS_OFFER1,   /* a stage-1 member offered */
    RS_FAIL1,    /* ... and failed */
    RS_PAUSE,
    RS_RESUME,
    RS_ABORT, /* the pending members skipped */
    RS_COUNT
};

/* What the store shows of the rollout after a step (n: its members). */
struct story_ro_view {
    int exists; /* 0 no rollout, 1 rollout (the bundle is checked apart) */
    enum pfs_ro_state state;
    int stage;
    int64_t pending, offered, installed, failed, skipped, other;
};

static struct story_ro_view story_ro_expect(int step, int64_t n)
{
    struct story_ro_view v = {0};

    if (step < RS_CREATE)
        return v;
    v.exists = 1;
    v.state = step == RS_PAUSE ? PFS_RO_PAUSED : step == RS_ABORT ? PFS_RO_ABORTED : PFS_RO_RUNNING;
    v.stage = step >= RS_PROMOTE ? 1 : 0;
    v.offered = step == RS_OFFER0 || step == RS_OFFER1;
    v.installed = step >= RS_SUCCESS0;
    v.failed = step >= RS_FAIL1;
    v.pending = n - (step >= RS_OFFER0) - (step >= RS_OFFER1);
    if (step == RS_ABORT) {
        v.skipped = v.pending;
        v.pending = 0;
    }
    return v;
}

static int story_ro_view(struct pfs_store *st, struct story_ro_view *v, int64_t *n)
{
    struct pfs_rollout_rec r;
    struct pfs_ro_stage_rec s[PFS_RO_STAGES_MAX];
    size_t ns = 0;
    int rc;

    memset(v, 0, sizeof(*v));
    *n = 0;
    rc = pfs_store_rollout_get(st, STORY_RO_ID, &r);
    if (rc == PF_ENOENT)
        return 0;
    if (rc)
        return rc;
    v->exists = 1;
    v->state = r.state;
    v->stage = r.stage;
    pfs_rollout_rec_release(&r);
    if ((rc = pfs_store_rollout_stages(st, STORY_RO_ID, s, &ns)) != 0)
        return rc;
    for (size_t k = 0; k < ns; k++) {
        for (int m = 0; m < PFS_ROM_COUNT; m++) {
            int64_t c = s[k].counts[m];
            *n += c;
            if (m == PFS_ROM_PENDING)
                v->pending += c;
            else if (m == PFS_ROM_OFFERED)
                v->offered += c;
            else if (m == PFS_ROM_INSTALLED)
                v->installed += c;
            else if (m == PFS_ROM_FAILED)
                v->failed += c;
            else if (m == PFS_ROM_SKIPPED)
                v->skipped += c;
            else
                v->other += c;
        }
    }
    return 0;
}

/* The first member of stage in status pending (serial order). */
static int story_first_pending(void *ctx, const struct pfs_ro_member_rec *m)
{
    if (!((char *)ctx)[0])
        snprintf(ctx, PF_SERIAL_MAX + 1, "%s", m->serial);
    return 0;
}

static int story_ro_offer(struct pfs_store *st, int stage, char serial[PF_SERIAL_MAX + 1],
                          int64_t now_ms, struct pf_error *err)
{
    struct pfs_offer_rec o;
    struct pfs_bundle_rec b;
    int64_t left;
    bool more;
    int rc;

    serial[0] = '\0';
    if ((rc = pfs_store_rollout_plan_open(st, STORY_RO_ID, stage, 1000, now_ms, &left)) != 0 ||
        (rc = pfs_store_rollout_members(st, STORY_RO_ID, PFS_ROM_PENDING, stage, "", 1,
                                        story_first_pending, serial, &more)) != 0)
        return rc;
    if (!serial[0] || (rc = pfs_store_bundle_get(st, STORY_BUNDLE, &b)) != 0)
        return rc ? rc : pf_error_set(err, PF_ENOENT, "stage %d has no pending member", stage);
    memset(&o, 0, sizeof(o));
    snprintf(o.id, sizeof(o.id), "ro-offer-%d", stage);
    snprintf(o.serial, sizeof(o.serial), "%s", serial);
    snprintf(o.bundle, sizeof(o.bundle), "%s", STORY_BUNDLE);
    o.created_ms = now_ms;
    o.deadline_ms = now_ms + 3600000;
    return pfs_store_rollout_offer(st, STORY_RO_ID, &o, &b, "{}", err);
}

static int story_ro_event(struct pfs_store *st, const char *serial, int stage,
                          enum pf_update_status status, int64_t now_ms)
{
    struct pf_update_event e;
    bool recorded = false;
    int rc;

    memset(&e, 0, sizeof(e));
    snprintf(e.id, sizeof(e.id), "ro-event-%d", stage);
    snprintf(e.offer, sizeof(e.offer), "ro-offer-%d", stage);
    if ((rc = pf_b2_from_hex(STORY_BUNDLE, e.bundle)) != 0)
        return rc;
    e.kind = PF_KIND_FIRMWARE;
    snprintf(e.version, sizeof(e.version), "2.0.0");
    e.status = status;
    e.ts_ms = now_ms;
    if (status == PF_UPD_FAILED)
        snprintf(e.code, sizeof(e.code), "IO");
    rc = pfs_store_update_event_put(st, serial, &e, now_ms, &recorded);
    return rc ? rc : recorded ? 0 : PF_EIO;
}

/* One step of the rollout (enum story_ro_step), as posfleetd's API and scheduler make it. */
static int story_ro_step(struct pfs_store *st, int step, int64_t now_ms, struct pf_error *err)
{
    static char member0[PF_SERIAL_MAX + 1], member1[PF_SERIAL_MAX + 1];
    struct pfs_ro_change c = {0, PFS_RO_RUNNING, -1, NULL, NULL, NULL, NULL};
    int rc;

    switch (step) {
    case RS_BUNDLE: {
        struct pfs_bundle_rec b;
        bool created;
        memset(&b, 0, sizeof(b));
        snprintf(b.id, sizeof(b.id), "%s", STORY_BUNDLE);
        b.kind = PF_KIND_FIRMWARE;
        snprintf(b.version, sizeof(b.version), "2.0.0");
        snprintf(b.models, sizeof(b.models), "PX-200");
        snprintf(b.hw_revs, sizeof(b.hw_revs), "A,B");
        b.size = 4096;
        memset(b.manifest, 'e', PF_B2_HEX_LEN);
        b.expires_s = 4000000000LL;
        return pfs_store_bundle_put(st, &b, &story_actor, now_ms, &created, err);
    }
    case RS_CREATE: {
        struct pfs_ro_def d;
        struct pfs_bundle_rec b;
        struct pfs_ro_plan_stats stats;
        json_t *o = json_loads("{\"bundle\":\"" STORY_BUNDLE "\",\"stages\":[1,\"100%\"]}", 0,
                               NULL),
               *dj;
        char *text;
        int64_t id = 0;
        if (!o)
            return PF_ENOMEM;
        rc = pfs_ro_def_parse(o, now_ms, &d, err);
        json_decref(o);
        if (rc)
            return rc;
        if ((rc = pfs_store_bundle_get(st, STORY_BUNDLE, &b)) == 0) {
            dj = pfs_ro_def_to_json(&d);
            text = json_dumps(dj, JSON_COMPACT);
            rc = pfs_store_rollout_create(st, &d, &b, text, &story_actor, now_ms, &id, &stats, err);
            free(text);
            json_decref(dj);
        }
        pfs_ro_def_release(&d);
        if (rc == 0 && id != STORY_RO_ID)
            return pf_error_set(err, PF_ESTATE, "rollout id %lld, expected %d", (long long)id,
                                STORY_RO_ID);
        return rc;
    }
    case RS_OFFER0:
        return story_ro_offer(st, 0, member0, now_ms, err);
    case RS_SUCCESS0:
        return story_ro_event(st, member0, 0, PF_UPD_SUCCESS, now_ms);
    case RS_PROMOTE:
        c.from_mask = 1u << PFS_RO_RUNNING;
        c.stage = 1;
        c.action = "promote";
        break;
    case RS_OFFER1:
        return story_ro_offer(st, 1, member1, now_ms, err);
    case RS_FAIL1:
        return story_ro_event(st, member1, 1, PF_UPD_FAILED, now_ms);
    case RS_PAUSE:
        c.from_mask = 1u << PFS_RO_RUNNING;
        c.to = PFS_RO_PAUSED;
        c.action = "pause";
        c.reason = "manual";
        c.detail = "paused by the story";
        break;
    case RS_RESUME:
        c.from_mask = 1u << PFS_RO_PAUSED;
        c.action = "resume";
        break;
    case RS_ABORT:
        c.from_mask = 1u << PFS_RO_RUNNING;
        c.to = PFS_RO_ABORTED;
        c.action = "abort";
        break;
    default:
        return PF_EINVAL;
    }
    return pfs_store_rollout_change(st, STORY_RO_ID, &c, &story_actor, now_ms, err);
}

static int story_write(const char *dir, int rounds)
{
    struct pfs_store *st = NULL;
    struct pf_error err = {0};
    char path[512], line[128];
    int fd, rc = 0;

    snprintf(path, sizeof(path), "%s/acks", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 || story_open(dir, &st, &err) != 0) {
        fprintf(stderr, "store_story: %s\n", err.msg);
        return 1;
    }
    for (int i = 1; i <= rounds && rc == 0; i++) {
        struct pfs_device d;
        char tags[64];

        memset(&d, 0, sizeof(d));
        snprintf(d.serial, sizeof(d.serial), "T%04d", i);
        snprintf(d.model, sizeof(d.model), "PX-200");
        rc = story_health(st, i, i - 1);
        if (rc == 0 && (rc = pfs_store_device_add(st, &d, &story_actor, 1000 + i, &err)) == 0) {
            snprintf(line, sizeof(line), "add %s\n", d.serial);
            story_ack(fd, line);
        }
        if (rc == 0 && i % 2 == 0) {
            snprintf(tags, sizeof(tags), "[\"round-%d\"]", i);
            rc = pfs_store_term_tags(st, d.serial, tags, &story_actor, 1000 + i, &err);
            if (rc == 0) {
                snprintf(line, sizeof(line), "tags %s\n", d.serial);
                story_ack(fd, line);
            }
        }
        if (rc == 0 && i % 3 == 0) {
            rc = pfs_store_term_retire(st, d.serial, &story_actor, 1000 + i, &err);
            if (rc == 0) {
                snprintf(line, sizeof(line), "retire %s\n", d.serial);
                story_ack(fd, line);
            }
        }
    }
    /* The rollout, one step after each further ingest batch. */
    for (int step = RS_BUNDLE; step < RS_COUNT && rc == 0 && rounds >= 2; step++) {
        int64_t now = 1000 + rounds + step;
        rc = story_health(st, rounds + step, 1);
        if (rc == 0 && (rc = story_ro_step(st, step, now, &err)) == 0) {
            snprintf(line, sizeof(line), "rollout %d\n", step);
            story_ack(fd, line);
        }
    }
    if (rc)
        fprintf(stderr, "store_story: [%s] %s\n", pf_errname(rc), err.msg);
    pfs_store_close(st);
    close(fd);
    return rc ? 1 : 0;
}

static int story_count(void *ctx, const struct pfs_audit *a)
{
    (void)a;
    (*(int *)ctx)++;
    return 0;
}

/* The rollout as the store shows it must be some step at or after the last one acknowledged. */
static int story_check_rollout(struct pfs_store *st, int acked, char *why, size_t wlen)
{
    struct story_ro_view v, w;
    struct pfs_bundle_rec b;
    int64_t n;
    int rc;

    if (acked >= RS_BUNDLE && pfs_store_bundle_get(st, STORY_BUNDLE, &b) != 0) {
        snprintf(why, wlen, "acknowledged rollout step %d: the bundle is missing", acked);
        return 1;
    }
    if ((rc = story_ro_view(st, &v, &n)) != 0) {
        snprintf(why, wlen, "rollout unreadable: %s", pf_strerror(rc));
        return 1;
    }
    for (int step = acked < 0 ? 0 : acked; step < RS_COUNT; step++) {
        w = story_ro_expect(step, n);
        if (v.exists == w.exists && v.state == w.state && v.stage == w.stage &&
            v.pending == w.pending && v.offered == w.offered && v.installed == w.installed &&
            v.failed == w.failed && v.skipped == w.skipped && v.other == w.other)
            return 0;
    }
    snprintf(why, wlen,
             "acknowledged rollout step %d: the store shows %s state %s stage %d, members pending "
             "%lld offered %lld installed %lld failed %lld skipped %lld other %lld",
             acked, v.exists ? "a rollout" : "no rollout",
             v.exists ? pfs_ro_state_names[v.state] : "-", v.stage, (long long)v.pending,
             (long long)v.offered, (long long)v.installed, (long long)v.failed,
             (long long)v.skipped, (long long)v.other);
    return 1;
}

/* 0 if every acknowledged change is there; else 1 and the first thing missing in why. */
static int story_check(const char *dir, char *why, size_t wlen)
{
    struct pfs_store *st = NULL;
    struct pf_error err = {0};
    char path[512], line[128], cur[32] = "";
    int want = 0, bad = 0, ro_acked = -1;
    FILE *f;

    if (story_open(dir, &st, &err) != 0) {
        snprintf(why, wlen, "store does not open: %s", err.msg);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/acks", dir);
    f = fopen(path, "r");
    while (f && !bad && fgets(line, sizeof(line), f)) {
        char what[16], serial[32];
        struct pfs_term t;
        int64_t step;

        if (sscanf(line, "%15s %31s", what, serial) != 2 || !strchr(line, '\n'))
            continue; /* a torn last line: its change was not acknowledged yet */
        if (strcmp(what, "rollout") == 0) {
            if (pf_parse_i64(serial, 0, RS_COUNT - 1, &step) == 0)
                ro_acked = (int)step;
            continue;
        }
        if (strcmp(serial, cur) != 0)
            want = 0;
        snprintf(cur, sizeof(cur), "%s", serial);
        want++;
        if (pfs_store_term_get(st, serial, &t) != 0) {
            snprintf(why, wlen, "acknowledged %s %s: terminal missing", what, serial);
            bad++;
            continue;
        }
        if (strcmp(what, "retire") == 0 && (!t.revoked || t.state != PFS_TERM_RETIRED)) {
            snprintf(why, wlen, "acknowledged retire %s: not retired", serial);
            bad++;
        }
        int n = 0;
        if (pfs_store_audit_list(st, serial, 0, 100, story_count, &n) != 0 || n < want) {
            snprintf(why, wlen, "acknowledged %s %s: %d audit rows, want %d", what, serial, n,
                     want);
            bad++;
        }
    }
    if (f)
        fclose(f);
    if (!bad)
        bad = story_check_rollout(st, ro_acked, why, wlen);
    pfs_store_close(st);
    return bad ? 1 : 0;
}

/* SQLite's own verdict on the file, before the store opens it. */
static int story_integrity(const char *dir, char *why, size_t wlen)
{
    char path[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int rc;

    snprintf(path, sizeof(path), "%s/posfleet.db", dir);
    rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL);
    if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
        strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0) {
        sqlite3_finalize(s);
        sqlite3_close(db);
        return 0;
    }
    snprintf(why, wlen, "integrity_check: %s",
             s && sqlite3_column_text(s, 0) ? (const char *)sqlite3_column_text(s, 0)
                                            : sqlite3_errmsg(db));
    sqlite3_finalize(s);
    sqlite3_close(db);
    return 1;
}

/* pf_crashstates --serve: a directory per line in, "ok" or what is wrong out. */
static int story_serve(void)
{
    char dir[PATH_MAX], why[512];
    int proto = dup(STDOUT_FILENO);
    FILE *out;

    if (proto < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0 || !(out = fdopen(proto, "w")))
        return 1;
    while (fgets(dir, sizeof(dir), stdin)) {
        dir[strcspn(dir, "\n")] = '\0';
        why[0] = '\0';
        if (story_integrity(dir, why, sizeof(why)) == 0 && story_check(dir, why, sizeof(why)) == 0)
            fprintf(out, "ok\n");
        else
            fprintf(out, "%s\n", why);
        fflush(out);
    }
    fclose(out);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t rounds;

    if (argc == 4 && strcmp(argv[1], "write") == 0 && pf_parse_u64(argv[3], 1, 9999, &rounds) == 0)
        return story_write(argv[2], (int)rounds);
    if (argc == 3 && strcmp(argv[1], "check") == 0) {
        char why[512] = "";
        int rc = story_integrity(argv[2], why, sizeof(why)) ||
                 story_check(argv[2], why, sizeof(why));
        if (rc)
            printf("%s\n", why);
        return rc;
    }
    if (argc == 2 && strcmp(argv[1], "serve") == 0)
        return story_serve();
    if (argc == 3 && strcmp(argv[1], "init") == 0) {
        struct pfs_store *st = NULL;
        struct pf_error err = {0};
        if (story_open(argv[2], &st, &err) != 0) {
            fprintf(stderr, "store_story: %s\n", err.msg);
            return 1;
        }
        pfs_store_close(st);
        return 0;
    }
    fprintf(stderr, "usage: pf_store_story init DIR | write DIR ROUNDS | check DIR | serve\n");
    return 2;
}
