/*
 * events.c - event kind names.
 */
#include "base/events.h"

#include <string.h>

const char *const pfs_event_kind_names[] = {"tamper",
                                            "lock",
                                            "unlock",
                                            "rollout.paused",
                                            "rollout.completed",
                                            "rollout.expired",
                                            "terminal.silent",
                                            "repair.state",
                                            NULL};

int pfs_event_kind_parse(const char *s)
{
    for (int i = 0; pfs_event_kind_names[i]; i++) {
        if (strcmp(s, pfs_event_kind_names[i]) == 0)
            return i;
    }
    return -1;
}
