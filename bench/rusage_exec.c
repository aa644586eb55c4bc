/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Runs one command and writes its wall time, CPU time and peak RSS to a
 * file, the way GNU time does, for bench/run.py.
 *
 *   rusage_exec OUTFILE COMMAND [ARG...]
 *
 * Why not Python's own wait4(): the kernel carries the peak RSS of the
 * image a process replaces across execve(), and a child forked (or
 * vforked) from the Python runner starts with the runner's ~20 MiB, so a
 * small run would report the runner's size instead of its own. Forked from
 * this small program, the baseline is this program's few hundred KiB.
 *
 * OUTFILE gets one line: "status S wall W user U sys Y maxrss_kib K", S the
 * exit status (128+N when killed by signal N). The command inherits stdin,
 * stdout and stderr. Exit status: the command's, or 127 when it could not
 * be run, 2 on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv)
{
        return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
        if (argc < 3) {
                fprintf(stderr, "usage: rusage_exec OUTFILE COMMAND [ARG...]\n");
                return 2;
        }
        FILE *out = fopen(argv[1], "we"); /* not inherited by the command */
        if (!out) {
                fprintf(stderr, "rusage_exec: %s: %s\n", argv[1], strerror(errno));
                return 2;
        }
        double t0 = now_s();
        pid_t pid = fork();
        if (pid < 0) {
                fprintf(stderr, "rusage_exec: fork: %s\n", strerror(errno));
                return 2;
        }
        if (pid == 0) {
                execvp(argv[2], argv + 2);
                fprintf(stderr, "rusage_exec: %s: %s\n", argv[2], strerror(errno));
                _exit(127);
        }
        int status;
        struct rusage ru;
        while (wait4(pid, &status, 0, &ru) < 0)
                if (errno != EINTR) {
                        fprintf(stderr, "rusage_exec: wait4: %s\n", strerror(errno));
                        return 2;
                }
        double wall = now_s() - t0;
        int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        fprintf(out, "status %d wall %.6f user %.6f sys %.6f maxrss_kib %ld\n", rc, wall,
                tv_s(ru.ru_utime), tv_s(ru.ru_stime), ru.ru_maxrss);
        if (fclose(out) != 0)
                return 2;
        return rc;
}
