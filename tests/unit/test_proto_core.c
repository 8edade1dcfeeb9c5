/*
 * test_proto_core.c - topics, versions, configuration files, atomic writes
 * and the error table.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pf/conf.h"
#include "pf/error.h"
#include "pf/fileio.h"
#include "pf/topic.h"
#include "pf/version.h"
#include "testutil.h"

START_TEST(serials)
{
    ck_assert(pf_serial_valid("PF-0001_a"));
    ck_assert(pf_serial_valid("01234567890123456789012345678901"));
    ck_assert(!pf_serial_valid("012345678901234567890123456789012"));
    ck_assert(!pf_serial_valid(""));
    ck_assert(!pf_serial_valid(NULL));
    ck_assert(!pf_serial_valid("a/b"));
    ck_assert(!pf_serial_valid("a+"));
    ck_assert(!pf_serial_valid("#"));
    ck_assert(!pf_serial_valid("a b"));
}
END_TEST

START_TEST(topics)
{
    char buf[PF_TOPIC_MAX], serial[PF_SERIAL_MAX + 1];
    const char *leaf;
    enum pf_dir dir;

    ck_assert_int_eq(pf_topic_build(buf, sizeof(buf), PF_DIR_DEV, "PF1", PF_DEV_HEALTH), 0);
    ck_assert_str_eq(buf, "pf/v1/dev/PF1/health");
    ck_assert_int_eq(pf_topic_build(buf, sizeof(buf), PF_DIR_CMD, "PF1", PF_CMD_ACK), 0);
    ck_assert_str_eq(buf, "pf/v1/cmd/PF1/ack");
    ck_assert_int_eq(pf_topic_build(buf, sizeof(buf), PF_DIR_DEV, "P/F", "x"), PF_ETOPIC);
    ck_assert_int_eq(pf_topic_build(buf, 10, PF_DIR_DEV, "PF1", "health"), PF_ETOOBIG);

    ck_assert_int_eq(pf_topic_parse("pf/v1/dev/PF1/health", &dir, serial, &leaf), 0);
    ck_assert_int_eq(dir, PF_DIR_DEV);
    ck_assert_str_eq(serial, "PF1");
    ck_assert_str_eq(leaf, "health");
    ck_assert_int_eq(pf_topic_parse("pf/v1/cmd/PF1/diag/req", &dir, serial, &leaf), 0);
    ck_assert_str_eq(leaf, "diag/req");
    ck_assert_int_eq(pf_topic_parse("pf/v2/dev/PF1/health", &dir, serial, &leaf), PF_ETOPIC);
    ck_assert_int_eq(pf_topic_parse("pf/v1/dev/PF1", &dir, serial, &leaf), PF_ETOPIC);
    ck_assert_int_eq(pf_topic_parse("pf/v1/dev/PF1/", &dir, serial, &leaf), PF_ETOPIC);
    ck_assert_int_eq(pf_topic_parse("pf/v1/dev//health", &dir, serial, &leaf), PF_ETOPIC);
    ck_assert_int_eq(pf_topic_parse("pf/v1/up/PF1/health", &dir, serial, &leaf), PF_ETOPIC);
    ck_assert_int_eq(pf_topic_parse("pf/v1/dev/P+1/health", &dir, serial, &leaf), PF_ETOPIC);
    ck_assert_int_eq(pf_topic_parse("pf/v1/dev/0123456789012345678901234567890123/health", &dir,
                                    serial, &leaf),
                     PF_ETOPIC);
}
END_TEST

START_TEST(versions)
{
    ck_assert(pf_version_valid("1"));
    ck_assert(pf_version_valid("2026.11.1"));
    ck_assert(pf_version_valid("1.2.3.4"));
    ck_assert(!pf_version_valid("1.2.3.4.5"));
    ck_assert(!pf_version_valid("1..2"));
    ck_assert(!pf_version_valid("1.2."));
    ck_assert(!pf_version_valid("v1.2"));
    ck_assert(!pf_version_valid("1234567"));
    ck_assert(!pf_version_valid(""));
    ck_assert_int_gt(pf_version_cmp("1.10", "1.9"), 0);
    ck_assert_int_eq(pf_version_cmp("1.2", "1.2.0"), 0);
    ck_assert_int_lt(pf_version_cmp("1.2.0", "1.2.0.1"), 0);
    ck_assert_int_lt(pf_version_cmp("2025.12.31", "2026.1.1"), 0);
}
END_TEST

struct conf_seen {
    char keys[8][32];
    char values[8][64];
    int n;
};

static int conf_cb(void *ctx, const char *key, const char *value, struct pf_error *err)
{
    struct conf_seen *s = ctx;

    if (!strcmp(key, "reject"))
        return pf_error_set(err, PF_ERANGE, "%s: refused", key);
    snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
    snprintf(s->values[s->n], sizeof(s->values[0]), "%s", value);
    s->n++;
    return 0;
}

static int conf_parse(const char *text, struct conf_seen *s, struct pf_error *err)
{
    memset(s, 0, sizeof(*s));
    pf_error_clear(err);
    return pf_conf_parse(text, strlen(text), "t.conf", conf_cb, s, err);
}

START_TEST(conf_files)
{
    struct conf_seen s;
    struct pf_error err;
    int64_t x;
    int b;
    char small[4];

    ck_assert_int_eq(conf_parse("# c\n\n  a = 1 \nb.c=two words\r\nempty =\n", &s, &err), 0);
    ck_assert_int_eq(s.n, 3);
    ck_assert_str_eq(s.keys[1], "b.c");
    ck_assert_str_eq(s.values[1], "two words");
    ck_assert_str_eq(s.values[2], "");

    ck_assert_int_eq(conf_parse("a = 1\na = 2\n", &s, &err), PF_EEXIST);
    ck_assert_str_eq(err.msg, "t.conf:2: a: duplicate key");
    ck_assert_int_eq(conf_parse("just words\n", &s, &err), PF_EPARSE);
    ck_assert_str_eq(err.msg, "t.conf:1: expected key = value");
    ck_assert_int_eq(conf_parse("Bad-Key = 1\n", &s, &err), PF_EPARSE);
    ck_assert_int_eq(conf_parse("x = 1\nreject = 1\n", &s, &err), PF_ERANGE);
    ck_assert_str_eq(err.msg, "t.conf:2: reject: refused");

    ck_assert_int_eq(pf_conf_int("port", "1883", 1, 65535, &x, &err), 0);
    ck_assert_int_eq(x, 1883);
    ck_assert_int_eq(pf_conf_int("port", "70000", 1, 65535, &x, &err), PF_ERANGE);
    ck_assert_int_eq(pf_conf_int("port", "12ab", 1, 65535, &x, &err), PF_EPARSE);
    ck_assert_int_eq(pf_conf_int("port", "", 1, 65535, &x, &err), PF_EPARSE);
    /* Integers are read by pf_parse_i64: strict decimal, too large is out of range. */
    ck_assert_int_eq(pf_conf_int("port", "+80", 1, 65535, &x, &err), PF_EPARSE);
    ck_assert_str_eq(err.msg, "port: not an integer");
    ck_assert_int_eq(pf_conf_int("port", "0x50", 1, 65535, &x, &err), PF_EPARSE);
    ck_assert_int_eq(pf_conf_int("port", "99999999999999999999", 1, 65535, &x, &err), PF_ERANGE);
    ck_assert_str_eq(err.msg, "port: 99999999999999999999 out of range 1..65535");
    ck_assert_int_eq(x, 1883);
    ck_assert_int_eq(pf_conf_bool("tls", "yes", &b, &err), 0);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(pf_conf_bool("tls", "maybe", &b, &err), PF_EPARSE);
    ck_assert_int_eq(pf_conf_str("k", "abcd", small, sizeof(small), &err), PF_ETOOBIG);
    ck_assert_int_eq(pf_conf_str("k", "abc", small, sizeof(small), &err), 0);
}
END_TEST

