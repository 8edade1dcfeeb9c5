/*
 * test_agent_diag.c - the agent's diagnostics without a broker: the allowlist
 * (unknown, expired and repeated requests refused or ignored, nothing run),
 * redaction of the configuration, the scrubbed log ring, reboot refused
 * during a sale, the temporary log level and its revert, the archive bound.
 * The io table is the agent's own publish hook; the HAL is the sim backend.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pfa/config.h"
#include "pfa/diag.h"
#include "pf/fileio.h"
#include "pf/msg_diag.h"
#include "testutil.h"

struct fixture {
    char dir[256];
    int64_t wall, mono;
    struct pf_clock clock;
    struct pfa_log log;
    struct pfa_hal *hal;
    struct pfa_diag *d;
    int published;
    char leaf[32];
    char last[PF_DIAG_RESP_MAX];
    size_t last_len;
    char corr[64];
    bool busy_update;
};

static int64_t fx_wall(void *ctx)
{
    return ((struct fixture *)ctx)->wall;
}

static int64_t fx_mono(void *ctx)
{
    return ((struct fixture *)ctx)->mono;
}

static int fx_publish(void *ctx, const char *leaf, const void *buf, size_t len, const void *corr,
                      size_t corr_len)
{
    struct fixture *f = ctx;

    f->published++;
    snprintf(f->leaf, sizeof(f->leaf), "%s", leaf);
    ck_assert_uint_lt(len, sizeof(f->last));
    memcpy(f->last, buf, len);
    f->last[len] = '\0';
    f->last_len = len;
    snprintf(f->corr, sizeof(f->corr), "%.*s", (int)corr_len, (const char *)corr);
    return 0;
}

static void fx_identity(void *ctx, struct pfa_diag_identity *out)
{
    struct fixture *f = ctx;

    out->fw_version = "1.2.3";
    out->fw_slot = PF_SLOT_A;
    out->fee_version = "";
    out->boot = PF_BOOT_NORMAL;
    out->update_busy = f->busy_update;
}

static struct fixture *fx_new(const char *extra)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct pfa_config cfg;
    struct pf_error err = {0};
    struct pfa_diag_io io = {fx_publish, fx_identity, NULL, NULL};
    char text[2048], keypath[300];
    FILE *k;

    ck_assert_ptr_nonnull(f);
    pf_test_tmpdir(f->dir, sizeof(f->dir));
    snprintf(keypath, sizeof(keypath), "%s/T1.key", f->dir);
    k = fopen(keypath, "w");
    ck_assert_ptr_nonnull(k);
    fputs("-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n", k);
    fclose(k);
    snprintf(text, sizeof(text),
             "serial = T1\nmodel = PX-500\nhw_rev = r2\nbroker.host = 127.0.0.1\n"
             "state_dir = %s/state\ntls.ca = %s/ca.crt\ntls.cert = %s/T1.crt\ntls.key = %s\n%s",
             f->dir, f->dir, f->dir, keypath, extra ? extra : "");
    ck_assert_int_eq(pfa_config_parse(text, strlen(text), "test", &cfg, &err), 0);
    f->wall = 1764220000000LL;
    f->mono = 1000;
    f->clock = (struct pf_clock){fx_wall, fx_mono, f};
    f->log.level = PFA_LOG_INFO;
    f->log.out = fopen("/dev/null", "w");
    ck_assert_int_eq(pfa_hal_sim_new(NULL, &f->hal), 0);
    io.ctx = f;
    ck_assert_int_eq(pfa_diag_new(&cfg, f->hal, &f->clock, &f->log, &io, &f->d, &err), 0);
    pfa_config_release(&cfg);
    return f;
}

static void fx_free(struct fixture *f)
{
    pfa_diag_free(f->d);
    pfa_hal_free(f->hal);
    fclose(f->log.out);
    pf_test_rmtree(f->dir);
    free(f);
}

/* Sends a request; returns the number of answers it produced. */
static int fx_send(struct fixture *f, const char *id, const char *cmd, const char *args,
                   int64_t deadline_off)
{
    char buf[1024];
    int before = f->published;

    snprintf(buf, sizeof(buf),
             "{\"v\":1,\"id\":\"%s\",\"cmd\":\"%s\",\"ts\":%lld,\"deadline\":%lld,\"args\":%s}", id,
             cmd, (long long)(f->wall - 1000), (long long)(f->wall + deadline_off),
             args ? args : "{}");
    ck_assert(pfa_diag_on_message(f->d, "diag", buf, strlen(buf), id, strlen(id)));
    return f->published - before;
}

