/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the test_decode_*.c files share: frames built byte by byte (link
 * headers, IPv4/IPv6, UDP/TCP, tunnels) on packet.h's writers, and the
 * expectations on parser/decode.c's verdicts. Each frame is decoded from a
 * heap copy of exactly its length, so an over-read shows up under
 * AddressSanitizer; a test's main() frees that copy (free(heap)) before
 * check_exit().
 */
#pragma once

#include "decode.h"
#include "check.h"
#define PACKET_BUF_MAX 8192
#include "packet.h"

#include <stdbool.h>
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
static inline Buf udp(uint16_t sport, uint16_t dport, const void *pl, size_t n, int ulen_override)
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
static inline Buf tcp(uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags,
                      unsigned optwords, const void *pl, size_t n)
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
static inline Buf ipv4(uint8_t proto, const uint8_t src[4], const uint8_t dst[4], const Buf *inner,
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

static inline Buf v4(uint8_t proto, const Buf *inner)
{
        return ipv4(proto, V4_A, V4_B, inner, 0x1234, 0x4000 /* DF */, 5, 0);
}

/* RFC 8200 fixed header; the caller passes extension headers inside inner. */
static inline Buf ipv6(uint8_t next, const uint8_t src[16], const uint8_t dst[16], const Buf *inner)
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

static inline Buf v6(uint8_t next, const Buf *inner)
{
        return ipv6(next, V6_A, V6_B, inner);
}

/* Generic extension header of (len8 + 1) * 8 bytes (hop-by-hop, routing, ...). */
static inline void ext_hdr(Buf *b, uint8_t next, uint8_t len8)
{
        put8(b, next);
        put8(b, len8);
        putfill(b, 0, (size_t)(len8 + 1) * 8 - 2);
}

static inline Buf eth_tags(const uint16_t *tpids, size_t ntags, uint16_t ethertype,
                           const Buf *inner)
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

static inline Buf eth(uint16_t ethertype, const Buf *inner)
{
        return eth_tags(NULL, 0, ethertype, inner);
}

static inline Buf sll(uint16_t proto, const Buf *inner)
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

static inline Buf sll2(uint16_t proto, const Buf *inner)
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

static inline Buf af_hdr(uint32_t af, bool little, const Buf *inner)
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
static inline Buf gre(uint16_t flags, uint16_t proto, const Buf *inner)
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
static inline Buf erspan2(const Buf *frame)
{
        Buf b = {.n = 0};
        put16(&b, 0x1000 | 10);
        put16(&b, 7);
        put32(&b, 0x00000001);
        putbuf(&b, frame);
        return b;
}

/* §4.2 type III header; ft = frame type (0 Ethernet, 2 IP), o = sub-header. */
static inline Buf erspan3(uint8_t ft, bool o, const Buf *frame)
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
static inline Buf vxlan(uint8_t flags, const Buf *frame)
{
        Buf b = {.n = 0};
        put8(&b, flags);
        putfill(&b, 0, 3);
        put32(&b, 5001u << 8);
        putbuf(&b, frame);
        return b;
}

/* RFC 8926 §3.4 header with optwords 4-octet option words. */
static inline Buf geneve(uint8_t ver, uint16_t proto, unsigned optwords, const Buf *inner)
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

static inline DecodeVerdict dec(int lt, const uint8_t *p, size_t n, DecodedPacket *out)
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

static inline DecodeVerdict decb(int lt, const Buf *f, DecodedPacket *out)
{
        return dec(lt, f->b, f->n, out);
}

static inline void fill_sentinel(DecodedPacket *p)
{
        memset(p, 0xa5, sizeof *p);
}

static inline bool is_sentinel(const DecodedPacket *p)
{
        DecodedPacket s;
        fill_sentinel(&s);
        return memcmp(p, &s, sizeof s) == 0;
}

static inline bool addr_is(const Endpoint *e, uint8_t family, const uint8_t *addr)
{
        uint8_t want[16] = {0};
        memcpy(want, addr, family == 4 ? 4 : 16);
        return e->family == family && memcmp(e->addr, want, 16) == 0;
}

/* Expect DECODE_OK with the given transport, ports, addresses and payload. */
static inline void expect_ok(const char *what, int lt, const Buf *f, Transport t, uint8_t family,
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
static inline void expect_err(const char *what, int lt, const Buf *f, DecodeVerdict want)
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
static inline void expect_truncations(const char *what, int lt, const Buf *f, size_t datagram_end)
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
