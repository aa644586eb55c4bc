/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Command line and configuration file parsing (daemon/options.c): good
 * values, bad values and ranges, configuration errors with file:line, and
 * the command line overriding the configuration file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "../analysis/tracker.h"
#include "check.h"

static char tmpdir[] = "/tmp/test-options-XXXXXX";
static char err[OPTIONS_ERR_MAX];
static Options opt;

/* Parse "sipauthmon ARGS..." (NULL-terminated) with default_config. */
static int parse(const char *default_config, ...)
{
        char *argv[64];
        int argc = 0;
        va_list ap;
        const char *a;

        argv[argc++] = (char *)"sipauthmon";
        va_start(ap, default_config);
        while ((a = va_arg(ap, const char *)) && argc < 63)
                argv[argc++] = (char *)a;
        va_end(ap);
        argv[argc] = NULL;

        options_done(&opt);
        options_init(&opt);
        return options_parse(&opt, argc, argv, default_config, err, sizeof(err));
}

static const char *write_file(const char *name, const char *content)
{
        static char path[8][256];
        static unsigned k;
        char *p = path[k++ % 8];
        FILE *f;

        snprintf(p, 256, "%s/%s", tmpdir, name);
        f = fopen(p, "we");
        if (!f || fputs(content, f) < 0 || fclose(f) != 0) {
                fprintf(stderr, "cannot write %s\n", p);
                exit(1);
        }
        return p;
}

/* A parse that must fail with -EINVAL and a one-line message containing want. */
#define BAD(want, ...)                                                                             \
        do {                                                                                       \
                int r_ = parse(NULL, __VA_ARGS__, (const char *)NULL);                             \
                CHECK(r_ == -EINVAL, "r=%d err='%s'", r_, err);                                    \
                CHECK(strstr(err, want) != NULL, "err='%s' lacks '%s'", err, want);                \
                CHECK(strchr(err, '\n') == NULL, "multi-line err='%s'", err);                      \
        } while (0)

static void test_numbers(void)
{
        uint64_t v = 42;

        CHECK(options_parse_uint("0", 0, 10, &v) && v == 0, "v=%llu", (unsigned long long)v);
        CHECK(options_parse_uint("18446744073709551615", 0, UINT64_MAX, &v) && v == UINT64_MAX,
              "max");
        v = 7;
        CHECK(!options_parse_uint("18446744073709551616", 0, UINT64_MAX, &v) && v == 7,
              "overflow accepted or out-param touched");
        CHECK(!options_parse_uint("", 0, 10, &v), "empty");
        CHECK(!options_parse_uint("+1", 0, 10, &v), "sign");
        CHECK(!options_parse_uint("-1", 0, 10, &v), "negative");
        CHECK(!options_parse_uint(" 1", 0, 10, &v), "leading space");
        CHECK(!options_parse_uint("1 ", 0, 10, &v), "trailing space");
        CHECK(!options_parse_uint("0x10", 0, 100, &v), "hex");
        CHECK(!options_parse_uint("11", 0, 10, &v), "above max");
        CHECK(!options_parse_uint("4", 5, 10, &v), "below min");
        CHECK(options_parse_uint("007", 0, 10, &v) && v == 7, "leading zeros");
}

static void test_good_command_lines(void)
{
        int r;

        unsetenv("INVOCATION_ID");
        unsetenv("JOURNAL_STREAM");

        r = parse(NULL, "-r", "x.pcap", NULL);
        CHECK(r == 0, "r=%d err=%s", r, err);
        CHECK(opt.input == INPUT_FILE && strcmp(opt.source, "x.pcap") == 0, "input");
        CHECK(opt.threshold == 3 && opt.window_s == 300, "defaults %u %u", opt.threshold,
              opt.window_s);
        CHECK(opt.output == SINK_TEXT && !opt.output_explicit, "default output text");
        CHECK(!opt.filter && !opt.stats && !opt.count && !opt.duration_s && !opt.credentials,
              "defaults");

        r = parse(NULL, "-i", "any", "--duration", "10", "--count", "5", "-f", "udp port 5060",
                  "-o", "json", "--threshold", "5", "--window", "60", "--stats", "-v", "-v",
                  "--credentials", "/etc/x", NULL);
        CHECK(r == 0, "r=%d err=%s", r, err);
        CHECK(opt.input == INPUT_LIVE && strcmp(opt.source, "any") == 0, "live");
        CHECK(opt.duration_s == 10 && opt.count == 5, "limits %u %llu", opt.duration_s,
              (unsigned long long)opt.count);
        CHECK(opt.filter && strcmp(opt.filter, "udp port 5060") == 0, "filter");
        CHECK(opt.output == SINK_JSON && opt.output_explicit, "json");
        CHECK(opt.threshold == 5 && opt.window_s == 60, "threshold/window");
        CHECK(opt.stats && opt.verbose == 2 && !opt.quiet, "flags");
        CHECK(opt.credentials && strcmp(opt.credentials, "/etc/x") == 0, "credentials");

        r = parse(NULL, "--read=-", "--threshold=1", "--window=1", "--output=journal", "-q", NULL);
        CHECK(r == 0, "r=%d err=%s", r, err);
        CHECK(opt.input == INPUT_FILE && strcmp(opt.source, "-") == 0, "stdin");
        CHECK(opt.threshold == 1 && opt.window_s == 1 && opt.quiet, "long forms");
        CHECK(opt.output == SINK_JOURNAL, "journal");

        /* Upper bounds are inclusive. */
        char max[16];
        snprintf(max, sizeof(max), "%u", (unsigned)TRACKER_THRESHOLD_MAX);
        r = parse(NULL, "-r", "x", "--threshold", max, "--count", "18446744073709551615", NULL);
        CHECK(r == 0 && opt.threshold == TRACKER_THRESHOLD_MAX && opt.count == UINT64_MAX,
              "r=%d err=%s", r, err);

        /* -f "" means no filter at all (capture everything). */
        r = parse(NULL, "-i", "eth0", "-f", "", NULL);
        CHECK(r == 0 && opt.filter && opt.filter[0] == '\0', "empty filter r=%d", r);

        /* -h and -V need no input and do not read the configuration. */
        r = parse("/nonexistent/dir/x.conf", "-h", NULL);
        CHECK(r == 0 && opt.help, "-h r=%d", r);
        r = parse(NULL, "--version", NULL);
        CHECK(r == 0 && opt.version, "-V r=%d", r);
        r = parse(NULL, "-V", "-c", "/nonexistent/x.conf", NULL);
        CHECK(r == 0 && opt.version, "-V with a missing -c r=%d err=%s", r, err);
        CHECK(strstr(options_usage(), "--threshold") && strstr(options_usage(), "--credentials"),
              "usage lists the options");
}

