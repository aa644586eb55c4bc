/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * parser/websocket.c: RFC 6455 frames (masked and not, 7-, 16- and 64-bit
 * lengths, fragmented messages with control frames between and inside, text
 * and binary), any chunking, every bad frame counted and resynchronised, the
 * limits, the mid-connection resync and the HTTP/1.1 Upgrade handshake;
 * then through the TCP reassembler: the switch after the handshake on a
 * port that is no ws port, the pick-up mid-connection on a ws port (and not
 * on another), HTTP that is no SIP WebSocket, a new SYN on the same 4-tuple.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "packet.h"
#include "tcpstream.h"
#include "websocket.h"

#define REGISTER_MSG                                                                               \
        "REGISTER sip:example.com SIP/2.0\r\n"                                                     \
        "Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks\r\n"                          \
        "From: <sip:alice@example.com>;tag=65bnmj.34asd\r\n"                                       \
        "To: <sip:alice@example.com>\r\n"                                                          \
        "Call-ID: aiuy7k9njasd\r\n"                                                                \
        "CSeq: 1 REGISTER\r\n"                                                                     \
        "Contact: <sip:alice@df7jal23ls0d.invalid;transport=ws>\r\n"                               \
        "Content-Length: 0\r\n\r\n"

#define OK_MSG                                                                                     \
        "SIP/2.0 401 Unauthorized\r\n"                                                             \
        "Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks\r\n"                          \
        "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"abc\"\r\n"                        \
        "Content-Length: 0\r\n\r\n"

enum { LEN_MIN = 0, LEN_16, LEN_64 };

typedef struct {
        unsigned n;
        size_t len[16];
        uint8_t last[PACKET_BUF_MAX];
        size_t last_len;
        int mismatch;
        const uint8_t *expect[16];
        size_t expect_len[16];
} Got;

static void on_msg(const uint8_t *data, size_t len, void *userdata)
{
        Got *g = userdata;
        if (g->n < 16) {
                g->len[g->n] = len;
                if (g->expect[g->n] &&
                    (len != g->expect_len[g->n] || memcmp(data, g->expect[g->n], len) != 0))
                        g->mismatch++;
        }
        g->n++;
        g->last_len = len < sizeof g->last ? len : sizeof g->last;
        memcpy(g->last, data, g->last_len);
}

static void expect(Got *g, unsigned i, const void *p, size_t n)
{
        g->expect[i] = p;
        g->expect_len[i] = n;
}

/* RFC 6455 §5.2 frame; key NULL: unmasked. */
static void frame(Buf *b, bool fin, uint8_t rsv, uint8_t op, const uint8_t *key,
                  const void *payload, size_t n, int form)
{
        put8(b, (uint8_t)((fin ? 0x80 : 0) | (rsv & 7) << 4 | (op & 0x0f)));
        uint8_t m = key ? 0x80 : 0;
        if (form == LEN_MIN && n < 126) {
                put8(b, (uint8_t)(m | n));
        } else if (form != LEN_64 && n <= 0xffff) {
                put8(b, m | 126);
                put16(b, (uint16_t)n);
        } else {
                put8(b, m | 127);
                put32(b, (uint32_t)((uint64_t)n >> 32));
                put32(b, (uint32_t)n);
        }
        if (key)
                putn(b, key, 4);
        for (size_t i = 0; i < n; i++)
                put8(b, ((const uint8_t *)payload)[i] ^ (key ? key[i & 3] : 0));
}

static const uint8_t key1[4] = {0x37, 0xfa, 0x21, 0x3d};
static const uint8_t key2[4] = {0x01, 0x80, 0xff, 0x5a};

static WebSockets *ws_new(uint32_t max_message, uint64_t stream, uint64_t total)
{
        WebSocketConfig c = {
            .max_message = max_message, .max_stream_bytes = stream, .max_bytes = total};
        WebSockets *w = websocket_new(&c);
        CHECK(w != NULL, "websocket_new");
        return w;
}

static WebSocketStats stats(const WebSockets *w)
{
        WebSocketStats st;
        websocket_get_stats(w, &st);
        return st;
}

/* Feed b in pieces of step bytes (0: all at once). */
static void feed_steps(WebSockets *w, WebSocketDir *d, const Buf *b, size_t step, Got *g)
{
        if (step == 0)
                step = b->n;
        for (size_t off = 0; off < b->n; off += step)
                websocket_feed(w, d, b->b + off, b->n - off < step ? b->n - off : step, on_msg, g);
}

static Buf buf;

