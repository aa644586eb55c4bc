/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SIP over TCP stream reassembly and Content-Length framing.
 *
 * One Stream per direction (src -> dst), in a fixed slot array allocated at
 * start: free list, hash chains by 4-tuple, and an LRU list by last activity
 * (least recently active at the head) for idle expiry and eviction.
 *
 *   segment --seq--> [trim / queue out of order] --in order--> frame()
 *   frame(): [skip body over max_body] [resync on a start line]
 *            [CRLF keep-alives] headers up to CRLFCRLF, Content-Length,
 *            body -> callback
 *
 * A stream's buffer only holds the start of a message that is not complete
 * yet; a segment that holds whole messages is framed where it lies.
 */
#include "tcpstream.h"
#include "hash.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sipmsg.h"

#define NONE (-1)

typedef struct {
        uint8_t family;
        uint8_t pad; /* zero: keys are compared with memcmp */
        uint16_t sport, dport;
        uint8_t src[16], dst[16];
} StreamKey;

/* Handshake states of a stream (handshake()). */
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
        bool synced;       /* at a message boundary (or inside a known message) */
        uint8_t hs;        /* Handshake state of the connection, see handshake() */
        uint32_t isn;      /* initial sequence number of this direction's SYN */
        uint32_t peer_isn; /* the reverse direction's ISN this one's SYN-ACK acknowledged */
        bool used;
        uint64_t skip; /* body bytes still to skip (body over max_body) */
        uint8_t *buf;  /* start of an incomplete message */
        uint32_t len, cap;
        uint32_t scanned;  /* bytes of buf searched for the end of headers */
        uint32_t need;     /* whole message length once the headers are in; 0 = unknown */
        Seg *ooo;          /* out-of-order segments, by seq */
        int64_t ooo_since; /* when the queue became non-empty */
        uint32_t nooo;
        uint64_t ooo_bytes;
} Stream;

struct TcpStreams {
        TcpStreamConfig cfg;
        TcpMessageFn fn;
        void *userdata;
        Stream *streams;
        int32_t *hash;
        uint32_t nbuckets;
        int32_t free_stream;
        int32_t lru_head, lru_tail;
        uint64_t queued_segments; /* over all streams: expiry skips the walk at 0 */
        TcpStreamStats stats;
};

/* RFC 9293 §3.4: sequence numbers compare modulo 2^32. */
static int32_t seq_diff(uint32_t a, uint32_t b)
{
        return (int32_t)(a - b);
}

TcpStreams *tcpstream_new(const TcpStreamConfig *cfg, TcpMessageFn fn, void *userdata)
{
        TcpStreams *t = calloc(1, sizeof *t);

        if (!t)
                return NULL;
        if (cfg)
                t->cfg = *cfg;
        t->fn = fn;
        t->userdata = userdata;
        if (t->cfg.max_streams == 0)
                t->cfg.max_streams = 4096;
        if (t->cfg.max_streams > (1u << 22))
                t->cfg.max_streams = 1u << 22;
        if (t->cfg.max_ooo_segments == 0)
                t->cfg.max_ooo_segments = 32;
        if (t->cfg.max_header == 0)
                t->cfg.max_header = 64 * 1024;
        if (t->cfg.max_body == 0)
                t->cfg.max_body = 64 * 1024;
        if (t->cfg.max_header > (1u << 30))
                t->cfg.max_header = 1u << 30;
        if (t->cfg.max_body > (1u << 30))
                t->cfg.max_body = 1u << 30;
        if (t->cfg.max_stream_bytes == 0)
                t->cfg.max_stream_bytes = (uint64_t)t->cfg.max_header + t->cfg.max_body;
        if (t->cfg.max_stream_bytes > (1u << 31))
                t->cfg.max_stream_bytes = 1u << 31;
        if (t->cfg.max_bytes == 0)
                t->cfg.max_bytes = 64u << 20;
        if (t->cfg.idle_timeout_us <= 0)
                t->cfg.idle_timeout_us = 300 * 1000000ll;
        if (t->cfg.gap_timeout_us <= 0)
                t->cfg.gap_timeout_us = 2 * 1000000ll;

        t->nbuckets = 16;
        while (t->nbuckets < t->cfg.max_streams)
                t->nbuckets <<= 1;
        t->streams = calloc(t->cfg.max_streams, sizeof *t->streams);
        t->hash = malloc(t->nbuckets * sizeof *t->hash);
        if (!t->streams || !t->hash)
                return tcpstream_free(t);
        for (uint32_t i = 0; i < t->nbuckets; i++)
                t->hash[i] = NONE;
        for (uint32_t i = 0; i < t->cfg.max_streams; i++)
                t->streams[i].next = i + 1 < t->cfg.max_streams ? (int32_t)i + 1 : NONE;
        t->free_stream = 0;
        t->lru_head = t->lru_tail = NONE;
        return t;
}

