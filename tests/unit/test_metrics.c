/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for daemon/metrics.c: label escaping; the text format read
 * back line by line (HELP and TYPE before every family, counters named
 * _total, every label value from its fixed set, every series present,
 * zeros included, each value from its StatsView field); the file replaced
 * whole with mode 0644 and no temporary file left, a failed write counted
 * every time and logged once until a write succeeds again; the period and
 * its test knob.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "metrics.h"

/* ---- helpers ------------------------------------------------------------ */

static void copy(char *dst, size_t n, const char *src)
{
        size_t len = strlen(src);

        CHECK(len < n, "too long: %s", src);
        if (len >= n)
                len = n - 1;
        memcpy(dst, src, len);
        dst[len] = '\0';
}

static char *format(const StatsView *v)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                abort();
        metrics_format(v, f);
        fclose(f);
        return buf;
}

typedef struct {
        char name[96], label[32], value[64];
        uint64_t v;
} Series;

#define SERIES_MAX 128

typedef struct {
        Series s[SERIES_MAX];
        size_t n;
        unsigned families, counters, gauges;
} Parsed;

/*
 * Read the text format back, strictly: "# HELP name text", then "# TYPE name
 * counter|gauge", then samples of that name only, each "name value" or
 * name{label="value"} value with one label.
 */
static void parse(const char *text, Parsed *out)
{
        char family[96] = "", type[16] = "";
        bool help = false;
        const char *p = text;

        memset(out, 0, sizeof *out);
        CHECK(text[0] && text[strlen(text) - 1] == '\n', "the text does not end with a newline");
        while (*p) {
                const char *nl = strchr(p, '\n');
                char line[512];
                size_t len = nl ? (size_t)(nl - p) : strlen(p);

                CHECK(len < sizeof line, "line too long");
                if (len >= sizeof line)
                        return;
                memcpy(line, p, len);
                line[len] = '\0';
                p += len + (nl ? 1 : 0);

                if (strncmp(line, "# HELP ", 7) == 0) {
                        char *sp = strchr(line + 7, ' ');

                        CHECK(sp && sp[1], "HELP without text: %s", line);
                        if (!sp)
                                continue;
                        *sp = '\0';
                        copy(family, sizeof family, line + 7);
                        CHECK(strchr(sp + 1, '\\') == NULL, "HELP text with a backslash: %s",
                              sp + 1);
                        help = true;
                        type[0] = '\0';
                        out->families++;
                        continue;
                }
                if (strncmp(line, "# TYPE ", 7) == 0) {
                        char name[96];

                        CHECK(help, "TYPE without HELP before it: %s", line);
                        CHECK(sscanf(line + 7, "%95s %15s", name, type) == 2, "bad TYPE: %s", line);
                        CHECK(strcmp(name, family) == 0, "TYPE %s after HELP %s", name, family);
                        if (strcmp(type, "counter") == 0) {
                                out->counters++;
                                CHECK(strlen(family) > 6 &&
                                          strcmp(family + strlen(family) - 6, "_total") == 0,
                                      "counter %s does not end in _total", family);
                        } else if (strcmp(type, "gauge") == 0) {
                                out->gauges++;
                                CHECK(strstr(family, "_total") == NULL, "gauge %s named _total",
                                      family);
                        } else
                                CHECK(false, "type %s", type);
                        help = false;
                        continue;
                }
                CHECK(line[0] != '#', "other comment: %s", line);
                CHECK(type[0], "sample before TYPE: %s", line);
                CHECK(out->n < SERIES_MAX, "too many series");
                if (out->n >= SERIES_MAX)
                        return;
                {
                        Series *s = &out->s[out->n++];
                        char *brace = strchr(line, '{'), *sp = strrchr(line, ' '), *end;

                        CHECK(sp != NULL, "sample without value: %s", line);
                        if (!sp)
                                continue;
                        *sp = '\0';
                        errno = 0;
                        s->v = strtoull(sp + 1, &end, 10);
                        CHECK(errno == 0 && *end == '\0' && end != sp + 1, "value %s", sp + 1);
                        if (brace) {
                                char *eq = strchr(brace, '=');
                                size_t vl;

                                *brace = '\0';
                                CHECK(eq && eq[1] == '"', "label: %s", brace + 1);
                                if (!eq)
                                        continue;
                                *eq = '\0';
                                copy(s->label, sizeof s->label, brace + 1);
                                vl = strlen(eq + 2);
                                CHECK(vl >= 2 && strcmp(eq + 2 + vl - 2, "\"}") == 0,
                                      "label value not closed: %s", eq + 2);
                                if (vl >= 2)
                                        eq[2 + vl - 2] = '\0';
                                copy(s->value, sizeof s->value, eq + 2);
                        }
                        copy(s->name, sizeof s->name, line);
                        CHECK(strcmp(s->name, family) == 0, "sample %s in family %s", s->name,
                              family);
                }
        }
}

