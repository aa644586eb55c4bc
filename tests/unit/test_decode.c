/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for parser/decode.c.
 *
 * Part 1 builds frames byte by byte for every link type and the IP/transport
 * cases decode.h promises to handle. Each frame is decoded from a heap copy of
 * exactly its length, so an over-read shows up under AddressSanitizer.
 *
 * Part 2 reads real captures from the corpora (argv[1]) with libpcap and
 * checks verdict counts and chosen frames against what tshark reports for
 * them (the tshark command lines are quoted beside each expectation).
 */
#include "decode.h"
#include "check.h"
#define PACKET_BUF_MAX 8192
#include "packet.h"
#include "pcapread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- builders */

static const uint8_t V4_A[4] = {10, 0, 0, 1};
static const uint8_t V4_B[4] = {10, 0, 0, 2};
static const uint8_t V4_OUTER_A[4] = {192, 0, 2, 1};
static const uint8_t V4_OUTER_B[4] = {192, 0, 2, 2};
static const uint8_t V6_A[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t V6_B[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const uint8_t V6_OUTER_A[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa};
static const uint8_t V6_OUTER_B[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xb};

static const char SIP[] = "OPTIONS sip:a@example.com SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n";
#define SIP_LEN (sizeof SIP - 1)

/* RFC 768 header + payload; ulen_override 0 = correct length. */
static Buf udp(uint16_t sport, uint16_t dport, const void *pl, size_t n, int ulen_override)
{
        Buf b = {.n = 0};
        put16(&b, sport);
        put16(&b, dport);
        put16(&b, ulen_override ? (uint16_t)ulen_override : (uint16_t)(8 + n));
        put16(&b, 0);
        putn(&b, pl, n);
        return b;
}

/* RFC 9293 header with optwords 32-bit words of options (MSS, SACK-ok, NOPs). */
static Buf tcp(uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags, unsigned optwords,
               const void *pl, size_t n)
{
        Buf b = {.n = 0};
        put16(&b, sport);
        put16(&b, dport);
        put32(&b, seq);
        put32(&b, 0x01020304);
        put16(&b, (uint16_t)(((5 + optwords) << 12) | flags));
        put16(&b, 65535);
        put16(&b, 0);
        put16(&b, 0);
        for (unsigned i = 0; i < optwords; i++) {
                if (i == 0) { /* MSS 1460 */
                        put8(&b, 2);
                        put8(&b, 4);
                        put16(&b, 1460);
                } else if (i == 1) { /* NOP NOP SACK-permitted */
                        put8(&b, 1);
                        put8(&b, 1);
                        put8(&b, 4);
                        put8(&b, 2);
                } else {
                        putfill(&b, 1, 4);
                }
        }
        putn(&b, pl, n);
        return b;
}

/*
 * RFC 791 header around inner. frag = flags|offset field as on the wire.
 * ihl_words > 5 adds NOP options; total_override 0 = correct total length,
 * TOTAL_ZERO = a total length field of 0.
 */
#define TOTAL_ZERO (-1)
static Buf ipv4(uint8_t proto, const uint8_t src[4], const uint8_t dst[4], const Buf *inner,
                uint16_t id, uint16_t frag, unsigned ihl_words, int total_override)
{
        Buf b = {.n = 0};
        put8(&b, (uint8_t)(0x40 | (ihl_words & 0x0f)));
        put8(&b, 0);
        if (total_override == TOTAL_ZERO)
                put16(&b, 0);
        else if (total_override != 0)
                put16(&b, (uint16_t)total_override);
        else
                put16(&b, (uint16_t)(ihl_words * 4 + inner->n));
        put16(&b, id);
        put16(&b, frag);
        put8(&b, 64);
        put8(&b, proto);
        put16(&b, 0);
        putn(&b, src, 4);
        putn(&b, dst, 4);
        for (unsigned i = 5; i < ihl_words; i++)
                put32(&b, 0x01010101);
        putbuf(&b, inner);
        return b;
}

static Buf v4(uint8_t proto, const Buf *inner)
{
        return ipv4(proto, V4_A, V4_B, inner, 0x1234, 0x4000 /* DF */, 5, 0);
}

/* RFC 8200 fixed header; the caller passes extension headers inside inner. */
static Buf ipv6(uint8_t next, const uint8_t src[16], const uint8_t dst[16], const Buf *inner)
{
        Buf b = {.n = 0};
        put32(&b, 0x60000000);
        put16(&b, (uint16_t)inner->n);
        put8(&b, next);
        put8(&b, 64);
        putn(&b, src, 16);
        putn(&b, dst, 16);
        putbuf(&b, inner);
        return b;
}

static Buf v6(uint8_t next, const Buf *inner)
{
        return ipv6(next, V6_A, V6_B, inner);
}

/* Generic extension header of (len8 + 1) * 8 bytes (hop-by-hop, routing, ...). */
static void ext_hdr(Buf *b, uint8_t next, uint8_t len8)
{
        put8(b, next);
        put8(b, len8);
        putfill(b, 0, (size_t)(len8 + 1) * 8 - 2);
}

static Buf eth_tags(const uint16_t *tpids, size_t ntags, uint16_t ethertype, const Buf *inner)
{
        static const uint8_t macs[12] = {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6};
        Buf b = {.n = 0};
        putn(&b, macs, sizeof macs);
        for (size_t i = 0; i < ntags; i++) {
                put16(&b, tpids[i]);
                put16(&b, (uint16_t)(100 + i)); /* TCI: VLAN id */
        }
        put16(&b, ethertype);
        putbuf(&b, inner);
        return b;
}

static Buf eth(uint16_t ethertype, const Buf *inner)
{
        return eth_tags(NULL, 0, ethertype, inner);
}

static Buf sll(uint16_t proto, const Buf *inner)
{
        Buf b = {.n = 0};
        put16(&b, 0); /* packet type: to us */
        put16(&b, 1); /* ARPHRD_ETHER */
        put16(&b, 6); /* address length */
        putfill(&b, 0xaa, 6);
        putfill(&b, 0, 2);
        put16(&b, proto);
        putbuf(&b, inner);
        return b;
}

static Buf sll2(uint16_t proto, const Buf *inner)
{
        Buf b = {.n = 0};
        put16(&b, proto);
        put16(&b, 0); /* reserved */
        put32(&b, 3); /* ifindex */
        put16(&b, 1); /* ARPHRD_ETHER */
        put8(&b, 4);  /* outgoing */
        put8(&b, 6);
        putfill(&b, 0xbb, 6);
        putfill(&b, 0, 2);
        putbuf(&b, inner);
        return b;
}

static Buf af_hdr(uint32_t af, bool little, const Buf *inner)
{
        Buf b = {.n = 0};
        if (little)
                put32le(&b, af);
        else
                put32(&b, af);
        putbuf(&b, inner);
        return b;
}

/* RFC 2784/2890 GRE header; optional fields present when their flag is set. */
#define GRE_C 0x8000
#define GRE_K 0x2000
#define GRE_S 0x1000
static Buf gre(uint16_t flags, uint16_t proto, const Buf *inner)
{
        Buf b = {.n = 0};
        put16(&b, flags);
        put16(&b, proto);
        if (flags & GRE_C) {
                put16(&b, 0xbeef); /* checksum: not verified */
                put16(&b, 0);
        }
        if (flags & GRE_K)
                put32(&b, 0x01020304);
        if (flags & GRE_S)
                put32(&b, 42);
        putbuf(&b, inner);
        return b;
}

/* draft-foschiano-erspan-03 §4.1 type II header: ver 1, VLAN 10, session 7. */
static Buf erspan2(const Buf *frame)
{
        Buf b = {.n = 0};
        put16(&b, 0x1000 | 10);
        put16(&b, 7);
        put32(&b, 0x00000001);
        putbuf(&b, frame);
        return b;
}

/* §4.2 type III header; ft = frame type (0 Ethernet, 2 IP), o = sub-header. */
static Buf erspan3(uint8_t ft, bool o, const Buf *frame)
{
        Buf b = {.n = 0};
        put16(&b, 0x2000 | 10);
        put16(&b, 7);
        put32(&b, 0x11223344); /* timestamp */
        put16(&b, 0);          /* SGT */
        put8(&b, (uint8_t)((ft & 0x1f) << 2));
        put8(&b, o ? 1 : 0);
        if (o)
                putfill(&b, 0x5a, 8); /* platform specific sub-header */
        putbuf(&b, frame);
        return b;
}

/* RFC 7348 §5 header, VNI 5001. */
static Buf vxlan(uint8_t flags, const Buf *frame)
{
        Buf b = {.n = 0};
        put8(&b, flags);
        putfill(&b, 0, 3);
        put32(&b, 5001u << 8);
        putbuf(&b, frame);
        return b;
}

/* RFC 8926 §3.4 header with optwords 4-octet option words. */
static Buf geneve(uint8_t ver, uint16_t proto, unsigned optwords, const Buf *inner)
{
        Buf b = {.n = 0};
        put8(&b, (uint8_t)((ver << 6) | (optwords & 0x3f)));
        put8(&b, 0);
        put16(&b, proto);
        put32(&b, 5001u << 8);
        putfill(&b, 0, (size_t)optwords * 4);
        putbuf(&b, inner);
        return b;
}

/* ---------------------------------------------------------------- decoding */

/* Heap copy of exactly the frame bytes: ASan then flags any over-read. */
static uint8_t *heap;

static DecodeVerdict dec(int lt, const uint8_t *p, size_t n, DecodedPacket *out)
{
        free(heap);
        heap = malloc(n ? n : 1);
        if (heap == NULL) {
                fprintf(stderr, "out of memory\n");
                exit(1);
        }
        if (n)
                memcpy(heap, p, n);
        return decode_packet(lt, heap, n, out);
}

static DecodeVerdict decb(int lt, const Buf *f, DecodedPacket *out)
{
        return dec(lt, f->b, f->n, out);
}

static void fill_sentinel(DecodedPacket *p)
{
        memset(p, 0xa5, sizeof *p);
}

static bool is_sentinel(const DecodedPacket *p)
{
        DecodedPacket s;
        fill_sentinel(&s);
        return memcmp(p, &s, sizeof s) == 0;
}

static bool addr_is(const Endpoint *e, uint8_t family, const uint8_t *addr)
{
        uint8_t want[16] = {0};
        memcpy(want, addr, family == 4 ? 4 : 16);
        return e->family == family && memcmp(e->addr, want, 16) == 0;
}

/* Expect DECODE_OK with the given transport, ports, addresses and payload. */
static void expect_ok(const char *what, int lt, const Buf *f, Transport t, uint8_t family,
                      const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport,
                      size_t payload_off, const void *payload, size_t payload_len)
{
        DecodedPacket p;
        DecodeVerdict v;

        fill_sentinel(&p);
        v = decb(lt, f, &p);
        CHECK(v == DECODE_OK, "%s: verdict %s", what, decode_verdict_name(v));
        if (v != DECODE_OK)
                return;
        CHECK(p.transport == t, "%s: transport %s", what, decode_transport_name(p.transport));
        CHECK(p.ip_proto == (t == TRANSPORT_UDP ? 17 : 6), "%s: ip_proto %u", what, p.ip_proto);
        CHECK(addr_is(&p.src, family, src), "%s: src address/family %u", what, p.src.family);
        CHECK(addr_is(&p.dst, family, dst), "%s: dst address/family %u", what, p.dst.family);
        CHECK(p.src.port == sport, "%s: sport %u", what, p.src.port);
        CHECK(p.dst.port == dport, "%s: dport %u", what, p.dst.port);
        CHECK(!p.ip_fragment, "%s: marked fragment", what);
        CHECK(p.payload_len == payload_len, "%s: payload_len %zu want %zu", what, p.payload_len,
              payload_len);
        CHECK(p.payload == heap + payload_off, "%s: payload offset %td want %zu", what,
              p.payload - heap, payload_off);
        if (p.payload_len == payload_len && payload_len > 0)
                CHECK(memcmp(p.payload, payload, payload_len) == 0, "%s: payload bytes", what);
}

/* Expect verdict v != OK/FRAGMENT and *out untouched. */
static void expect_err(const char *what, int lt, const Buf *f, DecodeVerdict want)
{
        DecodedPacket p;
        DecodeVerdict v;

        fill_sentinel(&p);
        v = decb(lt, f, &p);
        CHECK(v == want, "%s: verdict %s want %s", what, decode_verdict_name(v),
              decode_verdict_name(want));
        CHECK(is_sentinel(&p), "%s: out was modified on %s", what, decode_verdict_name(v));
}

/*
 * Every proper prefix of a valid frame must be DECODE_E_TRUNCATED with *out
 * untouched, except prefixes that still hold the whole IP datagram (only
 * link-layer padding cut off), which must decode as the full frame does.
 */
static void expect_truncations(const char *what, int lt, const Buf *f, size_t datagram_end)
{
        DecodedPacket full, p;
        DecodeVerdict vfull = decb(lt, f, &full);

        CHECK(vfull == DECODE_OK || vfull == DECODE_E_FRAGMENT, "%s: full frame %s", what,
              decode_verdict_name(vfull));
        for (size_t k = 0; k < f->n; k++) {
                DecodeVerdict v;

                fill_sentinel(&p);
                v = dec(lt, f->b, k, &p);
                if (k >= datagram_end) {
                        CHECK(v == vfull, "%s: prefix %zu/%zu: %s, full frame %s", what, k, f->n,
                              decode_verdict_name(v), decode_verdict_name(vfull));
                        continue;
                }
                CHECK(v == DECODE_E_TRUNCATED, "%s: prefix %zu/%zu: %s", what, k, f->n,
                      decode_verdict_name(v));
                CHECK(is_sentinel(&p), "%s: prefix %zu: out modified", what, k);
        }
}

/* ------------------------------------------------------------ synthetic tests */

static void test_link_types(void)
{
        Buf u = udp(5060, 5062, SIP, SIP_LEN, 0);
        Buf ip4 = v4(17, &u), ip6 = v6(17, &u), f;
        static const struct {
                uint32_t af;
                bool little;
                bool v6;
        } nulls[] = {
            {2, true, false},  {2, false, false}, {10, true, true}, {24, true, true},
            {24, false, true}, {28, true, true},  {30, true, true}, {30, false, true},
        };

        f = eth(0x0800, &ip4);
        expect_ok("ethernet v4", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5062, 14 + 28, SIP,
                  SIP_LEN);
        f = eth(0x86dd, &ip6);
        expect_ok("ethernet v6", 1, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5062, 14 + 48, SIP,
                  SIP_LEN);
        f = sll(0x0800, &ip4);
        expect_ok("sll v4", 113, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5062, 16 + 28, SIP,
                  SIP_LEN);
        f = sll(0x86dd, &ip6);
        expect_ok("sll v6", 113, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5062, 16 + 48, SIP,
                  SIP_LEN);
        f = sll2(0x0800, &ip4);
        expect_ok("sll2 v4", 276, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5062, 20 + 28, SIP,
                  SIP_LEN);
        f = sll2(0x86dd, &ip6);
        expect_ok("sll2 v6", 276, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5062, 20 + 48, SIP,
                  SIP_LEN);
        f = sll(0x0806, &ip4);
        expect_err("sll arp", 113, &f, DECODE_E_NOT_IP);

        static const int raw_any[] = {101, 12, 14};
        for (size_t i = 0; i < sizeof raw_any / sizeof raw_any[0]; i++) {
                char what[64];
                snprintf(what, sizeof what, "raw %d v4", raw_any[i]);
                expect_ok(what, raw_any[i], &ip4, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5062, 28, SIP,
                          SIP_LEN);
                snprintf(what, sizeof what, "raw %d v6", raw_any[i]);
                expect_ok(what, raw_any[i], &ip6, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5062, 48, SIP,
                          SIP_LEN);
        }
        expect_ok("linktype ipv4", 228, &ip4, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5062, 28, SIP,
                  SIP_LEN);
        expect_ok("linktype ipv6", 229, &ip6, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5062, 48, SIP,
                  SIP_LEN);
        expect_err("linktype ipv4 carrying v6", 228, &ip6, DECODE_E_BAD_IP);
        expect_err("linktype ipv6 carrying v4", 229, &ip4, DECODE_E_BAD_IP);
        f = ip4;
        f.b[0] = 0x55;
        expect_err("raw version 5", 101, &f, DECODE_E_BAD_IP);

        for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++) {
                char what[64];
                snprintf(what, sizeof what, "null af %u %s", nulls[i].af,
                         nulls[i].little ? "le" : "be");
                f = af_hdr(nulls[i].af, nulls[i].little, nulls[i].v6 ? &ip6 : &ip4);
                if (nulls[i].v6)
                        expect_ok(what, 0, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5062, 4 + 48,
                                  SIP, SIP_LEN);
                else
                        expect_ok(what, 0, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5062, 4 + 28,
                                  SIP, SIP_LEN);
        }
        f = af_hdr(7, true, &ip4);
        expect_err("null unknown af", 0, &f, DECODE_E_NOT_IP);
        f = af_hdr(2, false, &ip4);
        expect_ok("loop af_inet", 108, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5062, 4 + 28, SIP,
                  SIP_LEN);
        f = af_hdr(24, false, &ip6);
        expect_ok("loop af_inet6", 108, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5062, 4 + 48, SIP,
                  SIP_LEN);
        f = af_hdr(2, true, &ip4);
        expect_err("loop is network order only", 108, &f, DECODE_E_NOT_IP);

        f = eth(0x0806, &ip4);
        expect_err("ethernet arp", 1, &f, DECODE_E_NOT_IP);
        f = eth(0x0026, &ip4);
        expect_err("802.3 length field", 1, &f, DECODE_E_NOT_IP);
        f = eth(0x0800, &ip6);
        expect_err("ethertype v4 carrying v6", 1, &f, DECODE_E_BAD_IP);
        expect_err("unknown linktype 105", 105, &ip4, DECODE_E_LINKTYPE);
        expect_err("unknown linktype -1", -1, &ip4, DECODE_E_LINKTYPE);
}

static void test_vlan(void)
{
        Buf u = udp(5060, 5060, SIP, SIP_LEN, 0);
        Buf ip4 = v4(17, &u), ip6 = v6(17, &u), f;
        static const uint16_t one[] = {0x8100};
        static const uint16_t qinq[] = {0x88a8, 0x8100};
        static const uint16_t old_qinq[] = {0x9100, 0x8100};
        static const uint16_t four[] = {0x88a8, 0x9100, 0x8100, 0x8100};
        static const uint16_t five[] = {0x88a8, 0x9100, 0x8100, 0x8100, 0x8100};

        f = eth_tags(one, 1, 0x0800, &ip4);
        expect_ok("802.1Q", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5060, 18 + 28, SIP, SIP_LEN);
        f = eth_tags(qinq, 2, 0x86dd, &ip6);
        expect_ok("802.1ad QinQ v6", 1, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5060, 22 + 48, SIP,
                  SIP_LEN);
        f = eth_tags(old_qinq, 2, 0x0800, &ip4);
        expect_ok("0x9100 QinQ", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5060, 22 + 28, SIP,
                  SIP_LEN);
        f = eth_tags(four, 4, 0x0800, &ip4);
        expect_ok("4 tags", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5060, 30 + 28, SIP, SIP_LEN);
        f = eth_tags(five, 5, 0x0800, &ip4);
        expect_err("5 tags exceed the bound", 1, &f, DECODE_E_NOT_IP);
        f = eth_tags(one, 1, 0x0806, &ip4);
        expect_err("tagged arp", 1, &f, DECODE_E_NOT_IP);
        f = sll(0x8100, &(Buf){.n = 0});
        put16(&f, 42);
        put16(&f, 0x0800);
        putbuf(&f, &ip4);
        expect_ok("sll with a vlan tag", 113, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5060, 20 + 28,
                  SIP, SIP_LEN);
}

static void test_padding(void)
{
        Buf u = udp(5060, 5060, "AB", 2, 0);
        Buf ip4 = v4(17, &u), f;
        Buf t = tcp(5060, 40000, 7, 0x18, 0, "XY", 2);
        Buf ip4t = v4(6, &t);
        Buf ip6 = v6(17, &u);

        /* 14 + 30 = 44 bytes; Ethernet pads to 60 with junk that must not leak in. */
        f = eth(0x0800, &ip4);
        putfill(&f, 0xee, 60 - f.n);
        expect_ok("padded udp", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5060, 42, "AB", 2);
        expect_truncations("padded udp", 1, &f, 14 + ip4.n);

        f = eth(0x0800, &ip4t);
        putfill(&f, 0x00, 60 - f.n);
        expect_ok("padded tcp", 1, &f, TRANSPORT_TCP, 4, V4_A, V4_B, 5060, 40000, 54, "XY", 2);

        f = eth(0x86dd, &ip6);
        putfill(&f, 0xee, 8);
        expect_ok("trailer after v6", 1, &f, TRANSPORT_UDP, 6, V6_A, V6_B, 5060, 5060, 62, "AB", 2);

        /* UDP length shorter than the IP payload: payload clamped to UDP length. */
        u = udp(5060, 5060, "ABCDEF", 6, 8 + 3);
        ip4 = v4(17, &u);
        f = eth(0x0800, &ip4);
        expect_ok("udp shorter than ip", 1, &f, TRANSPORT_UDP, 4, V4_A, V4_B, 5060, 5060, 42, "ABC",
                  3);
}

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

static void test_names(void)
{
        for (int i = 0; i < DECODE__MAX; i++) {
                const char *a = decode_verdict_name((DecodeVerdict)i);
                CHECK(a != NULL && strcmp(a, "unknown") != 0, "verdict %d has no name", i);
                for (const char *c = a; c && *c; c++)
                        CHECK((*c >= 'a' && *c <= 'z') || *c == '_',
                              "verdict name %s not a counter name", a);
                for (int j = 0; j < i; j++)
                        CHECK(strcmp(a, decode_verdict_name((DecodeVerdict)j)) != 0,
                              "verdict names %d and %d equal", i, j);
        }
        CHECK(strcmp(decode_verdict_name(DECODE_OK), "ok") == 0, "ok name");
        CHECK(strcmp(decode_verdict_name(DECODE__MAX), "unknown") == 0, "out of range name");
        CHECK(strcmp(decode_transport_name(TRANSPORT_UDP), "udp") == 0, "udp name");
        CHECK(strcmp(decode_transport_name(TRANSPORT_TCP), "tcp") == 0, "tcp name");
        CHECK(strcmp(decode_transport_name(TRANSPORT_NONE), "none") == 0, "none name");

        static const int supported[] = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276};
        static const int unsupported[] = {-1, 9, 105, 127, 147, 192, 65536};
        for (size_t i = 0; i < sizeof supported / sizeof supported[0]; i++) {
                CHECK(decode_linktype_supported(supported[i]), "linktype %d", supported[i]);
                CHECK(strcmp(decode_linktype_name(supported[i]), "unknown") != 0,
                      "linktype %d name", supported[i]);
        }
        for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
                CHECK(!decode_linktype_supported(unsupported[i]), "linktype %d", unsupported[i]);
                CHECK(strcmp(decode_linktype_name(unsupported[i]), "unknown") == 0,
                      "linktype %d name", unsupported[i]);
        }
        CHECK(strcmp(decode_linktype_name(1), "Ethernet") == 0, "ethernet name");
}

