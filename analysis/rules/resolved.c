/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * resolved — a principal with an open diagnosis authenticated again (a 2xx
 * to an authenticated request, RFC 3261 §21.2). One info record naming what
 * was open and how long it lasted.
 */
#include "../rules.h"

static void fmt_span(char *buf, size_t n, uint32_t ms)
{
        if (ms < 120000)
                snprintf(buf, n, "%u s", ms / 1000);
        else if (ms < 7200000)
                snprintf(buf, n, "%u min %u s", ms / 60000, ms / 1000 % 60);
        else
                snprintf(buf, n, "%u h %u min", ms / 3600000, ms / 60000 % 60);
}

static void evidence(const Streak *s, char *buf, size_t n)
{
        char span[32];

        fmt_span(span, sizeof span, s->span_ms);
        strbuf_append(buf, n,
                      "%s (%u refusals) ended: %s accepted with %u, %s after the first refusal",
                      s->resolved_codes, s->attempts, s->method, s->success_status, span);
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        (void)s;
        strbuf_append(buf, n, "None: the fix worked.");
}

const Rule rule_resolved = {DIAG_RESOLVED, NULL, evidence, remedy};
