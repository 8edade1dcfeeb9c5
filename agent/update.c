/*
 * update.c - the update engine's state machine (see pfa/update.h and
 * docs/update.md): offer -> consent -> metadata -> verify -> payload ->
 * install (A/B switch + reboot + self-test, or fee-table staging) -> outcome.
 *
 * Over 800 lines as one module on purpose: it is one state machine whose every
 * transition is persisted before it takes effect (docs/update.md), and keeping
 * the steps side by side on one private struct pfa_update is what lets a
 * reader check that order. What does not need that struct already lives apart:
 * the persisted state (update_state.c), slot writing (update_slot.c), fee
 * tables (feestore.c), boot control (boot/), the crash points (fault/).
 */
#include "pfa/update.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pfa/boot.h"
#include "pfa/feestore.h"
#include "pfa/update_fault.h"
#include "pfa/update_slot.h"
#include "pfa/update_state.h"
#include "pf/bundle.h"
#include "pf/fileio.h"
#include "pf/jsonv.h"
#include "pf/msg_update.h"

#define UPD_STEP_PAYLOAD 4
#define UPD_META_MAX     (256 * 1024) /* keyring.json is the largest metadata entry */
#define UPD_SIG_MAX      2048
#define UPD_REBOOT_WAIT  5000 /* ms between busy checks before a reboot */
#define UPD_BUSY_RETRY   1000 /* ms after a chunkerr "busy" */
#define UPD_FEE_RECHECK  60000
#define UPD_KEYRING_MAX  (PF_KEYRING_MAX_BYTES * 2 + 4096)

static const char *const upd__meta_names[4] = {PF_BUNDLE_MANIFEST, PF_BUNDLE_MANIFEST_SIG,
                                               PF_BUNDLE_KEYRING, PF_BUNDLE_KEYRING_SIG};
static const uint64_t upd__meta_limits[4] = {PF_MANIFEST_MAX_BYTES, UPD_SIG_MAX,
                                             PF_KEYRING_MAX_BYTES, UPD_SIG_MAX};

struct pfa_update {
    struct pfa_update_config cfg;
    struct pfa_hal *hal;
    const struct pf_clock *clock;
    struct pfa_update_io io;
    struct pfa_log *log;
    struct pfa_boot *boot;
    struct pfa_feestore *fees;
    struct pfa_fault fault;
    struct pfa_update_state st;
    struct pfa_boot_env env;
    char *dir;        /* STATE_DIR/update (heap: thousands of engines share a sim process) */
    char *state_path; /* dir/state.json */
    char fw_version[PF_VERSION_MAX + 1];

    /* Download in progress (not persisted: rebuilt from st on resume). */
    bool open; /* writer open for st.entry */
    struct pfa_slot_writer w;
    struct pf_manifest *man;          /* verified manifest (heap) during the payload step */
    const struct pf_offer_entry *cur; /* offer entry of st.entry */
    uint64_t requested;               /* bytes of the step requested so far */
    uint64_t persisted;               /* st.done as last persisted */
    uint32_t next_req;
    int64_t progress_at;     /* mono ms of the last progress */
    int64_t next_request_at; /* mono ms: (re)request chunks */
    bool connected;
    /* Retransmission timeout of the outbox (RFC 6298 with Karn's rule): resend_s at
     * least, more when acks take longer (st.srtt_ms, st.rttvar_ms); doubled at each
     * resend until an ack times a round trip again. */
    int64_t rto_ms;
    int64_t reboot_check_at; /* mono ms (SWITCH waiting for the terminal to be idle) */
    size_t fresh;            /* outbox tail not published yet (waits for the persist) */
    bool reboot_pending;
    enum pf_boot_outcome boot_outcome;
    struct pfa_update_stats stats;
};

/* ---- small helpers ---------------------------------------------------------- */

static int64_t upd__mono(const struct pfa_update *u)
{
    return pf_clock_mono_ms(u->clock);
}

static int64_t upd__wall(const struct pfa_update *u)
{
    return pf_clock_wall_ms(u->clock);
}

static int64_t upd__min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static void upd__identity(struct pfa_update *u)
{
    struct pf_fee_pending p;

    memset(&p, 0, sizeof(p));
    if (pfa_feestore_pending_version(u->fees)[0]) {
        snprintf(p.version, sizeof(p.version), "%s", pfa_feestore_pending_version(u->fees));
        p.effective_at = pfa_feestore_pending_at(u->fees);
    }
    if (u->io.identity)
        u->io.identity(u->io.ctx, u->fw_version, u->env.booted,
                       pfa_feestore_active_version(u->fees), &p);
}

static void upd__publish_event(struct pfa_update *u, const char *ev)
{
    if (!u->connected || !u->io.publish)
        return;
    if (u->io.publish(u->io.ctx, PF_DEV_EVENT, ev, strlen(ev), 1) == 0)
        u->stats.events_sent++;
}

/* sent_ms of an event read from the state file: the previous run may have sent it. */
#define UPD_SENT_BEFORE ((int64_t)-1)

/* The retransmission timeout's bounds: resend_s, and ten times that. */
static int64_t upd__rto_min(const struct pfa_update *u)
{
    return (int64_t)u->cfg.resend_s * 1000;
}

static int64_t upd__rto_max(const struct pfa_update *u)
{
    return 10 * upd__rto_min(u);
}

/* Hands outbox[i] to the connection and restarts its resend clock (also when the
 * publish fails: the next try comes a timeout later, not in a loop). */
static void upd__send(struct pfa_update *u, size_t i, int64_t now)
{
    if (!u->connected)
        return;
    upd__publish_event(u, u->st.outbox[i]);
    if (u->st.sends[i] == 0)
        u->st.first_ms[i] = now;
    u->st.sent_ms[i] = now;
    if (u->st.sends[i] < UINT16_MAX)
        u->st.sends[i]++;
}

/* When outbox[i] is due again: at once if it never went out on this connection,
 * else the retransmission timeout after it last did. */
static int64_t upd__due(const struct pfa_update *u, size_t i, int64_t now)
{
    int64_t sent = u->st.sent_ms[i];

    return sent > 0 ? sent + u->rto_ms : now;
}

/* True once an ack timed a round trip (in this run or, from the state file, before). */
static bool upd__timed(const struct pfa_update *u)
{
    return u->st.srtt_ms > 0;
}

/* The timeout from the smoothed round trip (srtt + 4 rttvar, RFC 6298) within its
 * bounds; resend_s while nothing was timed. */
