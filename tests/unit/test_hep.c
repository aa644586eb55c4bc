/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for parser/hep.c.
 *
 * Part 1 builds HEPv3 and HEPv1/v2 packets chunk by chunk (layouts in hep.c)
 * and checks what is decoded, then cuts and corrupts them: every prefix, bad
 * and zero chunk lengths, huge declared lengths, non-SIP payload types.
 * Each packet is decoded from a heap copy of exactly its length, so an
 * over-read shows up under AddressSanitizer.
 *
 * Part 2 decodes real packets Kamailio 5.6 siptrace sent (hep_kamailio.h,
 * made by hep-kamailio-capture.sh): v1, v2 and v3 over UDP, v3 over TCP.
 *
 * Part 3: the auth key (chunk 14, vendor 0) is exposed as it is, a vendor's
 * type 14 is not a key, two keys are malformed; IPv4-mapped IPv6 addresses
 * come out as IPv4 in v3 and v2.
 */
#include "hep.h"

#include "hep_kamailio.h"
#include "check.h"
#include "packet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t A4[4] = {192, 0, 2, 10};
static const uint8_t B4[4] = {198, 51, 100, 20};
static const uint8_t A6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a};
static const uint8_t B6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x14};

static const char SIP[] = "REGISTER sip:example.test SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\n"
                          "Content-Length: 0\r\n\r\n";
#define SIP_LEN (sizeof SIP - 1)

/* -------------------------------------------------------------- HEPv3 builder */

static void chunk(Buf *b, uint16_t vendor, uint16_t type, const void *body, size_t n)
{
        put16(b, vendor);
        put16(b, type);
        put16(b, (uint16_t)(6 + n));
        putn(b, body, n);
}

static void chunk8(Buf *b, uint16_t type, uint8_t v)
{
        chunk(b, 0, type, &v, 1);
}

static void chunk16(Buf *b, uint16_t type, uint16_t v)
{
        uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
        chunk(b, 0, type, x, 2);
}

static void chunk32(Buf *b, uint16_t type, uint32_t v)
{
        uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
        chunk(b, 0, type, x, 4);
}

/* Options of one synthetic HEPv3 packet; a zero field leaves its chunk out
 * where that is meaningful (see v3()). */
typedef struct {
        int family; /* 4 or 6 */
        uint8_t ip_proto;
        uint16_t sport, dport;
        uint32_t sec, usec, capture_id;
        int proto_type; /* -1: no chunk */
        const void *payload;
        size_t payload_len;
        bool no_payload, no_src, compressed;
        const char *corr;           /* correlation id chunk, NULL = none */
        const char *auth;           /* auth key chunk: NULL = "secret-key", "" = none */
        const uint8_t *src6, *dst6; /* family 6 addresses, NULL = A6 / B6 */
} V3;

static Buf v3(const V3 *o)
{
        Buf b = {.n = 0};
        putn(&b, "HEP3", 4);
        put16(&b, 0); /* patched below */
        chunk8(&b, 1, o->family == 6 ? 10 : 2);
        chunk8(&b, 2, o->ip_proto);
        if (o->family == 6) {
                if (!o->no_src)
                        chunk(&b, 0, 5, o->src6 ? o->src6 : A6, 16);
                chunk(&b, 0, 6, o->dst6 ? o->dst6 : B6, 16);
        } else {
                if (!o->no_src)
                        chunk(&b, 0, 3, A4, 4);
                chunk(&b, 0, 4, B4, 4);
        }
        chunk16(&b, 7, o->sport);
        chunk16(&b, 8, o->dport);
        if (o->sec)
                chunk32(&b, 9, o->sec);
        if (o->sec)
                chunk32(&b, 10, o->usec);
        if (o->proto_type >= 0)
                chunk8(&b, 11, (uint8_t)o->proto_type);
        chunk32(&b, 12, o->capture_id);
        if (o->corr)
                chunk(&b, 0, 17, o->corr, strlen(o->corr));
        if (!o->auth)
                chunk(&b, 0, 14, "secret-key", 10);
        else if (o->auth[0])
                chunk(&b, 0, 14, o->auth, strlen(o->auth));
        if (o->compressed)
                chunk(&b, 0, 16, "\x78\x9c\x01\x02", 4);
        if (!o->no_payload)
                chunk(&b, 0, 15, o->payload, o->payload_len);
        b.b[4] = (uint8_t)(b.n >> 8);
        b.b[5] = (uint8_t)b.n;
        return b;
}

