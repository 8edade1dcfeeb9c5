/*
 * smoke_main.c - a libFuzzer-free driver for the fuzz targets, built with the
 * normal compiler so the test suite runs every target briefly:
 *
 *   fuzz_smoke_NAME [-n ITERATIONS] [-s SEED] [-w DIR] [FILE...]
 *
 * It feeds the built-in seeds and any FILEs, then ITERATIONS deterministic
 * mutations of them (bit flips, byte writes, inserts, deletes, duplications,
 * truncations, splices). -w DIR writes the seeds as files, the starting corpus
 * for the long libFuzzer run (see docs/bundle-format.md, "Fuzzing").
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "pf/fileio.h"

#define SMOKE_MAX_SEEDS 64
#define SMOKE_MAX_LEN   (1u << 20)

struct corpus {
    size_t n;
    unsigned char *buf[SMOKE_MAX_SEEDS];
    size_t len[SMOKE_MAX_SEEDS];
};

static void smoke_add(const void *buf, size_t len, void *ctx)
{
    struct corpus *c = ctx;

    if (c->n == SMOKE_MAX_SEEDS || len > SMOKE_MAX_LEN)
        return;
    c->buf[c->n] = malloc(len ? len : 1);
    if (!c->buf[c->n])
        abort();
    memcpy(c->buf[c->n], buf, len);
    c->len[c->n++] = len;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* One mutation of src into dst (capacity SMOKE_MAX_LEN * 2); returns the new length. */
static size_t mutate(const struct corpus *c, const unsigned char *src, size_t len,
                     unsigned char *dst, uint64_t *rng)
{
    size_t n = len, pos, k;

    memcpy(dst, src, len);
    for (int rounds = 1 + (int)(rng_next(rng) % 4); rounds > 0; rounds--) {
        pos = n ? rng_next(rng) % n : 0;
        switch (rng_next(rng) % 8) {
        case 0:
        case 1:
            if (n)
                dst[pos] ^= (unsigned char)(1u << (rng_next(rng) % 8));
            break;
        case 2:
            if (n)
                dst[pos] = (unsigned char)rng_next(rng);
            break;
        case 3: /* insert a few bytes */
            k = 1 + rng_next(rng) % 8;
            if (n + k <= SMOKE_MAX_LEN) {
                memmove(dst + pos + k, dst + pos, n - pos);
                for (size_t i = 0; i < k; i++)
                    dst[pos + i] = (unsigned char)rng_next(rng);
                n += k;
            }
            break;
        case 4: /* delete a range */
            k = n - pos ? 1 + rng_next(rng) % (n - pos) % 64 : 0;
            memmove(dst + pos, dst + pos + k, n - pos - k);
            n -= k;
            break;
        case 5: /* duplicate a range */
            k = n - pos ? 1 + rng_next(rng) % (n - pos) % 512 : 0;
            if (n + k <= SMOKE_MAX_LEN) {
                memmove(dst + pos + k, dst + pos, n - pos);
                n += k;
            }
            break;
        case 6: /* truncate */
            n = pos;
            break;
        case 7: { /* splice with another seed */
            const struct corpus *cc = c;
            size_t j = rng_next(rng) % cc->n, from = cc->len[j] ? rng_next(rng) % cc->len[j] : 0;
            k = cc->len[j] - from;
            if (pos + k <= SMOKE_MAX_LEN) {
                memcpy(dst + pos, cc->buf[j] + from, k);
                n = pos + k;
            }
            break;
        }
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    struct corpus c = {0};
    unsigned long iterations = 2000;
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    const char *write_dir = NULL;
    unsigned char *buf;
    int i;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            iterations = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-s") && i + 1 < argc)
            rng = strtoull(argv[++i], NULL, 10) | 1;
        else if (!strcmp(argv[i], "-w") && i + 1 < argc)
            write_dir = argv[++i];
        else
            break;
    }
    fuzz_seeds(smoke_add, &c);
    for (; i < argc; i++) {
        char *data;
        size_t len;
        if (pf_file_read(argv[i], SMOKE_MAX_LEN, &data, &len) == 0) {
            smoke_add(data, len, &c);
            free(data);
        }
    }
    if (write_dir) {
        if (pf_mkdir_p(write_dir, 0755) != 0)
            return 1;
        for (size_t j = 0; j < c.n; j++) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/seed-%02zu", write_dir, j);
            if (pf_file_write_atomic(path, c.buf[j], c.len[j], 0644) != 0)
                return 1;
        }
        printf("%zu seeds written to %s\n", c.n, write_dir);
        for (size_t j = 0; j < c.n; j++)
            free(c.buf[j]);
        return 0;
    }
    if (c.n == 0)
        return 1;
    for (size_t j = 0; j < c.n; j++)
        LLVMFuzzerTestOneInput(c.buf[j], c.len[j]);
    buf = malloc(SMOKE_MAX_LEN * 2);
    if (!buf)
        return 1;
    for (unsigned long it = 0; it < iterations; it++) {
        size_t j = rng_next(&rng) % c.n;
        size_t n = mutate(&c, c.buf[j], c.len[j], buf, &rng);
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("%zu seeds, %lu mutations: no crash\n", c.n, iterations);
    free(buf);
    for (size_t j = 0; j < c.n; j++)
        free(c.buf[j]);
    return 0;
}
