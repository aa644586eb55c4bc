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
#include "../analysis/pipeline.h"
#include "../analysis/tracker.h"

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

/* The config key ("guess_threshold"). */
const char *options_tunable_key(Tunable t);

typedef struct {
        InputKind input;
        char *source; /* interface name or file path (the last -r) */
        char **reads; /* every -r of the command line, in order (offline.c) */
        size_t n_reads;
        char *filter;    /* NULL: default filter (live) / no filter (file) */
        SinkKind output; /* resolved: explicit, else journal under systemd, else text */
        bool output_explicit;
        char *sip_ports;  /* normalised "5060,5080,5100-5110"; NULL = default ports */
        char *ws_ports;   /* SIP over WebSocket, same form; NULL = 80,8080,8088,5066 */
        char *hep_listen; /* "ADDR:PORT" of the HEP listener; NULL = none */
        /* "FILE:LINE" of the hep_listen key in use; NULL: not from a file. */
        char *hep_listen_at;
        /* hep_auth_key, hep_allow (parsed; empty = unset) and --hep-in-capture:
         * who may send HEP (analysis/hepauth.h). The key is wiped by options_done(). */
        HepAuthConfig hep_auth;
        bool hep_in_capture;
        char *user;         /* user to drop to when started as root; NULL = default */
        char *config;       /* the -c path, NULL when the default was used */
        char *credentials;  /* path; verified by a later module */
        char *metrics_file; /* --metrics-file: Prometheus text format; NULL = none */
        char *hep_send;     /* --hep-send: "ADDR:PORT" (numeric) for HEP out; NULL = none */
        uint32_t hep_id;    /* --hep-id: capture agent id of HEP out (HEP3 chunk 12) */
        unsigned threshold;
        unsigned window_s;
        unsigned duration_s; /* 0 = no limit (live only) */
        uint64_t count;      /* 0 = no limit */
        bool stats;
        bool parser_full; /* --parser full: every SIP message through sofia-sip */
        unsigned workers; /* --workers N: parsing threads (analysis/pipeline.h), 1..16 */
        TunableValue tune[TUNE__MAX];
        unsigned verbose; /* -v count */
        bool quiet;
        bool help;
        bool version;
        bool check_config; /* --check-config: validate, report, capture nothing */
        int ladder;        /* --ladder 1, --no-ladder 0, -1: text on a terminal (default) */
} Options;

#define OPTIONS_SIP_PORTS_MAX 64 /* entries (ports or ranges) in sip_ports, ws_ports */
#define OPTIONS_DEFAULT_USER  "sipauthmon"
#define OPTIONS_FALLBACK_USER "nobody"

/* Defaults: threshold 3, window 300 s, no limits, text output. */
void options_init(Options *o);
/* Free the strings; the struct can be initialised again afterwards. */
void options_done(Options *o);

/*
 * Parse argv (getopt_long; resets getopt's state, so it can be called more
 * than once, e.g. again on SIGHUP) and the configuration file: -c FILE when
 * given (it must exist), else default_config (skipped silently when it does
 * not exist; NULL = none). Then the drop-ins FILE.d/\*.conf in lexical order
 * (absent directory: none); later files override earlier ones, the command
 * line overrides them all. An error names the file (drop-in included) and line.
 * With -h or -V the configuration is not read and no input is required;
 * with --check-config it is read (required when -c is given) and no input
 * is required either. --hep-listen without -i/-r is a valid input (listen only).
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

/*
 * A SIP port list: comma-separated ports and ranges ("5060,5080,5100-5110"),
 * 1-65535, at most OPTIONS_SIP_PORTS_MAX entries, blanks around items
 * allowed. Writes the normalised form (no blanks) into norm; false on error.
 */
bool options_parse_ports(const char *s, char *norm, size_t n);

/*
 * A listen address: "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" (all
 * addresses). Only the form is checked here; the listener resolves it.
 */
bool options_check_listen(const char *s);

/*
 * The listen address is a loopback one (127.0.0.0/8, [::1], [::ffff:127.x]):
 * the only kind of HEP listener allowed with neither hep_auth_key nor
 * hep_allow. false for ":PORT" (every address) and anything unparsable.
 */
bool options_listen_is_loopback(const char *s);

/* The HEP part of the pipeline configuration (key, allow-list, --hep-in-capture). */
void options_hep_config(const Options *o, PipelineHepConfig *hc);

/* The tracker configuration the options ask for (threshold, window, tunables). */
void options_tracker_config(const Options *o, TrackerConfig *tc);

/*
 * --check-config, once options_parse() has read the configuration file and
 * its drop-ins without error: the credentials file, when one is set (its
 * mode and its syntax; daemon/credentials_file.h). Returns 0 (all good), 1
 * (all good, with a note in err: no configuration file, built-in defaults)
 * or a negative errno with one line in err ("FILE:LINE: what" for a bad
 * line). In config_file.c.
 */
int config_file_check(const Options *o, const char *default_config, char *err, size_t n);

/* The --help text. */
const char *options_usage(void);
