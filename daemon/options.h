/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Command line and configuration file (DESIGN.md "Command line"). The
 * configuration file is read first; every option given on the command line
 * overrides the corresponding key. Nothing here exits or prints: errors come
 * back as one line of text for the caller to print.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sink.h"

#define OPTIONS_WINDOW_MAX_S                                                                       \
        (30u * 24u * 3600u) /* a month: keeps µs arithmetic far from overflow */
#define OPTIONS_DURATION_MAX_S (365u * 24u * 3600u)
#define OPTIONS_ERR_MAX        512

typedef enum {
        INPUT_NONE = 0,
        INPUT_LIVE, /* -i IFACE */
        INPUT_FILE, /* -r FILE ("-" = stdin) */
} InputKind;

/*
 * Numeric tunables of the analysis (thresholds of the attack rules, the
 * global record cap, the hard limits of every table). Config keys are the
 * names below; the first three are also long options (--guess-threshold ...).
 * Unset ones keep the tracker's defaults.
 */
typedef enum {
        TUNE_GUESS_THRESHOLD = 0,
        TUNE_SCAN_THRESHOLD,
        TUNE_MAX_RECORDS_PER_MINUTE,
        TUNE_MAX_TRANSACTIONS,
        TUNE_MAX_CHAINS,
        TUNE_MAX_CLIENTS,
        TUNE_MAX_PRINCIPALS,
        TUNE_MAX_NONCES,
        TUNE_MAX_SOURCES,
        TUNE__MAX
} Tunable;

typedef struct {
        bool set;
        uint64_t value;
} TunableValue;

/* The config key ("guess_threshold") and the option ("--guess-threshold", NULL when none). */
const char *options_tunable_key(Tunable t);
const char *options_tunable_option(Tunable t);

typedef struct {
        InputKind input;
        char *source;    /* interface name or file path */
        char *filter;    /* NULL: default filter (live) / no filter (file) */
        SinkKind output; /* resolved: explicit, else journal under systemd, else text */
        bool output_explicit;
        char *config;      /* the -c path, NULL when the default was used */
        char *credentials; /* path; verified by a later module */
        unsigned threshold;
        unsigned window_s;
        unsigned duration_s; /* 0 = no limit (live only) */
        uint64_t count;      /* 0 = no limit */
        bool stats;
        TunableValue tune[TUNE__MAX];
        unsigned verbose; /* -v count */
        bool quiet;
        bool help;
        bool version;
} Options;

/* Defaults: threshold 3, window 300 s, no limits, text output. */
void options_init(Options *o);
/* Free the strings; the struct can be initialised again afterwards. */
void options_done(Options *o);

/*
 * Parse argv (getopt_long; resets getopt's state, so it can be called more
 * than once) and the configuration file: -c FILE when given (it must exist),
 * else default_config (skipped silently when it does not exist; NULL = none).
 * With -h or -V the configuration is not read and no input is required.
 *
 * Returns 0, or -EINVAL (bad option, value or configuration line) / other
 * negative errno with a one-line message in err (without the "sipauthmon: "
 * prefix), e.g. "/etc/sipauthmon/sipauthmon.conf:7: unknown key 'treshold'".
 */
int options_parse(Options *o, int argc, char **argv, const char *default_config, char *err,
                  size_t errlen);

/*
 * Strict unsigned decimal: digits only (no sign, space, hex or suffix),
 * min <= value <= max. false (and *out untouched) otherwise.
 */
bool options_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* The --help text. */
const char *options_usage(void);
