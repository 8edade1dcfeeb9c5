/*
 * text.h - the one check for text a person typed: merchant names, addresses,
 * contacts, repair notes and parts, reasons, tags.
 *
 * Such text is UTF-8 and stored and returned byte for byte as it came. What
 * is refused, with a reason that names the field:
 *
 *   - bytes that are not valid UTF-8: stray continuation bytes, overlong
 *     forms, UTF-16 surrogates (U+D800..U+DFFF), code points above U+10FFFF
 *     and sequences cut short;
 *   - control characters: C0 (U+0000..U+001F; a line feed only where
 *     PF_TEXT_LINES allows it), DEL, C1 (U+0080..U+009F) and the
 *     bidirectional overrides and isolates (U+202A..U+202E,
 *     U+2066..U+2069), which reorder what the next person reads;
 *   - more characters than the field's limit. Limits count characters (code
 *     points), never bytes, and are the same in posfleetd and posfleet: the
 *     PF_TEXT_*_MAX below are the only place they are written.
 *
 * posfleetd (server/lifecycle, server/api) and the CLI (server/cli/args.c)
 * both call pf_text_check, so a value the CLI accepts is one the server
 * accepts. Nothing here allocates or keeps state.
 */
#ifndef PF_TEXT_H
#define PF_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "pf/error.h"

/* Limits in characters, per field (docs/cli.md, docs/server.md). */
#define PF_TEXT_NAME_MAX    128  /* merchant name */
#define PF_TEXT_ADDRESS_MAX 256  /* merchant address */
#define PF_TEXT_CONTACT_MAX 64   /* merchant contact person */
#define PF_TEXT_REASON_MAX  200  /* swap, retire, lock and rollout reasons */
#define PF_TEXT_LABEL_MAX   64   /* rollout name */
#define PF_TEXT_NOTES_MAX   2000 /* repair notes */
#define PF_TEXT_PART_MAX    64   /* one replaced part of a repair */
#define PF_TEXT_TAG_MAX     32   /* one terminal tag */

/* Bytes a buffer needs for max characters and the NUL: 4 per character. */
#define PF_TEXT_BYTES(max) ((max)*4 + 1)

enum pf_text_flags {
    PF_TEXT_LINES = 1u << 0,   /* a line feed is allowed (notes) */
    PF_TEXT_TRIMMED = 1u << 1, /* no blank (space) at either end */
};

/*
 * Length of the valid UTF-8 sequence at p[0..avail) (1..4) with its code
 * point in *cp; 0 if p does not start a valid, complete, shortest-form
 * sequence of a scalar value.
 */
size_t pf_utf8_next(const unsigned char *p, size_t avail, uint32_t *cp);

/* Whether cp is one of the control characters refused above (line feed included). */
bool pf_text_control(uint32_t cp);

/*
 * Checks s[0..len) as the value of field: 1..max characters of valid UTF-8
 * without control characters (flags: enum pf_text_flags). *chars (may be
 * NULL) gets the number of characters. PF_EINVAL with err set to, e.g.,
 * "name: invalid UTF-8 at byte 7", "notes: control character U+0007 at
 * character 3", "name: 130 characters, at most 128".
 */
int pf_text_check(const char *field, const char *s, size_t len, size_t max, unsigned flags,
                  size_t *chars, struct pf_error *err) PF_WUR;

/*
 * Reads string field key of obj through pf_text_check into out[outsz]
 * (PF_TEXT_BYTES(max) always fits). Absent or null: PF_EINVAL "key: required"
 * when required, else 0 with out untouched.
 */
int pf_json_text(json_t *obj, const char *key, bool required, size_t max, unsigned flags, char *out,
                 size_t outsz, struct pf_error *err) PF_WUR;

#endif
