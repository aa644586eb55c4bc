/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * challenge-missing — RFC 3261 §20.44/§20.27: a 401 MUST carry
 * WWW-Authenticate and a 407 MUST carry Proxy-Authenticate. Without a usable
 * Digest challenge (realm and nonce) the client has nothing to answer.
 * Decided from the response; no per-attempt check.
 */
#include "../rules.h"

#include "../strbuf.h"

static void evidence(const Streak *s, char *buf, size_t n)
{
        strbuf_append(
            buf, n, "%u %s responses to %s carried no usable %s Digest challenge (realm and nonce)",
            s->attempts, s->proxy ? "407" : "401", s->att->method,
            s->proxy ? "Proxy-Authenticate" : "WWW-Authenticate");
        if (s->server_agent[0])
                strbuf_append(buf, n, "; server identifies as \"%s\"", s->server_agent);
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        strbuf_append(
            buf, n,
            "Server bug or misconfiguration: every %s must carry a %s header with a Digest "
            "realm and nonce (RFC 3261 §22). Check the authentication module/endpoint "
            "configuration of the server at %s",
            s->proxy ? "407" : "401", s->proxy ? "Proxy-Authenticate" : "WWW-Authenticate",
            s->server);
        if (s->family != SERVER_GENERIC)
                strbuf_append(buf, n, " (%s: %s)", server_family_name(s->family),
                              server_realm_hint(s->family));
        strbuf_append(buf, n, "; a middlebox that strips headers (SBC, ALG) can also cause this.");
}

const Rule rule_challenge_missing = {
    .code = DIAG_CHALLENGE_MISSING,
    .name = "challenge-missing",
    .severity = SEV_ERROR,
    .message_id = "1a2b716db8324464ba6e984c8845be51",
    .cause = "the server refuses without sending a usable challenge",
    .evidence = evidence,
    .remedy = remedy,
};
