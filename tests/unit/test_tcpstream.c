/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for parser/tcpstream*.c and tcpframe_sip.c: SIP messages split
 * over many segments, several in one segment, retransmitted and out-of-order
 * segments, a capture that starts mid-stream, Content-Length forms and
 * errors, FIN/RST/idle close, limits under attack (streams and bytes stay
 * bounded, evictions are counted), random segmentations, sequence
 * wrap-around and IPv6, and the pull contract (messages taken with
 * tcpstream_next(), readable until the next call, the start line read once).
 * Each segment is fed from a heap copy of exactly its length (ASan).
 */
#include "tcpstream.h"
#include "check.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000000ll

/* A number below n from check.h's fixed sequence. */
static uint32_t rnd(uint32_t n)
{
        return check_rand() % n;
}

/* ------------------------------------------------------------ collector */

#define MAX_GOT 4096
typedef struct {
        size_t n;
        char *msg[MAX_GOT];
        size_t len[MAX_GOT];
        uint16_t sport[MAX_GOT];
        int64_t ts[MAX_GOT];
        bool handshake[MAX_GOT];
} Got;

static void collect(Got *g, const TcpMessage *m)
{
        if (g->n >= MAX_GOT)
                return;
        g->msg[g->n] = malloc(m->len + 1);
        memcpy(g->msg[g->n], m->data, m->len);
        g->msg[g->n][m->len] = '\0';
        g->len[g->n] = m->len;
        g->sport[g->n] = m->src.port;
        g->ts[g->n] = m->ts_us;
        g->handshake[g->n] = m->handshake;
        g->n++;
}

/* Which collector takes the messages of which reassembler. */
static struct {
        const TcpStreams *t;
        Got *g;
} sinks[4];

static TcpStreams *streams_new(const TcpStreamConfig *cfg, Got *g)
{
        TcpStreams *t = tcpstream_new(cfg);

        for (size_t i = 0; i < sizeof sinks / sizeof sinks[0]; i++)
                if (!sinks[i].t || sinks[i].t == t) {
                        sinks[i].t = t;
                        sinks[i].g = g;
                        break;
                }
        return t;
}

/* Everything the last feed, expire or flush completed, as the pipeline takes it. */
static void take(TcpStreams *t)
{
        Got *g = NULL;
        TcpMessage m;

        for (size_t i = 0; i < sizeof sinks / sizeof sinks[0]; i++)
                if (sinks[i].t == t)
                        g = sinks[i].g;
        while (tcpstream_next(t, &m))
                if (g)
                        collect(g, &m);
}

static void streams_free(TcpStreams *t)
{
        for (size_t i = 0; i < sizeof sinks / sizeof sinks[0]; i++)
                if (sinks[i].t == t)
                        sinks[i].t = NULL;
        tcpstream_free(t);
}

static void expire(TcpStreams *t, int64_t now_us)
{
        tcpstream_expire(t, now_us);
        take(t);
}

static void flush(TcpStreams *t, int64_t now_us)
{
        tcpstream_flush(t, now_us);
        take(t);
}

static void got_clear(Got *g)
{
        for (size_t i = 0; i < g->n; i++)
                free(g->msg[i]);
        g->n = 0;
}

static TcpStreamStats stats(const TcpStreams *t)
{
        TcpStreamStats s;

        tcpstream_get_stats(t, &s);
        return s;
}

/* ------------------------------------------------------------ segments */

static DecodedPacket seg(int family, uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags)
{
        DecodedPacket p = {0};

        p.src.family = p.dst.family = (uint8_t)family;
        if (family == 4) {
                p.src.addr[0] = 198, p.src.addr[1] = 51, p.src.addr[2] = 100, p.src.addr[3] = 7;
                p.dst.addr[0] = 192, p.dst.addr[1] = 0, p.dst.addr[2] = 2, p.dst.addr[3] = 10;
        } else {
                p.src.addr[0] = 0x20, p.src.addr[1] = 0x01, p.src.addr[15] = 7;
                p.dst.addr[0] = 0x20, p.dst.addr[1] = 0x01, p.dst.addr[15] = 10;
        }
        p.src.port = sport;
        p.dst.port = dport;
        p.transport = TRANSPORT_TCP;
        p.ip_proto = 6;
        p.tcp_seq = seq;
        p.tcp_flags = flags | DECODE_TCP_ACK;
        return p;
}

static void feed(TcpStreams *t, DecodedPacket p, const void *data, size_t n, int64_t ts)
{
        uint8_t *copy = malloc(n ? n : 1);

        if (n)
                memcpy(copy, data, n);
        p.payload = copy;
        p.payload_len = n;
        tcpstream_feed(t, &p, ts);
        take(t);
        free(copy);
}

