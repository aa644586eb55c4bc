/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The HEP and tunnel paths through analysis/pipeline.c, frame in, counters
 * and diagnoses out:
 *  - HEPv3 found inside captured UDP is ignored (counted) by default; with
 *    --hep-in-capture it is decoded and its SIP analysed with the original
 *    addresses and time (the frame's own time and addresses ignored);
 *  - the same SIP through pipeline_hep() (the listener's entry) likewise;
 *  - trust (PipelineHepConfig): the auth key missing, wrong or right; the
 *    allow-list against the listener's peer and against the captured
 *    datagram's source; each outcome counted, accepted packets as
 *    authenticated or not;
 *  - a HEP time beyond arrival ± PIPELINE_HEP_MAX_SKEW_US is replaced by the
 *    arrival time and counted;
 *  - SIP in VXLAN reaches the SIP parser;
 *  - TCP segments on port 5061 that start a TLS record are counted in
 *    tls_suspected (for the one-time "use HEP" hint); cleartext SIP on 5061
 *    and TLS on other ports are not;
 *  - expiry by frame time and by pipeline_tick() with no frame at all.
 */
#include "pipeline.h"

#include "hep_build.h"
#include "check.h"
#define PACKET_BUF_MAX 4096
#include "packet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static Buf hep3_key(int64_t ts_us, const char *key)
{
        Buf b = {.n = 0};
        HepBuild hb = {.sport = 5062,
                       .dport = 5060,
                       .ts_us = ts_us,
                       .key = key,
                       .payload = REQ,
                       .payload_len = sizeof REQ - 1};

        memcpy(hb.src, CLIENT, 4);
        memcpy(hb.dst, SERVER, 4);
        b.n = hep_build_v3(b.b, sizeof b.b, &hb);
        return b;
}

static Buf hep3(int64_t ts_us)
{
        return hep3_key(ts_us, NULL);
}

static void on_diag(const Diagnosis *d, void *userdata)
{
        (void)d;
        (void)userdata;
}

static Pipeline *fresh_hep(const PipelineHepConfig *hc)
{
        PipelineConfig pc = {.hep = *hc};
        tracker_config_default(&pc.tracker);
        return pipeline_new_config(&pc, on_diag, NULL);
}

static Pipeline *fresh(void)
{
        PipelineHepConfig hc = {.in_capture = true};
        return fresh_hep(&hc);
}

static Buf hep_frame(const uint8_t *outer_src, const Buf *h)
{
        Buf u = udp(9061, 9060, h->b, h->n);
        return eth_ip4(17, outer_src, COLLECTOR, &u);
}

#define U(x) ((unsigned long long)(x))

/* Who may send HEP, and what is counted when they may not. */
static void test_trust(int64_t t0)
{
        static const uint8_t STRANGER[4] = {198, 51, 100, 99};
        PipelineHepConfig hc = {.in_capture = false};
        PipelineStats st;
        Pipeline *p;
        Buf h, f;
        char why[128];

        /* Off by default: HEP in a captured datagram is counted, not decoded,
         * whatever addresses it names. */
        p = fresh_hep(&hc);
        h = hep3(t0);
        f = hep_frame(AGENT, &h);
        pipeline_frame(p, 1, t0 + 250000, f.b, f.n);
        pipeline_get_stats(p, &st);
        CHECK(st.hep_ignored_in_capture == 1 && st.hep[HEP_OK] == 0 && st.sip_requests == 0 &&
                  st.not_sip == 0,
              "default: ignored %llu hep ok %llu requests %llu", U(st.hep_ignored_in_capture),
              U(st.hep[HEP_OK]), U(st.sip_requests));
        /* The listener's entry is not affected by in_capture. */
        pipeline_hep(p, &(HepArrival){.ts_us = t0}, h.b, h.n);
        pipeline_get_stats(p, &st);
        CHECK(st.hep[HEP_OK] == 1 && st.sip_requests == 1 && st.hep_unauthenticated == 1 &&
                  st.hep_authenticated == 0,
              "listener without checks: ok %llu unauth %llu", U(st.hep[HEP_OK]),
              U(st.hep_unauthenticated));
        p = pipeline_free(p);

        /* --hep-in-capture with an allow-list: the outer source decides. */
        hc.in_capture = true;
        CHECK(hepauth_parse_allow(&hc.auth, "203.0.113.240/28", why, sizeof why), "%s", why);
        p = fresh_hep(&hc);
        f = hep_frame(STRANGER, &h);
        pipeline_frame(p, 1, t0 + 250000, f.b, f.n);
        f = hep_frame(AGENT, &h);
        pipeline_frame(p, 1, t0 + 260000, f.b, f.n);
        pipeline_get_stats(p, &st);
        CHECK(st.hep_denied == 1 && st.hep_authenticated == 1 && st.sip_requests == 1,
              "allow-list in capture: denied %llu auth %llu requests %llu", U(st.hep_denied),
              U(st.hep_authenticated), U(st.sip_requests));
        /* ... and the listener's peer, IPv4-mapped or not. */
        {
                HepArrival a = {.ts_us = t0, .peer = {.family = 6, .port = 40000}};
                static const uint8_t mapped_agent[16] = {0, 0, 0,    0,    0,   0, 0,   0,
                                                         0, 0, 0xff, 0xff, 203, 0, 113, 240};
                memcpy(a.peer.addr, mapped_agent, 16);
                pipeline_hep(p, &a, h.b, h.n);
                a.peer = (Endpoint){.family = 4, .addr = {127, 0, 0, 1}};
                pipeline_hep(p, &a, h.b, h.n);
        }
        pipeline_get_stats(p, &st);
        CHECK(st.hep_denied == 2 && st.hep_authenticated == 2 && st.sip_requests == 2,
              "allow-list on the listener's peer: denied %llu auth %llu", U(st.hep_denied),
              U(st.hep_authenticated));
        p = pipeline_free(p);

        /* A key: missing, wrong, right (and the allow-list off). */
        hc = (PipelineHepConfig){.in_capture = true};
        CHECK(hepauth_set_key(&hc.auth, "agent-key-1"), "set key");
        p = fresh_hep(&hc);
        {
                HepArrival a = {.ts_us = t0};
                Buf none = hep3_key(t0, NULL), wrong = hep3_key(t0, "agent-key-2"),
                    shorter = hep3_key(t0, "agent-key"), right = hep3_key(t0, "agent-key-1");
                pipeline_hep(p, &a, none.b, none.n);
                pipeline_hep(p, &a, wrong.b, wrong.n);
                pipeline_hep(p, &a, shorter.b, shorter.n);
                pipeline_get_stats(p, &st);
                CHECK(st.hep_key_missing == 1 && st.hep_key_wrong == 2 && st.sip_requests == 0 &&
                          st.hep[HEP_OK] == 3,
                      "key: missing %llu wrong %llu requests %llu", U(st.hep_key_missing),
                      U(st.hep_key_wrong), U(st.sip_requests));
                pipeline_hep(p, &a, right.b, right.n);
                f = hep_frame(STRANGER, &right); /* no allow-list: the key is enough */
                pipeline_frame(p, 1, t0 + 1000, f.b, f.n);
                f = hep_frame(AGENT, &wrong);
                pipeline_frame(p, 1, t0 + 2000, f.b, f.n);
                pipeline_get_stats(p, &st);
                CHECK(st.hep_authenticated == 2 && st.sip_requests == 2 && st.hep_key_wrong == 3 &&
                          st.hep_unauthenticated == 0,
                      "right key: auth %llu requests %llu wrong %llu", U(st.hep_authenticated),
                      U(st.sip_requests), U(st.hep_key_wrong));
        }
        p = pipeline_free(p);

        /* Key and allow-list: both must hold. */
        CHECK(hepauth_parse_allow(&hc.auth, "203.0.113.240", why, sizeof why), "%s", why);
        p = fresh_hep(&hc);
        {
                Buf right = hep3_key(t0, "agent-key-1"), wrong = hep3_key(t0, "nope");
                f = hep_frame(STRANGER, &right);
                pipeline_frame(p, 1, t0, f.b, f.n);
                f = hep_frame(AGENT, &wrong);
                pipeline_frame(p, 1, t0 + 1000, f.b, f.n);
                f = hep_frame(AGENT, &right);
                pipeline_frame(p, 1, t0 + 2000, f.b, f.n);
        }
        pipeline_get_stats(p, &st);
        CHECK(st.hep_denied == 1 && st.hep_key_wrong == 1 && st.hep_authenticated == 1 &&
                  st.sip_requests == 1,
              "key and list: denied %llu wrong %llu auth %llu", U(st.hep_denied),
              U(st.hep_key_wrong), U(st.hep_authenticated));
        p = pipeline_free(p);
}

/* The HEP time is believed within PIPELINE_HEP_MAX_SKEW_US of the arrival. */
static void test_clamp(int64_t t0)
{
        static const int64_t skew[] = {0,
                                       PIPELINE_HEP_MAX_SKEW_US,
                                       -PIPELINE_HEP_MAX_SKEW_US,
                                       PIPELINE_HEP_MAX_SKEW_US + 1,
                                       -PIPELINE_HEP_MAX_SKEW_US - 1,
                                       365LL * 24 * 3600 * 1000000,
                                       -365LL * 24 * 3600 * 1000000};
        static const unsigned clamped[] = {0, 0, 0, 1, 1, 1, 1};
        PipelineStats st;

        for (size_t i = 0; i < sizeof skew / sizeof skew[0]; i++) {
                Pipeline *p = fresh();
                Buf h = hep3(t0 + skew[i]), f = hep_frame(AGENT, &h);

                pipeline_frame(p, 1, t0, f.b, f.n);
                pipeline_hep(p, &(HepArrival){.ts_us = t0}, h.b, h.n);
                pipeline_get_stats(p, &st);
                CHECK(st.hep_clamped_ts == 2 * clamped[i] && st.sip_requests == 2,
                      "skew %lld us: clamped %llu requests %llu", (long long)skew[i],
                      U(st.hep_clamped_ts), U(st.sip_requests));
                pipeline_free(p);
        }
        /* No time in the packet: the arrival, not counted. */
        {
                Pipeline *p = fresh();
                Buf h = hep3(0);
                pipeline_hep(p, &(HepArrival){.ts_us = t0}, h.b, h.n);
                pipeline_get_stats(p, &st);
                CHECK(st.hep_clamped_ts == 0 && st.sip_requests == 1, "no time: clamped %llu",
                      U(st.hep_clamped_ts));
                pipeline_free(p);
        }
}

/*
 * Expiry is the pipeline's alone (pipeline.h): each frame expires by its own
 * time, and time that passes with no frame (the live service's timer)
 * expires through pipeline_tick() all the same.
 */
static void test_expiry(int64_t t0)
{
        const int64_t hour = 3600 * 1000000LL;
        PipelineStats st;
        Pipeline *p = fresh();
        Buf u = udp(5062, 5060, REQ, sizeof REQ - 1), t = tcp(40000, 5060, REQ, 40), f;

        f = eth_ip4(17, CLIENT, SERVER, &u);
        pipeline_frame(p, 1, t0, f.b, f.n);
        f = eth_ip4(6, CLIENT, SERVER, &t); /* half a message: the stream waits */
        pipeline_frame(p, 1, t0 + 1000, f.b, f.n);
        pipeline_tick(p, t0 + 500000);
        pipeline_get_stats(p, &st);
        CHECK(st.tracker.transactions == 1 && st.tcp.active == 1,
              "expiry: within a second nothing goes (transactions %llu, streams %llu)",
              (unsigned long long)st.tracker.transactions, (unsigned long long)st.tcp.active);
        /* An hour with no frame at all. */
        pipeline_tick(p, t0 + hour);
        pipeline_get_stats(p, &st);
        CHECK(st.tracker.transactions == 0 && st.tcp.active == 0 && st.packets == 2,
              "expiry: an hour without frames empties the tables (transactions %llu, streams "
              "%llu)",
              (unsigned long long)st.tracker.transactions, (unsigned long long)st.tcp.active);
        p = pipeline_free(p);

        /* The same hour told by the next frame: expired before it is read. */
        p = fresh();
        f = eth_ip4(17, CLIENT, SERVER, &u);
        pipeline_frame(p, 1, t0, f.b, f.n);
        pipeline_frame(p, 1, t0 + hour, f.b, f.n);
        pipeline_get_stats(p, &st);
        CHECK(st.tracker.transactions == 1 && st.tracker.retransmissions == 0,
              "expiry: the frame an hour later meets no stale transaction (transactions %llu, "
              "retransmissions %llu)",
              (unsigned long long)st.tracker.transactions,
              (unsigned long long)st.tracker.retransmissions);
        p = pipeline_free(p);
}

int main(void)
{
        const int64_t t0 = 1767225600LL * 1000000; /* 2026-01-01 */
        PipelineStats st;
        Pipeline *p;
        Buf h, u, f, vx, inner;

        test_trust(t0);
        test_clamp(t0);
        test_expiry(t0);

        /* HEP in captured UDP (--hep-in-capture): the frame is agent -> collector:9060. */
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
        pipeline_hep(p, &(HepArrival){.ts_us = t0 + 5000000}, h.b, h.n);
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

        return check_exit("pipeline_hep");
}
