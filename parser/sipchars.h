/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internal to parser/: the character classes of SIP and HTTP grammar that
 * the start-line filter (sipmsg.c), the auth-header glue (sipauth.c) and the
 * fast scanner (sipscan.c) share.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

static inline bool is_alpha(uint8_t ch)
{
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static inline bool is_digit(uint8_t ch)
{
        return ch >= '0' && ch <= '9';
}

/* RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
 */
static inline bool is_sip_tchar(uint8_t ch)
{
        if (is_alpha(ch) || is_digit(ch))
                return true;
        /* a switch, not strchr(): this runs on the start line of every packet */
        switch (ch) {
        case '-':
        case '.':
        case '!':
        case '%':
        case '*':
        case '_':
        case '+':
        case '`':
        case '\'':
        case '~':
                return true;
        default:
                return false;
        }
}

/* RFC 7230 §3.2.6 tchar, which RFC 7235 uses for auth-scheme (a superset of the SIP token). */
static inline bool is_http_tchar(uint8_t ch)
{
        if (is_alpha(ch) || is_digit(ch))
                return true;
        switch (ch) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
                return true;
        default:
                return false;
        }
}

static inline bool is_lws(char ch)
{
        return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* RFC 3261 §20.42: sent-by port. 0 when absent or not a valid port. */
static inline uint16_t parse_port(const char *s)
{
        uint32_t v = 0;
        size_t n = 0;

        if (!s)
                return 0;
        for (; s[n]; n++) {
                if (!is_digit((uint8_t)s[n]) || n >= 5)
                        return 0;
                v = v * 10 + (uint32_t)(s[n] - '0');
        }
        return n && v <= 65535 ? (uint16_t)v : 0;
}
