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
 * next line that is a SIP start line. Each complete message goes to a
 * callback.
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
} TcpStreamConfig;

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

/*
 * One complete SIP message of the stream src -> dst, completed by the
 * segment captured at ts_us. data is valid during the call only. handshake:
 * the connection's three-way handshake was seen whole and without a
 * conflicting SYN-ACK, so src is a host that received the server's SYN-ACK
 * (not a spoofed address).
 */
typedef void (*TcpMessageFn)(const Endpoint *src, const Endpoint *dst, int64_t ts_us,
                             const uint8_t *data, size_t len, bool handshake, void *userdata);

TcpStreams *tcpstream_new(const TcpStreamConfig *cfg, TcpMessageFn fn, void *userdata);
TcpStreams *tcpstream_free(TcpStreams *t);

/* One decoded TCP segment (pkt->transport == TRANSPORT_TCP), captured at ts_us. */
void tcpstream_feed(TcpStreams *t, const DecodedPacket *pkt, int64_t ts_us);

/* Close streams idle for longer than the idle timeout at now_us. */
void tcpstream_expire(TcpStreams *t, int64_t now_us);

/* End of input: give up on holes, deliver what can be framed, close all. */
void tcpstream_flush(TcpStreams *t, int64_t now_us);

void tcpstream_get_stats(const TcpStreams *t, TcpStreamStats *out);