static void test_output_default(void)
{
        int r;

        unsetenv("INVOCATION_ID");
        setenv("JOURNAL_STREAM", "8:12345", 1);
        r = parse(NULL, "-r", "x", NULL);
        CHECK(r == 0 && opt.output == SINK_JOURNAL, "JOURNAL_STREAM -> journal (%d)", opt.output);
        unsetenv("JOURNAL_STREAM");
        setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
        r = parse(NULL, "-r", "x", NULL);
        CHECK(r == 0 && opt.output == SINK_JOURNAL, "INVOCATION_ID -> journal");
        r = parse(NULL, "-r", "x", "-o", "text", NULL);
        CHECK(r == 0 && opt.output == SINK_TEXT, "explicit -o text under systemd");
        unsetenv("INVOCATION_ID");
        r = parse(NULL, "-r", "x", NULL);
        CHECK(r == 0 && opt.output == SINK_TEXT, "text otherwise");
}

static void test_bad_command_lines(void)
{
        BAD("--threshold", "-r", "x", "--threshold", "0");
        BAD("--threshold", "-r", "x", "--threshold", "65");
        BAD("--threshold", "-r", "x", "--threshold", "-1");
        BAD("--threshold", "-r", "x", "--threshold", "3x");
        BAD("--threshold", "-r", "x", "--threshold", "");
        BAD("--threshold", "-r", "x", "--threshold", " 3");
        BAD("--threshold", "-r", "x", "--threshold", "99999999999999999999999");
        char above[16];
        snprintf(above, sizeof(above), "%u", (unsigned)TRACKER_THRESHOLD_MAX + 1);
        BAD("--threshold", "-r", "x", "--threshold", above);
        BAD("--window", "-r", "x", "--window", "0");
        BAD("--window", "-r", "x", "--window", "1.5");
        BAD("--window", "-r", "x", "--window", "99999999999");
        BAD("--count", "-r", "x", "--count", "0");
        BAD("--count", "-r", "x", "--count", "18446744073709551616");
        BAD("--duration", "-i", "any", "--duration", "abc");
        BAD("--duration", "-i", "any", "--duration", "0");
        BAD("--output", "-r", "x", "-o", "xml");
        BAD("--output", "-r", "x", "--output", "JSON");
        BAD("'--bogus'", "-r", "x", "--bogus");
        BAD("'-Z'", "-r", "x", "-Z");
        BAD("'-i' needs an argument", "-i");
        BAD("'--count' needs an argument", "-r", "x", "--count");
        BAD("'--stats=1' takes no argument", "-r", "x", "--stats=1");
        BAD("unexpected argument 'extra'", "-r", "x", "extra");
        BAD("cannot be used together", "-i", "eth0", "-r", "x");
        BAD("cannot be used together", "-r", "x", "-v", "-q");
        BAD("no input", "--stats");
        BAD("--duration applies to live capture", "-r", "x", "--duration", "5");
        BAD("non-empty", "-r", "");
        BAD("non-empty", "-i", "");
        /* Untrusted text is escaped in the message. */
        BAD("\\x1b", "-r", "x", "-o", "\x1b[31mred");
}

