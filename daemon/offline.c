/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "offline.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "clock.h"
#include "engine.h"
#include "error.h"
#include "inputs.h"
#include "log.h"
#include "macro.h"
#include "progress.h"
#include "stats.h"

#define PROGRESS_EVERY 16 /* packets between looks at the clock for the display */

static volatile sig_atomic_t got_signal; /* SIGINT, SIGTERM: stop */
static volatile sig_atomic_t got_usr1;   /* SIGUSR1: the counters now, and go on */

static void on_signal(int sig)
{
        got_signal = sig; /* nothing else: the loop looks at it */
}

static void on_usr1(int sig)
{
        (void)sig;
        got_usr1 = 1;
}

static int setup_signals(void)
{
        struct sigaction sa = {.sa_handler = on_signal};
        struct sigaction usr1 = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
        struct sigaction ign = {.sa_handler = SIG_IGN};

        /* No SA_RESTART: a signal must interrupt a read from stdin so that we stop.
         * SIGUSR1 restarts it: the run goes on as if nothing happened. */
        sigemptyset(&sa.sa_mask);
        sigemptyset(&usr1.sa_mask);
        sigemptyset(&ign.sa_mask);
        if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ||
            sigaction(SIGUSR1, &usr1, NULL) < 0)
                return -errno;
        /* A closed stdout (| head -1) must show up as EPIPE from the sink. */
        if (sigaction(SIGPIPE, &ign, NULL) < 0)
                return -errno;
        return 0;
}

typedef struct {
        const Options *o;
        Engine *e;
        Inputs *in;
        Progress *progress; /* NULL: no display */
        uint64_t packets;
} Run;

/* SIGUSR1: what the service writes to the journal, to stderr (sipauthmon(8) SIGNALS). */
static void write_counters(Run *run)
{
        PipelineStats ps;
        StatsView v;

        got_usr1 = 0;
        progress_clear(run->progress);
        engine_stats_view(run->e, &ps, &v);
        fputs("sipauthmon: counters:\n", stderr);
        stats_print(&v, stderr);
        fflush(stderr);
}

static void show_progress(Run *run)
{
        int64_t now = daemon_clock_us(CLOCK_MONOTONIC);
        ProgressState st = {.packets = run->packets};
        PipelineStats ps;
        StatsView v;

        if (!progress_due(run->progress, now))
                return;
        engine_stats_view(run->e, &ps, &v);
        st.diagnoses = v.diagnoses;
        inputs_progress(run->in, &st.bytes_done, &st.bytes_total);
        progress_draw(run->progress, &st, now);
}

/*
 * Feed every packet of the merged inputs to the pipeline until they end,
 * --count is reached, a stop signal arrives or output fails.
 */
static void run_inputs(Run *run)
{
        Pipeline *p = engine_pipeline(run->e);
        InputPacket ip;

        for (;;) {
                if (got_usr1)
                        write_counters(run);
                if (got_signal) {
                        log_debug("signal %d: stopping", (int)got_signal);
                        return;
                }
                if (engine_output_failed(run->e))
                        return;
                if (inputs_next(run->in, &ip) != CAPTURE_PACKET)
                        return;

                /* Expiry is the pipeline's, by the frames' time (pipeline.h). */
                pipeline_frame(p, ip.linktype, ip.pkt.ts_us, ip.pkt.data, ip.pkt.caplen);
                run->packets++;
                if (run->progress && run->packets % PROGRESS_EVERY == 0)
                        show_progress(run);
                if (run->o->count && run->packets >= run->o->count) {
                        log_debug("--count reached");
                        return;
                }
        }
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

static void before_record(void *userdata)
{
        progress_clear(userdata); /* the record on the terminal, not after the line */
}

/* A terminal on stderr, and not -q. */
static Progress *progress_wanted(const Options *o, Engine *e)
{
        Progress *p;

        if (o->quiet || !isatty(STDERR_FILENO))
                return NULL;
        p = progress_new(STDERR_FILENO);
        if (p && isatty(STDOUT_FILENO))
                engine_set_before_record(e, before_record, p);
        return p;
}

static int setup(const Options *o, Engine **e)
{
        char err[OPTIONS_ERR_MAX];
        int r;

        r = setup_signals();
        if (r < 0) {
                log_error("sigaction: %s", strerror(-r));
                return r;
        }
        r = engine_new(e, o, err, sizeof(err));
        if (r >= 0)
                r = engine_open_hep_send(*e, o, err, sizeof(err));
        if (r < 0)
                log_error("%s", err);
        return r;
}

int offline_run(const Options *o)
{
        _cleanup_(inputs_freep) Inputs *in = NULL;
        _cleanup_(progress_freep) Progress *progress = NULL; /* after e, which may call it */
        _cleanup_(engine_freep) Engine *e = NULL;
        char *const *paths = o->n_reads ? o->reads : &o->source; /* -r, or the config's read */
        size_t n = o->n_reads ? o->n_reads : 1;
        Run run;

        if (setup(o, &e) < 0)
                return EXIT_ERROR;
        if (inputs_open(&in, paths, n, o->filter, &got_signal) < 0) {
                log_error("out of memory");
                return EXIT_ERROR;
        }
        if (inputs_count(in) == 0) /* every input failed, and said why */
                return EXIT_ERROR;
        log_debug("threshold %u, window %u s, output %s", o->threshold, o->window_s,
                  sink_kind_name(o->output));
        if (engine_start(e, o, NULL, NULL) < 0) {
                log_error("out of memory");
                return EXIT_ERROR;
        }

        progress = progress_wanted(o, e);
        inputs_set_progress(in, progress);
        run = (Run){.o = o, .e = e, .in = in, .progress = progress};
        run_inputs(&run);
        progress_clear(progress);
        if (got_usr1) /* arrived during the last read */
                write_counters(&run);

        /* End of input, however it came: records still pending (a rate-limit
         * summary) are emitted, and whatever was diagnosed before a failure is
         * still written out. */
        engine_flush(e);
        report(o, e);
        return engine_exit_status(e, inputs_failed(in), NULL);
}
