/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Capture thread: pcap -> ring. See capture_thread.h.
 *
 * Locking: the mutex guards the Capture pointer (so that the analysis
 * thread can break a wait on it) and the published status. Nothing on the
 * per-packet path takes it: the thread reads and pushes, lock-free, and
 * publishes kernel counters about once a second.
 */
#include "capture_thread.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
#include "log.h"

#define WAIT_MS          250     /* longest pcap wait before the thread looks at its stop flag */
#define STATS_EVERY_US   1000000 /* kernel counters are published this often */
#define LOSSLESS_WAIT_NS 100000  /* capture file, full ring: wait this long for room */

struct CaptureThread {
        pthread_t thread;
        bool started;
        pthread_mutex_t lock;
        Capture *cap; /* guarded by lock when written; read freely by the thread */
        char *iface, *filter, *sip_ports;
        bool lossless;
        bool live;
        Ring *ring;
        int wake_fd;
        int stop_fd;
        atomic_bool stop;
        CaptureThreadStatus st; /* guarded by lock */
        CaptureStats base;      /* counters of the handles closed so far */
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
        t->st.kernel = (CaptureStats){
            .received = t->base.received + cs.received,
            .kernel_drops = t->base.kernel_drops + cs.kernel_drops,
            .if_drops = t->base.if_drops + cs.if_drops,
        };
        t->st.have_kernel = true;
        pthread_mutex_unlock(&t->lock);
}

static void set_state(CaptureThread *t, CaptureState s, const char *message, unsigned retry_ms)
{
        pthread_mutex_lock(&t->lock);
        t->st.state = s;
        t->st.generation++;
        t->st.retry_in_ms = retry_ms;
        if (message)
                escape_text(message, t->st.message, sizeof(t->st.message));
        else
                t->st.message[0] = '\0';
        pthread_mutex_unlock(&t->lock);
        wake(t);
}

/* Sleep ms or until stopped; true when stopped. */
static bool wait_stop(CaptureThread *t, unsigned ms)
{
        struct pollfd pfd = {.fd = t->stop_fd, .events = POLLIN};
        int r;

        if (atomic_load(&t->stop))
                return true;
        do
                r = poll(&pfd, 1, (int)ms);
        while (r < 0 && errno == EINTR && !atomic_load(&t->stop));
        return atomic_load(&t->stop);
}

static int reopen(CaptureThread *t, char *err, size_t n)
{
        Capture *c = NULL;
        int r;

        if (t->filter)
                r = capture_open_live(&c, t->iface, t->filter, err, n);
        else
                r = capture_open_live_ports(&c, t->iface, t->sip_ports, err, n);
        if (r < 0)
                return r;
        pthread_mutex_lock(&t->lock);
        t->cap = c;
        t->st.linktype = capture_linktype(c);
        pthread_mutex_unlock(&t->lock);
        return 0;
}

/*
 * The live capture failed: keep its counters, close it and retry with
 * backoff until it is back (true) or the thread is stopped (false).
 */
static bool recover(CaptureThread *t, const char *why)
{
        char err[512];
        unsigned delay = CAPTURE_RETRY_MIN_MS;
        Capture *old;

        publish_kernel(t); /* may fail on a vanished interface: the last figures stay */
        pthread_mutex_lock(&t->lock);
        t->base = t->st.kernel;
        t->st.losses++;
        old = t->cap;
        t->cap = NULL;
        pthread_mutex_unlock(&t->lock);
        capture_close(old);

        set_state(t, CAPTURE_STATE_LOST, why, delay);
        for (;;) {
                if (wait_stop(t, delay))
                        return false;
                if (reopen(t, err, sizeof(err)) == 0)
                        break;
                delay = delay * 2 > CAPTURE_RETRY_MAX_MS ? CAPTURE_RETRY_MAX_MS : delay * 2;
                set_state(t, CAPTURE_STATE_LOST, err, delay);
        }
        pthread_mutex_lock(&t->lock);
        t->st.reopens++;
        pthread_mutex_unlock(&t->lock);
        set_state(t, CAPTURE_STATE_RUNNING, NULL, 0);
        return true;
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
                                set_state(t, CAPTURE_STATE_ENDED, NULL, 0);
                        break;
                }
                if (r < 0) {
                        char why[sizeof(t->st.message)];

                        if (atomic_load(&t->stop))
                                break;
                        snprintf(why, sizeof(why), "%s", capture_error(t->cap));
                        if (!t->live) {
                                set_state(t, CAPTURE_STATE_ENDED, why, 0);
                                break;
                        }
                        if (!recover(t, why))
                                break;
                        linktype = (uint32_t)capture_linktype(t->cap);
                        last_stats = daemon_clock_us(CLOCK_MONOTONIC);
                        continue;
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

static char *dup_or_null(const char *s, bool *oom)
{
        char *c;

        if (!s)
                return NULL;
        c = strdup(s);
        if (!c)
                *oom = true;
        return c;
}

int capture_thread_start(CaptureThread **out, Capture *cap, const CaptureThreadConfig *cfg,
                         Ring *ring, int wake_fd, char *err, size_t errlen)
{
        CaptureThread *t = calloc(1, sizeof(*t));
        sigset_t all, old;
        bool oom = false;
        int r;

        if (!t) {
                capture_close(cap);
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        pthread_mutex_init(&t->lock, NULL);
        t->cap = cap;
        t->live = capture_is_live(cap);
        t->lossless = cfg->lossless && !t->live;
        t->ring = ring;
        t->wake_fd = wake_fd;
        t->st.linktype = capture_linktype(cap);
        t->iface = dup_or_null(cfg->iface, &oom);
        t->filter = dup_or_null(cfg->filter, &oom);
        t->sip_ports = dup_or_null(cfg->sip_ports, &oom);
        t->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (oom || t->stop_fd < 0 || (t->live && !t->iface)) {
                r = oom || (t->live && !t->iface) ? -ENOMEM : -errno;
                snprintf(err, errlen, "capture thread: %s", strerror(-r));
                capture_thread_free(t);
                return r;
        }

        /* The thread takes no signal: they are the event loop's. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = -pthread_create(&t->thread, NULL, thread_main, t);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                snprintf(err, errlen, "capture thread: %s", strerror(-r));
                capture_thread_free(t);
                return r;
        }
        t->started = true;
        *out = t;
        return 0;
}

void capture_thread_stop(CaptureThread *t)
{
        uint64_t one = 1;
        ssize_t w;

        if (!t->started)
                return;
        atomic_store(&t->stop, true);
        pthread_mutex_lock(&t->lock);
        if (t->cap)
                capture_break(t->cap);
        pthread_mutex_unlock(&t->lock);
        w = write(t->stop_fd, &one, sizeof(one));
        (void)w;
        pthread_join(t->thread, NULL);
        t->started = false;
}

CaptureThread *capture_thread_free(CaptureThread *t)
{
        if (!t)
                return NULL;
        capture_thread_stop(t);
        capture_close(t->cap);
        if (t->stop_fd >= 0)
                close(t->stop_fd);
        pthread_mutex_destroy(&t->lock);
        free(t->iface);
        free(t->filter);
        free(t->sip_ports);
        free(t);
        return NULL;
}

void capture_thread_get_status(CaptureThread *t, CaptureThreadStatus *out)
{
        pthread_mutex_lock(&t->lock);
        *out = t->st;
        pthread_mutex_unlock(&t->lock);
}
