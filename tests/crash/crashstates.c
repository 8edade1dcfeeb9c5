/*
 * crashstates.c - builds the disk states a power loss may leave from a trace
 * recorded by crashrec.c, and checks each one with a command (tests/crash/).
 *
 *   pf_crashstates [options] INIT ROOT TRACE WORK -- CMD ARG...
 *   pf_crashstates --reboot TRACE     appends a clean reboot (a sync) to TRACE
 *
 * INIT is a copy of ROOT taken before the recording started (the disk as it
 * was, all of it durable); TRACE the records of what the processes did under
 * ROOT. For every cut point k (after each recorded operation) the generator
 * builds the states of the persistence model (docs/reliability.md):
 *
 *   - an operation made durable before k (file fsync for its data, directory
 *     fsync for a name operation, sync, a clean reboot) is always there;
 *   - name operations (create, mkdir, rename, unlink, rmdir) not yet made
 *     durable persist in the order they were made (one metadata journal), so
 *     any prefix of them may be on disk; a rename is atomic;
 *   - data operations (write, truncate) not yet made durable persist in any
 *     order and a write may be torn: the states tried are none, all, every
 *     in-order prefix with the next write torn at half and at its last 4 KiB
 *     boundary, and all but one (one lost, later ones kept);
 *   - files whose names match an --external prefix are not on the terminal's
 *     disk (the server's log, the checker's memory, the simulated hardware):
 *     every operation on them is durable at once.
 *
 * States with the same content are checked once. Each distinct state is
 * written to WORK/laneN/root and CMD is run with every argument "@" replaced
 * by that directory; its exit status is the verdict: 0 fine, anything else a
 * violation (the state is kept as WORK/violation-K and its description
 * printed). With --serve CMD is started once per lane instead and judges
 * state after state: the generator writes the directory's path as a line to
 * its stdin and reads one line back, "ok" or what was violated (a checker
 * that pays a long start-up - a sanitizer runtime, a database library - pays
 * it once per lane, not once per state). With --sample N only N distinct
 * states, evenly spread over the whole story, are checked; without it every
 * one. The lanes (--lanes, default 2) share the building and hashing of the
 * candidates and then the checking. Prints two summary lines:
 *   crashstates: ops O cuts C candidates N distinct D checked K violations V
 *   crashstates: states built in T s, checked in T s (L lanes...)
 * Exit 0 if no violation, 1 if any, 2 on a usage or trace error.
 *
 * Over 800 lines because the trace reader, the file-system model, the
 * persistence rules and the enumeration of states must agree on one
 * representation of an operation; split, each part would expose it to the rest.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crashrec.h"
#include "pf/num.h"

#define CS_NEVER INT32_MAX

enum cs_type { M_CREATE, M_MKDIR, M_RENAME, M_UNLINK, M_RMDIR, M_WRITE, M_TRUNC, M_FSYNC, M_SYNC };

static const char *const cs_names[] = {"create", "mkdir", "rename", "unlink", "rmdir",
                                       "write",  "trunc", "fsync",  "sync"};

struct cs_op {
    enum cs_type type;
    char *p1, *p2; /* names relative to ROOT ("" is ROOT itself) */
    int ino;
    uint64_t off, len;
    const uint8_t *data;
    int32_t persist_at; /* the barrier that made it durable, CS_NEVER if none did */
    int needs;          /* directory fsyncs still missing (a rename across directories: 2) */
    int dirs[2];        /* the directories whose fsync it waits for */
    bool external;      /* on a file outside the terminal's disk */
};

struct cs_ino {
    uint8_t *buf;
    size_t size, cap;
    bool dir;
    bool shared; /* buf is the durable base's (a state that did not change it) */
    bool dig_ok; /* dig is the digest of buf[0..size) (kept for the base only) */
    uint8_t dig[32];
};

struct cs_name {
    char *path;
    int ino;
};

struct cs_fs {
    struct cs_name *names;
    int nnames, capnames;
    struct cs_ino *inos;
    int ninos;
};

/* A state: the cut, the metadata prefix kept, and the data variant. */
enum cs_dv { DV_NONE, DV_ALL, DV_PREFIX, DV_TORN, DV_ALL_BUT };

struct cs_state {
    int32_t cut;
    int32_t meta; /* pending name operations kept (in order) */
    enum cs_dv dv;
    int32_t t; /* the pending data operation DV_PREFIX/TORN/ALL_BUT are about */
    uint64_t torn;
};

static struct cs_op *ops;
static int nops, capops;
static struct cs_fs init_fs;
static int total_inos;
static char *root_path;
static char **externals;
static int nexternals;

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "crashstates: out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- the file-system model ------------------------------------------------------- */

static int fs_lookup(const struct cs_fs *fs, const char *path)
{
    for (int i = 0; i < fs->nnames; i++) {
        if (strcmp(fs->names[i].path, path) == 0)
            return i;
    }
    return -1;
}

static void fs_link(struct cs_fs *fs, const char *path, int ino)
{
    int i = fs_lookup(fs, path);

    if (i >= 0) {
        fs->names[i].ino = ino;
        return;
    }
    if (fs->nnames == fs->capnames) {
        fs->capnames = fs->capnames ? fs->capnames * 2 : 64;
        fs->names = xrealloc(fs->names, (size_t)fs->capnames * sizeof(*fs->names));
    }
    fs->names[fs->nnames].path = strdup(path);
    fs->names[fs->nnames++].ino = ino;
}

