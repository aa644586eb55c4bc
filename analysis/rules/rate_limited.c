/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rate-limited — not a cause on the wire but a fact about the output: more
 * records were due in one minute than the global cap allows. One summary
 * counts what was held back, so a flood never becomes a journal flood.
 */
#include "../rules.h"

#include "../strbuf.h"

static void evidence(const Streak *s, char *buf, size_t n)
{
        strbuf_append(buf, n, "%u records held back by the cap of %u per minute:", s->attempts,
                      s->rate_cap);
        for (unsigned i = 0, k = 0; i < DIAG__MAX; i++)
                if (s->n_cls[i])
                        strbuf_append(buf, n, "%s %s %u", k++ ? "," : "",
                                      diag_code_name((DiagCode)i), s->n_cls[i]);
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        (void)s;
        strbuf_append(buf, n,
                      "Look for an attack or a mass failure first (account-scan and "
                      "credential-guessing records, a server change that broke many accounts); "
                      "raise max_records_per_minute only if this volume is expected.");
}

const Rule rule_rate_limited = {
    .code = DIAG_RATE_LIMITED,
    .name = "rate-limited",
    .severity = SEV_NOTICE,
    .message_id = "c0d6a4a9e1f34f0e9b8e2b7c61d5a3f2",
    .evidence = evidence,
    .remedy = remedy,
};
