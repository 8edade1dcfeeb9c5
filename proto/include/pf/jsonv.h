/*
 * jsonv.h - strict field access for jansson objects.
 *
 * Every decoder in posfleet reads fields through these: each checks presence,
 * type, range or length, and on failure fills err with the field's path
 * ("health: power.battery_pct: 140 out of range 0..100"). Unknown fields are
 * ignored by design (forward compatibility). Optional getters leave *out
 * unchanged when the field is absent or null.
 */
#ifndef PF_JSONV_H
#define PF_JSONV_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "pf/error.h"

/*
 * Parses buf[0..len) as one JSON object of at most max bytes; *out is owned by caller.
 * Duplicate keys are refused (PF_EPARSE): use this for signed documents and API bodies.
 */
int pf_json_parse_object(const char *buf, size_t len, size_t max, json_t **out,
                         struct pf_error *err) PF_WUR;
/* The same for a protocol message, which is an object or not a message: valid JSON of
 * another type (an array, a number) is PF_EPARSE, not PF_ESCHEMA. */
int pf_json_parse_message(const char *buf, size_t len, size_t max, json_t **out,
                          struct pf_error *err) PF_WUR;

int pf_json_int(json_t *obj, const char *key, bool required, int64_t min, int64_t max, int64_t *out,
                struct pf_error *err) PF_WUR;
int pf_json_bool(json_t *obj, const char *key, bool required, bool *out,
                 struct pf_error *err) PF_WUR;
/* Copies a string of minlen..maxlen bytes (no NUL inside) into out[maxlen + 1]. */
int pf_json_str(json_t *obj, const char *key, bool required, size_t minlen, size_t maxlen,
                char *out, struct pf_error *err) PF_WUR;
/* Maps a string to its index in a NULL-terminated names table. */
int pf_json_enum(json_t *obj, const char *key, bool required, const char *const *names, int *out,
                 struct pf_error *err) PF_WUR;
/* Returns the nested object (borrowed) or NULL; required and wrong type set err. */
int pf_json_obj(json_t *obj, const char *key, bool required, json_t **out,
                struct pf_error *err) PF_WUR;

/*
 * Parses a protocol message: like pf_json_parse_object() but a repeated key keeps its
 * last value (telemetry is unsigned and read by posfleet alone; this is its hot path),
 * plus the required schema version field "v", which must equal want (PF_EVERSION).
 * Valid JSON that is not an object is PF_EPARSE, as in pf_json_parse_message().
 */
int pf_json_open_message(const char *buf, size_t len, size_t max, int want, json_t **out,
                         struct pf_error *err) PF_WUR;

/* Typed shorthands over pf_json_int for the common ranges. */
int pf_json_int32(json_t *obj, const char *key, bool required, int min, int max, int *out,
                  struct pf_error *err) PF_WUR;
int pf_json_u32(json_t *obj, const char *key, bool required, uint32_t *out,
                struct pf_error *err) PF_WUR;
/* 0 .. 2^53, the integers every JSON consumer represents exactly. */
int pf_json_u53(json_t *obj, const char *key, bool required, uint64_t *out,
                struct pf_error *err) PF_WUR;
/* A string of printable ASCII only (0x20..0x7e), minlen..maxlen bytes. */
int pf_json_printable(json_t *obj, const char *key, bool required, size_t minlen, size_t maxlen,
                      char *out, struct pf_error *err) PF_WUR;

/* Serializes compactly into a caller buffer; PF_ETOOBIG if it does not fit. */
int pf_json_dump(json_t *obj, char *buf, size_t len, size_t *outlen) PF_WUR;

#endif