static void fs_unlink(struct cs_fs *fs, const char *path)
{
    int i = fs_lookup(fs, path);

    if (i >= 0) {
        free(fs->names[i].path);
        fs->names[i] = fs->names[--fs->nnames];
    }
}

static int fs_ino_of(const struct cs_fs *fs, const char *path)
{
    int i = fs_lookup(fs, path);

    return i >= 0 ? fs->names[i].ino : -1;
}

static void ino_resize(struct cs_ino *in, size_t size)
{
    if (size > in->cap) {
        size_t cap = in->cap ? in->cap : 4096;
        while (cap < size)
            cap *= 2;
        in->buf = xrealloc(in->buf, cap);
        in->cap = cap;
    }
    if (size > in->size)
        memset(in->buf + in->size, 0, size - in->size);
    in->size = size;
}

/* A state's own copy of an inode it is about to change. */
static void ino_own(struct cs_ino *in)
{
    if (in->shared) {
        const uint8_t *b = in->buf;
        size_t size = in->size;
        in->buf = NULL;
        in->size = in->cap = 0;
        in->shared = false;
        ino_resize(in, size);
        if (size)
            memcpy(in->buf, b, size);
    }
    in->dig_ok = false;
}

static void fs_apply(struct cs_fs *fs, const struct cs_op *o, uint64_t len)
{
    struct cs_ino *in = o->ino >= 0 ? &fs->inos[o->ino] : NULL;
    int src;

    if (in && (o->type == M_WRITE || o->type == M_TRUNC))
        ino_own(in);

    switch (o->type) {
    case M_CREATE:
    case M_MKDIR:
        /* A new inode, empty until its writes: they may have landed before its name. */
        in->dir = o->type == M_MKDIR;
        fs_link(fs, o->p1, o->ino);
        break;
    case M_RENAME:
        src = fs_ino_of(fs, o->p1);
        if (src >= 0) { /* else the name it moves never reached the disk */
            fs_unlink(fs, o->p1);
            fs_link(fs, o->p2, src);
        }
        break;
    case M_UNLINK:
    case M_RMDIR:
        fs_unlink(fs, o->p1);
        break;
    case M_WRITE:
        if (o->off + len > in->size)
            ino_resize(in, o->off + len);
        memcpy(in->buf + o->off, o->data, len);
        break;
    case M_TRUNC:
        ino_resize(in, o->off);
        break;
    case M_FSYNC:
    case M_SYNC:
        break;
    }
}

static void fs_copy(struct cs_fs *dst, const struct cs_fs *src)
{
    dst->nnames = dst->capnames = src->nnames;
    dst->names = xrealloc(NULL, (size_t)src->nnames * sizeof(*dst->names));
    for (int i = 0; i < src->nnames; i++) {
        dst->names[i].path = strdup(src->names[i].path);
        dst->names[i].ino = src->names[i].ino;
    }
    dst->ninos = total_inos;
    dst->inos = calloc((size_t)total_inos, sizeof(*dst->inos));
    for (int i = 0; i < src->ninos; i++) {
        dst->inos[i].dir = src->inos[i].dir;
        ino_resize(&dst->inos[i], src->inos[i].size);
        if (src->inos[i].size)
            memcpy(dst->inos[i].buf, src->inos[i].buf, src->inos[i].size);
    }
}

/*
 * A state on top of the durable base: its own names, the base's inodes shared
 * until the state changes one (ino_own), so building a state costs what its
 * pending operations change, not the size of the disk.
 */
static void fs_copy_shared(struct cs_fs *dst, const struct cs_fs *src)
{
    dst->nnames = dst->capnames = src->nnames;
    dst->names = xrealloc(NULL, (size_t)src->nnames * sizeof(*dst->names));
    for (int i = 0; i < src->nnames; i++) {
        dst->names[i].path = strdup(src->names[i].path);
        dst->names[i].ino = src->names[i].ino;
    }
    dst->ninos = total_inos;
    dst->inos = calloc((size_t)total_inos, sizeof(*dst->inos));
    for (int i = 0; i < src->ninos; i++) {
        dst->inos[i] = src->inos[i];
        dst->inos[i].shared = true;
        dst->inos[i].cap = 0;
        dst->inos[i].dig_ok = false;
    }
}

static void fs_free(struct cs_fs *fs)
{
    for (int i = 0; i < fs->nnames; i++)
        free(fs->names[i].path);
    for (int i = 0; i < fs->ninos; i++) {
        if (!fs->inos[i].shared)
            free(fs->inos[i].buf);
    }
    free(fs->names);
    free(fs->inos);
    memset(fs, 0, sizeof(*fs));
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(((const struct cs_name *)a)->path, ((const struct cs_name *)b)->path);
}

static void ino_digest(const struct cs_ino *in, uint8_t out[32])
{
    crypto_generichash(out, 32, in->size ? in->buf : NULL, in->size, NULL, 0);
}

/*
 * The digest of a state's contents: names, sizes and a digest of each file's
 * bytes. An inode the state shares with the durable base (base) takes the
 * base's digest, computed once while the base holds it.
 */
