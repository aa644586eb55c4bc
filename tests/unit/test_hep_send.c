/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for daemon/hep_send.c (HEP out, --hep-send).
 *
 * Every packet the encoder makes is read back with parser/hep.c
 * (hep_decode_any(): HEP_OK, payload type 100, correlation id, addresses,
 * time, capture id, key), and the SIP-only hep_decode() must refuse it as
 * HEP_E_NOT_SIP, so that a sipauthmon listening for HEP never analyses its
 * own records. The key it carries passes the listener's check
 * (hepauth_key_ok()). Buffers too small by any amount give 0, never a cut
 * packet (each from a heap buffer of exactly that size, for ASan). The
 * destination parser takes numeric addresses only. Over loopback: one
 * record arrives as one datagram; to a port nobody listens on, sends are
 * counted as errors and never block.
 */
#include "hep_send.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "hep.h"
#include "sink.h"
#include "../analysis/hepauth.h"

#define KEY "the-key-set-in-every-agent"

static Diagnosis record_v4(void)
{
        Diagnosis d;

        memset(&d, 0, sizeof d);
        d.code = DIAG_WRONG_PASSWORD;
        d.severity = SEV_WARNING;
        d.source_verified = SOURCE_VERIFIED_YES;
        d.attempts = 3;
        d.first_seen_us = 1795694400123000;
        d.last_seen_us = 1795694404567890;
        snprintf(d.message, sizeof d.message, "alice@example.test refused 3 times");
        snprintf(d.user, sizeof d.user, "alice");
        snprintf(d.realm, sizeof d.realm, "example.test");
        snprintf(d.client, sizeof d.client, "192.0.2.10:5070");
        snprintf(d.server, sizeof d.server, "192.0.2.1:5060");
        d.client_ep = (Endpoint){.family = 4, .addr = {192, 0, 2, 10}, .port = 5070};
        d.server_ep = (Endpoint){.family = 4, .addr = {192, 0, 2, 1}, .port = 5060};
        snprintf(d.transport, sizeof d.transport, "udp");
        snprintf(d.method, sizeof d.method, "REGISTER");
        snprintf(d.call_id, sizeof d.call_id, "a84b4c76e66710@pc33.example.test");
        snprintf(d.evidence, sizeof d.evidence, "3 refusals of fresh challenges");
        snprintf(d.remedy, sizeof d.remedy, "set the same secret on both sides");
        return d;
}

/* Encodes d with its JSON line and decodes it back; the packet stays in buf. */
static HepVerdict roundtrip(const Diagnosis *d, const HepSendParams *p, uint8_t *buf, size_t cap,
                            size_t *n, char **json, HepPacket *h)
{
        size_t jl = 0;

        *json = sink_json_line(d, &jl);
        if (!*json)
                return HEP__MAX;
        *n = hep_send_encode(d, *json, jl, p, buf, cap);
        if (*n == 0)
                return HEP__MAX;
        return hep_decode_any(buf, *n, h);
}

static bool payload_is(const HepPacket *h, const char *s)
{
        return h->payload_len == strlen(s) && memcmp(h->payload, s, h->payload_len) == 0;
}

static void test_v4_record(void)
{
        static uint8_t buf[HEP_SEND_MAX];
        Diagnosis d = record_v4();
        HepSendParams p = {.capture_id = 2002,
                           .auth_key = (const uint8_t *)KEY,
                           .auth_key_len = strlen(KEY),
                           .now_us = 1};
        HepAuthConfig auth = {0};
        HepPacket h, sip;
        size_t n = 0;
        char *json = NULL;
        HepVerdict v = roundtrip(&d, &p, buf, sizeof buf, &n, &json, &h);

        CHECK(v == HEP_OK, "hep_decode_any: %d", (int)v);
        if (v == HEP_OK) {
                CHECK(h.proto_type == HEP_SEND_PROTO_LOG, "payload type %u", h.proto_type);
                CHECK(payload_is(&h, json), "the payload is the JSON line");
                CHECK(h.correlation_id && h.correlation_id_len == strlen(d.call_id) &&
                          memcmp(h.correlation_id, d.call_id, h.correlation_id_len) == 0,
                      "the correlation id is the Call-ID");
                /* Kamailio's sipcapture takes chunk 17 with strlen(): a NUL must follow it. */
                CHECK(h.correlation_id + h.correlation_id_len < buf + n &&
                          h.correlation_id[h.correlation_id_len] == 0,
                      "chunk 17 is followed by another chunk");
                CHECK(endpoint_equal(&h.src, &d.client_ep), "source is the client");
                CHECK(endpoint_equal(&h.dst, &d.server_ep), "destination is the server");
                CHECK(h.ts_us == d.last_seen_us, "time is last_seen: %lld", (long long)h.ts_us);
                CHECK(h.capture_id == 2002, "capture id %u", h.capture_id);
                CHECK(h.transport == TRANSPORT_UDP, "udp");
                CHECK(h.hep_len == n, "the whole packet is one HEP packet");
                CHECK(hepauth_set_key(&auth, KEY), "key");
                CHECK(hepauth_key_ok(&auth, h.auth_key, h.auth_key_len),
                      "the listener's check accepts the key");
        }
        CHECK(hep_decode(buf, n, &sip) == HEP_E_NOT_SIP,
              "a log record is not SIP for the pipeline");
        CHECK(memmem(buf, n, "response=", 9) == NULL, "nothing digest-like was added");
        free(json);
}