static void stream_reset_data(TcpStreams *t, Stream *s)
{
        while (s->ooo) {
                Seg *g = s->ooo;

                s->ooo = g->next;
                free(g);
        }
        t->stats.bytes -= s->ooo_bytes + s->cap;
        s->ooo_bytes = 0;
        t->queued_segments -= s->nooo;
        s->nooo = 0;
        free(s->buf);
        s->buf = NULL;
        s->len = s->cap = s->scanned = s->need = 0;
        s->skip = 0;
}

TcpStreams *tcpstream_free(TcpStreams *t)
{
        if (!t)
                return NULL;
        if (t->streams)
                for (uint32_t i = 0; i < t->cfg.max_streams; i++)
                        if (t->streams[i].used)
                                stream_reset_data(t, &t->streams[i]);
        free(t->streams);
        free(t->hash);
        free(t);
        return NULL;
}

static uint32_t bucket(const TcpStreams *t, const StreamKey *k)
{
        return (uint32_t)hash_bytes(t->cfg.hash_seed, k, sizeof *k) & (t->nbuckets - 1);
}

static StreamKey make_key(const Endpoint *src, const Endpoint *dst)
{
        StreamKey k = {0};

        k.family = src->family;
        k.sport = src->port;
        k.dport = dst->port;
        memcpy(k.src, src->addr, 16);
        memcpy(k.dst, dst->addr, 16);
        return k;
}

static int32_t stream_find(const TcpStreams *t, const StreamKey *k)
{
        for (int32_t i = t->hash[bucket(t, k)]; i != NONE; i = t->streams[i].hnext)
                if (memcmp(&t->streams[i].key, k, sizeof *k) == 0)
                        return i;
        return NONE;
}

static void lru_unlink(TcpStreams *t, int32_t i)
{
        Stream *s = &t->streams[i];

        if (s->prev != NONE)
                t->streams[s->prev].next = s->next;
        else
                t->lru_head = s->next;
        if (s->next != NONE)
                t->streams[s->next].prev = s->prev;
        else
                t->lru_tail = s->prev;
        s->prev = s->next = NONE;
}

static void lru_append(TcpStreams *t, int32_t i)
{
        Stream *s = &t->streams[i];

        s->next = NONE;
        s->prev = t->lru_tail;
        if (t->lru_tail != NONE)
                t->streams[t->lru_tail].next = i;
        else
                t->lru_head = i;
        t->lru_tail = i;
}

static void stream_close(TcpStreams *t, int32_t i)
{
        Stream *s = &t->streams[i];
        int32_t *pp;

        stream_reset_data(t, s);
        for (pp = &t->hash[bucket(t, &s->key)]; *pp != NONE; pp = &t->streams[*pp].hnext)
                if (*pp == i) {
                        *pp = s->hnext;
                        break;
                }
        lru_unlink(t, i);
        s->used = false;
        s->next = t->free_stream;
        t->free_stream = i;
        t->stats.active--;
}

