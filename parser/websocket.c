/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SIP over WebSocket: RFC 6455 frames and the HTTP/1.1 Upgrade handshake
 * (websocket.h says what is decoded, what is counted and what is bounded).
 *
 * A direction is a small state machine over its in-order bytes:
 *
 *   resync --(plausible frame start, SIP inside)--> header --(complete)--> payload
 *     ^                                               ^  |                   |
 *     +------------------- bad frame -----------------|--+                   |
 *                                                     +-- frame complete <---+
 *
 * The header (2 to 14 bytes) is gathered in a small array, so a header cut
 * anywhere between two calls is fine; payload bytes of data frames are
 * unmasked straight into the message buffer, control frame payloads are
 * skipped. While resynchronising, bytes are scanned in place; only the tail
 * that may still start a frame (a header and the first RESYNC_PEEK payload
 * bytes at most) is kept between calls.
 */
#include "websocket.h"

#include <stdlib.h>
#include <string.h>

#include "sipchars.h"
#include "sipmsg.h"

#define DEFAULT_MAX_MESSAGE (128u * 1024)
#define DEFAULT_MAX_BYTES   (64ull * 1024 * 1024)
#define MAX_HEADER          14
/* Payload bytes a resync candidate must show (a SIP start line fits). */
#define RESYNC_PEEK 256
#define RESYNC_KEEP (MAX_HEADER + RESYNC_PEEK)
#define RESYNC_BUF  1024
/* A message buffer larger than this is released once its message is out. */
#define KEEP_BUFFER 4096

enum {
        OP_CONTINUATION = 0x0,
        OP_TEXT = 0x1,
        OP_BINARY = 0x2,
        OP_CLOSE = 0x8,
        OP_PING = 0x9,
        OP_PONG = 0xa,
};

struct WebSockets {
        WebSocketConfig cfg;
        WebSocketStats st;
};

struct WebSocketDir {
        WebSocketRole role;
        bool resync;
        /* the frame being read */
        uint8_t hdr[MAX_HEADER];
        uint8_t hdr_len;
        bool in_frame; /* header complete, payload bytes pending */
        bool ready;    /* msg holds a complete message handed out by the last call */
        bool fin;
        uint8_t opcode;
        bool masked;
        uint8_t key[4];
        uint64_t left;      /* payload bytes still to come */
        uint64_t frame_off; /* payload bytes seen (mask index) */
        /* the message being joined */
        bool in_message; /* a text or binary frame without FIN was seen */
        bool msg_skip;   /* refused (size, caps, memory): frames read, bytes dropped */
        uint8_t msg_opcode;
        uint32_t msg_frames;
        uint8_t *msg;
        size_t msg_len, msg_cap;
        /* resync: the kept tail */
        uint8_t rbuf[RESYNC_BUF];
        size_t rlen;
};

typedef struct {
        bool fin;
        uint8_t rsv;
        uint8_t opcode;
        bool masked;
        bool minimal; /* the length in its shortest form (§5.2 MUST) */
        uint8_t key[4];
        uint64_t len;
        size_t hlen;
} FrameHdr;

WebSockets *websocket_new(const WebSocketConfig *cfg)
{
        WebSockets *w = calloc(1, sizeof *w);
        if (!w)
                return NULL;
        if (cfg)
                w->cfg = *cfg;
        if (!w->cfg.max_message)
                w->cfg.max_message = DEFAULT_MAX_MESSAGE;
        if (!w->cfg.max_stream_bytes)
                w->cfg.max_stream_bytes = w->cfg.max_message;
        if (!w->cfg.max_bytes)
                w->cfg.max_bytes = DEFAULT_MAX_BYTES;
        return w;
}

WebSockets *websocket_free(WebSockets *w)
{
        free(w);
        return NULL;
}

void websocket_get_stats(const WebSockets *w, WebSocketStats *out)
{
        *out = w->st;
}