static V3 v3_default(void)
{
        return (V3){.family = 4,
                    .ip_proto = 17,
                    .sport = 5062,
                    .dport = 5060,
                    .sec = 1700000000,
                    .usec = 123456,
                    .capture_id = 2001,
                    .proto_type = 1,
                    .payload = SIP,
                    .payload_len = SIP_LEN};
}

/* ----------------------------------------------------------- HEPv1/v2 builder */

/* time_len: 12 (padded struct, the usual), 10 (packed) or 0 (v1). */
static Buf v2(int version, int family, uint8_t proto, uint16_t sport, uint16_t dport,
              size_t time_len, const void *payload, size_t n)
{
        Buf b = {.n = 0};
        put8(&b, (uint8_t)version);
        put8(&b, family == 6 ? 40 : 16);
        put8(&b, family == 6 ? 10 : 2);
        put8(&b, proto);
        put16(&b, sport);
        put16(&b, dport);
        if (family == 6) {
                putn(&b, A6, 16);
                putn(&b, B6, 16);
        } else {
                putn(&b, A4, 4);
                putn(&b, B4, 4);
        }
        if (time_len) {
                put32le(&b, 1700000000);
                put32le(&b, 654321);
                put16le(&b, 77);
                if (time_len == 12)
                        put16le(&b, 0xa5a5); /* struct padding: anything */
        }
        putn(&b, payload, n);
        return b;
}

/* ------------------------------------------------------------------ decoding */

static uint8_t *heap;

static HepVerdict dec(const uint8_t *p, size_t n, HepPacket *out)
{
        free(heap);
        heap = malloc(n ? n : 1);
        if (!heap) {
                fprintf(stderr, "out of memory\n");
                exit(1);
        }
        if (n)
                memcpy(heap, p, n);
        return hep_decode(heap, n, out);
}

static void sentinel(HepPacket *h)
{
        memset(h, 0xa5, sizeof *h);
}

static bool is_sentinel(const HepPacket *h)
{
        HepPacket s;
        sentinel(&s);
        return memcmp(h, &s, sizeof s) == 0;
}

static bool ep_is(const Endpoint *e, int family, const uint8_t *addr, uint16_t port)
{
        uint8_t want[16] = {0};
        memcpy(want, addr, family == 4 ? 4 : 16);
        return e->family == family && memcmp(e->addr, want, 16) == 0 && e->port == port;
}

static void expect_err(const char *what, const Buf *b, HepVerdict want)
{
        HepPacket h;
        HepVerdict v;

        sentinel(&h);
        v = dec(b->b, b->n, &h);
        CHECK(v == want, "%s: verdict %s want %s", what, hep_verdict_name(v),
              hep_verdict_name(want));
        CHECK(is_sentinel(&h), "%s: out modified on %s", what, hep_verdict_name(v));
}

/* ------------------------------------------------------------------- tests */

