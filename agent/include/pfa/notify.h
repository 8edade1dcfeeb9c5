/*
 * notify.h - telling the service manager how the agent is doing (systemd's
 * sd_notify protocol: READY=1, WATCHDOG=1, STOPPING=1, STATUS=...).
 *
 * Two implementations, chosen by CMake (POSFLEET_SYSTEMD): notify_systemd.c
 * calls libsystemd, notify_none.c does nothing (a build without libsystemd;
 * its unit must then be Type=simple without WatchdogSec). Both are silent when
 * the process was not started by a service manager that asked for messages
 * (no NOTIFY_SOCKET). Only posfleet-agent's main.c calls these: library code
 * does not talk to the init system. docs/agent.md, "The systemd unit".
 */
#ifndef PFA_NOTIFY_H
#define PFA_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* True when this build can send notifications at all. */
bool pfa_notify_supported(void);

/* The agent is up: the boot step (self-test, commit or fallback) is done. */
void pfa_notify_ready(const char *status);

/*
 * The watchdog interval the service manager asked for (WatchdogSec, passed as
 * WATCHDOG_USEC for this process), in ms; 0 when there is none. The caller
 * sends pfa_notify_watchdog() at half that interval at most.
 */
int64_t pfa_notify_watchdog_ms(void);
void pfa_notify_watchdog(void);

/* The agent is shutting down (SIGTERM). */
void pfa_notify_stopping(void);

#endif
