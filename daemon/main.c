/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * sipauthmon: options -> capture -> pipeline -> sink. Single-threaded for
 * now; the capture loop below is what later moves into a capture thread.
 *
 * Exit status (DESIGN.md "Command line"): 0 nothing diagnosed, 1 at least
 * one diagnosis, 2 error.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "capture.h"
#include "credentials_file.h"
#include "escape.h"
#include "options.h"
#include "sink.h"
#include "../analysis/pipeline.h"

#define EXIT_DIAGNOSED 1
#define EXIT_ERROR     2

#define TICK_US     1000000 /* pipeline housekeeping every second of packet time */
#define WAIT_MAX_MS 200     /* longest a live capture waits before we look at signals */
#define CONFIG_FILE SYSCONFDIR "/sipauthmon/sipauthmon.conf"

static volatile sig_atomic_t got_signal;

static unsigned verbosity = 1; /* 0 quiet, 1 normal, 2+ verbose */

typedef struct {
        Sink *sink;
        uint64_t diagnoses; /* records the pipeline produced */
        int sink_error;     /* first failure of the sink; output stops there */
} Run;

__attribute__((format(printf, 2, 3))) static void log_at(unsigned level, const char *fmt, ...)
{
        va_list ap;

        if (verbosity < level)
                return;
        fputs("sipauthmon: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

#define log_error(...) log_at(0, __VA_ARGS__)
#define log_info(...)  log_at(1, __VA_ARGS__)
#define log_debug(...) log_at(2, __VA_ARGS__)

static void on_signal(int sig)
{
        got_signal = sig; /* nothing else: the loop looks at it */
}

static int setup_signals(void)
{
        struct sigaction sa = {.sa_handler = on_signal};
        struct sigaction ign = {.sa_handler = SIG_IGN};

        /* No SA_RESTART: a signal must interrupt poll() so that we stop promptly. */
        sigemptyset(&sa.sa_mask);
        sigemptyset(&ign.sa_mask);
        if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
                return -errno;
        /* A closed stdout (| head -1) must show up as EPIPE from the sink. */
        if (sigaction(SIGPIPE, &ign, NULL) < 0)
                return -errno;
        return 0;
}

static void on_diagnosis(const Diagnosis *d, void *userdata)
{
        Run *run = userdata;
        int r;

        run->diagnoses++;
        if (run->sink_error)
                return;
        r = sink_emit(run->sink, d);
        if (r < 0)
                run->sink_error = r;
}

static int64_t clock_us(clockid_t id)
{
        struct timespec ts;

        clock_gettime(id, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Counter names are "[a-z0-9_.]+": fold whatever a verdict name holds. */
static void stat_line(const char *prefix, const char *name, uint64_t v)
{
        char buf[96];
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
        fprintf(stderr, "%-32s %" PRIu64 "\n", buf, v);
}

static void print_stats(const PipelineStats *ps, uint64_t diagnoses, const CaptureStats *cs)
{
        static const struct {
                const char *name;
                size_t offset;
        } tracker_fields[] = {
        /* clang-format off */
#define F(x) {#x, offsetof(TrackerStats, x)}
                F(requests),
                F(responses),
                F(retransmissions),
                F(unmatched_responses),
                F(challenges),
                F(refusals),
                F(successes),
                F(diagnoses),
                F(suppressed),
                F(rate_limited),
                F(verified_ok),
                F(verified_bad),
                F(verify_unsupported),
                F(transactions),
                F(chains),
                F(clients),
                F(principals),
                F(nonces),
                F(sources),
                F(evicted_transactions),
                F(evicted_chains),
                F(evicted_clients),
                F(evicted_principals),
                F(evicted_nonces),
                F(evicted_sources),
#undef F
            /* clang-format on */
        };
        uint64_t errors = 0;

        /* Every TrackerStats field is listed above: a new one breaks the build here. */
        _Static_assert(sizeof(TrackerStats) ==
                           sizeof(tracker_fields) / sizeof(tracker_fields[0]) * sizeof(uint64_t),
                       "print_stats(): TrackerStats fields missing from tracker_fields[]");

        stat_line("packets.total", "", ps->packets);
        stat_line("packets.bytes", "", ps->bytes);
        stat_line("decode.", "ok", ps->decode[DECODE_OK]);
        for (int v = 1; v < DECODE__MAX; v++)
                stat_line("decode.", decode_verdict_name((DecodeVerdict)v), ps->decode[v]);
        for (int v = 1; v < SIP_PARSE__MAX; v++)
                errors += ps->sip[v];
        stat_line("sip.messages", "", ps->sip[SIP_PARSE_OK]);
        stat_line("sip.requests", "", ps->sip_requests);
        stat_line("sip.responses", "", ps->sip_responses);
        stat_line("sip.not_sip", "", ps->not_sip);
        stat_line("sip.parse_errors", "", errors);
        for (int v = 1; v < SIP_PARSE__MAX; v++)
                stat_line("sip.parse_error.", sip_parse_verdict_name((SipParseVerdict)v),
                          ps->sip[v]);
        for (size_t i = 0; i < sizeof(tracker_fields) / sizeof(tracker_fields[0]); i++) {
                uint64_t v;

                memcpy(&v, (const char *)&ps->tracker + tracker_fields[i].offset, sizeof(v));
                stat_line("tracker.", tracker_fields[i].name, v);
        }
        stat_line("diagnoses.emitted", "", diagnoses);
        if (cs) {
                stat_line("capture.received", "", cs->received);
                stat_line("capture.kernel_drops", "", cs->kernel_drops);
                stat_line("capture.if_drops", "", cs->if_drops);
        }
}

/*
 * Feed every packet to the pipeline until the file ends, --count or
 * --duration is reached, a signal arrives or output fails. Returns 0 or the
 * negative errno of a capture failure (message in capture_error()).
 */
static int run_capture(const Options *o, Capture *cap, Pipeline *p, Run *run)
{
        const int linktype = capture_linktype(cap);
        const bool live = capture_is_live(cap);
        const int64_t deadline = o->duration_s && live
                                     ? clock_us(CLOCK_MONOTONIC) + (int64_t)o->duration_s * 1000000
                                     : 0;
        int64_t last_tick = INT64_MIN;
        uint64_t packets = 0;
        CapturePacket pkt;

        for (;;) {
                int timeout = WAIT_MAX_MS, r;

                if (got_signal) {
                        log_debug("signal %d: stopping", (int)got_signal);
                        return 0;
                }
                if (run->sink_error)
                        return 0;
                if (deadline) {
                        int64_t left = deadline - clock_us(CLOCK_MONOTONIC);

                        if (left <= 0) {
                                log_debug("--duration reached");
                                return 0;
                        }
                        if (left / 1000 + 1 < timeout)
                                timeout = (int)(left / 1000 + 1);
                }

                r = capture_next(cap, &pkt, timeout);
                if (r < 0 && got_signal)
                        continue; /* a read from stdin interrupted by the signal: just stop */
                if (r < 0)
                        return r;
                if (r == CAPTURE_END)
                        return 0;
                if (r == CAPTURE_AGAIN) {
                        /* Idle link: keep expiring state on the wall clock, which is
                         * what live packet timestamps are. */
                        if (live && last_tick != INT64_MIN) {
                                int64_t now = clock_us(CLOCK_REALTIME);

                                if (now - last_tick >= TICK_US) {
                                        pipeline_tick(p, now);
                                        last_tick = now;
                                }
                        }
                        continue;
                }

                /* Expire before the packet so that stale state does not meet it. */
                if (last_tick == INT64_MIN)
                        last_tick = pkt.ts_us;
                else if (pkt.ts_us - last_tick >= TICK_US) {
                        pipeline_tick(p, pkt.ts_us);
                        last_tick = pkt.ts_us;
                }
                pipeline_frame(p, linktype, pkt.ts_us, pkt.data, pkt.caplen);
                if (o->count && ++packets >= o->count) {
                        log_debug("--count reached");
                        return 0;
                }
        }
}

/*
 * Table hash key: random, so that nobody on the wire can aim Call-IDs or
 * branches at one hash chain. Only the layout of the tables depends on it,
 * never the output. Without entropy yet (early boot), keep the default
 * mixed with what little varies.
 */
static uint64_t hash_seed(uint64_t fallback)
{
        uint64_t seed;

        if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
                return seed;
        return fallback ^ (uint64_t)clock_us(CLOCK_MONOTONIC) ^ ((uint64_t)getpid() << 32);
}

static int open_capture(const Options *o, Capture **cap)
{
        char err[1024];
        char lt[128], name[256];
        int r;

        if (o->input == INPUT_LIVE)
                r = capture_open_live(cap, o->source, o->filter, err, sizeof(err));
        else
                r = capture_open_file(cap, o->source, o->filter, err, sizeof(err));
        if (r < 0) {
                log_error("%s", err);
                return r;
        }
        if (capture_warning(*cap))
                log_info("warning: %s", capture_warning(*cap));
        escape_text(strcmp(o->source, "-") == 0 ? "stdin" : o->source, name, sizeof(name));
        log_debug("%s %s, link type %s, filter: %s",
                  o->input == INPUT_LIVE ? "capturing on" : "reading", name,
                  capture_linktype_describe(capture_linktype(*cap), lt, sizeof(lt)),
                  capture_filter(*cap) ? capture_filter(*cap) : "(none)");
        return 0;
}

/* Config keys and options that tune the tracker; unset ones keep its defaults. */
static void apply_tunables(const Options *o, TrackerConfig *tc)
{
        for (unsigned i = 0; i < TUNE__MAX; i++) {
                uint64_t v = o->tune[i].value;
                if (!o->tune[i].set)
                        continue;
                switch ((Tunable)i) {
                case TUNE_GUESS_THRESHOLD:
                        tc->guess_threshold = (unsigned)v;
                        break;
                case TUNE_SCAN_THRESHOLD:
                        tc->scan_threshold = (unsigned)v;
                        break;
                case TUNE_MAX_RECORDS_PER_MINUTE:
                        tc->max_records_per_minute = (unsigned)v;
                        break;
                case TUNE_MAX_TRANSACTIONS:
                        tc->max_transactions = (size_t)v;
                        break;
                case TUNE_MAX_CHAINS:
                        tc->max_chains = (size_t)v;
                        break;
                case TUNE_MAX_CLIENTS:
                        tc->max_clients = (size_t)v;
                        break;
                case TUNE_MAX_PRINCIPALS:
                        tc->max_principals = (size_t)v;
                        break;
                case TUNE_MAX_NONCES:
                        tc->max_nonces = (size_t)v;
                        break;
                case TUNE_MAX_SOURCES:
                        tc->max_sources = (size_t)v;
                        break;
                case TUNE__MAX:
                        break;
                }
        }
}

int main(int argc, char **argv)
{
        char err[OPTIONS_ERR_MAX];
        Options o;
        TrackerConfig tc;
        PipelineStats ps;
        CaptureStats cs;
        Run run = {0};
        Capture *cap = NULL;
        Pipeline *p = NULL;
        CredStore *creds = NULL;
        bool have_cs = false, color;
        int r, status = EXIT_ERROR, cap_r;

        options_init(&o);
        r = options_parse(&o, argc, argv, CONFIG_FILE, err, sizeof(err));
        if (r < 0) {
                log_error("%s", err);
                goto out;
        }
        if (o.help || o.version) {
                if (o.help)
                        fputs(options_usage(), stdout);
                else
                        printf("sipauthmon %s\n", PACKAGE_VERSION);
                status = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_ERROR;
                goto out;
        }
        verbosity = o.quiet ? 0 : 1 + o.verbose;

        r = setup_signals();
        if (r < 0) {
                log_error("sigaction: %s", strerror(-r));
                goto out;
        }
        if (o.credentials) {
                r = credentials_file_load(o.credentials, &creds, err, sizeof(err));
                if (r < 0) {
                        log_error("%s", err);
                        goto out;
                }
                log_debug("%zu credentials loaded", credstore_count(creds));
        }

        r = open_capture(&o, &cap);
        if (r < 0)
                goto out;

        tracker_config_default(&tc);
        tc.hash_seed = hash_seed(tc.hash_seed);
        tc.threshold = o.threshold;
        tc.window_us = (int64_t)o.window_s * 1000000;
        tc.credentials = creds;
        apply_tunables(&o, &tc);
        log_debug("threshold %u, window %u s, output %s", o.threshold, o.window_s,
                  sink_kind_name(o.output));

        color = o.output == SINK_TEXT && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
        run.sink = sink_new(o.output, STDOUT_FILENO, color);
        p = pipeline_new(&tc, on_diagnosis, &run);
        if (!run.sink || !p) {
                log_error("out of memory");
                goto out;
        }

        cap_r = run_capture(&o, cap, p, &run);

        /* End of input, however it came: records still pending (a rate-limit
         * summary) are emitted, and whatever was diagnosed before a failure is
         * still written out. */
        if (!run.sink_error)
                pipeline_flush(p);
        if (!run.sink_error) {
                r = sink_flush(run.sink);
                if (r < 0)
                        run.sink_error = r;
        }

        if (o.stats) {
                pipeline_get_stats(p, &ps);
                have_cs = capture_get_stats(cap, &cs) == 0;
                print_stats(&ps, run.diagnoses, have_cs ? &cs : NULL);
        }
        log_debug("%" PRIu64 " diagnoses", run.diagnoses);

        if (run.sink_error && run.sink_error != -EPIPE) {
                log_error("cannot write output: %s", strerror(-run.sink_error));
                status = EXIT_ERROR;
        } else if (cap_r < 0) {
                log_error("%s", capture_error(cap));
                status = EXIT_ERROR;
        } else
                status = run.diagnoses > 0 ? EXIT_DIAGNOSED : EXIT_SUCCESS;

out:
        p = pipeline_free(p);
        creds = credstore_free(creds);
        run.sink = sink_free(run.sink);
        cap = capture_close(cap);
        options_done(&o);
        return status;
}