static void upd__rto_set(struct pfa_update *u)
{
    int64_t rto = u->st.srtt_ms + 4 * u->st.rttvar_ms;

    if (!upd__timed(u) || rto < upd__rto_min(u))
        rto = upd__rto_min(u);
    u->rto_ms = rto > upd__rto_max(u) ? upd__rto_max(u) : rto;
}

/* An ack timed a round trip of r ms: the timeout follows the acks' pace. Kept in
 * the state (persisted with the ack's removal), so a restart or the install's reboot
 * starts from it instead of resend_s. */
static void upd__rtt_sample(struct pfa_update *u, int64_t r)
{
    if (r < 0)
        return;
    if (r > PFA_RTT_MAX_MS)
        r = PFA_RTT_MAX_MS;
    if (r < 1)
        r = 1; /* srtt 0 means "not timed" */
    if (!upd__timed(u)) {
        u->st.srtt_ms = r;
        u->st.rttvar_ms = r / 2;
    } else {
        int64_t d = u->st.srtt_ms > r ? u->st.srtt_ms - r : r - u->st.srtt_ms;

        u->st.rttvar_ms = (3 * u->st.rttvar_ms + d) / 4;
        u->st.srtt_ms = (7 * u->st.srtt_ms + r) / 8;
    }
    upd__rto_set(u);
}

static int upd__persist(struct pfa_update *u)
{
    char *buf = NULL;
    size_t len;
    int rc;

    u->st.seq++;
    rc = pfa_update_state_encode(&u->st, &buf, &len);
    if (rc == 0) {
        pfa_fault_point(&u->fault);
        rc = pf_file_write_atomic(u->state_path, buf, len, 0600);
    }
    free(buf);
    if (rc) {
        pfa_err(u->log, "update: cannot persist %s: %s", u->state_path, pf_strerror(rc));
        return rc;
    }
    u->persisted = u->st.done;
    /* Events go out only once the state that produced them is on disk, so a
     * restart never produces the same outcome under a second id. */
    if (u->fresh > u->st.nout)
        u->fresh = u->st.nout;
    /* Each event has its own resend clock: one sent now goes out again only after
     * resend_s without its ack, whatever the rest of the outbox does. */
    for (size_t i = u->st.nout - u->fresh; i < u->st.nout; i++)
        upd__send(u, i, upd__mono(u));
    u->fresh = 0;
    return 0;
}

/* Queues an event in the outbox (persisted by the caller's next upd__persist). */
static void upd__event(struct pfa_update *u, enum pf_update_status status, const char *word,
                       int pct, const char *fmt, ...) PF_PRINTF(5, 6);
static void upd__event(struct pfa_update *u, enum pf_update_status status, const char *word,
                       int pct, const char *fmt, ...)
{
    struct pf_update_event e;
    uint8_t rnd[16];
    char buf[PF_UPDATE_MSG_MAX], *copy;
    size_t len;
    va_list ap;

    memset(&e, 0, sizeof(e));
    randombytes_buf(rnd, sizeof(rnd));
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(e.id + 2 * i, 3, "%02x", rnd[i]);
    memcpy(e.offer, u->st.offer.id, sizeof(e.offer));
    memcpy(e.bundle, u->st.offer.bundle, PF_B2_LEN);
    e.kind = u->st.offer.kind;
    memcpy(e.version, u->st.offer.version, sizeof(e.version));
    e.status = status;
    e.ts_ms = upd__wall(u);
    if (status == PF_UPD_DEFERRED)
        snprintf(e.reason, sizeof(e.reason), "%s", word);
    else if (word)
        snprintf(e.code, sizeof(e.code), "%s", word);
    e.percent = pct;
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(e.message, sizeof(e.message), fmt, ap);
        va_end(ap);
        for (char *p = e.message; *p; p++) {
            if (*p < 0x20 || *p > 0x7e)
                *p = '?';
        }
    }
    if (pf_update_event_encode(&e, buf, sizeof(buf), &len) != 0 || !(copy = strdup(buf))) {
        pfa_err(u->log, "update: cannot encode a %s event", pf_update_status_names[status]);
        return;
    }
    pfa_info(u->log, "update %s: %s%s%s%s%s", e.offer, pf_update_status_names[status],
             word ? " " : "", word ? word : "", e.message[0] ? ": " : "", e.message);
    pfa_update_outbox_push(&u->st, copy);
    u->fresh++;
}

static void upd__close_download(struct pfa_update *u)
{
    if (u->open)
        pfa_slot_close(&u->w);
    u->open = false;
    free(u->man);
    u->man = NULL;
    u->cur = NULL;
}

static void upd__meta_path(const struct pfa_update *u, int i, char *buf, size_t len)
{
    snprintf(buf, len, "%s/meta-%s", u->dir, upd__meta_names[i]);
}

static const char *upd__slot_path(const struct pfa_update *u, enum pf_slot s)
{
    return s == PF_SLOT_A ? u->cfg.slot_a : u->cfg.slot_b;
}

/* Ends the current offer with a final event and returns to idle. */
static void upd__finish(struct pfa_update *u, enum pf_update_status status, const char *code,
                        const char *msg)
{
    char path[PATH_MAX];

    upd__close_download(u);
    upd__event(u, status, code, 0, "%s", msg ? msg : "");
    memcpy(u->st.last_offer, u->st.offer.id, sizeof(u->st.last_offer));
    u->st.phase = PFA_UPD_IDLE;
    u->st.entry = 0;
    u->st.done = 0;
    u->st.pct = 0;
    u->st.reason[0] = u->st.code[0] = '\0';
    (void)upd__persist(u);
    for (int i = 0; i < 4; i++) {
        upd__meta_path(u, i, path, sizeof(path));
        unlink(path);
    }
}

/* ---- trust ------------------------------------------------------------------------ */

/* The persisted keyring: {"keyring": DOC, "sig": MINISIG} in one file. */
static int upd__load_keyring(struct pfa_update *u, const struct pf_ms_pubkey *root,
                             struct pf_keyring *kr, struct pf_error *err)
{
    char *buf = NULL;
    size_t len;
    json_t *o = NULL;
    int rc;

