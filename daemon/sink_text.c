/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The text block of a record: every string through escape_text() (no
 * terminal escapes, no forged lines), colour only when asked for.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"
#include "ladder.h"
#include "sink_internal.h"

/* Text layout: "  label      value", values wrapped with a hanging indent. */
#define TEXT_WIDTH        100
#define TEXT_LABEL_INDENT 2
#define TEXT_LABEL_WIDTH  10
#define TEXT_VALUE_COLUMN (TEXT_LABEL_INDENT + TEXT_LABEL_WIDTH + 1)

#define ANSI_RESET "\033[0m"
#define ANSI_BOLD  "\033[1m"

/* One display unit of escaped text (sink_internal.h). */
size_t sink_text_unit(const char *p, size_t *cols)
{
        unsigned char c = (unsigned char)p[0];
        size_t len;

        if (c == '\\')
                len = p[1] == 'x' ? 4 : 2;
        else if (c < 0x80)
                len = 1;
        else if (c < 0xe0)
                len = 2;
        else if (c < 0xf0)
                len = 3;
        else
                len = 4;
        /* Never step over the terminating NUL, whatever the bytes say. */
        for (size_t i = 1; i < len; i++)
                if (!p[i]) {
                        len = i;
                        break;
                }
        *cols = c == '\\' || c < 0x80 ? len : 1;
        return len;
}

static void text_newline_indent(Sink *s)
{
        sink_buf_put(s, "\n", 1);
        sink_buf_spaces(s, TEXT_VALUE_COLUMN);
}

/*
 * Greedy word wrap of escaped text into the value column: lines break at
 * spaces (the space is dropped there, others are kept as given); a word wider
 * than the column is cut at a unit boundary so an escape is never split.
 */
static void text_wrapped(Sink *s, const char *v)
{
        const size_t width = TEXT_WIDTH - TEXT_VALUE_COLUMN;
        size_t col = 0;
        bool first = true;
        const char *p = v;

        for (;;) {
                const char *q = p;
                size_t wcols = 0;

                while (*q && *q != ' ') {
                        size_t c;

                        q += sink_text_unit(q, &c);
                        wcols += c;
                }
                if (!first) {
                        if (col > 0 && col + 1 + wcols > width && wcols <= width) {
                                text_newline_indent(s);
                                col = 0;
                        } else {
                                sink_buf_put(s, " ", 1);
                                col++;
                        }
                }
                first = false;
                while (p < q) {
                        size_t c;
                        size_t u = sink_text_unit(p, &c);

                        if (col > 0 && col + c > width) {
                                text_newline_indent(s);
                                col = 0;
                        }
                        sink_buf_put(s, p, u);
                        col += c;
                        p += u;
                }
                if (!*p)
                        return;
                p++; /* the separating space */
        }
}

static void text_label(Sink *s, const char *label, bool color)
{
        size_t n = strlen(label);

        sink_buf_spaces(s, TEXT_LABEL_INDENT);
        if (color)
                sink_buf_puts(s, ANSI_BOLD);
        sink_buf_put(s, label, n);
        if (color)
                sink_buf_puts(s, ANSI_RESET);
        sink_buf_spaces(s, TEXT_VALUE_COLUMN - TEXT_LABEL_INDENT - n);
}

/* A labelled line whose value is untrusted: escaped, then wrapped. Skipped when empty. */
static void text_field(Sink *s, const char *label, const char *value, bool color)
{
        char esc[ESCAPED_MAX];

        if (!value[0])
                return;
        escape_text(value, esc, sizeof esc);
        text_label(s, label, color);
        text_wrapped(s, esc);
        sink_buf_put(s, "\n", 1);
}

/* Appends escaped untrusted text without wrapping (headline parts). */
static void text_escaped(Sink *s, const char *value)
{
        char esc[ESCAPED_MAX];
        size_t n = escape_text(value, esc, sizeof esc);

        sink_buf_put(s, esc, n);
}

static const char *severity_color(Severity sev)
{
        switch (sev) {
        case SEV_CRITICAL:
                return "\033[1;37;41m";
        case SEV_ERROR:
                return "\033[1;31m";
        case SEV_WARNING:
                return "\033[1;33m";
        case SEV_NOTICE:
                return "\033[1;36m";
        case SEV_INFO:
        default:
                return "\033[1;32m";
        }
}