static int32_t stream_open(TcpStreams *t, const StreamKey *k, const DecodedPacket *pkt)
{
        int32_t i;
        Stream *s;
        uint32_t b;

        if (t->free_stream == NONE) {
                /* Table full: the least recently active stream goes. */
                t->stats.evicted++;
                stream_close(t, t->lru_head);
        }
        i = t->free_stream;
        s = &t->streams[i];
        t->free_stream = s->next;
        *s = (Stream){.key = *k, .src = pkt->src, .dst = pkt->dst, .used = true};
        b = bucket(t, k);
        s->hnext = t->hash[b];
        t->hash[b] = i;
        lru_append(t, i);
        t->stats.streams++;
        t->stats.active++;
        return i;
}

/*
 * Room for delta more buffered bytes in stream i: within the per-stream cap,
 * and within the global cap after evicting least recently active streams.
 */
static bool make_room(TcpStreams *t, int32_t i, uint64_t delta)
{
        Stream *s = &t->streams[i];

        if (s->cap + s->ooo_bytes + delta > t->cfg.max_stream_bytes)
                return false;
        while (t->stats.bytes + delta > t->cfg.max_bytes) {
                int32_t j = t->lru_head;

                if (j == i)
                        j = t->streams[j].next;
                if (j == NONE)
                        return false;
                t->stats.evicted++;
                stream_close(t, j);
        }
        return true;
}

/* Lose the partial message and look for the next start line. */
static void desync(TcpStreams *t, Stream *s)
{
        t->stats.resyncs++;
        s->synced = false;
        s->skip = 0;
        s->len = s->scanned = s->need = 0;
}

/*
 * RFC 3261 §20.14 / §7.3.3: Content-Length, compact form "l", names
 * case-insensitive, value 1*DIGIT. Returns the value, -1 when unparsable or
 * two values disagree, -2 when absent.
 */
static int64_t content_length(const uint8_t *h, size_t n)
{
        int64_t found = -2;
        size_t pos = 0;

        /* Skip the start line. */
        while (pos < n && h[pos] != '\n')
                pos++;
        while (pos < n) {
                size_t ls = ++pos, le, name_end, v;
                uint64_t val = 0;
                unsigned digits = 0;

                while (pos < n && h[pos] != '\n')
                        pos++;
                le = pos;
                if (le > ls && h[le - 1] == '\r')
                        le--;
                name_end = ls;
                while (name_end < le && h[name_end] != ':')
                        name_end++;
                if (name_end == le)
                        continue;
                v = name_end + 1;
                while (name_end > ls && (h[name_end - 1] == ' ' || h[name_end - 1] == '\t'))
                        name_end--;
                if (!((name_end - ls == 14 &&
                       strncasecmp((const char *)h + ls, "content-length", 14) == 0) ||
                      (name_end - ls == 1 && (h[ls] == 'l' || h[ls] == 'L'))))
                        continue;
                while (v < le && (h[v] == ' ' || h[v] == '\t'))
                        v++;
                while (v < le && h[v] >= '0' && h[v] <= '9') {
                        if (++digits > 10)
                                return -1;
                        val = val * 10 + (uint64_t)(h[v] - '0');
                        v++;
                }
                while (v < le && (h[v] == ' ' || h[v] == '\t'))
                        v++;
                if (digits == 0 || v != le || val > UINT32_MAX)
                        return -1;
                if (found >= 0 && found != (int64_t)val)
                        return -1;
                found = (int64_t)val;
        }
        return found;
}

/* End of the header block (just past the empty line) searching from `from`, or 0. */
static size_t header_end(const uint8_t *p, size_t n, size_t from)
{
        for (size_t i = from; i < n; i++) {
                const uint8_t *nl = memchr(p + i, '\n', n - i);

                if (!nl)
                        return 0;
                i = (size_t)(nl - p);
                if (i + 1 < n && p[i + 1] == '\n')
                        return i + 2;
                if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
                        return i + 3;
        }
        return 0;
}

