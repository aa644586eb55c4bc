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

#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "cursor.h"
#include "hash.h"
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

/* ------------------------------------------------------------------------ */
/* Character classes */

enum {
        C_TOKEN = 1u << 0,  /* RFC 3261 §25.1 token (sofia bnf_token) */
        C_PARAM = 1u << 1,  /* token / "/" / ":" / "[" / "]" (sofia skip_param) */
        C_METHOD = 1u << 2, /* token chars that are also unreserved (sip_method_d) */
        C_USER = 1u << 3,   /* unescaped user part the scanner takes as it is */
        C_HOST = 1u << 4,   /* hostname / IPv4 characters */
        C_HEX6 = 1u << 5,   /* inside an IPv6 reference: HEXDIG / ":" / "." */
        C_UPARAM = 1u << 6, /* URI parameter characters taken as they are */
        C_DIGIT = 1u << 7,
};

/*
 * The class table is a constant expression of each byte value, so it lives
 * in read-only memory: no initialisation, nothing shared to race on.
 */
#define IS_ALPHA(ch)        (((ch) >= 'a' && (ch) <= 'z') || ((ch) >= 'A' && (ch) <= 'Z'))
#define IS_DIG(ch)          ((ch) >= '0' && (ch) <= '9')
#define IS_HEXL(ch)         (IS_DIG(ch) || ((ch) >= 'a' && (ch) <= 'f') || ((ch) >= 'A' && (ch) <= 'F'))
#define IN2(ch, a, b)       ((ch) == (a) || (ch) == (b))
#define IN4(ch, a, b, c, d) (IN2(ch, a, b) || IN2(ch, c, d))
#define TOKEN_MARK(ch)                                                                             \
        (IN4(ch, '!', '%', '\'', '*') || IN4(ch, '+', '-', '.', '_') || IN2(ch, '`', '~'))
#define METHOD_MARK(ch) (IN4(ch, '-', '_', '.', '!') || IN2(ch, '~', '*') || (ch) == '\'')
#define USER_MARK(ch)                                                                              \
        (METHOD_MARK(ch) || IN4(ch, '(', ')', '&', '=') || IN4(ch, '+', '$', ',', ','))
#define UPARAM_MARK(ch) (USER_MARK(ch) || IN4(ch, ';', ':', '[', ']'))
#define CLS(ch)                                                                                    \
        (uint8_t)(((IS_ALPHA(ch) || IS_DIG(ch))                                                    \
                       ? (C_TOKEN | C_PARAM | C_METHOD | C_USER | C_HOST | C_UPARAM)               \
                       : 0) |                                                                      \
                  (IS_DIG(ch) ? C_DIGIT : 0) | ((IS_HEXL(ch) || IN2(ch, ':', '.')) ? C_HEX6 : 0) | \
                  (TOKEN_MARK(ch) ? (C_TOKEN | C_PARAM) : 0) |                                     \
                  (IN4(ch, '/', ':', '[', ']') ? C_PARAM : 0) | (METHOD_MARK(ch) ? C_METHOD : 0) | \
                  (USER_MARK(ch) ? C_USER : 0) | (IN2(ch, '-', '.') ? C_HOST : 0) |                \
                  (UPARAM_MARK(ch) ? C_UPARAM : 0))
#define R4(b)  CLS(b), CLS((b) + 1), CLS((b) + 2), CLS((b) + 3)
#define R16(b) R4(b), R4((b) + 4), R4((b) + 8), R4((b) + 12)
#define R64(b) R16(b), R16((b) + 16), R16((b) + 32), R16((b) + 48)

static const uint8_t cls[256] = {R64(0), R64(64), R64(128), R64(192)};

static bool is(uint8_t ch, unsigned mask)
{
        return (cls[ch] & mask) != 0;
}

/*
 * Length of the run of bytes of class mask from p, at most up to end.
 * Four bytes per bounds check: runs are host names, tags and branches of
 * tens of bytes, and this loop is most of what the scanner executes.
 * (16-byte SSE2 class tests were tried: slower on these short runs.)
 */
