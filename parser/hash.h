/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The seeded byte hash of the parser's tables (IP fragments, TCP streams):
 * FNV-1a with a seed and a final fold. Keys are attacker-chosen; the seed
 * (random in the daemon) and the tables' hard limits keep chains short.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

static inline uint64_t hash_bytes(uint64_t seed, const void *p, size_t n)
{
        const uint8_t *b = p;
        uint64_t h = 0xcbf29ce484222325ull ^ seed;

        for (size_t i = 0; i < n; i++) {
                h ^= b[i];
                h *= 0x100000001b3ull;
        }
        return h ^ (h >> 29);
}
