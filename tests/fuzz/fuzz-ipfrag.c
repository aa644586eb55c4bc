/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * IPv4/IPv6 fragment reassembly (parser/ipfrag.c) under small limits, and
 * decoding of whatever it reassembles.
 *
 * Input: a sequence of fragments, each
 *
 *   flags(1) id(1) offset(2, BE, 8-byte units) proto(1) delta(1) len(2, BE) bytes
 *
 *   flags bit 0  more fragments
 *         bit 1  IPv6 (else IPv4)
 *         bits 2-3 which of four source addresses
 *   delta        time since the previous fragment, delta * 10 ms
 *
 * Invariants: verdicts in range; a reassembled payload is at most 65535
 * bytes and readable; the gauges never exceed the configured limits.
 */
#include <string.h>

#include "decode.h"
#include "fuzz.h"
#include "ipfrag.h"

static const IpFragConfig cfg = {
    .timeout_us = 2000000,
    .max_datagrams = 8,
    .max_frags = 8,
    .max_bytes_per_source = 8192,
    .max_bytes = 16384,
    .hash_seed = 0x5eed,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        IpFrag *f = ipfrag_new(&cfg);
        FUZZ_ASSERT(f);
        int64_t ts = 1768471200LL * 1000000;
        size_t off = 0;
        unsigned n = 0;
        while (size - off >= 8) {
                const uint8_t *h = data + off;
                size_t len = (size_t)h[6] << 8 | h[7];
                off += 8;
                if (len > size - off)
                        len = size - off;
                ts += (int64_t)h[5] * 10000;

                DecodedPacket p;
                memset(&p, 0, sizeof p);
                bool v6 = h[0] & 2;
                uint8_t src = (uint8_t)((h[0] >> 2) & 3);
                p.src.family = p.dst.family = v6 ? 6 : 4;
                p.src.addr[0] = 198;
                p.src.addr[1] = 51;
                p.src.addr[2] = 100;
                p.src.addr[3] = (uint8_t)(1 + src);
                p.dst.addr[0] = 192;
                p.dst.addr[1] = 0;
                p.dst.addr[2] = 2;
                p.dst.addr[3] = 10;
                p.ip_fragment = true;
                p.ip_more_fragments = h[0] & 1;
                p.ip_id = h[1];
                p.ip_frag_offset = (uint16_t)((h[2] << 8 | h[3]) * 8u);
                p.ip_proto = h[4];
                p.payload = data + off;
                p.payload_len = len;
                off += len;

                const uint8_t *out = NULL;
                size_t out_len = 0;
                IpFragVerdict v = ipfrag_feed(f, &p, ts, &out, &out_len);
                FUZZ_ASSERT(v == IPFRAG_PENDING || v == IPFRAG_COMPLETE || v == IPFRAG_DROPPED);
                if (v == IPFRAG_COMPLETE) {
                        FUZZ_ASSERT(out_len <= 65535);
                        FUZZ_ASSERT(out != NULL || out_len == 0);
                        if (out_len)
                                fuzz_touch(out, out_len);
                        DecodedPacket d = p;
                        (void)decode_ip_payload(p.ip_proto, out, out_len, &d);
                }
                IpFragStats st;
                ipfrag_get_stats(f, &st);
                FUZZ_ASSERT(st.datagrams <= cfg.max_datagrams);
                FUZZ_ASSERT(st.bytes <= cfg.max_bytes);
                if (++n % 4 == 0)
                        ipfrag_expire(f, ts);
        }
        ipfrag_free(f);
        return 0;
}