static char *sip_message(unsigned k, size_t body, const char *cl_name)
{
        static char buf[8][70000];
        static unsigned slot;
        char *m = buf[slot++ % 8];
        int n = snprintf(m, 70000,
                         "REGISTER sip:example.com SIP/2.0\r\n"
                         "Via: SIP/2.0/TCP 198.51.100.7:5060;branch=z9hG4bK%u\r\n"
                         "Call-ID: c%u@test\r\nCSeq: %u REGISTER\r\n"
                         "%s: %zu\r\n\r\n",
                         k, k, k + 1, cl_name, body);

        for (size_t i = 0; i < body && (size_t)n + i + 1 < 70000; i++)
                m[n + (int)i] = (char)('a' + (k + i) % 26);
        m[(size_t)n + body] = '\0';
        return m;
}

static const char *RESPONSE = "SIP/2.0 401 Unauthorized\r\nCall-ID: r@test\r\nCSeq: 1 REGISTER\r\n"
                              "Content-Length: 0\r\n\r\n";

/* ------------------------------------------------------------ tests */

static void test_basic(int family)
{
        Got g = {0};
        TcpStreams *t = streams_new(NULL, &g);
        const char *m = sip_message(1, 120, "Content-Length");
        size_t n = strlen(m);

        feed(t, seg(family, 40000, 5060, 1000, DECODE_TCP_SYN), NULL, 0, 0);
        feed(t, seg(family, 40000, 5060, 1001, DECODE_TCP_PSH), m, n, 1);
        CHECK(g.n == 1 && g.len[0] == n && memcmp(g.msg[0], m, n) == 0,
              "v%d one message in one segment (%zu)", family, g.n);
        CHECK(stats(t).resyncs == 0, "a stream seen from its SYN needs no resync");
        /* A response the other way. */
        feed(t, seg(family, 5060, 40000, 7000, DECODE_TCP_SYN), NULL, 0, 1);
        feed(t, seg(family, 5060, 40000, 7001, 0), RESPONSE, strlen(RESPONSE), 2);
        CHECK(g.n == 2 && g.sport[1] == 5060, "v%d response direction", family);
        CHECK(stats(t).active == 2 && stats(t).streams == 2, "two directions");
        feed(t, seg(family, 40000, 5060, 1001 + (uint32_t)n, DECODE_TCP_FIN), NULL, 0, 3);
        CHECK(stats(t).closed_fin == 1 && stats(t).active == 1, "FIN closes one direction");
        feed(t, seg(family, 5060, 40000, 7001 + (uint32_t)strlen(RESPONSE), DECODE_TCP_RST), NULL,
             0, 3);
        CHECK(stats(t).closed_rst == 1 && stats(t).active == 0, "RST closes the rest");
        CHECK(stats(t).bytes == 0, "no bytes left");
        streams_free(t);
        got_clear(&g);
}

static void test_split_and_coalesced(void)
{
        Got g = {0};
        TcpStreams *t = streams_new(NULL, &g);
        char all[8192];
        size_t n = 0;
        const char *m[3];

        m[0] = sip_message(1, 0, "Content-Length");
        m[1] = sip_message(2, 300, "content-LENGTH"); /* names are case-insensitive */
        m[2] = sip_message(3, 17, "l");               /* compact form */
        for (int k = 0; k < 3; k++) {
                memcpy(all + n, m[k], strlen(m[k]));
                n += strlen(m[k]);
                memcpy(all + n, "\r\n\r\n", 4); /* RFC 5626 keep-alives between */
                n += 4;
        }
        /* One byte per segment. */
        feed(t, seg(4, 40000, 5060, 0, DECODE_TCP_SYN), NULL, 0, 0);
        for (size_t i = 0; i < n; i++)
                feed(t, seg(4, 40000, 5060, 1 + (uint32_t)i, 0), all + i, 1, (int64_t)i);
        CHECK(g.n == 3, "1-byte segments: %zu messages", g.n);
        for (size_t k = 0; k < g.n && k < 3; k++)
                CHECK(g.len[k] == strlen(m[k]) && memcmp(g.msg[k], m[k], g.len[k]) == 0,
                      "message %zu intact", k);
        /* All three in one segment. */
        feed(t, seg(4, 40000, 5060, 1 + (uint32_t)n, 0), all, n, 0);
        CHECK(g.n == 6, "coalesced: %zu messages", g.n);
        for (size_t k = 3; k < g.n && k < 6; k++)
                CHECK(g.len[k] == strlen(m[k - 3]) && memcmp(g.msg[k], m[k - 3], g.len[k]) == 0,
                      "coalesced message %zu intact", k);
        /* Split in the middle of the CRLFCRLF and of the Content-Length value. */
        uint32_t seq = 1 + 2 * (uint32_t)n;
        const char *cl = strstr(m[1], "LENGTH: 3") + 9;
        size_t cut1 = (size_t)(cl - m[1]), cut2 = (size_t)(strstr(m[1], "\r\n\r\n") - m[1]) + 2;
        feed(t, seg(4, 40000, 5060, seq, 0), m[1], cut1, 0);
        feed(t, seg(4, 40000, 5060, seq + (uint32_t)cut1, 0), m[1] + cut1, cut2 - cut1, 0);
        feed(t, seg(4, 40000, 5060, seq + (uint32_t)cut2, 0), m[1] + cut2, strlen(m[1]) - cut2, 0);
        CHECK(g.n == 7 && g.len[6] == strlen(m[1]), "cut inside Content-Length and CRLFCRLF");
        CHECK(stats(t).messages == 7, "messages counter");
        streams_free(t);
        got_clear(&g);
}

