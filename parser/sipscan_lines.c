/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The scanner's header block (sipscan_internal.h): where a line ends (CRLF
 * only; a bare CR or LF or a NUL sends the message to sofia-sip), which
 * header a line is, by its name (RFC 3261 §7.3.1, compact forms §7.3.3),
 * and what is kept of each line the scanner reads.
 */
#include "sipscan_internal.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
 * skipped, and sipscan_line_end() steps bytewise over anything flagged above 13.
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
__attribute__((always_inline)) static inline bool line_end(const uint8_t *p, const uint8_t *end,
                                                           const uint8_t **cr)
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

bool sipscan_line_end(const uint8_t *p, const uint8_t *end, const uint8_t **cr)
{
        return line_end(p, end, cr);
}

/*
 * One header line of a kind the scanner reads, the value [v, cr) as
 * extract_header() cuts it: after the colon and SP/HTAB, trailing
 * whitespace removed.
 */
static bool take_header(Headers *h, HeaderKind k, const uint8_t *v, const uint8_t *ve)
{
        while (v < ve && is_ws(*v))
                v++;
        while (ve > v && is_ws(ve[-1]))
                ve--;
        if (k >= H__SINGLE) {
                if (h->n_auth >= SIPSCAN_MAX_AUTH_LINES)
                        return false;
                unsigned ak = (unsigned)(k - H_WWW_AUTHENTICATE);
                h->auth[h->n_auth] = (Span){v, (size_t)(ve - v)};
                h->auth_kind[h->n_auth++] = (uint8_t)ak;
                h->auth_kinds |= 1u << ak;
                return true;
        }
        if (k == H_VIA) {
                Via via;
                if (!sipscan_via(v, ve, &via))
                        return false;
                if (!h->seen[k])
                        h->via = via;
        } else if (h->seen[k]) {
                /* a second single-valued header: sofia's error list */
                return false;
        }
        h->seen[k]++;
        h->v[k] = (Span){v, (size_t)(ve - v)};
        return true;
}

/*
 * RFC 3261 §7.3 header fields, from the line after the start line to the
 * empty line: the single-valued headers the SipMsg needs (the first Via
 * validated and kept, every Via value validated), the auth lines for
 * sofia-sip. *body is set past the empty line.
 */
bool sipscan_read_headers(const uint8_t *p, const uint8_t *end, Headers *h, const uint8_t **body)
{
        const uint8_t *cr;

        h->n_auth = 0;
        h->auth_kinds = 0;
        memset(h->seen, 0, sizeof h->seen);
        for (;;) {
                if (p >= end)
                        return false; /* no empty line: cut in the headers */
                if (*p == '\r') {
                        if (p + 1 >= end || p[1] != '\n')
                                return false;
                        *body = p + 2;
                        return true;
                }
                /* inlined here: a call per header line costs as much as its scan */
                if (!line_end(p, end, &cr))
                        return false;
                /* folding: the next line continues this one (§7.3.1) */
                if (cr + 2 < end && is_ws(cr[2]))
                        return false;
                size_t n;
                HeaderKind k;
                if (!common_name(p, cr, &n, &k)) {
                        n = span(p, cr, C_TOKEN);
                        if (n == 0 || p + n >= cr || p[n] != ':')
                                return false;
                        k = header_kind(p, n);
                }
                if (k != H_OTHER && !take_header(h, k, p + n + 1, cr))
                        return false;
                p = cr + 2;
        }
}
