/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SIP over TCP: the stream table, its limits and buffers, the handshake,
 * and the entry points that start work (feed, expire, flush); the work
 * itself runs in tcpstream_order.c as tcpstream_next() asks for messages.
 * tcpstream_internal.h has the layout.
 */
#include "tcpstream_internal.h"
#include "hash.h"

#include <stdlib.h>
#include <string.h>

TcpStreams *tcpstream_new(const TcpStreamConfig *cfg)
{
        TcpStreams *t = calloc(1, sizeof *t);

        if (!t)
                return NULL;
        if (cfg)
                t->cfg = *cfg;
        if (t->cfg.max_streams == 0)
                t->cfg.max_streams = TCPSTREAM_DEFAULT_MAX_STREAMS;
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
                t->cfg.max_bytes = TCPSTREAM_DEFAULT_MAX_BYTES;
        if (t->cfg.idle_timeout_us <= 0)
                t->cfg.idle_timeout_us = 300 * 1000000ll;
        if (t->cfg.gap_timeout_us <= 0)
                t->cfg.gap_timeout_us = 2 * 1000000ll;

        t->nbuckets = 16;
        while (t->nbuckets < t->cfg.max_streams)
                t->nbuckets <<= 1;
        t->streams = calloc(t->cfg.max_streams, sizeof *t->streams);
        t->hash = malloc(t->nbuckets * sizeof *t->hash);
        /* WebSocket messages are held to the same size as SIP over TCP ones. */
        WebSocketConfig wc = {.max_message = t->cfg.max_header + t->cfg.max_body,
                              .max_stream_bytes = t->cfg.max_stream_bytes,
                              .max_bytes = t->cfg.max_bytes};
        t->ws = websocket_new(&wc);
        if (!t->streams || !t->hash || !t->ws)
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
        s->len = s->cap = 0;
        tcpframer_release(&s->framer);
}

TcpStreams *tcpstream_free(TcpStreams *t)
{
        if (!t)
                return NULL;
        /* A chunk being delivered from a queued segment holds it. */
        if (t->run.d.phase != DELIVER_NONE)
                free(t->run.d.owned);
        if (t->streams)
                for (uint32_t i = 0; i < t->cfg.max_streams; i++)
                        if (t->streams[i].used)
                                stream_reset_data(t, &t->streams[i]);
        free(t->streams);
        free(t->hash);
        websocket_free(t->ws);
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

void tcpstream_close_stream(TcpStreams *t, int32_t i)
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
                tcpstream_close_stream(t, t->lru_head);
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
bool tcpstream_make_room(TcpStreams *t, int32_t i, uint64_t delta)
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
                tcpstream_close_stream(t, j);
        }
        return true;
}

/* Lose the partial message (and the buffer's bytes); look for the next boundary. */
void tcpstream_desync(TcpStreams *t, Stream *s)
{
        tcpframer_desync(&s->framer, &t->stats);
        s->len = 0;
}

/* Append to the stream buffer; false (stream desynced, counted) when over a cap. */
bool tcpstream_buf_append(TcpStreams *t, int32_t i, const uint8_t *data, size_t n)
{
        Stream *s = &t->streams[i];

        if ((uint64_t)s->len + n > s->cap) {
                uint64_t cap = s->cap ? s->cap : 2048;
                uint8_t *nb;

                while (cap < (uint64_t)s->len + n)
                        cap *= 2;
                if (cap > t->cfg.max_stream_bytes)
                        cap = (uint64_t)s->len + n;
                if (!tcpstream_make_room(t, i, cap - s->cap)) {
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
void tcpstream_buf_trim(TcpStreams *t, Stream *s)
{
        if (s->len == 0 && s->buf) {
                t->stats.bytes -= s->cap;
                free(s->buf);
                s->buf = NULL;
                s->cap = 0;
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

/*
 * RFC 9293 §3.5 (SYN), §3.6 (FIN), §3.10.7 (RST). The stream is found or
 * opened here; its bytes are placed and framed by tcpstream_next().
 */
void tcpstream_feed(TcpStreams *t, const DecodedPacket *pkt, int64_t ts_us)
{
        StreamKey k = make_key(&pkt->src, &pkt->dst);
        bool syn = pkt->tcp_flags & DECODE_TCP_SYN;
        uint32_t seq = pkt->tcp_seq + (syn ? 1u : 0u);
        int32_t i;
        Stream *s;

        tcpstream_run_finish(t);
        i = stream_find(t, &k);
        t->stats.segments++;
        if (pkt->tcp_flags & DECODE_TCP_RST) {
                /* The connection is gone both ways; what was pending is lost. */
                StreamKey r = make_key(&pkt->dst, &pkt->src);
                int32_t j = stream_find(t, &r);

                if (i != NONE) {
                        t->stats.closed_rst++;
                        tcpstream_close_stream(t, i);
                }
                if (j != NONE) {
                        t->stats.closed_rst++;
                        tcpstream_close_stream(t, j);
                }
                return;
        }
        if (i == NONE) {
                if (!syn && pkt->payload_len == 0)
                        return; /* a bare ACK or FIN of a stream we do not track */
                i = stream_open(t, &k, pkt);
                s = &t->streams[i];
                s->next_seq = seq;
                tcpframer_init(&s->framer, syn, t->ws);
                if (!syn) {
                        t->stats.resyncs++; /* picked up mid-stream */
                        tcpframe_ws_pickup(&s->framer, &t->cfg, &pkt->src, &pkt->dst);
                }
        } else {
                s = &t->streams[i];
                int32_t d = seq_diff(seq, s->next_seq);

                /* A SYN at or just behind the stream position is a retransmission;
                 * any other is a new connection on the same 4-tuple. */
                if (syn && !(d <= 0 && d > -(1 << 20))) {
                        stream_reset_data(t, s);
                        s->next_seq = seq;
                        tcpframer_init(&s->framer, true, t->ws);
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
        t->run = (Run){.step = pkt->payload_len > 0 ? RUN_SEGMENT : RUN_FIN,
                       .i = i,
                       .seq = seq,
                       .data = pkt->payload,
                       .n = pkt->payload_len,
                       .ts_us = ts_us};
}

/*
 * A retransmission comes within an RTO (RFC 6298 §2: 1 s minimum); a hole
 * older than the gap timeout was lost by the capture, and the messages
 * queued behind it should not wait for the idle timeout. Then idle streams
 * close; whatever they queued past a hole is still framed first.
 */
void tcpstream_expire(TcpStreams *t, int64_t now_us)
{
        tcpstream_run_finish(t);
        t->run = (Run){.step = RUN_EXPIRE_GAPS, .now_us = now_us};
}

void tcpstream_flush(TcpStreams *t, int64_t now_us)
{
        (void)now_us;
        tcpstream_run_finish(t);
        t->run = (Run){.step = RUN_FLUSH};
}

void tcpstream_get_stats(const TcpStreams *t, TcpStreamStats *out)
{
        *out = t->stats;
}

void tcpstream_get_ws_stats(const TcpStreams *t, WebSocketStats *out)
{
        websocket_get_stats(t->ws, out);
}
