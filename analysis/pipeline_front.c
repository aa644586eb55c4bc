/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The front half of the pipeline (pipeline_internal.h): frame -> decode ->
 * SIP parse -> deliver. The per-packet path: no I/O, no allocation beyond
 * what the SIP parser needs.
 *
 * IP fragments go to the reassembler (parser/ipfrag.h); a completed
 * datagram continues as if it had been captured whole. Captured TCP segments
 * go to the stream reassembler (parser/tcpstream.h), which hands back one
 * framed SIP message at a time. Payloads that arrive without a frame (the
 * HEP listener, HEP in UDP) are already framed by their sender.
 */
#include "pipeline_internal.h"

#include <stdlib.h>
#include <string.h>

/* A limit split over share fronts, rounded up; 0 (the module's default) is
 * the default's share. */
static uint64_t part(uint64_t limit, uint64_t deflt, unsigned share)
{
        if (share <= 1)
                return limit;
        if (!limit)
                limit = deflt;
        return (limit + share - 1) / share;
}

bool front_init(Front *f, const PipelineConfig *cfg, unsigned share, FrontDeliverFn deliver,
                void *userdata)
{
        /* The reassemblers' tables are keyed by attacker-chosen addresses too:
         * unless told otherwise, they take their seeds from the tracker's
         * (random in the daemon), each a different one. */
        IpFragConfig fc = cfg->ipfrag;
        TcpStreamConfig tc = cfg->tcp;

        memset(f, 0, sizeof *f);
        f->deliver = deliver;
        f->deliver_userdata = userdata;
        f->hep = cfg->hep;
        if (!fc.hash_seed)
                fc.hash_seed = cfg->tracker.hash_seed ^ 0x9e3779b97f4a7c15ull;
        if (!tc.hash_seed)
                tc.hash_seed = cfg->tracker.hash_seed ^ 0xc2b2ae3d27d4eb4full;
        tc.max_streams = (uint32_t)part(tc.max_streams, TCPSTREAM_DEFAULT_MAX_STREAMS, share);
        tc.max_bytes = part(tc.max_bytes, TCPSTREAM_DEFAULT_MAX_BYTES, share);
        f->sip = sipmsg_parser_new();
        if (cfg->parser != PIPELINE_PARSER_FULL)
                f->scan = sipscan_new();
        f->ipfrag = ipfrag_new(&fc);
        f->tcp = tcpstream_new(&tc);
        return f->sip && (f->scan || cfg->parser == PIPELINE_PARSER_FULL) && f->ipfrag && f->tcp;
}

