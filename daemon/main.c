/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * sipauthmon: parse the options, then either read a capture file to its end
 * (daemon/offline.c) or run the live service (daemon/service.c: capture
 * thread, ring, sd-event loop, sd_notify).
 *
 * Exit status (DESIGN.md "Command line"): 0 nothing diagnosed, 1 at least
 * one diagnosis, 2 error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "log.h"
#include "macro.h"
#include "offline.h"
#include "options.h"
#include "privileges.h"
#include "service.h"

#define CONFIG_FILE SYSCONFDIR "/sipauthmon/sipauthmon.conf"

/* --check-config: OK on stdout and 0, or the error on stderr and 2; nothing captured. */
static int check_config(const Options *o)
{
        char err[OPTIONS_ERR_MAX];
        int r;

        r = config_file_check(o, CONFIG_FILE, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "%s\n", err);
                return EXIT_ERROR;
        }
        if (r > 0)
                log_info("%s", err);
        puts("OK");
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_ERROR;
}

int main(int argc, char **argv)
{
        _cleanup_(options_done) Options o = {0};
        char err[OPTIONS_ERR_MAX];
        int r;

        /* Before anything is read: no core dump holds the credentials. */
        r = privileges_no_dump();
        if (r < 0) {
                log_error("PR_SET_DUMPABLE: %s", strerror(-r));
                return EXIT_ERROR;
        }
        options_init(&o);
        r = options_parse(&o, argc, argv, CONFIG_FILE, err, sizeof(err));
        if (r < 0) {
                /* --check-config: "FILE:LINE: what", bare, as compilers print it. */
                if (o.check_config)
                        fprintf(stderr, "%s\n", err);
                else
                        log_error("%s", err);
                return EXIT_ERROR;
        }
        if (o.help || o.version) {
                if (o.help)
                        fputs(options_usage(), stdout);
                else
                        printf("sipauthmon %s\n", PACKAGE_VERSION);
                return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_ERROR;
        }
        log_set_verbosity(o.quiet ? 0 : 1 + o.verbose);
        if (o.check_config)
                return check_config(&o);

        if (o.input == INPUT_FILE)
                return offline_run(&o);
        return service_run(&o, argc, argv, CONFIG_FILE);
}
