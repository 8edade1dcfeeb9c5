/*
 * notify_none.c - no service manager notifications (built without libsystemd).
 */
#include "pfa/notify.h"

bool pfa_notify_supported(void)
{
    return false;
}

void pfa_notify_ready(const char *status)
{
    (void)status;
}

int64_t pfa_notify_watchdog_ms(void)
{
    return 0;
}

void pfa_notify_watchdog(void)
{
}

void pfa_notify_stopping(void)
{
}
