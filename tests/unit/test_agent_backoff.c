/*
 * test_agent_backoff.c - reconnect delays: bounds, full jitter, growth and
 * reset, and retry times on a clock the test moves.
 */
#include <stdint.h>

#include "pf/clock.h"
#include "pfa/backoff.h"
#include "testutil.h"

struct fake_clock {
    int64_t mono, wall;
};

static int64_t fake_mono(void *ctx)
{
    return ((struct fake_clock *)ctx)->mono;
}

static int64_t fake_wall(void *ctx)
{
    return ((struct fake_clock *)ctx)->wall;
}

START_TEST(bounds_and_growth)
{
    struct pfa_backoff b;

    pfa_backoff_init(&b, 1000, 300000, 42);
    ck_assert_int_eq(pfa_backoff_cap(&b), 1000);
    for (unsigned n = 1; n <= 20; n++) {
        int64_t expected_cap = 1000LL << n;
        int64_t d = pfa_backoff_next(&b);
        if (expected_cap > 300000)
            expected_cap = 300000;
        ck_assert_int_eq(pfa_backoff_cap(&b), expected_cap);
        ck_assert_int_ge(d, 1000);
        ck_assert_int_le(d, expected_cap);
    }
    /* Capped at the maximum however long it keeps failing. */
    for (int i = 0; i < 100; i++)
        ck_assert_int_le(pfa_backoff_next(&b), 300000);
    ck_assert_int_eq(pfa_backoff_cap(&b), 300000);
    pfa_backoff_reset(&b);
    ck_assert_int_eq(pfa_backoff_cap(&b), 1000);
    ck_assert_int_le(pfa_backoff_next(&b), 2000);
}
END_TEST

START_TEST(full_jitter)
{
    /* Many draws at one attempt level spread over the whole window. */
    int64_t lo = INT64_MAX, hi = 0, sum = 0;
    const int n = 4000;

    for (int i = 0; i < n; i++) {
        struct pfa_backoff b;
        int64_t d;
        pfa_backoff_init(&b, 1000, 300000, (uint64_t)i + 1);
        for (int k = 0; k < 4; k++)
            (void)pfa_backoff_next(&b);
        d = pfa_backoff_next(&b); /* fifth retry: window [1000, 32000] */
        ck_assert_int_ge(d, 1000);
        ck_assert_int_le(d, 32000);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        sum += d;
    }
    ck_assert_int_lt(lo, 2000);
    ck_assert_int_gt(hi, 31000);
    /* The mean of a uniform draw sits in the middle of the window. */
    ck_assert_int_gt(sum / n, 15000);
    ck_assert_int_lt(sum / n, 18000);
}
END_TEST

START_TEST(seeds_differ_and_repeat)
{
    struct pfa_backoff a, b, c;
    int same = 0;

    pfa_backoff_init(&a, 1000, 300000, 7);
    pfa_backoff_init(&b, 1000, 300000, 7);
    pfa_backoff_init(&c, 1000, 300000, 8);
    for (int i = 0; i < 10; i++) {
        int64_t x = pfa_backoff_next(&a), y = pfa_backoff_next(&b), z = pfa_backoff_next(&c);
        ck_assert_int_eq(x, y);
        same += x == z;
    }
    ck_assert_int_lt(same, 3);
}
END_TEST

START_TEST(retry_time_on_clock)
{
    struct fake_clock fc = {5000, 1764220000000LL};
    struct pf_clock clock = {fake_wall, fake_mono, &fc};
    struct pfa_backoff b;
    int64_t at;

    pfa_backoff_init(&b, 200, 1000, 99);
    at = pfa_backoff_next_at(&b, &clock);
    ck_assert_int_ge(at, 5200);
    ck_assert_int_le(at, 5400);
    fc.mono = 100000;
    for (int i = 0; i < 10; i++) {
        at = pfa_backoff_next_at(&b, &clock);
        ck_assert_int_ge(at, 100200);
        ck_assert_int_le(at, 101000);
    }
}
END_TEST

START_TEST(degenerate_bounds)
{
    struct pfa_backoff b;

    pfa_backoff_init(&b, 500, 500, 3);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(pfa_backoff_next(&b), 500);
    pfa_backoff_init(&b, 500, 100, 3); /* max below min: min wins */
    ck_assert_int_eq(pfa_backoff_next(&b), 500);
    /* Seed 0 draws one from the system; delays stay in bounds. */
    pfa_backoff_init(&b, 10, 20, 0);
    ck_assert_int_ne(b.rng, 0);
    ck_assert_int_le(pfa_backoff_next(&b), 20);
}
END_TEST

static Suite *backoff_suite(void)
{
    Suite *s = suite_create("agent_backoff");
    TCase *tc = tcase_create("backoff");

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, bounds_and_growth);
    tcase_add_test(tc, full_jitter);
    tcase_add_test(tc, seeds_differ_and_repeat);
    tcase_add_test(tc, retry_time_on_clock);
    tcase_add_test(tc, degenerate_bounds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(backoff_suite());
}