static void test_v6_tcp_no_key(void)
{
        static uint8_t buf[HEP_SEND_MAX];
        Diagnosis d = record_v4();
        HepSendParams p = {.capture_id = 7, .now_us = 1};
        HepPacket h;
        size_t n = 0;
        char *json = NULL;
        HepVerdict v;

        d.client_ep =
            (Endpoint){.family = 6, .addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10}, .port = 5070};
        d.server_ep =
            (Endpoint){.family = 6, .addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x01}, .port = 5061};
        snprintf(d.transport, sizeof d.transport, "tcp");
        v = roundtrip(&d, &p, buf, sizeof buf, &n, &json, &h);
        CHECK(v == HEP_OK, "v6: %d", (int)v);
        if (v == HEP_OK) {
                CHECK(h.src.family == 6 && endpoint_equal(&h.src, &d.client_ep), "v6 source");
                CHECK(h.dst.family == 6 && endpoint_equal(&h.dst, &d.server_ep), "v6 dest");
                CHECK(h.transport == TRANSPORT_TCP, "tcp");
                CHECK(h.auth_key == NULL, "no key configured: no chunk 14");
                CHECK(h.capture_id == 7, "capture id");
        }
        free(json);
}

/* The rate-limit summary names no parties, no Call-ID and maybe no time. */
static void test_sparse_record(void)
{
        static uint8_t buf[HEP_SEND_MAX];
        Diagnosis d;
        HepSendParams p = {.capture_id = 2002, .now_us = 1700000000250000};
        HepPacket h;
        size_t n = 0;
        char *json = NULL;
        HepVerdict v;

        memset(&d, 0, sizeof d);
        d.code = DIAG_RATE_LIMITED;
        d.severity = SEV_NOTICE;
        snprintf(d.message, sizeof d.message, "40 records held back");
        v = roundtrip(&d, &p, buf, sizeof buf, &n, &json, &h);
        CHECK(v == HEP_OK, "sparse: %d", (int)v);
        if (v == HEP_OK) {
                CHECK(h.correlation_id == NULL, "no Call-ID: no chunk 17");
                CHECK(h.src.family == 4 && h.src.port == 0 && h.dst.port == 0,
                      "no parties: 0.0.0.0:0");
                CHECK(h.ts_us == p.now_us, "no time in the record: now");
                CHECK(payload_is(&h, json), "payload");
        }
        free(json);
}

/* Every buffer one byte (or more) too small: 0, and nothing written past it. */
static void test_short_buffers(void)
{
        static uint8_t full[HEP_SEND_MAX];
        Diagnosis d = record_v4();
        HepSendParams p = {
            .capture_id = 1, .auth_key = (const uint8_t *)KEY, .auth_key_len = strlen(KEY)};
        size_t jl = 0, need;
        char *json = sink_json_line(&d, &jl);
        static char big[HEP_SEND_MAX];

        CHECK(json != NULL, "json");
        if (!json)
                return;
        need = hep_send_encode(&d, json, jl, &p, full, sizeof full);
        CHECK(need > jl + 100, "encoded %zu", need);
        for (size_t cap = 0; cap < need; cap++) {
                uint8_t *b = malloc(cap ? cap : 1);

                if (!b)
                        break;
                CHECK(hep_send_encode(&d, json, jl, &p, b, cap) == 0, "cap %zu of %zu", cap, need);
                free(b);
        }
        {
                uint8_t *b = malloc(need);

                CHECK(b && hep_send_encode(&d, json, jl, &p, b, need) == need, "exact fit");
                CHECK(b && memcmp(b, full, need) == 0, "same bytes every time");
                free(b);
        }
        /* A payload that cannot fit in the 16-bit length. */
        memset(big, 'x', sizeof big);
        CHECK(hep_send_encode(&d, big, sizeof big, &p, full, sizeof full) == 0,
              "a record larger than one HEP packet is refused");
        free(json);
}

