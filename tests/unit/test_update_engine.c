/*
 * test_update_engine.c - the agent's update engine against real files: real
 * signed bundles, real slot files, the file boot environment, the fee-table
 * store, and a loopback "server" that answers chunk requests from the bundle
 * file with the real codecs (pf/msg_update.h) and records and acks events.
 *
 * Without arguments: the Check suite (ctest unit_update_engine).
 * With arguments it is the driver of the power-cut tests and the install
 * benchmark (tests/fault/injected/test_update_powercut.sh, tests/bench/bench_install.sh):
 *
 *   unit_update_engine run DIR      one "boot" of a terminal working through
 *                                   DIR/offers; exit 0 all done, 3 rebooted,
 *                                   4 invariant violated, 1 error
 *   unit_update_engine install BUNDLE SLOT ROOT.pub
 *                                   staged install through the bundle reader
 *   unit_update_engine offer BUNDLE prints the offer JSON posfleetd would send
 *   unit_update_engine peer DIR HOST PORT CA CERT KEY SERIAL
 *                                   the server side over the real broker
 *
 * DIR layout (made by the fault script): root.pub, offers ("BUNDLE EXPECT
 * [bad]" per line: EXPECT the final status, bad = the self-test fails on that
 * version), hal/ (sim HAL files), and what the engine and server write: state/,
 * slot_a, slot_b, bootenv, fees/, keyring.json, server.log, floor, budget.
 * budget holds N: crash at the Nth crash point from now (0 = none); the
 * driver sets POSFLEET_UPDATE_CRASH_AT from it and stores what is left. "run"
 * needs the crash points compiled in (-DPOSFLEET_FAULT=ON) and refuses
 * otherwise: without them no cut would ever happen. With DRV_FAST set, "run"
 * moves the engine's clock over its idle waits instead of sleeping (the crash
 * states of tests/crash/ boot it thousands of times).
 *
 * Over 800 lines because the Check suite, the power-cut driver and the
 * broker peer share one loopback server and its invariant checks (drv_*):
 * the driver must judge each cut with the very checks the suite trusts.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "bundle_fixture.h"
#include "pfa/boot.h"
#include "pfa/feestore.h"
#include "pfa/hal.h"
#include "pfa/update.h"
#include "pfa/update_fault.h"
#include "pfa/update_slot.h"
#include "pfa/update_state.h"
#include "pf/bundle_time.h"
#include "pf/fileio.h"
#include "pf/msg_update.h"
#include "testutil.h"

#define DRV_MAX_OFFERS 8
#define DRV_MAX_MSGS   256
#define DRV_MAX_SEEN   512

/* ---- loopback server ----------------------------------------------------------- */

struct drv_msg {
    char leaf[16];
    uint8_t *data;
    size_t len;
};

struct drv_offer {
    char bundle[512];
    char expect[16];
    bool bad;
    struct pf_offer offer;
    int final;                         /* recorded final status, -1 none */
    char code[PF_UPDATE_CODE_MAX + 1]; /* its code */
    bool exhausted;                    /* its trial boots all ran out (DIR/exhausted) */
};

struct drv {
    char dir[400];
    struct drv_offer offers[DRV_MAX_OFFERS];
    int noffers;
    struct drv_msg to_agent[DRV_MAX_MSGS]; /* cmd/ messages waiting for delivery */
    int nto;
    char seen[DRV_MAX_SEEN][PF_UPDATE_ID_MAX + 1];
    int nseen;
    int nevents; /* events received (with retransmissions) */
    int64_t fake_wall_offset;
    bool drop_chunks; /* stall: never answer */
    int tamper_at;    /* flip a byte in the chunk carrying this payload offset; -1 none */
    bool rebooted;
    struct pfa_update *u;
    struct pfa_hal *hal;
    struct pfa_log log;
    int log_events; /* server.log fd, or -1 */
    bool fast;      /* DRV_FAST: idle waits move the clock instead of sleeping */
};

static void drv_push(struct drv *d, const char *leaf, const void *data, size_t len)
{
    struct drv_msg *m;

    if (d->nto == DRV_MAX_MSGS)
        return; /* a lossy link: the engine asks again */
    m = &d->to_agent[d->nto++];
    snprintf(m->leaf, sizeof(m->leaf), "%s", leaf);
    m->data = malloc(len ? len : 1);
    memcpy(m->data, data, len);
    m->len = len;
}

static struct drv_offer *drv_offer_of(struct drv *d, const uint8_t bundle[PF_B2_LEN])
{
    for (int i = 0; i < d->noffers; i++) {
        if (memcmp(d->offers[i].offer.bundle, bundle, PF_B2_LEN) == 0)
            return &d->offers[i];
    }
    return NULL;
}

static void drv_chunkreq(struct drv *d, const void *buf, size_t len)
{
    struct pf_chunkreq r;
    struct pf_chunk_hdr h;
    struct drv_offer *o;
    uint8_t *frame;
    int fd;

    if (pf_chunkreq_decode(buf, len, &r, NULL) != 0) {
        fprintf(stderr, "driver: bad chunkreq\n");
        return;
    }
    if (d->drop_chunks)
        return;
    o = drv_offer_of(d, r.bundle);
    if (!o || r.offset + r.length > o->offer.size) {
        struct pf_chunkerr ce;
        char out[512];
        size_t n;

        memset(&ce, 0, sizeof(ce));
        memcpy(ce.bundle, r.bundle, PF_B2_LEN);
        ce.offset = r.offset;
        ce.req = r.req;
        ce.error = o ? PF_CHUNKERR_OUT_OF_RANGE : PF_CHUNKERR_UNKNOWN_BUNDLE;
        if (pf_chunkerr_encode(&ce, out, sizeof(out), &n) == 0)
            drv_push(d, PF_CMD_CHUNKERR, out, n);
        return;
    }
    frame = malloc(PF_CHUNK_HDR_LEN + r.length);
    memcpy(h.bundle, r.bundle, PF_B2_LEN);
    h.offset = r.offset;
    h.length = r.length;
    h.req = r.req;
    pf_chunk_hdr_encode(&h, frame);
    fd = open(o->bundle, O_RDONLY);
    if (fd < 0 ||
        pread(fd, frame + PF_CHUNK_HDR_LEN, r.length, (off_t)r.offset) != (ssize_t)r.length) {
        fprintf(stderr, "driver: cannot read %s\n", o->bundle);
        exit(1);
    }
    close(fd);
    if (d->tamper_at >= 0) {
        const struct pf_offer_entry *e = &o->offer.entries[o->offer.nentries - 1];
        uint64_t at = e->offset + (uint64_t)d->tamper_at;
        if (at >= r.offset && at < r.offset + r.length)
            frame[PF_CHUNK_HDR_LEN + (at - r.offset)] ^= 0x40;
    }
    drv_push(d, PF_CMD_CHUNK, frame, PF_CHUNK_HDR_LEN + r.length);
    free(frame);
}

static bool drv_seen(struct drv *d, const char *id)
{
    for (int i = 0; i < d->nseen; i++) {
        if (strcmp(d->seen[i], id) == 0)
            return true;
    }
    return false;
}

static void drv_record(struct drv *d, const struct pf_update_event *e)
{
    for (int i = 0; i < d->noffers; i++) {
        if (strcmp(d->offers[i].offer.id, e->offer) == 0 && pf_update_status_final(e->status)) {
            d->offers[i].final = (int)e->status;
            snprintf(d->offers[i].code, sizeof(d->offers[i].code), "%s", e->code);
        }
    }
}

static void drv_event(struct drv *d, const void *buf, size_t len)
{
    struct pf_update_event e;
    struct pf_ack ack;
    char out[256], line[256];
    size_t n;
    int l;

    if (pf_update_event_decode(buf, len, &e, NULL) != 0) {
        fprintf(stderr, "driver: bad event %.*s\n", (int)len, (const char *)buf);
        exit(1);
    }
    d->nevents++;
    if (!drv_seen(d, e.id)) {
        /* Record once (idempotent by id), then acknowledge. */
        if (d->nseen < DRV_MAX_SEEN)
            snprintf(d->seen[d->nseen++], PF_UPDATE_ID_MAX + 1, "%s", e.id);
        drv_record(d, &e);
        if (d->log_events >= 0) {
            l = snprintf(line, sizeof(line), "%s %s %s %s\n", e.id, e.offer,
                         pf_update_status_names[e.status],
                         e.code[0] ? e.code : (e.reason[0] ? e.reason : "-"));
            if (write(d->log_events, line, (size_t)l) != l)
                exit(1);
        }
    }
    snprintf(ack.id, sizeof(ack.id), "%s", e.id);
    if (pf_ack_encode(&ack, out, sizeof(out), &n) == 0)
        drv_push(d, PF_CMD_ACK, out, n);
}

static int drv_publish(void *ctx, const char *leaf, const void *buf, size_t len, int qos)
{
    struct drv *d = ctx;

    (void)qos;
    if (strcmp(leaf, PF_DEV_CHUNKREQ) == 0)
        drv_chunkreq(d, buf, len);
    else if (strcmp(leaf, PF_DEV_EVENT) == 0)
        drv_event(d, buf, len);
    else
        return PF_EINVAL;
    return 0;
}

static void drv_reboot(void *ctx)
{
    ((struct drv *)ctx)->rebooted = true;
}

static void drv_selftest(void *ctx, const char *fw, enum pf_check res[PF_COMP_COUNT])
{
    struct drv *d = ctx;

    for (int c = 0; c < PF_COMP_COUNT; c++)
        res[c] = PF_CHECK_PASS;
    for (int i = 0; i < d->noffers; i++) {
        if (d->offers[i].bad && strcmp(d->offers[i].offer.version, fw) == 0)
            res[PF_COMP_SCREEN] = PF_CHECK_FAIL;
    }
}

