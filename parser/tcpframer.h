/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The seam between TCP stream reassembly and the framing of messages.
 *
 * tcpstream puts the bytes of one direction in sequence order, buffers what
 * is not framed yet and enforces the limits; a framer cuts those in-order
 * bytes into messages. The framer is chosen per connection (TcpFraming) and
 * keeps its state per direction, in the stream (TcpFramer below).
 *
 *   segment -> [order: trim, queue, gaps] -> in-order bytes -> framer -> message
 *                   tcpstream_order.c                          tcpframer_frame()
 *
 * Two framers: RFC 3261 §18.3 Content-Length framing (tcpframe_sip.c), and
 * SIP over WebSocket (RFC 7118, tcpframe_ws.c over parser/websocket.c),
 * which a direction switches to on its HTTP Upgrade head (watched for by
 * tcpframe_sip_watch() where a SIP message would start), or starts with
 * when a connection on a ws port is picked up mid-way. Each direction
 * switches on its own head (the client after its GET, the server after its
 * 101), so the two Streams of a connection need not know each other. To add
 * another:
 *   1. its kind in TcpFraming (tcpstream.h) and its per-direction state in
 *      TcpFramer's union below;
 *   2. a case in each of the tcpframer_*() functions below, calling the
 *      framer's own API;
 *   3. the switch: a connection starts as TCP_FRAMING_SIP (tcpframer_init()
 *      from stream_open() and on a new SYN, tcpstream.c); the WebSocket
 *      framer is started from tcpframe_sip_watch() (after an HTTP Upgrade
 *      head) or tcpframe_ws_pickup() (stream_open() without a SYN), both
 *      through tcpframe_ws_start();
 *   4. the pipeline maps TcpMessage.framing to a transport name
 *      (decode_transport_name(), analysis/pipeline.c on_tcp_messages()).
 *
 * The contract of a framer, as tcpframer_frame() calls it:
 *   - it gets p[0..n): the in-order bytes not consumed yet. from_buf false:
 *     a segment, framed in place, whose unconsumed rest the stream then
 *     buffers; true: the stream's buffer, the same bytes as the last call
 *     with more appended, starting where that call stopped consuming;
 *   - it consumes what it has decided (skipped, framed) and stops after at
 *     most one message: returns the bytes consumed and, for a message, sets
 *     out->data / out->len (pointing into p, or into memory of its own, such
 *     as an unmasked WebSocket payload) valid until the next call; and
 *     out->start if it read the message's start line with
 *     sipmsg_start_line(), so that nobody reads it again (else NULL);
 *   - it never consumes a message it cannot deliver whole within the
 *     stream's limits (cfg->max_header, cfg->max_body), counts what it
 *     drops in the stream's counters, and holds no memory of its own that
 *     is not bounded and freed by tcpframer_release() (the stream calls it
 *     when it closes, is freed, or a new SYN starts a new connection);
 *   - tcpframer_desync(): the stream lost bytes (a hole given up on, a cap):
 *     drop the partial message, find the next boundary;
 *   - tcpframer_rebase(): the stream dropped the consumed head of its
 *     buffer; offsets kept into it are void. Returns whether the bytes left
 *     should be framed once more from the new start.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sipmsg.h"
#include "tcpstream.h"

/* RFC 3261 §18.3 Content-Length framing: the state of one direction. */
typedef struct {
        bool synced;      /* at a message boundary (or inside a known message) */
        uint64_t skip;    /* body bytes still to skip (body over max_body) */
        uint32_t scanned; /* bytes of the buffer searched for the end of headers */
        uint32_t need;    /* whole message length once the headers are in; 0 = unknown */
        bool start_read;  /* start holds the current message's first line */
        SipStartLine start;
} SipFramer;

/* SIP over WebSocket: the direction's frame decoder (websocket.h), owned. */
typedef struct {
        WebSocketDir *dir; /* NULL: none could be allocated (counted): bytes skipped */
} WsFramer;

typedef struct {
        TcpFraming kind;
        WebSockets *wsctx; /* the reassembler's WebSocket context; NULL: no WebSocket */
        union {
                SipFramer sip;
                WsFramer ws;
        } u;
} TcpFramer;

/* What a framer cut: a message, and its start line if the framer read it. */
typedef struct {
        const uint8_t *data; /* NULL: no message */
        size_t len;
        const SipStartLine *start; /* sipmsg_start_line() of data, or NULL */
} TcpFramed;

size_t tcpframe_sip(SipFramer *f, const TcpStreamConfig *cfg, TcpStreamStats *st, const uint8_t *p,
                    size_t n, bool from_buf, TcpFramed *out);
void tcpframe_sip_desync(SipFramer *f, TcpStreamStats *st);
bool tcpframe_sip_rebase(SipFramer *f, bool more);

/* tcpframe_ws.c */
size_t tcpframe_sip_watch(TcpFramer *f, const TcpStreamConfig *cfg, TcpStreamStats *st,
                          const uint8_t *p, size_t n, bool from_buf, TcpFramed *out);
bool tcpframe_ws_start(TcpFramer *f, WebSocketRole role, bool synced);
void tcpframe_ws_release(TcpFramer *f);
size_t tcpframe_ws(TcpFramer *f, const uint8_t *p, size_t n, TcpFramed *out);
void tcpframe_ws_desync(TcpFramer *f);
void tcpframe_ws_pickup(TcpFramer *f, const TcpStreamConfig *cfg, const Endpoint *src,
                        const Endpoint *dst);

/*
 * A new connection (synced: seen from its SYN, so the first byte starts a
 * message), framed as SIP; wsctx: where a WebSocket framer takes its limits
 * and counters. A framer of another kind is started from there
 * (tcpframe_ws_start()); tcpframer_release() frees what it holds.
 */
static inline void tcpframer_init(TcpFramer *f, bool synced, WebSockets *wsctx)
{
        *f = (TcpFramer){.kind = TCP_FRAMING_SIP, .wsctx = wsctx};
        f->u.sip.synced = synced;
}

static inline size_t tcpframer_frame(TcpFramer *f, const TcpStreamConfig *cfg, TcpStreamStats *st,
                                     const uint8_t *p, size_t n, bool from_buf, TcpFramed *out)
{
        switch (f->kind) {
        case TCP_FRAMING_WS:
                return tcpframe_ws(f, p, n, out);
        case TCP_FRAMING_SIP:
        default:
                return tcpframe_sip_watch(f, cfg, st, p, n, from_buf, out);
        }
}

static inline void tcpframer_desync(TcpFramer *f, TcpStreamStats *st)
{
        switch (f->kind) {
        case TCP_FRAMING_WS:
                st->resyncs++;
                tcpframe_ws_desync(f);
                break;
        case TCP_FRAMING_SIP:
        default:
                tcpframe_sip_desync(&f->u.sip, st);
                break;
        }
}

static inline bool tcpframer_rebase(TcpFramer *f, bool more)
{
        switch (f->kind) {
        case TCP_FRAMING_WS:
                return false; /* keeps no offset into the stream's buffer */
        case TCP_FRAMING_SIP:
        default:
                return tcpframe_sip_rebase(&f->u.sip, more);
        }
}

/* The stream closes, is freed or starts a new connection: free what the framer holds. */
static inline void tcpframer_release(TcpFramer *f)
{
        switch (f->kind) {
        case TCP_FRAMING_WS:
                tcpframe_ws_release(f);
                break;
        case TCP_FRAMING_SIP:
        default:
                break; /* Content-Length framing holds no memory */
        }
}
