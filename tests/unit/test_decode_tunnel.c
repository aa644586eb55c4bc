/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for parser/decode.c: tunnels.
 *
 * IP-in-IP, GRE (with and without its optional fields, transparent
 * Ethernet bridging), ERSPAN II/III, VXLAN and Geneve.
 */
#include "decode_frames.h"

static void test_tunnels(void)
{
        Buf u = udp(5060, 5080, SIP, SIP_LEN, 0);
        Buf t = tcp(5061, 41000, 9, 0x18, 0, SIP, SIP_LEN);
        Buf inner4 = v4(17, &u), inner6 = v6(6, &t), ip, f;

        ip = ipv4(4, V4_OUTER_A, V4_OUTER_B, &inner4, 7, 0, 5, 0);
        f = eth(0x0800, &ip);
        expect_ok("ipip 4in4", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5080, 14 + 20 + 28, SIP,
                  SIP_LEN);
        expect_truncations("ipip 4in4", 1, &f, f.n);
        expect_truncations("ipip 4in4 raw", 101, &ip, ip.n);

        ip = ipv4(41, V4_OUTER_A, V4_OUTER_B, &inner6, 7, 0, 5, 0);
        f = eth(0x0800, &ip);
        expect_ok("6in4", 1, &f, TRANSPORT_TCP, 6, V6_A, V6_B, 5061, 41000, 14 + 20 + 60, SIP,
                  SIP_LEN);
        ip = ipv6(4, V6_OUTER_A, V6_OUTER_B, &inner4);
        f = sll(0x86dd, &ip);
        expect_ok("4in6", 113, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5080, 16 + 40 + 28, SIP,
                  SIP_LEN);
        ip = ipv6(41, V6_OUTER_A, V6_OUTER_B, &inner6);
        f = eth(0x86dd, &ip);
        expect_ok("6in6", 1, &f, TRANSPORT_TCP, 6, V6_A, V6_B, 5061, 41000, 14 + 40 + 60, SIP,
                  SIP_LEN);

        /* Nesting: 4 tunnel levels decode, 5 exceed the depth limit. */
        for (int levels = 1; levels <= 5; levels++) {
                Buf cur = inner4;
                for (int i = 0; i < levels; i++)
                        cur = ipv4(4, V4_OUTER_A, V4_OUTER_B, &cur, 7, 0, 5, 0);
                char what[64];
                snprintf(what, sizeof what, "ipip nested %d", levels);
                if (levels <= 4)
                        expect_ok(what, 101, &cur, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5080,
                                  (size_t)levels * 20 + 28, SIP, SIP_LEN);
                else
                        expect_err(what, 101, &cur, DECODE_E_BAD_IP);
        }

        ip = ipv4(4, V4_OUTER_A, V4_OUTER_B, &inner6, 7, 0, 5, 0);
        expect_err("proto 4 carrying v6", 101, &ip, DECODE_E_BAD_IP);
        ip = ipv4(41, V4_OUTER_A, V4_OUTER_B, &inner4, 7, 0, 5, 0);
        expect_err("proto 41 carrying v4", 101, &ip, DECODE_E_BAD_IP);
        Buf lying = inner4;
        lying.b[3] = (uint8_t)(lying.b[3] + 1); /* inner total length one past outer */
        ip = ipv4(4, V4_OUTER_A, V4_OUTER_B, &lying, 7, 0, 5, 0);
        expect_err("inner length past outer", 101, &ip, DECODE_E_BAD_IP);
        Buf stub = inner4;
        stub.n = 10;
        ip = ipv4(4, V4_OUTER_A, V4_OUTER_B, &stub, 7, 0, 5, 0);
        expect_err("inner header cut by outer length", 101, &ip, DECODE_E_BAD_IP);

        /* A fragmented outer datagram is reported as the outer fragment. */
        ip = ipv4(4, V4_OUTER_A, V4_OUTER_B, &inner4, 77, 0x2000, 5, 0);
        DecodedPacket p;
        fill_sentinel(&p);
        DecodeVerdict v = decb(101, &ip, &p);
        CHECK(v == DECODE_E_FRAGMENT, "fragmented tunnel: %s", decode_verdict_name(v));
        if (v == DECODE_E_FRAGMENT) {
                CHECK(p.ip_proto == 4, "fragmented tunnel proto %u", p.ip_proto);
                CHECK(addr_is(&p.src, 4, V4_OUTER_A), "fragmented tunnel outer src");
                CHECK(p.ip_id == 77, "fragmented tunnel id %u", p.ip_id);
                /* Reassembled (here: the single fragment) goes through decode_ip_payload. */
                v = decode_ip_payload(p.ip_proto, p.payload, p.payload_len, &p);
                CHECK(v == DECODE_OK, "tunnel reassembled: %s", decode_verdict_name(v));
                CHECK(v != DECODE_OK || (p.src.port == 5060 && addr_is(&p.src, 4, V4_A)),
                      "tunnel reassembled inner src");
        }
}

