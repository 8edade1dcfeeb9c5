/*
 * bundle_time.h - the one time format of manifests, keyrings and fee tables:
 * RFC 3339 UTC with seconds and a literal Z ("2026-12-01T00:00:00Z"),
 * held in memory as Unix seconds.
 */
#ifndef PF_BUNDLE_TIME_H
#define PF_BUNDLE_TIME_H

#include <stdint.h>
#include <stddef.h>

#include "pf/error.h"

#define PF_TIME_STR_LEN 20 /* "YYYY-MM-DDTHH:MM:SSZ" */

/* Strict parse; PF_EPARSE on anything else (offsets, fractions, out-of-range fields). */
int pf_time_parse(const char *s, int64_t *out) PF_WUR;
/* Formats t into out[PF_TIME_STR_LEN + 1]; years 1970..9999 only (PF_ERANGE otherwise). */
int pf_time_format(int64_t t, char out[PF_TIME_STR_LEN + 1]) PF_WUR;

#endif
