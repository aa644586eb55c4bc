/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Bounded text building for messages, evidence and remedies. */
#pragma once

#include <stddef.h>

/* Append printf-style text to buf of size n (bounded, always terminated). */
void strbuf_append(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
