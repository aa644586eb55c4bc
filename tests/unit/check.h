/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The checks of the unit tests (STYLE.md "Time and tests": one header per
 * kind of helper). A failed CHECK prints file, line and message and counts;
 * the test goes on, and check_exit() gives the exit status.
 */
#pragma once

#include <stdio.h>

static int check_failures;

#define CHECK(cond, ...)                                                                           \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        check_failures++;                                                          \
                        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
                        fprintf(stderr, __VA_ARGS__);                                              \
                        fputc('\n', stderr);                                                       \
                }                                                                                  \
        } while (0)

/* 0 when every check passed (saying so with what), 1 otherwise. */
static inline int check_exit(const char *what)
{
        if (check_failures) {
                fprintf(stderr, "%d check(s) failed\n", check_failures);
                return 1;
        }
        printf("all %s checks passed\n", what);
        return 0;
}