static void msg_release(WebSockets *w, WebSocketDir *d)
{
        w->st.bytes -= d->msg_cap;
        free(d->msg);
        d->msg = NULL;
        d->msg_len = d->msg_cap = 0;
}

static void set_rlen(WebSockets *w, WebSocketDir *d, size_t n)
{
        w->st.bytes = w->st.bytes - d->rlen + n;
        d->rlen = n;
}

WebSocketDir *websocket_dir_new(WebSockets *w, WebSocketRole role, bool in_sync)
{
        WebSocketDir *d = calloc(1, sizeof *d);
        if (!d) {
                w->st.nomem++;
                return NULL;
        }
        d->role = role;
        if (!in_sync) {
                d->resync = true;
                w->st.resyncs++;
        }
        w->st.active++;
        return d;
}

WebSocketDir *websocket_dir_free(WebSockets *w, WebSocketDir *d)
{
        if (!d)
                return NULL;
        msg_release(w, d);
        set_rlen(w, d, 0);
        w->st.active--;
        free(d);
        return NULL;
}

/* Drop the message in progress and look for the next frame start. */
static void go_resync(WebSockets *w, WebSocketDir *d)
{
        d->in_frame = false;
        d->hdr_len = 0;
        d->in_message = false;
        d->msg_skip = false;
        d->msg_len = 0;
        if (d->msg_cap > KEEP_BUFFER)
                msg_release(w, d);
        if (!d->resync) {
                d->resync = true;
                w->st.resyncs++;
        }
}

void websocket_desync(WebSockets *w, WebSocketDir *d)
{
        set_rlen(w, d, 0);
        go_resync(w, d);
}

/* RFC 6455 §5.2: bytes needed for the whole header, from its first two. */
static size_t header_len(const uint8_t *p)
{
        size_t n = 2;
        if ((p[1] & 0x7f) == 126)
                n += 2;
        else if ((p[1] & 0x7f) == 127)
                n += 8;
        return n + (p[1] & 0x80 ? 4 : 0);
}

/* Parse a header from p[0..n); false when n is short of it. */
static bool frame_header(const uint8_t *p, size_t n, FrameHdr *h)
{
        if (n < 2 || n < header_len(p))
                return false;
        h->fin = p[0] & 0x80;
        h->rsv = (uint8_t)((p[0] >> 4) & 7);
        h->opcode = p[0] & 0x0f;
        h->masked = p[1] & 0x80;
        h->len = p[1] & 0x7f;
        h->minimal = true;
        size_t off = 2;
        if (h->len == 126) {
                h->len = (uint64_t)p[2] << 8 | p[3];
                h->minimal = h->len >= 126;
                off = 4;
        } else if (h->len == 127) {
                h->len = 0;
                for (size_t i = 0; i < 8; i++)
                        h->len = h->len << 8 | p[2 + i];
                h->minimal = h->len > 0xffff;
                off = 10;
        }
        if (h->masked) {
                memcpy(h->key, p + off, 4);
                off += 4;
        } else {
                memset(h->key, 0, 4);
        }
        h->hlen = off;
        return true;
}

/* The counter a bad header increments, or NULL when the frame is good. */
static uint64_t *frame_fault(WebSockets *w, const WebSocketDir *d, const FrameHdr *h)
{
        if (h->rsv)
                return &w->st.bad_rsv;
        if ((h->opcode > OP_BINARY && h->opcode < OP_CLOSE) || h->opcode > OP_PONG)
                return &w->st.bad_opcode;
        if (h->opcode >= OP_CLOSE && (!h->fin || h->len > 125))
                return &w->st.bad_control;
        if (d->role == WEBSOCKET_ROLE_CLIENT && !h->masked)
                return &w->st.bad_unmasked;
        if (d->role == WEBSOCKET_ROLE_SERVER && h->masked)
                return &w->st.bad_masked;
        if (h->len >> 63)
                return &w->st.bad_length;
        if (h->opcode == OP_CONTINUATION && !d->in_message)
                return &w->st.bad_continuation;
        if ((h->opcode == OP_TEXT || h->opcode == OP_BINARY) && d->in_message)
                return &w->st.bad_continuation;
        return NULL;
}

