/*
 * safe_text.c - the display sanitizer for terminal-sent strings (safe_text.h).
 */
#include "safe_text.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/*
 * Length of the valid UTF-8 sequence at p (1..4), its code point in *cp;
 * 0 if p does not start a valid, complete, shortest-form sequence.
 */
static size_t safe__utf8(const unsigned char *p, uint32_t *cp)
{
    unsigned char c = p[0];
    size_t n, i;
    uint32_t v, min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        v = (v << 6) | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

/* Whether code point cp is shown escaped rather than printed. */
static bool safe__hidden(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * The next piece of s: either n bytes to copy as they are (into *raw) or an
 * escape written into esc. Returns how many input bytes it consumes.
 */
static size_t safe__next(const char *s, char esc[16], const char **raw, size_t *n)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;
    size_t k = safe__utf8(p, &cp);

    if (k == 0) {
        snprintf(esc, 16, "\\x%02x", p[0]);
        *raw = esc;
        *n = 4;
        return 1;
    }
    if (!safe__hidden(cp)) {
        *raw = s;
        *n = k;
        return k;
    }
    if (cp == '\t' || cp == '\n' || cp == '\r')
        snprintf(esc, 16, "\\%c", cp == '\t' ? 't' : cp == '\n' ? 'n' : 'r');
    else if (cp < 0x80)
        snprintf(esc, 16, "\\x%02x", (unsigned)cp);
    else
        snprintf(esc, 16, "\\u%04x", (unsigned)cp);
    *raw = esc;
    *n = strlen(esc);
    return k;
}

size_t pfc_safe_text(const char *s, char *out, size_t len)
{
    size_t i = 0;
    char esc[16];

    if (!len)
        return 0;
    while (s && *s) {
        const char *piece;
        size_t n, used = safe__next(s, esc, &piece, &n);

        if (i + n + 1 > len)
            break;
        memcpy(out + i, piece, n);
        i += n;
        s += used;
    }
    out[i] = '\0';
    return i;
}

void pfc_safe_fputs(const char *s, FILE *f)
{
    char esc[16];

    while (s && *s) {
        const char *piece;
        size_t n, used = safe__next(s, esc, &piece, &n);

        fwrite(piece, 1, n, f);
        s += used;
    }
}

/*
 * Whether code point cp takes two columns on a terminal: the East Asian
 * wide and fullwidth blocks (Unicode's EastAsianWidth W and F), so a table
 * with Chinese names stays aligned without touching the process's locale.
 */
static bool safe__wide(uint32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) ||
           (cp >= 0x3041 && cp <= 0x33ff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
           (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xa000 && cp <= 0xa4cf) ||
           (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
           (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
           (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
           (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd);
}

/* Columns of the character at p (clean text: valid UTF-8), its length in *n. */
static size_t safe__cols(const char *p, size_t *n)
{
    uint32_t cp;

    *n = safe__utf8((const unsigned char *)p, &cp);
    if (*n == 0) { /* not clean text: count the byte as one column */
        *n = 1;
        return 1;
    }
    return safe__wide(cp) ? 2 : 1;
}

size_t pfc_safe_width(const char *clean)
{
    size_t w = 0, n;

    while (clean && *clean) {
        w += safe__cols(clean, &n);
        clean += n;
    }
    return w;
}

size_t pfc_safe_prefix(const char *clean, size_t cols)
{
    size_t i = 0, w = 0, n;

    while (clean[i]) {
        size_t c = safe__cols(clean + i, &n);

        if (w + c > cols)
            break;
        w += c;
        i += n;
    }
    return i;
}
