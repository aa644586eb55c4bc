/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Inside the live service (service.h): its state, shared by the files that
 * split it by concern:
 *
 *   service.c          set-up, the event loop, drain, timers, signals, stop
 *   service_status.c   STATUS=, the counters (--stats, SIGUSR1), --metrics-file
 *   service_reload.c   SIGHUP: options and credentials read again
 *
 * Nothing outside daemon/service*.c includes this.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "capture_thread.h"
#include "engine.h"
#include "hep_listener.h"
#include "options.h"
#include "../analysis/ring.h"
#include "stats.h"

typedef struct {
        /* Settings in effect. Those a reload cannot change stay as started. */
        Options *o;
        int argc;
        char **argv;
        const char *default_config;

        sd_event *event;
        sd_event_source *tick, *status_timer, *watchdog, *duration, *wake_src, *metrics_timer;
        uint64_t watchdog_usec;

        Ring *ring;
        int wake_fd;
        CaptureThread *ct;
        unsigned capture_generation; /* status generation last reported */
        char iface[128];             /* escaped, for messages */
        HepListener *hep;
        char hep_addr[128];

        Engine *engine;  /* pipeline, sink, credentials, HEP out, --metrics-file */
        uint64_t frames; /* captured frames and HEP packets analysed (--count) */
        uint64_t discarded_at_stop;
        bool capture_failed; /* the live capture was lost: exit status 2 */
        bool stopping;
        int64_t stop_at_us; /* CLOCK_MONOTONIC of the stop request */

        uint64_t reloads, reload_failures;
        char reload_note[640]; /* shown in STATUS until the next reload */
        bool tls_hint_logged;
} Service;

/* ---- service_status.c ---- */

/* Every counter of the running service into *v (the arrays are its storage). */
void service_get_stats(Service *s, PipelineStats *ps, CaptureThreadStatus *cts, RingStats *rs,
                       uint64_t hl[STATS_HEP_LISTENER__MAX], StatsView *v);
/* sd_notify: extra (e.g. "READY=1\n", may be NULL), then STATUS=<one line>. */
void service_notify_status(Service *s, const char *extra);
/* --metrics-file: at start, every metrics_interval_usec() and at exit. */
void service_write_metrics(Service *s);

/* ---- service_reload.c ---- */

/*
 * SIGHUP: parse the command line and configuration again, load the
 * credentials again; apply what can change while running, keep the rest as
 * started and say so. Any error keeps the old settings whole.
 */
void service_reload(Service *s);
