/*
 * cmd_ring.c - posfleet-keys ring commands: the offline root key, signing
 * keys and the signed keyring (init, add, revoke, rotate-root, show).
 *
 * A key directory (--dir, default ".") holds:
 *   root.key, root.pub               current root key (secret 0600)
 *   keyring.json, keyring.json.minisig
 *   signing/NAME.key, signing/NAME.pub   signing keys (secret 0600)
 *   retired/root-KEYID.key           previous roots after rotate-root (0600)
 * Secret keys are only ever read from and written to these files.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keys.h"
#include "pf/bundle_time.h"
#include "pf/fileio.h"
#include "pf/keyring.h"
#include "pf/num.h"
#include "pf/minisign.h"

#define RING_DEFAULT_DAYS 365

struct ring_paths {
    char dir[PATH_MAX / 2];
    char root_key[PATH_MAX], root_pub[PATH_MAX], keyring[PATH_MAX], keyring_sig[PATH_MAX];
};

static int ring__paths(struct ring_paths *p, const char *dir)
{
    int n = snprintf(p->dir, sizeof(p->dir), "%s", dir);

    if (n < 0 || (size_t)n >= sizeof(p->dir))
        return PF_ETOOBIG;
    snprintf(p->root_key, sizeof(p->root_key), "%s/root.key", dir);
    snprintf(p->root_pub, sizeof(p->root_pub), "%s/root.pub", dir);
    snprintf(p->keyring, sizeof(p->keyring), "%s/keyring.json", dir);
    snprintf(p->keyring_sig, sizeof(p->keyring_sig), "%s/keyring.json.minisig", dir);
    return 0;
}

static void ring__fail(const char *cmd, const struct pf_error *err)
{
    fprintf(stderr, "posfleet-keys %s: %s [%s]\n", cmd, err->msg, pf_errname(err->code));
}

/* Encodes kr, signs it with the root secret key and writes both files atomically. */
static int ring__save(const struct ring_paths *p, struct pf_keyring *kr,
                      const struct pf_ms_seckey *root, struct pf_error *err)
{
    char *doc = NULL, sig[PF_MS_SIG_MAX], comment[128], when[PF_TIME_STR_LEN + 1];
    size_t len, siglen;
    int rc;

    kr->issued = (int64_t)time(NULL);
    if (pf_time_format(kr->issued, when) != 0)
        when[0] = '\0';
    if ((rc = pf_keyring_encode(kr, &doc, &len, err)) != 0)
        return rc;
    snprintf(comment, sizeof(comment), "posfleet keyring serial:%lld issued:%s",
             (long long)kr->serial, when);
    if ((rc = pf_ms_sign(root, doc, len, comment, sig, sizeof(sig), &siglen, err)) != 0)
        goto out;
    /* The signature goes first: a crash leaves the old document with a mismatching signature,
     * which is refused, rather than a new document that verifies under an old signature. */
    if ((rc = pf_file_write_atomic(p->keyring_sig, sig, siglen, 0644)) != 0 ||
        (rc = pf_file_write_atomic(p->keyring, doc, len, 0644)) != 0)
        rc = pf_error_set(err, rc, "cannot write %s: %s", p->keyring, pf_strerror(rc));
out:
    free(doc);
    return rc;
}

/* Loads the keyring, verified against the directory's own root public key. */
static int ring__load(const struct ring_paths *p, struct pf_keyring *kr, struct pf_ms_seckey *root,
                      struct pf_error *err)
{
    struct pf_ms_pubkey pub, mine;
    char *doc = NULL, *sig = NULL;
    size_t len, siglen;
    int rc;

