/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Frame in, diagnoses out: decode -> [IP reassembly] -> [TCP stream
 * framing] -> SIP parse -> tracker. No I/O; the daemon owns capture and
 * sinks. A Pipeline is used from one thread, which also receives every
 * record (DiagnosisFn); with PipelineConfig.workers it starts threads of
 * its own for the parsing and joins them in pipeline_free().
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hepauth.h"
#include "tracker.h"
#include "../parser/hep.h"
#include "../parser/ipfrag.h"
#include "../parser/tcpstream.h"

typedef struct Pipeline Pipeline;

typedef struct {
        uint64_t packets;
        uint64_t bytes;
        uint64_t decode[DECODE__MAX]; /* per verdict; [DECODE_OK] = decoded */
        uint64_t not_sip;             /* decoded payloads that do not look like SIP */
        uint64_t sip[SIP_PARSE__MAX]; /* per parse verdict; [SIP_PARSE_OK] = SIP messages */
        uint64_t sip_requests;
        uint64_t sip_responses;
        /* Which path each SIP message took (PipelineParser): */
        uint64_t sip_skipped_early; /* 1xx / ACK by start line: counted in sip[OK], not parsed */
        uint64_t sip_fast;          /* filled by parser/sipscan.c */
        uint64_t sip_full;          /* parsed by sofia-sip, whatever the verdict */
        uint64_t hep[HEP__MAX];     /* HEP packets by verdict (in UDP or from the listener) */
        uint64_t tls_suspected;     /* TCP segments to/from 5061 starting a TLS record: use HEP */
        uint64_t reassembled_decode[DECODE__MAX]; /* reassembled datagrams by decode verdict */
        /* What became of HEP packets (PipelineHepConfig): */
        uint64_t hep_ignored_in_capture; /* HEP in captured UDP without --hep-in-capture */
        uint64_t hep_denied;             /* sender not in hep_allow */
        uint64_t hep_key_missing;        /* hep_auth_key set, no auth key chunk */
        uint64_t hep_key_wrong;          /* hep_auth_key set, another key */
        uint64_t hep_authenticated;      /* analysed: key or allow-list passed */
        uint64_t hep_unauthenticated;    /* analysed: nothing to check (loopback, no key/list) */
        uint64_t hep_clamped_ts;         /* time beyond arrival ± PIPELINE_HEP_MAX_SKEW_US */
        IpFragStats ipfrag;
        TcpStreamStats tcp;
        WebSocketStats ws; /* SIP over WebSocket in the TCP streams (parser/websocket.h) */
        TrackerStats tracker;
        /* --workers (PipelineConfig.workers); all 0 without: */
        uint64_t workers;            /* analysis threads: the caller's and the fronts' */
        uint64_t workers_frames_min; /* frames of the least and the most busy front */
        uint64_t workers_frames_max;
        uint64_t workers_waits;   /* the tracker's thread waited for a front */
        uint64_t workers_too_big; /* messages too large to hand over: dropped (none expected) */
} PipelineStats;

/*
 * How SIP messages are parsed. FAST (the default): a provisional response or
 * an ACK is counted and dropped by its start line (the tracker ignores
 * them); every other message of a shape the scanner takes is read by
 * parser/sipscan.h, which hands only the values of authentication headers
 * to sofia-sip's header parsers (no allocation per message but for one
 * inside sofia-sip's home per authentication message); whatever the scanner
 * does not take goes through sofia-sip whole. FULL: every message through
 * sofia-sip, as before the fast path (`sipauthmon --parser full`;
 * tests/fastpath compares the two).
 */
typedef enum {
        PIPELINE_PARSER_FAST = 0,
        PIPELINE_PARSER_FULL,
} PipelineParser;

/*
 * HEP as an input (DESIGN.md "Trusted inputs"). HEP names the addresses and
 * time of the SIP it carries, so it is analysed only when its sender proves
 * itself (hepauth.h): with a key, packets without it are dropped; with an
 * allow-list, packets from elsewhere are dropped; with neither (a loopback
 * listener, which the daemon allows alone), everything is taken but marked
 * ORIGIN_HEP_UNAUTH. HEP inside captured UDP is not even decoded unless
 * in_capture is set; then the captured datagram's source is the sender.
 */
