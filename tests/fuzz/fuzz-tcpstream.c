/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SIP over TCP: segment ordering and message framing (parser/tcpstream.c)
 * under small limits, each delivered message parsed by the SIP wrapper.
 *
 * Input: a sequence of segments, each
 *
 *   flags(1) seqoff(2, BE, signed) delta(1) len(2, BE) bytes
 *
 *   flags bit 0    direction (client->server / server->client)
 *         bits 1-2 which of four client ports (four connections)
 *         bit 3    SYN   bit 4 FIN   bit 5 RST
 *   seqoff   added to the next expected sequence number of that direction,
 *            so segments overlap, repeat or leave holes
 *   delta    time since the previous segment, delta * 100 ms
 *
 * Each message is taken with tcpstream_next() as the pipeline takes it.
 * Invariants: every delivered message has the start line the framer says
 * it read (if it read one); is non-empty, readable and within
 * max_header + max_body; the gauges never exceed the configured limits.
 */
#include <string.h>

#include "decode.h"
#include "fuzz.h"
#include "sipmsg.h"
#include "tcpstream.h"

static const TcpStreamConfig cfg = {
    .max_streams = 4,
    .max_ooo_segments = 4,
    .max_header = 2048,
    .max_body = 2048,
    .max_bytes = 16384,
    .idle_timeout_us = 5000000,
    .hash_seed = 0x5eed,
};

static SipParser *parser;

/* Every message the last feed, expire or flush completed, as the pipeline takes them. */
static void take(TcpStreams *t)
{
        TcpMessage msg;

        while (tcpstream_next(t, &msg)) {
                FUZZ_ASSERT(msg.len > 0 && msg.len <= (size_t)cfg.max_header + cfg.max_body);
                fuzz_touch(msg.data, msg.len);
                if (msg.start) {
                        /* The framer's reading of the start line is the one the
                         * pipeline would make of the whole message. */
                        SipStartLine sl;
                        FUZZ_ASSERT(sipmsg_start_line(msg.data, msg.len, &sl));
                        FUZZ_ASSERT(sl.is_request == msg.start->is_request &&
                                    sl.uri_off == msg.start->uri_off &&
                                    sl.uri_len == msg.start->uri_len);
                }
                SipMsg m;
                memset(&m, 0, sizeof m);
                if (sipmsg_parse(parser, msg.data, msg.len, &m) == SIP_PARSE_OK)
                        sipmsg_clear(&m);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!parser) {
                parser = sipmsg_parser_new();
                FUZZ_ASSERT(parser);
        }
        TcpStreams *t = tcpstream_new(&cfg);
        FUZZ_ASSERT(t);
        uint32_t next[8] = {1000, 5000, 9000, 13000, 17000, 21000, 25000, 29000};
        int64_t ts = 1768471200LL * 1000000;
        size_t off = 0;
        while (size - off >= 6) {
                const uint8_t *h = data + off;
                int16_t seqoff = (int16_t)(uint16_t)(h[1] << 8 | h[2]);
                size_t len = (size_t)h[4] << 8 | h[5];
                off += 6;
                if (len > size - off)
                        len = size - off;
                ts += (int64_t)h[3] * 100000;

                bool to_client = h[0] & 1;
                unsigned conn = (h[0] >> 1) & 3;
                unsigned dir = conn * 2 + to_client;
                Endpoint client = {
                    .family = 4, .addr = {198, 51, 100, 7}, .port = (uint16_t)(40000 + conn)};
                Endpoint server = {.family = 4, .addr = {192, 0, 2, 10}, .port = 5060};
                DecodedPacket p;
                memset(&p, 0, sizeof p);
                p.src = to_client ? server : client;
                p.dst = to_client ? client : server;
                p.transport = TRANSPORT_TCP;
                p.ip_proto = 6;
                p.tcp_flags =
                    (uint8_t)(DECODE_TCP_ACK | (h[0] & 8 ? DECODE_TCP_SYN : 0) |
                              (h[0] & 16 ? DECODE_TCP_FIN : 0) | (h[0] & 32 ? DECODE_TCP_RST : 0));
                p.tcp_seq = next[dir] + (uint32_t)(int32_t)seqoff;
                p.payload = data + off;
                p.payload_len = len;
                off += len;
                uint32_t end = p.tcp_seq + (uint32_t)len + (p.tcp_flags & DECODE_TCP_SYN ? 1u : 0u);
                if ((int32_t)(end - next[dir]) > 0)
                        next[dir] = end;

                tcpstream_feed(t, &p, ts);
                take(t);
                TcpStreamStats st;
                tcpstream_get_stats(t, &st);
                FUZZ_ASSERT(st.active <= cfg.max_streams);
                FUZZ_ASSERT(st.bytes <= cfg.max_bytes);
                if (h[3] > 200) {
                        tcpstream_expire(t, ts);
                        take(t);
                }
        }
        tcpstream_flush(t, ts);
        take(t);
        tcpstream_free(t);
        return 0;
}