static void test_single_frames(void)
{
        static const char reg[] = REGISTER_MSG, ok[] = OK_MSG;
        WebSockets *w = ws_new(0, 0, 0);
        WebSocketDir *c = websocket_dir_new(w, WEBSOCKET_ROLE_CLIENT, true);
        WebSocketDir *s = websocket_dir_new(w, WEBSOCKET_ROLE_SERVER, true);
        Got g = {0};

        /* masked text, 16-bit length (the message is over 125 bytes) */
        buf.n = 0;
        frame(&buf, true, 0, 1, key1, reg, strlen(reg), LEN_MIN);
        CHECK(buf.b[1] == (0x80 | 126), "16-bit length form");
        expect(&g, 0, reg, strlen(reg));
        feed_steps(w, c, &buf, 0, &g);
        /* unmasked binary from the server, 64-bit length form (not minimal: accepted in sync) */
        buf.n = 0;
        frame(&buf, true, 0, 2, NULL, ok, strlen(ok), LEN_64);
        expect(&g, 1, ok, strlen(ok));
        feed_steps(w, s, &buf, 0, &g);
        /* 7-bit length */
        buf.n = 0;
        frame(&buf, true, 0, 1, key2, "OPTIONS sip:a SIP/2.0\r\n\r\n", 25, LEN_MIN);
        CHECK(buf.b[1] == (0x80 | 25), "7-bit length form");
        expect(&g, 2, "OPTIONS sip:a SIP/2.0\r\n\r\n", 25);
        feed_steps(w, c, &buf, 0, &g);

        WebSocketStats st = stats(w);
        CHECK(g.n == 3 && g.mismatch == 0, "three messages intact: %u, %d", g.n, g.mismatch);
        CHECK(st.messages == 3 && st.text == 2 && st.binary == 1 && st.frames == 3, "counted");
        CHECK(st.bad_frames == 0 && st.resyncs == 0 && st.fragmented == 0, "no faults");
        CHECK(st.active == 2, "two directions");
        websocket_dir_free(w, c);
        websocket_dir_free(w, s);
        st = stats(w);
        CHECK(st.active == 0 && st.bytes == 0, "gauges back to 0: %llu %llu",
              (unsigned long long)st.active, (unsigned long long)st.bytes);
        websocket_free(w);
}

/* A message over 64 KiB: the 64-bit length in its minimal form. */
static void test_64bit_length(void)
{
        size_t n = 70000 - 200;
        uint8_t *msg = malloc(n);
        CHECK(msg != NULL, "malloc");
        if (!msg)
                return;
        static const char head[] = "MESSAGE sip:bob@example.com SIP/2.0\r\n";
        memset(msg, 'x', n);
        memcpy(msg, head, strlen(head));
        WebSockets *w = ws_new(100000, 0, 0);
        WebSocketDir *c = websocket_dir_new(w, WEBSOCKET_ROLE_CLIENT, true);
        Got g = {0};
        buf.n = 0;
        frame(&buf, true, 0, 1, key1, msg, n, LEN_MIN);
        CHECK(buf.b[1] == (0x80 | 127) && buf.overflow == 0, "64-bit form");
        expect(&g, 0, msg, n);
        feed_steps(w, c, &buf, 1500, &g);
        CHECK(g.n == 1 && g.mismatch == 0 && g.len[0] == n, "large message intact");
        /* and again from a fresh resync: a 64-bit candidate is found too */
        WebSocketDir *r = websocket_dir_new(w, WEBSOCKET_ROLE_CLIENT, false);
        feed_steps(w, r, &buf, 1000, &g);
        CHECK(g.n == 2 && g.mismatch == 0, "large message found by resync");
        websocket_dir_free(w, r);
        websocket_dir_free(w, c);
        websocket_free(w);
        free(msg);
}

/*
 * A message fragmented over three frames with a ping between the first two
 * and a pong and a close inside, then a second message in the same buffer.
 */
static void build_fragmented(Buf *b, const char *msg, const uint8_t *key)
{
        size_t n = strlen(msg), a = n / 3, c = n / 2;
        frame(b, false, 0, 1, key, msg, a, LEN_MIN);
        frame(b, true, 0, 9, key, "ping", 4, LEN_MIN);
        frame(b, false, 0, 0, key, msg + a, c - a, LEN_16);
        frame(b, true, 0, 10, key, "", 0, LEN_MIN);
        frame(b, true, 0, 0, key, msg + c, n - c, LEN_MIN);
        frame(b, true, 0, 1, key, "BYE sip:x SIP/2.0\r\n\r\n", 21, LEN_MIN);
        frame(b, true, 0, 8, key, "\x03\xe8", 2, LEN_MIN);
}

