/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for parser/decode.c: IP and transport.
 *
 * IPv4 header checks, UDP and TCP headers, IPv6 extension headers, and
 * fragments (reported as such, and reassembled through
 * decode_ip_payload()).
 */
#include "decode_frames.h"

static void test_ipv4_header(void)
{
        Buf u = udp(5060, 5060, SIP, SIP_LEN, 0);
        Buf ip, f;

        ip = ipv4(17, V4_A, V4_B, &u, 1, 0, 7, 0); /* 8 bytes of options */
        f = eth(0x0800, &ip);
        expect_ok("ipv4 options", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5060, 14 + 28 + 8, SIP,
                  SIP_LEN);
        expect_truncations("ipv4 options", 1, &f, f.n);

        ip = ipv4(17, V4_A, V4_B, &u, 1, 0, 4, 0);
        f = eth(0x0800, &ip);
        expect_err("ihl 4", 1, &f, DECODE_E_BAD_IP);
        ip = ipv4(17, V4_A, V4_B, &u, 1, 0, 0, 0);
        f = eth(0x0800, &ip);
        expect_err("ihl 0", 1, &f, DECODE_E_BAD_IP);
        ip = ipv4(17, V4_A, V4_B, &u, 1, 0, 6, 20);
        f = eth(0x0800, &ip);
        expect_err("total length < ihl", 1, &f, DECODE_E_BAD_IP);
        ip = ipv4(17, V4_A, V4_B, &u, 1, 0, 5, 19);
        f = eth(0x0800, &ip);
        expect_err("total length 19", 1, &f, DECODE_E_BAD_IP);
        ip = ipv4(17, V4_A, V4_B, &u, 1, 0, 5, (int)(20 + u.n + 1));
        f = eth(0x0800, &ip);
        expect_err("total length beyond caplen", 1, &f, DECODE_E_TRUNCATED);
        ip = v4(17, &u);
        ip.b[0] = 0x65;
        f = eth(0x0800, &ip);
        expect_err("version 6 nibble in v4", 1, &f, DECODE_E_BAD_IP);

        /* TSO on the capturing host leaves a total length of 0. */
        ip = ipv4(17, V4_A, V4_B, &u, 1, 0, 5, TOTAL_ZERO);
        f = eth(0x0800, &ip);
        expect_ok("tso total length 0", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5060, 42, SIP,
                  SIP_LEN);

        /* Reserved + DF bits are not fragmentation. */
        ip = ipv4(17, V4_A, V4_B, &u, 1, 0xc000, 5, 0);
        f = eth(0x0800, &ip);
        expect_ok("df + reserved", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5060, 42, SIP,
                  SIP_LEN);

        Buf icmp = {.n = 0};
        putfill(&icmp, 8, 16);
        ip = v4(1, &icmp);
        f = eth(0x0800, &ip);
        expect_err("icmp", 1, &f, DECODE_E_NOT_TRANSPORT);
        ip = v4(50, &icmp);
        f = eth(0x0800, &ip);
        expect_err("esp", 1, &f, DECODE_E_NOT_TRANSPORT);
}

static void test_udp(void)
{
        Buf u, ip, f;

        u = udp(5060, 5060, SIP, SIP_LEN, 7);
        ip = v4(17, &u);
        f = eth(0x0800, &ip);
        expect_err("udp length 7", 1, &f, DECODE_E_BAD_TRANSPORT);
        u = udp(5060, 5060, SIP, SIP_LEN, (int)(8 + SIP_LEN + 1));
        ip = v4(17, &u);
        f = eth(0x0800, &ip);
        expect_err("udp length beyond ip", 1, &f, DECODE_E_BAD_TRANSPORT);
        u = udp(5060, 5060, NULL, 0, 0);
        ip = v4(17, &u);
        f = eth(0x0800, &ip);
        expect_err("empty udp", 1, &f, DECODE_E_EMPTY);
        u = udp(5060, 5060, "x", 1, 0);
        u.n = 6; /* IP says 6 bytes of UDP */
        ip = v4(17, &u);
        f = eth(0x0800, &ip);
        expect_err("udp header cut by ip length", 1, &f, DECODE_E_BAD_TRANSPORT);
        ip = v6(17, &u);
        f = eth(0x86dd, &ip);
        expect_err("udp header cut by ipv6 length", 1, &f, DECODE_E_BAD_TRANSPORT);
}

