/*
 * update_install.c - pf_update_install BUNDLE OFFER.json SLOT ROOT.pub:
 * installs a staged firmware bundle into a slot the way the update engine
 * does (pfa_slot_install_staged: the offer's byte ranges, metadata verified,
 * then the payload hashed block by block while worker threads write and flush
 * the hashed blocks, fsync). OFFER.json is the offer posfleetd would send for the bundle
 * (`unit_update_engine offer BUNDLE`). Exit 0 when the slot holds the
 * verified payload, 1 with the verifier's reason otherwise. Linked
 * --as-needed: the process maps only what the install uses (no libarchive).
 * Used by tests/bench/bench_install.sh, bench_swupdate.sh and
 * tests/fault/test_install_staged.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pfa/update_slot.h"
#include "pf/bundle.h"
#include "pf/fileio.h"
#include "pf/msg_update.h"

int main(int argc, char **argv)
{
    static struct pf_manifest m; /* ~10 KiB: not on the stack */
    static struct pf_offer offer;
    struct pf_trust trust;
    char *doc = NULL;
    size_t len;
    struct pf_policy pol;
    struct pf_error err = {0};
    int rc;

    if (argc != 5) {
        fprintf(stderr, "usage: pf_update_install BUNDLE OFFER.json SLOT ROOT.pub\n");
        return 2;
    }
    memset(&trust, 0, sizeof(trust));
    memset(&pol, 0, sizeof(pol));
    pol.kind = PF_KIND_FIRMWARE;
    pol.now = (int64_t)time(NULL);
    rc = pf_file_read(argv[2], PF_UPDATE_MSG_MAX, &doc, &len);
    if (rc)
        pf_error_set(&err, rc, "%s: %s", argv[2], pf_strerror(rc));
    if (rc == 0)
        rc = pf_offer_decode(doc, len, &offer, &err);
    free(doc);
    if (rc == 0)
        rc = pf_ms_pubkey_load(argv[4], &trust.root, &err);
    if (rc == 0)
        rc = pfa_slot_install_staged(argv[1], &offer, argv[3], &trust, &pol, &m, &err);
    if (rc) {
        fprintf(stderr, "pf_update_install: [%s] %s\n", pf_errname(rc), err.msg);
        return 1;
    }
    return 0;
}
