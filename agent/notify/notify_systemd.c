/*
 * notify_systemd.c - service manager notifications through libsystemd's
 * sd_notify(3) and sd_watchdog_enabled(3).
 */
#include <systemd/sd-daemon.h>

#include "pfa/notify.h"

bool pfa_notify_supported(void)
{
    return true;
}

void pfa_notify_ready(const char *status)
{
    /* STATUS= is one line; the message is "READY=1\nSTATUS=...". */
    (void)sd_notifyf(0, "READY=1\nSTATUS=%s", status ? status : "running");
}

int64_t pfa_notify_watchdog_ms(void)
{
    uint64_t usec = 0;

    /* 0: not asked for; > 0: WATCHDOG_USEC set for this pid. */
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return 0;
    return usec < 2000 ? 1 : (int64_t)(usec / 1000);
}

void pfa_notify_watchdog(void)
{
    (void)sd_notify(0, "WATCHDOG=1");
}

void pfa_notify_stopping(void)
{
    (void)sd_notify(0, "STOPPING=1");
}
