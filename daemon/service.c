/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The live service. Threads and who owns what:
 *
 *   capture thread            main thread (sd-event loop)
 *   ──────────────            ───────────────────────────
 *   Capture (pcap)  ──ring──▶ wake eventfd ─▶ drain ─▶ Pipeline ─▶ Sink
 *                  ─wake fd─▶                 HEP listener ─▶ Pipeline
 *                             signals, timers (tick, STATUS, watchdog,
 *                             --duration), sd_notify, reload
 *
 * Everything but the ring and the capture thread's published status lives
 * on the main thread only. The event loop gives signals priority over the
 * drain, and the drain works in batches, so a stop request is seen within a
 * batch even under a packet flood.
 */
#include "service.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/types.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "clock.h"
#include "error.h"
#include "escape.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"
#include "privileges.h"
#include "service_internal.h"

#define TICK_USEC       1000000ULL /* pipeline housekeeping on the wall clock */
#define DRAIN_BATCH     512        /* frames per dispatch before signals get a turn */
#define STOP_DRAIN_USEC 250000     /* queued frames are discarded this long after a stop request */

/* ---- capture state ---------------------------------------------------------- */

/* The capture thread changed state: say so once, in STATUS and on stderr. */
static void check_capture(Service *s)
{
        CaptureThreadStatus cts;

        if (!s->ct)
                return;
        capture_thread_get_status(s->ct, &cts);
        if (cts.generation == s->capture_generation)
                return;
        s->capture_generation = cts.generation;
        switch (cts.state) {
        case CAPTURE_STATE_FAILED:
                /* Reopening needs CAP_NET_RAW, given up at start: the service
                 * manager restarts the process instead (Restart=on-failure). */
                if (!s->stopping) {
                        log_error("capture on %s lost: %s; exiting: a restart reopens it", s->iface,
                                  cts.message);
                        s->capture_failed = true;
                        sd_event_exit(s->event, 0);
                }
                break;
        case CAPTURE_STATE_RUNNING:
                break;
        case CAPTURE_STATE_ENDED:
                if (!s->stopping) {
                        if (cts.message[0])
                                log_error("%s", cts.message);
                        sd_event_exit(s->event, 0);
                }
                break;
        }
        service_notify_status(s, NULL);
}

/* ---- analysis --------------------------------------------------------------- */

static void request_stop(Service *s, const char *why)
{
        if (s->stopping)
                return;
        s->stopping = true;
        s->stop_at_us = daemon_clock_us(CLOCK_MONOTONIC);
        log_debug("stopping: %s", why);
        sd_notify(false, "STOPPING=1\nSTATUS=stopping");
        sd_event_exit(s->event, 0);
}

/* Analyse up to limit queued frames; true when the ring still has some. */
static bool drain(Service *s, unsigned limit)
{
        RingRecord rec;
        unsigned k = 0;

        for (; k < limit && ring_peek(s->ring, &rec); k++) {
                if (s->o->count && s->frames >= s->o->count) {
                        ring_pop(s->ring); /* past --count: not analysed */
                        continue;
                }
                pipeline_frame(engine_pipeline(s->engine), (int)rec.tag, rec.ts_us, rec.data,
                               rec.len);
                ring_pop(s->ring);
                if (s->o->count && ++s->frames >= s->o->count) {
                        request_stop(s, "--count reached");
                        return false;
                }
        }
        /* With --workers: once the ring is empty, the records of what was
         * handed to the parsing threads are out before the loop sleeps. */
        if (k < limit)
                pipeline_sync(engine_pipeline(s->engine));
        return k == limit;
}

static int on_wake(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        Service *s = userdata;
        uint64_t v;
        ssize_t r = read(fd, &v, sizeof(v));

        (void)r; /* EAGAIN: a spurious wake-up */
        if (drain(s, DRAIN_BATCH)) {
                /* More queued: come back after the signals had their turn. */
                uint64_t one = 1;

                r = write(s->wake_fd, &one, sizeof(one));
                (void)r;
        }
        check_capture(s);
        return 0;
}

static void on_hep(const uint8_t *data, size_t len, const HepArrival *a, void *userdata)
{
        Service *s = userdata;

        if (s->o->count && s->frames >= s->o->count)
                return; /* past --count: not analysed */
        pipeline_hep(engine_pipeline(s->engine), a, data, len);
        if (s->o->count && ++s->frames >= s->o->count)
                request_stop(s, "--count reached");
}

/* ---- timers ----------------------------------------------------------------- */

static int rearm(sd_event_source *src, uint64_t usec)
{
        int r = sd_event_source_set_time_relative(src, usec);

        if (r >= 0)
                r = sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
        return r;
}