static const Series *find(const Parsed *p, const char *name, const char *value)
{
        for (size_t i = 0; i < p->n; i++)
                if (strcmp(p->s[i].name, name) == 0 &&
                    strcmp(p->s[i].value, value ? value : "") == 0)
                        return &p->s[i];
        return NULL;
}

static uint64_t value_of(const Parsed *p, const char *name, const char *value)
{
        const Series *s = find(p, name, value);

        CHECK(s != NULL, "no series %s{%s}", name, value ? value : "");
        return s ? s->v : UINT64_MAX;
}

/* The fixed label sets, as sipauthmon(8) MONITORING lists them. */
static const char *const statuses[] = {"401", "407", NULL};
static const char *const reasons[] = {"kernel", "interface", "ring", NULL};
static const char *const tables[] = {"transactions", "chains",      "clients",
                                     "principals",   "nonces",      "sources",
                                     "ip_fragments", "tcp_streams", NULL};
static const char *const directions[] = {"in", "out", NULL};

static bool in_set(const char *const *set, const char *v)
{
        for (; *set; set++)
                if (strcmp(*set, v) == 0)
                        return true;
        return false;
}

static bool is_code(const char *v)
{
        DiagCode c;

        return diag_code_from_name(v, &c);
}

/* ---- tests -------------------------------------------------------------- */

static void test_escape(void)
{
        char buf[64];
        size_t n;

        n = metrics_escape_label("wrong-password", buf, sizeof buf);
        CHECK(n == 14 && strcmp(buf, "wrong-password") == 0, "plain: %s", buf);
        n = metrics_escape_label("a\"b\\c\nd", buf, sizeof buf);
        CHECK(strcmp(buf, "a\\\"b\\\\c\\nd") == 0 && n == strlen(buf), "escaped: %s", buf);
        /* Cut before an escape that does not fit whole. */
        n = metrics_escape_label("ab\"c", buf, 4);
        CHECK(strcmp(buf, "ab") == 0 && n == 2, "truncated: %s", buf);
        n = metrics_escape_label("abc", buf, 1);
        CHECK(n == 0 && buf[0] == '\0', "room for the NUL only");
        CHECK(metrics_escape_label("abc", buf, 0) == 0, "n = 0");
        n = metrics_escape_label(NULL, buf, sizeof buf);
        CHECK(n == 0 && buf[0] == '\0', "NULL");
}

