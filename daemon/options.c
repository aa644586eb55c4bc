/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Command line (getopt_long) and configuration file (libinih). The order of
 * precedence is: command line, then the configuration file, then defaults.
 * To get there without parsing twice, the command line is parsed first and
 * remembers which settings it made; the configuration file then fills in only
 * what the command line left alone, but every line is still validated so a
 * broken file is reported even when the command line overrides it.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "escape.h"
#include "log.h"
#include "hep_send.h"
#include "options.h"
#include "../analysis/tracker.h"

/* Which settings the command line made (bit per setting). */
enum {
        SET_INPUT = 1u << 0,
        SET_FILTER = 1u << 1,
        SET_OUTPUT = 1u << 2,
        SET_THRESHOLD = 1u << 3,
        SET_WINDOW = 1u << 4,
        SET_CREDENTIALS = 1u << 5,
        SET_DURATION = 1u << 6,
        SET_COUNT = 1u << 7,
        SET_STATS = 1u << 8,
        SET_SIP_PORTS = 1u << 9,
        SET_HEP_LISTEN = 1u << 10,
        SET_USER = 1u << 11,
        SET_HEP_AUTH_KEY = 1u << 12,
        SET_HEP_ALLOW = 1u << 13,
        SET_HEP_IN_CAPTURE = 1u << 14,
        SET_METRICS_FILE = 1u << 15,
        SET_HEP_SEND = 1u << 16,
        SET_HEP_ID = 1u << 17,
};