static void test_v3(void)
{
        V3 o = v3_default();
        Buf b = v3(&o);
        HepPacket h;
        HepVerdict v;

        CHECK(hep_looks_like(b.b, b.n), "v3 signature");
        sentinel(&h);
        v = dec(b.b, b.n, &h);
        CHECK(v == HEP_OK, "v3 udp: %s", hep_verdict_name(v));
        if (v == HEP_OK) {
                CHECK(ep_is(&h.src, 4, A4, 5062) && ep_is(&h.dst, 4, B4, 5060), "v3 endpoints");
                CHECK(h.transport == TRANSPORT_UDP && !h.encrypted_orig, "v3 transport");
                CHECK(h.ts_us == 1700000000LL * 1000000 + 123456, "v3 ts %lld", (long long)h.ts_us);
                CHECK(h.capture_id == 2001, "v3 capture id %u", h.capture_id);
                CHECK(h.payload == heap + b.n - SIP_LEN && h.payload_len == SIP_LEN,
                      "v3 payload position");
                CHECK(h.hep_len == b.n, "v3 hep_len %zu", h.hep_len);
        }

        /* IPv6 over TCP with a correlation id; trailing bytes after the
         * declared length belong to the next packet of a stream. */
        o.family = 6;
        o.ip_proto = 6;
        o.corr = "corr-1@example.test";
        b = v3(&o);
        size_t one = b.n;
        putn(&b, "HEP3", 4);
        sentinel(&h);
        v = dec(b.b, b.n, &h);
        CHECK(v == HEP_OK, "v3 v6 tcp: %s", hep_verdict_name(v));
        if (v == HEP_OK) {
                CHECK(ep_is(&h.src, 6, A6, 5062) && ep_is(&h.dst, 6, B6, 5060), "v6 endpoints");
                CHECK(h.transport == TRANSPORT_TCP && !h.encrypted_orig, "v6 tcp transport");
                CHECK(h.hep_len == one, "hep_len %zu want %zu", h.hep_len, one);
                CHECK(h.payload + h.payload_len == heap + one, "payload ends at the packet end");
        }

        /* TLS: Kamailio's protocol 22, or TCP on 5061/443. */
        static const struct {
                uint8_t proto;
                uint16_t sport, dport;
                Transport t;
                bool enc;
        } tls[] = {
            {22, 40000, 5061, TRANSPORT_TCP, true}, {22, 5061, 40000, TRANSPORT_TCP, true},
            {22, 40000, 8443, TRANSPORT_TCP, true}, {22, 40000, 80, TRANSPORT_TCP, false},
            {6, 40000, 5061, TRANSPORT_TCP, true},  {6, 443, 40000, TRANSPORT_TCP, true},
            {6, 40000, 5060, TRANSPORT_TCP, false}, {17, 40000, 5061, TRANSPORT_UDP, false},
            {132, 5061, 5061, TRANSPORT_TCP, true},
        };
        for (size_t i = 0; i < sizeof tls / sizeof tls[0]; i++) {
                o = v3_default();
                o.ip_proto = tls[i].proto;
                o.sport = tls[i].sport;
                o.dport = tls[i].dport;
                b = v3(&o);
                v = dec(b.b, b.n, &h);
                CHECK(v == HEP_OK && h.transport == tls[i].t && h.encrypted_orig == tls[i].enc,
                      "proto %u %u->%u: %s transport %s encrypted %d", tls[i].proto, tls[i].sport,
                      tls[i].dport, hep_verdict_name(v), decode_transport_name(h.transport),
                      h.encrypted_orig);
        }

        /* No time chunks: ts 0 (the caller uses arrival time). */
        o = v3_default();
        o.sec = 0;
        b = v3(&o);
        v = dec(b.b, b.n, &h);
        CHECK(v == HEP_OK && h.ts_us == 0, "v3 without time: %s", hep_verdict_name(v));
        /* No protocol type chunk: taken as SIP. */
        o = v3_default();
        o.proto_type = -1;
        b = v3(&o);
        v = dec(b.b, b.n, &h);
        CHECK(v == HEP_OK, "v3 without protocol type: %s", hep_verdict_name(v));
        /* A vendor chunk with a generic-looking size is skipped like any unknown one. */
        o = v3_default();
        b = v3(&o);
        chunk(&b, 0x0003, 0x0020, "xyz", 3);
        b.b[4] = (uint8_t)(b.n >> 8);
        b.b[5] = (uint8_t)b.n;
        v = dec(b.b, b.n, &h);
        CHECK(v == HEP_OK, "v3 with a vendor chunk: %s", hep_verdict_name(v));
}