/* Every field a distinct value, so that a mix-up shows. */
static void fill(PipelineStats *ps, CaptureStats *cs, RingStats *rs, uint64_t written[DIAG__MAX])
{
        memset(ps, 0, sizeof *ps);
        ps->packets = 1001;
        ps->sip[SIP_PARSE_OK] = 1002;
        ps->sip[1] = 3;
        ps->sip[SIP_PARSE__MAX - 1] += 4;
        ps->hep[HEP_OK] = 50;
        ps->hep[HEP_E_TRUNCATED] = 2;
        ps->tracker.challenges = 70;
        ps->tracker.challenges_407 = 20;
        ps->tracker.refusals = 30;
        ps->tracker.successes = 41;
        ps->tracker.auth_successes = 40;
        ps->tracker.rate_limited = 9;
        ps->tracker.transactions = 11;
        ps->tracker.chains = 12;
        ps->tracker.clients = 13;
        ps->tracker.principals = 14;
        ps->tracker.nonces = 15;
        ps->tracker.sources = 16;
        ps->tracker.evicted_transactions = 21;
        ps->tracker.evicted_chains = 22;
        ps->tracker.evicted_clients = 23;
        ps->tracker.evicted_principals = 24;
        ps->tracker.evicted_nonces = 25;
        ps->tracker.evicted_sources = 26;
        ps->ipfrag.datagrams = 17;
        ps->ipfrag.evicted = 27;
        ps->tcp.active = 18;
        ps->tcp.evicted = 28;
        ps->ws.messages = 31;
        ps->ws.bad_frames = 32;
        *cs = (CaptureStats){.received = 999, .kernel_drops = 5, .if_drops = 6};
        *rs = (RingStats){.dropped = 7};
        for (unsigned i = 0; i < DIAG__MAX; i++)
                written[i] = 100 + i;
}

static void test_format(void)
{
        uint64_t written[DIAG__MAX];
        PipelineStats ps;
        CaptureStats cs;
        RingStats rs;
        StatsView v;
        Parsed *p = calloc(1, sizeof *p);
        char *text;
        size_t codes = 0;

        fill(&ps, &cs, &rs, written);
        v = (StatsView){.pipeline = &ps,
                        .diagnoses = 999,
                        .written = written,
                        .capture = &cs,
                        .ring = &rs,
                        .hep_send = true,
                        .hep_sent = 77,
                        .metrics = true,
                        .metrics_write_failures = 8};
        text = format(&v);
        parse(text, p);

        CHECK(p->families == 15 && p->gauges == 1 && p->counters == 14,
              "%u families, %u counters, %u gauges", p->families, p->counters, p->gauges);
        /* Labels only from the fixed sets. */
        for (size_t i = 0; i < p->n; i++) {
                const Series *s = &p->s[i];

                CHECK(strncmp(s->name, "sipauthmon_", 11) == 0, "name %s", s->name);
                if (!s->label[0])
                        continue;
                if (strcmp(s->label, "diagnosis") == 0) {
                        CHECK(is_code(s->value), "diagnosis=%s", s->value);
                        codes++;
                } else if (strcmp(s->label, "status") == 0)
                        CHECK(in_set(statuses, s->value), "status=%s", s->value);
                else if (strcmp(s->label, "reason") == 0)
                        CHECK(in_set(reasons, s->value), "reason=%s", s->value);
                else if (strcmp(s->label, "table") == 0)
                        CHECK(in_set(tables, s->value), "table=%s", s->value);
                else if (strcmp(s->label, "direction") == 0)
                        CHECK(in_set(directions, s->value), "direction=%s", s->value);
                else
                        CHECK(false, "label %s", s->label);
        }
        CHECK(codes == DIAG__MAX, "%zu diagnosis series, want %d", codes, DIAG__MAX);

        /* Each value from its field. */
        for (unsigned i = 0; i < DIAG__MAX; i++)
                CHECK(value_of(p, "sipauthmon_diagnoses_total", diag_code_name((DiagCode)i)) ==
                          100 + i,
                      "diagnoses %s", diag_code_name((DiagCode)i));
        CHECK(value_of(p, "sipauthmon_records_rate_limited_total", NULL) == 9, "rate limited");
        CHECK(value_of(p, "sipauthmon_packets_total", NULL) == 1001, "packets");
        CHECK(value_of(p, "sipauthmon_sip_messages_total", NULL) == 1002, "SIP messages");
        CHECK(value_of(p, "sipauthmon_sip_parse_errors_total", NULL) == 7, "parse errors");
        CHECK(value_of(p, "sipauthmon_websocket_messages_total", NULL) == 31, "ws messages");
        CHECK(value_of(p, "sipauthmon_websocket_bad_frames_total", NULL) == 32, "ws bad frames");
        CHECK(value_of(p, "sipauthmon_challenges_total", "401") == 50, "401");
        CHECK(value_of(p, "sipauthmon_challenges_total", "407") == 20, "407");
        CHECK(value_of(p, "sipauthmon_auth_refusals_total", NULL) == 30, "refusals");
        CHECK(value_of(p, "sipauthmon_auth_successes_total", NULL) == 40, "successes");
        CHECK(value_of(p, "sipauthmon_packets_dropped_total", "kernel") == 5, "kernel drops");
        CHECK(value_of(p, "sipauthmon_packets_dropped_total", "interface") == 6, "if drops");
        CHECK(value_of(p, "sipauthmon_packets_dropped_total", "ring") == 7, "ring drops");
        for (unsigned i = 0; tables[i]; i++) {
                CHECK(value_of(p, "sipauthmon_table_entries", tables[i]) == 11 + i, "size %s",
                      tables[i]);
                CHECK(value_of(p, "sipauthmon_evictions_total", tables[i]) == 21 + i,
                      "evictions %s", tables[i]);
        }
        CHECK(value_of(p, "sipauthmon_hep_packets_total", "in") == 52, "HEP in");
        CHECK(value_of(p, "sipauthmon_hep_packets_total", "out") == 77, "HEP out");
        CHECK(value_of(p, "sipauthmon_metrics_write_failures_total", NULL) == 8, "failures");
        free(text);

        /* A -r run: no capture, no ring, no sender; nothing written. Every
         * series is still there, at zero where there is no source. */
        {
                size_t n = p->n;

                v = (StatsView){.pipeline = &ps};
                text = format(&v);
                parse(text, p);
                CHECK(p->n == n, "%zu series without capture, %zu with", p->n, n);
                CHECK(value_of(p, "sipauthmon_diagnoses_total", "wrong-password") == 0,
                      "no records");
                CHECK(value_of(p, "sipauthmon_packets_dropped_total", "kernel") == 0 &&
                          value_of(p, "sipauthmon_packets_dropped_total", "ring") == 0,
                      "no drops");
                CHECK(value_of(p, "sipauthmon_hep_packets_total", "out") == 0, "no HEP out");
                free(text);
        }
        free(p);
}

