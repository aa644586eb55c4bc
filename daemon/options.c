/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Command line (getopt_long) and configuration file (config_file.c). The order
 * of precedence is: command line, then the configuration file, then defaults.
 * To get there without parsing twice, the command line is parsed first and
 * remembers which settings it made; the configuration file then fills in only
 * what the command line left alone, but every line is still validated so a
 * broken file is reported even when the command line overrides it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "error.h"
#include "hep_send.h"
#include "options.h"
#include "options_internal.h"
#include "../analysis/tracker.h"

enum {
        OPT_DURATION = 0x100,
        OPT_COUNT,
        OPT_CREDENTIALS,
        OPT_THRESHOLD,
        OPT_WINDOW,
        OPT_STATS,
        OPT_SIP_PORTS,
        OPT_WS_PORTS,
        OPT_HEP_LISTEN,
        OPT_USER,
        OPT_PARSER,
        OPT_HEP_AUTH_KEY,
        OPT_HEP_ALLOW,
        OPT_HEP_IN_CAPTURE,
        OPT_METRICS_FILE,
        OPT_HEP_SEND,
        OPT_HEP_ID,
        OPT_CHECK_CONFIG,
        OPT_LADDER,
        OPT_NO_LADDER,
        OPT_WORKERS,
        OPT_TUNE_BASE = 0x200, /* + Tunable */
};

static const char short_options[] = ":i:r:f:o:c:vqhV";

static const struct option long_options[] = {
    {"interface", required_argument, NULL, 'i'},
    {"read", required_argument, NULL, 'r'},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"count", required_argument, NULL, OPT_COUNT},
    {"filter", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"config", required_argument, NULL, 'c'},
    {"credentials", required_argument, NULL, OPT_CREDENTIALS},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"stats", no_argument, NULL, OPT_STATS},
    {"sip-ports", required_argument, NULL, OPT_SIP_PORTS},
    {"ws-ports", required_argument, NULL, OPT_WS_PORTS},
    {"hep-listen", required_argument, NULL, OPT_HEP_LISTEN},
    {"hep-auth-key", required_argument, NULL, OPT_HEP_AUTH_KEY},
    {"hep-allow", required_argument, NULL, OPT_HEP_ALLOW},
    {"hep-in-capture", no_argument, NULL, OPT_HEP_IN_CAPTURE},
    {"metrics-file", required_argument, NULL, OPT_METRICS_FILE},
    {"hep-send", required_argument, NULL, OPT_HEP_SEND},
    {"hep-id", required_argument, NULL, OPT_HEP_ID},
    {"user", required_argument, NULL, OPT_USER},
    {"parser", required_argument, NULL, OPT_PARSER},
    {"guess-threshold", required_argument, NULL, OPT_TUNE_BASE + TUNE_GUESS_THRESHOLD},
    {"scan-threshold", required_argument, NULL, OPT_TUNE_BASE + TUNE_SCAN_THRESHOLD},
    {"max-records-per-minute", required_argument, NULL,
     OPT_TUNE_BASE + TUNE_MAX_RECORDS_PER_MINUTE},
    {"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
    {"ladder", no_argument, NULL, OPT_LADDER},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"no-ladder", no_argument, NULL, OPT_NO_LADDER},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

