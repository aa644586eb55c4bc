/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Frame -> decode -> SIP parse -> tracker. The per-packet path: no I/O, no
 * allocation beyond what the SIP parser and the tracker's tables need.
 *
 * SIP over TCP: a segment may carry several messages; each complete one is
 * parsed in turn. Messages split across segments need stream reassembly,
 * which is not done here yet (they are counted as truncated).
 * IP fragments are counted and skipped until fragment reassembly exists.
 */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

struct Pipeline {
        SipParser *sip;
        Tracker *tracker;
        SipMsg msg; /* reused; sip_parser_parse() releases what it held */
        PipelineStats stats;
        int64_t last_tick_us;
        int64_t last_ts_us; /* newest packet time seen */
};

Pipeline *pipeline_new(const TrackerConfig *cfg, DiagnosisFn fn, void *userdata)
{
        Pipeline *p = calloc(1, sizeof *p);

        if (!p)
                return NULL;
        p->sip = sip_parser_new();
        p->tracker = tracker_new(cfg, fn, userdata);
        if (!p->sip || !p->tracker)
                return pipeline_free(p);
        return p;
}

Pipeline *pipeline_free(Pipeline *p)
{
        if (!p)
                return NULL;
        sipmsg_clear(&p->msg);
        sip_parser_free(p->sip);
        tracker_free(p->tracker);
        free(p);
        return NULL;
}

/* Parse and feed one SIP message; returns bytes consumed (0 = stop). */
static size_t feed_message(Pipeline *p, const PacketMeta *meta, const uint8_t *data, size_t len)
{
        SipMsg *msg = &p->msg;
        SipParseVerdict v;
        size_t used;

        if (!sip_looks_like_sip(data, len)) {
                p->stats.not_sip++;
                return 0;
        }
        v = sip_parser_parse(p->sip, data, len, msg);
        p->stats.sip[v]++;
        if (v != SIP_PARSE_OK)
                return 0;
        if (msg->is_request)
                p->stats.sip_requests++;
        else
                p->stats.sip_responses++;
        tracker_feed(p->tracker, meta, msg);
        used = msg->msg_len;
        sipmsg_clear(msg);
        return used <= len ? used : 0;
}

void pipeline_frame(Pipeline *p, int linktype, int64_t ts_us, const uint8_t *data, size_t caplen)
{
        DecodedPacket pkt;
        DecodeVerdict v;
        PacketMeta meta;

        p->stats.packets++;
        p->stats.bytes += caplen;
        if (ts_us > p->last_ts_us)
                p->last_ts_us = ts_us;
        v = decode_packet(linktype, data, caplen, &pkt);
        p->stats.decode[v]++;
        if (v != DECODE_OK || pkt.payload_len == 0)
                return;

        meta = (PacketMeta){
            .ts_us = ts_us, .src = pkt.src, .dst = pkt.dst, .transport = pkt.transport};
        if (pkt.transport == TRANSPORT_UDP && hep_looks_like(pkt.payload, pkt.payload_len))
                pipeline_hep(p, ts_us, pkt.payload, pkt.payload_len);
        else
                pipeline_payload(p, &meta, pkt.payload, pkt.payload_len);
        pipeline_tick(p, ts_us);
}

void pipeline_payload(Pipeline *p, const PacketMeta *meta, const uint8_t *data, size_t len)
{
        if (meta->transport == TRANSPORT_UDP) {
                /* RFC 3261 §18.3: one message per datagram; trailing octets are ignored. */
                feed_message(p, meta, data, len);
                return;
        }
        /* RFC 3261 §18.3: a stream carries messages back to back, framed by
         * Content-Length. Bounded: each message consumes at least one byte. */
        while (len > 0) {
                size_t used = feed_message(p, meta, data, len);

                if (used == 0)
                        break;
                data += used;
                len -= used;
                /* Skip CRLF keep-alives between messages (RFC 5626 §3.5.1). */
                while (len > 0 && (*data == '\r' || *data == '\n')) {
                        data++;
                        len--;
                }
        }
}

/* HEP carries the original addresses and time: the analysis sees the SIP as
 * if it had been captured where the HEP agent sits. */
void pipeline_hep(Pipeline *p, int64_t ts_us, const uint8_t *data, size_t len)
{
        HepPacket h;
        HepVerdict v = hep_decode(data, len, &h);
        PacketMeta meta;

        p->stats.hep[v]++;
        if (v != HEP_OK)
                return;
        meta = (PacketMeta){.ts_us = h.ts_us ? h.ts_us : ts_us,
                            .src = h.src,
                            .dst = h.dst,
                            .transport = h.transport};
        pipeline_payload(p, &meta, h.payload, h.payload_len);
}

void pipeline_tick(Pipeline *p, int64_t now_us)
{
        /* Expiry walks LRU tails only; once a second of packet time is plenty. */
        if (now_us - p->last_tick_us < 1000000)
                return;
        p->last_tick_us = now_us;
        tracker_expire(p->tracker, now_us);
}

void pipeline_flush(Pipeline *p)
{
        tracker_flush(p->tracker, p->last_ts_us);
}

void pipeline_get_stats(const Pipeline *p, PipelineStats *out)
{
        *out = p->stats;
        tracker_get_stats(p->tracker, &out->tracker);
}
