/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * header-mismatch — RFC 3261 §22.2/§22.3: a 401 (WWW-Authenticate) is
 * answered with Authorization, a 407 (Proxy-Authenticate) with
 * Proxy-Authorization. Credentials in the other header are never looked at.
 */
#include "../rules.h"

#include <string.h>

#include "../strbuf.h"

static bool check(const AttemptCtx *c, AttemptNotes *notes)
{
        if (!c->ref || c->cred->proxy == c->ref->proxy)
                return false;
        /* Only when no credentials of the right kind are present at all. */
        for (size_t i = 0; i < c->req->n_credentials; i++)
                if (c->req->credentials[i].proxy == c->ref->proxy)
                        return false;
        return true;
}

static void evidence(const Streak *s, char *buf, size_t n)
{
        char att[64] = "";

        streak_attempts_phrase(s, att, sizeof att);
        strbuf_append(buf, n, "%s answered %s challenges with %s instead of %s; ", att,
                      s->proxy ? "407 Proxy-Authenticate" : "401 WWW-Authenticate",
                      s->proxy ? "Authorization" : "Proxy-Authorization",
                      s->proxy ? "Proxy-Authorization" : "Authorization");
        streak_refusals_phrase(s, buf + strlen(buf), n - strlen(buf));
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        strbuf_append(buf, n,
                      "Client bug: it must answer a %s with a %s header. Update the client (%s) "
                      "firmware or report it to its vendor; as a stopgap, challenge with %s on the "
                      "server if it supports that for this request type.",
                      s->proxy ? "407" : "401", s->proxy ? "Proxy-Authorization" : "Authorization",
                      s->client, s->proxy ? "401 (www_challenge)" : "407 (proxy_challenge)");
}

const Rule rule_header_mismatch = {
    .code = DIAG_HEADER_MISMATCH,
    .name = "header-mismatch",
    .severity = SEV_WARNING,
    .message_id = "b5434390672044a1a6bdbb761b889443",
    .cause = "the client answers the challenge in the wrong header",
    .tolerated = "the header kind",
    .check = check,
    .evidence = evidence,
    .remedy = remedy,
};