/*
 * The limits on a message of need bytes, checked on each frame's declared
 * length; false refuses the message (counted). Nothing is charged here: a
 * header only declares a length, and a sender that declares much and sends
 * little must not take the global budget from real messages.
 */
static bool msg_fits(WebSockets *w, uint64_t need)
{
        if (need > w->cfg.max_message) {
                w->st.message_too_big++;
                return false;
        }
        if (need > w->cfg.max_stream_bytes) { /* the fixed resync window aside */
                w->st.stream_cap++;
                return false;
        }
        return true;
}

/*
 * Room for need message bytes, grown as payload arrives and charged to the
 * global budget then; false refuses the message (counted).
 */
static bool msg_grow(WebSockets *w, WebSocketDir *d, size_t need)
{
        if (need <= d->msg_cap)
                return true;
        size_t cap = d->msg_cap ? d->msg_cap : 512;
        while (cap < need)
                cap *= 2;
        if (cap > w->cfg.max_message)
                cap = w->cfg.max_message;
        if (w->st.bytes + (cap - d->msg_cap) > w->cfg.max_bytes) {
                w->st.global_cap++;
                return false;
        }
        uint8_t *m = realloc(d->msg, cap);
        if (!m) {
                w->st.nomem++;
                return false;
        }
        w->st.bytes += cap - d->msg_cap;
        d->msg = m;
        d->msg_cap = cap;
        return true;
}

/* A complete header in d->hdr: check it and start its frame. */
static void frame_start(WebSockets *w, WebSocketDir *d)
{
        FrameHdr h;
        if (!frame_header(d->hdr, d->hdr_len, &h))
                return; /* not reached: the caller gathered header_len() bytes */
        uint64_t *fault = frame_fault(w, d, &h);
        if (fault) {
                (*fault)++;
                w->st.bad_frames++;
                w->st.skipped_bytes += d->hdr_len;
                go_resync(w, d);
                return;
        }
        d->hdr_len = 0;
        d->in_frame = true;
        d->fin = h.fin;
        d->opcode = h.opcode;
        d->masked = h.masked;
        memcpy(d->key, h.key, 4);
        d->left = h.len;
        d->frame_off = 0;
        if (h.opcode == OP_TEXT || h.opcode == OP_BINARY) {
                d->in_message = true;
                d->msg_opcode = h.opcode;
                d->msg_frames = 0;
                d->msg_len = 0;
                d->msg_skip = false;
        }
        if (h.opcode < OP_CLOSE && !d->msg_skip && !msg_fits(w, d->msg_len + h.len))
                d->msg_skip = true;
}

/* A message is complete: it is handed out, and released at the next call. */
static void message_end(WebSockets *w, WebSocketDir *d)
{
        d->in_message = false;
        if (!d->msg_skip && d->msg_len > 0) {
                w->st.messages++;
                if (d->msg_opcode == OP_TEXT)
                        w->st.text++;
                else
                        w->st.binary++;
                if (d->msg_frames > 1)
                        w->st.fragmented++;
                d->ready = true;
                return;
        }
        if (!d->msg_skip)
                w->st.empty++;
        d->msg_skip = false;
        d->msg_len = 0;
}

static void frame_end(WebSockets *w, WebSocketDir *d)
{
        d->in_frame = false;
        w->st.frames++;
        switch (d->opcode) {
        case OP_PING:
                w->st.pings++;
                return;
        case OP_PONG:
                w->st.pongs++;
                return;
        case OP_CLOSE:
                w->st.closes++;
                return;
        case OP_CONTINUATION:
                w->st.continuations++;
                break;
        default:
                break;
        }
        d->msg_frames++;
        if (d->fin)
                message_end(w, d);
}