static void test_fragmented_any_chunking(void)
{
        static const char reg[] = REGISTER_MSG;
        Buf *b = &buf;
        b->n = 0;
        build_fragmented(b, reg, key1);
        /* every piece size, and every split point of the buffer in two */
        for (size_t step = 0; step <= b->n + 1; step += step < 20 ? 1 : 37) {
                WebSockets *w = ws_new(0, 0, 0);
                WebSocketDir *c = websocket_dir_new(w, WEBSOCKET_ROLE_CLIENT, true);
                Got g = {0};
                expect(&g, 0, reg, strlen(reg));
                expect(&g, 1, "BYE sip:x SIP/2.0\r\n\r\n", 21);
                feed_steps(w, c, b, step, &g);
                WebSocketStats st = stats(w);
                CHECK(g.n == 2 && g.mismatch == 0, "step %zu: %u messages", step, g.n);
                CHECK(st.fragmented == 1 && st.continuations == 2 && st.pings == 1 &&
                          st.pongs == 1 && st.closes == 1 && st.frames == 7 && st.bad_frames == 0,
                      "step %zu: counters", step);
                websocket_dir_free(w, c);
                websocket_free(w);
        }
        for (size_t cut = 1; cut < b->n; cut++) {
                WebSockets *w = ws_new(0, 0, 0);
                WebSocketDir *c = websocket_dir_new(w, WEBSOCKET_ROLE_UNKNOWN, true);
                Got g = {0};
                expect(&g, 0, reg, strlen(reg));
                websocket_feed(w, c, b->b, cut, on_msg, &g);
                websocket_feed(w, c, b->b + cut, b->n - cut, on_msg, &g);
                CHECK(g.n == 2 && g.mismatch == 0, "cut at %zu", cut);
                websocket_dir_free(w, c);
                websocket_free(w);
        }
}

typedef struct {
        const char *what;
        WebSocketRole role;
        bool fin;
        uint8_t rsv, op;
        const uint8_t *key;
        size_t len;
        bool after_start; /* sent after the first fragment of a message */
        size_t field;     /* offsetof the counter in WebSocketStats */
} BadCase;

#define FIELD(f) offsetof(WebSocketStats, f)

static const BadCase bad_cases[] = {
    {"unmasked client frame", WEBSOCKET_ROLE_CLIENT, true, 0, 1, NULL, 30, false,
     FIELD(bad_unmasked)},
    {"masked server frame", WEBSOCKET_ROLE_SERVER, true, 0, 1, key1, 30, false, FIELD(bad_masked)},
    {"RSV1", WEBSOCKET_ROLE_CLIENT, true, 4, 1, key1, 30, false, FIELD(bad_rsv)},
    {"RSV3", WEBSOCKET_ROLE_SERVER, true, 1, 2, NULL, 30, false, FIELD(bad_rsv)},
    {"opcode 3", WEBSOCKET_ROLE_CLIENT, true, 0, 3, key1, 30, false, FIELD(bad_opcode)},
    {"opcode 15", WEBSOCKET_ROLE_SERVER, true, 0, 15, NULL, 30, false, FIELD(bad_opcode)},
    {"fragmented ping", WEBSOCKET_ROLE_CLIENT, false, 0, 9, key1, 4, false, FIELD(bad_control)},
    {"oversized close", WEBSOCKET_ROLE_SERVER, true, 0, 8, NULL, 126, false, FIELD(bad_control)},
    {"continuation without start", WEBSOCKET_ROLE_CLIENT, true, 0, 0, key1, 30, false,
     FIELD(bad_continuation)},
    {"text inside a fragmented message", WEBSOCKET_ROLE_CLIENT, true, 0, 1, key1, 30, true,
     FIELD(bad_continuation)},
};

static uint64_t field(const WebSocketStats *st, size_t off)
{
        uint64_t v;
        memcpy(&v, (const char *)st + off, sizeof v);
        return v;
}

/* Each bad frame: counted, the message in progress dropped, the next good message found. */
static void test_bad_frames(void)
{
        static const char ok[] = OK_MSG;
        uint8_t junk[200];
        memset(junk, 'j', sizeof junk);
        for (size_t k = 0; k < sizeof bad_cases / sizeof bad_cases[0]; k++) {
                const BadCase *bc = &bad_cases[k];
                const uint8_t *key = bc->role == WEBSOCKET_ROLE_CLIENT ? key2 : NULL;
                WebSockets *w = ws_new(0, 0, 0);
                WebSocketDir *d = websocket_dir_new(w, bc->role, true);
                Got g = {0};
                buf.n = 0;
                if (bc->after_start)
                        frame(&buf, false, 0, 1, key, "INVITE sip:b SIP/2.0\r\n", 22, LEN_MIN);
                frame(&buf, bc->fin, bc->rsv, bc->op, bc->key, junk, bc->len, LEN_MIN);
                frame(&buf, true, 0, 1, key, ok, strlen(ok), LEN_MIN);
                expect(&g, 0, ok, strlen(ok));
                feed_steps(w, d, &buf, k % 3 == 0 ? 0 : k, &g);
                WebSocketStats st = stats(w);
                CHECK(field(&st, bc->field) == 1 && st.bad_frames == 1, "%s: counted", bc->what);
                CHECK(st.resyncs == 1 && st.skipped_bytes > 0, "%s: resynchronised", bc->what);
                CHECK(g.n == 1 && g.mismatch == 0, "%s: next message found (%u)", bc->what, g.n);
                websocket_dir_free(w, d);
                websocket_free(w);
        }
        /* a 64-bit length with the top bit set */
        WebSockets *w = ws_new(0, 0, 0);
        WebSocketDir *d = websocket_dir_new(w, WEBSOCKET_ROLE_SERVER, true);
        static const uint8_t huge[] = {0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 1};
        websocket_feed(w, d, huge, sizeof huge, on_msg, NULL);
        WebSocketStats st = stats(w);
        CHECK(st.bad_length == 1 && st.bad_frames == 1 && st.resyncs == 1, "bad length");
        websocket_dir_free(w, d);
        websocket_free(w);
}

