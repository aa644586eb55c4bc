/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "stats.h"
#include "journal.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#define NAME_MAX_LEN 96

/* Counter names are "[a-z0-9_.]+": fold whatever a verdict name holds. */
static void emit(StatFn fn, void *ud, const char *prefix, const char *name, uint64_t v)
{
        char buf[NAME_MAX_LEN];
        size_t k = 0;

        for (const char *p = prefix; *p && k + 1 < sizeof(buf); p++)
                buf[k++] = *p;
        for (const char *p = name; p && *p && k + 1 < sizeof(buf); p++) {
                char ch = *p;

                if (ch >= 'A' && ch <= 'Z')
                        ch = (char)(ch - 'A' + 'a');
                else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.'))
                        ch = '_';
                buf[k++] = ch;
        }
        buf[k] = '\0';
        fn(buf, v, ud);
}

/*
 * The counters kept in the modules' own structs (PipelineStats: ipfrag.,
 * tcp., ws., tracker.), by name: offsets into PipelineStats, printed in this
 * order. Each table lists every field of its struct (checked below), so a
 * counter added to a module without a name here breaks the build.
 */
typedef struct {
        const char *prefix, *name;
        size_t offset;
} Field;

/* clang-format off */
#define F(prefix, s, x) {prefix, #x, offsetof(PipelineStats, s.x)}
static const Field ipfrag_fields[] = {
        F("ipfrag.", ipfrag, fragments),
        F("ipfrag.", ipfrag, reassembled),
        F("ipfrag.", ipfrag, duplicates),
        F("ipfrag.dropped.", ipfrag, overlaps),
        F("ipfrag.dropped.", ipfrag, invalid),
        F("ipfrag.dropped.", ipfrag, too_big),
        F("ipfrag.dropped.", ipfrag, too_many_frags),
        F("ipfrag.dropped.", ipfrag, timeouts),
        F("ipfrag.dropped.", ipfrag, evicted),
        F("ipfrag.dropped.", ipfrag, source_cap),
        F("ipfrag.dropped.", ipfrag, nomem),
        F("ipfrag.", ipfrag, datagrams),
        F("ipfrag.", ipfrag, bytes),
};

static const Field tcp_fields[] = {
        F("tcp.", tcp, segments),
        F("tcp.", tcp, streams),
        F("tcp.", tcp, messages),
        F("tcp.", tcp, resyncs),
        F("tcp.", tcp, skipped_bytes),
        F("tcp.", tcp, retransmitted),
        F("tcp.", tcp, trimmed),
        F("tcp.", tcp, out_of_order),
        F("tcp.", tcp, closed_fin),
        F("tcp.", tcp, closed_rst),
        F("tcp.", tcp, timeouts),
        F("tcp.", tcp, handshakes),
        F("tcp.", tcp, handshake_conflicts),
        F("tcp.dropped.", tcp, gaps),
        F("tcp.dropped.", tcp, ooo_dropped),
        F("tcp.dropped.", tcp, header_too_big),
        F("tcp.dropped.", tcp, body_too_big),
        F("tcp.dropped.", tcp, bad_content_length),
        F("tcp.", tcp, no_content_length),
        F("tcp.dropped.", tcp, stream_cap),
        F("tcp.dropped.", tcp, evicted),
        F("tcp.dropped.", tcp, nomem),
        F("tcp.", tcp, active),
        F("tcp.", tcp, bytes),
};

static const Field ws_fields[] = {
        F("ws.", ws, handshakes_requested),
        F("ws.", ws, handshakes_switched),
        F("ws.", ws, handshakes_other),
        F("ws.", ws, frames),
        F("ws.", ws, messages),
        F("ws.", ws, text),
        F("ws.", ws, binary),
        F("ws.", ws, fragmented),
        F("ws.", ws, continuations),
        F("ws.", ws, empty),
        F("ws.", ws, pings),
        F("ws.", ws, pongs),
        F("ws.", ws, closes),
        F("ws.", ws, resyncs),
        F("ws.", ws, skipped_bytes),
        F("ws.dropped.", ws, bad_frames),
        F("ws.dropped.", ws, bad_unmasked),
        F("ws.dropped.", ws, bad_masked),
        F("ws.dropped.", ws, bad_rsv),
        F("ws.dropped.", ws, bad_opcode),
        F("ws.dropped.", ws, bad_control),
        F("ws.dropped.", ws, bad_continuation),
        F("ws.dropped.", ws, bad_length),
        F("ws.dropped.", ws, message_too_big),
        F("ws.dropped.", ws, stream_cap),
        F("ws.dropped.", ws, global_cap),
        F("ws.dropped.", ws, nomem),
        F("ws.", ws, active),
        F("ws.", ws, bytes),
};