__attribute__((always_inline)) static inline size_t span(const uint8_t *p, const uint8_t *end,
                                                         unsigned mask)
{
        const uint8_t *q = p;

        while (end - q >= 4) {
                if (!is(q[0], mask))
                        return (size_t)(q - p);
                if (!is(q[1], mask))
                        return (size_t)(q + 1 - p);
                if (!is(q[2], mask))
                        return (size_t)(q + 2 - p);
                if (!is(q[3], mask))
                        return (size_t)(q + 3 - p);
                q += 4;
        }
        while (q < end && is(*q, mask))
                q++;
        return (size_t)(q - p);
}

static uint8_t lower(uint8_t ch)
{
        return ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch + ('a' - 'A')) : ch;
}

/* Case-insensitive comparison of n bytes with a lower-case literal. */
static bool eq_lit(const uint8_t *p, size_t n, const char *lit)
{
        size_t i;

        for (i = 0; i < n; i++)
                if (lit[i] == '\0' || lower(p[i]) != (uint8_t)lit[i])
                        return false;
        return lit[i] == '\0';
}

/*
 * Whether the n bytes at p equal the lower-case literal lit (n long),
 * ignoring case. p is a token (a header or parameter name), and for those
 * OR-ing 0x20 lowers a letter and maps no other token byte onto a letter or
 * '-': the only byte besides '-' that does so is CR, which is no token. The
 * loads are hash.h's (native byte order on both sides).
 */
/* Eight (four) bytes at a time, the last load overlapping the one before;
 * n is a constant wherever this is inlined, so only one branch remains. */
__attribute__((always_inline)) static inline bool name_is(const uint8_t *p, const char *lit,
                                                          size_t n)
{
        if (n >= 8) {
                for (size_t i = 0; i + 8 < n; i += 8)
                        if ((hash_rd64(p + i) | UINT64_C(0x2020202020202020)) !=
                            hash_rd64((const uint8_t *)lit + i))
                                return false;
                return (hash_rd64(p + n - 8) | UINT64_C(0x2020202020202020)) ==
                       hash_rd64((const uint8_t *)lit + n - 8);
        }
        if (n >= 4)
                return (hash_rd32(p) | 0x20202020u) == hash_rd32((const uint8_t *)lit) &&
                       (hash_rd32(p + n - 4) | 0x20202020u) ==
                           hash_rd32((const uint8_t *)lit + n - 4);
        for (size_t i = 0; i < n; i++)
                if ((uint8_t)(p[i] | 0x20) != (uint8_t)lit[i])
                        return false;
        return true;
}

static bool is_ws(uint8_t ch)
{
        return ch == ' ' || ch == '\t';
}

/* ------------------------------------------------------------------------ */
/* Pieces of grammar. Each takes a view [p, end) of one header value and
 * returns false for anything it does not take. */

typedef struct {
        const uint8_t *p;
        size_t n;
} Span;

static bool parse_u32(const uint8_t *p, size_t n, uint32_t *out)
{
        uint64_t v = 0;

        if (n == 0 || n > 10)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (!is(p[i], C_DIGIT))
                        return false;
                v = v * 10 + (uint64_t)(p[i] - '0');
        }
        if (v > UINT32_MAX)
                return false;
        *out = (uint32_t)v;
        return true;
}

/* RFC 3261 §20.42 sent-by port as sipmsg.c's parse_port() reads it. */
static bool parse_port(const uint8_t *p, size_t n, uint16_t *out)
{
        uint32_t v;

        if (n == 0 || n > 5 || !parse_u32(p, n, &v) || v > 65535)
                return false;
        *out = (uint16_t)v;
        return true;
}

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
        if (!parse_port(c->p, n, &v))
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
static bool scan_sip_uri_at(Cursor *c, Span *user, Span *host)
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
static bool scan_params(Cursor *c, const char *want_name, size_t want_len, Span *want, bool *found)
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

typedef struct {
        Span user, host, tag;
        bool has_tag;
} Addr;

/*
 * RFC 3261 §20.20/§20.39 From/To = ( name-addr / addr-spec ) *( SEMI from-param ),
 * as sip_name_addr_d() + sip_addr_d() read it (plain subset).
 */
static bool scan_addr(const uint8_t *p, const uint8_t *end, Addr *a)
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

