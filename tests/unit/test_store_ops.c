/*
 * test_store_ops.c - the store's dispatch (store_ops.h, store.c,
 * store_backends.c): pfs_store_open chooses the backend by name among the ones
 * built in, every handle reaches its backend's table, and a function a backend
 * does not have yet fails with PF_EIO naming it instead of crashing.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "store/store_backup.h"
#include "store/store_ops.h"
#include "testutil.h"

static char dir[256];
static char dbpath[300];

static void setup(void)
{
    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(dbpath, sizeof(dbpath), "%s/s.db", dir);
}

static void teardown(void)
{
    pf_test_rmtree(dir);
}

START_TEST(backends_built_in)
{
    int n = 0;

    for (; pfs_store_backends[n]; n++)
        ;
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(pfs_store_backends[0], "sqlite");
    ck_assert_str_eq(pfs_store_backends[1], "postgres");
    ck_assert_str_eq(pfs_store_sqlite_ops.name, "sqlite");
    ck_assert_str_eq(pfs_store_postgres_ops.name, "postgres");
    ck_assert_ptr_nonnull(pfs_store_postgres_ops.open);
    ck_assert_ptr_nonnull(pfs_store_postgres_ops.close);
}
END_TEST

START_TEST(open_chooses_by_name)
{
    struct pfs_store_opts def = {.path = dbpath};
    struct pfs_store_opts named = {.backend = "sqlite", .path = dbpath};
    struct pfs_store_opts bad = {.backend = "nosuch", .path = dbpath};
    struct pfs_store_opts pg = {.backend = "postgres", .path = dbpath};
    struct pfs_store *st = NULL;
    struct pfs_tx *tx = NULL;
    struct pf_error err = {0};
    int v = 0;

    ck_assert_int_eq(pfs_store_open(&def, &st, &err), 0);
    ck_assert_ptr_eq(st->ops, &pfs_store_sqlite_ops);
    ck_assert_int_eq(pfs_store_schema_version(st, &v), 0);
    ck_assert_int_gt(v, 0);
    /* A transaction's handle leads back to its store (the swap hook needs it). */
    ck_assert_int_eq(pfs_store_tx_begin(st, PFS_DURABILITY_NORMAL, 0, &tx, &err), 0);
    ck_assert_ptr_eq(tx->st, st);
    ck_assert_int_eq(pfs_store_tx_commit(tx, &err), 0);
    pfs_store_close(st);

    ck_assert_int_eq(pfs_store_open(&named, &st, &err), 0);
    ck_assert_ptr_eq(st->ops, &pfs_store_sqlite_ops);
    pfs_store_close(st);

    st = (struct pfs_store *)&err; /* any non-NULL: open must clear it */
    ck_assert_int_eq(pfs_store_open(&bad, &st, &err), PF_EINVAL);
    ck_assert_ptr_null(st);
    ck_assert_str_eq(err.msg, "store: backend \"nosuch\": this posfleetd has sqlite, postgres");

    /* PostgreSQL needs store.dsn, whatever store.path says. */
    ck_assert_int_eq(pfs_store_open(&pg, &st, &err), PF_EINVAL);
    ck_assert_ptr_null(st);
    ck_assert_ptr_nonnull(strstr(err.msg, "store.dsn"));
}
END_TEST

START_TEST(sibling_names_its_backend)
{
    struct pfs_store_opts o = {.path = dbpath}, sib;
    struct pfs_store *st = NULL, *other = NULL;
    struct pf_error err = {0};

    ck_assert_int_eq(pfs_store_open(&o, &st, &err), 0);
    ck_assert_int_eq(pfs_store_sibling_opts(st, &sib, &err), 0);
    ck_assert_str_eq(sib.backend, "sqlite");
    ck_assert_ptr_null(sib.dsn);
    ck_assert_int_eq(pfs_store_open(&sib, &other, &err), 0);
    ck_assert_ptr_eq(other->ops, &pfs_store_sqlite_ops);
    pfs_store_sibling_opts_release(&sib);
    ck_assert_ptr_null(sib.path);
    pfs_store_close(other);
    pfs_store_close(st);
}
END_TEST

/* A backend with nothing but its name: every call must fail cleanly. */
static const struct pfs_store_ops empty_ops = {.name = "empty"};

START_TEST(missing_member_fails)
{
    struct pfs_store st = {.ops = &empty_ops};
    struct pfs_tx tx = {.st = &st};
    struct pfs_store_backup b = {.ops = &empty_ops};
    struct pfs_store_backup_info info;
    struct pfs_device d = {0};
    struct pfs_tx *out = NULL;
    struct pf_error err = {0};
    int v = 0;

    ck_assert_int_eq(pfs_store_device_add(&st, &d, NULL, 0, &err), PF_EIO);
    ck_assert_str_eq(err.msg, "store: the empty backend has no device_add yet");
    ck_assert_int_eq(pfs_store_tx_begin(&st, PFS_DURABILITY_FULL, 0, &out, &err), PF_EIO);
    ck_assert_str_eq(err.msg, "store: the empty backend has no tx_begin yet");
    ck_assert_int_eq(pfs_store_tx_commit(&tx, &err), PF_EIO);
    ck_assert_str_eq(err.msg, "store: the empty backend has no tx_commit yet");
    ck_assert_int_eq(pfs_store_backup_run(&b, &info, &err), PF_EIO);
    ck_assert_str_eq(err.msg, "store: the empty backend has no backup_run yet");
    /* Without an error to fill: the code alone, or the answer that is no claim. */
    ck_assert_int_eq(pfs_store_schema_version(&st, &v), PF_EIO);
    ck_assert_int_eq(pfs_store_device_get(&st, "PX1", NULL, NULL), PF_EIO);
    ck_assert(!pfs_store_is_held(&st));
    pfs_store_tx_rollback(&tx);
    pfs_store_backup_free(&b);
    pfs_store_close(&st);
    /* NULL handles are no-ops where the headers say so. */
    pfs_store_close(NULL);
    pfs_store_tx_rollback(NULL);
    pfs_store_backup_free(NULL);
}
END_TEST

static Suite *store_ops_suite(void)
{
    Suite *s = suite_create("store_ops");
    TCase *tc = tcase_create("dispatch");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, backends_built_in);
    tcase_add_test(tc, open_chooses_by_name);
    tcase_add_test(tc, sibling_names_its_backend);
    tcase_add_test(tc, missing_member_fails);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(store_ops_suite());
}