enum {
        OPT_DURATION = 0x100,
        OPT_COUNT,
        OPT_CREDENTIALS,
        OPT_THRESHOLD,
        OPT_WINDOW,
        OPT_STATS,
        OPT_SIP_PORTS,
        OPT_HEP_LISTEN,
        OPT_USER,
        OPT_PARSER,
        OPT_HEP_AUTH_KEY,
        OPT_HEP_ALLOW,
        OPT_HEP_IN_CAPTURE,
        OPT_METRICS_FILE,
        OPT_HEP_SEND,
        OPT_HEP_ID,
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
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

const char *options_usage(void)
{
        return "Usage: sipauthmon [-i IFACE | -r FILE] [options]\n"
               "Diagnose why SIP digest authentication keeps failing.\n"
               "\n"
               "  -i, --interface IFACE   live capture (\"any\" allowed)\n"
               "  -r, --read FILE         pcap or pcapng file, \"-\" for stdin; exits at end\n"
               "      --duration SEC      with -i: stop after SEC seconds\n"
               "      --count N           stop after N packets\n"
               "  -f, --filter BPF        capture filter; the default also keeps IP fragments\n"
               "      --sip-ports LIST    ports of the default filter (default 5060,5061,5080;\n"
               "                          ranges allowed: 5060,5100-5110)\n"
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
               "      --stats             counters on stderr at exit\n"
               "      --metrics-file PATH Prometheus text format, replaced every 15 s and at\n"
               "                          exit (node_exporter textfile collector: NAME.prom)\n"
               "      --parser fast|full  fast (default): SIP without credentials or\n"
               "                          challenges skips sofia-sip; full: all through it\n"
               "      --user USER         started as root: run as USER after opening the\n"
               "                          capture (default sipauthmon, else nobody)\n"
               "  -v, --verbose           debug detail on stderr\n"
               "  -q, --quiet             only errors on stderr\n"
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

const char *options_tunable_option(Tunable t)
{
        return (unsigned)t < TUNE__MAX ? tunables[t].option : NULL;
}

static int set_tunable(Options *o, Tunable t, const char *what, const char *v, bool apply,
                       char *err, size_t n);

void options_init(Options *o)
{
        *o = (Options){
            .output = SINK_TEXT,
            .threshold = 3,
            .window_s = 300,
            .hep_id = HEP_SEND_ID_DEFAULT,
        };
}

void options_done(Options *o)
{
        free(o->source);
        free(o->filter);
        free(o->sip_ports);
        free(o->hep_listen);
        free(o->user);
        free(o->config);
        free(o->credentials);
        free(o->metrics_file);
        free(o->hep_send);
        /* The HEP key is a secret: not left in freed memory. */
        explicit_bzero(&o->hep_auth, sizeof o->hep_auth);
        options_init(o);
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t n, const char *fmt, ...)
{
        va_list ap;

        if (err && n > 0) {
                va_start(ap, fmt);
                vsnprintf(err, n, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

/* User-supplied text echoed in an error line: escape it, keep it short. */
static const char *esc(const char *s, char *buf, size_t n)
{
        escape_text(s, buf, n);
        return buf;
}

bool options_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
        uint64_t v = 0;

        if (!s || !*s)
                return false;
        /* Digits only: strtoull would accept "-1", " 5" and "0x10". */
        for (const char *p = s; *p; p++) {
                unsigned d;

                if (*p < '0' || *p > '9')
                        return false;
                d = (unsigned)(*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        if (v < min || v > max)
                return false;
        *out = v;
        return true;
}

bool options_parse_ports(const char *s, char *norm, size_t n)
{
        size_t k = 0, items = 0;
        const char *p = s;

        if (!s || n == 0)
                return false;
        for (;;) {
                uint64_t lo, hi;
                char num[8];
                size_t d;
                int w;

                while (*p == ' ' || *p == '\t')
                        p++;
                for (d = 0; p[d] >= '0' && p[d] <= '9'; d++)
                        if (d + 1 >= sizeof(num))
                                return false;
                memcpy(num, p, d);
                num[d] = '\0';
                if (!options_parse_uint(num, 1, 65535, &lo))
                        return false;
                p += d;
                hi = lo;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p == '-') {
                        p++;
                        while (*p == ' ' || *p == '\t')
                                p++;
                        for (d = 0; p[d] >= '0' && p[d] <= '9'; d++)
                                if (d + 1 >= sizeof(num))
                                        return false;
                        memcpy(num, p, d);
                        num[d] = '\0';
                        if (!options_parse_uint(num, 1, 65535, &hi) || hi < lo)
                                return false;
                        p += d;
                        while (*p == ' ' || *p == '\t')
                                p++;
                }
                if (++items > OPTIONS_SIP_PORTS_MAX)
                        return false;
                if (hi == lo)
                        w = snprintf(norm + k, n - k, "%s%u", k ? "," : "", (unsigned)lo);
                else
                        w = snprintf(norm + k, n - k, "%s%u-%u", k ? "," : "", (unsigned)lo,
                                     (unsigned)hi);
                if (w < 0 || (size_t)w >= n - k)
                        return false;
                k += (size_t)w;
                if (*p == '\0')
                        return true;
                if (*p++ != ',')
                        return false;
        }
}

bool options_check_listen(const char *s)
{
        const char *colon;
        uint64_t port;

        if (!s || !*s)
                return false;
        colon = strrchr(s, ':');
        /* Port 0: any free port (STATUS says which). */
        if (!colon || !options_parse_uint(colon + 1, 0, 65535, &port))
                return false;
        if (s[0] == '[') {
                /* "[v6]:port": the bracket closes right before the colon. */
                if (colon - s < 3 || colon[-1] != ']')
                        return false;
                return memchr(s + 1, ']', (size_t)(colon - s - 2)) == NULL;
        }
        /* An unbracketed address has no colon of its own ("::1:9060" is ambiguous). */
        return memchr(s, ':', (size_t)(colon - s)) == NULL && strpbrk(s, " \t[]") == NULL;
}

static int set_str(char **dst, const char *v, char *err, size_t n)
{
        char *c = strdup(v);

        if (!c) {
                if (err && n > 0)
                        snprintf(err, n, "out of memory");
                return -ENOMEM;
        }
        free(*dst);
        *dst = c;
        return 0;
}

/*
 * One numeric or enumerated setting, shared by the command line and the
 * configuration file. what: how to name it in a message ("--threshold" or
 * "threshold"). apply=false validates only (the command line overrides it).
 */
static int set_value(Options *o, unsigned which, const char *what, const char *v, bool apply,
                     char *err, size_t n)
{
        char e[96];
        uint64_t u = 0;

        switch (which) {
        case SET_THRESHOLD:
                if (!options_parse_uint(v, 1, TRACKER_THRESHOLD_MAX, &u))
                        return fail(err, n, "%s: invalid value '%s' (expected 1-%u)", what,
                                    esc(v, e, sizeof(e)), (unsigned)TRACKER_THRESHOLD_MAX);
                if (apply)
                        o->threshold = (unsigned)u;
                return 0;
        case SET_WINDOW:
                if (!options_parse_uint(v, 1, OPTIONS_WINDOW_MAX_S, &u))
                        return fail(err, n, "%s: invalid value '%s' (expected seconds, 1-%u)", what,
                                    esc(v, e, sizeof(e)), OPTIONS_WINDOW_MAX_S);
                if (apply)
                        o->window_s = (unsigned)u;
                return 0;
        case SET_DURATION:
                if (!options_parse_uint(v, 1, OPTIONS_DURATION_MAX_S, &u))
                        return fail(err, n, "%s: invalid value '%s' (expected seconds, 1-%u)", what,
                                    esc(v, e, sizeof(e)), OPTIONS_DURATION_MAX_S);
                if (apply)
                        o->duration_s = (unsigned)u;
                return 0;
        case SET_COUNT:
                if (!options_parse_uint(v, 1, UINT64_MAX, &u))
                        return fail(err, n, "%s: invalid value '%s' (expected a packet count > 0)",
                                    what, esc(v, e, sizeof(e)));
                if (apply)
                        o->count = u;
                return 0;
        case SET_HEP_ID:
                if (!options_parse_uint(v, 0, UINT32_MAX, &u))
                        return fail(err, n, "%s: invalid value '%s' (expected 0-%u)", what,
                                    esc(v, e, sizeof(e)), (unsigned)UINT32_MAX);
                if (apply)
                        o->hep_id = (uint32_t)u;
                return 0;
        case SET_OUTPUT: {
                SinkKind k;

                if (!sink_kind_from_name(v, &k))
                        return fail(err, n,
                                    "%s: invalid value '%s' (expected journal, text or json)", what,
                                    esc(v, e, sizeof(e)));
                if (apply) {
                        o->output = k;
                        o->output_explicit = true;
                }
                return 0;
        }
        default:
                return fail(err, n, "internal error: unknown setting");
        }
}

/*
 * The string settings that need a check: --sip-ports, --hep-listen, --user,
 * --metrics-file, --hep-send.
 * Same contract as set_value().
 */
static int set_string(Options *o, unsigned which, const char *what, const char *v, bool apply,
                      char *err, size_t n)
{
        char norm[1024], e[96];

        switch (which) {
        case SET_SIP_PORTS:
                if (!options_parse_ports(v, norm, sizeof(norm)))
                        return fail(err, n,
                                    "%s: invalid value '%s' (expected ports and ranges 1-65535, "
                                    "e.g. 5060,5080,5100-5110; at most %u)",
                                    what, esc(v, e, sizeof(e)), OPTIONS_SIP_PORTS_MAX);
                return apply ? set_str(&o->sip_ports, norm, err, n) : 0;
        case SET_HEP_LISTEN:
                if (!options_check_listen(v))
                        return fail(err, n,
                                    "%s: invalid value '%s' (expected ADDR:PORT, [ADDR]:PORT or "
                                    ":PORT)",
                                    what, esc(v, e, sizeof(e)));
                return apply ? set_str(&o->hep_listen, v, err, n) : 0;
        case SET_HEP_AUTH_KEY: {
                HepAuthConfig a = {0};

                /* The value is a secret: never repeated in a message. */
                if (!hepauth_set_key(&a, v))
                        return fail(err, n,
                                    "%s: invalid value (expected 1-%u printable ASCII characters)",
                                    what, HEPAUTH_KEY_MAX);
                if (apply) {
                        memcpy(o->hep_auth.key, a.key, sizeof a.key);
                        o->hep_auth.key_len = a.key_len;
                }
                explicit_bzero(&a, sizeof a);
                return 0;
        }
        case SET_HEP_ALLOW: {
                HepAuthConfig a = {0};
                char why[160];

                if (!hepauth_parse_allow(&a, v, why, sizeof(why)))
                        return fail(err, n, "%s: %s", what, why);
                if (apply) {
                        memcpy(o->hep_auth.allow, a.allow, sizeof a.allow);
                        o->hep_auth.n_allow = a.n_allow;
                }
                return 0;
        }
        case SET_USER:
                /* A user name as useradd(8) takes it; no path or option characters. */
                if (!*v || strlen(v) > 32 || v[0] == '-' ||
                    strspn(v,
                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
                        strlen(v))
                        return fail(err, n, "%s: invalid user name '%s'", what,
                                    esc(v, e, sizeof(e)));
                return apply ? set_str(&o->user, v, err, n) : 0;
        case SET_HEP_SEND:
                /* Empty: none (the default configuration shows the key so). */
                if (!*v) {
                        if (apply) {
                                free(o->hep_send);
                                o->hep_send = NULL;
                        }
                        return 0;
                }
                if (!hep_send_parse_addr(v, NULL, 0, NULL))
                        return fail(err, n,
                                    "%s: invalid value '%s' (expected a numeric IPV4:PORT or "
                                    "[IPV6]:PORT, port 1-65535: nothing is resolved)",
                                    what, esc(v, e, sizeof(e)));
                return apply ? set_str(&o->hep_send, v, err, n) : 0;
        case SET_METRICS_FILE: {
                size_t len = strlen(v);

                /* Empty: none (the default configuration shows the key so). */
                if (len == 0) {
                        if (apply) {
                                free(o->metrics_file);
                                o->metrics_file = NULL;
                        }
                        return 0;
                }
                /* A file name, not a directory: the file is replaced by rename. */
                if (v[len - 1] == '/')
                        return fail(err, n, "%s: invalid value '%s' (expected a file path)", what,
                                    esc(v, e, sizeof(e)));
                return apply ? set_str(&o->metrics_file, v, err, n) : 0;
        }
        default:
                return fail(err, n, "internal error: unknown setting");
        }
}

static int set_tunable(Options *o, Tunable t, const char *what, const char *v, bool apply,
                       char *err, size_t n)
{
        char e[96];
        uint64_t u;

        if (!options_parse_uint(v, tunables[t].min, tunables[t].max, &u))
                return fail(err, n, "%s: invalid value '%s' (expected %s, %llu-%llu)", what,
                            esc(v, e, sizeof(e)), tunables[t].unit,
                            (unsigned long long)tunables[t].min,
                            (unsigned long long)tunables[t].max);
        if (apply) {
                o->tune[t].set = true;
                o->tune[t].value = u;
        }
        return 0;
}

/* ---- configuration file ------------------------------------------------ */

typedef struct {
        Options *o;
        unsigned cli_set;
        unsigned cli_tune; /* Tunable bits given on the command line */
        const char *path;
        FILE *f;
        unsigned lineno;   /* line most recently handed to inih */
        unsigned err_line; /* 0 = no error recorded */
        int err_code;
        char err[OPTIONS_ERR_MAX];
        unsigned input_line; /* line of the interface/read key, for conflicts */
        InputKind input;
        char *input_value;
        bool read_error;
        int read_errno;
} ConfigCtx;

__attribute__((format(printf, 2, 3))) static void cfg_error(ConfigCtx *c, const char *fmt, ...)
{
        va_list ap;

        if (c->err_line)
                return; /* the first error is the one reported */
        c->err_line = c->lineno;
        c->err_code = -EINVAL;
        va_start(ap, fmt);
        vsnprintf(c->err, sizeof(c->err), fmt, ap);
        va_end(ap);
}

/*
 * fgets-style reader for inih that (a) counts lines so the handler knows
 * where it is, (b) refuses over-long lines instead of letting inih split them
 * into two "lines", (c) refuses NUL bytes, and (d) strips leading blanks so
 * that an indented line is never taken as a continuation of the previous
 * value (inih's multi-line mode would otherwise silently append it).
 */
static char *cfg_reader(char *str, int num, void *stream)
{
        ConfigCtx *c = stream;
        int len = 0, ch;
        bool leading = true, any = false;

        if (c->err_line || num < 2)
                return NULL;
        c->lineno++;
        while ((ch = getc(c->f)) != EOF) {
                any = true;
                if (ch == '\n')
                        break;
                if (ch == '\0') {
                        cfg_error(c, "NUL byte in line");
                        return NULL;
                }
                if (leading && (ch == ' ' || ch == '\t'))
                        continue;
                leading = false;
                if (len >= num - 2) {
                        cfg_error(c, "line too long (at most %d characters)", num - 2);
                        return NULL;
                }
                str[len++] = (char)ch;
        }
        if (ch == EOF && ferror(c->f)) {
                c->read_error = true;
                c->read_errno = errno;
                return NULL;
        }
        if (!any)
                return NULL;
        str[len++] = '\n';
        str[len] = '\0';
        return str;
}

static bool parse_bool(const char *v, bool *out)
{
        static const char *const yes[] = {"1", "yes", "true", "on"};
        static const char *const no[] = {"0", "no", "false", "off"};

        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                if (strcasecmp(v, yes[i]) == 0) {
                        *out = true;
                        return true;
                }
                if (strcasecmp(v, no[i]) == 0) {
                        *out = false;
                        return true;
                }
        }
        return false;
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
        static const struct {
                const char *key;
                unsigned which;
        } numeric[] = {
            {"threshold", SET_THRESHOLD}, {"window", SET_WINDOW}, {"duration", SET_DURATION},
            {"count", SET_COUNT},         {"output", SET_OUTPUT}, {"hep_id", SET_HEP_ID},
        };
        ConfigCtx *c = user;
        Options *o = c->o;
        char e1[96], e2[96];
        int r;

        if (c->err_line)
                return 0;
        if (section[0] != '\0' && strcmp(section, "sipauthmon") != 0) {
                cfg_error(c, "unknown section '[%s]'", esc(section, e1, sizeof(e1)));
                return 0;
        }

        for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++) {
                if (strcmp(name, numeric[i].key) != 0)
                        continue;
                r = set_value(o, numeric[i].which, name, value, !(c->cli_set & numeric[i].which),
                              c->err, sizeof(c->err));
                if (r < 0) {
                        c->err_line = c->lineno;
                        c->err_code = r;
                        return 0;
                }
                return 1;
        }

        for (unsigned i = 0; i < TUNE__MAX; i++) {
                if (strcmp(name, tunables[i].key) != 0)
                        continue;
                r = set_tunable(o, (Tunable)i, name, value, !(c->cli_tune & (1u << i)), c->err,
                                sizeof(c->err));
                if (r < 0) {
                        c->err_line = c->lineno;
                        c->err_code = r;
                        return 0;
                }
                return 1;
        }

        if (strcmp(name, "interface") == 0 || strcmp(name, "read") == 0) {
                InputKind k = name[0] == 'i' ? INPUT_LIVE : INPUT_FILE;

                if (value[0] == '\0') {
                        cfg_error(c, "%s: empty value", name);
                        return 0;
                }
                if (c->input != INPUT_NONE && c->input != k) {
                        cfg_error(c, "'interface' and 'read' cannot both be set (see line %u)",
                                  c->input_line);
                        return 0;
                }
                c->input = k;
                c->input_line = c->lineno;
                r = set_str(&c->input_value, value, c->err, sizeof(c->err));
                if (r < 0) {
                        c->err_line = c->lineno;
                        c->err_code = r;
                        return 0;
                }
                return 1;
        }

        if (strcmp(name, "filter") == 0) {
                /* An empty filter is allowed: capture everything. */
                if (!(c->cli_set & SET_FILTER)) {
                        r = set_str(&o->filter, value, c->err, sizeof(c->err));
                        if (r < 0) {
                                c->err_line = c->lineno;
                                c->err_code = r;
                                return 0;
                        }
                }
                return 1;
        }

        if (strcmp(name, "credentials") == 0) {
                if (value[0] == '\0') {
                        cfg_error(c, "credentials: empty value");
                        return 0;
                }
                if (!(c->cli_set & SET_CREDENTIALS)) {
                        r = set_str(&o->credentials, value, c->err, sizeof(c->err));
                        if (r < 0) {
                                c->err_line = c->lineno;
                                c->err_code = r;
                                return 0;
                        }
                }
                return 1;
        }

        static const struct {
                const char *key;
                unsigned which;
        } strings[] = {
            {"sip_ports", SET_SIP_PORTS},
            {"hep_listen", SET_HEP_LISTEN},
            {"hep_auth_key", SET_HEP_AUTH_KEY},
            {"hep_allow", SET_HEP_ALLOW},
            {"user", SET_USER},
            {"metrics_file", SET_METRICS_FILE},
            {"hep_send", SET_HEP_SEND},
        };
        for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
                if (strcmp(name, strings[i].key) != 0)
                        continue;
                r = set_string(o, strings[i].which, name, value, !(c->cli_set & strings[i].which),
                               c->err, sizeof(c->err));
                if (r < 0) {
                        c->err_line = c->lineno;
                        c->err_code = r;
                        return 0;
                }
                return 1;
        }

        static const struct {
                const char *key;
                unsigned which;
        } bools[] = {
            {"stats", SET_STATS},
            {"hep_in_capture", SET_HEP_IN_CAPTURE},
        };
        for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
                bool b;

                if (strcmp(name, bools[i].key) != 0)
                        continue;
                if (!parse_bool(value, &b)) {
                        cfg_error(c, "%s: invalid value '%s' (expected yes or no)", name,
                                  esc(value, e1, sizeof(e1)));
                        return 0;
                }
                if (!(c->cli_set & bools[i].which))
                        *(bools[i].which == SET_STATS ? &o->stats : &o->hep_in_capture) = b;
                return 1;
        }

        cfg_error(c, "unknown key '%s'", esc(name, e2, sizeof(e2)));
        return 0;
}

static int load_config(Options *o, unsigned cli_set, unsigned cli_tune, const char *path,
                       bool required, char *err, size_t n)
{
        ConfigCtx c = {.o = o, .cli_set = cli_set, .cli_tune = cli_tune, .path = path};
        char e[256];
        int r;

        c.f = fopen(path, "re");
        if (!c.f) {
                if (errno == ENOENT && !required)
                        return 0;
                r = -errno;
                fail(err, n, "%s: %s", esc(path, e, sizeof(e)), strerror(-r));
                return r;
        }

        r = ini_parse_stream(cfg_reader, &c, cfg_handler, &c);
        fclose(c.f);

        if (c.read_error) {
                r = c.read_errno > 0 ? -c.read_errno : -EIO;
                fail(err, n, "%s: %s", esc(path, e, sizeof(e)), strerror(-r));
                goto out;
        }
        /* inih reports the first line it found fault with; ours may be later. */
        if (r > 0 && (!c.err_line || (unsigned)r < c.err_line)) {
                r = fail(err, n, "%s:%d: syntax error (expected 'key = value' or '[sipauthmon]')",
                         esc(path, e, sizeof(e)), r);
                goto out;
        }
        if (c.err_line) {
                fail(err, n, "%s:%u: %s", esc(path, e, sizeof(e)), c.err_line, c.err);
                r = c.err_code;
                goto out;
        }
        if (r < 0) {
                r = -ENOMEM;
                fail(err, n, "%s: out of memory", esc(path, e, sizeof(e)));
                goto out;
        }

        if (c.input != INPUT_NONE && !(cli_set & SET_INPUT)) {
                o->input = c.input;
                free(o->source);
                o->source = c.input_value;
                c.input_value = NULL;
        }
        r = 0;
out:
        free(c.input_value);
        return r;
}

/*
 * The main file, then FILE.d/\*.conf in lexical (C locale, alphasort) order:
 * the systemd convention, so that a package or an admin can add a file
 * instead of editing the main one. An absent main file is skipped (when not
 * required); the drop-ins are read all the same.
 */
static int dropin_filter(const struct dirent *d)
{
        size_t len = strlen(d->d_name);

        return d->d_name[0] != '.' && len > 5 && strcmp(d->d_name + len - 5, ".conf") == 0;
}

static int load_config_all(Options *o, unsigned cli_set, unsigned cli_tune, const char *path,
                           bool required, char *err, size_t n)
{
        struct dirent **list = NULL;
        char e[256];
        char *dir = NULL;
        int r, k;

        r = load_config(o, cli_set, cli_tune, path, required, err, n);
        if (r < 0)
                return r;
        if (asprintf(&dir, "%s.d", path) < 0) {
                fail(err, n, "out of memory");
                return -ENOMEM;
        }
        k = scandir(dir, &list, dropin_filter, alphasort);
        if (k < 0) {
                r = errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
                if (r < 0)
                        fail(err, n, "%s: %s", esc(dir, e, sizeof(e)), strerror(-r));
                free(dir);
                return r;
        }
        for (int i = 0; i < k; i++) {
                char *file = NULL;

                if (r == 0) {
                        if (asprintf(&file, "%s/%s", dir, list[i]->d_name) < 0) {
                                fail(err, n, "out of memory");
                                r = -ENOMEM;
                        } else {
                                /* Listed a moment ago: a vanished file is an error now. */
                                r = load_config(o, cli_set, cli_tune, file, true, err, n);
                                free(file);
                        }
                }
                free(list[i]);
        }
        free(list);
        free(dir);
        return r;
}

/* ---- command line ------------------------------------------------------ */

static int getopt_error(int ch, int argc, char **argv, char *err, size_t n)
{
        const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
        char e[96];

        if (ch == ':') {
                if (optopt > 0 && optopt < 0x100)
                        return fail(err, n, "option '-%c' needs an argument", optopt);
                return fail(err, n, "option '%s' needs an argument", esc(arg, e, sizeof(e)));
        }
        if (optopt >= 0x100)
                return fail(err, n, "option '%s' takes no argument", esc(arg, e, sizeof(e)));
        if (optopt > 0x20 && optopt < 0x7f)
                return fail(err, n, "unknown option '-%c' (see --help)", optopt);
        return fail(err, n, "unknown or ambiguous option '%s' (see --help)",
                    esc(arg, e, sizeof(e)));
}

int options_parse(Options *o, int argc, char **argv, const char *default_config, char *err,
                  size_t errlen)
{
        unsigned set = 0, cli_tune = 0;
        char e[256];
        int ch, r;

        if (err && errlen > 0)
                err[0] = '\0';
        optind = 0; /* glibc: full re-initialisation, so tests may call us again */
        opterr = 0;
        while ((ch = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
                /* Numeric and enumerated settings share one parser with the config file. */
                static const struct {
                        int opt;
                        unsigned which;
                        const char *name;
                } valued[] = {
                    {'o', SET_OUTPUT, "--output"},
                    {OPT_THRESHOLD, SET_THRESHOLD, "--threshold"},
                    {OPT_WINDOW, SET_WINDOW, "--window"},
                    {OPT_DURATION, SET_DURATION, "--duration"},
                    {OPT_COUNT, SET_COUNT, "--count"},
                    {OPT_HEP_ID, SET_HEP_ID, "--hep-id"},
                };
                size_t v = 0;

                while (v < sizeof(valued) / sizeof(valued[0]) && valued[v].opt != ch)
                        v++;
                if (v < sizeof(valued) / sizeof(valued[0])) {
                        r = set_value(o, valued[v].which, valued[v].name, optarg, true, err,
                                      errlen);
                        if (r < 0)
                                return r;
                        set |= valued[v].which;
                        continue;
                }
                switch (ch) {
                case 'i':
                case 'r': {
                        InputKind k = ch == 'i' ? INPUT_LIVE : INPUT_FILE;

                        if (optarg[0] == '\0')
                                return fail(err, errlen, "option '-%c' needs a non-empty argument",
                                            ch);
                        if ((set & SET_INPUT) && o->input != k)
                                return fail(err, errlen,
                                            "options -i and -r cannot be used together");
                        r = set_str(&o->source, optarg, err, errlen);
                        if (r < 0)
                                return r;
                        o->input = k;
                        set |= SET_INPUT;
                        break;
                }
                case 'f':
                        r = set_str(&o->filter, optarg, err, errlen);
                        if (r < 0)
                                return r;
                        set |= SET_FILTER;
                        break;
                case 'c':
                        if (optarg[0] == '\0')
                                return fail(err, errlen, "option '-c' needs a non-empty argument");
                        r = set_str(&o->config, optarg, err, errlen);
                        if (r < 0)
                                return r;
                        break;
                case OPT_CREDENTIALS:
                        if (optarg[0] == '\0')
                                return fail(err, errlen,
                                            "option '--credentials' needs a non-empty argument");
                        r = set_str(&o->credentials, optarg, err, errlen);
                        if (r < 0)
                                return r;
                        set |= SET_CREDENTIALS;
                        break;
                case OPT_STATS:
                        o->stats = true;
                        set |= SET_STATS;
                        break;
                case OPT_SIP_PORTS:
                case OPT_HEP_LISTEN:
                case OPT_USER: {
                        static const unsigned which[] = {SET_SIP_PORTS, SET_HEP_LISTEN, SET_USER};
                        static const char *const what[] = {"--sip-ports", "--hep-listen", "--user"};
                        unsigned i = (unsigned)(ch - OPT_SIP_PORTS);

                        r = set_string(o, which[i], what[i], optarg, true, err, errlen);
                        if (r < 0)
                                return r;
                        set |= which[i];
                        break;
                }
                case OPT_HEP_AUTH_KEY:
                case OPT_HEP_ALLOW: {
                        unsigned which = ch == OPT_HEP_AUTH_KEY ? SET_HEP_AUTH_KEY : SET_HEP_ALLOW;

                        r = set_string(o, which,
                                       ch == OPT_HEP_AUTH_KEY ? "--hep-auth-key" : "--hep-allow",
                                       optarg, true, err, errlen);
                        if (r < 0)
                                return r;
                        set |= which;
                        break;
                }
                case OPT_HEP_IN_CAPTURE:
                        o->hep_in_capture = true;
                        set |= SET_HEP_IN_CAPTURE;
                        break;
                case OPT_HEP_SEND:
                        if (optarg[0] == '\0')
                                return fail(err, errlen,
                                            "option '--hep-send' needs a non-empty argument");
                        r = set_string(o, SET_HEP_SEND, "--hep-send", optarg, true, err, errlen);
                        if (r < 0)
                                return r;
                        set |= SET_HEP_SEND;
                        break;
                case OPT_METRICS_FILE:
                        if (optarg[0] == '\0')
                                return fail(err, errlen,
                                            "option '--metrics-file' needs a non-empty argument");
                        r = set_string(o, SET_METRICS_FILE, "--metrics-file", optarg, true, err,
                                       errlen);
                        if (r < 0)
                                return r;
                        set |= SET_METRICS_FILE;
                        break;
                case OPT_PARSER:
                        /* Same diagnoses either way (tests/fastpath); full is the reference. */
                        if (strcmp(optarg, "fast") != 0 && strcmp(optarg, "full") != 0)
                                return fail(err, errlen,
                                            "--parser: invalid value '%s' (expected fast or full)",
                                            esc(optarg, e, sizeof(e)));
                        o->parser_full = strcmp(optarg, "full") == 0;
                        break;
                case 'v':
                        if (o->verbose < 16)
                                o->verbose++;
                        break;
                case 'q':
                        o->quiet = true;
                        break;
                case 'h':
                        o->help = true;
                        break;
                case 'V':
                        o->version = true;
                        break;
                default:
                        if (ch >= OPT_TUNE_BASE && ch < OPT_TUNE_BASE + TUNE__MAX) {
                                Tunable t = (Tunable)(ch - OPT_TUNE_BASE);
                                r = set_tunable(o, t, tunables[t].option, optarg, true, err,
                                                errlen);
                                if (r < 0)
                                        return r;
                                cli_tune |= 1u << t;
                                break;
                        }
                        return getopt_error(ch, argc, argv, err, errlen);
                }
        }
        if (optind < argc)
                return fail(err, errlen, "unexpected argument '%s' (see --help)",
                            esc(argv[optind], e, sizeof(e)));
        if (o->help || o->version)
                return 0;
        if (o->verbose && o->quiet)
                return fail(err, errlen, "options -v and -q cannot be used together");

        if (o->config)
                r = load_config_all(o, set, cli_tune, o->config, true, err, errlen);
        else if (default_config)
                r = load_config_all(o, set, cli_tune, default_config, false, err, errlen);
        else
                r = 0;
        if (r < 0)
                return r;

        if (o->input == INPUT_NONE && !o->hep_listen)
                return fail(err, errlen,
                            "no input: use -i IFACE, -r FILE or --hep-listen (see --help)");
        if (o->input == INPUT_FILE && o->hep_listen) {
                if (set & SET_HEP_LISTEN)
                        return fail(err, errlen, "--hep-listen cannot be used with -r");
                free(o->hep_listen); /* from the config file, meant for the live daemon */
                o->hep_listen = NULL;
        }
        /* Anyone who reaches the listener could name any address as an attacker. */
        if (o->hep_listen && !options_listen_is_loopback(o->hep_listen) &&
            o->hep_auth.key_len == 0 && o->hep_auth.n_allow == 0)
                return fail(err, errlen,
                            "HEP listener on %s is not on a loopback address: set hep_auth_key "
                            "and/or hep_allow (--hep-auth-key, --hep-allow) so that only your "
                            "agents are believed (see sipauthmon(8), HEP AUTHENTICATION)",
                            esc(o->hep_listen, e, sizeof(e)));
        if (o->input == INPUT_FILE && o->duration_s) {
                if (set & SET_DURATION)
                        return fail(err, errlen, "--duration applies to live capture (-i) only");
                o->duration_s = 0; /* from the config file, meant for the live daemon */
        }
        if (!o->output_explicit)
                o->output =
                    getenv("INVOCATION_ID") || getenv("JOURNAL_STREAM") ? SINK_JOURNAL : SINK_TEXT;
        return 0;
}

bool options_listen_is_loopback(const char *s)
{
        char host[INET6_ADDRSTRLEN + 2];
        const char *colon = s ? strrchr(s, ':') : NULL;
        uint8_t a[16];
        size_t n;

        if (!colon || !options_check_listen(s))
                return false;
        n = (size_t)(colon - s);
        if (s[0] == '[') {
                s++;
                n -= 2; /* the brackets */
        }
        if (n == 0 || n >= sizeof(host))
                return false;
        memcpy(host, s, n);
        host[n] = '\0';
        if (inet_pton(AF_INET, host, a) == 1)
                return a[0] == 127;
        if (inet_pton(AF_INET6, host, a) == 1) {
                static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

                if (memcmp(a, &in6addr_loopback, 16) == 0)
                        return true;
                return memcmp(a, mapped, 12) == 0 && a[12] == 127;
        }
        return false;
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
