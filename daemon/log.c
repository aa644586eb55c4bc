/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Read from the capture thread too: atomic, although it is set only at start. */
static atomic_uint verbosity = 1;

void log_set_verbosity(unsigned v)
{
        atomic_store(&verbosity, v);
}

unsigned log_verbosity(void)
{
        return atomic_load(&verbosity);
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

/*
 * Table hash key: random, so that nobody on the wire can aim Call-IDs or
 * branches at one hash chain. Only the layout of the tables depends on it,
 * never the output. Without entropy yet (early boot), keep the default
 * mixed with what little varies.
 */
uint64_t daemon_hash_seed(uint64_t fallback)
{
        uint64_t seed;

        if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
                return seed;
        return fallback ^ (uint64_t)daemon_clock_us(CLOCK_MONOTONIC) ^ ((uint64_t)getpid() << 32);
}

int64_t daemon_clock_us(int clock_id)
{
        struct timespec ts;

        clock_gettime((clockid_t)clock_id, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