    if (!u->cfg.keyring)
        return PF_ENOENT;
    rc = pf_file_read(u->cfg.keyring, UPD_KEYRING_MAX, &buf, &len);
    if (rc)
        return rc;
    rc = pf_json_parse_object(buf, len, UPD_KEYRING_MAX, &o, err);
    if (rc == 0) {
        json_t *k = json_object_get(o, "keyring"), *s = json_object_get(o, "sig");
        if (!json_is_string(k) || !json_is_string(s))
            rc = PF_ESCHEMA;
        else
            rc = pf_keyring_verify(json_string_value(k), json_string_length(k),
                                   json_string_value(s), json_string_length(s), root, 0, kr, err);
    }
    json_decref(o);
    free(buf);
    return rc;
}

static int upd__save_keyring(struct pfa_update *u, const char *doc, size_t dlen, const char *sig,
                             size_t slen)
{
    json_t *o = json_pack("{s:s%, s:s%}", "keyring", doc, dlen, "sig", sig, slen);
    char *buf = o ? json_dumps(o, JSON_COMPACT) : NULL;
    int rc = PF_ENOMEM;

    if (buf) {
        pfa_fault_point(&u->fault);
        rc = pf_file_write_atomic(u->cfg.keyring, buf, strlen(buf), 0644);
    }
    free(buf);
    json_decref(o);
    return rc;
}

/*
 * Verifies the fetched metadata against the terminal's trust and policy.
 * On success u->man holds the manifest; a newer embedded keyring is persisted.
 */
static int upd__verify_meta(struct pfa_update *u, struct pf_error *err)
{
    char *m[4] = {NULL, NULL, NULL, NULL};
    size_t l[4] = {0, 0, 0, 0};
    struct pf_keyring *saved = NULL, *decided = NULL;
    struct pf_trust trust;
    struct pf_policy pol;
    uint8_t digest[PF_B2_LEN];
    const char *installed;
    int rc = 0;

    memset(&trust, 0, sizeof(trust));
    for (int i = 0; i < 4 && rc == 0; i++) {
        char path[PATH_MAX];
        upd__meta_path(u, i, path, sizeof(path));
        rc = pf_file_read(path, UPD_META_MAX, &m[i], &l[i]);
        if (rc)
            pf_error_set(err, rc, "update: %s: %s", upd__meta_names[i], pf_strerror(rc));
    }
    if (rc)
        goto out_free;
    pf_b2_buf(m[0], l[0], digest);
    if (sodium_memcmp(digest, u->st.offer.manifest, PF_B2_LEN) != 0) {
        rc = pf_error_set(err, PF_EDIGEST, "manifest.json differs from the offer's digest");
        goto out_free;
    }
    rc = pf_ms_pubkey_load(u->cfg.trust_root, &trust.root, err);
    if (rc)
        goto out_free;
    saved = malloc(sizeof(*saved));
    decided = malloc(sizeof(*decided));
    u->man = malloc(sizeof(*u->man));
    if (!saved || !decided || !u->man) {
        rc = pf_error_set(err, PF_ENOMEM, "update: out of memory");
        goto out_free;
    }
    if (upd__load_keyring(u, &trust.root, saved, NULL) == 0) {
        trust.keyring = saved;
        trust.min_keyring_serial = saved->serial;
    }
    if (u->st.offer.kind == PF_KIND_FIRMWARE)
        installed = u->st.fw_floor[0] ? u->st.fw_floor : u->fw_version;
    else
        installed = pfa_feestore_newest_version(u->fees);
    memset(&pol, 0, sizeof(pol));
    pol.kind = u->st.offer.kind;
    pol.model = u->cfg.model;
    pol.hw_rev = u->cfg.hw_rev;
    pol.installed_version = installed[0] ? installed : NULL;
    pol.now = upd__wall(u) / 1000;
    rc = pf_bundle_verify_meta(m[0], l[0], m[1], l[1], m[2], l[2], m[3], l[3], &trust, &pol, u->man,
                               decided, err);
    if (rc)
        goto out_free;
    if (strcmp(u->man->version, u->st.offer.version) != 0) {
        rc = pf_error_set(err, PF_EINVAL, "offer version %s differs from the manifest's %s",
                          u->st.offer.version, u->man->version);
        goto out_free;
    }
    if (u->man->npayloads != 1) {
        rc = pf_error_set(err, PF_ELIMIT, "%zu payloads; an update carries exactly one",
                          u->man->npayloads);
        goto out_free;
    }
    if (u->man->kind == PF_KIND_FEETABLE &&
        strcmp(u->man->payloads[0].name, PF_FEETABLE_PAYLOAD) != 0) {
        rc = pf_error_set(err, PF_EMISSING_ENTRY, "fee-table bundle without %s",
                          PF_FEETABLE_PAYLOAD);
        goto out_free;
    }
    u->cur = pf_offer_entry_find(&u->st.offer, u->man->payloads[0].name);
    if (!u->cur || u->cur->size != u->man->payloads[0].size) {
        rc = pf_error_set(err, PF_ESIZE, "payload %s: offer range does not match the manifest",
                          u->man->payloads[0].name);
        goto out_free;
    }
    /* A newer keyring than the one we keep (e.g. with new revocations) becomes ours. */
    if (u->cfg.keyring && (!trust.keyring || decided->serial > saved->serial) &&
        upd__save_keyring(u, m[2], l[2], m[3], l[3]) != 0)
        pfa_warn(u->log, "update: cannot persist keyring %s", u->cfg.keyring);
out_free:
    for (int i = 0; i < 4; i++)
        free(m[i]);
    free(saved);
    free(decided);
    if (rc) {
        free(u->man);
        u->man = NULL;
        u->cur = NULL;
    }
    return rc;
}

/* ---- download --------------------------------------------------------------------- */

static const struct pf_offer_entry *upd__step_entry(struct pfa_update *u)
{
    if (u->st.entry < UPD_STEP_PAYLOAD)
        return pf_offer_entry_find(&u->st.offer, upd__meta_names[u->st.entry]);
    return u->cur;
}