static void fs_digest(struct cs_fs *fs, struct cs_fs *base, uint8_t out[32])
{
    crypto_generichash_state h;

    qsort(fs->names, (size_t)fs->nnames, sizeof(*fs->names), name_cmp);
    crypto_generichash_init(&h, NULL, 0, 32);
    for (int i = 0; i < fs->nnames; i++) {
        int ino = fs->names[i].ino;
        const struct cs_ino *in = &fs->inos[ino];
        uint64_t sz = in->dir ? UINT64_MAX : in->size;
        uint8_t d[32];
        crypto_generichash_update(&h, (const uint8_t *)fs->names[i].path,
                                  strlen(fs->names[i].path) + 1);
        crypto_generichash_update(&h, (const uint8_t *)&sz, sizeof(sz));
        if (in->dir || !in->size)
            continue;
        if (in->shared && base && ino < base->ninos) {
            struct cs_ino *b = &base->inos[ino];
            if (!b->dig_ok) {
                ino_digest(b, b->dig);
                b->dig_ok = true;
            }
            crypto_generichash_update(&h, b->dig, 32);
        } else {
            ino_digest(in, d);
            crypto_generichash_update(&h, d, 32);
        }
    }
    crypto_generichash_final(&h, out, 32);
}

/* ---- reading INIT and TRACE ---------------------------------------------------------- */

static const char *init_base;

static int init_visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    const char *rel = path + strlen(init_base);
    int ino = init_fs.ninos++;

    (void)ftw;
    if (*rel == '/')
        rel++;
    init_fs.inos = xrealloc(init_fs.inos, (size_t)init_fs.ninos * sizeof(*init_fs.inos));
    memset(&init_fs.inos[ino], 0, sizeof(init_fs.inos[ino]));
    init_fs.inos[ino].dir = flag == FTW_D;
    if (flag == FTW_F) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ino_resize(&init_fs.inos[ino], (size_t)st->st_size);
        if (fd < 0 || read(fd, init_fs.inos[ino].buf, (size_t)st->st_size) != st->st_size) {
            fprintf(stderr, "crashstates: cannot read %s\n", path);
            exit(2);
        }
        close(fd);
    } else if (flag != FTW_D) {
        fprintf(stderr, "crashstates: %s: only files and directories are modelled\n", path);
        exit(2);
    }
    fs_link(&init_fs, rel, ino);
    return 0;
}

static bool is_external(const char *rel)
{
    const char *base = strrchr(rel, '/');

    base = base ? base + 1 : rel;
    for (int i = 0; i < nexternals; i++) {
        size_t n = strlen(externals[i]);
        if (strncmp(rel, externals[i], n) == 0 || strncmp(base, externals[i], n) == 0)
            return true;
    }
    return false;
}

static bool is_meta(enum cs_type t)
{
    return t == M_CREATE || t == M_MKDIR || t == M_RENAME || t == M_UNLINK || t == M_RMDIR;
}

static bool ino_external(const struct cs_fs *v, int ino)
{
    for (int i = 0; i < v->nnames; i++) {
        if (v->names[i].ino == ino && is_external(v->names[i].path))
            return true;
    }
    return false;
}

static char *rel_of(const char *abs, uint32_t len)
{
    size_t rl = strlen(root_path);
    char *p = strndup(abs, len);

    if (strncmp(p, root_path, rl) != 0 || (p[rl] != '/' && p[rl] != '\0')) {
        free(p);
        return NULL; /* outside ROOT */
    }
    memmove(p, p + rl + (p[rl] == '/'), strlen(p + rl + (p[rl] == '/')) + 1);
    return p;
}

static char *dir_of(const char *rel)
{
    const char *s = strrchr(rel, '/');

    return s ? strndup(rel, (size_t)(s - rel)) : strdup("");
}

static struct cs_op *op_add(enum cs_type t)
{
    if (nops == capops) {
        capops = capops ? capops * 2 : 1024;
        ops = xrealloc(ops, (size_t)capops * sizeof(*ops));
    }
    memset(&ops[nops], 0, sizeof(ops[nops]));
    ops[nops].type = t;
    ops[nops].ino = -1;
    ops[nops].dirs[0] = ops[nops].dirs[1] = -1;
    ops[nops].persist_at = CS_NEVER;
    return &ops[nops++];
}

struct cs_fdmap {
    int32_t pid, fd;
    int ino;
};

static struct cs_fdmap *fdmap;
static int nfd, capfd;

static int fd_ino(int32_t pid, int32_t fd)
{
    for (int i = nfd - 1; i >= 0; i--) {
        if (fdmap[i].pid == pid && fdmap[i].fd == fd)
            return fdmap[i].ino;
    }
    return -1;
}

static void fdmap_set(int32_t pid, int32_t fd, int ino)
{
    for (int i = 0; i < nfd; i++) {
        if (fdmap[i].pid == pid && fdmap[i].fd == fd) {
            fdmap[i].ino = ino;
            return;
        }
    }
    if (nfd == capfd) {
        capfd = capfd ? capfd * 2 : 64;
        fdmap = xrealloc(fdmap, (size_t)capfd * sizeof(*fdmap));
    }
    fdmap[nfd].pid = pid;
    fdmap[nfd].fd = fd;
    fdmap[nfd++].ino = ino;
}

