/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SIP over TCP: per-direction stream reassembly and message framing
 * (RFC 3261 §18.3: messages back to back, each ended by its Content-Length).
 *
 * Segments are put in sequence order (RFC 9293 §3.4); retransmissions and
 * overlaps are trimmed; a bounded out-of-order queue waits for holes to fill
 * and gives up (counted) when it overflows or the stream closes. A stream
 * seen from its SYN is in sync from the first byte; one picked up mid-stream
 * (the capture started late, or a hole was skipped) resynchronises on the
 * next line that is a SIP start line.
 *
 * How a message is handed on: the caller takes it, as from the IP fragment
 * reassembler (ipfrag.h). Both reassemblers are fed a packet and then hand
 * back what it completed, owned by the reassembler and valid until the
 * caller comes back: ipfrag_feed() returns the one datagram a fragment can
 * complete; a TCP segment can complete many messages (and expiry or a flush
 * can release more), so tcpstream_next() returns them one at a time:
 *
 *   tcpstream_feed(t, pkt, ts);           (or tcpstream_expire / _flush)
 *   while (tcpstream_next(t, &m))
 *           use(m.data, m.len);
 *
 * Why pull rather than a callback for both: the caller keeps the control
 * flow (no re-entry into the pipeline from inside the reassembler, no
 * void *userdata), a reassembled IP datagram can itself hold a fragment of
 * an inner tunnel that goes back into ipfrag_feed() with no recursion, and
 * one shape serves every reassembler. The work a segment starts is resumed
 * by each tcpstream_next() (tcpstream_order.c), so messages are still framed
 * where they lie, without a copy.
 *
 * Which framer cuts a direction's in-order bytes into messages is chosen per
 * connection (TcpFraming; the seam is parser/tcpframer.h): Content-Length
 * framing, or SIP over WebSocket (RFC 7118) after an HTTP Upgrade handshake
 * on any port, or from the start on a ws port for a connection picked up
 * mid-way (parser/tcpframe_ws.c).
 *
 * The framing is our own, not sofia-sip's msg_recv_iovec()/msg_extract():
 * those copy every byte into a msg_t and parse all headers just to find the
 * end of a message, and the pipeline parses each message again anyway. Here
 * a segment holding whole messages is framed in place without a copy (the
 * common case), and only Content-Length is looked at.
 *
 * Bounded: streams (LRU eviction), bytes per stream, bytes overall, header
 * and body size, out-of-order segments per stream; idle streams expire. No
 * I/O, no clock: time is the packet timestamp.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "websocket.h"
#include "sipmsg.h"

typedef struct TcpStreams TcpStreams;

typedef struct {
        uint32_t max_streams;      /* directions tracked at once; 0 = 4096 */
        uint32_t max_ooo_segments; /* queued out-of-order segments per stream; 0 = 32 */
        uint32_t max_header;       /* start line + headers; 0 = 64 KiB */
        uint32_t max_body;         /* Content-Length accepted; 0 = 64 KiB */
        uint64_t max_stream_bytes; /* buffered per stream (partial message + queue);
                                      0 = max_header + max_body */
        uint64_t max_bytes;        /* buffered overall; 0 = 64 MiB */
        int64_t idle_timeout_us;   /* 0 = 300 s */
        int64_t gap_timeout_us;    /* a hole not filled within this is skipped; 0 = 2 s */
        uint64_t hash_seed;        /* the daemon passes a random value (hash flooding) */
        WebSocketPorts ws_ports;   /* a connection picked up mid-way here is SIP over
                                      WebSocket (websocket.h); zeroed: the default ports */
} TcpStreamConfig;

/* The defaults of the limits above (0 in the config). */
#define TCPSTREAM_DEFAULT_MAX_STREAMS 4096u
#define TCPSTREAM_DEFAULT_MAX_BYTES   (64ull << 20)

