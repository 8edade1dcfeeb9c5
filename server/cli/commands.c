/*
 * commands.c - every posfleet command, one row each.
 *
 * A row with a request template needs no code: the parser validates the
 * arguments, pfc_run_template builds the path (holes and query parameters)
 * and the JSON body from the argument specs, and the renderer prints the
 * answer (or --json prints it raw). A row with a run function owns its flow,
 * like `devices --all`, which follows the "next" cursor page by page.
 */
#include "commands.h"

#include <string.h>

#include "pf/text.h"

#include "bundles.h"
#include "cli.h"
#include "diag.h"
#include "commands_accounts.h"
#include "commands_bulk.h"
#include "commands_admin.h"
#include "commands_hooks.h"
#include "commands_lifecycle.h"
#include "commands_rollout.h"
#include "commands_search.h"
#include "rollout_preview.h"
#include "import.h"
#include "render.h"

#define PFC_MAX_PAGES 100000

static const struct pfc_opt serial_pos[] = {
        {.name = "SERIAL", .type = PFC_OPT_SERIAL, .help = "terminal serial"},
        {0},
};

/* device add sends the serial in the body rather than the path. */
static const struct pfc_opt device_add_pos[] = {
        {.name = "SERIAL", .type = PFC_OPT_SERIAL, .body = "serial", .help = "terminal serial"},
        {0},
};

static const struct pfc_opt device_add_opts[] = {
        {.name = "model",
         .type = PFC_OPT_STR,
         .metavar = "M",
         .required = true,
         .body = "model",
         .help = "terminal model"},
        {.name = "hw-rev",
         .type = PFC_OPT_STR,
         .metavar = "R",
         .body = "hw_rev",
         .help = "hardware revision"},
        {.name = "merchant",
         .type = PFC_OPT_STR,
         .metavar = "ID",
         .body = "merchant_id",
         .help = "bind the new terminal to this active merchant"},
        {0},
};

static const struct pfc_opt device_opts[] = {
        {.name = "health",
         .type = PFC_OPT_INT,
         .min = 0,
         .max = 1000,
         .query = "health",
         .help = "recent health reports to show (the server's default otherwise)"},
        {0},
};

static const struct pfc_opt import_pos[] = {
        {.name = "FILE",
         .type = PFC_OPT_STR,
         .help = "CSV: serial,model[,hw_rev[,merchant_id]] (a merchant binds)"},
        {0},
};

static const struct pfc_opt import_opts[] = {
        {.name = "credentials-out",
         .type = PFC_OPT_STR,
         .metavar = "FILE",
         .help = "write serial,model,hw_rev,cert,key lines (posfleet-sim --credentials)"},
        {.name = "pki",
         .type = PFC_OPT_STR,
         .metavar = "DIR",
         .help = "development CA: issue missing certificates with posfleet-keys"},
        {.name = "certs",
         .type = PFC_OPT_STR,
         .metavar = "DIR",
         .help = "where the certificates are (default PKI/devices)"},
        {0},
};

static const struct pfc_opt bundle_upload_pos[] = {
        {.name = "FILE", .type = PFC_OPT_STR, .help = "signed bundle (uncompressed tar)"},
        {0},
};

static const struct pfc_opt update_pos[] = {
        {.name = "SERIAL", .type = PFC_OPT_SERIAL, .help = "terminal serial"},
        {.name = "BUNDLE",
         .type = PFC_OPT_STR,
         .body = "bundle",
         .help = "bundle id (posfleet bundles)"},
        {0},
};

static const struct pfc_opt update_opts[] = {
        {.name = "deadline-min",
         .type = PFC_OPT_INT,
         .min = 1,
         .max = 43200,
         .body = "deadline_min",
         .help = "minutes the terminal has to finish (posfleetd's update.deadline_min otherwise)"},
        {0},
};

