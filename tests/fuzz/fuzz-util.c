/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Shared by every fuzz target: the invariant failure path. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

_Noreturn void fuzz_fail(const char *file, int line, const char *what)
{
        fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
        /* abort() so that libFuzzer saves the input as crash-*. */
        abort();
}