typedef struct {
        uint64_t segments;       /* TCP segments fed (with or without data) */
        uint64_t streams;        /* stream directions opened */
        uint64_t messages;       /* complete messages delivered */
        uint64_t resyncs;        /* times a start line was searched for (mid-stream start, hole) */
        uint64_t skipped_bytes;  /* bytes discarded while searching for a start line */
        uint64_t retransmitted;  /* segments wholly already seen */
        uint64_t trimmed;        /* segments partly already seen, overlap trimmed */
        uint64_t out_of_order;   /* segments queued ahead of a hole */
        uint64_t gaps;           /* holes given up on (queue overflow, close, expiry) */
        uint64_t ooo_dropped;    /* out-of-order segments that did not fit the queue */
        uint64_t header_too_big; /* no end of headers within max_header: resync */
        uint64_t body_too_big;   /* Content-Length above max_body: message skipped */
        uint64_t bad_content_length; /* unparsable Content-Length: resync */
        uint64_t no_content_length;  /* missing Content-Length, taken as 0 (RFC 3261 §18.3) */
        uint64_t stream_cap;         /* bytes dropped for the per-stream cap: resync */
        uint64_t evicted;            /* streams dropped for room (table or global bytes full) */
        uint64_t closed_fin;
        uint64_t closed_rst;
        uint64_t timeouts; /* idle streams expired */
        uint64_t nomem;
        uint64_t handshakes;          /* three-way handshakes seen whole: verified sources */
        uint64_t handshake_conflicts; /* two SYN-ACKs for one SYN: that connection proves nothing */
        /* gauges */
        uint64_t active; /* stream directions tracked now */
        uint64_t bytes;  /* bytes buffered now */
} TcpStreamStats;

/* How the in-order bytes of a connection are cut into messages (tcpframer.h). */
typedef enum {
        TCP_FRAMING_SIP = 0, /* RFC 3261 §18.3: start line, headers, Content-Length body */
        TCP_FRAMING_WS,      /* RFC 7118: SIP in WebSocket frames (tcpframe_ws.c) */
        TCP_FRAMING__MAX
} TcpFraming;

/*
 * One complete SIP message of the stream src -> dst, completed by the
 * segment captured at ts_us (or released by expiry or a flush: then the
 * time of the stream's last segment). data is owned by the reassembler and
 * valid until the next call on it. handshake: the connection's three-way
 * handshake was seen whole and without a conflicting SYN-ACK, so src is a
 * host that received the server's SYN-ACK (not a spoofed address).
 */
typedef struct {
        Endpoint src, dst;
        int64_t ts_us;
        const uint8_t *data;
        size_t len;
        bool handshake;
        TcpFraming framing; /* what cut it out of the stream */
        /* Its start line as the framer read it (sipmsg_start_line() of data,
         * valid as long as data), or NULL: the caller reads it. */
        const SipStartLine *start;
} TcpMessage;

TcpStreams *tcpstream_new(const TcpStreamConfig *cfg);
TcpStreams *tcpstream_free(TcpStreams *t);

/*
 * One decoded TCP segment (pkt->transport == TRANSPORT_TCP), captured at
 * ts_us. Its payload must stay valid until tcpstream_next() returns false.
 */
void tcpstream_feed(TcpStreams *t, const DecodedPacket *pkt, int64_t ts_us);

/* Close streams idle for longer than the idle timeout at now_us. */
void tcpstream_expire(TcpStreams *t, int64_t now_us);

/* End of input: give up on holes, frame what can be framed, close all. */
void tcpstream_flush(TcpStreams *t, int64_t now_us);

/*
 * The next message completed by the last tcpstream_feed(), _expire() or
 * _flush(); false when there is none left. Take them all before the next
 * feed, expire or flush: what is left then is framed and dropped (still
 * counted in messages).
 */
bool tcpstream_next(TcpStreams *t, TcpMessage *out);

void tcpstream_get_stats(const TcpStreams *t, TcpStreamStats *out);
/* The counters of the WebSocket framer (all connections). */
void tcpstream_get_ws_stats(const TcpStreams *t, WebSocketStats *out);
