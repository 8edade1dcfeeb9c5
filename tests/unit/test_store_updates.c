/*
 * test_store_updates.c - the store's update tables: bundles (idempotent,
 * audited once), offers, outcome events recorded once per (serial, id), the
 * current update never leaving a final status, and the per-status counts;
 * which offers a terminal was made (events and chunks of other offers are
 * refused by the domain) and the age limit of the update history.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "store/store_updates.h"
#include "testutil.h"

static char dir[256];
static char dbpath[300];
static const struct pfs_actor ops = {.name = "alice", .role = "ops"};

static void setup(void)
{
    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(dbpath, sizeof(dbpath), "%s/s.db", dir);
}

static void teardown(void)
{
    pf_test_rmtree(dir);
}

static struct pfs_store *open_store(void)
{
    struct pfs_store_opts o = {.path = dbpath};
    struct pfs_store *st = NULL;
    struct pf_error err = {0};

    ck_assert_int_eq(pfs_store_open(&o, &st, &err), 0);
    return st;
}

static void bundle(struct pfs_bundle_rec *b, char c)
{
    memset(b, 0, sizeof(*b));
    memset(b->id, c, PF_B2_HEX_LEN);
    b->kind = PF_KIND_FIRMWARE;
    snprintf(b->version, sizeof(b->version), "1.2.3");
    snprintf(b->models, sizeof(b->models), "PX-500,PX-510");
    b->size = 4096;
    memset(b->manifest, 'e', PF_B2_HEX_LEN);
    b->created_s = 100;
    b->expires_s = 200;
    b->uploaded_ms = 1000;
}

static int count_audit(void *ctx, const struct pfs_audit *a)
{
    if (strcmp(a->action, "bundle.upload") == 0 || strcmp(a->action, "device.update") == 0)
        ++*(int *)ctx;
    return 0;
}

START_TEST(bundle_put_idempotent)
{
    struct pfs_store *st = open_store();
    struct pfs_bundle_rec b, got, again;
    struct pf_error err = {0};
    bool created = false;
    int audits = 0;

    bundle(&b, 'a');
    ck_assert_int_eq(pfs_store_bundle_get(st, b.id, &got), PF_ENOENT);
    ck_assert_int_eq(pfs_store_bundle_put(st, &b, &ops, 1000, &created, &err), 0);
    ck_assert(created);
    again = b;
    again.uploaded_ms = 9999;
    snprintf(again.version, sizeof(again.version), "9.9.9");
    ck_assert_int_eq(pfs_store_bundle_put(st, &again, &ops, 2000, &created, &err), 0);
    ck_assert(!created);
    ck_assert_int_eq(pfs_store_bundle_get(st, b.id, &got), 0);
    ck_assert_str_eq(got.version, "1.2.3"); /* the first record stays */
    ck_assert_int_eq(got.uploaded_ms, 1000);
    ck_assert_str_eq(got.models, "PX-500,PX-510");
    ck_assert_int_eq(got.size, 4096);
    ck_assert_int_eq(pfs_store_audit_list(st, NULL, 0, 100, count_audit, &audits), 0);
    ck_assert_int_eq(audits, 1);
    pfs_store_close(st);
}
END_TEST

static void offer(struct pfs_store *st, const char *id, const char *serial,
                  const struct pfs_bundle_rec *b, int expect)
{
    struct pfs_offer_rec o = {0};
    struct pf_error err = {0};

    snprintf(o.id, sizeof(o.id), "%s", id);
    snprintf(o.serial, sizeof(o.serial), "%s", serial);
    snprintf(o.bundle, sizeof(o.bundle), "%s", b->id);
    o.created_ms = 5000;
    o.deadline_ms = 9000;
    ck_assert_int_eq(pfs_store_offer_put(st, &o, b, "{}", &ops, &err), expect);
}

static void event(struct pf_update_event *e, const char *id, const char *offer,
                  enum pf_update_status status, int pct)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->id, sizeof(e->id), "%s", id);
    snprintf(e->offer, sizeof(e->offer), "%s", offer);
    memset(e->bundle, 0xaa, PF_B2_LEN);
    e->kind = PF_KIND_FIRMWARE;
    snprintf(e->version, sizeof(e->version), "1.2.3");
    e->status = status;
    e->percent = pct;
    e->ts_ms = 7000;
}

static int collect(void *ctx, const struct pfs_update_rec *r)
{
    char *out = ctx;
    size_t n = strlen(out);

    snprintf(out + n, 256 - n, "%s%s", n ? "," : "", r->status);
    return 0;
}

