/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * source-changed — RFC 3261 §18.2.1 / RFC 3581: the retry of a challenged
 * request leaves from another address or port than the request that was
 * challenged (NAT rebinding). Servers that bind nonces to the source address
 * then refuse it. Over TCP (and SIP over WebSocket, RFC 7118) a new
 * connection gets a new port by nature, so only the address counts there.
 */
#include "../rules.h"

#include <string.h>

#include "../strbuf.h"

static bool check(const AttemptCtx *c, AttemptNotes *notes)
{
        if (!c->ref || c->ref->client.family == 0)
                return false;
        if (decode_transport_is_stream(c->transport))
                return !endpoint_addr_equal(&c->ref->client, &c->src);
        return !endpoint_equal(&c->ref->client, &c->src);
}

static void evidence(const Streak *s, char *buf, size_t n)
{
        char att[64] = "";

        streak_attempts_phrase(s, att, sizeof att);
        strbuf_append(buf, n,
                      "%u of %s came from another address or port than the request that drew "
                      "the challenge they answer (e.g. challenge sent to %s, answer from %s); ",
                      s->n_moved, att, s->moved_from, s->moved_to);
        streak_refusals_phrase(s, buf + strlen(buf), n - strlen(buf));
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        strbuf_append(
            buf, n,
            "A NAT between the client and %s rebinds the client's port between the "
            "challenge and the retry: lengthen the NAT's UDP binding timeout or disable "
            "its SIP ALG, enable keep-alives (rport, CRLF or OPTIONS) on the client, or "
            "use TCP; if the server binds nonces to the source address, stop it doing so.",
            s->server);
}

const Rule rule_source_changed = {
    .code = DIAG_SOURCE_CHANGED,
    .name = "source-changed",
    .severity = SEV_WARNING,
    .message_id = "5347476164414f9197aaef11d09107b5",
    .cause = "retries come from another address or port than the challenged request",
    .tolerated = "the source port",
    .check = check,
    .evidence = evidence,
    .remedy = remedy,
};
