/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

int error_set(char *err, size_t n, int r, const char *fmt, ...)
{
        va_list ap;

        if (err && n > 0) {
                va_start(ap, fmt);
                vsnprintf(err, n, fmt, ap);
                va_end(ap);
        }
        return r;
}
