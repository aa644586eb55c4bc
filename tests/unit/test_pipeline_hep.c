/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The HEP and tunnel paths through analysis/pipeline.c, frame in, counters
 * and diagnoses out:
 *  - HEPv3 found inside captured UDP is decoded and its SIP analysed with the
 *    original addresses and time (the frame's own time and addresses ignored);
 *  - the same SIP through pipeline_hep() (the listener's entry) likewise;
 *  - SIP in VXLAN reaches the SIP parser;
 *  - TCP segments on port 5061 that start a TLS record are counted in
 *    tls_suspected (for the one-time "use HEP" hint); cleartext SIP on 5061
 *    and TLS on other ports are not.
 */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
static int checks;

#define CHECK(cond, ...)                                                                           \
        do {                                                                                       \
                checks++;                                                                          \
                if (!(cond)) {                                                                     \
                        failures++;                                                                \
                        fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
                        fprintf(stderr, __VA_ARGS__);                                              \
                        fputc('\n', stderr);                                                       \
                }                                                                                  \
        } while (0)

typedef struct {
        uint8_t b[4096];
        size_t n;
} Buf;

static void put8(Buf *b, uint8_t v)
{
        if (b->n < sizeof b->b)
                b->b[b->n++] = v;
}

static void put16(Buf *b, uint16_t v)
{
        put8(b, (uint8_t)(v >> 8));
        put8(b, (uint8_t)v);
}

static void put32(Buf *b, uint32_t v)
{
        put16(b, (uint16_t)(v >> 16));
        put16(b, (uint16_t)v);
}

static void putn(Buf *b, const void *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                put8(b, ((const uint8_t *)p)[i]);
}

static const uint8_t CLIENT[4] = {192, 0, 2, 50}, SERVER[4] = {192, 0, 2, 60};
static const uint8_t AGENT[4] = {203, 0, 113, 240}, COLLECTOR[4] = {203, 0, 113, 241};

static const char REQ[] = "REGISTER sip:example.test SIP/2.0\r\n"
                          "Via: SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bK-p1\r\n"
                          "From: <sip:alice@example.test>;tag=1\r\n"
                          "To: <sip:alice@example.test>\r\n"
                          "Call-ID: pipeline-hep-1\r\n"
                          "CSeq: 1 REGISTER\r\n"
                          "Content-Length: 0\r\n\r\n";

static Buf udp(uint16_t sport, uint16_t dport, const void *pl, size_t n)
{
        Buf b = {.n = 0};
        put16(&b, sport);
        put16(&b, dport);
        put16(&b, (uint16_t)(8 + n));
        put16(&b, 0);
        putn(&b, pl, n);
        return b;
}

static Buf tcp(uint16_t sport, uint16_t dport, const void *pl, size_t n)
{
        Buf b = {.n = 0};
        put16(&b, sport);
        put16(&b, dport);
        put32(&b, 1000);
        put32(&b, 1);
        put16(&b, (5 << 12) | 0x18);
        put16(&b, 65535);
        put32(&b, 0);
        putn(&b, pl, n);
        return b;
}

static Buf eth_ip4(uint8_t proto, const uint8_t *src, const uint8_t *dst, const Buf *in)
{
        Buf b = {.n = 0};
        for (int i = 0; i < 12; i++)
                put8(&b, (uint8_t)i);
        put16(&b, 0x0800);
        put8(&b, 0x45);
        put8(&b, 0);
        put16(&b, (uint16_t)(20 + in->n));
        put16(&b, 1);
        put16(&b, 0x4000);
        put8(&b, 64);
        put8(&b, proto);
        put16(&b, 0);
        putn(&b, src, 4);
        putn(&b, dst, 4);
        putn(&b, in->b, in->n);
        return b;
}

static void chunk(Buf *b, uint16_t type, const void *body, size_t n)
{
        put16(b, 0);
        put16(b, type);
        put16(b, (uint16_t)(6 + n));
        putn(b, body, n);
}

static Buf hep3(int64_t ts_us)
{
        Buf b = {.n = 0};
        uint8_t fam = 2, proto = 17, sip = 1;
        uint8_t sp[2] = {0x13, 0xc6}, dp[2] = {0x13, 0xc4}; /* 5062 -> 5060 */
        uint32_t sec = (uint32_t)(ts_us / 1000000), usec = (uint32_t)(ts_us % 1000000);
        uint8_t s4[4] = {(uint8_t)(sec >> 24), (uint8_t)(sec >> 16), (uint8_t)(sec >> 8),
                         (uint8_t)sec};
        uint8_t u4[4] = {(uint8_t)(usec >> 24), (uint8_t)(usec >> 16), (uint8_t)(usec >> 8),
                         (uint8_t)usec};
        putn(&b, "HEP3", 4);
        put16(&b, 0);
        chunk(&b, 1, &fam, 1);
        chunk(&b, 2, &proto, 1);
        chunk(&b, 3, CLIENT, 4);
        chunk(&b, 4, SERVER, 4);
        chunk(&b, 7, sp, 2);
        chunk(&b, 8, dp, 2);
        chunk(&b, 9, s4, 4);
        chunk(&b, 10, u4, 4);
        chunk(&b, 11, &sip, 1);
        chunk(&b, 15, REQ, sizeof REQ - 1);
        b.b[4] = (uint8_t)(b.n >> 8);
        b.b[5] = (uint8_t)b.n;
        return b;
}

static void on_diag(const Diagnosis *d, void *userdata)
{
        (void)d;
        (void)userdata;
}

static Pipeline *fresh(void)
{
        TrackerConfig cfg;
        tracker_config_default(&cfg);
        return pipeline_new(&cfg, on_diag, NULL);
}

int main(void)
{
        const int64_t t0 = 1767225600LL * 1000000; /* 2026-01-01 */
        PipelineStats st;
        Pipeline *p;
        Buf h, u, f, vx, inner;

        /* HEP in captured UDP: the frame is agent -> collector:9060. */
        p = fresh();
        h = hep3(t0);
        u = udp(9061, 9060, h.b, h.n);
        f = eth_ip4(17, AGENT, COLLECTOR, &u);
        pipeline_frame(p, 1, t0 + 250000, f.b, f.n);
        pipeline_get_stats(p, &st);
        CHECK(st.hep[HEP_OK] == 1 && st.sip_requests == 1 && st.not_sip == 0,
              "hep in udp: hep ok %llu requests %llu not_sip %llu",
              (unsigned long long)st.hep[HEP_OK], (unsigned long long)st.sip_requests,
              (unsigned long long)st.not_sip);
        /* A broken HEP packet is counted by verdict, not parsed as SIP. */
        h.b[5] = (uint8_t)(h.b[5] + 1);
        u = udp(9061, 9060, h.b, h.n);
        f = eth_ip4(17, AGENT, COLLECTOR, &u);
        pipeline_frame(p, 1, t0 + 300000, f.b, f.n);
        pipeline_get_stats(p, &st);
        CHECK(st.hep[HEP_E_TRUNCATED] == 1 && st.sip_requests == 1, "broken hep: truncated %llu",
              (unsigned long long)st.hep[HEP_E_TRUNCATED]);
        /* The listener's entry. */
        h = hep3(t0 + 1000);
        pipeline_hep(p, t0 + 5000000, h.b, h.n);
        pipeline_get_stats(p, &st);
        CHECK(st.hep[HEP_OK] == 2 && st.sip_requests == 2, "pipeline_hep: ok %llu requests %llu",
              (unsigned long long)st.hep[HEP_OK], (unsigned long long)st.sip_requests);
        p = pipeline_free(p);

        /* SIP in VXLAN on a mirror port. */
        p = fresh();
        u = udp(5062, 5060, REQ, sizeof REQ - 1);
        inner = eth_ip4(17, CLIENT, SERVER, &u);
        vx.n = 0;
        put32(&vx, 0x08000000);
        put32(&vx, 5001u << 8);
        putn(&vx, inner.b, inner.n);
        u = udp(50000, 4789, vx.b, vx.n);
        f = eth_ip4(17, AGENT, COLLECTOR, &u);
        pipeline_frame(p, 1, t0, f.b, f.n);
        pipeline_get_stats(p, &st);
        CHECK(st.decode[DECODE_OK] == 1 && st.sip_requests == 1, "vxlan: requests %llu",
              (unsigned long long)st.sip_requests);
        p = pipeline_free(p);

        /* TLS on 5061 is counted; cleartext SIP on 5061 and TLS on 443 are not. */
        p = fresh();
        {
                static const uint8_t client_hello[] = {0x16, 0x03, 0x01, 0x00, 0x05,
                                                       0x01, 0x00, 0x00, 0x01, 0x00};
                static const uint8_t app_data[] = {0x17, 0x03, 0x03, 0x00, 0x03, 1, 2, 3};
                Buf t = tcp(40000, 5061, client_hello, sizeof client_hello);
                f = eth_ip4(6, CLIENT, SERVER, &t);
                pipeline_frame(p, 1, t0, f.b, f.n);
                t = tcp(5061, 40000, app_data, sizeof app_data);
                f = eth_ip4(6, SERVER, CLIENT, &t);
                pipeline_frame(p, 1, t0 + 1000, f.b, f.n);
                t = tcp(40001, 5061, REQ, sizeof REQ - 1);
                f = eth_ip4(6, CLIENT, SERVER, &t);
                pipeline_frame(p, 1, t0 + 2000, f.b, f.n);
                t = tcp(40002, 443, client_hello, sizeof client_hello);
                f = eth_ip4(6, CLIENT, SERVER, &t);
                pipeline_frame(p, 1, t0 + 3000, f.b, f.n);
                t = tcp(40003, 5061, client_hello, 4); /* too short for a record header */
                f = eth_ip4(6, CLIENT, SERVER, &t);
                pipeline_frame(p, 1, t0 + 4000, f.b, f.n);
        }
        pipeline_get_stats(p, &st);
        CHECK(st.tls_suspected == 2, "tls_suspected %llu want 2",
              (unsigned long long)st.tls_suspected);
        p = pipeline_free(p);

        printf("%d checks, %d failed\n", checks, failures);
        return failures ? 1 : 0;
}
