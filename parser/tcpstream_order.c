/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SIP over TCP: sequence order and delivery, run by tcpstream_next().
 *
 *   segment --seq--> [trim / queue out of order] --in order--> framer
 *                     [give up on a hole: desync]     in place, or buffered
 *
 * tcpstream_feed(), _expire() and _flush() only say what is to be done
 * (Run); each tcpstream_next() carries the work on until the framer cuts a
 * message, and returns it where it lies: in the caller's segment, in a
 * queued segment, or in the stream buffer. Whatever the message points
 * into is left alone until the next call, which frees a consumed queued
 * segment or drops the framed head of the buffer before going on. The order
 * of every step (and so every limit, eviction and counter) is the order a
 * callback would have seen.
 */
#include "tcpstream_internal.h"

#include <stdlib.h>
#include <string.h>

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
        if (s->nooo >= t->cfg.max_ooo_segments || !tcpstream_make_room(t, i, sizeof *g + n)) {
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

/* Give up on the hole before the first queued segment, then drain (`after`). */
void tcpstream_gap_skip(TcpStreams *t, int32_t i, RunStep after)
{
        Stream *s = &t->streams[i];

        t->stats.gaps++;
        tcpstream_desync(t, s);
        tcpstream_buf_trim(t, s);
        s->next_seq = s->ooo->seq;
        t->run.i = i;
        t->run.step = RUN_DRAIN;
        t->run.after = after;
}

/* ------------------------------------------------------------------------ */
/* Delivery of one chunk of in-order bytes: in place when nothing is
 * buffered, else through the buffer. */

static void deliver_start(TcpStreams *t, const uint8_t *data, size_t n, Seg *owned)
{
        Stream *s = &t->streams[t->run.i];
        Delivery *d = &t->run.d;

        s->next_seq += (uint32_t)n;
        *d = (Delivery){.phase = DELIVER_IN_PLACE, .p = data, .n = n, .owned = owned};
        if (s->len == 0)
                return;
        if (tcpstream_buf_append(t, t->run.i, data, n)) {
                d->phase = DELIVER_BUFFER;
                d->have = s->len;
                return;
        }
        tcpstream_desync(t, s);
        tcpstream_buf_trim(t, s);
        /* The new bytes alone may still hold a start line. */
        d->refused = true;
}

static void deliver_done(TcpStreams *t)
{
        free(t->run.d.owned);
        t->run.d = (Delivery){0};
}

/* The framer ran out of whole messages in the chunk: buffer the rest. */
static void in_place_end(TcpStreams *t, Stream *s, Delivery *d)
{
        size_t rest = d->n - d->off;

        if (d->refused) {
                if (rest > 0 && !tcpstream_buf_append(t, t->run.i, d->p + d->off, rest))
                        tcpstream_desync(t, s);
                tcpstream_buf_trim(t, s);
                deliver_done(t);
                return;
        }
        if (rest == 0) {
                deliver_done(t);
                return;
        }
        if (!tcpstream_buf_append(t, t->run.i, d->p + d->off, rest)) {
                tcpstream_desync(t, s);
                tcpstream_buf_trim(t, s);
                deliver_done(t);
                return;
        }
        d->phase = DELIVER_BUFFER;
        d->have = s->len;
        d->bof = 0;
}

/* The framer ran out of whole messages in the buffer: drop what it framed. */
static void buffer_end(TcpStreams *t, Stream *s, Delivery *d)
{
        if (d->bof > 0) {
                memmove(s->buf, s->buf + d->bof, s->len - d->bof);
                s->len -= d->bof;
                /* Once more from the new start (only keep-alives or resync
                 * skips are left to consume there). */
                if (tcpframer_rebase(&s->framer, s->len > 0 && !d->again)) {
                        d->again = true;
                        d->have = s->len;
                        d->bof = 0;
                        return;
                }
        }
        tcpstream_buf_trim(t, s);
        deliver_done(t);
}

/* Frame on; true with a message in *out, false when the chunk is done. */
static bool deliver_step(TcpStreams *t, TcpMessage *out)
{
        Stream *s = &t->streams[t->run.i];
        Delivery *d = &t->run.d;
        TcpFramed m;
        size_t used;

        if (d->phase == DELIVER_IN_PLACE) {
                used = tcpframer_frame(&s->framer, &t->cfg, &t->stats, d->p + d->off, d->n - d->off,
                                       false, &m);
                d->off += used;
                if (!m.data)
                        in_place_end(t, s, d);
        } else {
                used = tcpframer_frame(&s->framer, &t->cfg, &t->stats, s->buf + d->bof,
                                       d->have - d->bof, true, &m);
                d->bof += (uint32_t)used;
                if (!m.data)
                        buffer_end(t, s, d);
        }
        if (!m.data)
                return false;
        *out = (TcpMessage){.src = s->src,
                            .dst = s->dst,
                            .ts_us = t->run.ts_us,
                            .data = m.data,
                            .len = m.len,
                            .start = m.start,
                            .handshake = s->hs == HS_DONE,
                            .framing = s->framer.kind};
        t->stats.messages++;
        return true;
}

/* ------------------------------------------------------------------------ */
/* Sequencing steps */

/*
 * RFC 9293 §3.4/§3.10.7.4: place a segment by sequence number. Old bytes are
 * trimmed, bytes ahead of a hole wait in the queue; when the queue is full
 * the hole is given up on (the capture lost it) and framing resynchronises.
 * One step: trims and lost holes stay in RUN_SEGMENT.
 */
static void step_segment(TcpStreams *t)
{
        Run *r = &t->run;
        Stream *s = &t->streams[r->i];
        int32_t d = seq_diff(r->seq, s->next_seq);

        if (d < 0) {
                uint32_t old = (uint32_t) - (int64_t)d;

                if (old >= r->n) {
                        t->stats.retransmitted++;
                        r->step = RUN_FIN;
                        return;
                }
                t->stats.trimmed++;
                r->data += old;
                r->n -= old;
                r->seq = s->next_seq;
                return;
        }
        if (d == 0) {
                r->step = RUN_DRAIN;
                r->after = RUN_FIN;
                deliver_start(t, r->data, r->n, NULL);
                return;
        }
        if (queue_segment(t, r->i, r->seq, r->data, r->n, r->ts_us) != QUEUE_FULL) {
                r->step = RUN_FIN;
                return;
        }
        if (s->ooo) {
                /* Frees at least the first queued segment: the retry ends. */
                tcpstream_gap_skip(t, r->i, RUN_SEGMENT);
                return;
        }
        /* Nothing queued and this does not fit: the hole is lost for good. */
        t->stats.gaps++;
        tcpstream_desync(t, s);
        tcpstream_buf_trim(t, s);
        s->next_seq = r->seq;
}

/* Queued segments that are now in order (trimmed where they overlap). */
static void step_drain(TcpStreams *t)
{
        Stream *s = &t->streams[t->run.i];

        while (s->ooo && seq_diff(s->ooo->seq, s->next_seq) <= 0) {
                Seg *g = s->ooo;
                int32_t d = seq_diff(s->next_seq, g->seq);

                s->ooo = g->next;
                s->nooo--;
                t->queued_segments--;
                s->ooo_bytes -= sizeof *g + g->len;
                t->stats.bytes -= sizeof *g + g->len;
                if ((uint32_t)d < g->len) {
                        deliver_start(t, g->data + d, g->len - (uint32_t)d, g);
                        return;
                }
                free(g);
        }
        t->run.step = t->run.after;
}

static void step_fin(TcpStreams *t)
{
        Stream *s = &t->streams[t->run.i];

        /* Placing the segment evicted nothing of ours: i is still this stream. */
        if (s->used && s->fin_seen && seq_diff(s->next_seq, s->fin_seq) >= 0) {
                t->stats.closed_fin++;
                tcpstream_close_stream(t, t->run.i);
        }
        t->run.step = RUN_IDLE;
}

/* Holes older than the gap timeout, slot by slot, each stream's all at once. */
static void step_expire_gaps(TcpStreams *t)
{
        Run *r = &t->run;

        for (; r->slot < t->cfg.max_streams && t->queued_segments > 0; r->slot++) {
                Stream *s = &t->streams[r->slot];

                if (r->in_slot
                        ? s->ooo != NULL
                        : s->used && s->ooo && r->now_us - s->ooo_since >= t->cfg.gap_timeout_us) {
                        r->in_slot = true;
                        r->ts_us = s->last_ts;
                        tcpstream_gap_skip(t, (int32_t)r->slot, RUN_EXPIRE_GAPS);
                        return;
                }
                r->in_slot = false;
        }
        r->step = RUN_EXPIRE_IDLE;
}

/* Idle streams (or, flushing, all of them) close once their queue is framed. */
static void step_close(TcpStreams *t, bool idle_only)
{
        Run *r = &t->run;
        int32_t i = t->lru_head;

        if (i == NONE ||
            (idle_only && r->now_us - t->streams[i].last_ts < t->cfg.idle_timeout_us)) {
                r->step = RUN_IDLE;
                return;
        }
        if (t->streams[i].ooo) {
                r->ts_us = t->streams[i].last_ts;
                tcpstream_gap_skip(t, i, idle_only ? RUN_EXPIRE_IDLE : RUN_FLUSH);
                return;
        }
        if (idle_only)
                t->stats.timeouts++;
        tcpstream_close_stream(t, i);
}

bool tcpstream_next(TcpStreams *t, TcpMessage *out)
{
        for (;;) {
                if (t->run.d.phase != DELIVER_NONE) {
                        if (deliver_step(t, out))
                                return true;
                        continue;
                }
                switch (t->run.step) {
                case RUN_IDLE:
                        return false;
                case RUN_SEGMENT:
                        step_segment(t);
                        break;
                case RUN_DRAIN:
                        step_drain(t);
                        break;
                case RUN_FIN:
                        step_fin(t);
                        break;
                case RUN_EXPIRE_GAPS:
                        step_expire_gaps(t);
                        break;
                case RUN_EXPIRE_IDLE:
                        step_close(t, true);
                        break;
                case RUN_FLUSH:
                        step_close(t, false);
                        break;
                }
        }
}

/* Work the caller did not take to the end: framed and dropped. */
void tcpstream_run_finish(TcpStreams *t)
{
        TcpMessage m;

        while (tcpstream_next(t, &m))
                ;
}
