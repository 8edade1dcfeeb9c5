/*
 * safe_text.h - the one sanitizer every string a terminal (or posfleetd)
 * sent passes through before posfleet prints it for a person.
 *
 * Whatever a terminal sends is data, never terminal control: an escape
 * sequence in a log line must not retitle support's terminal, turn it red or
 * move the cursor. pfc_safe_text copies a string and shows visibly, as text,
 * everything a terminal would act on:
 *
 *   - C0 controls and DEL: "\t", "\n", "\r", else "\xHH" (ESC is "\x1b");
 *     one field always stays on one line;
 *   - C1 controls U+0080..U+009F (UTF-8 C2 80..C2 9F): "\u009b";
 *   - bidirectional overrides and isolates (U+202A..U+202E,
 *     U+2066..U+2069), which reorder what a person reads: "\u202e";
 *   - bytes that are not valid UTF-8 (stray continuation bytes, overlong
 *     forms, surrogates, above U+10FFFF, cut sequences): "\xHH" each.
 *
 * Valid printable UTF-8 (Chinese text, accents, the euro sign) and printable
 * ASCII pass unchanged, so a clean string prints byte for byte as before. A
 * backslash is left as it is: what matters is that nothing reaches the
 * terminal raw, not that the escaping can be reversed. The result is
 * itself clean, so sanitizing twice changes nothing.
 */
#ifndef PFC_SAFE_TEXT_H
#define PFC_SAFE_TEXT_H

#include <stddef.h>
#include <stdio.h>

/*
 * Copies s (NULL reads "") into out[len], NUL-terminated, escaped as above.
 * When out is too small the copy stops before the first character or escape
 * that does not fit whole: never half a UTF-8 sequence or half an escape.
 * Returns the number of bytes written (without the NUL).
 */
size_t pfc_safe_text(const char *s, char *out, size_t len);

/* Prints s escaped as above to f, however long it is. */
void pfc_safe_fputs(const char *s, FILE *f);

/*
 * How many terminal columns clean text takes: wcwidth(3) per character in
 * the C.UTF-8 locale (two for East Asian wide characters: Chinese, Japanese,
 * Korean, fullwidth forms; none for combining marks), asked through
 * wcwidth_l so the process's locale is never changed.
 */
size_t pfc_safe_width(const char *clean);

/* The longest prefix of clean, in bytes, that is at most cols columns wide. */
size_t pfc_safe_prefix(const char *clean, size_t cols);

#endif
