/*
 * store_backup.c - store_backup.h for SQLite: the online backup API.
 *
 * The copy is made through a second, read-only connection of its own, on
 * the thread that runs it, in one sqlite3_backup_step(-1): one read
 * transaction, so the copy is the snapshot of the instant it began. Under
 * WAL a reader never blocks the loop's writer (nor the writer the reader),
 * so ingest goes on at full speed meanwhile. Copying in several smaller
 * steps instead would let each commit of the loop's connection (one every
 * store.batch_ms under load) restart the copy from its first page, and
 * under steady ingest it would never end. The copy is then turned into a
 * stand-alone rollback-journal database (no -wal or -shm beside it) and
 * checked with PRAGMA integrity_check before anyone is told it exists.
 */
#include "store/store_backup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/sqlite/store_sqlite_internal.h"

/* Times a copy is retried while the source answers busy (a checkpoint
 * holding its lock), 50 ms apart. */
#define BACKUP_BUSY_TRIES 200

struct pfs_sqlite_backup {
    struct pfs_store_backup base; /* first: the generic handle (store_ops.h) */
    char src[PATH_MAX];
    char dest[PATH_MAX];
};

int pfs_sqlite_backup_new(struct pfs_sqlite *st, const char *dest, struct pfs_sqlite_backup **out,
                          struct pf_error *err)
{
    const char *src = sqlite3_db_filename(pfs_store_sqlite_db(st), "main");
    struct pfs_sqlite_backup *b;

    *out = NULL;
    if (!src || !*src)
        return pf_error_set(err, PF_EINVAL, "backup: the store is not a file");
    if (strlen(src) >= PATH_MAX || strlen(dest) >= PATH_MAX)
        return pf_error_set(err, PF_ETOOBIG, "backup: path too long");
    if (access(dest, F_OK) == 0)
        return pf_error_set(err, PF_EEXIST, "backup: %s exists", dest);
    b = calloc(1, sizeof(*b));
    if (!b)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    snprintf(b->src, sizeof(b->src), "%s", src);
    snprintf(b->dest, sizeof(b->dest), "%s", dest);
    *out = b;
    return 0;
}

void pfs_sqlite_backup_free(struct pfs_sqlite_backup *b)
{
    free(b);
}

/* Copies src into the (empty) database dst. */
static int backup__copy(sqlite3 *src, sqlite3 *dst, struct pf_error *err)
{
    sqlite3_backup *bk = sqlite3_backup_init(dst, "main", src, "main");
    int rc, tries = 0;

    if (!bk)
        return pfs_sqlite_fail(dst, err, "backup");
    do {
        rc = sqlite3_backup_step(bk, -1);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(50);
    } while ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++tries < BACKUP_BUSY_TRIES);
    if (sqlite3_backup_finish(bk) != SQLITE_OK && rc == SQLITE_DONE)
        rc = SQLITE_ERROR;
    if (rc != SQLITE_DONE)
        return pf_error_set(err, PF_EIO, "backup: copy: %s", sqlite3_errstr(rc));
    return 0;
}

/* PRAGMA integrity_check must answer exactly one row, "ok". */
static int backup__verify(sqlite3 *db, int *schema, struct pf_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc = 0, step;

    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) != SQLITE_OK)
        return pfs_sqlite_fail(db, err, "backup: integrity_check");
    step = sqlite3_step(s);
    if (step != SQLITE_ROW) {
        rc = pfs_sqlite_fail(db, err, "backup: integrity_check");
        goto out_finalize;
    }
    if (strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0) {
        rc = pf_error_set(err, PF_EIO, "backup: integrity_check: %.200s",
                          (const char *)sqlite3_column_text(s, 0));
        goto out_finalize;
    }
    sqlite3_finalize(s);
    s = NULL;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1, &s,
                           NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        rc = pfs_sqlite_fail(db, err, "backup: schema version");
        goto out_finalize;
    }
    *schema = sqlite3_column_int(s, 0);

out_finalize:
    sqlite3_finalize(s);
    return rc;
}

/* The copy on disk before it is reported: fsync the file. */
static int backup__sync(const char *path, uint64_t *bytes, struct pf_error *err)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

    if (fd < 0)
        return pf_error_set(err, PF_EIO, "backup: %s: %s", path, strerror(errno));
    if (fsync(fd) != 0 || fstat(fd, &sb) != 0)
        rc = pf_error_set(err, PF_EIO, "backup: %s: %s", path, strerror(errno));
    else
        *bytes = (uint64_t)sb.st_size;
    close(fd);
    return rc;
}

int pfs_sqlite_backup_run(struct pfs_sqlite_backup *b, struct pfs_store_backup_info *info,
                          struct pf_error *err)
{
    sqlite3 *src = NULL, *dst = NULL;
    char journal[PATH_MAX + 16];
    int fd, rc;

    memset(info, 0, sizeof(*info));
    /* Created here, exclusively and private: the copy holds the audit log. */
    fd = open(b->dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return pf_error_set(err, errno == EEXIST ? PF_EEXIST : PF_EIO, "backup: %s: %s", b->dest,
                            strerror(errno));
    close(fd);
    if (sqlite3_open_v2(b->src, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = pf_error_set(err, PF_EIO, "backup: %s: %s", b->src,
                          src ? sqlite3_errmsg(src) : "cannot open");
        goto out_close;
    }
    sqlite3_busy_timeout(src, 5000);
    if (sqlite3_open_v2(b->dest, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = pf_error_set(err, PF_EIO, "backup: %s: %s", b->dest,
                          dst ? sqlite3_errmsg(dst) : "cannot open");
        goto out_close;
    }
    rc = backup__copy(src, dst, err);
    if (rc)
        goto out_close;
    sqlite3_close(src);
    src = NULL;
    /* The source is WAL and so is its copy's header: make the copy one file. */
    rc = pfs_sqlite_exec(dst, "PRAGMA journal_mode=DELETE", err);
    if (!rc)
        rc = backup__verify(dst, &info->schema_version, err);
    if (rc)
        goto out_close;
    if (sqlite3_close(dst) != SQLITE_OK) {
        rc = pf_error_set(err, PF_EIO, "backup: %s: close failed", b->dest);
        dst = NULL;
        goto out_close;
    }
    dst = NULL;
    rc = backup__sync(b->dest, &info->bytes, err);

out_close:
    sqlite3_close(src);
    sqlite3_close(dst);
    if (rc) {
        unlink(b->dest);
        snprintf(journal, sizeof(journal), "%s-journal", b->dest);
        unlink(journal);
    }
    return rc;
}