const char *options_usage(void)
{
        return "Usage: sipauthmon [-i IFACE | -r FILE|DIR... | --hep-listen ADDR:PORT] [options]\n"
               "Diagnose why SIP digest authentication keeps failing.\n"
               "\n"
               "  -i, --interface IFACE   live capture (\"any\" allowed)\n"
               "  -r, --read FILE|DIR     pcap or pcapng file (also gzip, zstd), \"-\" for stdin;\n"
               "                          repeatable, a directory means its captures; all read\n"
               "                          as one stream in time order; exits at end\n"
               "      --duration SEC      with -i: stop after SEC seconds\n"
               "      --count N           stop after N packets\n"
               "  -f, --filter BPF        capture filter; the default also keeps IP fragments\n"
               "      --sip-ports LIST    ports of the default filter (default 5060,5061,5080;\n"
               "                          ranges allowed: 5060,5100-5110)\n"
               "      --ws-ports LIST     TCP ports of SIP over WebSocket, in the default filter\n"
               "                          and followed mid-connection (default 80,8080,8088,\n"
               "                          5066; empty: none)\n"
               "      --hep-listen ADDR:PORT\n"
               "                          receive HEP copies on UDP and TCP (with -i or alone);\n"
               "                          not on loopback: needs --hep-auth-key or --hep-allow\n"
               "      --hep-auth-key KEY  HEP is taken only with this key (HEP3 chunk 14);\n"
               "                          better in the configuration file (hep_auth_key)\n"
               "      --hep-allow LIST    HEP is taken only from these addresses/prefixes\n"
               "                          (comma list, e.g. 192.0.2.7,2001:db8::/32)\n"
               "      --hep-in-capture    decode HEP found in captured UDP (off by default)\n"
               "      --hep-send ADDR:PORT\n"
               "                          also send every record to HOMER as a HEPv3 log\n"
               "                          (type 100) keyed by its Call-ID; numeric address\n"
               "      --hep-id N          capture agent id of those packets (default 2002)\n"
               "  -o, --output journal|text|json\n"
               "                          default: journal under systemd, text otherwise\n"
               "      --ladder, --no-ladder\n"
               "                          text: draw each failing exchange (default: on a\n"
               "                          terminal)\n"
               "  -c, --config FILE       default " SYSCONFDIR "/sipauthmon/sipauthmon.conf\n"
               "      --credentials FILE  secrets used to verify responses (mode 0600)\n"
               "      --threshold N       refusals before a diagnosis (1-32, default 3)\n"
               "      --window SEC        sliding window and suppression (default 300)\n"
               "      --guess-threshold N distinct failing responses from one source for one\n"
               "                          account: credential-guessing (default 10)\n"
               "      --scan-threshold N  usernames failing from one source: account-scan\n"
               "                          (default 10)\n"
               "      --max-records-per-minute N\n"
               "                          global cap, then one summary record (default 60,\n"
               "                          0 = no cap)\n"
               "      --stats             counters on stderr at exit (SIGUSR1: now, and go on)\n"
               "      --metrics-file PATH Prometheus text format, replaced every 15 s and at\n"
               "                          exit (node_exporter textfile collector: NAME.prom)\n"
               "      --parser fast|full  fast (default): SIP without credentials or\n"
               "                          challenges skips sofia-sip; full: all through it\n"
               "      --workers N         analysis threads (1-16, default 1): N-1 parse, one\n"
               "                          correlates in capture order: the same records\n"
               "      --user USER         started as root: run as USER after opening the\n"
               "                          capture (default sipauthmon, else nobody)\n"
               "  -v, --verbose           debug detail on stderr\n"
               "  -q, --quiet             only errors on stderr\n"
               "      --check-config      check the configuration file, its drop-ins and the\n"
               "                          credentials file, print OK or FILE:LINE: errors,\n"
               "                          exit 0 or 2; captures nothing\n"
               "  -h, --help              this text\n"
               "  -V, --version           version\n"
               "\n"
               "Exit status: 0 nothing diagnosed, 1 at least one diagnosis, 2 error.\n"
               "See sipauthmon(8).\n";
}

static const struct {
        const char *key, *option;
        uint64_t min, max;
        const char *unit;
} tunables[TUNE__MAX] = {
    [TUNE_GUESS_THRESHOLD] = {"guess_threshold", "--guess-threshold", 2, TRACKER_THRESHOLD_MAX,
                              "distinct failing responses"},
    [TUNE_SCAN_THRESHOLD] = {"scan_threshold", "--scan-threshold", 2, 64, "usernames"},
    [TUNE_MAX_RECORDS_PER_MINUTE] = {"max_records_per_minute", "--max-records-per-minute", 0,
                                     1000000, "records, 0 = no cap"},
    [TUNE_MAX_TRANSACTIONS] = {"max_transactions", NULL, 16, 16u << 20, "entries"},
    [TUNE_MAX_CHAINS] = {"max_chains", NULL, 16, 16u << 20, "entries"},
    [TUNE_MAX_CLIENTS] = {"max_clients", NULL, 16, 16u << 20, "entries"},
    [TUNE_MAX_PRINCIPALS] = {"max_principals", NULL, 16, 16u << 20, "entries"},
    [TUNE_MAX_NONCES] = {"max_nonces", NULL, 16, 16u << 20, "entries"},
    [TUNE_MAX_SOURCES] = {"max_sources", NULL, 16, 16u << 20, "entries"},
};