/* Deterministic mutation: valid frames with flipped bytes and random cuts. */
static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t next_rand(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (uint32_t)(rng >> 16);
}

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
                        unsigned flips = 1 + next_rand() % 4;

                        for (unsigned i = 0; i < flips; i++)
                                f.b[next_rand() % f.n] = (uint8_t)next_rand();
                        if (next_rand() % 4 == 0)
                                f.n = next_rand() % (f.n + 1);
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

/* ------------------------------------------------------------ real captures */

typedef struct {
        const char *file;
        int linktype; /* pcap_datalink() value */
        unsigned total, ok, udp, tcp, fragment, not_ip, not_transport;
} CaptureExpect;

/*
 * Counts from tshark 4.0 (defragmentation off so fragments stay fragments):
 *   total:    tshark -r F | wc -l
 *   udp/tcp:  tshark -r F -o ip.defragment:FALSE -o ipv6.defragment:FALSE -Y
 *             'udp && !tcp && NF' resp. 'tcp && NF', NF = '!icmp && !icmpv6 &&
 *             !(ip.flags.mf==1 || ip.frag_offset>0) && !ipv6.fraghdr'
 *   fragment: -Y '(ip.flags.mf==1 || ip.frag_offset>0) || ipv6.fraghdr'
 *   not_ip:   -Y 'arp';  not_transport: -Y 'icmp || igmp'
 * arkime/gtp-iphone carries GTP-U: every frame is outer UDP (port 2152) for us.
 * ~0u = not checked.
 */
