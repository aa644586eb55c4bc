/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The counters of a run, by name ("[a-z0-9_.]+"): --stats prints them on
 * stderr at exit, SIGUSR1 writes them to the journal while running. One list,
 * so that both always agree.
 *
 * One path for every counter: each module keeps its own in a plain struct,
 * pipeline_get_stats() gathers the analysis ones into a PipelineStats, the
 * daemon adds its own in a StatsView (engine_stats_view(), and for the
 * service service_get_stats()), and that view is what is read:
 * stats_foreach() names every counter (stats.c, one table per module
 * struct), metrics_format() picks the Prometheus families from it, and the
 * service's STATUS= line quotes it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "capture.h"
#include "../analysis/ring.h"
#include "../analysis/pipeline.h"

typedef struct {
        const PipelineStats *pipeline;
        uint64_t diagnoses; /* records handed to the sink */
        /* NULL, or DIAG__MAX values: the records the sink took, by code
         * (counted where sink_emit() succeeds: what was really written). */
        const uint64_t *written;
        const CaptureStats *capture;  /* NULL: no live capture */
        uint64_t capture_losses;      /* with capture: 1 when it failed (the service then exits) */
        const RingStats *ring;        /* NULL: no ring (capture file) */
        const uint64_t *hep_listener; /* NULL: none; else STATS_HEP_LISTENER__MAX values */
        uint64_t reloads, reload_failures;
        bool service; /* the live service: reload counters are shown */
        /* --hep-send: records sent as HEP packets. Whoever runs the sender
         * sets both where the view is built (service.c get_stats(),
         * offline.c offline_run()); sipauthmon_hep_packets_total{direction="out"}. */
        bool hep_send;
        uint64_t hep_sent;
        uint64_t hep_send_errors; /* sends that failed (hep_send.h HepSenderStats) */
        /* --metrics-file: writes that failed (metrics.h). */
        bool metrics;
        uint64_t metrics_write_failures;
} StatsView;

/* Order of the listener counters in StatsView.hep_listener. */
enum {
        STATS_HEP_LISTENER_PACKETS = 0,
        STATS_HEP_LISTENER_BYTES,
        STATS_HEP_LISTENER_CONNECTIONS,
        STATS_HEP_LISTENER_ERRORS,
        STATS_HEP_LISTENER_DROPPED,
        STATS_HEP_LISTENER_DENIED,
        STATS_HEP_LISTENER_PEER_CAP,
        STATS_HEP_LISTENER_EVICTED,
        STATS_HEP_LISTENER_DEADLINE,
        STATS_HEP_LISTENER_IDLE,
        STATS_HEP_LISTENER__MAX
};

typedef void (*StatFn)(const char *name, uint64_t value, void *userdata);

void stats_foreach(const StatsView *v, StatFn fn, void *userdata);

/*
 * SIP over TLS on 5061 was seen (PipelineStats.tls_suspected): say once, on
 * stderr, that only HEP copies can show it. No-op when there was none.
 */
void stats_tls_hint(const PipelineStats *ps);

/* "name value" lines, names padded to 32 columns. */
void stats_print(const StatsView *v, FILE *f);

/*
 * One journal entry: MESSAGE "counters: name=value ..." and one field
 * SIPAUTHMON_<NAME> per counter. -ENOTCONN when journald is not running (the
 * caller prints them instead), other negative errno on failure.
 */
int stats_journal(const StatsView *v);
