/*
 * test_agent_queue.c - the on-disk report queue: order, bound with the oldest
 * dropped and counted, survival across reopen, torn temporaries ignored, and
 * errors that leave the queue unchanged.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pf/fileio.h"
#include "pfa/queue.h"
#include "testutil.h"

static char dir[256], qdir[300];

static void setup(void)
{
    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(qdir, sizeof(qdir), "%s/queue", dir);
}

static void teardown(void)
{
    pf_test_rmtree(dir);
}

static int count_files(void)
{
    DIR *d = opendir(qdir);
    struct dirent *de;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static void push(struct pfa_queue *q, uint32_t seq, unsigned *dropped)
{
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "{\"seq\":%u}", seq);

    ck_assert_int_eq(pfa_queue_push(q, seq, buf, (size_t)n, dropped), 0);
}

static void expect_payload(struct pfa_queue *q, uint32_t seq)
{
    char want[64], *buf;
    size_t len;

    snprintf(want, sizeof(want), "{\"seq\":%u}", seq);
    ck_assert_int_eq(pfa_queue_read(q, seq, &buf, &len), 0);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert_str_eq(buf, want);
    free(buf);
}

START_TEST(order_and_remove)
{
    struct pfa_queue *q;
    struct pf_error err;
    uint32_t seq;

    ck_assert_int_eq(pfa_queue_open(qdir, 10, &q, &err), 0);
    ck_assert_uint_eq(pfa_queue_len(q), 0);
    ck_assert_int_eq(pfa_queue_last_seq(q, &seq), PF_ENOENT);
    push(q, 5, NULL);
    push(q, 3, NULL); /* out of order: still kept sorted */
    push(q, 9, NULL);
    ck_assert_uint_eq(pfa_queue_len(q), 3);
    ck_assert_int_eq(pfa_queue_seq_at(q, 0, &seq), 0);
    ck_assert_uint_eq(seq, 3);
    ck_assert_int_eq(pfa_queue_seq_at(q, 1, &seq), 0);
    ck_assert_uint_eq(seq, 5);
    ck_assert_int_eq(pfa_queue_seq_at(q, 2, &seq), 0);
    ck_assert_uint_eq(seq, 9);
    ck_assert_int_eq(pfa_queue_seq_at(q, 3, &seq), PF_ENOENT);
    ck_assert_int_eq(pfa_queue_last_seq(q, &seq), 0);
    ck_assert_uint_eq(seq, 9);
    expect_payload(q, 5);

    ck_assert_int_eq(pfa_queue_remove(q, 5), 0);
    ck_assert_uint_eq(pfa_queue_len(q), 2);
    ck_assert_int_eq(count_files(), 2);
    ck_assert_int_eq(pfa_queue_remove(q, 5), PF_ENOENT);
    ck_assert_int_eq(pfa_queue_seq_at(q, 1, &seq), 0);
    ck_assert_uint_eq(seq, 9);
    pfa_queue_close(q);
}
END_TEST

START_TEST(bounded_oldest_dropped)
{
    struct pfa_queue *q;
    struct pf_error err;
    unsigned dropped = 99;
    uint32_t seq;

    ck_assert_int_eq(pfa_queue_open(qdir, 3, &q, &err), 0);
    for (uint32_t s = 1; s <= 3; s++) {
        push(q, s, &dropped);
        ck_assert_uint_eq(dropped, 0);
    }
    push(q, 4, &dropped);
    ck_assert_uint_eq(dropped, 1);
    push(q, 5, &dropped);
    ck_assert_uint_eq(dropped, 1);
    ck_assert_uint_eq(pfa_queue_dropped(q), 2);
    ck_assert_uint_eq(pfa_queue_len(q), 3);
    ck_assert_int_eq(count_files(), 3);
    ck_assert_int_eq(pfa_queue_seq_at(q, 0, &seq), 0);
    ck_assert_uint_eq(seq, 3);
    ck_assert_int_eq(pfa_queue_read(q, 1, &(char *){NULL}, &(size_t){0}), PF_ENOENT);
    expect_payload(q, 5);
    pfa_queue_close(q);
}
END_TEST

