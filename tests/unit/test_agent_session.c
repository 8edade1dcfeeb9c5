/*
 * test_agent_session.c - the agent core against a real Mosquitto on loopback
 * (plain TCP), driven the way posfleet-sim drives it: one poll loop, ticks on
 * a clock the test moves. An observer client subscribed to the device tree
 * sees what the server would see.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pf/fileio.h"
#include "pf/msg.h"
#include "pfa/agent.h"
#include "sim.h"
#include "testutil.h"

#define SERIAL   "T-SESS-1"
#define MAX_SEEN 64

struct seen {
    char leaf[32];
    char payload[PF_MSG_MAX + 1];
};

struct env {
    char dir[256];
    char hal_dir[300];
    char state_dir[300];
    int port;
    pid_t broker;
    int64_t mono, wall; /* the agent's clock */
    struct pf_clock clock;
    struct pfa_hal *hal;
    struct pfa_agent *agent;
    struct mosquitto *obs;
    struct seen seen[MAX_SEEN];
    int nseen;
};

static struct env E;

static int64_t env_mono(void *ctx)
{
    return ((struct env *)ctx)->mono;
}

static int64_t env_wall(void *ctx)
{
    return ((struct env *)ctx)->wall + ((struct env *)ctx)->mono;
}

static int64_t real_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void advance(int64_t ms)
{
    E.mono += ms;
}

static int free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static bool port_open(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

    close(fd);
    return ok;
}

static void broker_start(void)
{
    char conf[512], text[256];
    int64_t deadline = real_ms() + 10000;
    int n;

    snprintf(conf, sizeof(conf), "%s/mosquitto.conf", E.dir);
    n = snprintf(text, sizeof(text),
                 "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", E.port);
    ck_assert_int_eq(pf_file_write_atomic(conf, text, (size_t)n, 0600), 0);
    E.broker = fork();
    ck_assert_int_ge(E.broker, 0);
    if (E.broker == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("mosquitto", "mosquitto", "-c", conf, (char *)NULL);
        _exit(127);
    }
    while (!port_open(E.port)) {
        int status;
        ck_assert_msg(waitpid(E.broker, &status, WNOHANG) == 0, "mosquitto exited");
        ck_assert_msg(real_ms() < deadline, "mosquitto did not listen within 10 s");
        poll(NULL, 0, 10);
    }
}

static void broker_stop(void)
{
    if (E.broker > 0) {
        kill(E.broker, SIGTERM);
        waitpid(E.broker, NULL, 0);
        E.broker = 0;
    }
}

static void obs_on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
    const char *leaf = strrchr(msg->topic, '/');

    (void)m;
    (void)ud;
    if (E.nseen == MAX_SEEN || !leaf)
        return;
    snprintf(E.seen[E.nseen].leaf, sizeof(E.seen[0].leaf), "%s", leaf + 1);
    snprintf(E.seen[E.nseen].payload, sizeof(E.seen[0].payload), "%.*s", msg->payloadlen,
             (const char *)msg->payload);
    E.nseen++;
}

static void obs_connect(void)
{
    E.obs = mosquitto_new("observer", true, NULL);
    ck_assert_ptr_nonnull(E.obs);
    mosquitto_message_callback_set(E.obs, obs_on_message);
    ck_assert_int_eq(mosquitto_connect(E.obs, "127.0.0.1", E.port, 30), MOSQ_ERR_SUCCESS);
    ck_assert_int_eq(mosquitto_subscribe(E.obs, NULL, "pf/v1/dev/" SERIAL "/#", 1),
                     MOSQ_ERR_SUCCESS);
    /* Wait for the SUBACK so nothing published after this is missed. */
    for (int i = 0; i < 50; i++)
        mosquitto_loop(E.obs, 10, 10);
}