static int on_tick(sd_event_source *src, uint64_t usec, void *userdata)
{
        Service *s = userdata;

        /* Expiry is the pipeline's (pipeline.h); all it cannot see is time
         * passing with no frame. Live packet timestamps are wall-clock
         * time: tell it the time on the same clock. */
        pipeline_tick(engine_pipeline(s->engine), daemon_clock_us(CLOCK_REALTIME));
        if (s->ring && drain(s, DRAIN_BATCH)) {
                uint64_t one = 1;
                ssize_t w = write(s->wake_fd, &one, sizeof(one));

                (void)w;
        }
        check_capture(s);
        return rearm(src, TICK_USEC);
}

static int on_status_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
        Service *s = userdata;
        PipelineStats ps;

        /* Once: the hint stays in STATUS, the log gets it a single time. */
        pipeline_get_stats(engine_pipeline(s->engine), &ps);
        if (ps.tls_suspected && !s->tls_hint_logged) {
                s->tls_hint_logged = true;
                stats_tls_hint(&ps);
        }
        service_notify_status(s, NULL);
        return rearm(src, (uint64_t)SERVICE_STATUS_INTERVAL_S * 1000000);
}

static int on_metrics_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
        service_write_metrics(userdata);
        return rearm(src, metrics_interval_usec());
}

static int on_watchdog(sd_event_source *src, uint64_t usec, void *userdata)
{
        Service *s = userdata;

        sd_notify(false, "WATCHDOG=1");
        return rearm(src, s->watchdog_usec / 2);
}

static int on_duration(sd_event_source *src, uint64_t usec, void *userdata)
{
        request_stop(userdata, "--duration reached");
        return 0;
}

/* ---- signals ---------------------------------------------------------------- */

