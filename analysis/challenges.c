/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Challenge memory (DESIGN.md "Correlation"): the latest challenge a client
 * received is remembered per attempt chain (Call-ID + From tag) and per
 * client (From user + client address + server address, for clients that
 * start a new Call-ID per retry; a phone with accounts on two servers keeps
 * one memory per server); every nonce a server issued is remembered with its
 * algorithm and last nc. A retry with credentials is checked against the
 * challenge it answers.
 */
#include "tracker-internal.h"

#include "digest.h"

/* The challenge a request answers: its own chain's (same Call-ID and From
 * tag) when there is one; the client's memory only for a client that starts
 * a new Call-ID per retry. A phone that refreshes its registration while it
 * places a call has a 401 and a 407 outstanding at once: the newer of the
 * two is not the one each retry answers. */
const ChallengeSet *challenge_pick_ref(const Holder *chain, const Holder *client)
{
        if (chain && chain->latest.valid)
                return &chain->latest;
        return client && client->latest.valid ? &client->latest : NULL;
}

bool cred_usable(const SipCredentials *c)
{
        return c->digest && c->nonce && c->nonce[0];
}

/* The credentials that answer ref: same header kind and realm first. */
const SipCredentials *challenge_pick_cred(const Tracker *t, const SipMsg *m,
                                          const ChallengeSet *ref)
{
        const SipCredentials *first = NULL, *kind = NULL;

        for (size_t i = 0; i < m->n_credentials; i++) {
                const SipCredentials *c = &m->credentials[i];
                if (!cred_usable(c))
                        continue;
                if (!first)
                        first = c;
                if (!ref || c->proxy != ref->proxy)
                        continue;
                if (!kind)
                        kind = c;
                uint64_t rh = str_hash(t, c->realm);
                for (unsigned j = 0; j < ref->n; j++)
                        if (ref->ch[j].realm_hash == rh)
                                return c;
        }
        return kind ? kind : first;
}

/* The challenge of ref matching c's algorithm, or the first. */
const ChallengeInfo *challenge_pick_ch(const ChallengeSet *ref, const SipCredentials *c)
{
        if (!ref || ref->n == 0)
                return NULL;
        for (unsigned i = 0; i < ref->n; i++)
                if (ref->ch[i].alg == c->alg)
                        return &ref->ch[i];
        return &ref->ch[0];
}

/* Append s to the string of *len bytes in buf[n], truncated as strbuf_append
 * would (this runs for every request that answers a challenge: no printf). */
static void offer_append(char *buf, size_t n, size_t *len, const char *s)
{
        size_t k = strlen(s);

        if (k > n - 1 - *len)
                k = n - 1 - *len;
        memcpy(buf + *len, s, k);
        *len += k;
        buf[*len] = '\0';
}

void challenge_offer(const ChallengeSet *cs, OfferDetails *o)
{
        size_t len = 0;

        o->algs[0] = '\0';
        for (unsigned i = 0; i < cs->n; i++) {
                if (i)
                        offer_append(o->algs, sizeof o->algs, &len, ", ");
                offer_append(o->algs, sizeof o->algs, &len,
                             cs->ch[i].alg == DIGEST_ALG_OTHER ? cs->ch[i].alg_raw
                                                               : sipauth_alg_name(cs->ch[i].alg));
        }
        o->qop = cs->ch[0].qop_mask;
}

void nonce_note_nc(NonceInfo *n, const SipCredentials *cred, const Endpoint *src, int64_t now)
{
        bool reissued = n->issued_us > n->last_nc_us;
        bool other = !endpoint_equal(&n->nc_client, src);

        if (!n->nc_seen || reissued || other || cred->nc_value > n->last_nc)
                n->last_nc = cred->nc_value;
        if (other)
                n->last_nc_us = now;
        n->nc_seen = true;
        n->nc_client = *src;
        if (now > n->last_nc_us)
                n->last_nc_us = now;
}

/* RFC 3261 §22.1: a usable challenge has the header kind of its status, a realm and a nonce. */
void challenge_collect(const Tracker *t, const SipMsg *m, bool proxy, ChallengeSet *cs,
                       bool *pjsip_shape)
{
        memset(cs, 0, sizeof *cs);
        cs->proxy = proxy;
        cs->status = (uint16_t)m->status;
        *pjsip_shape = false;
        for (size_t i = 0; i < m->n_challenges && cs->n < CHALLENGE_MAX; i++) {
                const SipChallenge *c = &m->challenges[i];
                ChallengeInfo *ci;
                if (c->proxy != proxy || !c->digest || !c->realm || !c->nonce || !c->nonce[0])
                        continue;
                ci = &cs->ch[cs->n++];
                ci->alg = c->alg;
                copy_str(ci->alg_raw, sizeof ci->alg_raw, c->algorithm ? c->algorithm : "MD5");
                ci->qop_mask = c->qop_mask;
                ci->stale = c->stale;
                ci->realm_hash = str_hash(t, c->realm);
                ci->nonce_hash = str_hash(t, c->nonce);
                copy_str(ci->nonce_prefix, sizeof ci->nonce_prefix, c->nonce);
                copy_str(ci->realm, sizeof ci->realm, c->realm);
                if (c->opaque && c->qop_mask)
                        *pjsip_shape = true;
        }
        cs->valid = cs->n > 0;
}