static const Field tracker_fields[] = {
        F("tracker.", tracker, requests),
        F("tracker.", tracker, responses),
        F("tracker.", tracker, retransmissions),
        F("tracker.", tracker, unmatched_responses),
        F("tracker.", tracker, challenges),
        F("tracker.", tracker, challenges_407),
        F("tracker.", tracker, refusals),
        F("tracker.", tracker, successes),
        F("tracker.", tracker, auth_successes),
        F("tracker.", tracker, diagnoses),
        F("tracker.", tracker, suppressed),
        F("tracker.", tracker, rate_limited),
        F("tracker.", tracker, verified_ok),
        F("tracker.", tracker, verified_bad),
        F("tracker.", tracker, verify_unsupported),
        F("tracker.", tracker, transactions),
        F("tracker.", tracker, chains),
        F("tracker.", tracker, clients),
        F("tracker.", tracker, principals),
        F("tracker.", tracker, nonces),
        F("tracker.", tracker, sources),
        F("tracker.", tracker, evicted_transactions),
        F("tracker.", tracker, evicted_chains),
        F("tracker.", tracker, evicted_clients),
        F("tracker.", tracker, evicted_principals),
        F("tracker.", tracker, evicted_nonces),
        F("tracker.", tracker, evicted_sources),
        F("tracker.", tracker, evicted_guessed),
        F("tracker.", tracker, source_users_capped),
        F("tracker.", tracker, long_keys),
};
#undef F
/* clang-format on */

#define N_FIELDS(t) (sizeof(t) / sizeof((t)[0]))
_Static_assert(sizeof(IpFragStats) == N_FIELDS(ipfrag_fields) * sizeof(uint64_t),
               "IpFragStats fields missing from ipfrag_fields[]");
_Static_assert(sizeof(TcpStreamStats) == N_FIELDS(tcp_fields) * sizeof(uint64_t),
               "TcpStreamStats fields missing from tcp_fields[]");
_Static_assert(sizeof(WebSocketStats) == N_FIELDS(ws_fields) * sizeof(uint64_t),
               "WebSocketStats fields missing from ws_fields[]");
_Static_assert(sizeof(TrackerStats) == N_FIELDS(tracker_fields) * sizeof(uint64_t),
               "TrackerStats fields missing from tracker_fields[]");

static void emit_fields(const PipelineStats *ps, const Field *t, size_t n, StatFn fn, void *ud)
{
        for (size_t i = 0; i < n; i++) {
                uint64_t x;

                memcpy(&x, (const char *)ps + t[i].offset, sizeof(x));
                emit(fn, ud, t[i].prefix, t[i].name, x);
        }
}

/* clang-format off */
static const char *const listener_names[STATS_HEP_LISTENER__MAX] = {
    [STATS_HEP_LISTENER_PACKETS] = "packets",
    [STATS_HEP_LISTENER_BYTES] = "bytes",
    [STATS_HEP_LISTENER_CONNECTIONS] = "connections",
    [STATS_HEP_LISTENER_ERRORS] = "errors",
    [STATS_HEP_LISTENER_DROPPED] = "dropped",
    [STATS_HEP_LISTENER_DENIED] = "denied",
    [STATS_HEP_LISTENER_PEER_CAP] = "peer_cap",
    [STATS_HEP_LISTENER_EVICTED] = "evicted",
    [STATS_HEP_LISTENER_DEADLINE] = "deadline",
    [STATS_HEP_LISTENER_IDLE] = "idle",
};
/* clang-format on */

