/*
 * testutil.c - helpers shared by the Check suites.
 */
#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int pf_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void pf_test_tmpdir(char *buf, size_t len)
{
    const char *base = getenv("TMPDIR");

    snprintf(buf, len, "%s/pftest.XXXXXX", base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

static int testutil__rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void pf_test_rmtree(const char *path)
{
    nftw(path, testutil__rm, 16, FTW_DEPTH | FTW_PHYS);
}