const char *options_tunable_key(Tunable t)
{
        return (unsigned)t < TUNE__MAX ? tunables[t].key : NULL;
}

/*
 * The keys of the configuration file (sipauthmon.conf(5)) and the setting
 * each one makes; the tunables are in tunables[] above.
 */
static const struct {
        const char *key;
        unsigned which; /* SET_* */
} config_keys[] = {
    {"interface", SET_INPUT},
    {"read", SET_INPUT},
    {"filter", SET_FILTER},
    {"credentials", SET_CREDENTIALS},
    {"threshold", SET_THRESHOLD},
    {"window", SET_WINDOW},
    {"duration", SET_DURATION},
    {"count", SET_COUNT},
    {"output", SET_OUTPUT},
    {"hep_id", SET_HEP_ID},
    {"sip_ports", SET_SIP_PORTS},
    {"ws_ports", SET_WS_PORTS},
    {"hep_listen", SET_HEP_LISTEN},
    {"hep_auth_key", SET_HEP_AUTH_KEY},
    {"hep_allow", SET_HEP_ALLOW},
    {"user", SET_USER},
    {"metrics_file", SET_METRICS_FILE},
    {"hep_send", SET_HEP_SEND},
    {"stats", SET_STATS},
    {"hep_in_capture", SET_HEP_IN_CAPTURE},
    {"parser", SET_PARSER},
    {"verbose", SET_VERBOSITY},
    {"quiet", SET_VERBOSITY},
    {"ladder", SET_LADDER},
    {"workers", SET_WORKERS},
};

unsigned options_key_setting(const char *key)
{
        for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++)
                if (strcmp(key, config_keys[i].key) == 0)
                        return config_keys[i].which;
        return 0;
}

/* Levenshtein distance of a and b, both shorter than 40 bytes (else 99). */
static unsigned edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        unsigned row[40];

        if (la >= 40 || lb >= 40)
                return 99;
        for (size_t j = 0; j <= lb; j++)
                row[j] = (unsigned)j;
        for (size_t i = 1; i <= la; i++) {
                unsigned diag = row[0];

                row[0] = (unsigned)i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned up = row[j], best = diag + (a[i - 1] != b[j - 1]);

                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        diag = up;
                        row[j] = best;
                }
        }
        return row[lb];
}

const char *options_key_suggest(const char *key)
{
        const char *best = NULL;
        unsigned best_d = 3; /* at most 2 edits */

        for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]) + TUNE__MAX; i++) {
                const char *k = i < TUNE__MAX ? tunables[i].key : config_keys[i - TUNE__MAX].key;
                unsigned d = edit_distance(key, k);

                if (d < best_d) {
                        best_d = d;
                        best = k;
                }
        }
        return best;
}

int options_set_tunable(Options *o, Tunable t, const char *what, const char *v, bool apply,
                        char *err, size_t n)
{
        char e[96];
        uint64_t u;

        if (!options_parse_uint(v, tunables[t].min, tunables[t].max, &u))
                return error_set(err, n, -EINVAL, "%s: invalid value '%s' (expected %s, %llu-%llu)",
                                 what, options_esc(v, e, sizeof(e)), tunables[t].unit,
                                 (unsigned long long)tunables[t].min,
                                 (unsigned long long)tunables[t].max);
        if (apply) {
                o->tune[t].set = true;
                o->tune[t].value = u;
        }
        return 0;
}

void options_init(Options *o)
{
        *o = (Options){
            .output = SINK_TEXT,
            .threshold = 3,
            .workers = 1,
            .window_s = 300,
            .hep_id = HEP_SEND_ID_DEFAULT,
            .ladder = -1,
        };
}

