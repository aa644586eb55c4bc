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
 *
 * This file: the handle, that buffer and the entry points; one file per
 * format (sink_text.c, sink_json.c, sink_journal.c) behind sink_internal.h.
 */
#include "sink.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink_internal.h"

/* Bytes kept after a write that could not complete (EAGAIN) before dropping them. */
#define PENDING_MAX (1024 * 1024)
/* How long a write to a full, non-blocking fd may wait for room. */
#define WRITE_POLL_MS 1000

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

void sink_set_ladder(Sink *s, bool on)
{
        if (s)
                s->ladder = on && s->kind == SINK_TEXT;
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

void sink_buf_put(Sink *s, const char *p, size_t n)
{
        if (!buf_reserve(s, n))
                return;
        memcpy(s->buf + s->len, p, n);
        s->len += n;
}

void sink_buf_puts(Sink *s, const char *p)
{
        sink_buf_put(s, p, strlen(p));
}

void sink_buf_spaces(Sink *s, size_t n)
{
        if (!buf_reserve(s, n))
                return;
        memset(s->buf + s->len, ' ', n);
        s->len += n;
}

/* Ends building a record: on error the half-built one (from mark on) is dropped. */
int sink_buf_end_record(Sink *s, size_t mark)
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
int sink_buf_flush_to(Sink *s, int fd)
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
                return sink_buf_flush_to(s, STDERR_FILENO);
        return sink_buf_flush_to(s, s->fd);
}

/* ---- field helpers ------------------------------------------------------ */

const char *sink_field_str(const char *f, size_t cap, char *tmp)
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

/* ---- entry point -------------------------------------------------------- */

int sink_emit(Sink *s, const Diagnosis *d)
{
        size_t mark;
        int r;

        if (!s || !d)
                return -EINVAL;
        if (s->kind == SINK_JOURNAL)
                return sink_emit_journal(s, d);

        mark = s->len;
        if (s->kind == SINK_JSON)
                sink_format_json(s, d);
        else
                sink_format_text(s, d, s->color);
        r = sink_buf_end_record(s, mark);
        if (r < 0)
                return r;
        return sink_buf_flush_to(s, s->fd);
}
