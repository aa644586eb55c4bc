/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for parser/ipfrag.c: order, duplicates, overlaps, timeout,
 * limits under attack (tables and byte caps stay bounded, evictions are
 * counted), random orders, IPv6, and the hand-off to decode_ip_payload().
 * Fragments are fed as decode_packet() reports them (DecodedPacket with
 * ip_fragment set); each payload is a heap copy of exactly its length so
 * over-reads show up under AddressSanitizer.
 */
#include "ipfrag.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000000ll

/* Deterministic xorshift: the same "random" orders on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return (uint32_t)(rng_state % n);
}

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
        for (size_t i = 0; i < n; i++)
                b[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

static DecodedPacket frag(int family, uint32_t src, uint32_t id, uint16_t off, bool mf,
                          uint8_t proto)
{
        DecodedPacket p = {0};

        p.src.family = p.dst.family = (uint8_t)family;
        if (family == 4) {
                p.src.addr[0] = 198, p.src.addr[1] = 51, p.src.addr[2] = 100;
                p.src.addr[3] = (uint8_t)src;
                p.dst.addr[0] = 192, p.dst.addr[1] = 0, p.dst.addr[2] = 2, p.dst.addr[3] = 10;
        } else {
                p.src.addr[0] = 0x20, p.src.addr[1] = 0x01, p.src.addr[2] = 0x0d;
                p.src.addr[3] = 0xb8;
                p.src.addr[14] = (uint8_t)(src >> 8), p.src.addr[15] = (uint8_t)src;
                p.dst.addr[0] = 0x20, p.dst.addr[1] = 0x01, p.dst.addr[2] = 0x0d;
                p.dst.addr[3] = 0xb8, p.dst.addr[15] = 10;
        }
        p.ip_fragment = true;
        p.ip_id = id;
        p.ip_frag_offset = off;
        p.ip_more_fragments = mf;
        p.ip_proto = proto;
        return p;
}

/* Feed datagram bytes [off, off+n) as one fragment (heap copy). */
static IpFragVerdict feed(IpFrag *f, DecodedPacket p, const uint8_t *dg, size_t off, size_t n,
                          int64_t ts, const uint8_t **out, size_t *out_len)
{
        uint8_t *copy = malloc(n ? n : 1);
        IpFragVerdict v;

        memcpy(copy, dg + off, n);
        p.payload = copy;
        p.payload_len = n;
        v = ipfrag_feed(f, &p, ts, out, out_len);
        free(copy);
        return v;
}

static IpFragStats stats(const IpFrag *f)
{
        IpFragStats s;

        ipfrag_get_stats(f, &s);
        return s;
}

/* Split a datagram of len bytes into fragments of fsize (multiple of 8). */
typedef struct {
        uint16_t off;
        uint16_t len;
        bool mf;
} Piece;

static size_t split(size_t len, size_t fsize, Piece *out)
{
        size_t n = 0;

        for (size_t off = 0; off < len; off += fsize) {
                size_t l = len - off < fsize ? len - off : fsize;

                out[n++] = (Piece){(uint16_t)off, (uint16_t)l, off + l < len};
        }
        return n;
}

static void test_orders(int family)
{
        uint8_t dg[1500];
        Piece pc[8];
        size_t np = split(sizeof dg, 512, pc); /* 512, 512, 476 */
        const int orders[][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {2, 0, 1}};

        fill(dg, sizeof dg, 1);
        CHECK(np == 3, "%zu pieces", np);
        for (size_t o = 0; o < 4; o++) {
                IpFrag *f = ipfrag_new(NULL);
                const uint8_t *out = NULL;
                size_t out_len = 0;
                IpFragVerdict v = IPFRAG_PENDING;

                for (size_t k = 0; k < np; k++) {
                        const Piece *p = &pc[orders[o][k]];

                        v = feed(f, frag(family, 1, 77, p->off, p->mf, 17), dg, p->off, p->len,
                                 (int64_t)k, &out, &out_len);
                        if (k + 1 < np)
                                CHECK(v == IPFRAG_PENDING, "v%d order %zu step %zu: %d", family, o,
                                      k, v);
                }
                CHECK(v == IPFRAG_COMPLETE, "v%d order %zu: %d", family, o, v);
                CHECK(out_len == sizeof dg && memcmp(out, dg, sizeof dg) == 0,
                      "v%d order %zu: reassembled bytes differ (len %zu)", family, o, out_len);
                CHECK(stats(f).reassembled == 1 && stats(f).fragments == 3 &&
                          stats(f).datagrams == 0,
                      "v%d counters", family);
                ipfrag_expire(f, 100 * SEC);
                CHECK(stats(f).bytes == 0, "bytes %llu after release",
                      (unsigned long long)stats(f).bytes);
                ipfrag_free(f);
        }
}

