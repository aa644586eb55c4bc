/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Transactions (RFC 3261 §17.1.3: top Via branch + CSeq method): a request
 * opens one, noting the challenge it answers and what the rules' checks find
 * in its credentials; its final response decides: a refusal goes to the
 * principal (principals.c), a success ends a streak or is a compromise, a
 * 403/404 or an unanswered challenge counts toward an account scan
 * (sources.c).
 */
#include "tracker-internal.h"

#include "credentials.h"
#include "digest.h"

/* ---- requests --------------------------------------------------------- */

/* Every key a request may need, hashed and prefetched up front; the nonce
 * one for the credentials that are usually the ones answered. */
typedef struct {
        HKey txn, chain, client, nonce;
        const SipCredentials *first_cred; /* the first usable; NULL when none */
} RequestKeys;

static void request_keys(Tracker *t, const PacketMeta *meta, const SipMsg *m, RequestKeys *rk)
{
        txn_key(&rk->txn.k, t->world, m);
        hkey_hash(&rk->txn, &t->txns);
        chain_key(&rk->chain.k, t->world, m);
        hkey_hash(&rk->chain, &t->chains);
        client_key(&rk->client.k, t->world, m->from_user, &meta->src, &meta->dst);
        hkey_hash(&rk->client, &t->clients);
        rk->first_cred = NULL;
        for (size_t i = 0; i < m->n_credentials && !rk->first_cred; i++)
                if (cred_usable(&m->credentials[i]))
                        rk->first_cred = &m->credentials[i];
        if (rk->first_cred) {
                nonce_key(&rk->nonce.k, t->world, &meta->dst, rk->first_cred->nonce);
                hkey_hash(&rk->nonce, &t->nonces);
                source_hint(t, &meta->src);
        }
        lru_prefetch_slot(&t->txns, rk->txn.h);
        lru_prefetch_slot(&t->chains, rk->chain.h);
        lru_prefetch_slot(&t->clients, rk->client.h);
        if (rk->first_cred) {
                lru_prefetch_slot(&t->nonces, rk->nonce.h);
                lru_prefetch_slot(&t->sources, t->hint_source.h);
        }
}

/* What the way a message arrived proves of its source, before any nonce. */
static Proof origin_proof(const PacketMeta *meta)
{
        switch (meta->origin) {
        case ORIGIN_HANDSHAKE:
                return PROOF_HANDSHAKE;
        case ORIGIN_HEP_AUTH:
                /* The agent vouches for what it saw; over a connection that is a
                 * handshake the agent's host completed. A UDP datagram it saw can
                 * still be spoofed: that one needs the nonce, as on the wire. */
                return decode_transport_is_stream(meta->transport) ? PROOF_HEP : PROOF_NONE;
        case ORIGIN_WIRE:
        case ORIGIN_HEP_UNAUTH:
                break;
        }
        return PROOF_NONE;
}

/* A new transaction for m; NULL for a retransmission (counted) or without memory. */
static Txn *txn_open(Tracker *t, const PacketMeta *meta, const SipMsg *m, const HKey *kt)
{
        bool created;
        Txn *x = (Txn *)table_get_h(&t->txns, kt, meta->ts_us, &created);

        if (!x)
                return NULL;
        if (!created) {
                t->st.retransmissions++;
                return NULL;
        }
        x->src = meta->src;
        x->dst = meta->dst;
        x->transport = meta->transport;
        x->origin = (uint8_t)meta->origin;
        x->proof = (uint8_t)origin_proof(meta);
        /* Zeroed up to TXN_ZERO; the rest is written here, but det.cred (Txn). */
        copy_str(x->det.method, sizeof x->det.method, m->method);
        copy_str(x->from_user, sizeof x->from_user, m->from_user);
        copy_str(x->det.user_agent, sizeof x->det.user_agent, m->user_agent);
        copy_str(x->det.ruri, sizeof x->det.ruri, m->request_uri);
        x->det.user[0] = '\0';
        x->det.realm[0] = '\0';
        x->det.ex.request_us = meta->ts_us;
        return x;
}

