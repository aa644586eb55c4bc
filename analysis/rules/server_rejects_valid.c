/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * server-rejects-valid — RFC 7616 §3.4.1: with a credentials file the
 * response is recomputed; when it verifies against the configured secret,
 * answers the latest challenge consistently, and the server still refuses,
 * the server's stored secret or HA1 is what differs (e.g. an HA1 computed for
 * an old realm, or a password changed on one side only).
 */
#include "../rules.h"

#include <string.h>

#include "../strbuf.h"

static void evidence(const Streak *s, char *buf, size_t n)
{
        char att[64] = "";

        streak_attempts_phrase(s, att, sizeof att);
        strbuf_append(buf, n,
                      "%s answered the latest challenge (realm \"%s\", %s) with responses that "
                      "verify against the configured secret for %s (%u of %u verified); ",
                      att, s->att->realm, s->att->cred.alg, s->att->user, s->n_verified_ok,
                      s->attempts);
        streak_refusals_phrase(s, buf + strlen(buf), n - strlen(buf));
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        strbuf_append(buf, n,
                      "The client is right; the server's stored secret for %s is not. Set it again "
                      "on the server",
                      s->att->user);
        if (s->family != SERVER_GENERIC)
                strbuf_append(buf, n, " (%s: %s; to apply it: %s)", server_family_name(s->family),
                              server_secret_hint(s->family), server_reload_hint(s->family));
        strbuf_append(
            buf, n,
            ". A stored HA1 must be computed for realm \"%s\" and the algorithm in use: an "
            "HA1 computed for an old realm fails exactly like this.",
            s->att->realm);
}

const Rule rule_server_rejects_valid = {
    .code = DIAG_SERVER_REJECTS_VALID,
    .name = "server-rejects-valid",
    .severity = SEV_ERROR,
    .message_id = "27b81c0066ad453697375dad71850d8e",
    .cause = "the response is valid for the configured secret, the server's secret differs",
    .evidence = evidence,
    .remedy = remedy,
};