static void test_duplicates(void)
{
        IpFrag *f = ipfrag_new(NULL);
        uint8_t dg[1000];
        const uint8_t *out;
        size_t out_len;

        fill(dg, sizeof dg, 2);
        CHECK(feed(f, frag(4, 1, 5, 0, true, 17), dg, 0, 504, 0, &out, &out_len) == IPFRAG_PENDING,
              "first");
        CHECK(feed(f, frag(4, 1, 5, 0, true, 17), dg, 0, 504, 1, &out, &out_len) == IPFRAG_PENDING,
              "duplicate kept pending");
        CHECK(stats(f).duplicates == 1, "duplicates %llu", (unsigned long long)stats(f).duplicates);
        CHECK(feed(f, frag(4, 1, 5, 504, false, 17), dg, 504, 496, 2, &out, &out_len) ==
                  IPFRAG_COMPLETE,
              "completes after a duplicate");
        CHECK(out_len == 1000 && memcmp(out, dg, 1000) == 0, "bytes");
        /* A late duplicate after completion starts a new datagram that never completes. */
        CHECK(feed(f, frag(4, 1, 5, 504, false, 17), dg, 504, 496, 3, &out, &out_len) ==
                  IPFRAG_PENDING,
              "late copy");
        ipfrag_expire(f, 40 * SEC);
        CHECK(stats(f).timeouts == 1 && stats(f).datagrams == 0, "late copy timed out");
        ipfrag_free(f);
}

static void test_overlaps(void)
{
        uint8_t dg[1600], evil[1600];
        const uint8_t *out;
        size_t out_len;

        fill(dg, sizeof dg, 3);
        memcpy(evil, dg, sizeof dg);
        evil[600] ^= 0xff;

        /* Partial overlap (teardrop): [0,800) then [512,1600). */
        {
                IpFrag *f = ipfrag_new(NULL);

                feed(f, frag(4, 1, 9, 0, true, 17), dg, 0, 800, 0, &out, &out_len);
                CHECK(feed(f, frag(4, 1, 9, 512, false, 17), dg, 512, 1088, 0, &out, &out_len) ==
                          IPFRAG_DROPPED,
                      "partial overlap dropped");
                CHECK(stats(f).overlaps == 1 && stats(f).datagrams == 0, "overlap counted, freed");
                /* The rest of it no longer completes anything. */
                CHECK(feed(f, frag(4, 1, 9, 800, false, 17), dg, 800, 800, 0, &out, &out_len) ==
                          IPFRAG_PENDING,
                      "after the drop, a new datagram");
                ipfrag_free(f);
        }
        /* Same range, different bytes (RFC 5722: not a duplicate). */
        {
                IpFrag *f = ipfrag_new(NULL);

                feed(f, frag(6, 1, 9, 512, true, 17), dg, 512, 512, 0, &out, &out_len);
                CHECK(feed(f, frag(6, 1, 9, 512, true, 17), evil, 512, 512, 0, &out, &out_len) ==
                          IPFRAG_DROPPED,
                      "same range, other bytes dropped");
                CHECK(stats(f).overlaps == 1 && stats(f).duplicates == 0, "counted as overlap");
                ipfrag_free(f);
        }
        /* A fragment inside another. */
        {
                IpFrag *f = ipfrag_new(NULL);

                feed(f, frag(4, 1, 9, 0, true, 17), dg, 0, 1024, 0, &out, &out_len);
                CHECK(feed(f, frag(4, 1, 9, 256, true, 17), dg, 256, 256, 0, &out, &out_len) ==
                          IPFRAG_DROPPED,
                      "contained fragment dropped");
                ipfrag_free(f);
        }
}