/*
 * Resynchronisation (RFC 3261 §7.1, §7.2 start lines): where in the line
 * p[ls..le) a SIP message starts, or SIZE_MAX. Usually at ls; but a body
 * without a final CRLF runs straight into the next start line
 * ("...a=sendrecvINVITE sip:..."), and a method is any token, so a known
 * method or "SIP/2.0 " is also looked for inside the line.
 */
static size_t find_start_line(const uint8_t *p, size_t ls, size_t le)
{
        static const char *const starts[] = {
            "SIP/2.0 ", "REGISTER ", "INVITE ",  "ACK ",    "BYE ",
            "CANCEL ",  "OPTIONS ",  "PRACK ",   "UPDATE ", "SUBSCRIBE ",
            "NOTIFY ",  "PUBLISH ",  "MESSAGE ", "INFO ",   "REFER ",
        };
        size_t best = SIZE_MAX;
        bool at_start = sipmsg_looks_like_sip(p + ls, le - ls);

        for (size_t k = 0; at_start && k < sizeof starts / sizeof starts[0]; k++)
                if (le - ls >= strlen(starts[k]) &&
                    memcmp(p + ls, starts[k], strlen(starts[k])) == 0)
                        return ls; /* a known method or a status line */
        for (size_t k = 0; k < sizeof starts / sizeof starts[0]; k++) {
                size_t tl = strlen(starts[k]);

                for (size_t q = ls + 1; q + tl <= le && q < best; q++) {
                        const uint8_t *hit = memmem(p + q, le - q, starts[k], tl);

                        if (!hit || (size_t)(hit - p) >= best)
                                break;
                        q = (size_t)(hit - p);
                        if (sipmsg_looks_like_sip(p + q, le - q)) {
                                best = q;
                                break;
                        }
                }
        }
        /* An extension method (RFC 3261 §27.4) where nothing better is inside. */
        return best == SIZE_MAX && at_start ? ls : best;
}

/*
 * Frame messages out of p[0..n) (a segment, or the stream buffer). Returns
 * the bytes consumed; the rest is the start of an incomplete message (or of
 * a line, while resynchronising) for the caller to keep.
 */
