/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Frame -> decode -> SIP parse -> tracker. The per-packet path: no I/O, no
 * allocation beyond what the SIP parser and the tracker's tables need.
 *
 * IP fragments go to the reassembler (parser/ipfrag.h); a completed
 * datagram continues as if it had been captured whole. Captured TCP segments
 * go to the stream reassembler (parser/tcpstream.h), which hands back one
 * framed SIP message at a time. Payloads that arrive without a frame (the
 * HEP listener, HEP in UDP) are already framed by their sender.
 */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "../parser/sipscan.h"

struct Pipeline {
        SipParser *sip;
        SipScanner *scan; /* NULL with PIPELINE_PARSER_FULL */
        Tracker *tracker;
        IpFrag *ipfrag;
        TcpStreams *tcp;
        SipMsg msg; /* reused; sipmsg_parse() releases what it held */
        PipelineStats stats;
        /* Skipped by start line: the tracker would have counted them and returned. */
        uint64_t skipped_requests, skipped_responses;
        int64_t last_tick_us;
        int64_t last_ts_us;    /* newest packet time seen */
        PipelineHepConfig hep; /* who may send HEP (hepauth.h) */
};

Pipeline *pipeline_new_config(const PipelineConfig *cfg, DiagnosisFn fn, void *userdata)
{
        Pipeline *p = calloc(1, sizeof *p);

        if (!p)
                return NULL;
        p->sip = sipmsg_parser_new();
        p->hep = cfg->hep;
        if (cfg->parser != PIPELINE_PARSER_FULL) {
                p->scan = sipscan_new();
                if (!p->scan)
                        return pipeline_free(p);
        }
        /* The reassemblers' tables are keyed by attacker-chosen addresses too:
         * unless told otherwise, they take their seeds from the tracker's
         * (random in the daemon), each a different one. */
        IpFragConfig fc = cfg->ipfrag;
        TcpStreamConfig tc = cfg->tcp;
        if (!fc.hash_seed)
                fc.hash_seed = cfg->tracker.hash_seed ^ 0x9e3779b97f4a7c15ull;
        if (!tc.hash_seed)
                tc.hash_seed = cfg->tracker.hash_seed ^ 0xc2b2ae3d27d4eb4full;
        p->tracker = tracker_new(&cfg->tracker, fn, userdata);
        p->ipfrag = ipfrag_new(&fc);
        p->tcp = tcpstream_new(&tc);
        if (!p->sip || !p->tracker || !p->ipfrag || !p->tcp)
                return pipeline_free(p);
        return p;
}

Pipeline *pipeline_new(const TrackerConfig *cfg, DiagnosisFn fn, void *userdata)
{
        PipelineConfig pc = {.tracker = *cfg};

        return pipeline_new_config(&pc, fn, userdata);
}

Pipeline *pipeline_free(Pipeline *p)
{
        if (!p)
                return NULL;
        sipmsg_clear(&p->msg);
        sipmsg_parser_free(p->sip);
        sipscan_free(p->scan);
        tracker_free(p->tracker);
        ipfrag_free(p->ipfrag);
        tcpstream_free(p->tcp);
        free(p);
        return NULL;
}

/*
 * Parse and feed one SIP message; returns bytes consumed (0 = stop).
 * one_message: data is exactly one message (a UDP datagram, a message framed
 * by the TCP reassembler), so where it ends does not matter.
 *
 * The fast path (PipelineParser, bench/README.md for the profile behind it):
 * sofia-sip costs several µs a message, most of it on headers nothing here
 * reads. A 1xx response or an ACK changes nothing in the tracker (it counts
 * them and returns), so the start line alone decides; it is not even
 * scanned when its length does not matter. Any other message is read by
 * parser/sipscan.c into the same SipMsg fields sofia would fill
 * (tests/unit/test_sipscan.c compares them), its authentication headers
 * parsed by sofia-sip one header at a time; what the scanner does not take
 * goes to sofia-sip's full parse as before. A scanned message's strings
 * live in the scanner until its next sipscan_scan().
 *
 * The start line is read once (sipmsg_start_line()), here or by the TCP
 * framer (start), and that reading goes on to sipmsg_parse_start(). Two
 * reads remain, each of its own kind: the scanner's stricter grammar (its
 * validation, sipscan.h) and sofia-sip's own parse.
 */