static void test_config(void)
{
        const char *p, *bad;
        char want[512];
        int r;

        unsetenv("INVOCATION_ID");
        unsetenv("JOURNAL_STREAM");

        p = write_file("good.conf", "# comment\n"
                                    "; another\n"
                                    "threshold = 5\n"
                                    "\n"
                                    "[sipauthmon]\n"
                                    "  window = 100\n"
                                    "read = /var/tmp/a.pcap\n"
                                    "filter = udp port 5062 ; inline comment\n"
                                    "output = json\n"
                                    "credentials = /etc/sipauthmon/credentials\n"
                                    "count = 1000\n"
                                    "stats = yes\n");
        r = parse(NULL, "-c", p, NULL);
        CHECK(r == 0, "r=%d err=%s", r, err);
        CHECK(opt.threshold == 5 && opt.window_s == 100, "values %u %u", opt.threshold,
              opt.window_s);
        CHECK(opt.input == INPUT_FILE && opt.source && strcmp(opt.source, "/var/tmp/a.pcap") == 0,
              "read from config");
        CHECK(opt.filter && strcmp(opt.filter, "udp port 5062") == 0, "filter '%s'",
              opt.filter ? opt.filter : "(null)");
        CHECK(opt.output == SINK_JSON && opt.output_explicit, "output");
        CHECK(opt.credentials && strcmp(opt.credentials, "/etc/sipauthmon/credentials") == 0,
              "credentials");
        CHECK(opt.count == 1000 && opt.stats, "count/stats");

        /* The command line overrides the configuration, setting by setting. */
        r = parse(NULL, "-c", p, "--threshold", "7", "-r", "b.pcap", "-o", "text", "-f", "tcp",
                  NULL);
        CHECK(r == 0, "r=%d err=%s", r, err);
        CHECK(opt.threshold == 7 && opt.window_s == 100, "threshold overridden, window kept");
        CHECK(strcmp(opt.source, "b.pcap") == 0 && opt.output == SINK_TEXT, "read/output");
        CHECK(strcmp(opt.filter, "tcp") == 0, "filter overridden");
        r = parse(NULL, "-c", p, "-i", "eth1", NULL);
        CHECK(r == 0 && opt.input == INPUT_LIVE && strcmp(opt.source, "eth1") == 0,
              "-i overrides read= r=%d", r);

        /* The default configuration file: read when present ... */
        r = parse(p, "--window", "42", NULL);
        CHECK(r == 0 && opt.threshold == 5 && opt.window_s == 42, "default config r=%d err=%s", r,
              err);
        /* ... skipped silently when absent ... */
        snprintf(want, sizeof(want), "%s/absent.conf", tmpdir);
        r = parse(want, "-r", "x", NULL);
        CHECK(r == 0 && opt.threshold == 3, "absent default r=%d err=%s", r, err);
        /* ... and not read when -c names another. */
        bad = write_file("bad-default.conf", "bogus = 1\n");
        r = parse(bad, "-c", p, NULL);
        CHECK(r == 0, "-c replaces the default r=%d err=%s", r, err);
        r = parse(bad, "-r", "x", NULL);
        CHECK(r == -EINVAL, "broken default config must fail r=%d", r);

        /* -c FILE must exist. */
        snprintf(want, sizeof(want), "%s/missing.conf", tmpdir);
        r = parse(NULL, "-c", want, "-r", "x", NULL);
        CHECK(r == -ENOENT && strstr(err, want) && strstr(err, "No such file"),
              "missing -c r=%d err=%s", r, err);
        r = parse(NULL, "-c", tmpdir, "-r", "x", NULL);
        CHECK(r < 0 && strstr(err, tmpdir), "directory as config r=%d err=%s", r, err);

        /* Errors name the file and the line. */
        struct {
                const char *content;
                const char *want; /* after "PATH:" */
        } cases[] = {
            {"threshold = 3\n\n\n\n\n# x\ntreshold = 4\n", "7: unknown key 'treshold'"},
            {"\n\nthreshold = 0\n", "3: threshold: invalid value '0'"},
            {"window = -5\n", "1: window: invalid value '-5'"},
            {"count = 0\n", "1: count: invalid value '0'"},
            {"duration = 1h\n", "1: duration: invalid value '1h'"},
            {"output = syslog\n", "1: output: invalid value 'syslog'"},
            {"stats = maybe\n", "1: stats: invalid value 'maybe'"},
            /* a trailing comment goes, a '#' or ';' without a blank before it stays */
            {"threshold = 0   # none\n", "1: threshold: invalid value '0' (expected 1-32)"},
            {"window = 5#x\n", "1: window: invalid value '5#x'"},
            {"window = 5;x ; c\n", "1: window: invalid value '5;x'"},
            {"parser = fastest # c\n",
             "1: parser: invalid value 'fastest' (expected fast or full)"},
            {"verbose = 2\n", "1: verbose: invalid value '2' (expected yes or no)"},
            {"ladder = sometimes\n", "1: ladder: invalid value 'sometimes'"},
            {"[other]\nthreshold = 3\n", "2: unknown section '[other]'"},
            {"threshold = 3\ngarbage line\n", "2: syntax error"},
            {"[sipauthmon\n", "1: syntax error"},
            {"interface = eth0\nread = x.pcap\n", "2: 'interface' and 'read' cannot both"},
            {"read =\n", "1: read: empty value"},
            {"credentials =\n", "1: credentials: empty value"},
            /* an indented line is not silently glued onto the previous value */
            {"filter = udp\n   port 5060\n", "2: syntax error"},
            /* the first error is reported, whichever kind it is */
            {"bogus = 1\ngarbage\n", "1: unknown key 'bogus'"},
            {"threshold = 3\ngarbage\nbogus = 1\n", "2: syntax error"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                p = write_file("case.conf", cases[i].content);
                r = parse(NULL, "-c", p, "-r", "x", NULL);
                snprintf(want, sizeof(want), "%s:%s", p, cases[i].want);
                CHECK(r == -EINVAL, "case %zu: r=%d", i, r);
                CHECK(strncmp(err, want, strlen(want)) == 0, "case %zu: err='%s' want '%s...'", i,
                      err, want);
                CHECK(strchr(err, '\n') == NULL, "case %zu: multi-line", i);
        }

        /* A bad line is reported even when the command line overrides the key. */
        p = write_file("override.conf", "threshold = 100\n");
        r = parse(NULL, "-c", p, "-r", "x", "--threshold", "4", NULL);
        CHECK(r == -EINVAL && strstr(err, ":1: threshold"), "r=%d err=%s", r, err);

        /* Over-long lines are refused, not split into two lines. */
        char longline[400];
        memset(longline, 'a', sizeof(longline));
        memcpy(longline, "filter = ", 9);
        longline[sizeof(longline) - 2] = '\n';
        longline[sizeof(longline) - 1] = '\0';
        char content[600];
        snprintf(content, sizeof(content), "threshold = 4\n%s", longline);
        p = write_file("long.conf", content);
        r = parse(NULL, "-c", p, "-r", "x", NULL);
        snprintf(want, sizeof(want), "%s:2: line too long", p);
        CHECK(r == -EINVAL && strncmp(err, want, strlen(want)) == 0, "r=%d err='%s'", r, err);

        /* duration in the config is for the live daemon: ignored with -r. */
        p = write_file("live.conf", "interface = eth0\nduration = 60\n");
        r = parse(NULL, "-c", p, NULL);
        CHECK(r == 0 && opt.input == INPUT_LIVE && opt.duration_s == 60, "r=%d err=%s", r, err);
        r = parse(NULL, "-c", p, "-r", "x", NULL);
        CHECK(r == 0 && opt.input == INPUT_FILE && opt.duration_s == 0, "r=%d err=%s", r, err);

        /* An empty filter in the file means capture everything; stats=no works. */
        p = write_file("empty.conf", "filter =\nstats = off\n");
        r = parse(NULL, "-c", p, "-i", "eth0", NULL);
        CHECK(r == 0 && opt.filter && opt.filter[0] == '\0' && !opt.stats, "r=%d err=%s", r, err);
        r = parse(NULL, "-c", p, "-i", "eth0", "--stats", NULL);
        CHECK(r == 0 && opt.stats, "--stats overrides stats=off");

        /* Parsing twice gives the same result (getopt state is reset). */
        r = parse(NULL, "-r", "x", "--threshold", "9", NULL);
        CHECK(r == 0 && opt.threshold == 9, "first");
        r = parse(NULL, "-r", "x", "--threshold", "8", NULL);
        CHECK(r == 0 && opt.threshold == 8, "second");
}

/* Thresholds, the record cap and table limits: options, config keys, ranges, override. */
static void test_tunables(void)
{
        const char *cfg;
        int r;

        r = parse(NULL, "-r", "x.pcap", "--guess-threshold", "12", "--scan-threshold", "20",
                  "--max-records-per-minute", "0", NULL);
        CHECK(r == 0, "r=%d err=%s", r, err);
        CHECK(opt.tune[TUNE_GUESS_THRESHOLD].set && opt.tune[TUNE_GUESS_THRESHOLD].value == 12,
              "guess");
        CHECK(opt.tune[TUNE_SCAN_THRESHOLD].value == 20, "scan");
        CHECK(opt.tune[TUNE_MAX_RECORDS_PER_MINUTE].set &&
                  opt.tune[TUNE_MAX_RECORDS_PER_MINUTE].value == 0,
              "0 = no cap is allowed");
        CHECK(!opt.tune[TUNE_MAX_PRINCIPALS].set, "unset tunables stay unset");
        BAD("--guess-threshold", "-r", "x.pcap", "--guess-threshold", "1");
        BAD("--guess-threshold", "-r", "x.pcap", "--guess-threshold", "33");
        BAD("--scan-threshold", "-r", "x.pcap", "--scan-threshold", "x");

        cfg = write_file("tune.conf", "guess_threshold = 15\nmax_principals = 1000\n"
                                      "max_records_per_minute = 5\n");
        r = parse(NULL, "-r", "x.pcap", "-c", cfg, "--max-records-per-minute", "7", NULL);
        CHECK(r == 0, "r=%d err=%s", r, err);
        CHECK(opt.tune[TUNE_GUESS_THRESHOLD].value == 15, "config guess_threshold");
        CHECK(opt.tune[TUNE_MAX_PRINCIPALS].set && opt.tune[TUNE_MAX_PRINCIPALS].value == 1000,
              "config max_principals");
        CHECK(opt.tune[TUNE_MAX_RECORDS_PER_MINUTE].value == 7, "command line overrides config");

        cfg = write_file("tune-bad.conf", "# limits\nmax_nonces = 3\n");
        r = parse(NULL, "-r", "x.pcap", "-c", cfg, NULL);
        CHECK(r == -EINVAL && strstr(err, ":2:") && strstr(err, "max_nonces"),
              "bad limit names file:line: r=%d err='%s'", r, err);
        for (unsigned i = 0; i < TUNE__MAX; i++)
                CHECK(options_tunable_key((Tunable)i) != NULL, "tunable %u has a config key", i);
}

/* --sip-ports, --hep-listen, --user and their keys; drop-ins (issue 4). */
static void test_service_options(void)
{
        char norm[1024], dir[320], path[300];
        const char *p;
        int r;

        CHECK(options_parse_ports("5060", norm, sizeof(norm)) && strcmp(norm, "5060") == 0, "%s",
              norm);
        CHECK(options_parse_ports(" 5060 , 5080,5100 - 5110 ", norm, sizeof(norm)) &&
                  strcmp(norm, "5060,5080,5100-5110") == 0,
              "%s", norm);
        CHECK(options_parse_ports("1,65535", norm, sizeof(norm)), "bounds");
        static const char *const bad_ports[] = {"",
                                                "0",
                                                "65536",
                                                "5060,",
                                                ",5060",
                                                "5070-5060",
                                                "50a",
                                                "5060;5061",
                                                "-5060",
                                                "5060--5061",
                                                "99999999999999999999"};
        for (size_t i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++)
                CHECK(!options_parse_ports(bad_ports[i], norm, sizeof(norm)), "accepted '%s'",
                      bad_ports[i]);
        /* At most OPTIONS_SIP_PORTS_MAX entries. */
        {
                char many[1024] = "";
                size_t k = 0;

                for (unsigned i = 0; i <= OPTIONS_SIP_PORTS_MAX; i++)
                        k += (size_t)snprintf(many + k, sizeof(many) - k, "%s%u", i ? "," : "",
                                              5000 + i);
                CHECK(!options_parse_ports(many, norm, sizeof(norm)), "too many entries");
        }

        static const char *const good_listen[] = {"127.0.0.1:9060", ":9060", "[::1]:9060", "[::]:0",
                                                  "0.0.0.0:65535"};
        static const char *const bad_listen[] = {"9060",      "127.0.0.1", "::1:9060",
                                                 "[::1]9060", ":",         "1.2.3.4:70000",
                                                 "[]:9060",   "a b:1",     ""};
        for (size_t i = 0; i < sizeof(good_listen) / sizeof(good_listen[0]); i++)
                CHECK(options_check_listen(good_listen[i]), "refused '%s'", good_listen[i]);
        for (size_t i = 0; i < sizeof(bad_listen) / sizeof(bad_listen[0]); i++)
                CHECK(!options_check_listen(bad_listen[i]), "accepted '%s'", bad_listen[i]);

        r = parse(NULL, "-i", "eth0", "--sip-ports", "5060,5100-5110", "--hep-listen", ":9060",
                  "--hep-allow", "192.0.2.0/24", "--user", "sipmon", NULL);
        CHECK(r == 0 && strcmp(opt.sip_ports, "5060,5100-5110") == 0 &&
                  strcmp(opt.hep_listen, ":9060") == 0 && strcmp(opt.user, "sipmon") == 0,
              "r=%d err=%s", r, err);
        /* --hep-listen alone is an input; with -r it is not allowed. */
        r = parse(NULL, "--hep-listen", "127.0.0.1:9060", NULL);
        CHECK(r == 0 && opt.input == INPUT_NONE && opt.hep_listen, "r=%d err=%s", r, err);
        BAD("--hep-listen cannot be used with -r", "-r", "x.pcap", "--hep-listen", ":9060");
        BAD("--sip-ports: invalid value '5060-'", "-i", "eth0", "--sip-ports", "5060-");
        /* --ws-ports: NULL is the default list, "" none, else normalised. */
        r = parse(NULL, "-i", "eth0", NULL);
        CHECK(r == 0 && opt.ws_ports == NULL, "ws_ports default");
        r = parse(NULL, "-i", "eth0", "--ws-ports", " 8088, 9000-9010", NULL);
        CHECK(r == 0 && opt.ws_ports && strcmp(opt.ws_ports, "8088,9000-9010") == 0, "r=%d err=%s",
              r, err);
        r = parse(NULL, "-i", "eth0", "--ws-ports", "", NULL);
        CHECK(r == 0 && opt.ws_ports && !*opt.ws_ports, "r=%d err=%s", r, err);
        BAD("--ws-ports: invalid value '80,0'", "-i", "eth0", "--ws-ports", "80,0");
        BAD("--hep-listen: invalid value", "-i", "eth0", "--hep-listen", "9060");
        BAD("--user: invalid user name", "-i", "eth0", "--user", "../root");
        BAD("--user: invalid user name", "-i", "eth0", "--user", "-x");

        /* Config keys, and drop-ins in lexical order overriding the main file. */
        p = write_file("svc.conf", "interface = eth0\nsip_ports = 5060\nthreshold = 4\n"
                                   "hep_listen = :9060\nhep_auth_key = k\nuser = sipmon\n");
        snprintf(dir, sizeof(dir), "%s.d", p);
        CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
        write_file("svc.conf.d/20-b.conf", "threshold = 6\n");
        write_file("svc.conf.d/10-a.conf", "threshold = 5\nsip_ports = 5070-5079\n");
        write_file("svc.conf.d/30-c.conf.disabled", "bogus = 1\n");
        write_file("svc.conf.d/.hidden.conf", "bogus = 1\n");
        r = parse(NULL, "-c", p, NULL);
        CHECK(r == 0 && opt.threshold == 6 && strcmp(opt.sip_ports, "5070-5079") == 0 &&
                  strcmp(opt.hep_listen, ":9060") == 0 && strcmp(opt.user, "sipmon") == 0,
              "drop-ins: r=%d err=%s threshold=%u", r, err, opt.threshold);
        /* The command line still wins over every file. */
        r = parse(NULL, "-c", p, "--threshold", "2", "--sip-ports", "5062", NULL);
        CHECK(r == 0 && opt.threshold == 2 && strcmp(opt.sip_ports, "5062") == 0,
              "cli over drop-ins: r=%d err=%s", r, err);
        /* An error in a drop-in names the drop-in and its line. */
        write_file("svc.conf.d/25-bad.conf", "# typo below\n\ntreshold = 3\n");
        r = parse(NULL, "-c", p, NULL);
        CHECK(r == -EINVAL && strstr(err, "svc.conf.d/25-bad.conf:3: unknown key 'treshold'"),
              "drop-in error: r=%d err=%s", r, err);
        write_file("svc.conf.d/25-bad.conf", "sip_ports = 5060,x\n");
        r = parse(NULL, "-c", p, NULL);
        CHECK(r == -EINVAL && strstr(err, "25-bad.conf:1: sip_ports: invalid value '5060,x'"),
              "drop-in error: r=%d err=%s", r, err);
        /* The default file may be absent; its drop-ins are still read. */
        snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
        snprintf(dir, sizeof(dir), "%s.d", path);
        CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
        write_file("absent.conf.d/a.conf", "interface = eth1\n");
        r = parse(path, NULL);
        CHECK(r == 0 && opt.input == INPUT_LIVE && strcmp(opt.source, "eth1") == 0,
              "drop-ins without a main file: r=%d err=%s", r, err);
}

/* hep_auth_key, hep_allow, hep_in_capture, and the listener nobody vouches for. */
static void test_hep_options(void)
{
        static const char secret[] = "Kn0wn-Only-To-Agents";
        int r;

        /* A listener reachable from elsewhere needs a key or an allow-list. */
        BAD("HEP listener on :9060 is not on a loopback address", "--hep-listen", ":9060");
        BAD("hep_auth_key and/or hep_allow", "-i", "eth0", "--hep-listen", "192.0.2.10:9060");
        BAD("not on a loopback address", "--hep-listen", "[2001:db8::1]:9060");
        BAD("not on a loopback address", "--hep-listen", "[::]:9060");
        static const char *const loop[] = {"127.0.0.1:9060", "127.1.2.3:0", "[::1]:9060",
                                           "[::ffff:127.0.0.1]:9060"};
        for (size_t i = 0; i < sizeof(loop) / sizeof(loop[0]); i++) {
                r = parse(NULL, "--hep-listen", loop[i], NULL);
                CHECK(r == 0 && opt.hep_auth.key_len == 0 && opt.hep_auth.n_allow == 0,
                      "loopback %s without key or list: r=%d err=%s", loop[i], r, err);
                CHECK(options_listen_is_loopback(loop[i]), "%s is loopback", loop[i]);
        }
        static const char *const notloop[] = {
            ":9060", "*:9060", "0.0.0.0:9060", "[::]:9060", "128.0.0.1:9060", "[::2]:9060", "bad"};
        for (size_t i = 0; i < sizeof(notloop) / sizeof(notloop[0]); i++)
                CHECK(!options_listen_is_loopback(notloop[i]), "%s is not loopback", notloop[i]);

        /* Either one is enough; the key from the command line or the file. */
        r = parse(NULL, "--hep-listen", ":9060", "--hep-auth-key", secret, NULL);
        CHECK(r == 0 && opt.hep_auth.key_len == strlen(secret) &&
                  memcmp(opt.hep_auth.key, secret, strlen(secret)) == 0 && !opt.hep_in_capture,
              "--hep-auth-key: r=%d err=%s", r, err);
        r = parse(NULL, "--hep-listen", ":9060", "--hep-allow",
                  "192.0.2.7, 2001:db8::/32 10.0.0.0/8", NULL);
        CHECK(r == 0 && opt.hep_auth.n_allow == 3 && opt.hep_auth.key_len == 0,
              "--hep-allow: r=%d err=%s n=%zu", r, err, opt.hep_auth.n_allow);
        {
                Endpoint in = {.family = 4, .addr = {10, 200, 1, 1}},
                         out = {.family = 4, .addr = {11, 0, 0, 1}},
                         mapped = {.family = 6,
                                   .addr = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2,
                                            7}},
                         v6 = {.family = 6, .addr = {0x20, 0x01, 0x0d, 0xb8, 0xff}};
                CHECK(hepauth_allowed(&opt.hep_auth, &in) && !hepauth_allowed(&opt.hep_auth, &out),
                      "10.0.0.0/8");
                CHECK(hepauth_allowed(&opt.hep_auth, &mapped), "::ffff:192.0.2.7 is 192.0.2.7");
                CHECK(hepauth_allowed(&opt.hep_auth, &v6), "2001:db8::/32");
        }
        {
                const char *p = write_file("hep.conf", "hep_listen = :9060\n"
                                                       "hep_auth_key = Kn0wn-Only-To-Agents\n"
                                                       "hep_allow = ::ffff:192.0.2.0/120\n"
                                                       "hep_in_capture = yes\n");
                r = parse(NULL, "-c", p, NULL);
                CHECK(r == 0 && opt.hep_auth.key_len == strlen(secret) &&
                          opt.hep_auth.n_allow == 1 && opt.hep_auth.allow[0].family == 4 &&
                          opt.hep_auth.allow[0].bits == 24 && opt.hep_in_capture,
                      "config keys: r=%d err=%s", r, err);
                /* The command line wins; the file's values are still checked. */
                r = parse(NULL, "-c", p, "--hep-allow", "198.51.100.1", NULL);
                CHECK(r == 0 && opt.hep_auth.n_allow == 1 && opt.hep_auth.allow[0].bits == 32,
                      "cli over file: r=%d err=%s", r, err);
                p = write_file("hep.conf", "interface = eth0\nhep_in_capture = maybe\n");
                r = parse(NULL, "-c", p, NULL);
                CHECK(r == -EINVAL && strstr(err, "hep.conf:2: hep_in_capture: invalid value"),
                      "bad bool: r=%d err=%s", r, err);
                /* A bad key is refused without being repeated. */
                p = write_file("hep.conf", "interface = eth0\nhep_auth_key = Kn0wn\x01Secret\n");
                r = parse(NULL, "-c", p, NULL);
                CHECK(r == -EINVAL && strstr(err, "hep.conf:2: hep_auth_key: invalid value") &&
                          !strstr(err, "Kn0wn"),
                      "bad key: r=%d err=%s", r, err);
        }
        r = parse(NULL, "-r", "x.pcap", "--hep-in-capture", NULL);
        CHECK(r == 0 && opt.hep_in_capture, "--hep-in-capture: r=%d err=%s", r, err);
        BAD("--hep-allow: 'example.org': not an IPv4 or IPv6 address", "-i", "eth0", "--hep-allow",
            "example.org");
        BAD("--hep-allow: '10.1.2.3/8': address bits set past /8", "-i", "eth0", "--hep-allow",
            "10.1.2.3/8");
        BAD("--hep-allow: '10.0.0.0/33': prefix length above 32", "-i", "eth0", "--hep-allow",
            "10.0.0.0/33");
        BAD("--hep-allow: '::/x': bad prefix length", "-i", "eth0", "--hep-allow", "::/x");
        BAD("--hep-allow: empty list", "-i", "eth0", "--hep-allow", " , ");
        BAD("--hep-auth-key: invalid value (expected 1-256", "-i", "eth0", "--hep-auth-key", "");
        {
                char many[2048] = "";
                size_t k = 0;

                for (unsigned i = 0; i <= HEPAUTH_ALLOW_MAX; i++)
                        k += (size_t)snprintf(many + k, sizeof(many) - k, "%s10.0.%u.0/24",
                                              i ? "," : "", i);
                BAD("--hep-allow: more than 64 entries", "-i", "eth0", "--hep-allow", many);
                char longkey[HEPAUTH_KEY_MAX + 2];
                memset(longkey, 'k', sizeof(longkey) - 1);
                longkey[sizeof(longkey) - 1] = '\0';
                BAD("--hep-auth-key: invalid value", "-i", "eth0", "--hep-auth-key", longkey);
                CHECK(strstr(err, "kkkk") == NULL, "key repeated: %s", err);
        }
        /* The key in constant time, one trailing NUL forgiven. */
        {
                HepAuthConfig a = {0};
                CHECK(!hepauth_key_ok(&a, (const uint8_t *)"x", 1), "no key configured");
                CHECK(hepauth_set_key(&a, "abc"), "set key");
                CHECK(hepauth_key_ok(&a, (const uint8_t *)"abc", 3), "right key");
                CHECK(hepauth_key_ok(&a, (const uint8_t *)"abc", 4), "right key + NUL");
                CHECK(!hepauth_key_ok(&a, (const uint8_t *)"abd", 3), "wrong key");
                CHECK(!hepauth_key_ok(&a, (const uint8_t *)"ab", 2), "prefix of the key");
                CHECK(!hepauth_key_ok(&a, (const uint8_t *)"abcd", 4), "key + more");
                CHECK(!hepauth_key_ok(&a, NULL, 0), "no key sent");
        }
}