static void test_parse_addr(void)
{
        static const char *const good[] = {"127.0.0.1:9060", "192.0.2.7:1", "[::1]:9060",
                                           "[2001:db8::7]:65535", "[::ffff:192.0.2.1]:9060"};
        static const char *const bad[] = {"",
                                          "9060",
                                          ":9060",
                                          "localhost:9060",
                                          "homer.example:9060",
                                          "127.0.0.1",
                                          "127.0.0.1:",
                                          "127.0.0.1:0",
                                          "127.0.0.1:65536",
                                          "127.0.0.1:+9060",
                                          "127.0.0.1: 9060",
                                          "127.0.0.1:9060x",
                                          "127.1:9060",
                                          "::1:9060",
                                          "[::1:9060",
                                          "[127.0.0.1]:9060",
                                          "[]:9060",
                                          "2001:db8::7:9060"};
        struct sockaddr_in6 a6;
        size_t len = 0;

        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
                CHECK(hep_send_parse_addr(good[i], NULL, 0, NULL), "refused: %s", good[i]);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                CHECK(!hep_send_parse_addr(bad[i], NULL, 0, NULL), "accepted: '%s'", bad[i]);
        CHECK(hep_send_parse_addr("[2001:db8::7]:9060", &a6, sizeof a6, &len) && len == sizeof a6 &&
                  a6.sin6_family == AF_INET6 && ntohs(a6.sin6_port) == 9060,
              "sockaddr_in6");
}

/* A UDP socket on 127.0.0.1, its port in *port. */
static int udp_listener(uint16_t *port)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t al = sizeof a;
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
            getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        *port = ntohs(a.sin_port);
        return fd;
}

static void test_sender(void)
{
        static uint8_t buf[HEP_SEND_MAX];
        Diagnosis d = record_v4();
        char dest[32], err[256];
        HepSender *h = NULL;
        HepSenderStats st;
        uint16_t port = 0;
        int fd = udp_listener(&port);
        struct pollfd pfd;
        HepPacket pkt;
        ssize_t n;
        struct timespec t0, t1;

        CHECK(hep_sender_open(&h, "localhost:9060", 1, NULL, 0, err, sizeof err) == -EINVAL &&
                  h == NULL,
              "a name is refused");
        CHECK(fd >= 0, "loopback socket");
        if (fd < 0)
                return;
        snprintf(dest, sizeof dest, "127.0.0.1:%u", (unsigned)port);
        CHECK(hep_sender_open(&h, dest, 2002, (const uint8_t *)KEY, strlen(KEY), err, sizeof err) ==
                  0,
              "open: %s", err);
        if (!h) {
                close(fd);
                return;
        }
        hep_sender_send(h, &d);
        pfd = (struct pollfd){.fd = fd, .events = POLLIN};
        CHECK(poll(&pfd, 1, 2000) == 1, "a datagram arrives");
        n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        CHECK(n > 0 && hep_decode_any(buf, (size_t)n, &pkt) == HEP_OK &&
                  pkt.proto_type == HEP_SEND_PROTO_LOG && pkt.capture_id == 2002,
              "one HEP log packet (%zd bytes)", n);
        hep_sender_get_stats(h, &st);
        CHECK(st.packets == 1 && st.errors == 0, "packets %llu errors %llu",
              (unsigned long long)st.packets, (unsigned long long)st.errors);

        /* Nobody listens any more: ICMP port unreachable comes back as
         * ECONNREFUSED on a later send. Counted, and never a wait. */
        close(fd);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < 20; i++)
                hep_sender_send(h, &d);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        hep_sender_get_stats(h, &st);
        CHECK(st.errors >= 1, "refusals counted: %llu", (unsigned long long)st.errors);
        CHECK((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 1000,
              "20 sends to a closed port took more than a second");
        hep_sender_send(NULL, &d); /* no sender: nothing */
        h = hep_sender_free(h);
        CHECK(h == NULL, "free returns NULL");
}

int main(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        test_v4_record();
        test_v6_tcp_no_key();
        test_sparse_record();
        test_short_buffers();
        test_parse_addr();
        test_sender();
        return check_exit("hep_send");
}