/* Message size, per-direction and overall caps: refused, counted, the next one delivered. */
static void test_limits(void)
{
        static const char reg[] = REGISTER_MSG;
        static const char bye[] = "BYE sip:x SIP/2.0\r\n\r\n";
        WebSockets *w = ws_new(100, 0, 0);
        WebSocketDir *d = websocket_dir_new(w, WEBSOCKET_ROLE_CLIENT, true);
        Got g = {0};
        buf.n = 0;
        frame(&buf, true, 0, 1, key1, reg, strlen(reg), LEN_MIN);
        /* fragments that are small alone but too big together */
        frame(&buf, false, 0, 1, key1, reg, 60, LEN_MIN);
        frame(&buf, true, 0, 0, key1, reg + 60, 60, LEN_MIN);
        frame(&buf, true, 0, 1, key1, bye, strlen(bye), LEN_MIN);
        expect(&g, 0, bye, strlen(bye));
        feed_steps(w, d, &buf, 7, &g);
        WebSocketStats st = stats(w);
        CHECK(st.message_too_big == 2 && g.n == 1 && g.mismatch == 0, "message size: %llu %u",
              (unsigned long long)st.message_too_big, g.n);
        CHECK(st.bad_frames == 0 && st.messages == 1, "not a bad frame");
        websocket_dir_free(w, d);
        websocket_free(w);

        w = ws_new(0, 100, 0);
        d = websocket_dir_new(w, WEBSOCKET_ROLE_CLIENT, true);
        g = (Got){0};
        feed_steps(w, d, &buf, 0, &g);
        st = stats(w);
        CHECK(st.stream_cap == 2 && g.n == 1, "per-direction cap");
        websocket_dir_free(w, d);
        websocket_free(w);

        /* overall: one direction holds a part message, the other cannot buffer */
        w = ws_new(0, 0, 600);
        WebSocketDir *a = websocket_dir_new(w, WEBSOCKET_ROLE_CLIENT, true);
        WebSocketDir *b = websocket_dir_new(w, WEBSOCKET_ROLE_CLIENT, true);
        g = (Got){0};
        buf.n = 0;
        frame(&buf, false, 0, 1, key1, reg, strlen(reg), LEN_MIN);
        websocket_feed(w, a, buf.b, buf.n, on_msg, &g);
        CHECK(stats(w).bytes >= strlen(reg) && stats(w).bytes <= 600, "a buffers");
        buf.n = 0;
        frame(&buf, true, 0, 1, key1, reg, strlen(reg), LEN_MIN);
        websocket_feed(w, b, buf.b, buf.n, on_msg, &g);
        st = stats(w);
        CHECK(st.global_cap == 1 && g.n == 0 && st.bytes <= 600, "overall cap");
        websocket_dir_free(w, a);
        websocket_feed(w, b, buf.b, buf.n, on_msg, &g);
        CHECK(g.n == 1, "room again after a is gone");
        websocket_dir_free(w, b);
        CHECK(stats(w).bytes == 0 && stats(w).active == 0, "gauges");
        websocket_free(w);

        /*
         * Declared is not sent: four directions each declare a 1000-byte
         * frame and send 10 bytes of it. They hold what arrived, not what
         * they declared, so a real message on a fifth still has room.
         */
        static uint8_t big[1000];
        memset(big, 'x', sizeof big);
        w = ws_new(0, 0, 4096);
        WebSocketDir *liar[4];
        g = (Got){0};
        buf.n = 0;
        frame(&buf, true, 0, 1, key1, big, sizeof big, LEN_MIN);
        for (size_t i = 0; i < 4; i++) {
                liar[i] = websocket_dir_new(w, WEBSOCKET_ROLE_CLIENT, true);
                websocket_feed(w, liar[i], buf.b, buf.n - sizeof big + 10, on_msg, &g);
        }
        CHECK(stats(w).bytes <= 4 * 512, "declared lengths are not charged: %llu",
              (unsigned long long)stats(w).bytes);
        b = websocket_dir_new(w, WEBSOCKET_ROLE_CLIENT, true);
        buf.n = 0;
        frame(&buf, true, 0, 1, key1, reg, strlen(reg), LEN_MIN);
        expect(&g, 0, reg, strlen(reg));
        websocket_feed(w, b, buf.b, buf.n, on_msg, &g);
        CHECK(g.n == 1 && g.mismatch == 0 && stats(w).global_cap == 0,
              "a real message after four liars: %u, global_cap %llu", g.n,
              (unsigned long long)stats(w).global_cap);
        for (size_t i = 0; i < 4; i++)
                websocket_dir_free(w, liar[i]);
        websocket_dir_free(w, b);
        websocket_free(w);
}