static struct pf_diag_resp fx_answer(struct fixture *f)
{
    struct pf_diag_resp r;
    struct pf_error err = {0};

    ck_assert_str_eq(f->leaf, "diag");
    ck_assert_int_eq(pf_diag_resp_decode(f->last, f->last_len, &r, &err), 0);
    ck_assert_str_eq(f->corr, r.id);
    return r;
}

START_TEST(test_unknown_refused)
{
    struct fixture *f = fx_new(NULL);
    struct pfa_diag_stats st;
    struct pf_diag_resp r;

    ck_assert_int_eq(fx_send(f, "d1", "shell", NULL, 10000), 1);
    r = fx_answer(f);
    ck_assert_int_eq(r.status, PF_DIAG_REFUSED);
    ck_assert_str_eq(r.code, "UNKNOWN_COMMAND");
    ck_assert_ptr_null(r.result);
    pfa_diag_stats(f->d, &st);
    ck_assert_uint_eq(st.executed, 0);
    ck_assert_uint_eq(st.refused, 1);
    /* Not a diag leaf: not ours. */
    ck_assert(!pfa_diag_on_message(f->d, "offer", "{}", 2, NULL, 0));
    fx_free(f);
}
END_TEST

START_TEST(test_expired_and_repeat_never_run)
{
    struct fixture *f = fx_new(NULL);
    struct pf_diag_resp r;

    ck_assert_int_eq(fx_send(f, "d2", "reboot", NULL, -1), 1);
    r = fx_answer(f);
    ck_assert_int_eq(r.status, PF_DIAG_REFUSED);
    ck_assert_str_eq(r.code, "EXPIRED");
    f->mono += 5000;
    pfa_diag_tick(f->d);
    ck_assert_uint_eq(pfa_hal_sim_reboots(f->hal), 0);
    /* The same id again, now within a deadline: remembered, not run, not answered. */
    ck_assert_int_eq(fx_send(f, "d2", "reboot", NULL, 10000), 0);
    f->mono += 5000;
    pfa_diag_tick(f->d);
    ck_assert_uint_eq(pfa_hal_sim_reboots(f->hal), 0);
    fx_free(f);
}
END_TEST

START_TEST(test_repeat_survives_restart)
{
    struct fixture *f = fx_new(NULL);
    struct pfa_diag_io io = {fx_publish, fx_identity, NULL, f};
    struct pfa_config cfg;
    struct pf_error err = {0};
    char text[512];

    ck_assert_int_eq(fx_send(f, "d3", "versions", NULL, 10000), 1);
    pfa_diag_free(f->d);
    snprintf(text, sizeof(text),
             "serial = T1\nmodel = PX-500\nhw_rev = r2\nbroker.host = 127.0.0.1\nstate_dir = "
             "%s/state\n",
             f->dir);
    ck_assert_int_eq(pfa_config_parse(text, strlen(text), "test", &cfg, &err), 0);
    ck_assert_int_eq(pfa_diag_new(&cfg, f->hal, &f->clock, &f->log, &io, &f->d, &err), 0);
    pfa_config_release(&cfg);
    ck_assert_int_eq(fx_send(f, "d3", "versions", NULL, 10000), 0);
    fx_free(f);
}
END_TEST

START_TEST(test_config_redacted)
{
    struct fixture *f = fx_new(NULL);
    struct pf_diag_resp r;
    json_t *o, *c;

    ck_assert_int_eq(fx_send(f, "d4", "config", NULL, 10000), 1);
    r = fx_answer(f);
    ck_assert_int_eq(r.status, PF_DIAG_OK);
    ck_assert_ptr_null(strstr(r.result, "SECRET"));
    ck_assert_ptr_null(strstr(r.result, "PRIVATE KEY"));
    o = json_loads(r.result, 0, NULL);
    c = json_object_get(o, "config");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(c, "tls.key")), "/T1.key"));
    ck_assert_str_eq(json_string_value(json_object_get(c, "serial")), "T1");
    json_decref(o);
    pf_diag_resp_release(&r);
    ck_assert_str_eq(pfa_diag_redact("broker.password", "hunter2"), "<redacted>");
    ck_assert_str_eq(pfa_diag_redact("api.token", "abc"), "<redacted>");
    ck_assert_str_eq(pfa_diag_redact("wifi.psk", "abc"), "<redacted>");
    ck_assert_str_eq(pfa_diag_redact("tls.key", "/etc/k.pem"), "/etc/k.pem");
    fx_free(f);
}
END_TEST

