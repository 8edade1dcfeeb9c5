/*
 * zone.h - a time zone's offset from UTC at an instant, read from the zone's
 * TZif file (RFC 8536, tzfile(5); Debian's tzdata installs them under
 * /usr/share/zoneinfo) without touching the process's TZ or calling tzset():
 * library code must not change process-wide state, and the scheduler asks
 * about many zones in one tick.
 *
 * The file's transitions answer for the instants they cover; after the last
 * one the POSIX TZ rule of the file's footer ("CET-1CEST,M3.5.0,M10.5.0/3")
 * does, as localtime_r() would. "UTC" and "" are UTC without a file.
 *
 * struct pfs_zone is caller-owned: pfs_zone_load()/pfs_zone_parse() fill it,
 * pfs_zone_release() frees what they allocated. No global state; one zone may
 * be read from several threads.
 */
#ifndef PFS_ZONE_H
#define PFS_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"

#define PFS_ZONE_DIR      "/usr/share/zoneinfo"
#define PFS_ZONE_FILE_MAX (256 * 1024) /* the largest installed zone is about 3 KiB */

/* One half of a POSIX TZ rule: when a period starts, in local time of the
 * period before it. */
struct pfs_zone_date {
    char kind; /* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' (month.week.day) */
    int day, week, month;
    int32_t time_s; /* seconds after local midnight (may be negative or above 24 h) */
};

struct pfs_zone {
    int64_t *times; /* transition instants (UTC seconds), ascending */
    uint8_t *types; /* the type each transition starts */
    size_t ntimes;
    int32_t *utoff; /* seconds east of UTC, per type */
    size_t ntypes;
    /* The footer's rule, for instants after the last transition. */
    bool has_rule, rule_dst;
    int32_t std_off, dst_off; /* seconds east of UTC */
    struct pfs_zone_date start, end;
};

/*
 * Reads dir/name (dir NULL: PFS_ZONE_DIR). "UTC" and "" need no file.
 * PF_EINVAL for a name that is not a zone name or not an installed zone (err
 * says which), PF_EPARSE for a file that is not a valid TZif file.
 */
int pfs_zone_load(const char *dir, const char *name, struct pfs_zone *z,
                  struct pf_error *err) PF_WUR;
/* The same from a TZif file's bytes (what the fuzzer and the tests call). */
int pfs_zone_parse(const unsigned char *buf, size_t len, struct pfs_zone *z,
                   struct pf_error *err) PF_WUR;
/* A POSIX TZ rule alone ("EST5EDT,M3.2.0,M11.1.0"); PF_EPARSE if it is not one. */
int pfs_zone_parse_rule(const char *rule, struct pfs_zone *z, struct pf_error *err) PF_WUR;
void pfs_zone_release(struct pfs_zone *z);

/* Seconds east of UTC in zone z at t (UTC seconds since the epoch). */
int32_t pfs_zone_offset(const struct pfs_zone *z, int64_t t);

/* Loads name, answers its offset at t, releases it. Errors as pfs_zone_load. */
int pfs_zone_offset_at(const char *dir, const char *name, int64_t t, int32_t *offset_s,
                       struct pf_error *err) PF_WUR;

#endif
