/*
 * boothist.c - a bounded, atomically replaced boot history in the state directory.
 */
#include "pfa/boothist.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "pf/fileio.h"
#include "pf/jsonv.h"

#define BOOTHIST_FILE      "boot_history.json"
#define BOOTHIST_BYTES_MAX (16 * 1024)

static int boothist__path(const char *state_dir, char *path, size_t len)
{
    int n = snprintf(path, len, "%s/" BOOTHIST_FILE, state_dir);

    return (n < 0 || (size_t)n >= len) ? PF_ETOOBIG : 0;
}

/* Entries that are well formed, oldest first; anything else in the file is dropped. */
static json_t *boothist__load(const char *path)
{
    json_t *list = json_array(), *root, *e;
    char *buf;
    size_t len, i;

    if (!list || pf_file_read(path, BOOTHIST_BYTES_MAX, &buf, &len) != 0)
        return list;
    root = json_loadb(buf, len, 0, NULL);
    free(buf);
    if (json_is_array(root)) {
        json_array_foreach(root, i, e)
        {
            if (json_is_object(e) && json_is_integer(json_object_get(e, "ts")) &&
                json_is_string(json_object_get(e, "slot")) &&
                json_is_string(json_object_get(e, "firmware")) &&
                json_is_string(json_object_get(e, "boot")))
                json_array_append(list, e);
        }
    }
    json_decref(root);
    return list;
}

int pfa_boothist_record(const char *state_dir, int64_t wall_ms, enum pf_slot slot,
                        const char *fw_version, enum pf_boot_outcome boot, struct pf_error *err)
{
    char path[PATH_MAX], *text;
    json_t *list;
    int rc;

    if ((rc = boothist__path(state_dir, path, sizeof(path))) != 0)
        return pf_error_set(err, rc, "%s: path too long", state_dir);
    list = boothist__load(path);
    if (!list ||
        json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:s}", "ts", (json_int_t)wall_ms,
                                              "slot", pf_slot_names[slot], "firmware", fw_version,
                                              "boot", pf_boot_outcome_names[boot])) != 0) {
        json_decref(list);
        return pf_error_set(err, PF_ENOMEM, "boot history: out of memory");
    }
    while (json_array_size(list) > PFA_BOOTHIST_MAX)
        json_array_remove(list, 0);
    text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    if (!text)
        return pf_error_set(err, PF_ENOMEM, "boot history: out of memory");
    rc = pf_file_write_atomic(path, text, strlen(text), 0600);
    free(text);
    if (rc)
        return pf_error_set(err, rc, "%s: %s", path, pf_strerror(rc));
    return 0;
}

json_t *pfa_boothist_json(const char *state_dir)
{
    char path[PATH_MAX];

    if (boothist__path(state_dir, path, sizeof(path)) != 0)
        return json_array();
    return boothist__load(path);
}