static const CaptureExpect captures[] = {
    {"sngrep/ipv6frag.pcap", 113, 34, 30, 30, 0, 4, 0, 0},
    {"heplify/ipip0.pcap", 12, 8, 8, 8, 0, 0, 0, 0},
    {"sngrep/ipip.pcap", 1, 4, 4, 0, 4, 0, 0, 0},
    {"suricata-verify/sip-body-large__sip-body-large.pcap", 0, 16, 16, 0, 16, 0, 0, 0},
    {"zeek/sip-long-request-response-paths.pcap", 228, 2, 2, 2, 0, 0, 0, 0},
    {"arkime/gtp-iphone.pcap", 113, 106, 106, 106, 0, 0, 0, 0},
    {"gprshome-wireshark/sip.pcap", 1, 6627, 6469, 6440, 29, 33, 59, 66},
    {"sngrep/aaa.pcap", 1, 691, 647, 590, 57, 0, 44, 0},
    {"michalcab-isa/sip.pcap", 1, 175, 173, 173, 0, 0, 0, 2},
    {"michalcab-isa/sip.pcap.pcapng", 1, 175, 173, 173, 0, 0, 0, 2},
    {"tsytsykvitaliy-dfnfc/SIP.pcap", 1, 1511, 1511, 1451, 60, 0, 0, 0},
    {"ndpi/webex.pcap", 1, 1110, 1110, 38, 1072, 0, 0, 0},
    {"ndpi/sip_hello.pcapng", 1, 30, 30, 30, 0, 0, 0, 0},
    {"ndpi/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap", 1, 1552, 1552, 1552, 0, 0, 0, 0},
    {"maryls-laborator09/sip.pcap", 1, 195, 195, 195, 0, 0, 0, 0},
    {"suricata-verify/sip-tcp-method__sip-tcp.pcap", 1, 11, 11, 0, 11, 0, 0, 0},
    {"suricata-verify/sip-tcp-pattern-matching__sip.pcap", 1, 7, 7, 0, 7, 0, 0, 0},
    {"zeek/sip-junk-before-request.pcap", 1, 2, 2, 2, 0, 0, 0, 0},
    /* Fuzzed: only "every frame gets a verdict, nothing crashes". */
    {"ndpi/fuzz-2006-06-26-2594.pcap", 1, 691, ~0u, ~0u, ~0u, ~0u, ~0u, ~0u},
};

