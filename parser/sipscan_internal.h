/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Inside the SIP header scanner (the fast path, sipscan.h), split by concern:
 *
 *   sipscan.c          the entry point: one pass over the header lines, the
 *                      checks sofia's wrapper would make, the copies into
 *                      SipMsg, the auth headers handed to sofia-sip
 *   sipscan_lines.c    the header block: where a line ends, which header
 *                      a line is, what is kept of it (Headers)
 *   sipscan_grammar.c  header values and the start line: URI, From/To, Via,
 *                      CSeq, each the plain subset of what sofia-sip reads
 *
 * The character classes and the short loops every piece runs on are here,
 * inline: they are most of what the scanner executes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cursor.h"
#include "hash.h"

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
#define CL_ALPHA(ch)        (((ch) >= 'a' && (ch) <= 'z') || ((ch) >= 'A' && (ch) <= 'Z'))
#define CL_DIG(ch)          ((ch) >= '0' && (ch) <= '9')
#define CL_HEXL(ch)         (CL_DIG(ch) || ((ch) >= 'a' && (ch) <= 'f') || ((ch) >= 'A' && (ch) <= 'F'))
#define IN2(ch, a, b)       ((ch) == (a) || (ch) == (b))
#define IN4(ch, a, b, c, d) (IN2(ch, a, b) || IN2(ch, c, d))
#define TOKEN_MARK(ch)                                                                             \
        (IN4(ch, '!', '%', '\'', '*') || IN4(ch, '+', '-', '.', '_') || IN2(ch, '`', '~'))
#define METHOD_MARK(ch) (IN4(ch, '-', '_', '.', '!') || IN2(ch, '~', '*') || (ch) == '\'')
#define USER_MARK(ch)                                                                              \
        (METHOD_MARK(ch) || IN4(ch, '(', ')', '&', '=') || IN4(ch, '+', '$', ',', ','))
#define UPARAM_MARK(ch) (USER_MARK(ch) || IN4(ch, ';', ':', '[', ']'))
#define CLS(ch)                                                                                    \
        (uint8_t)(((CL_ALPHA(ch) || CL_DIG(ch))                                                    \
                       ? (C_TOKEN | C_PARAM | C_METHOD | C_USER | C_HOST | C_UPARAM)               \
                       : 0) |                                                                      \
                  (CL_DIG(ch) ? C_DIGIT : 0) | ((CL_HEXL(ch) || IN2(ch, ':', '.')) ? C_HEX6 : 0) | \
                  (TOKEN_MARK(ch) ? (C_TOKEN | C_PARAM) : 0) |                                     \
                  (IN4(ch, '/', ':', '[', ']') ? C_PARAM : 0) | (METHOD_MARK(ch) ? C_METHOD : 0) | \
                  (USER_MARK(ch) ? C_USER : 0) | (IN2(ch, '-', '.') ? C_HOST : 0) |                \
                  (UPARAM_MARK(ch) ? C_UPARAM : 0))
#define R4(b)  CLS(b), CLS((b) + 1), CLS((b) + 2), CLS((b) + 3)
#define R16(b) R4(b), R4((b) + 4), R4((b) + 8), R4((b) + 12)
#define R64(b) R16(b), R16((b) + 16), R16((b) + 32), R16((b) + 48)

static const uint8_t cls[256] = {R64(0), R64(64), R64(128), R64(192)};

#undef R64
#undef R16
#undef R4
#undef CLS
#undef UPARAM_MARK
#undef USER_MARK
#undef METHOD_MARK
#undef TOKEN_MARK
#undef IN4
#undef IN2
#undef CL_HEXL
#undef CL_DIG
#undef CL_ALPHA

static inline bool is(uint8_t ch, unsigned mask)
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

static inline uint8_t lower(uint8_t ch)
{
        return ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch + ('a' - 'A')) : ch;
}

/* Case-insensitive comparison of n bytes with a lower-case literal. */
static inline bool eq_lit(const uint8_t *p, size_t n, const char *lit)
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
 * '-': the only byte besides '-' that does so is CR, which is no token.
 * Eight (four) bytes at a time with hash.h's loads (native byte order on
 * both sides), the last load overlapping the one before; n is a constant
 * wherever this is inlined, so only one branch remains.
 */
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

static inline bool is_ws(uint8_t ch)
{
        return ch == ' ' || ch == '\t';
}

typedef struct {
        const uint8_t *p;
        size_t n;
} Span;

typedef struct {
        Span user, host, tag;
        bool has_tag;
} Addr;

typedef struct {
        const char *transport; /* canonical, static */
        Span transport_raw;    /* when not one of the four canonical ones */
        Span host, port, branch;
        bool has_branch;
} Via;

typedef struct {
        bool is_request;
        Span method, uri, reason;
        unsigned status;
} Start;

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

/* 1*DIGIT within 32 bits (RFC 3261 §20.14 Content-Length, §20.16 CSeq). */
static inline bool sipscan_parse_u32(const uint8_t *p, size_t n, uint32_t *out)
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
static inline bool sipscan_parse_port(const uint8_t *p, size_t n, uint16_t *out)
{
        uint32_t v;

        if (n == 0 || n > 5 || !sipscan_parse_u32(p, n, &v) || v > 65535)
                return false;
        *out = (uint16_t)v;
        return true;
}

/* sipscan_grammar.c: each takes a view [p, end) (or n bytes) and says false
 * for anything it does not take. */
bool sipscan_addr(const uint8_t *p, const uint8_t *end, Addr *a);
bool sipscan_via(const uint8_t *p, const uint8_t *end, Via *first);
bool sipscan_cseq(const uint8_t *p, const uint8_t *end, uint32_t *seq, Span *method);
bool sipscan_start(const uint8_t *line, size_t n, Start *st);

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

/* sipscan_lines.c */
bool sipscan_line_end(const uint8_t *p, const uint8_t *end, const uint8_t **cr);
bool sipscan_read_headers(const uint8_t *p, const uint8_t *end, Headers *h, const uint8_t **body);