static const struct pfc_opt diag_pos[] = {
        {.name = "SERIAL", .type = PFC_OPT_SERIAL, .help = "terminal serial"},
        {.name = "COMMAND",
         .type = PFC_OPT_STR,
         .help = "selftest, logs, net, config, versions, loglevel, reboot or archive"},
        {.name = "[ARG]", .type = PFC_OPT_STR, .help = "loglevel: error, warn, info or debug"},
        {0},
};

static const struct pfc_opt diag_opts[] = {
        {.name = "lines",
         .type = PFC_OPT_INT,
         .metavar = "N",
         .min = 1,
         .max = 500,
         .help = "logs: how many of the last lines (the terminal sends 50 otherwise)"},
        {.name = "minutes",
         .type = PFC_OPT_INT,
         .metavar = "M",
         .min = 1,
         .max = 1440,
         .help = "loglevel: for how long (15 otherwise), then the configured level again"},
        {.name = "max-kb",
         .type = PFC_OPT_INT,
         .metavar = "K",
         .min = 1,
         .max = 4096,
         .help = "archive: size bound in KiB (the terminal's own bound caps it)"},
        {.name = "output",
         .type = PFC_OPT_STR,
         .metavar = "FILE",
         .help = "archive: save the .tar.gz here"},
        {.name = "n",
         .type = PFC_OPT_INT,
         .metavar = "N",
         .min = 1,
         .max = 500,
         .help = "the same as --lines"},
        {.name = "o", .type = PFC_OPT_STR, .metavar = "FILE", .help = "the same as --output"},
        {.name = "deadline",
         .type = PFC_OPT_INT,
         .metavar = "S",
         .min = 1,
         .max = 3600,
         .help = "seconds the terminal has to run it (30 otherwise); never run later"},
        {0},
};

static const struct pfc_opt diag_show_pos[] = {
        {.name = "ID", .type = PFC_OPT_STR, .help = "diagnostic request id"},
        {0},
};

static const struct pfc_opt diag_list_opts[] = {
        {.name = "limit",
         .type = PFC_OPT_INT,
         .min = 1,
         .max = 500,
         .query = "limit",
         .help = "requests to show (20 otherwise)"},
        {0},
};

static const struct pfc_opt merchant_approve_opts[] = {
        {.name = "reason",
         .type = PFC_OPT_TEXT,
         .max = PF_TEXT_REASON_MAX,
         .metavar = "TEXT",
         .body = "reason",
         .help = "a note on the review (shown on the merchant, audited)"},
        {0},
};

static const struct pfc_opt lock_opts[] = {
        {.name = "reason",
         .type = PFC_OPT_TEXT,
         .max = PF_TEXT_REASON_MAX,
         .metavar = "TEXT",
         .required = true,
         .body = "reason",
         .help = "why (kept with the lock in the terminal's history, audited)"},
        {0},
};

static const struct pfc_opt merchant_reject_opts[] = {
        {.name = "reason",
         .type = PFC_OPT_TEXT,
         .max = PF_TEXT_REASON_MAX,
         .metavar = "TEXT",
         .required = true,
         .body = "reason",
         .help = "why the application is rejected (shown on the merchant, audited)"},
        {0},
};

static int cmd__devices(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err);

