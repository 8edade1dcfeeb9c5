/*
 * test_agent_boothist.c - the boot history kept for support: bounded, oldest
 * dropped first, atomic, and a damaged file never blocks a boot.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "pf/fileio.h"
#include "pfa/boothist.h"
#include "testutil.h"

START_TEST(bounded_oldest_first)
{
    char dir[256], path[300];
    struct pf_error err = {0};
    struct stat st;
    json_t *h;

    pf_test_tmpdir(dir, sizeof(dir));
    h = pfa_boothist_json(dir);
    ck_assert_uint_eq(json_array_size(h), 0);
    json_decref(h);
    for (int i = 0; i < PFA_BOOTHIST_MAX + 4; i++) {
        char v[16];

        snprintf(v, sizeof(v), "1.0.%d", i);
        ck_assert_int_eq(pfa_boothist_record(dir, 1000 + i, i % 2 ? PF_SLOT_B : PF_SLOT_A, v,
                                             i == 5 ? PF_BOOT_UPDATED : PF_BOOT_NORMAL, &err),
                         0);
    }
    h = pfa_boothist_json(dir);
    ck_assert_uint_eq(json_array_size(h), PFA_BOOTHIST_MAX);
    /* The four oldest are gone; the newest is last. */
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(h, 0), "ts")), 1004);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(h, 1), "boot")), "updated");
    ck_assert_str_eq(
            json_string_value(json_object_get(json_array_get(h, PFA_BOOTHIST_MAX - 1), "firmware")),
            "1.0.19");
    ck_assert_str_eq(
            json_string_value(json_object_get(json_array_get(h, PFA_BOOTHIST_MAX - 1), "slot")),
            "b");
    json_decref(h);
    snprintf(path, sizeof(path), "%s/boot_history.json", dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    pf_test_rmtree(dir);
}
END_TEST

START_TEST(damaged_file_starts_afresh)
{
    char dir[256], path[300];
    struct pf_error err = {0};
    json_t *h;

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/boot_history.json", dir);
    ck_assert_int_eq(pf_file_write_atomic(path, "[{\"ts\":1,\"slot\":\"a\"", 19, 0600), 0);
    h = pfa_boothist_json(dir);
    ck_assert_uint_eq(json_array_size(h), 0);
    json_decref(h);
    /* Malformed entries are dropped, good ones kept. */
    ck_assert_int_eq(
            pf_file_write_atomic(
                    path,
                    "[{\"ts\":1,\"slot\":\"a\",\"firmware\":\"1.0\",\"boot\":\"normal\"},7,"
                    "{\"ts\":\"x\"}]",
                    strlen("[{\"ts\":1,\"slot\":\"a\",\"firmware\":\"1.0\",\"boot\":"
                           "\"normal\"},7,{\"ts\":\"x\"}]"),
                    0600),
            0);
    ck_assert_int_eq(pfa_boothist_record(dir, 2, PF_SLOT_B, "1.1", PF_BOOT_ROLLED_BACK, &err), 0);
    h = pfa_boothist_json(dir);
    ck_assert_uint_eq(json_array_size(h), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(h, 1), "boot")),
                     "rolled_back");
    json_decref(h);
    /* A state directory that does not exist: a clear error, nothing written. */
    snprintf(path, sizeof(path), "%s/missing", dir);
    ck_assert_int_eq(pfa_boothist_record(path, 3, PF_SLOT_A, "1.1", PF_BOOT_NORMAL, &err),
                     PF_ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "boot_history.json"));
    pf_test_rmtree(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("agent_boothist");
    TCase *tc = tcase_create("boothist");

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, bounded_oldest_first);
    tcase_add_test(tc, damaged_file_starts_afresh);
    suite_add_tcase(s, tc);
    return pf_test_run(s);
}