    if ((rc = pf_ms_pubkey_load(p->root_pub, &pub, err)) != 0)
        return rc;
    if ((rc = pf_file_read(p->keyring, PF_KEYRING_MAX_BYTES, &doc, &len)) != 0)
        return pf_error_set(err, rc, "%s: %s", p->keyring, pf_strerror(rc));
    if ((rc = pf_file_read(p->keyring_sig, PF_MS_SIG_MAX, &sig, &siglen)) != 0) {
        rc = pf_error_set(err, rc == PF_ENOENT ? PF_ENO_SIG : rc, "%s: %s", p->keyring_sig,
                          pf_strerror(rc));
        goto out;
    }
    if ((rc = pf_keyring_verify(doc, len, sig, siglen, &pub, 0, kr, err)) != 0)
        goto out;
    if (!pf_ms_pubkey_equal(pf_keyring_current_root(kr), &pub)) {
        rc = pf_error_set(err, PF_EROOT_CHAIN, "%s is not the keyring's current root", p->root_pub);
        goto out;
    }
    if (root) {
        if ((rc = pf_ms_seckey_load(p->root_key, root, err)) != 0)
            goto out;
        pf_ms_seckey_public(root, &mine);
        if (!pf_ms_pubkey_equal(&mine, &pub)) {
            pf_ms_seckey_wipe(root);
            rc = pf_error_set(err, PF_ECRYPTO, "%s does not match %s", p->root_key, p->root_pub);
        }
    }
out:
    free(doc);
    free(sig);
    return rc;
}

static const char *ring__dir_opt(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0)
            return argv[i + 1];
    }
    return ".";
}

int pfk_cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {
            {"dir", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {0}};
    struct pf_error err = {0};
    struct ring_paths p;
    struct pf_ms_pubkey pub;
    struct pf_ms_seckey sec;
    struct pf_keyring *kr = NULL;
    char id[PF_MS_KEYID_HEX + 1];
    const char *dir = ".";
    int c, rc = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else {
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: posfleet-keys init [--dir DIR]\n"
                    "Creates DIR/root.key (0600), DIR/root.pub and a signed empty keyring.\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind != argc || ring__paths(&p, dir) != 0) {
        fprintf(stderr, "usage: posfleet-keys init [--dir DIR]\n");
        return 2;
    }
    if (access(p.root_key, F_OK) == 0 || access(p.keyring, F_OK) == 0) {
        fprintf(stderr, "posfleet-keys init: %s already holds a root key or keyring\n", dir);
        return 1;
    }
    if (pf_mkdir_p(dir, 0700) != 0) {
        fprintf(stderr, "posfleet-keys init: cannot create %s\n", dir);
        return 1;
    }
    kr = calloc(1, sizeof(*kr));
    if (!kr || pf_ms_keygen(&pub, &sec) != 0) {
        fprintf(stderr, "posfleet-keys init: cannot create a key\n");
        goto out;
    }
    kr->serial = 1;
    kr->nroots = 1;
    kr->roots[0].pub = pub;
    if (pf_ms_seckey_save(p.root_key, &sec, &err) != 0 ||
        pf_ms_pubkey_save(p.root_pub, &pub, &err) != 0 || ring__save(&p, kr, &sec, &err) != 0) {
        ring__fail("init", &err);
        goto out;
    }
    pf_ms_keyid_hex(pub.key_id, id);
    printf("root key %s\n  secret: %s (keep offline)\n  public: %s (ship with terminals)\n"
           "keyring serial 1: %s\n",
           id, p.root_key, p.root_pub, p.keyring);
    rc = 0;
out:
    pf_ms_seckey_wipe(&sec);
    free(kr);
    return rc;
}

