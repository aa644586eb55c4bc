/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "offline.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "credentials_file.h"
#include "escape.h"
#include "hep_send.h"
#include "log.h"
#include "metrics.h"
#include "sink.h"
#include "stats.h"
#include "../analysis/pipeline.h"

#define EXIT_DIAGNOSED 1
#define EXIT_ERROR     2

#define TICK_US 1000000 /* pipeline housekeeping every second of packet time */

static volatile sig_atomic_t got_signal;

typedef struct {
        Sink *sink;
        HepSender *hep;              /* --hep-send; NULL = none */
        uint64_t diagnoses;          /* records the pipeline produced */
        uint64_t written[DIAG__MAX]; /* records the sink took, by code (--stats, metrics) */
        int sink_error;              /* first failure of the sink; output stops there */
} Run;

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

static void on_diagnosis(const Diagnosis *d, void *userdata)
{
        Run *run = userdata;
        int r;

        run->diagnoses++;
        if (run->sink_error)
                return;
        r = sink_emit(run->sink, d);
        if (r < 0) {
                run->sink_error = r;
                return;
        }
        if ((unsigned)d->code < DIAG__MAX)
                run->written[d->code]++;
        hep_sender_send(run->hep, d); /* what the sink wrote, no more */
}

/* --metrics-file: once, at the end of the input. A failure is logged and
 * counted (--stats), and changes neither the output nor the exit status. */
static void write_metrics(const char *path, StatsView *v)
{
        MetricsFile *m = metrics_file_new(path);

        if (!m) {
                log_error("out of memory");
                return;
        }
        v->metrics = true;
        metrics_file_write(m, v);
        v->metrics_write_failures = metrics_file_failures(m);
        metrics_file_free(m);
}

/*
 * Feed every packet to the pipeline until the file ends, --count is
 * reached, a signal arrives or output fails. Returns 0 or the negative errno
 * of a capture failure (message in capture_error()).
 */
static int run_capture(const Options *o, Capture *cap, Pipeline *p, Run *run)
{
        const int linktype = capture_linktype(cap);
        int64_t last_tick = INT64_MIN;
        uint64_t packets = 0;
        CapturePacket pkt;

        for (;;) {
                int r;

                if (got_signal) {
                        log_debug("signal %d: stopping", (int)got_signal);
                        return 0;
                }
                if (run->sink_error)
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

int offline_run(const Options *o)
{
        char err[OPTIONS_ERR_MAX];
        TrackerConfig tc;
        Run run = {0};
        Capture *cap = NULL;
        Pipeline *p = NULL;
        CredStore *creds = NULL;
        bool color;
        int r, status = EXIT_ERROR, cap_r;

        r = setup_signals();
        if (r < 0) {
                log_error("sigaction: %s", strerror(-r));
                goto out;
        }
        if (o->credentials) {
                r = credentials_file_load(o->credentials, &creds, err, sizeof(err));
                if (r < 0) {
                        log_error("%s", err);
                        goto out;
                }
                log_debug("%zu credentials loaded", credstore_count(creds));
        }
        if (o->hep_send) {
                r = hep_sender_open(&run.hep, o->hep_send, o->hep_id, o->hep_auth.key,
                                    o->hep_auth.key_len, err, sizeof(err));
                if (r < 0) {
                        log_error("%s", err);
                        goto out;
                }
        }
        r = open_capture(o, &cap);
        if (r < 0)
                goto out;

        tracker_config_default(&tc);
        tc.hash_seed = daemon_hash_seed(tc.hash_seed);
        options_tracker_config(o, &tc);
        tc.credentials = creds;
        log_debug("threshold %u, window %u s, output %s", o->threshold, o->window_s,
                  sink_kind_name(o->output));

        color = o->output == SINK_TEXT && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
        run.sink = sink_new(o->output, STDOUT_FILENO, color);
        PipelineConfig pc = {.tracker = tc};
        pc.parser = o->parser_full ? PIPELINE_PARSER_FULL : PIPELINE_PARSER_FAST;
        options_hep_config(o, &pc.hep);
        p = pipeline_new_config(&pc, on_diagnosis, &run);
        if (!run.sink || !p) {
                log_error("out of memory");
                goto out;
        }

        cap_r = run_capture(o, cap, p, &run);

        /* End of input, however it came: records still pending (a rate-limit
         * summary) are emitted, and whatever was diagnosed before a failure is
         * still written out. */
        if (!run.sink_error)
                pipeline_flush(p);
        if (!run.sink_error) {
                r = sink_flush(run.sink);
                if (r < 0)
                        run.sink_error = r;
        }
        {
                PipelineStats ps;
                StatsView v;

                pipeline_get_stats(p, &ps);
                stats_tls_hint(&ps);
                v = (StatsView){
                    .pipeline = &ps, .diagnoses = run.diagnoses, .written = run.written};
                if (run.hep) {
                        HepSenderStats hs;

                        hep_sender_get_stats(run.hep, &hs);
                        v.hep_send = true;
                        v.hep_sent = hs.packets;
                        v.hep_send_errors = hs.errors;
                }
                if (o->metrics_file)
                        write_metrics(o->metrics_file, &v);
                if (o->stats)
                        stats_print(&v, stderr);
        }
        log_debug("%" PRIu64 " diagnoses", run.diagnoses);

        if (run.sink_error && run.sink_error != -EPIPE) {
                log_error("cannot write output: %s", strerror(-run.sink_error));
                status = EXIT_ERROR;
        } else if (cap_r < 0) {
                log_error("%s", capture_error(cap));
                status = EXIT_ERROR;
        } else
                status = run.diagnoses > 0 ? EXIT_DIAGNOSED : EXIT_SUCCESS;

out:
        p = pipeline_free(p);
        creds = credstore_free(creds);
        run.sink = sink_free(run.sink);
        run.hep = hep_sender_free(run.hep);
        cap = capture_close(cap);
        return status;
}