/* Opens the writer of the current step, resuming after st.done bytes. */
static int upd__open_step(struct pfa_update *u, struct pf_error *err)
{
    char path[PATH_MAX];
    const char *target;
    int rc;

    if (u->st.entry < UPD_STEP_PAYLOAD) {
        u->cur = NULL;
        if (u->st.entry == 0)
            u->man = NULL;
        upd__meta_path(u, u->st.entry, path, sizeof(path));
        target = path;
        if (upd__step_entry(u)->size > upd__meta_limits[u->st.entry])
            return pf_error_set(err, PF_ELIMIT, "%s: %llu bytes, above the limit",
                                upd__meta_names[u->st.entry],
                                (unsigned long long)upd__step_entry(u)->size);
        rc = pfa_slot_open(&u->w, target, NULL, 0, &u->fault, err);
        if (rc == 0 && ftruncate(u->w.fd, (off_t)u->st.done) != 0)
            rc = pf_error_set(err, PF_EIO, "%s: truncate", target);
        if (rc == 0)
            u->w.written = u->st.done;
    } else {
        if (u->st.offer.kind == PF_KIND_FEETABLE &&
            strcmp(pfa_feestore_newest_version(u->fees), u->st.offer.version) == 0)
            return PF_EEXIST; /* staged before a restart: only the outcome is missing */
        if (!u->man && (rc = upd__verify_meta(u, err)) != 0)
            return rc;
        if (u->st.offer.kind == PF_KIND_FIRMWARE) {
            if (u->st.target == u->env.booted)
                return pf_error_set(err, PF_ESTATE, "refusing to write the running slot %s",
                                    pf_slot_names[u->st.target]);
            target = upd__slot_path(u, u->st.target);
        } else {
            target = pfa_feestore_path(u->fees, PFA_FEE_STAGED);
        }
        rc = pfa_slot_open(&u->w, target, &u->man->payloads[0], u->st.done, &u->fault, err);
    }
    if (rc)
        return rc;
    u->open = true;
    u->requested = u->st.done;
    u->persisted = u->st.done;
    u->progress_at = upd__mono(u);
    u->next_request_at = upd__mono(u);
    return 0;
}

static void upd__request(struct pfa_update *u)
{
    const struct pf_offer_entry *e = upd__step_entry(u);
    uint32_t chunk =
            u->cfg.chunk_size < u->st.offer.max_chunk ? u->cfg.chunk_size : u->st.offer.max_chunk;
    uint64_t limit = u->st.done + (uint64_t)chunk * (uint64_t)u->cfg.window;

    if (!u->connected || !u->open || !e)
        return;
    while (u->requested < e->size && u->requested < limit) {
        struct pf_chunkreq r;
        char buf[512];
        size_t len;
        uint64_t left = e->size - u->requested;

        memcpy(r.bundle, u->st.offer.bundle, PF_B2_LEN);
        r.offset = e->offset + u->requested;
        r.length = left < chunk ? (uint32_t)left : chunk;
        r.req = ++u->next_req;
        if (pf_chunkreq_encode(&r, buf, sizeof(buf), &len) != 0 ||
            u->io.publish(u->io.ctx, PF_DEV_CHUNKREQ, buf, len, 0) != 0)
            return;
        u->requested += r.length;
    }
}

static void upd__fail_download(struct pfa_update *u, int rc, const struct pf_error *err,
                               bool refused)
{
    if (rc == PF_EEXIST && u->st.entry == UPD_STEP_PAYLOAD &&
        u->st.offer.kind == PF_KIND_FEETABLE) {
        upd__finish(u, PF_UPD_SUCCESS, NULL, "staged before a restart");
        return;
    }
    upd__finish(u, refused ? PF_UPD_REFUSED : PF_UPD_FAILED, pf_errname(rc),
                err && err->msg[0] ? err->msg : pf_strerror(rc));
}

/* What the verifier refuses (never installable) as opposed to a failure to try. */
static bool upd__is_refusal(int rc)
{
    return rc <= PF_EBAD_SIG || rc == PF_EINVAL || rc == PF_EPARSE || rc == PF_ESCHEMA ||
           rc == PF_ERANGE || rc == PF_EVERSION || rc == PF_ETOOBIG;
}

static void upd__install(struct pfa_update *u);

/* The current step is complete: verify/close it and move on. */
static void upd__step_done(struct pfa_update *u)
{
    struct pf_error err = {0};
    int rc;

    if (u->st.entry < UPD_STEP_PAYLOAD) {
        rc = pfa_slot_sync(&u->w, &err);
        pfa_slot_close(&u->w);
        u->open = false;
        if (rc) {
            upd__fail_download(u, rc, &err, false);
            return;
        }
        u->st.entry++;
        u->st.done = 0;
        if (u->st.entry == UPD_STEP_PAYLOAD) {
            rc = upd__verify_meta(u, &err);
            if (rc) {
                upd__fail_download(u, rc, &err, upd__is_refusal(rc));
                return;
            }
            u->st.phase = PFA_UPD_DOWNLOAD;
            if (u->st.offer.kind == PF_KIND_FIRMWARE)
                u->st.target = pfa_slot_other(u->env.booted);
            upd__event(u, PF_UPD_DOWNLOADING, NULL, 0, NULL);
        }
        if (upd__persist(u) == 0 && (rc = upd__open_step(u, &err)) != 0)
            upd__fail_download(u, rc, &err, upd__is_refusal(rc));
        else
            upd__request(u);
        return;
    }
    rc = pfa_slot_finish(&u->w, &err);
    if (rc) {
        upd__fail_download(u, rc, &err, rc == PF_EDIGEST || rc == PF_ESIZE);
        return;
    }
    upd__install(u);
}

static void upd__on_chunk(struct pfa_update *u, const void *payload, size_t len)
{
    struct pf_error err = {0};
    struct pf_chunk_hdr h;
    const uint8_t *data;
    const struct pf_offer_entry *e;
    int rc;

    if (pf_chunk_decode(payload, len, &h, &data, &err) != 0) {
        u->stats.bad_messages++;
        pfa_warn(u->log, "update: %s", err.msg);
        return;
    }
    e = (u->st.phase == PFA_UPD_META || u->st.phase == PFA_UPD_DOWNLOAD) && u->open
                ? upd__step_entry(u)
                : NULL;
    if (!e || memcmp(h.bundle, u->st.offer.bundle, PF_B2_LEN) != 0 ||
        h.offset != e->offset + u->st.done || h.length > e->size - u->st.done) {
        u->stats.chunks_ignored++;
        return;
    }
    rc = pfa_slot_write(&u->w, data, h.length, &err);
    if (rc) {
        upd__fail_download(u, rc, &err, rc == PF_EEXCESS);
        return;
    }
    u->stats.chunks++;
    u->st.done += h.length;
    u->progress_at = upd__mono(u);
    if (u->st.done == e->size) {
        upd__step_done(u);
        return;
    }
    if (u->st.phase == PFA_UPD_DOWNLOAD) {
        int pct = (int)(u->st.done * 100 / e->size);
        if (pct / 25 > u->st.pct / 25 && pct < 100) {
            u->st.pct = pct - pct % 25;
            upd__event(u, PF_UPD_DOWNLOADING, NULL, u->st.pct, NULL);
            /* The state saved with the event holds done: the bytes it counts must be on
             * disk first, or a power cut leaves a state ahead of the slot (a resume that
             * re-reads zeros or a short file and fails the update). */
            if (pfa_slot_sync(&u->w, &err) == 0)
                (void)upd__persist(u);
        }
    }
    if (u->st.done - u->persisted >= u->cfg.persist_bytes) {
        /* The prefix must be on disk before the state says it is. */
        if (pfa_slot_sync(&u->w, &err) == 0)
            (void)upd__persist(u);
    }
    upd__request(u);
}