static void test_v3_errors(void)
{
        V3 o = v3_default();
        Buf good = v3(&o), b;
        HepPacket h;

        /* Every proper prefix is truncated (the total length says more). */
        for (size_t k = 0; k < good.n; k++) {
                HepVerdict v;
                sentinel(&h);
                v = dec(good.b, k, &h);
                CHECK(v == (k == 0 ? HEP_E_NOT_HEP : HEP_E_TRUNCATED), "v3 prefix %zu/%zu: %s", k,
                      good.n, hep_verdict_name(v));
                CHECK(is_sentinel(&h), "v3 prefix %zu: out modified", k);
        }

        /* Total length below the header, or beyond the buffer. */
        static const uint16_t totals[] = {0, 1, 5};
        for (size_t i = 0; i < 3; i++) {
                b = good;
                b.b[4] = (uint8_t)(totals[i] >> 8);
                b.b[5] = (uint8_t)totals[i];
                expect_err("total length < 6", &b, HEP_E_MALFORMED);
        }
        b = good;
        b.b[4] = 0xff;
        b.b[5] = 0xff;
        expect_err("total length 65535", &b, HEP_E_TRUNCATED);
        /* Total length ending inside a chunk header, or inside a chunk. */
        b = good;
        b.b[4] = 0;
        b.b[5] = 6 + 4;
        expect_err("total ends inside a chunk header", &b, HEP_E_MALFORMED);
        b = good;
        b.b[4] = 0;
        b.b[5] = 6 + 6;
        expect_err("total ends inside a chunk", &b, HEP_E_MALFORMED);
        b = good;
        b.b[4] = 0;
        b.b[5] = 6;
        expect_err("no chunks at all", &b, HEP_E_MALFORMED);

        /* Chunk lengths: below the chunk header, past the packet, 0xffff. */
        static const uint16_t clens[] = {0, 1, 5, 8, 0xffff};
        for (size_t i = 0; i < sizeof clens / sizeof clens[0]; i++) {
                char what[64];
                b = good;
                b.b[6 + 4] = (uint8_t)(clens[i] >> 8); /* first chunk (family) */
                b.b[6 + 5] = (uint8_t)clens[i];
                snprintf(what, sizeof what, "family chunk length %u", clens[i]);
                expect_err(what, &b, HEP_E_MALFORMED);
        }
        /* Payload chunk claiming one byte more than the packet has. */
        b = good;
        {
                size_t pl = good.n - SIP_LEN - 6;
                uint16_t l = (uint16_t)(SIP_LEN + 7);
                b.b[pl + 4] = (uint8_t)(l >> 8);
                b.b[pl + 5] = (uint8_t)l;
        }
        expect_err("payload chunk past total", &b, HEP_E_MALFORMED);

        /* Fixed-size chunks with the wrong size, including zero-length ones. */
        static const struct {
                uint16_t type;
                size_t n;
        } wrong[] = {{1, 0}, {1, 2}, {2, 0}, {3, 16}, {4, 3},  {5, 4},  {6, 0},
                     {7, 1}, {8, 4}, {9, 8}, {10, 2}, {11, 0}, {12, 1}, {12, 8}};
        for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
                static const uint8_t zeros[16];
                char what[64];
                b = good;
                chunk(&b, 0, wrong[i].type, zeros, wrong[i].n);
                b.b[4] = (uint8_t)(b.n >> 8);
                b.b[5] = (uint8_t)b.n;
                snprintf(what, sizeof what, "chunk %u of %zu bytes", wrong[i].type, wrong[i].n);
                expect_err(what, &b, HEP_E_MALFORMED);
        }
        /* Zero-length chunks that are allowed: unknown type, correlation id. */
        b = good;
        chunk(&b, 0, 17, NULL, 0);
        chunk(&b, 0, 99, NULL, 0);
        b.b[4] = (uint8_t)(b.n >> 8);
        b.b[5] = (uint8_t)b.n;
        {
                HepVerdict v = dec(b.b, b.n, &h);
                CHECK(v == HEP_OK, "zero-length optional chunks: %s", hep_verdict_name(v));
        }
        /* Zero-length payload: a keep-alive, not SIP. */
        o = v3_default();
        o.payload_len = 0;
        b = v3(&o);
        expect_err("empty payload", &b, HEP_E_NOT_SIP);

        /* Mandatory parts missing. */
        o = v3_default();
        o.no_payload = true;
        b = v3(&o);
        expect_err("no payload", &b, HEP_E_MALFORMED);
        o = v3_default();
        o.no_src = true;
        b = v3(&o);
        expect_err("no source address", &b, HEP_E_MALFORMED);
        o.family = 6;
        b = v3(&o);
        expect_err("no v6 source address", &b, HEP_E_MALFORMED);

        /* Other payload types: RTCP, RTCP-XR, DNS, logs. */
        static const int types[] = {0, 5, 35, 53, 100, 255};
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
                char what[64];
                o = v3_default();
                o.proto_type = types[i];
                b = v3(&o);
                snprintf(what, sizeof what, "protocol type %d", types[i]);
                expect_err(what, &b, HEP_E_NOT_SIP);
        }
        /* Compressed payload only: counted, not inflated. */
        o = v3_default();
        o.no_payload = true;
        o.compressed = true;
        b = v3(&o);
        expect_err("compressed payload", &b, HEP_E_COMPRESSED);

        /* Not HEP at all. */
        b.n = 0;
        putn(&b, SIP, SIP_LEN);
        expect_err("plain SIP", &b, HEP_E_NOT_HEP);
        CHECK(!hep_looks_like(b.b, b.n), "plain SIP looks like HEP");
        b.n = 0;
        putn(&b, "HEP2xxxxxxxxxxxxxxxxxxxxx", 24);
        expect_err("HEP2 magic", &b, HEP_E_NOT_HEP);
        CHECK(!hep_looks_like(NULL, 10) && !hep_looks_like(b.b, 0), "NULL/empty");
        {
                HepPacket x;
                sentinel(&x);
                CHECK(hep_decode(NULL, 100, &x) == HEP_E_NOT_HEP && is_sentinel(&x), "NULL data");
        }

        /* Largest possible packet: a 65535-byte total with a 65k payload. */
        {
                static uint8_t big[65535];
                o = v3_default();
                o.payload_len = 0;
                b = v3(&o); /* everything but the payload */
                memset(big, 'x', sizeof big);
                memcpy(big, "OPTIONS ", 8);
                o.payload = big;
                o.payload_len = 65535 - b.n;
                b = v3(&o);
                CHECK(b.n == 65535, "big packet built with %zu bytes", b.n);
                HepVerdict v = dec(b.b, b.n, &h);
                CHECK(v == HEP_OK && h.payload_len == o.payload_len && h.hep_len == b.n,
                      "big packet (%zu bytes): %s", b.n, hep_verdict_name(v));
        }
}

