/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The capture thread (DESIGN.md "Data flow"): it owns the pcap handle and
 * does nothing but copy frames into the ring. It never waits for the
 * analysis: a full ring is a counted drop. The analysis thread is woken
 * through wake_fd (an eventfd) when the ring goes non-empty and when the
 * state below changes.
 *
 * A live capture that fails (the interface was deleted or went down) ends
 * the thread in CAPTURE_STATE_FAILED: it is not reopened, since the
 * process gave CAP_NET_RAW up once the capture was open (daemon/privileges.h);
 * the service exits with an error and the service manager restarts it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "../analysis/ring.h"

typedef struct CaptureThread CaptureThread;

typedef enum {
        CAPTURE_STATE_RUNNING = 0,
        CAPTURE_STATE_ENDED,  /* end of file, or stopped */
        CAPTURE_STATE_FAILED, /* a live capture failed (message says why); the thread ended */
} CaptureState;

typedef struct {
        /* A capture file: wait for room in the ring instead of dropping (never for live). */
        bool lossless;
} CaptureThreadConfig;

typedef struct {
        CaptureState state;
        unsigned generation; /* changes with every state change */
        char message[640];   /* why the capture failed or ended (escaped), "" when running */
        CaptureStats kernel;
        bool have_kernel;
        int linktype;
} CaptureThreadStatus;

/*
 * Start the thread on an open capture (taken over, also on failure). The
 * caller blocks the signals it handles before calling, so that the thread
 * inherits the mask. ring and wake_fd are not owned and must outlive it.
 */
int capture_thread_start(CaptureThread **out, Capture *cap, const CaptureThreadConfig *cfg,
                         Ring *ring, int wake_fd, char *err, size_t errlen);

/* Stop and join (promptly: the pcap wait is broken); the status stays readable. */
void capture_thread_stop(CaptureThread *t);

/* capture_thread_stop(), then free; NULL-tolerant. Returns NULL. */
CaptureThread *capture_thread_free(CaptureThread *t);

void capture_thread_get_status(CaptureThread *t, CaptureThreadStatus *out);
