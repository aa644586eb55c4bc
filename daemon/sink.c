/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sinks: a Diagnosis record in, one text block, one JSON line or one journal
 * entry out (DESIGN.md "Output schema").
 *
 * A sink reads nothing but the Diagnosis it is handed; everything in it is
 * untrusted wire data or text built from it, so
 *   - text output passes every string through escape_text() (no terminal
 *     escapes, no forged lines), with colour only when asked for;
 *   - JSON output repairs invalid UTF-8 (U+FFFD) before json-c serialises,
 *     because json-c 0.16 copies bytes >= 0x80 through unchecked, and every
 *     line must be valid UTF-8 JSON;
 *   - journal fields are escaped like text, so that each field is one
 *     printable line (journalctl shows fields with control bytes as blobs).
 *
 * Output to a file descriptor is assembled in a buffer and written with a
 * full-write loop once per record, so a record is never interleaved with other
 * output and a reader sees complete lines as soon as they are diagnosed.
 */
#define SD_JOURNAL_SUPPRESS_LOCATION 1 /* CODE_FILE=sink.c would tell nobody anything */

#include "sink.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-journal.h>

#include "escape.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Text layout: "  label      value", values wrapped with a hanging indent. */
#define TEXT_WIDTH        100
#define TEXT_LABEL_INDENT 2
#define TEXT_LABEL_WIDTH  10
#define TEXT_VALUE_COLUMN (TEXT_LABEL_INDENT + TEXT_LABEL_WIDTH + 1)

/* The largest Diagnosis string field; bounded copies and escapes are sized by it. */
#define FIELD_MAX sizeof(((Diagnosis *)0)->evidence)
/* escape_text() writes at most 4 bytes per input byte ("\xHH"). */
#define ESCAPED_MAX (4 * FIELD_MAX + 1)
/* Bytes kept after a write that could not complete (EAGAIN) before dropping them. */
#define PENDING_MAX (1024 * 1024)
/* How long a write to a full, non-blocking fd may wait for room. */
#define WRITE_POLL_MS 1000

#define ANSI_RESET "\033[0m"
#define ANSI_BOLD  "\033[1m"

struct Sink {
        SinkKind kind;
        int fd;
        bool color;
        /* journal: the one warning about falling back to stderr was printed. */
        bool fallback_warned;
        char *buf;
        size_t len;
        size_t cap;
        /* First error while building the current record (sticky, -ENOMEM). */
        int err;
};

static const char *const sink_names[] = {
    [SINK_TEXT] = "text",
    [SINK_JSON] = "json",
    [SINK_JOURNAL] = "journal",
};

bool sink_kind_from_name(const char *s, SinkKind *out)
{
        if (!s)
                return false;
        for (size_t i = 0; i < sizeof sink_names / sizeof sink_names[0]; i++)
                if (strcmp(s, sink_names[i]) == 0) {
                        *out = (SinkKind)i;
                        return true;
                }
        return false;
}

const char *sink_kind_name(SinkKind k)
{
        return (unsigned)k < sizeof sink_names / sizeof sink_names[0] ? sink_names[k] : "unknown";
}

static bool journal_socket_present(void)
{
        struct stat st;

        return stat(JOURNAL_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode);
}

Sink *sink_new(SinkKind kind, int fd, bool color)
{
        Sink *s;

        if ((unsigned)kind > SINK_JOURNAL || (kind != SINK_JOURNAL && fd < 0)) {
                errno = EINVAL;
                return NULL;
        }
        s = calloc(1, sizeof *s);
        if (!s)
                return NULL;
        s->kind = kind;
        s->fd = fd;
        /* journal: whether journald listens is checked per entry, not here, so
         * that a journald that starts or goes away later is noticed. */
        s->color = color && kind == SINK_TEXT;
        return s;
}

Sink *sink_free(Sink *s)
{
        if (!s)
                return NULL;
        (void)sink_flush(s);
        free(s->buf);
        free(s);
        return NULL;
}

/* ---- buffered writer -------------------------------------------------- */

/*
 * Appending never fails visibly: the first allocation failure is remembered
 * in s->err and the record is dropped when it is complete. This keeps the
 * formatters free of error plumbing on every line.
 */