static void test_tcp(void)
{
        Buf t, ip, f;
        DecodedPacket p;

        t = tcp(40000, 5060, 0xdeadbeef, 0x18, 3, SIP, SIP_LEN);
        ip = v4(6, &t);
        f = eth(0x0800, &ip);
        expect_ok("tcp options", 1, &f, TRANSPORT_TCP, 4, V4_A, V4_B, 40000, 5060, 14 + 20 + 32,
                  SIP, SIP_LEN);
        fill_sentinel(&p);
        if (decb(1, &f, &p) == DECODE_OK) {
                CHECK(p.tcp_seq == 0xdeadbeef, "tcp seq %08x", p.tcp_seq);
                CHECK(p.tcp_flags == (DECODE_TCP_PSH | DECODE_TCP_ACK), "tcp flags %02x",
                      p.tcp_flags);
        }
        expect_truncations("tcp options", 1, &f, f.n);

        t = tcp(40000, 5060, 100, DECODE_TCP_SYN, 2, NULL, 0);
        ip = v6(6, &t);
        f = eth(0x86dd, &ip);
        expect_ok("tcp syn v6", 1, &f, TRANSPORT_TCP, 6, V6_A, V6_B, 40000, 5060, 14 + 40 + 28,
                  NULL, 0);
        fill_sentinel(&p);
        if (decb(1, &f, &p) == DECODE_OK) {
                CHECK(p.tcp_flags == DECODE_TCP_SYN, "syn flags %02x", p.tcp_flags);
                CHECK(p.tcp_seq == 100, "syn seq %u", p.tcp_seq);
        }
        t = tcp(40000, 5060, 100, DECODE_TCP_FIN | DECODE_TCP_ACK, 0, NULL, 0);
        ip = v4(6, &t);
        f = eth(0x0800, &ip);
        putfill(&f, 0, 6); /* padded to 60 */
        expect_ok("tcp fin padded", 1, &f, TRANSPORT_TCP, 4, V4_A, V4_B, 40000, 5060, 54, NULL, 0);

        t = tcp(40000, 5060, 1, 0x10, 0, SIP, SIP_LEN);
        t.b[12] = 0x40; /* data offset 4 */
        ip = v4(6, &t);
        f = eth(0x0800, &ip);
        expect_err("tcp data offset 4", 1, &f, DECODE_E_BAD_TRANSPORT);
        t = tcp(40000, 5060, 1, 0x10, 0, NULL, 0);
        t.b[12] = 0xf0; /* data offset 15 = 60 bytes, only 20 there */
        ip = v4(6, &t);
        f = eth(0x0800, &ip);
        expect_err("tcp data offset past ip end", 1, &f, DECODE_E_BAD_TRANSPORT);
        t.n = 12;
        ip = v4(6, &t);
        f = eth(0x0800, &ip);
        expect_err("tcp header cut by ip length", 1, &f, DECODE_E_BAD_TRANSPORT);
}

static void test_ipv6_ext(void)
{
        Buf u = udp(5070, 5060, SIP, SIP_LEN, 0);
        Buf x = {.n = 0}, ip, f;
        size_t ext_len;

        ext_hdr(&x, 43, 0); /* hop-by-hop -> routing */
        ext_hdr(&x, 60, 2); /* routing (24 bytes) -> dstopts */
        ext_hdr(&x, 51, 0); /* dstopts -> AH */
        put8(&x, 135);      /* AH -> mobility, payload len 4 = 24 bytes */
        put8(&x, 4);
        putfill(&x, 0, 22);
        ext_hdr(&x, 17, 1); /* mobility (16 bytes) -> UDP */
        ext_len = x.n;
        putbuf(&x, &u);
        ip = v6(0, &x);
        f = eth(0x86dd, &ip);
        expect_ok("v6 ext chain", 1, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5070, 5060,
                  14 + 40 + ext_len + 8, SIP, SIP_LEN);
        expect_truncations("v6 ext chain", 1, &f, f.n);

        /* Eight extension headers are fine, nine exceed the bound. */
        for (int count = 8; count <= 9; count++) {
                x.n = 0;
                for (int i = 0; i < count; i++)
                        ext_hdr(&x, i == count - 1 ? 17 : 60, 0);
                ext_len = x.n;
                putbuf(&x, &u);
                ip = v6(60, &x);
                f = eth(0x86dd, &ip);
                if (count == 8)
                        expect_ok("8 ext headers", 1, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5070, 5060,
                                  14 + 40 + ext_len + 8, SIP, SIP_LEN);
                else
                        expect_err("9 ext headers", 1, &f, DECODE_E_BAD_IP);
        }

        x.n = 0;
        ext_hdr(&x, 17, 3); /* claims 32 bytes */
        x.n = 16;           /* payload length says 16 */
        ip = v6(0, &x);
        f = eth(0x86dd, &ip);
        expect_err("ext header past payload length", 1, &f, DECODE_E_BAD_IP);

        x.n = 0;
        ext_hdr(&x, 59, 0);
        ip = v6(60, &x);
        f = eth(0x86dd, &ip);
        expect_err("no next header after dstopts", 1, &f, DECODE_E_NOT_TRANSPORT);
        x.n = 0;
        ip = v6(59, &x);
        f = eth(0x86dd, &ip);
        expect_err("no next header", 1, &f, DECODE_E_NOT_TRANSPORT);
        putfill(&x, 0, 8);
        ip = v6(58, &x);
        f = eth(0x86dd, &ip);
        expect_err("icmpv6", 1, &f, DECODE_E_NOT_TRANSPORT);

        /* Atomic fragment (RFC 6946): offset 0, M clear = not a fragment. */
        x.n = 0;
        put8(&x, 17);
        put8(&x, 0);
        put16(&x, 0);
        put32(&x, 0x11223344);
        putbuf(&x, &u);
        ip = v6(44, &x);
        f = eth(0x86dd, &ip);
        expect_ok("atomic fragment", 1, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5070, 5060, 14 + 48 + 8,
                  SIP, SIP_LEN);

        /* payload length past the capture */
        ip = v6(17, &u);
        ip.b[5] = (uint8_t)(ip.b[5] + 1);
        f = eth(0x86dd, &ip);
        expect_err("v6 payload length past caplen", 1, &f, DECODE_E_TRUNCATED);
        ip = v6(17, &u);
        ip.b[0] = 0x40;
        f = eth(0x86dd, &ip);
        expect_err("v6 ethertype carrying v4 nibble", 1, &f, DECODE_E_BAD_IP);
}

