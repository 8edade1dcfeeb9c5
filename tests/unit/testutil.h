/*
 * testutil.h - helpers shared by the Check suites.
 */
#ifndef PF_TESTUTIL_H
#define PF_TESTUTIL_H

#include <check.h>
#include <stddef.h>

/* Runs a suite in forked mode; returns the process exit status. */
int pf_test_run(Suite *s);

/* Creates a fresh empty temporary directory (mkdtemp) and returns its path in buf. */
void pf_test_tmpdir(char *buf, size_t len);

/* Removes a directory tree made by pf_test_tmpdir. */
void pf_test_rmtree(const char *path);

#endif