START_TEST(events_recorded_once)
{
    struct pfs_store *st = open_store();
    struct pfs_bundle_rec b;
    struct pfs_update_rec cur;
    struct pf_update_event e;
    struct pf_error err = {0};
    char seen[256] = "";
    bool created, rec;
    int64_t n;

    bundle(&b, 'a');
    ck_assert_int_eq(pfs_store_bundle_put(st, &b, &ops, 1000, &created, &err), 0);
    ck_assert_int_eq(pfs_store_update_current(st, "T1", &cur), PF_ENOENT);
    offer(st, "o1", "T1", &b, 0);
    offer(st, "o1", "T2", &b, PF_EEXIST); /* the id is taken: nothing changes */
    ck_assert_int_eq(pfs_store_update_current(st, "T2", &cur), PF_ENOENT);
    ck_assert_int_eq(pfs_store_update_current(st, "T1", &cur), 0);
    ck_assert_str_eq(cur.status, "offered");
    ck_assert_str_eq(cur.bundle, b.id);

    event(&e, "e1", "o1", PF_UPD_DOWNLOADING, 25);
    ck_assert_int_eq(pfs_store_update_event_put(st, "T1", &e, 100, &rec), 0);
    ck_assert(rec);
    e.percent = 50; /* a retransmission under the same id changes nothing */
    ck_assert_int_eq(pfs_store_update_event_put(st, "T1", &e, 101, &rec), 0);
    ck_assert(!rec);
    ck_assert_int_eq(pfs_store_update_event_count(st, "T1", "e1", &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(pfs_store_update_current(st, "T1", &cur), 0);
    ck_assert_str_eq(cur.status, "downloading");
    ck_assert_int_eq(cur.percent, 25);
    /* The same id from another terminal is its own event. */
    ck_assert_int_eq(pfs_store_update_event_put(st, "T2", &e, 102, &rec), 0);
    ck_assert(rec);

    event(&e, "e2", "o1", PF_UPD_FAILED, 0);
    snprintf(e.code, sizeof(e.code), "DIGEST");
    ck_assert_int_eq(pfs_store_update_event_put(st, "T1", &e, 103, &rec), 0);
    ck_assert(rec);
    /* A late non-final event is recorded but does not reopen the outcome. */
    event(&e, "e3", "o1", PF_UPD_DOWNLOADING, 75);
    ck_assert_int_eq(pfs_store_update_event_put(st, "T1", &e, 104, &rec), 0);
    ck_assert(rec);
    ck_assert_int_eq(pfs_store_update_current(st, "T1", &cur), 0);
    ck_assert_str_eq(cur.status, "failed");
    ck_assert_str_eq(cur.code, "DIGEST");
    /* An event of another offer is history only. */
    event(&e, "e4", "o-old", PF_UPD_SUCCESS, 0);
    ck_assert_int_eq(pfs_store_update_event_put(st, "T1", &e, 105, &rec), 0);
    ck_assert_int_eq(pfs_store_update_current(st, "T1", &cur), 0);
    ck_assert_str_eq(cur.offer, "o1");
    ck_assert_str_eq(cur.status, "failed");

    ck_assert_int_eq(pfs_store_update_events(st, "T1", 10, collect, seen), 0);
    ck_assert_str_eq(seen, "success,downloading,failed,downloading");
    seen[0] = '\0';
    ck_assert_int_eq(pfs_store_update_events(st, "T1", 2, collect, seen), 0);
    ck_assert_str_eq(seen, "success,downloading");
    pfs_store_close(st);
}
END_TEST

static int count_cb(void *ctx, const char *key, int64_t n)
{
    char *out = ctx;
    size_t len = strlen(out);

    snprintf(out + len, 256 - len, "%s=%lld;", key, (long long)n);
    return 0;
}

START_TEST(counts_and_reopen)
{
    struct pfs_store *st = open_store();
    struct pfs_bundle_rec b;
    struct pf_update_event e;
    struct pf_error err = {0};
    char counts[256] = "";
    bool created, rec;

    bundle(&b, 'b');
    ck_assert_int_eq(pfs_store_bundle_put(st, &b, &ops, 1000, &created, &err), 0);
    offer(st, "o1", "T1", &b, 0);
    offer(st, "o2", "T2", &b, 0);
    event(&e, "e1", "o1", PF_UPD_SUCCESS, 0);
    ck_assert_int_eq(pfs_store_update_event_put(st, "T1", &e, 100, &rec), 0);
    ck_assert_int_eq(pfs_store_update_counts(st, count_cb, counts), 0);
    ck_assert_str_eq(counts, "offered=1;success=1;");
    pfs_store_close(st);

    /* Everything survives a reopen (committed before returning). */
    st = open_store();
    counts[0] = '\0';
    ck_assert_int_eq(pfs_store_update_counts(st, count_cb, counts), 0);
    ck_assert_str_eq(counts, "offered=1;success=1;");
    ck_assert_int_eq(pfs_store_update_event_put(st, "T1", &e, 100, &rec), 0);
    ck_assert(!rec);
    pfs_store_close(st);
}
END_TEST

START_TEST(offers_of_a_terminal)
{
    struct pfs_store *st = open_store();
    struct pfs_bundle_rec b;
    struct pfs_offer_rec o;
    struct pf_update_event e;
    struct pf_error err = {0};
    uint64_t size = 0;
    bool created, rec;

    bundle(&b, 'a');
    ck_assert_int_eq(pfs_store_bundle_put(st, &b, &ops, 1000, &created, &err), 0);
    ck_assert_int_eq(pfs_store_offer_check(st, "T1", "o1"), PF_ENOENT);
    ck_assert_int_eq(pfs_store_offer_current(st, "T1", 6000, &o, &size), PF_ENOENT);
    offer(st, "o1", "T1", &b, 0);
    ck_assert_int_eq(pfs_store_offer_check(st, "T1", "o1"), 0);
    ck_assert_int_eq(pfs_store_offer_check(st, "T2", "o1"), PF_ENOENT); /* T1's, not T2's */
    ck_assert_int_eq(pfs_store_offer_check(st, "T1", "o9"), PF_ENOENT);
    ck_assert_int_eq(pfs_store_offer_current(st, "T1", 6000, &o, &size), 0);
    ck_assert_str_eq(o.id, "o1");
    ck_assert_str_eq(o.bundle, b.id);
    ck_assert_uint_eq(size, 4096);
    ck_assert_int_eq(pfs_store_offer_current(st, "T2", 6000, &o, &size), PF_ENOENT);
    /* Past its deadline (9000), or with a final outcome, it is no longer current. */
    ck_assert_int_eq(pfs_store_offer_current(st, "T1", 9000, &o, &size), PF_ENOENT);
    event(&e, "e1", "o1", PF_UPD_SUCCESS, 0);
    ck_assert_int_eq(pfs_store_update_event_put(st, "T1", &e, 6100, &rec), 0);
    ck_assert_int_eq(pfs_store_offer_current(st, "T1", 6200, &o, &size), PF_ENOENT);
    ck_assert_int_eq(pfs_store_offer_check(st, "T1", "o1"), 0); /* still made to T1 */
    pfs_store_close(st);
}
END_TEST

START_TEST(update_history_expires)
{
    struct pfs_store *st = open_store();
    struct pfs_bundle_rec b;
    struct pfs_update_rec cur;
    struct pf_update_event e;
    struct pf_error err = {0};
    char seen[256] = "";
    bool created, rec;
    int n = -1;

    bundle(&b, 'a');
    ck_assert_int_eq(pfs_store_bundle_put(st, &b, &ops, 1000, &created, &err), 0);
    offer(st, "o1", "T1", &b, 0);
    for (int i = 0; i < 5; i++) {
        char id[8];

        snprintf(id, sizeof(id), "e%d", i);
        event(&e, id, "o1", i < 4 ? PF_UPD_DOWNLOADING : PF_UPD_SUCCESS, i * 25);
        ck_assert_int_eq(pfs_store_update_event_put(st, "T1", &e, 100 + i * 100, &rec), 0);
    }
    /* Received before 300: the first two; in chunks of max, oldest first. */
    ck_assert_int_eq(pfs_store_update_expire(st, 300, 1000, 1, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(pfs_store_update_expire(st, 300, 1000, 10, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(pfs_store_update_expire(st, 300, 1000, 10, &n), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(pfs_store_update_events(st, "T1", 10, collect, seen), 0);
    ck_assert_str_eq(seen, "success,downloading,downloading");
    /* Per terminal: the newest keep. */
    ck_assert_int_eq(pfs_store_update_prune(st, "T1", 2, 1000, &n), 0);
    ck_assert_int_eq(n, 1);
    seen[0] = '\0';
    ck_assert_int_eq(pfs_store_update_events(st, "T1", 10, collect, seen), 0);
    ck_assert_str_eq(seen, "success,downloading");
    ck_assert_int_eq(pfs_store_update_prune(st, "T1", 2, 1000, &n), 0);
    ck_assert_int_eq(n, 0);
    /* All of it: the current update stays. */
    ck_assert_int_eq(pfs_store_update_expire(st, 10000, 10000, 10, &n), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(pfs_store_update_current(st, "T1", &cur), 0);
    ck_assert_str_eq(cur.status, "success");
    pfs_store_close(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store_updates");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, bundle_put_idempotent);
    tcase_add_test(tc, events_recorded_once);
    tcase_add_test(tc, counts_and_reopen);
    tcase_add_test(tc, offers_of_a_terminal);
    tcase_add_test(tc, update_history_expires);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