static void test_v2(void)
{
        HepPacket h;
        HepVerdict v;
        Buf b;

        for (int version = 1; version <= 2; version++) {
                for (int family = 4; family <= 6; family += 2) {
                        size_t tl = version == 2 ? 12 : 0;
                        size_t hl = (family == 6 ? 40 : 16) + tl;
                        char what[64];

                        b = v2(version, family, 17, 5062, 5060, tl, SIP, SIP_LEN);
                        snprintf(what, sizeof what, "v%d ipv%d", version, family);
                        CHECK(hep_looks_like(b.b, b.n), "%s signature", what);
                        sentinel(&h);
                        v = dec(b.b, b.n, &h);
                        CHECK(v == HEP_OK, "%s: %s", what, hep_verdict_name(v));
                        if (v != HEP_OK)
                                continue;
                        CHECK(ep_is(&h.src, family, family == 6 ? A6 : A4, 5062) &&
                                  ep_is(&h.dst, family, family == 6 ? B6 : B4, 5060),
                              "%s endpoints", what);
                        CHECK(h.payload == heap + hl && h.payload_len == SIP_LEN,
                              "%s payload at %td", what, h.payload - heap);
                        CHECK(h.transport == TRANSPORT_UDP, "%s transport", what);
                        CHECK(h.hep_len == b.n, "%s hep_len", what);
                        if (version == 2) {
                                CHECK(h.ts_us == 1700000000LL * 1000000 + 654321,
                                      "%s little-endian time %lld", what, (long long)h.ts_us);
                                CHECK(h.capture_id == 77, "%s capture id %u", what, h.capture_id);
                        } else {
                                CHECK(h.ts_us == 0 && h.capture_id == 0, "%s no time", what);
                        }

                        /* Prefixes: header cut = truncated; payload cut = shorter
                         * payload (v2 declares no total length); none = not SIP. */
                        for (size_t k = 0; k < b.n; k++) {
                                HepVerdict want = k < hl    ? HEP_E_TRUNCATED
                                                  : k == hl ? HEP_E_NOT_SIP
                                                            : HEP_OK;
                                sentinel(&h);
                                v = dec(b.b, k, &h);
                                if (k == 0)
                                        want = HEP_E_NOT_HEP;
                                CHECK(v == want, "%s prefix %zu/%zu: %s want %s", what, k, b.n,
                                      hep_verdict_name(v), hep_verdict_name(want));
                                if (v == HEP_OK)
                                        CHECK(h.payload_len == k - hl, "%s prefix %zu payload %zu",
                                              what, k, h.payload_len);
                                else
                                        CHECK(is_sentinel(&h), "%s prefix %zu out modified", what,
                                              k);
                        }
                }
        }

        /* Packed 10-byte time header (no struct padding). */
        b = v2(2, 4, 6, 5062, 5061, 10, SIP, SIP_LEN);
        v = dec(b.b, b.n, &h);
        CHECK(v == HEP_OK && h.payload == heap + 26 && h.payload_len == SIP_LEN &&
                  h.transport == TRANSPORT_TCP && h.encrypted_orig,
              "v2 packed time header: %s", hep_verdict_name(v));
        /* Kamailio's TLS stand-in protocol 22. */
        b = v2(2, 6, 22, 40000, 5061, 12, SIP, SIP_LEN);
        v = dec(b.b, b.n, &h);
        CHECK(v == HEP_OK && h.transport == TRANSPORT_TCP && h.encrypted_orig, "v2 tls: %s",
              hep_verdict_name(v));

        /* Implausible headers are not HEP (and not decoded). */
        b = v2(2, 4, 17, 1, 2, 12, SIP, SIP_LEN);
        b.b[1] = 40; /* IPv4 family with an IPv6 header length */
        expect_err("v2 length/family mismatch", &b, HEP_E_NOT_HEP);
        b = v2(2, 4, 17, 1, 2, 12, SIP, SIP_LEN);
        b.b[3] = 1; /* ICMP */
        expect_err("v2 protocol 1", &b, HEP_E_NOT_HEP);
        b = v2(3, 4, 17, 1, 2, 12, SIP, SIP_LEN);
        expect_err("version byte 3", &b, HEP_E_NOT_HEP);
        b = v2(2, 6, 17, 1, 2, 12, SIP, SIP_LEN);
        b.b[2] = 2;
        expect_err("v6 header length with AF_INET", &b, HEP_E_NOT_HEP);
        /* BSD AF_INET6 values are accepted. */
        static const uint8_t bsd6[] = {24, 28, 30};
        for (size_t i = 0; i < sizeof bsd6; i++) {
                b = v2(2, 6, 17, 1, 2, 12, SIP, SIP_LEN);
                b.b[2] = bsd6[i];
                v = dec(b.b, b.n, &h);
                CHECK(v == HEP_OK && h.src.family == 6, "v2 AF_INET6 %u: %s", bsd6[i],
                      hep_verdict_name(v));
        }
}