static size_t frame(TcpStreams *t, Stream *s, const uint8_t *p, size_t n, int64_t ts_us,
                    bool from_buf)
{
        size_t off = 0;

        while (off < n) {
                size_t he, total;
                int64_t cl;

                if (s->skip > 0) {
                        size_t k = s->skip < n - off ? (size_t)s->skip : n - off;

                        s->skip -= k;
                        off += k;
                        continue;
                }
                if (!s->synced) {
                        /* Next complete line that is a SIP start line. */
                        size_t pos = off;
                        bool found = false;

                        for (;;) {
                                const uint8_t *nl = memchr(p + pos, '\n', n - pos);
                                size_t at;

                                if (!nl)
                                        break;
                                at = find_start_line(p, pos, (size_t)(nl - p) + 1);
                                if (at != SIZE_MAX) {
                                        pos = at;
                                        found = true;
                                        break;
                                }
                                pos = (size_t)(nl - p) + 1;
                        }
                        if (!found && n - pos > t->cfg.max_header)
                                pos = n; /* no start line is that long */
                        t->stats.skipped_bytes += pos - off;
                        off = pos;
                        if (!found)
                                return off;
                        s->synced = true;
                        s->scanned = 0;
                }
                /* RFC 5626 §3.5.1 CRLF keep-alives between messages. */
                while (off < n && (p[off] == '\r' || p[off] == '\n'))
                        off++;
                if (off == n)
                        break;
                if (s->need == 0 && s->scanned == 0) {
                        /* A message starts here: its first line must be a start
                         * line, or this is not SIP (or not where we thought). */
                        const uint8_t *nl = memchr(p + off, '\n', n - off);

                        if (nl && !sipmsg_looks_like_sip(p + off, (size_t)(nl - p) + 1 - off)) {
                                desync(t, s);
                                continue;
                        }
                }
                if (from_buf && s->need > 0) {
                        /* off is 0 here: the buffer starts with the message. */
                        if (n - off < s->need)
                                return off;
                        total = s->need;
                } else {
                        size_t from = from_buf && s->scanned > 3 ? s->scanned - 3 : 0;

                        he = header_end(p + off, n - off, from);
                        if (he == 0 || he > t->cfg.max_header) {
                                if (n - off > t->cfg.max_header || he > t->cfg.max_header) {
                                        t->stats.header_too_big++;
                                        desync(t, s);
                                        /* Past this start line, or it would match again. */
                                        const uint8_t *nl = memchr(p + off, '\n', n - off);
                                        off = nl ? (size_t)(nl - p) + 1 : n;
                                        continue;
                                }
                                if (from_buf)
                                        s->scanned = (uint32_t)(n - off);
                                return off;
                        }
                        cl = content_length(p + off, he);
                        if (cl == -1) {
                                t->stats.bad_content_length++;
                                desync(t, s);
                                off += he;
                                continue;
                        }
                        if (cl == -2) {
                                t->stats.no_content_length++;
                                cl = 0;
                        }
                        if (cl > (int64_t)t->cfg.max_body) {
                                t->stats.body_too_big++;
                                s->skip = (uint64_t)cl;
                                s->scanned = s->need = 0;
                                off += he;
                                continue;
                        }
                        total = he + (size_t)cl;
                        if (n - off < total) {
                                if (from_buf)
                                        s->need = (uint32_t)total;
                                else
                                        s->need = 0; /* recomputed once buffered */
                                return off;
                        }
                }
                s->scanned = s->need = 0;
                t->stats.messages++;
                if (t->fn)
                        t->fn(&s->src, &s->dst, ts_us, p + off, total, s->hs == HS_DONE,
                              t->userdata);
                off += total;
        }
        return off;
}

/* Append to the stream buffer; false (stream desynced, counted) when over a cap. */
static bool buf_append(TcpStreams *t, int32_t i, const uint8_t *data, size_t n)
{
        Stream *s = &t->streams[i];

        if ((uint64_t)s->len + n > s->cap) {
                uint64_t cap = s->cap ? s->cap : 2048;
                uint8_t *nb;

                while (cap < (uint64_t)s->len + n)
                        cap *= 2;
                if (cap > t->cfg.max_stream_bytes)
                        cap = (uint64_t)s->len + n;
                if (!make_room(t, i, cap - s->cap)) {
                        t->stats.stream_cap++;
                        return false;
                }
                nb = realloc(s->buf, (size_t)cap);
                if (!nb) {
                        t->stats.nomem++;
                        return false;
                }
                t->stats.bytes += cap - s->cap;
                s->buf = nb;
                s->cap = (uint32_t)cap;
        }
        memcpy(s->buf + s->len, data, n);
        s->len += (uint32_t)n;
        return true;
}

/* Give an emptied buffer back, so idle streams hold no memory. */
static void buf_trim(TcpStreams *t, Stream *s)
{
        if (s->len == 0 && s->buf) {
                t->stats.bytes -= s->cap;
                free(s->buf);
                s->buf = NULL;
                s->cap = 0;
        }
}