static void test_retransmit_reorder(void)
{
        Got g = {0};
        TcpStreams *t = streams_new(NULL, &g);
        const char *m1 = sip_message(1, 500, "Content-Length");
        const char *m2 = sip_message(2, 40, "Content-Length");
        char all[4096];
        size_t n1 = strlen(m1), n2 = strlen(m2), n = n1 + n2;

        memcpy(all, m1, n1);
        memcpy(all + n1, m2, n2);
        feed(t, seg(4, 40000, 5060, 99, DECODE_TCP_SYN), NULL, 0, 0);
        /* Segments A=[0,300) B=[300,600) C=[600,n): C, A, A again, B, then C again. */
        feed(t, seg(4, 40000, 5060, 100 + 600, 0), all + 600, n - 600, 1);
        CHECK(g.n == 0 && stats(t).out_of_order == 1, "C queued");
        feed(t, seg(4, 40000, 5060, 100, 0), all, 300, 2);
        feed(t, seg(4, 40000, 5060, 100, 0), all, 300, 3);
        CHECK(stats(t).retransmitted == 1, "A again is a retransmission");
        feed(t, seg(4, 40000, 5060, 100 + 300, 0), all + 300, 300, 4);
        CHECK(g.n == 2, "both messages after the hole filled: %zu", g.n);
        CHECK(g.n == 2 && g.len[0] == n1 && memcmp(g.msg[0], m1, n1) == 0 && g.len[1] == n2 &&
                  memcmp(g.msg[1], m2, n2) == 0,
              "intact");
        CHECK(g.n >= 1 && g.ts[0] == 4, "delivered at the time of the completing segment");
        feed(t, seg(4, 40000, 5060, 100 + 600, 0), all + 600, n - 600, 5);
        CHECK(g.n == 2 && stats(t).retransmitted == 2, "late copy of C ignored");
        /* Overlapping retransmission: [200, 650) then the rest [650, n) of a repeat. */
        uint32_t base = 100 + (uint32_t)n;
        feed(t, seg(4, 40000, 5060, base, 0), all, 400, 6);
        feed(t, seg(4, 40000, 5060, base + 200, 0), all + 200, 450, 7);
        CHECK(stats(t).trimmed == 1, "partial overlap trimmed");
        feed(t, seg(4, 40000, 5060, base + 650, 0), all + 650, n - 650, 8);
        CHECK(g.n == 4 && g.len[2] == n1 && memcmp(g.msg[2], m1, n1) == 0, "after trimming: %zu",
              g.n);
        streams_free(t);
        got_clear(&g);
}

static void test_midstream(void)
{
        Got g = {0};
        TcpStreams *t = streams_new(NULL, &g);
        const char *m1 = sip_message(1, 200, "Content-Length");
        const char *m2 = sip_message(2, 10, "Content-Length");
        char all[4096];
        size_t n1 = strlen(m1), n2 = strlen(m2);

        memcpy(all, m1, n1);
        memcpy(all + n1, m2, n2);
        /* No SYN; the capture starts inside m1's headers. */
        feed(t, seg(4, 40000, 5060, 5000, 0), all + 40, n1 + n2 - 40 - 30, 0);
        CHECK(g.n == 0, "nothing yet: %zu", g.n);
        CHECK(stats(t).resyncs == 1, "mid-stream start counted");
        feed(t, seg(4, 40000, 5060, 5000 + (uint32_t)(n1 + n2 - 70), 0), all + n1 + n2 - 30, 30, 1);
        CHECK(g.n == 1 && g.len[0] == n2 && memcmp(g.msg[0], m2, n2) == 0,
              "resynchronised on the next start line: %zu", g.n);
        CHECK(stats(t).skipped_bytes == n1 - 40, "skipped %llu of %zu",
              (unsigned long long)stats(t).skipped_bytes, n1 - 40);

        /* Binary (not SIP) after a SYN: nothing is delivered, the stream desyncs. */
        uint8_t junk[3000];
        for (size_t i = 0; i < sizeof junk; i++)
                junk[i] = (uint8_t)(i % 251 == 0 ? '\n' : rnd(256));
        feed(t, seg(4, 41000, 139, 0, DECODE_TCP_SYN), NULL, 0, 2);
        feed(t, seg(4, 41000, 139, 1, 0), junk, sizeof junk, 2);
        CHECK(g.n == 1, "no message from junk");
        CHECK(stats(t).resyncs >= 2, "junk desynced");
        /* A SIP message after the junk in that stream is still found. */
        feed(t, seg(4, 41000, 139, 1 + sizeof junk, 0), "\r\n", 2, 3);
        feed(t, seg(4, 41000, 139, 3 + sizeof junk, 0), m2, n2, 3);
        CHECK(g.n == 2, "message after junk: %zu", g.n);
        streams_free(t);
        got_clear(&g);
}