/* warning  wrong-password  alice@example.test  192.0.2.10:5060 → 192.0.2.1:5060 udp */
static void text_headline(Sink *s, const Diagnosis *d, bool color)
{
        char tmp[FIELD_MAX + 1];

        if (color)
                sink_buf_puts(s, severity_color(d->severity));
        sink_buf_puts(s, severity_name(d->severity));
        sink_buf_puts(s, color ? ANSI_RESET "  " ANSI_BOLD : "  ");
        sink_buf_puts(s, diag_code_name(d->code));
        if (color)
                sink_buf_puts(s, ANSI_RESET);

        if (d->user[0] || d->realm[0]) {
                sink_buf_puts(s, "  ");
                text_escaped(s, d->user[0] ? FIELD(d, user, tmp) : "?");
                if (d->realm[0]) {
                        sink_buf_put(s, "@", 1);
                        text_escaped(s, FIELD(d, realm, tmp));
                }
        }
        if (d->client[0] || d->server[0]) {
                sink_buf_puts(s, "  ");
                text_escaped(s, d->client[0] ? FIELD(d, client, tmp) : "?");
                sink_buf_puts(s, " \xe2\x86\x92 "); /* → */
                text_escaped(s, d->server[0] ? FIELD(d, server, tmp) : "?");
        }
        if (d->transport[0]) {
                sink_buf_put(s, " ", 1);
                text_escaped(s, FIELD(d, transport, tmp));
        }
        sink_buf_put(s, "\n", 1);
}

/* "3 between 2026-11-26T12:00:00.123Z and 2026-11-26T12:00:04.567Z (4.444 s)" */
static void text_attempts(Sink *s, const Diagnosis *d, bool color)
{
        char line[160];
        char a[40];
        char b[40];
        int n = 0;

        line[0] = '\0';
        if (d->attempts > 0)
                n = snprintf(line, sizeof line, "%u", d->attempts);
        if (time_known(d->first_seen_us) && time_known(d->last_seen_us) &&
            d->last_seen_us > d->first_seen_us) {
                int64_t ms = (d->last_seen_us - d->first_seen_us) / 1000;

                snprintf(
                    line + n, sizeof line - (size_t)n, "%sbetween %s and %s (%" PRId64 ".%03d s)",
                    n ? " " : "", format_rfc3339_ms(d->first_seen_us, a, sizeof a),
                    format_rfc3339_ms(d->last_seen_us, b, sizeof b), ms / 1000, (int)(ms % 1000));
        } else if (time_known(d->last_seen_us) || time_known(d->first_seen_us)) {
                int64_t t = time_known(d->last_seen_us) ? d->last_seen_us : d->first_seen_us;

                snprintf(line + n, sizeof line - (size_t)n, "%sat %s", n ? " " : "",
                         format_rfc3339_ms(t, a, sizeof a));
        }
        text_field(s, "attempts", line, color);
}

/* "REGISTER, Call-ID abc@host" */
static void text_request(Sink *s, const Diagnosis *d, bool color)
{
        char tmp[FIELD_MAX + 1];
        char line[sizeof d->method + sizeof d->call_id + 16];
        size_t n = 0;

        /* Both pieces are bounded copies; text_field() escapes the result. */
        if (d->method[0]) {
                const char *method = FIELD(d, method, tmp);

                n = strlen(method);
                memcpy(line, method, n);
        }
        if (d->call_id[0]) {
                const char *cid = FIELD(d, call_id, tmp);
                size_t cl = strlen(cid);

                if (n) {
                        memcpy(line + n, ", ", 2);
                        n += 2;
                }
                memcpy(line + n, "Call-ID ", 8);
                n += 8;
                memcpy(line + n, cid, cl);
                n += cl;
        }
        line[n] = '\0';
        text_field(s, "request", line, color);
}

void sink_format_text(Sink *s, const Diagnosis *d, bool color)
{
        char tmp[FIELD_MAX + 1];

        text_headline(s, d, color);
        text_field(s, "message", FIELD(d, message, tmp), color);
        text_attempts(s, d, color);
        text_request(s, d, color);
        text_field(s, "client UA", FIELD(d, user_agent, tmp), color);
        text_field(s, "server UA", FIELD(d, server_agent, tmp), color);
        text_field(s, "algorithm", FIELD(d, algorithm, tmp), color);
        text_field(s, "evidence", FIELD(d, evidence, tmp), color);
        if (s->ladder)
                ladder_format(s, d, color);
        text_field(s, "remedy", FIELD(d, remedy, tmp), color);
        sink_buf_put(s, "\n", 1); /* blank line between records */
}
