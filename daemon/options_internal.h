/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Inside the options module (options.h), split by concern:
 *
 *   options.c          what there is to set: the options, the configuration
 *                      keys, the tunables and their defaults; the command line
 *                      (getopt_long), the order of sources, the checks across
 *                      settings, what the analysis is given
 *   options_setting.c  one setting: its syntax, its range, its message; the
 *                      same for the command line and the configuration file
 *   config_file.c      reading the configuration file and its drop-ins (libinih)
 *
 * Nothing outside daemon/options*.c and daemon/config_file.c includes this.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "options.h"

/* Settings, a bit each: which ones the command line made (it overrides the file). */
enum {
        SET_INPUT = 1u << 0,
        SET_FILTER = 1u << 1,
        SET_OUTPUT = 1u << 2,
        SET_THRESHOLD = 1u << 3,
        SET_WINDOW = 1u << 4,
        SET_CREDENTIALS = 1u << 5,
        SET_DURATION = 1u << 6,
        SET_COUNT = 1u << 7,
        SET_STATS = 1u << 8,
        SET_SIP_PORTS = 1u << 9,
        SET_HEP_LISTEN = 1u << 10,
        SET_USER = 1u << 11,
        SET_HEP_AUTH_KEY = 1u << 12,
        SET_HEP_ALLOW = 1u << 13,
        SET_HEP_IN_CAPTURE = 1u << 14,
        SET_METRICS_FILE = 1u << 15,
        SET_HEP_SEND = 1u << 16,
        SET_HEP_ID = 1u << 17,
        SET_PARSER = 1u << 18,
        SET_VERBOSITY = 1u << 19, /* -v/-q; the keys verbose and quiet */
        SET_WS_PORTS = 1u << 20,
        SET_LADDER = 1u << 21, /* --ladder/--no-ladder; the key ladder */
        SET_WORKERS = 1u << 22,
};

/* ---- options.c ---- */

/* The SET_* bit a configuration key sets; 0 for a tunable's key or an unknown one. */
unsigned options_key_setting(const char *key);

/* The configuration key nearest to an unknown one (a typo: at most 2 edits), or NULL. */
const char *options_key_suggest(const char *key);

/* A tunable (config key options_tunable_key(t)): same contract as options_set_value(). */
int options_set_tunable(Options *o, Tunable t, const char *what, const char *v, bool apply,
                        char *err, size_t n);

/* ---- options_setting.c ---- */

/* User-supplied text echoed in an error line: escaped into buf, which is returned. */
const char *options_esc(const char *s, char *buf, size_t n);

/* *dst = a copy of v (the old one freed); -ENOMEM with a message in err. */
int options_set_str(char **dst, const char *v, char *err, size_t n);

/*
 * One setting, shared by the command line and the configuration file.
 * which: its SET_* bit (t: the tunable); what: how to name it in a message
 * ("--threshold" or "threshold"); apply=false validates only (the command
 * line overrides it). Returns 0, or a negative errno with one line in err.
 *
 * options_set_value(): the numeric and enumerated ones (threshold, window,
 * duration, count, hep_id, output, parser). options_set_string(): the strings that
 * need a check (sip_ports, hep_listen, hep_auth_key, hep_allow, user,
 * hep_send, metrics_file).
 */
int options_set_value(Options *o, unsigned which, const char *what, const char *v, bool apply,
                      char *err, size_t n);
int options_set_string(Options *o, unsigned which, const char *what, const char *v, bool apply,
                       char *err, size_t n);

/* ---- config_file.c ---- */

/*
 * path, then path.d/\*.conf in lexical order. Settings whose bit is in
 * cli_set (tunables: bit 1 << t in cli_tune) are validated but not applied.
 * An absent main file is skipped unless required. Returns 0, or a negative
 * errno with one line in err naming the file and the line.
 */
int config_file_load(Options *o, unsigned cli_set, unsigned cli_tune, const char *path,
                     bool required, char *err, size_t n);