/* Regression (found through the HEP variants): a mid-stream segment that is
 * not SIP (a 10-byte TLS record to 5061), then a shorter copy of its start at
 * the same sequence number. Once crashed in buf_append with a negative length. */
static void test_short_retransmit_of_junk(void)
{
        Got g = {0};
        TcpStreams *t = streams_new(NULL, &g);
        const uint8_t tls[10] = {22, 3, 1, 0, 5, 'h', 'e', 'l', 'l', 'o'};

        feed(t, seg(4, 40000, 5061, 1000, 0), tls, sizeof tls, 0);
        feed(t, seg(4, 40000, 5061, 1000, 0), tls, 4, 1);
        feed(t, seg(4, 40000, 5061, 1004, 0), tls + 4, 6, 2);
        CHECK(g.n == 0, "no SIP message from a TLS record: %zu", g.n);
        CHECK(stats(t).retransmitted >= 1, "the short copy counts as a retransmission");
        streams_free(t);
        got_clear(&g);
}

static void test_bad_lengths(void)
{
        Got g = {0};
        TcpStreamConfig cfg = {.max_header = 4096, .max_body = 1000};
        TcpStreams *t = streams_new(&cfg, &g);
        const char *good = sip_message(9, 5, "Content-Length");
        char b[16384];
        uint32_t seq = 1;
        int n;

        feed(t, seg(4, 40000, 5060, 0, DECODE_TCP_SYN), NULL, 0, 0);
#define SEND(str, len)                                                                             \
        do {                                                                                       \
                feed(t, seg(4, 40000, 5060, seq, 0), str, len, 0);                                 \
                seq += (uint32_t)(len);                                                            \
        } while (0)
        /* Unparsable Content-Length: resync, the next message is found. */
        n = snprintf(b, sizeof b, "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1x\r\n\r\nzzzz");
        SEND(b, (size_t)n);
        SEND(good, strlen(good));
        CHECK(stats(t).bad_content_length == 1 && g.n == 1, "bad CL: %zu", g.n);
        /* Two disagreeing Content-Length headers. */
        n = snprintf(b, sizeof b, "OPTIONS sip:a@b SIP/2.0\r\nl: 2\r\nContent-Length: 3\r\n\r\n");
        SEND(b, (size_t)n);
        SEND(good, strlen(good));
        CHECK(stats(t).bad_content_length == 2 && g.n == 2, "two CLs: %zu", g.n);
        /* Missing Content-Length: taken as 0. */
        n = snprintf(b, sizeof b, "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n");
        SEND(b, (size_t)n);
        CHECK(stats(t).no_content_length == 1 && g.n == 3 && g.len[2] == (size_t)n, "no CL: %zu",
              g.n);
        /* Body over max_body: skipped exactly, the next message is found. */
        n = snprintf(b, sizeof b, "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5000\r\n\r\n");
        memset(b + n, 'B', 5000);
        for (int k = 0; k < 5000; k += 700)
                memcpy(b + n + k, "\r\nINVITE sip:x SIP/2.0\r\n", 24); /* start lines in the body */
        SEND(b, (size_t)n + 3000);
        SEND(b + n + 3000, 2000);
        SEND(good, strlen(good));
        CHECK(stats(t).body_too_big == 1 && g.n == 4 && g.len[3] == strlen(good),
              "big body skipped: %zu", g.n);
        /* Headers that never end within max_header. */
        n = snprintf(b, sizeof b, "INFO sip:a@b SIP/2.0\r\n");
        for (; n < 6000; n += 10)
                memcpy(b + n, "X-Pad: y\r\n", 10);
        SEND(b, (size_t)n);
        CHECK(stats(t).header_too_big == 1, "header too big");
        CHECK(stats(t).bytes <= 2 * cfg.max_header, "buffer bounded: %llu",
              (unsigned long long)stats(t).bytes);
        SEND("\r\n\r\n", 4);
        SEND(good, strlen(good));
        CHECK(g.n == 5, "recovered after a header flood: %zu", g.n);
#undef SEND
        streams_free(t);
        got_clear(&g);
}