static void test_fragments(void)
{
        uint8_t body[600];
        Buf whole, part, ip, f, joined = {.n = 0};
        DecodedPacket p1, p2, p;
        DecodeVerdict v;

        for (size_t i = 0; i < sizeof body; i++)
                body[i] = (uint8_t)('a' + i % 26);
        whole = udp(5060, 5090, body, sizeof body, 0); /* 608 bytes of UDP */

        /* IPv4 first fragment: 480 bytes (UDP header + 472 body bytes), MF. */
        part = whole;
        part.n = 480;
        ip = ipv4(17, V4_A, V4_B, &part, 0xbeef, 0x2000, 5, 0);
        f = eth(0x0800, &ip);
        fill_sentinel(&p1);
        v = decb(1, &f, &p1);
        CHECK(v == DECODE_E_FRAGMENT, "v4 first fragment: %s", decode_verdict_name(v));
        CHECK(p1.ip_fragment && p1.ip_more_fragments && p1.ip_frag_offset == 0 &&
                  p1.ip_id == 0xbeef && p1.ip_proto == 17,
              "v4 first fragment fields: frag=%d mf=%d off=%u id=%u proto=%u", p1.ip_fragment,
              p1.ip_more_fragments, p1.ip_frag_offset, p1.ip_id, p1.ip_proto);
        CHECK(p1.payload == heap + 34 && p1.payload_len == 480, "v4 first fragment payload %zu",
              p1.payload_len);
        CHECK(p1.transport == TRANSPORT_NONE && p1.src.port == 0 && p1.dst.port == 0,
              "v4 first fragment: no transport");
        CHECK(addr_is(&p1.src, 4, V4_A) && addr_is(&p1.dst, 4, V4_B), "v4 fragment addresses");
        if (v == DECODE_E_FRAGMENT)
                putn(&joined, p1.payload, p1.payload_len);
        expect_truncations("v4 first fragment", 1, &f, f.n);

        /* IPv4 last fragment at offset 480 (field 60), MF clear. */
        part.n = 0;
        putn(&part, whole.b + 480, whole.n - 480);
        ip = ipv4(17, V4_A, V4_B, &part, 0xbeef, 60, 5, 0);
        f = eth(0x0800, &ip);
        fill_sentinel(&p2);
        v = decb(1, &f, &p2);
        CHECK(v == DECODE_E_FRAGMENT, "v4 last fragment: %s", decode_verdict_name(v));
        CHECK(p2.ip_fragment && !p2.ip_more_fragments && p2.ip_frag_offset == 480 &&
                  p2.ip_id == 0xbeef,
              "v4 last fragment fields: mf=%d off=%u id=%u", p2.ip_more_fragments,
              p2.ip_frag_offset, p2.ip_id);
        CHECK(p2.payload_len == whole.n - 480, "v4 last fragment len %zu", p2.payload_len);
        if (v == DECODE_E_FRAGMENT)
                putn(&joined, p2.payload, p2.payload_len);

        /* Middle fragment: offset and MF together. */
        ip = ipv4(17, V4_A, V4_B, &part, 1, 0x2000 | 185, 5, 0);
        fill_sentinel(&p);
        v = decb(101, &ip, &p);
        CHECK(v == DECODE_E_FRAGMENT && p.ip_frag_offset == 1480 && p.ip_more_fragments,
              "v4 middle fragment: %s off=%u", decode_verdict_name(v), p.ip_frag_offset);
        ip = ipv4(17, V4_A, V4_B, &part, 1, 0x1fff, 5, 0);
        fill_sentinel(&p);
        v = decb(101, &ip, &p);
        CHECK(v == DECODE_E_FRAGMENT && p.ip_frag_offset == 65528, "v4 max offset: off=%u",
              p.ip_frag_offset);

        /* The reassembler's view: joined payloads decode as the whole datagram. */
        p = p2;
        v = decode_ip_payload(17, joined.b, joined.n, &p);
        CHECK(v == DECODE_OK, "v4 reassembled: %s", decode_verdict_name(v));
        if (v == DECODE_OK) {
                CHECK(p.transport == TRANSPORT_UDP && p.src.port == 5060 && p.dst.port == 5090,
                      "v4 reassembled ports %u %u", p.src.port, p.dst.port);
                CHECK(!p.ip_fragment, "v4 reassembled still marked fragment");
                CHECK(p.payload_len == sizeof body && memcmp(p.payload, body, sizeof body) == 0,
                      "v4 reassembled payload");
                CHECK(addr_is(&p.src, 4, V4_A), "v4 reassembled src");
        }
        p = p2;
        CHECK(decode_ip_payload(17, joined.b, 7, &p) == DECODE_E_BAD_TRANSPORT,
              "reassembled short udp");
        CHECK(memcmp(&p, &p2, sizeof p) == 0, "decode_ip_payload touched out on error");

        /* IPv6: hop-by-hop, then fragment header; first and last fragment. */
        Buf x = {.n = 0};
        joined.n = 0;
        ext_hdr(&x, 44, 0);
        put8(&x, 17);
        put8(&x, 0);
        put16(&x, 0 | 1); /* offset 0, M */
        put32(&x, 0xcafef00d);
        putn(&x, whole.b, 304);
        ip = v6(0, &x);
        f = sll(0x86dd, &ip);
        fill_sentinel(&p1);
        v = decb(113, &f, &p1);
        CHECK(v == DECODE_E_FRAGMENT, "v6 first fragment: %s", decode_verdict_name(v));
        CHECK(p1.ip_fragment && p1.ip_more_fragments && p1.ip_frag_offset == 0 &&
                  p1.ip_id == 0xcafef00d && p1.ip_proto == 17,
              "v6 first fragment fields: mf=%d off=%u id=%x proto=%u", p1.ip_more_fragments,
              p1.ip_frag_offset, p1.ip_id, p1.ip_proto);
        CHECK(p1.payload == heap + 16 + 40 + 16 && p1.payload_len == 304,
              "v6 first fragment payload %zu", p1.payload_len);
        CHECK(addr_is(&p1.src, 6, V6_A) && addr_is(&p1.dst, 6, V6_B), "v6 fragment addresses");
        if (v == DECODE_E_FRAGMENT)
                putn(&joined, p1.payload, p1.payload_len);
        expect_truncations("v6 first fragment", 113, &f, f.n);

        x.n = 0;
        put8(&x, 17);
        put8(&x, 0);
        put16(&x, 304); /* offset 304 bytes = 38 units << 3, M clear */
        put32(&x, 0xcafef00d);
        putn(&x, whole.b + 304, whole.n - 304);
        ip = v6(44, &x);
        f = eth(0x86dd, &ip);
        fill_sentinel(&p2);
        v = decb(1, &f, &p2);
        CHECK(v == DECODE_E_FRAGMENT, "v6 last fragment: %s", decode_verdict_name(v));
        CHECK(!p2.ip_more_fragments && p2.ip_frag_offset == 304 && p2.ip_id == 0xcafef00d,
              "v6 last fragment fields: mf=%d off=%u", p2.ip_more_fragments, p2.ip_frag_offset);
        CHECK(p2.payload_len == whole.n - 304, "v6 last fragment len %zu", p2.payload_len);
        if (v == DECODE_E_FRAGMENT)
                putn(&joined, p2.payload, p2.payload_len);
        p = p2;
        v = decode_ip_payload(p2.ip_proto, joined.b, joined.n, &p);
        CHECK(v == DECODE_OK && p.src.port == 5060 && p.dst.port == 5090 &&
                  p.payload_len == sizeof body && addr_is(&p.dst, 6, V6_B),
              "v6 reassembled: %s", decode_verdict_name(v));
}

int main(void)
{
        test_ipv4_header();
        test_udp();
        test_tcp();
        test_ipv6_ext();
        test_fragments();
        free(heap);
        heap = NULL;
        return check_exit("decode_ip");
}