/* A capture that starts mid-connection: part of a frame, then whole frames. */
static void test_resync(void)
{
        static const char reg[] = REGISTER_MSG, ok[] = OK_MSG;
        for (int role = 0; role < 3; role++) {
                Buf tmp = {0};
                const uint8_t *key = role == WEBSOCKET_ROLE_SERVER ? NULL : key1;
                frame(&tmp, true, 0, 1, key, ok, strlen(ok), LEN_MIN);
                for (size_t step = 0; step < 40; step += 13) {
                        WebSockets *w = ws_new(0, 0, 0);
                        WebSocketDir *d = websocket_dir_new(w, (WebSocketRole)role, false);
                        Got g = {0};
                        buf.n = 0;
                        putn(&buf, tmp.b + 37, tmp.n - 37); /* the tail of a frame */
                        frame(&buf, true, 0, 9, key, "p", 1, LEN_MIN);
                        frame(&buf, true, 0, 1, key, reg, strlen(reg), LEN_MIN);
                        frame(&buf, true, 0, 2, key, ok, strlen(ok), LEN_MIN);
                        expect(&g, 0, reg, strlen(reg));
                        expect(&g, 1, ok, strlen(ok));
                        feed_steps(w, d, &buf, step, &g);
                        WebSocketStats st = stats(w);
                        CHECK(g.n == 2 && g.mismatch == 0, "role %d step %zu: %u", role, step, g.n);
                        size_t ping = key ? 7 : 3;
                        CHECK(st.resyncs == 1 && st.skipped_bytes == tmp.n - 37 + ping,
                              "role %d step %zu: skipped %llu", role, step,
                              (unsigned long long)st.skipped_bytes);
                        websocket_dir_free(w, d);
                        websocket_free(w);
                }
        }
        /* a hole in the stream: desync in the middle of a frame */
        WebSockets *w = ws_new(0, 0, 0);
        WebSocketDir *d = websocket_dir_new(w, WEBSOCKET_ROLE_SERVER, true);
        Got g = {0};
        buf.n = 0;
        frame(&buf, true, 0, 1, NULL, ok, strlen(ok), LEN_MIN);
        websocket_feed(w, d, buf.b, 50, on_msg, &g);
        websocket_desync(w, d);
        websocket_feed(w, d, buf.b + 90, buf.n - 90, on_msg, &g);
        websocket_feed(w, d, buf.b, buf.n, on_msg, &g);
        CHECK(g.n == 1 && stats(w).resyncs == 1, "desync, then the next frame");
        /* garbage that never holds a frame: skipped, nothing kept beyond the window */
        uint8_t junk[5000];
        for (size_t i = 0; i < sizeof junk; i++)
                junk[i] = (uint8_t)(i * 131 + 7);
        websocket_desync(w, d);
        websocket_feed(w, d, junk, sizeof junk, on_msg, &g);
        CHECK(stats(w).bytes <= 1024, "resync window bounded");
        websocket_dir_free(w, d);
        websocket_free(w);
}

static void test_empty_and_null(void)
{
        WebSockets *w = ws_new(0, 0, 0);
        WebSocketDir *d = websocket_dir_new(w, WEBSOCKET_ROLE_SERVER, true);
        Got g = {0};
        buf.n = 0;
        frame(&buf, true, 0, 1, NULL, "", 0, LEN_MIN);
        frame(&buf, false, 0, 2, NULL, "", 0, LEN_MIN);
        frame(&buf, true, 0, 0, NULL, "", 0, LEN_MIN);
        websocket_feed(w, d, buf.b, buf.n, on_msg, &g);
        websocket_feed(w, d, NULL, 5, on_msg, &g);
        websocket_feed(w, d, buf.b, 0, on_msg, &g);
        WebSocketStats st = stats(w);
        CHECK(g.n == 0 && st.empty == 2 && st.frames == 3 && st.bad_frames == 0, "empty messages");
        CHECK(websocket_dir_free(w, NULL) == NULL, "free NULL");
        websocket_dir_free(w, d);
        CHECK(websocket_free(w) == NULL && websocket_free(NULL) == NULL, "free");
}

