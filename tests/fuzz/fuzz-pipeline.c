/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The whole analysis path on a sequence of packets: decode -> (HEP) -> SIP
 * parse -> tracker -> rules -> diagnosis records, with a credentials store
 * loaded so that responses are verified, and every record rendered by the
 * text and JSON sinks (into /dev/null).
 *
 * Input: a sequence of records
 *
 *   +-----+-------+---------+---------+----------------+
 *   | sel | delta | len(hi) | len(lo) | len bytes ...  |
 *   +-----+-------+---------+---------+----------------+
 *
 *   sel % 16   0..11  a captured frame of link type fuzz_linktypes[sel % 16]
 *              12,13  a HEP packet (pipeline_hep, as from the listener): from
 *                     127.0.0.1 (in the allow-list) / 198.51.100.1 (not)
 *              14,15  a bare SIP payload (pipeline_payload) client->server /
 *                     server->client; UDP when delta is even, TCP when odd
 *   delta      the time since the previous record: delta^2 ms (0..65 s), so
 *              a few records span transaction lifetimes and windows
 *   len        big-endian; a last record shorter than len takes what is left
 *
 * HEP in captured UDP is decoded (--hep-in-capture) when its datagram comes
 * from the allow-list (127.0.0.0/8, 203.0.113.0/24: make_seeds.py's agent).
 * Timestamps only increase, as in a capture; pipeline_tick() runs every
 * 8 records and pipeline_flush() at the end. The tables are kept small so
 * that eviction paths run. make_seeds.py writes this format from captures.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "credentials.h"
#include "fuzz-linktypes.h"
#include "fuzz.h"
#include "pipeline.h"
#include "sink.h"

/* Users of the seed captures (tests/fixtures/credentials.txt shapes) in every
 * secret form the store knows, and a "*" realm. */
static const char creds_text[] =
    "alice asterisk plain:Tr4ck-Alice-2026\n"
    "heidi asterisk plain:Heidi-Right-Pass\n"
    "bob example.test plain:b0b-Polycom-Desk\n"
    "erin example.test sha-256:"
    "0f3f4e0c2f1f5e5d9e5b0e6f7f0a5f3c2b1a09080706050403020100f0e0d0c0\n"
    "kevin example.test md5:0123456789abcdef0123456789abcdef\n"
    "1001 * plain:1234\n"
    "fuzz * plain:secret\n";

static CredStore *creds;
static Sink *text_sink, *json_sink;

static void check_str(const char *s, size_t cap)
{
        FUZZ_ASSERT(memchr(s, '\0', cap) != NULL);
}

static void on_diagnosis(const Diagnosis *d, void *userdata)
{
        (void)userdata;
        FUZZ_ASSERT((unsigned)d->code < DIAG__MAX);
        FUZZ_ASSERT(d->first_seen_us <= d->last_seen_us);
        check_str(d->message, sizeof d->message);
        check_str(d->user, sizeof d->user);
        check_str(d->realm, sizeof d->realm);
        check_str(d->client, sizeof d->client);
        check_str(d->server, sizeof d->server);
        check_str(d->transport, sizeof d->transport);
        check_str(d->method, sizeof d->method);
        check_str(d->call_id, sizeof d->call_id);
        check_str(d->user_agent, sizeof d->user_agent);
        check_str(d->server_agent, sizeof d->server_agent);
        check_str(d->algorithm, sizeof d->algorithm);
        check_str(d->evidence, sizeof d->evidence);
        check_str(d->remedy, sizeof d->remedy);
        (void)sink_emit(text_sink, d);
        (void)sink_emit(json_sink, d);
}

static void init(void)
{
        char err[256];
        FUZZ_ASSERT(credstore_parse(creds_text, sizeof creds_text - 1, &creds, err, sizeof err) ==
                    0);
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        FUZZ_ASSERT(fd >= 0);
        text_sink = sink_new(SINK_TEXT, fd, false);
        sink_set_ladder(text_sink, true); /* the drawing of every record, too */
        json_sink = sink_new(SINK_JSON, fd, false);
        FUZZ_ASSERT(text_sink && json_sink);
}

static void payload_meta(PacketMeta *m, int64_t ts, bool to_server, bool tcp)
{
        static const Endpoint client = {.family = 4, .addr = {198, 51, 100, 7}, .port = 5060};
        static const Endpoint server = {.family = 4, .addr = {192, 0, 2, 10}, .port = 5060};
        memset(m, 0, sizeof *m);
        m->ts_us = ts;
        m->src = to_server ? client : server;
        m->dst = to_server ? server : client;
        m->transport = tcp ? TRANSPORT_TCP : TRANSPORT_UDP;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!creds)
                init();

        TrackerConfig cfg;
        tracker_config_default(&cfg);
        cfg.max_transactions = 32;
        cfg.max_chains = 16;
        cfg.max_principals = 16;
        cfg.max_nonces = 32;
        cfg.max_clients = 16;
        cfg.max_sources = 8;
        cfg.threshold = 2;
        cfg.guess_threshold = 3;
        cfg.scan_threshold = 3;
        cfg.max_records_per_minute = 4;
        cfg.credentials = creds;
        cfg.hash_seed = 0x5eed; /* fixed: the same input takes the same path */
        /* Small reassembly tables too: their eviction paths run, and a
         * pipeline is cheap enough to build for every input. */
        PipelineConfig pc = {
            .tracker = cfg,
            .ipfrag = {.max_datagrams = 8,
                       .max_frags = 8,
                       .max_bytes_per_source = 16384,
                       .max_bytes = 32768,
                       .hash_seed = 0x5eed},
            .tcp = {.max_streams = 8,
                    .max_ooo_segments = 4,
                    .max_header = 8192,
                    .max_body = 8192,
                    .max_bytes = 65536,
                    .hash_seed = 0x5eed},
        };
        char why[128];
        pc.hep.in_capture = true;
        FUZZ_ASSERT(
            hepauth_parse_allow(&pc.hep.auth, "127.0.0.0/8, 203.0.113.0/24", why, sizeof why));
        Pipeline *p = pipeline_new_config(&pc, on_diagnosis, NULL);
        FUZZ_ASSERT(p);

        int64_t ts = 1768471200LL * 1000000; /* 2026-01-15T10:00:00Z, the fixtures' base */
        size_t off = 0;
        unsigned n = 0;
        while (size - off >= 4) {
                uint8_t sel = data[off], delta = data[off + 1];
                size_t len = (size_t)data[off + 2] << 8 | data[off + 3];
                off += 4;
                if (len > size - off)
                        len = size - off;
                const uint8_t *rec = data + off;
                off += len;
                ts += (int64_t)delta * delta * 1000;

                unsigned kind = sel % 16;
                if (kind < FUZZ_N_LINKTYPES) {
                        pipeline_frame(p, fuzz_linktype((uint8_t)kind), ts, rec, len);
                } else if (kind < 14) {
                        HepArrival a = {.ts_us = ts, .peer = {.family = 4, .port = 9060}};
                        static const uint8_t allowed[4] = {127, 0, 0, 1},
                                             denied[4] = {198, 51, 100, 1};
                        memcpy(a.peer.addr, kind == 12 ? allowed : denied, 4);
                        pipeline_hep(p, &a, rec, len);
                } else {
                        PacketMeta meta;
                        payload_meta(&meta, ts, kind == 14, delta & 1);
                        pipeline_payload(p, &meta, rec, len);
                }
                if (++n % 8 == 0)
                        pipeline_tick(p, ts);
        }
        pipeline_flush(p);

        PipelineStats st;
        pipeline_get_stats(p, &st);
        FUZZ_ASSERT(st.tracker.transactions <= cfg.max_transactions);
        FUZZ_ASSERT(st.tracker.chains <= cfg.max_chains);
        FUZZ_ASSERT(st.tracker.principals <= cfg.max_principals);
        FUZZ_ASSERT(st.tracker.nonces <= cfg.max_nonces);
        FUZZ_ASSERT(st.tracker.clients <= cfg.max_clients);
        FUZZ_ASSERT(st.tracker.sources <= cfg.max_sources);
        FUZZ_ASSERT(st.ipfrag.datagrams <= pc.ipfrag.max_datagrams);
        FUZZ_ASSERT(st.ipfrag.bytes <= pc.ipfrag.max_bytes);
        FUZZ_ASSERT(st.tcp.active <= pc.tcp.max_streams);
        FUZZ_ASSERT(st.tcp.bytes <= pc.tcp.max_bytes);
        pipeline_free(p);
        (void)sink_flush(text_sink);
        (void)sink_flush(json_sink);
        return 0;
}