/* One frame to look at closely: tshark -r F -Y frame.number==N -T fields ... */
typedef struct {
        const char *file;
        unsigned frame;
        DecodeVerdict verdict;
        Transport transport;
        const char *src, *dst; /* endpoint_format() */
        size_t payload_len;
        uint32_t ip_id;       /* fragments */
        uint16_t frag_offset; /* fragments */
        bool more_fragments;  /* fragments */
        int tcp_flags;        /* -1 = not checked */
        int64_t tcp_seq;      /* -1 = not checked */
} FrameExpect;

static const FrameExpect frames[] = {
    /* ipv6.fraghdr.ident 0xb0647780, ipv6.fraghdr.offset 0 / 181 (x8 = 1448) */
    {"sngrep/ipv6frag.pcap", 1, DECODE_E_FRAGMENT, TRANSPORT_NONE,
     "[fd17:625c:f037:2:a00:27ff:feb9:1521]:0", "[fd17:625c:f037:2:a00:27ff:feb9:3519]:0", 1448,
     0xb0647780, 0, true, -1, -1},
    {"sngrep/ipv6frag.pcap", 2, DECODE_E_FRAGMENT, TRANSPORT_NONE,
     "[fd17:625c:f037:2:a00:27ff:feb9:1521]:0", "[fd17:625c:f037:2:a00:27ff:feb9:3519]:0", 251,
     0xb0647780, 1448, false, -1, -1},
    {"sngrep/ipv6frag.pcap", 3, DECODE_OK, TRANSPORT_UDP,
     "[fd17:625c:f037:2:a00:27ff:feb9:3519]:5062", "[fd17:625c:f037:2:a00:27ff:feb9:1521]:15060",
     422, 0, 0, false, -1, -1},
    /* raw IP, udp.length 1472 */
    {"heplify/ipip0.pcap", 1, DECODE_OK, TRANSPORT_UDP, "179.43.150.26:33489", "157.161.10.72:5060",
     1464, 0, 0, false, -1, -1},
    /* frame 2 is IP-in-IP: ip.src 10.15.196.229,10.15.193.31; tcp.len 621 */
    {"sngrep/ipip.pcap", 2, DECODE_OK, TRANSPORT_TCP, "10.15.193.31:33093", "10.15.197.103:5090",
     621, 0, 0, false, 0x18, 658869884},
    {"sngrep/ipip.pcap", 1, DECODE_OK, TRANSPORT_TCP, "10.15.197.103:5090", "10.15.193.31:33093",
     1103, 0, 0, false, 0x18, -1},
    /* NULL/loopback, AF 2 little-endian; SYN, data, FIN|ACK (tcp.seq_raw) */
    {"suricata-verify/sip-body-large__sip-body-large.pcap", 1, DECODE_OK, TRANSPORT_TCP,
     "127.0.0.1:59809", "127.0.0.1:5060", 0, 0, 0, false, 0x02, 2403313361},
    {"suricata-verify/sip-body-large__sip-body-large.pcap", 5, DECODE_OK, TRANSPORT_TCP,
     "127.0.0.1:59809", "127.0.0.1:5060", 16332, 0, 0, false, 0x10, 2403313362},
    {"suricata-verify/sip-body-large__sip-body-large.pcap", 13, DECODE_OK, TRANSPORT_TCP,
     "127.0.0.1:5060", "127.0.0.1:59809", 0, 0, 0, false, 0x11, 572270613},
    /* LINKTYPE_IPV4, udp.length 9571 */
    {"zeek/sip-long-request-response-paths.pcap", 1, DECODE_OK, TRANSPORT_UDP, "192.0.2.10:50600",
     "198.51.100.20:5060", 9563, 0, 0, false, -1, -1},
    /* IPv4 fragments: ip.id 0x0bd9, 480 + 88 bytes */
    {"gprshome-wireshark/sip.pcap", 135, DECODE_E_FRAGMENT, TRANSPORT_NONE, "192.168.1.104:0",
     "192.168.1.103:0", 480, 3033, 0, true, -1, -1},
    {"gprshome-wireshark/sip.pcap", 136, DECODE_E_FRAGMENT, TRANSPORT_NONE, "192.168.1.104:0",
     "192.168.1.103:0", 88, 3033, 480, false, -1, -1},
};

