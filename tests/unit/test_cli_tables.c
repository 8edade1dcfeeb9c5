/*
 * test_cli_tables.c - every table the CLI draws, byte for byte.
 *
 * One case per renderer that prints a table (and its empty answer), with
 * answers that exercise the tolerant reading: fields missing, null, of the
 * wrong type, nested where the protocol nests them, too long, or carrying
 * control characters. The expected text was taken from the renderers as
 * they were before the tables shared one column-spec renderer (table.h), so
 * any change in what people see shows here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundles.h"
#include "commands_lifecycle.h"
#include "commands_rollout.h"
#include "diag.h"
#include "render.h"
#include "testutil.h"

#define NOW 1800000000000LL /* 2027-01-15 08:00:00 UTC */

static const struct table_case {
    const char *name;
    pfc_render_fn render;
    const char *answer;
    const char *want;
} cases[] = {
        /* One literal per printed line, so a failing case shows the row that moved. */
        // clang-format off
        {"devices", pfc_render_devices,
         "{\"devices\":[{\"serial\":\"PF1\",\"model\":\"A920\",\"fw_version\":\"1.4.2\",\"fw_slot\":\"a\",\"fee_version\":\"2026.1\",\"status\":\"registered\",\"online\":true,\"last_seen_ms\":1799999988000,\"battery_pct\":87.6,\"charging\":true,\"signal_dbm\":-71,\"net_type\":\"4g\",\"paper\":\"ok\",\"alerts\":[\"tamper\",{\"kind\":\"paper_out\"},3]},{\"serial\":\"PF2\",\"fw\":{\"version\":\"2.0\",\"slot\":\"b\"},\"power\":{\"battery_pct\":5,\"charging\":false},\"net\":{\"type\":\"wifi\",\"signal_dbm\":-90},\"status\":\"revoked\",\"last_seen_ms\":0,\"paper\":null,\"alerts\":[]},{\"serial\":\"PF3 \\u001b[31mred\",\"model\":12,\"fee_version\":true,\"status\":\"weird\",\"online\":\"yes\",\"last_seen_ms\":1799999000000,\"paper\":{\"a\":1},\"alerts\":\"x\",\"signal_dbm\":-50},{\"serial\":\"PF4-0123456789012345678901234567890123456789012345678901234567890123456789\"},{}]}",
            "SERIAL                                                            MODEL  FW     SLOT  FEE     STATUS   LAST-SEEN  BATTERY  PAPER        SIGNAL  ALERTS\n"
            "PF1                                                               A920   1.4.2  a     2026.1  online     12s ago  87% chg  ok       -71 dBm 4g  tamper,paper_out,3\n"
            "PF2                                                               -      2.0    b     -       revoked      never       5%  -      -90 dBm wifi  -\n"
            "PF3 \\x1b[31mred                                                   12     -      -     yes     weird      16m ago        -  {...}       -50 dBm  x\n"
            "PF4-012345678901234567890123456789012345678901234567890123456...  -      -      -     -       never        never        -  -                 -  -\n"
            "-                                                                 -      -      -     -       never        never        -  -                 -  -\n"},
        {"devices_empty", pfc_render_devices,
         "{\"devices\":[]}",
            "no terminals\n"},
        {"alerts", pfc_render_alerts,
         "{\"alerts\":[{\"serial\":\"PF1\",\"kind\":\"tamper\",\"opened_ms\":1799999000000,\"detail\":\"switch open\"},{\"serial\":\"PF2\",\"kind\":\"paper_out\"},{\"kind\":5,\"detail\":null,\"opened_ms\":1799900000000.0},\"bare\"]}",
            "SERIAL  KIND       OPENED   DETAIL\n"
            "PF1     tamper     16m ago  switch open\n"
            "PF2     paper_out  never    -\n"
            "-       5          1d ago   -\n"
            "-       bare       -        -\n"},
        {"alerts_empty", pfc_render_alerts,
         "{\"alerts\":[]}",
            "no open alerts\n"},
        {"device_card", pfc_render_device,
         "{\"device\":{\"serial\":\"PF1\",\"alerts\":[\"tamper\",{\"serial\":\"PF1\",\"kind\":\"x\",\"opened_ms\":1799990000000,\"detail\":\"d\"},{}],\"health\":[{\"ts_ms\":1799999990000,\"seq\":5,\"battery_pct\":50,\"signal_dbm\":-70,\"net_type\":\"4g\",\"temp_c\":40,\"paper\":\"ok\",\"fw_version\":\"1.0\",\"selftest\":{\"power\":\"pass\",\"printer\":\"fail\",\"screen\":\"fail\"},\"txn_count\":12},{\"ts\":1799999000000,\"seq\":\"x\",\"power\":{\"battery_pct\":3,\"charging\":true},\"temp_c\":12.7,\"selftest\":[],\"txn\":{\"count\":3}},{}]}}",
            "terminal PF1  (never)\n"
            "  model          -\n"
            "  hw rev         -\n"
            "  merchant       -\n"
            "  last seen      never\n"
            "\n"
            "versions\n"
            "  firmware       - (slot -)\n"
            "  fee table      -\n"
            "  fee pending    none\n"
            "  agent          -\n"
            "  last boot      -\n"
            "\n"
            "power, network, paper\n"
            "  battery        -\n"
            "  temperature    40 C\n"
            "  network        -\n"
            "  paper          -\n"
            "  tamper         -\n"
            "\n"
            "self-test\n"
            "  power          pass\n"
            "  printer        fail\n"
            "  screen         fail\n"
            "\n"
            "counters\n"
            "  none reported\n"
            "\n"
            "open alerts\n"
            "  KIND    OPENED  DETAIL\n"
            "  tamper  -       -\n"
            "  x       2h ago  d\n"
            "  -       never   -\n"
            "\n"
            "recent health (newest first)\n"
            "  WHEN     SEQ  BATTERY      SIGNAL  TEMP  PAPER  FW   SELFTEST             TXNS\n"
            "  10s ago    5      50%  -70 dBm 4g  40 C  ok     1.0  fail:printer,screen    12\n"
            "  16m ago    x   3% chg           -  12 C  -      -    -                       3\n"
            "  never      -        -           -     -  -      -    -                       -\n"},
        {"bundles", pfc_render_bundles,
         "{\"bundles\":[{\"id\":\"abc\",\"kind\":\"firmware\",\"version\":\"1.0\",\"models\":[\"A920\",\"B\"],\"size\":123,\"uploaded_ms\":1799999000000},{\"id\":\"def\",\"kind\":\"fee_table\",\"version\":\"2026.2\",\"models\":[],\"size\":20971520,\"uploaded_ms\":0},{\"id\":5,\"models\":\"x\",\"size\":\"big\"},{\"id\":\"ghi\",\"size\":15000,\"models\":[1,\"C\\u00e9\"]}]}",
            "ID   KIND       VERSION  MODELS    SIZE  UPLOADED\n"
            "abc  firmware   1.0      A920,B   123 B  16m ago\n"
            "def  fee_table  2026.2   any     20 MiB  never\n"
            "5    -          -        any       -1 B  never\n"
            "ghi  -          -        Cé      14 KiB  never\n"},
        {"bundles_empty", pfc_render_bundles,
         "{\"bundles\":[]}",
            "no bundles stored\n"},
        {"device_updates", pfc_render_device_updates,
         "{\"device\":{\"serial\":\"PF1\"},\"update\":{\"kind\":\"firmware\",\"version\":\"2.0\",\"status\":\"downloading\",\"percent\":40,\"offer\":\"o1\"},\"updates\":[{\"recv_ms\":1799999000000,\"offer\":\"o1\",\"kind\":\"firmware\",\"version\":\"2.0\",\"status\":\"failed\",\"code\":\"DIGEST\"},{\"recv_ms\":0,\"status\":\"deferred\",\"reason\":\"busy\"},{\"status\":\"downloading\",\"percent\":10},{\"offer\":7,\"kind\":null}]}",
            "terminal PF1  (never)\n"
            "  model          -\n"
            "  hw rev         -\n"
            "  merchant       -\n"
            "  last seen      never\n"
            "\n"
            "versions\n"
            "  firmware       - (slot -)\n"
            "  fee table      -\n"
            "  fee pending    none\n"
            "  agent          -\n"
            "  last boot      -\n"
            "\n"
            "power, network, paper\n"
            "  battery        -\n"
            "  temperature    -\n"
            "  network        -\n"
            "  paper          -\n"
            "  tamper         -\n"
            "\n"
            "self-test\n"
            "  not reported\n"
            "\n"
            "counters\n"
            "  none reported\n"
            "\n"
            "open alerts\n"
            "  none\n"
            "\n"
            "recent health (newest first)\n"
            "  none\n"
            "\n"
            "update\n"
            "  current        firmware 2.0 (downloading 40%)\n"
            "  offer          o1\n"
            "\n"
            "update history (newest first)\n"
            "  WHEN                     OFFER  KIND      VERSION  STATUS\n"
            "  2027-01-15 07:43:20 UTC  o1     firmware  2.0      failed: DIGEST\n"
            "  -                        -      -         -        deferred: busy\n"
            "  -                        -      -         -        downloading 10%\n"
            "  -                        7      -         -        -\n"},
        {"merchant", pfc_render_merchant,
         "{\"id\":\"M1\",\"name\":\"Shop\",\"terminals\":[{\"serial\":\"PF1\",\"model\":\"A920\",\"state\":\"installed\",\"bound_ms\":1799999000000,\"locked\":false},{\"serial\":\"PF2\",\"locked\":true,\"bound_ms\":null},{\"serial\":[\"x\",1,\"y\"],\"model\":{\"a\":[1,2]},\"state\":2.5}]}",
            "merchant       M1\n"
            "name           Shop\n"
            "status         -\n"
            "credit code    -\n"
            "MCC            -\n"
            "address        -\n"
            "contact        -\n"
            "phone          -\n"
            "time zone      -\n"
            "region         -\n"
            "settlement     -\n"
            "fee plan       -\n"
            "applied        -\n"
            "updated        -\n"
            "\n"
            "terminals: 3\n"
            "SERIAL  MODEL  STATE      BOUND    LOCKED\n"
            "PF1     A920   installed  16m ago  no\n"
            "PF2     -      -          never    yes\n"
            "x,1,y   {...}  2.5        never    -\n"},
        {"merchant_none", pfc_render_merchant,
         "{\"id\":\"M1\",\"terminals\":[]}",
            "merchant       M1\n"
            "name           -\n"
            "status         -\n"
            "credit code    -\n"
            "MCC            -\n"
            "address        -\n"
            "contact        -\n"
            "phone          -\n"
            "time zone      -\n"
            "region         -\n"
            "settlement     -\n"
            "fee plan       -\n"
            "applied        -\n"
            "updated        -\n"
            "\n"
            "terminals: 0\n"},
        {"merchants", pfc_render_merchants,
         "{\"merchants\":[{\"id\":\"M1\",\"status\":\"approved\",\"name\":\"Caf\\u00e9 \\u00fcn\\u00ef\",\"mcc\":\"5411\",\"tz\":\"Europe/Paris\",\"settlement\":\"daily\",\"fee_plan\":\"std\"},{\"id\":\"M2\",\"mcc\":5812,\"name\":[\"a\",\"b\"],\"tz\":{\"x\":1},\"settlement\":1.5,\"fee_plan\":\"\"}],\"next\":\"M2\"}",
            "ID  STATUS    NAME      MCC   TZ            SETTLE  FEE-PLAN\n"
            "M1  approved  Café ünï  5411  Europe/Paris  daily   std\n"
            "M2  -         a,b       5812  {...}         1.5     -\n"
            "more after M2: use --after\n"},
        {"merchants_empty", pfc_render_merchants,
         "{\"merchants\":[]}",
            "no merchants\n"},
        {"repairs", pfc_render_repairs,
         "{\"repairs\":[{\"id\":1,\"serial\":\"PF1\",\"state\":\"open\",\"source\":\"swap\",\"opened_ms\":1799999000000,\"fault_codes\":[\"E1\",\"E2\"],\"reason\":\"broken screen\"},{\"id\":22,\"fault_codes\":[],\"opened_ms\":0},{\"id\":\"x\",\"opened_ms\":1799900000000.0,\"reason\":true}]}",
            "ID  SERIAL  STATE  SOURCE  OPENED   FAULTS  REASON\n"
            " 1  PF1     open   swap    16m ago  E1,E2   broken screen\n"
            "22  -       -      -       never    -       -\n"
            " x  -       -      -       1d ago   -       yes\n"},
        {"repairs_empty", pfc_render_repairs,
         "{\"repairs\":[]}",
            "no repairs\n"},
        {"history", pfc_render_history,
         "{\"terminal\":{\"serial\":\"PF1\",\"state\":\"installed\"},\"events\":[{\"ts_ms\":1799999000000,\"kind\":\"bind\",\"from\":\"stock\",\"to\":\"installed\",\"merchant_id\":\"M1\",\"other\":null,\"repair_id\":null,\"actor\":\"alice\",\"detail\":\"\"},{\"ts_ms\":0,\"kind\":\"swap\",\"repair_id\":3,\"detail\":{\"a\":1}},{\"ts_ms\":\"x\",\"kind\":false,\"detail\":\"line\\nbreak\"}],\"repairs\":[{\"id\":3,\"serial\":\"PF1\",\"state\":\"open\"}],\"updates\":[{\"ts_ms\":1799999000000,\"status\":\"installed\",\"kind\":\"firmware\",\"version\":\"1.0\"}]}",
            "terminal       PF1\n"
            "model          -\n"
            "state          installed\n"
            "merchant       -\n"
            "bound          -\n"
            "fee plan       -\n"
            "time zone      -\n"
            "tags           -\n"
            "locked         -\n"
            "open repair    -\n"
            "\n"
            "history (oldest first):\n"
            "WHEN                     EVENT  FROM   TO         MERCHANT  OTHER  REPAIR  BY     DETAIL\n"
            "2027-01-15 07:43:20 UTC  bind   stock  installed  M1        -      -       alice  -\n"
            "-                        swap   -      -          -         -      3       -      {...}\n"
            "-                        no     -      -          -         -      -       -      line\\nbreak\n"
            "\n"
            "repairs:\n"
            "ID  SERIAL  STATE  SOURCE  OPENED  FAULTS  REASON\n"
            " 3  PF1     open   -       never   -       -\n"
            "\n"
            "updates:\n"
            "  2027-01-15 07:43:20 UTC  firmware 1.0  installed\n"},
        {"history_none", pfc_render_history,
         "{\"terminal\":{\"serial\":\"PF1\",\"state\":\"stock\"},\"events\":[]}",
            "terminal       PF1\n"
            "model          -\n"
            "state          stock\n"
            "merchant       -\n"
            "bound          -\n"
            "fee plan       -\n"
            "time zone      -\n"
            "tags           -\n"
            "locked         -\n"
            "open repair    -\n"
            "\n"
            "history (oldest first):\n"
            "  none\n"},
        {"audit", pfc_render_audit,
         "{\"audit\":[{\"id\":10,\"ts_ms\":1799999000000,\"actor\":\"alice\",\"role\":\"ops\",\"org\":\"agentA\",\"addr\":\"10.0.0.7\",\"action\":\"merchant.approve\",\"target\":\"M1\"},{\"id\":9,\"ts_ms\":0},{\"id\":8,\"ts_ms\":1799900000000.0,\"target\":[\"a\"]}],\"next\":9}",
            "ID  WHEN                     WHO    ROLE  ORG     FROM      ACTION            TARGET\n"
            "10  2027-01-15 07:43:20 UTC  alice  ops   agentA  10.0.0.7  merchant.approve  M1\n"
            " 9  -                        -      -     -       -         -                 -\n"
            " 8  2027-01-14 04:13:20 UTC  -      -     -       -         -                 a\n"
            "older rows: --before 9\n"},
        {"audit_empty", pfc_render_audit,
         "{\"audit\":[]}",
            "no audit rows\n"},
        {"rollout", pfc_render_rollout,
         "{\"id\":3,\"state\":\"running\",\"members\":12,\"stage\":0,\"stages\":[{\"size\":\"10%\",\"members\":2,\"opened_ms\":5,\"counts\":{\"installed\":1,\"pending\":1}},{\"size\":5,\"members\":\"x\",\"settled_ms\":3,\"opened_ms\":1},{}],\"totals\":{\"installed\":1,\"pending\":1,\"skipped\":3}}",
            "rollout   3\n"
            "state     running\n"
            "bundle    - -  -\n"
            "members   12, stage 1/3\n"
            "counts    installed 1, pending 1, skipped 3\n"
            "\n"
            "STAGE  SIZE  MEMBERS  PROGRESS                          PEND  OFFER  DL  INST  FAIL  RB  TOUT  ALRDY  DOUT  STATE\n"
            "1       10%        2  [###############...............]     1      0   0     1     0   0     0      0     0  open\n"
            "2         5        x  [                              ]     0      0   0     0     0   0     0      0     0  settled\n"
            "3         -        -  [                              ]     0      0   0     0     0   0     0      0     0  -\n"
            "all       -       12  [######......------------------]     1      0   0     1     0   0     0      0     0  -\n"
            "legend: # installed or already  x failed or timed out  r rolled back  > offered, downloading or installing\n"
            "        . pending or deferred  - skipped, swapped, deferred out or reverting\n"},
        {"rollout_no_totals", pfc_render_rollout,
         "{\"id\":4,\"state\":\"created\",\"stages\":[{\"size\":\"100%\",\"counts\":{\"deferred\":4,\"revert_failed\":1,\"downloading\":2,\"installing\":1}}]}",
            "rollout   4\n"
            "state     created\n"
            "bundle    - -  -\n"
            "members   0, stage -\n"
            "\n"
            "STAGE  SIZE  MEMBERS  PROGRESS                          PEND  OFFER  DL  INST  FAIL  RB  TOUT  ALRDY  DOUT  STATE\n"
            "1      100%        -  [>>>>>>>>>>>...............----]     4      0   3     0     0   0     0      0     0  -\n"
            "legend: # installed or already  x failed or timed out  r rolled back  > offered, downloading or installing\n"
            "        . pending or deferred  - skipped, swapped, deferred out or reverting\n"},
        {"rollouts", pfc_render_rollouts,
         "{\"rollouts\":[{\"id\":3,\"name\":\"fw\",\"state\":\"running\",\"kind\":\"firmware\",\"version\":\"2.1\",\"stage\":0,\"stage_count\":3,\"members\":40,\"totals\":{\"installed\":5,\"failed\":1,\"rolled_back\":0,\"timed_out\":2},\"waiting\":\"soak\"},{\"id\":4,\"stage\":1,\"stages\":[{},{}]},{\"id\":5,\"name\":\"\",\"stage\":2,\"members\":\"x\",\"state\":7},{\"id\":\"6\"}]}",
            "ID  NAME  STATE    KIND      VERSION  STAGE  MEMBERS  INSTALLED  FAILED  ROLLED-BACK  TIMED-OUT  WAITING\n"
            " 3  fw    running  firmware  2.1      1/3         40          5       1            0          2  soak\n"
            " 4  -     -        -         -        2/2          -          0       0            0          0  -\n"
            " 5  -     7        -         -        3            x          0       0            0          0  -\n"
            " 6  -     -        -         -        -            -          0       0            0          0  -\n"},
        {"rollouts_empty", pfc_render_rollouts,
         "{\"rollouts\":[]}",
            "no rollouts\n"},
        {"members", pfc_render_rollout_members,
         "{\"members\":[{\"serial\":\"PF1\",\"stage\":0,\"status\":\"installed\",\"code\":null,\"attempts\":1,\"since_ms\":1799999000000},{\"serial\":\"PF2\",\"stage\":\"x\",\"status\":\"failed\",\"code\":\"E_DISK\",\"attempts\":\"2\",\"since_ms\":0},{}]}",
            "SERIAL  STAGE  STATUS     CODE    ATTEMPTS  SINCE\n"
            "PF1         1  installed  -              1  16m ago\n"
            "PF2         -  failed     E_DISK         2  -\n"
            "-           -  -          -              -  -\n"},
        {"members_empty", pfc_render_rollout_members,
         "{\"members\":[]}",
            "no members\n"},
        {"diag_list", pfc_render_diag_list,
         "{\"diag\":[{\"id\":\"d1\",\"command\":\"ping\",\"status\":\"done\",\"late\":true,\"actor\":\"bob\",\"created_ms\":1799999000000,\"code\":\"OK\"},{\"id\":\"d2\",\"created_ms\":\"x\",\"code\":\"\"},{\"status\":\"failed\",\"late\":false,\"code\":7}]}",
            "ID  COMMAND  STATUS       BY   WHEN     CODE\n"
            "d1  ping     done (late)  bob  16m ago  OK\n"
            "d2  -        -            -    never    -\n"
            "-   -        failed       -    never    7\n"},
        {"diag_list_empty", pfc_render_diag_list,
         "{\"diag\":[]}",
            "ID  COMMAND  STATUS  BY  WHEN  CODE\n"},
        // clang-format on
};

START_TEST(table_bytes)
{
    const struct table_case *tc = &cases[_i];
    struct pf_error err = {0};
    json_error_t jerr;
    json_t *j = json_loads(tc->answer, 0, &jerr);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_msg(j != NULL, "%s: canned JSON: %s", tc->name, jerr.text);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tc->render(f, NOW, NULL, j, &err), 0);
    fclose(f);
    ck_assert_msg(!strcmp(buf, tc->want), "%s: got\n%s", tc->name, buf);
    free(buf);
    json_decref(j);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli_tables");
    TCase *tc = tcase_create("tables");

    tcase_add_loop_test(tc, table_bytes, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(suite());
}