/* What the pipeline counts: packets, decoding, SIP, reassembly, HEP, the tracker. */
static void pipeline_counters(const PipelineStats *ps, StatFn fn, void *ud)
{
        uint64_t errors = 0;

        emit(fn, ud, "packets.total", "", ps->packets);
        emit(fn, ud, "packets.bytes", "", ps->bytes);
        emit(fn, ud, "decode.", "ok", ps->decode[DECODE_OK]);
        for (int i = 1; i < DECODE__MAX; i++)
                emit(fn, ud, "decode.", decode_verdict_name((DecodeVerdict)i), ps->decode[i]);
        for (int i = 1; i < SIP_PARSE__MAX; i++)
                errors += ps->sip[i];
        emit(fn, ud, "sip.messages", "", ps->sip[SIP_PARSE_OK]);
        emit(fn, ud, "sip.requests", "", ps->sip_requests);
        emit(fn, ud, "sip.responses", "", ps->sip_responses);
        emit(fn, ud, "sip.skipped_early", "", ps->sip_skipped_early);
        emit(fn, ud, "sip.fast", "", ps->sip_fast);
        emit(fn, ud, "sip.full", "", ps->sip_full);
        emit(fn, ud, "sip.not_sip", "", ps->not_sip);
        emit(fn, ud, "sip.parse_errors", "", errors);
        for (int i = 1; i < SIP_PARSE__MAX; i++)
                emit(fn, ud, "sip.parse_error.", sipmsg_verdict_name((SipParseVerdict)i),
                     ps->sip[i]);
        emit_fields(ps, ipfrag_fields, N_FIELDS(ipfrag_fields), fn, ud);
        emit_fields(ps, tcp_fields, N_FIELDS(tcp_fields), fn, ud);
        emit_fields(ps, ws_fields, N_FIELDS(ws_fields), fn, ud);
        for (int i = 0; i < DECODE__MAX; i++)
                if (i != DECODE_E_FRAGMENT)
                        emit(fn, ud, "ipfrag.decode.", decode_verdict_name((DecodeVerdict)i),
                             ps->reassembled_decode[i]);
        emit(fn, ud, "tls.suspected", "", ps->tls_suspected);
        emit(fn, ud, "hep.", "ok", ps->hep[HEP_OK]);
        for (int i = 1; i < HEP__MAX; i++)
                emit(fn, ud, "hep.", hep_verdict_name((HepVerdict)i), ps->hep[i]);
        emit(fn, ud, "hep.ignored_in_capture", "", ps->hep_ignored_in_capture);
        emit(fn, ud, "hep.denied", "", ps->hep_denied);
        emit(fn, ud, "hep.key_missing", "", ps->hep_key_missing);
        emit(fn, ud, "hep.key_wrong", "", ps->hep_key_wrong);
        emit(fn, ud, "hep.authenticated", "", ps->hep_authenticated);
        emit(fn, ud, "hep.unauthenticated", "", ps->hep_unauthenticated);
        emit(fn, ud, "hep.clamped_ts", "", ps->hep_clamped_ts);
        emit_fields(ps, tracker_fields, N_FIELDS(tracker_fields), fn, ud);
        if (ps->workers) { /* --workers N: how the fronts shared the frames */
                emit(fn, ud, "workers.threads", "", ps->workers);
                emit(fn, ud, "workers.frames_min", "", ps->workers_frames_min);
                emit(fn, ud, "workers.frames_max", "", ps->workers_frames_max);
                emit(fn, ud, "workers.waits", "", ps->workers_waits);
                emit(fn, ud, "workers.too_big", "", ps->workers_too_big);
        }
}

void stats_foreach(const StatsView *v, StatFn fn, void *ud)
{
        pipeline_counters(v->pipeline, fn, ud);
        emit(fn, ud, "diagnoses.emitted", "", v->diagnoses);
        if (v->written)
                for (unsigned i = 0; i < DIAG__MAX; i++)
                        emit(fn, ud, "diagnoses.", diag_code_name((DiagCode)i), v->written[i]);
        if (v->capture) {
                emit(fn, ud, "capture.received", "", v->capture->received);
                emit(fn, ud, "capture.kernel_drops", "", v->capture->kernel_drops);
                emit(fn, ud, "capture.if_drops", "", v->capture->if_drops);
                emit(fn, ud, "capture.losses", "", v->capture_losses);
        }
        if (v->ring) {
                emit(fn, ud, "ring.packets", "", v->ring->pushed);
                emit(fn, ud, "ring.drops", "", v->ring->dropped);
                emit(fn, ud, "ring.drop_bytes", "", v->ring->dropped_bytes);
                emit(fn, ud, "ring.too_big", "", v->ring->too_big);
                emit(fn, ud, "ring.high_water_bytes", "", v->ring->high_water);
        }
        if (v->hep_listener)
                for (int i = 0; i < STATS_HEP_LISTENER__MAX; i++)
                        emit(fn, ud, "hep_listener.", listener_names[i], v->hep_listener[i]);
        if (v->hep_send) {
                emit(fn, ud, "hep_send.packets", "", v->hep_sent);
                emit(fn, ud, "hep_send.errors", "", v->hep_send_errors);
        }
        if (v->metrics)
                emit(fn, ud, "metrics.write_failures", "", v->metrics_write_failures);
        if (v->service) {
                emit(fn, ud, "service.reloads", "", v->reloads);
                emit(fn, ud, "service.reload_failures", "", v->reload_failures);
        }
}

