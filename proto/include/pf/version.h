/*
 * version.h - release versions: 1 to 4 dot-separated decimal components
 * ("1.4.2", "2026.11.1"), each 0..999999, compared numerically so that
 * "1.10" > "1.9". Firmware and fee-table versions use this on the wire and in
 * manifests; "version not above the installed one" is pf_version_cmp() <= 0.
 */
#ifndef PF_VERSION_H
#define PF_VERSION_H

#include <stdbool.h>

#include "pf/error.h"

#define PF_VERSION_MAX 31 /* characters */

bool pf_version_valid(const char *v);
/*
 * The stricter rule for versions that are signed (manifests, fee tables): valid
 * and canonical, i.e. no component with a leading zero ("03.0.0", "1.02.3"), so
 * one version has one spelling. 0, PF_EPARSE (not a version) or PF_ERANGE
 * (a leading zero).
 */
int pf_version_check(const char *v) PF_WUR;
/* <0, 0, >0 like strcmp; missing trailing components count as 0. Both must be valid. */
int pf_version_cmp(const char *a, const char *b);

#endif
