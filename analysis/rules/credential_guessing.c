/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * credential-guessing — RFC 3261 §26.3.2.4 / RFC 7616 §5.6: one source keeps
 * answering one account's challenges with different responses, all refused:
 * a dictionary attack (SIPVicious svcrack and the like). Chosen instead of
 * wrong-password once the distinct failing responses in the window reach
 * the guessing threshold AND the answers show the loop: several candidates
 * under one Call-ID and CSeq number with a new From tag each (principals.c
 * loop_answers). A phone's answers all differ too (fresh cnonce), so the
 * count alone accuses phones; reported once, not per attempt.
 */
#include "../rules.h"

#include "../strbuf.h"

static void evidence(const Streak *s, char *buf, size_t n)
{
        char att[64] = "";

        streak_attempts_phrase(s, att, sizeof att);
        strbuf_append(
            buf, n,
            "%s for %s from %s within %u s carried %u distinct responses, each answering "
            "a challenge consistently, all refused; %u of them share a Call-ID and CSeq "
            "number with another, each with its own From tag, which a phone retrying "
            "its password never does (RFC 3261 §22.2: a retry with credentials increments "
            "CSeq): a loop over a password list",
            att, s->att->user, s->client, s->span_ms / 1000 + 1, s->n_distinct_responses,
            s->n_loop);
        if (s->n_verified_bad)
                strbuf_append(buf, n, " (%u confirmed wrong against the configured secret)",
                              s->n_verified_bad);
        if (s->att->user_agent[0])
                strbuf_append(buf, n, "; User-Agent \"%s\"", s->att->user_agent);
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        strbuf_append(
            buf, n,
            "Someone is guessing the password of %s: block the source (fail2ban on "
            "SIP_DIAGNOSIS=credential-guessing, see /usr/share/doc/sipauthmon/examples/fail2ban, "
            "or %s). Keep authentication on; make sure the account's password is long and random, "
            "and that the server answers unknown users like known ones (no user enumeration).",
            s->att->user, server_block_hint(s->family));
}

const Rule rule_credential_guessing = {
    .code = DIAG_CREDENTIAL_GUESSING,
    .name = "credential-guessing",
    .severity = SEV_ERROR,
    .message_id = "e414c02c9ce843cea3757e7050641a6a",
    .cause = "one source is guessing this account's password",
    .evidence = evidence,
    .remedy = remedy,
};