static size_t feed_message(Pipeline *p, const PacketMeta *meta, const uint8_t *data, size_t len,
                           bool one_message, const SipStartLine *start)
{
        SipMsg *msg = &p->msg;
        SipStartLine line;
        SipParseVerdict v;
        bool fast;
        size_t used;

        if (!start && !(data && sipmsg_start_line(data, len, &line))) {
                p->stats.not_sip++;
                return 0;
        }
        if (!start)
                start = &line;
        if (p->scan && one_message && sipscan_ignorable(data, len)) {
                bool response = !start->is_request; /* "SIP/2.0 1xx" or "ACK " */
                p->stats.sip_skipped_early++;
                p->stats.sip[SIP_PARSE_OK]++;
                if (response) {
                        p->stats.sip_responses++;
                        p->skipped_responses++;
                } else {
                        p->stats.sip_requests++;
                        p->skipped_requests++;
                }
                return len;
        }
        fast = p->scan && sipscan_scan(p->scan, data, len, msg) == SIP_SCAN_OK;
        if (fast) {
                v = SIP_PARSE_OK;
                p->stats.sip_fast++;
        } else {
                v = sipmsg_parse_start(p->sip, data, len, start, msg);
                p->stats.sip_full++;
        }
        p->stats.sip[v]++;
        if (v != SIP_PARSE_OK)
                return 0;
        if (msg->is_request)
                p->stats.sip_requests++;
        else
                p->stats.sip_responses++;
        tracker_feed(p->tracker, meta, msg);
        used = msg->msg_len;
        /* A scanned message holds nothing to release (its strings are the
         * scanner's: scratch and auth arena); clearing 3 KiB of SipMsg for it
         * would cost more than the scan. The next scan or parse overwrites it. */
        if (!fast)
                sipmsg_clear(msg);
        return used <= len ? used : 0;
}

/*
 * The messages the stream reassembler completed with the last segment,
 * expiry or flush. Like a reassembled IP datagram (feed_fragment()), they
 * are taken from the reassembler, not pushed by it (parser/tcpstream.h).
 * Each is framed by Content-Length (TCP_FRAMING_SIP) or taken out of
 * WebSocket frames (TCP_FRAMING_WS, RFC 7118: transport "ws").
 */
static void on_tcp_messages(Pipeline *p)
{
        TcpMessage m;

        while (tcpstream_next(p->tcp, &m)) {
                Transport tr = m.framing == TCP_FRAMING_WS ? TRANSPORT_WS : TRANSPORT_TCP;
                PacketMeta meta = {.ts_us = m.ts_us,
                                   .src = m.src,
                                   .dst = m.dst,
                                   .transport = tr,
                                   .origin = m.handshake ? ORIGIN_HANDSHAKE : ORIGIN_WIRE};

                feed_message(p, &meta, m.data, m.len, true, m.start);
        }
}

/* A decoded datagram, captured whole or reassembled. */
static void feed_decoded(Pipeline *p, const DecodedPacket *pkt, int64_t ts_us)
{
        PacketMeta meta;

        if (pkt->transport == TRANSPORT_TCP) {
                /* SIP over TLS (RFC 3261 §26.2, port 5061): a TLS record header
                 * (RFC 8446 §5.1: type 20-23, version 3.x) cannot be read here;
                 * counted so the daemon can point to HEP once. */
                if ((pkt->src.port == 5061 || pkt->dst.port == 5061) && pkt->payload_len >= 5 &&
                    pkt->payload[0] >= 0x14 && pkt->payload[0] <= 0x17 && pkt->payload[1] == 0x03)
                        p->stats.tls_suspected++;
                /* Empty segments too: SYN, FIN and RST drive the stream state. */
                tcpstream_feed(p->tcp, pkt, ts_us);
                on_tcp_messages(p);
                return;
        }
        if (pkt->payload_len == 0)
                return;
        if (hep_looks_like(pkt->payload, pkt->payload_len)) {
                /* Anyone can put HEP in a datagram that crosses a mirror port:
                 * only with --hep-in-capture, and then checked like any HEP,
                 * the datagram's source being its sender. */
                HepArrival a = {.ts_us = ts_us, .peer = pkt->src};

                if (!p->hep.in_capture) {
                        p->stats.hep_ignored_in_capture++;
                        return;
                }
                pipeline_hep(p, &a, pkt->payload, pkt->payload_len);
                return;
        }
        meta = (PacketMeta){
            .ts_us = ts_us, .src = pkt->src, .dst = pkt->dst, .transport = pkt->transport};
        pipeline_payload(p, &meta, pkt->payload, pkt->payload_len);
}

/*
 * A fragment: reassemble, then decode the datagram's payload. A tunnel
 * whose outer datagram was fragmented may hold an inner fragment: that goes
 * round once more (decode reports only the innermost datagram, so two levels
 * are all there can be).
 */
static void feed_fragment(Pipeline *p, DecodedPacket *pkt, int64_t ts_us)
{
        for (int depth = 0; depth < 2; depth++) {
                const uint8_t *data;
                size_t len;
                DecodeVerdict v;

                if (ipfrag_feed(p->ipfrag, pkt, ts_us, &data, &len) != IPFRAG_COMPLETE)
                        return;
                v = decode_ip_payload(pkt->ip_proto, data, len, pkt);
                p->stats.reassembled_decode[v]++;
                if (v == DECODE_OK) {
                        feed_decoded(p, pkt, ts_us);
                        return;
                }
                if (v != DECODE_E_FRAGMENT)
                        return;
        }
}

