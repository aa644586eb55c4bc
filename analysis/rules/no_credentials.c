/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * no-credentials — RFC 3261 §22.2: a UAC that receives a 401/407 retries with
 * credentials "if it has them". A client that keeps sending the request
 * without any credentials after being challenged has no account for the
 * realm. Decided from the request/response pair; no per-attempt check.
 */
#include "../rules.h"

#include "../strbuf.h"

static void evidence(const Streak *s, char *buf, size_t n)
{
        strbuf_append(buf, n,
                      "%u %s challenges (realm \"%s\") to %s were never answered with credentials: "
                      "the client sent the request again without any %s header",
                      s->attempts, s->proxy ? "407" : "401", s->att->realm, s->att->method,
                      s->proxy ? "Proxy-Authorization" : "Authorization");
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        strbuf_append(buf, n,
                      "No account is configured on the client for realm \"%s\": set the "
                      "authentication user and password for %s on the client (%s)",
                      s->att->realm, s->att->user, s->client);
        if (s->family != SERVER_GENERIC)
                strbuf_append(buf, n, ", matching the account on the %s server (%s)",
                              server_family_name(s->family), server_secret_hint(s->family));
        strbuf_append(buf, n,
                      ". If this device should not authenticate, the server must be told to trust "
                      "it by address instead (an explicit decision, not a fix for others).");
}

const Rule rule_no_credentials = {
    .code = DIAG_NO_CREDENTIALS,
    .name = "no-credentials",
    .severity = SEV_WARNING,
    .message_id = "88bd706996ff4742bfb549965ef72183",
    .cause = "the client never answers the challenge with credentials",
    .evidence = evidence,
    .remedy = remedy,
};
