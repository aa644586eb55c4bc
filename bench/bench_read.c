/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Offline reading, one thread against two: is `sipauthmon -r` faster with
 * the capture thread and ring of the live service (daemon/capture_thread.c,
 * lossless mode: the producer waits for room instead of dropping) than with
 * capture and analysis on one thread (daemon/offline.c)? Prints figures; not
 * a pass/fail test.
 *
 *   bench_read single|threaded FILE [REPEAT]
 *
 * Both run the same Pipeline with default settings and discard diagnoses.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "capture_thread.h"
#include "ring.h"
#include "../analysis/pipeline.h"

static uint64_t diagnoses;

static void on_diagnosis(const Diagnosis *d, void *userdata)
{
        (void)d;
        (void)userdata;
        diagnoses++;
}

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static Pipeline *new_pipeline(void)
{
        TrackerConfig tc;

        tracker_config_default(&tc);
        return pipeline_new(&tc, on_diagnosis, NULL);
}

static int run_single(const char *path, uint64_t *packets)
{
        char err[512];
        Capture *cap = NULL;
        Pipeline *p = new_pipeline();
        CapturePacket pkt;
        int r;

        if (!p || capture_open_file(&cap, path, NULL, err, sizeof(err)) < 0) {
                fprintf(stderr, "%s\n", p ? err : "out of memory");
                pipeline_free(p);
                return -1;
        }
        while ((r = capture_next(cap, &pkt, -1)) == CAPTURE_PACKET) {
                pipeline_frame(p, capture_linktype(cap), pkt.ts_us, pkt.data, pkt.caplen);
                (*packets)++;
        }
        pipeline_flush(p);
        capture_close(cap);
        pipeline_free(p);
        return r < 0 ? -1 : 0;
}

static int run_threaded(const char *path, uint64_t *packets)
{
        char err[512];
        Capture *cap = NULL;
        CaptureThread *ct = NULL;
        CaptureThreadConfig cc = {.lossless = true};
        CaptureThreadStatus st;
        Pipeline *p = new_pipeline();
        Ring *ring = ring_new(RING_SIZE_DEFAULT);
        int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        RingRecord rec;
        uint64_t v;
        int rc = -1;

        if (!p || !ring || efd < 0 || capture_open_file(&cap, path, NULL, err, sizeof(err)) < 0) {
                fprintf(stderr, "%s\n", efd < 0 || !p || !ring ? "set-up failed" : err);
                goto out;
        }
        if (capture_thread_start(&ct, cap, &cc, ring, efd, err, sizeof(err)) < 0) {
                fprintf(stderr, "%s\n", err);
                goto out;
        }
        for (;;) {
                struct pollfd pfd = {.fd = efd, .events = POLLIN};

                while (ring_peek(ring, &rec)) {
                        pipeline_frame(p, (int)rec.tag, rec.ts_us, rec.data, rec.len);
                        ring_pop(ring);
                        (*packets)++;
                }
                capture_thread_get_status(ct, &st);
                if (st.state == CAPTURE_STATE_ENDED && !ring_peek(ring, &rec))
                        break;
                if (poll(&pfd, 1, 100) > 0 && read(efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                        break;
        }
        pipeline_flush(p);
        rc = 0;
out:
        capture_thread_free(ct);
        pipeline_free(p);
        ring_free(ring);
        if (efd >= 0)
                close(efd);
        return rc;
}

int main(int argc, char **argv)
{
        int repeat = argc > 3 ? atoi(argv[3]) : 3; /* a benchmark argument, not input */
        bool threaded;

        if (argc < 3 || (strcmp(argv[1], "single") != 0 && strcmp(argv[1], "threaded") != 0) ||
            repeat < 1) {
                fprintf(stderr, "usage: bench_read single|threaded FILE [REPEAT]\n");
                return 2;
        }
        threaded = strcmp(argv[1], "threaded") == 0;
        for (int i = 0; i < repeat; i++) {
                uint64_t packets = 0;
                double t0 = now_s(), dt;
                int r = threaded ? run_threaded(argv[2], &packets) : run_single(argv[2], &packets);

                dt = now_s() - t0;
                if (r < 0)
                        return 1;
                printf("%-8s run %d: %" PRIu64 " packets in %.3f s = %.0f packets/s, %" PRIu64
                       " diagnoses\n",
                       argv[1], i + 1, packets, dt, (double)packets / dt, diagnoses);
                diagnoses = 0;
        }
        return 0;
}
