/*
 * commands.h - the table of posfleet commands.
 *
 * Adding a command is one row in pfc_commands (commands.c): its words, its
 * arguments, and a request template (method, path, renderer) or a run
 * function. Help, validation and --json come with the row.
 */
#ifndef PFC_COMMANDS_H
#define PFC_COMMANDS_H

#include <stddef.h>

#include "args.h"

extern const struct pfc_command pfc_commands[];
extern const size_t pfc_ncommands;

#endif