static int64_t drv_wall(void *ctx)
{
    return pf_clock_wall_ms(&pf_clock_system) + ((struct drv *)ctx)->fake_wall_offset;
}

static int64_t drv_mono(void *ctx)
{
    return pf_clock_mono_ms(&pf_clock_system) + ((struct drv *)ctx)->fake_wall_offset;
}

static void drv_path(const struct drv *d, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", d->dir, name);
}

/* Creates the engine on DIR's files ("boot"). */
static int drv_boot(struct drv *d, struct pf_clock *clock, const struct pfa_update_config *over,
                    struct pf_error *err)
{
    static char sa[512], sb[512], env[512], root[512], kr[512], fees[512], state[512];
    struct pfa_update_config c;
    struct pfa_update_io io = {drv_publish, drv_reboot, drv_selftest, NULL, d};

    drv_path(d, "slot_a", sa, sizeof(sa));
    drv_path(d, "slot_b", sb, sizeof(sb));
    drv_path(d, "bootenv", env, sizeof(env));
    drv_path(d, "root.pub", root, sizeof(root));
    drv_path(d, "keyring.json", kr, sizeof(kr));
    drv_path(d, "fees", fees, sizeof(fees));
    drv_path(d, "state", state, sizeof(state));
    if (over) {
        c = *over;
    } else {
        pfa_update_config_init(&c);
        c.chunk_size = 16 * 1024;
        c.persist_bytes = 16 * 1024;
        c.retry_s = 1;
        c.resend_s = 1;
    }
    c.state_dir = state;
    c.slot_a = sa;
    c.slot_b = sb;
    c.boot_backend = "file";
    c.boot_env = env;
    c.trust_root = root;
    c.keyring = kr;
    c.feetable_dir = fees;
    c.model = "PX-200";
    c.hw_rev = "B";
    c.fw_version = "1.0.0";
    c.fw_slot = PF_SLOT_A;
    clock->wall_ms = drv_wall;
    clock->mono_ms = drv_mono;
    clock->ctx = d;
    d->log.level = getenv("DRV_DEBUG") ? PFA_LOG_DEBUG : PFA_LOG_WARN;
    d->rebooted = false;
    return pfa_update_new(&c, d->hal, clock, &io, &d->log, &d->u, err);
}

/* Delivers what is queued now (answers to these come in the next round). */
static void drv_deliver(struct drv *d)
{
    int n = d->nto;

    while (n-- > 0 && d->nto > 0 && !d->rebooted) {
        struct drv_msg m = d->to_agent[0];

        memmove(&d->to_agent[0], &d->to_agent[1], (size_t)(d->nto - 1) * sizeof(m));
        d->nto--;
        if (strcmp(m.leaf, PF_CMD_ACK) == 0) {
            struct pf_ack ack;
            if (pf_ack_decode((const char *)m.data, m.len, &ack, NULL) == 0)
                pfa_update_on_ack(d->u, ack.id);
        } else {
            pfa_update_on_message(d->u, m.leaf, m.data, m.len);
        }
        free(m.data);
    }
}

static void drv_drop_queue(struct drv *d)
{
    for (int i = 0; i < d->nto; i++)
        free(d->to_agent[i].data);
    d->nto = 0;
}

/* Offers the current offer (first without a final status) when the engine is idle. */
static struct drv_offer *drv_current(struct drv *d)
{
    for (int i = 0; i < d->noffers; i++) {
        if (d->offers[i].final < 0)
            return &d->offers[i];
    }
    return NULL;
}

static void drv_offer_now(struct drv *d)
{
    struct drv_offer *o = drv_current(d);
    char buf[PF_UPDATE_MSG_MAX];
    size_t len;

    if (o && pf_offer_encode(&o->offer, buf, sizeof(buf), &len) == 0)
        drv_push(d, PF_CMD_OFFER, buf, len);
}

/*
 * Runs until the engine reboots (3), everything is done and acknowledged (0),
 * or timeout_ms passes (PF_ETIMEOUT).
 */
static int drv_loop(struct drv *d, int64_t timeout_ms)
{
    int64_t end = pf_clock_mono_ms(&pf_clock_system) + timeout_ms, last_offer = 0;
    const struct drv_offer *last_offered = NULL;
    struct pfa_update_stats st;

    pfa_update_on_connect(d->u);
    for (;;) {
        int64_t now = d->fast ? drv_mono(d) : pf_clock_mono_ms(&pf_clock_system), next;

        if (d->rebooted)
            return 3;
        pfa_update_stats(d->u, &st);
        if (!st.busy && drv_current(d) &&
            (drv_current(d) != last_offered || now - last_offer >= 500)) {
            drv_offer_now(d);
            last_offer = now;
            last_offered = drv_current(d);
        }
        drv_deliver(d);
        if (d->rebooted)
            return 3;
        pfa_update_tick(d->u);
        pfa_update_stats(d->u, &st);
        if (!drv_current(d) && st.outbox == 0 && d->nto == 0 && !st.busy) {
            const char *fw, *fee;
            enum pf_slot slot;
            pfa_update_identity(d->u, &fw, &slot, &fee);
            (void)fw;
            (void)slot;
            (void)fee;
            return 0;
        }
        if (now >= end)
            return PF_ETIMEOUT;
        if (d->nto == 0) {
            next = pfa_update_next_deadline_ms(d->u) - drv_mono(d);
            if (next > 20)
                next = 20;
            if (next > 0 && d->fast)
                d->fake_wall_offset += next; /* the engine's clock: nothing runs meanwhile */
            else if (next > 0)
                poll(NULL, 0, (int)next);
        }
    }
}

/* ---- driver mode: invariants after every cut ----------------------------------------- */

