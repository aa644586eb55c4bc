/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * algorithm-mismatch — RFC 8760 §2.3 / RFC 7616 §3.4: the response's
 * algorithm must be one the server offered, and it must answer the nonce of
 * the challenge of that algorithm (one challenge per algorithm). An MD5-only
 * client facing a server upgraded to SHA-256 shows this pattern.
 */
#include "../rules.h"

#include <string.h>
#include <strings.h>

#include "../strbuf.h"

static bool same_alg(const ChallengeInfo *ch, const SipCredentials *cr)
{
        if (ch->alg != cr->alg)
                return false;
        if (ch->alg != DIGEST_ALG_OTHER)
                return true;
        return cr->algorithm && strcasecmp(ch->alg_raw, cr->algorithm) == 0;
}

static bool check(const AttemptCtx *c, AttemptNotes *notes)
{
        bool offered = false;

        if (c->nonce && c->nonce->alg != c->cred->alg)
                return true; /* answered the nonce of another algorithm's challenge */
        if (!c->ref)
                return false;
        for (unsigned i = 0; i < c->ref->n; i++)
                if (same_alg(&c->ref->ch[i], c->cred))
                        offered = true;
        return !offered;
}

static void evidence(const Streak *s, char *buf, size_t n)
{
        char att[64] = "";

        streak_attempts_phrase(s, att, sizeof att);
        strbuf_append(buf, n, "the server offered %s; %s answered with algorithm %s; ",
                      s->att->offer.algs[0] ? s->att->offer.algs : "MD5", att, s->att->cred.alg);
        streak_refusals_phrase(s, buf + strlen(buf), n - strlen(buf));
}

static void remedy(const Streak *s, char *buf, size_t n)
{
        strbuf_append(
            buf, n,
            "Enable a digest algorithm both sides support: the client (%s) answers only "
            "%s while the server offers %s. Either update the client to one that supports "
            "%s, or have the server also offer %s",
            s->client, s->att->cred.alg, s->att->offer.algs[0] ? s->att->offer.algs : "MD5",
            s->att->offer.algs[0] ? s->att->offer.algs : "MD5", s->att->cred.alg);
        if (s->family != SERVER_GENERIC)
                strbuf_append(buf, n, " (%s: %s)", server_family_name(s->family),
                              server_algorithm_hint(s->family));
        strbuf_append(buf, n,
                      ". Do not roll a server upgrade that changes the digest algorithm further "
                      "before checking which algorithms its clients support.");
}

const Rule rule_algorithm_mismatch = {
    .code = DIAG_ALGORITHM_MISMATCH,
    .name = "algorithm-mismatch",
    .severity = SEV_WARNING,
    .message_id = "48bc649c1de7447a8f2363f1717715df",
    .cause = "the client answers with a digest algorithm the server did not offer",
    .tolerated = "the algorithm",
    .check = check,
    .evidence = evidence,
    .remedy = remedy,
};