static int on_stop_signal(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
        request_stop(userdata, si->ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        return 0;
}

static int on_hup(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
        service_reload(userdata);
        return 0;
}

static int on_usr1(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
        uint64_t hl[STATS_HEP_LISTENER__MAX];
        CaptureThreadStatus cts;
        PipelineStats ps;
        RingStats rs;
        StatsView v;
        int r;

        service_get_stats(userdata, &ps, &cts, &rs, hl, &v);
        r = stats_journal(&v);
        if (r == -ENOTCONN) {
                fputs("sipauthmon: counters:\n", stderr);
                stats_print(&v, stderr);
        } else if (r < 0)
                log_error("cannot write the counters to the journal: %s", strerror(-r));
        return 0;
}

/* ---- set-up ----------------------------------------------------------------- */

static int open_live(Service *s, Capture **cap, char *err, size_t n)
{
        const Options *o = s->o;
        char lt[128];
        int r;

        escape_text(o->source, s->iface, sizeof(s->iface));
        if (o->filter)
                r = capture_open_live(cap, o->source, o->filter, err, n);
        else
                r = capture_open_live_ports(cap, o->source, o->sip_ports, o->ws_ports, err, n);
        if (r < 0)
                return r;
        if (capture_warning(*cap))
                log_info("warning: %s", capture_warning(*cap));
        log_debug("capturing on %s, link type %s, filter: %s", s->iface,
                  capture_linktype_describe(capture_linktype(*cap), lt, sizeof(lt)),
                  capture_filter(*cap) ? capture_filter(*cap) : "(none)");
        return 0;
}

static int add_sources(Service *s)
{
        static const int stop_signals[] = {SIGTERM, SIGINT};
        sd_event_source *src;
        int r;

        for (size_t i = 0; i < 2; i++) {
                r = sd_event_add_signal(s->event, &src, stop_signals[i], on_stop_signal, s);
                if (r < 0)
                        return r;
                sd_event_source_set_priority(src, SD_EVENT_PRIORITY_IMPORTANT);
                sd_event_source_set_floating(src, true);
                sd_event_source_unref(src);
        }
        r = sd_event_add_signal(s->event, &src, SIGHUP, on_hup, s);
        if (r < 0)
                return r;
        sd_event_source_set_priority(src, SD_EVENT_PRIORITY_IMPORTANT);
        sd_event_source_set_floating(src, true);
        sd_event_source_unref(src);
        r = sd_event_add_signal(s->event, &src, SIGUSR1, on_usr1, s);
        if (r < 0)
                return r;
        sd_event_source_set_floating(src, true);
        sd_event_source_unref(src);

        if (s->ring) {
                r = sd_event_add_io(s->event, &s->wake_src, s->wake_fd, EPOLLIN, on_wake, s);
                if (r < 0)
                        return r;
        }
        r = sd_event_add_time_relative(s->event, &s->tick, CLOCK_MONOTONIC, TICK_USEC, 0, on_tick,
                                       s);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(s->event, &s->status_timer, CLOCK_MONOTONIC,
                                       (uint64_t)SERVICE_STATUS_INTERVAL_S * 1000000, 0,
                                       on_status_timer, s);
        if (r < 0)
                return r;
        if (sd_watchdog_enabled(false, &s->watchdog_usec) > 0 && s->watchdog_usec > 0) {
                r = sd_event_add_time_relative(s->event, &s->watchdog, CLOCK_MONOTONIC,
                                               s->watchdog_usec / 2, 0, on_watchdog, s);
                if (r < 0)
                        return r;
                sd_event_source_set_priority(s->watchdog, SD_EVENT_PRIORITY_IMPORTANT);
        }
        if (s->o->metrics_file) {
                /* Accuracy: a tenth of the period (sd-event's default is 250 ms). */
                r = sd_event_add_time_relative(s->event, &s->metrics_timer, CLOCK_MONOTONIC,
                                               metrics_interval_usec(),
                                               metrics_interval_usec() / 10, on_metrics_timer, s);
                if (r < 0)
                        return r;
        }
        if (s->o->duration_s) {
                r = sd_event_add_time_relative(s->event, &s->duration, CLOCK_MONOTONIC,
                                               (uint64_t)s->o->duration_s * 1000000, 0, on_duration,
                                               s);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * At stop: what the ring still holds is analysed until STOP_DRAIN_USEC after
 * the stop request, so that a stop under load stays well within a second;
 * the rest is discarded and counted as ring drops.
 */
static void final_drain(Service *s)
{
        int64_t deadline =
            (s->stop_at_us ? s->stop_at_us : daemon_clock_us(CLOCK_MONOTONIC)) + STOP_DRAIN_USEC;
        RingRecord rec;

        if (!s->ring)
                return;
        while (drain(s, 256)) {
                if (daemon_clock_us(CLOCK_MONOTONIC) > deadline)
                        break;
        }
        while (ring_peek(s->ring, &rec)) {
                ring_pop(s->ring);
                if (!(s->o->count && s->frames >= s->o->count))
                        s->discarded_at_stop++; /* past --count they were never wanted */
        }
        if (s->discarded_at_stop)
                log_info("%" PRIu64 " queued packets discarded at stop", s->discarded_at_stop);
}

static int open_hep_listener(Service *s, char *err, size_t n)
{
        const Options *o = s->o;
        int r;

        escape_text(o->hep_listen, s->hep_addr, sizeof(s->hep_addr));
        r = hep_listener_open(o->hep_listen, &s->hep, err, n);
        if (r < 0)
                return r;
        /* options_parse() refused this already; the bound socket has the last word. */
        if (!hep_listener_is_loopback(s->hep) && !o->hep_auth.key_len && !o->hep_auth.n_allow)
                return error_set(err, n, -EPERM,
                                 "HEP listener on %s is not on a loopback address: set "
                                 "hep_auth_key and/or hep_allow",
                                 s->hep_addr);
        hep_listener_set_allow(s->hep, &o->hep_auth);
        if (!o->hep_auth.key_len && !o->hep_auth.n_allow)
                log_debug("HEP on loopback without hep_auth_key or hep_allow: taken, "
                          "but no record of it counts as a verified source");
        if (hep_listener_port(s->hep) != 0) {
                /* Show the port bound, which differs from the one asked for with 0. */
                const char *colon = strrchr(s->hep_addr, ':');
                int len = colon ? (int)(colon - s->hep_addr) : 0;
                char buf[sizeof(s->hep_addr)];

                snprintf(buf, sizeof(buf), "%.*s:%u", len, s->hep_addr,
                         (unsigned)hep_listener_port(s->hep));
                memcpy(s->hep_addr, buf, sizeof(buf));
        }
        log_debug("listening for HEP on %s", s->hep_addr);
        return 0;
}

/* The output failed (engine.h): nowhere to write, stop. */
static void on_output_failed(void *userdata)
{
        Service *s = userdata;

        sd_event_exit(s->event, 0);
}

/*
 * Everything up to the running loop, in this order: credentials (readable
 * by root only, perhaps), the capture and the HEP sockets, then privileges
 * are dropped, then the analysis, the loop and the capture thread. Logs why
 * it failed.
 */
static int service_open(Service *s)
{
        _cleanup_(capture_closep) Capture *cap = NULL;
        const Options *o = s->o;
        char err[1024];
        int r;

        r = engine_new(&s->engine, o, err, sizeof(err));
        if (r >= 0 && o->input == INPUT_LIVE)
                r = open_live(s, &cap, err, sizeof(err));
        if (r >= 0 && o->hep_listen)
                r = open_hep_listener(s, err, sizeof(err));
        if (r >= 0)
                r = engine_open_hep_send(s->engine, o, err, sizeof(err));
        if (r >= 0)
                r = privileges_drop(o->user, err, sizeof(err));
        if (r < 0) {
                log_error("%s", err);
                return r;
        }

        if (engine_start(s->engine, o, on_output_failed, s) < 0 || sd_event_new(&s->event) < 0) {
                log_error("out of memory");
                return -ENOMEM;
        }
        if (cap) {
                s->ring = ring_new(RING_SIZE_DEFAULT);
                s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
                if (!s->ring || s->wake_fd < 0) {
                        log_error("ring: %s", strerror(s->ring ? errno : ENOMEM));
                        return -ENOMEM;
                }
        }
        r = add_sources(s);
        if (r >= 0 && s->hep)
                r = hep_listener_attach(s->hep, s->event, on_hep, s);
        if (r < 0) {
                log_error("event loop: %s", strerror(-r));
                return r;
        }
        if (cap) {
                CaptureThreadConfig cc = {.lossless = false};

                /* The capture is taken, also on failure. */
                r = capture_thread_start(&s->ct, TAKE_PTR(cap), &cc, s->ring, s->wake_fd, err,
                                         sizeof(err));
                if (r < 0) {
                        log_error("%s", err);
                        return r;
                }
        }
        /* The start banner (not with -q): what is captured, the HEP port really bound. */
        log_info("%s%s%s%s%s", s->ct ? "capturing on " : "", s->ct ? s->iface : "",
                 s->ct && s->hep ? ", " : "", s->hep ? "listening for HEP on " : "",
                 s->hep ? s->hep_addr : "");
        return 0;
}

/*
 * After the loop: stop capturing first, then analyse what was queued, then
 * flush. The thread stays until the end: its counters go into --stats.
 */
static ExitStatus service_finish(Service *s)
{
        uint64_t hl[STATS_HEP_LISTENER__MAX];
        CaptureThreadStatus cts;
        PipelineStats ps;
        RingStats rs;
        StatsView v;

        if (s->ct)
                capture_thread_stop(s->ct);
        final_drain(s);
        engine_flush(s->engine);
        service_write_metrics(s); /* first, so that --stats counts a failure */
        service_get_stats(s, &ps, &cts, &rs, hl, &v);
        if (!s->tls_hint_logged)
                stats_tls_hint(&ps);
        if (s->o->stats)
                stats_print(&v, stderr);
        return engine_exit_status(s->engine, s->capture_failed, NULL);
}

static void service_done(Service *s)
{
        s->ct = capture_thread_free(s->ct);
        s->hep = hep_listener_free(s->hep);
        s->tick = sd_event_source_unref(s->tick);
        s->status_timer = sd_event_source_unref(s->status_timer);
        s->watchdog = sd_event_source_unref(s->watchdog);
        s->duration = sd_event_source_unref(s->duration);
        s->wake_src = sd_event_source_unref(s->wake_src);
        s->metrics_timer = sd_event_source_unref(s->metrics_timer);
        s->event = sd_event_unref(s->event);
        s->engine = engine_free(s->engine);
        s->ring = ring_free(s->ring);
        if (s->wake_fd >= 0)
                close(s->wake_fd);
        s->wake_fd = -1;
}

int service_run(Options *o, int argc, char **argv, const char *default_config)
{
        _cleanup_(service_done) Service s = {
            .o = o,
            .argc = argc,
            .argv = argv,
            .default_config = default_config,
            .wake_fd = -1,
        };
        sigset_t mask;
        int r;

        /* Signals are taken by the loop (signalfd): block them before any thread exists. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGUSR1);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                log_error("sigprocmask: %s", strerror(errno));
                return EXIT_ERROR;
        }
        signal(SIGPIPE, SIG_IGN); /* a closed stdout shows up as EPIPE from the sink */

        if (service_open(&s) < 0)
                return EXIT_ERROR;
        service_write_metrics(&s); /* there, all zeros, when READY=1 says so */
        service_notify_status(&s, "READY=1\n");
        r = sd_event_loop(s.event);
        if (r < 0)
                log_error("event loop: %s", strerror(-r));
        if (!s.stopping) /* the loop ended for another reason (output failed) */
                sd_notify(false, "STOPPING=1");
        return service_finish(&s);
}
