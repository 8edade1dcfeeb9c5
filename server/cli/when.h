/*
 * when.h - times for people: shown in the user's time zone with the offset,
 * typed as ISO 8601 with any offset.
 *
 * The zone is --tz ZONE, else the TZ environment variable (":Asia/Shanghai",
 * "Asia/Shanghai" or a POSIX rule such as "CST-8"), else the system's
 * /etc/localtime; zones are read from their TZif files with proto's
 * pf/zone.h, never through setenv/tzset. posfleetd's API stays UTC: a typed
 * time is converted before it is sent.
 *
 * pfc_main loads one struct pfc_tz per run and makes it the display zone of
 * that run with pfc_tz_use() (table.h's pfc_showtime reads it); nothing else
 * is kept between calls. Without pfc_tz_use (the unit suites' renderers) times
 * are shown in UTC.
 */
#ifndef PFC_WHEN_H
#define PFC_WHEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"
#include "pf/zone.h"

struct pfc_tz {
    struct pf_zone zone; /* empty: UTC */
    char name[PF_ZONE_NAME_MAX + 8];
};

/*
 * Loads the zone: opt (--tz, may be NULL), else env (TZ, may be NULL or ""),
 * else the file localtime (NULL: /etc/localtime; unreadable: UTC). dir is the
 * zone database (NULL: PF_ZONE_DIR). PF_EINVAL with err naming the origin
 * ("--tz Mars/Base: not an installed time zone ...") and tz left UTC.
 */
int pfc_tz_init(struct pfc_tz *tz, const char *opt, const char *env, const char *dir,
                const char *localtime, struct pf_error *err) PF_WUR;
void pfc_tz_release(struct pfc_tz *tz);

/* The run's display zone (NULL: UTC), and which it is. */
void pfc_tz_use(const struct pfc_tz *tz);
const struct pfc_tz *pfc_tz_current(void);

/* Seconds east of UTC at ms in tz (NULL: UTC). */
int32_t pfc_tz_offset(const struct pfc_tz *tz, int64_t ms);

/*
 * ms in tz (NULL: UTC): "2026-12-07 18:30:12 +08:00", "2026-12-07 10:30:12 UTC"
 * when the offset is zero, "-" for 0 or less.
 */
void pfc_tz_format(const struct pfc_tz *tz, int64_t ms, char *buf, size_t len);

/*
 * Parses a time a person typed: milliseconds since the epoch (digits only),
 * YYYY-MM-DD (midnight), or YYYY-MM-DDTHH:MM[:SS[.fff]] (a blank may stand
 * for the T) followed by Z, +HH:MM, +HHMM or +HH (or -); without an offset
 * the date and time are in tz (NULL: UTC). 0 with *ms, or PF_EINVAL.
 */
int pfc_time_parse(const struct pfc_tz *tz, const char *s, int64_t *ms) PF_WUR;

#endif