void options_done(Options *o)
{
        free(o->source);
        for (size_t i = 0; i < o->n_reads; i++)
                free(o->reads[i]);
        free(o->reads);
        free(o->filter);
        free(o->sip_ports);
        free(o->ws_ports);
        free(o->hep_listen);
        free(o->hep_listen_at);
        free(o->user);
        free(o->config);
        free(o->credentials);
        free(o->metrics_file);
        free(o->hep_send);
        /* The HEP key is a secret: not left in freed memory. */
        explicit_bzero(&o->hep_auth, sizeof o->hep_auth);
        options_init(o);
}

static int getopt_error(int ch, int argc, char **argv, char *err, size_t n)
{
        const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
        char e[96];

        if (ch == ':') {
                if (optopt > 0 && optopt < 0x100)
                        return error_set(err, n, -EINVAL, "option '-%c' needs an argument", optopt);
                return error_set(err, n, -EINVAL, "option '%s' needs an argument",
                                 options_esc(arg, e, sizeof(e)));
        }
        if (optopt >= 0x100)
                return error_set(err, n, -EINVAL, "option '%s' takes no argument",
                                 options_esc(arg, e, sizeof(e)));
        if (optopt > 0x20 && optopt < 0x7f)
                return error_set(err, n, -EINVAL, "unknown option '-%c' (see --help)", optopt);
        return error_set(err, n, -EINVAL, "unknown or ambiguous option '%s' (see --help)",
                         options_esc(arg, e, sizeof(e)));
}

/* Which settings the command line made, so that the configuration file leaves them alone. */
typedef struct {
        unsigned set;  /* SET_* bits */
        unsigned tune; /* 1 << Tunable */
} CliSet;

/* The options whose argument is a setting, checked as in the configuration file. */
static const struct {
        int opt;
        unsigned which; /* SET_* */
        const char *name;
        bool string;   /* options_set_string(), else options_set_value() */
        bool nonempty; /* an empty argument is refused */
} setting_options[] = {
    {'o', SET_OUTPUT, "--output", false, false},
    {OPT_THRESHOLD, SET_THRESHOLD, "--threshold", false, false},
    {OPT_WINDOW, SET_WINDOW, "--window", false, false},
    {OPT_DURATION, SET_DURATION, "--duration", false, false},
    {OPT_COUNT, SET_COUNT, "--count", false, false},
    {OPT_HEP_ID, SET_HEP_ID, "--hep-id", false, false},
    {OPT_PARSER, SET_PARSER, "--parser", false, false},
    {OPT_WORKERS, SET_WORKERS, "--workers", false, false},
    {OPT_SIP_PORTS, SET_SIP_PORTS, "--sip-ports", true, false},
    {OPT_WS_PORTS, SET_WS_PORTS, "--ws-ports", true, false},
    {OPT_HEP_LISTEN, SET_HEP_LISTEN, "--hep-listen", true, false},
    {OPT_USER, SET_USER, "--user", true, false},
    {OPT_HEP_AUTH_KEY, SET_HEP_AUTH_KEY, "--hep-auth-key", true, false},
    {OPT_HEP_ALLOW, SET_HEP_ALLOW, "--hep-allow", true, false},
    {OPT_HEP_SEND, SET_HEP_SEND, "--hep-send", true, true},
    {OPT_METRICS_FILE, SET_METRICS_FILE, "--metrics-file", true, true},
};

/* A setting_options[] option; 1 when ch is none of them. */
static int setting_option(Options *o, int ch, CliSet *cli, char *err, size_t n)
{
        size_t i = 0;
        int r;

        while (i < sizeof(setting_options) / sizeof(setting_options[0]) &&
               setting_options[i].opt != ch)
                i++;
        if (i == sizeof(setting_options) / sizeof(setting_options[0]))
                return 1;
        if (setting_options[i].nonempty && optarg[0] == '\0')
                return error_set(err, n, -EINVAL, "option '%s' needs a non-empty argument",
                                 setting_options[i].name);
        if (setting_options[i].string)
                r = options_set_string(o, setting_options[i].which, setting_options[i].name, optarg,
                                       true, err, n);
        else
                r = options_set_value(o, setting_options[i].which, setting_options[i].name, optarg,
                                      true, err, n);
        if (r < 0)
                return r;
        cli->set |= setting_options[i].which;
        return 0;
}

