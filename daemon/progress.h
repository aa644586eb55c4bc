/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The one-line progress display of an offline run (-r) on a terminal's
 * stderr: redrawn in place (carriage return) at most PROGRESS_INTERVAL_US
 * apart, erased at the end or before other text goes to stderr. It shows the
 * bytes read as a percentage of the total (the packets read when the size is
 * unknown: stdin, a pipe), packets per second, the diagnoses so far and the
 * time left. Never on stdout.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define PROGRESS_INTERVAL_US 250000 /* at most four redraws a second */

typedef struct {
        uint64_t packets;
        uint64_t diagnoses;
        uint64_t bytes_done;
        uint64_t bytes_total; /* 0: unknown */
        int64_t elapsed_us;
} ProgressState;

typedef struct Progress Progress;

/* fd: where to draw (STDERR_FILENO). */
Progress *progress_new(int fd);
Progress *progress_free(Progress *p); /* erases the line */
DEFINE_TRIVIAL_CLEANUP_FUNC(Progress *, progress_free);

/* True when a redraw is due at now_us (daemon_clock_us(CLOCK_MONOTONIC)). */
bool progress_due(Progress *p, int64_t now_us);
/* Draw s (elapsed_us is filled in here). */
void progress_draw(Progress *p, ProgressState *s, int64_t now_us);
/* Erase the line, if one is shown (before other text goes to stderr). */
void progress_clear(Progress *p);
