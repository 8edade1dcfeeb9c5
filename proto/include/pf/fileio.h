/*
 * fileio.h - crash-safe file primitives shared by every component.
 *
 * pf_file_write_atomic() is the only way posfleet persists a small file:
 * write a temporary beside the target, fsync it, rename it over the target,
 * fsync the directory. A power cut leaves either the old or the new content.
 */
#ifndef PF_FILEIO_H
#define PF_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "pf/error.h"

/* Replaces path with buf[0..len) atomically; mode applies to the new file. */
int pf_file_write_atomic(const char *path, const void *buf, size_t len, mode_t mode) PF_WUR;

/*
 * Reads a whole file of at most max bytes into a NUL-terminated heap buffer.
 * On success *out (caller frees) and *len are set. PF_ETOOBIG if larger than max,
 * PF_ENOENT if absent.
 */
int pf_file_read(const char *path, size_t max, char **out, size_t *len) PF_WUR;

/* fsync()s the directory that contains path (or path itself if it is one). */
int pf_fsync_dir_of(const char *path) PF_WUR;

/*
 * "dir/name" in a new heap string (caller frees), or NULL when out of memory or
 * longer than PATH_MAX. For paths built once and kept, without a PATH_MAX
 * buffer on the stack.
 */
char *pf_path_join(const char *dir, const char *name);

/* mkdir -p with the given mode for created components. */
int pf_mkdir_p(const char *path, mode_t mode) PF_WUR;

#endif
