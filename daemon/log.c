/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

/* Read from the capture thread too: atomic, although it is set only at start. */
static atomic_uint verbosity = 1;

void log_set_verbosity(unsigned v)
{
        atomic_store(&verbosity, v);
}

void log_at(unsigned level, const char *fmt, ...)
{
        char line[2048];
        va_list ap;
        int k;

        if (atomic_load(&verbosity) < level)
                return;
        /* One write per line, so that lines of two threads never interleave. */
        k = snprintf(line, sizeof(line), "sipauthmon: ");
        va_start(ap, fmt);
        vsnprintf(line + k, sizeof(line) - (size_t)k - 1, fmt, ap);
        va_end(ap);
        fprintf(stderr, "%s\n", line);
}
