/*
 * fuzz_feetable.c - the fee-table schema validator and fee arithmetic.
 */
#include "fuzz_common.h"
#include "pf/feetable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pf_feetable ft;
    struct pf_error err;

    if (pf_feetable_parse((const char *)data, size, &ft, &err) == 0) {
        for (int ch = 0; ch < PF_FEE_CHANNELS; ch++) {
            int64_t fee = pf_feetable_fee(&ft, (enum pf_fee_channel)ch, PF_SETTLE_T0, INT64_MAX);
            if (fee < 0 || fee > ft.rates[ch].cap_minor)
                abort();
        }
    } else if (err.code != PF_EFEETABLE) {
        abort();
    }
    return 0;
}

void fuzz_seeds(fuzz_add_fn add, void *ctx)
{
    static const char doc[] = "{\"schema\":1,\"version\":\"2026.12.1\",\"currency\":\"EUR\","
                              "\"effective_at\":\"2026-12-01T00:00:00Z\","
                              "\"rates\":{\"debit_card\":{\"rate_bp\":90,\"cap_minor\":500},"
                              "\"credit_card\":{\"rate_bp\":150,\"cap_minor\":1000},"
                              "\"qr_code\":{\"rate_bp\":60,\"cap_minor\":300},"
                              "\"contactless\":{\"rate_bp\":80,\"cap_minor\":500}},"
                              "\"settlement\":{\"t0_surcharge_bp\":25,\"t1_surcharge_bp\":0},"
                              "\"mcc\":[\"5411\",\"5812\"]}";
    add(doc, sizeof(doc) - 1, ctx);
}
