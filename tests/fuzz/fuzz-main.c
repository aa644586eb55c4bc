/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Replay main for builds without libFuzzer (like systemd's
 * src/fuzz/fuzz-main.c): every argument is a file, or a directory whose
 * regular files (not recursively, dot files skipped) are fed one by one to
 * LLVMFuzzerTestOneInput(). This is how every build, gcc included, runs the
 * committed corpora and crash reproducers as meson tests.
 *
 *   fuzz-TARGET PATH...
 *
 * Exit status: 0 when every input ran, 1 when a path could not be read or
 * no input at all was found (a replay that runs nothing must not pass).
 * A crash in the target is the test failure it should be.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#define FUZZ_MAX_INPUT (16u * 1024 * 1024)

static unsigned n_inputs;

static int run_file(int dirfd, const char *name, const char *shown)
{
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "%s: %s\n", shown, strerror(errno));
                return -1;
        }
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > FUZZ_MAX_INPUT) {
                fprintf(stderr, "%s: not a regular file of at most %u bytes\n", shown,
                        FUZZ_MAX_INPUT);
                close(fd);
                return -1;
        }
        size_t len = (size_t)st.st_size;
        /* An exact-size heap copy: ASan sees any read past the input. */
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf) {
                close(fd);
                return -1;
        }
        size_t got = 0;
        while (got < len) {
                ssize_t r = read(fd, buf + got, len - got);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                got += (size_t)r;
        }
        close(fd);
        if (got != len) {
                fprintf(stderr, "%s: short read\n", shown);
                free(buf);
                return -1;
        }
        if (getenv("FUZZ_VERBOSE"))
                fprintf(stderr, "running %s (%zu bytes)\n", shown, len);
        (void)LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        n_inputs++;
        return 0;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *path)
{
        DIR *d = opendir(path);
        if (!d) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        /* Sorted, so that a failing replay names the same file every time. */
        char **names = NULL;
        size_t n = 0, cap = 0;
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (n == cap) {
                        cap = cap ? 2 * cap : 64;
                        char **nn = realloc(names, cap * sizeof *names);
                        if (!nn) {
                                r = -1;
                                break;
                        }
                        names = nn;
                }
                names[n] = strdup(de->d_name);
                if (!names[n]) {
                        r = -1;
                        break;
                }
                n++;
        }
        if (n)
                qsort(names, n, sizeof *names, cmp_names);
        for (size_t i = 0; i < n && r == 0; i++) {
                char shown[4096];
                snprintf(shown, sizeof shown, "%s/%s", path, names[i]);
                struct stat st;
                if (fstatat(dirfd(d), names[i], &st, 0) == 0 && S_ISDIR(st.st_mode))
                        continue;
                r = run_file(dirfd(d), names[i], shown);
        }
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        closedir(d);
        return r;
}

int main(int argc, char **argv)
{
        int failed = 0;
        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        failed = 1;
                        continue;
                }
                if (S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(AT_FDCWD, argv[i], argv[i]))
                        failed = 1;
        }
        if (n_inputs == 0) {
                fprintf(stderr, "no input replayed\n");
                return 1;
        }
        printf("%u inputs replayed\n", n_inputs);
        return failed;
}
