/*
 * main.c - posfleet-sim: options, the fleet, the faults; sim_run() does the rest.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "pfa/log.h"
#include "sim.h"
#include "pf/num.h"
#include "pf/release.h"

#define MAIN_FD_SPARE 64 /* descriptors kept for logs, status, epoll, signals */

static void main__usage(FILE *f)
{
    fprintf(f,
            "usage: posfleet-sim {--credentials FILE | --count N --prefix P [--start K]\n"
            "                     [--certs DIR] [--models M:W,...]} [--broker HOST:PORT]\n"
            "                    [--ca FILE] [options]\n"
            "\n"
            "Runs many simulated terminals in one process, each a real agent core with\n"
            "its own MQTT connection and certificate, and prints a summary at the end.\n"
            "\n"
            "terminals:\n"
            "  --credentials FILE   serial,model,hw_rev,cert,key lines\n"
            "                       (posfleet device import --credentials-out)\n"
            "  --count N            N terminals PREFIX00001.. (posfleet-keys --count naming)\n"
            "  --prefix P           serial prefix for --count\n"
            "  --start K            first number (default 1)\n"
            "  --certs DIR          certificates DIR/SERIAL.crt and .key for --count\n"
            "  --models M:W,...     model mix for --count, weights (default " SIM_DEFAULT_MODEL
            ")\n"
            "  --emit-csv FILE      with --count: write the CSV for posfleet device import, exit\n"
            "connection:\n"
            "  --broker HOST:PORT   broker (default 127.0.0.1:8883)\n"
            "  --ca FILE            CA of the broker's certificate (TLS); none = plain TCP\n"
            "  --rate R             connection attempts per second, process-wide (default 200)\n"
            "  --backoff-min MS     --backoff-max MS   reconnect backoff (default 1000, 60000)\n"
            "  --keepalive S        MQTT keep-alive (default 60)\n"
            "reports:\n"
            "  --interval S         health report interval (default 60)\n"
            "  --jitter PCT         interval jitter, 0..50 (default 10)\n"
            "  --fw-version V       firmware version reported (default 1.0.0)\n"
            "updates:\n"
            "  --update-trust-root FILE   run each terminal's update engine (file-backed A/B\n"
            "                       slots, boot environment and fee tables in its state\n"
            "                       directory; a reboot starts its agent again)\n"
            "  --resend S           unacknowledged update events sent again after at least\n"
            "                       S s (update.resend_s; default: the agent's, 30)\n"
            "faults (exact share of the fleet, chosen with --seed):\n"
            "  --fault KIND=PCT     battery_low, paper_out, tamper, selftest_fail, flaky,\n"
            "                       slow_download, power_cut, no_answer (repeatable)\n"
            "  --flaky-every S      a flaky terminal's link is dropped every S s (default 30)\n"
            "  --fault-list KIND=FILE  KIND for exactly the serials listed in FILE, one a line,\n"
            "                       on top of the percentages (repeatable, 8 at most)\n"
            "  --faults-out FILE    write \"SERIAL KIND\" lines for every fault applied\n"
            "  --tamper N           once all are connected, trip the tamper switch of N\n"
            "                       terminals, one every --tamper-every MS (default 100),\n"
            "                       starting --tamper-after MS later (default 2000); the\n"
            "                       summary gives switch -> payments locked (p50, p99, max)\n"
            "  --tamper-report-only the agents are not told: the switch travels with the next\n"
            "                       health report, as before tamper events (a baseline)\n"
            "run:\n"
            "  --duration S         stop after S seconds (default: until SIGINT/SIGTERM)\n"
            "  --state-dir DIR      agents' state directories (default: a temporary one)\n"
            "  --status FILE        JSON status rewritten every second\n"
            "  --json               summary as JSON on stdout\n"
            "  --quiet              no progress lines on stderr\n"
            "  --log FILE           the agents' log lines (default stderr)\n"
            "  --log-level L        error, warn, info, debug (default error)\n"
            "  --seed N             seed for faults, models, jitter and backoff\n"
            "  -h, --help\n"
            "  -V, --version\n"
            "\n"
            "Exit status: 0 ok, 1 runtime failure, 2 bad usage.\n");
}

static int main__num(const char *opt, const char *s, long long lo, long long hi, long long *out)
{
    int64_t v;

    if (pf_parse_i64(s, lo, hi, &v) != 0) {
        fprintf(stderr, "posfleet-sim: %s: expected a whole number from %lld to %lld\n", opt, lo,
                hi);
        return PF_EINVAL;
    }
    *out = v;
    return 0;
}