static bool buf_reserve(Sink *s, size_t extra)
{
        size_t need;
        size_t cap;
        char *p;

        if (s->err < 0)
                return false;
        if (extra > SIZE_MAX - s->len)
                goto oom;
        need = s->len + extra;
        if (need <= s->cap)
                return true;
        cap = s->cap ? s->cap : 4096;
        while (cap < need) {
                if (cap > SIZE_MAX / 2)
                        goto oom;
                cap *= 2;
        }
        p = realloc(s->buf, cap);
        if (!p)
                goto oom;
        s->buf = p;
        s->cap = cap;
        return true;
oom:
        s->err = -ENOMEM;
        return false;
}

static void buf_put(Sink *s, const char *p, size_t n)
{
        if (!buf_reserve(s, n))
                return;
        memcpy(s->buf + s->len, p, n);
        s->len += n;
}

static void buf_puts(Sink *s, const char *p)
{
        buf_put(s, p, strlen(p));
}

static void buf_spaces(Sink *s, size_t n)
{
        if (!buf_reserve(s, n))
                return;
        memset(s->buf + s->len, ' ', n);
        s->len += n;
}

/* Ends building a record: on error the half-built one (from mark on) is dropped. */
static int buf_end_record(Sink *s, size_t mark)
{
        int r = s->err;

        if (r < 0) {
                s->len = mark;
                s->err = 0;
        }
        return r;
}

/*
 * Writes all of p[0..n) to fd; *done counts what went out. EINTR is retried;
 * a non-blocking fd that is full is given WRITE_POLL_MS to drain, never more.
 */
static int write_full(int fd, const char *p, size_t n, size_t *done)
{
        *done = 0;
        while (*done < n) {
                ssize_t k = write(fd, p + *done, n - *done);

                if (k > 0) {
                        *done += (size_t)k;
                        continue;
                }
                if (k == 0)
                        return -EIO;
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                        int pr = poll(&pfd, 1, WRITE_POLL_MS);

                        if (pr > 0 || (pr < 0 && errno == EINTR))
                                continue;
                        return -EAGAIN;
                }
                return -errno;
        }
        return 0;
}

/*
 * Sends the buffer to fd. What could not be written because the fd stayed
 * full is kept for the next call (up to PENDING_MAX); after any other error
 * the bytes are dropped: a closed pipe will not come back.
 */
static int buf_flush_to(Sink *s, int fd)
{
        size_t done = 0;
        int r;

        if (s->len == 0)
                return 0;
        r = write_full(fd, s->buf, s->len, &done);
        if (r == -EAGAIN && s->len - done <= PENDING_MAX) {
                memmove(s->buf, s->buf + done, s->len - done);
                s->len -= done;
                return r;
        }
        s->len = 0;
        return r;
}

int sink_flush(Sink *s)
{
        if (!s)
                return -EINVAL;
        if (s->kind == SINK_JOURNAL)
                return buf_flush_to(s, STDERR_FILENO);
        return buf_flush_to(s, s->fd);
}

/* ---- field helpers ------------------------------------------------------ */

/*
 * The Diagnosis contract says every field is NUL-terminated; if one ever is
 * not, use a terminated copy instead of reading past it. tmp holds FIELD_MAX+1.
 */
static const char *field_str(const char *f, size_t cap, char *tmp)
{
        size_t n = strnlen(f, cap);

        if (n < cap)
                return f;
        if (n > FIELD_MAX)
                n = FIELD_MAX;
        memcpy(tmp, f, n);
        tmp[n] = '\0';
        return tmp;
}

#define FIELD(d, name, tmp) field_str((d)->name, sizeof((d)->name), (tmp))

/* RFC 3629 §3: length of the well-formed UTF-8 sequence at s, 0 when it is not one. */
static size_t utf8_valid_len(const unsigned char *s)
{
        uint32_t cp;

        return utf8_sequence(s, &cp);
}

/*
 * Copies in to out replacing each byte that is not part of well-formed UTF-8
 * with U+FFFD, so the JSON line stays valid UTF-8. out holds 3 * strlen(in) + 1.
 */
