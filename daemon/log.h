/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's own messages ("sipauthmon: ..." on stderr, which systemd
 * puts in the journal). One layer logs: the parser and analysis libraries
 * never do. Verbosity is process-wide and set once from -q/-v.
 */
#pragma once

typedef enum {
        LOG_LEVEL_ERROR = 0, /* always, even with -q */
        LOG_LEVEL_INFO = 1,  /* default */
        LOG_LEVEL_DEBUG = 2, /* -v */
} LogLevel;

void log_set_verbosity(unsigned v);

__attribute__((format(printf, 2, 3))) void log_at(unsigned level, const char *fmt, ...);

#define log_error(...) log_at(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_info(...)  log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)
