/*
 * fuzz_keyring.c - the keyring parser and chain verification. Input: the
 * document, optionally followed by FUZZ_SIG_SEP and a minisign signature.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pf_keyring *kr = malloc(sizeof(*kr));
    struct pf_trust trust = fuzz_trust();
    struct pf_error err;
    const char *doc = (const char *)data, *sig = NULL;
    size_t dlen = size, slen = 0;

    if (!kr)
        return 0;
    for (size_t i = 0; i + sizeof(FUZZ_SIG_SEP) - 1 <= size; i++) {
        if (memcmp(data + i, FUZZ_SIG_SEP, sizeof(FUZZ_SIG_SEP) - 1) == 0) {
            dlen = i;
            sig = doc + i + sizeof(FUZZ_SIG_SEP) - 1;
            slen = size - i - (sizeof(FUZZ_SIG_SEP) - 1);
            break;
        }
    }
    if (pf_keyring_parse(doc, dlen, kr, &err) == 0) {
        char *out;
        size_t len;
        if (pf_keyring_encode(kr, &out, &len, &err) == 0)
            free(out);
    }
    if (pf_keyring_verify(doc, dlen, sig, slen, &trust.root, 0, kr, &err) == 0) {
        for (size_t i = 0; i < kr->nkeys; i++)
            if (pf_keyring_check_key(kr, kr->keys[i].pub.key_id, PF_ROLE_FIRMWARE, FUZZ_NOW, NULL,
                                     &err) != 0 &&
                err.code == 0)
                abort(); /* a refusal always carries its code */
    }
    free(kr);
    return 0;
}

void fuzz_seeds(fuzz_add_fn add, void *ctx)
{
    char sig[PF_MS_SIG_MAX];
    size_t len, siglen;
    char *doc = fuzz_keyring(&len, sig, &siglen);
    char *both = malloc(len + sizeof(FUZZ_SIG_SEP) + siglen);

    if (!both)
        abort();
    memcpy(both, doc, len);
    memcpy(both + len, FUZZ_SIG_SEP, sizeof(FUZZ_SIG_SEP) - 1);
    memcpy(both + len + sizeof(FUZZ_SIG_SEP) - 1, sig, siglen);
    add(both, len + sizeof(FUZZ_SIG_SEP) - 1 + siglen, ctx);
    add(doc, len, ctx);
    free(both);
    free(doc);
}