void pipeline_frame(Pipeline *p, int linktype, int64_t ts_us, const uint8_t *data, size_t caplen)
{
        DecodedPacket pkt;
        DecodeVerdict v;

        p->stats.packets++;
        p->stats.bytes += caplen;
        if (ts_us > p->last_ts_us)
                p->last_ts_us = ts_us;
        /* Expire before the frame, so that stale state does not meet it. */
        pipeline_tick(p, ts_us);
        v = decode_packet(linktype, data, caplen, &pkt);
        p->stats.decode[v]++;
        if (v == DECODE_OK)
                feed_decoded(p, &pkt, ts_us);
        else if (v == DECODE_E_FRAGMENT)
                feed_fragment(p, &pkt, ts_us);
}

void pipeline_payload(Pipeline *p, const PacketMeta *meta, const uint8_t *data, size_t len)
{
        if (meta->transport == TRANSPORT_UDP) {
                /* RFC 3261 §18.3: one message per datagram; trailing octets are ignored. */
                feed_message(p, meta, data, len, true, NULL);
                return;
        }
        /* RFC 3261 §18.3: a stream carries messages back to back, framed by
         * Content-Length. Bounded: each message consumes at least one byte. */
        while (len > 0) {
                size_t used = feed_message(p, meta, data, len, false, NULL);

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

/* |t - ref| <= PIPELINE_HEP_MAX_SKEW_US, without overflow for any two times. */
static bool within_skew(int64_t t, int64_t ref)
{
        uint64_t d = t >= ref ? (uint64_t)t - (uint64_t)ref : (uint64_t)ref - (uint64_t)t;

        return d <= (uint64_t)PIPELINE_HEP_MAX_SKEW_US;
}

/*
 * HEP carries the original addresses and time: the analysis sees the SIP as
 * if it had been captured where the HEP agent sits, once the agent has
 * proven itself (PipelineHepConfig). The time is the agent's only within
 * PIPELINE_HEP_MAX_SKEW_US of the arrival: a time from the future would
 * move the tracker's clock and expire every real attempt.
 */
void pipeline_hep(Pipeline *p, const HepArrival *arrival, const uint8_t *data, size_t len)
{
        const HepAuthConfig *auth = &p->hep.auth;
        HepPacket h;
        HepVerdict v = hep_decode(data, len, &h);
        bool allowed;
        PacketMeta meta;
        int64_t ts;

        p->stats.hep[v]++;
        if (v != HEP_OK)
                return;
        allowed = hepauth_allowed(auth, &arrival->peer);
        if (auth->n_allow && !allowed) {
                p->stats.hep_denied++;
                return;
        }
        if (auth->key_len && !hepauth_key_ok(auth, h.auth_key, h.auth_key_len)) {
                if (h.auth_key)
                        p->stats.hep_key_wrong++;
                else
                        p->stats.hep_key_missing++;
                return;
        }
        ts = h.ts_us ? h.ts_us : arrival->ts_us;
        if (!within_skew(ts, arrival->ts_us)) {
                p->stats.hep_clamped_ts++;
                ts = arrival->ts_us;
        }
        meta =
            (PacketMeta){.ts_us = ts,
                         .src = h.src,
                         .dst = h.dst,
                         .transport = h.transport,
                         .origin = auth->key_len || allowed ? ORIGIN_HEP_AUTH : ORIGIN_HEP_UNAUTH};
        if (meta.origin == ORIGIN_HEP_AUTH)
                p->stats.hep_authenticated++;
        else
                p->stats.hep_unauthenticated++;
        pipeline_payload(p, &meta, h.payload, h.payload_len);
}

/*
 * The one place that expires (pipeline.h says who calls it and why): the
 * reassemblers' tables, then the tracker's. Expiry walks LRU tails only;
 * once a second is plenty.
 */
void pipeline_tick(Pipeline *p, int64_t now_us)
{
        if (now_us - p->last_tick_us < PIPELINE_TICK_US)
                return;
        p->last_tick_us = now_us;
        ipfrag_expire(p->ipfrag, now_us);
        tcpstream_expire(p->tcp, now_us);
        on_tcp_messages(p);
        tracker_expire(p->tracker, now_us);
}

void pipeline_flush(Pipeline *p)
{
        /* Messages queued behind a hole still count: frame them first. */
        tcpstream_flush(p->tcp, p->last_ts_us);
        on_tcp_messages(p);
        tracker_flush(p->tracker, p->last_ts_us);
}

bool pipeline_reconfigure(Pipeline *p, const TrackerConfig *cfg)
{
        return tracker_reconfigure(p->tracker, cfg);
}

void pipeline_get_stats(const Pipeline *p, PipelineStats *out)
{
        *out = p->stats;
        ipfrag_get_stats(p->ipfrag, &out->ipfrag);
        tcpstream_get_stats(p->tcp, &out->tcp);
        tcpstream_get_ws_stats(p->tcp, &out->ws);
        tracker_get_stats(p->tracker, &out->tracker);
        /* The same tracker.requests/responses with and without the fast path. */
        out->tracker.requests += p->skipped_requests;
        out->tracker.responses += p->skipped_responses;
}
