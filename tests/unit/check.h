/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The checks of the unit tests, defined once (STYLE.md "Time and tests": one
 * header per kind of helper). A failed CHECK prints file, line, the condition
 * and a message (the first CHECK_PRINT_MAX of them) and counts; the test goes
 * on, and check_exit() prints the tally and gives the exit status.
 */
#pragma once

#include <stdio.h>

#define CHECK_PRINT_MAX 100

static unsigned check_count, check_failures;

#define CHECK(cond, ...)                                                                           \
        do {                                                                                       \
                check_count++;                                                                     \
                if (!(cond) && ++check_failures <= CHECK_PRINT_MAX) {                              \
                        fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
                        fprintf(stderr, __VA_ARGS__);                                              \
                        fputc('\n', stderr);                                                       \
                }                                                                                  \
        } while (0)

/*
 * Deterministic "random" numbers for mutation tests (xorshift64, fixed
 * seed): the same inputs on every run, so that a failure can be replayed.
 */
static uint64_t check_rng = 0x9e3779b97f4a7c15u;

static inline uint32_t check_rand(void)
{
        check_rng ^= check_rng << 13;
        check_rng ^= check_rng >> 7;
        check_rng ^= check_rng << 17;
        return (uint32_t)(check_rng >> 16);
}

/* 0 when every check passed, 1 otherwise; what names the test in the tally. */
static inline int check_exit(const char *what)
{
        if (check_failures) {
                fprintf(stderr, "%s: %u of %u checks failed\n", what, check_failures, check_count);
                return 1;
        }
        printf("%s: all %u checks passed\n", what, check_count);
        return 0;
}