/* Kamailio siptrace packets: REGISTERs sent over UDP (alice@127.0.0.1:5099),
 * TCP (127.0.0.1:5098) and UDP/IPv6 ([::1]:5097) to Kamailio on port 5060,
 * capture id 4242. */
static void test_kamailio(void)
{
        static const uint8_t lo4[4] = {127, 0, 0, 1};
        static const uint8_t lo6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        static const struct {
                int family;
                uint16_t sport;
                Transport t;
        } want[3] = {{4, 5099, TRANSPORT_UDP}, {4, 5098, TRANSPORT_TCP}, {6, 5097, TRANSPORT_UDP}};
        unsigned seen = 0;

        for (size_t i = 0; i < sizeof kam_packets / sizeof kam_packets[0]; i++) {
                const uint8_t *p = kam_packets[i].data;
                size_t left = kam_packets[i].len;
                unsigned idx = 0;

                if (strstr(kam_packets[i].name, "_udp_"))
                        idx =
                            (unsigned)(kam_packets[i].name[strlen(kam_packets[i].name) - 1] - '0');
                /* The TCP capture is one stream: packets back to back, framed by hep_len. */
                while (left > 0 && idx < 3) {
                        HepPacket h;
                        HepVerdict v;
                        char callid[64];

                        CHECK(hep_looks_like(p, left), "%s signature", kam_packets[i].name);
                        v = dec(p, left, &h);
                        CHECK(v == HEP_OK, "%s #%u: %s", kam_packets[i].name, idx,
                              hep_verdict_name(v));
                        if (v != HEP_OK)
                                break;
                        seen++;
                        CHECK(ep_is(&h.src, want[idx].family, want[idx].family == 4 ? lo4 : lo6,
                                    want[idx].sport) &&
                                  ep_is(&h.dst, want[idx].family, want[idx].family == 4 ? lo4 : lo6,
                                        5060),
                              "%s #%u endpoints", kam_packets[i].name, idx);
                        CHECK(h.transport == want[idx].t && !h.encrypted_orig, "%s #%u transport",
                              kam_packets[i].name, idx);
                        if (kam_packets[i].version >= 2) {
                                /* Captured in 2026: a plausible, recent time. */
                                CHECK(h.ts_us > 1700000000LL * 1000000 &&
                                          h.ts_us < 2200000000LL * 1000000,
                                      "%s #%u time %lld", kam_packets[i].name, idx,
                                      (long long)h.ts_us);
                                CHECK(h.capture_id == 4242, "%s #%u capture id %u",
                                      kam_packets[i].name, idx, h.capture_id);
                        }
                        snprintf(callid, sizeof callid, "Call-ID: hep-test-%u@", idx + 1);
                        CHECK(h.payload_len > 20 && memcmp(h.payload, "REGISTER ", 9) == 0 &&
                                  memcmp(h.payload + h.payload_len - 4, "\r\n\r\n", 4) == 0 &&
                                  memmem(h.payload, h.payload_len, callid, strlen(callid)),
                              "%s #%u payload", kam_packets[i].name, idx);
                        CHECK(h.hep_len <= left, "%s hep_len", kam_packets[i].name);
                        p += h.hep_len;
                        left -= h.hep_len;
                        idx++;
                }
        }
        CHECK(seen == 12, "kamailio packets decoded: %u of 12", seen);
}

