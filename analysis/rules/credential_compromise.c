/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * credential-compromise — RFC 3261 §22 / RFC 7616 §5: a request with
 * credentials was accepted (2xx) for an account that was under attack: after
 * credential-guessing against it from the same source, from another source
 * within the window after that guessing, or from a source already reported
 * for an account scan. The secret is known to the attacker; the success is
 * the worst news the wire can carry, never "resolved". Severity critical.
 *
 * The evidence says what came before and when, never the secret, a response,
 * or what a tool leaks (svcrack writes the candidate into its From tag).
 */
#include "../rules.h"

#include "../strbuf.h"

static void evidence(const Streak *s, char *buf, size_t n)
{
        char gap[32], span[32];

        span_phrase(gap, sizeof gap, s->gap_ms);
        span_phrase(span, sizeof span, s->span_ms);
        switch (s->trigger) {
        case COMPROMISE_AFTER_GUESSING:
                strbuf_append(buf, n,
                              "%s from %s was accepted with %u for %s after %u refused attempts "
                              "over %s from the same source, reported as credential-guessing; "
                              "the accepted request came %s after that report",
                              s->att->method, s->client, s->success_status, s->att->user,
                              s->attempts, span, gap);
                break;
        case COMPROMISE_OTHER_SOURCE:
                strbuf_append(buf, n,
                              "%s from %s was accepted with %u for %s %s after credential-guessing "
                              "against this account from another source, %s (%u refused "
                              "attempts over %s)",
                              s->att->method, s->client, s->success_status, s->att->user, gap,
                              s->attacker, s->attempts, span);
                break;
        case COMPROMISE_AFTER_SCAN:
                strbuf_append(buf, n,
                              "%s from %s was accepted with %u for %s %s after this source was "
                              "reported for an account scan (%u usernames tried)",
                              s->att->method, s->client, s->success_status, s->att->user, gap,
                              s->n_users);
                break;
        }
        if (s->att->user_agent[0])
                strbuf_append(buf, n, "; User-Agent \"%s\"", s->att->user_agent);
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        strbuf_append(buf, n,
                      "The secret of %s is known to an attacker: change it now, on the server "
                      "(%s; %s) and on the phone. Look for registrations and calls made with it "
                      "(toll fraud), in %s. ",
                      s->att->user, server_secret_hint(s->family), server_reload_hint(s->family),
                      server_activity_hint(s->family));
        if (s->trigger == COMPROMISE_OTHER_SOURCE)
                strbuf_append(buf, n,
                              "Block the guesser, %s (its credential-guessing record); %s may be "
                              "the owner's phone, so it is not banned: block it too if it is "
                              "not (%s). Keep authentication on.",
                              s->attacker, s->client, server_block_hint(s->family));
        else
                strbuf_append(buf, n,
                              "Block the source (fail2ban on SIP_DIAGNOSIS=credential-compromise, "
                              "see /usr/share/doc/sipauthmon/examples/fail2ban, or %s). Keep "
                              "authentication on.",
                              server_block_hint(s->family));
}

const Rule rule_credential_compromise = {
    .code = DIAG_CREDENTIAL_COMPROMISE,
    .name = "credential-compromise",
    .severity = SEV_CRITICAL,
    .message_id = "1c4b4d7e0111489aac1c14f6aa764851",
    .cause = "a password guess succeeded",
    .evidence = evidence,
    .remedy = remedy,
};