static char *slurp(const char *path)
{
        FILE *f = fopen(path, "r");
        char *buf = NULL;
        size_t cap = 0, len;

        if (!f)
                return NULL;
        len = getdelim(&buf, &cap, '\0', f);
        fclose(f);
        if (len == (size_t)-1) {
                free(buf);
                return strdup("");
        }
        return buf;
}

static size_t entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        size_t n = 0;

        if (!d)
                return 0;
        while ((e = readdir(d)))
                n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
        closedir(d);
        return n;
}

/* stderr into a memfd while fn runs; returns the lines written. */
static unsigned lines_logged(MetricsFile *m, const StatsView *v, int *r)
{
        int saved = dup(STDERR_FILENO), fd = memfd_create("stderr", MFD_CLOEXEC);
        unsigned lines = 0;
        char buf[4096];
        ssize_t k;

        fflush(stderr);
        dup2(fd, STDERR_FILENO);
        *r = metrics_file_write(m, v);
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        lseek(fd, 0, SEEK_SET);
        while ((k = read(fd, buf, sizeof buf)) > 0)
                for (ssize_t i = 0; i < k; i++)
                        lines += buf[i] == '\n';
        close(fd);
        return lines;
}

static void test_file(void)
{
        char dir[] = "/tmp/test-metrics.XXXXXX", path[256], bad[300], *want, *got;
        uint64_t written[DIAG__MAX];
        PipelineStats ps;
        CaptureStats cs;
        RingStats rs;
        StatsView v;
        MetricsFile *m;
        struct stat st;
        mode_t old = umask(077); /* the units' UMask=: the file must still be 0644 */
        int r;

        if (!mkdtemp(dir)) {
                CHECK(false, "mkdtemp: %s", strerror(errno));
                return;
        }
        fill(&ps, &cs, &rs, written);
        v = (StatsView){.pipeline = &ps, .written = written, .metrics = true};
        snprintf(path, sizeof path, "%s/sipauthmon.prom", dir);
        m = metrics_file_new(path);
        r = metrics_file_write(m, &v);
        CHECK(r == 0, "write: %s", strerror(-r));
        CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644, "mode %o, want 644",
              (unsigned)(st.st_mode & 07777));
        want = format(&v);
        got = slurp(path);
        CHECK(got && strcmp(got, want) == 0, "the file differs from metrics_format()");
        free(got);
        written[0]++;
        CHECK(metrics_file_write(m, &v) == 0, "second write");
        got = slurp(path);
        CHECK(got && strcmp(got, want) != 0, "the file was not replaced");
        free(got);
        free(want);
        CHECK(entries(dir) == 1, "%zu entries in the directory: a temporary file left",
              entries(dir));
        CHECK(metrics_file_failures(m) == 0, "failures without one");
        m = metrics_file_free(m);

        /* Failures: counted each time, said once until a write succeeds. */
        snprintf(bad, sizeof bad, "%s/missing/sipauthmon.prom", dir);
        m = metrics_file_new(bad);
        CHECK(lines_logged(m, &v, &r) == 1 && r == -ENOENT, "first failure: one line, ENOENT");
        CHECK(lines_logged(m, &v, &r) == 0 && r < 0, "second failure: silent");
        CHECK(lines_logged(m, &v, &r) == 0 && r < 0, "third failure: silent");
        CHECK(metrics_file_failures(m) == 3, "%" PRIu64 " failures, want 3",
              metrics_file_failures(m));
        snprintf(bad, sizeof bad, "%s/missing", dir);
        CHECK(mkdir(bad, 0755) == 0, "mkdir");
        CHECK(lines_logged(m, &v, &r) == 1 && r == 0, "recovered: one line");
        CHECK(lines_logged(m, &v, &r) == 0 && r == 0, "then silent");
        CHECK(metrics_file_failures(m) == 3, "the count stays");
        m = metrics_file_free(m);

        /* A bare file name: the temporary file in the working directory. */
        {
                char cwd[256];

                CHECK(getcwd(cwd, sizeof cwd) != NULL && chdir(dir) == 0, "chdir");
                m = metrics_file_new("bare.prom");
                CHECK(metrics_file_write(m, &v) == 0, "bare file name");
                m = metrics_file_free(m);
                CHECK(stat("bare.prom", &st) == 0, "bare.prom missing");
                CHECK(chdir(cwd) == 0, "chdir back");
        }

        snprintf(path, sizeof path, "rm -rf '%s'", dir);
        CHECK(system(path) == 0, "clean-up");
        umask(old);
}

static void test_interval(void)
{
        unsetenv("SIPAUTHMON_METRICS_INTERVAL_MS");
        CHECK(metrics_interval_usec() == 15000000, "default period");
        setenv("SIPAUTHMON_METRICS_INTERVAL_MS", "50", 1);
        CHECK(metrics_interval_usec() == 50000, "test period");
        setenv("SIPAUTHMON_METRICS_INTERVAL_MS", "5", 1);
        CHECK(metrics_interval_usec() == 15000000, "below the minimum: default");
        setenv("SIPAUTHMON_METRICS_INTERVAL_MS", "50ms", 1);
        CHECK(metrics_interval_usec() == 15000000, "not a number: default");
        unsetenv("SIPAUTHMON_METRICS_INTERVAL_MS");
}

int main(void)
{
        test_escape();
        test_format();
        test_file();
        test_interval();
        return check_exit("metrics");
}
