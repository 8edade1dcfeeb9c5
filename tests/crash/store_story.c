/*
 * store_story.c - posfleetd's store through a story of acknowledged changes,
 * for the crash states of tests/crash/test_store_smoke.sh.
 *
 *   pf_store_story write DIR ROUNDS   runs ROUNDS rounds on DIR/posfleet.db with
 *                                     the real store code; after each change the
 *                                     store acknowledges (the call returned 0,
 *                                     what the API and the agent are then told)
 *                                     one line is appended to DIR/acks
 *   pf_store_story init DIR           creates DIR/posfleet.db (migrated), closed
 *   pf_store_story check DIR          reopens the store on a crash state and
 *                                     checks that every acknowledged change is
 *                                     there, with its audit row
 *
 * A round: an ingest batch of health reports (synchronous=NORMAL: the store
 * does not claim it survives a power cut, it must only be whole or absent), a
 * registry change (device.add), every second round a lifecycle change
 * (terminal tags), every third a terminal retired (lifecycle state and the
 * registry revocation in one transaction) - each of those administrative
 * changes FULL with its audit row (docs/server.md). The store is closed at the
 * end, which checkpoints the WAL into the database.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pf/num.h"
#include "store/store.h"
#include "store/store_lifecycle.h"

static const struct pfs_actor story_actor = {.name = "olga", .role = "ops"};

static int story_open(const char *dir, struct pfs_store **st, struct pf_error *err)
{
    char path[512];
    struct pfs_store_opts o = {.path = path};

    snprintf(path, sizeof(path), "%s/posfleet.db", dir);
    return pfs_store_open(&o, st, err);
}

static void story_ack(int fd, const char *line)
{
    size_t n = strlen(line);

    if (write(fd, line, n) != (ssize_t)n)
        exit(1);
}

static int story_health(struct pfs_store *st, int round)
{
    struct pf_health h;
    char serial[32];

    memset(&h, 0, sizeof(h));
    snprintf(serial, sizeof(serial), "T%04d", round - 1);
    h.seq = (uint32_t)round;
    h.ts_ms = 1000 + round;
    h.battery_pct = 50;
    if (round == 1 || pfs_store_health_put(st, serial, &h, 1000 + round, NULL) != 0)
        return 0; /* the first round has no terminal yet */
    return pfs_store_flush(st, 1000 + round, NULL);
}

static int story_write(const char *dir, int rounds)
{
    struct pfs_store *st = NULL;
    struct pf_error err = {0};
    char path[512], line[128];
    int fd, rc = 0;

    snprintf(path, sizeof(path), "%s/acks", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 || story_open(dir, &st, &err) != 0) {
        fprintf(stderr, "store_story: %s\n", err.msg);
        return 1;
    }
    for (int i = 1; i <= rounds && rc == 0; i++) {
        struct pfs_device d;
        char tags[64];

        memset(&d, 0, sizeof(d));
        snprintf(d.serial, sizeof(d.serial), "T%04d", i);
        snprintf(d.model, sizeof(d.model), "PX-200");
        rc = story_health(st, i);
        if (rc == 0 && (rc = pfs_store_device_add(st, &d, &story_actor, 1000 + i, &err)) == 0) {
            snprintf(line, sizeof(line), "add %s\n", d.serial);
            story_ack(fd, line);
        }
        if (rc == 0 && i % 2 == 0) {
            snprintf(tags, sizeof(tags), "[\"round-%d\"]", i);
            rc = pfs_store_term_tags(st, d.serial, tags, &story_actor, 1000 + i, &err);
            if (rc == 0) {
                snprintf(line, sizeof(line), "tags %s\n", d.serial);
                story_ack(fd, line);
            }
        }
        if (rc == 0 && i % 3 == 0) {
            rc = pfs_store_term_retire(st, d.serial, &story_actor, 1000 + i, &err);
            if (rc == 0) {
                snprintf(line, sizeof(line), "retire %s\n", d.serial);
                story_ack(fd, line);
            }
        }
    }
    if (rc)
        fprintf(stderr, "store_story: [%s] %s\n", pf_errname(rc), err.msg);
    pfs_store_close(st);
    close(fd);
    return rc ? 1 : 0;
}

static int story_count(void *ctx, const struct pfs_audit *a)
{
    (void)a;
    (*(int *)ctx)++;
    return 0;
}

static int story_check(const char *dir)
{
    struct pfs_store *st = NULL;
    struct pf_error err = {0};
    char path[512], line[128], cur[32] = "";
    int want = 0, bad = 0;
    FILE *f;

    if (story_open(dir, &st, &err) != 0) {
        printf("store does not open: %s\n", err.msg);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/acks", dir);
    f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        char what[16], serial[32];
        struct pfs_term t;

        if (sscanf(line, "%15s %31s", what, serial) != 2 || !strchr(line, '\n'))
            continue; /* a torn last line: its change was not acknowledged yet */
        if (strcmp(serial, cur) != 0)
            want = 0;
        snprintf(cur, sizeof(cur), "%s", serial);
        want++;
        if (pfs_store_term_get(st, serial, &t) != 0) {
            printf("acknowledged %s %s: terminal missing\n", what, serial);
            bad++;
            continue;
        }
        if (strcmp(what, "retire") == 0 && (!t.revoked || t.state != PFS_TERM_RETIRED)) {
            printf("acknowledged retire %s: not retired\n", serial);
            bad++;
        }
        int n = 0;
        if (pfs_store_audit_list(st, serial, 0, 100, story_count, &n) != 0 || n < want) {
            printf("acknowledged %s %s: %d audit rows, want %d\n", what, serial, n, want);
            bad++;
        }
    }
    if (f)
        fclose(f);
    pfs_store_close(st);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    uint64_t rounds;

    if (argc == 4 && strcmp(argv[1], "write") == 0 && pf_parse_u64(argv[3], 1, 9999, &rounds) == 0)
        return story_write(argv[2], (int)rounds);
    if (argc == 3 && strcmp(argv[1], "check") == 0)
        return story_check(argv[2]);
    if (argc == 3 && strcmp(argv[1], "init") == 0) {
        struct pfs_store *st = NULL;
        struct pf_error err = {0};
        if (story_open(argv[2], &st, &err) != 0) {
            fprintf(stderr, "store_story: %s\n", err.msg);
            return 1;
        }
        pfs_store_close(st);
        return 0;
    }
    fprintf(stderr, "usage: pf_store_story init DIR | write DIR ROUNDS | check DIR\n");
    return 2;
}