/* -i/-r, -c and --credentials: a path or a name, which must not be empty. */
static int path_option(Options *o, int ch, CliSet *cli, char *err, size_t n)
{
        InputKind k = ch == 'i' ? INPUT_LIVE : INPUT_FILE;

        if (optarg[0] == '\0') {
                if (ch == OPT_CREDENTIALS)
                        return error_set(err, n, -EINVAL,
                                         "option '--credentials' needs a non-empty argument");
                return error_set(err, n, -EINVAL, "option '-%c' needs a non-empty argument", ch);
        }
        if (ch == 'c')
                return options_set_str(&o->config, optarg, err, n);
        if (ch == OPT_CREDENTIALS) {
                cli->set |= SET_CREDENTIALS;
                return options_set_str(&o->credentials, optarg, err, n);
        }
        if ((cli->set & SET_INPUT) && o->input != k)
                return error_set(err, n, -EINVAL, "options -i and -r cannot be used together");
        if (ch == 'i' && (cli->set & SET_INPUT))
                return error_set(err, n, -EINVAL, "option -i can be given once");
        o->input = k;
        cli->set |= SET_INPUT;
        if (ch == 'r') {
                /* Repeatable: every file (or directory) is read, as one stream. */
                char **v = realloc(o->reads, (o->n_reads + 1) * sizeof(*v));

                if (!v)
                        return error_set(err, n, -ENOMEM, "out of memory");
                o->reads = v;
                v[o->n_reads] = NULL;
                if (options_set_str(&v[o->n_reads], optarg, err, n) < 0)
                        return -ENOMEM;
                o->n_reads++;
        }
        return options_set_str(&o->source, optarg, err, n);
}

static int one_option(Options *o, int ch, CliSet *cli, int argc, char **argv, char *err, size_t n)
{
        int r;

        /* Numeric, enumerated and checked string settings share one parser with the config file. */
        r = setting_option(o, ch, cli, err, n);
        if (r <= 0)
                return r;
        switch (ch) {
        case 'i':
        case 'r':
        case 'c':
        case OPT_CREDENTIALS:
                return path_option(o, ch, cli, err, n);
        case 'f':
                cli->set |= SET_FILTER;
                return options_set_str(&o->filter, optarg, err, n);
        case OPT_LADDER:
        case OPT_NO_LADDER:
                o->ladder = ch == OPT_LADDER;
                cli->set |= SET_LADDER;
                return 0;
        case OPT_STATS:
                o->stats = true;
                cli->set |= SET_STATS;
                return 0;
        case OPT_HEP_IN_CAPTURE:
                o->hep_in_capture = true;
                cli->set |= SET_HEP_IN_CAPTURE;
                return 0;
        case 'v':
                if (o->verbose < 16)
                        o->verbose++;
                cli->set |= SET_VERBOSITY;
                return 0;
        case 'q':
                o->quiet = true;
                cli->set |= SET_VERBOSITY;
                return 0;
        case OPT_CHECK_CONFIG:
                o->check_config = true;
                return 0;
        case 'h':
                o->help = true;
                return 0;
        case 'V':
                o->version = true;
                return 0;
        default:
                if (ch >= OPT_TUNE_BASE && ch < OPT_TUNE_BASE + TUNE__MAX) {
                        Tunable t = (Tunable)(ch - OPT_TUNE_BASE);

                        cli->tune |= 1u << t;
                        return options_set_tunable(o, t, tunables[t].option, optarg, true, err, n);
                }
                return getopt_error(ch, argc, argv, err, n);
        }
}