static int drv_fail(const char *what, const char *detail)
{
    fprintf(stderr, "INVARIANT VIOLATED: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 4;
}

/* Reads the boot environment as the bootloader would, without booting. */
static int drv_read_env(const char *path, char *slot, char *good, int *trial, int *tries)
{
    char *buf = NULL;
    size_t len;
    int rc = pf_file_read(path, 256, &buf, &len);

    if (rc == PF_ENOENT) {
        *slot = *good = 'a';
        *trial = *tries = 0;
        return 0;
    }
    if (rc)
        return rc;
    rc = sscanf(buf, "slot=%c\ngood=%c\ntrial=%d\ntries=%d\n", slot, good, trial, tries) == 4
                 ? 0
                 : PF_EPARSE;
    free(buf);
    return rc;
}

static int drv_check(struct drv *d)
{
    char path[512], envp[512], *buf = NULL, slot, good, floor_old[64] = "";
    struct pfa_update_state st;
    struct pf_error err = {0};
    size_t len;
    int trial, tries, rc;

    drv_path(d, "bootenv", envp, sizeof(envp));
    if (drv_read_env(envp, &slot, &good, &trial, &tries) != 0)
        return drv_fail("boot environment unreadable", NULL);
    drv_path(d, "state/update/state.json", path, sizeof(path));
    rc = pf_file_read(path, PFA_STATE_MAX, &buf, &len);
    pfa_update_state_init(&st);
    if (rc == 0) {
        rc = pfa_update_state_decode(buf, len, &st, &err);
        free(buf);
        if (rc)
            return drv_fail("state unreadable", err.msg);
    } else if (rc != PF_ENOENT) {
        return drv_fail("state unreadable", pf_strerror(rc));
    }
    /* Every slot the bootloader may boot next verifies against what was installed. */
    for (int k = 0; k < 2; k++) {
        char s = k == 0 ? good : slot;
        const struct pfa_update_slotrec *r = &st.slots[s == 'a' ? 0 : 1];
        if (k == 1 && !(trial && tries > 0))
            break;
        if (!r->known) {
            if (k == 1 || rc != PF_ENOENT) {
                if (k == 1)
                    return drv_fail("trial slot has no record", NULL);
            }
            continue;
        }
        if (r->size == 0)
            continue; /* factory image */
        drv_path(d, s == 'a' ? "slot_a" : "slot_b", path, sizeof(path));
        if (pfa_slot_verify(path, r->size, r->digest, &err) != 0)
            return drv_fail("bootable slot does not verify", err.msg);
    }
    /* The active fee table is whole, valid and one that was shipped. */
    drv_path(d, "fees/active.json", path, sizeof(path));
    if (pf_file_read(path, PF_FEETABLE_MAX_BYTES, &buf, &len) == 0) {
        struct pf_feetable *ft = malloc(sizeof(*ft));
        uint8_t dig[PF_B2_LEN];
        bool shipped = false;

        pf_b2_buf(buf, len, dig);
        rc = pf_feetable_parse(buf, len, ft, &err);
        free(buf);
        free(ft);
        if (rc)
            return drv_fail("active fee table invalid", err.msg);
        for (int i = 0; i < d->noffers; i++) {
            struct pf_bundle_meta meta;
            struct pf_manifest *m = malloc(sizeof(*m));
            if (d->offers[i].offer.kind == PF_KIND_FEETABLE &&
                pf_bundle_meta_load(d->offers[i].bundle, &meta, NULL) == 0) {
                if (pf_manifest_parse(meta.manifest, meta.manifest_len, m, NULL) == 0 &&
                    memcmp(m->payloads[0].digest, dig, PF_B2_LEN) == 0)
                    shipped = true;
                pf_bundle_meta_release(&meta);
            }
            free(m);
        }
        if (!shipped)
            return drv_fail("active fee table is not one that was shipped", NULL);
    }
    /* Trusted versions never move backwards. */
    drv_path(d, "floor", path, sizeof(path));
    if (pf_file_read(path, 64, &buf, &len) == 0) {
        snprintf(floor_old, sizeof(floor_old), "%s", buf);
        free(buf);
    }
    if (st.fw_floor[0]) {
        if (floor_old[0] && pf_version_cmp(st.fw_floor, floor_old) < 0)
            return drv_fail("firmware floor moved backwards", st.fw_floor);
        if (pf_file_write_atomic(path, st.fw_floor, strlen(st.fw_floor) + 1, 0600) != 0)
            return 1;
    }
    pfa_update_state_release(&st);
    return 0;
}

static int drv_load_offers(struct drv *d)
{
    char path[512], line[700];
    FILE *f;
    int64_t now = pf_clock_wall_ms(&pf_clock_system);

    drv_path(d, "offers", path, sizeof(path));
    f = fopen(path, "r");
    if (!f)
        return PF_ENOENT;
    while (d->noffers < DRV_MAX_OFFERS && fgets(line, sizeof(line), f)) {
        struct drv_offer *o = &d->offers[d->noffers];
        char flag[16] = "";
        struct pf_error err = {0};

        memset(o, 0, sizeof(*o));
        if (sscanf(line, "%511s %15s %15s", o->bundle, o->expect, flag) < 2)
            continue;
        o->bad = strcmp(flag, "bad") == 0;
        o->final = -1;
        if (pf_offer_from_bundle(o->bundle, &o->offer, &err) != 0) {
            fprintf(stderr, "driver: %s\n", err.msg);
            fclose(f);
            return PF_EINVAL;
        }
        snprintf(o->offer.id, sizeof(o->offer.id), "offer-%d", d->noffers + 1);
        o->offer.deadline_ms = now + 3600000;
        o->offer.max_chunk = 65536;
        d->noffers++;
    }
    fclose(f);
    return 0;
}

/* Replays server.log so the server knows what it recorded before the cut. */
static void drv_load_log(struct drv *d)
{
    char path[512], line[300];
    FILE *f;

    drv_path(d, "server.log", path, sizeof(path));
    f = fopen(path, "r");
    if (f) {
        while (fgets(line, sizeof(line), f)) {
            char id[PF_UPDATE_ID_MAX + 1], offer[80], status[32], code[PF_UPDATE_CODE_MAX + 1];
            if (sscanf(line, "%64s %79s %31s %48s", id, offer, status, code) != 4 ||
                d->nseen >= DRV_MAX_SEEN)
                continue; /* a torn last line: that event was not acked, it comes again */
            snprintf(d->seen[d->nseen++], PF_UPDATE_ID_MAX + 1, "%s", id);
            for (int i = 0; i < d->noffers; i++) {
                for (int s = 0; s < PF_UPD_STATUS_COUNT; s++) {
                    if (!strcmp(d->offers[i].offer.id, offer) &&
                        !strcmp(pf_update_status_names[s], status) &&
                        pf_update_status_final((enum pf_update_status)s)) {
                        d->offers[i].final = s;
                        snprintf(d->offers[i].code, sizeof(d->offers[i].code), "%s", code);
                    }
                }
            }
        }
        fclose(f);
    }
    d->log_events = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

static long drv_budget(struct drv *d, long set)
{
    char path[512], *buf = NULL, num[32];
    size_t len;
    long v = 0;
    int n;

    drv_path(d, "budget", path, sizeof(path));
    if (set < 0) {
        if (pf_file_read(path, 32, &buf, &len) == 0) {
            v = strtol(buf, NULL, 10);
            free(buf);
        }
        return v;
    }
    n = snprintf(num, sizeof(num), "%ld\n", set);
    if (pf_file_write_atomic(path, num, (size_t)n, 0600) != 0)
        exit(1);
    return set;
}

/* A trial slot whose tries are spent is given up by the bootloader at this boot:
 * when the cuts themselves used up every trial boot of an update, rolling it back
 * is the right end for it. Notes the offer in DIR/exhausted, then reads the list. */
static void drv_note_exhausted(struct drv *d)
{
    char envp[512], path[512], slot, good, *buf = NULL, line[PF_UPDATE_ID_MAX + 2];
    struct pfa_update_state st;
    int trial, tries;
    size_t len;
    FILE *f;

    drv_path(d, "bootenv", envp, sizeof(envp));
    drv_path(d, "exhausted", path, sizeof(path));
    if (drv_read_env(envp, &slot, &good, &trial, &tries) == 0 && trial && tries == 0) {
        char sp[512];
        drv_path(d, "state/update/state.json", sp, sizeof(sp));
        pfa_update_state_init(&st);
        if (pf_file_read(sp, PFA_STATE_MAX, &buf, &len) == 0 &&
            pfa_update_state_decode(buf, len, &st, NULL) == 0 && st.phase != PFA_UPD_IDLE &&
            (f = fopen(path, "a")) != NULL) {
            fprintf(f, "%s\n", st.offer.id);
            fclose(f);
        }
        free(buf);
        pfa_update_state_release(&st);
    }
    if ((f = fopen(path, "r")) == NULL)
        return;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        for (int i = 0; i < d->noffers; i++) {
            if (strcmp(d->offers[i].offer.id, line) == 0)
                d->offers[i].exhausted = true;
        }
    }
    fclose(f);
}

static int drv_main_run(const char *dir)
{
    struct drv *d = calloc(1, sizeof(*d));
    struct pf_clock clock;
    struct pf_error err = {0};
    char path[512], num[32];
    long budget;
    int rc;

    if (!pfa_fault_compiled()) {
        fprintf(stderr, "driver: built without POSFLEET_FAULT: there is no crash point to cut\n");
        free(d);
        return 1;
    }
    snprintf(d->dir, sizeof(d->dir), "%s", dir);
    d->tamper_at = -1;
    d->log_events = -1;
    d->fast = getenv("DRV_FAST") != NULL;
    if ((rc = drv_load_offers(d)) != 0)
        return 1;
    /* First thing after a cut: the invariants must hold. */
    rc = drv_check(d);
    if (rc)
        return rc;
    drv_load_log(d);
    drv_note_exhausted(d);
    budget = drv_budget(d, -1);
    if (budget > 0) {
        snprintf(num, sizeof(num), "%ld", budget);
        setenv("POSFLEET_UPDATE_CRASH_AT", num, 1);
        drv_budget(d, 0); /* consumed if we die */
    } else {
        unsetenv("POSFLEET_UPDATE_CRASH_AT");
    }
    drv_path(d, "hal", path, sizeof(path));
    if (pfa_hal_sim_new(path, &d->hal) != 0)
        return 1;
    if (drv_boot(d, &clock, NULL, &err) != 0) {
        fprintf(stderr, "driver: %s\n", err.msg);
        return 1;
    }
    rc = d->rebooted ? 3 : drv_loop(d, 60000);
    if (budget > 0) {
        struct pfa_update_stats st;
        pfa_update_stats(d->u, &st);
        drv_budget(d, budget > (long)st.crash_points ? budget - (long)st.crash_points : 0);
    }
    if (rc == 0) {
        for (int i = 0; i < d->noffers; i++) {
            const char *got = pf_update_status_names[d->offers[i].final];
            if (d->offers[i].exhausted && !strcmp(got, "rolled_back") &&
                !strcmp(d->offers[i].code, "BOOT_LIMIT")) {
                fprintf(stderr, "offer %d (%s): rolled back, the cuts spent its trial boots\n",
                        i + 1, d->offers[i].offer.version);
            } else if (strcmp(got, d->offers[i].expect) != 0) {
                fprintf(stderr, "offer %d (%s): ended %s, expected %s\n", i + 1,
                        d->offers[i].offer.version, got, d->offers[i].expect);
                rc = 4;
            }
        }
        if (rc == 0)
            rc = drv_check(d);
    }
    if (rc == PF_ETIMEOUT) {
        fprintf(stderr, "driver: no progress in 60 s\n");
        rc = 1;
    }
    pfa_update_free(d->u);
    pfa_hal_free(d->hal);
    drv_drop_queue(d);
    if (d->log_events >= 0)
        close(d->log_events);
    free(d);
    return rc;
}

static int drv_main_install(const char *bundle, const char *slot, const char *root)
{
    struct pf_trust trust;
    struct pf_policy pol;
    struct pf_manifest *m = malloc(sizeof(*m));
    struct pf_error err = {0};
    int rc;

    memset(&trust, 0, sizeof(trust));
    memset(&pol, 0, sizeof(pol));
    pol.kind = PF_KIND_FIRMWARE;
    pol.now = time(NULL);
    rc = pf_ms_pubkey_load(root, &trust.root, &err);
    if (rc == 0)
        rc = pfa_slot_install_bundle(bundle, slot, &trust, &pol, m, &err);
    if (rc)
        fprintf(stderr, "install: [%s] %s\n", pf_errname(rc), err.msg);
    free(m);
    return rc ? 1 : 0;
}

static int atoi_checked_port(const char *s)
{
    long v = strtol(s, NULL, 10);

    return v > 0 && v < 65536 ? (int)v : 1883;
}

/* ---- driver mode: MQTT peer ------------------------------------------------------------
 *
 * unit_update_engine peer DIR HOST PORT CA CERT KEY SERIAL: the server side of
 * the update protocol for one terminal, over the real broker with posfleetd's
 * certificate: offers DIR/offers in order (re-offered at each birth and every
 * 3 s until a final outcome), answers chunk requests from the bundle file
 * (binary frames, QoS 0), records events once by id in DIR/events.log and acks
 * each. Flags per offer line: "tamper" flips a payload byte in transit,
 * "pause" stops answering at half the payload while DIR/pause exists (and
 * writes DIR/paused). DIR/stats: per offer, chunk frame bytes sent, bundle
 * size, and ms from the first to the last chunk sent.
 */
struct peer {
    struct drv d;
    struct mosquitto *m;
    char serial[PF_SERIAL_MAX + 1];
    bool tamper[DRV_MAX_OFFERS], pause[DRV_MAX_OFFERS];
    uint64_t sent[DRV_MAX_OFFERS];
    int64_t first_ms[DRV_MAX_OFFERS], last_ms[DRV_MAX_OFFERS]; /* chunk send times */
    int64_t last_offer;
};

static void peer_publish(struct peer *p, const char *leaf, const void *buf, size_t len, int qos)
{
    char topic[PF_TOPIC_MAX];

    if (pf_topic_build(topic, sizeof(topic), PF_DIR_CMD, p->serial, leaf) == 0)
        (void)mosquitto_publish_v5(p->m, NULL, topic, (int)len, buf, qos, false, NULL);
}

static void peer_offer(struct peer *p)
{
    struct drv_offer *o = drv_current(&p->d);
    char buf[PF_UPDATE_MSG_MAX];
    size_t len;

    p->last_offer = pf_clock_mono_ms(&pf_clock_system);
    if (o && pf_offer_encode(&o->offer, buf, sizeof(buf), &len) == 0)
        peer_publish(p, PF_CMD_OFFER, buf, len, 1);
}

static void peer_stats(struct peer *p)
{
    char path[512], buf[1024];
    size_t n = 0;

    for (int i = 0; i < p->d.noffers; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s %llu %llu %lld\n",
                              p->d.offers[i].offer.id, (unsigned long long)p->sent[i],
                              (unsigned long long)p->d.offers[i].offer.size,
                              (long long)(p->last_ms[i] - p->first_ms[i]));
    drv_path(&p->d, "stats", path, sizeof(path));
    if (pf_file_write_atomic(path, buf, n, 0600) != 0)
        fprintf(stderr, "peer: cannot write %s\n", path);
}

static void peer_on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg,
                            const mosquitto_property *props)
{
    struct peer *p = ud;
    enum pf_dir dir;
    char serial[PF_SERIAL_MAX + 1], path[512];
    const char *leaf;

    (void)m;
    (void)props;
    if (pf_topic_parse(msg->topic, &dir, serial, &leaf) != 0 || strcmp(serial, p->serial) != 0)
        return;
    if (strcmp(leaf, PF_DEV_BIRTH) == 0) {
        peer_offer(p);
    } else if (strcmp(leaf, PF_DEV_CHUNKREQ) == 0) {
        struct pf_chunkreq r;
        struct drv_offer *o;
        int i;

        if (pf_chunkreq_decode(msg->payload, (size_t)msg->payloadlen, &r, NULL) != 0)
            return;
        o = drv_offer_of(&p->d, r.bundle);
        i = o ? (int)(o - p->d.offers) : 0;
        drv_path(&p->d, "pause", path, sizeof(path));
        if (o && p->pause[i] && access(path, F_OK) == 0 &&
            r.offset >= o->offer.entries[o->offer.nentries - 1].offset +
                                o->offer.entries[o->offer.nentries - 1].size / 2) {
            drv_path(&p->d, "paused", path, sizeof(path));
            if (pf_file_write_atomic(path, "1", 1, 0600) != 0)
                fprintf(stderr, "peer: cannot write %s\n", path);
            return;
        }
        p->d.tamper_at = o && p->tamper[i] ? 1000 : -1;
        p->d.nto = 0;
        drv_chunkreq(&p->d, msg->payload, (size_t)msg->payloadlen);
        for (int k = 0; k < p->d.nto; k++) {
            struct drv_msg *dm = &p->d.to_agent[k];
            peer_publish(p, dm->leaf, dm->data, dm->len, 0);
            if (o && strcmp(dm->leaf, PF_CMD_CHUNK) == 0) {
                p->sent[i] += dm->len;
                p->last_ms[i] = pf_clock_mono_ms(&pf_clock_system);
                if (!p->first_ms[i])
                    p->first_ms[i] = p->last_ms[i];
            }
        }
        drv_drop_queue(&p->d);
    } else if (strcmp(leaf, PF_DEV_EVENT) == 0) {
        p->d.nto = 0;
        drv_event(&p->d, msg->payload, (size_t)msg->payloadlen);
        for (int k = 0; k < p->d.nto; k++)
            peer_publish(p, p->d.to_agent[k].leaf, p->d.to_agent[k].data, p->d.to_agent[k].len, 1);
        drv_drop_queue(&p->d);
        peer_stats(p);
        if (!drv_current(&p->d)) {
            drv_path(&p->d, "done", path, sizeof(path));
            if (pf_file_write_atomic(path, "1", 1, 0600) != 0)
                fprintf(stderr, "peer: cannot write %s\n", path);
        }
    }
}

