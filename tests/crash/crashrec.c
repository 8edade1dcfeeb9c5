/*
 * crashrec.c - records the file-system operations a process makes under one
 * directory, for the crash-state tests (tests/crash/). Loaded with LD_PRELOAD
 * only by tests/crash/crashstates.c; nothing in the agent or posfleetd links it.
 *
 *   PF_CRASHREC_ROOT   absolute directory whose files are recorded
 *   PF_CRASHREC_TRACE  trace file the records are appended to (crashrec.h)
 *
 * It wraps the libc entry points the agent, its boot tools and SQLite call
 * (open, write, pwrite, writev, ftruncate, fsync, fdatasync, rename, unlink,
 * mkdir, rmdir, sync, dup, close): the real call runs under one lock and, if it
 * succeeded on a file below the root, its record (with the bytes written) is
 * appended. stdio's own writes do not come through these symbols, so a stream
 * opened for writing with fopen() below the root is opened through them
 * instead, as a fopencookie() stream (below); one that cannot be (too many
 * at once) is recorded as CR_UNTRACKED, and the generator refuses the trace.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "crashrec.h"

#define CR_MAXFD 4096

static pthread_mutex_t cr_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static char cr_root[PATH_MAX];
static size_t cr_rootlen;
static int cr_trace = -1;
static bool cr_ready;
static bool cr_tracked[CR_MAXFD];

static void cr_init(void)
{
    const char *root, *trace;

    if (cr_ready)
        return;
    cr_ready = true;
    root = getenv("PF_CRASHREC_ROOT");
    trace = getenv("PF_CRASHREC_TRACE");
    if (!root || !trace || root[0] != '/' || strlen(root) >= sizeof(cr_root))
        return;
    snprintf(cr_root, sizeof(cr_root), "%s", root);
    cr_rootlen = strlen(cr_root);
    while (cr_rootlen > 1 && cr_root[cr_rootlen - 1] == '/')
        cr_root[--cr_rootlen] = '\0';
    cr_trace = (int)syscall(SYS_openat, AT_FDCWD, trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                            0600);
}

/* Absolute form of (dirfd, path) without following links; false if too long. */
static bool cr_abs(int dirfd, const char *path, char *out, size_t len)
{
    char base[PATH_MAX];
    ssize_t n;

    if (!path)
        return false;
    if (path[0] == '/')
        return (size_t)snprintf(out, len, "%s", path) < len;
    if (dirfd == AT_FDCWD) {
        if (!getcwd(base, sizeof(base)))
            return false;
    } else {
        char link[64];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
        n = readlink(link, base, sizeof(base) - 1);
        if (n < 0)
            return false;
        base[n] = '\0';
    }
    return (size_t)snprintf(out, len, "%s/%s", base, path) < len;
}

static bool cr_below(const char *abs)
{
    return cr_trace >= 0 && strncmp(abs, cr_root, cr_rootlen) == 0 &&
           (abs[cr_rootlen] == '/' || abs[cr_rootlen] == '\0');
}

static bool cr_fd_tracked(int fd)
{
    return cr_trace >= 0 && fd >= 0 && fd < CR_MAXFD && cr_tracked[fd];
}

static void cr_emit(uint32_t op, int fd, int fd2, int flags, uint64_t off, uint64_t len,
                    const char *p1, const char *p2, const struct iovec *iov, int iovcnt)
{
    struct crashrec_hdr h;
    struct iovec v[64];
    int n = 0;

    memset(&h, 0, sizeof(h));
    h.magic = CRASHREC_MAGIC;
    h.op = op;
    h.pid = (int32_t)getpid();
    h.fd = fd;
    h.fd2 = fd2;
    h.flags = flags;
    h.off = off;
    h.len = len;
    h.plen1 = p1 ? (uint32_t)strlen(p1) : 0;
    h.plen2 = p2 ? (uint32_t)strlen(p2) : 0;
    v[n].iov_base = &h;
    v[n++].iov_len = sizeof(h);
    if (p1) {
        v[n].iov_base = (void *)p1;
        v[n++].iov_len = h.plen1;
    }
    if (p2) {
        v[n].iov_base = (void *)p2;
        v[n++].iov_len = h.plen2;
    }
    for (int i = 0; i < iovcnt && n < 64; i++)
        v[n++] = iov[i];
    /* One record per system call: with O_APPEND no other process interleaves it. */
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += v[i].iov_len;
    if (syscall(SYS_writev, cr_trace, v, n) != (long)total)
        abort(); /* a lost record would make every state built from the trace wrong */
}

