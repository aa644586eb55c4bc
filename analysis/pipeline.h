/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Frame in, diagnoses out: decode -> [IP reassembly] -> [TCP stream
 * framing] -> SIP parse -> tracker. No I/O; the daemon owns capture and
 * sinks. One Pipeline per analysis thread.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

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
        IpFragStats ipfrag;
        TcpStreamStats tcp;
        TrackerStats tracker;
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

/* Everything configurable; zeroed sub-configs mean each module's defaults. */
typedef struct {
        PipelineParser parser;
        TrackerConfig tracker;
        IpFragConfig ipfrag;
        TcpStreamConfig tcp;
} PipelineConfig;

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

/* One HEP packet (from the listener, or found inside captured UDP). */
void pipeline_hep(Pipeline *p, int64_t ts_us, const uint8_t *data, size_t len);

/* Periodic housekeeping (expiry) at packet time now_us. */
void pipeline_tick(Pipeline *p, int64_t now_us);

/* End of input (a capture file read to its end): emit what is pending. */
void pipeline_flush(Pipeline *p);

void pipeline_get_stats(const Pipeline *p, PipelineStats *out);

/* After a reload (the daemon's SIGHUP): swap the tracker's credential store (not owned). */
void pipeline_set_credentials(Pipeline *p, struct CredStore *store);

/* A reload: new thresholds, window, caps, limits and credentials (see
 * tracker_reconfigure()); the tables and their hash seed stay. */
bool pipeline_reconfigure(Pipeline *p, const TrackerConfig *cfg);

/*
 * The reassembly counters of *ps as (prefix, name, value) triples, names
 * "[a-z0-9_.]+" ("ipfrag." "fragments", "tcp." "messages" ...), for a
 * --stats printer: adding a counter here needs no change to the printer.
 */
typedef void (*PipelineStatFn)(const char *prefix, const char *name, uint64_t value);
void pipeline_stats_foreach_reassembly(const PipelineStats *ps, PipelineStatFn fn);
/* The same with user data. */
typedef void (*PipelineStatUdFn)(const char *prefix, const char *name, uint64_t value, void *ud);
void pipeline_stats_foreach_reassembly_ud(const PipelineStats *ps, PipelineStatUdFn fn, void *ud);
