/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The configuration file parser (daemon/options.c over libinih).
 *
 * Input: the file's bytes. They are written to a memfd that options_parse()
 * opens through /proc/self/fd/N like any path, so the file is read exactly
 * as the daemon reads /etc/sipauthmon/sipauthmon.conf. Each input is parsed
 * twice: alone (the file decides everything) and under command-line options
 * that override some of its keys.
 *
 * Invariants: 0 or a negative errno; on failure a one-line, NUL-terminated
 * message (options.h), nothing from the input printed raw (no control
 * characters); options_done() releases everything (LeakSanitizer).
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "options.h"

static int memfd = -1;
static char path[64];

static void check_err(const char *err, int r)
{
        FUZZ_ASSERT(r <= 0);
        FUZZ_ASSERT(memchr(err, '\0', OPTIONS_ERR_MAX) != NULL);
        if (r < 0) {
                FUZZ_ASSERT(err[0] != '\0');
                for (const char *p = err; *p; p++)
                        FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f);
        }
}

static void parse(int argc, char **argv)
{
        Options o;
        char err[OPTIONS_ERR_MAX];
        memset(err, 0, sizeof err);
        options_init(&o);
        int r = options_parse(&o, argc, argv, path, err, sizeof err);
        check_err(err, r);
        options_done(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (memfd < 0) {
                memfd = memfd_create("fuzz-config", MFD_CLOEXEC);
                FUZZ_ASSERT(memfd >= 0);
                snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
        }
        FUZZ_ASSERT(ftruncate(memfd, 0) == 0);
        size_t off = 0;
        while (off < size) {
                ssize_t w = pwrite(memfd, data + off, size - off, (off_t)off);
                FUZZ_ASSERT(w > 0);
                off += (size_t)w;
        }

        char *alone[] = {"sipauthmon", NULL};
        parse(1, alone);
        char *over[] = {"sipauthmon",  "-r", "capture.pcap",      "-o", "json",
                        "--threshold", "5",  "--guess-threshold", "7",  NULL};
        parse(9, over);
        return 0;
}