/* A name operation waits for an fsync of its directory (both, for a rename across two). */
static void meta_wait(struct cs_op *o, struct cs_fs *v, const char *a, const char *b)
{
    char *da = dir_of(a), *db = b ? dir_of(b) : NULL;

    o->dirs[0] = fs_ino_of(v, da);
    o->needs = 1;
    if (db && strcmp(da, db) != 0) {
        o->dirs[1] = fs_ino_of(v, db);
        o->needs = 2;
    }
    free(da);
    free(db);
}

/* Turns the trace into model operations on inodes, tracking the volatile view. */
static int trace_load(const char *path)
{
    struct cs_fs v;
    struct stat st;
    const uint8_t *p, *end;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "crashstates: cannot open %s\n", path);
        return -1;
    }
    p = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (st.st_size && p == MAP_FAILED)
        return -1;
    end = p + st.st_size;
    total_inos = init_fs.ninos;
    fs_copy(&v, &init_fs);
    while (p && p < end) {
        struct crashrec_hdr h;
        const char *a, *b;
        char *ra = NULL, *rb = NULL;
        struct cs_op *o = NULL;
        int ino;

        if ((size_t)(end - p) < sizeof(h))
            break;
        memcpy(&h, p, sizeof(h));
        if (h.magic != CRASHREC_MAGIC) {
            fprintf(stderr, "crashstates: %s: bad record\n", path);
            return -1;
        }
        a = (const char *)p + sizeof(h);
        b = a + h.plen1;
        p += sizeof(h) + h.plen1 + h.plen2 + (h.op == CR_WRITE ? h.len : 0);
        if (h.plen1)
            ra = rel_of(a, h.plen1);
        if (h.plen2)
            rb = rel_of(b, h.plen2);
        switch (h.op) {
        case CR_OPEN:
            ra = ra ? ra : strdup("?");
            ino = fs_ino_of(&v, ra);
            if (ino < 0 || (h.len && ino >= 0)) {
                if (ino >= 0 && h.len)
                    fprintf(stderr, "crashstates: %s created twice\n", ra);
                ino = total_inos++;
                v.inos = xrealloc(v.inos, (size_t)total_inos * sizeof(*v.inos));
                memset(&v.inos[ino], 0, sizeof(v.inos[ino]));
                v.ninos = total_inos;
                o = op_add(M_CREATE);
                o->p1 = strdup(ra);
                o->ino = ino;
                meta_wait(o, &v, ra, NULL);
                fs_apply(&v, o, 0);
            } else if ((h.flags & O_TRUNC) && (h.flags & O_ACCMODE) != O_RDONLY &&
                       !v.inos[ino].dir) {
                o = op_add(M_TRUNC);
                o->ino = ino;
                o->off = 0;
                fs_apply(&v, o, 0);
            }
            fdmap_set(h.pid, h.fd, ino);
            break;
        case CR_CLOSE:
            fdmap_set(h.pid, h.fd, -1);
            break;
        case CR_DUP:
            fdmap_set(h.pid, h.fd2, fd_ino(h.pid, h.fd));
            break;
        case CR_WRITE:
        case CR_TRUNC:
        case CR_FSYNC:
            ino = fd_ino(h.pid, h.fd);
            if (ino < 0)
                break;
            o = op_add(h.op == CR_WRITE ? M_WRITE : h.op == CR_TRUNC ? M_TRUNC : M_FSYNC);
            o->ino = ino;
            o->off = h.off;
            o->len = h.len;
            o->data = (const uint8_t *)b + h.plen2;
            fs_apply(&v, o, o->len);
            break;
        case CR_TRUNCP:
            if (!ra || (ino = fs_ino_of(&v, ra)) < 0)
                break;
            o = op_add(M_TRUNC);
            o->ino = ino;
            o->off = h.off;
            fs_apply(&v, o, 0);
            break;
        case CR_MKDIR:
            if (!ra)
                break;
            ino = total_inos++;
            v.inos = xrealloc(v.inos, (size_t)total_inos * sizeof(*v.inos));
            memset(&v.inos[ino], 0, sizeof(v.inos[ino]));
            v.ninos = total_inos;
            o = op_add(M_MKDIR);
            o->p1 = strdup(ra);
            o->ino = ino;
            meta_wait(o, &v, ra, NULL);
            fs_apply(&v, o, 0);
            break;
        case CR_RENAME:
            if (!ra || !rb) {
                fprintf(stderr, "crashstates: a rename crosses ROOT: not modelled\n");
                return -1;
            }
            o = op_add(M_RENAME);
            o->p1 = strdup(ra);
            o->p2 = strdup(rb);
            meta_wait(o, &v, ra, rb);
            fs_apply(&v, o, 0);
            break;
        case CR_UNLINK:
        case CR_RMDIR:
            if (!ra)
                break;
            o = op_add(h.op == CR_UNLINK ? M_UNLINK : M_RMDIR);
            o->p1 = strdup(ra);
            meta_wait(o, &v, ra, NULL);
            fs_apply(&v, o, 0);
            break;
        case CR_SYNC:
            o = op_add(M_SYNC);
            break;
        case CR_UNTRACKED:
            fprintf(stderr, "crashstates: %s written through stdio: not recorded\n", ra ? ra : a);
            return -1;
        default:
            fprintf(stderr, "crashstates: %s: unknown record %u\n", path, h.op);
            return -1;
        }
        /* Operations on files outside the terminal's disk are durable at once. */
        if (o && ((o->p1 && is_external(o->p1)) || (o->p2 && is_external(o->p2)) ||
                  (!is_meta(o->type) && ino_external(&v, o->ino)))) {
            o->external = true;
            o->persist_at = nops - 1;
        }
        free(ra);
        free(rb);
    }
    fs_free(&v);
    return 0;
}