static void agent_new_opts(const char *extra, const struct pfa_agent_opts *opts)
{
    char text[2048];
    struct pfa_config cfg;
    struct pf_error err;
    int n = snprintf(text, sizeof(text),
                     "serial = " SERIAL "\nmodel = PX-500\nhw_rev = r2\n"
                     "broker.host = 127.0.0.1\nbroker.port = %d\n"
                     "state_dir = %s\nhal.dir = %s\nfw_version = 1.4.2\n"
                     "fee_version = 2026.11.1\nlog_level = error\n%s",
                     E.port, E.state_dir, E.hal_dir, extra);

    ck_assert_int_eq(pfa_config_parse(text, (size_t)n, "test.conf", &cfg, &err), 0);
    ck_assert_msg(pfa_agent_new(&cfg, E.hal, &E.clock, opts, &E.agent, &err) == 0, "%s", err.msg);
    pfa_config_release(&cfg);
}

static void agent_new(const char *extra)
{
    struct pfa_agent_opts opts = {.seed = 1234};

    agent_new_opts(extra, &opts);
}

static void setup(void)
{
    memset(&E, 0, sizeof(E));
    pf_test_tmpdir(E.dir, sizeof(E.dir));
    snprintf(E.hal_dir, sizeof(E.hal_dir), "%s/hal", E.dir);
    snprintf(E.state_dir, sizeof(E.state_dir), "%s/state", E.dir);
    ck_assert_int_eq(pf_mkdir_p(E.hal_dir, 0700), 0);
    E.port = free_port();
    E.mono = 1000000;
    E.wall = 1764220000000LL;
    E.clock = (struct pf_clock){env_wall, env_mono, &E};
    signal(SIGPIPE, SIG_IGN);
    ck_assert_int_eq(pfa_agent_lib_init(), 0);
    ck_assert_int_eq(pfa_hal_sim_new(E.hal_dir, &E.hal), 0);
}

static void teardown(void)
{
    pfa_agent_free(E.agent);
    if (E.obs)
        mosquitto_destroy(E.obs);
    pfa_hal_free(E.hal);
    broker_stop();
    pfa_agent_lib_cleanup();
    pf_test_rmtree(E.dir);
}

static void hal_put(const char *name, const char *value)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", E.hal_dir, name);
    ck_assert_int_eq(pf_file_write_atomic(path, value, strlen(value), 0644), 0);
}

/* One pass of the caller's loop: poll the agent's socket, run its timers, pump the observer. */
static void drive_once(void)
{
    struct pollfd pfd = {pfa_agent_fd(E.agent), POLLIN, 0};

    if (pfd.fd >= 0 && pfa_agent_want_write(E.agent))
        pfd.events |= POLLOUT;
    if (poll(&pfd, pfd.fd >= 0 ? 1 : 0, 5) > 0) {
        if (pfd.revents & (POLLHUP | POLLERR))
            pfa_agent_on_error(E.agent);
        else if (pfd.revents & POLLIN)
            pfa_agent_on_readable(E.agent);
        if ((pfd.revents & POLLOUT) && pfa_agent_fd(E.agent) == pfd.fd)
            pfa_agent_on_writable(E.agent);
    }
    pfa_agent_tick(E.agent);
    if (E.obs)
        mosquitto_loop(E.obs, 0, 10);
}

typedef bool (*cond_fn)(void *arg);

static bool drive_until(cond_fn cond, void *arg, int timeout_ms)
{
    int64_t deadline = real_ms() + timeout_ms;

    while (!cond(arg)) {
        if (real_ms() > deadline)
            return false;
        drive_once();
    }
    return true;
}

static bool is_connected(void *arg)
{
    struct pfa_agent_stats st;

    (void)arg;
    pfa_agent_stats(E.agent, &st);
    return st.connected;
}

static bool seen_count(void *arg)
{
    return E.nseen >= *(int *)arg;
}

static bool acked_count(void *arg)
{
    struct pfa_agent_stats st;

    pfa_agent_stats(E.agent, &st);
    return st.reports_acked >= *(uint32_t *)arg && st.queue_len == 0;
}

