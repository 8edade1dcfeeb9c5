/*
 * queue.c - bounded, crash-safe, ordered report queue: a file per report.
 */
#include "pfa/queue.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pf/fileio.h"

#define QUEUE_SUFFIX   ".msg"
#define QUEUE_NAME_LEN 10 /* zero-padded decimal uint32 */
#define QUEUE_FILE_MAX 65536

struct pfa_queue {
    char *dir;
    size_t max;
    uint32_t *seqs; /* ascending; [0] is the oldest */
    size_t len, cap;
    unsigned dropped;
};

static int queue__path(const struct pfa_queue *q, uint32_t seq, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%010u" QUEUE_SUFFIX, q->dir, seq);

    return n < 0 || (size_t)n >= size ? PF_ETOOBIG : 0;
}

/* Parses "NNNNNNNNNN.msg"; anything else (temporaries included) is not a report. */
static bool queue__parse_name(const char *name, uint32_t *seq)
{
    uint64_t v = 0;

    if (strlen(name) != QUEUE_NAME_LEN + sizeof(QUEUE_SUFFIX) - 1 ||
        strcmp(name + QUEUE_NAME_LEN, QUEUE_SUFFIX) != 0)
        return false;
    for (int i = 0; i < QUEUE_NAME_LEN; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *seq = (uint32_t)v;
    return true;
}

static int queue__cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static int queue__reserve(struct pfa_queue *q, size_t n)
{
    uint32_t *p;
    size_t cap;

    if (n <= q->cap)
        return 0;
    cap = q->cap ? q->cap * 2 : 16;
    while (cap < n)
        cap *= 2;
    p = realloc(q->seqs, cap * sizeof(*p));
    if (!p)
        return PF_ENOMEM;
    q->seqs = p;
    q->cap = cap;
    return 0;
}

static size_t queue__find(const struct pfa_queue *q, uint32_t seq, bool *found)
{
    size_t lo = 0, hi = q->len;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (q->seqs[mid] < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < q->len && q->seqs[lo] == seq;
    return lo;
}

static int queue__unlink(const struct pfa_queue *q, uint32_t seq)
{
    char path[PATH_MAX];
    int rc = queue__path(q, seq, path, sizeof(path));

    if (rc != 0)
        return rc;
    if (unlink(path) < 0 && errno != ENOENT)
        return PF_EIO;
    return 0;
}

static int queue__load(struct pfa_queue *q, struct pf_error *err)
{
    char path[PATH_MAX];
    struct dirent *de;
    DIR *d = opendir(q->dir);
    int rc = 0;

    if (!d)
        return pf_error_set(err, PF_EIO, "queue %s: cannot open: %s", q->dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        uint32_t seq;
        if (de->d_name[0] == '.')
            continue;
        if (queue__parse_name(de->d_name, &seq)) {
            rc = queue__reserve(q, q->len + 1);
            if (rc != 0)
                break;
            q->seqs[q->len++] = seq;
        } else if (strstr(de->d_name, QUEUE_SUFFIX ".tmp.")) {
            /* A write torn by a crash: the report never made it into the queue. */
            if (snprintf(path, sizeof(path), "%s/%s", q->dir, de->d_name) < (int)sizeof(path))
                unlink(path);
        }
    }
    closedir(d);
    if (rc != 0)
        return pf_error_set(err, rc, "queue %s: %s", q->dir, pf_strerror(rc));
    if (q->len > 1)
        qsort(q->seqs, q->len, sizeof(*q->seqs), queue__cmp);
    /* A smaller queue_max than last run: keep the newest. */
    while (q->len > q->max) {
        rc = queue__unlink(q, q->seqs[0]);
        if (rc != 0)
            return pf_error_set(err, rc, "queue %s: %s", q->dir, pf_strerror(rc));
        memmove(q->seqs, q->seqs + 1, (q->len - 1) * sizeof(*q->seqs));
        q->len--;
        q->dropped++;
    }
    return 0;
}

int pfa_queue_open(const char *dir, size_t max, struct pfa_queue **out, struct pf_error *err)
{
    struct pfa_queue *q;
    int rc;

    if (!dir || max == 0)
        return pf_error_set(err, PF_EINVAL, "queue: bad arguments");
    rc = pf_mkdir_p(dir, 0700);
    if (rc != 0)
        return pf_error_set(err, rc, "queue %s: %s", dir, pf_strerror(rc));
    q = calloc(1, sizeof(*q));
    if (!q)
        return pf_error_set(err, PF_ENOMEM, "queue: out of memory");
    q->max = max;
    q->dir = strdup(dir);
    if (!q->dir) {
        rc = pf_error_set(err, PF_ENOMEM, "queue: out of memory");
        goto out_free;
    }
    rc = queue__load(q, err);
    if (rc != 0)
        goto out_free;
    *out = q;
    return 0;

out_free:
    pfa_queue_close(q);
    return rc;
}

void pfa_queue_close(struct pfa_queue *q)
{
    if (!q)
        return;
    free(q->seqs);
    free(q->dir);
    free(q);
}

int pfa_queue_push(struct pfa_queue *q, uint32_t seq, const void *buf, size_t len,
                   unsigned *dropped)
{
    char path[PATH_MAX];
    unsigned ndrop = 0;
    bool found;
    size_t pos;
    int rc;

    if (dropped)
        *dropped = 0;
    if (len > QUEUE_FILE_MAX)
        return PF_ETOOBIG;
    queue__find(q, seq, &found);
    if (found)
        return PF_EEXIST;
    rc = queue__reserve(q, q->len + 1);
    if (rc != 0)
        return rc;
    /* Make room first so the queue never holds more than max files. */
    while (q->len >= q->max) {
        rc = queue__unlink(q, q->seqs[0]);
        if (rc != 0)
            return rc;
        memmove(q->seqs, q->seqs + 1, (q->len - 1) * sizeof(*q->seqs));
        q->len--;
        ndrop++;
    }
    q->dropped += ndrop;
    if (dropped)
        *dropped = ndrop;
    rc = queue__path(q, seq, path, sizeof(path));
    if (rc == 0)
        rc = pf_file_write_atomic(path, buf, len, 0600);
    if (rc != 0)
        return rc;
    pos = queue__find(q, seq, &found);
    memmove(q->seqs + pos + 1, q->seqs + pos, (q->len - pos) * sizeof(*q->seqs));
    q->seqs[pos] = seq;
    q->len++;
    return 0;
}

size_t pfa_queue_len(const struct pfa_queue *q)
{
    return q->len;
}

int pfa_queue_seq_at(const struct pfa_queue *q, size_t i, uint32_t *seq)
{
    if (i >= q->len)
        return PF_ENOENT;
    *seq = q->seqs[i];
    return 0;
}

int pfa_queue_last_seq(const struct pfa_queue *q, uint32_t *seq)
{
    if (q->len == 0)
        return PF_ENOENT;
    *seq = q->seqs[q->len - 1];
    return 0;
}

int pfa_queue_read(const struct pfa_queue *q, uint32_t seq, char **buf, size_t *len)
{
    char path[PATH_MAX];
    bool found;
    int rc;

    queue__find(q, seq, &found);
    if (!found)
        return PF_ENOENT;
    rc = queue__path(q, seq, path, sizeof(path));
    if (rc != 0)
        return rc;
    return pf_file_read(path, QUEUE_FILE_MAX, buf, len);
}

int pfa_queue_remove(struct pfa_queue *q, uint32_t seq)
{
    bool found;
    size_t pos = queue__find(q, seq, &found);
    int rc;

    if (!found)
        return PF_ENOENT;
    rc = queue__unlink(q, seq);
    if (rc != 0)
        return rc;
    memmove(q->seqs + pos, q->seqs + pos + 1, (q->len - pos - 1) * sizeof(*q->seqs));
    q->len--;
    return 0;
}

unsigned pfa_queue_dropped(const struct pfa_queue *q)
{
    return q->dropped;
}