/* Reassembly through decode_ip_payload(): first + last fragment -> UDP. */
typedef struct {
        const char *file;
        unsigned first, last;
        uint16_t sport, dport;
        size_t udp_payload; /* udp.length - 8 of the reassembled datagram */
        const char *starts; /* sip.Method of the reassembled message */
} ReassemblyExpect;

static const ReassemblyExpect reassemblies[] = {
    {"sngrep/ipv6frag.pcap", 1, 2, 15060, 5062, 1699 - 8, "INVITE "},
    {"sngrep/ipv6frag.pcap", 4, 5, 5062, 25060, 1879 - 8, "INVITE "},
    {"gprshome-wireshark/sip.pcap", 135, 136, 51558, 5060, 568 - 8, "REGISTER "},
};

typedef struct {
        unsigned n, udp_ok, tcp_ok, counts[DECODE__MAX];
        const char *file;
} FrameCounts;

static void count_frame(int lt, const uint8_t *d, size_t caplen, void *ud)
{
        FrameCounts *c = ud;
        DecodedPacket pk;
        DecodeVerdict v = dec(lt, d, caplen, &pk);

        c->n++;
        if ((unsigned)v >= DECODE__MAX) {
                CHECK(false, "%s frame %u: verdict %d", c->file, c->n, (int)v);
                return;
        }
        c->counts[v]++;
        if (v == DECODE_OK)
                *(pk.transport == TRANSPORT_UDP ? &c->udp_ok : &c->tcp_ok) += 1;
}

