/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The libFuzzer entry point every target in tests/fuzz/ defines. Built with
 * -Dfuzz=true (clang) the targets link libFuzzer's main; in every other
 * build fuzz-main.c supplies a main() that replays files, so the corpora
 * and crash reproducers run as ordinary meson tests (suite 'fuzz').
 *
 * A target must not keep state between inputs that changes what the next
 * input does (libFuzzer's minimiser and the replay would disagree); long
 * lived objects (a parser, a hasher) are created once and reused only
 * where they are reset by the call itself.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fail loudly on a broken invariant: libFuzzer records the input as a crash. */
#define FUZZ_ASSERT(cond)                                                                          \
        do {                                                                                       \
                if (!(cond))                                                                       \
                        fuzz_fail(__FILE__, __LINE__, #cond);                                      \
        } while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *what);

/* Read every byte so that ASan/valgrind check the whole range is valid. */
static inline unsigned fuzz_touch(const uint8_t *p, size_t n)
{
        volatile unsigned sum = 0;
        for (size_t i = 0; i < n; i++)
                sum += p[i];
        return sum;
}