/* RFC 7616 §3.4.1: does the response match the secret the operator configured? */
static uint8_t verify_attempt(Tracker *t, const SipMsg *m, const SipCredentials *cred)
{
        DigestVerdict v;

        if (!t->cfg.credentials)
                return VERIFY_NO_SECRET;
        v = credstore_verify(t->cfg.credentials, cred, m->method, m->body, m->body_len);
        if (v == VERIFY_OK)
                t->st.verified_ok++;
        else if (v == VERIFY_MISMATCH)
                t->st.verified_bad++;
        else if (v == VERIFY_UNSUPPORTED)
                t->st.verify_unsupported++;
        return (uint8_t)v;
}

/* The credentials' side of the details: who, for which realm, how. */
static void txn_cred_details(Txn *x, const SipMsg *m, const SipCredentials *cred,
                             const ChallengeInfo *ref_ch, const AttemptNotes *notes)
{
        CredDetails *c = &x->det.cred;

        copy_str(x->det.user, sizeof x->det.user,
                 cred->username && cred->username[0] ? cred->username : m->from_user);
        copy_str(x->det.realm, sizeof x->det.realm, ref_ch ? ref_ch->realm : cred->realm);
        copy_str(c->realm, sizeof c->realm, cred->realm);
        copy_str(c->alg, sizeof c->alg,
                 cred->alg == DIGEST_ALG_OTHER && cred->algorithm ? cred->algorithm
                                                                  : sipauth_alg_name(cred->alg));
        copy_str(c->uri, sizeof c->uri, cred->uri);
        copy_str(c->nonce_prefix, sizeof c->nonce_prefix, cred->nonce); /* 8 characters at most */
        c->qop = cred->qop_mask;
        c->nc_stuck = notes->nc_stuck;
        x->det.offer.qop = ref_ch ? ref_ch->qop_mask : 0;
        x->det.ex.has_creds = true;
        x->det.ex.cred_proxy = cred->proxy;
        x->det.ex.nc_valid = cred->nc_valid;
        x->det.ex.nc = cred->nc_value;
        if (ref_ch)
                copy_str(x->det.ex.challenge_nonce, sizeof x->det.ex.challenge_nonce,
                         ref_ch->nonce_prefix);
}

/* The challenge a request answers, as its exchange shows it (ExchangeDetails). */
static void txn_exchange_ref(Txn *x, const ChallengeSet *ref)
{
        ExchangeDetails *ex = &x->det.ex;

        ex->drew_us = ref->req_us;
        ex->drew_creds = ref->req_creds;
        copy_str(ex->drew_method, sizeof ex->drew_method, ref->req_method);
        ex->challenge_us = ref->ts_us;
        ex->challenge_status = ref->status;
        for (unsigned i = 0; i < ref->n; i++)
                ex->challenge_stale |= ref->ch[i].stale;
        copy_str(ex->challenge_nonce, sizeof ex->challenge_nonce, ref->ch[0].nonce_prefix);
}

/* The request answers ref with cred: run the rules' checks, fill the details,
 * and see what the nonce proves. */