void stats_tls_hint(const PipelineStats *ps)
{
        if (ps->tls_suspected)
                log_info("%" PRIu64 " TCP segments on port 5061 look like SIP over TLS, which "
                         "cannot be read on the wire: send HEP copies from the server "
                         "(--hep-listen)",
                         ps->tls_suspected);
}

static void print_one(const char *name, uint64_t value, void *ud)
{
        fprintf((FILE *)ud, "%-32s %" PRIu64 "\n", name, value);
}

void stats_print(const StatsView *v, FILE *f)
{
        stats_foreach(v, print_one, f);
        fflush(f);
}

#define JOURNAL_FIELDS_MAX 256 /* counters of the live service, with room to grow */

typedef struct {
        struct iovec iov[JOURNAL_FIELDS_MAX + 4];
        char *owned[JOURNAL_FIELDS_MAX + 4];
        size_t n;
        char *message; /* grows */
        size_t message_len;
        int error;
} JournalBuild;

static void add_owned(JournalBuild *b, char *s)
{
        if (!s) {
                b->error = -ENOMEM;
                return;
        }
        if (b->n >= sizeof(b->iov) / sizeof(b->iov[0])) {
                free(s);
                return; /* more counters than fields: the MESSAGE still has them all */
        }
        b->owned[b->n] = s;
        b->iov[b->n] = (struct iovec){.iov_base = s, .iov_len = strlen(s)};
        b->n++;
}

static void journal_one(const char *name, uint64_t value, void *ud)
{
        JournalBuild *b = ud;
        char field[NAME_MAX_LEN + 16], *s = NULL, *m;
        size_t k = 0;
        int w;

        if (b->error)
                return;
        /* Journal field names: [A-Z0-9_], at most 64 characters. */
        k = (size_t)snprintf(field, sizeof(field), "SIPAUTHMON_");
        for (const char *p = name; *p && k < 64; p++)
                field[k++] = *p >= 'a' && *p <= 'z'     ? (char)(*p - 'a' + 'A')
                             : (*p >= '0' && *p <= '9') ? *p
                                                        : '_';
        field[k] = '\0';
        if (b->n < JOURNAL_FIELDS_MAX) {
                if (asprintf(&s, "%s=%" PRIu64, field, value) < 0)
                        s = NULL;
                add_owned(b, s);
        }
        m = realloc(b->message, b->message_len + strlen(name) + 32);
        if (!m) {
                b->error = -ENOMEM;
                return;
        }
        b->message = m;
        w = sprintf(b->message + b->message_len, " %s=%" PRIu64, name, value);
        b->message_len += (size_t)w;
}

int stats_journal(const StatsView *v)
{
        JournalBuild b = {0};
        int r;

        if (!journal_socket_present())
                return -ENOTCONN;
        b.message = strdup("MESSAGE=counters:");
        if (!b.message)
                return -ENOMEM;
        b.message_len = strlen(b.message);
        add_owned(&b, strdup("PRIORITY=6"));
        add_owned(&b, strdup("SYSLOG_IDENTIFIER=sipauthmon"));
        stats_foreach(v, journal_one, &b);
        r = b.error;
        if (r == 0) {
                b.iov[b.n++] = (struct iovec){.iov_base = b.message, .iov_len = b.message_len};
                r = sd_journal_sendv(b.iov, (int)b.n);
                b.n--;
        }
        for (size_t i = 0; i < b.n; i++)
                free(b.owned[i]);
        free(b.message);
        return r;
}
