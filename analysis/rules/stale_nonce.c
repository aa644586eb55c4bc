/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * stale-nonce — RFC 7616 §3.3 / RFC 2617 §3.2.1: stale=true says the
 * response was right but the nonce is no longer valid; the client should
 * retry at once with the new nonce. Repeated stale=true means the client
 * keeps an expired nonce, or the server calls fresh nonces stale (clock
 * skew between nodes, a nonce lifetime shorter than the round trip).
 * Decided from the response (stale flag); no per-attempt check.
 */
#include "../rules.h"

#include <stdio.h>

#include "../strbuf.h"

static bool client_keeps_old(const Streak *s)
{
        return s->n_answered_latest * 2 < s->attempts;
}

static void fmt_age(char *buf, size_t n, uint32_t ms)
{
        if (ms < 10000)
                snprintf(buf, n, "%u ms", ms);
        else if (ms < 600000)
                snprintf(buf, n, "%u s", ms / 1000);
        else
                snprintf(buf, n, "%u min", ms / 60000);
}

static void evidence(const Streak *s, char *buf, size_t n)
{
        char att[64] = "", lo[32], hi[32];

        streak_attempts_phrase(s, att, sizeof att);
        fmt_age(lo, sizeof lo, s->min_nonce_age_ms);
        fmt_age(hi, sizeof hi, s->max_nonce_age_ms);
        if (client_keeps_old(s))
                strbuf_append(buf, n,
                              "the client keeps an expired nonce: %u of %s answered an old nonce "
                              "(%s..., issued %s before use) instead of the newest one, and the "
                              "server replied stale=true %u times",
                              s->attempts - s->n_answered_latest, att, s->att->cred.nonce_prefix,
                              hi, s->n_stale);
        else
                strbuf_append(
                    buf, n,
                    "the server calls fresh nonces stale: %s answered the newest nonce "
                    "within %u ms (nonce age %s to %s), yet the server replied stale=true "
                    "%u times",
                    att, s->max_delay_ms, lo, hi, s->n_stale);
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        if (client_keeps_old(s)) {
                strbuf_append(buf, n,
                              "The client (%s) does not take the new nonce from stale=true "
                              "challenges: update its firmware or turn off nonce caching on it; "
                              "restarting its registration makes it fetch a new nonce",
                              s->client);
        } else {
                strbuf_append(buf, n,
                              "The server rejects nonces it has just issued: check that all nodes "
                              "behind %s share the nonce secret and have synchronised clocks "
                              "(NTP), and that the nonce lifetime is longer than the round trip",
                              s->server);
                if (s->family != SERVER_GENERIC)
                        strbuf_append(buf, n, " (%s: %s)", server_family_name(s->family),
                                      server_nonce_hint(s->family));
        }
        strbuf_append(buf, n, ". Resetting registration timers does not fix this.");
}

const Rule rule_stale_nonce = {
    .code = DIAG_STALE_NONCE,
    .name = "stale-nonce",
    .severity = SEV_WARNING,
    .message_id = "268cbf9e4cb940debb5baea40d824a98",
    .cause = "the nonce is refused as stale again and again",
    .evidence = evidence,
    .remedy = remedy,
};