int pfk_cmd_add(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"role", required_argument, NULL, 'r'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"not-before", required_argument, NULL, 'b'},
                                         {"not-after", required_argument, NULL, 'a'},
                                         {"days", required_argument, NULL, 'D'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    static const char usage[] =
            "usage: posfleet-keys add --role firmware|fee-table --name NAME [--dir DIR]\n"
            "                         [--not-before TIME] [--not-after TIME | --days N]\n"
            "TIME is UTC like 2026-12-01T00:00:00Z; default window: now .. now + 365 days.\n"
            "Writes DIR/signing/NAME.key (0600) and NAME.pub and re-signs the keyring.\n";
    struct pf_error err = {0};
    struct ring_paths p;
    struct pf_ms_seckey root, sec;
    struct pf_ms_pubkey pub;
    struct pf_keyring *kr = NULL;
    struct pf_keyring_key *k;
    const char *dir = ".", *role = NULL, *name = NULL, *nb = NULL, *na = NULL;
    char sdir[PATH_MAX], kpath[PATH_MAX], ppath[PATH_MAX], id[PF_MS_KEYID_HEX + 1];
    char t1[PF_TIME_STR_LEN + 1], t2[PF_TIME_STR_LEN + 1];
    int64_t days = RING_DEFAULT_DAYS;
    int64_t not_before = (int64_t)time(NULL), not_after;
    int c, rc = 1, role_idx = -1;
    bool have_root = false;

    memset(&sec, 0, sizeof(sec));
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'r':
            role = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'b':
            nb = optarg;
            break;
        case 'a':
            na = optarg;
            break;
        case 'D':
            if (pf_parse_i64(optarg, 1, 36500, &days)) {
                fprintf(stderr, "posfleet-keys add: --days must be 1..36500\n");
                return 2;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    for (int i = 0; role && pf_key_role_names[i]; i++) {
        if (strcmp(role, pf_key_role_names[i]) == 0)
            role_idx = i;
    }
    if (optind != argc || role_idx < 0 || !name || ring__paths(&p, dir) != 0) {
        fputs(usage, stderr);
        return 2;
    }
    for (const char *s = name; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_') ||
            s - name >= PF_KEY_NAME_MAX) {
            fprintf(stderr, "posfleet-keys add: --name must be 1..64 of [A-Za-z0-9_-]\n");
            return 2;
        }
    }
    if ((nb && pf_time_parse(nb, &not_before) != 0) || (na && pf_time_parse(na, &not_after) != 0)) {
        fprintf(stderr, "posfleet-keys add: times are UTC like 2026-12-01T00:00:00Z\n");
        return 2;
    }
    if (!na)
        not_after = not_before + (int64_t)days * 86400;
    if (not_after < not_before) {
        fprintf(stderr, "posfleet-keys add: --not-after is before --not-before\n");
        return 2;
    }
    kr = calloc(1, sizeof(*kr));
    if (!kr)
        goto out;
    if (ring__load(&p, kr, &root, &err) != 0) {
        ring__fail("add", &err);
        goto out;
    }
    have_root = true;
    for (size_t i = 0; i < kr->nkeys; i++) {
        if (strcmp(kr->keys[i].name, name) == 0) {
            fprintf(stderr, "posfleet-keys add: a key named %s already exists\n", name);
            goto out;
        }
    }
    if (kr->nkeys == PF_KEYRING_MAX_KEYS) {
        fprintf(stderr, "posfleet-keys add: the keyring holds %d keys already\n",
                PF_KEYRING_MAX_KEYS);
        goto out;
    }
    snprintf(sdir, sizeof(sdir), "%s/signing", p.dir);
    snprintf(kpath, sizeof(kpath), "%s/signing/%s.key", p.dir, name);
    snprintf(ppath, sizeof(ppath), "%s/signing/%s.pub", p.dir, name);
    if (pf_mkdir_p(sdir, 0700) != 0 || pf_ms_keygen(&pub, &sec) != 0) {
        fprintf(stderr, "posfleet-keys add: cannot create %s\n", sdir);
        goto out;
    }
    if (pf_ms_seckey_save(kpath, &sec, &err) != 0 || pf_ms_pubkey_save(ppath, &pub, &err) != 0) {
        ring__fail("add", &err);
        goto out;
    }
    k = &kr->keys[kr->nkeys++];
    snprintf(k->name, sizeof(k->name), "%s", name);
    k->role = role_idx;
    k->pub = pub;
    k->not_before = not_before;
    k->not_after = not_after;
    kr->serial++;
    if (ring__save(&p, kr, &root, &err) != 0) {
        ring__fail("add", &err);
        unlink(kpath);
        unlink(ppath);
        goto out;
    }
    pf_ms_keyid_hex(pub.key_id, id);
    if (pf_time_format(not_before, t1) != 0 || pf_time_format(not_after, t2) != 0)
        t1[0] = t2[0] = '\0';
    printf("signing key %s (%s, role %s) valid %s .. %s\n  secret: %s\n  public: %s\n"
           "keyring serial %lld\n",
           id, name, pf_key_role_names[role_idx], t1, t2, kpath, ppath, (long long)kr->serial);
    rc = 0;
out:
    if (have_root)
        pf_ms_seckey_wipe(&root);
    pf_ms_seckey_wipe(&sec);
    free(kr);
    return rc;
}

