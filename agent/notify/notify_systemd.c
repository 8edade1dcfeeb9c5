/*
 * notify_systemd.c - service manager notifications through libsystemd's
 * sd_notify(3) and sd_watchdog_enabled(3).
 *
 * libsystemd is loaded with dlopen() at the first notification, and only when
 * the service manager asked for them (NOTIFY_SOCKET is set): a terminal whose
 * agent is not run by systemd never maps libsystemd and the libraries it links
 * (their relocated data is ~135 KiB of private memory, docs/agent.md
 * "Footprint"). The build needs libsystemd's header only; at run time
 * libsystemd.so.0 (Debian: libsystemd0) is what a systemd system has anyway.
 * If it cannot be loaded nothing is sent, as without a service manager.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "pfa/notify.h"

static struct {
    bool tried;
    __typeof__(sd_notify) *notify;
    __typeof__(sd_notifyf) *notifyf;
    __typeof__(sd_watchdog_enabled) *watchdog_enabled;
} notify__sd;

/* The library's entry points, loaded once when a service manager listens; false if none. */
static bool notify__load(void)
{
    void *h;

    if (notify__sd.tried)
        return notify__sd.notify != NULL;
    notify__sd.tried = true;
    if (!getenv("NOTIFY_SOCKET") || !(h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL)))
        return false;
    notify__sd.notify = (__typeof__(sd_notify) *)dlsym(h, "sd_notify");
    notify__sd.notifyf = (__typeof__(sd_notifyf) *)dlsym(h, "sd_notifyf");
    notify__sd.watchdog_enabled =
            (__typeof__(sd_watchdog_enabled) *)dlsym(h, "sd_watchdog_enabled");
    if (!notify__sd.notify || !notify__sd.notifyf || !notify__sd.watchdog_enabled) {
        notify__sd.notify = NULL;
        dlclose(h);
        return false;
    }
    return true; /* kept loaded for the life of the process */
}

bool pfa_notify_supported(void)
{
    return true;
}

void pfa_notify_ready(const char *status)
{
    /* STATUS= is one line; the message is "READY=1\nSTATUS=...". */
    if (notify__load())
        (void)notify__sd.notifyf(0, "READY=1\nSTATUS=%s", status ? status : "running");
}

int64_t pfa_notify_watchdog_ms(void)
{
    uint64_t usec = 0;

    /* 0: not asked for; > 0: WATCHDOG_USEC set for this pid. */
    if (!notify__load() || notify__sd.watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return 0;
    return usec < 2000 ? 1 : (int64_t)(usec / 1000);
}

void pfa_notify_watchdog(void)
{
    if (notify__load())
        (void)notify__sd.notify(0, "WATCHDOG=1");
}

void pfa_notify_stopping(void)
{
    if (notify__load())
        (void)notify__sd.notify(0, "STOPPING=1");
}