typedef struct {
        const char *transport; /* canonical, static */
        Span transport_raw;    /* when not one of the four canonical ones */
        Span host, port, branch;
        bool has_branch;
} Via;

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
static bool scan_via(const uint8_t *p, const uint8_t *end, Via *first)
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
static bool scan_cseq(const uint8_t *p, const uint8_t *end, uint32_t *seq, Span *method)
{
        size_t n = span(p, end, C_DIGIT);

        if (!parse_u32(p, n, seq))
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

/* ------------------------------------------------------------------------ */
/* Start line */

typedef struct {
        bool is_request;
        Span method, uri, reason;
        unsigned status;
} Start;

/*
 * RFC 3261 §7.1 Request-Line = Method SP Request-URI SP SIP-Version CRLF and
 * §7.2 Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF, with
 * single spaces and the start line at the first byte. `line` excludes CRLF.
 */
static bool scan_start(const uint8_t *line, size_t n, Start *st)
{
        *st = (Start){0};
        if (n >= 12 && memcmp(line, "SIP/2.0 ", 8) == 0) {
                uint32_t code;
                if (!parse_u32(line + 8, 3, &code))
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
                if (!parse_u32(line + 8, 3, &code))
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

/* ------------------------------------------------------------------------ */
/* Headers */

typedef enum {
        H_OTHER = 0,
        H_VIA,
        H_FROM,
        H_TO,
        H_CALL_ID,
        H_CSEQ,
        H_CONTENT_LENGTH,
        H_USER_AGENT,
        H_SERVER,
        H__SINGLE, /* the kinds above are kept in Headers.v[]; those below are auth */
        H_WWW_AUTHENTICATE = H__SINGLE,
        H_PROXY_AUTHENTICATE,
        H_AUTHORIZATION,
        H_PROXY_AUTHORIZATION,
} HeaderKind;

/*
 * RFC 3261 §7.3.3 compact forms; names are case-insensitive (§7.3.1).
 * A switch on the first letter, then one comparison of the rest.
 */
static HeaderKind header_kind(const uint8_t *name, size_t n)
{
        const uint8_t *r = name + 1;

        switch (name[0] | 0x20) {
        case 'a':
                return n == 13 && name_is(r, "uthorization", 12) ? H_AUTHORIZATION : H_OTHER;
        case 'c':
                if (n == 7 && name_is(r, "all-id", 6))
                        return H_CALL_ID;
                if (n == 4 && name_is(r, "seq", 3))
                        return H_CSEQ;
                return n == 14 && name_is(r, "ontent-length", 13) ? H_CONTENT_LENGTH : H_OTHER;
        case 'f':
                return n == 1 || (n == 4 && name_is(r, "rom", 3)) ? H_FROM : H_OTHER;
        case 'i':
                return n == 1 ? H_CALL_ID : H_OTHER;
        case 'l':
                return n == 1 ? H_CONTENT_LENGTH : H_OTHER;
        case 'p':
                if (n == 18 && name_is(r, "roxy-authenticate", 17))
                        return H_PROXY_AUTHENTICATE;
                return n == 19 && name_is(r, "roxy-authorization", 18) ? H_PROXY_AUTHORIZATION
                                                                       : H_OTHER;
        case 's':
                return n == 6 && name_is(r, "erver", 5) ? H_SERVER : H_OTHER;
        case 't':
                return n == 1 || (n == 2 && (r[0] | 0x20) == 'o') ? H_TO : H_OTHER;
        case 'u':
                return n == 10 && name_is(r, "ser-agent", 9) ? H_USER_AGENT : H_OTHER;
        case 'v':
                return n == 1 || (n == 3 && name_is(r, "ia", 2)) ? H_VIA : H_OTHER;
        case 'w':
                return n == 16 && name_is(r, "ww-authenticate", 15) ? H_WWW_AUTHENTICATE : H_OTHER;
        default:
                return H_OTHER;
        }
}

/*
 * The header names phones and servers send, spelt as they send them: a
 * line that starts with one of these and its colon needs no byte-by-byte
 * name scan (the name is a token, the kind is known). Anything else goes
 * through span() and header_kind(), which give the same for these.
 */
#define NAME(lit, kind)                                                                            \
        do {                                                                                       \
                if (left >= sizeof lit - 1 && memcmp(p, lit, sizeof lit - 1) == 0) {               \
                        *n = sizeof lit - 2;                                                       \
                        *k = kind;                                                                 \
                        return true;                                                               \
                }                                                                                  \
        } while (0)

static bool common_name(const uint8_t *p, const uint8_t *cr, size_t *n, HeaderKind *k)
{
        size_t left = (size_t)(cr - p);

        switch (p[0]) {
        case 'A':
                NAME("Allow:", H_OTHER);
                NAME("Accept:", H_OTHER);
                NAME("Allow-Events:", H_OTHER);
                NAME("Authorization:", H_AUTHORIZATION);
                break;
        case 'C':
                NAME("Call-ID:", H_CALL_ID);
                NAME("CSeq:", H_CSEQ);
                NAME("Contact:", H_OTHER);
                NAME("Content-Length:", H_CONTENT_LENGTH);
                NAME("Content-Type:", H_OTHER);
                break;
        case 'E':
                NAME("Expires:", H_OTHER);
                break;
        case 'F':
                NAME("From:", H_FROM);
                break;
        case 'M':
                NAME("Max-Forwards:", H_OTHER);
                break;
        case 'P':
                NAME("Proxy-Authenticate:", H_PROXY_AUTHENTICATE);
                NAME("Proxy-Authorization:", H_PROXY_AUTHORIZATION);
                break;
        case 'R':
                NAME("Record-Route:", H_OTHER);
                NAME("Route:", H_OTHER);
                break;
        case 'S':
                NAME("Supported:", H_OTHER);
                NAME("Server:", H_SERVER);
                break;
        case 'T':
                NAME("To:", H_TO);
                break;
        case 'U':
                NAME("User-Agent:", H_USER_AGENT);
                break;
        case 'V':
                NAME("Via:", H_VIA);
                break;
        case 'W':
                NAME("WWW-Authenticate:", H_WWW_AUTHENTICATE);
                break;
        default:
                break;
        }
        return false;
}

#undef NAME

/*
 * Offset of the first byte below 14 (CR, LF, NUL and the other controls,
 * none above 13) among the W bytes at q, or W when there is none. Header
 * bytes are almost all printable, so a line is crossed W bytes at a time
 * and the first control byte jumped to directly: with SSE2 (every x86-64)
 * 16 bytes, x >= 14 <=> max(x, 14) == x; elsewhere 8, the classic
 * word-at-a-time test. On little-endian its borrow can only flag a byte
 * after a flagged one, so the first flag is exact; on big-endian a byte
 * before the real one may be flagged too. Either way no control byte is
 * skipped, and line_end() steps bytewise over anything flagged above 13.
 */
#if defined(__SSE2__)
#define CTL_W 16
static size_t first_ctl(const uint8_t *q)
{
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
        unsigned ge =
            (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(14)), x));
        unsigned ctl = ~ge & 0xffffu;
        return ctl ? (size_t)__builtin_ctz(ctl) : CTL_W;
}
#else
#define CTL_W 8
static size_t first_ctl(const uint8_t *q)
{
        uint64_t x;

        memcpy(&x, q, sizeof x);
        x = (x - UINT64_C(0x0e0e0e0e0e0e0e0e)) & ~x & UINT64_C(0x8080808080808080);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        return x ? (size_t)__builtin_clzll(x) / 8 : CTL_W;
#else
        return x ? (size_t)__builtin_ctzll(x) / 8 : CTL_W;
#endif
}
#endif

/*
 * The end of the line starting at p: the offset of its CR, which must be
 * followed by LF. A bare CR or LF, or a NUL, before it: false. Loads stay
 * inside [p, end). (memchr for CR would need a second pass for LF and NUL;
 * on header-sized lines the call alone costs more than this.)
 */
static bool line_end(const uint8_t *p, const uint8_t *end, const uint8_t **cr)
{
        const uint8_t *q = p;

        for (;;) {
                while ((size_t)(end - q) >= CTL_W) {
                        size_t k = first_ctl(q);
                        q += k;
                        if (k < CTL_W)
                                break;
                }
                while (q < end && (*q > '\r'))
                        q++;
                if (q >= end)
                        return false;
                uint8_t ch = *q;
                if (ch == '\r') {
                        if (q + 1 >= end || q[1] != '\n')
                                return false;
                        *cr = q;
                        return true;
                }
                if (ch == '\n' || ch == '\0')
                        return false;
                q++; /* another control character (HTAB): sofia keeps it in the value */
        }
}

/*
 * Auth header lines kept for sofia-sip, in message order. A message with
 * more lines than this is not ordinary traffic: it goes to sofia.
 */
#define SIPSCAN_MAX_AUTH_LINES 32

typedef struct {
        Span v[H__SINGLE];
        unsigned seen[H__SINGLE];
        Via via;
        unsigned n_auth;
        unsigned auth_kinds; /* bit per SipAuthKind present */
        Span auth[SIPSCAN_MAX_AUTH_LINES];
        uint8_t auth_kind[SIPSCAN_MAX_AUTH_LINES]; /* SipAuthKind */
} Headers;

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

/*
 * RFC 3261 §7 message, §7.3 header fields, §18.3 framing; see the top of
 * this file for what is taken and what is left to sofia-sip.
 */
SipScanVerdict sipscan_scan(SipScanner *s, const uint8_t *data, size_t len, SipMsg *out)
{
        const uint8_t *end, *cr, *p;
        Headers h;
        Start st;
        Addr from, to = {0};
        uint32_t cseq, clen = 0;
        Span cseq_method;

        if (!s || !data || !out || len == 0 || len > SIPSCAN_MAX_LEN)
                return SIP_SCAN_UNSURE;
        end = data + len;

        if (!line_end(data, end, &cr) || !scan_start(data, (size_t)(cr - data), &st))
                return SIP_SCAN_UNSURE;

        h.n_auth = 0;
        h.auth_kinds = 0;
        memset(h.seen, 0, sizeof h.seen);
        for (p = cr + 2;;) {
                if (p >= end)
                        return SIP_SCAN_UNSURE; /* no empty line: cut in the headers */
                if (*p == '\r') {
                        if (p + 1 >= end || p[1] != '\n')
                                return SIP_SCAN_UNSURE;
                        p += 2;
                        break;
                }
                if (!line_end(p, end, &cr))
                        return SIP_SCAN_UNSURE;
                /* folding: the next line continues this one (§7.3.1) */
                if (cr + 2 < end && is_ws(cr[2]))
                        return SIP_SCAN_UNSURE;
                size_t n;
                HeaderKind k;
                if (!common_name(p, cr, &n, &k)) {
                        n = span(p, cr, C_TOKEN);
                        if (n == 0 || p + n >= cr || p[n] != ':')
                                return SIP_SCAN_UNSURE;
                        k = header_kind(p, n);
                }
                if (k != H_OTHER) {
                        /* extract_header(): the value after the colon and SP/HTAB,
                         * trailing whitespace removed */
                        const uint8_t *v = p + n + 1, *ve = cr;
                        while (v < ve && is_ws(*v))
                                v++;
                        while (ve > v && is_ws(ve[-1]))
                                ve--;
                        if (k >= H__SINGLE) {
                                if (h.n_auth >= SIPSCAN_MAX_AUTH_LINES)
                                        return SIP_SCAN_UNSURE;
                                unsigned ak = (unsigned)(k - H_WWW_AUTHENTICATE);
                                h.auth[h.n_auth] = (Span){v, (size_t)(ve - v)};
                                h.auth_kind[h.n_auth++] = (uint8_t)ak;
                                h.auth_kinds |= 1u << ak;
                        } else {
                                if (k == H_VIA) {
                                        Via via;
                                        if (!scan_via(v, ve, &via))
                                                return SIP_SCAN_UNSURE;
                                        if (!h.seen[k])
                                                h.via = via;
                                } else if (h.seen[k]) {
                                        /* a second single-valued header: sofia's error list */
                                        return SIP_SCAN_UNSURE;
                                }
                                h.seen[k]++;
                                h.v[k] = (Span){v, (size_t)(ve - v)};
                        }
                }
                p = cr + 2;
        }

        /* §8.1.1: the wrapper calls a message without these "missing" */
        if (!h.seen[H_CALL_ID] || !h.seen[H_CSEQ] || !h.seen[H_FROM] || !h.seen[H_VIA])
                return SIP_SCAN_UNSURE;
        if (!scan_cseq(h.v[H_CSEQ].p, h.v[H_CSEQ].p + h.v[H_CSEQ].n, &cseq, &cseq_method))
                return SIP_SCAN_UNSURE;
        if (!scan_addr(h.v[H_FROM].p, h.v[H_FROM].p + h.v[H_FROM].n, &from))
                return SIP_SCAN_UNSURE;
        if (h.seen[H_TO] && !scan_addr(h.v[H_TO].p, h.v[H_TO].p + h.v[H_TO].n, &to))
                return SIP_SCAN_UNSURE;
        if (h.v[H_CALL_ID].n == 0)
                return SIP_SCAN_UNSURE;

        /* §18.3 / §20.14: the body is Content-Length octets; without it, the rest. */
        size_t hdr_len = (size_t)(p - data), body_len = len - hdr_len;
        if (h.seen[H_CONTENT_LENGTH]) {
                if (!parse_u32(h.v[H_CONTENT_LENGTH].p, h.v[H_CONTENT_LENGTH].n, &clen))
                        return SIP_SCAN_UNSURE;
                if (clen > body_len)
                        return SIP_SCAN_UNSURE; /* truncated body: sofia reports it */
                body_len = clen;
        }

        /*
         * Copies into the scratch buffer first, *out only once they fit.
         * Only the fields the scanner owns are written: SipMsg is ~3 KiB of
         * mostly challenge/credential slots, which n_challenges and
         * n_credentials make unread beyond those filled, so they are not
         * cleared per message.
         */
        Copies cp = {s, NULL, 0, false};
        const uint8_t *first = st.is_request ? st.method.p : st.reason.p;
        if ((size_t)(p - first) < sizeof s->buf) {
                cp.base = first;
                memcpy(s->buf, first, (size_t)(p - first));
        }
        const char *method = NULL, *uri = NULL, *reason = NULL;
        const char *from_user = NULL, *to_user = NULL, *to_host = NULL, *from_tag = NULL,
                   *to_tag = NULL, *branch = NULL, *ua = NULL, *server = NULL;
        uint16_t via_port = 0;

        if (st.is_request) {
                method = put(&cp, &st.method);
                uri = put(&cp, &st.uri);
        } else {
                reason = put(&cp, &st.reason);
        }
        const char *call_id = put(&cp, &h.v[H_CALL_ID]);
        const char *cmethod = put(&cp, &cseq_method);
        if (from.user.p)
                from_user = put(&cp, &from.user);
        const char *from_host = put(&cp, &from.host);
        if (from.has_tag)
                from_tag = put(&cp, &from.tag);
        if (h.seen[H_TO]) {
                if (to.user.p)
                        to_user = put(&cp, &to.user);
                to_host = put(&cp, &to.host);
                if (to.has_tag)
                        to_tag = put(&cp, &to.tag);
        }
        const char *via_host = put(&cp, &h.via.host);
        if (h.via.port.p)
                parse_port(h.via.port.p, h.via.port.n, &via_port);
        const char *transport = h.via.transport ? h.via.transport : put(&cp, &h.via.transport_raw);
        if (h.via.has_branch)
                branch = put(&cp, &h.via.branch);
        if (h.seen[H_USER_AGENT])
                ua = put(&cp, &h.v[H_USER_AGENT]);
        if (h.seen[H_SERVER])
                server = put(&cp, &h.v[H_SERVER]);
        if (cp.full)
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
        if (h.n_auth > 0 && !add_auth(s, &h, out)) {
                /* out of memory: the full parse decides (and will say so) */
                out->n_challenges = 0;
                out->n_credentials = 0;
                sipauth_arena_reset(s->auth);
                return SIP_SCAN_UNSURE;
        }
        out->is_request = st.is_request;
        out->method = method;
        out->status = st.is_request ? 0 : st.status;
        out->reason = reason;
        out->request_uri = uri;
        out->call_id = call_id;
        out->cseq = cseq;
        out->cseq_method = cmethod;
        out->from_user = from_user;
        out->from_host = from_host;
        out->from_tag = from_tag;
        out->to_user = to_user;
        out->to_host = to_host;
        out->to_tag = to_tag;
        out->via_host = via_host;
        out->via_port = via_port;
        out->via_transport = transport;
        out->via_branch = branch;
        out->user_agent = ua;
        out->server = server;
        out->body = body_len > 0 ? p : NULL;
        out->body_len = body_len;
        out->msg_len = hdr_len + body_len;
        out->priv_ = NULL;
        return SIP_SCAN_OK;
}
