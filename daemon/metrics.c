/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Prometheus text exposition format 0.0.4
 * (prometheus.io/docs/instrumenting/exposition_formats/): per family one
 * "# HELP name text" and one "# TYPE name counter|gauge" line, then one
 * "name{label="value"} number" line per series. Counters end in _total;
 * every series of a family is written, zeros included, so that rate() and
 * increase() have a series from the first scrape on.
 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "log.h"
#include "options.h"

#define ENV_INTERVAL      "SIPAUTHMON_METRICS_INTERVAL_MS"
#define INTERVAL_MIN_MS   10
#define INTERVAL_MAX_MS   3600000
#define METRICS_FILE_MODE 0644 /* node_exporter reads it as its own user */
#define LABEL_VALUE_MAX   64

struct MetricsFile {
        char *path;
        uint64_t failures;
        bool failing; /* the last write failed: said once, not again until one succeeds */
};

uint64_t metrics_interval_usec(void)
{
        const char *e = getenv(ENV_INTERVAL);
        uint64_t ms;

        if (e && options_parse_uint(e, INTERVAL_MIN_MS, INTERVAL_MAX_MS, &ms))
                return ms * 1000;
        return (uint64_t)METRICS_INTERVAL_S * 1000000;
}

size_t metrics_escape_label(const char *in, char *out, size_t n)
{
        size_t k = 0;

        if (n == 0)
                return 0;
        for (const char *p = in; p && *p; p++) {
                char esc = *p == '\\' ? '\\' : *p == '"' ? '"' : *p == '\n' ? 'n' : 0;
                size_t need = esc ? 2 : 1;

                if (k + need >= n)
                        break;
                if (esc) {
                        out[k++] = '\\';
                        out[k++] = esc;
                } else
                        out[k++] = *p;
        }
        out[k] = '\0';
        return k;
}

/* ---- format ----------------------------------------------------------------- */

static void family(FILE *f, const char *name, const char *type, const char *help)
{
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, const char *label, const char *value, uint64_t v)
{
        char esc[LABEL_VALUE_MAX];

        if (!label) {
                fprintf(f, "%s %" PRIu64 "\n", name, v);
                return;
        }
        metrics_escape_label(value, esc, sizeof esc);
        fprintf(f, "%s{%s=\"%s\"} %" PRIu64 "\n", name, label, esc, v);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
        family(f, name, "counter", help);
        sample(f, name, NULL, NULL, v);
}

/* The bounded tables (STYLE.md: a hard limit, an eviction policy, a counter). */
static const struct {
        const char *name;
        size_t entries, evicted; /* offsets into PipelineStats */
} tables[] = {
#define T(label, a, b)                                                                             \
        {                                                                                          \
                label, offsetof(PipelineStats, a), offsetof(PipelineStats, b)                      \
        }
    T("transactions", tracker.transactions, tracker.evicted_transactions),
    T("chains", tracker.chains, tracker.evicted_chains),
    T("clients", tracker.clients, tracker.evicted_clients),
    T("principals", tracker.principals, tracker.evicted_principals),
    T("nonces", tracker.nonces, tracker.evicted_nonces),
    T("sources", tracker.sources, tracker.evicted_sources),
    T("ip_fragments", ipfrag.datagrams, ipfrag.evicted),
    T("tcp_streams", tcp.active, tcp.evicted),
#undef T
};

static uint64_t field(const PipelineStats *ps, size_t offset)
{
        uint64_t x;

        memcpy(&x, (const char *)ps + offset, sizeof x);
        return x;
}