static void utf8_repair(const char *in, char *out)
{
        const unsigned char *s = (const unsigned char *)in;
        size_t o = 0;

        while (*s) {
                size_t len = utf8_valid_len(s);

                if (len == 0) {
                        memcpy(out + o, "\xef\xbf\xbd", 3);
                        o += 3;
                        s++;
                        continue;
                }
                memcpy(out + o, s, len);
                o += len;
                s += len;
        }
        out[o] = '\0';
}

static bool time_known(int64_t us)
{
        return us > 0;
}

/* ---- JSON --------------------------------------------------------------- */

static void json_add(Sink *s, json_object *o, const char *key, json_object *v)
{
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                s->err = -ENOMEM;
        }
}

static void json_add_string(Sink *s, json_object *o, const char *key, const char *value)
{
        char fixed[3 * FIELD_MAX + 1];

        if (!value[0] || s->err < 0)
                return; /* unknown: the key is left out */
        utf8_repair(value, fixed);
        json_add(s, o, key, json_object_new_string(fixed));
}

static void json_add_time(Sink *s, json_object *o, const char *key, int64_t us)
{
        char t[40];

        if (time_known(us))
                json_add_string(s, o, key, format_rfc3339_ms(us, t, sizeof t));
}

/*
 * json-c escapes C0 controls but passes DEL, the C1 controls (U+0080..009F)
 * and the bidirectional controls (U+061C, U+200E/F, U+202A..202E,
 * U+2066..2069) through raw; `jq -r` then prints them to a terminal, where
 * they can move the cursor or reorder what an operator reads (issue 13).
 * They can only stand inside strings (keys are ours, ASCII), so writing
 * each as its \u escape changes no value.
 */
static void json_put_controls_escaped(Sink *s, const char *line)
{
        const unsigned char *p = (const unsigned char *)line, *run = p;
        char esc[8];

        for (; *p; p++) {
                unsigned cp = 0, len = 0;

                if (p[0] == 0x7f)
                        cp = 0x7f, len = 1;
                else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
                        cp = p[1], len = 2;
                else if (p[0] == 0xd8 && p[1] == 0x9c)
                        cp = 0x061c, len = 2;
                else if (p[0] == 0xe2 && p[1] == 0x80 &&
                         (p[2] == 0x8e || p[2] == 0x8f || (p[2] >= 0xaa && p[2] <= 0xae)))
                        cp = 0x2000 | (p[2] & 0x3f), len = 3;
                else if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)
                        cp = 0x2040 | (p[2] & 0x3f), len = 3;
                if (!len)
                        continue;
                buf_put(s, (const char *)run, (size_t)(p - run));
                snprintf(esc, sizeof esc, "\\u%04x", cp);
                buf_puts(s, esc);
                p += len - 1;
                run = p + 1;
        }
        buf_put(s, (const char *)run, (size_t)(p - run));
}

/* account-scan: "accounts": [{"user": ..., "exists": true|false}] (DESIGN.md). */
static void json_add_accounts(Sink *s, json_object *o, const Diagnosis *d)
{
        json_object *a;

        if (d->n_accounts == 0 || s->err < 0)
                return;
        a = json_object_new_array();
        if (!a) {
                s->err = -ENOMEM;
                return;
        }
        for (unsigned i = 0; i < d->n_accounts && i < DIAG_ACCOUNTS_MAX; i++) {
                char user[sizeof d->accounts[0].user], fixed[3 * sizeof user + 1];
                json_object *e = json_object_new_object();

                if (!e) {
                        s->err = -ENOMEM;
                        break;
                }
                memcpy(user, d->accounts[i].user, sizeof user);
                user[sizeof user - 1] = '\0';
                utf8_repair(user, fixed);
                json_object_object_add(e, "user", json_object_new_string(fixed));
                json_object_object_add(e, "exists", json_object_new_boolean(d->accounts[i].exists));
                json_object_array_add(a, e);
        }
        json_add(s, o, "accounts", a);
}

