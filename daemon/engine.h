/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The analysis as both modes run it, -r FILE (offline.c) and the live
 * service (service.c, and its SIGHUP reload): the tracker and pipeline
 * configured from the options, the sink, the credentials, HEP out and
 * --metrics-file, and the one callback every record goes through:
 *
 *   Pipeline ──record──▶ sink (stdout or journald)
 *                          ├─▶ written[code]++   (--stats, --metrics-file)
 *                          └─▶ HEP out           (what the sink took, no more)
 *
 * Set up in three steps, so that each mode keeps its order: engine_new()
 * loads the credentials (before privileges are dropped), engine_open_hep_send()
 * opens the HEP-out socket, engine_start() builds the sink and the pipeline.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "macro.h"
#include "options.h"
#include "sink.h"
#include "stats.h"
#include "../analysis/credentials.h"
#include "../analysis/pipeline.h"

typedef struct Engine Engine;

/* The output failed (the sink returned an error): nothing more is written. */
typedef void (*EngineOutputFailedFn)(void *userdata);

/*
 * --credentials, when set (logged at debug level). Returns 0, or a negative
 * errno with one line in err.
 */
int engine_new(Engine **out, const Options *o, char *err, size_t n);
Engine *engine_free(Engine *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Engine *, engine_free);

/* --hep-send, when set: its socket. Returns 0, or a negative errno with one line in err. */
int engine_open_hep_send(Engine *e, const Options *o, char *err, size_t n);

/*
 * The sink on stdout (text in colour on a terminal unless NO_COLOR is set),
 * the pipeline (tracker with a random hash seed) and the --metrics-file
 * writer. fn (may be NULL) hears once when the output fails. -ENOMEM.
 */
int engine_start(Engine *e, const Options *o, EngineOutputFailedFn fn, void *userdata);

/* fn (NULL: none) hears just before each record goes to the sink (offline.c:
 * the progress line is erased first when the records share its terminal). */
typedef void (*EngineBeforeRecordFn)(void *userdata);
void engine_set_before_record(Engine *e, EngineBeforeRecordFn fn, void *userdata);

Pipeline *engine_pipeline(Engine *e);
/* The sink failed: the input may stop. */
bool engine_output_failed(const Engine *e);

/* End of input: records still pending (a rate-limit summary), then the sink's buffer. */
void engine_flush(Engine *e);

/* The counters the engine knows of (pipeline, records, HEP out, metrics writes) into *v. */
void engine_stats_view(Engine *e, PipelineStats *ps, StatsView *v);
/* --metrics-file: replace it with *v (a failure is logged and counted there, and in *v). */
void engine_write_metrics(Engine *e, StatsView *v);

/*
 * SIGHUP: the thresholds, window and limits of n, the credentials creds (may
 * be NULL) and, when not NULL, the sink that replaces the running one; creds
 * and sink are taken. false when a table could not be enlarged (those keep
 * their size); everything else is applied all the same.
 */
bool engine_reconfigure(Engine *e, const Options *n, CredStore *creds, Sink *sink);

/*
 * The exit status of a run that got this far (the number of records logged
 * at debug level): EXIT_ERROR when the output failed (but for a closed pipe)
 * or input_failed (why, when not NULL, is logged), else EXIT_DIAGNOSED or
 * EXIT_NOTHING.
 */
ExitStatus engine_exit_status(const Engine *e, bool input_failed, const char *why);