static void peer_on_connect(struct mosquitto *m, void *ud, int rc, int flags,
                            const mosquitto_property *props)
{
    struct peer *p = ud;
    char topic[PF_TOPIC_MAX];

    (void)flags;
    (void)props;
    if (rc == 0 && pf_topic_build(topic, sizeof(topic), PF_DIR_DEV, p->serial, "#") == 0) {
        mosquitto_subscribe_v5(m, NULL, topic, 1, 0, NULL);
        fprintf(stderr, "peer: connected\n");
    }
}

static volatile sig_atomic_t peer__stop;

static void peer__on_term(int sig)
{
    (void)sig;
    peer__stop = 1;
}

static int drv_main_peer(char **argv)
{
    struct peer *p = calloc(1, sizeof(*p));
    char path[512], line[700];
    FILE *f;
    int rc;

    snprintf(p->d.dir, sizeof(p->d.dir), "%s", argv[2]);
    snprintf(p->serial, sizeof(p->serial), "%s", argv[8]);
    p->d.tamper_at = -1;
    if (drv_load_offers(&p->d) != 0)
        return 1;
    drv_path(&p->d, "offers", path, sizeof(path));
    f = fopen(path, "r");
    for (int i = 0; f && i < p->d.noffers && fgets(line, sizeof(line), f); i++) {
        p->tamper[i] = strstr(line, " tamper") != NULL;
        p->pause[i] = strstr(line, " pause") != NULL;
    }
    if (f)
        fclose(f);
    drv_path(&p->d, "events.log", path, sizeof(path));
    p->d.log_events = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    signal(SIGTERM, peer__on_term);
    mosquitto_lib_init();
    p->m = mosquitto_new("posfleetd", true, p);
    mosquitto_int_option(p->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(p->m, MOSQ_OPT_TCP_NODELAY, 1); /* chunk tails go out at once */
    mosquitto_message_v5_callback_set(p->m, peer_on_message);
    mosquitto_connect_v5_callback_set(p->m, peer_on_connect);
    if (mosquitto_tls_set(p->m, argv[5], NULL, argv[6], argv[7], NULL) != MOSQ_ERR_SUCCESS)
        return 1;
    rc = mosquitto_connect(p->m, argv[3], atoi_checked_port(argv[4]), 10);
    while (!peer__stop) {
        if (rc != MOSQ_ERR_SUCCESS) {
            poll(NULL, 0, 200); /* broker down (restart): try again */
            rc = mosquitto_reconnect(p->m);
            continue;
        }
        rc = mosquitto_loop(p->m, 100, 1);
        if (rc == MOSQ_ERR_SUCCESS && drv_current(&p->d) &&
            pf_clock_mono_ms(&pf_clock_system) - p->last_offer > 3000)
            peer_offer(p);
    }
    mosquitto_destroy(p->m);
    mosquitto_lib_cleanup();
    close(p->d.log_events);
    free(p);
    return 0;
}

/* Prints the offer posfleetd would send for a bundle (id "bench", 1 h deadline). */
static int drv_main_offer(const char *bundle)
{
    struct pf_offer *o = calloc(1, sizeof(*o));
    struct pf_error err = {0};
    char buf[PF_UPDATE_MSG_MAX];
    size_t len;
    int rc = pf_offer_from_bundle(bundle, o, &err);

    if (rc == 0) {
        snprintf(o->id, sizeof(o->id), "bench");
        o->deadline_ms = pf_clock_wall_ms(&pf_clock_system) + 3600000;
        o->max_chunk = 65536;
        rc = pf_offer_encode(o, buf, sizeof(buf), &len);
    }
    if (rc == 0)
        printf("%.*s\n", (int)len, buf);
    else
        fprintf(stderr, "offer: %s\n", err.msg);
    free(o);
    return rc ? 1 : 0;
}

/* ---- Check suite ---------------------------------------------------------------------------- */

/* A test terminal: fixture keys, a temp DIR, bundles built with the fixture. */
struct t_env {
    struct fx fx;
    char dir[256];
    struct drv *d;
    struct pf_clock clock;
};

static void t_write(const char *path, const void *data, size_t len)
{
    ck_assert_int_eq(pf_file_write_atomic(path, data, len, 0600), 0);
}

static void t_setup(struct t_env *t)
{
    char path[512];

    fx_init(&t->fx);
    pf_test_tmpdir(t->dir, sizeof(t->dir));
    snprintf(path, sizeof(path), "%s/root.pub", t->dir);
    ck_assert_int_eq(pf_ms_pubkey_save(path, &t->fx.root_pub, NULL), 0);
    snprintf(path, sizeof(path), "%s/hal", t->dir);
    ck_assert_int_eq(pf_mkdir_p(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/slot_a", t->dir);
    t_write(path, "factory image", 13);
    t->d = calloc(1, sizeof(*t->d));
    snprintf(t->d->dir, sizeof(t->d->dir), "%s", t->dir);
    t->d->tamper_at = -1;
    t->d->log_events = -1;
    snprintf(path, sizeof(path), "%s/hal", t->dir);
    ck_assert_int_eq(pfa_hal_sim_new(path, &t->d->hal), 0);
}

static void t_teardown(struct t_env *t)
{
    pfa_update_free(t->d->u);
    pfa_hal_free(t->d->hal);
    drv_drop_queue(t->d);
    free(t->d);
    pf_test_rmtree(t->dir);
    fx_release(&t->fx);
}

/* Builds a bundle of kind with one payload and adds it as the next offer. */
static void t_bundle(struct t_env *t, int kind, const char *version, const char *model,
                     const void *data, size_t len, bool bad_selftest)
{
    struct drv *d = t->d;
    struct drv_offer *o = &d->offers[d->noffers];
    struct pf_manifest *m = malloc(sizeof(*m));
    struct fx_entry ents[5];
    char sig[PF_MS_SIG_MAX], *doc;
    size_t mlen, siglen;
    const char *name = kind == PF_KIND_FEETABLE ? PF_FEETABLE_PAYLOAD : "fw.img";
    int signer = kind == PF_KIND_FEETABLE ? FX_FEE : FX_FW;

    fx_manifest(&t->fx, m, signer, name, data, len);
    m->kind = kind;
    snprintf(m->version, sizeof(m->version), "%s", version);
    snprintf(m->models[0], sizeof(m->models[0]), "%s", model);
    m->nmodels = 1;
    doc = fx_encode_sign(m, &t->fx.sec[signer], &mlen, sig, &siglen);
    fx_meta(&t->fx, ents, doc, mlen, sig, siglen);
    ents[4] = (struct fx_entry){name, data, len, FX_REG, NULL};
    memset(o, 0, sizeof(*o));
    snprintf(o->bundle, sizeof(o->bundle), "%s/b%d.tar", t->dir, d->noffers);
    fx_tar(o->bundle, ents, 5, ARCHIVE_FILTER_NONE);
    ck_assert_int_eq(pf_offer_from_bundle(o->bundle, &o->offer, NULL), 0);
    snprintf(o->offer.id, sizeof(o->offer.id), "t-%d", d->noffers);
    o->offer.deadline_ms = pf_clock_wall_ms(&pf_clock_system) + 3600000;
    o->offer.max_chunk = 65536;
    o->bad = bad_selftest;
    o->final = -1;
    d->noffers++;
    free(doc);
    free(m);
}

static void t_boot(struct t_env *t, const struct pfa_update_config *over)
{
    struct pf_error err = {0};

    pfa_update_free(t->d->u);
    t->d->u = NULL;
    drv_drop_queue(t->d);
    ck_assert_msg(drv_boot(t->d, &t->clock, over, &err) == 0, "boot: %s", err.msg);
}

/* Boots and runs through reboots until done; returns the number of reboots. */
static int t_run_all(struct t_env *t, const struct pfa_update_config *over)
{
    int reboots = 0, rc;

    for (;;) {
        t_boot(t, over);
        rc = t->d->rebooted ? 3 : drv_loop(t->d, 20000);
        if (rc == 3) {
            ck_assert_int_lt(++reboots, 10);
            continue;
        }
        ck_assert_int_eq(rc, 0);
        return reboots;
    }
}

static uint8_t *t_image(size_t len, unsigned seed)
{
    uint8_t *p = malloc(len);

    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)((i * 131u + seed) ^ (i >> 7));
    return p;
}

static void t_slot_is(struct t_env *t, const char *slot, const void *data, size_t len)
{
    char path[512], *buf = NULL;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", t->dir, slot);
    ck_assert_int_eq(pf_file_read(path, len + 16, &buf, &n), 0);
    ck_assert_uint_eq(n, len);
    ck_assert_int_eq(memcmp(buf, data, len), 0);
    free(buf);
}

static void t_slot_is_path(const char *path, const void *data, size_t len)
{
    char *buf = NULL;
    size_t n;

    ck_assert_int_eq(pf_file_read(path, len + 16, &buf, &n), 0);
    ck_assert_uint_eq(n, len);
    ck_assert_int_eq(memcmp(buf, data, len), 0);
    free(buf);
}

START_TEST(firmware_update_commits_after_selftest)
{
    struct t_env t;
    uint8_t *img = t_image(200000, 1);
    const char *fw, *fee;
    enum pf_slot slot;

    t_setup(&t);
    t_bundle(&t, PF_KIND_FIRMWARE, "1.1.0", "PX-200", img, 200000, false);
    ck_assert_int_eq(t_run_all(&t, NULL), 1);
    ck_assert_int_eq(t.d->offers[0].final, PF_UPD_SUCCESS);
    t_slot_is(&t, "slot_b", img, 200000);
    t_slot_is(&t, "slot_a", "factory image", 13); /* the running slot is never written */
    pfa_update_identity(t.d->u, &fw, &slot, &fee);
    ck_assert_str_eq(fw, "1.1.0");
    ck_assert_int_eq(slot, PF_SLOT_B);
    ck_assert_int_eq(pfa_update_boot_outcome(t.d->u), PF_BOOT_UPDATED);
    ck_assert_int_eq(drv_check(t.d), 0);
    /* accepted, downloading 0/25/50/75, verifying, installing, rebooting, success */
    ck_assert_int_ge(t.d->nseen, 8);
    free(img);
    t_teardown(&t);
}
END_TEST

START_TEST(selftest_failure_rolls_back)
{
    struct t_env t;
    uint8_t *img = t_image(50000, 2);
    const char *fw, *fee;
    enum pf_slot slot;
    char env[512], *buf = NULL;
    size_t n;

    t_setup(&t);
    t_bundle(&t, PF_KIND_FIRMWARE, "1.2.0", "PX-200", img, 50000, true);
    ck_assert_int_eq(t_run_all(&t, NULL), 2); /* into the new slot, then back */
    ck_assert_int_eq(t.d->offers[0].final, PF_UPD_ROLLED_BACK);
    pfa_update_identity(t.d->u, &fw, &slot, &fee);
    ck_assert_str_eq(fw, "1.0.0");
    ck_assert_int_eq(slot, PF_SLOT_A);
    ck_assert_int_eq(pfa_update_boot_outcome(t.d->u), PF_BOOT_ROLLED_BACK);
    snprintf(env, sizeof(env), "%s/bootenv", t.dir);
    ck_assert_int_eq(pf_file_read(env, 256, &buf, &n), 0);
    ck_assert_str_eq(buf, "slot=a\ngood=a\ntrial=0\ntries=0\n");
    free(buf);
    free(img);
    t_teardown(&t);
}
END_TEST

START_TEST(tampered_chunk_is_refused_and_nothing_switches)
{
    struct t_env t;
    uint8_t *img = t_image(100000, 3);
    char env[512];
    struct stat st;

    t_setup(&t);
    t_bundle(&t, PF_KIND_FIRMWARE, "1.1.0", "PX-200", img, 100000, false);
    t.d->tamper_at = 70000;
    ck_assert_int_eq(t_run_all(&t, NULL), 0);
    ck_assert_int_eq(t.d->offers[0].final, PF_UPD_REFUSED);
    t_slot_is(&t, "slot_a", "factory image", 13);
    snprintf(env, sizeof(env), "%s/bootenv", t.dir);
    ck_assert_int_eq(stat(env, &st), 0); /* written once at first boot, never switched: */
    {
        char *buf = NULL;
        size_t n;
        ck_assert_int_eq(pf_file_read(env, 256, &buf, &n), 0);
        ck_assert_str_eq(buf, "slot=a\ngood=a\ntrial=0\ntries=0\n");
        free(buf);
    }
    free(img);
    t_teardown(&t);
}
END_TEST

START_TEST(wrong_model_is_refused_before_any_payload_byte)
{
    struct t_env t;
    uint8_t *img = t_image(30000, 4);
    char path[512];
    struct stat st;

    t_setup(&t);
    t_bundle(&t, PF_KIND_FIRMWARE, "1.1.0", "PX-900", img, 30000, false);
    ck_assert_int_eq(t_run_all(&t, NULL), 0);
    ck_assert_int_eq(t.d->offers[0].final, PF_UPD_REFUSED);
    snprintf(path, sizeof(path), "%s/slot_b", t.dir);
    ck_assert_int_eq(stat(path, &st), -1); /* the inactive slot was never opened */
    free(img);
    t_teardown(&t);
}
END_TEST

START_TEST(rollback_offer_is_refused)
{
    struct t_env t;
    uint8_t *img = t_image(1000, 5);

    t_setup(&t);
    t_bundle(&t, PF_KIND_FIRMWARE, "0.9.0", "PX-200", img, 1000, false);
    ck_assert_int_eq(t_run_all(&t, NULL), 0);
    ck_assert_int_eq(t.d->offers[0].final, PF_UPD_REFUSED);
    ck_assert_str_eq(t.d->offers[0].code, "ROLLBACK");
    free(img);
    t_teardown(&t);
}
END_TEST

/* The version it runs is not an update: refused ALREADY, which a rollout
 * counts as done (docs/protocol.md). */
START_TEST(installed_version_offer_is_already)
{
    struct t_env t;
    uint8_t *img = t_image(1000, 5);

    t_setup(&t);
    t_bundle(&t, PF_KIND_FIRMWARE, "1.0.0", "PX-200", img, 1000, false);
    ck_assert_int_eq(t_run_all(&t, NULL), 0);
    ck_assert_int_eq(t.d->offers[0].final, PF_UPD_REFUSED);
    ck_assert_str_eq(t.d->offers[0].code, PF_UPDATE_CODE_ALREADY);
    free(img);
    t_teardown(&t);
}
END_TEST

START_TEST(busy_terminal_defers_then_accepts)
{
    struct t_env t;
    uint8_t *img = t_image(20000, 6);
    struct pfa_update_stats st;
    int64_t end;

    t_setup(&t);
    t_bundle(&t, PF_KIND_FIRMWARE, "1.1.0", "PX-200", img, 20000, false);
    ck_assert_int_eq(pfa_hal_sim_set(t.d->hal, "busy", "1"), 0);
    t_boot(&t, NULL);
    pfa_update_on_connect(t.d->u);
    drv_offer_now(t.d);
    drv_deliver(t.d);
    pfa_update_tick(t.d->u);
    drv_deliver(t.d);
    pfa_update_stats(t.d->u, &st);
    ck_assert(st.busy);
    ck_assert_int_eq(t.d->nseen, 1); /* deferred busy */
    ck_assert_int_eq(t.d->offers[0].final, -1);
    ck_assert_int_eq(pfa_hal_sim_set(t.d->hal, "busy", NULL), 0);
    ck_assert_int_eq(pfa_hal_sim_set(t.d->hal, "battery_pct", "10"), 0);
    ck_assert_int_eq(pfa_hal_sim_set(t.d->hal, "charging", "0"), 0);
    end = pf_clock_mono_ms(&pf_clock_system) + 5000;
    while (t.d->nseen < 2 && pf_clock_mono_ms(&pf_clock_system) < end) {
        pfa_update_tick(t.d->u);
        drv_deliver(t.d);
        poll(NULL, 0, 10);
    }
    ck_assert_int_eq(t.d->nseen, 2); /* deferred battery */
    ck_assert_int_eq(pfa_hal_sim_set(t.d->hal, "charging", "1"), 0);
    ck_assert_int_eq(drv_loop(t.d, 10000), 3);
    t_run_all(&t, NULL);
    ck_assert_int_eq(t.d->offers[0].final, PF_UPD_SUCCESS);
    free(img);
    t_teardown(&t);
}
END_TEST

START_TEST(stalled_transfer_times_out)
{
    struct t_env t;
    uint8_t *img = t_image(20000, 7);
    struct pfa_update_config c;
    char path[512];
    struct stat st;

    t_setup(&t);
    t_bundle(&t, PF_KIND_FIRMWARE, "1.1.0", "PX-200", img, 20000, false);
    pfa_update_config_init(&c);
    c.stall_s = 1;
    c.chunk_size = 16384;
    t.d->drop_chunks = true;
    ck_assert_int_eq(t_run_all(&t, &c), 0);
    ck_assert_int_eq(t.d->offers[0].final, PF_UPD_FAILED);
    snprintf(path, sizeof(path), "%s/server.log", t.dir);
    ck_assert_int_ne(stat(path, &st), 0); /* no log in the suite: events are in memory */
    free(img);
    t_teardown(&t);
}
END_TEST

START_TEST(download_resumes_from_the_persisted_offset)
{
    struct t_env t;
    uint8_t *img = t_image(300000, 8);
    struct pfa_update_stats st;
    int64_t end;

    t_setup(&t);
    t_bundle(&t, PF_KIND_FIRMWARE, "1.1.0", "PX-200", img, 300000, false);
    t_boot(&t, NULL);
    pfa_update_on_connect(t.d->u);
    drv_offer_now(t.d);
    end = pf_clock_mono_ms(&pf_clock_system) + 10000;
    do { /* until some payload chunks are in */
        drv_deliver(t.d);
        pfa_update_tick(t.d->u);
        pfa_update_stats(t.d->u, &st);
    } while (st.chunks < 12 && pf_clock_mono_ms(&pf_clock_system) < end);
    ck_assert_uint_ge(st.chunks, 12);
    /* "Power cut": drop the engine and the link, boot again. */
    t_boot(&t, NULL);
    ck_assert_int_eq(drv_loop(t.d, 10000), 3);
    pfa_update_stats(t.d->u, &st);
    /* 300000 bytes / 16 KiB = 19 payload chunks: the second boot fetched fewer. */
    ck_assert_uint_lt(st.chunks, 19);
    t_run_all(&t, NULL);
    ck_assert_int_eq(t.d->offers[0].final, PF_UPD_SUCCESS);
    t_slot_is(&t, "slot_b", img, 300000);
    free(img);
    t_teardown(&t);
}
END_TEST

static char *t_feetable(const char *version, int64_t effective_at)
{
    char when[PF_TIME_STR_LEN + 1], *doc = malloc(1024);

    ck_assert_int_eq(pf_time_format(effective_at, when), 0);
    snprintf(doc, 1024,
             "{\"schema\":1,\"version\":\"%s\",\"currency\":\"EUR\",\"effective_at\":\"%s\","
             "\"rates\":{\"debit_card\":{\"rate_bp\":90,\"cap_minor\":500},\"credit_card\":"
             "{\"rate_bp\":150,\"cap_minor\":1000},\"qr_code\":{\"rate_bp\":60,\"cap_minor\":300},"
             "\"contactless\":{\"rate_bp\":80,\"cap_minor\":500}},\"settlement\":"
             "{\"t0_surcharge_bp\":25,\"t1_surcharge_bp\":0},\"mcc\":[\"5411\"]}",
             version, when);
    return doc;
}

START_TEST(fee_table_activates_at_effective_time)
{
    struct t_env t;
    char *a = t_feetable("2026.1.1", time(NULL) - 10), *b = t_feetable("2026.2.1", time(NULL) + 2);
    const char *fw, *fee;
    enum pf_slot slot;
    char path[512], *buf = NULL;
    size_t n;
    int64_t end;

    t_setup(&t);
    t_bundle(&t, PF_KIND_FEETABLE, "2026.1.1", "PX-200", a, strlen(a), false);
    t_bundle(&t, PF_KIND_FEETABLE, "2026.2.1", "PX-200", b, strlen(b), false);
    t_run_all(&t, NULL);
    ck_assert_int_eq(t.d->offers[0].final, PF_UPD_SUCCESS);
    ck_assert_int_eq(t.d->offers[1].final, PF_UPD_SUCCESS);
    pfa_update_identity(t.d->u, &fw, &slot, &fee);
    ck_assert_str_eq(fee, "2026.1.1"); /* the second one waits for its time */
    /* Offline: no server at all, only the timer. */
    pfa_update_on_disconnect(t.d->u);
    end = pf_clock_mono_ms(&pf_clock_system) + 6000;
    while (strcmp(fee, "2026.2.1") != 0 && pf_clock_mono_ms(&pf_clock_system) < end) {
        int64_t wait = pfa_update_next_deadline_ms(t.d->u) - pf_clock_mono_ms(&pf_clock_system);
        poll(NULL, 0, wait > 50 ? 50 : (wait < 0 ? 0 : (int)wait));
        pfa_update_tick(t.d->u);
        pfa_update_identity(t.d->u, &fw, &slot, &fee);
    }
    ck_assert_str_eq(fee, "2026.2.1");
    snprintf(path, sizeof(path), "%s/fees/active.json", t.dir);
    ck_assert_int_eq(pf_file_read(path, 4096, &buf, &n), 0);
    ck_assert_str_eq(buf, b);
    free(buf);
    snprintf(path, sizeof(path), "%s/fees/previous.json", t.dir);
    ck_assert_int_eq(pf_file_read(path, 4096, &buf, &n), 0);
    ck_assert_str_eq(buf, a); /* kept for rollback */
    free(buf);
    free(a);
    free(b);
    t_teardown(&t);
}
END_TEST

START_TEST(fee_store_rollback_and_refusals)
{
    char dir[256], path[512], *buf = NULL;
    char *a = t_feetable("2026.1.1", time(NULL) - 10), *b = t_feetable("2026.2.1", time(NULL) - 5);
    struct pfa_feestore *fs = NULL;
    struct pf_error err = {0};
    bool switched = false;
    size_t n;

    pf_test_tmpdir(dir, sizeof(dir));
    ck_assert_int_eq(pfa_feestore_open(dir, NULL, &fs, &err), 0);
    ck_assert_str_eq(pfa_feestore_active_version(fs), "");
    ck_assert_int_eq(pfa_feestore_rollback(fs, &err), PF_ENOENT);
    ck_assert_int_eq(pfa_feestore_stage(fs, "2026.1.1", &err), PF_ENOENT); /* nothing staged */
    t_write(pfa_feestore_path(fs, PFA_FEE_STAGED), a, strlen(a));
    ck_assert_int_eq(pfa_feestore_stage(fs, "2026.9.9", &err), PF_EFEETABLE);
    snprintf(path, sizeof(path), "%s/" PFA_FEE_PENDING, dir);
    ck_assert_int_ne(access(path, F_OK), 0); /* refused: nothing pending, staged removed */
    ck_assert_int_ne(access(pfa_feestore_path(fs, PFA_FEE_STAGED), F_OK), 0);
    t_write(pfa_feestore_path(fs, PFA_FEE_STAGED), "{\"schema\":1}", 12);
    ck_assert_int_eq(pfa_feestore_stage(fs, "2026.1.1", &err), PF_EFEETABLE);
    ck_assert_int_ne(access(path, F_OK), 0);
    for (int i = 0; i < 2; i++) {
        const char *doc = i == 0 ? a : b;
        t_write(pfa_feestore_path(fs, PFA_FEE_STAGED), doc, strlen(doc));
        ck_assert_int_eq(pfa_feestore_stage(fs, i == 0 ? "2026.1.1" : "2026.2.1", &err), 0);
        ck_assert_int_eq(pfa_feestore_activate_due(fs, time(NULL), &switched, &err), 0);
        ck_assert(switched);
    }
    ck_assert_str_eq(pfa_feestore_active_version(fs), "2026.2.1");
    ck_assert_int_eq(pfa_feestore_rollback(fs, &err), 0);
    ck_assert_str_eq(pfa_feestore_active_version(fs), "2026.1.1");
    ck_assert_int_eq(pf_file_read(pfa_feestore_path(fs, PFA_FEE_ACTIVE), 4096, &buf, &n), 0);
    ck_assert_str_eq(buf, a);
    free(buf);
    ck_assert_int_eq(pfa_feestore_rollback(fs, &err), PF_ENOENT); /* one step back only */
    pfa_feestore_close(fs);
    /* Reopened, the store knows what is active. */
    ck_assert_int_eq(pfa_feestore_open(dir, NULL, &fs, &err), 0);
    ck_assert_str_eq(pfa_feestore_active_version(fs), "2026.1.1");
    pfa_feestore_close(fs);
    free(a);
    free(b);
    pf_test_rmtree(dir);
}
END_TEST

START_TEST(invalid_fee_table_never_becomes_active)
{
    struct t_env t;
    char *a = t_feetable("2026.1.1", time(NULL) - 10);
    char path[512];
    struct stat st;

    /* Signed and digest-correct, but its version differs from the manifest's. */
    t_setup(&t);
    t_bundle(&t, PF_KIND_FEETABLE, "2026.3.1", "PX-200", a, strlen(a), false);
    t_run_all(&t, NULL);
    ck_assert_int_eq(t.d->offers[0].final, PF_UPD_FAILED);
    snprintf(path, sizeof(path), "%s/fees/active.json", t.dir);
    ck_assert_int_ne(stat(path, &st), 0);
    snprintf(path, sizeof(path), "%s/fees/pending.json", t.dir);
    ck_assert_int_ne(stat(path, &st), 0);
    free(a);
    t_teardown(&t);
}
END_TEST

START_TEST(events_are_resent_until_acked)
{
    struct t_env t;
    uint8_t *img = t_image(1000, 9);
    struct pfa_update_stats st;
    char path[512], *buf = NULL;
    size_t n;

    t_setup(&t);
    t_bundle(&t, PF_KIND_FIRMWARE, "0.9.0", "PX-200", img, 1000, false); /* refused */
    t_boot(&t, NULL);
    pfa_update_on_connect(t.d->u);
    drv_offer_now(t.d);
    drv_deliver(t.d); /* the refusal goes out; its ack is queued, and lost: */
    drv_drop_queue(t.d);
    pfa_update_stats(t.d->u, &st);
    ck_assert_uint_eq(st.outbox, 1);
    /* After a restart it is still there and sent again with the same id. */
    t_boot(&t, NULL);
    pfa_update_stats(t.d->u, &st);
    ck_assert_uint_eq(st.outbox, 1);
    ck_assert_int_eq(drv_loop(t.d, 5000), 0);
    ck_assert_int_eq(t.d->nseen, 1);   /* recorded once */
    ck_assert_int_eq(t.d->nevents, 2); /* received twice */
    snprintf(path, sizeof(path), "%s/state/update/state.json", t.dir);
    ck_assert_int_eq(pf_file_read(path, PFA_STATE_MAX, &buf, &n), 0);
    ck_assert_ptr_null(strstr(buf, "\"outbox\":[\""));
    free(buf);
    free(img);
    t_teardown(&t);
}
END_TEST

/* Ticks the engine for ms without delivering anything to it. */
static void t_tick_for(struct t_env *t, int64_t ms)
{
    int64_t end = pf_clock_mono_ms(&pf_clock_system) + ms;

    while (pf_clock_mono_ms(&pf_clock_system) < end) {
        pfa_update_tick(t->d->u);
        poll(NULL, 0, 10);
    }
}

/*
 * The causes of duplicate outcome events in a fleet rollout (docs/benchmarks.md,
 * rollout_fleet): the same offer again and a reconnect used to send the whole outbox
 * at once, events sent moments before included. Now neither does; an unacknowledged
 * event still goes out again resend_s after it was last sent.
 */
START_TEST(repeated_offer_and_reconnect_send_no_event_twice)
{
    struct t_env t;
    uint8_t *img = t_image(1000, 9);
    struct pfa_update_stats st;

    t_setup(&t);
    t_bundle(&t, PF_KIND_FIRMWARE, "0.9.0", "PX-200", img, 1000, false); /* refused */
    t_boot(&t, NULL);                                                    /* resend_s 1 */
    pfa_update_on_connect(t.d->u);
    drv_offer_now(t.d);
    drv_deliver(t.d); /* the refusal goes out; its ack is queued */
    ck_assert_int_eq(t.d->nevents, 1);
    drv_drop_queue(t.d); /* ... and lost */
    /* posfleetd sends the same offer again, and the terminal reconnects. */
    drv_offer_now(t.d);
    drv_deliver(t.d);
    pfa_update_tick(t.d->u);
    pfa_update_on_disconnect(t.d->u);
    pfa_update_on_connect(t.d->u);
    pfa_update_tick(t.d->u);
    t_tick_for(&t, 300);
    ck_assert_int_eq(t.d->nevents, 1); /* nothing sent twice within resend_s */
    /* At least once: the ack never came, so the event goes out again after resend_s. */
    t_tick_for(&t, 1000);
    ck_assert_int_eq(t.d->nevents, 2);
    ck_assert_int_eq(t.d->nseen, 1);
    drv_deliver(t.d); /* this time the ack arrives */
    pfa_update_stats(t.d->u, &st);
    ck_assert_uint_eq(st.outbox, 0);
    t_tick_for(&t, 1200);
    ck_assert_int_eq(t.d->nevents, 2);
    free(img);
    t_teardown(&t);
}
END_TEST

/*
 * A whole firmware update through its reboot, as a terminal sees it on a persistent
 * session: the acks of the events sent just before the reboot wait at the broker and
 * arrive right after the connect, and posfleetd (an older one, or one that heard
 * nothing) sends the same offer again after the birth. Every event reaches the
 * server once.
 */
START_TEST(firmware_update_through_reboot_has_no_duplicates)
{
    struct t_env t;
    uint8_t *img = t_image(64 * 1024, 3);
    struct pfa_update_config c;
    struct drv_msg kept[DRV_MAX_MSGS];
    int nkept, rc, reboots = 0;

    pfa_update_config_init(&c);
    c.chunk_size = 16 * 1024;
    c.persist_bytes = 16 * 1024;
    c.retry_s = 1;
    c.resend_s = 2;
    t_setup(&t);
    t_bundle(&t, PF_KIND_FIRMWARE, "2.0.0", "PX-200", img, 64 * 1024, false);
    t_boot(&t, &c);
    while ((rc = t.d->rebooted ? 3 : drv_loop(t.d, 20000)) == 3) {
        ck_assert_int_lt(++reboots, 3);
        /* The acks not yet delivered stay queued for the session across the reboot. */
        nkept = 0;
        for (int i = 0; i < t.d->nto; i++) {
            if (strcmp(t.d->to_agent[i].leaf, PF_CMD_ACK) == 0) {
                kept[nkept++] = t.d->to_agent[i];
                t.d->to_agent[i].data = NULL;
            }
        }
        t_boot(&t, &c);
        pfa_update_on_connect(t.d->u);
        pfa_update_tick(t.d->u); /* before anything arrives */
        for (int i = 0; i < nkept; i++) {
            drv_push(t.d, PF_CMD_ACK, kept[i].data, kept[i].len);
            free(kept[i].data);
        }
        drv_offer_now(t.d); /* the same offer again after the birth */
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(reboots, 1);
    ck_assert_int_eq(t.d->offers[0].final, PF_UPD_SUCCESS);
    ck_assert_int_ge(t.d->nseen, 5);
    ck_assert_int_eq(t.d->nevents, t.d->nseen);
    free(img);
    t_teardown(&t);
}
END_TEST

/* Holds what is queued for the engine (acks) for ms while it ticks, then delivers it. */
static void t_hold_acks(struct t_env *t, int64_t ms)
{
    struct drv_msg held[DRV_MAX_MSGS];
    int n = 0;

    t_tick_for(t, ms);
    for (int i = 0; i < t->d->nto; i++)
        held[n++] = t->d->to_agent[i];
    t->d->nto = 0;
    for (int i = 0; i < n; i++) {
        drv_push(t->d, held[i].leaf, held[i].data, held[i].len);
        free(held[i].data);
    }
    drv_deliver(t->d);
}

/*
 * Acks slower than resend_s (a loaded server or broker): with a fixed resend_s every
 * event went out twice. The engine times the round trip from acks of events sent once
 * and waits that long (RFC 6298, Karn's rule): after the first resend, none.
 */
START_TEST(slow_acks_stretch_the_resend_timeout)
{
    struct t_env t;
    uint8_t *img = t_image(1000, 9);
    const char *versions[] = {"0.9.0", "0.9.1", "0.9.2", "0.9.3", "0.9.4"};
    struct pfa_update_stats st;

    t_setup(&t);
    for (size_t k = 0; k < 5; k++) /* each refused at once: one event per offer */
        t_bundle(&t, PF_KIND_FIRMWARE, versions[k], "PX-200", img, 1000, false);
    t_boot(&t, NULL); /* resend_s 1 */
    pfa_update_on_connect(t.d->u);
    for (int k = 0; k < 5; k++) {
        drv_offer_now(t.d);
        drv_deliver(t.d); /* the refusal goes out; its ack arrives 1.5 s later */
        t_hold_acks(&t, 1500);
        ck_assert_int_eq(t.d->offers[k].final, PF_UPD_REFUSED);
    }
    pfa_update_stats(t.d->u, &st);
    ck_assert_uint_eq(st.outbox, 0);
    ck_assert_int_eq(t.d->nseen, 5);
    ck_assert_int_le(t.d->nevents - t.d->nseen, 1); /* the first one, before any timing */
    free(img);
    t_teardown(&t);
}
END_TEST

/* One refused offer per version, each refusal's ack held ack_ms: the driver of the
 * round-trip tests below. */
static void t_refusals_with_slow_acks(struct t_env *t, int from, int to, int64_t ack_ms)
{
    for (int k = from; k < to; k++) {
        drv_offer_now(t->d);
        drv_deliver(t->d); /* the refusal goes out; its ack arrives ack_ms later */
        t_hold_acks(t, ack_ms);
        ck_assert_int_eq(t->d->offers[k].final, PF_UPD_REFUSED);
    }
}

/*
 * A terminal's first event goes out before any round trip was timed, so it is sent
 * again after resend_s when its ack takes longer. By Karn's rule alone its ack timed
 * nothing and the backed-off timeout was still short of the round trip for the next
 * event: two duplicates in three events. Untimed, the first send's round trip (too
 * long if anything) gives the first estimate: one.
 */
START_TEST(first_event_times_the_round_trip_from_its_first_send)
{
    struct t_env t;
    uint8_t *img = t_image(1000, 9);
    const char *versions[] = {"0.9.0", "0.9.1", "0.9.2"};

    t_setup(&t);
    for (size_t k = 0; k < 3; k++) /* each refused at once: one event per offer */
        t_bundle(&t, PF_KIND_FIRMWARE, versions[k], "PX-200", img, 1000, false);
    t_boot(&t, NULL); /* resend_s 1 */
    pfa_update_on_connect(t.d->u);
    t_refusals_with_slow_acks(&t, 0, 3, 2500);
    ck_assert_int_eq(t.d->nseen, 3);
    ck_assert_int_le(t.d->nevents - t.d->nseen, 1); /* the first one, before any timing */
    free(img);
    t_teardown(&t);
}
END_TEST

/*
 * The acks' round trip survives a restart (a firmware install's reboot is one): the
 * state file keeps the smoothed round trip, so the first event after it waits what
 * the acks need instead of resend_s. A state file of an agent from before (without
 * the round trip) still loads, and the engine starts untimed.
 */
START_TEST(round_trip_timing_survives_a_restart)
{
    struct t_env t;
    uint8_t *img = t_image(1000, 9);
    const char *versions[] = {"0.9.0", "0.9.1"};
    struct pfa_update_state st;
    struct pf_error err = {0};
    char path[512], *buf = NULL, *old;
    size_t len;
    json_t *o;
    int dups;

    t_setup(&t);
    drv_path(t.d, "state/update/state.json", path, sizeof(path));
    for (size_t k = 0; k < 2; k++)
        t_bundle(&t, PF_KIND_FIRMWARE, versions[k], "PX-200", img, 1000, false);
    t_boot(&t, NULL); /* resend_s 1 */
    pfa_update_on_connect(t.d->u);
    t_refusals_with_slow_acks(&t, 0, 1, 2500);
    dups = t.d->nevents - t.d->nseen;
    ck_assert_int_le(dups, 1);
    ck_assert_int_eq(pf_file_read(path, PFA_STATE_MAX, &buf, &len), 0);
    ck_assert_int_eq(pfa_update_state_decode(buf, len, &st, &err), 0);
    ck_assert_int_ge(st.srtt_ms, 2000); /* the acks' pace is on disk */
    ck_assert_int_gt(st.rttvar_ms, 0);
    pfa_update_state_release(&st);
    free(buf);

    t_boot(&t, NULL); /* the restart */
    pfa_update_on_connect(t.d->u);
    t_refusals_with_slow_acks(&t, 1, 2, 2500);
    ck_assert_int_eq(t.d->nseen, 2);
    ck_assert_int_eq(t.d->nevents - t.d->nseen, dups); /* none after the restart */

    /* The state file as an agent before this change wrote it. */
    ck_assert_int_eq(pf_file_read(path, PFA_STATE_MAX, &buf, &len), 0);
    o = json_loadb(buf, len, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(json_object_del(o, "srtt_ms"), 0);
    ck_assert_int_eq(json_object_del(o, "rttvar_ms"), 0);
    old = json_dumps(o, JSON_COMPACT);
    t_write(path, old, strlen(old));
    t_boot(&t, NULL); /* loads */
    ck_assert_int_eq(pfa_update_state_decode(old, strlen(old), &st, &err), 0);
    ck_assert_int_eq(st.srtt_ms, 0);
    ck_assert_int_eq(st.rttvar_ms, 0);
    pfa_update_state_release(&st);
    free(old);
    json_decref(o);
    free(buf);
    free(img);
    t_teardown(&t);
}
END_TEST

START_TEST(staged_bundle_install_and_slot_verify)
{
    struct fx fx;
    char dir[256], bundle[512], slot[512];
    uint8_t *img = t_image(500000, 10);
    struct pf_trust trust;
    struct pf_policy pol;
    struct pf_manifest *m = malloc(sizeof(*m));
    struct pf_error err = {0};
    struct stat st;

    fx_init(&fx);
    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(bundle, sizeof(bundle), "%s/b.tar", dir);
    snprintf(slot, sizeof(slot), "%s/slot", dir);
    fx_good_bundle(&fx, bundle, img, 500000, ARCHIVE_FILTER_NONE);
    trust = fx_trust(&fx);
    pol = fx_policy(&fx);
    ck_assert_int_eq(pfa_slot_install_bundle(bundle, slot, &trust, &pol, m, &err), 0);
    ck_assert_int_eq(pfa_slot_verify(slot, 500000, m->payloads[0].digest, &err), 0);
    img[0] ^= 1;
    t_write(slot, img, 500000);
    ck_assert_int_eq(pfa_slot_verify(slot, 500000, m->payloads[0].digest, &err), PF_EDIGEST);
    ck_assert_int_eq(pfa_slot_verify(slot, 600000, m->payloads[0].digest, &err), PF_ESIZE);
    pol.installed_version = "2.0.0";
    unlink(slot);
    ck_assert_int_eq(pfa_slot_install_bundle(bundle, slot, &trust, &pol, m, &err), PF_EROLLBACK);
    ck_assert_int_ne(stat(slot, &st), 0); /* refused before the slot was touched */

    /* The same from the offer's byte ranges (the engine's path, no archive reader). */
    {
        struct pf_offer *o = calloc(1, sizeof(*o));
        ck_assert_int_eq(pf_offer_from_bundle(bundle, o, &err), 0);
        ck_assert_int_eq(pfa_slot_install_staged(bundle, o, slot, &trust, &pol, m, &err),
                         PF_EROLLBACK);
        ck_assert_int_ne(stat(slot, &st), 0);
        pol.installed_version = "1.0.0";
        img[0] ^= 1; /* the image as packed */
        ck_assert_int_eq(pfa_slot_install_staged(bundle, o, slot, &trust, &pol, m, &err), 0);
        ck_assert_int_eq(pfa_slot_verify(slot, 500000, m->payloads[0].digest, &err), 0);
        t_slot_is_path(slot, img, 500000);
        /* An untrusted server shifting the payload range: the digest refuses it. */
        o->entries[4].offset -= 1;
        ck_assert_int_eq(pfa_slot_install_staged(bundle, o, slot, &trust, &pol, m, &err),
                         PF_EDIGEST);
        o->entries[4].offset += 1;
        o->entries[4].size -= 1;
        ck_assert_int_eq(pfa_slot_install_staged(bundle, o, slot, &trust, &pol, m, &err), PF_ESIZE);
        free(o);
    }
    free(m);
    free(img);
    pf_test_rmtree(dir);
    fx_release(&fx);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("update_engine");
    TCase *tc = tcase_create("engine");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, firmware_update_commits_after_selftest);
    tcase_add_test(tc, selftest_failure_rolls_back);
    tcase_add_test(tc, tampered_chunk_is_refused_and_nothing_switches);
    tcase_add_test(tc, wrong_model_is_refused_before_any_payload_byte);
    tcase_add_test(tc, rollback_offer_is_refused);
    tcase_add_test(tc, installed_version_offer_is_already);
    tcase_add_test(tc, busy_terminal_defers_then_accepts);
    tcase_add_test(tc, stalled_transfer_times_out);
    tcase_add_test(tc, download_resumes_from_the_persisted_offset);
    tcase_add_test(tc, fee_table_activates_at_effective_time);
    tcase_add_test(tc, invalid_fee_table_never_becomes_active);
    tcase_add_test(tc, fee_store_rollback_and_refusals);
    tcase_add_test(tc, events_are_resent_until_acked);
    tcase_add_test(tc, repeated_offer_and_reconnect_send_no_event_twice);
    tcase_add_test(tc, firmware_update_through_reboot_has_no_duplicates);
    tcase_add_test(tc, slow_acks_stretch_the_resend_timeout);
    tcase_add_test(tc, first_event_times_the_round_trip_from_its_first_send);
    tcase_add_test(tc, round_trip_timing_survives_a_restart);
    tcase_add_test(tc, staged_bundle_install_and_slot_verify);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "run") == 0) {
        if (sodium_init() < 0)
            return 1;
        return drv_main_run(argv[2]);
    }
    if (argc == 5 && strcmp(argv[1], "install") == 0)
        return drv_main_install(argv[2], argv[3], argv[4]);
    if (argc == 3 && strcmp(argv[1], "offer") == 0)
        return drv_main_offer(argv[2]);
    if (argc == 9 && strcmp(argv[1], "peer") == 0)
        return drv_main_peer(argv);
    if (argc > 1) {
        fprintf(stderr, "usage: %s [run DIR | install BUNDLE SLOT ROOT.pub]\n", argv[0]);
        return 2;
    }
    return pf_test_run(suite());
}