static void test_invalid(void)
{
        IpFrag *f = ipfrag_new(NULL);
        uint8_t dg[2048];
        const uint8_t *out;
        size_t out_len;

        fill(dg, sizeof dg, 4);
        /* RFC 8200 §4.5: a non-last fragment's length is a multiple of 8. */
        CHECK(feed(f, frag(6, 1, 1, 0, true, 17), dg, 0, 100, 0, &out, &out_len) == IPFRAG_DROPPED,
              "MF with odd length");
        CHECK(feed(f, frag(4, 1, 2, 0, true, 17), dg, 0, 0, 0, &out, &out_len) == IPFRAG_DROPPED,
              "empty fragment");
        /* Two last fragments with different ends. */
        feed(f, frag(4, 1, 3, 1024, false, 17), dg, 1024, 100, 0, &out, &out_len);
        CHECK(feed(f, frag(4, 1, 3, 1024, false, 17), dg, 1024, 200, 0, &out, &out_len) ==
                  IPFRAG_DROPPED,
              "conflicting total");
        /* A fragment beyond the known end. */
        feed(f, frag(4, 1, 4, 512, false, 17), dg, 512, 100, 0, &out, &out_len);
        CHECK(feed(f, frag(4, 1, 4, 1024, true, 17), dg, 1024, 512, 0, &out, &out_len) ==
                  IPFRAG_DROPPED,
              "beyond the end");
        /* A last fragment ending before data already held. */
        feed(f, frag(4, 1, 5, 1024, true, 17), dg, 1024, 512, 0, &out, &out_len);
        CHECK(feed(f, frag(4, 1, 5, 0, false, 17), dg, 0, 512, 0, &out, &out_len) == IPFRAG_DROPPED,
              "end before held data");
        CHECK(stats(f).invalid == 5, "invalid %llu", (unsigned long long)stats(f).invalid);
        /* 65535 is the most an IP datagram can hold. */
        CHECK(feed(f, frag(4, 1, 6, 65528, false, 17), dg, 0, 16, 0, &out, &out_len) ==
                  IPFRAG_DROPPED,
              "too big");
        CHECK(stats(f).too_big == 1, "too_big");
        CHECK(stats(f).datagrams == 0, "nothing held: %llu",
              (unsigned long long)stats(f).datagrams);
        ipfrag_free(f);
}

static void test_too_many_frags(void)
{
        IpFragConfig cfg = {.max_frags = 4};
        IpFrag *f = ipfrag_new(&cfg);
        uint8_t dg[64];
        const uint8_t *out;
        size_t out_len;
        IpFragVerdict v = IPFRAG_PENDING;

        fill(dg, sizeof dg, 5);
        for (uint16_t k = 0; k < 5; k++)
                v = feed(f, frag(4, 1, 1, (uint16_t)(k * 8), true, 17), dg, k * 8u, 8, 0, &out,
                         &out_len);
        CHECK(v == IPFRAG_DROPPED && stats(f).too_many_frags == 1, "fifth fragment of 4 allowed");
        CHECK(stats(f).datagrams == 0, "dropped");
        ipfrag_free(f);
}

static void test_timeout(void)
{
        IpFrag *f = ipfrag_new(NULL);
        uint8_t dg[1024];
        const uint8_t *out;
        size_t out_len;

        fill(dg, sizeof dg, 6);
        feed(f, frag(4, 1, 1, 0, true, 17), dg, 0, 512, 10 * SEC, &out, &out_len);
        feed(f, frag(4, 2, 1, 0, true, 17), dg, 0, 512, 25 * SEC, &out, &out_len);
        ipfrag_expire(f, 39 * SEC);
        CHECK(stats(f).timeouts == 0 && stats(f).datagrams == 2, "29 s: both alive");
        ipfrag_expire(f, 40 * SEC);
        CHECK(stats(f).timeouts == 1 && stats(f).datagrams == 1, "30 s: the first expired");
        /* The expired one's tail no longer completes it; the live one completes. */
        CHECK(feed(f, frag(4, 1, 1, 512, false, 17), dg, 512, 512, 41 * SEC, &out, &out_len) ==
                  IPFRAG_PENDING,
              "expired datagram's tail");
        CHECK(feed(f, frag(4, 2, 1, 512, false, 17), dg, 512, 512, 41 * SEC, &out, &out_len) ==
                  IPFRAG_COMPLETE,
              "live datagram completes");
        ipfrag_expire(f, 100 * SEC);
        CHECK(stats(f).datagrams == 0 && stats(f).bytes == 0, "all released");
        ipfrag_free(f);

        IpFragConfig cfg = {.timeout_us = 2 * SEC};
        f = ipfrag_new(&cfg);
        feed(f, frag(4, 1, 1, 0, true, 17), dg, 0, 512, 0, &out, &out_len);
        ipfrag_expire(f, 2 * SEC);
        CHECK(stats(f).timeouts == 1, "configured timeout");
        ipfrag_free(f);
}

