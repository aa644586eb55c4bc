/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Frame in, diagnoses out: decode -> SIP parse -> tracker. No I/O; the
 * daemon owns capture and sinks. One Pipeline per analysis thread.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tracker.h"
#include "../parser/hep.h"

typedef struct Pipeline Pipeline;

typedef struct {
        uint64_t packets;
        uint64_t bytes;
        uint64_t decode[DECODE__MAX]; /* per verdict; [DECODE_OK] = decoded */
        uint64_t not_sip;             /* decoded payloads that do not look like SIP */
        uint64_t sip[SIP_PARSE__MAX]; /* per parse verdict; [SIP_PARSE_OK] = SIP messages */
        uint64_t sip_requests;
        uint64_t sip_responses;
        uint64_t hep[HEP__MAX]; /* HEP packets by verdict (in UDP or from the listener) */
        TrackerStats tracker;
} PipelineStats;

Pipeline *pipeline_new(const TrackerConfig *cfg, DiagnosisFn fn, void *userdata);
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