/* client_ip/client_port or server_ip/server_port: the structured endpoint, when known. */
static void json_add_endpoint(Sink *s, json_object *o, const char *ip_key, const char *port_key,
                              const Endpoint *e)
{
        char ip[ENDPOINT_STRLEN];

        if ((e->family != 4 && e->family != 6) || s->err < 0)
                return;
        json_add_string(s, o, ip_key, endpoint_format_addr(e, ip, sizeof ip));
        if (s->err == 0)
                json_add(s, o, port_key, json_object_new_int((int)e->port));
}

/*
 * DESIGN.md "Output schema": exactly these keys, in this order, absent when
 * unknown (contrib/schema/sipauthmon-record.schema.json lists them the same way).
 */
static void format_json(Sink *s, const Diagnosis *d)
{
        char tmp[FIELD_MAX + 1];
        json_object *o = json_object_new_object();
        const char *line;

        if (!o) {
                s->err = -ENOMEM;
                return;
        }
        json_add_string(s, o, "diagnosis", diag_code_name(d->code));
        json_add_string(s, o, "severity", severity_name(d->severity));
        json_add_string(s, o, "message_id", diag_code_message_id(d->code));
        json_add_string(s, o, "message", FIELD(d, message, tmp));
        json_add_string(s, o, "user", FIELD(d, user, tmp));
        json_add_string(s, o, "realm", FIELD(d, realm, tmp));
        json_add_string(s, o, "client", FIELD(d, client, tmp));
        json_add_endpoint(s, o, "client_ip", "client_port", &d->client_ep);
        json_add_string(s, o, "server", FIELD(d, server, tmp));
        json_add_endpoint(s, o, "server_ip", "server_port", &d->server_ep);
        json_add_string(s, o, "transport", FIELD(d, transport, tmp));
        json_add_string(s, o, "method", FIELD(d, method, tmp));
        json_add_string(s, o, "call_id", FIELD(d, call_id, tmp));
        if (d->attempts > 0 && s->err == 0)
                json_add(s, o, "attempts", json_object_new_int64((int64_t)d->attempts));
        json_add_time(s, o, "first_seen", d->first_seen_us);
        json_add_time(s, o, "last_seen", d->last_seen_us);
        json_add_string(s, o, "user_agent", FIELD(d, user_agent, tmp));
        json_add_string(s, o, "server_agent", FIELD(d, server_agent, tmp));
        json_add_string(s, o, "algorithm", FIELD(d, algorithm, tmp));
        json_add_string(s, o, "evidence", FIELD(d, evidence, tmp));
        json_add_string(s, o, "remedy", FIELD(d, remedy, tmp));
        if (d->source_verified != SOURCE_VERIFIED_NA && s->err == 0)
                json_add(s, o, "source_verified",
                         json_object_new_boolean(d->source_verified == SOURCE_VERIFIED_YES));
        json_add_accounts(s, o, d);

        if (s->err == 0) {
                line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE);
                if (line) {
                        json_put_controls_escaped(s, line);
                        buf_put(s, "\n", 1);
                } else {
                        s->err = -ENOMEM;
                }
        }
        json_object_put(o);
}

char *sink_json_line(const Diagnosis *d, size_t *len)
{
        Sink s = {.kind = SINK_JSON, .fd = -1};

        if (!d || !len) {
                errno = EINVAL;
                return NULL;
        }
        format_json(&s, d);
        if (s.err < 0 || s.len == 0 || s.buf[s.len - 1] != '\n') {
                free(s.buf);
                errno = ENOMEM;
                return NULL;
        }
        s.buf[--s.len] = '\0'; /* the newline becomes the terminator */
        *len = s.len;
        return s.buf;
}

/* ---- text --------------------------------------------------------------- */

/*
 * One display unit of escaped text at p (which escape_text() made: every
 * backslash starts "\\c" or "\\xHH", everything else is valid UTF-8). Returns
 * its byte length; *cols gets the columns it takes (wide glyphs count as one).
 */