/* In sync: consume a header or payload piece of p[0..n) (n > 0); returns bytes used. */
static size_t sync_step(WebSockets *w, WebSocketDir *d, const uint8_t *p, size_t n)
{
        size_t used = 0;
        if (!d->in_frame) {
                size_t need = d->hdr_len < 2 ? 2 : header_len(d->hdr);
                size_t take = need - d->hdr_len < n ? need - d->hdr_len : n;
                memcpy(d->hdr + d->hdr_len, p, take);
                d->hdr_len = (uint8_t)(d->hdr_len + take);
                if (d->hdr_len == 2 && header_len(d->hdr) > 2)
                        return take; /* the extended length and the key next */
                if (d->hdr_len < need)
                        return take;
                frame_start(w, d);
                if (!d->in_frame || d->left > 0)
                        return take;
                used = take;
        } else {
                used = d->left < n ? (size_t)d->left : n;
                if (d->opcode < OP_CLOSE && !d->msg_skip && !msg_grow(w, d, d->msg_len + used))
                        d->msg_skip = true;
                if (d->opcode < OP_CLOSE && !d->msg_skip) {
                        uint8_t *out = d->msg + d->msg_len;
                        for (size_t i = 0; i < used; i++)
                                out[i] = p[i] ^ (d->masked ? d->key[(d->frame_off + i) & 3] : 0);
                        d->msg_len += used;
                }
                d->left -= used;
                d->frame_off += used;
                if (d->left > 0)
                        return used;
        }
        frame_end(w, d);
        return used;
}

typedef enum { CAND_NO, CAND_YES, CAND_MORE } Candidate;

/* Does a data message whose payload starts like SIP begin at p[0..n)? */
static Candidate resync_candidate(const WebSockets *w, const WebSocketDir *d, const uint8_t *p,
                                  size_t n)
{
        if (n < 2)
                return CAND_MORE;
        uint8_t op = p[0] & 0x0f;
        if ((p[0] & 0x70) || (op != OP_TEXT && op != OP_BINARY))
                return CAND_NO;
        bool masked = p[1] & 0x80;
        if ((d->role == WEBSOCKET_ROLE_CLIENT && !masked) ||
            (d->role == WEBSOCKET_ROLE_SERVER && masked))
                return CAND_NO;
        FrameHdr h;
        if (!frame_header(p, n, &h))
                return CAND_MORE;
        if (!h.minimal || h.len < 8 || h.len > w->cfg.max_message)
                return CAND_NO;
        size_t peek = h.len < RESYNC_PEEK ? (size_t)h.len : RESYNC_PEEK;
        if (n - h.hlen < peek)
                return CAND_MORE;
        /* a start line begins with three capitals ("SIP/", "INVITE", "ACK") */
        for (size_t i = 0; i < 3; i++) {
                uint8_t ch = p[h.hlen + i] ^ h.key[i & 3];
                if (ch < 'A' || ch > 'Z')
                        return CAND_NO;
        }
        uint8_t start[RESYNC_PEEK];
        for (size_t i = 0; i < peek; i++)
                start[i] = p[h.hlen + i] ^ h.key[i & 3];
        return sipmsg_looks_like_sip(start, peek) ? CAND_YES : CAND_NO;
}

/*
 * Scan p[0..n) for a frame start. Returns the offset of a confirmed one
 * (*cand = CAND_YES), of the first one that needs more bytes (CAND_MORE), or
 * n (CAND_NO).
 */
static size_t resync_scan(const WebSockets *w, const WebSocketDir *d, const uint8_t *p, size_t n,
                          Candidate *cand)
{
        for (size_t i = 0; i < n; i++) {
                *cand = resync_candidate(w, d, p + i, n - i);
                if (*cand != CAND_NO)
                        return i;
        }
        *cand = CAND_NO;
        return n;
}

