/*
 * text.c - validation of text a person typed (pf/text.h).
 */
#include "pf/text.h"

#include <string.h>

size_t pf_utf8_next(const unsigned char *p, size_t avail, uint32_t *cp)
{
    unsigned char c;
    size_t n, i;
    uint32_t v, min;

    if (!avail)
        return 0;
    c = p[0];
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
        return 0; /* a continuation byte, C0/C1 (overlong lead) or F5..FF */
    }
    if (n > avail)
        return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

bool pf_text_control(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

int pf_text_check(const char *field, const char *s, size_t len, size_t max, unsigned flags,
                  size_t *chars, struct pf_error *err)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n = 0;

    while (i < len) {
        uint32_t cp;
        size_t k = pf_utf8_next(p + i, len - i, &cp);

        if (!k)
            return pf_error_set(err, PF_EINVAL, "%s: invalid UTF-8 at byte %zu", field, i + 1);
        n++;
        if (pf_text_control(cp) && !(cp == '\n' && (flags & PF_TEXT_LINES)))
            return pf_error_set(err, PF_EINVAL, "%s: control character U+%04X at character %zu",
                                field, (unsigned)cp, n);
        i += k;
    }
    if (n == 0)
        return pf_error_set(err, PF_EINVAL, "%s: must not be empty", field);
    if (n > max)
        return pf_error_set(err, PF_EINVAL, "%s: %zu characters, at most %zu", field, n, max);
    if ((flags & PF_TEXT_TRIMMED) && (s[0] == ' ' || s[len - 1] == ' '))
        return pf_error_set(err, PF_EINVAL, "%s: leading or trailing blanks", field);
    if (chars)
        *chars = n;
    return 0;
}

int pf_json_text(json_t *obj, const char *key, bool required, size_t max, unsigned flags, char *out,
                 size_t outsz, struct pf_error *err)
{
    json_t *v = json_object_get(obj, key);
    size_t len;
    int rc;

    if (!v || json_is_null(v)) {
        if (required)
            return pf_error_set(err, PF_EINVAL, "%s: required", key);
        return 0;
    }
    if (!json_is_string(v))
        return pf_error_set(err, PF_EINVAL, "%s: must be a string", key);
    len = json_string_length(v);
    if ((rc = pf_text_check(key, json_string_value(v), len, max, flags, NULL, err)))
        return rc;
    if (len >= outsz)
        return pf_error_set(err, PF_EINVAL, "%s: too long", key);
    memcpy(out, json_string_value(v), len + 1);
    return 0;
}
