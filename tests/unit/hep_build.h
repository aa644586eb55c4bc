/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Test helper: one HEPv3 packet carrying SIP, as Kamailio siptrace sends it
 * (chunks: family, protocol, IPv4 addresses, ports, time, protocol type SIP,
 * capture id, [auth key], payload; layouts in parser/hep.c). For the tests
 * of the pipeline and the listener; test_hep.c has its own builder, which
 * varies every chunk.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
        uint8_t src[4], dst[4];
        uint16_t sport, dport;
        int64_t ts_us;   /* 0: no time chunks */
        const char *key; /* chunk 14, NULL = none */
        const void *payload;
        size_t payload_len;
} HepBuild;

static inline size_t hep_build_chunk(uint8_t *out, size_t off, size_t cap, uint16_t type,
                                     const void *body, size_t n)
{
        if (off + 6 + n > cap)
                return cap + 1;
        out[off] = 0;
        out[off + 1] = 0;
        out[off + 2] = (uint8_t)(type >> 8);
        out[off + 3] = (uint8_t)type;
        out[off + 4] = (uint8_t)((6 + n) >> 8);
        out[off + 5] = (uint8_t)(6 + n);
        if (n)
                memcpy(out + off + 6, body, n);
        return off + 6 + n;
}

/* The packet's length, or 0 when cap is too small. */
static inline size_t hep_build_v3(uint8_t *out, size_t cap, const HepBuild *b)
{
        uint8_t fam = 2, proto = 17, sip = 1;
        uint8_t sp[2] = {(uint8_t)(b->sport >> 8), (uint8_t)b->sport};
        uint8_t dp[2] = {(uint8_t)(b->dport >> 8), (uint8_t)b->dport};
        uint32_t sec = (uint32_t)(b->ts_us / 1000000), usec = (uint32_t)(b->ts_us % 1000000);
        uint8_t s4[4] = {(uint8_t)(sec >> 24), (uint8_t)(sec >> 16), (uint8_t)(sec >> 8),
                         (uint8_t)sec};
        uint8_t u4[4] = {(uint8_t)(usec >> 24), (uint8_t)(usec >> 16), (uint8_t)(usec >> 8),
                         (uint8_t)usec};
        uint8_t id[4] = {0, 0, 0x07, 0xd1}; /* 2001 */
        size_t off = 6;

        if (cap < 6 || cap > 65535)
                return 0;
        memcpy(out, "HEP3", 4);
        off = hep_build_chunk(out, off, cap, 1, &fam, 1);
        off = hep_build_chunk(out, off, cap, 2, &proto, 1);
        off = hep_build_chunk(out, off, cap, 3, b->src, 4);
        off = hep_build_chunk(out, off, cap, 4, b->dst, 4);
        off = hep_build_chunk(out, off, cap, 7, sp, 2);
        off = hep_build_chunk(out, off, cap, 8, dp, 2);
        if (b->ts_us) {
                off = hep_build_chunk(out, off, cap, 9, s4, 4);
                off = hep_build_chunk(out, off, cap, 10, u4, 4);
        }
        off = hep_build_chunk(out, off, cap, 11, &sip, 1);
        off = hep_build_chunk(out, off, cap, 12, id, 4);
        if (b->key)
                off = hep_build_chunk(out, off, cap, 14, b->key, strlen(b->key));
        off = hep_build_chunk(out, off, cap, 15, b->payload, b->payload_len);
        if (off > cap)
                return 0;
        out[4] = (uint8_t)(off >> 8);
        out[5] = (uint8_t)off;
        return off;
}