void front_done(Front *f)
{
        sipmsg_clear(&f->msg);
        sipmsg_parser_free(f->sip);
        sipscan_free(f->scan);
        ipfrag_free(f->ipfrag);
        tcpstream_free(f->tcp);
        memset(f, 0, sizeof *f);
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
static size_t feed_message(Front *f, const PacketMeta *meta, const uint8_t *data, size_t len,
                           bool one_message, const SipStartLine *start)
{
        SipMsg *msg = &f->msg;
        SipStartLine line;
        SipParseVerdict v;
        bool fast;
        size_t used;

        if (!start && !(data && sipmsg_start_line(data, len, &line))) {
                f->stats.not_sip++;
                return 0;
        }
        if (!start)
                start = &line;
        if (f->scan && one_message && sipscan_ignorable(data, len)) {
                bool response = !start->is_request; /* "SIP/2.0 1xx" or "ACK " */
                f->stats.sip_skipped_early++;
                f->stats.sip[SIP_PARSE_OK]++;
                if (response) {
                        f->stats.sip_responses++;
                        f->skipped_responses++;
                } else {
                        f->stats.sip_requests++;
                        f->skipped_requests++;
                }
                return len;
        }
        fast = f->scan && sipscan_scan(f->scan, data, len, msg) == SIP_SCAN_OK;
        if (fast) {
                v = SIP_PARSE_OK;
                f->stats.sip_fast++;
        } else {
                v = sipmsg_parse_start(f->sip, data, len, start, msg);
                f->stats.sip_full++;
        }
        f->stats.sip[v]++;
        if (v != SIP_PARSE_OK)
                return 0;
        if (msg->is_request)
                f->stats.sip_requests++;
        else
                f->stats.sip_responses++;
        f->deliver(f->deliver_userdata, meta, msg);
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
static void on_tcp_messages(Front *f)
{
        TcpMessage m;

        while (tcpstream_next(f->tcp, &m)) {
                Transport tr = m.framing == TCP_FRAMING_WS ? TRANSPORT_WS : TRANSPORT_TCP;
                PacketMeta meta = {.ts_us = m.ts_us,
                                   .src = m.src,
                                   .dst = m.dst,
                                   .transport = tr,
                                   .origin = m.handshake ? ORIGIN_HANDSHAKE : ORIGIN_WIRE};

                feed_message(f, &meta, m.data, m.len, true, m.start);
        }
}

void front_decoded(Front *f, const DecodedPacket *pkt, int64_t ts_us)
{
        PacketMeta meta;

        if (pkt->transport == TRANSPORT_TCP) {
                /* SIP over TLS (RFC 3261 §26.2, port 5061): a TLS record header
                 * (RFC 8446 §5.1: type 20-23, version 3.x) cannot be read here;
                 * counted so the daemon can point to HEP once. */
                if ((pkt->src.port == 5061 || pkt->dst.port == 5061) && pkt->payload_len >= 5 &&
                    pkt->payload[0] >= 0x14 && pkt->payload[0] <= 0x17 && pkt->payload[1] == 0x03)
                        f->stats.tls_suspected++;
                /* Empty segments too: SYN, FIN and RST drive the stream state. */
                tcpstream_feed(f->tcp, pkt, ts_us);
                on_tcp_messages(f);
                return;
        }
        if (pkt->payload_len == 0)
                return;
        if (hep_looks_like(pkt->payload, pkt->payload_len)) {
                /* Anyone can put HEP in a datagram that crosses a mirror port:
                 * only with --hep-in-capture, and then checked like any HEP,
                 * the datagram's source being its sender. */
                HepArrival a = {.ts_us = ts_us, .peer = pkt->src};

                if (!f->hep.in_capture) {
                        f->stats.hep_ignored_in_capture++;
                        return;
                }
                front_hep(f, &a, pkt->payload, pkt->payload_len);
                return;
        }
        meta = (PacketMeta){
            .ts_us = ts_us, .src = pkt->src, .dst = pkt->dst, .transport = pkt->transport};
        front_payload(f, &meta, pkt->payload, pkt->payload_len);
}

/*
 * A fragment: reassemble, then decode the datagram's payload. A tunnel
 * whose outer datagram was fragmented may hold an inner fragment: that goes
 * round once more (decode reports only the innermost datagram, so two levels
 * are all there can be).
 */
bool front_reassemble(Front *f, DecodedPacket *pkt, int64_t ts_us)
{
        for (int depth = 0; depth < 2; depth++) {
                const uint8_t *data;
                size_t len;
                DecodeVerdict v;

                if (ipfrag_feed(f->ipfrag, pkt, ts_us, &data, &len) != IPFRAG_COMPLETE)
                        return false;
                v = decode_ip_payload(pkt->ip_proto, data, len, pkt);
                f->stats.reassembled_decode[v]++;
                if (v == DECODE_OK)
                        return true;
                if (v != DECODE_E_FRAGMENT)
                        return false;
        }
        return false;
}

static void feed_fragment(Front *f, DecodedPacket *pkt, int64_t ts_us)
{
        if (front_reassemble(f, pkt, ts_us))
                front_decoded(f, pkt, ts_us);
}

void front_frame(Front *f, int linktype, int64_t ts_us, const uint8_t *data, size_t caplen)
{
        DecodedPacket pkt;
        DecodeVerdict v;

        f->stats.packets++;
        f->stats.bytes += caplen;
        v = decode_packet(linktype, data, caplen, &pkt);
        f->stats.decode[v]++;
        if (v == DECODE_OK)
                front_decoded(f, &pkt, ts_us);
        else if (v == DECODE_E_FRAGMENT)
                feed_fragment(f, &pkt, ts_us);
}

void front_payload(Front *f, const PacketMeta *meta, const uint8_t *data, size_t len)
{
        if (meta->transport == TRANSPORT_UDP) {
                /* RFC 3261 §18.3: one message per datagram; trailing octets are ignored. */
                feed_message(f, meta, data, len, true, NULL);
                return;
        }
        /* RFC 3261 §18.3: a stream carries messages back to back, framed by
         * Content-Length. Bounded: each message consumes at least one byte. */
        while (len > 0) {
                size_t used = feed_message(f, meta, data, len, false, NULL);

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
void front_hep(Front *f, const HepArrival *arrival, const uint8_t *data, size_t len)
{
        const HepAuthConfig *auth = &f->hep.auth;
        HepPacket h;
        HepVerdict v = hep_decode(data, len, &h);
        bool allowed;
        PacketMeta meta;
        int64_t ts;

        f->stats.hep[v]++;
        if (v != HEP_OK)
                return;
        allowed = hepauth_allowed(auth, &arrival->peer);
        if (auth->n_allow && !allowed) {
                f->stats.hep_denied++;
                return;
        }
        if (auth->key_len && !hepauth_key_ok(auth, h.auth_key, h.auth_key_len)) {
                if (h.auth_key)
                        f->stats.hep_key_wrong++;
                else
                        f->stats.hep_key_missing++;
                return;
        }
        ts = h.ts_us ? h.ts_us : arrival->ts_us;
        if (!within_skew(ts, arrival->ts_us)) {
                f->stats.hep_clamped_ts++;
                ts = arrival->ts_us;
        }
        meta =
            (PacketMeta){.ts_us = ts,
                         .src = h.src,
                         .dst = h.dst,
                         .transport = h.transport,
                         .origin = auth->key_len || allowed ? ORIGIN_HEP_AUTH : ORIGIN_HEP_UNAUTH};
        if (meta.origin == ORIGIN_HEP_AUTH)
                f->stats.hep_authenticated++;
        else
                f->stats.hep_unauthenticated++;
        front_payload(f, &meta, h.payload, h.payload_len);
}

void front_expire(Front *f, int64_t now_us)
{
        ipfrag_expire(f->ipfrag, now_us);
        tcpstream_expire(f->tcp, now_us);
        on_tcp_messages(f);
}

void front_flush(Front *f, int64_t last_ts_us)
{
        /* Messages queued behind a hole still count: frame them first. */
        tcpstream_flush(f->tcp, last_ts_us);
        on_tcp_messages(f);
}

void front_get_stats(const Front *f, PipelineStats *out)
{
        *out = f->stats;
        ipfrag_get_stats(f->ipfrag, &out->ipfrag);
        tcpstream_get_stats(f->tcp, &out->tcp);
        tcpstream_get_ws_stats(f->tcp, &out->ws);
        /* The same tracker.requests/responses with and without the fast path. */
        out->tracker.requests += f->skipped_requests;
        out->tracker.responses += f->skipped_responses;
}

/* Every field is a uint64_t (daemon/stats.c checks each module's struct). */
_Static_assert(sizeof(PipelineStats) % sizeof(uint64_t) == 0, "PipelineStats: counters only");

void pipeline_stats_add(PipelineStats *out, const PipelineStats *in)
{
        uint64_t a, b;

        for (size_t off = 0; off < sizeof *out; off += sizeof a) {
                memcpy(&a, (char *)out + off, sizeof a);
                memcpy(&b, (const char *)in + off, sizeof b);
                a += b;
                memcpy((char *)out + off, &a, sizeof a);
        }
}
