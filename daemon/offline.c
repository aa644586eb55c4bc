/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "offline.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "capture.h"
#include "engine.h"
#include "error.h"
#include "escape.h"
#include "log.h"
#include "macro.h"
#include "stats.h"

#define TICK_US 1000000 /* pipeline housekeeping every second of packet time */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
        got_signal = sig; /* nothing else: the loop looks at it */
}

static int setup_signals(void)
{
        struct sigaction sa = {.sa_handler = on_signal};
        struct sigaction ign = {.sa_handler = SIG_IGN};

        /* No SA_RESTART: a signal must interrupt a read from stdin so that we stop. */
        sigemptyset(&sa.sa_mask);
        sigemptyset(&ign.sa_mask);
        if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
                return -errno;
        /* A closed stdout (| head -1) must show up as EPIPE from the sink. */
        if (sigaction(SIGPIPE, &ign, NULL) < 0)
                return -errno;
        return 0;
}

/*
 * Feed every packet to the pipeline until the file ends, --count is
 * reached, a signal arrives or output fails. Returns 0 or the negative errno
 * of a capture failure (message in capture_error()).
 */
static int run_capture(const Options *o, Capture *cap, Engine *e)
{
        const int linktype = capture_linktype(cap);
        Pipeline *p = engine_pipeline(e);
        int64_t last_tick = INT64_MIN;
        uint64_t packets = 0;
        CapturePacket pkt;

        for (;;) {
                int r;

                if (got_signal) {
                        log_debug("signal %d: stopping", (int)got_signal);
                        return 0;
                }
                if (engine_output_failed(e))
                        return 0;
                r = capture_next(cap, &pkt, -1);
                if (r < 0 && got_signal)
                        continue; /* a read from stdin interrupted by the signal: just stop */
                if (r < 0)
                        return r;
                if (r == CAPTURE_END)
                        return 0;
                if (r == CAPTURE_AGAIN)
                        continue;

                /* Expire before the packet so that stale state does not meet it. */
                if (last_tick == INT64_MIN)
                        last_tick = pkt.ts_us;
                else if (pkt.ts_us - last_tick >= TICK_US) {
                        pipeline_tick(p, pkt.ts_us);
                        last_tick = pkt.ts_us;
                }
                pipeline_frame(p, linktype, pkt.ts_us, pkt.data, pkt.caplen);
                if (o->count && ++packets >= o->count) {
                        log_debug("--count reached");
                        return 0;
                }
        }
}

static int open_capture(const Options *o, Capture **cap)
{
        char err[1024];
        char lt[128], name[256];
        int r;

        r = capture_open_file(cap, o->source, o->filter, err, sizeof(err));
        if (r < 0) {
                log_error("%s", err);
                return r;
        }
        escape_text(strcmp(o->source, "-") == 0 ? "stdin" : o->source, name, sizeof(name));
        log_debug("reading %s, link type %s, filter: %s", name,
                  capture_linktype_describe(capture_linktype(*cap), lt, sizeof(lt)),
                  capture_filter(*cap) ? capture_filter(*cap) : "(none)");
        return 0;
}

/* End of input, however it came: the counters (--metrics-file, --stats). */
static void report(const Options *o, Engine *e)
{
        PipelineStats ps;
        StatsView v;

        engine_stats_view(e, &ps, &v);
        stats_tls_hint(&ps);
        engine_write_metrics(e, &v); /* a failure changes neither the output nor the exit status */
        if (o->stats)
                stats_print(&v, stderr);
}

int offline_run(const Options *o)
{
        _cleanup_(capture_closep) Capture *cap = NULL;
        _cleanup_(engine_freep) Engine *e = NULL;
        char err[OPTIONS_ERR_MAX];
        int r;

        r = setup_signals();
        if (r < 0) {
                log_error("sigaction: %s", strerror(-r));
                return EXIT_ERROR;
        }
        r = engine_new(&e, o, err, sizeof(err));
        if (r >= 0)
                r = engine_open_hep_send(e, o, err, sizeof(err));
        if (r < 0) {
                log_error("%s", err);
                return EXIT_ERROR;
        }
        r = open_capture(o, &cap);
        if (r < 0)
                return EXIT_ERROR;
        log_debug("threshold %u, window %u s, output %s", o->threshold, o->window_s,
                  sink_kind_name(o->output));
        if (engine_start(e, o, NULL, NULL) < 0) {
                log_error("out of memory");
                return EXIT_ERROR;
        }

        r = run_capture(o, cap, e);

        /* End of input, however it came: records still pending (a rate-limit
         * summary) are emitted, and whatever was diagnosed before a failure is
         * still written out. */
        engine_flush(e);
        report(o, e);
        return engine_exit_status(e, r < 0, capture_error(cap));
}