START_TEST(atomic_write)
{
    char dir[256], path[300], *buf;
    size_t len;
    struct stat st;

    pf_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state.json", dir);
    ck_assert_int_eq(pf_file_write_atomic(path, "first", 5, 0600), 0);
    ck_assert_int_eq(pf_file_write_atomic(path, "second!", 7, 0600), 0);
    ck_assert_int_eq(pf_file_read(path, 100, &buf, &len), 0);
    ck_assert_uint_eq(len, 7);
    ck_assert_str_eq(buf, "second!");
    free(buf);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(pf_file_read(path, 6, &buf, &len), PF_ETOOBIG);
    snprintf(path, sizeof(path), "%s/absent", dir);
    ck_assert_int_eq(pf_file_read(path, 6, &buf, &len), PF_ENOENT);
    /* A write into a missing directory fails and leaves nothing behind. */
    snprintf(path, sizeof(path), "%s/no/such/file", dir);
    ck_assert_int_eq(pf_file_write_atomic(path, "x", 1, 0600), PF_ENOENT);
    snprintf(path, sizeof(path), "%s/a/b/c", dir);
    ck_assert_int_eq(pf_mkdir_p(path, 0700), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    pf_test_rmtree(dir);
}
END_TEST

START_TEST(errors)
{
    struct pf_error err;
    char longp[200];

    ck_assert_str_eq(pf_strerror(PF_EDIGEST), "payload digest mismatch");
    ck_assert_str_eq(pf_errname(PF_EUNKNOWN_SERIAL), "UNKNOWN_SERIAL");
    ck_assert_str_eq(pf_strerror(-9999), "unknown error");
    ck_assert_int_eq(pf_error_set(&err, PF_EDIGEST, "digest mismatch"), PF_EDIGEST);
    ck_assert_int_eq(pf_error_prefix(&err, "payload %s", "fw.img"), PF_EDIGEST);
    pf_error_prefix(&err, "manifest");
    ck_assert_str_eq(err.msg, "manifest: payload fw.img: digest mismatch");
    /* Prefixing never overflows, however long. */
    memset(longp, 'x', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    for (int i = 0; i < 5; i++)
        pf_error_prefix(&err, "%s", longp);
    ck_assert_uint_lt(strlen(err.msg), sizeof(err.msg));
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("proto_core");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, serials);
    tcase_add_test(tc, topics);
    tcase_add_test(tc, versions);
    tcase_add_test(tc, conf_files);
    tcase_add_test(tc, atomic_write);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(core_suite());
}