static bool is_data(enum cs_type t)
{
    return t == M_WRITE || t == M_TRUNC;
}

/* Which barrier made each operation durable. */
static void persist_compute(void)
{
    for (int i = 0; i < nops; i++) {
        struct cs_op *b = &ops[i];
        if (b->type != M_FSYNC && b->type != M_SYNC)
            continue;
        for (int j = 0; j < i; j++) {
            struct cs_op *o = &ops[j];
            if (o->persist_at != CS_NEVER)
                continue;
            if (b->type == M_SYNC) {
                o->persist_at = i;
            } else if (is_data(o->type) && o->ino == b->ino) {
                o->persist_at = i;
            } else if (is_meta(o->type)) {
                for (int d = 0; d < 2; d++) {
                    if (o->dirs[d] >= 0 && o->dirs[d] == b->ino) {
                        o->dirs[d] = -2;
                        if (--o->needs == 0)
                            o->persist_at = i;
                    }
                }
            }
        }
    }
    /* Names persist in order: one that is durable makes every earlier one durable. */
    for (int i = nops - 1, min = CS_NEVER; i >= 0; i--) {
        if (!is_meta(ops[i].type) || ops[i].external)
            continue;
        if (ops[i].persist_at > min)
            ops[i].persist_at = min;
        if (ops[i].persist_at < min)
            min = ops[i].persist_at;
    }
}

/* ---- building one state ------------------------------------------------------------- */

static int *pend_meta, *pend_data;
static int npm, npd;

static void pending_at(int32_t cut)
{
    npm = npd = 0;
    for (int j = 0; j < cut; j++) {
        if (ops[j].persist_at < cut)
            continue;
        if (is_meta(ops[j].type))
            pend_meta[npm++] = j;
        else if (is_data(ops[j].type))
            pend_data[npd++] = j;
    }
}

/*
 * The durable base at a cut: every operation a barrier before the cut made
 * durable. It only grows with the cut, and applying it in the order of the
 * barriers is the order of the operations where it matters (the data of one
 * file is made durable as a prefix by fsync; names persist in order; the rest
 * commute), so cuts are visited in increasing order and the base is extended.
 */
static struct cs_fs base;
static int32_t base_cut = -1;
static int *by_persist; /* op indices by (persist_at, index) */
static int base_next;

static int persist_cmp(const void *a, const void *b)
{
    const struct cs_op *x = &ops[*(const int *)a], *y = &ops[*(const int *)b];

    if (x->persist_at != y->persist_at)
        return x->persist_at < y->persist_at ? -1 : 1;
    return *(const int *)a - *(const int *)b;
}

static const struct cs_fs *base_at(int32_t cut)
{
    if (!by_persist) {
        by_persist = xrealloc(NULL, (size_t)(nops + 1) * sizeof(int));
        for (int i = 0; i < nops; i++)
            by_persist[i] = i;
        qsort(by_persist, (size_t)nops, sizeof(int), persist_cmp);
    }
    if (cut < base_cut) {
        fs_free(&base);
        base_cut = -1;
    }
    if (base_cut < 0) {
        fs_copy(&base, &init_fs);
        base_next = 0;
    }
    while (base_next < nops && ops[by_persist[base_next]].persist_at < cut) {
        const struct cs_op *o = &ops[by_persist[base_next++]];
        fs_apply(&base, o, o->len);
    }
    base_cut = cut;
    return &base;
}

static void state_build(const struct cs_state *s, struct cs_fs *fs)
{
    int mi = 0, di = 0;

    pending_at(s->cut);
    fs_copy_shared(fs, base_at(s->cut));
    for (int i = 0, m = 0, d = 0; i < npm + npd; i++) {
        /* The pending operations in their order: merge the two lists. */
        int j;
        if (m < npm && (d >= npd || pend_meta[m] < pend_data[d]))
            j = pend_meta[m++];
        else
            j = pend_data[d++];
        const struct cs_op *o = &ops[j];
        uint64_t len = o->len;
        bool keep;

        if (is_meta(o->type)) {
            keep = mi++ < s->meta;
        } else {
            int k = di++;
            switch (s->dv) {
            case DV_NONE:
                keep = false;
                break;
            case DV_ALL:
                keep = true;
                break;
            case DV_PREFIX:
                keep = k < s->t;
                break;
            case DV_TORN:
                keep = k <= s->t;
                if (k == s->t)
                    len = s->torn;
                break;
            default:
                keep = k != s->t;
                break;
            }
        }
        if (keep)
            fs_apply(fs, o, len);
    }
}

