/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * -r FILE|DIR...: read the capture files to their end on one thread, as
 * one stream in time order (inputs.c merges them; capture_file.c reads
 * gzip and zstd), capture -> pipeline -> sink, then exit. On a terminal a
 * progress line (progress.c); SIGUSR1 writes the counters to stderr and
 * goes on. The live service's capture thread + ring (lossless for files)
 * was measured against this with bench/bench_read.c on a 1,000,001-packet
 * bench/gen_workload.py capture (2 CPUs): one thread 36,000-56,000
 * packets/s, two threads 22,000-41,000. Reading a file costs little next
 * to the analysis, so a second thread only adds a copy into the ring and
 * cache traffic between cores.
 */
#pragma once

#include "options.h"

/* Returns the exit status (ExitStatus, error.h): 0 nothing diagnosed, 1 at least one
 * diagnosis, 2 error. */
int offline_run(const Options *o);
