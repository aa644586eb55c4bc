/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Inside the pipeline (pipeline.h): the two halves a message crosses.
 *
 *   pipeline_front.c    the front: decode -> [IP reassembly] -> [TCP stream
 *                       framing] -> SIP parse, ending in a deliver callback.
 *                       It holds per-flow state only (reassembly), so
 *                       several fronts can run side by side on flows
 *                       sharded by address pair.
 *   pipeline.c          the public entry: one front inline, the tracker
 *                       behind it, expiry and counters.
 *   pipeline_workers.c  --workers N: N fronts on threads of their own; the
 *                       tracker stays on the caller's thread and is fed in
 *                       capture order, so correlation sees exactly what one
 *                       front would have handed it.
 */
#pragma once

#include "pipeline.h"
#include "../parser/sipscan.h"

/* Where the front hands each parsed message (valid only during the call). */
typedef void (*FrontDeliverFn)(void *userdata, const PacketMeta *meta, const SipMsg *msg);

typedef struct {
        SipParser *sip;
        SipScanner *scan; /* NULL with PIPELINE_PARSER_FULL */
        IpFrag *ipfrag;
        TcpStreams *tcp;
        SipMsg msg; /* reused; sipmsg_parse() releases what it held */
        /* The front's counters (the tracker's part stays zero here). */
        PipelineStats stats;
        /* Skipped by start line: the tracker would have counted them and returned. */
        uint64_t skipped_requests, skipped_responses;
        PipelineHepConfig hep; /* who may send HEP (hepauth.h) */
        FrontDeliverFn deliver;
        void *deliver_userdata;
} Front;

/*
 * share: how many fronts split the TCP reassembly limits (each takes its part,
 * rounded up, so that N fronts together hold what one would). False on
 * allocation failure (front_done() is still safe).
 */
bool front_init(Front *f, const PipelineConfig *cfg, unsigned share, FrontDeliverFn deliver,
                void *userdata);
void front_done(Front *f);

/* One captured frame (counted in packets and bytes); no expiry here. */
void front_frame(Front *f, int linktype, int64_t ts_us, const uint8_t *data, size_t caplen);
/* A decoded datagram, captured whole or reassembled. */
void front_decoded(Front *f, const DecodedPacket *pkt, int64_t ts_us);
/*
 * A fragment into the front's IP reassembly; true when it completed a
 * datagram, which *pkt then describes (its payload valid until the next
 * fragment). Counted in reassembled_decode. With workers the caller's front
 * reassembles for all of them (pipeline_workers.c says why).
 */
bool front_reassemble(Front *f, DecodedPacket *pkt, int64_t ts_us);
void front_payload(Front *f, const PacketMeta *meta, const uint8_t *data, size_t len);
void front_hep(Front *f, const HepArrival *arrival, const uint8_t *data, size_t len);
/* The reassemblers' expiry, and the messages it completes. */
void front_expire(Front *f, int64_t now_us);
/* End of input: messages queued behind a hole are framed and delivered. */
void front_flush(Front *f, int64_t last_ts_us);
/* The front's counters: its own and its reassemblers'. */
void front_get_stats(const Front *f, PipelineStats *out);
/* out += in, counter by counter (every field of PipelineStats is a uint64_t). */
void pipeline_stats_add(PipelineStats *out, const PipelineStats *in);

/* ---- pipeline_workers.c ----------------------------------------------- */

typedef struct Workers Workers;

/* n >= 1 fronts on their own threads, feeding t (the caller's) in order;
 * own: the caller's front, which reassembles IP fragments for them all. */
Workers *workers_new(const PipelineConfig *cfg, unsigned n, Tracker *t, Front *own);
Workers *workers_free(Workers *w);
/* A frame to the front its address pair belongs to. May feed the tracker
 * with earlier frames' messages (in order) before it returns. */
void workers_frame(Workers *w, int linktype, int64_t ts_us, const uint8_t *data, size_t caplen);
/* Every front expires (now_us) or flushes (last_ts_us); returns when their
 * messages, and every earlier one, have reached the tracker. */
void workers_expire(Workers *w, int64_t now_us);
void workers_flush(Workers *w, int64_t last_ts_us);
/* Wait until every frame handed over has reached the tracker. */
void workers_sync(Workers *w);
/* After workers_sync(): the fronts' counters added into out. */
void workers_get_stats(Workers *w, PipelineStats *out);
