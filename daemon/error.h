/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * How a failure leaves a daemon module: a negative errno returned, with one
 * line of text in the caller's buffer for the one layer that logs it (no
 * "sipauthmon: " prefix, untrusted parts escaped by the caller), and at the
 * end the process exit status.
 */
#pragma once

#include <stddef.h>

/* Exit status of the process (sipauthmon(8) EXIT STATUS, --help). */
typedef enum {
        EXIT_NOTHING = 0,   /* nothing diagnosed */
        EXIT_DIAGNOSED = 1, /* at least one diagnosis */
        EXIT_ERROR = 2,     /* an error: bad option, input or output failed */
} ExitStatus;

/*
 * The message into err[0..n) (nothing when err is NULL or n is 0; cut to
 * fit), and r back, so that a failure is one line:
 *
 *   return error_set(err, n, -EINVAL, "%s: invalid value '%s'", what, e);
 */
__attribute__((format(printf, 4, 5))) int error_set(char *err, size_t n, int r, const char *fmt,
                                                    ...);
