/*
 * pack.h - posfleet-pack subcommands and the archive helpers they share.
 *
 * Each command takes argv after its own name and returns the exit code:
 * 0 ok, 1 refused or failed (one line on stderr naming the reason and the
 * PF_E* name), 2 usage. Secret keys are read from files and never printed.
 */
#ifndef PFP_PACK_H
#define PFP_PACK_H

#include <archive.h>
#include <stddef.h>

#include "pf/error.h"

int pfp_cmd_create(int argc, char **argv);
int pfp_cmd_sign(int argc, char **argv);
int pfp_cmd_verify(int argc, char **argv);
int pfp_cmd_inspect(int argc, char **argv);

/* "none", "gzip", "zstd" -> ARCHIVE_FILTER_* (0 or more); PF_EINVAL if unknown. */
int pfp_filter_from_name(const char *name);
/* Opens a new tar (pax restricted, readable by stock tar) at path with a filter. */
int pfp_tar_open(struct archive **out, const char *path, int filter, struct pf_error *err) PF_WUR;
/* Adds a regular file entry from memory. */
int pfp_tar_add_mem(struct archive *a, const char *name, const void *buf, size_t len,
                    long long mtime, struct pf_error *err) PF_WUR;
/* Streams data from the reader's current entry into a new entry of the writer. */
int pfp_tar_copy_entry(struct archive *w, struct archive *r, struct archive_entry *e,
                       struct pf_error *err) PF_WUR;

void pfp_fail(const char *cmd, const struct pf_error *err);

#endif