static void test_timeout_and_flush(void)
{
        Got g = {0};
        TcpStreamConfig cfg = {.idle_timeout_us = 60 * SEC};
        TcpStreams *t = streams_new(&cfg, &g);
        const char *m = sip_message(1, 30, "Content-Length");
        size_t n = strlen(m);

        feed(t, seg(4, 40000, 5060, 0, DECODE_TCP_SYN), NULL, 0, 0);
        feed(t, seg(4, 40000, 5060, 1, 0), m, 20, 0);
        feed(t, seg(4, 40001, 5060, 0, DECODE_TCP_SYN), NULL, 0, 30 * SEC);
        expire(t, 59 * SEC);
        CHECK(stats(t).active == 2, "before the idle timeout");
        expire(t, 60 * SEC);
        CHECK(stats(t).timeouts == 1 && stats(t).active == 1, "idle stream expired");
        CHECK(g.n == 0, "a partial message is not delivered");
        /* Out-of-order data behind a hole is framed at flush. */
        feed(t, seg(4, 40001, 5060, 1 + 50, 0), m, n, 31 * SEC); /* a hole of 50 bytes */
        CHECK(g.n == 0 && stats(t).out_of_order == 1, "queued");
        expire(t, 32 * SEC);
        CHECK(g.n == 0, "a hole younger than the gap timeout is waited for");
        expire(t, 33 * SEC);
        CHECK(g.n == 1 && stats(t).gaps == 1, "gap timeout skipped the hole: %zu", g.n);
        feed(t, seg(4, 40001, 5060, 1 + 50 + (uint32_t)n + 7, 0), m, n, 34 * SEC);
        CHECK(g.n == 1, "queued again behind a new hole");
        flush(t, 34 * SEC);
        CHECK(g.n == 2 && stats(t).gaps == 2, "flushed past the hole: %zu", g.n);
        CHECK(stats(t).active == 0 && stats(t).bytes == 0, "all closed");
        streams_free(t);
        got_clear(&g);
}

/* The out-of-order queue is bounded: a hole that never fills is skipped. */
static void test_lost_segment(void)
{
        Got g = {0};
        TcpStreamConfig cfg = {.max_ooo_segments = 4};
        TcpStreams *t = streams_new(&cfg, &g);
        char all[16384];
        size_t off[21], n = 0;

        for (unsigned k = 0; k < 20; k++) {
                const char *m = sip_message(k, 10, "Content-Length");

                off[k] = n;
                memcpy(all + n, m, strlen(m));
                n += strlen(m);
        }
        off[20] = n;
        feed(t, seg(4, 40000, 5060, 0, DECODE_TCP_SYN), NULL, 0, 0);
        /* One segment per message; message 3's segment is lost. */
        for (unsigned k = 0; k < 20; k++)
                if (k != 3)
                        feed(t, seg(4, 40000, 5060, 1 + (uint32_t)off[k], 0), all + off[k],
                             off[k + 1] - off[k], k);
        CHECK(stats(t).gaps == 1, "one gap: %llu", (unsigned long long)stats(t).gaps);
        CHECK(g.n == 19, "all but the lost message: %zu", g.n);
        streams_free(t);
        got_clear(&g);
}

