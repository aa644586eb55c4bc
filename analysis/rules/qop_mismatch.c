/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * qop-mismatch — RFC 7616 §3.4 / RFC 2617 §3.2.2: when the challenge offers
 * qop, the response must choose one of the offered values and carry nc and
 * cnonce; without an offer it must carry none. A nonce used again must come
 * with a higher nc (RFC 7616 §3.4: "the nc value ... MUST be incremented").
 */
#include "../rules.h"

#include <string.h>

#include "../strbuf.h"

/* A nonce used again without a higher nc. Only when the server did not issue
 * the nonce again since its last use (Kamailio re-issues one nonce per
 * second, and the client then rightly starts again at nc=1). Decided by
 * packet time, not by the order the two directions of a TCP connection were
 * reassembled in. */
static bool nc_stuck(const AttemptCtx *c)
{
        return c->nonce && c->nonce->nc_seen && c->cred->nc_valid &&
               endpoint_equal(&c->nonce->nc_client, &c->src) &&
               c->cred->nc_value <= c->nonce->last_nc &&
               c->nonce->issued_us <= c->nonce->last_nc_us;
}

/* Noted whatever else the check finds: the wording tells a stuck nc apart. */
static bool check(const AttemptCtx *c, AttemptNotes *notes)
{
        unsigned offered = c->ref_ch ? c->ref_ch->qop_mask : 0;

        notes->nc_stuck = nc_stuck(c);
        if (c->ref_ch) {
                if (offered && !(c->cred->qop_mask & offered))
                        return true;
                if (!offered && c->cred->qop_mask)
                        return true;
        }
        if (c->cred->qop_mask && !c->cred->nc_valid)
                return true;
        return notes->nc_stuck;
}

static const char *qop_text(unsigned m)
{
        if ((m & QOP_AUTH) && (m & QOP_AUTH_INT))
                return "auth,auth-int";
        if (m & QOP_AUTH)
                return "auth";
        if (m & QOP_AUTH_INT)
                return "auth-int";
        return m ? "an unknown qop" : "none";
}

static void evidence(const Streak *s, char *buf, size_t n)
{
        char att[64] = "";

        streak_attempts_phrase(s, att, sizeof att);
        if (s->att->cred.nc_stuck)
                strbuf_append(buf, n, "%s reused nonce %s... without advancing nc; ", att,
                              s->att->cred.nonce_prefix);
        else if (s->att->offer.qop && !s->att->cred.qop)
                strbuf_append(buf, n,
                              "the server offered qop=%s; %s answered without qop, nc and cnonce "
                              "(RFC 2069 style); ",
                              qop_text(s->att->offer.qop), att);
        else
                strbuf_append(buf, n, "the server offered qop=%s; %s answered qop=%s; ",
                              qop_text(s->att->offer.qop), att, qop_text(s->att->cred.qop));
        streak_refusals_phrase(s, buf + strlen(buf), n - strlen(buf));
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        if (s->att->cred.nc_stuck)
                strbuf_append(
                    buf, n,
                    "The client (%s) must increment nc each time it reuses a nonce, or "
                    "take a fresh nonce; update its firmware or disable nonce caching on it.",
                    s->client);
        else
                strbuf_append(buf, n,
                              "The client (%s) must support digest qop=%s (with nc and cnonce, RFC "
                              "2617/7616); update its firmware. If old clients must be served, "
                              "configure the server not to require qop for them.",
                              s->client, qop_text(s->att->offer.qop));
}

const Rule rule_qop_mismatch = {
    .code = DIAG_QOP_MISMATCH,
    .name = "qop-mismatch",
    .severity = SEV_WARNING,
    .message_id = "0731ca6f29d14068b75ecb4355c2dd15",
    .cause = "the client's qop/nc do not match the challenge",
    .tolerated = "qop/nc",
    .check = check,
    .evidence = evidence,
    .remedy = remedy,
};
