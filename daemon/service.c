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
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/types.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "capture_thread.h"
#include "credentials_file.h"
#include "escape.h"
#include "hep_listener.h"
#include "hep_send.h"
#include "log.h"
#include "metrics.h"
#include "privileges.h"
#include "ring.h"
#include "sink.h"
#include "stats.h"
#include "../analysis/pipeline.h"

#define EXIT_DIAGNOSED 1
#define EXIT_ERROR     2

#define TICK_USEC       1000000ULL /* pipeline housekeeping on the wall clock */
#define DRAIN_BATCH     512        /* frames per dispatch before signals get a turn */
#define STOP_DRAIN_USEC 250000     /* queued frames are discarded this long after a stop request */
#define STATUS_MAX      1024

typedef struct {
        /* Settings in effect. Those a reload cannot change stay as started. */
        Options *o;
        int argc;
        char **argv;
        const char *default_config;

        sd_event *event;
        sd_event_source *tick, *status_timer, *watchdog, *duration, *wake_src, *metrics_timer;
        uint64_t watchdog_usec;

        Ring *ring;
        int wake_fd;
        CaptureThread *ct;
        unsigned capture_generation; /* status generation last reported */
        char iface[128];             /* escaped, for messages */
        HepListener *hep;
        char hep_addr[128];
        HepSender *hep_send; /* --hep-send; NULL = none */

        Pipeline *p;
        Sink *sink;
        CredStore *creds;
        uint64_t diagnoses;
        uint64_t written[DIAG__MAX]; /* records the sink took, by code (--stats, metrics) */
        MetricsFile *metrics;        /* --metrics-file; NULL = none */
        int sink_error;
        uint64_t frames; /* captured frames and HEP packets analysed (--count) */
        uint64_t discarded_at_stop;
        bool capture_failed; /* the live capture was lost: exit status 2 */
        bool stopping;
        int64_t stop_at_us; /* CLOCK_MONOTONIC of the stop request */

        uint64_t reloads, reload_failures;
        char reload_note[640]; /* shown in STATUS until the next reload */
        bool tls_hint_logged;
} Service;

/* ---- status ----------------------------------------------------------------- */

static void get_stats(Service *s, PipelineStats *ps, CaptureThreadStatus *cts, RingStats *rs,
                      uint64_t hl[STATS_HEP_LISTENER__MAX], StatsView *v)
{
        pipeline_get_stats(s->p, ps);
        *v = (StatsView){
            .pipeline = ps,
            .diagnoses = s->diagnoses,
            .written = s->written,
            .reloads = s->reloads,
            .reload_failures = s->reload_failures,
            .service = true,
        };
        if (s->metrics) {
                v->metrics = true;
                v->metrics_write_failures = metrics_file_failures(s->metrics);
        }
        if (s->ct) {
                capture_thread_get_status(s->ct, cts);
                v->capture = &cts->kernel; /* zero until the first figures */
                v->capture_losses = cts->state == CAPTURE_STATE_FAILED;
        }
        if (s->ring) {
                ring_get_stats(s->ring, rs);
                rs->dropped += s->discarded_at_stop;
                v->ring = rs;
        }
        if (s->hep) {
                HepListenerStats h;

                hep_listener_get_stats(s->hep, &h);
                hl[STATS_HEP_LISTENER_PACKETS] = h.packets;
                hl[STATS_HEP_LISTENER_BYTES] = h.bytes;
                hl[STATS_HEP_LISTENER_CONNECTIONS] = h.connections;
                hl[STATS_HEP_LISTENER_ERRORS] = h.errors;
                hl[STATS_HEP_LISTENER_DROPPED] = h.dropped;
                hl[STATS_HEP_LISTENER_DENIED] = h.denied;
                hl[STATS_HEP_LISTENER_PEER_CAP] = h.peer_cap;
                hl[STATS_HEP_LISTENER_EVICTED] = h.evicted;
                hl[STATS_HEP_LISTENER_DEADLINE] = h.deadline;
                hl[STATS_HEP_LISTENER_IDLE] = h.idle;
                v->hep_listener = hl;
        }
        if (s->hep_send) {
                HepSenderStats hs;

                hep_sender_get_stats(s->hep_send, &hs);
                v->hep_send = true;
                v->hep_sent = hs.packets;
                v->hep_send_errors = hs.errors;
        }
}