/* Many incomplete datagrams: the table and the byte caps hold. */
static void test_attack(void)
{
        IpFragConfig cfg = {
            .max_datagrams = 64, .max_bytes_per_source = 64 * 1024, .max_bytes = 512 * 1024};
        IpFrag *f = ipfrag_new(&cfg);
        uint8_t dg[8192];
        const uint8_t *out;
        size_t out_len;
        uint64_t max_dg = 0, max_bytes = 0;

        fill(dg, sizeof dg, 7);
        /* One source, 10000 first fragments: per-source cap. */
        for (uint32_t id = 0; id < 10000; id++) {
                feed(f, frag(4, 66, id, 0, true, 17), dg, 0, 1480, (int64_t)id, &out, &out_len);
                IpFragStats s = stats(f);
                if (s.datagrams > max_dg)
                        max_dg = s.datagrams;
                if (s.bytes > max_bytes)
                        max_bytes = s.bytes;
        }
        CHECK(max_bytes <= cfg.max_bytes_per_source, "one source held %llu bytes",
              (unsigned long long)max_bytes);
        CHECK(stats(f).source_cap > 9000, "source_cap %llu",
              (unsigned long long)stats(f).source_cap);
        /* Another source still gets its datagram through. */
        feed(f, frag(4, 7, 1, 0, true, 17), dg, 0, 1480, 20000, &out, &out_len);
        CHECK(feed(f, frag(4, 7, 1, 1480, false, 17), dg, 1480, 100, 20001, &out, &out_len) ==
                  IPFRAG_COMPLETE,
              "a legitimate source reassembles during the flood");

        /* Many sources, far offsets (64 KiB buffers each): the table and global cap. */
        for (uint32_t id = 0; id < 5000; id++) {
                feed(f, frag(4, id % 250, id, 65000, true, 17), dg, 0, 8, 30000 + (int64_t)id, &out,
                     &out_len);
                IpFragStats s = stats(f);
                if (s.datagrams > max_dg)
                        max_dg = s.datagrams;
                if (s.bytes > max_bytes)
                        max_bytes = s.bytes;
        }
        CHECK(max_dg <= cfg.max_datagrams, "held %llu datagrams", (unsigned long long)max_dg);
        CHECK(max_bytes <= cfg.max_bytes, "held %llu bytes", (unsigned long long)max_bytes);
        CHECK(stats(f).evicted > 4000, "evicted %llu", (unsigned long long)stats(f).evicted);

        /* And everything goes when the timer runs out. */
        ipfrag_expire(f, 3600 * SEC);
        CHECK(stats(f).datagrams == 0 && stats(f).bytes == 0, "expired all");
        ipfrag_free(f);
}

/* Interleaved datagrams, random fragment orders and duplicates, v4 and v6. */
static void test_random(void)
{
        enum { N = 300 };
        IpFrag *f = ipfrag_new(NULL);
        static uint8_t dgs[N][3000];
        size_t lens[N];
        struct {
                uint16_t dg;
                Piece p;
        } all[N * 12];
        size_t nall = 0, done = 0, bad = 0;

        for (size_t d = 0; d < N; d++) {
                Piece pc[16];
                size_t np;

                lens[d] = 1000 + rnd(2000);
                fill(dgs[d], lens[d], (uint32_t)d + 100);
                np = split(lens[d], 8 * (25 + rnd(60)), pc); /* 2 to 15 pieces */
                for (size_t k = 0; k < np && nall < N * 12; k++) {
                        all[nall].dg = (uint16_t)d;
                        all[nall++].p = pc[k];
                        if (rnd(5) == 0 && nall < N * 12) { /* duplicate */
                                all[nall].dg = (uint16_t)d;
                                all[nall++].p = pc[k];
                        }
                }
        }
        for (size_t i = nall; i > 1; i--) { /* Fisher-Yates */
                size_t j = rnd((uint32_t)i);
                __typeof__(all[0]) tmp = all[i - 1];
                all[i - 1] = all[j];
                all[j] = tmp;
        }
        for (size_t i = 0; i < nall; i++) {
                const uint8_t *out;
                size_t out_len;
                size_t d = all[i].dg;
                int fam = d % 2 ? 6 : 4;

                if (feed(f, frag(fam, (uint32_t)d % 7, (uint32_t)d, all[i].p.off, all[i].p.mf, 17),
                         dgs[d], all[i].p.off, all[i].p.len, 0, &out,
                         &out_len) == IPFRAG_COMPLETE) {
                        done++;
                        if (out_len != lens[d] || memcmp(out, dgs[d], lens[d]) != 0)
                                bad++;
                }
        }
        CHECK(done == N, "%zu of %d datagrams completed", done, N);
        CHECK(bad == 0, "%zu reassembled wrongly", bad);
        CHECK(stats(f).overlaps == 0, "no overlaps");
        ipfrag_free(f);
}