static void upd__on_chunkerr(struct pfa_update *u, const void *payload, size_t len)
{
    struct pf_error err = {0};
    struct pf_chunkerr ce;

    if (pf_chunkerr_decode(payload, len, &ce, &err) != 0) {
        u->stats.bad_messages++;
        pfa_warn(u->log, "update: %s", err.msg);
        return;
    }
    if ((u->st.phase != PFA_UPD_META && u->st.phase != PFA_UPD_DOWNLOAD) ||
        memcmp(ce.bundle, u->st.offer.bundle, PF_B2_LEN) != 0)
        return;
    if (ce.error == PF_CHUNKERR_BUSY) {
        u->requested = u->st.done;
        u->next_request_at = upd__mono(u) + UPD_BUSY_RETRY;
        return;
    }
    upd__finish(u, PF_UPD_FAILED,
                ce.error == PF_CHUNKERR_UNKNOWN_BUNDLE ? "UNKNOWN_BUNDLE"
                : ce.error == PF_CHUNKERR_OUT_OF_RANGE ? "OUT_OF_RANGE"
                                                       : "TOO_LARGE",
                ce.message);
}

/* ---- install ------------------------------------------------------------------------ */

static void upd__reboot(struct pfa_update *u)
{
    u->reboot_pending = true;
    if (u->hal->ops->reboot(u->hal) != 0)
        pfa_err(u->log, "update: the HAL refused the reboot request");
    if (u->io.reboot)
        u->io.reboot(u->io.ctx);
}

/* SWITCH: one atomic boot-environment write, then reboot when the terminal is idle. */
static void upd__switch(struct pfa_update *u)
{
    struct pf_error err = {0};
    bool busy = false;
    int rc;

    if (u->hal->ops->busy(u->hal, &busy) != 0 || busy) {
        if (strcmp(u->st.reason, "busy") != 0) {
            snprintf(u->st.reason, sizeof(u->st.reason), "busy");
            upd__event(u, PF_UPD_DEFERRED, "busy", 0, "reboot waits for the sale to end");
            (void)upd__persist(u);
        }
        u->reboot_check_at = upd__mono(u) + UPD_REBOOT_WAIT;
        return;
    }
    rc = u->boot->ops->try_slot(u->boot, u->st.target, u->cfg.boot_tries, &err);
    if (rc) {
        upd__finish(u, PF_UPD_FAILED, pf_errname(rc), err.msg);
        return;
    }
    u->env.target = u->st.target;
    u->env.trial = true;
    u->env.tries = u->cfg.boot_tries;
    u->st.phase = PFA_UPD_TRIAL;
    upd__event(u, PF_UPD_REBOOTING, NULL, 0, "into slot %s", pf_slot_names[u->st.target]);
    if (upd__persist(u) == 0)
        upd__reboot(u);
}

static void upd__install(struct pfa_update *u)
{
    struct pf_error err = {0};
    struct pfa_update_slotrec *rec;
    bool switched = false;
    int rc;

    upd__event(u, PF_UPD_VERIFYING, NULL, 0, NULL);
    if (u->st.offer.kind == PF_KIND_FEETABLE) {
        pfa_slot_close(&u->w);
        u->open = false;
        upd__event(u, PF_UPD_INSTALLING, NULL, 0, NULL);
        rc = pfa_feestore_stage(u->fees, u->st.offer.version, &err);
        if (rc == 0)
            rc = pfa_feestore_activate_due(u->fees, upd__wall(u) / 1000, &switched, &err);
        if (rc) {
            upd__finish(u, PF_UPD_FAILED, pf_errname(rc), err.msg);
            return;
        }
        upd__identity(u); /* active now, or pending until its time: reported either way */
        upd__finish(u, PF_UPD_SUCCESS, NULL,
                    pfa_feestore_pending_version(u->fees)[0] ? "pending until effective_at"
                                                             : "active");
        return;
    }
    rec = &u->st.slots[u->st.target];
    rec->known = true;
    memcpy(rec->version, u->man->version, sizeof(rec->version));
    rec->size = u->man->payloads[0].size;
    memcpy(rec->digest, u->man->payloads[0].digest, PF_B2_LEN);
    upd__close_download(u);
    u->st.phase = PFA_UPD_SWITCH;
    u->st.reason[0] = '\0';
    upd__event(u, PF_UPD_INSTALLING, NULL, 0, "slot %s", pf_slot_names[u->st.target]);
    if (upd__persist(u) == 0)
        upd__switch(u);
}

/* ---- consent ------------------------------------------------------------------------- */

static void upd__consent(struct pfa_update *u)
{
    const struct pfa_hal_ops *ops = u->hal->ops;
    struct pf_error err = {0};
    const char *reason = NULL;
    bool busy = false, charging = false;
    int battery = 0, rc;
    uint64_t free_kb = 0;

    if (ops->busy(u->hal, &busy) != 0 || busy)
        reason = "busy";
    else if (ops->power(u->hal, &battery, &charging) != 0 ||
             (battery < u->cfg.battery_min_pct && !charging))
        reason = "battery";
    else if (ops->storage_free(u->hal, &free_kb) != 0 ||
             free_kb < u->st.offer.size / 1024 + (uint64_t)u->cfg.storage_margin_kb)
        reason = "storage";
    if (reason) {
        u->st.retry_at = upd__wall(u) + (int64_t)u->cfg.retry_s * 1000;
        if (strcmp(u->st.reason, reason) != 0) {
            snprintf(u->st.reason, sizeof(u->st.reason), "%s", reason);
            upd__event(u, PF_UPD_DEFERRED, reason, 0, "retrying in %d s", u->cfg.retry_s);
        }
        (void)upd__persist(u);
        return;
    }
    u->st.reason[0] = '\0';
    u->st.phase = PFA_UPD_META;
    u->st.entry = 0;
    u->st.done = 0;
    upd__event(u, PF_UPD_ACCEPTED, NULL, 0, NULL);
    if (upd__persist(u) != 0)
        return;
    rc = upd__open_step(u, &err);
    if (rc)
        upd__fail_download(u, rc, &err, upd__is_refusal(rc));
    else
        upd__request(u);
}