/* Many streams with partial messages: the table and byte caps hold. */
static void test_attack(void)
{
        Got g = {0};
        TcpStreamConfig cfg = {.max_streams = 64, .max_bytes = 256 * 1024};
        TcpStreams *t = streams_new(&cfg, &g);
        char partial[3000];
        uint64_t max_active = 0, max_bytes = 0;

        memcpy(partial, "INVITE sip:x@y SIP/2.0\r\n", 24);
        memset(partial + 24, 'h', sizeof partial - 24);
        for (uint32_t k = 0; k < 20000; k++) {
                feed(t,
                     seg(4, (uint16_t)(1024 + k % 60000), (uint16_t)(5060 + k / 60000), 0,
                         DECODE_TCP_SYN),
                     NULL, 0, k);
                feed(t, seg(4, (uint16_t)(1024 + k % 60000), (uint16_t)(5060 + k / 60000), 1, 0),
                     partial, sizeof partial, k);
                TcpStreamStats s = stats(t);
                if (s.active > max_active)
                        max_active = s.active;
                if (s.bytes > max_bytes)
                        max_bytes = s.bytes;
        }
        CHECK(max_active <= cfg.max_streams, "active %llu", (unsigned long long)max_active);
        CHECK(max_bytes <= cfg.max_bytes, "bytes %llu", (unsigned long long)max_bytes);
        CHECK(stats(t).evicted >= 20000 - 64, "evicted %llu", (unsigned long long)stats(t).evicted);

        /* One stream, a huge out-of-order backlog: per-stream cap. */
        TcpStreamConfig c2 = {.max_stream_bytes = 32 * 1024, .max_ooo_segments = 1000};
        TcpStreams *t2 = streams_new(&c2, &g);
        feed(t2, seg(4, 40000, 5060, 0, DECODE_TCP_SYN), NULL, 0, 0);
        for (uint32_t k = 1; k < 200; k++) {
                feed(t2, seg(4, 40000, 5060, 1 + k * 1000, 0), partial, 1000, k);
                if (stats(t2).bytes > max_bytes)
                        max_bytes = stats(t2).bytes;
                CHECK(stats(t2).bytes <= c2.max_stream_bytes, "stream bytes %llu at %u",
                      (unsigned long long)stats(t2).bytes, k);
        }
        CHECK(stats(t2).ooo_dropped > 0 && stats(t2).gaps > 0, "backlog capped, gaps counted");
        streams_free(t2);
        streams_free(t);
        got_clear(&g);
}

/* Random segmentation, order and retransmission of 200 messages. */
static void test_random(uint32_t isn)
{
        Got g = {0};
        TcpStreamConfig cfg = {.max_ooo_segments = 4096, .max_stream_bytes = 1u << 24};
        TcpStreams *t = streams_new(&cfg, &g);
        static char all[200 * 1400];
        static size_t moff[201];
        static struct {
                uint32_t off, len;
        } segs[20000];
        size_t n = 0, ns = 0, bad = 0;

        for (unsigned k = 0; k < 200; k++) {
                const char *m = sip_message(k, rnd(900), rnd(2) ? "Content-Length" : "l");

                moff[k] = n;
                memcpy(all + n, m, strlen(m));
                n += strlen(m);
        }
        moff[200] = n;
        for (size_t off = 0; off < n && ns < 19000;) {
                uint32_t len = 1 + rnd(rnd(4) ? 300 : 3000);

                if (off + len > n)
                        len = (uint32_t)(n - off);
                segs[ns].off = (uint32_t)off;
                segs[ns++].len = len;
                if (rnd(10) == 0) { /* retransmission, maybe re-cut */
                        uint32_t extra = rnd(len);
                        segs[ns].off = (uint32_t)off + extra;
                        segs[ns++].len = len - extra;
                }
                off += len;
        }
        /* Local reordering: swap neighbours within a small window. */
        for (size_t i = 0; i + 1 < ns; i++)
                if (rnd(4) == 0) {
                        size_t j = i + 1 + rnd(3 < ns - i - 1 ? 3 : (uint32_t)(ns - i - 1));
                        __typeof__(segs[0]) tmp = segs[i];
                        segs[i] = segs[j];
                        segs[j] = tmp;
                }
        feed(t, seg(6, 40000, 5060, isn, DECODE_TCP_SYN), NULL, 0, 0);
        for (size_t i = 0; i < ns; i++)
                feed(t, seg(6, 40000, 5060, isn + 1 + segs[i].off, 0), all + segs[i].off,
                     segs[i].len, (int64_t)i);
        flush(t, 0);
        CHECK(g.n == 200, "isn %u: %zu of 200 messages", isn, g.n);
        for (size_t k = 0; k < g.n && k < 200; k++)
                if (g.len[k] != moff[k + 1] - moff[k] || memcmp(g.msg[k], all + moff[k], g.len[k]))
                        bad++;
        CHECK(bad == 0, "isn %u: %zu messages differ", isn, bad);
        CHECK(stats(t).gaps == 0, "no gaps");
        streams_free(t);
        got_clear(&g);
}

/* A SYN on a tracked 4-tuple with another ISN is a new connection. */
static void test_reuse(void)
{
        Got g = {0};
        TcpStreams *t = streams_new(NULL, &g);
        const char *m = sip_message(1, 10, "Content-Length");

        feed(t, seg(4, 40000, 5060, 100, DECODE_TCP_SYN), NULL, 0, 0);
        feed(t, seg(4, 40000, 5060, 101, 0), m, 30, 0);                /* partial */
        feed(t, seg(4, 40000, 5060, 100, DECODE_TCP_SYN), NULL, 0, 0); /* retransmitted SYN */
        feed(t, seg(4, 40000, 5060, 131, 0), m + 30, strlen(m) - 30, 0);
        CHECK(g.n == 1, "retransmitted SYN changes nothing: %zu", g.n);
        feed(t, seg(4, 40000, 5060, 9000000, DECODE_TCP_SYN), NULL, 0, 1);
        feed(t, seg(4, 40000, 5060, 9000001, 0), m, strlen(m), 1);
        CHECK(g.n == 2, "new connection on the same ports: %zu", g.n);
        streams_free(t);
        got_clear(&g);
}