void metrics_format(const StatsView *v, FILE *f)
{
        const PipelineStats *ps = v->pipeline;
        const TrackerStats *ts = &ps->tracker;
        uint64_t parse_errors = 0, hep_in = 0;

        for (int i = 1; i < SIP_PARSE__MAX; i++)
                parse_errors += ps->sip[i];
        for (int i = 0; i < HEP__MAX; i++)
                hep_in += ps->hep[i];

        family(f, "sipauthmon_diagnoses_total", "counter",
               "Diagnosis records written, by code (rate-limited: the summary of records held "
               "back by the cap).");
        for (unsigned i = 0; i < DIAG__MAX; i++)
                sample(f, "sipauthmon_diagnoses_total", "diagnosis", diag_code_name((DiagCode)i),
                       v->written ? v->written[i] : 0);
        counter(f, "sipauthmon_records_rate_limited_total",
                "Diagnosis records held back by max_records_per_minute.", ts->rate_limited);
        counter(f, "sipauthmon_packets_total",
                "Frames read from the capture, live or from a file (HEP packets: "
                "sipauthmon_hep_packets_total).",
                ps->packets);
        counter(f, "sipauthmon_sip_messages_total", "SIP messages parsed.", ps->sip[SIP_PARSE_OK]);
        counter(f, "sipauthmon_sip_parse_errors_total",
                "Payloads that looked like SIP but could not be parsed.", parse_errors);

        family(f, "sipauthmon_challenges_total", "counter",
               "Usable digest challenges (401 WWW-Authenticate, 407 Proxy-Authenticate).");
        sample(f, "sipauthmon_challenges_total", "status", "401",
               ts->challenges - ts->challenges_407);
        sample(f, "sipauthmon_challenges_total", "status", "407", ts->challenges_407);
        counter(f, "sipauthmon_auth_refusals_total",
                "Authentication refusals: credentials answered with a challenge or 403, a "
                "challenge without a usable header, a challenge the client never answered.",
                ts->refusals);
        counter(f, "sipauthmon_auth_successes_total",
                "2xx final responses to requests that carried credentials.", ts->auth_successes);

        family(f, "sipauthmon_packets_dropped_total", "counter",
               "Packets lost before analysis: no room in the kernel buffer, dropped by the "
               "interface or its driver, or the capture ring full.");
        sample(f, "sipauthmon_packets_dropped_total", "reason", "kernel",
               v->capture ? v->capture->kernel_drops : 0);
        sample(f, "sipauthmon_packets_dropped_total", "reason", "interface",
               v->capture ? v->capture->if_drops : 0);
        sample(f, "sipauthmon_packets_dropped_total", "reason", "ring",
               v->ring ? v->ring->dropped : 0);

        family(f, "sipauthmon_evictions_total", "counter",
               "Entries evicted from a full table, least recently used first.");
        for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
                sample(f, "sipauthmon_evictions_total", "table", tables[i].name,
                       field(ps, tables[i].evicted));
        family(f, "sipauthmon_table_entries", "gauge", "Entries held now, by table.");
        for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
                sample(f, "sipauthmon_table_entries", "table", tables[i].name,
                       field(ps, tables[i].entries));

        counter(f, "sipauthmon_websocket_messages_total",
                "SIP messages taken out of WebSocket frames (RFC 7118).", ps->ws.messages);
        counter(f, "sipauthmon_websocket_bad_frames_total",
                "WebSocket frames that broke RFC 6455 (unmasked client frames, reserved bits, "
                "bad control frames ...): counted, the connection resynchronised.",
                ps->ws.bad_frames);

        family(f, "sipauthmon_hep_packets_total", "counter",
               "HEP packets received (listener, or in the capture with --hep-in-capture) and "
               "sent (--hep-send).");
        sample(f, "sipauthmon_hep_packets_total", "direction", "in", hep_in);
        sample(f, "sipauthmon_hep_packets_total", "direction", "out", v->hep_sent);

        counter(f, "sipauthmon_metrics_write_failures_total",
                "Writes of this file that failed (the file then keeps its previous contents).",
                v->metrics_write_failures);
}

/* ---- the file --------------------------------------------------------------- */

MetricsFile *metrics_file_new(const char *path)
{
        MetricsFile *m = calloc(1, sizeof *m);

        if (!m)
                return NULL;
        m->path = strdup(path);
        if (!m->path) {
                free(m);
                return NULL;
        }
        return m;
}

MetricsFile *metrics_file_free(MetricsFile *m)
{
        if (m) {
                free(m->path);
                free(m);
        }
        return NULL;
}

uint64_t metrics_file_failures(const MetricsFile *m)
{
        return m->failures;
}

static int write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t w = write(fd, p, n);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno;
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

/*
 * The temporary file is ".NAME.XXXXXX" beside NAME: hidden, and without the
 * .prom ending that node_exporter's glob takes. The directory is not
 * fsync()ed: after a crash the previous file, or none, is as good.
 */
static int replace_file(const char *path, const char *data, size_t len)
{
        const char *slash = strrchr(path, '/');
        size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
        char *tmp;
        int fd, r;

        if (asprintf(&tmp, "%.*s.%s.XXXXXX", (int)dirlen, path, path + dirlen) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                free(tmp);
                return r;
        }
        r = write_all(fd, data, len);
        if (r == 0 && fchmod(fd, METRICS_FILE_MODE) < 0)
                r = -errno;
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        free(tmp);
        return r;
}

int metrics_file_write(MetricsFile *m, const StatsView *v)
{
        char name[256];
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        int r;

        if (!f)
                r = -ENOMEM;
        else {
                metrics_format(v, f);
                r = ferror(f) ? -ENOMEM : 0;
                if (fclose(f) != 0 && r == 0)
                        r = -ENOMEM;
        }
        if (r == 0)
                r = replace_file(m->path, buf, len);
        free(buf);

        escape_text(m->path, name, sizeof name);
        if (r < 0) {
                m->failures++;
                if (!m->failing)
                        log_error("cannot write the metrics file %s: %s (retried; counted in "
                                  "sipauthmon_metrics_write_failures_total)",
                                  name, strerror(-r));
                m->failing = true;
        } else if (m->failing) {
                log_info("metrics file %s written again (%" PRIu64 " failed writes so far)", name,
                         m->failures);
                m->failing = false;
        }
        return r;
}