static void txn_answer(Tracker *t, const PacketMeta *meta, const SipMsg *m, Txn *x,
                       const ChallengeSet *ref, const SipCredentials *cred, RequestKeys *rk)
{
        AttemptNotes notes;
        Nonce *nonce;

        if (cred != rk->first_cred) {
                nonce_key(&rk->nonce.k, t->world, &meta->dst, cred->nonce);
                rk->nonce.h = lru_key_hash(&t->nonces, rk->nonce.k.buf, rk->nonce.k.len);
        }
        nonce = (Nonce *)table_find_h(&t->nonces, &rk->nonce, meta->ts_us);

        AttemptCtx ctx = {
            .req = m,
            .cred = cred,
            .ref = ref,
            .ref_ch = challenge_pick_ch(ref, cred),
            .nonce = nonce ? &nonce->info : NULL,
            .cred_realm_hash = str_hash(t, cred->realm),
            .src = meta->src,
            .dst = meta->dst,
            .transport = meta->transport,
            .ts_us = meta->ts_us,
        };

        x->has_creds = true;
        x->anomalies = rules_check_attempt(&ctx, &notes);
        x->verify = verify_attempt(t, m, cred);
        x->resp_hash = cred->response ? (uint32_t)str_hash(t, cred->response) | 1u : 0;
        txn_cred_details(x, m, cred, ctx.ref_ch, &notes);
        if (ref) {
                uint64_t nh = str_hash(t, cred->nonce);
                for (unsigned i = 0; i < ref->n; i++)
                        if (ref->ch[i].nonce_hash == nh)
                                x->answered_latest = true;
                x->delay_ms = ms_between(ref->ts_us, meta->ts_us);
        }
        /* Only a host that received the challenge knows a nonce the server
         * sent to this address and port alone (NonceInfo.shared). Unauthenticated
         * HEP proves nothing: its addresses are the sender's word. */
        if (x->proof == PROOF_NONE && nonce && x->answered_latest && !nonce->info.shared &&
            meta->origin != ORIGIN_HEP_UNAUTH && endpoint_equal(&nonce->info.sent_to, &meta->src))
                x->proof = PROOF_NONCE;
        x->det.ex.verify = x->verify;
        x->det.ex.answered_latest = x->answered_latest;
        x->det.ex.moved = (x->anomalies & (1u << DIAG_SOURCE_CHANGED)) != 0;
        if (nonce) {
                x->nonce_known = true;
                x->nonce_age_ms = ms_between(nonce->info.issued_us, meta->ts_us);
                x->det.ex.nonce_known = true;
                x->det.ex.nonce_age_ms = x->nonce_age_ms;
                if (cred->nc_valid)
                        nonce_note_nc(&nonce->info, cred, &meta->src, meta->ts_us);
        }
}

/* The challenge is answered: the names count as answered for the source, and
 * a later request without credentials is a new start. */
static void txn_answered(Tracker *t, const PacketMeta *meta, const SipMsg *m, const Txn *x,
                         Holder *chain, Holder *client)
{
        source_mark(t, &meta->src, m->from_user, true, false, meta->ts_us);
        if (strcmp(x->det.user, m->from_user ? m->from_user : "") != 0)
                source_mark(t, &meta->src, x->det.user, true, false, meta->ts_us);
        if (chain) {
                chain->latest.answered = true;
                chain->creds_seen = true;
        }
        if (client) {
                client->latest.answered = true;
                client->creds_seen = true;
        }
}

void txn_request(Tracker *t, const PacketMeta *meta, const SipMsg *m)
{
        RequestKeys rk;
        Holder *chain, *client;
        const ChallengeSet *ref;
        const SipCredentials *cred;
        Txn *x;

        t->st.requests++;
        if (is_method(m->method, "ACK"))
                return; /* never challenged; ACK to a non-2xx belongs to the INVITE */
        request_keys(t, meta, m, &rk);
        x = txn_open(t, meta, m, &rk.txn);
        if (!x)
                return;
        chain = (Holder *)table_find_h(&t->chains, &rk.chain, meta->ts_us);
        client = (Holder *)table_find_h(&t->clients, &rk.client, meta->ts_us);
        ref = challenge_pick_ref(chain, client);
        cred = challenge_pick_cred(t, m, ref);
        if (ref) {
                x->have_ref = true;
                x->ref_proxy = ref->proxy;
                x->challenged_client = ref->client;
                challenge_offer(ref, &x->det.offer);
                txn_exchange_ref(x, ref);
        }
        if (!cred) {
                copy_str(x->det.user, sizeof x->det.user, m->from_user);
                if (ref) {
                        copy_str(x->det.realm, sizeof x->det.realm, ref->ch[0].realm);
                        /* RFC 3261 §22.2: challenged, yet asking again without credentials.
                         * A client that has sent credentials before is restarting, not
                         * lacking an account. */
                        x->nocreds_after_challenge = !ref->answered &&
                                                     !(chain && chain->creds_seen) &&
                                                     !(client && client->creds_seen);
                }
                return;
        }
        txn_answer(t, meta, m, x, ref, cred, &rk);
        txn_answered(t, meta, m, x, chain, client);
}