static void check_counts(const char *dir, const CaptureExpect *e, int *skipped)
{
        char path[4096], err[PCAP_ERRBUF_SIZE];
        FrameCounts c = {.file = e->file};
        int lt = -1;
        long r;

        snprintf(path, sizeof path, "%s/pcaps/%s", dir, e->file);
        r = pcap_each(path, count_frame, &c, &lt, err, sizeof err);
        if (r < 0 && lt < 0) {
                fprintf(stderr, "skip %s: %s\n", e->file, err);
                (*skipped)++;
                return;
        }
        CHECK(r >= 0, "%s: read error %s", e->file, err);
        CHECK(lt == e->linktype, "%s: linktype %d want %d", e->file, lt, e->linktype);
        CHECK(decode_linktype_supported(lt), "%s: linktype %d unsupported", e->file, lt);
        unsigned n = c.n, udp_ok = c.udp_ok, tcp_ok = c.tcp_ok, *counts = c.counts;

        CHECK(n == e->total, "%s: %u frames want %u", e->file, n, e->total);
        if (e->ok != ~0u)
                CHECK(counts[DECODE_OK] == e->ok, "%s: ok %u want %u", e->file, counts[DECODE_OK],
                      e->ok);
        if (e->udp != ~0u)
                CHECK(udp_ok == e->udp, "%s: udp %u want %u", e->file, udp_ok, e->udp);
        if (e->tcp != ~0u)
                CHECK(tcp_ok == e->tcp, "%s: tcp %u want %u", e->file, tcp_ok, e->tcp);
        if (e->fragment != ~0u)
                CHECK(counts[DECODE_E_FRAGMENT] == e->fragment, "%s: fragments %u want %u", e->file,
                      counts[DECODE_E_FRAGMENT], e->fragment);
        if (e->not_ip != ~0u)
                CHECK(counts[DECODE_E_NOT_IP] == e->not_ip, "%s: not_ip %u want %u", e->file,
                      counts[DECODE_E_NOT_IP], e->not_ip);
        if (e->not_transport != ~0u)
                CHECK(counts[DECODE_E_NOT_TRANSPORT] == e->not_transport,
                      "%s: not_transport %u want %u", e->file, counts[DECODE_E_NOT_TRANSPORT],
                      e->not_transport);
        printf("%-60s lt=%-3d", e->file, lt);
        for (int i = 0; i < DECODE__MAX; i++)
                if (counts[i])
                        printf(" %s=%u", decode_verdict_name((DecodeVerdict)i), counts[i]);
        printf("\n");
}