/*
 * One line for STATUS=, e.g.
 *   "capturing on eth1: 1200 packets, 800 SIP messages, 2 diagnoses;
 *    drops: kernel 0, ring 0"
 *   "capture on eth1 lost: eth1: The interface disappeared; exiting; ..."
 */
static void format_status(Service *s, char *buf, size_t n)
{
        uint64_t hl[STATS_HEP_LISTENER__MAX] = {0};
        CaptureThreadStatus cts = {0};
        PipelineStats ps;
        RingStats rs = {0};
        StatsView v;
        size_t k = 0;
        int w;

#define APPEND(...)                                                                                \
        do {                                                                                       \
                if (k < n) {                                                                       \
                        w = snprintf(buf + k, n - k, __VA_ARGS__);                                 \
                        k = w < 0 ? n : k + (size_t)w;                                             \
                }                                                                                  \
        } while (0)

        buf[0] = '\0';
        get_stats(s, &ps, &cts, &rs, hl, &v);
        if (s->ct && cts.state == CAPTURE_STATE_FAILED)
                APPEND("capture on %s lost: %s; exiting; ", s->iface, cts.message);
        else if (s->ct)
                APPEND("capturing on %s: ", s->iface);
        else
                APPEND("listening for HEP on %s: ", s->hep_addr);
        APPEND("%" PRIu64 " packets, %" PRIu64 " SIP messages, %" PRIu64 " diagnoses", ps.packets,
               ps.sip[SIP_PARSE_OK], s->diagnoses);
        if (s->ct)
                APPEND("; drops: kernel %" PRIu64 ", ring %" PRIu64,
                       cts.kernel.kernel_drops + cts.kernel.if_drops, rs.dropped);
        if (s->hep && s->ct)
                APPEND("; HEP on %s: %" PRIu64 " packets", s->hep_addr,
                       hl[STATS_HEP_LISTENER_PACKETS]);
        if (v.hep_send)
                APPEND("; HEP out: %" PRIu64 " sent, %" PRIu64 " failed", v.hep_sent,
                       v.hep_send_errors);
        if (ps.tls_suspected)
                APPEND("; %" PRIu64 " TCP segments on port 5061 look like TLS, which cannot be "
                       "read on the wire: send HEP copies (--hep-listen)",
                       ps.tls_suspected);
        if (s->reload_note[0])
                APPEND("; %s", s->reload_note);
#undef APPEND
        /* Cut on a UTF-8 boundary is not needed: everything above is escaped ASCII-safe. */
}

static void notify_status(Service *s, const char *extra)
{
        char status[STATUS_MAX];

        format_status(s, status, sizeof(status));
        sd_notifyf(false, "%sSTATUS=%s", extra ? extra : "", status);
}

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
        notify_status(s, NULL);
}

/* ---- analysis --------------------------------------------------------------- */

static void on_diagnosis(const Diagnosis *d, void *userdata)
{
        Service *s = userdata;
        int r;

        s->diagnoses++;
        if (s->sink_error)
                return;
        r = sink_emit(s->sink, d);
        if (r < 0) {
                s->sink_error = r;
                sd_event_exit(s->event, 0); /* nowhere to write: stop */
                return;
        }
        if ((unsigned)d->code < DIAG__MAX)
                s->written[d->code]++;
        hep_sender_send(s->hep_send, d); /* what the sink wrote, no more */
}

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
                pipeline_frame(s->p, (int)rec.tag, rec.ts_us, rec.data, rec.len);
                ring_pop(s->ring);
                if (s->o->count && ++s->frames >= s->o->count) {
                        request_stop(s, "--count reached");
                        return false;
                }
        }
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
        pipeline_hep(s->p, a, data, len);
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

        /* Live packet timestamps are wall-clock time: expire on the same clock. */
        pipeline_tick(s->p, daemon_clock_us(CLOCK_REALTIME));
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
        pipeline_get_stats(s->p, &ps);
        if (ps.tls_suspected && !s->tls_hint_logged) {
                s->tls_hint_logged = true;
                stats_tls_hint(&ps);
        }
        notify_status(s, NULL);
        return rearm(src, (uint64_t)SERVICE_STATUS_INTERVAL_S * 1000000);
}