void challenge_set_store(ChallengeSet *dst, const ChallengeSet *src)
{
        memcpy(dst, src, offsetof(ChallengeSet, ch) + src->n * sizeof src->ch[0]);
}

static bool nonce_wanted(const SipChallenge *c, bool proxy)
{
        return c->proxy == proxy && c->digest && c->nonce && c->nonce[0];
}

void challenge_keys(Tracker *t, const PacketMeta *meta, const SipMsg *m, bool proxy,
                    ChallengeKeys *ck)
{
        chain_key(&ck->chain.k, t->world, m);
        hkey_hash(&ck->chain, &t->chains);
        client_key(&ck->client.k, t->world, m->from_user, &meta->dst, &meta->src);
        hkey_hash(&ck->client, &t->clients);
        for (size_t i = 0; i < PREP_NONCES; i++) {
                ck->nonce_ok[i] = i < m->n_challenges && nonce_wanted(&m->challenges[i], proxy);
                if (ck->nonce_ok[i]) {
                        nonce_key(&ck->nonce[i].k, t->world, &meta->src, m->challenges[i].nonce);
                        hkey_hash(&ck->nonce[i], &t->nonces);
                }
        }
}

void challenge_keys_prefetch(Tracker *t, const ChallengeKeys *ck)
{
        lru_prefetch_slot(&t->chains, ck->chain.h);
        lru_prefetch_slot(&t->clients, ck->client.h);
        for (size_t i = 0; i < PREP_NONCES; i++)
                if (ck->nonce_ok[i])
                        lru_prefetch_slot(&t->nonces, ck->nonce[i].h);
}

/* A nonce the server issued in this challenge: where it went, and when. */
static void nonce_issued(Nonce *n, bool created, const PacketMeta *meta, const Endpoint *client,
                         const SipChallenge *c)
{
        /* Sent to a second address or port: answering it proves nothing
         * about who answered. (Unauthenticated HEP has keys of its own, see
         * Tracker.world, and its answers never prove anything.) */
        if (created)
                n->info.sent_to = meta->dst;
        if (!created && !endpoint_equal(&n->info.sent_to, &meta->dst))
                n->info.shared = true;
        /* Issued (again: Kamailio hands out the same nonce within a second).
         * The latest issue time lets the nc check tell a restart at nc=1
         * after a re-issue from a client stuck on an old nonce. */
        if (!created && n->info.issued_us > meta->ts_us)
                return;
        n->info.issued_us = meta->ts_us;
        n->info.server = meta->src;
        n->info.client = *client;
        n->info.alg = c->alg;
}

void challenge_record(Tracker *t, const PacketMeta *meta, const SipMsg *m, const char *from_user,
                      const Endpoint *client, ChallengeSet *cs, ChallengeKeys *ck)
{
        Holder *h;
        Key k;

        cs->ts_us = meta->ts_us;
        cs->client = *client;
        cs->server = meta->src;
        h = (Holder *)table_get_h(&t->chains, &ck->chain, meta->ts_us, NULL);
        if (h)
                challenge_set_store(&h->latest, cs);
        client_key(&k, t->world, from_user, client, &meta->src);
        hkey_update(&ck->client, &k, &t->clients);
        h = (Holder *)table_get_h(&t->clients, &ck->client, meta->ts_us, NULL);
        if (h)
                challenge_set_store(&h->latest, cs);
        for (size_t i = 0; i < m->n_challenges; i++) {
                const SipChallenge *c = &m->challenges[i];
                Nonce *n;
                bool created;
                if (!nonce_wanted(c, cs->proxy))
                        continue;
                if (i < PREP_NONCES) {
                        n = (Nonce *)table_get_h(&t->nonces, &ck->nonce[i], meta->ts_us, &created);
                } else {
                        nonce_key(&k, t->world, &meta->src, c->nonce);
                        n = (Nonce *)table_get(&t->nonces, &k, meta->ts_us, &created);
                }
                if (n)
                        nonce_issued(n, created, meta, client, c);
        }
}