int pfk_cmd_revoke(int argc, char **argv)
{
    static const struct option opts[] = {
            {"dir", required_argument, NULL, 'd'},  {"key-id", required_argument, NULL, 'k'},
            {"name", required_argument, NULL, 'n'}, {"reason", required_argument, NULL, 'r'},
            {"help", no_argument, NULL, 'h'},       {0}};
    static const char usage[] = "usage: posfleet-keys revoke (--key-id HEX | --name NAME) "
                                "[--reason TEXT] [--dir DIR]\n";
    struct pf_error err = {0};
    struct ring_paths p;
    struct pf_ms_seckey root;
    struct pf_keyring *kr = NULL;
    struct pf_keyring_revocation *r;
    const char *dir = ".", *keyid = NULL, *name = NULL, *reason = "";
    uint8_t id[PF_MS_KEYID_LEN];
    char idhex[PF_MS_KEYID_HEX + 1];
    bool found = false, have_root = false;
    int c, rc = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'k':
            keyid = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'r':
            reason = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind != argc || (!keyid == !name) || ring__paths(&p, dir) != 0 ||
        strlen(reason) > PF_KEY_REASON_MAX || (keyid && pf_ms_keyid_parse(keyid, id) != 0)) {
        fputs(usage, stderr);
        return 2;
    }
    kr = calloc(1, sizeof(*kr));
    if (!kr)
        goto out;
    if (ring__load(&p, kr, &root, &err) != 0) {
        ring__fail("revoke", &err);
        goto out;
    }
    have_root = true;
    for (size_t i = 0; i < kr->nkeys && !found; i++) {
        if ((name && strcmp(kr->keys[i].name, name) == 0) ||
            (keyid && memcmp(kr->keys[i].pub.key_id, id, PF_MS_KEYID_LEN) == 0)) {
            memcpy(id, kr->keys[i].pub.key_id, PF_MS_KEYID_LEN);
            found = true;
        }
    }
    if (!found) {
        fprintf(stderr, "posfleet-keys revoke: no such key in the keyring [KEY_UNKNOWN]\n");
        goto out;
    }
    pf_ms_keyid_hex(id, idhex);
    for (size_t i = 0; i < kr->nrevoked; i++) {
        if (memcmp(kr->revoked[i].key_id, id, PF_MS_KEYID_LEN) == 0) {
            fprintf(stderr, "posfleet-keys revoke: %s is already revoked\n", idhex);
            goto out;
        }
    }
    if (kr->nrevoked == PF_KEYRING_MAX_REVOKED) {
        fprintf(stderr, "posfleet-keys revoke: revocation list is full\n");
        goto out;
    }
    r = &kr->revoked[kr->nrevoked++];
    memcpy(r->key_id, id, PF_MS_KEYID_LEN);
    r->revoked_at = (int64_t)time(NULL);
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    kr->serial++;
    if (ring__save(&p, kr, &root, &err) != 0) {
        ring__fail("revoke", &err);
        goto out;
    }
    printf("revoked %s; keyring serial %lld\n", idhex, (long long)kr->serial);
    rc = 0;
out:
    if (have_root)
        pf_ms_seckey_wipe(&root);
    free(kr);
    return rc;
}

