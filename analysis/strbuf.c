/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void strbuf_append(char *buf, size_t n, const char *fmt, ...)
{
        size_t len = strnlen(buf, n);
        va_list ap;

        if (n == 0 || len >= n - 1)
                return;
        va_start(ap, fmt);
        vsnprintf(buf + len, n - len, fmt, ap);
        va_end(ap);
}
