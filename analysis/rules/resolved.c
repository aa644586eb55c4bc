/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * resolved — a principal with an open diagnosis authenticated again (a 2xx
 * to an authenticated request, RFC 3261 §21.2). One info record naming what
 * was open and how long it lasted.
 */
#include "../rules.h"

#include "../strbuf.h"

static void evidence(const Streak *s, char *buf, size_t n)
{
        char span[32];

        span_phrase(span, sizeof span, s->span_ms);
        strbuf_append(buf, n,
                      "%s (%u refusals) ended: %s accepted with %u, %s after the first refusal",
                      s->resolved_codes, s->attempts, s->att->method, s->success_status, span);
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        (void)s;
        strbuf_append(buf, n, "None: the fix worked.");
}

const Rule rule_resolved = {
    .code = DIAG_RESOLVED,
    .name = "resolved",
    .severity = SEV_INFO,
    .message_id = "57b761044fca4e30824b3eff262dc090",
    .evidence = evidence,
    .remedy = remedy,
};
