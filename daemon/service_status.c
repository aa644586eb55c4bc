/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the service says of itself: STATUS= for systemctl status, the
 * counters of --stats and SIGUSR1, and --metrics-file. One StatsView for all
 * of them, so that they cannot disagree.
 */
#include <inttypes.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "service.h"
#include "service_internal.h"

#define STATUS_MAX 1024

void service_get_stats(Service *s, PipelineStats *ps, CaptureThreadStatus *cts, RingStats *rs,
                       uint64_t hl[STATS_HEP_LISTENER__MAX], StatsView *v)
{
        engine_stats_view(s->engine, ps, v);
        v->reloads = s->reloads;
        v->reload_failures = s->reload_failures;
        v->service = true;
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
        service_get_stats(s, &ps, &cts, &rs, hl, &v);
        if (s->ct && cts.state == CAPTURE_STATE_FAILED)
                APPEND("capture on %s lost: %s; exiting; ", s->iface, cts.message);
        else if (s->ct)
                APPEND("capturing on %s: ", s->iface);
        else
                APPEND("listening for HEP on %s: ", s->hep_addr);
        APPEND("%" PRIu64 " packets, %" PRIu64 " SIP messages, %" PRIu64 " diagnoses", ps.packets,
               ps.sip[SIP_PARSE_OK], v.diagnoses);
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

void service_notify_status(Service *s, const char *extra)
{
        char status[STATUS_MAX];

        format_status(s, status, sizeof(status));
        sd_notifyf(false, "%sSTATUS=%s", extra ? extra : "", status);
}

/* --metrics-file: at start, every metrics_interval_usec() and at exit. */
void service_write_metrics(Service *s)
{
        uint64_t hl[STATS_HEP_LISTENER__MAX] = {0};
        CaptureThreadStatus cts = {0};
        PipelineStats ps;
        RingStats rs = {0};
        StatsView v;

        if (!s->o->metrics_file)
                return;
        service_get_stats(s, &ps, &cts, &rs, hl, &v);
        engine_write_metrics(s->engine, &v); /* a failure is counted and logged there */
}