START_TEST(survives_reopen)
{
    struct pfa_queue *q;
    struct pf_error err;
    uint32_t seq;

    ck_assert_int_eq(pfa_queue_open(qdir, 100, &q, &err), 0);
    for (uint32_t s = 1; s <= 12; s++)
        push(q, s * 10, NULL);
    ck_assert_int_eq(pfa_queue_remove(q, 10), 0);
    pfa_queue_close(q);

    ck_assert_int_eq(pfa_queue_open(qdir, 100, &q, &err), 0);
    ck_assert_uint_eq(pfa_queue_len(q), 11);
    for (size_t i = 0; i < 11; i++) {
        ck_assert_int_eq(pfa_queue_seq_at(q, i, &seq), 0);
        ck_assert_uint_eq(seq, (uint32_t)(i + 2) * 10);
        expect_payload(q, seq);
    }
    pfa_queue_close(q);

    /* Reopened with a smaller bound: the newest are kept, the rest counted as dropped. */
    ck_assert_int_eq(pfa_queue_open(qdir, 4, &q, &err), 0);
    ck_assert_uint_eq(pfa_queue_len(q), 4);
    ck_assert_uint_eq(pfa_queue_dropped(q), 7);
    ck_assert_int_eq(pfa_queue_seq_at(q, 0, &seq), 0);
    ck_assert_uint_eq(seq, 90);
    ck_assert_int_eq(count_files(), 4);
    pfa_queue_close(q);
}
END_TEST

START_TEST(torn_temporary_ignored)
{
    char path[512];
    struct pfa_queue *q;
    struct pf_error err;
    struct stat st;
    FILE *f;
    uint32_t seq;

    ck_assert_int_eq(pfa_queue_open(qdir, 10, &q, &err), 0);
    push(q, 1, NULL);
    push(q, 2, NULL);
    pfa_queue_close(q);
    /* A crash in the middle of writing report 3 leaves only a partial temporary. */
    snprintf(path, sizeof(path), "%s/0000000003.msg.tmp.4242", qdir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"seq\":3,\"po", f);
    fclose(f);
    /* Foreign files are not reports either. */
    snprintf(path, sizeof(path), "%s/notes.txt", qdir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);

    ck_assert_int_eq(pfa_queue_open(qdir, 10, &q, &err), 0);
    ck_assert_uint_eq(pfa_queue_len(q), 2);
    ck_assert_int_eq(pfa_queue_last_seq(q, &seq), 0);
    ck_assert_uint_eq(seq, 2);
    snprintf(path, sizeof(path), "%s/0000000003.msg.tmp.4242", qdir);
    ck_assert_int_ne(stat(path, &st), 0); /* the torn temporary is cleaned away */
    push(q, 3, NULL);
    expect_payload(q, 3);
    pfa_queue_close(q);
}
END_TEST

START_TEST(errors_change_nothing)
{
    struct pfa_queue *q;
    struct pf_error err;
    static char big[70000];
    unsigned dropped = 7;

    ck_assert_int_eq(pfa_queue_open(qdir, 2, &q, &err), 0);
    push(q, 1, NULL);
    push(q, 2, NULL);
    ck_assert_int_eq(pfa_queue_push(q, 2, "x", 1, &dropped), PF_EEXIST);
    ck_assert_int_eq(pfa_queue_push(q, 3, big, sizeof(big), &dropped), PF_ETOOBIG);
    /* A refused push drops nothing, even when the queue is full. */
    ck_assert_uint_eq(pfa_queue_len(q), 2);
    ck_assert_uint_eq(pfa_queue_dropped(q), 0);
    ck_assert_int_eq(count_files(), 2);
    expect_payload(q, 1);
    expect_payload(q, 2);
    pfa_queue_close(q);

    ck_assert_int_eq(pfa_queue_open(qdir, 0, &q, &err), PF_EINVAL);
    /* The queue path exists as a regular file: cannot be a queue. */
    {
        char path[512];
        snprintf(path, sizeof(path), "%s/file", dir);
        ck_assert_int_eq(pf_file_write_atomic(path, "x", 1, 0600), 0);
        ck_assert_int_ne(pfa_queue_open(path, 5, &q, &err), 0);
    }
}
END_TEST

static Suite *queue_suite(void)
{
    Suite *s = suite_create("agent_queue");
    TCase *tc = tcase_create("queue");

    tcase_set_timeout(tc, 20);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, order_and_remove);
    tcase_add_test(tc, bounded_oldest_dropped);
    tcase_add_test(tc, survives_reopen);
    tcase_add_test(tc, torn_temporary_ignored);
    tcase_add_test(tc, errors_change_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(queue_suite());
}
