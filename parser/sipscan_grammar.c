/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The scanner's grammar (sipscan_internal.h): header values and the start
 * line, each the plain subset of what sofia-sip 1.12.11 reads, so that a
 * value taken here gives the field sofia would give (sipscan.c has the
 * list of what is taken and what is left to sofia).
 */
#include "sipscan_internal.h"

/* host = "[" 1*(HEXDIG / ":" / ".") "]" / 1*(alphanum / "-" / ".") */
__attribute__((always_inline)) static inline bool scan_host(Cursor *c, Span *host)
{
        const uint8_t *start = c->p;

        if (cur_left(c) > 0 && c->p[0] == '[') {
                size_t n = span(c->p + 1, c->end, C_HEX6);
                if (n == 0 || cur_left(c) < n + 2 || c->p[1 + n] != ']')
                        return false;
                cur_skip(c, n + 2);
        } else {
                size_t n = span(c->p, c->end, C_HOST);
                if (n == 0)
                        return false;
                cur_skip(c, n);
        }
        *host = (Span){start, (size_t)(c->p - start)};
        return true;
}

/* [":" port], port = 1*5DIGIT <= 65535; the digits are returned as text. */
__attribute__((always_inline)) static inline bool scan_opt_port(Cursor *c, Span *port)
{
        uint16_t v;

        *port = (Span){NULL, 0};
        if (cur_left(c) == 0 || c->p[0] != ':')
                return true;
        cur_skip(c, 1);
        size_t n = span(c->p, c->end, C_DIGIT);
        if (!sipscan_parse_port(c->p, n, &v))
                return false;
        *port = (Span){c->p, n};
        cur_skip(c, n);
        return true;
}

/*
 * RFC 3261 §19.1.1 SIP-URI / SIPS-URI, the plain subset:
 *   ("sip:" / "sips:") [ user "@" ] host [ ":" port ] *( ";" uri-param-chars )
 * from the cursor on; the cursor is left at the first byte this grammar
 * does not take, which the caller checks (the end of the view, or the '>'
 * of a name-addr). url_d() leaves such a URI's user and host as they are.
 */
__attribute__((always_inline)) static inline bool scan_sip_uri_at(Cursor *c, Span *user, Span *host)
{
        Span port;

        if (cur_left(c) >= 4 && memcmp(c->p, "sip:", 4) == 0)
                cur_skip(c, 4);
        else if (cur_left(c) >= 5 && memcmp(c->p, "sips:", 5) == 0)
                cur_skip(c, 5);
        else
                return false;

        *user = (Span){NULL, 0};
        size_t n = span(c->p, c->end, C_USER);
        if (n < cur_left(c) && c->p[n] == '@') {
                if (n == 0)
                        return false;
                *user = (Span){c->p, n};
                cur_skip(c, n + 1);
        }
        if (!scan_host(c, host) || !scan_opt_port(c, &port))
                return false;
        /* No '@' among the parameters: url_d() would take an '@' after the
         * host as the end of a user part (the '@' stops the scan here). */
        if (cur_left(c) > 0 && c->p[0] == ';')
                cur_skip(c, span(c->p, c->end, C_UPARAM));
        return true;
}

/* The same, with the whole of [p, end) being the URI. */
static bool scan_sip_uri(const uint8_t *p, const uint8_t *end, Span *user, Span *host)
{
        Cursor c = {p, end};

        return scan_sip_uri_at(&c, user, host) && cur_left(&c) == 0;
}

/*
 * Generic parameters as msg_avlist_d() stores them, the plain subset:
 *   *( ";" token [ "=" 1*param-char ] )  up to the end of the view,
 * no whitespace, no quoted values. *want is set to the value of the first
 * parameter whose name equals want_name (want_len bytes, lower case;
 * compared case-insensitively, as
 * msg_params_find() and the Via update compare); a second one is refused.
 */
__attribute__((always_inline)) static inline bool
scan_params(Cursor *c, const char *want_name, size_t want_len, Span *want, bool *found)
{
        *found = false;
        while (cur_left(c) > 0 && c->p[0] == ';') {
                cur_skip(c, 1);
                size_t n = span(c->p, c->end, C_TOKEN);
                if (n == 0)
                        return false;
                const uint8_t *name = c->p;
                Span val = {NULL, 0};
                bool has_val = false;
                cur_skip(c, n);
                if (cur_left(c) > 0 && c->p[0] == '=') {
                        cur_skip(c, 1);
                        size_t m = span(c->p, c->end, C_PARAM);
                        if (m == 0)
                                return false;
                        val = (Span){c->p, m};
                        has_val = true;
                        cur_skip(c, m);
                }
                if (n == want_len && name_is(name, want_name, n)) {
                        /* "tag" without a value reads as "" in sofia: leave it to sofia. */
                        if (*found || !has_val)
                                return false;
                        *want = val;
                        *found = true;
                }
        }
        return true;
}

