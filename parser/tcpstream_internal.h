/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Inside the TCP stream reassembler, split by concern:
 *
 *   tcpstream.c        the stream table (slots, hash, LRU), limits and
 *                      buffers, the handshake, and the entry points that
 *                      start work: feed, expire, flush
 *   tcpstream_order.c  sequence order (trim, out-of-order queue, gaps) and
 *                      the resumable delivery that tcpstream_next() runs
 *   tcpframe_sip.c     Content-Length framing, behind tcpframer.h
 *   tcpframe_ws.c      the switch to SIP over WebSocket and its framer
 *                      (parser/websocket.c), behind tcpframer.h
 *
 * One Stream per direction (src -> dst), in a fixed slot array allocated at
 * start: free list, hash chains by 4-tuple, and an LRU list by last activity
 * (least recently active at the head) for idle expiry and eviction. A
 * stream's buffer only holds the start of a message that is not complete
 * yet; a segment that holds whole messages is framed where it lies.
 */
#pragma once

#include "tcpframer.h"
#include "tcpstream.h"

#define NONE (-1)

typedef struct {
        uint8_t family;
        uint8_t pad; /* zero: keys are compared with memcmp */
        uint16_t sport, dport;
        uint8_t src[16], dst[16];
} StreamKey;

/* Handshake states of a stream (handshake() in tcpstream.c). */
enum { HS_NONE = 0, HS_SYN, HS_SYNACK, HS_DONE, HS_BAD };

typedef struct Seg {
        struct Seg *next;
        uint32_t seq, len;
        uint8_t data[];
} Seg;

typedef struct {
        StreamKey key;
        Endpoint src, dst;
        int32_t hnext, prev, next; /* hash chain; LRU list (or free list: next) */
        int64_t last_ts;
        uint32_t next_seq; /* next byte expected in order */
        uint32_t fin_seq;
        bool fin_seen;
        uint8_t hs;        /* Handshake state of the connection, see handshake() */
        uint32_t isn;      /* initial sequence number of this direction's SYN */
        uint32_t peer_isn; /* the reverse direction's ISN this one's SYN-ACK acknowledged */
        bool used;
        TcpFramer framer; /* cuts this direction's in-order bytes into messages */
        uint8_t *buf;     /* start of an incomplete message */
        uint32_t len, cap;
        Seg *ooo;          /* out-of-order segments, by seq */
        int64_t ooo_since; /* when the queue became non-empty */
        uint32_t nooo;
        uint64_t ooo_bytes;
} Stream;

/*
 * The work that feed, expire and flush start and tcpstream_next() resumes:
 * a step of sequencing (Run.step), and inside it the delivery of one chunk
 * of in-order bytes to the framer (Run.d), which stops at each message.
 */
typedef enum {
        RUN_IDLE = 0,
        RUN_SEGMENT,     /* place the segment (seq, data, n) of stream i */
        RUN_DRAIN,       /* deliver the queued segments now in order, then `after` */
        RUN_FIN,         /* close stream i if its FIN is reached */
        RUN_EXPIRE_GAPS, /* give up on holes older than the gap timeout */
        RUN_EXPIRE_IDLE, /* close streams idle past the idle timeout */
        RUN_FLUSH,       /* give up on every hole, close every stream */
} RunStep;

typedef enum {
        DELIVER_NONE = 0,
        DELIVER_IN_PLACE, /* framing the chunk where it lies */
        DELIVER_BUFFER,   /* framing the stream buffer */
} DeliverPhase;

typedef struct {
        DeliverPhase phase;
        bool refused;       /* the buffer refused the chunk: frame it alone */
        bool again;         /* the buffer was framed once more from its new start */
        const uint8_t *p;   /* the chunk */
        size_t n, off;      /* its length, bytes framed */
        uint32_t have, bof; /* buffer bytes to frame, bytes framed */
        Seg *owned;         /* queued segment the chunk lies in, freed after */
} Delivery;

typedef struct {
        RunStep step, after;
        int32_t i;           /* the stream worked on */
        uint32_t seq;        /* RUN_SEGMENT */
        const uint8_t *data; /* RUN_SEGMENT */
        size_t n;            /* RUN_SEGMENT */
        int64_t ts_us;       /* given to the messages delivered */
        int64_t now_us;      /* expiry */
        uint32_t slot;       /* RUN_EXPIRE_GAPS: the slot looked at */
        bool in_slot;        /* RUN_EXPIRE_GAPS: giving up on its holes */
        Delivery d;
} Run;

struct TcpStreams {
        TcpStreamConfig cfg;
        Stream *streams;
        int32_t *hash;
        uint32_t nbuckets;
        int32_t free_stream;
        int32_t lru_head, lru_tail;
        uint64_t queued_segments; /* over all streams: expiry skips the walk at 0 */
        Run run;
        TcpStreamStats stats;
        WebSockets *ws; /* the WebSocket framer's limits and counters, all connections */
};

/* RFC 9293 §3.4: sequence numbers compare modulo 2^32. */
static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
        return (int32_t)(a - b);
}

/* tcpstream.c */
void tcpstream_close_stream(TcpStreams *t, int32_t i);
bool tcpstream_make_room(TcpStreams *t, int32_t i, uint64_t delta);
bool tcpstream_buf_append(TcpStreams *t, int32_t i, const uint8_t *data, size_t n);
void tcpstream_buf_trim(TcpStreams *t, Stream *s);
void tcpstream_desync(TcpStreams *t, Stream *s);

/* tcpstream_order.c */
void tcpstream_run_finish(TcpStreams *t);
void tcpstream_gap_skip(TcpStreams *t, int32_t i, RunStep after);
