/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * realm-mismatch — RFC 2617 §3.2.2 / RFC 7616 §3.4: the realm of the
 * Authorization MUST be the realm of the challenge it answers; the realm is
 * part of HA1, so a client hashing another realm can never succeed.
 */
#include "../rules.h"

#include <string.h>

#include "../strbuf.h"

static bool check(const AttemptCtx *c, AttemptNotes *notes)
{
        if (!c->ref || !c->cred->realm)
                return c->ref != NULL; /* realm missing in the answer */
        for (unsigned i = 0; i < c->ref->n; i++)
                if (c->ref->ch[i].realm_hash == c->cred_realm_hash)
                        return false;
        return true;
}

static void evidence(const Streak *s, char *buf, size_t n)
{
        char att[64] = "";

        streak_attempts_phrase(s, att, sizeof att);
        strbuf_append(buf, n,
                      "%s answered realm \"%s\" while the server challenged with realm \"%s\"; ",
                      att, s->att->cred.realm[0] ? s->att->cred.realm : "(none)", s->att->realm);
        streak_refusals_phrase(s, buf + strlen(buf), n - strlen(buf));
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        strbuf_append(
            buf, n,
            "Set the realm (often called authentication domain) of account %s on the client "
            "(%s) to \"%s\", or leave it empty so the client takes it from the challenge",
            s->att->user, s->client, s->att->realm);
        if (s->family != SERVER_GENERIC)
                strbuf_append(buf, n, "; if the server's realm changed, check %s (%s)",
                              server_realm_hint(s->family), server_family_name(s->family));
        strbuf_append(buf, n, ". A stored HA1 must be recomputed for the new realm.");
}

const Rule rule_realm_mismatch = {
    .code = DIAG_REALM_MISMATCH,
    .name = "realm-mismatch",
    .severity = SEV_WARNING,
    .message_id = "3f25eeb624394040bb7d6ad95d5a4854",
    .cause = "the client answers another realm than the server's",
    .tolerated = "the realm",
    .check = check,
    .evidence = evidence,
    .remedy = remedy,
};