/* The reply direction of a segment built by seg(). */
static DecodedPacket rev(DecodedPacket p, uint32_t seq, uint32_t ack, uint8_t flags)
{
        Endpoint e = p.src;

        p.src = p.dst;
        p.dst = e;
        p.tcp_seq = seq;
        p.tcp_ack = ack;
        p.tcp_flags = flags;
        return p;
}

/* A client segment with an exact flag set (seg() always adds ACK). */
static DecodedPacket cseg(uint32_t seq, uint32_t ack, uint8_t flags)
{
        DecodedPacket p = seg(4, 40000, 5060, seq, 0);

        p.tcp_ack = ack;
        p.tcp_flags = flags;
        return p;
}

/*
 * A message proves its source only after the whole three-way handshake
 * (DESIGN.md verified sources): a SYN and data alone do not, nor an ACK of
 * the wrong ISN, nor a connection that drew two SYN-ACKs (one injected).
 */
static void test_handshake(void)
{
        const uint8_t A = DECODE_TCP_ACK, S = DECODE_TCP_SYN;
        const char *m = sip_message(1, 0, "Content-Length");
        size_t n = strlen(m);
        Got g = {0};
        TcpStreams *t = streams_new(NULL, &g);
        DecodedPacket c = seg(4, 40000, 5060, 0, 0);

        /* Whole: SYN, SYN-ACK, ACK, data. */
        feed(t, cseg(1000, 0, S), NULL, 0, 0);
        feed(t, rev(c, 5000, 1001, S | A), NULL, 0, 0);
        feed(t, cseg(1001, 5001, A), NULL, 0, 0);
        feed(t, cseg(1001, 5001, A), m, n, 0);
        CHECK(g.n == 1 && g.handshake[0], "handshake seen: %zu %d", g.n, g.n ? g.handshake[0] : -1);
        CHECK(stats(t).handshakes == 1, "counted: %" PRIu64, stats(t).handshakes);
        /* The server's reply on the same connection is proven too. */
        feed(t, rev(c, 5001, 1001 + (uint32_t)n, A), RESPONSE, strlen(RESPONSE), 0);
        CHECK(g.n == 2 && g.handshake[1], "reply direction");
        streams_free(t);
        got_clear(&g);

        /* The spoofer's shape: SYN, then data acknowledging a guessed ISN. */
        t = streams_new(NULL, &g);
        feed(t, cseg(1000, 0, S), NULL, 0, 0);
        feed(t, rev(c, 5000, 1001, S | A), NULL, 0, 0);
        feed(t, cseg(1001, 7777, A), m, n, 0);
        CHECK(g.n == 1 && !g.handshake[0], "ACK of another ISN proves nothing");
        streams_free(t);
        got_clear(&g);

        /* Picked up mid-stream: no handshake seen. */
        t = streams_new(NULL, &g);
        feed(t, cseg(1001, 5001, A), m, n, 0);
        CHECK(g.n == 1 && !g.handshake[0], "mid-stream");
        streams_free(t);
        got_clear(&g);

        /* Two SYN-ACKs for one SYN: one was injected on the mirror port. */
        t = streams_new(NULL, &g);
        feed(t, cseg(1000, 0, S), NULL, 0, 0);
        feed(t, rev(c, 6000, 1001, S | A), NULL, 0, 0); /* the forger's */
        feed(t, cseg(1001, 6001, A), NULL, 0, 0);
        feed(t, rev(c, 5000, 1001, S | A), NULL, 0, 0); /* the real server's */
        feed(t, cseg(1001, 6001, A), m, n, 0);
        CHECK(g.n == 1 && !g.handshake[0], "conflicting SYN-ACKs prove nothing");
        CHECK(stats(t).handshake_conflicts == 1, "conflict counted");
        /* A retransmitted SYN-ACK (same ISN) is no conflict. */
        streams_free(t);
        got_clear(&g);
        t = streams_new(NULL, &g);
        feed(t, cseg(1000, 0, S), NULL, 0, 0);
        feed(t, rev(c, 5000, 1001, S | A), NULL, 0, 0);
        feed(t, rev(c, 5000, 1001, S | A), NULL, 0, 0);
        feed(t, cseg(1001, 5001, A), m, n, 0);
        CHECK(g.n == 1 && g.handshake[0], "retransmitted SYN-ACK");
        CHECK(stats(t).handshake_conflicts == 0, "no conflict");
        streams_free(t);
        got_clear(&g);
}

