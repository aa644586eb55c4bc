/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The ladder of a record's failing exchange (ladder.h), the way sngrep draws
 * a call flow:
 *
 *   ladder     198.51.100.33:61820               udp                192.0.2.10:5060
 *   +0.000 s   |--- REGISTER --------------------------------------------->|
 *   +0.002 s   |<--- 401 WWW-Authenticate ---------------------------------|
 *              |    realm="example.test" algorithm=MD5 qop=auth ...        |
 *
 * Plain ASCII: a record is read in terminals, mails and tickets whatever
 * their locale, the columns count exactly, and the golden files do not
 * depend on LANG. Every wire string goes through escape_text().
 */
#include "ladder.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "escape.h"

#define LADDER_LEFT  13                 /* the client's bar: the value column of the text block */
#define LADDER_INNER 84                 /* columns between the two bars */
#define LADDER_TEXT  (LADDER_INNER - 5) /* a note: "|    text |" or "| !! text |" */

#define ANSI_RESET "\033[0m"
#define ANSI_MARK  "\033[1;31m"

/* A note or label being composed: trusted ASCII and escaped wire text. */
typedef struct {
        char buf[2048];
        size_t len;
} Line;

static void line_lit(Line *l, const char *s)
{
        size_t n = strlen(s);

        if (n > sizeof l->buf - 1 - l->len)
                n = sizeof l->buf - 1 - l->len;
        memcpy(l->buf + l->len, s, n);
        l->len += n;
        l->buf[l->len] = '\0';
}