/* --hep-send/hep_send and --hep-id/hep_id (HEP out): numeric destinations only. */
static void test_hep_send_options(void)
{
        const char *p;
        int r;

        r = parse(NULL, "-r", "x.pcap", NULL);
        CHECK(r == 0 && !opt.hep_send && opt.hep_id == 2002, "defaults: r=%d id=%u", r,
              (unsigned)opt.hep_id);
        r = parse(NULL, "-r", "x.pcap", "--hep-send", "[2001:db8::20]:9060", "--hep-id",
                  "4294967295", NULL);
        CHECK(r == 0 && opt.hep_send && strcmp(opt.hep_send, "[2001:db8::20]:9060") == 0 &&
                  opt.hep_id == 4294967295u,
              "--hep-send v6, --hep-id max: r=%d err=%s", r, err);
        BAD("--hep-send: invalid value 'homer:9060'", "-r", "x.pcap", "--hep-send", "homer:9060");
        BAD("numeric", "-r", "x.pcap", "--hep-send", "192.0.2.20:0");
        BAD("numeric", "-r", "x.pcap", "--hep-send", "192.0.2.20");
        BAD("--hep-send", "-r", "x.pcap", "--hep-send", "");
        BAD("--hep-id: invalid value '4294967296'", "-r", "x.pcap", "--hep-id", "4294967296");
        BAD("--hep-id", "-r", "x.pcap", "--hep-id", "-1");

        /* The file: an empty hep_send is none; the command line wins. */
        p = write_file("hep-send.conf", "hep_send = 127.0.0.1:9060\nhep_id = 7\n");
        r = parse(NULL, "-c", p, "-r", "x.pcap", NULL);
        CHECK(r == 0 && opt.hep_send && strcmp(opt.hep_send, "127.0.0.1:9060") == 0 &&
                  opt.hep_id == 7,
              "from the file: r=%d err=%s", r, err);
        r = parse(NULL, "-c", p, "-r", "x.pcap", "--hep-send", "127.0.0.2:9061", "--hep-id", "8",
                  NULL);
        CHECK(r == 0 && strcmp(opt.hep_send, "127.0.0.2:9061") == 0 && opt.hep_id == 8,
              "the command line overrides the file: r=%d err=%s", r, err);
        p = write_file("hep-send.conf", "hep_send =\n");
        r = parse(NULL, "-c", p, "-r", "x.pcap", NULL);
        CHECK(r == 0 && !opt.hep_send, "empty hep_send: r=%d err=%s", r, err);
        p = write_file("hep-send.conf", "hep_id = 2\nhep_send = localhost:9060\n");
        r = parse(NULL, "-c", p, "-r", "x.pcap", NULL);
        CHECK(r == -EINVAL && strstr(err, "hep-send.conf:2: hep_send: invalid value"),
              "a name in the file: r=%d err=%s", r, err);
}