typedef struct {
        bool in_capture;    /* --hep-in-capture */
        HepAuthConfig auth; /* hep_auth_key, hep_allow; zeroed: nothing checked */
} PipelineHepConfig;

/*
 * A HEP time further than this from the arrival time is replaced by the
 * arrival time (and counted, hep_clamped_ts): a forged time must not move
 * the tracker's clock (expiry, windows) nor date an attempt elsewhere. Real
 * agents send within milliseconds; 5 s leaves room for clock skew and queues.
 */
#define PIPELINE_HEP_MAX_SKEW_US (5 * 1000000LL)

/* Everything configurable; zeroed sub-configs mean each module's defaults. */
typedef struct {
        PipelineParser parser;
        TrackerConfig tracker;
        IpFragConfig ipfrag;
        TcpStreamConfig tcp;
        PipelineHepConfig hep;
        /* Analysis threads (--workers): with N > 1, N - 1 fronts (decode,
         * reassembly, SIP parse) on threads of their own, sharded by address
         * pair, and the tracker on the caller's thread, which sees every
         * message in capture order. 0 or 1: all on the caller's thread.
         * At most PIPELINE_WORKERS_MAX. */
        unsigned workers;
} PipelineConfig;

#define PIPELINE_WORKERS_MAX 16

/* Reassembly limits at their defaults. */
Pipeline *pipeline_new(const TrackerConfig *cfg, DiagnosisFn fn, void *userdata);
Pipeline *pipeline_new_config(const PipelineConfig *cfg, DiagnosisFn fn, void *userdata);
Pipeline *pipeline_free(Pipeline *p);

/* One captured frame; ts_us is the capture timestamp (µs since the epoch). */
void pipeline_frame(Pipeline *p, int linktype, int64_t ts_us, const uint8_t *data, size_t caplen);

/*
 * One SIP payload that arrived without a captured frame (the HEP listener):
 * meta says where it came from. Stream payloads may hold several messages.
 */
void pipeline_payload(Pipeline *p, const PacketMeta *meta, const uint8_t *data, size_t len);

/* How a HEP packet reached us. */
typedef struct {
        int64_t ts_us; /* arrival (µs since the epoch): the listener's clock, or the
                        * capture time of the datagram that carried it */
        Endpoint peer; /* its real sender: the listener socket's peer, or the source
                        * address of the captured datagram; checked against hep_allow */
} HepArrival;

/*
 * One HEP packet from the listener (the capture path calls it for HEP in
 * UDP when in_capture is set): decoded, checked against the
 * PipelineHepConfig, its time clamped, its SIP analysed with the origin
 * ORIGIN_HEP_AUTH or ORIGIN_HEP_UNAUTH.
 */
void pipeline_hep(Pipeline *p, const HepArrival *arrival, const uint8_t *data, size_t len);

/*
 * Expiry belongs to the pipeline: every table (IP fragments, TCP streams,
 * the tracker's) is expired by pipeline_tick() alone, at most once every
 * PIPELINE_TICK_US of packet time. pipeline_frame() calls it with each
 * frame's time, before the frame, so an offline run expires by the
 * capture's clock and nothing else. Time that passes with no frame is not
 * seen: the live service calls pipeline_tick() from its timer with the
 * wall clock (live packet times are wall-clock times), so that windows
 * close, scans are reported and the record cap rolls over on a quiet
 * link too. Calls closer than PIPELINE_TICK_US to the last expiry do
 * nothing, so the two never expire twice.
 */
#define PIPELINE_TICK_US 1000000
void pipeline_tick(Pipeline *p, int64_t now_us);

/*
 * With workers: feed the tracker everything handed over so far, so that the
 * records of those frames are out when this returns (the live service calls
 * it after each batch from the capture ring). Nothing to do without.
 */
void pipeline_sync(Pipeline *p);
/* End of input (a capture file read to its end): emit what is pending. */
void pipeline_flush(Pipeline *p);

/*
 * Every module's counters in one struct, the only way they leave the
 * pipeline: the daemon names them (daemon/stats.c, for --stats, the
 * journal and the service status) and picks from them (daemon/metrics.c).
 */
void pipeline_get_stats(Pipeline *p, PipelineStats *out);

/* A reload: new thresholds, window, caps, limits and credentials (see
 * tracker_reconfigure()); the tables and their hash seed stay. */
bool pipeline_reconfigure(Pipeline *p, const TrackerConfig *cfg);
