/*
 * fuzz_bundle.c - the one-pass bundle reader over libarchive, with a sink that
 * checks the verifier hands out only data within the declared sizes.
 */
#include "fuzz_common.h"

struct sink_state {
    uint64_t declared, written;
};

static int sink_begin(void *ctx, const struct pf_manifest_payload *p, struct pf_error *err)
{
    struct sink_state *s = ctx;
    s->declared = p->size;
    s->written = 0;
    return 0;
}

static int sink_write(void *ctx, const void *buf, size_t len, struct pf_error *err)
{
    struct sink_state *s = ctx;
    s->written += len;
    if (s->written > s->declared)
        abort(); /* the verifier let excess data through */
    return 0;
}

static int sink_end(void *ctx, const struct pf_manifest_payload *p, struct pf_error *err)
{
    struct sink_state *s = ctx;
    if (s->written != p->size)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pf_trust trust = fuzz_trust();
    struct pf_policy pol = fuzz_policy();
    struct sink_state st = {0};
    struct pf_bundle_sink sink = {sink_begin, sink_write, sink_end, &st};
    struct pf_manifest *m = malloc(sizeof(*m));
    struct pf_error err;

    if (!m)
        return 0;
    err.code = 0;
    if (pf_bundle_read_mem(data, size, &trust, &pol, &sink, m, &err) != 0 && err.code == 0)
        abort(); /* a refusal always carries its code and reason */
    free(m);
    return 0;
}

void fuzz_seeds(fuzz_add_fn add, void *ctx)
{
    static const int filters[] = {ARCHIVE_FILTER_NONE, ARCHIVE_FILTER_GZIP};
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        void *b = fuzz_bundle(filters[i], &len);
        struct pf_trust trust = fuzz_trust();
        struct pf_policy pol = fuzz_policy();
        struct pf_error err = {0};
        /* The seeds must verify, or the fuzzer never gets past the signatures. */
        if (pf_bundle_read_mem(b, len, &trust, &pol, NULL, NULL, &err) != 0) {
            fprintf(stderr, "fuzz seed bundle refused: %s\n", err.msg);
            abort();
        }
        add(b, len, ctx);
        free(b);
    }
}