/* Deterministic corruption of valid packets: never a crash, an over-read, a
 * payload outside the input, or a modified out on failure. */
static void test_mutations(void)
{
        V3 o = v3_default();
        Buf base[4];
        unsigned counts[HEP__MAX] = {0};

        base[0] = v3(&o);
        o.family = 6;
        o.corr = "c";
        base[1] = v3(&o);
        base[2] = v2(2, 4, 17, 1, 2, 12, SIP, SIP_LEN);
        base[3].n = 0;
        putn(&base[3], kam_v3_udp_0, sizeof kam_v3_udp_0);

        for (size_t i = 0; i < 4; i++) {
                for (int iter = 0; iter < 20000; iter++) {
                        Buf b = base[i];
                        HepPacket h;
                        HepVerdict v;
                        unsigned flips = 1 + check_rand() % 4;

                        for (unsigned k = 0; k < flips; k++) {
                                /* Mostly the header and chunk headers: that is where it matters. */
                                size_t span = check_rand() % 2 ? 64 : b.n;
                                size_t at = check_rand() % span;
                                b.b[at % b.n] = (uint8_t)check_rand();
                        }
                        if (check_rand() % 4 == 0)
                                b.n = check_rand() % (b.n + 1);
                        sentinel(&h);
                        v = dec(b.b, b.n, &h);
                        if ((unsigned)v >= HEP__MAX) {
                                CHECK(false, "verdict %d out of range", (int)v);
                                continue;
                        }
                        counts[v]++;
                        if (v == HEP_OK) {
                                CHECK(h.payload >= heap && h.payload + h.payload_len <= heap + b.n,
                                      "payload outside the input");
                                CHECK(h.hep_len <= b.n && h.hep_len > 0, "hep_len %zu", h.hep_len);
                                CHECK(h.src.family == 4 || h.src.family == 6, "family");
                        } else {
                                CHECK(is_sentinel(&h), "out modified on %s", hep_verdict_name(v));
                        }
                }
        }
        CHECK(counts[HEP_OK] > 0 && counts[HEP_E_TRUNCATED] > 0 && counts[HEP_E_MALFORMED] > 0 &&
                  counts[HEP_E_NOT_HEP] > 0 && counts[HEP_E_NOT_SIP] > 0,
              "mutations: ok=%u truncated=%u malformed=%u not_hep=%u not_sip=%u", counts[HEP_OK],
              counts[HEP_E_TRUNCATED], counts[HEP_E_MALFORMED], counts[HEP_E_NOT_HEP],
              counts[HEP_E_NOT_SIP]);
}

static void test_names(void)
{
        for (int i = 0; i < HEP__MAX; i++) {
                const char *a = hep_verdict_name((HepVerdict)i);
                CHECK(strcmp(a, "unknown") != 0, "verdict %d unnamed", i);
                for (const char *c = a; *c; c++)
                        CHECK((*c >= 'a' && *c <= 'z') || *c == '_', "name %s", a);
                for (int j = 0; j < i; j++)
                        CHECK(strcmp(a, hep_verdict_name((HepVerdict)j)) != 0, "names %d %d", i, j);
        }
        CHECK(strcmp(hep_verdict_name(HEP__MAX), "unknown") == 0, "out of range");
}

