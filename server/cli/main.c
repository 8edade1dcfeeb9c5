/*
 * main.c - posfleet: hands the process's streams and clock to pfc_main.
 */
#include <curl/curl.h>

#include "cli.h"

int main(int argc, char **argv)
{
    struct pfc_io io = {.out = stdout, .err = stderr, .clock = &pf_clock_system};
    int status;

    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        fprintf(stderr, "posfleet: cannot initialise libcurl\n");
        return PFC_EXIT_API;
    }
    status = pfc_main(argc, argv, &io);
    curl_global_cleanup();
    return status;
}