/*
 * RFC 3261 §20.20/§20.39 From/To = ( name-addr / addr-spec ) *( SEMI from-param ),
 * as sip_name_addr_d() + sip_addr_d() read it (plain subset).
 */
bool sipscan_addr(const uint8_t *p, const uint8_t *end, Addr *a)
{
        Cursor c = {p, end};
        const uint8_t *uri, *uri_end;

        *a = (Addr){0};
        if (cur_left(&c) == 0)
                return false;
        if (c.p[0] == '"') {
                /* quoted-string display name (span_quoted), then LWS, then '<' */
                const uint8_t *q = c.p + 1;
                for (;;) {
                        if (q >= c.end)
                                return false;
                        if (*q == '"')
                                break;
                        if (*q == '\\') {
                                if (q + 1 >= c.end)
                                        return false;
                                q++;
                        }
                        q++;
                }
                c.p = q + 1;
                while (cur_left(&c) > 0 && is_ws(c.p[0]))
                        cur_skip(&c, 1);
                if (cur_left(&c) == 0 || c.p[0] != '<')
                        return false;
        } else {
                /* token LWS ... '<' is a display name; otherwise an addr-spec */
                const uint8_t *q = c.p;
                while (q < c.end && (is(*q, C_TOKEN) || is_ws(*q)))
                        q++;
                if (q < c.end && *q == '<')
                        c.p = q;
        }
        if (c.p[0] == '<') {
                /* No byte the URI grammar takes is '>': the URI ends at the
                 * first '>', or the value is not taken. */
                cur_skip(&c, 1);
                if (!scan_sip_uri_at(&c, &a->user, &a->host) || cur_left(&c) == 0 || c.p[0] != '>')
                        return false;
                cur_skip(&c, 1);
        } else {
                /* addr-spec: the URI stops at SP, HTAB, ',', ';' or '?' (§20.10) */
                uri = c.p;
                uri_end = uri;
                while (uri_end < c.end && !is_ws(*uri_end) && *uri_end != ',' && *uri_end != ';' &&
                       *uri_end != '?')
                        uri_end++;
                c.p = uri_end;
                if (!scan_sip_uri(uri, uri_end, &a->user, &a->host))
                        return false;
        }
        if (!scan_params(&c, "tag", 3, &a->tag, &a->has_tag))
                return false;
        return cur_left(&c) == 0;
}

/*
 * "SIP/2.0/" with the letters in any case, one 8-byte comparison: OR-ing
 * 0x20 maps only 'S' and 's' onto 's' (and so for I and P), and the other
 * five bytes are compared exactly.
 */
static bool sip20_slash(const uint8_t *p)
{
        uint64_t x, want, lc;

        memcpy(&x, p, 8);
        memcpy(&want, "sip/2.0/", 8);
        memcpy(&lc, "\x20\x20\x20\0\0\0\0\0", 8);
        return (x | lc) == want;
}

/*
 * RFC 3261 §20.42 via-parm = sent-protocol LWS sent-by *( SEMI via-params ),
 * one value of a Via header as sip_via_d() reads it (plain subset).
 */
static bool scan_via_value(Cursor *c, Via *v)
{

        *v = (Via){0};
        if (cur_left(c) < 8 || !sip20_slash(c->p))
                return false;
        cur_skip(c, 8);
        size_t n = span(c->p, c->end, C_TOKEN);
        if (n == 0)
                return false;
        /* sip_transport_d(): the four it knows, canonicalised to upper case */
        if (n == 3 && eq_lit(c->p, 3, "udp"))
                v->transport = "UDP";
        else if (n == 3 && eq_lit(c->p, 3, "tcp"))
                v->transport = "TCP";
        else if (n == 3 && eq_lit(c->p, 3, "tls"))
                v->transport = "TLS";
        else if (n == 4 && eq_lit(c->p, 4, "sctp"))
                v->transport = "SCTP";
        if (!v->transport) {
                /* sofia keeps "SIP/2.0/x" as sent; take only the exact-case prefix */
                if (memcmp(c->p - 8, "SIP/2.0/", 8) != 0)
                        return false;
                v->transport_raw = (Span){c->p, n};
        }
        cur_skip(c, n);
        size_t w = 0;
        while (w < cur_left(c) && is_ws(c->p[w]))
                w++;
        if (w == 0)
                return false;
        cur_skip(c, w);
        if (!scan_host(c, &v->host) || !scan_opt_port(c, &v->port))
                return false;
        return scan_params(c, "branch", 6, &v->branch, &v->has_branch);
}