/* HEP3 chunk 14: the pipeline compares it with hep_auth_key (analysis/hepauth.h). */
static void test_auth_key(void)
{
        V3 o = v3_default();
        Buf b = v3(&o);
        HepPacket h;
        HepVerdict v;

        sentinel(&h);
        v = dec(b.b, b.n, &h);
        CHECK(v == HEP_OK && h.auth_key && h.auth_key_len == 10 &&
                  memcmp(h.auth_key, "secret-key", 10) == 0 && h.auth_key >= heap &&
                  h.auth_key + h.auth_key_len <= heap + b.n,
              "auth key exposed: %s len %zu", hep_verdict_name(v), h.auth_key_len);
        o.auth = "";
        b = v3(&o);
        sentinel(&h);
        v = dec(b.b, b.n, &h);
        CHECK(v == HEP_OK && h.auth_key == NULL && h.auth_key_len == 0, "no auth key: %s",
              hep_verdict_name(v));
        /* A vendor's own type 14 is not the generic auth key. */
        chunk(&b, 0x0003, 14, "not-a-key", 9);
        b.b[4] = (uint8_t)(b.n >> 8);
        b.b[5] = (uint8_t)b.n;
        v = dec(b.b, b.n, &h);
        CHECK(v == HEP_OK && h.auth_key == NULL, "vendor chunk 14 taken as the key: %s",
              hep_verdict_name(v));
        /* An empty key chunk is a key of length 0. */
        chunk(&b, 0, 14, "", 0);
        b.b[4] = (uint8_t)(b.n >> 8);
        b.b[5] = (uint8_t)b.n;
        v = dec(b.b, b.n, &h);
        CHECK(v == HEP_OK && h.auth_key != NULL && h.auth_key_len == 0, "empty key: %s",
              hep_verdict_name(v));
        /* Two keys: which one counts would be the receiver's guess. */
        o = v3_default();
        b = v3(&o);
        chunk(&b, 0, 14, "other-key", 9);
        b.b[4] = (uint8_t)(b.n >> 8);
        b.b[5] = (uint8_t)b.n;
        expect_err("two auth keys", &b, HEP_E_MALFORMED);
        /* v1/v2 have no key. */
        b = v2(2, 4, 17, 5062, 5060, 12, SIP, SIP_LEN);
        v = dec(b.b, b.n, &h);
        CHECK(v == HEP_OK && h.auth_key == NULL && h.auth_key_len == 0, "v2 key: %s",
              hep_verdict_name(v));
}

/* ::ffff:a.b.c.d in HEP names the IPv4 host a.b.c.d (RFC 4291 §2.5.5.2). */
static void test_mapped(void)
{
        static const uint8_t m_a[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 10};
        static const uint8_t m_b[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 20};
        /* Not mapped: IPv4-compatible (deprecated) and a NAT64 address stay IPv6. */
        static const uint8_t compat[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 10};
        static const uint8_t nat64[16] = {0, 0x64, 0xff, 0x9b, 0,   0, 0, 0,
                                          0, 0,    0,    0,    192, 0, 2, 10};
        V3 o = v3_default();
        HepPacket h;
        HepVerdict v;
        Buf b;

        o.family = 6;
        o.src6 = m_a;
        o.dst6 = m_b;
        b = v3(&o);
        v = dec(b.b, b.n, &h);
        CHECK(v == HEP_OK && ep_is(&h.src, 4, A4, 5062) && ep_is(&h.dst, 4, B4, 5060),
              "v3 mapped: %s families %u/%u", hep_verdict_name(v), h.src.family, h.dst.family);
        o.dst6 = NULL; /* B6, a real IPv6 address */
        b = v3(&o);
        v = dec(b.b, b.n, &h);
        CHECK(v == HEP_OK && ep_is(&h.src, 4, A4, 5062) && ep_is(&h.dst, 6, B6, 5060),
              "v3 mapped source only: %s", hep_verdict_name(v));
        o.src6 = compat;
        o.dst6 = nat64;
        b = v3(&o);
        v = dec(b.b, b.n, &h);
        CHECK(v == HEP_OK && ep_is(&h.src, 6, compat, 5062) && ep_is(&h.dst, 6, nat64, 5060),
              "v3 compat/nat64 stay IPv6: %s", hep_verdict_name(v));
        /* v2 with an IPv6 header carrying mapped addresses. */
        b = v2(2, 6, 17, 5062, 5060, 12, SIP, SIP_LEN);
        memcpy(b.b + 8, m_a, 16);
        memcpy(b.b + 24, m_b, 16);
        v = dec(b.b, b.n, &h);
        CHECK(v == HEP_OK && ep_is(&h.src, 4, A4, 5062) && ep_is(&h.dst, 4, B4, 5060),
              "v2 mapped: %s", hep_verdict_name(v));
        /* The helper itself: only a mapped IPv6 address changes. */
        {
                Endpoint e = {.family = 6, .port = 7};
                memcpy(e.addr, m_a, 16);
                CHECK(endpoint_unmap_v4(&e) && ep_is(&e, 4, A4, 7), "unmap");
                CHECK(!endpoint_unmap_v4(&e) && ep_is(&e, 4, A4, 7), "unmap IPv4: unchanged");
                memcpy(e.addr, nat64, 16);
                e.family = 6;
                CHECK(!endpoint_unmap_v4(&e) && ep_is(&e, 6, nat64, 7), "unmap NAT64: unchanged");
        }
}

int main(void)
{
        test_v3();
        test_auth_key();
        test_mapped();
        test_v3_errors();
        test_v2();
        test_kamailio();
        test_mutations();
        test_names();
        free(heap);
        heap = NULL;
        return check_exit("hep");
}