static int parse_command_line(Options *o, int argc, char **argv, CliSet *cli, char *err, size_t n)
{
        char e[256];
        int ch, r;

        optind = 0; /* glibc: full re-initialisation, so tests may call us again */
        opterr = 0;
        while ((ch = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
                r = one_option(o, ch, cli, argc, argv, err, n);
                if (r < 0)
                        return r;
        }
        if (optind < argc)
                return error_set(err, n, -EINVAL, "unexpected argument '%s' (see --help)",
                                 options_esc(argv[optind], e, sizeof(e)));
        return 0;
}

/* The settings together, wherever each came from. */
static int check_options(Options *o, unsigned set, char *err, size_t n)
{
        char e[256];

        /* --check-config captures nothing: a file without an input is complete. */
        if (o->input == INPUT_NONE && !o->hep_listen && !o->check_config)
                return error_set(err, n, -EINVAL,
                                 "no input: use -i IFACE, -r FILE or --hep-listen (see --help)");
        if (o->input == INPUT_FILE && o->hep_listen) {
                if (set & SET_HEP_LISTEN)
                        return error_set(err, n, -EINVAL, "--hep-listen cannot be used with -r");
                free(o->hep_listen); /* from the config file, meant for the live daemon */
                o->hep_listen = NULL;
        }
        /* Anyone who reaches the listener could name any address as an attacker. */
        if (o->hep_listen && !options_listen_is_loopback(o->hep_listen) &&
            o->hep_auth.key_len == 0 && o->hep_auth.n_allow == 0)
                return error_set(err, n, -EINVAL,
                                 "%s%sHEP listener on %s is not on a loopback address: set "
                                 "hep_auth_key and/or hep_allow (--hep-auth-key, --hep-allow) so "
                                 "that only your agents are believed (see sipauthmon(8), HEP "
                                 "AUTHENTICATION)",
                                 o->hep_listen_at ? o->hep_listen_at : "",
                                 o->hep_listen_at ? ": " : "",
                                 options_esc(o->hep_listen, e, sizeof(e)));
        if (o->input == INPUT_FILE && o->duration_s) {
                if (set & SET_DURATION)
                        return error_set(err, n, -EINVAL,
                                         "--duration applies to live capture (-i) only");
                o->duration_s = 0; /* from the config file, meant for the live daemon */
        }
        if (!o->output_explicit)
                o->output =
                    getenv("INVOCATION_ID") || getenv("JOURNAL_STREAM") ? SINK_JOURNAL : SINK_TEXT;
        return 0;
}

int options_parse(Options *o, int argc, char **argv, const char *default_config, char *err,
                  size_t errlen)
{
        CliSet cli = {0};
        int r = 0;

        if (err && errlen > 0)
                err[0] = '\0';
        r = parse_command_line(o, argc, argv, &cli, err, errlen);
        if (r < 0)
                return r;
        if (o->help || o->version)
                return 0;
        if (o->verbose && o->quiet)
                return error_set(err, errlen, -EINVAL, "options -v and -q cannot be used together");

        if (o->config)
                r = config_file_load(o, cli.set, cli.tune, o->config, true, err, errlen);
        else if (default_config)
                r = config_file_load(o, cli.set, cli.tune, default_config, false, err, errlen);
        if (r < 0)
                return r;
        return check_options(o, cli.set, err, errlen);
}

void options_hep_config(const Options *o, PipelineHepConfig *hc)
{
        hc->in_capture = o->hep_in_capture;
        hc->auth = o->hep_auth;
}

static int64_t monotonic_us(void)
{
        return daemon_clock_us(CLOCK_MONOTONIC);
}

/* Config keys and options that tune the tracker; unset ones keep its defaults. */
void options_tracker_config(const Options *o, TrackerConfig *tc)
{
        tc->threshold = o->threshold;
        tc->window_us = (int64_t)o->window_s * 1000000;
        /* The live daemon's tables take their memory at start, sized by the
         * limits: its peak RSS is known from the configuration, and a MemoryMax=
         * too small for the limits shows at start, not under load. A capture
         * file is read like a small tool: its tables grow in chunks up to the
         * same limits (bench/README.md: "Peak RSS"). */
        tc->preallocate = o->input != INPUT_FILE;
        /* Live, the record cap counts minutes of the host's clock: packet
         * times (HEP timestamps are the sender's word) cannot move it. */
        tc->clock_us = o->input != INPUT_FILE ? monotonic_us : NULL;
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