/* Drop the first k kept bytes. */
static void kept_drop(WebSockets *w, WebSocketDir *d, size_t k)
{
        memmove(d->rbuf, d->rbuf + k, d->rlen - k);
        set_rlen(w, d, d->rlen - k);
}

/* Resync over the kept tail with input appended; returns input bytes taken. */
static size_t resync_kept(WebSockets *w, WebSocketDir *d, const uint8_t *p, size_t n)
{
        size_t add = RESYNC_BUF - d->rlen < n ? RESYNC_BUF - d->rlen : n;
        memcpy(d->rbuf + d->rlen, p, add);
        set_rlen(w, d, d->rlen + add);
        Candidate c;
        size_t at = resync_scan(w, d, d->rbuf, d->rlen, &c);
        w->st.skipped_bytes += at;
        kept_drop(w, d, at);
        if (c == CAND_YES)
                d->resync = false; /* the kept bytes are framed next */
        return add;
}

/* Resync straight from the input; what may still start a frame is kept. */
static size_t resync_step(WebSockets *w, WebSocketDir *d, const uint8_t *p, size_t n)
{
        Candidate c;
        size_t at = resync_scan(w, d, p, n, &c);
        w->st.skipped_bytes += at;
        if (c == CAND_YES) {
                d->resync = false;
                return at;
        }
        if (c == CAND_MORE) { /* n - at < RESYNC_KEEP: the candidate was short of bytes */
                memcpy(d->rbuf, p + at, n - at);
                set_rlen(w, d, n - at);
        }
        return n;
}

/*
 * Kept bytes (a resync tail, or what follows a start found in it) come
 * before the input. Each pass consumes at least one byte or returns: with
 * kept bytes in resync, a start needing more bytes than there are returns
 * once the input is used up (RESYNC_KEEP < RESYNC_BUF, so there is room to
 * append); in sync, sync_step() uses at least one byte.
 */
size_t websocket_frame(WebSockets *w, WebSocketDir *d, const uint8_t *p, size_t n,
                       const uint8_t **msg, size_t *msg_len)
{
        size_t used = 0;
        *msg = NULL;
        *msg_len = 0;
        if (d->ready) {
                d->ready = false;
                d->msg_len = 0;
                if (d->msg_cap > KEEP_BUFFER)
                        msg_release(w, d);
        }
        for (;;) {
                if (d->rlen > 0 && d->resync) {
                        size_t before = d->rlen;
                        used += resync_kept(w, d, p + used, n - used);
                        if (d->resync && d->rlen > 0 && (used == n || d->rlen == before))
                                return used;
                        continue;
                }
                if (d->rlen > 0) {
                        kept_drop(w, d, sync_step(w, d, d->rbuf, d->rlen));
                } else if (used == n) {
                        return used;
                } else if (d->resync) {
                        used += resync_step(w, d, p + used, n - used);
                        continue;
                } else {
                        used += sync_step(w, d, p + used, n - used);
                }
                if (d->ready) {
                        *msg = d->msg;
                        *msg_len = d->msg_len;
                        return used;
                }
        }
}

void websocket_feed(WebSockets *w, WebSocketDir *d, const uint8_t *data, size_t len,
                    WebSocketMessageFn fn, void *userdata)
{
        if (!w || !d || (!data && len))
                return;
        for (;;) {
                const uint8_t *msg;
                size_t msg_len;
                size_t used = websocket_frame(w, d, data, len, &msg, &msg_len);
                data += used;
                len -= used;
                if (!msg)
                        return; /* all of the input taken */
                if (fn)
                        fn(msg, msg_len, userdata);
        }
}

/* ------------------------------------------------------------------------ */
/* The HTTP/1.1 Upgrade handshake */

static bool has_prefix(const uint8_t *p, size_t n, const char *s)
{
        size_t l = strlen(s);
        return n >= l && memcmp(p, s, l) == 0;
}

