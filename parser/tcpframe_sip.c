/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SIP over TCP framing (RFC 3261 §18.3): messages back to back, each a start
 * line, headers up to the empty line, and a body of Content-Length bytes.
 * The framer of TCP_FRAMING_SIP behind parser/tcpframer.h:
 *
 *   [skip a body over max_body] [resync on a start line] [CRLF keep-alives]
 *   headers up to CRLFCRLF, Content-Length, body -> one message
 *
 * Only Content-Length is read; the pipeline parses the message itself.
 */
#include "tcpframer.h"

#include <string.h>
#include <strings.h>

#include "sipmsg.h"

/*
 * RFC 3261 §20.14 / §7.3.3: Content-Length, compact form "l", names
 * case-insensitive, value 1*DIGIT. Returns the value, -1 when unparsable or
 * two values disagree, -2 when absent.
 */
static int64_t content_length(const uint8_t *h, size_t n)
{
        int64_t found = -2;
        size_t pos = 0;

        /* Skip the start line. */
        while (pos < n && h[pos] != '\n')
                pos++;
        while (pos < n) {
                size_t ls = ++pos, le, name_end, v;
                uint64_t val = 0;
                unsigned digits = 0;

                while (pos < n && h[pos] != '\n')
                        pos++;
                le = pos;
                if (le > ls && h[le - 1] == '\r')
                        le--;
                name_end = ls;
                while (name_end < le && h[name_end] != ':')
                        name_end++;
                if (name_end == le)
                        continue;
                v = name_end + 1;
                while (name_end > ls && (h[name_end - 1] == ' ' || h[name_end - 1] == '\t'))
                        name_end--;
                if (!((name_end - ls == 14 &&
                       strncasecmp((const char *)h + ls, "content-length", 14) == 0) ||
                      (name_end - ls == 1 && (h[ls] == 'l' || h[ls] == 'L'))))
                        continue;
                while (v < le && (h[v] == ' ' || h[v] == '\t'))
                        v++;
                while (v < le && h[v] >= '0' && h[v] <= '9') {
                        if (++digits > 10)
                                return -1;
                        val = val * 10 + (uint64_t)(h[v] - '0');
                        v++;
                }
                while (v < le && (h[v] == ' ' || h[v] == '\t'))
                        v++;
                if (digits == 0 || v != le || val > UINT32_MAX)
                        return -1;
                if (found >= 0 && found != (int64_t)val)
                        return -1;
                found = (int64_t)val;
        }
        return found;
}

/* End of the header block (just past the empty line) searching from `from`, or 0. */
static size_t header_end(const uint8_t *p, size_t n, size_t from)
{
        for (size_t i = from; i < n; i++) {
                const uint8_t *nl = memchr(p + i, '\n', n - i);

                if (!nl)
                        return 0;
                i = (size_t)(nl - p);
                if (i + 1 < n && p[i + 1] == '\n')
                        return i + 2;
                if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
                        return i + 3;
        }
        return 0;
}

/*
 * Resynchronisation (RFC 3261 §7.1, §7.2 start lines): where in the line
 * p[ls..le) a SIP message starts, or SIZE_MAX. Usually at ls; but a body
 * without a final CRLF runs straight into the next start line
 * ("...a=sendrecvINVITE sip:..."), and a method is any token, so a known
 * method or "SIP/2.0 " is also looked for inside the line.
 */
static size_t find_start_line(const uint8_t *p, size_t ls, size_t le)
{
        static const char *const starts[] = {
            "SIP/2.0 ", "REGISTER ", "INVITE ",  "ACK ",    "BYE ",
            "CANCEL ",  "OPTIONS ",  "PRACK ",   "UPDATE ", "SUBSCRIBE ",
            "NOTIFY ",  "PUBLISH ",  "MESSAGE ", "INFO ",   "REFER ",
        };
        size_t best = SIZE_MAX;
        bool at_start = sipmsg_looks_like_sip(p + ls, le - ls);

        for (size_t k = 0; at_start && k < sizeof starts / sizeof starts[0]; k++)
                if (le - ls >= strlen(starts[k]) &&
                    memcmp(p + ls, starts[k], strlen(starts[k])) == 0)
                        return ls; /* a known method or a status line */
        for (size_t k = 0; k < sizeof starts / sizeof starts[0]; k++) {
                size_t tl = strlen(starts[k]);

                for (size_t q = ls + 1; q + tl <= le && q < best; q++) {
                        const uint8_t *hit = memmem(p + q, le - q, starts[k], tl);

                        if (!hit || (size_t)(hit - p) >= best)
                                break;
                        q = (size_t)(hit - p);
                        if (sipmsg_looks_like_sip(p + q, le - q)) {
                                best = q;
                                break;
                        }
                }
        }
        /* An extension method (RFC 3261 §27.4) where nothing better is inside. */
        return best == SIZE_MAX && at_start ? ls : best;
}

/* Lose the partial message and look for the next start line. */
void tcpframe_sip_desync(SipFramer *f, TcpStreamStats *st)
{
        st->resyncs++;
        f->synced = false;
        f->skip = 0;
        f->scanned = f->need = 0;
        f->start_read = false;
}

bool tcpframe_sip_rebase(SipFramer *f, bool more)
{
        /* What was scanned of a message cut at the end of the old head is
         * scanned again; its length is recomputed from the new start. */
        f->scanned = 0;
        if (!more || !f->synced)
                return false;
        f->need = 0;
        return true;
}

