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
 * It lives in proto, not in server/rollouts where it started, because two
 * programs need it: posfleetd's rollout scheduler (maintenance windows in
 * each terminal's zone) and the posfleet CLI (times shown in the user's zone,
 * times typed with an offset), and the CLI links nothing of posfleetd.
 *
 * struct pf_zone is caller-owned: pf_zone_load()/pf_zone_parse() fill it,
 * pf_zone_release() frees what they allocated. No global state; one zone may
 * be read from several threads.
 */
#ifndef PF_ZONE_H
#define PF_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"

#define PF_ZONE_DIR      "/usr/share/zoneinfo"
#define PF_ZONE_FILE_MAX (256 * 1024) /* the largest installed zone is about 3 KiB */
#define PF_ZONE_NAME_MAX 64

/* One half of a POSIX TZ rule: when a period starts, in local time of the
 * period before it. */
struct pf_zone_date {
    char kind; /* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' (month.week.day) */
    int day, week, month;
    int32_t time_s; /* seconds after local midnight (may be negative or above 24 h) */
};

struct pf_zone {
    int64_t *times; /* transition instants (UTC seconds), ascending */
    uint8_t *types; /* the type each transition starts */
    size_t ntimes;
    int32_t *utoff; /* seconds east of UTC, per type */
    size_t ntypes;
    /* The footer's rule, for instants after the last transition. */
    bool has_rule, rule_dst;
    int32_t std_off, dst_off; /* seconds east of UTC */
    struct pf_zone_date start, end;
};

/*
 * Whether name looks like an IANA zone name ("Asia/Shanghai", "Etc/GMT+8"):
 * 1..PF_ZONE_NAME_MAX characters, segments of A-Z a-z 0-9 _ - + separated by
 * single slashes, each starting with a letter (so no "..", no absolute path).
 */
bool pf_zone_name_valid(const char *name);

/*
 * Reads dir/name (dir NULL: PF_ZONE_DIR). "UTC" and "" need no file.
 * PF_EINVAL for a name that is not a zone name or not an installed zone (err
 * says which), PF_EPARSE for a file that is not a valid TZif file.
 */
int pf_zone_load(const char *dir, const char *name, struct pf_zone *z, struct pf_error *err) PF_WUR;
/* The same from a TZif file's bytes (what the fuzzer and the tests call). */
int pf_zone_parse(const unsigned char *buf, size_t len, struct pf_zone *z,
                  struct pf_error *err) PF_WUR;
/* A POSIX TZ rule alone ("EST5EDT,M3.2.0,M11.1.0"); PF_EPARSE if it is not one. */
int pf_zone_parse_rule(const char *rule, struct pf_zone *z, struct pf_error *err) PF_WUR;
void pf_zone_release(struct pf_zone *z);

/* Seconds east of UTC in zone z at t (UTC seconds since the epoch). */
int32_t pf_zone_offset(const struct pf_zone *z, int64_t t);

/* Loads name, answers its offset at t, releases it. Errors as pf_zone_load. */
int pf_zone_offset_at(const char *dir, const char *name, int64_t t, int32_t *offset_s,
                      struct pf_error *err) PF_WUR;

#endif