static void upd__on_offer(struct pfa_update *u, const void *payload, size_t len)
{
    struct pf_error err = {0};
    struct pf_offer *o = malloc(sizeof(*o));

    if (!o)
        return;
    if (pf_offer_decode(payload, len, o, &err) != 0) {
        u->stats.bad_messages++;
        pfa_warn(u->log, "update: %s", err.msg);
        goto out_free;
    }
    u->stats.offers++;
    if (u->st.phase != PFA_UPD_IDLE || strcmp(o->id, u->st.last_offer) == 0) {
        /* The same offer again: posfleetd sends it again while it has recorded no
         * event of it, so what it needs is in the outbox, which goes out again on
         * each event's own resend clock; sending the whole outbox at every repeat
         * made duplicates (docs/benchmarks.md, rollout_fleet). Another offer waits. */
        if (strcmp(o->id, u->st.offer.id) != 0 && strcmp(o->id, u->st.last_offer) != 0 &&
            u->connected) {
            struct pf_offer keep = u->st.offer;
            u->st.offer = *o;
            upd__event(u, PF_UPD_DEFERRED, "update_in_progress", 0, "another update is running");
            u->st.offer = keep;
            (void)upd__persist(u);
        }
        goto out_free;
    }
    u->st.offer = *o;
    u->st.reason[0] = '\0';
    if (o->deadline_ms < upd__wall(u)) {
        u->st.phase = PFA_UPD_OFFERED;
        upd__finish(u, PF_UPD_FAILED, "DEADLINE", "offer arrived after its deadline");
        goto out_free;
    }
    /* What it already runs is not an update: "refused ALREADY", which a
     * rollout counts as done (docs/protocol.md), not as a rollback. */
    if ((o->kind == PF_KIND_FIRMWARE && pf_version_cmp(o->version, u->fw_version) == 0) ||
        (o->kind == PF_KIND_FEETABLE && pfa_feestore_newest_version(u->fees)[0] &&
         pf_version_cmp(o->version, pfa_feestore_newest_version(u->fees)) == 0)) {
        u->st.phase = PFA_UPD_OFFERED;
        upd__finish(u, PF_UPD_REFUSED, PF_UPDATE_CODE_ALREADY, "this version is installed");
        goto out_free;
    }
    if (o->kind == PF_KIND_FIRMWARE &&
        pf_version_cmp(o->version, u->st.fw_floor[0] ? u->st.fw_floor : u->fw_version) <= 0) {
        u->st.phase = PFA_UPD_OFFERED;
        upd__finish(u, PF_UPD_REFUSED, pf_errname(PF_EROLLBACK),
                    "version not above the installed one");
        goto out_free;
    }
    u->st.phase = PFA_UPD_OFFERED;
    u->st.retry_at = 0;
    (void)upd__persist(u);
out_free:
    free(o);
}

/* ---- boot decision --------------------------------------------------------------------- */

static void upd__selftest(struct pfa_update *u, char *failed, size_t len)
{
    enum pf_check res[PF_COMP_COUNT];

    if (u->io.selftest)
        u->io.selftest(u->io.ctx, u->fw_version, res);
    else
        pfa_hal_selftest_all(u->hal, res);
    failed[0] = '\0';
    for (int c = 0; c < PF_COMP_COUNT; c++) {
        if (res[c] == PF_CHECK_FAIL) {
            snprintf(failed, len, "%s", pf_component_names[c]);
            return;
        }
    }
}

