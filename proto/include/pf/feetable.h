/*
 * feetable.h - fee tables: what a merchant is charged per payment channel.
 *
 * A fee table is a JSON document (schema in docs/bundle-format.md) shipped as
 * the payload "fee-table.json" of a fee-table bundle. posfleet-pack validates
 * it before packing; the agent parses it again before staging it. Any invalid
 * field is refused with PF_EFEETABLE and a message naming the field and the
 * reason. struct pf_feetable is a caller-owned value.
 */
#ifndef PF_FEETABLE_H
#define PF_FEETABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf/error.h"
#include "pf/version.h"

#define PF_FEETABLE_PAYLOAD          "fee-table.json"
#define PF_FEETABLE_MAX_BYTES        (64 * 1024)
#define PF_FEETABLE_MAX_MCC          1000
#define PF_FEETABLE_MAX_RATE_BP      10000 /* 100 % */
#define PF_FEETABLE_MAX_SURCHARGE_BP 1000  /* 10 % */
#define PF_FEETABLE_MAX_CAP_MINOR    INT64_C(1000000000)

enum pf_fee_channel {
    PF_FEE_DEBIT_CARD,
    PF_FEE_CREDIT_CARD,
    PF_FEE_QR_CODE,
    PF_FEE_CONTACTLESS,
    PF_FEE_CHANNELS
};
/* "debit_card", "credit_card", "qr_code", "contactless", NULL */
extern const char *const pf_fee_channel_names[];

enum pf_settlement { PF_SETTLE_T0, PF_SETTLE_T1 };

struct pf_fee_rate {
    int32_t rate_bp;   /* basis points of the amount */
    int64_t cap_minor; /* per-transaction ceiling in minor units */
};

struct pf_feetable {
    char version[PF_VERSION_MAX + 1];
    char currency[4];     /* ISO 4217, e.g. "EUR" */
    int64_t effective_at; /* Unix seconds */
    struct pf_fee_rate rates[PF_FEE_CHANNELS];
    int32_t surcharge_bp[2]; /* indexed by enum pf_settlement */
    size_t nmcc;
    uint16_t mcc[PF_FEETABLE_MAX_MCC];
};

int pf_feetable_parse(const char *buf, size_t len, struct pf_feetable *ft,
                      struct pf_error *err) PF_WUR;
int pf_feetable_parse_file(const char *path, struct pf_feetable *ft, struct pf_error *err) PF_WUR;

/* Whether the table applies to a merchant category code. */
bool pf_feetable_applies(const struct pf_feetable *ft, unsigned mcc);

/*
 * Fee in minor units for amount_minor (>= 0): (rate + settlement surcharge) in
 * basis points, rounded half up, then capped at the channel's cap.
 */
int64_t pf_feetable_fee(const struct pf_feetable *ft, enum pf_fee_channel ch,
                        enum pf_settlement settle, int64_t amount_minor);

#endif
