/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nonce-unknown — RFC 7616 §3.3/§5.4: a nonce is minted by one server and
 * is only good there. A response carrying a nonce that no captured challenge
 * issued to this client by this server points at a load balancer or failover
 * across nodes with different nonce secrets, or at a client caching nonces.
 */
#include "../rules.h"

#include <string.h>

#include "../strbuf.h"

static bool check(const AttemptCtx *c, AttemptNotes *notes)
{
        if (!c->nonce)
                return true;
        /* Issued by another server address than the one the request goes to. */
        return !endpoint_addr_equal(&c->nonce->server, &c->dst);
}

static void evidence(const Streak *s, char *buf, size_t n)
{
        char att[64] = "";

        streak_attempts_phrase(s, att, sizeof att);
        strbuf_append(
            buf, n,
            "%s answered nonce %s..., which no captured challenge issued to this client by "
            "%s; ",
            att, s->att->cred.nonce_prefix, s->server);
        streak_refusals_phrase(s, buf + strlen(buf), n - strlen(buf));
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        strbuf_append(buf, n,
                      "Requests are answered by a server that did not issue the nonce: make the "
                      "load balancer keep a client on one node (or give all nodes the same nonce "
                      "secret), or stop the client (%s) from caching nonces across servers",
                      s->client);
        if (s->family != SERVER_GENERIC)
                strbuf_append(buf, n, " (%s: %s)", server_family_name(s->family),
                              server_nonce_hint(s->family));
        strbuf_append(buf, n, ".");
}

const Rule rule_nonce_unknown = {
    .code = DIAG_NONCE_UNKNOWN,
    .name = "nonce-unknown",
    .severity = SEV_WARNING,
    .message_id = "53e3800ddb69468fbfb7c481e6855d53",
    .cause = "the client answers a nonce this server never issued to it",
    .check = check,
    .evidence = evidence,
    .remedy = remedy,
};