static void test_metrics_options(void)
{
        const char *p;
        int r;

        r = parse(NULL, "-r", "x.pcap", NULL);
        CHECK(r == 0 && !opt.metrics_file, "default: no metrics file");
        r = parse(NULL, "-r", "x.pcap", "--metrics-file", "/tmp/m/sipauthmon.prom", NULL);
        CHECK(r == 0 && opt.metrics_file && strcmp(opt.metrics_file, "/tmp/m/sipauthmon.prom") == 0,
              "--metrics-file: r=%d err=%s", r, err);
        BAD("'--metrics-file' needs a non-empty argument", "-r", "x.pcap", "--metrics-file", "");
        BAD("--metrics-file: invalid value '/tmp/m/' (expected a file path)", "-r", "x.pcap",
            "--metrics-file", "/tmp/m/");

        /* The file: an empty metrics_file is none; the command line wins. */
        p = write_file("metrics.conf", "metrics_file = a.prom\n");
        r = parse(NULL, "-c", p, "-r", "x.pcap", NULL);
        CHECK(r == 0 && opt.metrics_file && strcmp(opt.metrics_file, "a.prom") == 0,
              "from the file: r=%d err=%s", r, err);
        r = parse(NULL, "-c", p, "-r", "x.pcap", "--metrics-file", "b.prom", NULL);
        CHECK(r == 0 && strcmp(opt.metrics_file, "b.prom") == 0,
              "the command line overrides the file: r=%d err=%s", r, err);
        p = write_file("metrics.conf", "metrics_file =\n");
        r = parse(NULL, "-c", p, "-r", "x.pcap", NULL);
        CHECK(r == 0 && !opt.metrics_file, "empty metrics_file: r=%d err=%s", r, err);
        p = write_file("metrics.conf", "stats = no\nmetrics_file = /var/lib/\n");
        r = parse(NULL, "-c", p, "-r", "x.pcap", NULL);
        CHECK(r == -EINVAL && strstr(err, "metrics.conf:2: metrics_file: invalid value"),
              "a directory in the file: r=%d err=%s", r, err);
}