static bool is_waiting(void *arg)
{
    struct pfa_agent_stats st;

    (void)arg;
    pfa_agent_stats(E.agent, &st);
    return !st.connected && st.retry_at != PFA_DEADLINE_NONE;
}

static bool is_stopped(void *arg)
{
    (void)arg;
    return pfa_agent_stopped(E.agent);
}

static bool failures_at_least(void *arg)
{
    struct pfa_agent_stats st;

    pfa_agent_stats(E.agent, &st);
    return st.connect_failures >= *(uint32_t *)arg && st.retry_at != PFA_DEADLINE_NONE;
}

static void wait_seen(int n)
{
    ck_assert_msg(drive_until(seen_count, &n, 10000), "observer saw %d of %d messages", E.nseen, n);
}

static void decode_health(int i, struct pf_health *h)
{
    struct pf_error err;

    ck_assert_str_eq(E.seen[i].leaf, "health");
    ck_assert_msg(pf_health_decode(E.seen[i].payload, strlen(E.seen[i].payload), h, &err) == 0,
                  "%s", err.msg);
}

START_TEST(birth_then_health)
{
    struct pf_birth b;
    struct pf_health h;
    struct pf_state s;
    struct pf_error err;
    int n;

    broker_start();
    obs_connect();
    hal_put("battery_pct", "4");
    hal_put("screen", "fail");
    agent_new("");
    pfa_agent_start(E.agent, 0);
    ck_assert(drive_until(is_connected, NULL, 10000));
    /* state online, birth, then the first report at once. */
    wait_seen(3);
    ck_assert_str_eq(E.seen[0].leaf, "state");
    ck_assert_int_eq(pf_state_decode(E.seen[0].payload, strlen(E.seen[0].payload), &s, &err), 0);
    ck_assert_int_eq(s.state, PF_STATE_ONLINE);
    ck_assert_str_eq(E.seen[1].leaf, "birth");
    ck_assert_int_eq(pf_birth_decode(E.seen[1].payload, strlen(E.seen[1].payload), &b, &err), 0);
    ck_assert_str_eq(b.model, "PX-500");
    ck_assert_str_eq(b.hw_rev, "r2");
    ck_assert_str_eq(b.fw_version, "1.4.2");
    ck_assert_str_eq(b.fee_version, "2026.11.1");
    ck_assert_str_eq(b.agent_version, PFA_AGENT_VERSION);
    ck_assert_int_eq(b.boot, PF_BOOT_NORMAL);
    ck_assert_int_eq(b.selftest[PF_COMP_SCREEN], PF_CHECK_FAIL);
    ck_assert_int_eq(b.selftest[PF_COMP_PRINTER], PF_CHECK_PASS);
    decode_health(2, &h);
    ck_assert_uint_eq(h.seq, 1);
    ck_assert_int_eq(h.battery_pct, 4);
    ck_assert(!h.queued);
    ck_assert_int_eq(h.selftest[PF_COMP_SCREEN], PF_CHECK_FAIL);
    ck_assert_uint_eq(h.err_reconnects, 0);
    ck_assert_int_eq(h.ts_ms, E.wall + E.mono);

    /* A live change shows in the next report, taken one interval later; the tamper
     * switch, read every tamper_poll_ms, also sends its event at once, first. */
    hal_put("battery_pct", "55");
    hal_put("tamper", "1");
    advance(60000 + 6000); /* interval 60 s, jitter at most 10 % */
    wait_seen(5);
    ck_assert_str_eq(E.seen[3].leaf, "tamper");
    decode_health(4, &h);
    ck_assert_uint_eq(h.seq, 2);
    ck_assert_int_eq(h.battery_pct, 55);
    ck_assert(h.tamper);
    ck_assert_uint_eq(h.uptime_s, 66);
    n = 2;
    ck_assert(drive_until(acked_count, &n, 5000));
    ck_assert_int_eq(E.nseen, 5);
}
END_TEST