#define CR_REAL(name) ((__typeof__(&name))cr_real(#name))

static void *cr_real(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);

    if (!f)
        abort();
    return f;
}

/* ---- open, close, dup ---------------------------------------------------------- */

static int cr_open_common(int dirfd, const char *path, int flags, mode_t mode, bool at,
                          int (*real_open)(const char *, int, ...),
                          int (*real_openat)(int, const char *, int, ...))
{
    char abs[PATH_MAX];
    struct stat st;
    bool existed = true, track;
    int fd;

    pthread_mutex_lock(&cr_lock);
    cr_init();
    track = cr_abs(at ? dirfd : AT_FDCWD, path, abs, sizeof(abs)) && cr_below(abs);
    if (track && (flags & O_CREAT))
        existed =
                syscall(SYS_newfstatat, at ? dirfd : AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
    fd = at ? real_openat(dirfd, path, flags, mode) : real_open(path, flags, mode);
    if (fd >= 0 && fd < CR_MAXFD) {
        cr_tracked[fd] = track;
        if (track)
            cr_emit(CR_OPEN, fd, -1, flags, 0, !existed, abs, NULL, NULL, 0);
    }
    pthread_mutex_unlock(&cr_lock);
    return fd;
}

static mode_t cr_mode(int flags, va_list ap)
{
    return (flags & (O_CREAT | __O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    va_start(ap, flags);
    mode = cr_mode(flags, ap);
    va_end(ap);
    return cr_open_common(AT_FDCWD, path, flags, mode, false, CR_REAL(open), NULL);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    va_start(ap, flags);
    mode = cr_mode(flags, ap);
    va_end(ap);
    return cr_open_common(AT_FDCWD, path, flags, mode, false, CR_REAL(open64), NULL);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    va_start(ap, flags);
    mode = cr_mode(flags, ap);
    va_end(ap);
    return cr_open_common(dirfd, path, flags, mode, true, NULL, CR_REAL(openat));
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    va_start(ap, flags);
    mode = cr_mode(flags, ap);
    va_end(ap);
    return cr_open_common(dirfd, path, flags, mode, true, NULL, CR_REAL(openat64));
}

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
    return open(path, flags);
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
    return open64(path, flags);
}

int creat(const char *path, mode_t mode)
{
    return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int creat64(const char *path, mode_t mode)
{
    return open64(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int close(int fd)
{
    int rc;

    pthread_mutex_lock(&cr_lock);
    cr_init();
    rc = CR_REAL(close)(fd);
    if (rc == 0 && cr_fd_tracked(fd)) {
        cr_tracked[fd] = false;
        cr_emit(CR_CLOSE, fd, -1, 0, 0, 0, NULL, NULL, NULL, 0);
    }
    pthread_mutex_unlock(&cr_lock);
    return rc;
}

static int cr_dup_record(int fd, int nfd)
{
    if (nfd >= 0 && nfd < CR_MAXFD) {
        cr_tracked[nfd] = cr_fd_tracked(fd);
        if (cr_tracked[nfd])
            cr_emit(CR_DUP, fd, nfd, 0, 0, 0, NULL, NULL, NULL, 0);
    }
    return nfd;
}

int dup(int fd)
{
    int nfd;

    pthread_mutex_lock(&cr_lock);
    cr_init();
    nfd = cr_dup_record(fd, CR_REAL(dup)(fd));
    pthread_mutex_unlock(&cr_lock);
    return nfd;
}

int dup2(int fd, int nfd)
{
    int rc;

    pthread_mutex_lock(&cr_lock);
    cr_init();
    if (cr_fd_tracked(nfd) && nfd != fd)
        cr_emit(CR_CLOSE, nfd, -1, 0, 0, 0, NULL, NULL, NULL, 0);
    rc = cr_dup_record(fd, CR_REAL(dup2)(fd, nfd));
    pthread_mutex_unlock(&cr_lock);
    return rc;
}

/* ---- data -------------------------------------------------------------------------- */

/* Where a write() through fd lands: the end for O_APPEND, else the file offset. */
static uint64_t cr_pos(int fd)
{
    int fl = (int)syscall(SYS_fcntl, fd, F_GETFL);
    struct stat st;

    if (fl >= 0 && (fl & O_APPEND) && syscall(SYS_fstat, fd, &st) == 0)
        return (uint64_t)st.st_size;
    return (uint64_t)syscall(SYS_lseek, fd, 0, SEEK_CUR);
}

static ssize_t cr_write_common(int fd, const struct iovec *iov, int iovcnt, int64_t off)
{
    ssize_t n;
    uint64_t at = 0;
    bool track;

    pthread_mutex_lock(&cr_lock);
    cr_init();
    track = cr_fd_tracked(fd);
    if (track && off < 0)
        at = cr_pos(fd);
    if (off < 0)
        n = CR_REAL(writev)(fd, iov, iovcnt);
    else
        n = CR_REAL(pwritev)(fd, iov, iovcnt, (off_t)off);
    if (track && n > 0) {
        /* Only the bytes that went out: trim the vector to n. */
        struct iovec v[64];
        size_t left = (size_t)n;
        int k = 0;
        for (int i = 0; i < iovcnt && left > 0 && k < 64; i++) {
            v[k] = iov[i];
            if (v[k].iov_len > left)
                v[k].iov_len = left;
            left -= v[k].iov_len;
            k++;
        }
        cr_emit(CR_WRITE, fd, -1, 0, off < 0 ? at : (uint64_t)off, (uint64_t)n, NULL, NULL, v, k);
    }
    pthread_mutex_unlock(&cr_lock);
    return n;
}

ssize_t write(int fd, const void *buf, size_t len)
{
    struct iovec v = {(void *)buf, len};

    return cr_write_common(fd, &v, 1, -1);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
    struct iovec v = {(void *)buf, len};

    return cr_write_common(fd, &v, 1, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
    struct iovec v = {(void *)buf, len};

    return cr_write_common(fd, &v, 1, off);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    return cr_write_common(fd, iov, iovcnt, -1);
}

ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
    return cr_write_common(fd, iov, iovcnt, off);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
    return cr_write_common(fd, iov, iovcnt, off);
}

static int cr_ftruncate_common(int fd, off_t len)
{
    int rc;

    pthread_mutex_lock(&cr_lock);
    cr_init();
    rc = (int)syscall(SYS_ftruncate, fd, len);
    if (rc == 0 && cr_fd_tracked(fd))
        cr_emit(CR_TRUNC, fd, -1, 0, (uint64_t)len, 0, NULL, NULL, NULL, 0);
    pthread_mutex_unlock(&cr_lock);
    return rc;
}

int ftruncate(int fd, off_t len)
{
    return cr_ftruncate_common(fd, len);
}

int ftruncate64(int fd, off_t len)
{
    return cr_ftruncate_common(fd, len);
}

int truncate(const char *path, off_t len)
{
    char abs[PATH_MAX];
    int rc;

    pthread_mutex_lock(&cr_lock);
    cr_init();
    rc = (int)syscall(SYS_truncate, path, len);
    if (rc == 0 && cr_abs(AT_FDCWD, path, abs, sizeof(abs)) && cr_below(abs))
        cr_emit(CR_TRUNCP, -1, -1, 0, (uint64_t)len, 0, abs, NULL, NULL, 0);
    pthread_mutex_unlock(&cr_lock);
    return rc;
}

static int cr_sync_common(int fd, int data)
{
    int rc;

    pthread_mutex_lock(&cr_lock);
    cr_init();
    rc = (int)syscall(data ? SYS_fdatasync : SYS_fsync, fd);
    if (rc == 0 && cr_fd_tracked(fd))
        cr_emit(CR_FSYNC, fd, -1, data, 0, 0, NULL, NULL, NULL, 0);
    pthread_mutex_unlock(&cr_lock);
    return rc;
}

int fsync(int fd)
{
    return cr_sync_common(fd, 0);
}

int fdatasync(int fd)
{
    return cr_sync_common(fd, 1);
}

void sync(void)
{
    pthread_mutex_lock(&cr_lock);
    cr_init();
    syscall(SYS_sync);
    if (cr_trace >= 0)
        cr_emit(CR_SYNC, -1, -1, 0, 0, 0, NULL, NULL, NULL, 0);
    pthread_mutex_unlock(&cr_lock);
}

int syncfs(int fd)
{
    int rc;

    pthread_mutex_lock(&cr_lock);
    cr_init();
    rc = (int)syscall(SYS_syncfs, fd);
    if (rc == 0 && cr_trace >= 0)
        cr_emit(CR_SYNC, -1, -1, 0, 0, 0, NULL, NULL, NULL, 0);
    pthread_mutex_unlock(&cr_lock);
    return rc;
}

/* ---- names ------------------------------------------------------------------------- */

static int cr_path_op(uint32_t op, int dirfd, const char *path, long rc)
{
    char abs[PATH_MAX];

    if (rc == 0 && cr_abs(dirfd, path, abs, sizeof(abs)) && cr_below(abs))
        cr_emit(op, -1, -1, 0, 0, 0, abs, NULL, NULL, 0);
    pthread_mutex_unlock(&cr_lock);
    return (int)rc;
}

int unlink(const char *path)
{
    pthread_mutex_lock(&cr_lock);
    cr_init();
    return cr_path_op(CR_UNLINK, AT_FDCWD, path, syscall(SYS_unlinkat, AT_FDCWD, path, 0));
}

int unlinkat(int dirfd, const char *path, int flags)
{
    pthread_mutex_lock(&cr_lock);
    cr_init();
    return cr_path_op((flags & AT_REMOVEDIR) ? CR_RMDIR : CR_UNLINK, dirfd, path,
                      syscall(SYS_unlinkat, dirfd, path, flags));
}

int rmdir(const char *path)
{
    pthread_mutex_lock(&cr_lock);
    cr_init();
    return cr_path_op(CR_RMDIR, AT_FDCWD, path,
                      syscall(SYS_unlinkat, AT_FDCWD, path, AT_REMOVEDIR));
}

int mkdir(const char *path, mode_t mode)
{
    pthread_mutex_lock(&cr_lock);
    cr_init();
    return cr_path_op(CR_MKDIR, AT_FDCWD, path, syscall(SYS_mkdirat, AT_FDCWD, path, mode));
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
    pthread_mutex_lock(&cr_lock);
    cr_init();
    return cr_path_op(CR_MKDIR, dirfd, path, syscall(SYS_mkdirat, dirfd, path, mode));
}

static int cr_rename_common(int ofd, const char *from, int nfd, const char *to, unsigned flags)
{
    char a[PATH_MAX], b[PATH_MAX];
    long rc;

    pthread_mutex_lock(&cr_lock);
    cr_init();
    rc = syscall(SYS_renameat2, ofd, from, nfd, to, flags);
    if (rc == 0 && cr_abs(ofd, from, a, sizeof(a)) && cr_abs(nfd, to, b, sizeof(b)) &&
        (cr_below(a) || cr_below(b)))
        cr_emit(CR_RENAME, -1, -1, (int)flags, 0, 0, a, b, NULL, 0);
    pthread_mutex_unlock(&cr_lock);
    return (int)rc;
}

int rename(const char *from, const char *to)
{
    return cr_rename_common(AT_FDCWD, from, AT_FDCWD, to, 0);
}

int renameat(int ofd, const char *from, int nfd, const char *to)
{
    return cr_rename_common(ofd, from, nfd, to, 0);
}

int renameat2(int ofd, const char *from, int nfd, const char *to, unsigned flags)
{
    return cr_rename_common(ofd, from, nfd, to, flags);
}

/* ---- streams ------------------------------------------------------------------------ */

/*
 * A stream opened for writing below the root (grub-editenv writes its block
 * with fopen/fwrite/fsync(fileno)) is opened here with open() and handed back
 * as a fopencookie() stream whose reads, writes, seeks and close go through
 * the wrappers above, so its writes are recorded like any other; fileno()
 * answers the real descriptor, so an fsync of it is recorded too.
 */
#define CR_MAXSTREAMS 64

static struct {
    FILE *f;
    int fd;
} cr_streams[CR_MAXSTREAMS];

static ssize_t cr_cookie_read(void *c, char *buf, size_t n)
{
    return read(*(int *)c, buf, n);
}

static ssize_t cr_cookie_write(void *c, const char *buf, size_t n)
{
    ssize_t w = write(*(int *)c, buf, n);
    return w < 0 ? 0 : w; /* stdio reads 0 as an error */
}

static int cr_cookie_seek(void *c, off64_t *off, int whence)
{
    off64_t r = lseek64(*(int *)c, *off, whence);
    if (r < 0)
        return -1;
    *off = r;
    return 0;
}

static int cr_cookie_close(void *c)
{
    int fd = *(int *)c, rc;

    pthread_mutex_lock(&cr_lock);
    for (int i = 0; i < CR_MAXSTREAMS; i++) {
        if (cr_streams[i].f && cr_streams[i].fd == fd) {
            cr_streams[i].f = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&cr_lock);
    free(c);
    rc = close(fd);
    return rc;
}

/* open(2) flags of an fopen mode; -1 for a mode that only reads. */
static int cr_mode_flags(const char *mode)
{
    int flags;

    switch (mode[0]) {
    case 'w':
        flags = O_CREAT | O_TRUNC;
        break;
    case 'a':
        flags = O_CREAT | O_APPEND;
        break;
    case 'r':
        flags = 0;
        break;
    default:
        return -1;
    }
    if (strchr(mode, '+'))
        flags |= O_RDWR;
    else if (mode[0] == 'r')
        return -1;
    else
        flags |= O_WRONLY;
    if (strchr(mode, 'x'))
        flags |= O_EXCL;
    if (strchr(mode, 'e'))
        flags |= O_CLOEXEC;
    return flags;
}

static FILE *cr_fopen_common(const char *path, const char *mode,
                             FILE *(*real)(const char *, const char *))
{
    static const cookie_io_functions_t io = {cr_cookie_read, cr_cookie_write, cr_cookie_seek,
                                             cr_cookie_close};
    char abs[PATH_MAX];
    FILE *f = NULL;
    int flags = cr_mode_flags(mode), slot = -1, *c;

    pthread_mutex_lock(&cr_lock);
    cr_init();
    if (flags < 0 || !cr_abs(AT_FDCWD, path, abs, sizeof(abs)) || !cr_below(abs)) {
        f = real(path, mode);
        goto out;
    }
    for (int i = 0; i < CR_MAXSTREAMS && slot < 0; i++)
        slot = cr_streams[i].f ? -1 : i;
    if (slot < 0) { /* cannot follow it: the generator refuses the trace */
        f = real(path, mode);
        if (f)
            cr_emit(CR_UNTRACKED, -1, -1, 0, 0, 0, abs, NULL, NULL, 0);
        goto out;
    }
    c = malloc(sizeof(*c));
    if (!c)
        goto out;
    *c = open(path, flags, 0666);
    if (*c < 0) {
        free(c);
        goto out;
    }
    f = fopencookie(c, mode, io);
    if (!f) {
        close(*c);
        free(c);
        goto out;
    }
    cr_streams[slot].f = f;
    cr_streams[slot].fd = *c;
out:
    pthread_mutex_unlock(&cr_lock);
    return f;
}

static int cr_fileno_common(FILE *f, int (*real)(FILE *))
{
    int fd = -2;

    pthread_mutex_lock(&cr_lock);
    for (int i = 0; i < CR_MAXSTREAMS && fd == -2; i++) {
        if (f && cr_streams[i].f == f)
            fd = cr_streams[i].fd;
    }
    pthread_mutex_unlock(&cr_lock);
    return fd != -2 ? fd : real(f);
}

int fileno(FILE *f)
{
    return cr_fileno_common(f, CR_REAL(fileno));
}

int fileno_unlocked(FILE *f)
{
    return cr_fileno_common(f, CR_REAL(fileno_unlocked));
}

FILE *fopen(const char *path, const char *mode)
{
    return cr_fopen_common(path, mode, CR_REAL(fopen));
}

FILE *fopen64(const char *path, const char *mode)
{
    return cr_fopen_common(path, mode, CR_REAL(fopen64));
}