typedef struct {
        unsigned n, want;
        bool found;
        DecodedPacket *out;
        DecodeVerdict *v;
} FrameAt;

static void frame_at_one(int lt, const uint8_t *d, size_t caplen, void *ud)
{
        FrameAt *f = ud;

        if (++f->n != f->want)
                return;
        fill_sentinel(f->out);
        *f->v = dec(lt, d, caplen, f->out);
        f->found = true;
}

/* Decode frame number `want` (1-based) of file (its payload pointer is not
 * valid afterwards: only the decoded fields are). */
static bool frame_at(const char *dir, const char *file, unsigned want, DecodedPacket *out,
                     DecodeVerdict *v, int *skipped)
{
        char path[4096], err[PCAP_ERRBUF_SIZE];
        FrameAt f = {.want = want, .out = out, .v = v};
        int lt = -1;

        snprintf(path, sizeof path, "%s/pcaps/%s", dir, file);
        if (pcap_each(path, frame_at_one, &f, &lt, err, sizeof err) < 0 && lt < 0) {
                fprintf(stderr, "skip %s: %s\n", file, err);
                (*skipped)++;
                return false;
        }
        CHECK(f.found, "%s: no frame %u", file, want);
        return f.found;
}

static void check_frame(const char *dir, const FrameExpect *e, int *skipped)
{
        DecodedPacket pk;
        DecodeVerdict v;
        char s[ENDPOINT_STRLEN], d[ENDPOINT_STRLEN];

        if (!frame_at(dir, e->file, e->frame, &pk, &v, skipped))
                return;
        CHECK(v == e->verdict, "%s #%u: verdict %s want %s", e->file, e->frame,
              decode_verdict_name(v), decode_verdict_name(e->verdict));
        if (v != DECODE_OK && v != DECODE_E_FRAGMENT)
                return;
        endpoint_format(&pk.src, s, sizeof s);
        endpoint_format(&pk.dst, d, sizeof d);
        CHECK(strcmp(s, e->src) == 0, "%s #%u: src %s want %s", e->file, e->frame, s, e->src);
        CHECK(strcmp(d, e->dst) == 0, "%s #%u: dst %s want %s", e->file, e->frame, d, e->dst);
        CHECK(pk.transport == e->transport, "%s #%u: transport %s", e->file, e->frame,
              decode_transport_name(pk.transport));
        CHECK(pk.payload_len == e->payload_len, "%s #%u: payload_len %zu want %zu", e->file,
              e->frame, pk.payload_len, e->payload_len);
        if (v == DECODE_E_FRAGMENT) {
                CHECK(pk.ip_fragment && pk.ip_id == e->ip_id &&
                          pk.ip_frag_offset == e->frag_offset &&
                          pk.ip_more_fragments == e->more_fragments,
                      "%s #%u: fragment id=%u off=%u mf=%d", e->file, e->frame, pk.ip_id,
                      pk.ip_frag_offset, pk.ip_more_fragments);
        }
        if (e->tcp_flags >= 0)
                CHECK(pk.tcp_flags == e->tcp_flags, "%s #%u: tcp flags %02x want %02x", e->file,
                      e->frame, pk.tcp_flags, (unsigned)e->tcp_flags);
        if (e->tcp_seq >= 0)
                CHECK(pk.tcp_seq == (uint32_t)e->tcp_seq, "%s #%u: tcp seq %u", e->file, e->frame,
                      pk.tcp_seq);
}