int pfk_cmd_rotate_root(int argc, char **argv)
{
    static const struct option opts[] = {
            {"dir", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {0}};
    static const char usage[] =
            "usage: posfleet-keys rotate-root [--dir DIR]\n"
            "Creates a new root endorsed by the current one; the old secret key moves to\n"
            "DIR/retired/root-KEYID.key. Terminals follow the chain from the root they ship "
            "with.\n";
    struct pf_error err = {0};
    struct ring_paths p;
    struct pf_ms_seckey old, fresh;
    struct pf_ms_pubkey pub;
    struct pf_keyring *kr = NULL;
    struct pf_keyring_root *nr;
    char rdir[PATH_MAX], retired[PATH_MAX], newkey[PATH_MAX], oldid[PF_MS_KEYID_HEX + 1],
            newid[PF_MS_KEYID_HEX + 1];
    const char *dir = ring__dir_opt(argc, argv);
    bool have_old = false;
    int c, rc = 1;

    memset(&fresh, 0, sizeof(fresh));
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else {
            fputs(usage, c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind != argc || ring__paths(&p, dir) != 0) {
        fputs(usage, stderr);
        return 2;
    }
    kr = calloc(1, sizeof(*kr));
    if (!kr)
        goto out;
    if (ring__load(&p, kr, &old, &err) != 0) {
        ring__fail("rotate-root", &err);
        goto out;
    }
    have_old = true;
    if (kr->nroots == PF_KEYRING_MAX_ROOTS) {
        fprintf(stderr, "posfleet-keys rotate-root: the root chain is full\n");
        goto out;
    }
    if (pf_ms_keygen(&pub, &fresh) != 0)
        goto out;
    pf_ms_keyid_hex(kr->roots[kr->nroots - 1].pub.key_id, oldid);
    pf_ms_keyid_hex(pub.key_id, newid);
    snprintf(rdir, sizeof(rdir), "%s/retired", p.dir);
    snprintf(retired, sizeof(retired), "%s/retired/root-%s.key", p.dir, oldid);
    snprintf(newkey, sizeof(newkey), "%s/root.key.new", p.dir);
    if (pf_mkdir_p(rdir, 0700) != 0) {
        fprintf(stderr, "posfleet-keys rotate-root: cannot create %s\n", rdir);
        goto out;
    }
    /* New secret first, beside the old; then the keyring; then swap the files. */
    if (pf_ms_seckey_save(newkey, &fresh, &err) != 0) {
        ring__fail("rotate-root", &err);
        goto out;
    }
    nr = &kr->roots[kr->nroots++];
    nr->pub = pub;
    nr->endorsed = true;
    pf_keyring_endorse(&old, &pub, nr->endorsement);
    kr->serial++;
    if (ring__save(&p, kr, &fresh, &err) != 0) {
        ring__fail("rotate-root", &err);
        unlink(newkey);
        goto out;
    }
    if (rename(p.root_key, retired) != 0 || rename(newkey, p.root_key) != 0 ||
        pf_ms_pubkey_save(p.root_pub, &pub, &err) != 0 || pf_fsync_dir_of(p.root_key) != 0) {
        fprintf(stderr,
                "posfleet-keys rotate-root: keyring rotated to %s but files could not be "
                "swapped: %s; fix by hand (new secret in %s)\n",
                newid, strerror(errno), newkey);
        goto out;
    }
    printf("root rotated %s -> %s\n  new public: %s (ship with new terminals)\n"
           "  retired secret: %s\nkeyring serial %lld\n",
           oldid, newid, p.root_pub, retired, (long long)kr->serial);
    rc = 0;
out:
    if (have_old)
        pf_ms_seckey_wipe(&old);
    pf_ms_seckey_wipe(&fresh);
    free(kr);
    return rc;
}

static void ring__show_json(const struct pf_keyring *kr, const char *doc)
{
    (void)kr;
    fputs(doc, stdout);
}

int pfk_cmd_show(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"root", required_argument, NULL, 'r'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    static const char usage[] =
            "usage: posfleet-keys show [--dir DIR] [--root ANCHOR.pub] [--json]\n"
            "Verifies the keyring from ANCHOR (default DIR/root.pub) and prints its public "
            "parts.\n";
    struct pf_error err = {0};
    struct ring_paths p;
    struct pf_ms_pubkey anchor;
    struct pf_keyring *kr = NULL;
    const char *dir = ".", *rootp = NULL;
    char *doc = NULL, *sig = NULL, id[PF_MS_KEYID_HEX + 1], t1[PF_TIME_STR_LEN + 1],
         t2[PF_TIME_STR_LEN + 1];
    size_t len, siglen;
    bool json = false;
    int c, rc = 1;
    int64_t now = (int64_t)time(NULL);

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'r':
            rootp = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind != argc || ring__paths(&p, dir) != 0) {
        fputs(usage, stderr);
        return 2;
    }
    kr = calloc(1, sizeof(*kr));
    if (!kr)
        goto out;
    if (pf_ms_pubkey_load(rootp ? rootp : p.root_pub, &anchor, &err) != 0) {
        ring__fail("show", &err);
        goto out;
    }
    if ((rc = pf_file_read(p.keyring, PF_KEYRING_MAX_BYTES, &doc, &len)) != 0 ||
        (rc = pf_file_read(p.keyring_sig, PF_MS_SIG_MAX, &sig, &siglen)) != 0) {
        fprintf(stderr, "posfleet-keys show: cannot read the keyring in %s: %s\n", dir,
                pf_strerror(rc));
        rc = 1;
        goto out;
    }
    rc = 1;
    if (pf_keyring_verify(doc, len, sig, siglen, &anchor, 0, kr, &err) != 0) {
        ring__fail("show", &err);
        goto out;
    }
    if (json) {
        ring__show_json(kr, doc);
        rc = 0;
        goto out;
    }
    if (pf_time_format(kr->issued, t1) != 0)
        t1[0] = '\0';
    printf("keyring serial %lld, issued %s (signature verified)\nroot chain:\n",
           (long long)kr->serial, t1);
    for (size_t i = 0; i < kr->nroots; i++) {
        pf_ms_keyid_hex(kr->roots[i].pub.key_id, id);
        printf("  %zu. %s%s%s\n", i + 1, id, i ? " (endorsed by the previous root)" : "",
               i + 1 == kr->nroots ? " [current]" : "");
    }
    printf("signing keys:\n");
    if (kr->nkeys == 0)
        printf("  (none)\n");
    for (size_t i = 0; i < kr->nkeys; i++) {
        const struct pf_keyring_key *k = &kr->keys[i];
        const char *state = "valid";
        pf_ms_keyid_hex(k->pub.key_id, id);
        for (size_t j = 0; j < kr->nrevoked; j++) {
            if (memcmp(kr->revoked[j].key_id, k->pub.key_id, PF_MS_KEYID_LEN) == 0)
                state = "REVOKED";
        }
        if (strcmp(state, "valid") == 0 && (now < k->not_before || now > k->not_after))
            state = now < k->not_before ? "not yet valid" : "expired";
        if (pf_time_format(k->not_before, t1) != 0 || pf_time_format(k->not_after, t2) != 0)
            t1[0] = t2[0] = '\0';
        printf("  %s  %-10s %-20s %s .. %s  %s\n", id, pf_key_role_names[k->role], k->name, t1, t2,
               state);
    }
    printf("revocations:\n");
    if (kr->nrevoked == 0)
        printf("  (none)\n");
    for (size_t i = 0; i < kr->nrevoked; i++) {
        pf_ms_keyid_hex(kr->revoked[i].key_id, id);
        if (pf_time_format(kr->revoked[i].revoked_at, t1) != 0)
            t1[0] = '\0';
        printf("  %s  revoked %s  %s\n", id, t1, kr->revoked[i].reason);
    }
    rc = 0;
out:
    free(doc);
    free(sig);
    free(kr);
    return rc;
}
