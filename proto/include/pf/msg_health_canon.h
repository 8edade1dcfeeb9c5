/*
 * msg_health_canon.h - the two decoders behind pf_health_decode().
 *
 * Health reports are posfleetd's hot path: one per terminal per interval. Almost all of
 * them are in the canonical encoding, the exact bytes pf_health_encode() writes (compact,
 * keys in the documented order, no escapes, "queued" last or left out).
 *
 * pf_health_decode_canonical() recognizes only that encoding and decodes it without
 * building a JSON tree. It never rejects: anything it does not recognize, or any value it
 * would have to refuse, makes it return false and leaves the decision, with its error code
 * and reason, to pf_health_decode_json() (jansson and pf/jsonv.h, the decoder of record).
 * It returns true only for a message that pf_health_decode_json() accepts with the same
 * struct; tests/unit/test_msg.c checks that differentially.
 *
 * pf_health_decode() in pf/msg.h tries the canonical decoder, then the JSON decoder; callers
 * use that. Both fill a caller-owned struct; neither keeps a reference to buf.
 */
#ifndef PF_MSG_HEALTH_CANON_H
#define PF_MSG_HEALTH_CANON_H

#include <stdbool.h>
#include <stddef.h>

#include "pf/msg.h"

/* 2100-01-01 in ms: the upper bound of every message timestamp (docs/protocol.md). */
#define PF_MSG_TS_MAX 4102444800000LL

/* True if buf[0..len) is a valid health report in the canonical encoding, decoded into *m.
 * False says nothing about validity (*m is then unspecified). */
bool pf_health_decode_canonical(const char *buf, size_t len, struct pf_health *m) PF_WUR;

/* The full decoder: any valid encoding; a rejection returns its PF_E* code and fills err. */
int pf_health_decode_json(const char *buf, size_t len, struct pf_health *m,
                          struct pf_error *err) PF_WUR;

#endif