/* ---- responses -------------------------------------------------------- */

/* Most final responses end in the principal and source tables: hash and
 * prefetch their keys before the challenge is recorded. */
static void response_hints(Tracker *t, const Txn *x, const ChallengeSet *cs)
{
        source_hint(t, &x->src);
        principal_hint(t, x->det.user,
                       x->det.realm[0] ? x->det.realm : (cs && cs->n ? cs->ch[0].realm : ""),
                       &x->src);
}

/* A 401/407 to x: a refusal, or a challenge its request did not answer yet. */
static void response_challenge(Tracker *t, const Reply *r, const Txn *x)
{
        const ChallengeSet *cs = r->cs;
        bool stale = false;

        for (unsigned i = 0; i < cs->n; i++)
                stale |= cs->ch[i].stale;
        if (!cs->valid)
                principal_refusal(t, r, x, 1u << DIAG_CHALLENGE_MISSING, false);
        else if (x->has_creds)
                principal_refusal(t, r, x, x->anomalies | (stale ? 1u << DIAG_STALE_NONCE : 0),
                                  stale);
        else if (x->nocreds_after_challenge)
                principal_refusal(t, r, x, 1u << DIAG_NO_CREDENTIALS, false);
        else
                source_fail(t, r, x, false); /* pending */
}

void txn_response(Tracker *t, const PacketMeta *meta, const SipMsg *m)
{
        ChallengeSet cs;
        ChallengeKeys ck;
        bool challenge = m->status == 401 || m->status == 407;
        Reply r = {.meta = meta, .m = m, .cs = challenge ? &cs : NULL};
        Txn *x;
        HKey kt;

        t->st.responses++;
        if (m->status < 200)
                return;
        txn_key(&kt.k, t->world, m);
        hkey_hash(&kt, &t->txns);
        if (challenge) {
                challenge_keys(t, meta, m, m->status == 407, &ck);
                challenge_collect(t, m, m->status == 407, &cs, &r.pjsip_shape);
                if (cs.valid) {
                        t->st.challenges++;
                        t->st.challenges_407 += m->status == 407;
                }
                lru_prefetch_slot(&t->txns, kt.h);
                challenge_keys_prefetch(t, &ck);
        } else {
                lru_prefetch_slot(&t->txns, kt.h);
        }

        x = (Txn *)table_find_h(&t->txns, &kt, meta->ts_us);
        if (!x) {
                t->st.unmatched_responses++;
                /* The request was not captured: still learn the challenge. */
                if (challenge && cs.valid)
                        challenge_record(t, meta, m, m->from_user, &meta->dst, &cs, &ck);
                return;
        }
        if (x->final_seen) {
                t->st.retransmissions++;
                return;
        }
        x->final_seen = true;
        response_hints(t, x, r.cs);
        if (challenge && cs.valid) {
                cs.req_us = x->det.ex.request_us;
                cs.req_creds = x->has_creds;
                copy_str(cs.req_method, sizeof cs.req_method, x->det.method);
                challenge_record(t, meta, m, x->from_user, &x->src, &cs, &ck);
        }
        lru_prefetch_slot(&t->sources, t->hint_source.h);
        lru_prefetch_slot(&t->principals, t->hint_principal.h);

        if (challenge) {
                response_challenge(t, &r, x);
        } else if (m->status == 403 && x->has_creds) {
                /* chan_sip and others answer wrong credentials with 403 Forbidden. */
                principal_refusal(t, &r, x, x->anomalies, false);
        } else if ((m->status == 403 || m->status == 404) && scan_probe(x, m)) {
                /* Extension enumeration (svwar): 404/403 for names that do not exist. */
                source_fail(t, &r, x, true);
        } else if (m->status >= 200 && m->status < 300) {
                principal_success(t, &r, x);
        }
}