/* In-order bytes: frame in place when nothing is buffered, else via the buffer. */
static void deliver(TcpStreams *t, int32_t i, const uint8_t *data, size_t n, int64_t ts_us)
{
        Stream *s = &t->streams[i];
        size_t used;

        s->next_seq += (uint32_t)n;
        if (s->len == 0) {
                used = frame(t, s, data, n, ts_us, false);
                data += used;
                n -= used;
                if (n == 0)
                        return;
                if (!buf_append(t, i, data, n)) {
                        desync(t, s);
                        buf_trim(t, s);
                        return;
                }
        } else if (!buf_append(t, i, data, n)) {
                desync(t, s);
                buf_trim(t, s);
                /* The new bytes alone may still hold a start line. */
                used = frame(t, s, data, n, ts_us, false);
                if (used < n && !buf_append(t, i, data + used, n - used))
                        desync(t, s);
                buf_trim(t, s);
                return;
        }
        /* frame() may desync() part-way through the buffer, which zeroes
         * s->len although the bytes after `used` are still unframed input:
         * restore it, or len - used underflows (found by fuzz-tcpstream,
         * tests/fuzz/crashes/fuzz-tcpstream/deliver-desync-negative-memmove). */
        uint32_t have = s->len;
        used = frame(t, s, s->buf, have, ts_us, true);
        s->len = have;
        if (used > 0) {
                memmove(s->buf, s->buf + used, s->len - used);
                s->len -= (uint32_t)used;
                s->scanned = 0;
                if (s->len > 0 && s->synced) {
                        /* A new message starts the buffer: its length is not known yet. */
                        s->need = 0;
                        have = s->len;
                        used = frame(t, s, s->buf, have, ts_us, true);
                        s->len = have;
                        if (used > 0) { /* only keep-alives or resync skips */
                                memmove(s->buf, s->buf + used, s->len - used);
                                s->len -= (uint32_t)used;
                                s->scanned = 0;
                        }
                }
        }
        buf_trim(t, s);
}

/* Queued segments that are now in order (trimmed where they overlap). */
static void drain(TcpStreams *t, int32_t i, int64_t ts_us)
{
        Stream *s = &t->streams[i];

        while (s->ooo && seq_diff(s->ooo->seq, s->next_seq) <= 0) {
                Seg *g = s->ooo;
                int32_t d = seq_diff(s->next_seq, g->seq);

                s->ooo = g->next;
                s->nooo--;
                t->queued_segments--;
                s->ooo_bytes -= sizeof *g + g->len;
                t->stats.bytes -= sizeof *g + g->len;
                if ((uint32_t)d < g->len)
                        deliver(t, i, g->data + d, g->len - (uint32_t)d, ts_us);
                free(g);
        }
}

/* Give up on the hole before the first queued segment. */
static void skip_gap(TcpStreams *t, int32_t i, int64_t ts_us)
{
        Stream *s = &t->streams[i];

        if (!s->ooo)
                return;
        t->stats.gaps++;
        desync(t, s);
        buf_trim(t, s);
        s->next_seq = s->ooo->seq;
        drain(t, i, ts_us);
}

typedef enum { QUEUED, QUEUE_DUP, QUEUE_FULL } QueueResult;

static QueueResult queue_segment(TcpStreams *t, int32_t i, uint32_t seq, const uint8_t *data,
                                 size_t n, int64_t ts_us)
{
        Stream *s = &t->streams[i];
        Seg **pp, *g;

        for (pp = &s->ooo; *pp && seq_diff((*pp)->seq, seq) < 0; pp = &(*pp)->next)
                ;
        if (*pp && (*pp)->seq == seq && (*pp)->len >= n) {
                t->stats.retransmitted++; /* the same out-of-order segment again */
                return QUEUE_DUP;
        }
        if (s->nooo >= t->cfg.max_ooo_segments || !make_room(t, i, sizeof *g + n)) {
                t->stats.ooo_dropped++;
                return QUEUE_FULL;
        }
        g = malloc(sizeof *g + n);
        if (!g) {
                t->stats.nomem++;
                return QUEUE_FULL;
        }
        g->seq = seq;
        g->len = (uint32_t)n;
        memcpy(g->data, data, n);
        g->next = *pp;
        if (!s->ooo)
                s->ooo_since = ts_us;
        *pp = g;
        s->nooo++;
        t->queued_segments++;
        s->ooo_bytes += sizeof *g + n;
        t->stats.bytes += sizeof *g + n;
        t->stats.out_of_order++;
        return QUEUED;
}

