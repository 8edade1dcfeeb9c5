/*
 * conf.h - the configuration file format shared by posfleetd and the agent.
 *
 *   # comment
 *   key = value          (value runs to end of line, surrounding blanks trimmed)
 *
 * Keys are [a-z0-9_.]; a line of at most 1023 bytes; duplicate keys are an
 * error. pf_conf_parse() calls cb for each pair; a non-zero return from cb stops
 * parsing and is returned, with err prefixed "FILE:LINE". Typed helpers convert
 * values with range checks and name the key in the error; integers are strict
 * decimal as pf/num.h reads them (no '+', no hexadecimal): PF_EPARSE for
 * anything else, PF_ERANGE outside min..max.
 */
#ifndef PF_CONF_H
#define PF_CONF_H

#include <stdint.h>

#include "pf/error.h"

typedef int (*pf_conf_cb)(void *ctx, const char *key, const char *value, struct pf_error *err);

int pf_conf_parse_file(const char *path, pf_conf_cb cb, void *ctx, struct pf_error *err) PF_WUR;
int pf_conf_parse(const char *buf, size_t len, const char *name, pf_conf_cb cb, void *ctx,
                  struct pf_error *err) PF_WUR;

int pf_conf_int(const char *key, const char *value, int64_t min, int64_t max, int64_t *out,
                struct pf_error *err) PF_WUR;
int pf_conf_bool(const char *key, const char *value, int *out, struct pf_error *err) PF_WUR;
/* Copies value into out[size]; PF_ETOOBIG naming the key if it does not fit. */
int pf_conf_str(const char *key, const char *value, char *out, size_t size,
                struct pf_error *err) PF_WUR;

#endif
