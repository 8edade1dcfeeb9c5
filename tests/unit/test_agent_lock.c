/*
 * test_agent_lock.c - the agent's payment lock: commands applied once and
 * answered every time, persisted before payments switch, restored at start,
 * a damaged lock file keeps payments locked.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pf/fileio.h"
#include "pf/msg_lifecycle.h"
#include "pfa/lock.h"
#include "testutil.h"

static char dir[256], state[300], hal[300];
static const struct pfa_log quiet = {.level = PFA_LOG_ERROR};

struct sent {
    int n;
    char leaf[16];
    char last[256];
    int fail; /* publish returns PF_ECONN */
};

static int publish(void *ctx, const char *leaf, const void *buf, size_t len, int qos)
{
    struct sent *s = ctx;

    ck_assert_int_eq(qos, 1);
    if (s->fail)
        return PF_ECONN;
    s->n++;
    snprintf(s->leaf, sizeof(s->leaf), "%s", leaf);
    snprintf(s->last, sizeof(s->last), "%.*s", (int)len, (const char *)buf);
    return 0;
}

static void setup(void)
{
    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(state, sizeof(state), "%s/state", dir);
    snprintf(hal, sizeof(hal), "%s/hal", dir);
    ck_assert_int_eq(mkdir(state, 0700), 0);
    ck_assert_int_eq(mkdir(hal, 0700), 0);
}

static void teardown(void)
{
    pf_test_rmtree(dir);
}

static char *slurp(const char *name)
{
    char path[400], *buf = NULL;
    size_t len = 0;

    snprintf(path, sizeof(path), "%s", name);
    if (pf_file_read(path, 4096, &buf, &len) != 0)
        return NULL;
    return buf;
}

static bool payments_are(const char *want)
{
    char path[400];
    char *v;
    bool ok;

    snprintf(path, sizeof(path), "%s/payments", hal);
    v = slurp(path);
    ok = v && strncmp(v, want, strlen(want)) == 0;
    free(v);
    return ok;
}

static bool cmd(struct pfa_lock *l, const char *id, bool lock)
{
    struct pf_lock_cmd c = {.lock = lock, .reason = "tamper"};
    char buf[256];
    size_t len = 0;

    snprintf(c.id, sizeof(c.id), "%s", id);
    ck_assert_int_eq(pf_lock_cmd_encode(&c, buf, sizeof(buf), &len), 0);
    return pfa_lock_on_message(l, PF_CMD_LOCK, buf, len);
}

START_TEST(lock_persists_and_answers)
{
    struct sent s = {0};
    struct pfa_lock_io io = {NULL, publish, &s};
    struct pfa_lock *l = NULL;
    struct pf_error err = {0};
    char path[400], *f;

    ck_assert_int_eq(pfa_lock_new(state, hal, &io, &quiet, &l, &err), 0);
    ck_assert(!pfa_lock_locked(l));
    ck_assert(payments_are("enabled"));
    ck_assert(!pfa_lock_on_message(l, "offer", "{}", 2));
    ck_assert_int_eq(s.n, 0);

    ck_assert(cmd(l, "lock-1", true));
    ck_assert(pfa_lock_locked(l));
    ck_assert(payments_are("disabled"));
    ck_assert_int_eq(s.n, 1);
    ck_assert_str_eq(s.leaf, PF_DEV_LOCK);
    ck_assert_ptr_nonnull(strstr(s.last, "\"id\":\"lock-1\""));
    ck_assert_ptr_nonnull(strstr(s.last, "\"locked\":true"));
    snprintf(path, sizeof(path), "%s/lock", state);
    f = slurp(path);
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(strstr(f, "\"locked\":true"));
    free(f);

    /* The same command again (a retransmission) is answered again. */
    ck_assert(cmd(l, "lock-1", true));
    ck_assert_int_eq(s.n, 2);

    /* A malformed command is not answered and changes nothing. */
    ck_assert(pfa_lock_on_message(l, PF_CMD_LOCK, "{\"v\":1,\"id\":\"x\"}", 16));
    ck_assert_int_eq(s.n, 2);
    ck_assert(pfa_lock_locked(l));

    /* A restart keeps the lock and switches payments off again. */
    pfa_lock_free(l);
    snprintf(path, sizeof(path), "%s/payments", hal);
    ck_assert_int_eq(pf_file_write_atomic(path, "enabled\n", 8, 0644), 0);
    ck_assert_int_eq(pfa_lock_new(state, hal, &io, &quiet, &l, &err), 0);
    ck_assert(pfa_lock_locked(l));
    ck_assert(payments_are("disabled"));

    /* Offline: the unlock is applied and persisted; the report waits for the next copy. */
    s.fail = 1;
    ck_assert(cmd(l, "unlock-2", false));
    ck_assert(!pfa_lock_locked(l));
    ck_assert(payments_are("enabled"));
    s.fail = 0;
    ck_assert(cmd(l, "unlock-2", false));
    ck_assert_ptr_nonnull(strstr(s.last, "\"locked\":false"));
    pfa_lock_free(l);
    ck_assert_int_eq(pfa_lock_new(state, hal, &io, &quiet, &l, &err), 0);
    ck_assert(!pfa_lock_locked(l));
    pfa_lock_free(l);
}
END_TEST

START_TEST(damaged_file_stays_locked)
{
    struct sent s = {0};
    struct pfa_lock_io io = {NULL, publish, &s};
    struct pfa_lock *l = NULL;
    struct pf_error err = {0};
    char path[400];

    snprintf(path, sizeof(path), "%s/lock", state);
    ck_assert_int_eq(pf_file_write_atomic(path, "{\"v\":1,\"locked\":", 16, 0600), 0);
    ck_assert_int_eq(pfa_lock_new(state, hal, &io, &quiet, &l, &err), 0);
    ck_assert(pfa_lock_locked(l));
    ck_assert(payments_are("disabled"));
    pfa_lock_free(l);
}
END_TEST

static int payments_hook(void *ctx, bool enabled)
{
    *(int *)ctx = enabled ? 1 : 2;
    return 0;
}

START_TEST(hal_hook_used_when_given)
{
    int called = 0;
    struct sent s = {0};
    struct pfa_lock_io io = {payments_hook, publish, &s};
    struct pfa_lock *l = NULL;
    struct pf_error err = {0};

    io.ctx = &called;
    io.publish = NULL; /* no session: the command is applied, no report */
    ck_assert_int_eq(pfa_lock_new(state, NULL, &io, &quiet, &l, &err), 0);
    ck_assert_int_eq(called, 1);
    ck_assert(cmd(l, "lock-9", true));
    ck_assert_int_eq(called, 2);
    ck_assert(pfa_lock_locked(l));
    pfa_lock_free(l);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("agent_lock");
    TCase *tc = tcase_create("lock");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, lock_persists_and_answers);
    tcase_add_test(tc, damaged_file_stays_locked);
    tcase_add_test(tc, hal_hook_used_when_given);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
