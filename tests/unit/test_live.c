/*
 * test_live.c - who watches what for GET /v1/events (base/live.h): changes
 * reach exactly the watchers of that rollout or terminal, a terminal's
 * message waits for its commit, nothing is kept without a watcher, the
 * per-user limit, and the event-stream text.
 */
#include <string.h>
#include <uv.h>

#include "base/live.h"
#include "testutil.h"

static int woken[4];

static void wake(void *ctx)
{
    woken[(int)(intptr_t)ctx]++;
}

static void take_is(struct pfs_live_watch *w, const char *want)
{
    char buf[512];
    size_t n = pfs_live_take(w, buf, sizeof(buf));

    buf[n] = '\0';
    ck_assert_str_eq(buf, want);
}

START_TEST(changes_reach_their_watchers_only)
{
    struct pfs_live lv;
    struct pfs_live_watch *a, *b, *t;

    memset(woken, 0, sizeof(woken));
    ck_assert_int_eq(pfs_live_init(&lv, NULL, 8, 15), 0);
    ck_assert_int_eq(pfs_live_watch(&lv, "ops.a", 7, NULL, wake, (void *)0, &a), 0);
    ck_assert_int_eq(pfs_live_watch(&lv, "ops.b", 9, NULL, wake, (void *)1, &b), 0);
    ck_assert_int_eq(pfs_live_watch(&lv, "ops.a", 0, "PF-1", wake, (void *)2, &t), 0);
    take_is(a, "retry: 3000\n: watching\n\n");
    take_is(a, "");
    ck_assert(pfs_live_watched(&lv, 7) && pfs_live_watched(&lv, 9) && !pfs_live_watched(&lv, 8));

    pfs_live_note(&lv, 9, NULL);
    ck_assert_int_eq(woken[0], 0);
    ck_assert_int_eq(woken[1], 1);
    take_is(a, "");
    take_is(b, "retry: 3000\n: watching\n\nevent: rollout\ndata: {\"rollout\":9}\n\n");
    /* A burst is one event: flags, not a queue. */
    pfs_live_note(&lv, 7, NULL);
    pfs_live_note(&lv, 7, NULL);
    take_is(a, "event: rollout\ndata: {\"rollout\":7}\n\n");
    take_is(a, "");

    /* A terminal's message: told after the commit, once, to its watcher only. */
    take_is(t, "retry: 3000\n: watching\n\n");
    pfs_live_note_later(&lv, "PF-1");
    pfs_live_note_later(&lv, "PF-1");
    pfs_live_note_later(&lv, "PF-2"); /* nobody watches it: not kept */
    ck_assert_uint_eq(lv.nlater, 1);
    take_is(t, "");
    ck_assert_int_eq(woken[2], 0);
    pfs_live_commit(&lv);
    ck_assert_int_eq(woken[2], 1);
    ck_assert_uint_eq(lv.nlater, 0);
    take_is(t, "event: terminal\ndata: {\"serial\":\"PF-1\"}\n\n");
    ck_assert_uint_eq(lv.events_sent, 3);

    /* Only whole events fit a short buffer; the rest waits. */
    pfs_live_note(&lv, 0, "PF-1");
    {
        char small[8];

        ck_assert_uint_eq(pfs_live_take(t, small, sizeof(small)), 0);
    }
    take_is(t, "event: terminal\ndata: {\"serial\":\"PF-1\"}\n\n");

    pfs_live_unwatch(a);
    pfs_live_unwatch(b);
    pfs_live_unwatch(t);
    ck_assert_uint_eq(lv.nwatch, 0);
    pfs_live_release(&lv);
}
END_TEST

START_TEST(nothing_kept_without_watchers)
{
    struct pfs_live lv;

    ck_assert_int_eq(pfs_live_init(&lv, NULL, 8, 15), 0);
    for (int i = 0; i < 1000; i++)
        pfs_live_note_later(&lv, "PF-1");
    pfs_live_note(&lv, 1, "PF-1");
    pfs_live_commit(&lv);
    ck_assert_uint_eq(lv.nlater, 0);
    ck_assert_ptr_null(lv.later);
    ck_assert_uint_eq(lv.events_sent, 0);
    /* NULL (no console wired) is a no-op too. */
    pfs_live_note(NULL, 1, "PF-1");
    pfs_live_note_later(NULL, "PF-1");
    ck_assert(!pfs_live_watched(NULL, 1));
    pfs_live_release(&lv);
}
END_TEST

START_TEST(per_user_limit)
{
    struct pfs_live lv;
    struct pfs_live_watch *w[3], *other, *again;

    ck_assert_int_eq(pfs_live_init(&lv, NULL, 2, 15), 0);
    ck_assert_int_eq(pfs_live_watch(&lv, "ops.a", 1, NULL, wake, (void *)0, &w[0]), 0);
    ck_assert_int_eq(pfs_live_watch(&lv, "ops.a", 1, NULL, wake, (void *)0, &w[1]), 0);
    ck_assert_int_eq(pfs_live_watch(&lv, "ops.a", 2, NULL, wake, (void *)0, &w[2]), PF_ERATE);
    ck_assert_ptr_null(w[2]);
    ck_assert_uint_eq(lv.refused, 1);
    /* Another user is not held by ops.a's streams. */
    ck_assert_int_eq(pfs_live_watch(&lv, "ops.b", 1, NULL, wake, (void *)1, &other), 0);
    pfs_live_unwatch(w[0]);
    ck_assert_int_eq(pfs_live_watch(&lv, "ops.a", 2, NULL, wake, (void *)0, &again), 0);
    pfs_live_unwatch(w[1]);
    pfs_live_unwatch(again);
    pfs_live_unwatch(other);
    pfs_live_release(&lv);
}
END_TEST

/* The keep-alive timer runs only while someone watches, and marks every watcher. */
START_TEST(keepalive_only_while_watched)
{
    uv_loop_t loop;
    struct pfs_live lv;
    struct pfs_live_watch *w;

    memset(woken, 0, sizeof(woken));
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ck_assert_int_eq(pfs_live_init(&lv, &loop, 8, 1), 0);
    ck_assert(!uv_is_active((uv_handle_t *)&lv.timer));
    ck_assert_int_eq(pfs_live_watch(&lv, "ops.a", 1, NULL, wake, (void *)3, &w), 0);
    ck_assert(uv_is_active((uv_handle_t *)&lv.timer));
    take_is(w, "retry: 3000\n: watching\n\n");
    while (woken[3] == 0)
        uv_run(&loop, UV_RUN_ONCE);
    take_is(w, ": keep-alive\n\n");
    pfs_live_unwatch(w);
    ck_assert(!uv_is_active((uv_handle_t *)&lv.timer));
    pfs_live_release(&lv);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("live");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, changes_reach_their_watchers_only);
    tcase_add_test(tc, nothing_kept_without_watchers);
    tcase_add_test(tc, per_user_limit);
    tcase_add_test(tc, keepalive_only_while_watched);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