/* --metrics-file: at start, every metrics_interval_usec() and at exit. */
static void write_metrics(Service *s)
{
        uint64_t hl[STATS_HEP_LISTENER__MAX] = {0};
        CaptureThreadStatus cts = {0};
        PipelineStats ps;
        RingStats rs = {0};
        StatsView v;

        if (!s->metrics)
                return;
        get_stats(s, &ps, &cts, &rs, hl, &v);
        metrics_file_write(s->metrics, &v); /* a failure is counted and logged there */
}

static int on_metrics_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
        write_metrics(userdata);
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

static bool same_str(const char *a, const char *b)
{
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/*
 * SIGHUP: parse the command line and configuration again, load the
 * credentials again; apply what can change while running, keep the rest as
 * started and say so. Any error keeps the old settings whole.
 */
static void reload(Service *s)
{
        char err[OPTIONS_ERR_MAX + 64], note[256] = "";
        CredStore *creds = NULL;
        Sink *sink = NULL;
        Options n;
        int r;

        sd_notifyf(false,
                   "RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC=%" PRIu64,
                   (uint64_t)daemon_clock_us(CLOCK_MONOTONIC));
        s->reloads++;
        options_init(&n);
        r = options_parse(&n, s->argc, s->argv, s->default_config, err, sizeof(err));
        if (r == 0 && n.credentials) {
                r = credentials_file_load(n.credentials, &creds, err, sizeof(err));
        }
        if (r == 0 && n.output != s->o->output) {
                sink = sink_new(n.output, STDOUT_FILENO, false);
                if (!sink) {
                        snprintf(err, sizeof(err), "output %s: %s", sink_kind_name(n.output),
                                 strerror(errno));
                        r = -ENOMEM;
                }
        }
        if (r < 0) {
                s->reload_failures++;
                credstore_free(creds);
                options_done(&n);
                log_error("reload failed, keeping the running configuration: %s", err);
                snprintf(s->reload_note, sizeof(s->reload_note), "reload failed: %.600s", err);
                notify_status(s, "READY=1\n");
                return;
        }

        /* Apply: credentials (or none), thresholds, window, caps and limits, output. */
        {
                TrackerConfig tc;

                tracker_config_default(&tc);
                options_tracker_config(&n, &tc);
                tc.credentials = creds;
                if (!pipeline_reconfigure(s->p, &tc)) {
                        s->reload_failures++;
                        log_error("reload: not enough memory to enlarge every table; "
                                  "those keep their previous size (see --stats tracker.*)");
                }
        }
        credstore_free(s->creds);
        s->creds = creds;
        if (sink) {
                r = sink_flush(s->sink);
                if (r < 0 && !s->sink_error)
                        s->sink_error = r;
                sink_free(s->sink);
                s->sink = sink;
                s->sink_error = 0;
                s->o->output = n.output;
        }
        s->o->stats = n.stats;
        s->o->threshold = n.threshold;
        s->o->window_s = n.window_s;
        memcpy(s->o->tune, n.tune, sizeof(s->o->tune));
        free(s->o->credentials);
        s->o->credentials = n.credentials;
        n.credentials = NULL;

        /* What needs a restart: name it rather than pretend. */
        {
                const char *changed[10];
                size_t k = 0, len = 0;

                if (n.input != s->o->input || !same_str(n.source, s->o->source))
                        changed[k++] = "interface";
                if (!same_str(n.filter, s->o->filter) || !same_str(n.sip_ports, s->o->sip_ports))
                        changed[k++] = "filter/sip_ports";
                if (!same_str(n.hep_listen, s->o->hep_listen))
                        changed[k++] = "hep_listen";
                if (n.hep_in_capture != s->o->hep_in_capture ||
                    memcmp(&n.hep_auth, &s->o->hep_auth, sizeof(n.hep_auth)) != 0)
                        changed[k++] = "hep_auth_key/hep_allow/hep_in_capture";
                if (!same_str(n.user, s->o->user))
                        changed[k++] = "user";
                if (!same_str(n.metrics_file, s->o->metrics_file))
                        changed[k++] = "metrics_file";
                if (!same_str(n.hep_send, s->o->hep_send) || n.hep_id != s->o->hep_id)
                        changed[k++] = "hep_send/hep_id";
                if (n.duration_s != s->o->duration_s || n.count != s->o->count)
                        changed[k++] = "duration/count";
                for (size_t i = 0; i < k && len < sizeof(note); i++) {
                        int w = snprintf(note + len, sizeof(note) - len, "%s%s", i ? ", " : "",
                                         changed[i]);
                        len = w < 0 ? sizeof(note) : len + (size_t)w;
                }
                if (k) {
                        log_info("reloaded; changes to %s take effect at restart", note);
                        snprintf(s->reload_note, sizeof(s->reload_note),
                                 "reloaded; %s unchanged until restart", note);
                } else {
                        log_debug("reloaded");
                        snprintf(s->reload_note, sizeof(s->reload_note), "reloaded");
                }
        }
        options_done(&n);
        notify_status(s, "READY=1\n");
}

static int on_hup(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
        reload(userdata);
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

        get_stats(userdata, &ps, &cts, &rs, hl, &v);
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

        if (o->filter)
                r = capture_open_live(cap, o->source, o->filter, err, n);
        else
                r = capture_open_live_ports(cap, o->source, o->sip_ports, err, n);
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
        if (s->metrics) {
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

int service_run(Options *o, int argc, char **argv, const char *default_config)
{
        char err[1024];
        Service s = {
            .o = o,
            .argc = argc,
            .argv = argv,
            .default_config = default_config,
            .wake_fd = -1,
        };
        Capture *cap = NULL;
        TrackerConfig tc;
        sigset_t mask;
        int status = EXIT_ERROR, r;
        bool color;

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

        if (o->credentials) {
                r = credentials_file_load(o->credentials, &s.creds, err, sizeof(err));
                if (r < 0) {
                        log_error("%s", err);
                        goto out;
                }
                log_debug("%zu credentials loaded", credstore_count(s.creds));
        }
        if (o->input == INPUT_LIVE) {
                escape_text(o->source, s.iface, sizeof(s.iface));
                r = open_live(&s, &cap, err, sizeof(err));
                if (r < 0) {
                        log_error("%s", err);
                        goto out;
                }
        }
        if (o->hep_listen) {
                escape_text(o->hep_listen, s.hep_addr, sizeof(s.hep_addr));
                r = hep_listener_open(o->hep_listen, &s.hep, err, sizeof(err));
                if (r < 0) {
                        log_error("%s", err);
                        goto out;
                }
                /* options_parse() refused this already; the bound socket has the last word. */
                if (!hep_listener_is_loopback(s.hep) && !o->hep_auth.key_len &&
                    !o->hep_auth.n_allow) {
                        log_error("HEP listener on %s is not on a loopback address: set "
                                  "hep_auth_key and/or hep_allow",
                                  s.hep_addr);
                        goto out;
                }
                hep_listener_set_allow(s.hep, &o->hep_auth);
                if (!o->hep_auth.key_len && !o->hep_auth.n_allow)
                        log_debug("HEP on loopback without hep_auth_key or hep_allow: taken, "
                                  "but no record of it counts as a verified source");
                if (hep_listener_port(s.hep) != 0) {
                        /* Show the port bound, which differs from the one asked for with 0. */
                        const char *colon = strrchr(s.hep_addr, ':');
                        int len = colon ? (int)(colon - s.hep_addr) : 0;
                        char buf[sizeof(s.hep_addr)];

                        snprintf(buf, sizeof(buf), "%.*s:%u", len, s.hep_addr,
                                 (unsigned)hep_listener_port(s.hep));
                        memcpy(s.hep_addr, buf, sizeof(buf));
                }
                log_debug("listening for HEP on %s", s.hep_addr);
        }
        if (o->hep_send) {
                r = hep_sender_open(&s.hep_send, o->hep_send, o->hep_id, o->hep_auth.key,
                                    o->hep_auth.key_len, err, sizeof(err));
                if (r < 0) {
                        log_error("%s", err);
                        goto out;
                }
        }
        r = privileges_drop(o->user, err, sizeof(err));
        if (r < 0) {
                log_error("%s", err);
                goto out;
        }

        tracker_config_default(&tc);
        tc.hash_seed = daemon_hash_seed(tc.hash_seed);
        options_tracker_config(o, &tc);
        tc.credentials = s.creds;
        color = o->output == SINK_TEXT && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
        s.sink = sink_new(o->output, STDOUT_FILENO, color);
        PipelineConfig pc = {.tracker = tc};
        pc.parser = o->parser_full ? PIPELINE_PARSER_FULL : PIPELINE_PARSER_FAST;
        options_hep_config(o, &pc.hep);
        s.p = pipeline_new_config(&pc, on_diagnosis, &s);
        if (o->metrics_file)
                s.metrics = metrics_file_new(o->metrics_file);
        r = sd_event_new(&s.event);
        if (!s.sink || !s.p || r < 0 || (o->metrics_file && !s.metrics)) {
                log_error("out of memory");
                goto out;
        }
        if (cap) {
                s.ring = ring_new(RING_SIZE_DEFAULT);
                s.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
                if (!s.ring || s.wake_fd < 0) {
                        log_error("ring: %s", strerror(s.ring ? errno : ENOMEM));
                        goto out;
                }
        }
        r = add_sources(&s);
        if (r >= 0 && s.hep)
                r = hep_listener_attach(s.hep, s.event, on_hep, &s);
        if (r < 0) {
                log_error("event loop: %s", strerror(-r));
                goto out;
        }
        if (cap) {
                CaptureThreadConfig cc = {.lossless = false};

                r = capture_thread_start(&s.ct, cap, &cc, s.ring, s.wake_fd, err, sizeof(err));
                cap = NULL; /* taken, also on failure */
                if (r < 0) {
                        log_error("%s", err);
                        goto out;
                }
        }

        write_metrics(&s); /* there, all zeros, when READY=1 says so */
        notify_status(&s, "READY=1\n");
        r = sd_event_loop(s.event);
        if (r < 0)
                log_error("event loop: %s", strerror(-r));
        if (!s.stopping) /* the loop ended for another reason (output failed) */
                sd_notify(false, "STOPPING=1");

        /* Stop capturing first, then analyse what was queued, then flush. The
         * thread stays until the end: its counters go into --stats. */
        if (s.ct)
                capture_thread_stop(s.ct);
        final_drain(&s);
        if (!s.sink_error)
                pipeline_flush(s.p);
        if (!s.sink_error) {
                r = sink_flush(s.sink);
                if (r < 0)
                        s.sink_error = r;
        }
        {
                uint64_t hl[STATS_HEP_LISTENER__MAX];
                CaptureThreadStatus cts;
                PipelineStats ps;
                RingStats rs;
                StatsView v;

                write_metrics(&s); /* first, so that --stats counts a failure */
                get_stats(&s, &ps, &cts, &rs, hl, &v);
                if (!s.tls_hint_logged)
                        stats_tls_hint(&ps);
                if (o->stats)
                        stats_print(&v, stderr);
        }
        log_debug("%" PRIu64 " diagnoses", s.diagnoses);
        if (s.sink_error && s.sink_error != -EPIPE) {
                log_error("cannot write output: %s", strerror(-s.sink_error));
                status = EXIT_ERROR;
        } else if (s.capture_failed)
                status = EXIT_ERROR;
        else
                status = s.diagnoses > 0 ? EXIT_DIAGNOSED : EXIT_SUCCESS;

out:
        s.ct = capture_thread_free(s.ct);
        capture_close(cap);
        s.hep = hep_listener_free(s.hep);
        s.hep_send = hep_sender_free(s.hep_send);
        sd_event_source_unref(s.tick);
        sd_event_source_unref(s.status_timer);
        sd_event_source_unref(s.watchdog);
        sd_event_source_unref(s.duration);
        sd_event_source_unref(s.wake_src);
        sd_event_source_unref(s.metrics_timer);
        s.event = sd_event_unref(s.event);
        s.p = pipeline_free(s.p);
        s.creds = credstore_free(s.creds);
        s.sink = sink_free(s.sink);
        s.metrics = metrics_file_free(s.metrics);
        s.ring = ring_free(s.ring);
        if (s.wake_fd >= 0)
                close(s.wake_fd);
        return status;
}