static void line_fmt(Line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line_fmt(Line *l, const char *fmt, ...)
{
        char tmp[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(tmp, sizeof tmp, fmt, ap);
        va_end(ap);
        line_lit(l, tmp);
}

/* Untrusted text, escaped; the caller writes the quotes. */
static void line_esc(Line *l, const char *s)
{
        char esc[4 * 160 + 1];

        escape_text(s, esc, sizeof esc);
        line_lit(l, esc);
}

/* name="value" with a space before it unless first. */
static void line_quoted(Line *l, const char *name, const char *value)
{
        line_fmt(l, "%s%s=\"", l->len ? " " : "", name);
        line_esc(l, value);
        line_lit(l, "\"");
}

/* A nonce prefix: the 8 characters a record keeps, "..." when there were as many. */
static void line_nonce(Line *l, const char *name, const char *prefix)
{
        line_fmt(l, "%s%s=\"", l->len ? " " : "", name);
        line_esc(l, prefix);
        line_lit(l, strlen(prefix) >= 8 ? "...\"" : "\"");
}

/* Display columns of escaped text (sink_text_unit), up to max bytes. */
static size_t text_cols(const char *p, size_t max)
{
        size_t cols = 0;

        for (size_t i = 0; i < max && p[i];) {
                size_t c;

                i += sink_text_unit(p + i, &c);
                cols += c;
        }
        return cols;
}

/* "+1.234 s" relative to t0, padded to the client's bar; blank when unknown. */
static void ladder_time(Sink *s, int64_t t, int64_t t0)
{
        char buf[48] = "";
        int n = 0;

        if (t > 0) {
                int64_t ms = t > t0 ? (t - t0) / 1000 : 0;

                /* Past 1000 s whole seconds, so that the bars stay in place. */
                if (ms >= 1000000)
                        n = snprintf(buf, sizeof buf, "+%" PRId64 " s", ms / 1000);
                else
                        n = snprintf(buf, sizeof buf, "+%" PRId64 ".%03d s", ms / 1000,
                                     (int)(ms % 1000));
        }
        sink_buf_spaces(s, 2);
        sink_buf_put(s, buf, (size_t)n);
        sink_buf_spaces(s, n + 3 < LADDER_LEFT ? LADDER_LEFT - 2 - (size_t)n : 1);
}

/* One message: "|--- label ------>|" or "|<--- label -------|". */
static void ladder_arrow(Sink *s, int64_t t, int64_t t0, bool to_server, Line *label)
{
        const size_t room = LADDER_INNER - 5 - 4 - 2; /* arrow ends, spaces, a dash */
        size_t cols = text_cols(label->buf, label->len);
        size_t used;

        if (cols > room) { /* cut at a unit boundary, then "..." */
                size_t i = 0, c = 0, uc;

                while (label->buf[i] && c + 3 < room) {
                        size_t u = sink_text_unit(label->buf + i, &uc);
                        if (c + uc + 3 > room)
                                break;
                        i += u;
                        c += uc;
                }
                label->len = i;
                label->buf[i] = '\0';
                line_lit(label, "...");
                cols = c + 3;
        }
        ladder_time(s, t, t0);
        sink_buf_puts(s, to_server ? "|--- " : "|<--- ");
        sink_buf_put(s, label->buf, label->len);
        sink_buf_put(s, " ", 1);
        used = (to_server ? 4 : 5) + cols + 1;
        for (; used < LADDER_INNER - (to_server ? 4 : 0); used++)
                sink_buf_put(s, "-", 1);
        sink_buf_puts(s, to_server ? "--->|\n" : "|\n");
}

/* One line of a note: cols counts its text and indent. */
static void note_line(Sink *s, const char *p, size_t n, size_t cols, size_t indent, bool mark,
                      bool color)
{
        sink_buf_spaces(s, LADDER_LEFT);
        sink_buf_puts(s, "| ");
        if (mark && color)
                sink_buf_puts(s, ANSI_MARK);
        sink_buf_puts(s, mark && indent == 0 ? "!! " : "   ");
        sink_buf_spaces(s, indent);
        sink_buf_put(s, p, n);
        if (mark && color)
                sink_buf_puts(s, ANSI_RESET);
        sink_buf_spaces(s, cols < LADDER_TEXT ? LADDER_TEXT - cols : 0);
        sink_buf_puts(s, " |\n");
}

/* A note between the bars, word-wrapped; mark: the wrong field ("!!"). */
static void ladder_note(Sink *s, const Line *l, bool mark, bool color)
{
        const char *p = l->buf;
        bool first = true;

        while (*p) {
                const char *brk = NULL, *q = p;
                size_t cols = 0, brk_cols = 0, uc;

                while (*q) {
                        size_t u = sink_text_unit(q, &uc);
                        if (cols + uc > LADDER_TEXT - (first ? 0 : 2))
                                break;
                        if (*q == ' ') {
                                brk = q;
                                brk_cols = cols;
                        }
                        q += u;
                        cols += uc;
                }
                if (*q && *q != ' ' && brk) { /* break at the last space that fits */
                        q = brk;
                        cols = brk_cols;
                }
                note_line(s, p, (size_t)(q - p), cols + (first ? 0 : 2), first ? 0 : 2, mark,
                          color);
                first = false;
                p = *q == ' ' ? q + 1 : q;
        }
}

/* "client ... udp ... server" over the two bars. */
static void ladder_header(Sink *s, const Diagnosis *d)
{
        Line c = {.len = 0}, v = {.len = 0}, t = {.len = 0};
        size_t cc, vc, tc, left, width = LADDER_INNER + 2;

        line_esc(&c, d->client[0] ? d->client : "client");
        line_esc(&v, d->server[0] ? d->server : "server");
        line_esc(&t, d->transport);
        cc = text_cols(c.buf, c.len);
        vc = text_cols(v.buf, v.len);
        tc = text_cols(t.buf, t.len);
        sink_buf_puts(s, "  ladder");
        sink_buf_spaces(s, LADDER_LEFT - 8);
        sink_buf_put(s, c.buf, c.len);
        left = (width - tc) / 2 > cc + 2 ? (width - tc) / 2 - cc : 2;
        if (cc + left + tc + 2 + vc > width) { /* two long IPv6 endpoints: the server below */
                sink_buf_put(s, " ", 1);
                sink_buf_put(s, t.buf, t.len);
                sink_buf_put(s, "\n", 1);
                sink_buf_spaces(s, LADDER_LEFT + (vc < width ? width - vc : 0));
        } else {
                sink_buf_spaces(s, left);
                sink_buf_put(s, t.buf, t.len);
                sink_buf_spaces(s, width - cc - left - tc - vc);
        }
        sink_buf_put(s, v.buf, v.len);
        sink_buf_put(s, "\n", 1);
}

/* ---- what is wrong --------------------------------------------------- */

/* The retry's fields that a mark shows instead of its plain note. */
enum {
        WRONG_REALM = 1u << 0,
        WRONG_ALG = 1u << 1,
        WRONG_QOP = 1u << 2,
        WRONG_URI = 1u << 3,
        WRONG_NONCE = 1u << 4,
};

typedef struct {
        unsigned wrong;
        Line retry, final; /* the marks under those arrows; empty: none */
} Marks;

/* Whether the challenge offered the algorithm answered (none named: MD5). */
static bool alg_offered(const DiagExchange *e)
{
        const char *p = e->challenge_algs[0] ? e->challenge_algs : "MD5";
        size_t n = strlen(e->cred_alg);

        while (*p) {
                size_t k = strcspn(p, ",");

                if (k == n && strncasecmp(p, e->cred_alg, n) == 0)
                        return true;
                p += k;
                p += strspn(p, ", ");
        }
        return false;
}

static void age_text(Line *l, uint32_t ms)
{
        if (ms < 10000)
                line_fmt(l, "%u ms", ms);
        else if (ms < 600000)
                line_fmt(l, "%u s", ms / 1000);
        else
                line_fmt(l, "%u min", ms / 60000);
}

static void mark_qop(const DiagExchange *e, Marks *m)
{
        Line *l = &m->retry;

        m->wrong |= WRONG_QOP;
        if (e->nc_stuck) {
                line_fmt(l, "nc=%08x not advanced on reused", e->nc);
                line_nonce(l, "nonce", e->cred_nonce);
        } else if (!e->cred_qop[0]) {
                line_fmt(l, "no qop and no nc != challenge qop=%s", e->challenge_qop);
        } else if (!e->challenge_qop[0]) {
                line_fmt(l, "qop=%s != challenge without qop", e->cred_qop);
        } else if (!e->nc_valid) {
                line_fmt(l, "qop=%s without a valid nc", e->cred_qop);
        } else {
                line_fmt(l, "qop=%s != challenge qop=%s", e->cred_qop, e->challenge_qop);
        }
}

static void mark_stale(const DiagExchange *e, Marks *m)
{
        if (e->has_creds && !e->answered_latest) {
                m->wrong |= WRONG_NONCE;
                line_nonce(&m->retry, "nonce", e->cred_nonce);
                if (e->challenge_nonce[0]) {
                        line_lit(&m->retry, " != challenge");
                        line_nonce(&m->retry, "nonce", e->challenge_nonce);
                }
                line_lit(&m->retry, " (stale: ");
                if (e->nonce_known) {
                        line_lit(&m->retry, "sent ");
                        age_text(&m->retry, e->nonce_age_ms);
                        line_lit(&m->retry, " after the challenge that issued it)");
                } else {
                        line_lit(&m->retry, "issued before the capture started)");
                }
        } else if (e->final_stale) {
                line_lit(&m->final, "stale=true although the retry answered the latest nonce");
                if (e->nonce_known) {
                        line_lit(&m->final, ", ");
                        age_text(&m->final, e->nonce_age_ms);
                        line_lit(&m->final, " after it was issued");
                }
        }
}

static void mark_realm(const DiagExchange *e, Marks *m)
{
        if (!e->has_creds || strcmp(e->cred_realm, e->challenge_realm) == 0)
                return;
        m->wrong |= WRONG_REALM;
        if (e->cred_realm[0])
                line_quoted(&m->retry, "realm", e->cred_realm);
        else
                line_lit(&m->retry, "no realm");
        line_lit(&m->retry, " != challenge");
        line_quoted(&m->retry, "realm", e->challenge_realm);
}

static void mark_uri(const DiagExchange *e, Marks *m)
{
        if (!e->has_creds || strcmp(e->cred_uri, e->ruri) == 0)
                return;
        m->wrong |= WRONG_URI;
        if (e->cred_uri[0])
                line_quoted(&m->retry, "uri", e->cred_uri);
        else
                line_lit(&m->retry, "no uri");
        line_lit(&m->retry, " != Request-URI \"");
        line_esc(&m->retry, e->ruri);
        line_lit(&m->retry, "\"");
}

/* The field a code says is wrong, where this attempt shows it. */
static void marks_retry(const Diagnosis *d, const DiagExchange *e, Marks *m)
{
        const char *want = e->challenge_status == 407 ? "Proxy-Authorization" : "Authorization";

        switch (d->code) {
        case DIAG_HEADER_MISMATCH:
                if (e->has_creds)
                        line_fmt(&m->retry, "%s != challenge %u asks for %s",
                                 e->cred_proxy ? "Proxy-Authorization" : "Authorization",
                                 e->challenge_status, want);
                break;
        case DIAG_NO_CREDENTIALS:
                if (!e->has_creds)
                        line_fmt(&m->retry, "no %s header != challenge %u asks for one", want,
                                 e->challenge_status);
                break;
        case DIAG_REALM_MISMATCH:
                mark_realm(e, m);
                break;
        case DIAG_ALGORITHM_MISMATCH:
                if (!e->has_creds)
                        break;
                m->wrong |= WRONG_ALG;
                line_lit(&m->retry, "algorithm=");
                line_esc(&m->retry, e->cred_alg);
                if (alg_offered(e)) {
                        line_lit(&m->retry,
                                 " answers a nonce another algorithm's challenge issued");
                } else {
                        line_lit(&m->retry, " != challenge ");
                        line_esc(&m->retry, e->challenge_algs[0] ? e->challenge_algs : "MD5");
                }
                break;
        case DIAG_QOP_MISMATCH:
                if (e->has_creds)
                        mark_qop(e, m);
                break;
        case DIAG_URI_MISMATCH:
                mark_uri(e, m);
                break;
        case DIAG_STALE_NONCE:
                mark_stale(e, m);
                break;
        case DIAG_NONCE_UNKNOWN:
                if (!e->has_creds)
                        break;
                m->wrong |= WRONG_NONCE;
                line_nonce(&m->retry, "nonce", e->cred_nonce);
                line_lit(&m->retry, " was never seen issued to this client by this server");
                break;
        case DIAG_SOURCE_CHANGED:
                if (!e->moved || !e->challenged[0])
                        break;
                line_lit(&m->retry, "sent from ");
                line_esc(&m->retry, d->client);
                line_lit(&m->retry, " != challenge sent to ");
                line_esc(&m->retry, e->challenged);
                break;
        default:
                break;
        }
}

/* Codes decided by the response itself, or by the whole streak. */
static void marks_final(const Diagnosis *d, const DiagExchange *e, Marks *m)
{
        switch (d->code) {
        case DIAG_CHALLENGE_MISSING:
                line_fmt(&m->final, "no usable Digest challenge (realm and nonce) in %s",
                         e->final_status == 407 ? "Proxy-Authenticate" : "WWW-Authenticate");
                break;
        case DIAG_WRONG_PASSWORD:
                if (e->verified_bad)
                        line_lit(&m->final, "the response does not verify against the configured "
                                            "secret: the password or HA1 differs");
                else if (strcmp(e->cred_realm, e->challenge_realm) == 0 &&
                         strcmp(e->cred_uri, e->ruri) == 0 && alg_offered(e))
                        line_lit(&m->final, "the password or HA1 differs (inferred: realm, uri, "
                                            "algorithm and qop match the challenge)");
                else
                        line_lit(&m->final, "the password or HA1 differs (inferred: what else "
                                            "differs, this server accepts; see evidence)");
                break;
        case DIAG_SERVER_REJECTS_VALID:
                line_lit(&m->final,
                         "refused although the response verifies against the configured secret");
                break;
        case DIAG_CREDENTIAL_GUESSING:
                line_lit(&m->final, "one guess of a loop over a password list (see evidence)");
                break;
        default:
                break;
        }
        if (!m->retry.len && !m->final.len)
                line_lit(&m->final, "this attempt does not show the cause: the evidence counts "
                                    "every attempt of the window");
}

/* ---- the rows -------------------------------------------------------- */

static int64_t first_time(const DiagExchange *e)
{
        const int64_t t[] = {e->challenge_us ? e->drew_us : 0, e->challenge_us, e->request_us,
                             e->final_us};
        int64_t t0 = 0;

        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
                if (t[i] > 0 && (t0 == 0 || t[i] < t0))
                        t0 = t[i];
        return t0;
}

static void row_challenge(Sink *s, const Diagnosis *d, const DiagExchange *e, int64_t t0)
{
        const char *method = e->drew_method[0] ? e->drew_method : "request";
        Line l = {.len = 0};

        if (e->drew_us) {
                line_esc(&l, method);
                if (e->drew_creds)
                        line_lit(&l, " + credentials");
                ladder_arrow(s, e->drew_us, t0, true, &l);
        }
        l.len = 0;
        line_fmt(&l, "%u %s", e->challenge_status,
                 e->challenge_status == 407 ? "Proxy-Authenticate" : "WWW-Authenticate");
        ladder_arrow(s, e->challenge_us, t0, false, &l);
        l.len = 0;
        line_quoted(&l, "realm", e->challenge_realm);
        line_lit(&l, " algorithm=");
        line_esc(&l, e->challenge_algs[0] ? e->challenge_algs : "MD5");
        if (e->challenge_qop[0])
                line_fmt(&l, " qop=%s", e->challenge_qop);
        line_nonce(&l, "nonce", e->challenge_nonce);
        line_fmt(&l, " stale=%s", e->challenge_stale ? "true" : "false");
        ladder_note(s, &l, false, false);
}

static void row_retry(Sink *s, const Diagnosis *d, const DiagExchange *e, const Marks *m,
                      int64_t t0, bool color)
{
        Line l = {.len = 0};

        line_esc(&l, d->method[0] ? d->method : "request");
        if (e->ruri[0]) {
                line_lit(&l, " ");
                line_esc(&l, e->ruri);
        }
        if (e->has_creds)
                line_lit(&l, e->cred_proxy ? " + Proxy-Authorization" : " + Authorization");
        else if (e->challenge_us)
                line_lit(&l, " without credentials");
        ladder_arrow(s, e->request_us, t0, true, &l);
        if (e->has_creds) {
                l.len = 0;
                line_quoted(&l, "username", d->user);
                if (!(m->wrong & WRONG_REALM))
                        line_quoted(&l, "realm", e->cred_realm);
                if (!(m->wrong & WRONG_URI))
                        line_quoted(&l, "uri", e->cred_uri);
                if (!(m->wrong & WRONG_ALG)) {
                        line_lit(&l, " algorithm=");
                        line_esc(&l, e->cred_alg);
                }
                if (!(m->wrong & WRONG_QOP) && e->cred_qop[0])
                        line_fmt(&l, " qop=%s", e->cred_qop);
                if (!(m->wrong & WRONG_QOP) && e->nc_valid)
                        line_fmt(&l, " nc=%08x", e->nc);
                if (!(m->wrong & WRONG_NONCE))
                        line_nonce(&l, "nonce", e->cred_nonce);
                ladder_note(s, &l, false, false);
        }
        if (m->retry.len)
                ladder_note(s, &m->retry, true, color);
}

/* The Diagnosis contract says every string is NUL-terminated; if one ever is
 * not, it is cut rather than read past (sink_field_str does so for the rest). */
#define TERMINATE(a) ((a)[sizeof(a) - 1] = '\0')

static void terminate_all(Diagnosis *c)
{
        DiagExchange *e = &c->exchange;

        TERMINATE(c->client);
        TERMINATE(c->server);
        TERMINATE(c->transport);
        TERMINATE(c->method);
        TERMINATE(c->user);
        TERMINATE(e->drew_method);
        TERMINATE(e->ruri);
        TERMINATE(e->challenge_realm);
        TERMINATE(e->challenge_algs);
        TERMINATE(e->challenge_qop);
        TERMINATE(e->challenge_nonce);
        TERMINATE(e->cred_realm);
        TERMINATE(e->cred_alg);
        TERMINATE(e->cred_uri);
        TERMINATE(e->cred_qop);
        TERMINATE(e->cred_nonce);
        TERMINATE(e->challenged);
}

static void ladder_draw(Sink *s, const Diagnosis *rec, bool color)
{
        Diagnosis copy = *rec;
        const Diagnosis *d = &copy;
        const DiagExchange *e = &copy.exchange;
        int64_t t0 = first_time(e);
        Line l = {.len = 0};
        Marks marks = {.wrong = 0};
        Marks *m = &marks;

        terminate_all(&copy);
        marks_retry(d, e, m);
        marks_final(d, e, m);

        ladder_header(s, d);
        if (e->challenge_us)
                row_challenge(s, d, e, t0);
        row_retry(s, d, e, m, t0, color);
        if (e->final_status) {
                line_fmt(&l, "%u%s", e->final_status, e->final_stale ? " stale=true" : "");
                ladder_arrow(s, e->final_us, t0, false, &l);
        }
        if (m->final.len)
                ladder_note(s, &m->final, true, color);
}

void ladder_format(Sink *s, const Diagnosis *d, bool color)
{
        if (d->exchange.valid)
                ladder_draw(s, d, color);
}
