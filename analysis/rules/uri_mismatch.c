/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * uri-mismatch — RFC 2617 §3.2.2.5 / RFC 3261 §22.4: the digest-uri must
 * name the Request-URI of the request that carries it; HA2 hashes it, and
 * servers check that it matches.
 */
#include "../rules.h"

#include <string.h>

#include "../strbuf.h"

static bool check(const AttemptCtx *c, AttemptNotes *notes)
{
        if (!c->req->request_uri)
                return false;
        if (!c->cred->uri)
                return true;
        return !sipuri_equivalent(c->cred->uri, c->req->request_uri);
}

static void evidence(const Streak *s, char *buf, size_t n)
{
        char att[64] = "";

        streak_attempts_phrase(s, att, sizeof att);
        strbuf_append(buf, n, "in %s the digest uri \"%s\" differs from the Request-URI \"%s\"; ",
                      att, s->att->cred.uri[0] ? s->att->cred.uri : "(none)", s->att->ruri);
        streak_refusals_phrase(s, buf + strlen(buf), n - strlen(buf));
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        strbuf_append(buf, n,
                      "The Request-URI is rewritten between the client and the authenticating "
                      "server (an SBC, proxy or ALG changing it after the client computed the "
                      "digest), or the client (%s) fills the digest uri wrongly. Make the element "
                      "that rewrites \"%s\" stop doing so for authenticated requests, or set the "
                      "client's outbound proxy/registrar so it addresses \"%s\" directly.",
                      s->client, s->att->cred.uri, s->att->ruri);
}

const Rule rule_uri_mismatch = {
    .code = DIAG_URI_MISMATCH,
    .name = "uri-mismatch",
    .severity = SEV_WARNING,
    .message_id = "1ebf79b02db246a48c8388dff3ce5133",
    .cause = "the digest uri differs from the Request-URI",
    .tolerated = "the digest uri",
    .check = check,
    .evidence = evidence,
    .remedy = remedy,
};
