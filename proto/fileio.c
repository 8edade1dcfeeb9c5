/*
 * fileio.c - atomic replace, bounded whole-file reads, directory fsync.
 */
#include "pf/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fileio__errno(int e)
{
    switch (e) {
    case ENOENT:
        return PF_ENOENT;
    case ENOSPC:
    case EDQUOT:
        return PF_ENOSPACE;
    case EACCES:
    case EPERM:
    case EROFS:
        return PF_EPERM;
    case ENOMEM:
        return PF_ENOMEM;
    default:
        return PF_EIO;
    }
}

int pf_fsync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    const char *slash;
    struct stat st;
    int fd, rc = 0;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
            return PF_ETOOBIG;
    } else {
        slash = strrchr(path, '/');
        if (!slash) {
            dir[0] = '.';
            dir[1] = '\0';
        } else if (slash == path) {
            dir[0] = '/';
            dir[1] = '\0';
        } else {
            size_t n = (size_t)(slash - path);
            if (n >= sizeof(dir))
                return PF_ETOOBIG;
            memcpy(dir, path, n);
            dir[n] = '\0';
        }
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fileio__errno(errno);
    if (fsync(fd) < 0)
        rc = fileio__errno(errno);
    close(fd);
    return rc;
}

int pf_file_write_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
    char tmp[PATH_MAX];
    const char *p = buf;
    int fd, rc;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return PF_ETOOBIG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return fileio__errno(errno);
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = fileio__errno(errno);
            goto out_unlink;
        }
        p += w;
        len -= (size_t)w;
    }
    if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
        rc = fileio__errno(errno);
        goto out_unlink;
    }
    if (close(fd) < 0) {
        fd = -1;
        rc = fileio__errno(errno);
        goto out_unlink;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        rc = fileio__errno(errno);
        goto out_unlink;
    }
    return pf_fsync_dir_of(path);

out_unlink:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

int pf_file_read(const char *path, size_t max, char **out, size_t *len)
{
    struct stat st;
    char *buf;
    size_t got = 0;
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fileio__errno(errno);
    if (fstat(fd, &st) < 0) {
        rc = fileio__errno(errno);
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = PF_EINVAL;
        goto out_close;
    }
    if ((size_t)st.st_size > max) {
        rc = PF_ETOOBIG;
        goto out_close;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = PF_ENOMEM;
        goto out_close;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    rc = 0;
out_close:
    close(fd);
    return rc;
}

int pf_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(buf))
        return PF_EINVAL;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return fileio__errno(errno);
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return fileio__errno(errno);
    return 0;
}
