/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Capture thread: pcap -> ring. See capture_thread.h.
 *
 * Locking: the mutex guards the published status. The Capture is set
 * before the thread starts and never replaced, so the analysis thread can
 * break a wait on it (capture_break() is safe from any thread). Nothing on
 * the per-packet path takes the lock: the thread reads and pushes,
 * lock-free, and publishes kernel counters about once a second.
 */
#include "capture_thread.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "escape.h"
#include "log.h"

#define WAIT_MS          250     /* longest pcap wait before the thread looks at its stop flag */
#define STATS_EVERY_US   1000000 /* kernel counters are published this often */
#define LOSSLESS_WAIT_NS 100000  /* capture file, full ring: wait this long for room */

struct CaptureThread {
        pthread_t thread;
        bool started;
        pthread_mutex_t lock;
        Capture *cap; /* set once before the thread starts */
        bool lossless;
        bool live;
        Ring *ring;
        int wake_fd;
        atomic_bool stop;
        CaptureThreadStatus st; /* guarded by lock */
};

static void wake(CaptureThread *t)
{
        uint64_t one = 1;
        ssize_t w = write(t->wake_fd, &one, sizeof(one));

        (void)w; /* EAGAIN: the counter is saturated, the reader is awake anyway */
}

static void publish_kernel(CaptureThread *t)
{
        CaptureStats cs;

        if (!t->live || !t->cap || capture_get_stats(t->cap, &cs) < 0)
                return;
        pthread_mutex_lock(&t->lock);
        t->st.kernel = cs;
        t->st.have_kernel = true;
        pthread_mutex_unlock(&t->lock);
}

static void set_state(CaptureThread *t, CaptureState s, const char *message)
{
        pthread_mutex_lock(&t->lock);
        t->st.state = s;
        t->st.generation++;
        if (message)
                escape_text(message, t->st.message, sizeof(t->st.message));
        else
                t->st.message[0] = '\0';
        pthread_mutex_unlock(&t->lock);
        wake(t);
}

static bool push(CaptureThread *t, const CapturePacket *pkt, uint32_t linktype)
{
        bool was_empty = false;

        if (t->lossless) {
                const struct timespec pause = {.tv_nsec = LOSSLESS_WAIT_NS};

                while (!ring_has_room(t->ring, pkt->caplen)) {
                        if (atomic_load(&t->stop))
                                return false;
                        nanosleep(&pause, NULL);
                }
        }
        if (ring_push(t->ring, pkt->ts_us, linktype, pkt->data, pkt->caplen, &was_empty) &&
            was_empty)
                wake(t);
        return true;
}

static void *thread_main(void *userdata)
{
        CaptureThread *t = userdata;
        int64_t last_stats = daemon_clock_us(CLOCK_MONOTONIC);
        uint32_t linktype = (uint32_t)capture_linktype(t->cap);
        unsigned since_check = 0;
        CapturePacket pkt;

        publish_kernel(t);
        for (;;) {
                int r;

                if (atomic_load(&t->stop))
                        break;
                r = capture_next(t->cap, &pkt, WAIT_MS);
                if (r == CAPTURE_PACKET) {
                        if (!push(t, &pkt, linktype))
                                break;
                        /* The clock is read every 256 packets, not per packet. */
                        if (++since_check < 256)
                                continue;
                        since_check = 0;
                }
                if (r == CAPTURE_END) {
                        if (!atomic_load(&t->stop))
                                set_state(t, CAPTURE_STATE_ENDED, NULL);
                        break;
                }
                if (r < 0) {
                        if (atomic_load(&t->stop))
                                break;
                        /* A live capture is not reopened here: that needs CAP_NET_RAW,
                         * which the process gave up. The last kernel figures stay. */
                        publish_kernel(t);
                        set_state(t, t->live ? CAPTURE_STATE_FAILED : CAPTURE_STATE_ENDED,
                                  capture_error(t->cap));
                        break;
                }
                if (t->live) {
                        int64_t now = daemon_clock_us(CLOCK_MONOTONIC);

                        if (now - last_stats >= STATS_EVERY_US) {
                                publish_kernel(t);
                                last_stats = now;
                        }
                }
        }
        publish_kernel(t);
        wake(t);
        return NULL;
}

int capture_thread_start(CaptureThread **out, Capture *cap, const CaptureThreadConfig *cfg,
                         Ring *ring, int wake_fd, char *err, size_t errlen)
{
        CaptureThread *t = calloc(1, sizeof(*t));
        sigset_t all, old;
        int r;

        if (!t) {
                capture_close(cap);
                return error_set(err, errlen, -ENOMEM, "out of memory");
        }
        pthread_mutex_init(&t->lock, NULL);
        t->cap = cap;
        t->live = capture_is_live(cap);
        t->lossless = cfg->lossless && !t->live;
        t->ring = ring;
        t->wake_fd = wake_fd;
        t->st.linktype = capture_linktype(cap);

        /* The thread takes no signal: they are the event loop's. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = -pthread_create(&t->thread, NULL, thread_main, t);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                error_set(err, errlen, r, "capture thread: %s", strerror(-r));
                capture_thread_free(t);
                return r;
        }
        t->started = true;
        *out = t;
        return 0;
}

void capture_thread_stop(CaptureThread *t)
{
        if (!t->started)
                return;
        atomic_store(&t->stop, true);
        capture_break(t->cap);
        pthread_join(t->thread, NULL);
        t->started = false;
}

CaptureThread *capture_thread_free(CaptureThread *t)
{
        if (!t)
                return NULL;
        capture_thread_stop(t);
        capture_close(t->cap);
        pthread_mutex_destroy(&t->lock);
        free(t);
        return NULL;
}

void capture_thread_get_status(CaptureThread *t, CaptureThreadStatus *out)
{
        pthread_mutex_lock(&t->lock);
        *out = t->st;
        pthread_mutex_unlock(&t->lock);
}
