/*
 * test_inbound_retain.c - fleet/inbound.c refuses a message the broker
 * delivered as retained (RETAINED), before any route or the registry cache
 * sees it. The retained check comes before the registry cache, so the
 * dispatcher runs here without one; a route records its calls. Dispatch of
 * messages that are not retained is unit_server_ingest's.
 */
#include <string.h>

#include "fleet/inbound.h"
#include "testutil.h"

static const struct pfs_log quiet = {PFS_LOG_ERROR};

struct calls {
    int n;
};

static int count_route(void *ctx, const char *serial, const void *payload, size_t len)
{
    struct calls *c = ctx;

    (void)serial;
    (void)payload;
    (void)len;
    c->n++;
    return 0;
}

START_TEST(retained_refused)
{
    static const char *topics[] = {"pf/v1/dev/TR-0001/health", "pf/v1/dev/TR-0001/state",
                                   "pf/v1/dev/TR-0001/event", "pf/v1/dev/TR-0001/x"};
    struct pfs_metrics metrics;
    struct pfs_inbound in;
    struct calls calls = {0};
    struct pfs_inbound_route routes[PF_LEAF_COUNT];
    size_t i;

    pfs_metrics_init(&metrics);
    for (i = 0; i < PF_LEAF_COUNT; i++)
        routes[i] = (struct pfs_inbound_route){(enum pf_dev_leaf)i, count_route, &calls};
    pfs_inbound_init(&in, NULL, &metrics, &quiet, &pf_clock_system);
    pfs_inbound_routes(&in, routes, PF_LEAF_COUNT);
    for (i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
        ck_assert_int_eq(pfs_inbound_receive(&in, topics[i], "{\"v\":1}", 7, true), PF_ERETAINED);
    ck_assert_int_eq(calls.n, 0);
    ck_assert_uint_eq(metrics.rejected[-PF_ERETAINED], sizeof(topics) / sizeof(topics[0]));
    /* Outside the tree it stays TOPIC: the topic is judged first. */
    ck_assert_int_eq(pfs_inbound_receive(&in, "pf/v1/cmd/TR-0001/ack", "{}", 2, true), PF_ETOPIC);
    ck_assert_uint_eq(metrics.rejected[-PF_ETOPIC], 1);
    ck_assert_str_eq(pf_errname(PF_ERETAINED), "RETAINED");
}
END_TEST

static Suite *inbound_suite(void)
{
    Suite *s = suite_create("inbound_retain");
    TCase *tc = tcase_create("retain");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, retained_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(inbound_suite());
}
