/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SIP over WebSocket: the RFC 6455 frame decoder and the HTTP Upgrade
 * classifier (parser/websocket.c), under small limits.
 *
 * Input: one mode byte, then chunks, each
 *
 *   flags(1) len(1) bytes
 *
 *   mode  bits 0-1 role of direction 0 (unknown, client, server; 3 = client);
 *                  direction 1 has the opposite role (unknown stays unknown)
 *         bit 2    both directions start in sync (else they resynchronise)
 *         bit 3    tight overall byte cap (directions compete for room)
 *   flags bit 0    direction
 *         bit 1    a hole before this chunk (websocket_desync())
 *
 * The whole input after the mode byte is also classified as an HTTP head.
 *
 * Invariants: websocket_frame() hands out at most one message a call and
 * takes all of its input when it hands out none; every message is non-empty and within max_message;
 * the byte gauge stays within the overall cap (plus each direction's fixed resync window) and
 * returns to 0, with the active gauge, when the directions are freed. Without a hole and without
 * the tight cap, a direction fed in chunks gives the same messages as the same bytes fed at once.
 */
#include <string.h>

#include "fuzz.h"
#include "websocket.h"

#define MAX_MESSAGE  1024
#define RESYNC_SLACK 1024 /* websocket.c RESYNC_BUF, kept per direction */

typedef struct {
        uint64_t n;
        uint64_t hash;
} Seen;

static void on_message(const uint8_t *data, size_t len, void *userdata)
{
        Seen *s = userdata;
        FUZZ_ASSERT(len > 0 && len <= MAX_MESSAGE);
        fuzz_touch(data, len);
        s->n++;
        for (size_t i = 0; i < len; i++)
                s->hash = (s->hash ^ data[i]) * 0x100000001b3ull;
        s->hash = (s->hash ^ len) * 0x100000001b3ull;
}

/* websocket_frame() as the TCP seam calls it: at most one message a call. */
static void feed_frames(WebSockets *w, WebSocketDir *d, const uint8_t *p, size_t n, Seen *s)
{
        for (;;) {
                const uint8_t *msg;
                size_t len;
                size_t used = websocket_frame(w, d, p, n, &msg, &len);
                FUZZ_ASSERT(used <= n);
                p += used;
                n -= used;
                if (!msg) {
                        FUZZ_ASSERT(n == 0 && len == 0);
                        return;
                }
                on_message(msg, len, s);
        }
}

static void check_http(const uint8_t *data, size_t size)
{
        size_t head = SIZE_MAX;
        WebSocketHttp v = websocket_http_parse(NULL, data, size, &head);
        if (v == WEBSOCKET_HTTP_OTHER || v == WEBSOCKET_HTTP_UPGRADE ||
            v == WEBSOCKET_HTTP_SWITCHED)
                FUZZ_ASSERT(head > 0 && head <= size && head <= WEBSOCKET_HTTP_MAX_HEAD);
        else
                FUZZ_ASSERT(head == SIZE_MAX);
        FUZZ_ASSERT(websocket_http_name(v) != NULL);
}

/* The same bytes at once, in a context of its own: the same messages. */
static void check_at_once(WebSocketRole role, bool in_sync, const uint8_t *all, size_t n,
                          const Seen *chunked)
{
        WebSocketConfig c = {.max_message = MAX_MESSAGE};
        WebSockets *w = websocket_new(&c);
        FUZZ_ASSERT(w);
        WebSocketDir *d = websocket_dir_new(w, role, in_sync);
        FUZZ_ASSERT(d);
        Seen s = {0};
        websocket_feed(w, d, all, n, on_message, &s);
        FUZZ_ASSERT(s.n == chunked->n && s.hash == chunked->hash);
        websocket_dir_free(w, d);
        websocket_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        check_http(data + 1, size - 1);

        static const WebSocketRole roles[4][2] = {
            {WEBSOCKET_ROLE_UNKNOWN, WEBSOCKET_ROLE_UNKNOWN},
            {WEBSOCKET_ROLE_CLIENT, WEBSOCKET_ROLE_SERVER},
            {WEBSOCKET_ROLE_SERVER, WEBSOCKET_ROLE_CLIENT},
            {WEBSOCKET_ROLE_CLIENT, WEBSOCKET_ROLE_SERVER},
        };
        uint8_t mode = data[0];
        bool in_sync = mode & 4, tight = mode & 8;
        WebSocketConfig cfg = {.max_message = MAX_MESSAGE, .max_bytes = tight ? 1500 : 0};
        WebSockets *w = websocket_new(&cfg);
        FUZZ_ASSERT(w);
        WebSocketDir *d[2];
        Seen seen[2] = {{0}, {0}};
        bool holes[2] = {false, false};
        static uint8_t all[2][65536];
        size_t all_n[2] = {0, 0};
        for (int i = 0; i < 2; i++) {
                d[i] = websocket_dir_new(w, roles[mode & 3][i], in_sync);
                FUZZ_ASSERT(d[i]);
        }
        size_t off = 1;
        while (size - off >= 2) {
                unsigned dir = data[off] & 1;
                bool hole = data[off] & 2;
                size_t len = data[off + 1];
                off += 2;
                if (len > size - off)
                        len = size - off;
                if (hole) {
                        websocket_desync(w, d[dir]);
                        holes[dir] = true;
                }
                feed_frames(w, d[dir], data + off, len, &seen[dir]);
                if (all_n[dir] + len <= sizeof all[dir]) {
                        memcpy(all[dir] + all_n[dir], data + off, len);
                        all_n[dir] += len;
                } else {
                        holes[dir] = true;
                }
                off += len;
                WebSocketStats st;
                websocket_get_stats(w, &st);
                FUZZ_ASSERT(st.active == 2);
                if (tight)
                        FUZZ_ASSERT(st.bytes <= cfg.max_bytes + 2 * RESYNC_SLACK);
        }
        for (int i = 0; i < 2; i++)
                if (!holes[i] && !tight)
                        check_at_once(roles[mode & 3][i], in_sync, all[i], all_n[i], &seen[i]);
        for (int i = 0; i < 2; i++)
                websocket_dir_free(w, d[i]);
        WebSocketStats st;
        websocket_get_stats(w, &st);
        FUZZ_ASSERT(st.active == 0 && st.bytes == 0);
        websocket_free(w);
        return 0;
}