static size_t text_unit(const char *p, size_t *cols)
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
        buf_put(s, "\n", 1);
        buf_spaces(s, TEXT_VALUE_COLUMN);
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

                        q += text_unit(q, &c);
                        wcols += c;
                }
                if (!first) {
                        if (col > 0 && col + 1 + wcols > width && wcols <= width) {
                                text_newline_indent(s);
                                col = 0;
                        } else {
                                buf_put(s, " ", 1);
                                col++;
                        }
                }
                first = false;
                while (p < q) {
                        size_t c;
                        size_t u = text_unit(p, &c);

                        if (col > 0 && col + c > width) {
                                text_newline_indent(s);
                                col = 0;
                        }
                        buf_put(s, p, u);
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

        buf_spaces(s, TEXT_LABEL_INDENT);
        if (color)
                buf_puts(s, ANSI_BOLD);
        buf_put(s, label, n);
        if (color)
                buf_puts(s, ANSI_RESET);
        buf_spaces(s, TEXT_VALUE_COLUMN - TEXT_LABEL_INDENT - n);
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
        buf_put(s, "\n", 1);
}

/* Appends escaped untrusted text without wrapping (headline parts). */
static void text_escaped(Sink *s, const char *value)
{
        char esc[ESCAPED_MAX];
        size_t n = escape_text(value, esc, sizeof esc);

        buf_put(s, esc, n);
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
                buf_puts(s, severity_color(d->severity));
        buf_puts(s, severity_name(d->severity));
        buf_puts(s, color ? ANSI_RESET "  " ANSI_BOLD : "  ");
        buf_puts(s, diag_code_name(d->code));
        if (color)
                buf_puts(s, ANSI_RESET);

        if (d->user[0] || d->realm[0]) {
                buf_puts(s, "  ");
                text_escaped(s, d->user[0] ? FIELD(d, user, tmp) : "?");
                if (d->realm[0]) {
                        buf_put(s, "@", 1);
                        text_escaped(s, FIELD(d, realm, tmp));
                }
        }
        if (d->client[0] || d->server[0]) {
                buf_puts(s, "  ");
                text_escaped(s, d->client[0] ? FIELD(d, client, tmp) : "?");
                buf_puts(s, " \xe2\x86\x92 "); /* → */
                text_escaped(s, d->server[0] ? FIELD(d, server, tmp) : "?");
        }
        if (d->transport[0]) {
                buf_put(s, " ", 1);
                text_escaped(s, FIELD(d, transport, tmp));
        }
        buf_put(s, "\n", 1);
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

static void format_text(Sink *s, const Diagnosis *d, bool color)
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
        text_field(s, "remedy", FIELD(d, remedy, tmp), color);
        buf_put(s, "\n", 1); /* blank line between records */
}

/* ---- journal ------------------------------------------------------------ */

#define JOURNAL_FIELDS_MAX 24

/* Each field is "NAME=" + escaped value: one printable line, never a format string. */
typedef struct {
        struct iovec iov[JOURNAL_FIELDS_MAX];
        int n;
        char *area; /* JOURNAL_FIELDS_MAX slots of JOURNAL_SLOT bytes */
} JournalEntry;

#define JOURNAL_SLOT (32 + ESCAPED_MAX)

static void journal_add(JournalEntry *e, const char *name, const char *value)
{
        size_t nl = strlen(name);
        char *slot;
        size_t vl;

        if (!value[0] || e->n >= JOURNAL_FIELDS_MAX || nl >= 31)
                return;
        slot = e->area + (size_t)e->n * JOURNAL_SLOT;
        memcpy(slot, name, nl);
        slot[nl] = '=';
        vl = escape_text(value, slot + nl + 1, JOURNAL_SLOT - nl - 1);
        e->iov[e->n].iov_base = slot;
        e->iov[e->n].iov_len = nl + 1 + vl;
        e->n++;
}

/*
 * journald is unreachable: the record goes to stderr as text (no colour),
 * announced by exactly one warning line for the life of the sink.
 */
static int journal_fallback(Sink *s, const Diagnosis *d, const char *why)
{
        size_t mark = s->len;
        int r;

        if (!s->fallback_warned) {
                buf_puts(s, "sipauthmon: warning: journald is not available (");
                buf_puts(s, why);
                buf_puts(s, "); writing diagnoses to stderr as text\n");
        }
        format_text(s, d, false);
        r = buf_end_record(s, mark);
        if (r < 0)
                return r;
        s->fallback_warned = true;
        return buf_flush_to(s, STDERR_FILENO);
}

