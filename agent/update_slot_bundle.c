/*
 * update_slot_bundle.c - staged install through the bundle reader
 * (libarchive), apart from update_slot.c so that the engine's own paths do not
 * pull libarchive into a terminal's process.
 */
#include "pfa/update_slot.h"

#include <string.h>

/* ---- staged bundle install -------------------------------------------------------- */

struct slot__sink {
    struct pfa_slot_writer w;
    const char *path;
    int payloads;
};

static int slot__begin(void *ctx, const struct pf_manifest_payload *p, struct pf_error *err)
{
    struct slot__sink *s = ctx;

    if (s->payloads++ > 0)
        return pf_error_set(err, PF_EEXTRA_ENTRY, "firmware bundle: more than one payload");
    return pfa_slot_open(&s->w, s->path, NULL, 0, NULL, err);
}

static int slot__write(void *ctx, const void *buf, size_t len, struct pf_error *err)
{
    return pfa_slot_write(&((struct slot__sink *)ctx)->w, buf, len, err);
}

static int slot__end(void *ctx, const struct pf_manifest_payload *p, struct pf_error *err)
{
    (void)p;
    return pfa_slot_finish(&((struct slot__sink *)ctx)->w, err);
}

int pfa_slot_install_bundle(const char *bundle_path, const char *slot_path,
                            const struct pf_trust *trust, const struct pf_policy *pol,
                            struct pf_manifest *out, struct pf_error *err)
{
    struct slot__sink s;
    struct pf_bundle_sink sink = {slot__begin, slot__write, slot__end, &s};
    int rc;

    memset(&s, 0, sizeof(s));
    s.w.fd = -1;
    s.path = slot_path;
    rc = pf_bundle_read_file(bundle_path, trust, pol, &sink, out, err);
    pfa_slot_close(&s.w);
    return rc;
}
