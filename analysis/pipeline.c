/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Frame -> front (decode, reassembly, SIP parse: pipeline_front.c) ->
 * tracker. With --workers N (N analysis threads) the fronts run on N - 1
 * threads of their own (pipeline_workers.c) and the tracker stays on the
 * caller's, fed in capture order.
 */
#include "pipeline_internal.h"

#include <stdlib.h>
#include <string.h>

struct Pipeline {
        Front front; /* inline: every frame with one worker; HEP payloads always */
        Tracker *tracker;
        Workers *workers; /* NULL: one worker, the front above */
        int64_t last_tick_us;
        int64_t last_ts_us; /* newest packet time seen */
};

static void deliver_inline(void *userdata, const PacketMeta *meta, const SipMsg *msg)
{
        Pipeline *p = userdata;

        tracker_feed(p->tracker, meta, msg);
}

Pipeline *pipeline_new_config(const PipelineConfig *cfg, DiagnosisFn fn, void *userdata)
{
        Pipeline *p = calloc(1, sizeof *p);

        if (!p)
                return NULL;
        p->tracker = tracker_new(&cfg->tracker, fn, userdata);
        if (!p->tracker || !front_init(&p->front, cfg, 1, deliver_inline, p))
                return pipeline_free(p);
        if (cfg->workers > 1) {
                p->workers = workers_new(cfg, cfg->workers - 1, p->tracker, &p->front);
                if (!p->workers)
                        return pipeline_free(p);
        }
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
        workers_free(p->workers); /* first: its threads feed the tracker */
        front_done(&p->front);
        tracker_free(p->tracker);
        free(p);
        return NULL;
}

/* The expiry of pipeline_tick(); with workers it waits for them. */
static void tick(Pipeline *p, int64_t now_us)
{
        if (now_us - p->last_tick_us < PIPELINE_TICK_US)
                return;
        p->last_tick_us = now_us;
        if (p->workers)
                workers_expire(p->workers, now_us);
        /* With workers, the caller's front holds the IP fragments of all. */
        front_expire(&p->front, now_us);
        tracker_expire(p->tracker, now_us);
}

void pipeline_frame(Pipeline *p, int linktype, int64_t ts_us, const uint8_t *data, size_t caplen)
{
        if (ts_us > p->last_ts_us)
                p->last_ts_us = ts_us;
        /* Expire before the frame, so that stale state does not meet it. */
        tick(p, ts_us);
        if (p->workers)
                workers_frame(p->workers, linktype, ts_us, data, caplen);
        else
                front_frame(&p->front, linktype, ts_us, data, caplen);
}

/* Payloads without a frame go through the inline front, after every frame
 * handed to the workers before them. */
void pipeline_payload(Pipeline *p, const PacketMeta *meta, const uint8_t *data, size_t len)
{
        if (p->workers)
                workers_sync(p->workers);
        front_payload(&p->front, meta, data, len);
}

void pipeline_hep(Pipeline *p, const HepArrival *arrival, const uint8_t *data, size_t len)
{
        if (p->workers)
                workers_sync(p->workers);
        front_hep(&p->front, arrival, data, len);
}

/*
 * The one place that expires (pipeline.h says who calls it and why): the
 * reassemblers' tables, then the tracker's. Expiry walks LRU tails only;
 * once a second is plenty.
 */
void pipeline_tick(Pipeline *p, int64_t now_us)
{
        tick(p, now_us);
}

void pipeline_sync(Pipeline *p)
{
        if (p->workers)
                workers_sync(p->workers);
}

void pipeline_flush(Pipeline *p)
{
        if (p->workers)
                workers_flush(p->workers, p->last_ts_us);
        else
                front_flush(&p->front, p->last_ts_us);
        tracker_flush(p->tracker, p->last_ts_us);
}

bool pipeline_reconfigure(Pipeline *p, const TrackerConfig *cfg)
{
        /* Between two frames, as with one worker. */
        if (p->workers)
                workers_sync(p->workers);
        return tracker_reconfigure(p->tracker, cfg);
}

void pipeline_get_stats(Pipeline *p, PipelineStats *out)
{
        uint64_t requests, responses;

        front_get_stats(&p->front, out);
        if (p->workers) {
                workers_sync(p->workers);
                workers_get_stats(p->workers, out);
        }
        /* The fronts' part of tracker.requests/responses: what they skipped. */
        requests = out->tracker.requests;
        responses = out->tracker.responses;
        tracker_get_stats(p->tracker, &out->tracker);
        out->tracker.requests += requests;
        out->tracker.responses += responses;
}
