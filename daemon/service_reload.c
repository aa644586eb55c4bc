/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SIGHUP (service.h): the command line and the configuration are parsed
 * again and the credentials loaded again. What can change while running is
 * applied (credentials, thresholds, window, table limits, output, --stats);
 * what needs a restart is named in the log and in STATUS, never pretended.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "credentials_file.h"
#include "error.h"
#include "log.h"
#include "macro.h"
#include "service_internal.h"

static bool same_str(const char *a, const char *b)
{
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The settings of n that differ from the running ones but wait for a restart. */
static void note_restart_needed(Service *s, const Options *n)
{
        const Options *o = s->o;
        const char *changed[12];
        char note[256] = "";
        size_t k = 0, len = 0;

        if (n->input != o->input || !same_str(n->source, o->source))
                changed[k++] = "interface";
        if (!same_str(n->filter, o->filter) || !same_str(n->sip_ports, o->sip_ports) ||
            !same_str(n->ws_ports, o->ws_ports))
                changed[k++] = "filter/sip_ports/ws_ports";
        if (!same_str(n->hep_listen, o->hep_listen))
                changed[k++] = "hep_listen";
        if (n->hep_in_capture != o->hep_in_capture ||
            memcmp(&n->hep_auth, &o->hep_auth, sizeof(n->hep_auth)) != 0)
                changed[k++] = "hep_auth_key/hep_allow/hep_in_capture";
        if (!same_str(n->user, o->user))
                changed[k++] = "user";
        if (!same_str(n->metrics_file, o->metrics_file))
                changed[k++] = "metrics_file";
        if (!same_str(n->hep_send, o->hep_send) || n->hep_id != o->hep_id)
                changed[k++] = "hep_send/hep_id";
        if (n->duration_s != o->duration_s || n->count != o->count)
                changed[k++] = "duration/count";
        if (n->parser_full != o->parser_full)
                changed[k++] = "parser";
        if (n->workers != o->workers)
                changed[k++] = "workers";
        for (size_t i = 0; i < k && len < sizeof(note); i++) {
                int w = snprintf(note + len, sizeof(note) - len, "%s%s", i ? ", " : "", changed[i]);
                len = w < 0 ? sizeof(note) : len + (size_t)w;
        }
        if (k) {
                log_info("reloaded; changes to %s take effect at restart", note);
                snprintf(s->reload_note, sizeof(s->reload_note),
                         "reloaded; %s unchanged until restart", note);
        } else {
                log_debug("reloaded");
                snprintf(s->reload_note, sizeof(s->reload_note), "reloaded");
        }
}

/* Everything a reload needs, or the reason it cannot be: then nothing changes. */
static int reload_prepare(Service *s, Options *n, CredStore **creds, Sink **sink, char *err,
                          size_t errlen)
{
        int r;

        r = options_parse(n, s->argc, s->argv, s->default_config, err, errlen);
        if (r == 0 && n->credentials)
                r = credentials_file_load(n->credentials, creds, err, errlen);
        if (r == 0 && n->output != s->o->output) {
                *sink = sink_new(n->output, STDOUT_FILENO, false);
                if (!*sink)
                        r = error_set(err, errlen, -ENOMEM, "output %s: %s",
                                      sink_kind_name(n->output), strerror(errno));
        }
        return r;
}

void service_reload(Service *s)
{
        _cleanup_(options_done) Options n;
        _cleanup_(credstore_freep) CredStore *creds = NULL;
        _cleanup_(sink_freep) Sink *sink = NULL;
        char err[OPTIONS_ERR_MAX + 64];
        bool new_output;
        int r;

        options_init(&n);
        sd_notifyf(false,
                   "RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC=%" PRIu64,
                   (uint64_t)daemon_clock_us(CLOCK_MONOTONIC));
        s->reloads++;
        r = reload_prepare(s, &n, &creds, &sink, err, sizeof(err));
        if (r < 0) {
                s->reload_failures++;
                log_error("reload failed, keeping the running configuration: %s", err);
                snprintf(s->reload_note, sizeof(s->reload_note), "reload failed: %.600s", err);
                service_notify_status(s, "READY=1\n");
                return;
        }

        /* Apply: credentials (or none), thresholds, window, caps and limits, output. */
        new_output = sink != NULL;
        if (!engine_reconfigure(s->engine, &n, TAKE_PTR(creds), TAKE_PTR(sink))) {
                s->reload_failures++;
                log_error("reload: not enough memory to enlarge every table; "
                          "those keep their previous size (see --stats tracker.*)");
        }
        if (new_output)
                s->o->output = n.output;
        s->o->stats = n.stats;
        s->o->verbose = n.verbose;
        s->o->quiet = n.quiet;
        log_set_verbosity(n.quiet ? 0 : 1 + n.verbose);
        s->o->threshold = n.threshold;
        s->o->window_s = n.window_s;
        memcpy(s->o->tune, n.tune, sizeof(s->o->tune));
        free(s->o->credentials);
        s->o->credentials = TAKE_PTR(n.credentials);

        note_restart_needed(s, &n);
        service_notify_status(s, "READY=1\n");
}
