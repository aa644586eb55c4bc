/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <stddef.h>

/*
 * Copy untrusted bytes for a terminal or log line: printable ASCII and valid
 * UTF-8 pass, control characters, DEL, invalid UTF-8 and backslash become
 * C-style escapes (\n, \t, \\, \xHH). Always NUL-terminates (n > 0); truncates
 * on a character boundary. Returns the length written.
 */
size_t escape_text(const char *in, char *out, size_t n);
