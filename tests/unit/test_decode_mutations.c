/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for parser/decode.c: mutated frames.
 *
 * Valid frames of every layer, with flipped bytes and random cuts, from a
 * fixed seed: every verdict in range, a payload inside the frame, nothing
 * written on an error, and more than one path taken.
 */
#include "decode_frames.h"

/* Valid frames with flipped bytes and random cuts (check_rand()). */
static void test_mutations(void)
{
        Buf u = udp(5060, 5060, SIP, SIP_LEN, 0);
        Buf t = tcp(5060, 5060, 1, 0x18, 2, SIP, SIP_LEN);
        Buf x = {.n = 0};
        ext_hdr(&x, 44, 0);
        put8(&x, 17);
        put8(&x, 0);
        put16(&x, 8);
        put32(&x, 5);
        putbuf(&x, &u);
        Buf ip4 = v4(17, &u), ip6 = v6(6, &t), ip6x = v6(0, &x);
        Buf tun = ipv4(4, V4_OUTER_A, V4_OUTER_B, &ip4, 1, 0, 5, 0);
        static const uint16_t tags[] = {0x8100, 0x8100};
        Buf e4 = eth(0x0800, &ip4), e6 = eth(0x86dd, &ip6);
        Buf g1 = gre(GRE_C | GRE_K | GRE_S, 0x6558, &e4);
        Buf gre_teb_ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g1, 1, 0, 5, 0);
        Buf vx = vxlan(0x08, &e6);
        Buf vxu = udp(40000, 4789, vx.b, vx.n, 0);
        Buf vx_ip = ipv4(17, V4_OUTER_A, V4_OUTER_B, &vxu, 1, 0, 5, 0);
        Buf es = erspan3(0, true, &e4);
        Buf g3 = gre(GRE_S, 0x22eb, &es);
        Buf erspan3_ip = ipv6(47, V6_OUTER_A, V6_OUTER_B, &g3);
        struct {
                int lt;
                Buf f;
        } base[] = {
            {1, eth_tags(tags, 2, 0x0800, &ip4)},
            {113, sll(0x86dd, &ip6)},
            {276, sll2(0x86dd, &ip6x)},
            {0, af_hdr(30, true, &tun)},
            {101, tun},
            {1, eth(0x0800, &gre_teb_ip)},
            {101, vx_ip},
            {1, eth(0x86dd, &erspan3_ip)},
        };
        unsigned counts[DECODE__MAX] = {0};

        for (size_t b = 0; b < sizeof base / sizeof base[0]; b++) {
                for (int iter = 0; iter < 20000; iter++) {
                        Buf f = base[b].f;
                        DecodedPacket p;
                        DecodeVerdict v;
                        unsigned flips = 1 + check_rand() % 4;

                        for (unsigned i = 0; i < flips; i++)
                                f.b[check_rand() % f.n] = (uint8_t)check_rand();
                        if (check_rand() % 4 == 0)
                                f.n = check_rand() % (f.n + 1);
                        fill_sentinel(&p);
                        v = decb(base[b].lt, &f, &p);
                        if ((unsigned)v >= DECODE__MAX) {
                                CHECK(false, "mutation: verdict %d out of range", (int)v);
                                continue;
                        }
                        counts[v]++;
                        if (v == DECODE_OK || v == DECODE_E_FRAGMENT) {
                                CHECK(p.payload_len == 0 ||
                                          (p.payload >= heap &&
                                           p.payload + p.payload_len <= heap + f.n),
                                      "mutation: payload outside the frame");
                                CHECK(p.src.family == 4 || p.src.family == 6, "mutation: family %u",
                                      p.src.family);
                        } else if (!is_sentinel(&p)) {
                                CHECK(false, "mutation: out modified on %s",
                                      decode_verdict_name(v));
                        }
                }
        }
        /* The mutations must exercise more than one path, or they test nothing. */
        CHECK(counts[DECODE_OK] > 0 && counts[DECODE_E_TRUNCATED] > 0 &&
                  counts[DECODE_E_BAD_IP] > 0 && counts[DECODE_E_BAD_TUNNEL] > 0,
              "mutations: ok=%u truncated=%u bad_ip=%u bad_tunnel=%u", counts[DECODE_OK],
              counts[DECODE_E_TRUNCATED], counts[DECODE_E_BAD_IP], counts[DECODE_E_BAD_TUNNEL]);
}

int main(void)
{
        test_mutations();
        free(heap);
        heap = NULL;
        return check_exit("decode_mutations");
}