START_TEST(test_logs_scrubbed_and_bounded)
{
    struct fixture *f = fx_new("diag.log_lines = 5\n");
    struct pf_diag_resp r;
    json_t *o, *lines;

    for (int i = 0; i < 8; i++)
        pfa_info(&f->log, "line %d", i);
    pfa_warn(&f->log, "reader echoed 4111 1111 1111 1111");
    ck_assert_int_eq(fx_send(f, "d5", "logs", "{\"lines\":3}", 10000), 1);
    r = fx_answer(f);
    o = json_loads(r.result, 0, NULL);
    lines = json_object_get(o, "lines");
    ck_assert_uint_eq(json_array_size(lines), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "kept")), 5);
    ck_assert_ptr_nonnull(strstr(r.result, "**** **** **** 1111"));
    ck_assert_ptr_null(strstr(r.result, "4111 1111"));
    json_decref(o);
    pf_diag_resp_release(&r);
    fx_free(f);
}
END_TEST

START_TEST(test_reboot_refused_during_sale)
{
    struct fixture *f = fx_new(NULL);
    struct pf_diag_resp r;

    ck_assert_int_eq(pfa_hal_sim_set(f->hal, "busy", "1"), 0);
    ck_assert_int_eq(fx_send(f, "d6", "reboot", NULL, 10000), 1);
    r = fx_answer(f);
    ck_assert_str_eq(r.code, "BUSY");
    f->mono += 5000;
    pfa_diag_tick(f->d);
    ck_assert_uint_eq(pfa_hal_sim_reboots(f->hal), 0);
    ck_assert_int_eq(pfa_hal_sim_set(f->hal, "busy", "0"), 0);
    f->busy_update = true;
    ck_assert_int_eq(fx_send(f, "d7", "reboot", NULL, 10000), 1);
    r = fx_answer(f);
    ck_assert_str_eq(r.code, "BUSY");
    ck_assert_ptr_nonnull(strstr(r.message, "update"));
    f->busy_update = false;
    ck_assert_int_eq(fx_send(f, "d8", "reboot", NULL, 10000), 1);
    r = fx_answer(f);
    ck_assert_int_eq(r.status, PF_DIAG_OK);
    pf_diag_resp_release(&r);
    ck_assert_uint_eq(pfa_hal_sim_reboots(f->hal), 0); /* not before the answer left */
    f->mono = pfa_diag_next_deadline_ms(f->d);
    pfa_diag_tick(f->d);
    ck_assert_uint_eq(pfa_hal_sim_reboots(f->hal), 1);
    fx_free(f);
}
END_TEST

START_TEST(test_loglevel_reverts)
{
    struct fixture *f = fx_new(NULL);
    struct pf_diag_resp r;

    ck_assert_int_eq(fx_send(f, "d9", "loglevel", "{\"level\":\"debug\",\"minutes\":2}", 10000), 1);
    r = fx_answer(f);
    ck_assert_int_eq(r.status, PF_DIAG_OK);
    pf_diag_resp_release(&r);
    ck_assert_int_eq(f->log.level, PFA_LOG_DEBUG);
    ck_assert_int_eq(pfa_diag_next_deadline_ms(f->d), f->mono + 120000);
    f->mono += 119999;
    pfa_diag_tick(f->d);
    ck_assert_int_eq(f->log.level, PFA_LOG_DEBUG);
    f->mono += 1;
    pfa_diag_tick(f->d);
    ck_assert_int_eq(f->log.level, PFA_LOG_INFO);
    ck_assert_int_eq(pfa_diag_next_deadline_ms(f->d), INT64_MAX);
    fx_free(f);
}
END_TEST

