/*
 * safe_text.c - the display sanitizer for terminal-sent strings (safe_text.h).
 */
#include "safe_text.h"

#include <locale.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#include "pf/text.h"

/* The valid UTF-8 sequence at p (1..4 bytes, cp) or 0: pf/text.h decides, for the CLI and
 * posfleetd alike. The NUL ends p, so at most four bytes are ever read. */
static size_t safe__utf8(const unsigned char *p, uint32_t *cp)
{
    return pf_utf8_next(p, strnlen((const char *)p, 4), cp);
}

/* Whether code point cp is shown escaped rather than printed: pf/text.h's control characters. */
static bool safe__hidden(uint32_t cp)
{
    return pf_text_control(cp);
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
 * Columns of the character at p (clean text: valid UTF-8) on a terminal, its
 * length in *n: wcwidth(3) under the C.UTF-8 locale (utf8, which the
 * caller has made this thread's), so Chinese, Japanese, Korean and
 * fullwidth forms take two columns and combining marks none. Without that
 * locale (or for a byte that is not clean text) a character counts one.
 */
static size_t safe__cols(locale_t utf8, const char *p, size_t *n)
{
    uint32_t cp;
    int w;

    *n = safe__utf8((const unsigned char *)p, &cp);
    if (*n == 0) {
        *n = 1;
        return 1;
    }
    if (cp < 0x80 || utf8 == (locale_t)0)
        return 1;
    w = wcwidth((wchar_t)cp);
    return w < 0 ? 1 : (size_t)w;
}

/*
 * Makes C.UTF-8 the calling thread's locale for wcwidth (uselocale(3): the
 * process's locale and other threads are untouched); *old is what to give
 * back to safe__locale_end. (locale_t)0 if C.UTF-8 is not installed.
 */
static locale_t safe__locale(locale_t *old)
{
    locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);

    if (utf8 != (locale_t)0)
        *old = uselocale(utf8);
    return utf8;
}

static void safe__locale_end(locale_t utf8, locale_t old)
{
    if (utf8 == (locale_t)0)
        return;
    uselocale(old);
    freelocale(utf8);
}

size_t pfc_safe_width(const char *clean)
{
    locale_t old = (locale_t)0, utf8 = safe__locale(&old);
    size_t w = 0, n;

    while (clean && *clean) {
        w += safe__cols(utf8, clean, &n);
        clean += n;
    }
    safe__locale_end(utf8, old);
    return w;
}

size_t pfc_safe_prefix(const char *clean, size_t cols)
{
    locale_t old = (locale_t)0, utf8 = safe__locale(&old);
    size_t i = 0, w = 0, n;

    while (clean[i]) {
        size_t c = safe__cols(utf8, clean + i, &n);

        if (w + c > cols)
            break;
        w += c;
        i += n;
    }
    safe__locale_end(utf8, old);
    return i;
}