static void test_http(void)
{
        static const char req[] = "GET /ws HTTP/1.1\r\n"
                                  "Host: pbx.example.com:8088\r\n"
                                  "upgrade: WebSocket\r\n"
                                  "Connection: keep-alive, Upgrade\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                  "Sec-WebSocket-Protocol: chat, sip\r\n"
                                  "Sec-WebSocket-Version: 13\r\n\r\n";
        static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                   "Upgrade: websocket\r\n"
                                   "Connection: Upgrade\r\n"
                                   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                                   "Sec-WebSocket-Protocol: sip\r\n\r\n";
        WebSockets *w = ws_new(0, 0, 0);
        size_t hl = 999;
        uint8_t tmp[512];
        memcpy(tmp, req, strlen(req));
        memcpy(tmp + strlen(req), "\x81\x85", 2);
        CHECK(websocket_http_parse(w, tmp, strlen(req) + 2, &hl) == WEBSOCKET_HTTP_UPGRADE &&
                  hl == strlen(req),
              "upgrade request, head %zu", hl);
        for (size_t n = 1; n < strlen(req); n++) {
                hl = 999;
                WebSocketHttp v = websocket_http_parse(w, (const uint8_t *)req, n, &hl);
                CHECK(v == WEBSOCKET_HTTP_MORE && hl == 999, "request cut at %zu: %s", n,
                      websocket_http_name(v));
        }
        CHECK(websocket_http_parse(w, (const uint8_t *)resp, strlen(resp), &hl) ==
                      WEBSOCKET_HTTP_SWITCHED &&
                  hl == strlen(resp),
              "101");
        static const struct {
                const char *text;
                WebSocketHttp v;
        } cases[] = {
            {"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", WEBSOCKET_HTTP_UPGRADE},
            {"GET /ws HTTP/1.1\nUpgrade: websocket\n\n", WEBSOCKET_HTTP_UPGRADE},
            {"GET /ari HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
             WEBSOCKET_HTTP_OTHER},
            {"POST /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", WEBSOCKET_HTTP_OTHER},
            {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", WEBSOCKET_HTTP_OTHER},
            {"HTTP/1.1 200 OK\r\nUpgrade: websocket\r\n\r\n", WEBSOCKET_HTTP_OTHER},
            {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", WEBSOCKET_HTTP_OTHER},
            {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Sec-WebSocket-Protocol: mqtt\r\n\r\n",
             WEBSOCKET_HTTP_OTHER},
            {"REGISTER sip:example.com SIP/2.0\r\nVia: x\r\n\r\n", WEBSOCKET_HTTP_NOT},
            {"SIP/2.0 200 OK\r\n", WEBSOCKET_HTTP_NOT},
            {"\x81\x85\x01\x02", WEBSOCKET_HTTP_NOT},
            {"HTTP/1.", WEBSOCKET_HTTP_MORE},
            {"HTT", WEBSOCKET_HTTP_MORE},
            {"GE", WEBSOCKET_HTTP_MORE},
        };
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
                WebSocketHttp v = websocket_http_parse(NULL, (const uint8_t *)cases[k].text,
                                                       strlen(cases[k].text), &hl);
                CHECK(v == cases[k].v, "case %zu: %s, want %s", k, websocket_http_name(v),
                      websocket_http_name(cases[k].v));
        }
        /* a head that never ends: NOT at the limit, never MORE for ever */
        static uint8_t big[WEBSOCKET_HTTP_MAX_HEAD + 10];
        memset(big, 'a', sizeof big);
        memcpy(big, "GET / HTTP/1.1\r\n", 16);
        CHECK(websocket_http_parse(w, big, sizeof big, &hl) == WEBSOCKET_HTTP_NOT, "head too big");
        CHECK(websocket_http_parse(w, NULL, 0, &hl) == WEBSOCKET_HTTP_MORE, "nothing yet");
        WebSocketStats st = stats(w);
        CHECK(st.handshakes_requested == 1 && st.handshakes_switched == 1 &&
                  st.handshakes_other == 0,
              "handshakes counted");
        websocket_free(w);
}

static void test_ports(void)
{
        WebSocketPorts p;
        CHECK(websocket_ports_parse("80, 8080-8090 ,5066", &p) && p.n == 3 && !p.none, "parse");
        CHECK(websocket_ports_has(&p, 80) && websocket_ports_has(&p, 8085) &&
                  websocket_ports_has(&p, 5066) && !websocket_ports_has(&p, 5060) &&
                  !websocket_ports_has(&p, 8091),
              "ranges");
        CHECK(websocket_ports_parse("", &p) && p.none && !websocket_ports_has(&p, 80), "none");
        WebSocketPorts d = {0};
        CHECK(websocket_ports_has(&d, 8088) && websocket_ports_has(&d, 5066) &&
                  !websocket_ports_has(&d, 5060),
              "zeroed: the defaults " WEBSOCKET_DEFAULT_PORTS);
        static const char *const bad[] = {"0", "80,", "8090-8080", "65536", "x", "80;81", "-1"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                p.n = 7;
                CHECK(!websocket_ports_parse(bad[i], &p) && p.n == 7, "accepted '%s'", bad[i]);
        }
        CHECK(!websocket_ports_parse(NULL, &p), "NULL");
}

/* ------------------------------------------------------------------------ */
/* Through the TCP reassembler (parser/tcpstream.c, the tcpframer.h seam) */

typedef struct {
        TcpStreams *t;
        Endpoint client, server;
        uint32_t seq[2]; /* next sequence number: [0] client, [1] server */
        int64_t ts;
        unsigned n;
        TcpMessage m[8];
        uint8_t data[8][1024];
} Conn;

static void conn_take(Conn *c)
{
        TcpMessage m;
        while (tcpstream_next(c->t, &m)) {
                if (c->n < 8) {
                        c->m[c->n] = m;
                        size_t k = m.len < sizeof c->data[0] ? m.len : sizeof c->data[0];
                        memcpy(c->data[c->n], m.data, k);
                        c->m[c->n].data = c->data[c->n];
                }
                c->n++;
        }
}

/* One segment from the client (from_server false) or the server. */
static void seg(Conn *c, bool from_server, uint8_t flags, const void *payload, size_t n)
{
        DecodedPacket p;
        memset(&p, 0, sizeof p);
        p.src = from_server ? c->server : c->client;
        p.dst = from_server ? c->client : c->server;
        p.transport = TRANSPORT_TCP;
        p.ip_proto = 6;
        p.tcp_flags = flags;
        p.tcp_seq = c->seq[from_server];
        p.tcp_ack = c->seq[!from_server];
        uint8_t *copy = malloc(n ? n : 1); /* exactly its length (ASan) */
        if (!copy)
                return;
        memcpy(copy, payload, n);
        p.payload = copy;
        p.payload_len = n;
        c->seq[from_server] += (uint32_t)n + (flags & DECODE_TCP_SYN ? 1u : 0u);
        c->ts += 1000;
        tcpstream_feed(c->t, &p, c->ts);
        conn_take(c);
        free(copy);
}

/* The bytes b in segments of step bytes. */
static void segs(Conn *c, bool from_server, const Buf *b, size_t step)
{
        for (size_t off = 0; off < b->n; off += step)
                seg(c, from_server, DECODE_TCP_ACK | DECODE_TCP_PSH, b->b + off,
                    b->n - off < step ? b->n - off : step);
}

static void conn_init(Conn *c, const TcpStreamConfig *cfg, uint16_t server_port)
{
        memset(c, 0, sizeof *c);
        c->t = tcpstream_new(cfg);
        CHECK(c->t != NULL, "tcpstream_new");
        c->client = (Endpoint){.family = 4, .addr = {198, 51, 100, 7}, .port = 50123};
        c->server = (Endpoint){.family = 4, .addr = {192, 0, 2, 10}, .port = server_port};
        c->seq[0] = 0xfffffff0u; /* wraps */
        c->seq[1] = 7000;
        c->ts = 1768471200LL * 1000000;
}

static void handshake(Conn *c)
{
        seg(c, false, DECODE_TCP_SYN, "", 0);
        seg(c, true, DECODE_TCP_SYN | DECODE_TCP_ACK, "", 0);
        seg(c, false, DECODE_TCP_ACK, "", 0);
}

static const char upgrade_req[] = "GET /ws HTTP/1.1\r\nHost: 192.0.2.10\r\nUpgrade: websocket\r\n"
                                  "Connection: Upgrade\r\nSec-WebSocket-Key: "
                                  "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: sip\r\n"
                                  "Sec-WebSocket-Version: 13\r\n\r\n";
static const char upgrade_resp[] =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Accept: "
    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n";

/* On a port that is no ws port: the handshake switches, frames in any segmentation. */
static void test_tcp_upgrade(void)
{
        static const char reg[] = REGISTER_MSG, ok[] = OK_MSG;
        for (size_t step = 1; step < 400; step = step * 3 + 1) {
                TcpStreamConfig cfg = {.ws_ports = {.none = true}};
                Conn c;
                conn_init(&c, &cfg, 5060);
                handshake(&c);
                Buf *b = &buf;
                b->n = 0;
                putn(b, upgrade_req, strlen(upgrade_req));
                build_fragmented(b, reg, key1); /* REGISTER fragmented, BYE, close */
                segs(&c, false, b, step);
                b->n = 0;
                putn(b, upgrade_resp, strlen(upgrade_resp));
                frame(b, true, 0, 9, NULL, "", 0, LEN_MIN);
                frame(b, true, 0, 1, NULL, ok, strlen(ok), LEN_MIN);
                segs(&c, true, b, step);
                CHECK(c.n == 3, "step %zu: %u messages", step, c.n);
                if (c.n == 3) {
                        CHECK(c.m[0].len == strlen(reg) &&
                                  memcmp(c.m[0].data, reg, c.m[0].len) == 0,
                              "step %zu: REGISTER", step);
                        CHECK(c.m[2].len == strlen(ok) && memcmp(c.m[2].data, ok, c.m[2].len) == 0,
                              "step %zu: 401", step);
                        for (unsigned i = 0; i < 3; i++)
                                CHECK(c.m[i].framing == TCP_FRAMING_WS && c.m[i].handshake,
                                      "step %zu: message %u over ws, handshake seen", step, i);
                        CHECK(c.m[2].src.port == 5060, "from the server");
                }
                WebSocketStats ws;
                tcpstream_get_ws_stats(c.t, &ws);
                CHECK(ws.handshakes_requested == 1 && ws.handshakes_switched == 1 &&
                          ws.messages == 3 && ws.fragmented == 1 && ws.bad_frames == 0 &&
                          ws.active == 2,
                      "step %zu: counters", step);
                tcpstream_flush(c.t, c.ts);
                conn_take(&c);
                tcpstream_get_ws_stats(c.t, &ws);
                CHECK(ws.active == 0 && ws.bytes == 0, "step %zu: released at the end", step);
                tcpstream_free(c.t);
        }
}

/* Mid-connection on a ws port: resync on both directions, roles from the port. */
static void test_tcp_midstream(void)
{
        static const char reg[] = REGISTER_MSG, ok[] = OK_MSG;
        TcpStreamConfig cfg = {0}; /* the default ws ports: 8088 among them */
        Conn c;
        conn_init(&c, &cfg, 8088);
        Buf *b = &buf, tail = {0};
        frame(&tail, true, 0, 1, key2, ok, strlen(ok), LEN_MIN);
        b->n = 0;
        putn(b, tail.b + 30, tail.n - 30);
        frame(b, true, 0, 1, key1, reg, strlen(reg), LEN_MIN);
        segs(&c, false, b, 100);
        b->n = 0;
        putn(b, reg + 50, 40); /* the end of an earlier unmasked message */
        frame(b, true, 0, 1, NULL, ok, strlen(ok), LEN_MIN);
        segs(&c, true, b, 1000);
        CHECK(c.n == 2 && c.m[0].framing == TCP_FRAMING_WS && !c.m[0].handshake &&
                  c.m[0].len == strlen(reg) && c.m[1].len == strlen(ok),
              "midstream: %u messages", c.n);
        WebSocketStats ws;
        tcpstream_get_ws_stats(c.t, &ws);
        CHECK(ws.resyncs == 2 && ws.skipped_bytes == tail.n - 30 + 40 && ws.bad_frames == 0,
              "midstream counters: %llu resyncs, %llu skipped", (unsigned long long)ws.resyncs,
              (unsigned long long)ws.skipped_bytes);
        tcpstream_free(c.t);

        /* The same bytes on a port that is no ws port: not decoded as WebSocket. */
        cfg.ws_ports = (WebSocketPorts){.n = 1, .r = {{5066, 5066}}};
        conn_init(&c, &cfg, 8088);
        b->n = 0;
        frame(b, true, 0, 1, key1, reg, strlen(reg), LEN_MIN);
        segs(&c, false, b, 1000);
        tcpstream_get_ws_stats(c.t, &ws);
        CHECK(c.n == 0 && ws.active == 0, "not a ws port: %u", c.n);
        tcpstream_free(c.t);
}

/* HTTP that is no SIP WebSocket upgrade; a new SYN on the tuple starts over. */
static void test_tcp_not_upgraded(void)
{
        static const char get[] = "GET /ari/events HTTP/1.1\r\nHost: pbx\r\nUpgrade: websocket\r\n"
                                  "Sec-WebSocket-Protocol: ari\r\n\r\n";
        static const char reg[] = REGISTER_MSG;
        TcpStreamConfig cfg = {0};
        Conn c;
        conn_init(&c, &cfg, 8088);
        handshake(&c);
        seg(&c, false, DECODE_TCP_ACK, get, strlen(get));
        seg(&c, false, DECODE_TCP_ACK, reg, strlen(reg)); /* plain SIP after it */
        WebSocketStats ws;
        tcpstream_get_ws_stats(c.t, &ws);
        CHECK(ws.handshakes_other == 1 && ws.active == 0, "other HTTP counted, not switched");
        CHECK(c.n == 1 && c.m[0].framing == TCP_FRAMING_SIP, "SIP after it: %u", c.n);
        tcpstream_free(c.t);
        /* a WebSocket connection, then a new SYN on the same 4-tuple: SIP again */
        conn_init(&c, &cfg, 5060);
        handshake(&c);
        seg(&c, false, DECODE_TCP_ACK, upgrade_req, strlen(upgrade_req));
        tcpstream_get_ws_stats(c.t, &ws);
        CHECK(ws.active == 1, "switched");
        c.seq[0] += 100000;
        handshake(&c);
        seg(&c, false, DECODE_TCP_ACK, reg, strlen(reg));
        tcpstream_get_ws_stats(c.t, &ws);
        CHECK(ws.active == 0 && c.n == 1 && c.m[0].framing == TCP_FRAMING_SIP,
              "new connection: SIP framing again (%u)", c.n);
        tcpstream_free(c.t);
}

int main(void)
{
        test_ports();
        test_single_frames();
        test_64bit_length();
        test_fragmented_any_chunking();
        test_bad_frames();
        test_limits();
        test_resync();
        test_empty_and_null();
        test_http();
        test_tcp_upgrade();
        test_tcp_midstream();
        test_tcp_not_upgraded();
        return check_exit("websocket");
}