/* clang-format off */
const struct pfc_command pfc_commands[] = {
    {"devices", NULL, pfc_devices_opts, "GET", "/v1/devices", pfc_render_devices, cmd__devices,
     "find terminals: by merchant, state, lock, tag, region, model, versions, alert",
     "posfleet devices --merchant-name 面馆 --state active --all"},
    {"device", serial_pos, device_opts, "GET", "/v1/devices/{SERIAL}", pfc_render_device_updates,
     NULL, "show one terminal: identity, versions, health, self-test, alerts, updates",
     "posfleet device PF000123"},
    {"device add", device_add_pos, device_add_opts, "POST", "/v1/devices", pfc_render_added, NULL,
     "register a terminal so that posfleetd accepts its messages",
     "posfleet device add PF000123 --model PX-500"},
    {"device import", import_pos, import_opts, "POST", "/v1/devices/import", NULL,
     pfc_cmd_device_import, "register terminals from a CSV file, all or nothing",
     "posfleet device import terminals.csv --pki pki --credentials-out creds.csv"},
    {"device bind", NULL, pfc_bulk_opts, "POST", "/v1/bulk/bind", NULL, pfc_cmd_bulk_bind,
     "bind terminals to merchants from a CSV file (serial,merchant), all or nothing",
     "posfleet device bind --csv shops.csv"},
    {"device unbind", NULL, pfc_bulk_opts, "POST", "/v1/bulk/unbind", NULL, pfc_cmd_bulk_unbind,
     "unbind terminals from a CSV file (serial[,reason]), all or nothing",
     "posfleet device unbind --csv returns.csv"},
    {"device tag", NULL, pfc_bulk_opts, "POST", "/v1/bulk/tags", NULL, pfc_cmd_bulk_tag,
     "add (+) or remove (-) tags from a CSV file (serial,tag[,+|-]), all or nothing",
     "posfleet device tag --csv tags.csv --check"},
    {"device revoke", serial_pos, NULL, "POST", "/v1/devices/{SERIAL}/revoke", pfc_render_revoked,
     NULL, "revoke a terminal: its messages are dropped, nothing is sent to it",
     "posfleet device revoke PF000123"},
    {"summary", NULL, NULL, "GET", "/v1/summary", pfc_render_summary, NULL,
     "fleet counts, alerts by kind, models and firmware versions",
     "posfleet summary"},
    {"alerts", NULL, pfc_alerts_opts, "GET", "/v1/alerts", pfc_render_alerts, NULL,
     "open alerts across the fleet, newest first (filters)",
     "posfleet alerts --kind paper_out --older-than 2d"},
    {"diag", diag_pos, diag_opts, "POST", "/v1/devices/{SERIAL}/diag", pfc_render_diag,
     pfc_cmd_diag, "run an allowlisted diagnostic on a terminal and wait for the answer",
     "posfleet diag PF000123 logs --lines 100"},
    {"diag list", serial_pos, diag_list_opts, "GET", "/v1/devices/{SERIAL}/diag",
     pfc_render_diag_list, NULL, "a terminal's diagnostic requests, newest first",
     "posfleet diag list PF000123 --limit 5"},
    {"diag show", diag_show_pos, NULL, "GET", "/v1/diag/{ID}", pfc_render_diag, NULL,
     "one diagnostic request and the terminal's answer",
     "posfleet diag show 42"},
    {"bundle upload", bundle_upload_pos, NULL, "POST", "/v1/bundles", NULL, pfc_cmd_bundle_upload,
     "upload a signed bundle: posfleetd verifies and stores it",
     "posfleet bundle upload fw-2.4.1.tar"},
    {"bundles", NULL, NULL, "GET", "/v1/bundles", pfc_render_bundles, NULL,
     "stored bundles, newest first",
     "posfleet bundles"},
    {"update", update_pos, update_opts, "POST", "/v1/devices/{SERIAL}/update", pfc_render_offer,
     NULL, "offer a stored bundle to one terminal",
     "posfleet update PF000123 9d41c0e2 --deadline-min 120"},
    /* Merchants, lifecycle, swap, repairs, audit: commands_lifecycle.c. */
    {"merchants", NULL, pfc_merchants_opts, "GET", "/v1/merchants", pfc_render_merchants, NULL,
     "find merchants: by name fragment, credit code, phone, contact, region, status",
     "posfleet merchants --name 幸运面"},
    {"merchant list", NULL, pfc_merchants_opts, "GET", "/v1/merchants", pfc_render_merchants,
     NULL, "find merchants, as `posfleet merchants`",
     "posfleet merchant list --status applied"},
    {"merchant add", pfc_merchant_add_pos, pfc_merchant_fields, "POST", "/v1/merchants",
     pfc_render_merchant, pfc_cmd_lifecycle, "enter a merchant's application (status applied)",
     "posfleet merchant add M-SZ-0001 --name 幸运面馆 --uscc 9144030071526726XG --mcc 5812 --address '深圳市南山区南山大道 1 号' --contact 李伟 --phone '+86 138 0000 0000' --tz Asia/Shanghai --settlement T1"},
    {"merchant show", pfc_merchant_id_pos, NULL, "GET", "/v1/merchants/{ID}", pfc_render_merchant,
     NULL, "one merchant and its terminals",
     "posfleet merchant show M-SZ-0001"},
    {"merchant update", pfc_merchant_id_pos, pfc_merchant_update_fields, "POST",
     "/v1/merchants/{ID}/update", pfc_render_merchant, pfc_cmd_lifecycle,
     "change a merchant's fields (fee plan and time zone reach its terminals)",
     "posfleet merchant update M-SZ-0001 --fee-plan fee-2026.11 --region south"},
    {"merchant approve", pfc_merchant_id_pos, merchant_approve_opts, "POST",
     "/v1/merchants/{ID}/approve", pfc_render_merchant, pfc_cmd_lifecycle,
     "approve an application (with a note if you like)",
     "posfleet merchant approve M-SZ-0001 --reason '营业执照已核验'"},
    {"merchant reject", pfc_merchant_id_pos, merchant_reject_opts, "POST",
     "/v1/merchants/{ID}/reject", pfc_render_merchant, pfc_cmd_lifecycle,
     "reject an application, saying why (shown on the merchant, audited)",
     "posfleet merchant reject M-SZ-0001 --reason '营业执照已过期'"},
    {"merchant activate", pfc_merchant_id_pos, NULL, "POST", "/v1/merchants/{ID}/activate",
     pfc_render_merchant, pfc_cmd_lifecycle, "activate an approved merchant (binding does it too)",
     "posfleet merchant activate M-SZ-0001"},
    {"merchant suspend", pfc_merchant_id_pos, NULL, "POST", "/v1/merchants/{ID}/suspend",
     pfc_render_merchant, pfc_cmd_lifecycle, "suspend an active merchant",
     "posfleet merchant suspend M-SZ-0001"},
    {"merchant resume", pfc_merchant_id_pos, NULL, "POST", "/v1/merchants/{ID}/resume",
     pfc_render_merchant, pfc_cmd_lifecycle, "make a suspended merchant active again",
     "posfleet merchant resume M-SZ-0001"},
    {"merchant close", pfc_merchant_id_pos, NULL, "POST", "/v1/merchants/{ID}/close",
     pfc_render_merchant, pfc_cmd_lifecycle, "close a merchant (no terminal may be bound)",
     "posfleet merchant close M-SZ-0001"},
    {"bind", pfc_bind_pos, NULL, "POST", "/v1/devices/{SERIAL}/bind", pfc_render_terminal,
     pfc_cmd_lifecycle, "install a terminal in stock at a merchant",
     "posfleet bind PF000123 M-SZ-0001"},
    {"unbind", serial_pos, NULL, "POST", "/v1/devices/{SERIAL}/unbind", pfc_render_terminal,
     pfc_cmd_lifecycle, "take a bound terminal back into stock",
     "posfleet unbind PF000123"},
    {"retire", serial_pos, NULL, "POST", "/v1/devices/{SERIAL}/retire", pfc_render_terminal,
     pfc_cmd_lifecycle, "retire a terminal and revoke it in posfleetd",
     "posfleet retire PF000123"},
    {"lock", serial_pos, lock_opts, "POST", "/v1/devices/{SERIAL}/lock", pfc_render_terminal,
     pfc_cmd_lifecycle, "lock a terminal: it takes no payment until unlocked (support)",
     "posfleet lock PF000123 --reason '商户报失'"},
    {"unlock", serial_pos, lock_opts, "POST", "/v1/devices/{SERIAL}/unlock", pfc_render_terminal,
     pfc_cmd_lifecycle, "unlock a terminal support locked (a tamper lock ends with its repair) (support)",
     "posfleet unlock PF000123 --reason '已找回，核对无误'"},
    {"tag", serial_pos, pfc_tags_opts, "POST", "/v1/devices/{SERIAL}/tags", pfc_render_terminal,
     pfc_cmd_lifecycle, "set a terminal's tags (they follow a swap)",
     "posfleet tag PF000123 --tags 华南,flagship"},
    {"lifecycle", serial_pos, NULL, "GET", "/v1/devices/{SERIAL}/lifecycle", pfc_render_terminal,
     NULL, "a terminal's state, merchant, fee plan, time zone and lock",
     "posfleet lifecycle PF000123"},
    {"swap", pfc_swap_pos, pfc_swap_confirm_opts, "POST", "/v1/devices/{OLD}/swap",
     pfc_render_swap, pfc_cmd_swap,
     "replace a bound terminal with one in stock (asks first, or --yes); the old one goes to repair",
     "posfleet swap PF000123 PF000456 --reason 屏幕碎裂"},
    {"swap undo", pfc_swap_pos, pfc_swap_undo_opts, "POST", "/v1/devices/{OLD}/swap/undo",
     pfc_render_swap_undo, pfc_cmd_lifecycle,
     "undo a mistaken swap: OLD bound again, NEW back in stock, the swap's repair removed",
     "posfleet swap undo PF000123 PF000456 --reason 'wrong terminal picked'"},
    {"history", serial_pos, pfc_history_opts, "GET", "/v1/devices/{SERIAL}/history",
     pfc_render_history, NULL, "a terminal's bindings, swaps, locks, repairs and updates",
     "posfleet history PF000123 --limit 20"},
    {"repair open", serial_pos, pfc_repair_open_opts, "POST", "/v1/devices/{SERIAL}/repair",
     pfc_render_repair, pfc_cmd_lifecycle, "open a repair for a terminal in stock",
     "posfleet repair open PF000123 --reason 'reader declines every card' --faults CARD_READER"},
    {"repair list", NULL, pfc_repair_list_opts, "GET", "/v1/repairs", pfc_render_repairs, NULL,
     "repair records (open ones unless --state)",
     "posfleet repair list --state all --serial PF000123"},
    {"repair show", pfc_repair_id_pos, NULL, "GET", "/v1/repairs/{ID}", pfc_render_repair, NULL,
     "one repair record with the terminal's state when it opened",
     "posfleet repair show 7"},
    {"repair update", pfc_repair_id_pos, pfc_repair_update_opts, "POST", "/v1/repairs/{ID}",
     pfc_render_repair, pfc_cmd_lifecycle, "move a repair on, record faults, parts and notes",
     "posfleet repair update 7 --state diagnosed --notes 读卡器排线松动"},
    {"repair close", pfc_repair_id_pos, pfc_repair_close_opts, "POST", "/v1/repairs/{ID}/close",
     pfc_render_repair, pfc_cmd_lifecycle,
     "close a repair: back to stock (and unlocked) or scrapped (retired)",
     "posfleet repair close 7 --outcome returned_to_stock --parts reader-cable"},
    {"audit", NULL, pfc_audit_opts, "GET", "/v1/audit", pfc_render_audit, NULL,
     "who changed what: by actor, organisation, action, target, terminal, merchant or time",
     "posfleet audit --action terminal.swap --since 2026-12-01 --until 2026-12-08"},
    /* People: commands_accounts.c. */
    {"login", NULL, pfc_login_opts, NULL, NULL, NULL, pfc_cmd_login,
     "log in as a user; later commands use the session (0600 file)",
     "posfleet login --user li.wei"},
    {"logout", NULL, NULL, NULL, NULL, NULL, pfc_cmd_logout,
     "end the session and remove its file", "posfleet logout"},
    {"whoami", NULL, NULL, "GET", "/v1/me", pfc_render_me, NULL,
     "who posfleetd takes you for: user, role, organisation", "posfleet whoami"},
    {"token create", pfc_token_create_pos, pfc_token_create_opts, "POST", "/v1/tokens",
     pfc_render_token_created, NULL, "a named API token of yours for scripts (shown once)",
     "posfleet token create nightly-report --expires-days 30"},
    {"token list", NULL, NULL, "GET", "/v1/tokens", pfc_render_tokens, NULL,
     "your API tokens (an admin: everyone's in the organisation), with their last use",
     "posfleet token list"},
    {"token revoke", pfc_token_id_pos, NULL, "POST", "/v1/tokens/{ID}/revoke",
     pfc_render_token_revoked, NULL, "revoke an API token at once", "posfleet token revoke 3"},
    {"user add", pfc_user_add_pos, pfc_user_add_opts, "POST", "/v1/users", pfc_render_user,
     pfc_cmd_user_add, "a new user in your organisation or beneath it (admin; password as for login)",
     "posfleet user add li.wei --role ops --org agent-sz"},
    {"user list", NULL, NULL, "GET", "/v1/users", pfc_render_users, NULL,
     "the users of your organisation and beneath it: role, state, failed logins (admin)",
     "posfleet user list"},
    {"user show", pfc_user_name_pos, NULL, "GET", "/v1/users/{NAME}", pfc_render_user, NULL,
     "one user: role, organisation, merchant, state (admin)", "posfleet user show li.wei"},
    {"user disable", pfc_user_name_pos, NULL, "POST", "/v1/users/{NAME}/disable", pfc_render_user,
     pfc_cmd_user_disable, "refuse a user's logins; its sessions and API tokens stop at once (admin)",
     "posfleet user disable li.wei"},
    {"user enable", pfc_user_name_pos, NULL, "POST", "/v1/users/{NAME}/enable", pfc_render_user,
     pfc_cmd_user_enable, "let a disabled user log in again (admin)",
     "posfleet user enable li.wei"},
    {"user passwd", pfc_user_name_pos, NULL, "POST", "/v1/users/{NAME}", pfc_render_user,
     pfc_cmd_user_passwd, "set a user's password (as for login); its sessions end (admin)",
     "posfleet user passwd li.wei"},
    {"user role", pfc_user_role_pos, NULL, "POST", "/v1/users/{NAME}/role", pfc_render_user, NULL,
     "give a user another role (a merchant user stays one) (admin)",
     "posfleet user role li.wei approver"},
    {"org add", pfc_org_add_pos, pfc_org_add_opts, "POST", "/v1/orgs", pfc_render_org, NULL,
     "a new agent or reseller beneath your organisation (admin)",
     "posfleet org add agent-sz --parent headquarters"},
    {"org list", NULL, NULL, "GET", "/v1/orgs", pfc_render_orgs, NULL,
     "your organisation and every one beneath it (admin)", "posfleet org list"},
    {"org show", pfc_org_pos, NULL, "GET", "/v1/orgs/{ORG}", pfc_render_org, pfc_cmd_org_show,
     "one organisation and its users, by id or name (admin)", "posfleet org show agent-sz"},
    /* The server's administration: commands_admin.c. */
    {"admin backup", pfc_admin_backup_pos, NULL, NULL, NULL, NULL, pfc_cmd_admin_backup,
     "a verified copy of posfleetd's whole store, taken while it runs (admin)",
     "posfleet admin backup /var/backups/posfleetd-2026-12-07.db"},
    /* Webhooks: commands_hooks.c. */
    {"hook list", NULL, NULL, "GET", "/v1/hooks", pfc_render_hooks, NULL,
     "the webhooks posfleetd notifies, with their delivery counts (ops)", "posfleet hook list"},
    {"hook log", NULL, pfc_hook_log_opts, "GET", "/v1/hooks/log", pfc_render_hook_log, NULL,
     "webhook deliveries, newest first: state, attempts, last result (ops)",
     "posfleet hook log --hook ops --limit 20"},
    /* Staged rollouts: commands_rollout.c (runs), rollout_render.c (renderers). */
    {"rollout create", pfc_rollout_create_pos, pfc_rollout_create_opts, "POST", "/v1/rollouts",
     pfc_render_rollout, pfc_cmd_rollout_create,
     "plan a staged rollout of a stored bundle to a cohort of terminals",
     "posfleet rollout create 9d41c0e2 --name 'fw 2.4.1' --stages 1%,10%,100% --soak 2h --window 01:00-05:00"},
    {"rollout list", NULL, NULL, "GET", "/v1/rollouts", pfc_render_rollouts, NULL,
     "rollouts, newest first",
     "posfleet rollout list"},
    {"rollouts", NULL, NULL, "GET", "/v1/rollouts", pfc_render_rollouts, NULL,
     "rollouts, newest first",
     "posfleet rollouts"},
    {"rollout show", pfc_rollout_id_pos, pfc_rollout_show_opts, "GET", "/v1/rollouts/{ID}",
     pfc_render_rollout, pfc_cmd_rollout_show,
     "one rollout: state, progress per stage, failure reasons (--watch redraws)",
     "posfleet rollout show 3 --watch"},
    {"rollout members", pfc_rollout_id_pos, pfc_rollout_members_opts, "GET",
     "/v1/rollouts/{ID}/members", pfc_render_rollout_members, pfc_cmd_rollout_members,
     "a rollout's terminals and their status",
     "posfleet rollout members 3 --status failed"},
    {"rollout member", pfc_rollout_member_pos, pfc_rollout_member_opts, "POST",
     "/v1/rollouts/{ID}/members/{SERIAL}", pfc_render_rollout_member, pfc_cmd_rollout_member,
     "one member by hand: retry, skip or cancel, with the reason (audited)",
     "posfleet rollout member 3 T1 retry --reason 'charger replaced'"},
    {"rollout pause", pfc_rollout_id_pos, pfc_rollout_pause_opts, "POST",
     "/v1/rollouts/{ID}/pause", pfc_render_rollout, pfc_cmd_lifecycle,
     "stop offering; what is in progress finishes",
     "posfleet rollout pause 3 --reason 'failure rate on PX-500'"},
    {"rollout resume", pfc_rollout_id_pos, NULL, "POST", "/v1/rollouts/{ID}/resume",
     pfc_render_rollout, pfc_cmd_lifecycle, "go on after a pause; the rates count from now",
     "posfleet rollout resume 3"},
    {"rollout continue", pfc_rollout_id_pos, NULL, "POST", "/v1/rollouts/{ID}/continue",
     pfc_render_rollout, pfc_cmd_lifecycle, "open the next stage of a gated rollout",
     "posfleet rollout continue 3"},
    {"rollout abort", pfc_rollout_id_pos, pfc_rollout_abort_opts, "POST", "/v1/rollouts/{ID}/abort",
     pfc_render_rollout, pfc_cmd_lifecycle,
     "stop for good: members not reached are skipped, installed ones stay",
     "posfleet rollout abort 3 --reason 'superseded by 2.4.2'"},
    {"rollout rollback", pfc_rollout_id_pos, pfc_rollout_rollback_opts, "POST", "/v1/rollouts/{ID}/rollback",
     pfc_render_rollout, pfc_cmd_lifecycle,
     "stop and offer each installed member the bundle it ran before",
     "posfleet rollout rollback 3 --reason 'printer timeouts after 2.4.1'"},
    {"rollout preview", pfc_rollout_id_pos, NULL, "GET", "/v1/rollouts/{ID}/preview",
     pfc_render_rollout_preview, NULL,
     "what a created rollout plans now, and the digest its approval names",
     "posfleet rollout preview 3"},
    {"rollout approve", pfc_rollout_id_pos, pfc_rollout_approve_opts, "POST",
     "/v1/rollouts/{ID}/approve", pfc_render_rollout, pfc_cmd_lifecycle,
     "start a rollout that waits for a second pair of eyes (approver role, not its creator)",
     "posfleet rollout approve 3 --digest 5e0c9a7d31b2f48c6e05a1d9b7c3f2e48a6d0b1c9e7f5a3d2b8c4e6f0a1d3b5c"},
};
/* clang-format on */
const size_t pfc_ncommands = sizeof(pfc_commands) / sizeof(pfc_commands[0]);