/*
 * RFC 9293 §3.4/§3.10.7.4: place a segment by sequence number. Old bytes are
 * trimmed, bytes ahead of a hole wait in the queue; when the queue is full
 * the hole is given up on (the capture lost it) and framing resynchronises.
 */
static void segment(TcpStreams *t, int32_t i, uint32_t seq, const uint8_t *data, size_t n,
                    int64_t ts_us)
{
        Stream *s = &t->streams[i];

        for (;;) {
                int32_t d = seq_diff(seq, s->next_seq);

                if (d < 0) {
                        uint32_t old = (uint32_t) - (int64_t)d;

                        if (old >= n) {
                                t->stats.retransmitted++;
                                return;
                        }
                        t->stats.trimmed++;
                        data += old;
                        n -= old;
                        seq = s->next_seq;
                        continue;
                }
                if (d == 0) {
                        deliver(t, i, data, n, ts_us);
                        drain(t, i, ts_us);
                        return;
                }
                if (queue_segment(t, i, seq, data, n, ts_us) != QUEUE_FULL)
                        return;
                if (s->ooo) {
                        /* Frees at least the first queued segment: the loop ends. */
                        skip_gap(t, i, ts_us);
                        continue;
                }
                /* Nothing queued and this does not fit: the hole is lost for good. */
                t->stats.gaps++;
                desync(t, s);
                buf_trim(t, s);
                s->next_seq = seq;
        }
}

/*
 * The three-way handshake (RFC 9293 §3.5), seen from the outside: the
 * client's SYN (ISN x), one SYN-ACK acknowledging x+1 (ISN y), then the
 * client acknowledging y+1. Only a host that received the SYN-ACK knows y,
 * so a completed handshake proves the client's address, which a spoofed UDP
 * datagram does not (DESIGN.md verified sources). Two SYN-ACKs with
 * different ISNs for one SYN (someone injecting one of them on the mirror
 * port) prove nothing: the connection is marked HS_BAD for good.
 */
static void handshake(TcpStreams *t, Stream *s, const DecodedPacket *pkt)
{
        bool syn = pkt->tcp_flags & DECODE_TCP_SYN, ack = pkt->tcp_flags & DECODE_TCP_ACK;
        StreamKey rk;
        int32_t j;
        Stream *r;

        if (syn && !ack) {
                /* The client's SYN; a retransmission keeps what was learned. */
                if (s->hs == HS_NONE || s->isn != pkt->tcp_seq) {
                        s->hs = HS_SYN;
                        s->isn = pkt->tcp_seq;
                }
                return;
        }
        if (!ack || (!syn && s->hs != HS_SYN))
                return;
        rk = make_key(&pkt->dst, &pkt->src);
        j = stream_find(t, &rk);
        r = j == NONE ? NULL : &t->streams[j];
        if (!r || pkt->tcp_ack != r->isn + 1u)
                return;
        if (syn) {
                /* A SYN-ACK for the reverse stream's SYN: the first one, a
                 * retransmission of it, or a second one (a conflict). */
                bool answered = (s->hs == HS_SYNACK || s->hs == HS_DONE) && s->peer_isn == r->isn;

                if (answered && s->isn != pkt->tcp_seq) {
                        t->stats.handshake_conflicts++;
                        s->hs = r->hs = HS_BAD;
                } else if (!answered && r->hs == HS_SYN) {
                        s->hs = HS_SYNACK;
                        s->isn = pkt->tcp_seq;
                        s->peer_isn = r->isn;
                }
                return;
        }
        /* The client acknowledges the SYN-ACK it received. */
        if (r->hs == HS_SYNACK && r->peer_isn == s->isn) {
                s->hs = r->hs = HS_DONE;
                t->stats.handshakes++;
        }
}

