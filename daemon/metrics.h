/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * --metrics-file: the counters of a run in the Prometheus text exposition
 * format (version 0.0.4), for node_exporter's textfile collector (DESIGN.md
 * "Monitoring", sipauthmon(8) MONITORING). Built from the StatsView that
 * --stats and SIGUSR1 print, so that the two cannot disagree. Labels take
 * values from fixed sets only (diagnosis codes, statuses, drop reasons,
 * table names, directions): never a user, an address or a nonce.
 *
 * The file is replaced atomically: written to a temporary file in the same
 * directory, made readable by all (node_exporter runs as another user),
 * fsync()ed and renamed over the old one, so that a reader sees either the
 * previous file or the new one whole.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "stats.h"

/* The live service writes the file this often, and once at start and at exit. */
#define METRICS_INTERVAL_S 15

/*
 * The period in µs: METRICS_INTERVAL_S, or for tests only the value of the
 * environment variable SIPAUTHMON_METRICS_INTERVAL_MS (10-3600000).
 */
uint64_t metrics_interval_usec(void);

/* Every metric family of *v, with HELP and TYPE lines, into f. */
void metrics_format(const StatsView *v, FILE *f);

/*
 * A label value as the text format wants it: backslash, double quote and
 * line feed escaped (\\, \", \n). Always NUL-terminates (n > 0); truncates on
 * an escape boundary. Returns the length written.
 */
size_t metrics_escape_label(const char *in, char *out, size_t n);

typedef struct MetricsFile MetricsFile;

/* NULL when out of memory. Nothing is opened yet. */
MetricsFile *metrics_file_new(const char *path);
MetricsFile *metrics_file_free(MetricsFile *m);

/*
 * Replace the file with the metrics of *v. A failure is counted
 * (metrics_file_failures()) and logged once until a write succeeds again;
 * it never stops the analysis. Returns 0 or a negative errno.
 */
int metrics_file_write(MetricsFile *m, const StatsView *v);

uint64_t metrics_file_failures(const MetricsFile *m);
