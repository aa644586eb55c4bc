/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One setting at a time: its syntax, range and message, the same whether it
 * comes from the command line ("--threshold") or the configuration file
 * ("threshold"), so that both accept and refuse exactly the same values.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "escape.h"
#include "hep_send.h"
#include "options.h"
#include "options_internal.h"
#include "../analysis/tracker.h"

/* User-supplied text echoed in an error line: escape it, keep it short. */
const char *options_esc(const char *s, char *buf, size_t n)
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

/* Blanks, a port 1-65535, blanks: where they end, NULL when there is no port. */
static const char *parse_port(const char *p, uint64_t *out)
{
        char num[8];
        size_t d;

        while (*p == ' ' || *p == '\t')
                p++;
        for (d = 0; p[d] >= '0' && p[d] <= '9'; d++)
                if (d + 1 >= sizeof(num))
                        return NULL;
        memcpy(num, p, d);
        num[d] = '\0';
        if (!options_parse_uint(num, 1, 65535, out))
                return NULL;
        p += d;
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

bool options_parse_ports(const char *s, char *norm, size_t n)
{
        size_t k = 0, items = 0;
        const char *p = s;

        if (!s || n == 0)
                return false;
        for (;;) {
                uint64_t lo, hi;
                int w;

                p = parse_port(p, &lo);
                if (!p)
                        return false;
                hi = lo;
                if (*p == '-') {
                        p = parse_port(p + 1, &hi);
                        if (!p || hi < lo)
                                return false;
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

int options_set_str(char **dst, const char *v, char *err, size_t n)
{
        char *c = strdup(v);

        if (!c)
                return error_set(err, n, -ENOMEM, "out of memory");
        free(*dst);
        *dst = c;
        return 0;
}

/* The numeric settings: their range, and how a message names what is expected. */
static const struct {
        unsigned which; /* SET_* */
        uint64_t min, max;
        const char *unit; /* before the range ("seconds, "); NULL: expected says it all */
        const char *expected;
} numbers[] = {
    {SET_THRESHOLD, 1, TRACKER_THRESHOLD_MAX, "", NULL},
    {SET_WINDOW, 1, OPTIONS_WINDOW_MAX_S, "seconds, ", NULL},
    {SET_DURATION, 1, OPTIONS_DURATION_MAX_S, "seconds, ", NULL},
    {SET_COUNT, 1, UINT64_MAX, NULL, "a packet count > 0"},
    {SET_HEP_ID, 0, UINT32_MAX, "", NULL},
    {SET_WORKERS, 1, PIPELINE_WORKERS_MAX, "", NULL},
};

static void apply_number(Options *o, unsigned which, uint64_t u)
{
        switch (which) {
        case SET_THRESHOLD:
                o->threshold = (unsigned)u;
                break;
        case SET_WINDOW:
                o->window_s = (unsigned)u;
                break;
        case SET_DURATION:
                o->duration_s = (unsigned)u;
                break;
        case SET_COUNT:
                o->count = u;
                break;
        case SET_HEP_ID:
                o->hep_id = (uint32_t)u;
                break;
        case SET_WORKERS:
                o->workers = (unsigned)u;
                break;
        }
}

int options_set_value(Options *o, unsigned which, const char *what, const char *v, bool apply,
                      char *err, size_t n)
{
        char e[96];
        uint64_t u = 0;
        SinkKind k;

        for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
                if (numbers[i].which != which)
                        continue;
                if (!options_parse_uint(v, numbers[i].min, numbers[i].max, &u)) {
                        if (!numbers[i].unit)
                                return error_set(err, n, -EINVAL,
                                                 "%s: invalid value '%s' (expected %s)", what,
                                                 options_esc(v, e, sizeof(e)), numbers[i].expected);
                        return error_set(
                            err, n, -EINVAL, "%s: invalid value '%s' (expected %s%llu-%llu)", what,
                            options_esc(v, e, sizeof(e)), numbers[i].unit,
                            (unsigned long long)numbers[i].min, (unsigned long long)numbers[i].max);
                }
                if (apply)
                        apply_number(o, which, u);
                return 0;
        }
        if (which == SET_PARSER) {
                /* Same diagnoses either way (tests/fastpath); full is the reference. */
                if (strcmp(v, "fast") != 0 && strcmp(v, "full") != 0)
                        return error_set(err, n, -EINVAL,
                                         "%s: invalid value '%s' (expected fast or full)", what,
                                         options_esc(v, e, sizeof(e)));
                if (apply)
                        o->parser_full = strcmp(v, "full") == 0;
                return 0;
        }
        if (which != SET_OUTPUT)
                return error_set(err, n, -EINVAL, "internal error: unknown setting");
        if (!sink_kind_from_name(v, &k))
                return error_set(err, n, -EINVAL,
                                 "%s: invalid value '%s' (expected journal, text or json)", what,
                                 options_esc(v, e, sizeof(e)));
        if (apply) {
                o->output = k;
                o->output_explicit = true;
        }
        return 0;
}

/*
 * The string settings that need a check: --sip-ports, --hep-listen, --user,
 * --metrics-file, --hep-send.
 * Same contract as set_value().
 */
/* hep_auth_key, hep_allow: who may send HEP (analysis/hepauth.h). */
static int set_hep_auth(Options *o, unsigned which, const char *what, const char *v, bool apply,
                        char *err, size_t n)
{
        HepAuthConfig a = {0};
        char why[160];

        if (which == SET_HEP_ALLOW) {
                if (!hepauth_parse_allow(&a, v, why, sizeof(why)))
                        return error_set(err, n, -EINVAL, "%s: %s", what, why);
                if (apply) {
                        memcpy(o->hep_auth.allow, a.allow, sizeof a.allow);
                        o->hep_auth.n_allow = a.n_allow;
                }
                return 0;
        }
        /* The value is a secret: never repeated in a message. */
        if (!hepauth_set_key(&a, v))
                return error_set(err, n, -EINVAL,
                                 "%s: invalid value (expected 1-%u printable ASCII characters)",
                                 what, HEPAUTH_KEY_MAX);
        if (apply) {
                memcpy(o->hep_auth.key, a.key, sizeof a.key);
                o->hep_auth.key_len = a.key_len;
        }
        explicit_bzero(&a, sizeof a);
        return 0;
}

int options_set_string(Options *o, unsigned which, const char *what, const char *v, bool apply,
                       char *err, size_t n)
{
        char norm[1024], e[96];

        /* hep_send, metrics_file: empty is none (the default configuration shows the keys so). */
        if ((which == SET_HEP_SEND || which == SET_METRICS_FILE) && !*v) {
                char **dst = which == SET_HEP_SEND ? &o->hep_send : &o->metrics_file;

                if (apply) {
                        free(*dst);
                        *dst = NULL;
                }
                return 0;
        }
        switch (which) {
        case SET_WS_PORTS: /* empty: no WebSocket port (the handshake is still followed) */
                if (!*v)
                        return apply ? options_set_str(&o->ws_ports, "", err, n) : 0;
                if (!options_parse_ports(v, norm, sizeof(norm)))
                        return error_set(
                            err, n, -EINVAL,
                            "%s: invalid value '%s' (expected ports and ranges 1-65535, "
                            "e.g. 80,8088,5066; empty for none; at most %u)",
                            what, options_esc(v, e, sizeof(e)), OPTIONS_SIP_PORTS_MAX);
                return apply ? options_set_str(&o->ws_ports, norm, err, n) : 0;
        case SET_SIP_PORTS:
                if (!options_parse_ports(v, norm, sizeof(norm)))
                        return error_set(
                            err, n, -EINVAL,
                            "%s: invalid value '%s' (expected ports and ranges 1-65535, "
                            "e.g. 5060,5080,5100-5110; at most %u)",
                            what, options_esc(v, e, sizeof(e)), OPTIONS_SIP_PORTS_MAX);
                return apply ? options_set_str(&o->sip_ports, norm, err, n) : 0;
        case SET_HEP_LISTEN:
                if (!options_check_listen(v))
                        return error_set(
                            err, n, -EINVAL,
                            "%s: invalid value '%s' (expected ADDR:PORT, [ADDR]:PORT or "
                            ":PORT)",
                            what, options_esc(v, e, sizeof(e)));
                return apply ? options_set_str(&o->hep_listen, v, err, n) : 0;
        case SET_HEP_AUTH_KEY:
        case SET_HEP_ALLOW:
                return set_hep_auth(o, which, what, v, apply, err, n);
        case SET_USER:
                /* A user name as useradd(8) takes it; no path or option characters. */
                if (!*v || strlen(v) > 32 || v[0] == '-' ||
                    strspn(v,
                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
                        strlen(v))
                        return error_set(err, n, -EINVAL, "%s: invalid user name '%s'", what,
                                         options_esc(v, e, sizeof(e)));
                return apply ? options_set_str(&o->user, v, err, n) : 0;
        case SET_HEP_SEND:
                if (!hep_send_parse_addr(v, NULL, 0, NULL))
                        return error_set(err, n, -EINVAL,
                                         "%s: invalid value '%s' (expected a numeric IPV4:PORT or "
                                         "[IPV6]:PORT, port 1-65535: nothing is resolved)",
                                         what, options_esc(v, e, sizeof(e)));
                return apply ? options_set_str(&o->hep_send, v, err, n) : 0;
        case SET_METRICS_FILE:
                /* A file name, not a directory: the file is replaced by rename. */
                if (v[strlen(v) - 1] == '/')
                        return error_set(err, n, -EINVAL,
                                         "%s: invalid value '%s' (expected a file path)", what,
                                         options_esc(v, e, sizeof(e)));
                return apply ? options_set_str(&o->metrics_file, v, err, n) : 0;
        default:
                return error_set(err, n, -EINVAL, "internal error: unknown setting");
        }
}
