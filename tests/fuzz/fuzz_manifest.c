/*
 * fuzz_manifest.c - the manifest parser (memory entry point) and policy checks.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pf_manifest *m = malloc(sizeof(*m));
    struct pf_policy pol = fuzz_policy();
    struct pf_error err;

    if (!m)
        return 0;
    if (pf_manifest_parse((const char *)data, size, m, &err) == 0) {
        char *doc;
        size_t len;
        int prc = pf_manifest_check_policy(m, &pol, &err);
        (void)prc;
        /* Whatever parses must encode and parse back to the same value. */
        if (pf_manifest_encode(m, &doc, &len, &err) == 0) {
            struct pf_manifest *m2 = malloc(sizeof(*m2));
            if (m2 && (pf_manifest_parse(doc, len, m2, &err) != 0 || memcmp(m, m2, sizeof(*m))))
                abort();
            free(m2);
            free(doc);
        }
    }
    free(m);
    return 0;
}

void fuzz_seeds(fuzz_add_fn add, void *ctx)
{
    static const char *const names[] = {"fw.img"};
    static const char *const datas[] = {"x"};
    char sig[PF_MS_SIG_MAX];
    size_t len, siglen;
    char *doc = fuzz_manifest(names, datas, 1, &len, sig, &siglen);

    add(doc, len, ctx);
    free(doc);
}