/* Runs once per boot: finishes a trial (commit or fall back) or a fallback. */
static int upd__boot(struct pfa_update *u, struct pf_error *err)
{
    struct pfa_update_state *s = &u->st;
    char failed[32];
    int rc;

    switch (s->phase) {
    case PFA_UPD_SWITCH:
        if (u->env.trial && u->env.booted == s->target) {
            s->phase = PFA_UPD_TRIAL; /* the switch was written; this is the trial boot */
        } else {
            u->reboot_check_at = upd__mono(u); /* switch again (idempotent) */
            return 0;
        }
        /* fall through */
    case PFA_UPD_TRIAL:
        if (u->env.booted != s->target) {
            if (u->env.trial) { /* not rebooted yet (agent restarted): reboot now */
                upd__reboot(u);
                return 0;
            }
            u->boot_outcome = PF_BOOT_ROLLED_BACK;
            upd__finish(u, PF_UPD_ROLLED_BACK, "BOOT_LIMIT",
                        "the bootloader fell back after the boot counter ran out");
            return 0;
        }
        upd__selftest(u, failed, sizeof(failed));
        if (failed[0]) {
            s->phase = PFA_UPD_FALLBACK;
            snprintf(s->code, sizeof(s->code), "SELFTEST:%s", failed);
            upd__event(u, PF_UPD_REBOOTING, NULL, 0, "self-test %s failed: back to slot %s", failed,
                       pf_slot_names[u->env.good]);
            rc = upd__persist(u);
            if (rc)
                return pf_error_set(err, rc, "update: cannot persist the fallback");
            goto fallback;
        }
        if (u->env.trial || u->env.good != s->target) {
            rc = u->boot->ops->commit(u->boot, s->target, err);
            if (rc)
                return rc;
            u->env.good = u->env.target = s->target;
            u->env.trial = false;
        }
        memcpy(s->fw_floor, s->slots[s->target].version, sizeof(s->fw_floor));
        u->boot_outcome = PF_BOOT_UPDATED;
        upd__finish(u, PF_UPD_SUCCESS, NULL, "self-test passed; committed");
        return 0;
    case PFA_UPD_FALLBACK:
        if (u->env.booted != s->target) {
            char code[PF_UPDATE_CODE_MAX + 1];
            memcpy(code, s->code, sizeof(code));
            u->boot_outcome = PF_BOOT_ROLLED_BACK;
            upd__finish(u, PF_UPD_ROLLED_BACK, code, "self-test failed on the new slot");
            return 0;
        }
    fallback:
        rc = u->boot->ops->fallback(u->boot, err);
        if (rc)
            return rc;
        u->env.target = u->env.good;
        u->env.trial = false;
        upd__reboot(u);
        return 0;
    default:
        return 0;
    }
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

void pfa_update_config_init(struct pfa_update_config *c)
{
    memset(c, 0, sizeof(*c));
    c->battery_min_pct = 30;
    c->storage_margin_kb = 1024;
    c->retry_s = 300;
    c->stall_s = 120;
    c->resend_s = 30;
    c->boot_tries = 3;
    c->chunk_size = 64 * 1024;
    c->window = 4;
    c->persist_bytes = 4u << 20;
    c->boot_backend = "file";
}

/* Every boot-environment write is a crash point (pfa/update_fault.h). */
static void upd__boot_crash_point(void *fault)
{
    pfa_fault_point(fault);
}

static int upd__load_state(struct pfa_update *u, struct pf_error *err)
{
    char *buf = NULL;
    size_t len;
    int rc = pf_file_read(u->state_path, PFA_STATE_MAX, &buf, &len);

    if (rc == PF_ENOENT)
        return 0;
    if (rc)
        return pf_error_set(err, rc, "%s: %s", u->state_path, pf_strerror(rc));
    rc = pfa_update_state_decode(buf, len, &u->st, err);
    free(buf);
    if (rc) {
        pf_error_prefix(err, "%s", u->state_path);
        return rc;
    }
    for (size_t i = 0; i < u->st.nout; i++)
        u->st.sent_ms[i] = UPD_SENT_BEFORE;
    return 0;
}

int pfa_update_new(const struct pfa_update_config *cfg, struct pfa_hal *hal,
                   const struct pf_clock *clock, const struct pfa_update_io *io,
                   struct pfa_log *log, struct pfa_update **out, struct pf_error *err)
{
    struct pfa_update *u;
    struct pfa_update_slotrec *run;
    int rc;

    if (!cfg->state_dir || !cfg->slot_a || !cfg->slot_b || !cfg->trust_root || !cfg->feetable_dir ||
        !cfg->model || !cfg->hw_rev || !cfg->fw_version)
        return pf_error_set(err, PF_EINVAL, "update: incomplete configuration");
    u = calloc(1, sizeof(*u));
    if (!u)
        return pf_error_set(err, PF_ENOMEM, "update: out of memory");
    u->cfg = *cfg;
    u->hal = hal;
    u->clock = clock;
    u->io = *io;
    u->log = log;
    u->w.fd = -1;
    pfa_update_state_init(&u->st);
    pfa_fault_init(&u->fault);
    if (strlen(cfg->state_dir) > PATH_MAX - 64) {
        rc = pf_error_set(err, PF_ETOOBIG, "update: state_dir too long");
        goto out_free;
    }
    u->dir = malloc(strlen(cfg->state_dir) + 8);
    u->state_path = malloc(strlen(cfg->state_dir) + 20);
    if (!u->dir || !u->state_path) {
        rc = pf_error_set(err, PF_ENOMEM, "update: out of memory");
        goto out_free;
    }
    snprintf(u->dir, strlen(cfg->state_dir) + 8, "%s/update", cfg->state_dir);
    snprintf(u->state_path, strlen(cfg->state_dir) + 20, "%s/state.json", u->dir);
    if ((rc = pf_mkdir_p(u->dir, 0700)) != 0) {
        pf_error_set(err, rc, "update: %s: %s", u->dir, pf_strerror(rc));
        goto out_free;
    }
    if ((rc = upd__load_state(u, err)) != 0 ||
        (rc = pfa_feestore_open(cfg->feetable_dir, &u->fault, &u->fees, err)) != 0 ||
        (rc = pfa_boot_new(cfg->boot_backend, cfg->boot_env, cfg->boot_cmdline, cfg->fw_slot,
                           &u->boot, err)) != 0)
        goto out_free;
    u->boot->before_write = upd__boot_crash_point;
    u->boot->hook_ctx = &u->fault;
    if ((rc = u->boot->ops->load(u->boot, &u->env, err)) != 0)
        goto out_free;
    /* The running firmware: what we installed in the booted slot, or the factory image. */
    run = &u->st.slots[u->env.booted];
    if (!run->known && u->st.slots[pfa_slot_other(u->env.booted)].known == false) {
        run->known = true;
        memcpy(run->version, cfg->fw_version, strlen(cfg->fw_version) + 1);
        if (!u->st.fw_floor[0])
            memcpy(u->st.fw_floor, cfg->fw_version, strlen(cfg->fw_version) + 1);
    }
    snprintf(u->fw_version, sizeof(u->fw_version), "%s",
             run->known ? run->version : cfg->fw_version);
    rc = upd__boot(u, err);
    if (rc)
        goto out_free;
    if (u->st.phase == PFA_UPD_TRIAL || u->st.phase == PFA_UPD_SWITCH) {
        run = &u->st.slots[u->env.booted];
        snprintf(u->fw_version, sizeof(u->fw_version), "%s",
                 run->known ? run->version : cfg->fw_version);
    } else {
        snprintf(u->fw_version, sizeof(u->fw_version), "%s",
                 u->st.slots[u->env.booted].known ? u->st.slots[u->env.booted].version
                                                  : cfg->fw_version);
    }
    upd__identity(u);
    upd__rto_set(u);
    *out = u;
    return 0;

out_free:
    pfa_update_free(u);
    return rc;
}

void pfa_update_free(struct pfa_update *u)
{
    if (!u)
        return;
    upd__close_download(u);
    pfa_boot_free(u->boot);
    pfa_feestore_close(u->fees);
    pfa_update_state_release(&u->st);
    free(u->dir);
    free(u->state_path);
    free(u);
}

/* ---- driving ------------------------------------------------------------------------------ */

bool pfa_update_on_message(struct pfa_update *u, const char *leaf, const void *payload, size_t len)
{
    if (u->reboot_pending)
        return strcmp(leaf, PF_CMD_OFFER) == 0 || strcmp(leaf, PF_CMD_CHUNK) == 0 ||
               strcmp(leaf, PF_CMD_CHUNKERR) == 0;
    if (strcmp(leaf, PF_CMD_CHUNK) == 0)
        upd__on_chunk(u, payload, len);
    else if (strcmp(leaf, PF_CMD_OFFER) == 0)
        upd__on_offer(u, payload, len);
    else if (strcmp(leaf, PF_CMD_CHUNKERR) == 0)
        upd__on_chunkerr(u, payload, len);
    else
        return false;
    return true;
}

void pfa_update_on_ack(struct pfa_update *u, const char *id)
{
    int i = pfa_update_outbox_find(&u->st, id);

    /* Karn's rule: the ack of an event sent twice may be the first send's, so it times
     * nothing. Except while nothing was ever timed (a terminal's first event): then it
     * times the round trip from the first send, which can only be too long (the first
     * send lost), never too short; a first estimate instead of resend_s, whose every
     * event went out twice while acks took longer. */
    if (i >= 0 && u->st.sends[i] == 1 && u->st.sent_ms[i] > 0)
        upd__rtt_sample(u, upd__mono(u) - u->st.sent_ms[i]);
    else if (i >= 0 && !upd__timed(u) && u->st.first_ms[i] > 0)
        upd__rtt_sample(u, upd__mono(u) - u->st.first_ms[i]);
    if (pfa_update_outbox_remove(&u->st, id)) {
        u->stats.events_acked++;
        (void)upd__persist(u);
    }
}

void pfa_update_on_connect(struct pfa_update *u)
{
    int64_t now = upd__mono(u);

    u->connected = true;
    /* An event sent before (on the last connection, or by the run before a restart)
     * may have its ack queued in the persistent session, delivered right after this
     * connect: it waits resend_s from now. One never sent goes out at once. */
    for (size_t i = 0; i < u->st.nout; i++) {
        if (u->st.sent_ms[i] != 0) {
            u->st.sent_ms[i] = now;
            u->st.sends[i] = 2; /* its ack, if it comes, times nothing */
            u->st.first_ms[i] = 0;
        }
    }
    u->requested = u->st.done;
    u->progress_at = upd__mono(u);
    u->next_request_at = upd__mono(u);
}

void pfa_update_on_disconnect(struct pfa_update *u)
{
    u->connected = false;
    u->requested = u->st.done;
}

static void upd__tick_download(struct pfa_update *u, int64_t now)
{
    struct pf_error err = {0};
    int rc;

    if (!u->open) {
        rc = upd__open_step(u, &err);
        if (rc) {
            upd__fail_download(u, rc, &err, upd__is_refusal(rc));
            return;
        }
    }
    if (!u->connected)
        return;
    if (now - u->progress_at >= (int64_t)u->cfg.stall_s * 1000) {
        upd__finish(u, PF_UPD_FAILED, "TIMEOUT", "no download progress (stalled transfer)");
        return;
    }
    if (now >= u->next_request_at && u->requested > u->st.done && now - u->progress_at >= 5000) {
        u->stats.stalls++;
        u->requested = u->st.done; /* chunks lost: ask again from the last byte in place */
    }
    if (now >= u->next_request_at) {
        u->next_request_at = now + 5000;
        upd__request(u);
    }
}

void pfa_update_tick(struct pfa_update *u)
{
    int64_t now = upd__mono(u), wall = upd__wall(u);
    struct pf_error err = {0};
    bool switched = false, busy = false, resent = false;

    if (u->reboot_pending)
        return;
    for (size_t i = 0; u->connected && i < u->st.nout; i++) {
        if (now >= upd__due(u, i, now)) {
            resent = resent || u->st.sends[i] > 0;
            upd__send(u, i, now);
        }
    }
    /* No ack within the timeout: wait longer before the next resend (Karn), until an
     * ack of an event sent once times the round trip again. */
    if (resent)
        u->rto_ms = 2 * u->rto_ms > upd__rto_max(u) ? upd__rto_max(u) : 2 * u->rto_ms;
    if (pfa_feestore_pending_at(u->fees) <= wall / 1000 && u->hal->ops->busy(u->hal, &busy) == 0 &&
        !busy) {
        if (pfa_feestore_activate_due(u->fees, wall / 1000, &switched, &err) != 0)
            pfa_err(u->log, "update: %s", err.msg);
        else if (switched) {
            pfa_info(u->log, "fee table %s active", pfa_feestore_active_version(u->fees));
            upd__identity(u);
        }
    }
    switch (u->st.phase) {
    case PFA_UPD_OFFERED:
        if (wall > u->st.offer.deadline_ms)
            upd__finish(u, PF_UPD_FAILED, "DEADLINE", "not accepted before the offer's deadline");
        else if (wall >= u->st.retry_at)
            upd__consent(u);
        break;
    case PFA_UPD_META:
    case PFA_UPD_DOWNLOAD:
        if (wall > u->st.offer.deadline_ms)
            upd__finish(u, PF_UPD_FAILED, "DEADLINE", "not downloaded before the deadline");
        else
            upd__tick_download(u, now);
        break;
    case PFA_UPD_SWITCH:
        if (now >= u->reboot_check_at)
            upd__switch(u);
        break;
    default:
        break;
    }
}

int64_t pfa_update_next_deadline_ms(const struct pfa_update *u)
{
    int64_t now = upd__mono(u), wall = upd__wall(u), d = INT64_MAX;
    int64_t fee = pfa_feestore_pending_at(u->fees);

    if (u->reboot_pending)
        return INT64_MAX;
    for (size_t i = 0; u->connected && i < u->st.nout; i++)
        d = upd__min(d, upd__due(u, i, now));
    if (fee != INT64_MAX)
        d = upd__min(d, now + upd__min(UPD_FEE_RECHECK, fee * 1000 - wall));
    switch (u->st.phase) {
    case PFA_UPD_OFFERED:
        d = upd__min(d, now + (u->st.retry_at - wall));
        break;
    case PFA_UPD_META:
    case PFA_UPD_DOWNLOAD:
        if (!u->open)
            return now;
        if (u->connected)
            d = upd__min(d, upd__min(u->next_request_at,
                                     u->progress_at + (int64_t)u->cfg.stall_s * 1000));
        break;
    case PFA_UPD_SWITCH:
        d = upd__min(d, u->reboot_check_at);
        break;
    default:
        break;
    }
    return d;
}

void pfa_update_identity(const struct pfa_update *u, const char **fw_version, enum pf_slot *slot,
                         const char **fee_version)
{
    *fw_version = u->fw_version;
    *slot = u->env.booted;
    *fee_version = pfa_feestore_active_version(u->fees);
}

void pfa_update_stats(const struct pfa_update *u, struct pfa_update_stats *st)
{
    *st = u->stats;
    st->outbox = u->st.nout;
    st->crash_points = u->fault.count;
    st->busy = u->st.phase != PFA_UPD_IDLE;
}

enum pf_boot_outcome pfa_update_boot_outcome(const struct pfa_update *u)
{
    return u->boot_outcome;
}

bool pfa_update_reboot_pending(const struct pfa_update *u)
{
    return u->reboot_pending;
}