/* RFC 9293 §3.5 (SYN), §3.6 (FIN), §3.10.7 (RST). */
void tcpstream_feed(TcpStreams *t, const DecodedPacket *pkt, int64_t ts_us)
{
        StreamKey k = make_key(&pkt->src, &pkt->dst);
        bool syn = pkt->tcp_flags & DECODE_TCP_SYN;
        uint32_t seq = pkt->tcp_seq + (syn ? 1u : 0u);
        int32_t i = stream_find(t, &k);
        Stream *s;

        t->stats.segments++;
        if (pkt->tcp_flags & DECODE_TCP_RST) {
                /* The connection is gone both ways; what was pending is lost. */
                StreamKey r = make_key(&pkt->dst, &pkt->src);
                int32_t j = stream_find(t, &r);

                if (i != NONE) {
                        t->stats.closed_rst++;
                        stream_close(t, i);
                }
                if (j != NONE) {
                        t->stats.closed_rst++;
                        stream_close(t, j);
                }
                return;
        }
        if (i == NONE) {
                if (!syn && pkt->payload_len == 0)
                        return; /* a bare ACK or FIN of a stream we do not track */
                i = stream_open(t, &k, pkt);
                s = &t->streams[i];
                s->next_seq = seq;
                s->synced = syn;
                if (!syn)
                        t->stats.resyncs++; /* picked up mid-stream */
        } else {
                s = &t->streams[i];
                int32_t d = seq_diff(seq, s->next_seq);

                /* A SYN at or just behind the stream position is a retransmission;
                 * any other is a new connection on the same 4-tuple. */
                if (syn && !(d <= 0 && d > -(1 << 20))) {
                        stream_reset_data(t, s);
                        s->next_seq = seq;
                        s->synced = true;
                        s->fin_seen = false;
                }
                lru_unlink(t, i);
                lru_append(t, i);
        }
        s->last_ts = ts_us;
        handshake(t, s, pkt);
        if (pkt->tcp_flags & DECODE_TCP_FIN) {
                s->fin_seen = true;
                s->fin_seq = seq + (uint32_t)pkt->payload_len;
        }
        if (pkt->payload_len > 0)
                segment(t, i, seq, pkt->payload, pkt->payload_len, ts_us);
        /* segment() may have evicted nothing of ours: i is still this stream. */
        if (s->used && s->fin_seen && seq_diff(s->next_seq, s->fin_seq) >= 0) {
                t->stats.closed_fin++;
                stream_close(t, i);
        }
}

void tcpstream_expire(TcpStreams *t, int64_t now_us)
{
        /* A retransmission comes within an RTO (RFC 6298 §2: 1 s minimum);
         * a hole older than the gap timeout was lost by the capture, and the
         * messages queued behind it should not wait for the idle timeout. */
        for (uint32_t i = 0; i < t->cfg.max_streams && t->queued_segments > 0; i++) {
                Stream *s = &t->streams[i];

                if (s->used && s->ooo && now_us - s->ooo_since >= t->cfg.gap_timeout_us)
                        while (s->ooo)
                                skip_gap(t, (int32_t)i, s->last_ts);
        }
        while (t->lru_head != NONE &&
               now_us - t->streams[t->lru_head].last_ts >= t->cfg.idle_timeout_us) {
                int32_t i = t->lru_head;

                /* Whatever is queued past a hole is still worth framing. */
                while (t->streams[i].ooo)
                        skip_gap(t, i, t->streams[i].last_ts);
                t->stats.timeouts++;
                stream_close(t, i);
        }
}

void tcpstream_flush(TcpStreams *t, int64_t now_us)
{
        (void)now_us;
        while (t->lru_head != NONE) {
                int32_t i = t->lru_head;

                while (t->streams[i].ooo)
                        skip_gap(t, i, t->streams[i].last_ts);
                stream_close(t, i);
        }
}

void tcpstream_get_stats(const TcpStreams *t, TcpStreamStats *out)
{
        *out = t->stats;
}