START_TEST(offline_queue_delivered_in_order)
{
    struct pfa_agent_stats st;
    struct pf_health h;
    uint32_t two = 2;
    char path[512];
    FILE *f;

    /* No broker yet: reports pile up on disk, the oldest beyond queue_max dropped. */
    agent_new("queue_max = 3\nhealth_jitter_pct = 0\nbackoff_min_ms = 1000\n"
              "backoff_max_ms = 4000\n");
    pfa_agent_start(E.agent, 0);
    for (int i = 1; i <= 5; i++) {
        uint32_t want = (uint32_t)i;
        advance(60000);
        hal_put("txn_count", i == 1 ? "1" : i == 2 ? "2" : i == 3 ? "3" : i == 4 ? "4" : "5");
        ck_assert(drive_until(failures_at_least, &want, 5000));
    }
    pfa_agent_stats(E.agent, &st);
    ck_assert_uint_eq(st.reports_made, 5);
    ck_assert_uint_eq(st.queue_len, 3);
    ck_assert_uint_eq(st.queue_dropped, 2);
    ck_assert(!st.connected);
    snprintf(path, sizeof(path), "%s/queue/0000000003.msg", E.state_dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    fclose(f);

    broker_start();
    obs_connect();
    advance(4000); /* the retry is due at most backoff_max_ms later */
    ck_assert(drive_until(is_connected, NULL, 10000));
    /* state, birth, then seq 3, 4, 5 in order, marked queued. */
    wait_seen(5);
    ck_assert_str_eq(E.seen[0].leaf, "state");
    ck_assert_str_eq(E.seen[1].leaf, "birth");
    for (int i = 0; i < 3; i++) {
        decode_health(2 + i, &h);
        ck_assert_uint_eq(h.seq, (uint32_t)(3 + i));
        ck_assert_uint_eq(h.txn_count, (uint32_t)(3 + i));
        ck_assert(h.queued);
        ck_assert_int_eq(h.ts_ms, E.wall + 1000000 + 60000LL * (3 + i));
    }
    ck_assert(drive_until(acked_count, &two, 5000));
    pfa_agent_stats(E.agent, &st);
    ck_assert_uint_eq(st.queue_len, 0);
    /* The next report carries the drop count and goes out at once. */
    advance(60000);
    wait_seen(6);
    decode_health(5, &h);
    ck_assert_uint_eq(h.seq, 6);
    ck_assert_uint_eq(h.err_queue_dropped, 2);
    ck_assert(!h.queued);
}
END_TEST

START_TEST(backoff_on_the_agent_clock)
{
    struct pfa_agent_stats st;
    int64_t last_gap = 0, cap = 200;

    agent_new("backoff_min_ms = 200\nbackoff_max_ms = 3000\n");
    pfa_agent_start(E.agent, 0);
    for (uint32_t n = 1; n <= 8; n++) {
        int64_t gap;
        ck_assert(drive_until(failures_at_least, &n, 5000));
        pfa_agent_stats(E.agent, &st);
        gap = st.retry_at - E.mono;
        cap = cap * 2 > 3000 ? 3000 : cap * 2;
        ck_assert_int_ge(gap, 200);
        ck_assert_int_le(gap, cap);
        last_gap = gap;
        /* Nothing happens before the retry time... */
        advance(gap - 1);
        drive_once();
        pfa_agent_stats(E.agent, &st);
        ck_assert_uint_eq(st.connect_failures, n);
        /* ...and the attempt is made once it is reached. */
        advance(1);
    }
    ck_assert_int_le(last_gap, 3000);
}
END_TEST

START_TEST(reconnect_counted)
{
    struct pf_health h;
    uint32_t one = 1;

    broker_start();
    agent_new("backoff_min_ms = 100\nbackoff_max_ms = 200\n");
    pfa_agent_start(E.agent, 0);
    ck_assert(drive_until(is_connected, NULL, 10000));
    ck_assert(drive_until(acked_count, &one, 5000));
    broker_stop();
    ck_assert(drive_until(is_waiting, NULL, 10000));
    broker_start();
    obs_connect();
    advance(200);
    ck_assert(drive_until(is_connected, NULL, 10000));
    pfa_agent_report_now(E.agent);
    /* state, birth, health */
    wait_seen(3);
    decode_health(2, &h);
    ck_assert_uint_eq(h.seq, 2);
    ck_assert_uint_eq(h.err_reconnects, 1);
}
END_TEST

START_TEST(graceful_stop_publishes_offline)
{
    struct pf_state s;
    struct pf_error err;

    broker_start();
    obs_connect();
    agent_new("");
    pfa_agent_start(E.agent, 0);
    wait_seen(3);
    pfa_agent_stop(E.agent);
    ck_assert(drive_until(is_stopped, NULL, 5000));
    ck_assert_int_eq(pfa_agent_fd(E.agent), -1);
    wait_seen(4);
    ck_assert_str_eq(E.seen[3].leaf, "state");
    ck_assert_int_eq(pf_state_decode(E.seen[3].payload, strlen(E.seen[3].payload), &s, &err), 0);
    ck_assert_int_eq(s.state, PF_STATE_OFFLINE);
}
END_TEST

static bool acks_at_least(void *arg)
{
    struct pfa_agent_stats st;

    pfa_agent_stats(E.agent, &st);
    return st.acks_received >= *(uint32_t *)arg;
}

START_TEST(persistent_session_and_seq_survive_restart)
{
    static const char ack[] = "{\"v\":1,\"id\":\"evt-1\"}";
    struct pf_health h;
    uint32_t one = 1;

    broker_start();
    obs_connect();
    agent_new("");
    pfa_agent_start(E.agent, 0);
    ck_assert(drive_until(acked_count, &one, 10000));
    /* The terminal dies (no DISCONNECT). An ack published while it is away... */
    pfa_agent_free(E.agent);
    E.agent = NULL;
    ck_assert_int_eq(mosquitto_publish(E.obs, NULL, "pf/v1/cmd/" SERIAL "/ack", (int)strlen(ack),
                                       ack, 1, false),
                     MOSQ_ERR_SUCCESS);
    for (int i = 0; i < 20; i++)
        mosquitto_loop(E.obs, 10, 10);
    /* ...is delivered when it comes back: the session outlived the connection. */
    E.nseen = 0;
    agent_new("");
    pfa_agent_start(E.agent, 0);
    ck_assert(drive_until(acks_at_least, &one, 10000));
    /* And the sequence continues where it stopped. */
    pfa_agent_report_now(E.agent);
    ck_assert(drive_until(acked_count, &one, 10000));
    for (int i = 0; i < E.nseen; i++) {
        if (strcmp(E.seen[i].leaf, "health") == 0) {
            decode_health(i, &h);
            ck_assert_uint_eq(h.seq, 2);
            return;
        }
    }
    wait_seen(E.nseen + 1);
    decode_health(E.nseen - 1, &h);
    ck_assert_uint_eq(h.seq, 2);
}
END_TEST

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

START_TEST(one_descriptor_per_agent)
{
    struct pfa_agent_opts guarded = {.seed = 1234, .pair_guard = sim_pairs_guard};
    struct pfa_hal *hals[3];
    struct pfa_agent *more[3];
    int before;

    /* posfleet-sim runs 15,000 agents under a 20,000-descriptor limit: with its
     * socket-pair guard, a connected agent holds its socket and nothing else. */
    broker_start();
    before = count_fds();
    agent_new_opts("", &guarded);
    ck_assert_int_eq(count_fds(), before);
    pfa_agent_start(E.agent, 0);
    ck_assert(drive_until(is_connected, NULL, 10000));
    ck_assert_int_eq(count_fds(), before + 1);
    /* Three more in the same process, each on its own state directory. */
    for (int i = 0; i < 3; i++) {
        char text[1024];
        struct pfa_config cfg;
        struct pf_error err;
        int n = snprintf(text, sizeof(text),
                         "serial = T-MORE-%d\nmodel = M\nhw_rev = r1\nbroker.host = 127.0.0.1\n"
                         "broker.port = %d\nstate_dir = %s/more%d\nlog_level = error\n",
                         i, E.port, E.dir, i);
        ck_assert_int_eq(pfa_config_parse(text, (size_t)n, "more", &cfg, &err), 0);
        ck_assert_int_eq(pfa_hal_sim_new(NULL, &hals[i]), 0);
        ck_assert_int_eq(pfa_agent_new(&cfg, hals[i], &E.clock, &guarded, &more[i], &err), 0);
        pfa_config_release(&cfg);
        pfa_agent_start(more[i], 0);
    }
    for (int round = 0; round < 2000; round++) {
        int up = 0;
        for (int i = 0; i < 3; i++) {
            struct pfa_agent_stats st;
            struct pollfd pfd = {pfa_agent_fd(more[i]), POLLIN, 0};
            if (pfd.fd >= 0 && pfa_agent_want_write(more[i]))
                pfd.events |= POLLOUT;
            if (pfd.fd >= 0 && poll(&pfd, 1, 1) > 0) {
                if (pfd.revents & (POLLHUP | POLLERR))
                    pfa_agent_on_error(more[i]);
                else if (pfd.revents & POLLIN)
                    pfa_agent_on_readable(more[i]);
                if ((pfd.revents & POLLOUT) && pfa_agent_fd(more[i]) == pfd.fd)
                    pfa_agent_on_writable(more[i]);
            }
            pfa_agent_tick(more[i]);
            pfa_agent_stats(more[i], &st);
            up += st.connected;
        }
        if (up == 3)
            break;
    }
    ck_assert_int_eq(count_fds(), before + 4);
    for (int i = 0; i < 3; i++) {
        struct pfa_agent_stats st;
        pfa_agent_stats(more[i], &st);
        ck_assert(st.connected);
        pfa_agent_free(more[i]);
        pfa_hal_free(hals[i]);
    }
    ck_assert_int_eq(count_fds(), before + 1);
}
END_TEST

START_TEST(core_leaves_socketpair_alone)
{
    int before;

    /* Without a guard the core changes nothing process-wide: libmosquitto opens its
     * wake-up pair at mosquitto_new() and again at the first connect. */
    broker_start();
    before = count_fds();
    agent_new("");
    ck_assert_int_eq(count_fds(), before + 2);
    pfa_agent_start(E.agent, 0);
    ck_assert(drive_until(is_connected, NULL, 10000));
    ck_assert_int_eq(count_fds(), before + 3);
}
END_TEST

START_TEST(bad_tls_files_refused)
{
    char text[2048];
    struct pfa_config cfg;
    struct pf_error err;
    struct stat st;
    int n = snprintf(text, sizeof(text),
                     "serial = " SERIAL "\nmodel = M\nhw_rev = r1\nbroker.host = 127.0.0.1\n"
                     "state_dir = %s\ntls.ca = %s/missing-ca.pem\ntls.cert = %s/c.pem\n"
                     "tls.key = %s/c.key\n",
                     E.state_dir, E.dir, E.dir, E.dir);

    ck_assert_int_eq(pfa_config_parse(text, (size_t)n, "t.conf", &cfg, &err), 0);
    ck_assert_int_eq(pfa_agent_new(&cfg, E.hal, &E.clock, NULL, &E.agent, &err), PF_EINVAL);
    ck_assert_ptr_null(E.agent);
    ck_assert_msg(strstr(err.msg, "missing-ca.pem"), "%s", err.msg);
    /* Nothing was written. */
    ck_assert_int_ne(stat(E.state_dir, &st), 0);
    pfa_config_release(&cfg);
}
END_TEST

static bool gate_open;
static int gate_calls;

static bool gate(void *ctx, struct pfa_agent *a)
{
    ck_assert_ptr_eq(ctx, &gate_calls);
    ck_assert_ptr_eq(a, E.agent);
    gate_calls++;
    return gate_open;
}

START_TEST(connect_gate_postpones)
{
    char text[1024];
    struct pfa_config cfg;
    struct pf_error err;
    struct pfa_agent_stats st;
    struct pfa_agent_opts opts = {.seed = 5, .may_connect = gate, .gate_ctx = &gate_calls};
    int n = snprintf(text, sizeof(text),
                     "serial = " SERIAL "\nmodel = M\nhw_rev = r1\nbroker.host = 127.0.0.1\n"
                     "broker.port = %d\nstate_dir = %s\nlog_level = error\n",
                     E.port, E.state_dir);

    broker_start();
    ck_assert_int_eq(pfa_config_parse(text, (size_t)n, "t.conf", &cfg, &err), 0);
    ck_assert_int_eq(pfa_agent_new(&cfg, E.hal, &E.clock, &opts, &E.agent, &err), 0);
    pfa_config_release(&cfg);
    pfa_agent_start(E.agent, 0);
    for (int i = 1; i <= 5; i++) {
        pfa_agent_tick(E.agent);
        pfa_agent_stats(E.agent, &st);
        ck_assert_int_eq(gate_calls, i);
        ck_assert_uint_eq(st.gate_deferrals, (uint32_t)i);
        ck_assert_uint_eq(st.connect_failures, 0);
        ck_assert_int_eq(pfa_agent_fd(E.agent), -1);
        ck_assert_int_ge(st.retry_at - E.mono, 50);
        ck_assert_int_le(st.retry_at - E.mono, 250);
        /* Not due yet: no new call. */
        pfa_agent_tick(E.agent);
        ck_assert_int_eq(gate_calls, i);
        advance(st.retry_at - E.mono);
    }
    gate_open = true;
    ck_assert(drive_until(is_connected, NULL, 10000));
    ck_assert_int_eq(gate_calls, 6);
}
END_TEST

START_TEST(flaky_link_by_shutdown)
{
    struct pfa_agent_stats st;

    /* What posfleet-sim does for a "flaky link" fault profile. */
    broker_start();
    agent_new("backoff_min_ms = 100\nbackoff_max_ms = 200\n");
    pfa_agent_start(E.agent, 0);
    for (uint32_t round = 1; round <= 3; round++) {
        ck_assert(drive_until(is_connected, NULL, 10000));
        ck_assert_int_eq(shutdown(pfa_agent_fd(E.agent), SHUT_RDWR), 0);
        ck_assert(drive_until(is_waiting, NULL, 10000));
        pfa_agent_stats(E.agent, &st);
        ck_assert_uint_eq(st.reconnects, round);
        ck_assert_int_eq(pfa_agent_fd(E.agent), -1);
        advance(200);
    }
    ck_assert(drive_until(is_connected, NULL, 10000));
    pfa_agent_stats(E.agent, &st);
    ck_assert_uint_eq(st.connects, 4);
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("agent_session");
    TCase *tc = tcase_create("session");

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, birth_then_health);
    tcase_add_test(tc, offline_queue_delivered_in_order);
    tcase_add_test(tc, backoff_on_the_agent_clock);
    tcase_add_test(tc, reconnect_counted);
    tcase_add_test(tc, graceful_stop_publishes_offline);
    tcase_add_test(tc, persistent_session_and_seq_survive_restart);
    tcase_add_test(tc, one_descriptor_per_agent);
    tcase_add_test(tc, core_leaves_socketpair_alone);
    tcase_add_test(tc, bad_tls_files_refused);
    tcase_add_test(tc, connect_gate_postpones);
    tcase_add_test(tc, flaky_link_by_shutdown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_test_run(session_suite());
}