/* The "next" cursor of a page: a serial, or NULL at the end. */
static int cmd__next(json_t *page, const char **next, struct pf_error *err)
{
    json_t *n = json_object_get(page, "next");

    *next = NULL;
    if (!n || json_is_null(n))
        return 0;
    if (!json_is_string(n) || !json_string_length(n))
        return pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: bad \"next\"");
    *next = json_string_value(n);
    return 0;
}

static int cmd__devices(struct pfc_ctx *ctx, const struct pfc_args *a, struct pf_error *err)
{
    char path[PFC_URL_MAX], after[PFC_STR_MAX + 1] = "", cursor[PFC_STR_MAX + 2];
    json_t *all = NULL, *page = NULL, *devs;
    const char *next;
    int rc;

    if ((rc = pfc_request_path(a, NULL, NULL, path, sizeof(path), err)) ||
        (rc = pfc_call(ctx, "GET", path, NULL, NULL, &all, err)))
        return rc;
    if (!json_is_array(json_object_get(all, "devices"))) {
        rc = pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no \"devices\"");
        goto out_all;
    }
    if ((rc = cmd__next(all, &next, err)))
        goto out_all;

    if (!pfc_args_flag(a, "all")) {
        rc = pfc_emit(ctx, a, pfc_render_devices, all, err);
        if (!rc && next && !ctx->json)
            fprintf(ctx->io->err, "posfleet: more terminals after %s: use --all for every page\n",
                    next);
        goto out_all;
    }

    /* --all: append every following page to the first one's list. */
    devs = json_object_get(all, "devices");
    for (int pages = 1; next; pages++) {
        if (pages >= PFC_MAX_PAGES || strlen(next) > PFC_STR_MAX || !strcmp(next, after)) {
            rc = pf_error_set(err, PF_ESCHEMA,
                              "unexpected answer from posfleetd: the pages do not end");
            goto out_all;
        }
        snprintf(after, sizeof(after), "%s", next);
        if ((rc = pfc_request_path(a, "after", after, path, sizeof(path), err)) ||
            (rc = pfc_call(ctx, "GET", path, NULL, NULL, &page, err)))
            goto out_all;
        if (!json_is_array(json_object_get(page, "devices"))) {
            rc = pf_error_set(err, PF_ESCHEMA, "unexpected answer from posfleetd: no \"devices\"");
            goto out_page;
        }
        if (json_array_extend(devs, json_object_get(page, "devices"))) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
            goto out_page;
        }
        if ((rc = cmd__next(page, &next, err)))
            goto out_page;
        /* next points into page, which goes now: keep a copy (too long ends the loop above). */
        if (next)
            snprintf(cursor, sizeof(cursor), "%s", next);
        next = next ? cursor : NULL;
        json_decref(page);
        page = NULL;
    }
    if (json_object_set_new(all, "next", json_null())) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out_all;
    }
    rc = pfc_emit(ctx, a, pfc_render_devices, all, err);
    goto out_all;

out_page:
    json_decref(page);
out_all:
    json_decref(all);
    return rc;
}