static int main__broker(const char *s, struct sim_opts *o, char *host, size_t hlen)
{
    const char *colon = strrchr(s, ':');
    long long port;

    if (!colon || colon == s || (size_t)(colon - s) >= hlen ||
        main__num("--broker", colon + 1, 1, 65535, &port))
        return PF_EINVAL;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    o->broker_host = host;
    o->broker_port = (int)port;
    return 0;
}

/* Every connection is a descriptor: take the hard limit, and say so if it is too low. */
static int main__nofile(size_t n)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && n + MAIN_FD_SPARE > rl.rlim_cur) {
        fprintf(stderr,
                "posfleet-sim: %zu terminals need %zu descriptors; the hard limit is %llu\n", n,
                n + MAIN_FD_SPARE, (unsigned long long)rl.rlim_cur);
        return PF_EINVAL;
    }
    return 0;
}

static FILE *main__open_out(const char *path)
{
    FILE *f = fopen(path, "w");

    if (!f)
        fprintf(stderr, "posfleet-sim: %s: %s\n", path, strerror(errno));
    return f;
}

enum {
    OPT_CREDS = 256,
    OPT_COUNT,
    OPT_PREFIX,
    OPT_START,
    OPT_CERTS,
    OPT_MODELS,
    OPT_EMIT,
    OPT_BROKER,
    OPT_CA,
    OPT_RATE,
    OPT_BMIN,
    OPT_BMAX,
    OPT_KEEPALIVE,
    OPT_INTERVAL,
    OPT_JITTER,
    OPT_FW,
    OPT_FAULT,
    OPT_FLAKY,
    OPT_FAULTS_OUT,
    OPT_DURATION,
    OPT_STATE,
    OPT_STATUS,
    OPT_JSON,
    OPT_QUIET,
    OPT_LOG,
    OPT_LOGLEVEL,
    OPT_SEED,
    OPT_TRUST,
    OPT_FAULT_LIST,
    OPT_TAMPER,
    OPT_TAMPER_EVERY,
    OPT_TAMPER_AFTER,
    OPT_TAMPER_REPORT,
    OPT_RESEND,
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
            {"credentials", required_argument, NULL, OPT_CREDS},
            {"count", required_argument, NULL, OPT_COUNT},
            {"prefix", required_argument, NULL, OPT_PREFIX},
            {"start", required_argument, NULL, OPT_START},
            {"certs", required_argument, NULL, OPT_CERTS},
            {"models", required_argument, NULL, OPT_MODELS},
            {"emit-csv", required_argument, NULL, OPT_EMIT},
            {"broker", required_argument, NULL, OPT_BROKER},
            {"ca", required_argument, NULL, OPT_CA},
            {"rate", required_argument, NULL, OPT_RATE},
            {"backoff-min", required_argument, NULL, OPT_BMIN},
            {"backoff-max", required_argument, NULL, OPT_BMAX},
            {"keepalive", required_argument, NULL, OPT_KEEPALIVE},
            {"interval", required_argument, NULL, OPT_INTERVAL},
            {"jitter", required_argument, NULL, OPT_JITTER},
            {"fw-version", required_argument, NULL, OPT_FW},
            {"fault", required_argument, NULL, OPT_FAULT},
            {"flaky-every", required_argument, NULL, OPT_FLAKY},
            {"faults-out", required_argument, NULL, OPT_FAULTS_OUT},
            {"duration", required_argument, NULL, OPT_DURATION},
            {"state-dir", required_argument, NULL, OPT_STATE},
            {"status", required_argument, NULL, OPT_STATUS},
            {"json", no_argument, NULL, OPT_JSON},
            {"quiet", no_argument, NULL, OPT_QUIET},
            {"log", required_argument, NULL, OPT_LOG},
            {"log-level", required_argument, NULL, OPT_LOGLEVEL},
            {"seed", required_argument, NULL, OPT_SEED},
            {"update-trust-root", required_argument, NULL, OPT_TRUST},
            {"fault-list", required_argument, NULL, OPT_FAULT_LIST},
            {"tamper", required_argument, NULL, OPT_TAMPER},
            {"tamper-every", required_argument, NULL, OPT_TAMPER_EVERY},
            {"tamper-after", required_argument, NULL, OPT_TAMPER_AFTER},
            {"tamper-report-only", no_argument, NULL, OPT_TAMPER_REPORT},
            {"resend", required_argument, NULL, OPT_RESEND},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},
            {NULL, 0, NULL, 0},
    };
    struct sim_opts o = {
            .broker_host = "127.0.0.1",
            .broker_port = 8883,
            .interval_s = 60,
            .jitter_pct = 10,
            .backoff_min_ms = 1000,
            .backoff_max_ms = 60000,
            .keepalive_s = 60,
            .rate = 200,
            .flaky_every_s = 30,
            .fw_version = "1.0.0",
            .log_level = PFA_LOG_ERROR,
            .tamper_every_ms = 100,
            .tamper_after_ms = 2000,
    };
    struct sim_model_mix mix[SIM_MODELS_MAX];
    struct sim_fleet fleet = {0};
    struct sim_faults faults = {0};
    struct pf_error err = {0};
    const char *creds = NULL, *prefix = NULL, *certs = NULL, *emit = NULL, *faults_out = NULL;
    const char *lists[8];
    size_t nlists = 0;
    const char *log_path = NULL;
    char host[256], tmpl[PATH_MAX];
    long long v, count = 0, start = 1;
    int opt, nmix = 0, status = 1;
    bool seeded = false;

    while ((opt = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_CREDS:
            creds = optarg;
            break;
        case OPT_COUNT:
            if (main__num("--count", optarg, 1, 1000000, &count))
                return 2;
            break;
        case OPT_PREFIX:
            prefix = optarg;
            break;
        case OPT_START:
            if (main__num("--start", optarg, 0, 99999999, &start))
                return 2;
            break;
        case OPT_CERTS:
            certs = optarg;
            break;
        case OPT_MODELS:
            nmix = sim_models_parse(optarg, mix, SIM_MODELS_MAX, &err);
            if (nmix < 0) {
                fprintf(stderr, "posfleet-sim: %s\n", err.msg);
                return 2;
            }
            break;
        case OPT_EMIT:
            emit = optarg;
            break;
        case OPT_BROKER:
            if (main__broker(optarg, &o, host, sizeof(host))) {
                fprintf(stderr, "posfleet-sim: --broker: expected HOST:PORT\n");
                return 2;
            }
            break;
        case OPT_CA:
            o.ca = optarg;
            break;
        case OPT_RATE:
            if (main__num("--rate", optarg, 1, 100000, &v))
                return 2;
            o.rate = (uint32_t)v;
            break;
        case OPT_BMIN:
        case OPT_BMAX:
            if (main__num(opt == OPT_BMIN ? "--backoff-min" : "--backoff-max", optarg, 10, 86400000,
                          &v))
                return 2;
            *(opt == OPT_BMIN ? &o.backoff_min_ms : &o.backoff_max_ms) = (int)v;
            break;
        case OPT_KEEPALIVE:
            if (main__num("--keepalive", optarg, 10, 1200, &v))
                return 2;
            o.keepalive_s = (int)v;
            break;
        case OPT_INTERVAL:
            if (main__num("--interval", optarg, 1, 86400, &v))
                return 2;
            o.interval_s = (int)v;
            break;
        case OPT_JITTER:
            if (main__num("--jitter", optarg, 0, 50, &v))
                return 2;
            o.jitter_pct = (int)v;
            break;
        case OPT_FW:
            o.fw_version = optarg;
            break;
        case OPT_TRUST:
            o.update_trust_root = optarg;
            break;
        case OPT_RESEND:
            if (main__num("--resend", optarg, 1, 86400, &v))
                return 2;
            o.resend_s = (int)v;
            break;
        case OPT_TAMPER:
            if (main__num("--tamper", optarg, 0, 1000000, &v))
                return 2;
            o.tamper_count = (size_t)v;
            break;
        case OPT_TAMPER_REPORT:
            o.tamper_report_only = true;
            break;
        case OPT_TAMPER_EVERY:
        case OPT_TAMPER_AFTER:
            if (main__num(opt == OPT_TAMPER_EVERY ? "--tamper-every" : "--tamper-after", optarg,
                          opt == OPT_TAMPER_EVERY ? 1 : 0, 3600000, &v))
                return 2;
            *(opt == OPT_TAMPER_EVERY ? &o.tamper_every_ms : &o.tamper_after_ms) = v;
            break;
        case OPT_FAULT_LIST:
            if (nlists == sizeof(lists) / sizeof(lists[0])) {
                fprintf(stderr, "posfleet-sim: --fault-list: at most 8\n");
                return 2;
            }
            lists[nlists++] = optarg;
            break;
        case OPT_FAULT:
            if (sim_faults_parse(&faults, optarg, &err)) {
                fprintf(stderr, "posfleet-sim: %s\n", err.msg);
                return 2;
            }
            break;
        case OPT_FLAKY:
            if (main__num("--flaky-every", optarg, 2, 86400, &v))
                return 2;
            o.flaky_every_s = (int)v;
            break;
        case OPT_FAULTS_OUT:
            faults_out = optarg;
            break;
        case OPT_DURATION:
            if (main__num("--duration", optarg, 1, 365LL * 86400, &v))
                return 2;
            o.duration_ms = v * 1000;
            break;
        case OPT_STATE:
            o.state_dir = optarg;
            break;
        case OPT_STATUS:
            o.status_path = optarg;
            break;
        case OPT_JSON:
            o.json = true;
            break;
        case OPT_QUIET:
            o.quiet = true;
            break;
        case OPT_LOG:
            log_path = optarg;
            break;
        case OPT_LOGLEVEL: {
            enum pfa_log_level l;

            if (pfa_log_level_parse(optarg, &l)) {
                fprintf(stderr, "posfleet-sim: --log-level: error, warn, info or debug\n");
                return 2;
            }
            o.log_level = (int)l;
            break;
        }
        case OPT_SEED:
            if (main__num("--seed", optarg, 1, LLONG_MAX, &v))
                return 2;
            o.seed = (uint64_t)v;
            seeded = true;
            break;
        case 'h':
            main__usage(stdout);
            return 0;
        case 'V':
            return pf_release_print(stdout, "posfleet-sim");
        default:
            main__usage(stderr);
            return 2;
        }
    }
    if (optind != argc || (!creds == !count) || (count && !prefix) ||
        (creds && (prefix || certs || nmix)) || (emit && !count)) {
        fprintf(stderr, "posfleet-sim: give either --credentials FILE or --count N --prefix P "
                        "(--certs, --models and --emit-csv go with --count)\n");
        main__usage(stderr);
        return 2;
    }
    if (o.backoff_max_ms < o.backoff_min_ms) {
        fprintf(stderr, "posfleet-sim: --backoff-max is below --backoff-min\n");
        return 2;
    }
    if (count && !certs && o.ca && !emit) {
        fprintf(stderr, "posfleet-sim: --count with --ca needs --certs DIR\n");
        return 2;
    }
    if (!seeded)
        o.seed = 1;

    if (creds ? sim_fleet_load(creds, &fleet, &err)
              : sim_fleet_count(prefix, (uint32_t)start, (size_t)count, certs,
                                nmix > 0 ? mix : NULL, (size_t)(nmix > 0 ? nmix : 0), o.seed,
                                &fleet, &err)) {
        fprintf(stderr, "posfleet-sim: %s\n", err.msg);
        return 2;
    }
    if (emit) {
        FILE *f = main__open_out(emit);

        status = f && sim_fleet_write_csv(&fleet, f) == 0 ? 0 : 1;
        if (f && fclose(f) != 0)
            status = 1;
        if (status)
            fprintf(stderr, "posfleet-sim: cannot write %s\n", emit);
        goto out_fleet;
    }
    if (sim_faults_assign(&faults, fleet.n, o.seed ^ 0x5eedfa17ULL, &err)) {
        fprintf(stderr, "posfleet-sim: %s\n", err.msg);
        goto out_fleet;
    }
    for (size_t k = 0; k < nlists; k++) {
        if (sim_faults_list(&faults, &fleet, lists[k], &err)) {
            fprintf(stderr, "posfleet-sim: %s\n", err.msg);
            goto out_faults;
        }
    }
    if (faults_out) {
        FILE *f = main__open_out(faults_out);

        if (!f || sim_faults_write(&faults, &fleet, f) != 0 || fclose(f) != 0) {
            fprintf(stderr, "posfleet-sim: cannot write %s\n", faults_out);
            goto out_faults;
        }
    }
    if (main__nofile(fleet.n))
        goto out_faults;
    if (log_path) {
        o.log = fopen(log_path, "a");
        if (!o.log) {
            fprintf(stderr, "posfleet-sim: %s: %s\n", log_path, strerror(errno));
            goto out_faults;
        }
        setvbuf(o.log, NULL, _IOLBF, 0);
    }
    if (!o.state_dir) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");

        snprintf(tmpl, sizeof(tmpl), "%s/posfleet-sim.XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpl)) {
            fprintf(stderr, "posfleet-sim: %s: %s\n", tmpl, strerror(errno));
            goto out_log;
        }
        o.state_dir = tmpl;
        o.remove_state = true;
    }
    /* As in posfleet-agent: no openssl.cnf, no error strings (memory per process). */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL);
    OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_SSL_STRINGS, NULL);

    if (sim_run(&o, &fleet, &faults, &err)) {
        fprintf(stderr, "posfleet-sim: %s\n", err.msg);
        goto out_log;
    }
    status = 0;
out_log:
    if (o.log)
        fclose(o.log);
out_faults:
    sim_faults_release(&faults);
out_fleet:
    sim_fleet_release(&fleet);
    return status;
}