static void state_describe(const struct cs_state *s, char *buf, size_t len)
{
    char dv[96];
    const struct cs_op *last = s->cut > 0 ? &ops[s->cut - 1] : NULL;

    pending_at(s->cut);
    switch (s->dv) {
    case DV_NONE:
        snprintf(dv, sizeof(dv), "no pending data");
        break;
    case DV_ALL:
        snprintf(dv, sizeof(dv), "all pending data");
        break;
    case DV_PREFIX:
        snprintf(dv, sizeof(dv), "pending data before #%d", s->t);
        break;
    case DV_TORN:
        snprintf(dv, sizeof(dv), "pending data before #%d, #%d torn to %llu bytes", s->t, s->t,
                 (unsigned long long)s->torn);
        break;
    default:
        snprintf(dv, sizeof(dv), "all pending data but #%d", s->t);
        break;
    }
    snprintf(buf, len, "cut after op %d (%s %s), %d of %d pending name ops, %s (of %d)", s->cut,
             last ? cs_names[last->type] : "-", last && last->p1 ? last->p1 : "", s->meta, npm, dv,
             npd);
}

/* ---- writing a state and checking it ----------------------------------------------- */

static int rm_visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int state_write(struct cs_fs *fs, const char *dir)
{
    char path[PATH_MAX];

    nftw(dir, rm_visit, 16, FTW_DEPTH | FTW_PHYS);
    qsort(fs->names, (size_t)fs->nnames, sizeof(*fs->names), name_cmp); /* parents first */
    for (int i = 0; i < fs->nnames; i++) {
        const struct cs_ino *in = &fs->inos[fs->names[i].ino];
        if ((size_t)snprintf(path, sizeof(path), "%s%s%s", dir, fs->names[i].path[0] ? "/" : "",
                             fs->names[i].path) >= sizeof(path))
            return -1;
        if (in->dir) {
            if (mkdir(path, 0700) != 0 && errno != EEXIST && errno != ENOENT)
                return -1; /* ENOENT: its parent did not persist, an orphan */
        } else {
            int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (fd < 0)
                continue; /* below a directory that did not persist */
            if (in->size && write(fd, in->buf, in->size) != (ssize_t)in->size) {
                close(fd);
                return -1;
            }
            close(fd);
        }
    }
    return 0;
}