/* The same id from v4 and v6, or another protocol, are different datagrams. */
static void test_keys(void)
{
        IpFrag *f = ipfrag_new(NULL);
        uint8_t dg[1024];
        const uint8_t *out;
        size_t out_len;

        fill(dg, sizeof dg, 8);
        feed(f, frag(4, 1, 42, 0, true, 17), dg, 0, 512, 0, &out, &out_len);
        CHECK(feed(f, frag(6, 1, 42, 512, false, 17), dg, 512, 512, 0, &out, &out_len) ==
                  IPFRAG_PENDING,
              "v6 does not complete v4");
        CHECK(feed(f, frag(4, 1, 42, 512, false, 6), dg, 512, 512, 0, &out, &out_len) ==
                  IPFRAG_PENDING,
              "TCP does not complete UDP");
        CHECK(feed(f, frag(4, 2, 42, 512, false, 17), dg, 512, 512, 0, &out, &out_len) ==
                  IPFRAG_PENDING,
              "another source does not complete it");
        CHECK(feed(f, frag(4, 1, 42, 512, false, 17), dg, 512, 512, 0, &out, &out_len) ==
                  IPFRAG_COMPLETE,
              "the right one does");
        ipfrag_free(f);
}

/* The completed payload decodes as UDP; and a fragment inside it can be fed back. */
static void test_decode_handoff(void)
{
        IpFrag *f = ipfrag_new(NULL);
        uint8_t dg[1208];
        const char *sip = "REGISTER sip:example.com SIP/2.0\r\n";
        const uint8_t *out;
        size_t out_len;
        DecodedPacket p;

        memset(dg, 'x', sizeof dg);
        dg[0] = 0x13, dg[1] = 0xc4, dg[2] = 0x13, dg[3] = 0xc4; /* 5060 -> 5060 */
        dg[4] = (uint8_t)(sizeof dg >> 8), dg[5] = (uint8_t)sizeof dg, dg[6] = dg[7] = 0;
        memcpy(dg + 8, sip, strlen(sip));
        feed(f, frag(4, 1, 1, 600, false, 17), dg, 600, 608, 0, &out, &out_len);
        p = frag(4, 1, 1, 0, true, 17);
        CHECK(feed(f, p, dg, 0, 600, 0, &out, &out_len) == IPFRAG_COMPLETE, "complete");
        p.payload = NULL;
        CHECK(decode_ip_payload(17, out, out_len, &p) == DECODE_OK, "decodes");
        CHECK(p.transport == TRANSPORT_UDP && p.src.port == 5060 && !p.ip_fragment &&
                  p.payload_len == sizeof dg - 8 && memcmp(p.payload, sip, strlen(sip)) == 0,
              "UDP payload");

        /* A fragment whose bytes live in the buffer just handed back. */
        DecodedPacket inner = frag(4, 9, 9, 0, true, 17);
        inner.payload = out + 8;
        inner.payload_len = 512;
        CHECK(ipfrag_feed(f, &inner, 0, &out, &out_len) == IPFRAG_PENDING, "inner first");
        ipfrag_free(f);
}

int main(void)
{
        test_orders(4);
        test_orders(6);
        test_duplicates();
        test_overlaps();
        test_invalid();
        test_too_many_frags();
        test_timeout();
        test_attack();
        test_random();
        test_keys();
        test_decode_handoff();
        return check_exit("ipfrag");
}
