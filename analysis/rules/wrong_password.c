/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * wrong-password — RFC 7616 §3.4.1 / RFC 3261 §22.4: the response answers
 * the latest challenge with matching realm, algorithm, qop and uri, and the
 * server still refuses it: the only remaining input is the secret (password
 * or HA1). Without a credentials file this is inferred, not verified.
 */
#include "../rules.h"

#include <string.h>

#include "../strbuf.h"

static void evidence(const Streak *s, char *buf, size_t n)
{
        char att[64] = "";

        streak_attempts_phrase(s, att, sizeof att);
        if (s->n_answered_latest == s->attempts)
                strbuf_append(buf, n, "%s, each answering the latest nonce within %u ms; ", att,
                              s->max_delay_ms);
        else
                strbuf_append(buf, n, "%s, %u of them answering the latest nonce; ", att,
                              s->n_answered_latest);
        if (s->tolerated_seen) {
                /* Mismatches this server accepts from clients that do log in, in
                 * precedence order. */
                unsigned k = 0;
                for (unsigned c = 0; c < DIAG__MAX; c++)
                        if (s->tolerated_seen & (1u << c))
                                strbuf_append(buf, n, "%s%s", k++ ? " and " : "",
                                              rules_get((DiagCode)c)->tolerated);
                strbuf_append(buf, n,
                              " differ%s, but this server accepts that from clients that log in; "
                              "the rest matches (%s); ",
                              k == 1 ? "s" : "", s->att->cred.alg);
        } else {
                strbuf_append(buf, n, "realm, uri, algorithm (%s) and qop match; ",
                              s->att->cred.alg);
        }
        streak_refusals_phrase(s, buf + strlen(buf), n - strlen(buf));
        if (s->n_verified_bad == s->attempts)
                strbuf_append(buf, n,
                              " (confirmed: no response verifies against the configured secret)");
        else if (s->n_verified_bad > 0)
                strbuf_append(buf, n,
                              " (confirmed for %u of %u: their responses do not verify against the "
                              "configured secret)",
                              s->n_verified_bad, s->attempts);
        else if (s->n_verified_ok == 0)
                strbuf_append(buf, n, " (inferred: no configured secret to verify the response)");
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        strbuf_append(buf, n,
                      "The password (or stored HA1) of %s differs between the client (%s) and the "
                      "server: set a new secret on both sides",
                      s->att->user, s->client);
        if (s->family != SERVER_GENERIC)
                strbuf_append(buf, n, " (%s: %s; to apply it: %s)", server_family_name(s->family),
                              server_secret_hint(s->family), server_reload_hint(s->family));
        else
                strbuf_append(buf, n, " and reload the server's credentials");
        strbuf_append(buf, n, ". Check the authentication user name too, not only the extension.");
}

const Rule rule_wrong_password = {
    .code = DIAG_WRONG_PASSWORD,
    .name = "wrong-password",
    .severity = SEV_WARNING,
    .message_id = "4556f8fff4e9436abfdb8dc5e2bd0d33",
    .cause = "the password or HA1 differs between client and server",
    .evidence = evidence,
    .remedy = remedy,
};