/*
 * The pull contract (tcpstream.h): each message stays readable until the
 * next call, whether it lies in the segment, in a queued segment or in the
 * stream buffer; what is not taken before the next feed is dropped but
 * counted; freeing with work pending leaks nothing (ASan, valgrind).
 */
static void test_pull(void)
{
        const char *m1 = sip_message(1, 10, "Content-Length");
        const char *m2 = sip_message(2, 20, "l");
        size_t n1 = strlen(m1), n2 = strlen(m2);
        char two[1024];
        TcpStreams *t = tcpstream_new(NULL);
        TcpMessage a, b;
        DecodedPacket p = seg(4, 40000, 5060, 0, DECODE_TCP_SYN);

        memcpy(two, m1, n1);
        memcpy(two + n1, m2, n2);
        tcpstream_feed(t, &p, 0);
        CHECK(!tcpstream_next(t, &a), "a SYN completes nothing");
        /* Two messages in one segment, each where it lies. */
        p = seg(4, 40000, 5060, 1, 0);
        p.payload = (const uint8_t *)two;
        p.payload_len = n1 + n2;
        tcpstream_feed(t, &p, 1);
        CHECK(tcpstream_next(t, &a) && a.data == (const uint8_t *)two && a.len == n1, "first");
        CHECK(tcpstream_next(t, &b) && b.data == (const uint8_t *)two + n1 && b.len == n2,
              "second");
        CHECK(b.ts_us == 1 && b.src.port == 40000 && b.framing == TCP_FRAMING_SIP, "meta");
        /* The framer read the start line; nobody need read it again. */
        CHECK(b.start && b.start->is_request && b.start->uri_off == 9 && b.start->uri_len == 15,
              "start line %zu %zu", b.start ? b.start->uri_off : 0, b.start ? b.start->uri_len : 0);
        CHECK(!tcpstream_next(t, &a) && !tcpstream_next(t, &a), "then none, and none again");
        /* m1 cut in two, with m2 behind it: m1 comes from the buffer, whole
         * until the next call, which drops it from the buffer. */
        p.tcp_seq = 1 + (uint32_t)(n1 + n2);
        p.payload_len = 30;
        tcpstream_feed(t, &p, 2);
        CHECK(!tcpstream_next(t, &a), "partial");
        p.tcp_seq += 30;
        p.payload = (const uint8_t *)two + 30;
        p.payload_len = n1 + n2 - 30;
        tcpstream_feed(t, &p, 3);
        CHECK(tcpstream_next(t, &a) && a.len == n1 && memcmp(a.data, m1, n1) == 0,
              "buffered message whole");
        CHECK(tcpstream_next(t, &b) && b.len == n2 && memcmp(b.data, m2, n2) == 0,
              "then the one behind it");
        CHECK(!tcpstream_next(t, &a), "done");
        /* Not taken: the next feed frames it and drops it, counted. */
        p.tcp_seq += (uint32_t)(n1 + n2 - 30);
        p.payload = (const uint8_t *)two;
        p.payload_len = n1 + n2;
        tcpstream_feed(t, &p, 4);
        p.tcp_seq += (uint32_t)(n1 + n2);
        p.payload_len = 0;
        tcpstream_feed(t, &p, 5);
        CHECK(!tcpstream_next(t, &a), "dropped");
        CHECK(stats(t).messages == 6, "counted: %" PRIu64, stats(t).messages);
        /* Out of order, then the hole filled: free while the first queued
         * segment is being delivered. */
        p.payload = (const uint8_t *)two + 40;
        p.payload_len = n1 + n2 - 40;
        p.tcp_seq += 40;
        tcpstream_feed(t, &p, 6);
        p.tcp_seq -= 40;
        p.payload = (const uint8_t *)two;
        p.payload_len = 40;
        tcpstream_feed(t, &p, 7);
        CHECK(tcpstream_next(t, &a) && a.len == n1, "from the queue");
        tcpstream_free(t);
}

int main(void)
{
        test_basic(4);
        test_basic(6);
        test_split_and_coalesced();
        test_retransmit_reorder();
        test_short_retransmit_of_junk();
        test_midstream();
        test_bad_lengths();
        test_timeout_and_flush();
        test_lost_segment();
        test_attack();
        test_random(12345);
        test_random(0xfffff000u); /* sequence numbers wrap around */
        test_reuse();
        test_handshake();
        test_pull();
        return check_exit("tcpstream");
}
