/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SIP header scanner, allocation-free but for what sofia-sip allocates
 * for auth headers in a reused arena: the fast path of sipauthmon (see
 * sipscan.h for what it is for and what it promises).
 *
 * What "exactly as sipmsg_parse() would" means here was read off the
 * sofia-sip 1.12.11 sources and is checked by tests/unit/test_sipscan.c:
 *
 *   - header names are matched case-insensitively, compact forms included
 *     (msg_find_hclass); a line that is not `token ":"` is an error header
 *     sofia silently drops, so the scanner gives up on it;
 *   - only Content-Length and the start line are critical (a parse error
 *     makes the whole message malformed); a bad Via, From, To, Call-ID or
 *     CSeq, or a second instance of a single-valued one, is made malformed
 *     by the wrapper (check_error_headers). So every Via value, From, To,
 *     CSeq and Content-Length is validated even when only the first Via is
 *     kept, with grammars that are subsets of what sofia accepts;
 *   - values are the header text after the colon and SP/HTAB, trailing
 *     whitespace removed (extract_header); Call-ID, User-Agent and Server
 *     are that text as it is (sip_call_id_d, msg_generic_d);
 *   - CSeq and request methods use sofia's method charset (sip_method_d:
 *     unreserved), kept as sent; Via transports UDP/TCP/TLS/SCTP are
 *     canonicalised to upper case (sip_transport_d), others kept as sent;
 *   - URI user parts are canonicalised by url_d (escapes undone), so a user
 *     part with '%' is left to sofia; so is a password, a non-SIP scheme,
 *     URI headers ('?'), quoted parameters and any whitespace inside a
 *     parsed value;
 *   - msg_len and the body follow Content-Length (RFC 3261 §18.3; trailing
 *     octets of a datagram, RFC 4475 §3.1.1.8, are not part of the message);
 *     without Content-Length the rest of the data is the body;
 *   - WWW-Authenticate, Proxy-Authenticate, Authorization and
 *     Proxy-Authorization (non-critical, "append" headers: one object per
 *     line, chained in message order; a value the class refuses becomes an
 *     error header named after it) are not read here: each line's value,
 *     cut exactly as extract_header() cuts it, goes to sofia-sip's own
 *     parser for that class and is flattened by the wrapper's code
 *     (parser/sipauth.h). Only the headers nobody reads (Contact, Allow,
 *     Record-Route, ...) escape sofia.
 *
 * Line ends must be CRLF; folding (a line starting with SP/HTAB), a bare
 * CR or LF, or a NUL anywhere in the header part sends the message to
 * sofia. Every read is bounds-checked against the data length (a Cursor);
 * nothing here reads past `len` or needs a NUL.
 */
#include "sipscan.h"
#include "sipscan_internal.h"

#include <stdlib.h>

#include "sipauth.h"

/* Larger messages go to sofia's wrapper, which refuses them. */
#define SIPSCAN_MAX_LEN SIPMSG_MAX_LEN

/*
 * The SipMsg strings of one scanned message, NUL-terminated, back to back.
 * A SIP message that needs more than this for sixteen short fields is not
 * ordinary traffic: it goes to sofia.
 */
#define SIPSCAN_SCRATCH 4096

struct SipScanner {
        SipAuthArena *auth; /* the auth headers' sofia objects and strings */
        char buf[SIPSCAN_SCRATCH];
};

SipScanner *sipscan_new(void)
{
        SipScanner *s = calloc(1, sizeof(SipScanner));

        if (!s)
                return NULL;
        s->auth = sipauth_arena_new();
        if (!s->auth) {
                free(s);
                return NULL;
        }
        return s;
}

SipScanner *sipscan_free(SipScanner *s)
{
        if (s) {
                sipauth_arena_free(s->auth);
                free(s);
        }
        return NULL;
}

const char *sipscan_verdict_name(SipScanVerdict v)
{
        switch (v) {
        case SIP_SCAN_OK:
                return "ok";
        case SIP_SCAN_UNSURE:
                return "unsure";
        case SIP_SCAN__MAX:
                break;
        }
        return "unknown";
}

bool sipscan_ignorable(const uint8_t *data, size_t len)
{
        if (!data)
                return false;
        /* "SIP/2.0 1xx" then SP or the line end */
        if (len >= 12 && memcmp(data, "SIP/2.0 1", 9) == 0)
                return is(data[9], C_DIGIT) && is(data[10], C_DIGIT) &&
                       (data[11] == ' ' || data[11] == '\r');
        /* RFC 3261 §17.1.1.3: the ACK of a transaction; the tracker ignores every ACK */
        return len >= 4 && eq_lit(data, 3, "ack") && data[3] == ' ';
}

