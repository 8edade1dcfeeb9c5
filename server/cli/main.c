/*
 * main.c - posfleet: hands the process's streams and clock to pfc_main.
 */
#include <curl/curl.h>
#include <string.h>

#include "pf/release.h"

#include "cli.h"

int main(int argc, char **argv)
{
    struct pfc_io io = {.in = stdin, .out = stdout, .err = stderr, .clock = &pf_clock_system};
    int status;

    if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")))
        return pf_release_print(stdout, "posfleet");

    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        fprintf(stderr, "posfleet: cannot initialise libcurl\n");
        return PFC_EXIT_API;
    }
    status = pfc_main(argc, argv, &io);
    curl_global_cleanup();
    return status;
}