/* A whole Via header line: one or more values separated by commas (§7.3.1). */
bool sipscan_via(const uint8_t *p, const uint8_t *end, Via *first)
{
        Cursor c = {p, end};
        bool have = false;

        for (;;) {
                Via v;
                if (!scan_via_value(&c, &v))
                        return false;
                if (!have)
                        *first = v;
                have = true;
                while (cur_left(&c) > 0 && is_ws(c.p[0]))
                        cur_skip(&c, 1);
                if (cur_left(&c) == 0)
                        return true;
                if (c.p[0] != ',')
                        return false;
                cur_skip(&c, 1);
                while (cur_left(&c) > 0 && is_ws(c.p[0]))
                        cur_skip(&c, 1);
        }
}

/*
 * RFC 3261 §7.1 Method = INVITEm / ACKm / ... / extension-method, as
 * sip_method_d() reads it: unreserved characters, kept as sent; and one
 * quirk of sofia-sip 1.12.11 kept: a method starting with the letter of a
 * known one but shorter than the name it was last compared with ("BY",
 * "NOTIF", "CK") is invalid, so the message is malformed there.
 */
static bool method_ok(const uint8_t *p, size_t n)
{
        size_t need = 0;

        if (n == 0 || span(p, p + n, C_METHOD) != n)
                return false;
        switch (p[0]) {
        case 'A':
        case 'B':
                need = 3; /* ACK, BYE */
                break;
        case 'C':
        case 'N':
        case 'U':
                need = 6; /* CANCEL, NOTIFY, UPDATE */
                break;
        case 'I':
                need = n >= 6 && memcmp(p, "INVITE", 6) == 0 ? 6 : 4; /* INVITE, else INFO */
                break;
        case 'M':
        case 'O':
                need = 7; /* MESSAGE, OPTIONS */
                break;
        case 'P':
                need = n >= 5 && memcmp(p, "PRACK", 5) == 0 ? 5 : 7; /* PRACK, else PUBLISH */
                break;
        case 'R':
                need = n >= 8 && memcmp(p, "REGISTER", 8) == 0 ? 8 : 5; /* REGISTER, else REFER */
                break;
        case 'S':
                need = 9; /* SUBSCRIBE */
                break;
        default:
                break;
        }
        return n >= need;
}

/* RFC 3261 §20.16 CSeq = 1*DIGIT LWS Method, method kept as sent. */
bool sipscan_cseq(const uint8_t *p, const uint8_t *end, uint32_t *seq, Span *method)
{
        size_t n = span(p, end, C_DIGIT);

        if (!sipscan_parse_u32(p, n, seq))
                return false;
        p += n;
        size_t w = 0;
        while (p + w < end && is_ws(p[w]))
                w++;
        if (w == 0)
                return false;
        p += w;
        size_t m = (size_t)(end - p);
        if (!method_ok(p, m))
                return false;
        *method = (Span){p, m};
        return true;
}

/*
 * RFC 3261 §7.1 Request-Line = Method SP Request-URI SP SIP-Version CRLF and
 * §7.2 Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF, with
 * single spaces and the start line at the first byte. `line` excludes CRLF.
 */
bool sipscan_start(const uint8_t *line, size_t n, Start *st)
{
        *st = (Start){0};
        if (n >= 12 && memcmp(line, "SIP/2.0 ", 8) == 0) {
                uint32_t code;
                if (!sipscan_parse_u32(line + 8, 3, &code))
                        return false;
                st->status = code;
                if (n == 11) {
                        st->reason = (Span){line + n, 0};
                        return true;
                }
                if (line[11] != ' ')
                        return false;
                /* sofia skips all whitespace before the phrase (msg_firstline_d) */
                size_t r = 12;
                while (r < n && is_ws(line[r]))
                        r++;
                st->reason = (Span){line + r, n - r};
                return true;
        }
        if (n == 11 && memcmp(line, "SIP/2.0 ", 8) == 0) {
                uint32_t code;
                if (!sipscan_parse_u32(line + 8, 3, &code))
                        return false;
                st->status = code;
                st->reason = (Span){line + n, 0};
                return true;
        }

        size_t m = span(line, line + n, C_METHOD);
        if (m == 0 || m >= n || line[m] != ' ' || !method_ok(line, m))
                return false;
        if (n < m + 1 + 8 || memcmp(line + n - 8, " SIP/2.0", 8) != 0)
                return false;
        const uint8_t *uri = line + m + 1, *uri_end = line + n - 8;
        Span user, host;
        if (uri_end <= uri || !scan_sip_uri(uri, uri_end, &user, &host))
                return false;
        st->is_request = true;
        st->method = (Span){line, m};
        st->uri = (Span){uri, (size_t)(uri_end - uri)};
        return true;
}
