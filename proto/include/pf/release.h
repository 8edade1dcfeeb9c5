/*
 * release.h - the release version of posfleet, from the CMake project version
 * (POSFLEET_VERSION, defined for every target), and the one way every binary
 * prints it for --version: "PROGRAM VERSION" on one line.
 */
#ifndef PF_RELEASE_H
#define PF_RELEASE_H

#include <stdio.h>

#ifndef POSFLEET_VERSION
#error "POSFLEET_VERSION comes from CMakeLists.txt (project VERSION)"
#endif

#define PF_RELEASE_VERSION POSFLEET_VERSION

/* Prints "prog VERSION\n" to f; returns the exit status (0, or 1 when f failed). */
int pf_release_print(FILE *f, const char *prog);

#endif