/*
 * The auth lines, in the order sipmsg_parse() flattens them: every
 * WWW-Authenticate, then Proxy-Authenticate, Authorization and
 * Proxy-Authorization, each in message order (sofia chains a class through
 * au_next in the order the lines arrive).
 */
static bool add_auth(SipScanner *s, const Headers *h, SipMsg *out)
{
        for (unsigned k = 0; k < SIPAUTH__MAX; k++) {
                if (!(h->auth_kinds & (1u << k)))
                        continue;
                for (unsigned i = 0; i < h->n_auth; i++) {
                        if (h->auth_kind[i] != k)
                                continue;
                        if (sipauth_add_value(s->auth, out, (SipAuthKind)k, h->auth[i].p,
                                              h->auth[i].n) == SIPAUTH_NOMEM)
                                return false;
                }
        }
        return true;
}

/* ------------------------------------------------------------------------ */
/* Scratch copies */

/*
 * NUL-terminated copies of the SipMsg strings in the scratch buffer. The
 * fields are disjoint pieces of the header block and none ends where
 * another begins (a separator always follows: SP, CRLF, '@', ':', ';', ',',
 * '>' or whitespace), so one memcpy of the header block from the first
 * field on, with a NUL written behind each field in the copy, gives them
 * all (base set). Only when that is longer than the scratch (auth headers
 * of several KiB) is each field copied on its own, back to back (base
 * NULL); full then says one did not fit.
 */
typedef struct {
        SipScanner *s;
        const uint8_t *base; /* the copy's first byte in the datagram */
        size_t used;
        bool full;
} Copies;

__attribute__((always_inline)) static inline const char *put(Copies *cp, const Span *f)
{
        char *out;

        if (cp->base) {
                out = cp->s->buf + (f->p - cp->base);
        } else {
                if (f->n >= sizeof cp->s->buf - cp->used) {
                        cp->full = true;
                        return NULL;
                }
                out = cp->s->buf + cp->used;
                memcpy(out, f->p, f->n);
                cp->used += f->n + 1;
        }
        out[f->n] = '\0';
        return out;
}

/* ------------------------------------------------------------------------ */

/* What the scanner reads of a message, before anything is copied. */
typedef struct {
        Headers h;
        Start st;
        Addr from, to;
        uint32_t cseq;
        Span cseq_method;
        const uint8_t *body; /* just past the empty line */
        size_t hdr_len, body_len;
} Scanned;

/*
 * The checks sipmsg_parse() would make of the fields: §8.1.1 required
 * headers (the wrapper calls a message without these "missing"), CSeq,
 * From and To, a Call-ID, and §18.3 / §20.14 Content-Length (the body is
 * that many octets; without it, the rest).
 */
static bool check_fields(Scanned *m, const uint8_t *data, size_t len)
{
        const Headers *h = &m->h;
        uint32_t clen = 0;

        if (!h->seen[H_CALL_ID] || !h->seen[H_CSEQ] || !h->seen[H_FROM] || !h->seen[H_VIA])
                return false;
        if (!sipscan_cseq(h->v[H_CSEQ].p, h->v[H_CSEQ].p + h->v[H_CSEQ].n, &m->cseq,
                          &m->cseq_method))
                return false;
        if (!sipscan_addr(h->v[H_FROM].p, h->v[H_FROM].p + h->v[H_FROM].n, &m->from))
                return false;
        m->to = (Addr){0};
        if (h->seen[H_TO] && !sipscan_addr(h->v[H_TO].p, h->v[H_TO].p + h->v[H_TO].n, &m->to))
                return false;
        if (h->v[H_CALL_ID].n == 0)
                return false;
        m->hdr_len = (size_t)(m->body - data);
        m->body_len = len - m->hdr_len;
        if (h->seen[H_CONTENT_LENGTH]) {
                if (!sipscan_parse_u32(h->v[H_CONTENT_LENGTH].p, h->v[H_CONTENT_LENGTH].n, &clen))
                        return false;
                if (clen > m->body_len)
                        return false; /* truncated body: sofia reports it */
                m->body_len = clen;
        }
        return true;
}

/* The SipMsg strings of a scanned message, copied into the scratch buffer. */
typedef struct {
        const char *method, *uri, *reason, *call_id, *cseq_method;
        const char *from_user, *from_host, *from_tag, *to_user, *to_host, *to_tag;
        const char *via_host, *via_transport, *via_branch, *user_agent, *server;
        uint16_t via_port;
} Strings;

