/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * sipauthmon-batch: many `sipauthmon -r` runs in one process, for the long
 * test drivers (tests/driver/README.md).
 *
 *     sipauthmon-batch < JOBS
 *
 * Each line of JOBS is OUT<TAB>ERR<TAB>ARG[<TAB>ARG]...: the arguments that
 * sipauthmon would take after its name, which must read a capture file (-r).
 * The run goes through the same code as the sipauthmon binary (options_parse,
 * offline_run) with its standard output in the file OUT and its standard
 * error in ERR; then the exit status the binary would give is written to
 * this program's own standard output, one line per job, and flushed, so that
 * a crash is pinned to the job it happened in.
 *
 * What it saves is the start of a process: exec, the dynamic loader, the
 * libraries' start-up and, in a sanitizer or valgrind build, the runtime's
 * own start. What it does not test is daemon/main.c; the golden and CLI
 * suites run the real binary for that.
 *
 * Exit status: 0 when every line was a job, 2 on a malformed line or a
 * failure to redirect (which ends the batch).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "offline.h"
#include "options.h"

#define EXIT_ERROR  2
#define CONFIG_FILE SYSCONFDIR "/sipauthmon/sipauthmon.conf"
#define MAX_ARGS    64

/* Split line at tabs into argv[1..]; argv[0] is the program name. */
static int split(char *line, char **argv, int max)
{
        int argc = 1;

        argv[0] = (char *)"sipauthmon";
        for (char *p = line; p && argc < max - 1;) {
                argv[argc++] = p;
                p = strchr(p, '\t');
                if (p)
                        *p++ = '\0';
        }
        argv[argc] = NULL;
        return argc;
}

/* Point fd at path (created, truncated); -errno on failure. */
static int redirect(int fd, const char *path)
{
        int f = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        if (f < 0)
                return -errno;
        if (dup2(f, fd) < 0) {
                int r = -errno;

                close(f);
                return r;
        }
        close(f);
        return 0;
}

static int run_job(int argc, char **argv)
{
        char err[OPTIONS_ERR_MAX];
        Options o;
        int status;

        options_init(&o);
        if (options_parse(&o, argc, argv, CONFIG_FILE, err, sizeof(err)) < 0) {
                log_error("%s", err);
                status = EXIT_ERROR;
        } else if (o.help || o.version || o.input != INPUT_FILE) {
                log_error("sipauthmon-batch runs capture files (-r) only");
                status = EXIT_ERROR;
        } else {
                log_set_verbosity(o.quiet ? 0 : 1 + o.verbose);
                status = offline_run(&o);
        }
        options_done(&o);
        return status;
}

int main(void)
{
        char *line = NULL, *argv[MAX_ARGS];
        size_t cap = 0;
        ssize_t n;
        int out = dup(STDOUT_FILENO), keep_err = dup(STDERR_FILENO);
        FILE *status_out;

        if (out < 0 || keep_err < 0) {
                perror("sipauthmon-batch: dup");
                return EXIT_ERROR;
        }
        status_out = fdopen(out, "w");
        if (!status_out) {
                perror("sipauthmon-batch: fdopen");
                return EXIT_ERROR;
        }
        while ((n = getline(&line, &cap, stdin)) > 0) {
                char *argv_line, *out_path = line, *err_path;
                int argc, r, status;

                if (line[n - 1] == '\n')
                        line[--n] = '\0';
                err_path = strchr(out_path, '\t');
                argv_line = err_path ? strchr(err_path + 1, '\t') : NULL;
                if (!argv_line) {
                        fprintf(stderr, "sipauthmon-batch: malformed job line: %s\n", line);
                        free(line);
                        return EXIT_ERROR;
                }
                *err_path++ = '\0';
                *argv_line++ = '\0';
                argc = split(argv_line, argv, MAX_ARGS);
                r = redirect(STDOUT_FILENO, out_path);
                if (r == 0)
                        r = redirect(STDERR_FILENO, err_path);
                if (r < 0) {
                        dup2(keep_err, STDERR_FILENO);
                        fprintf(stderr, "sipauthmon-batch: %s: %s\n", out_path, strerror(-r));
                        free(line);
                        return EXIT_ERROR;
                }
                status = run_job(argc, argv);
                fflush(stdout);
                fflush(stderr);
                fprintf(status_out, "%d\n", status);
                fflush(status_out);
        }
        free(line);
        return fclose(status_out) == 0 ? EXIT_SUCCESS : EXIT_ERROR;
}