static int run_check(char **cmd, int argc, const char *dir, const char *log)
{
    char **argv = calloc((size_t)argc + 1, sizeof(*argv));
    pid_t pid;
    int status;

    for (int i = 0; i < argc; i++)
        argv[i] = strcmp(cmd[i], "@") == 0 ? (char *)dir : cmd[i];
    pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    free(argv);
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * --serve: the check command is started once per lane and judges state after
 * state. The generator writes the state's directory and a line with its path
 * to the checker's stdin; the checker answers with one line on its stdout,
 * "ok" or what was violated. Its stderr goes to the lane's log. A checker that
 * dies is a violation (the line says so) and is started again.
 */
struct cs_server {
    pid_t pid;
    FILE *to, *from;
};

static int serve_start(struct cs_server *sv, char **cmd, int argc, const char *dir, const char *log)
{
    int in[2], out[2];
    char **argv = calloc((size_t)argc + 1, sizeof(*argv));

    if (!argv || pipe(in) != 0 || pipe(out) != 0) {
        free(argv);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(in[i], F_SETFD, FD_CLOEXEC);
        fcntl(out[i], F_SETFD, FD_CLOEXEC);
    }
    for (int i = 0; i < argc; i++)
        argv[i] = strcmp(cmd[i], "@") == 0 ? (char *)dir : cmd[i];
    sv->pid = fork();
    if (sv->pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        dup2(in[0], 0);
        dup2(out[1], 1);
        if (fd >= 0)
            dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    free(argv);
    close(in[0]);
    close(out[1]);
    sv->to = fdopen(in[1], "w");
    sv->from = fdopen(out[0], "r");
    return sv->pid > 0 && sv->to && sv->from ? 0 : -1;
}

static void serve_stop(struct cs_server *sv)
{
    int status;

    if (sv->to)
        fclose(sv->to);
    if (sv->from)
        fclose(sv->from);
    if (sv->pid > 0)
        waitpid(sv->pid, &status, 0);
    memset(sv, 0, sizeof(*sv));
}

/* 0 if the checker answered "ok"; else 1 with its answer (or why none came) in why. */
static int serve_check(struct cs_server *sv, const char *dir, char *why, size_t len)
{
    char line[512];

    if (fprintf(sv->to, "%s\n", dir) < 0 || fflush(sv->to) != 0 ||
        !fgets(line, sizeof(line), sv->from)) {
        snprintf(why, len, "the checker died");
        return 1;
    }
    line[strcspn(line, "\n")] = '\0';
    if (strcmp(line, "ok") == 0)
        return 0;
    snprintf(why, len, "%s", line);
    return 1;
}

static void keep_violation(const char *lane, const char *work, int32_t n)
{
    char cmd[3 * PATH_MAX];

    snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s/violation-%d'", lane, work, n);
    if (system(cmd) != 0)
        fprintf(stderr, "crashstates: cannot keep %s\n", lane);
}

/* ---- enumeration ------------------------------------------------------------------ */

static struct cs_state *states;
static int nstates, capstates;
static uint8_t (*digests)[32];

static void cand_add(const struct cs_state *s)
{
    if (nstates == capstates) {
        capstates = capstates ? capstates * 2 : 4096;
        states = xrealloc(states, (size_t)capstates * sizeof(*states));
    }
    states[nstates++] = *s;
}

static void enumerate(int32_t cut)
{
    struct cs_state s = {cut, 0, DV_NONE, 0, 0};

    pending_at(cut);
    /* Every prefix of the pending name operations, with no and with all pending data. */
    for (s.meta = 0; s.meta <= npm; s.meta++) {
        s.dv = DV_NONE;
        cand_add(&s);
        if (npd) {
            s.dv = DV_ALL;
            cand_add(&s);
        }
    }
    /* With none and with all pending names: the ways the pending data may have landed. */
    for (int m = 0; m < 2; m++) {
        s.meta = m ? npm : 0;
        if (m && npm == 0)
            break;
        for (int t = 0; t < npd; t++) {
            const struct cs_op *o = &ops[pend_data[t]];
            s.t = t;
            s.dv = DV_PREFIX;
            cand_add(&s);
            s.dv = DV_ALL_BUT;
            if (npd > 1)
                cand_add(&s);
            if (o->type == M_WRITE && o->len >= 2) {
                s.dv = DV_TORN;
                s.torn = o->len / 2;
                cand_add(&s);
                if (o->len > 4096 && (o->len - 1) / 4096 * 4096 != o->len / 2) {
                    s.torn = (o->len - 1) / 4096 * 4096;
                    cand_add(&s);
                }
            }
        }
    }
}

static int dig_cmp(const void *a, const void *b)
{
    return memcmp(digests[*(const int *)a], digests[*(const int *)b], 32);
}

/*
 * Builds and hashes every candidate, the lanes sharing the work (each takes
 * every lanes-th candidate, so its cuts still only grow) into memory shared
 * with the parent.
 */
static int digest_all(int lanes)
{
    size_t bytes = (size_t)(nstates ? nstates : 1) * 32;
    pid_t *kids = calloc((size_t)lanes, sizeof(pid_t));
    int bad = 0;

    digests = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (digests == MAP_FAILED || !kids) {
        free(kids);
        return -1;
    }
    for (int l = 0; l < lanes; l++) {
        kids[l] = fork();
        if (kids[l] < 0) {
            bad = 1;
            break;
        }
        if (kids[l] != 0)
            continue;
        for (int i = l; i < nstates; i += lanes) {
            struct cs_fs fs;
            state_build(&states[i], &fs);
            fs_digest(&fs, &base, digests[i]);
            fs_free(&fs);
        }
        _exit(0);
    }
    for (int l = 0; l < lanes; l++) {
        int status;
        if (kids[l] > 0 &&
            (waitpid(kids[l], &status, 0) != kids[l] || !WIFEXITED(status) || WEXITSTATUS(status)))
            bad = 1;
    }
    free(kids);
    return bad ? -1 : 0;
}

/* A clean reboot between two boots of the story: the kernel syncs before it restarts. */
static int trace_reboot(const char *path)
{
    struct crashrec_hdr h;
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

    memset(&h, 0, sizeof(h));
    h.magic = CRASHREC_MAGIC;
    h.op = CR_SYNC;
    h.pid = -1;
    h.fd = h.fd2 = -1;
    if (fd < 0 || write(fd, &h, sizeof(h)) != (ssize_t)sizeof(h)) {
        fprintf(stderr, "crashstates: cannot append to %s\n", path);
        return 2;
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    const char *init, *trace, *work;
    char **cmd;
    int ncmd, lanes = 2, sep = -1, *order, ndistinct = 0, *distinct, violations = 0, checked = 0;
    uint64_t sample = 0;
    int64_t t;
    bool serve = false;
    char laned[PATH_MAX];

    if (argc == 3 && strcmp(argv[1], "--reboot") == 0)
        return trace_reboot(argv[2]);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            sep = i;
            break;
        }
    }
    if (sep < 0 || sep + 1 >= argc || sodium_init() < 0) {
        fprintf(stderr,
                "usage: pf_crashstates [--serve] [--sample N] [--lanes N] [--external PREFIX]... "
                "INIT ROOT TRACE WORK -- CMD ARG... (@ = the state's directory)\n");
        return 2;
    }
    externals = calloc((size_t)argc, sizeof(*externals));
    int pos = 1;
    while (pos < sep && strncmp(argv[pos], "--", 2) == 0) {
        if (pos + 1 >= sep)
            return 2;
        if (strcmp(argv[pos], "--sample") == 0) {
            if (pf_parse_u64(argv[pos + 1], 1, UINT32_MAX, &sample) != 0)
                return 2;
        } else if (strcmp(argv[pos], "--lanes") == 0) {
            if (pf_parse_i64(argv[pos + 1], 1, 16, &t) != 0)
                return 2;
            lanes = (int)t;
        } else if (strcmp(argv[pos], "--serve") == 0) {
            serve = true;
            pos--; /* a flag: no value */
        } else if (strcmp(argv[pos], "--external") == 0) {
            externals[nexternals++] = argv[pos + 1];
        } else {
            fprintf(stderr, "crashstates: unknown option %s\n", argv[pos]);
            return 2;
        }
        pos += 2;
    }
    if (sep - pos != 4)
        return 2;
    init = argv[pos];
    root_path = argv[pos + 1];
    trace = argv[pos + 2];
    work = argv[pos + 3];
    cmd = argv + sep + 1;
    ncmd = argc - sep - 1;

    init_base = init;
    if (nftw(init, init_visit, 16, FTW_PHYS) != 0) {
        fprintf(stderr, "crashstates: cannot read %s\n", init);
        return 2;
    }
    if (trace_load(trace) != 0)
        return 2;
    persist_compute();
    pend_meta = calloc((size_t)nops + 1, sizeof(int));
    pend_data = calloc((size_t)nops + 1, sizeof(int));
    struct timespec t0, t1, t2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int32_t cut = 1; cut <= nops; cut++)
        enumerate(cut);

    /* Distinct contents only. */
    order = xrealloc(NULL, (size_t)nstates * sizeof(int));
    distinct = xrealloc(NULL, (size_t)nstates * sizeof(int));
    if (digest_all(lanes) != 0) {
        fprintf(stderr, "crashstates: building the states failed\n");
        return 2;
    }
    for (int i = 0; i < nstates; i++)
        order[i] = i;
    qsort(order, (size_t)nstates, sizeof(int), dig_cmp);
    for (int i = 0; i < nstates; i++) {
        if (i == 0 || memcmp(digests[order[i]], digests[order[i - 1]], 32) != 0)
            distinct[ndistinct++] = order[i];
    }
    /* Story order, so a sample spreads over the whole story. */
    for (int i = 0; i < ndistinct; i++)
        order[i] = distinct[i];
    for (int i = 1; i < ndistinct; i++) {
        int v = order[i], j = i - 1;
        while (j >= 0 && order[j] > v) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = v;
    }
    int nsel = ndistinct;
    if (sample && sample < (uint64_t)ndistinct) {
        for (uint64_t i = 0; i < sample; i++)
            order[i] = order[(size_t)(i * (uint64_t)ndistinct / sample)];
        nsel = (int)sample;
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* Lanes: each a process checking every lanes-th selected state. */
    pid_t *kids = calloc((size_t)lanes, sizeof(pid_t));
    for (int l = 0; l < lanes; l++) {
        kids[l] = fork();
        if (kids[l] != 0)
            continue;
        int bad = 0, n = 0;
        char dir[PATH_MAX], log[PATH_MAX], desc[256];
        if ((size_t)snprintf(laned, sizeof(laned), "%s/lane%d", work, l) >= sizeof(laned) ||
            (size_t)snprintf(dir, sizeof(dir), "%s/root", laned) >= sizeof(dir) ||
            (size_t)snprintf(log, sizeof(log), "%s/check.log", laned) >= sizeof(log))
            _exit(2);
        mkdir(laned, 0700);
        struct cs_server sv = {0};
        char why[512] = "";
        for (int i = l; i < nsel; i += lanes) {
            struct cs_fs fs;
            int rc;
            state_build(&states[order[i]], &fs);
            rc = state_write(&fs, dir);
            fs_free(&fs);
            if (rc == 0 && serve) {
                if (!sv.pid && serve_start(&sv, cmd, ncmd, dir, log) != 0)
                    _exit(2);
                rc = serve_check(&sv, dir, why, sizeof(why));
                if (rc && strcmp(why, "the checker died") == 0)
                    serve_stop(&sv);
            } else if (rc == 0) {
                rc = run_check(cmd, ncmd, dir, log);
                snprintf(why, sizeof(why), "check exited %d", rc);
            }
            n++;
            if (rc != 0) {
                state_describe(&states[order[i]], desc, sizeof(desc));
                printf("VIOLATION (%s): %s\n", why, desc);
                keep_violation(laned, work, order[i]);
                fflush(stdout);
                bad++;
            }
        }
        serve_stop(&sv);
        FILE *f = (size_t)snprintf(log, sizeof(log), "%s/result", laned) < sizeof(log)
                          ? fopen(log, "w")
                          : NULL;
        if (f) {
            fprintf(f, "%d %d\n", n, bad);
            fclose(f);
        }
        _exit(0);
    }
    for (int l = 0; l < lanes; l++) {
        int status, n = 0, bad = 0;
        char log[PATH_MAX];
        FILE *f;
        waitpid(kids[l], &status, 0);
        snprintf(log, sizeof(log), "%s/lane%d/result", work, l);
        f = fopen(log, "r");
        if (!f || fscanf(f, "%d %d", &n, &bad) != 2) {
            fprintf(stderr, "crashstates: lane %d did not finish\n", l);
            bad = 1;
        }
        if (f)
            fclose(f);
        checked += n;
        violations += bad;
    }
    int cuts = nops;
    clock_gettime(CLOCK_MONOTONIC, &t2);
    printf("crashstates: ops %d cuts %d candidates %d distinct %d checked %d violations %d\n", nops,
           cuts, nstates, ndistinct, checked, violations);
    printf("crashstates: states built in %.1f s, checked in %.1f s (%d lanes%s)\n",
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
           (double)(t2.tv_sec - t1.tv_sec) + (double)(t2.tv_nsec - t1.tv_nsec) / 1e9, lanes,
           serve ? ", one checker per lane" : "");
    free(kids);
    free(order);
    free(distinct);
    return violations ? 1 : 0;
}