/* Copies into the scratch buffer; false when they do not fit. */
static bool copy_fields(SipScanner *s, const Scanned *m, Strings *o)
{
        const Headers *h = &m->h;
        Copies cp = {s, NULL, 0, false};
        const uint8_t *first = m->st.is_request ? m->st.method.p : m->st.reason.p;

        *o = (Strings){0};
        if ((size_t)(m->body - first) < sizeof s->buf) {
                cp.base = first;
                memcpy(s->buf, first, (size_t)(m->body - first));
        }
        if (m->st.is_request) {
                o->method = put(&cp, &m->st.method);
                o->uri = put(&cp, &m->st.uri);
        } else {
                o->reason = put(&cp, &m->st.reason);
        }
        o->call_id = put(&cp, &h->v[H_CALL_ID]);
        o->cseq_method = put(&cp, &m->cseq_method);
        if (m->from.user.p)
                o->from_user = put(&cp, &m->from.user);
        o->from_host = put(&cp, &m->from.host);
        if (m->from.has_tag)
                o->from_tag = put(&cp, &m->from.tag);
        if (h->seen[H_TO]) {
                if (m->to.user.p)
                        o->to_user = put(&cp, &m->to.user);
                o->to_host = put(&cp, &m->to.host);
                if (m->to.has_tag)
                        o->to_tag = put(&cp, &m->to.tag);
        }
        o->via_host = put(&cp, &h->via.host);
        if (h->via.port.p)
                sipscan_parse_port(h->via.port.p, h->via.port.n, &o->via_port);
        o->via_transport = h->via.transport ? h->via.transport : put(&cp, &h->via.transport_raw);
        if (h->via.has_branch)
                o->via_branch = put(&cp, &h->via.branch);
        if (h->seen[H_USER_AGENT])
                o->user_agent = put(&cp, &h->v[H_USER_AGENT]);
        if (h->seen[H_SERVER])
                o->server = put(&cp, &h->v[H_SERVER]);
        return !cp.full;
}

static void fill(SipMsg *out, const Scanned *m, const Strings *o)
{
        out->is_request = m->st.is_request;
        out->method = o->method;
        out->status = m->st.is_request ? 0 : m->st.status;
        out->reason = o->reason;
        out->request_uri = o->uri;
        out->call_id = o->call_id;
        out->cseq = m->cseq;
        out->cseq_method = o->cseq_method;
        out->from_user = o->from_user;
        out->from_host = o->from_host;
        out->from_tag = o->from_tag;
        out->to_user = o->to_user;
        out->to_host = o->to_host;
        out->to_tag = o->to_tag;
        out->via_host = o->via_host;
        out->via_port = o->via_port;
        out->via_transport = o->via_transport;
        out->via_branch = o->via_branch;
        out->user_agent = o->user_agent;
        out->server = o->server;
        out->body = m->body_len > 0 ? m->body : NULL;
        out->body_len = m->body_len;
        out->msg_len = m->hdr_len + m->body_len;
        out->priv_ = NULL;
}

/*
 * RFC 3261 §7 message, §7.3 header fields, §18.3 framing; see the top of
 * this file for what is taken and what is left to sofia-sip.
 */
SipScanVerdict sipscan_scan(SipScanner *s, const uint8_t *data, size_t len, SipMsg *out)
{
        const uint8_t *end, *cr;
        Scanned m;
        Strings o;

        if (!s || !data || !out || len == 0 || len > SIPSCAN_MAX_LEN)
                return SIP_SCAN_UNSURE;
        end = data + len;
        if (!sipscan_line_end(data, end, &cr) || !sipscan_start(data, (size_t)(cr - data), &m.st))
                return SIP_SCAN_UNSURE;
        if (!sipscan_read_headers(cr + 2, end, &m.h, &m.body) || !check_fields(&m, data, len))
                return SIP_SCAN_UNSURE;
        /*
         * Copies into the scratch buffer first, *out only once they fit.
         * Only the fields the scanner owns are written: SipMsg is ~3 KiB of
         * mostly challenge/credential slots, which n_challenges and
         * n_credentials make unread beyond those filled, so they are not
         * cleared per message.
         */
        if (!copy_fields(s, &m, &o))
                return SIP_SCAN_UNSURE;

        /* A sofia message still held would leak: release it (the caller should have). */
        if (out->priv_)
                sipmsg_clear(out);
        out->n_challenges = 0;
        out->challenges_dropped = 0;
        out->n_credentials = 0;
        out->credentials_dropped = 0;
        out->auth_errors = 0;
        /* What the previous message's auth headers left in the arena goes now. */
        sipauth_arena_reset(s->auth);
        if (m.h.n_auth > 0 && !add_auth(s, &m.h, out)) {
                /* out of memory: the full parse decides (and will say so) */
                out->n_challenges = 0;
                out->n_credentials = 0;
                sipauth_arena_reset(s->auth);
                return SIP_SCAN_UNSURE;
        }
        fill(out, &m, &o);
        return SIP_SCAN_OK;
}