START_TEST(test_archive_bound)
{
    struct fixture *f = fx_new("diag.archive_max_kb = 2\n");
    struct pf_diag_resp r;
    json_t *o;
    char path[400];
    char *buf = NULL;
    size_t len = 0;

    /* Incompressible log lines: far more than 2 KiB of them. */
    for (int i = 0; i < 150; i++)
        pfa_info(&f->log, "noise %08x%08x%08x%08x", (unsigned)rand(), (unsigned)rand(),
                 (unsigned)rand(), (unsigned)rand());
    ck_assert_int_eq(fx_send(f, "d10", "archive", NULL, 10000), 1);
    r = fx_answer(f);
    ck_assert_int_eq(r.status, PF_DIAG_OK);
    o = json_loads(r.result, 0, NULL);
    ck_assert(json_is_true(json_object_get(o, "truncated")));
    ck_assert_int_le(json_integer_value(json_object_get(o, "size")), 2048);
    snprintf(path, sizeof(path), "%s/state/diag/archive.tgz", f->dir);
    ck_assert_int_eq(pf_file_read(path, 1 << 20, &buf, &len), 0);
    ck_assert_int_eq((int64_t)len, json_integer_value(json_object_get(o, "size")));
    free(buf);
    json_decref(o);
    pf_diag_resp_release(&r);

    /* A chunk request for it, and one for an archive it does not have. */
    {
        const char *q = "{\"v\":1,\"id\":\"d10\",\"offset\":0,\"length\":100}";
        struct pf_diag_chunk_hdr h;
        struct pf_error err = {0};
        const uint8_t *data;

        ck_assert(pfa_diag_on_message(f->d, "diagchunk", q, strlen(q), NULL, 0));
        ck_assert_str_eq(f->leaf, "diagchunk");
        ck_assert_int_eq(pf_diag_chunk_decode(f->last, f->last_len, &h, &data, &err), 0);
        ck_assert_uint_eq(h.length, 100);
        ck_assert_uint_eq(h.flags, 0);
        /* After a restart of the agent the same archive is still served, from any offset. */
        {
            struct pfa_diag_io io = {fx_publish, fx_identity, NULL, f};
            struct pfa_config cfg;
            char text[512];

            pfa_diag_free(f->d);
            snprintf(text, sizeof(text),
                     "serial = T1\nmodel = PX-500\nhw_rev = r2\nbroker.host = 127.0.0.1\n"
                     "state_dir = %s/state\n",
                     f->dir);
            ck_assert_int_eq(pfa_config_parse(text, strlen(text), "test", &cfg, &err), 0);
            ck_assert_int_eq(pfa_diag_new(&cfg, f->hal, &f->clock, &f->log, &io, &f->d, &err), 0);
            pfa_config_release(&cfg);
            q = "{\"v\":1,\"id\":\"d10\",\"offset\":100,\"length\":32768}";
            ck_assert(pfa_diag_on_message(f->d, "diagchunk", q, strlen(q), NULL, 0));
            ck_assert_int_eq(pf_diag_chunk_decode(f->last, f->last_len, &h, &data, &err), 0);
            ck_assert_uint_eq(h.offset, 100);
            ck_assert_uint_eq(h.offset + h.length, h.size);
            ck_assert_uint_eq(h.flags, PF_DIAG_CHUNK_LAST);
        }
        q = "{\"v\":1,\"id\":\"d11\",\"offset\":0,\"length\":100}";
        ck_assert(pfa_diag_on_message(f->d, "diagchunk", q, strlen(q), NULL, 0));
        ck_assert_int_eq(pf_diag_chunk_decode(f->last, f->last_len, &h, &data, &err), 0);
        ck_assert_uint_eq(h.flags, PF_DIAG_CHUNK_GONE);
    }
    fx_free(f);
}
END_TEST

static Suite *agent_diag_suite(void)
{
    Suite *s = suite_create("agent_diag");
    TCase *tc = tcase_create("diag");

    tcase_add_test(tc, test_unknown_refused);
    tcase_add_test(tc, test_expired_and_repeat_never_run);
    tcase_add_test(tc, test_repeat_survives_restart);
    tcase_add_test(tc, test_config_redacted);
    tcase_add_test(tc, test_logs_scrubbed_and_bounded);
    tcase_add_test(tc, test_reboot_refused_during_sale);
    tcase_add_test(tc, test_loglevel_reverts);
    tcase_add_test(tc, test_archive_bound);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(agent_diag_suite());
}