static void cleanup(void)
{
        static const char *const names[] = {"good.conf",
                                            "bad-default.conf",
                                            "case.conf",
                                            "override.conf",
                                            "long.conf",
                                            "live.conf",
                                            "empty.conf",
                                            "svc.conf.d/20-b.conf",
                                            "svc.conf.d/10-a.conf",
                                            "svc.conf.d/30-c.conf.disabled",
                                            "svc.conf.d/.hidden.conf",
                                            "svc.conf.d/25-bad.conf",
                                            "svc.conf.d",
                                            "svc.conf",
                                            "absent.conf.d/a.conf",
                                            "absent.conf.d",
                                            "tune.conf",
                                            "tune-bad.conf",
                                            "hep.conf",
                                            "hep-send.conf",
                                            "metrics.conf"};
        char p[300];

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                snprintf(p, sizeof(p), "%s/%s", tmpdir, names[i]);
                if (unlink(p) < 0)
                        rmdir(p);
        }
        rmdir(tmpdir);
}

int main(void)
{
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 1;
        }
        options_init(&opt);
        test_numbers();
        test_good_command_lines();
        test_output_default();
        test_bad_command_lines();
        test_config();
        test_tunables();
        test_service_options();
        test_hep_options();
        test_hep_send_options();
        test_metrics_options();
        options_done(&opt);
        cleanup();
        return check_exit("options");
}