/*
 * Resynchronisation: skip to the next complete line that is a SIP start
 * line. False while there is none yet (what cannot hold one is consumed).
 */
static bool resync(SipFramer *f, const TcpStreamConfig *cfg, TcpStreamStats *st, const uint8_t *p,
                   size_t n, size_t *off)
{
        size_t pos = *off;
        bool found = false;

        for (;;) {
                const uint8_t *nl = memchr(p + pos, '\n', n - pos);
                size_t at;

                if (!nl)
                        break;
                at = find_start_line(p, pos, (size_t)(nl - p) + 1);
                if (at != SIZE_MAX) {
                        pos = at;
                        found = true;
                        break;
                }
                pos = (size_t)(nl - p) + 1;
        }
        if (!found && n - pos > cfg->max_header)
                pos = n; /* no start line is that long */
        st->skipped_bytes += pos - *off;
        *off = pos;
        if (found) {
                f->synced = true;
                f->scanned = 0;
        }
        return found;
}

/*
 * A message starts at p: its first line must be a start line, or this is
 * not SIP (or not where we thought): desync, false. The line is read once
 * here (sipmsg_start_line()) and the result handed on with the message.
 * While the line is not whole yet the message is let through, and the
 * pipeline reads the line itself.
 */
static bool first_line(SipFramer *f, TcpStreamStats *st, const uint8_t *p, size_t n)
{
        const uint8_t *nl = memchr(p, '\n', n);

        f->start_read = false;
        if (!nl)
                return true;
        if (!sipmsg_start_line(p, (size_t)(nl - p) + 1, &f->start)) {
                tcpframe_sip_desync(f, st);
                return false;
        }
        f->start_read = true;
        return true;
}

typedef enum {
        MEASURE_MESSAGE, /* *total: the whole message is in p[*off..n) */
        MEASURE_MORE,    /* wait for more bytes */
        MEASURE_DROPPED, /* headers dropped (counted): frame on from *off */
} Measure;

/* The length of the message starting at p[*off]: headers, then Content-Length. */
static Measure measure(SipFramer *f, const TcpStreamConfig *cfg, TcpStreamStats *st,
                       const uint8_t *p, size_t n, bool from_buf, size_t *off, size_t *total)
{
        size_t from = from_buf && f->scanned > 3 ? f->scanned - 3 : 0;
        size_t he = header_end(p + *off, n - *off, from);
        int64_t cl;

        if (he == 0 || he > cfg->max_header) {
                if (n - *off > cfg->max_header || he > cfg->max_header) {
                        st->header_too_big++;
                        tcpframe_sip_desync(f, st);
                        /* Past this start line, or it would match again. */
                        const uint8_t *nl = memchr(p + *off, '\n', n - *off);
                        *off = nl ? (size_t)(nl - p) + 1 : n;
                        return MEASURE_DROPPED;
                }
                if (from_buf)
                        f->scanned = (uint32_t)(n - *off);
                return MEASURE_MORE;
        }
        cl = content_length(p + *off, he);
        if (cl == -1) {
                st->bad_content_length++;
                tcpframe_sip_desync(f, st);
                *off += he;
                return MEASURE_DROPPED;
        }
        if (cl == -2) {
                st->no_content_length++;
                cl = 0;
        }
        if (cl > (int64_t)cfg->max_body) {
                st->body_too_big++;
                f->skip = (uint64_t)cl;
                f->scanned = f->need = 0;
                *off += he;
                return MEASURE_DROPPED;
        }
        *total = he + (size_t)cl;
        if (n - *off < *total) {
                /* In a segment the length is recomputed once buffered. */
                f->need = from_buf ? (uint32_t)*total : 0;
                return MEASURE_MORE;
        }
        return MEASURE_MESSAGE;
}

/*
 * Frame at most one message out of p[0..n) (tcpframer.h has the contract).
 * The rest is the start of an incomplete message (or of a line, while
 * resynchronising) for the stream to keep.
 */
size_t tcpframe_sip(SipFramer *f, const TcpStreamConfig *cfg, TcpStreamStats *st, const uint8_t *p,
                    size_t n, bool from_buf, TcpFramed *out)
{
        size_t off = 0, total = 0;

        *out = (TcpFramed){0};
        while (off < n) {
                if (f->skip > 0) {
                        size_t k = f->skip < n - off ? (size_t)f->skip : n - off;

                        f->skip -= k;
                        off += k;
                        continue;
                }
                if (!f->synced && !resync(f, cfg, st, p, n, &off))
                        return off;
                /* RFC 5626 §3.5.1 CRLF keep-alives between messages. */
                while (off < n && (p[off] == '\r' || p[off] == '\n'))
                        off++;
                if (off == n)
                        break;
                if (f->need == 0 && f->scanned == 0 && !first_line(f, st, p + off, n - off))
                        continue;
                if (from_buf && f->need > 0) {
                        /* off is 0 here: the buffer starts with the message. */
                        if (n - off < f->need)
                                return off;
                        total = f->need;
                } else {
                        Measure m = measure(f, cfg, st, p, n, from_buf, &off, &total);

                        if (m == MEASURE_MORE)
                                return off;
                        if (m == MEASURE_DROPPED)
                                continue;
                }
                *out = (TcpFramed){p + off, total, f->start_read ? &f->start : NULL};
                f->scanned = f->need = 0;
                f->start_read = false;
                return off + total;
        }
        return off;
}
