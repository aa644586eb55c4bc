/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The live service (DESIGN.md "Data flow"): a capture thread fills a ring,
 * the analysis runs on an sd-event loop in the calling thread, and the
 * service speaks the systemd notify protocol (Type=notify):
 *
 *   READY=1                 capture (and HEP listener) open, loop running
 *   STATUS=...              every STATUS_INTERVAL and on every change
 *   WATCHDOG=1              every WatchdogSec/2 when the watchdog is on
 *   RELOADING=1 ... READY=1 around SIGHUP
 *   STOPPING=1              on SIGTERM/SIGINT, --duration, --count
 *
 * Signals: SIGTERM/SIGINT stop (records pending are flushed), SIGHUP
 * re-reads the configuration and the credentials (a bad one is reported and
 * the old one kept), SIGUSR1 writes the counters to the journal.
 */
#pragma once

#include "options.h"

#define SERVICE_STATUS_INTERVAL_S 5

/*
 * Run until stopped. o: the parsed options (live capture and/or
 * --hep-listen); argc/argv/default_config are parsed again on SIGHUP.
 * Returns the exit status (ExitStatus, error.h): 0 nothing diagnosed, 1 at
 * least one diagnosis, 2 error.
 */
int service_run(Options *o, int argc, char **argv, const char *default_config);
