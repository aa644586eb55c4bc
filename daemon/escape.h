/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * RFC 3629 §3/§4: length of the well-formed UTF-8 sequence at s (1..4), or 0
 * when the bytes there are not one (stray continuation byte, overlong form,
 * surrogate, above U+10FFFF, or cut short by the terminating NUL). *cp
 * receives the code point. s must be NUL-terminated.
 */
size_t utf8_sequence(const unsigned char *s, uint32_t *cp);

/*
 * Copy untrusted bytes for a terminal or log line: printable ASCII and valid
 * UTF-8 pass, control characters, DEL, invalid UTF-8 and backslash become
 * C-style escapes (\n, \t, \\, \xHH). Always NUL-terminates (n > 0); truncates
 * on a character boundary. Returns the length written.
 */
size_t escape_text(const char *in, char *out, size_t n);
