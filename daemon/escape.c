/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Escaping of untrusted strings before they reach a terminal or a log line.
 *
 * Header values, user names and user agents come straight off the wire: a
 * "User-Agent: \e]0;pwned\a" must not retitle the operator's terminal, and a
 * user name with a newline must not forge a second log line. Everything that
 * is not printable ASCII or well-formed UTF-8 text is therefore written as a
 * C-style escape, and a backslash is doubled so that the escapes cannot be
 * forged either.
 */
#include "escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/*
 * RFC 3629 §3/§4: length of the well-formed UTF-8 sequence at s (1..4), or 0
 * when the bytes there are not one (stray continuation byte, overlong form,
 * UTF-16 surrogate, code point above U+10FFFF, or a sequence cut short by the
 * terminating NUL). *cp receives the code point.
 */
size_t utf8_sequence(const unsigned char *s, uint32_t *cp)
{
        unsigned char c = s[0];
        size_t len;
        uint32_t v;
        uint32_t min;

        if (c < 0x80) {
                *cp = c;
                return 1;
        }
        if (c >= 0xc2 && c <= 0xdf) {
                len = 2;
                v = c & 0x1f;
                min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
                len = 3;
                v = c & 0x0f;
                min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
                len = 4;
                v = c & 0x07;
                min = 0x10000;
        } else {
                return 0;
        }
        /* A NUL is not a continuation byte, so this never reads past the string. */
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                v = (v << 6) | (s[i] & 0x3f);
        }
        if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
                return 0;
        *cp = v;
        return len;
}

/*
 * Code points that are valid UTF-8 but still steer a terminal or a reader:
 * C1 controls (U+009B is CSI on some terminals), line/paragraph separators,
 * and the bidirectional overrides that can reorder what the operator sees.
 */
static bool codepoint_is_unsafe(uint32_t cp)
{
        return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
               (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e ||
               cp == 0x200f || cp == 0x061c || cp == 0xfeff;
}

/* Writes the escape for one byte into e (at least 5 bytes); returns its length. */
static size_t escape_byte(unsigned char c, char *e)
{
        static const char hex[] = "0123456789abcdef";

        e[0] = '\\';
        switch (c) {
        case '\n':
                e[1] = 'n';
                return 2;
        case '\r':
                e[1] = 'r';
                return 2;
        case '\t':
                e[1] = 't';
                return 2;
        case '\\':
                e[1] = '\\';
                return 2;
        default:
                e[1] = 'x';
                e[2] = hex[c >> 4];
                e[3] = hex[c & 0x0f];
                return 4;
        }
}

size_t escape_text(const char *in, char *out, size_t n)
{
        const unsigned char *s = (const unsigned char *)in;
        size_t o = 0;

        if (!out || n == 0)
                return 0;
        if (!in) {
                out[0] = '\0';
                return 0;
        }

        while (*s) {
                char piece[16];
                size_t plen = 0;
                uint32_t cp = 0;
                size_t len = utf8_sequence(s, &cp);

                if (len == 1 && cp >= 0x20 && cp < 0x7f && cp != '\\') {
                        piece[0] = (char)cp;
                        plen = 1;
                } else if (len > 1 && !codepoint_is_unsafe(cp)) {
                        memcpy(piece, s, len);
                        plen = len;
                } else if (len > 1) {
                        /* Well-formed but unsafe: every byte of it escaped. */
                        for (size_t i = 0; i < len; i++)
                                plen += escape_byte(s[i], piece + plen);
                } else {
                        /* Control byte, DEL, backslash, or one byte of bad UTF-8. */
                        len = 1;
                        plen = escape_byte(s[0], piece);
                }

                /* Truncate on a character (and escape) boundary, keeping room for the NUL. */
                if (plen >= n - o)
                        break;
                memcpy(out + o, piece, plen);
                o += plen;
                s += len;
        }
        out[o] = '\0';
        return o;
}
