/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The project's one keyed byte hash: the parser's tables (IP fragments, TCP
 * streams) and the tracker's (analysis/lru.c). Keys are attacker-chosen; the
 * seed (random in the daemon) and the tables' hard limits keep chains short.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The 128-bit product of a and b, folded to 64 bits. */
#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 hash_u128;

static inline uint64_t hash_mum(uint64_t a, uint64_t b)
{
        hash_u128 r = (hash_u128)a * b;
        return (uint64_t)r ^ (uint64_t)(r >> 64);
}
#else
/* 32-bit targets: the same product from 32-bit halves. */
static inline uint64_t hash_mum(uint64_t a, uint64_t b)
{
        uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
        uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
        uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
        uint64_t lo = (mid << 32) | (uint32_t)ll;
        uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
        return lo ^ hi;
}
#endif

static inline uint64_t hash_rd64(const uint8_t *p)
{
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
}

static inline uint64_t hash_rd32(const uint8_t *p)
{
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
}

#define HASH_P0 0xa0761d6478bd642full
#define HASH_P1 0xe7037ed1a0b428dbull
#define HASH_P2 0x8ebc6af09c88c6e3ull

/* wyhash-like: the seed is the initial state, every 8-byte word is folded in
 * through a full 128-bit product (high half xored into the low half, so the
 * low bits that pick a bucket depend on every input bit), the length last. */
static inline uint64_t hash_bytes(uint64_t seed, const void *data, size_t n)
{
        const uint8_t *p = data;
        uint64_t h = seed ^ HASH_P0, w;
        size_t left = n;

        if (n >= 8) {
                while (left > 8) {
                        h = hash_mum(h ^ hash_rd64(p), HASH_P1);
                        p += 8;
                        left -= 8;
                }
                w = hash_rd64(p + left - 8); /* the last 8 bytes, overlapping what came before */
        } else if (n >= 4) {
                w = hash_rd32(p) << 32 | hash_rd32(p + n - 4);
        } else if (n > 0) {
                w = (uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 | p[n - 1];
        } else {
                w = 0;
        }
        h = hash_mum(h ^ w, HASH_P1);
        return hash_mum(h ^ n, HASH_P2);
}