static void check_reassembly(const char *dir, const ReassemblyExpect *e, int *skipped)
{
        DecodedPacket a, b, r;
        DecodeVerdict va, vb, v;
        Buf joined = {.n = 0};

        if (!frame_at(dir, e->file, e->first, &a, &va, skipped))
                return;
        if (va == DECODE_E_FRAGMENT)
                putn(&joined, a.payload, a.payload_len);
        if (!frame_at(dir, e->file, e->last, &b, &vb, skipped))
                return;
        CHECK(va == DECODE_E_FRAGMENT && vb == DECODE_E_FRAGMENT, "%s #%u+#%u: not fragments",
              e->file, e->first, e->last);
        if (va != DECODE_E_FRAGMENT || vb != DECODE_E_FRAGMENT)
                return;
        CHECK(a.ip_id == b.ip_id && b.ip_frag_offset == a.payload_len && !b.ip_more_fragments,
              "%s #%u+#%u: fragments do not join", e->file, e->first, e->last);
        putn(&joined, b.payload, b.payload_len);
        r = b;
        v = decode_ip_payload(b.ip_proto, joined.b, joined.n, &r);
        CHECK(v == DECODE_OK, "%s #%u+#%u: reassembled %s", e->file, e->first, e->last,
              decode_verdict_name(v));
        if (v != DECODE_OK)
                return;
        CHECK(r.transport == TRANSPORT_UDP && r.src.port == e->sport && r.dst.port == e->dport,
              "%s #%u+#%u: reassembled ports %u %u", e->file, e->first, e->last, r.src.port,
              r.dst.port);
        CHECK(r.payload_len == e->udp_payload, "%s #%u+#%u: reassembled len %zu want %zu", e->file,
              e->first, e->last, r.payload_len, e->udp_payload);
        CHECK(r.payload_len >= strlen(e->starts) &&
                  memcmp(r.payload, e->starts, strlen(e->starts)) == 0,
              "%s #%u+#%u: reassembled payload does not start with %s", e->file, e->first, e->last,
              e->starts);
}

static void test_captures(const char *dir)
{
        int skipped = 0;

        for (size_t i = 0; i < sizeof captures / sizeof captures[0]; i++)
                check_counts(dir, &captures[i], &skipped);
        for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++)
                check_frame(dir, &frames[i], &skipped);
        for (size_t i = 0; i < sizeof reassemblies / sizeof reassemblies[0]; i++)
                check_reassembly(dir, &reassemblies[i], &skipped);
        if (skipped)
                printf("corpus: %d capture reads skipped (corpora not found under %s)\n", skipped,
                       dir);
}

int main(int argc, char **argv)
{
        test_link_types();
        test_vlan();
        test_padding();
        test_ipv4_header();
        test_udp();
        test_tcp();
        test_ipv6_ext();
        test_tunnels();
        test_gre_vxlan();
        test_fragments();
        test_names();
        test_mutations();
        if (argc > 1)
                test_captures(argv[1]);
        else
                printf("no corpora directory given: real captures skipped\n");
        free(heap);
        heap = NULL;

        return check_exit("decode");
}