static bool ieq(const uint8_t *p, size_t n, const char *s)
{
        if (strlen(s) != n)
                return false;
        for (size_t i = 0; i < n; i++) {
                uint8_t a = p[i], b = (uint8_t)s[i];
                if (a >= 'A' && a <= 'Z')
                        a = (uint8_t)(a - 'A' + 'a');
                if (a != b)
                        return false;
        }
        return true;
}

/* RFC 7230 §7: does the comma-separated list p[0..n) hold token (lower case)? */
static bool list_has(const uint8_t *p, size_t n, const char *token)
{
        size_t i = 0;
        while (i < n) {
                while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
                        i++;
                size_t s = i;
                while (i < n && p[i] != ',' && p[i] != ' ' && p[i] != '\t')
                        i++;
                if (i > s && ieq(p + s, i - s, token))
                        return true;
                while (i < n && p[i] != ',')
                        i++;
        }
        return false;
}

typedef struct {
        bool upgrade_ws;   /* Upgrade: websocket */
        bool has_protocol; /* Sec-WebSocket-Protocol present */
        bool protocol_sip; /* ... and lists sip */
} HttpHeads;

/* The header fields of head[0..n), the start line excluded. */
static void http_fields(const uint8_t *p, size_t n, HttpHeads *hh)
{
        const uint8_t *end = p + n;
        while (p < end) {
                const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
                const uint8_t *le = nl ? nl : end;
                const uint8_t *colon = memchr(p, ':', (size_t)(le - p));
                if (colon) {
                        const uint8_t *v = colon + 1;
                        size_t vn = (size_t)(le - v);
                        if (vn && v[vn - 1] == '\r')
                                vn--;
                        size_t nn = (size_t)(colon - p);
                        if (ieq(p, nn, "upgrade") && list_has(v, vn, "websocket"))
                                hh->upgrade_ws = true;
                        if (ieq(p, nn, "sec-websocket-protocol")) {
                                hh->has_protocol = true;
                                hh->protocol_sip |= list_has(v, vn, "sip");
                        }
                }
                p = nl ? nl + 1 : end;
        }
}

/* RFC 7230 §3.1: request-line or status-line; 1 request, 2 response, 0 neither. */
static int http_start_line(const uint8_t *p, size_t n, bool *is_get, bool *is_101)
{
        if (n && p[n - 1] == '\r')
                n--;
        if (has_prefix(p, n, "HTTP/1.")) {
                *is_101 = n >= 12 && memcmp(p + 8, " 101", 4) == 0 && (n == 12 || p[12] == ' ');
                return n >= 12 && p[8] == ' ' ? 2 : 0;
        }
        size_t m = 0;
        while (m < n && is_http_tchar(p[m]))
                m++;
        if (m == 0 || m == n || p[m] != ' ' || n < 9 || !has_prefix(p + n - 9, 9, " HTTP/1."))
                return 0;
        *is_get = m == 3 && memcmp(p, "GET", 3) == 0;
        return 1;
}