/*
 * Tunnels on mirror ports: GRE (RFC 2784/2890) with IP or Ethernet inside,
 * ERSPAN I/II/III, VXLAN (RFC 7348) and Geneve (RFC 8926). The innermost
 * datagram is reported; every prefix of a tunnelled frame is truncated.
 */
static void test_gre_vxlan(void)
{
        Buf u = udp(5060, 5080, SIP, SIP_LEN, 0);
        Buf t = tcp(5061, 41000, 9, 0x18, 0, SIP, SIP_LEN);
        Buf in4 = v4(17, &u), in6 = v6(6, &t);
        Buf ein4 = eth(0x0800, &in4), ein6 = eth(0x86dd, &in6);
        static const uint16_t tag[] = {0x8100};
        Buf ein4tag = eth_tags(tag, 1, 0x0800, &in4);
        Buf g, ip, f, x;
        char what[96];

        /* GRE with IPv4 / IPv6 inside, every combination of optional fields. */
        for (unsigned m = 0; m < 8; m++) {
                uint16_t flags = (uint16_t)(((m & 1) ? GRE_C : 0) | ((m & 2) ? GRE_K : 0) |
                                            ((m & 4) ? GRE_S : 0));
                size_t gl = 4 + 4 * (size_t)__builtin_popcount(m);

                g = gre(flags, 0x0800, &in4);
                ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
                f = eth(0x0800, &ip);
                snprintf(what, sizeof what, "gre %04x v4", flags);
                expect_ok(what, 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5080, 14 + 20 + gl + 28,
                          SIP, SIP_LEN);
                expect_truncations(what, 1, &f, f.n);

                g = gre(flags, 0x86dd, &in6);
                ip = ipv6(47, V6_OUTER_A, V6_OUTER_B, &g);
                f = eth(0x86dd, &ip);
                snprintf(what, sizeof what, "gre %04x v6 over v6", flags);
                expect_ok(what, 1, &f, TRANSPORT_TCP, 6, V6_A, V6_B, 5061, 41000, 14 + 40 + gl + 60,
                          SIP, SIP_LEN);
        }

        /* Transparent Ethernet bridging (gretap), with a VLAN tag inside. */
        g = gre(GRE_K, 0x6558, &ein4tag);
        ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
        f = eth(0x0800, &ip);
        expect_ok("gre teb", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5080, 14 + 20 + 8 + 18 + 28,
                  SIP, SIP_LEN);
        expect_truncations("gre teb", 1, &f, f.n);

        /* ERSPAN I (no header, no sequence number), II and III. */
        g = gre(0, 0x88be, &ein4);
        ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
        expect_ok("erspan I", 101, &ip, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5080, 20 + 4 + 14 + 28,
                  SIP, SIP_LEN);
        x = erspan2(&ein6);
        g = gre(GRE_S, 0x88be, &x);
        ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
        f = eth(0x0800, &ip);
        expect_ok("erspan II", 1, &f, TRANSPORT_TCP, 6, V6_A, V6_B, 5061, 41000,
                  14 + 20 + 8 + 8 + 14 + 60, SIP, SIP_LEN);
        expect_truncations("erspan II", 1, &f, f.n);
        x.b[0] = (uint8_t)(0x20 | (x.b[0] & 0x0f)); /* version 2 under 0x88be */
        g = gre(GRE_S, 0x88be, &x);
        ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
        expect_err("erspan II bad version", 101, &ip, DECODE_E_BAD_TUNNEL);

        for (int o = 0; o <= 1; o++) {
                x = erspan3(0, o, &ein4);
                g = gre(GRE_S, 0x22eb, &x);
                ip = ipv6(47, V6_OUTER_A, V6_OUTER_B, &g);
                f = eth(0x86dd, &ip);
                snprintf(what, sizeof what, "erspan III o=%d", o);
                expect_ok(what, 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5080,
                          14 + 40 + 8 + 12 + (o ? 8u : 0u) + 14 + 28, SIP, SIP_LEN);
                expect_truncations(what, 1, &f, f.n);
        }
        x = erspan3(2, false, &in4);
        g = gre(GRE_S, 0x22eb, &x);
        ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
        expect_ok("erspan III frame type ip", 101, &ip, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5080,
                  20 + 8 + 12 + 28, SIP, SIP_LEN);
        x = erspan3(1, false, &ein4);
        g = gre(GRE_S, 0x22eb, &x);
        ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
        expect_err("erspan III frame type 1", 101, &ip, DECODE_E_NOT_IP);
        x = erspan3(0, false, &ein4);
        x.b[0] = (uint8_t)(0x10 | (x.b[0] & 0x0f));
        g = gre(GRE_S, 0x22eb, &x);
        ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
        expect_err("erspan III bad version", 101, &ip, DECODE_E_BAD_TUNNEL);
        x = erspan3(0, true, &ein4);
        x.n = 12 + 5; /* sub-header announced, cut by the outer length */
        g = gre(GRE_S, 0x22eb, &x);
        ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
        expect_err("erspan III sub-header cut", 101, &ip, DECODE_E_BAD_TUNNEL);

        /* GRE that is not for us, or malformed. */
        g = gre(0x0001, 0x880b, &in4); /* PPTP enhanced GRE carrying PPP */
        ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
        expect_err("gre version 1", 101, &ip, DECODE_E_NOT_IP);
        g = gre(0, 0x8847, &in4); /* MPLS */
        ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
        expect_err("gre mpls", 101, &ip, DECODE_E_NOT_IP);
        g = gre(0x4000, 0x0800, &in4); /* RFC 1701 routing present */
        ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
        expect_err("gre routing bit", 101, &ip, DECODE_E_BAD_TUNNEL);
        g = gre(GRE_C | GRE_K | GRE_S, 0x0800, &in4);
        g.n = 10; /* optional fields cut by the outer length */
        ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
        expect_err("gre options cut", 101, &ip, DECODE_E_BAD_TUNNEL);
        g = gre(0, 0x0800, &in4);
        g.n = 3;
        ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
        expect_err("gre header cut", 101, &ip, DECODE_E_BAD_TUNNEL);
        x = ein4;
        x.n = 13;
        g = gre(0, 0x6558, &x);
        ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
        expect_err("gre teb ethernet cut", 101, &ip, DECODE_E_BAD_TUNNEL);
        g = gre(0, 0x0800, &in6);
        ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
        expect_err("gre 0x0800 carrying v6", 101, &ip, DECODE_E_BAD_IP);
        x = in4;
        x.b[3] = (uint8_t)(x.b[3] + 1); /* inner total length one past GRE end */
        g = gre(0, 0x0800, &x);
        ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
        expect_err("gre inner length past outer", 101, &ip, DECODE_E_BAD_IP);

        /* VXLAN: cloud traffic mirroring (UDP to 4789, random source port). */
        x = vxlan(0x08, &ein4);
        u = udp(49152, 4789, x.b, x.n, 0);
        ip = ipv4(17, V4_OUTER_A, V4_OUTER_B, &u, 9, 0, 5, 0);
        f = eth(0x0800, &ip);
        expect_ok("vxlan", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5080, 14 + 28 + 8 + 14 + 28,
                  SIP, SIP_LEN);
        expect_truncations("vxlan", 1, &f, f.n);
        x = vxlan(0x88, &ein6); /* group policy G bit */
        u = udp(49152, 4789, x.b, x.n, 0);
        ip = ipv6(17, V6_OUTER_A, V6_OUTER_B, &u);
        f = eth(0x86dd, &ip);
        expect_ok("vxlan gbp over v6", 1, &f, TRANSPORT_TCP, 6, V6_A, V6_B, 5061, 41000,
                  14 + 48 + 8 + 14 + 60, SIP, SIP_LEN);
        /* SIP sent to port 4789 is not VXLAN ('I' = 0x49 has reserved bits). */
        u = udp(5060, 4789, SIP, SIP_LEN, 0);
        memcpy(u.b + 8, "INVITE", 6);
        ip = ipv4(17, V4_A, V4_B, &u, 9, 0, 5, 0);
        expect_ok("udp to 4789 that is not vxlan", 101, &ip, TRANSPORT_UDP, 4, V4_A, V4_B, 5060,
                  4789, 28, u.b + 8, SIP_LEN);
        /* Without the I flag, or with a reserved flag bit, it is plain UDP. */
        static const uint8_t not_vxlan[] = {0x00, 0x0c, 0x48, 0x18, 0x09};
        for (size_t i = 0; i < sizeof not_vxlan; i++) {
                x = vxlan(not_vxlan[i], &ein4);
                u = udp(49152, 4789, x.b, x.n, 0);
                ip = ipv4(17, V4_OUTER_A, V4_OUTER_B, &u, 9, 0, 5, 0);
                snprintf(what, sizeof what, "vxlan flags %02x is plain udp", not_vxlan[i]);
                expect_ok(what, 101, &ip, TRANSPORT_UDP, 4, V4_OUTER_A, V4_OUTER_B, 49152, 4789, 28,
                          x.b, x.n);
        }
        x = vxlan(0x08, &ein4);
        u = udp(49152, 4789, x.b, 6, 0);
        ip = ipv4(17, V4_OUTER_A, V4_OUTER_B, &u, 9, 0, 5, 0);
        expect_err("vxlan header cut by udp length", 101, &ip, DECODE_E_BAD_TUNNEL);
        u = udp(49152, 4789, x.b, 8 + 10, 0);
        ip = ipv4(17, V4_OUTER_A, V4_OUTER_B, &u, 9, 0, 5, 0);
        expect_err("vxlan inner ethernet cut", 101, &ip, DECODE_E_BAD_TUNNEL);
        x = vxlan(0x08, &ein4);
        x.n -= 3; /* inner IP total length past the UDP datagram */
        u = udp(49152, 4789, x.b, x.n, 0);
        ip = ipv4(17, V4_OUTER_A, V4_OUTER_B, &u, 9, 0, 5, 0);
        expect_err("vxlan inner datagram cut", 101, &ip, DECODE_E_BAD_IP);
        x = vxlan(0x08, &in4);
        x.b[8] = 0x08; /* looks like an Ethernet with ethertype from IP bytes */
        u = udp(49152, 4789, x.b, x.n, 0);
        ip = ipv4(17, V4_OUTER_A, V4_OUTER_B, &u, 9, 0, 5, 0);
        {
                DecodedPacket p;
                fill_sentinel(&p);
                DecodeVerdict v = decb(101, &ip, &p);
                CHECK(v != DECODE_OK, "vxlan with raw ip inside decoded: %s",
                      decode_verdict_name(v));
        }

        /* Geneve: Ethernet or IP inside, options skipped. */
        x = geneve(0, 0x6558, 2, &ein4);
        u = udp(49152, 6081, x.b, x.n, 0);
        ip = ipv4(17, V4_OUTER_A, V4_OUTER_B, &u, 9, 0, 5, 0);
        f = eth(0x0800, &ip);
        expect_ok("geneve ethernet", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5080,
                  14 + 28 + 16 + 14 + 28, SIP, SIP_LEN);
        expect_truncations("geneve ethernet", 1, &f, f.n);
        x = geneve(0, 0x86dd, 0, &in6);
        u = udp(49152, 6081, x.b, x.n, 0);
        ip = ipv4(17, V4_OUTER_A, V4_OUTER_B, &u, 9, 0, 5, 0);
        expect_ok("geneve ipv6", 101, &ip, TRANSPORT_TCP, 6, V6_A, V6_B, 5061, 41000, 28 + 8 + 60,
                  SIP, SIP_LEN);
        x = geneve(1, 0x6558, 0, &ein4);
        u = udp(49152, 6081, x.b, x.n, 0);
        ip = ipv4(17, V4_OUTER_A, V4_OUTER_B, &u, 9, 0, 5, 0);
        expect_ok("geneve version 1 is plain udp", 101, &ip, TRANSPORT_UDP, 4, V4_OUTER_A,
                  V4_OUTER_B, 49152, 6081, 28, x.b, x.n);
        x = geneve(0, 0x6558, 63, &ein4); /* options longer than the datagram */
        x.n = 8 + 20;
        u = udp(49152, 6081, x.b, x.n, 0);
        ip = ipv4(17, V4_OUTER_A, V4_OUTER_B, &u, 9, 0, 5, 0);
        expect_err("geneve options past datagram", 101, &ip, DECODE_E_BAD_TUNNEL);

        /* Depth: tunnels of every kind count against one limit of four. */
        for (int levels = 1; levels <= 5; levels++) {
                Buf cur = in4;
                size_t off = 28;
                for (int i = 0; i < levels; i++) {
                        Buf e, w;
                        switch (i % 3) {
                        case 0: /* GRE */
                                g = gre(0, 0x0800, &cur);
                                cur = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
                                off += 24;
                                break;
                        case 1: /* VXLAN */
                                e = eth(0x0800, &cur);
                                w = vxlan(0x08, &e);
                                u = udp(1, 4789, w.b, w.n, 0);
                                cur = ipv4(17, V4_OUTER_A, V4_OUTER_B, &u, 9, 0, 5, 0);
                                off += 14 + 8 + 28;
                                break;
                        default: /* IP in IP */
                                cur = ipv4(4, V4_OUTER_A, V4_OUTER_B, &cur, 9, 0, 5, 0);
                                off += 20;
                                break;
                        }
                }
                snprintf(what, sizeof what, "mixed nesting %d", levels);
                if (levels <= 4)
                        expect_ok(what, 101, &cur, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5080, off,
                                  SIP, SIP_LEN);
                else
                        expect_err(what, 101, &cur, DECODE_E_BAD_TUNNEL);
        }

        /* An inner fragment is reported with the inner addresses. */
        {
                Buf frag = ipv4(17, V4_A, V4_B, &u, 55, 0x2000, 5, 0);
                DecodedPacket p;
                DecodeVerdict v;

                u = udp(5060, 5080, SIP, SIP_LEN, 0);
                frag = ipv4(17, V4_A, V4_B, &u, 55, 0x2000, 5, 0);
                g = gre(0, 0x0800, &frag);
                ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 9, 0, 5, 0);
                fill_sentinel(&p);
                v = decb(101, &ip, &p);
                CHECK(v == DECODE_E_FRAGMENT, "gre inner fragment: %s", decode_verdict_name(v));
                if (v == DECODE_E_FRAGMENT) {
                        CHECK(addr_is(&p.src, 4, V4_A) && p.ip_id == 55 && p.ip_proto == 17 &&
                                  p.transport == TRANSPORT_NONE && p.src.port == 0,
                              "gre inner fragment fields");
                }
                /* An outer fragment of a GRE packet reassembles through decode_ip_payload. */
                g = gre(GRE_K, 0x6558, &ein4);
                ip = ipv4(47, V4_OUTER_A, V4_OUTER_B, &g, 56, 0x2000, 5, 0);
                fill_sentinel(&p);
                v = decb(101, &ip, &p);
                CHECK(v == DECODE_E_FRAGMENT && p.ip_proto == 47, "gre outer fragment: %s",
                      decode_verdict_name(v));
                if (v == DECODE_E_FRAGMENT) {
                        v = decode_ip_payload(p.ip_proto, p.payload, p.payload_len, &p);
                        CHECK(v == DECODE_OK && addr_is(&p.src, 4, V4_A) && p.src.port == 5060,
                              "gre reassembled: %s", decode_verdict_name(v));
                }
        }
}

int main(void)
{
        test_tunnels();
        test_gre_vxlan();
        free(heap);
        heap = NULL;
        return check_exit("decode_tunnel");
}
