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

/*
 * Path buffers live on the heap here, not in PATH_MAX arrays on the stack: these calls
 * sit at the bottom of the agent's deepest call chains, and every stack page a terminal
 * ever touches stays resident for its whole life.
 */
int pf_fsync_dir_of(const char *path)
{
    const char *slash;
    struct stat st;
    char *dir;
    int fd, rc = 0;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        dir = strdup(path);
    } else {
        slash = strrchr(path, '/');
        if (!slash)
            dir = strdup(".");
        else if (slash == path)
            dir = strdup("/");
        else
            dir = strndup(path, (size_t)(slash - path));
    }
    if (!dir)
        return PF_ENOMEM;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return fileio__errno(errno);
    if (fsync(fd) < 0)
        rc = fileio__errno(errno);
    close(fd);
    return rc;
}

int pf_file_write_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
    size_t tlen = strlen(path) + 32;
    char *tmp = malloc(tlen);
    const char *p = buf;
    int fd, rc;

    if (!tmp)
        return PF_ENOMEM;
    if (strlen(path) >= PATH_MAX) {
        rc = PF_ETOOBIG;
        goto out_free;
    }
    snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        rc = fileio__errno(errno);
        goto out_free;
    }
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
    free(tmp);
    return pf_fsync_dir_of(path);

out_unlink:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
out_free:
    free(tmp);
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

char *pf_path_join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    char *p;

    if (dl + nl + 2 > PATH_MAX || !(p = malloc(dl + nl + 2)))
        return NULL;
    memcpy(p, dir, dl);
    p[dl] = '/';
    memcpy(p + dl + 1, name, nl + 1);
    return p;
}

int pf_mkdir_p(const char *path, mode_t mode)
{
    size_t n = strlen(path);
    char *buf;
    int rc = 0;

    if (n == 0 || n >= PATH_MAX)
        return PF_EINVAL;
    buf = strdup(path);
    if (!buf)
        return PF_ENOMEM;
    for (char *p = buf + 1; *p && rc == 0; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            rc = fileio__errno(errno);
        *p = '/';
    }
    if (rc == 0 && mkdir(buf, mode) < 0 && errno != EEXIST)
        rc = fileio__errno(errno);
    free(buf);
    return rc;
}
