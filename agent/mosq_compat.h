/*
 * mosq_compat.h - workarounds for libmosquitto 2.0 inside the agent core
 * (private to agent/; see mosq_compat.c).
 */
#ifndef PFA_MOSQ_COMPAT_H
#define PFA_MOSQ_COMPAT_H

#include <stdbool.h>

/* While true, socketpair(AF_UNIX, ...) fails with EMFILE (wrap libmosquitto connect calls). */
void pfa__mosq_pairs_refuse(bool refuse);

#endif