WebSocketHttp websocket_http_parse(WebSockets *w, const uint8_t *data, size_t len, size_t *head_len)
{
        if (!data || len == 0)
                return WEBSOCKET_HTTP_MORE;
        size_t look = len < WEBSOCKET_HTTP_MAX_HEAD ? len : WEBSOCKET_HTTP_MAX_HEAD;
        const uint8_t *nl = memchr(data, '\n', look);
        if (!nl) {
                /* "HTTP/1." so far, or a method token and its request line */
                size_t m = 0;
                while (m < look && is_http_tchar(data[m]))
                        m++;
                bool plausible = memcmp(data, "HTTP/1.", look < 7 ? look : 7) == 0 ||
                                 (m > 0 && (m == look || data[m] == ' '));
                return plausible && look < WEBSOCKET_HTTP_MAX_HEAD ? WEBSOCKET_HTTP_MORE
                                                                   : WEBSOCKET_HTTP_NOT;
        }
        bool is_get = false, is_101 = false;
        size_t first = (size_t)(nl - data);
        int kind = http_start_line(data, first, &is_get, &is_101);
        if (kind == 0)
                return WEBSOCKET_HTTP_NOT;
        size_t end = 0;
        for (size_t i = first; i < look && !end; i++) {
                if (data[i] != '\n')
                        continue;
                if (i + 1 < look && data[i + 1] == '\n')
                        end = i + 2;
                else if (i + 2 < look && data[i + 1] == '\r' && data[i + 2] == '\n')
                        end = i + 3;
        }
        if (!end)
                return look < WEBSOCKET_HTTP_MAX_HEAD ? WEBSOCKET_HTTP_MORE : WEBSOCKET_HTTP_NOT;
        HttpHeads hh = {0};
        http_fields(nl + 1, end - first - 1, &hh);
        bool sip = !hh.has_protocol || hh.protocol_sip;
        WebSocketHttp v = WEBSOCKET_HTTP_OTHER;
        if (kind == 1 && is_get && hh.upgrade_ws && sip)
                v = WEBSOCKET_HTTP_UPGRADE;
        else if (kind == 2 && is_101 && hh.upgrade_ws && sip)
                v = WEBSOCKET_HTTP_SWITCHED;
        if (w && v == WEBSOCKET_HTTP_UPGRADE)
                w->st.handshakes_requested++;
        else if (w && v == WEBSOCKET_HTTP_SWITCHED)
                w->st.handshakes_switched++;
        else if (w)
                w->st.handshakes_other++;
        *head_len = end;
        return v;
}

const char *websocket_http_name(WebSocketHttp v)
{
        switch (v) {
        case WEBSOCKET_HTTP_MORE:
                return "more";
        case WEBSOCKET_HTTP_NOT:
                return "not-http";
        case WEBSOCKET_HTTP_OTHER:
                return "other";
        case WEBSOCKET_HTTP_UPGRADE:
                return "upgrade";
        case WEBSOCKET_HTTP_SWITCHED:
                return "switched";
        }
        return "unknown";
}

/* ------------------------------------------------------------------------ */
/* Ports */

static bool port_number(const char **p, uint16_t *out)
{
        const char *s = *p;
        unsigned v = 0;
        while (*s == ' ' || *s == '\t')
                s++;
        if (!is_digit((uint8_t)*s))
                return false;
        while (is_digit((uint8_t)*s)) {
                v = v * 10 + (unsigned)(*s++ - '0');
                if (v > 65535)
                        return false;
        }
        while (*s == ' ' || *s == '\t')
                s++;
        if (v == 0)
                return false;
        *out = (uint16_t)v;
        *p = s;
        return true;
}

bool websocket_ports_parse(const char *s, WebSocketPorts *out)
{
        WebSocketPorts w = {0};
        if (!s)
                return false;
        if (!*s) {
                w.none = true;
                *out = w;
                return true;
        }
        for (;;) {
                uint16_t lo, hi;
                if (w.n == WEBSOCKET_PORTS_MAX || !port_number(&s, &lo))
                        return false;
                hi = lo;
                if (*s == '-' && (s++, !port_number(&s, &hi) || hi < lo))
                        return false;
                w.r[w.n].lo = lo;
                w.r[w.n].hi = hi;
                w.n++;
                if (!*s)
                        break;
                if (*s++ != ',')
                        return false;
        }
        *out = w;
        return true;
}

bool websocket_ports_has(const WebSocketPorts *p, uint16_t port)
{
        if (p->none)
                return false;
        if (p->n == 0)
                return port == 80 || port == 8080 || port == 8088 || port == 5066;
        for (unsigned i = 0; i < p->n; i++)
                if (port >= p->r[i].lo && port <= p->r[i].hi)
                        return true;
        return false;
}