static int emit_journal(Sink *s, const Diagnosis *d)
{
        char tmp[FIELD_MAX + 1];
        char num[24];
        char t1[40];
        char t2[40];
        JournalEntry e = {.n = 0};
        const char *message = FIELD(d, message, tmp);
        int r;

        /* With nobody listening, sd_journal_sendv() returns 0 and drops the entry. */
        if (!journal_socket_present())
                return journal_fallback(s, d, JOURNAL_SOCKET " is missing");

        e.area = malloc((size_t)JOURNAL_FIELDS_MAX * JOURNAL_SLOT);
        if (!e.area)
                return -ENOMEM;

        journal_add(&e, "MESSAGE", message[0] ? message : diag_code_name(d->code));
        journal_add(&e, "MESSAGE_ID", diag_code_message_id(d->code));
        snprintf(num, sizeof num, "%d", severity_syslog_priority(d->severity));
        journal_add(&e, "PRIORITY", num);
        journal_add(&e, "SYSLOG_IDENTIFIER", "sipauthmon");
        journal_add(&e, "SIP_DIAGNOSIS", diag_code_name(d->code));
        journal_add(&e, "SIP_USER", FIELD(d, user, tmp));
        journal_add(&e, "SIP_REALM", FIELD(d, realm, tmp));
        journal_add(&e, "SIP_CLIENT", FIELD(d, client, tmp));
        journal_add(&e, "SIP_SERVER", FIELD(d, server, tmp));
        journal_add(&e, "SIP_TRANSPORT", FIELD(d, transport, tmp));
        /* fail2ban matches only "yes" (contrib/fail2ban, sipauthmon(8) VERIFIED SOURCES). */
        if (d->source_verified != SOURCE_VERIFIED_NA)
                journal_add(&e, "SIP_SOURCE_VERIFIED",
                            d->source_verified == SOURCE_VERIFIED_YES ? "yes" : "no");
        journal_add(&e, "SIP_METHOD", FIELD(d, method, tmp));
        journal_add(&e, "SIP_CALL_ID", FIELD(d, call_id, tmp));
        if (d->attempts > 0) {
                snprintf(num, sizeof num, "%u", d->attempts);
                journal_add(&e, "SIP_ATTEMPTS", num);
        }
        if (time_known(d->first_seen_us))
                journal_add(&e, "SIP_FIRST_SEEN",
                            format_rfc3339_ms(d->first_seen_us, t1, sizeof t1));
        if (time_known(d->last_seen_us))
                journal_add(&e, "SIP_LAST_SEEN", format_rfc3339_ms(d->last_seen_us, t2, sizeof t2));
        journal_add(&e, "SIP_USER_AGENT", FIELD(d, user_agent, tmp));
        journal_add(&e, "SIP_SERVER_AGENT", FIELD(d, server_agent, tmp));
        journal_add(&e, "SIP_ALGORITHM", FIELD(d, algorithm, tmp));
        journal_add(&e, "SIP_EVIDENCE", FIELD(d, evidence, tmp));
        journal_add(&e, "SIP_REMEDY", FIELD(d, remedy, tmp));

        r = sd_journal_sendv(e.iov, e.n);
        free(e.area);
        if (r < 0) {
                char why[96];

                snprintf(why, sizeof why, "sending failed: %s", strerror(-r));
                return journal_fallback(s, d, why);
        }
        return 0;
}

/* ---- entry point -------------------------------------------------------- */

int sink_emit(Sink *s, const Diagnosis *d)
{
        size_t mark;
        int r;

        if (!s || !d)
                return -EINVAL;
        if (s->kind == SINK_JOURNAL)
                return emit_journal(s, d);

        mark = s->len;
        if (s->kind == SINK_JSON)
                format_json(s, d);
        else
                format_text(s, d, s->color);
        r = buf_end_record(s, mark);
        if (r < 0)
                return r;
        return buf_flush_to(s, s->fd);
}
