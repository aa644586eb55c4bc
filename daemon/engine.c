/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "engine.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "credentials_file.h"
#include "hep_send.h"
#include "log.h"
#include "metrics.h"

struct Engine {
        Pipeline *pipeline;
        Sink *sink;
        CredStore *creds;
        HepSender *hep_send;         /* --hep-send; NULL = none */
        MetricsFile *metrics;        /* --metrics-file; NULL = none */
        uint64_t diagnoses;          /* records the pipeline produced */
        uint64_t written[DIAG__MAX]; /* records the sink took, by code (--stats, metrics) */
        int sink_error;              /* first failure of the sink; output stops there */
        EngineOutputFailedFn output_failed;
        void *userdata;
        EngineBeforeRecordFn before_record; /* -r: erase the progress line */
        void *before_userdata;
};

int engine_new(Engine **out, const Options *o, char *err, size_t n)
{
        _cleanup_(engine_freep) Engine *e = calloc(1, sizeof(*e));
        int r;

        if (!e)
                return error_set(err, n, -ENOMEM, "out of memory");
        if (o->credentials) {
                r = credentials_file_load(o->credentials, &e->creds, err, n);
                if (r < 0)
                        return r;
                log_debug("%zu credentials loaded", credstore_count(e->creds));
        }
        *out = TAKE_PTR(e);
        return 0;
}

Engine *engine_free(Engine *e)
{
        if (!e)
                return NULL;
        pipeline_free(e->pipeline);
        credstore_free(e->creds);
        sink_free(e->sink);
        hep_sender_free(e->hep_send);
        metrics_file_free(e->metrics);
        free(e);
        return NULL;
}

int engine_open_hep_send(Engine *e, const Options *o, char *err, size_t n)
{
        if (!o->hep_send)
                return 0;
        return hep_sender_open(&e->hep_send, o->hep_send, o->hep_id, o->hep_auth.key,
                               o->hep_auth.key_len, err, n);
}

/*
 * Table hash key: random, so that nobody on the wire can aim Call-IDs or
 * branches at one hash chain. Only the layout of the tables depends on it,
 * never the output. Without entropy yet (early boot), keep the default
 * mixed with what little varies.
 */
static uint64_t hash_seed(uint64_t fallback)
{
        uint64_t seed;

        if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
                return seed;
        return fallback ^ (uint64_t)daemon_clock_us(CLOCK_MONOTONIC) ^ ((uint64_t)getpid() << 32);
}

/* What the options ask of the tracker, at start and at every reload. */
static void tracker_config(const Options *o, CredStore *creds, TrackerConfig *tc)
{
        tracker_config_default(tc);
        options_tracker_config(o, tc);
        tc->credentials = creds;
}

static void on_diagnosis(const Diagnosis *d, void *userdata)
{
        Engine *e = userdata;
        int r;

        e->diagnoses++;
        if (e->sink_error)
                return;
        if (e->before_record)
                e->before_record(e->before_userdata);
        r = sink_emit(e->sink, d);
        if (r < 0) {
                e->sink_error = r;
                if (e->output_failed)
                        e->output_failed(e->userdata); /* nowhere to write: stop */
                return;
        }
        if ((unsigned)d->code < DIAG__MAX)
                e->written[d->code]++;
        hep_sender_send(e->hep_send, d); /* what the sink wrote, no more */
}

int engine_start(Engine *e, const Options *o, EngineOutputFailedFn fn, void *userdata)
{
        PipelineConfig pc = {.parser =
                                 o->parser_full ? PIPELINE_PARSER_FULL : PIPELINE_PARSER_FAST};
        bool color = o->output == SINK_TEXT && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");

        e->output_failed = fn;
        e->userdata = userdata;
        tracker_config(o, e->creds, &pc.tracker);
        pc.tracker.hash_seed = hash_seed(pc.tracker.hash_seed);
        options_hep_config(o, &pc.hep);
        pc.workers = o->workers;
        /* Checked by the options already; the default list when unset. */
        (void)websocket_ports_parse(o->ws_ports ? o->ws_ports : WEBSOCKET_DEFAULT_PORTS,
                                    &pc.tcp.ws_ports);
        e->sink = sink_new(o->output, STDOUT_FILENO, color);
        /* The ladder: text on a terminal unless told (--ladder, --no-ladder). */
        sink_set_ladder(e->sink, o->ladder < 0 ? isatty(STDOUT_FILENO) : o->ladder > 0);
        e->pipeline = pipeline_new_config(&pc, on_diagnosis, e);
        if (o->metrics_file)
                e->metrics = metrics_file_new(o->metrics_file);
        if (!e->sink || !e->pipeline || (o->metrics_file && !e->metrics))
                return -ENOMEM;
        return 0;
}

void engine_set_before_record(Engine *e, EngineBeforeRecordFn fn, void *userdata)
{
        e->before_record = fn;
        e->before_userdata = userdata;
}

Pipeline *engine_pipeline(Engine *e)
{
        return e->pipeline;
}

bool engine_output_failed(const Engine *e)
{
        return e->sink_error != 0;
}

void engine_flush(Engine *e)
{
        int r;

        if (!e->sink_error)
                pipeline_flush(e->pipeline);
        if (!e->sink_error) {
                r = sink_flush(e->sink);
                if (r < 0)
                        e->sink_error = r;
        }
}

void engine_stats_view(Engine *e, PipelineStats *ps, StatsView *v)
{
        pipeline_get_stats(e->pipeline, ps);
        *v = (StatsView){.pipeline = ps, .diagnoses = e->diagnoses, .written = e->written};
        if (e->metrics) {
                v->metrics = true;
                v->metrics_write_failures = metrics_file_failures(e->metrics);
        }
        if (e->hep_send) {
                HepSenderStats hs;

                hep_sender_get_stats(e->hep_send, &hs);
                v->hep_send = true;
                v->hep_sent = hs.packets;
                v->hep_send_errors = hs.errors;
        }
}

void engine_write_metrics(Engine *e, StatsView *v)
{
        if (!e->metrics)
                return;
        metrics_file_write(e->metrics, v); /* a failure is counted and logged there */
        v->metrics_write_failures = metrics_file_failures(e->metrics);
}

bool engine_reconfigure(Engine *e, const Options *n, CredStore *creds, Sink *sink)
{
        TrackerConfig tc;
        bool ok;

        /* The tables and their hash seed stay; credentials (or none), thresholds, window, limits.
         */
        tracker_config(n, creds, &tc);
        ok = pipeline_reconfigure(e->pipeline, &tc);
        credstore_free(e->creds);
        e->creds = creds;
        if (sink) {
                (void)sink_flush(e->sink); /* what the old one still holds */
                sink_free(e->sink);
                e->sink = sink;
                e->sink_error = 0;
        }
        return ok;
}

ExitStatus engine_exit_status(const Engine *e, bool input_failed, const char *why)
{
        log_debug("%" PRIu64 " diagnoses", e->diagnoses);
        if (e->sink_error && e->sink_error != -EPIPE) {
                log_error("cannot write output: %s", strerror(-e->sink_error));
                return EXIT_ERROR;
        }
        if (input_failed) {
                if (why)
                        log_error("%s", why);
                return EXIT_ERROR;
        }
        return e->diagnoses > 0 ? EXIT_DIAGNOSED : EXIT_NOTHING;
}
